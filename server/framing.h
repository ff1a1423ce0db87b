/* SPDX-License-Identifier: MIT */
/*
 * Framing: one JSON text per line (NDJSON), and concatenated values on one
 * line. A value may not span a newline: a newline inside an unfinished value
 * is a parse error, which makes resynchronisation at the next newline exact.
 * The scanner only finds value boundaries; jansson parses each value.
 */
#ifndef NR_FRAMING_H
#define NR_FRAMING_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

enum nr_frame_error {
	NR_FRAME_PARSE = 1,    /* malformed: answer -32700 */
	NR_FRAME_TOO_LONG = 2, /* over the limit: answer -32600 */
	NR_FRAME_TOO_DEEP = 3, /* nested deeper than the limit: answer -32600 */
};

struct nr_framer_ops {
	/* A complete value of @len bytes (not NUL-terminated). Returns true if
	 * the rest of the line must be discarded (the value did not parse). */
	bool (*value)(void *opaque, const char *text, size_t len);
	/* The scanner rejected input; the rest of the line is discarded. */
	void (*error)(void *opaque, enum nr_frame_error error, const char *reason);
};

struct nr_framer {
	const struct nr_framer_ops *ops;
	void *opaque;
	size_t max;	     /* bytes in one value */
	unsigned max_depth;  /* nesting of arrays and objects in one value */
	struct nr_buf value; /* a value split across reads, so far */
	bool hold;	     /* set by a callback: stop feeding after this value */
	size_t fed;	     /* bytes the last nr_framer_feed consumed */
	unsigned depth;
	bool started;
	bool scalar;
	bool in_string;
	bool escape;
	bool discarding; /* skipping to the next newline */
};

void nr_framer_init(struct nr_framer *f, const struct nr_framer_ops *ops, void *opaque, size_t max,
		    unsigned max_depth);
void nr_framer_fini(struct nr_framer *f);

/*
 * Scans @len bytes; calls back for each value or error. A callback that sets
 * f->hold stops the scan right after its value: f->fed then says how many
 * bytes were consumed (otherwise @len), and the caller feeds the rest later.
 * Returns 0 or -ENOMEM.
 */
int nr_framer_feed(struct nr_framer *f, const char *data, size_t len);

/* Whether a value or a discarded line is unfinished (bytes wait for a newline). */
bool nr_framer_partial(const struct nr_framer *f);

/* Drops the unfinished value, frees its buffer and skips to the next newline. */
void nr_framer_drop(struct nr_framer *f);

/* End of input: a pending top-level scalar is emitted, an unfinished value
 * is a parse error. */
void nr_framer_finish(struct nr_framer *f);

#endif
