/* SPDX-License-Identifier: MIT */
/* SHA-256 against the FIPS 180-4 examples and a multi-block input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "util/sha256.h"

static void hex(const uint8_t d[NR_SHA256_LEN], char out[2 * NR_SHA256_LEN + 1])
{
	for (int i = 0; i < NR_SHA256_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void check(const char *input, size_t len, const char *expect)
{
	uint8_t d[NR_SHA256_LEN];
	char got[2 * NR_SHA256_LEN + 1];

	nr_sha256(input, len, d);
	hex(d, got);
	cr_assert_str_eq(got, expect, "input of %zu bytes", len);
}

Test(sha256, empty)
{
	check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(sha256, abc)
{
	check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(sha256, two_blocks)
{
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	check(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(sha256, length_55_56_64)
{
	char a[64];

	memset(a, 'a', sizeof(a));
	check(a, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	check(a, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	check(a, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}
