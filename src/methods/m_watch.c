/* SPDX-License-Identifier: MIT */
/*
 * nvme.watch: streams health and topology events of the watched controllers
 * until cancelled (rpc.cancel, the peer going away, shutdown). The first
 * rpc.stream notification holds one item, the snapshot; each later one holds
 * the events of one poll of one controller, in order. The pollers are shared
 * (watch_poll.c): N watchers of a drive cost one poll per interval.
 *
 * A watcher whose peer does not read: while the peer has more than
 * --write-buffer bytes unsent, its events wait in the watcher, up to
 * WATCH_BACKLOG_MAX; one more ends the stream with -32013 ServerBusy
 * (data.limit "watch-backlog"). Events are never dropped or merged
 * silently: a client that sees the stream end knows it missed some and
 * starts again from a fresh snapshot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "methods/handlers.h"
#include "methods/job.h"
#include "methods/watch.h"
#include "rpc/rpc_error.h"

#define WATCH_BACKLOG_MAX 1024u
#define WATCH_DEFAULT_INTERVAL_MS 5000u
#define NSEC_PER_MSEC 1000000ull

static void watcher_free(void *ctx)
{
	struct watcher *w = ctx;

	watch_leave(w);
	json_decref(w->backlog);
	free(w->devices);
	free(w);
}

/* Sends @items (borrowed array) as one rpc.stream notification. Returns 0
 * or -errno. */
static int watcher_send(struct watcher *w, json_t *items)
{
	char *inner = json_dumps(items, JSON_COMPACT);
	size_t inner_len = inner ? strlen(inner) - 2 : 0; /* without [ and ] */
	size_t len;
	char *text = inner ? nr_call_stream_begin(w->call, inner_len, &len) : NULL;

	if (!text) {
		free(inner);
		return -ENOMEM;
	}
	memcpy(text + len, inner + 1, inner_len);
	free(inner);
	return nr_call_stream_send(w->call, text, len + inner_len);
}

static void watcher_flush(struct nr_call *call);

/* Sends what the backlog holds, unless the peer is behind: then it waits
 * for the peer to drain. */
static void watcher_push(struct watcher *w)
{
	json_t *items = w->backlog;

	if (nr_call_ended(w->call) || w->paused || json_array_size(items) == 0)
		return;
	if (nr_call_backlogged(w->call)) {
		w->paused = true;
		nr_call_pause(w->call, watcher_flush);
		return;
	}
	w->backlog = json_array();
	if (watcher_send(w, items) == -ENOMEM)
		nr_call_fail(w->call, NR_E_INTERNAL, "out of memory");
	json_decref(items);
}

/* The peer drained: send what waited. */
static void watcher_flush(struct nr_call *call)
{
	struct watcher *w = call->ctx;

	w->paused = false;
	watcher_push(w);
}

/* Ends the stream: the peer fell WATCH_BACKLOG_MAX events behind. */
static void watcher_overflow(struct watcher *w)
{
	char reason[128];

	snprintf(reason, sizeof(reason),
		 "the client fell %u events behind: watch again for a fresh snapshot",
		 WATCH_BACKLOG_MAX);
	nr_call_error(w->call, nr_rpc_error_object(NR_E_SERVER_BUSY, reason,
						   json_pack("{s:s, s:i}", "limit", "watch-backlog",
							     "value", (int)WATCH_BACKLOG_MAX)));
}

void watcher_deliver(struct watcher *w, json_t *events)
{
	json_t *event;
	size_t i;

	json_array_foreach (events, i, event) {
		const char *kind = json_string_value(json_object_get(event, "kind"));
		unsigned k = 0;
		while (watch_kind_name(k) && strcmp(watch_kind_name(k), kind) != 0)
			k++;
		if (!(w->kinds & (1u << k)))
			continue;
		if (json_array_size(w->backlog) >= WATCH_BACKLOG_MAX) {
			watcher_overflow(w);
			return;
		}
		json_array_append(w->backlog, event);
	}
	watcher_push(w);
}

void watcher_try_snapshot(struct watcher *w)
{
	json_t *snapshot;

	if (w->snapshot_sent || nr_call_ended(w->call) || !watch_ready(w))
		return;
	w->snapshot_sent = true;
	snapshot = json_pack("{s:s, s:o, s:o}", "kind", "snapshot", "time", watch_time_now(),
			     "devices", watch_snapshot_devices(w));
	if (!snapshot) {
		nr_call_fail(w->call, NR_E_INTERNAL, "out of memory");
		return;
	}
	/* First in line, whatever the backlog holds (nothing: events wait for it). */
	json_array_insert_new(w->backlog, 0, snapshot);
	watcher_push(w);
}

/* The controllers named by params.devices (a namespace names its
 * controller), deduplicated. Returns 0, or ends the call. */
static int watcher_devices(struct nr_call *call, struct watcher *w)
{
	json_t *names = json_object_get(call->params, "devices");
	struct nr_device dev;
	json_t *name;
	size_t i, n = 0, cap;

	if (!names)
		return 0;
	/* Distinct controllers: never more than the topology holds, however long the list. */
	cap = nr_topology_ctrl_count(call->svc->topology);
	cap = json_array_size(names) < cap ? json_array_size(names) : cap;
	w->devices = calloc(cap + 1, sizeof(*w->devices));
	if (!w->devices) {
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return -ENOMEM;
	}
	json_array_foreach (names, i, name) {
		if (nr_topology_find(call->svc->topology, json_string_value(name), &dev) != 0) {
			nr_call_error(call,
				      nr_rpc_error_object(NR_E_DEVICE_NOT_FOUND,
							  "no such device in nvme.list",
							  json_pack("{s:O}", "device", name)));
			return -ENODEV;
		}
		w->device_count = n;
		if (n < cap && !watcher_wants(w, dev.ctrl->name))
			snprintf(w->devices[n++], NR_NAME_MAX, "%s", dev.ctrl->name);
	}
	w->device_count = n;
	return 0;
}

/* params.events as a mask of kinds (every kind when absent). */
static uint32_t watcher_kinds(const struct nr_call *call)
{
	json_t *names = json_object_get(call->params, "events");
	json_t *name;
	uint32_t kinds = 0;
	size_t i;

	if (!names)
		return WATCH_ALL_KINDS;
	json_array_foreach (names, i, name) {
		for (unsigned k = 0; watch_kind_name(k); k++) {
			if (strcmp(watch_kind_name(k), json_string_value(name)) == 0)
				kinds |= 1u << k;
		}
	}
	return kinds;
}

void nr_m_nvme_watch(struct nr_call *call)
{
	struct watcher *w = calloc(1, sizeof(*w));

	if (!w || !(w->backlog = json_array())) {
		free(w);
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return;
	}
	w->call = call;
	call->ctx = w;
	call->ctx_free = watcher_free;
	w->kinds = watcher_kinds(call);
	w->interval_ns =
	    nr_param_u64(call, "interval_ms", WATCH_DEFAULT_INTERVAL_MS) * NSEC_PER_MSEC;
	if (watcher_devices(call, w) != 0)
		return;
	if (watch_join(w) != 0) {
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return;
	}
	watcher_try_snapshot(w);
}
