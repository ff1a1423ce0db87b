/* SPDX-License-Identifier: MIT */
#include "util/base64.h"

#include <errno.h>
#include <stdbool.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t nr_base64_encode(const uint8_t *in, size_t len, char *out)
{
	char *p = out;
	size_t i;

	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = alphabet[(v >> 6) & 63];
		*p++ = alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	return (size_t)(p - out);
}

/* Returns the 6-bit value of @c, or -1 when it is not in the alphabet. */
static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	return c == '/' ? 63 : -1;
}

/* Decodes one quantum of four characters, @pad of them '=' (0..2).
 * Returns the bytes written, or -EINVAL. */
static long quantum(const char *in, unsigned pad, uint8_t *out)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < 4 - pad; i++) {
		int s = sextet(in[i]);
		if (s < 0)
			return -EINVAL;
		v = v << 6 | (uint32_t)s;
	}
	v <<= 6 * pad;
	if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
		return -EINVAL; /* non-canonical: unused bits set */
	out[0] = (uint8_t)(v >> 16);
	if (pad < 2)
		out[1] = (uint8_t)(v >> 8);
	if (pad < 1)
		out[2] = (uint8_t)v;
	return 3 - (long)pad;
}

long nr_base64_decode(const char *in, size_t len, uint8_t *out)
{
	long total = 0;

	if (len % 4)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 4) {
		unsigned pad = 0;
		bool last = i + 4 == len;
		long n;

		if (last)
			pad = (in[i + 3] == '=') + (in[i + 3] == '=' && in[i + 2] == '=');
		n = quantum(in + i, pad, out + total);
		if (n < 0)
			return n;
		total += n;
	}
	return total;
}
