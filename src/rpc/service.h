/* SPDX-License-Identifier: MIT */
/*
 * The service: everything a request needs that outlives a connection (schema,
 * topology, limits, counters). Owned by the loop thread.
 */
#ifndef NR_SERVICE_H
#define NR_SERVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "rpc/policy.h"
#include "rpc/schema.h"

struct nr_topology;
struct nr_call;
struct nr_mi;

/* Defaults for the tunables; the server's flags override them. */
#define NR_DEFAULT_MAX_LINE (1u << 20)
#define NR_DEFAULT_MAX_RESULT_ITEMS 1024u
#define NR_DEFAULT_TIMEOUT_MS 30000u
#define NR_DEFAULT_MAX_QUEUE 128u
#define NR_DEFAULT_INLINE_RUNS 32u
#define NR_DEFAULT_WRITE_BUFFER (1u << 20)
#define NR_DEFAULT_MAX_CONNECTIONS 1024u
#define NR_DEFAULT_MAX_CONNECTIONS_PER_UID 64u
#define NR_DEFAULT_MAX_CALLS 1024u
#define NR_DEFAULT_MAX_BATCH 1024u
#define NR_DEFAULT_MAX_DEPTH 64u
#define NR_DEFAULT_MAX_INPUT_TOTAL (64u << 20)
#define NR_DEFAULT_LINE_TIMEOUT_MS 30000u
#define NR_DEFAULT_IDLE_TIMEOUT_MS 600000u
/* Connections uid 0 may open beyond max_connections, so that an operator
 * can still reach a daemon that other users filled up. */
#define NR_ROOT_RESERVED_CONNECTIONS 16u

struct nr_limits {
	uint32_t max_line;	   /* bytes of one JSON text */
	uint32_t max_result_items; /* items in one non-streamed result */
	uint32_t timeout_ms;	   /* per device command */
	uint32_t max_queue;	   /* queued + running calls per device */
	uint32_t write_buffer;	   /* unsent bytes above which producers pause */
	uint32_t threads;	   /* worker pool size */
	uint32_t max_connections;  /* open connections, all uids (root has a reserve) */
	uint32_t max_connections_per_uid;
	uint32_t max_calls;	  /* calls in flight on one connection */
	uint32_t max_batch;	  /* elements of one batch */
	uint32_t max_depth;	  /* nesting of arrays and objects in one text */
	uint32_t max_input_total; /* bytes of unfinished lines buffered, all connections */
	uint32_t line_timeout_ms; /* a started line must end within this; 0: never */
	uint32_t idle_timeout_ms; /* a connection with nothing to do is closed; 0: never */
	uint32_t inline_runs;	  /* commands of a non-blocking backend run on the loop
				   * thread in a row; 0: always the worker pool */
};

/* Upper bounds of the request duration histogram's buckets, in microseconds
 * (a last bucket holds the rest): 100 us, 1 ms, 10 ms, 100 ms, 1 s, 10 s. */
#define NR_DURATION_BUCKETS 7

struct nr_method_stats {
	uint64_t calls;
	uint64_t errors;
	uint64_t ok;				      /* calls answered with a result */
	uint64_t duration_count[NR_DURATION_BUCKETS]; /* answered calls, per bucket */
	uint64_t duration_sum_us;
};

/* Counts one answered call of @ms (stats.c). Loop thread. */
void nr_stats_answered(struct nr_method_stats *ms, bool failed, uint64_t duration_ns);
/* The duration histogram of @ms as server.stats reports it: {"buckets":
 * cumulative counts per bound, the last for every call, "bounds_us", "sum_us"}.
 * New reference. */
json_t *nr_stats_duration_json(const struct nr_method_stats *ms);
/* Commands waiting or running on each listed controller's FIFO, by name.
 * New reference. Loop thread. */
json_t *nr_stats_queues_json(struct nr_topology *topo);

struct nr_stats {
	uint64_t connections;
	uint64_t connections_total;
	uint64_t requests;
	uint64_t notifications;
	uint64_t errors;
	uint64_t in_flight;
	struct nr_method_stats *methods; /* parallel to the schema's methods */
};

struct nr_service {
	uv_loop_t *loop;
	struct nr_schema *schema;
	struct nr_topology *topology;
	struct nr_limits limits;
	struct nr_stats stats;
	/* The handler of each schema method, by its index: one hash lookup of
	 * the name (the schema's) finds both. */
	const struct nr_method **handlers;
	uint64_t start_ms;
	bool have_sim;
	struct nr_mi *mi; /* the NVMe-MI backend, NULL when not configured */
	bool passthru;	  /* this host's devices are served (and rescanned) */
	/* nvme.rescan's host scan (the passthru backend's relearn, set by the
	 * server when it serves this host's devices); NULL: no host scan. */
	void (*host_rescan)(struct nr_call *call, json_t *result);
	json_t *no_params;	  /* shared {} for requests without params; never modified */
	bool shutting_down;	  /* nr_session_shutdown was called: no new device work */
	char *firmware_dir;	  /* owned: nvme.apply reads firmware images named by
				   * file from here ("firmware" in the config); NULL: none */
	struct nr_policy *policy; /* who may call what; NULL: the default (root everything,
				   * others read); replaced whole on reload */
	/* Called when a write or destructive call ends or is refused (NULL: no
	 * audit): who (peer), what (method, its validated params, borrowed),
	 * the outcome (0 or the JSON-RPC error code) and how long it took (0
	 * when refused before it began). A timed-out write is reported twice:
	 * Timeout, then the device's outcome. Loop thread. */
	void (*audit)(const struct nr_peer *peer, const char *method, const json_t *params,
		      int code, uint64_t duration_us);
};

/*
 * Initialises @svc: loads the schema and checks the method table against it.
 * Returns 0 or -errno with a sentence in @err.
 */
int nr_service_init(struct nr_service *svc, uv_loop_t *loop, char *err, size_t err_len);
void nr_service_fini(struct nr_service *svc);

/* Fills the limits with the defaults above. */
void nr_limits_default(struct nr_limits *limits);

/*
 * Checks the C method table against the OpenRPC document: the same names,
 * classes and streaming flags. Returns 0, or -EINVAL with the first mismatch
 * in @err.
 */
int nr_methods_check(const struct nr_schema *schema, char *err, size_t err_len);

#endif
