/* SPDX-License-Identifier: MIT */
/* Helpers for the encoder tests: structures built byte by byte at spec offsets. */
#ifndef NR_TEST_FIXTURE_H
#define NR_TEST_FIXTURE_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Writes @value little-endian in @size bytes at @offset of @buf. */
static inline void put_le(uint8_t *buf, size_t offset, uint64_t value, size_t size)
{
	for (size_t i = 0; i < size; i++)
		buf[offset + i] = (uint8_t)(value >> (8 * i));
}

/* The integer member @key of @obj; fails the test if it is not an integer. */
static inline json_int_t int_at(const json_t *obj, const char *key)
{
	json_t *value = json_object_get(obj, key);

	cr_assert(json_is_integer(value), "%s is not an integer", key);
	return json_integer_value(value);
}

#endif
