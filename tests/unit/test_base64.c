/* SPDX-License-Identifier: MIT */
/* Unit tests for src/util/base64.c: the RFC 4648 section 10 vectors both ways,
 * every byte value through a round trip, and non-canonical input refused. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "util/base64.h"

/* Criterion re-executes the binary for each test: parameters are copied
 * bytes, so they hold arrays, not pointers. */
struct b64_vec {
	char plain[8];
	char encoded[12];
};

ParameterizedTestParameters(base64, rfc4648)
{
	static struct b64_vec vecs[] = {
	    {"", ""},
	    {"f", "Zg=="},
	    {"fo", "Zm8="},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg=="},
	    {"fooba", "Zm9vYmE="},
	    {"foobar", "Zm9vYmFy"},
	};
	return cr_make_param_array(struct b64_vec, vecs, sizeof(vecs) / sizeof(vecs[0]));
}

ParameterizedTest(struct b64_vec *vec, base64, rfc4648, .timeout = 30)
{
	char out[16];
	uint8_t back[16];
	size_t len = strlen(vec->plain);
	size_t n = nr_base64_encode((const uint8_t *)vec->plain, len, out);
	long m;

	cr_assert_eq(n, strlen(vec->encoded));
	cr_assert_eq(n, NR_BASE64_ENCODED_LEN(len));
	cr_expect_arr_eq(out, vec->encoded, n);
	m = nr_base64_decode(vec->encoded, n, back);
	cr_assert_eq(m, (long)len);
	cr_expect_arr_eq(back, vec->plain, len);
}

Test(base64, every_byte_round_trips, .timeout = 30)
{
	uint8_t in[256], back[NR_BASE64_DECODED_MAX(NR_BASE64_ENCODED_LEN(256))];
	char text[NR_BASE64_ENCODED_LEN(256)];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(255 - i);
	for (size_t len = 0; len <= sizeof(in); len++) {
		size_t n = nr_base64_encode(in, len, text);
		cr_assert_eq(nr_base64_decode(text, n, back), (long)len, "length %zu", len);
		cr_assert_arr_eq(back, in, len, "length %zu", len);
	}
}

Test(base64, alphabet_ends, .timeout = 30)
{
	static const uint8_t bytes[] = {0xfb, 0xff, 0xbf};
	char out[4];

	nr_base64_encode(bytes, sizeof(bytes), out);
	cr_expect_arr_eq(out, "+/+/", 4);
}

struct bad_text {
	char text[12];
};

ParameterizedTestParameters(base64, rejects)
{
	static struct bad_text bad[] = {
	    {"Zg"},	  /* not a multiple of 4 */
	    {"Zg="},	  /* same */
	    {"Zh=="},	  /* unused bits set */
	    {"Zm9="},	  /* unused bits set */
	    {"Z==="},	  /* three pads */
	    {"Zg==Zg=="}, /* padding in the middle */
	    {"Zm 9"},	  /* whitespace */
	    {"Zm-v"},	  /* URL-safe alphabet */
	    {"=Zm9"},
	};
	return cr_make_param_array(struct bad_text, bad, sizeof(bad) / sizeof(bad[0]));
}

ParameterizedTest(struct bad_text *bad, base64, rejects, .timeout = 30)
{
	uint8_t out[16];

	cr_expect_eq(nr_base64_decode(bad->text, strlen(bad->text), out), -EINVAL, "%s", bad->text);
}
