/* SPDX-License-Identifier: MIT */
/*
 * nvme.watch: the watched state of one controller and the events its changes
 * make (watch_state.c), the pollers shared by every watcher of a controller
 * (watch_poll.c) and the watchers themselves, one per nvme.watch call
 * (m_watch.c). Loop thread unless said otherwise.
 */
#ifndef NR_WATCH_H
#define NR_WATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "rpc/call.h"
#include "nvme/backend.h"
#include "nvme/topology.h"

/* The kinds of event; each is one name in params.events and in an event's
 * "kind". */
enum watch_kind {
	WATCH_CRITICAL_WARNING,
	WATCH_TEMPERATURE,
	WATCH_AVAILABLE_SPARE,
	WATCH_PERCENTAGE_USED,
	WATCH_MEDIA_ERRORS,
	WATCH_NAMESPACE,
	WATCH_FIRMWARE,
	WATCH_CONTROLLER,
	WATCH_MI_HEALTH,
	WATCH_KIND_COUNT,
};

#define WATCH_ALL_KINDS ((1u << WATCH_KIND_COUNT) - 1)

/* Returns the kind's name, or NULL past the table. */
const char *watch_kind_name(unsigned kind);

/* One namespace as the topology lists it. */
struct watch_ns {
	uint32_t nsid;
	uint64_t nsze;
	uint64_t ncap;
};

/* What one poll learnt. A piece whose read failed keeps its _ok false. */
struct watch_state {
	bool smart_ok, fw_ok, thresh_ok;
	bool health_ok; /* @health holds the subsystem health poll's answer */
	struct nr_subsys_health health;
	uint8_t critical_warning;
	uint16_t temperature; /* composite, Kelvin */
	uint8_t avail_spare, spare_thresh, percent_used;
	uint64_t media_errors;		/* low 64 bits of the 128-bit counter */
	uint16_t over_temp, under_temp; /* composite thresholds, Kelvin */
	uint8_t fw_slot;		/* running slot (AFI bits 2:0) */
	char fw_rev[9];
	int error; /* the poll's -errno, 0 when the device answered */
	struct watch_ns *ns;
	size_t ns_count;
};

void watch_state_clear(struct watch_state *st);
/* Moves @from into @to (freeing @to's namespaces). */
void watch_state_move(struct watch_state *to, struct watch_state *from);

/* The controller's entry in a snapshot: identity and @st. New reference. */
json_t *watch_state_json(const struct nr_ctrl *ctrl, const char *name,
			 const struct watch_state *st);

/* Appends to @events (borrowed array) the events from @old to @cur of
 * controller @name at @time (borrowed string). */
void watch_state_diff(const struct watch_state *old, const struct watch_state *cur,
		      const char *name, json_t *time, json_t *events);

/* One controller event: added (@present) or removed. New reference. */
json_t *watch_event_controller(const char *name, bool present, json_t *time);

/* The current time as an RFC 3339 UTC string. New reference. */
json_t *watch_time_now(void);

struct watch_hub;
struct watch_poller;

/* A watcher: one nvme.watch call (its ctx). */
struct watcher {
	struct nr_call *call; /* not referenced: the watcher is the call's ctx */
	struct watch_hub *hub;
	struct watcher *next;
	char (*devices)[NR_NAME_MAX]; /* controllers watched; NULL: every one */
	size_t device_count;
	uint32_t kinds;	      /* bit per enum watch_kind */
	uint64_t interval_ns; /* how often it wants its controllers polled */
	bool snapshot_sent;
	bool paused;	 /* waiting for the peer to drain */
	json_t *backlog; /* events held while the peer is behind */
};

/* Whether @w watches the controller named @name. */
bool watcher_wants(const struct watcher *w, const char *name);

/*
 * The poller side (watch_poll.c). watch_join registers @w with its service's
 * hub, creating pollers (and polling the new ones at once); the first poll of
 * each of its controllers triggers its snapshot. watch_leave unregisters it;
 * the last watcher of a controller stops its poller, the last of the service
 * stops the timer. Returns 0 or -ENOMEM.
 */
int watch_join(struct watcher *w);
void watch_leave(struct watcher *w);

/* m_watch.c, called by the pollers: sends @w its snapshot when every
 * controller it watches has been polled once. */
void watcher_try_snapshot(struct watcher *w);
/* Queues @events (borrowed array, not empty) for @w, filtered by its kinds. */
void watcher_deliver(struct watcher *w, json_t *events);

/* The snapshot items of @w's controllers. New reference. */
json_t *watch_snapshot_devices(struct watcher *w);
/* Whether every controller @w watches has been polled once. */
bool watch_ready(struct watcher *w);

#endif
