/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the framer (server/framing.c). Input: one byte for the value limit,
 * one for the depth limit, two seeding the split points, then the stream.
 * The stream is framed twice: in one read, and in reads of random sizes
 * whose callbacks sometimes hold the framer (as a connection whose peer does
 * not read its answers). Both must see the same values and as many errors:
 * where a read ends may only turn a parse error into "too long" (the limit
 * is met before the newline that breaks the value is seen).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"

#define MAX_EVENTS 4096

struct event {
	int error; /* 0 for a value, else enum nr_frame_error */
	size_t len;
	uint64_t hash;
};

struct run {
	struct nr_framer framer;
	struct event events[MAX_EVENTS];
	size_t count;
	bool may_hold;
};

static uint64_t fnv1a(const char *text, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)text[i]) * 1099511628211ull;
	return h;
}

static void record(struct run *run, int error, const char *text, size_t len)
{
	if (run->count < MAX_EVENTS)
		run->events[run->count] = (struct event){error, len, fnv1a(text, len)};
	run->count++;
}

static bool on_value(void *opaque, const char *text, size_t len)
{
	struct run *run = opaque;
	json_t *value;

	if (len == 0 || len > run->framer.max || memchr(text, '\n', len))
		abort(); /* a value is never empty, over the limit or across a newline */
	record(run, 0, text, len);
	value = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	json_decref(value);
	if (run->may_hold && (fnv1a(text, len) & 3) == 0)
		run->framer.hold = true;
	return value == NULL;
}

static void on_error(void *opaque, enum nr_frame_error error, const char *reason)
{
	struct run *run = opaque;

	if (!reason || !*reason)
		abort();
	record(run, (int)error, "", 0);
}

static const struct nr_framer_ops ops = {.value = on_value, .error = on_error};

/* Feeds @len bytes, resuming after every hold as a connection does. */
static void feed(struct run *run, const char *data, size_t len)
{
	while (len > 0) {
		if (nr_framer_feed(&run->framer, data, len) != 0)
			abort();
		if (!run->framer.hold)
			return;
		if (run->framer.fed > len)
			abort();
		run->framer.hold = false;
		data += run->framer.fed;
		len -= run->framer.fed;
	}
}

static void frame(struct run *run, const char *data, size_t len, size_t max, unsigned depth,
		  uint32_t seed)
{
	size_t off = 0;

	nr_framer_init(&run->framer, &ops, run, max, depth);
	run->may_hold = seed != 0;
	while (off < len) {
		size_t n = len - off;
		if (seed) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % (n < 64 ? n : 64);
		}
		feed(run, data + off, n);
		off += n;
	}
	nr_framer_finish(&run->framer);
	nr_framer_fini(&run->framer);
}

static bool same_event(const struct event *a, const struct event *b)
{
	if (a->error == 0 || b->error == 0)
		return a->error == b->error && a->len == b->len && a->hash == b->hash;
	return a->error == b->error || a->error == NR_FRAME_TOO_LONG ||
	       b->error == NR_FRAME_TOO_LONG;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, split;
	size_t max;
	unsigned depth;
	uint32_t seed;

	if (size < 4)
		return 0;
	max = data[0] < 250 ? 1 + data[0] : (size_t)1 << 20;
	depth = 1 + data[1] % 16;
	seed = 1 + (uint32_t)(data[2] | data[3] << 8);
	whole.count = split.count = 0;
	frame(&whole, (const char *)data + 4, size - 4, max, depth, 0);
	frame(&split, (const char *)data + 4, size - 4, max, depth, seed);
	if (whole.count != split.count)
		abort();
	for (size_t i = 0; i < whole.count && i < MAX_EVENTS; i++) {
		if (!same_event(&whole.events[i], &split.events[i]))
			abort();
	}
	return 0;
}
