/* SPDX-License-Identifier: MIT */
/*
 * A call is one request being served; a session is the peer it came from
 * (a socket connection or stdio). The server layer implements the session's
 * transport; everything here runs on the loop thread.
 */
#ifndef NR_CALL_H
#define NR_CALL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "rpc/exec.h"
#include "rpc/service.h"
#include "nvme/topology.h"

struct nr_session;
struct nr_call;
struct nr_batch;

struct nr_session_ops {
	/* Queues one JSON text for the peer; @text is malloc'd and stolen, the
	 * transport appends the newline. Returns 0 or -errno. */
	int (*send)(struct nr_session *session, char *text, size_t len);
	/* Bytes queued but not yet written to the peer. */
	size_t (*unsent)(struct nr_session *session);
	/* Optional: the session's last live call ended. */
	void (*idle)(struct nr_session *session);
};

struct nr_session {
	const struct nr_session_ops *ops;
	struct nr_service *svc;
	struct nr_peer peer;
	struct nr_call *calls;	       /* live calls, linked by session_next */
	size_t live;		       /* how many: bounded by limits.max_calls */
	uint64_t requests;	       /* received on this session (server.stats) */
	uint64_t errors;	       /* error answers sent on it */
	struct nr_call *drain_waiters; /* paused producers, linked by drain_next */
	bool input_ended;	       /* the peer will send no more (EOF): set by the
					* transport; endless streams (nvme.watch) end */
};

/* Handler: starts serving a validated call. It must end the call, now or
 * later, with nr_call_result or nr_call_error. */
typedef void (*nr_handler_fn)(struct nr_call *call);

struct nr_method {
	const char *name;
	enum nr_class cls;
	bool streaming;
	nr_handler_fn start;
};

enum nr_call_state {
	NR_CALL_NEW,	 /* handler has it, no device work yet */
	NR_CALL_QUEUED,	 /* waiting in a device FIFO */
	NR_CALL_RUNNING, /* work on a worker thread */
	NR_CALL_PAUSED,	 /* streaming, waiting for the peer to drain */
	NR_CALL_ENDED,	 /* answered; memory kept while work still runs */
};

/*
 * The only place a call's state changes. The moves allowed:
 *   NEW -> QUEUED -> RUNNING -> NEW (the work's done callback runs)
 *   NEW -> PAUSED -> NEW (a stream waits for its peer to drain)
 *   any but ENDED -> ENDED, and nothing leaves ENDED.
 * Any other move is a bug: it aborts (assert). Logged at debug level.
 */
void nr_call_set_state(struct nr_call *call, enum nr_call_state to);
/* "new", "queued", "running", "paused", "ended". */
const char *nr_call_state_name(enum nr_call_state state);

struct nr_call {
	struct nr_session *session; /* NULL once the session closed */
	struct nr_peer peer;	    /* who asked, kept for the audit log */
	struct nr_service *svc;
	const struct nr_method *method;
	enum nr_class cls;   /* effective: the method's, raised by its params */
	size_t method_index; /* into the schema's method list, for stats */
	json_t *id;	     /* NULL for a notification */
	json_t *params;	     /* validated */
	struct nr_batch *batch;
	struct nr_device dev;
	bool stream;
	unsigned stream_seq; /* the next stream message's seq */
	bool stream_open;    /* a message begun and not yet sent */
	enum nr_call_state state;
	unsigned refs;
	bool internal; /* the daemon's own work (nr_call_internal) */
	bool started;  /* a command of it was handed to a device */
	bool answered; /* its one answer went out (Timeout) while its command
			* still runs: what it ends with is only audited */

