/* SPDX-License-Identifier: MIT */
#include "framing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nr_framer_init(struct nr_framer *f, const struct nr_framer_ops *ops, void *opaque, size_t max)
{
	memset(f, 0, sizeof(*f));
	f->ops = ops;
	f->opaque = opaque;
	f->max = max;
}

void nr_framer_fini(struct nr_framer *f)
{
	free(f->buf);
	f->buf = NULL;
	f->cap = f->len = 0;
}

static void reset(struct nr_framer *f)
{
	f->len = 0;
	f->depth = 0;
	f->started = f->scalar = f->in_string = f->escape = false;
	if (f->cap > 65536) {
		/* Do not keep a megabyte per idle connection after one big request. */
		free(f->buf);
		f->buf = NULL;
		f->cap = 0;
	}
}

static void fail(struct nr_framer *f, enum nr_frame_error error, const char *reason,
		 bool at_newline)
{
	reset(f);
	f->discarding = !at_newline;
	f->ops->error(f->opaque, error, reason);
}

static void emit(struct nr_framer *f)
{
	bool discard = f->ops->value(f->opaque, f->buf, f->len);

	reset(f);
	f->discarding = discard;
}

static int append(struct nr_framer *f, char c)
{
	if (f->len == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		char *buf = realloc(f->buf, cap);
		if (!buf)
			return -ENOMEM;
		f->buf = buf;
		f->cap = cap;
	}
	f->buf[f->len++] = c;
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool ends_scalar(char c)
{
	return is_space(c) || strchr("{}[]\",", c) != NULL;
}

/* Handles one byte outside any value. */
static void scan_idle(struct nr_framer *f, char c)
{
	char reason[64];

	if (is_space(c))
		return;
	if (c == '}' || c == ']' || c == ',' || c == ':') {
		snprintf(reason, sizeof(reason), "unexpected '%c' outside a JSON value", c);
		return fail(f, NR_FRAME_PARSE, reason, false);
	}
	f->started = true;
	f->depth = (c == '{' || c == '[');
	f->in_string = c == '"';
	f->scalar = !f->depth && !f->in_string;
}

/* Handles one byte inside a value (already appended). */
static void scan_value(struct nr_framer *f, char c)
{
	if (f->in_string) {
		if (f->escape)
			f->escape = false;
		else if (c == '\\')
			f->escape = true;
		else if (c == '"')
			f->in_string = false;
		if (!f->in_string && f->depth == 0)
			emit(f);
		return;
	}
	if (c == '"')
		f->in_string = true;
	else if (c == '{' || c == '[')
		f->depth++;
	else if ((c == '}' || c == ']') && --f->depth == 0)
		emit(f);
}

static int scan_byte(struct nr_framer *f, char c)
{
	if (f->scalar && ends_scalar(c))
		emit(f); /* then look at @c again, outside any value */
	if (f->discarding) {
		f->discarding = c != '\n';
		return 0;
	}
	if (c == '\n' && f->started) {
		fail(f, NR_FRAME_PARSE,
		     f->in_string ? "newline inside a string" : "unterminated JSON value at end of line",
		     true);
		return 0;
	}
	if (!f->started) {
		scan_idle(f, c);
		if (!f->started)
			return 0;
	}
	if (append(f, c) != 0)
		return -ENOMEM;
	if (f->len > f->max) {
		char reason[96];
		snprintf(reason, sizeof(reason), "request exceeds the limit of %zu bytes", f->max);
		fail(f, NR_FRAME_TOO_LONG, reason, false);
	} else if (!f->scalar && f->len > 1) {
		scan_value(f, c);
	}
	return 0;
}

int nr_framer_feed(struct nr_framer *f, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int rc = scan_byte(f, data[i]);
		if (rc)
			return rc;
	}
	return 0;
}

void nr_framer_finish(struct nr_framer *f)
{
	if (f->scalar)
		emit(f);
	else if (f->started)
		fail(f, NR_FRAME_PARSE, "unterminated JSON value at end of input", true);
	f->discarding = false;
}
