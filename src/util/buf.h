/* SPDX-License-Identifier: MIT */
/* A growable byte buffer: answers being gathered, values split across reads. */
#ifndef NR_BUF_H
#define NR_BUF_H

#include <stddef.h>

struct nr_buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Appends @len bytes, doubling the capacity as needed. Returns 0 or -ENOMEM. */
int nr_buf_append(struct nr_buf *b, const void *data, size_t len);

/* Appends one byte. Returns 0 or -ENOMEM. */
int nr_buf_putc(struct nr_buf *b, char c);

/* Hands the bytes over (the caller frees them; NULL when empty) and leaves @b empty. */
char *nr_buf_take(struct nr_buf *b, size_t *len);

/* Frees the bytes and leaves @b empty. */
void nr_buf_free(struct nr_buf *b);

#endif
