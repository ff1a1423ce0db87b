/* SPDX-License-Identifier: MIT */
#include "util/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN_CAP 256

static int buf_reserve(struct nr_buf *b, size_t extra)
{
	size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
	char *data;

	if (b->len + extra <= b->cap)
		return 0;
	while (cap < b->len + extra)
		cap *= 2;
	data = realloc(b->data, cap);
	if (!data)
		return -ENOMEM;
	b->data = data;
	b->cap = cap;
	return 0;
}

int nr_buf_append(struct nr_buf *b, const void *data, size_t len)
{
	int rc = buf_reserve(b, len);

	if (rc)
		return rc;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int nr_buf_putc(struct nr_buf *b, char c)
{
	return nr_buf_append(b, &c, 1);
}

char *nr_buf_take(struct nr_buf *b, size_t *len)
{
	char *data = b->data;

	*len = b->len;
	*b = (struct nr_buf){0};
	return data;
}

void nr_buf_free(struct nr_buf *b)
{
	free(b->data);
	*b = (struct nr_buf){0};
}
