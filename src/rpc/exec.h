/* SPDX-License-Identifier: MIT */
/*
 * Device work on the libuv worker pool. Each controller has a FIFO: at most
 * one call's work runs on it at a time, so two commands are never in flight
 * on one device. Work functions run on a worker thread and touch plain C
 * buffers only; their done callbacks run on the loop thread and build JSON.
 * A single command on a backend that can start it without blocking
 * (submit_async: io_uring passthru) skips the pool: it is started from the
 * loop thread and its completion comes back there.
 */
#ifndef NR_EXEC_H
#define NR_EXEC_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct nr_call;
struct nr_cmd;
struct nr_ctrl;

/*
 * A device's FIFO. It is its own object, referenced by every controller entry
 * that queues on it (the entries a rescan replaced and their replacement,
 * the controllers behind one NVMe-MI endpoint) and by the work running on it,
 * so it outlives whichever entry is released first.
 */
struct nr_devq {
	struct nr_call *head; /* waiting calls, oldest first */
	struct nr_call *tail;
	uint32_t waiting;
	bool running;
	bool kicking; /* devq_kick is running its calls inline */
	unsigned refs;
};

/* Returns a new empty FIFO with one reference, or NULL. Any thread. */
struct nr_devq *nr_devq_new(void);
/* Reference counting; the last unref frees it (it must be idle then). */
void nr_devq_ref(struct nr_devq *q);
void nr_devq_unref(struct nr_devq *q);

/* Worker thread: does the blocking device work. Returns 0 or -errno. */
typedef int (*nr_work_fn)(struct nr_call *call);
/* Loop thread: consumes the result. Not called when the call ended first
 * (cancelled, timed out, connection closed). */
typedef void (*nr_done_fn)(struct nr_call *call, int rc);

/*
 * Queues @call's next piece of work on @ctrl's FIFO, with the per-command
 * timeout armed when it starts. Returns 0, -EBUSY when the device already
 * has max_queue calls waiting (elements of a batch already queued there
 * count as one; never for the daemon's own calls, nor for a call's next
 * step), -ECANCELED when the call has ended, -ESHUTDOWN when the daemon is
 * shutting down and the work may not start (see nr_session_shutdown;
 * nr_call_fail_cmd answers it with -32010), or -ENODEV when the device was
 * removed. A controller entry a rescan replaced is not removed: work
 * continuing on it queues on the FIFO it shares with its replacement. Loop
 * thread.
 */
int nr_exec_submit(struct nr_call *call, struct nr_ctrl *ctrl, nr_work_fn work, nr_done_fn done);

/*
 * The same for work that is exactly one command, @cmd (owned by the call,
 * alive until @done): a backend with submit_async runs it from the loop
 * thread without the worker pool, and @done gets what @work would have
 * returned (0, or -errno; an NVMe error status is in @cmd). Otherwise, or
 * when the backend declines it, @work runs on the pool as for
 * nr_exec_submit, and must send @cmd and nothing else.
 */
int nr_exec_submit_cmd(struct nr_call *call, struct nr_ctrl *ctrl, struct nr_cmd *cmd,
		       nr_work_fn work, nr_done_fn done);

/*
 * Takes @call out of its device FIFO if it is waiting there. Returns true if
 * it was waiting (its work will never run). Loop thread.
 */
bool nr_exec_unqueue(struct nr_call *call);

/*
 * @call ended (cancelled, timed out, its peer gone) while its controller
 * holds its command (the backend's submit returned -EINPROGRESS): the
 * command is aborted now, so the FIFO moves on. Nothing otherwise. Loop
 * thread.
 */
void nr_exec_abandon(struct nr_call *call);

/* CLOCK_MONOTONIC in nanoseconds. Any thread. */
uint64_t nr_exec_now_ns(void);

/* Worker thread, inside a work function: when its call was queued (the
 * moment the request reached the device FIFO); 0 outside work. */
uint64_t nr_exec_arrival_ns(void);

#endif
