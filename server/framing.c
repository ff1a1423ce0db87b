/* SPDX-License-Identifier: MIT */
#include "framing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nr_framer_init(struct nr_framer *f, const struct nr_framer_ops *ops, void *opaque, size_t max,
		    unsigned max_depth)
{
	memset(f, 0, sizeof(*f));
	f->ops = ops;
	f->opaque = opaque;
	f->max = max;
	f->max_depth = max_depth;
}

void nr_framer_fini(struct nr_framer *f)
{
	nr_buf_free(&f->value);
}

static void reset(struct nr_framer *f)
{
	f->value.len = 0;
	f->depth = 0;
	f->started = f->scalar = f->in_string = f->escape = false;
	if (f->value.cap > 65536) {
		/* Do not keep a megabyte per idle connection after one big request. */
		nr_buf_free(&f->value);
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
	bool discard = f->ops->value(f->opaque, f->value.data, f->value.len);

	reset(f);
	f->discarding = discard;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool ends_scalar(char c)
{
	return is_space(c) || strchr("{}[]\",", c) != NULL;
}

/* Handles one byte outside any value: starts one, skips space, or fails. */
static void scan_idle(struct nr_framer *f, char c)
{
	char reason[64];

	if (is_space(c))
		return;
	if (c == '}' || c == ']' || c == ',' || c == ':') {
		snprintf(reason, sizeof(reason), "unexpected '%c' outside a JSON value", c);
		fail(f, NR_FRAME_PARSE, reason, false);
		return;
	}
	f->started = true;
	f->depth = (c == '{' || c == '[');
	f->in_string = c == '"';
	f->scalar = !f->depth && !f->in_string;
}

/*
 * Scans the value in progress from @data. Returns how many bytes belong to
 * it; *done is set when it ended within them (the closing byte included for
 * objects, arrays and strings; the delimiter excluded for scalars), *broken
 * when a newline cut it, and *deep when it nests deeper than the limit.
 */
static size_t scan_value(struct nr_framer *f, const char *data, size_t len, bool *done,
			 bool *broken, bool *deep)
{
	size_t i = 0;

	*done = *broken = *deep = false;
	for (; i < len; i++) {
		char c = data[i];
		if (f->scalar) {
			if (ends_scalar(c)) {
				*done = true;
				return i;
			}
		} else if (c == '\n') {
			*broken = true;
			return i;
		} else if (f->in_string) {
			if (f->escape)
				f->escape = false;
			else if (c == '\\')
				f->escape = true;
			else if (c == '"' && (f->in_string = false, f->depth == 0))
				break;
		} else if (c == '"') {
			f->in_string = true;
		} else if (c == '{' || c == '[') {
			if (++f->depth > f->max_depth) {
				*deep = true;
				return i + 1;
			}
		} else if ((c == '}' || c == ']') && --f->depth == 0) {
			break;
		}
	}
	if (i < len) {
		*done = true;
		return i + 1;
	}
	return len;
}

/* Completes the value: its bytes are the buffered prefix plus @tail. */
static int finish_value(struct nr_framer *f, const char *tail, size_t n)
{
	bool discard;

	if (f->value.len + n > f->max) {
		char reason[96];
		snprintf(reason, sizeof(reason), "request exceeds the limit of %zu bytes", f->max);
		fail(f, NR_FRAME_TOO_LONG, reason, false);
		return 0;
	}
	if (f->value.len == 0) {
		/* The whole value is in this read: no copy. */
		discard = f->ops->value(f->opaque, tail, n);
	} else {
		if (nr_buf_append(&f->value, tail, n) != 0)
			return -ENOMEM;
		discard = f->ops->value(f->opaque, f->value.data, f->value.len);
	}
	reset(f);
	f->discarding = discard;
	return 0;
}

static void fail_deep(struct nr_framer *f)
{
	char reason[96];

	snprintf(reason, sizeof(reason), "JSON text nested deeper than the limit of %u",
		 f->max_depth);
	fail(f, NR_FRAME_TOO_DEEP, reason, false);
}

int nr_framer_feed(struct nr_framer *f, const char *data, size_t len)
{
	size_t i = 0;

	f->fed = len;
	while (i < len) {
		bool done, broken, deep;
		size_t n;
		int rc;

		if (f->hold) {
			f->fed = i;
			return 0;
		}
		if (f->discarding) {
			const char *nl = memchr(data + i, '\n', len - i);
			if (!nl)
				return 0;
			i = (size_t)(nl - data) + 1;
			f->discarding = false;
			continue;
		}
		if (!f->started) {
			scan_idle(f, data[i]);
			if (!f->started) {
				i++;
				continue;
			}
			/* The opening byte is part of the value; scanning starts after it. */
			n = 1 + scan_value(f, data + i + 1, len - i - 1, &done, &broken, &deep);
		} else {
			n = scan_value(f, data + i, len - i, &done, &broken, &deep);
		}
		if (deep) {
			fail_deep(f);
			i += n;
			continue;
		}
		if (broken) {
			fail(f, NR_FRAME_PARSE,
			     f->in_string ? "newline inside a string"
					  : "unterminated JSON value at end of line",
			     true);
			i += n + 1;
			continue;
		}
		rc = done ? finish_value(f, data + i, n) : 0;
		if (!done && f->value.len + n > f->max) {
			char reason[96];
			snprintf(reason, sizeof(reason), "request exceeds the limit of %zu bytes",
				 f->max);
			fail(f, NR_FRAME_TOO_LONG, reason, false);
		} else if (!done) {
			rc = nr_buf_append(&f->value, data + i, n);
		}
		if (rc)
			return rc;
		i += n;
	}
	return 0;
}

bool nr_framer_partial(const struct nr_framer *f)
{
	return f->started || f->discarding;
}

void nr_framer_drop(struct nr_framer *f)
{
	reset(f);
	nr_buf_free(&f->value);
	f->discarding = true;
}

void nr_framer_finish(struct nr_framer *f)
{
	if (f->scalar)
		emit(f);
	else if (f->started)
		fail(f, NR_FRAME_PARSE, "unterminated JSON value at end of input", true);
	f->discarding = false;
}
