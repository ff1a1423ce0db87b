/* SPDX-License-Identifier: MIT */
/*
 * Compact JSON text primitives for the encoders (src/encode/ only). Each
 * writes at @p, which the caller has sized for the worst case, and returns
 * the end; nothing is NUL-terminated. The numbers are written exactly as
 * jansson's json_dumps writes them (its integers are "%lld"), and strings
 * are escaped as it escapes them, so a text encoder's output equals the dump
 * of the jansson value built from the same table. Any thread.
 */
#ifndef NR_ENC_TEXT_H
#define NR_ENC_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The longest text of one value kind. */
#define NR_TEXT_I64_MAX 20  /* -9223372036854775808 */
#define NR_TEXT_U128_MAX 41 /* 39 digits, quoted */

static inline char *nr_text_put(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

/* Writes @value in decimal, two digits a step. */
static inline char *nr_text_u64(char *p, uint64_t value)
{
	static const char pairs[] = "00010203040506070809101112131415161718192021222324"
				    "25262728293031323334353637383940414243444546474849"
				    "50515253545556575859606162636465666768697071727374"
				    "75767778798081828384858687888990919293949596979899";
	char digits[20];
	size_t at = sizeof(digits);

	while (value >= 100) {
		unsigned two = (unsigned)(value % 100) * 2;

		value /= 100;
		digits[--at] = pairs[two + 1];
		digits[--at] = pairs[two];
	}
	if (value >= 10) {
		digits[--at] = pairs[value * 2 + 1];
		digits[--at] = pairs[value * 2];
	} else {
		digits[--at] = (char)('0' + value);
	}
	return nr_text_put(p, digits + at, sizeof(digits) - at);
}

static inline char *nr_text_i64(char *p, int64_t value)
{
	if (value >= 0)
		return nr_text_u64(p, (uint64_t)value);
	*p++ = '-';
	return nr_text_u64(p, 0 - (uint64_t)value);
}

/* Writes the 128-bit value in decimal (unquoted): at most two 128-bit
 * divisions, by 10^19, instead of one per digit. */
char *nr_text_u128(char *p, unsigned __int128 value);

/* Writes "@s" with '"' and '\\' escaped and bytes below 0x20 as \uXXXX (or
 * \n, \t...), as jansson dumps a string; bytes from 0x80 are copied as they
 * are (the callers pass ASCII). At most 6 * @len + 2 bytes. */
char *nr_text_string(char *p, const char *s, size_t len);

#endif