	/* device work */
	struct nr_ctrl *queued_on;
	struct nr_devq *running_on; /* referenced while its work runs */
	struct nr_call *queue_next;
	uint64_t queued_ns; /* nr_exec_now_ns() when last queued */
	uint64_t start_ns;  /* nr_exec_now_ns() when the call was made (audit duration) */
	nr_work_fn work;
	nr_done_fn done;
	struct nr_cmd *cmd; /* the work is this one command (nr_exec_submit_cmd) */
	int work_rc;
	bool parked; /* its controller holds its command: the FIFO is busy,
		      * no pool thread is (see nr_backend_ops.submit) */
	uv_work_t work_req;
	uv_timer_t timer;
	bool timer_open;

	/* streaming */
	void (*resume)(struct nr_call *call);

	void *ctx; /* handler state */
	void (*ctx_free)(void *ctx);

	/* nr_call_result_text's whole answer, handed to call_end's answer */
	char *ready_text;
	size_t ready_len;

	struct nr_call *session_next;
	struct nr_call *drain_next;
};

/* The sorted method table, and lookup (NULL when unknown). */
const struct nr_method *nr_method_find(const char *name);
size_t nr_method_count(void);
const struct nr_method *nr_method_at(size_t index);

/*
 * Parses and serves one JSON text from @session (a request, a notification
 * or a batch). @value is borrowed. Replies are sent through the session as
 * they complete, possibly out of order.
 */
void nr_session_handle(struct nr_session *session, json_t *value);

/*
 * The same for one request in its JSON text, read without a jansson tree
 * when it has the plain form (rpc/envelope.h). Returns false, having done
 * nothing, when it does not: the caller parses @text in full and calls
 * nr_session_handle.
 */
bool nr_session_handle_text(struct nr_session *session, const char *text, size_t len);

/* Sends an error with id null (framing errors, limits): @code, a @reason
 * sentence and @data (stolen, may be NULL) as in nr_rpc_error_object. */
void nr_session_send_error(struct nr_session *session, int code, const char *reason, json_t *data);

/* The transport drained below the bound: resume paused producers. */
void nr_session_drained(struct nr_session *session);

/*
 * The peer went away. A call no command of which reached a device, and any
 * read call, ends now (-32010 Cancelled, audited as such for a write). A
 * write or destructive call that handed a command to a device is orphaned:
 * it runs its sequence to the end (a job's remaining steps, a sanitize's
 * polling) and its audit line reports the device's outcome; no answer is
 * sent. Loop thread.
 */
void nr_session_close(struct nr_session *session);

/*
 * Begins shutting @session down (SIGTERM): calls that never reached a device (queued in a
 * FIFO, paused streams, not yet submitted) end now with -32010 Cancelled ("the daemon is
 * shutting down"); calls whose command is on a device keep running and answer with the
 * device's outcome (or Timeout). With @force (a second signal) running read-class calls end
 * too (-32010); write and destructive ones are still waited for. The session's idle op runs
 * when its last call ended. Returns the number of the session's calls still live. Loop thread.
 *
 * From the first call on, the whole service is shutting down (svc->shutting_down), for every
 * session: no call's device work starts any more (nr_call_may_start), except the next step of
 * a write or destructive call that already handed a command to a device (a job's next
 * command, a sanitize's status polling), which finishes its sequence, and the daemon's own
 * work. A read's next step (a stream's next chunk, a paused stream resumed) ends it with
 * -32010 instead. The idle op is not called when the session had no live call (this returns
 * 0 then); a call answered early with Timeout no longer counts as the session's.
 */
size_t nr_session_shutdown(struct nr_session *session, bool force);

/* Whether @call's next piece of device work may start: see nr_session_shutdown. Loop thread. */
bool nr_call_may_start(const struct nr_call *call);

/*
 * A call of the daemon's own, to queue work on a device FIFO in line with
 * clients' calls (an MI endpoint scan): no session, no answer, no stats, no
 * per-command timer (the backend bounds its own waits), and its done
 * callback always runs. Acts for @parent's peer when given. Returns it with
 * one reference (released with nr_call_unref) or NULL when out of memory.
 */
