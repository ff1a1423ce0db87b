/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

Test(buf, grows_and_hands_over, .timeout = 10)
{
	struct nr_buf b = {0};
	char chunk[1000];
	size_t len;
	char *data;

	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 100; i++)
		cr_assert_eq(nr_buf_append(&b, chunk, sizeof(chunk)), 0);
	cr_assert_eq(nr_buf_putc(&b, '!'), 0);
	cr_assert_eq(b.len, 100001);
	cr_assert_geq(b.cap, b.len);
	data = nr_buf_take(&b, &len);
	cr_assert_eq(len, 100001);
	cr_assert_eq(data[99999], 'x');
	cr_assert_eq(data[100000], '!');
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
	free(data);
}

Test(buf, take_of_empty_is_null, .timeout = 10)
{
	struct nr_buf b = {0};
	size_t len = 7;

	cr_assert_null(nr_buf_take(&b, &len));
	cr_assert_eq(len, 0);
	nr_buf_free(&b);
}
