/* SPDX-License-Identifier: MIT */
/*
 * Base64 (RFC 4648 section 4, standard alphabet, '=' padding) for the data
 * buffers methods carry in JSON: raw log pages, feature data, firmware
 * images, passthru data. Pure functions, any thread.
 */
#ifndef NR_BASE64_H
#define NR_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters nr_base64_encode writes for @len bytes, without a NUL. */
#define NR_BASE64_ENCODED_LEN(len) ((((len) + 2) / 3) * 4)

/*
 * Writes the encoding of @len bytes at @out (NR_BASE64_ENCODED_LEN(len)
 * bytes, not NUL-terminated). Returns the characters written.
 */
size_t nr_base64_encode(const uint8_t *in, size_t len, char *out);

/* Bytes nr_base64_decode may write for @len characters (an upper bound). */
#define NR_BASE64_DECODED_MAX(len) (((len) / 4) * 3 + 3)

/*
 * Decodes @len characters at @in into @out (NR_BASE64_DECODED_MAX(len)
 * bytes). The input must be canonical: a multiple of 4 characters, padding
 * only at the end, no whitespace, unused bits zero. Returns the bytes
 * written, or -EINVAL.
 */
long nr_base64_decode(const char *in, size_t len, uint8_t *out);

#endif