struct nr_call *nr_call_internal(struct nr_service *svc, const struct nr_call *parent);

/* Ends the call with a result (stolen). */
void nr_call_result(struct nr_call *call, json_t *result);
/*
 * Ends the call with a result already written as compact JSON text (@len
 * bytes at @text, borrowed; one JSON value, not NUL-terminated): the
 * response envelope is written around it with the id echoed as
 * nr_call_result echoes it, with no jansson value built. An encoder's
 * output goes here on the hot path (issue 12).
 */
void nr_call_result_text(struct nr_call *call, const char *text, size_t len);
/* Ends the call with an error object from nr_rpc_error_* (stolen). */
void nr_call_error(struct nr_call *call, json_t *error);
/* Ends the call with a code and a reason sentence. */
void nr_call_fail(struct nr_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Streaming: one rpc.stream notification per chunk, built as text (a stream
 * can carry a million items). nr_call_stream_begin returns a malloc'd buffer
 * holding the envelope up to the items array's '[' (*len bytes) with room
 * for @items_len more bytes of comma-separated items and the closing "]}}",
 * and advances seq; NULL when out of memory. nr_call_stream_send closes the
 * notification and sends it; @text is stolen.
 */
char *nr_call_stream_begin(struct nr_call *call, size_t items_len, size_t *len);
int nr_call_stream_send(struct nr_call *call, char *text, size_t len);
/* Sends one stream message holding the one item @item (borrowed). Returns 0
 * or -errno. */
int nr_call_stream_item(struct nr_call *call, const json_t *item);
/* Whether the peer's unsent bytes exceed the bound: producers should pause. */
bool nr_call_backlogged(const struct nr_call *call);
/* Pauses until the peer drains, then calls @resume. */
void nr_call_pause(struct nr_call *call, void (*resume)(struct nr_call *call));

/*
 * Whether another element of @call's batch is waiting or running on @ctrl's
 * FIFO: the batch already holds its place under --max-queue. Loop thread.
 */
bool nr_call_batch_queued_on(const struct nr_call *call, const struct nr_ctrl *ctrl);

/*
 * The per-command timer fired while @call's command runs. A read ends with
 * -32003 Timeout (the late result is discarded). A write or destructive call
 * is answered Timeout and audited so, but lives on: the device's eventual
 * outcome is audited in a second line when the command completes, and a
 * multi-step call finishes its sequence. Loop thread.
 */
void nr_call_timed_out(struct nr_call *call);

/* Whether the call has ended (answered, cancelled, timed out). An orphaned
 * or early-answered write has not: its device work still runs. */
bool nr_call_ended(const struct nr_call *call);

/*
 * From now on @call's outcome is the device's: it counts as having handed a
 * command to a device (the exec layer marks this itself when a command
 * starts), so a write is no longer the peer's to cancel and shutdown waits
 * for it. For a call that commits before its first command reaches a FIFO
 * (nvme.apply, before it reads a firmware image). Loop thread.
 */
void nr_call_commit(struct nr_call *call);

/* Reference counting for code that keeps a call across callbacks. */
void nr_call_ref(struct nr_call *call);
void nr_call_unref(struct nr_call *call);

enum nr_cancel_outcome {
	NR_CANCEL_NOT_FOUND, /* no live call of the session has that id */
	NR_CANCEL_DONE,	     /* it ended with -32010 Cancelled */
	NR_CANCEL_REFUSED,   /* a write or destructive call already on a device */
};

/*
 * Cancels the call of @session whose id equals @id (other than @except).
 * A read call is cancelled in any state (a running command's result is
 * discarded: nothing on the device changes); a write or destructive call
 * only while none of its commands reached a device (queued, not started).
 * Once one did, the device's outcome is the call's: it is refused, and
 * answered with that outcome later. Loop thread.
 */
enum nr_cancel_outcome nr_session_cancel(struct nr_session *session, const json_t *id,
					 const struct nr_call *except);

#endif
