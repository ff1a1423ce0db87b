/* SPDX-License-Identifier: MIT */
#include "rpc/exec.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

#include "rpc/call.h"
#include "rpc/rpc_error.h"
#include "nvme/topology.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static void devq_kick(struct nr_devq *q, bool inline_ok);

/* When the work running on this worker thread was queued. */
static _Thread_local uint64_t work_arrival_ns;

uint64_t nr_exec_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t nr_exec_arrival_ns(void)
{
	return work_arrival_ns;
}

struct nr_devq *nr_devq_new(void)
{
	struct nr_devq *q = calloc(1, sizeof(*q));

	if (q)
		q->refs = 1;
	return q;
}

void nr_devq_ref(struct nr_devq *q)
{
	q->refs++;
}

void nr_devq_unref(struct nr_devq *q)
{
	assert(q->refs > 0);
	if (--q->refs > 0)
		return;
	assert(!q->head && !q->running && q->waiting == 0);
	free(q);
}

static void work_run(uv_work_t *req)
{
	struct nr_call *call = container_of(req, struct nr_call, work_req);

	work_arrival_ns = call->queued_ns;
	call->work_rc = call->work(call);
	work_arrival_ns = 0;
}

static void timer_closed(uv_handle_t *handle)
{
	nr_call_unref(handle->data);
}

/*
 * Loop thread: the call's work is over (finished with @rc, or aborted on
 * its controller: -ECANCELED). The FIFO's next command starts before this
 * call's answer is built, so that the device works while the loop does;
 * what the done callback queues goes behind it, as it would anyway. The
 * FIFO is held across the done callback and the release of the call: the
 * call's reference may be the last one on a controller entry a rescan
 * replaced, and the entry goes with it.
 */
static void work_finish(struct nr_call *call, int rc)
{
	struct nr_devq *q = call->running_on;

	call->running_on = NULL;
	call->parked = false;
	assert(q->running);
	q->running = false;
	if (call->timer_open)
		uv_timer_stop(&call->timer);
	/* Only a held command arms an internal call's timer: no one else closes it. */
	if (call->internal && call->timer_open) {
		call->timer_open = false;
		uv_close((uv_handle_t *)&call->timer, timer_closed);
	}
	devq_kick(q, false);
	if (call->state == NR_CALL_RUNNING) {
		nr_call_set_state(call, NR_CALL_NEW);
		call->done(call, rc);
	}
	nr_call_unref(call);
	devq_kick(q, false);
	nr_devq_unref(q);
}

/* Gives up on the command @call's controller holds: the backend completes
 * it with an Abort status and the work ends with -ECANCELED. */
static void work_abort(struct nr_call *call)
{
	struct nr_ctrl *ctrl = call->queued_on;

	assert(call->parked);
	call->parked = false;
	ctrl->ops->abort(ctrl->backend_ctrl);
	work_finish(call, -ECANCELED);
}

static void timer_arm(struct nr_call *call);

/*
 * The controller holds @call's command (-EINPROGRESS): the FIFO stays busy
 * but the pool thread is free. The call's timer aborts it; it is armed here
 * when it is not running (an internal call, the next step of a write already
 * answered Timeout). A call that ended while its work ran is aborted now.
 */
static void work_park(struct nr_call *call)
{
	call->parked = true;
	if (call->state != NR_CALL_RUNNING)
		work_abort(call);
	else if (!call->timer_open || !uv_is_active((uv_handle_t *)&call->timer))
		timer_arm(call);
}

/* Loop thread: the worker returned. */
static void work_after(uv_work_t *req, int status)
{
	struct nr_call *call = container_of(req, struct nr_call, work_req);

	if (status == 0 && call->work_rc == -EINPROGRESS && call->queued_on->ops->abort)
		work_park(call);
	else
		work_finish(call, status == UV_ECANCELED ? -ECANCELED : call->work_rc);
}

void nr_exec_abandon(struct nr_call *call)
{
	if (call->parked)
		work_abort(call);
}

/* A client's call is answered Timeout (a read ends, a write lives on); a
 * held command is aborted, for internal calls too. */
static void timeout_fired(uv_timer_t *timer)
{
	struct nr_call *call = timer->data;

	nr_call_ref(call);
	if (call->state == NR_CALL_RUNNING && !call->answered && !call->internal)
		nr_call_timed_out(call);
	if (call->parked)
		work_abort(call);
	nr_call_unref(call);
}

static void timer_arm(struct nr_call *call)
{
	/* A closed timer is never reopened: an internal call's timer is closed
	 * when its held command ends, and internal calls hold one step only. */
	assert(call->timer_open || !uv_is_closing((uv_handle_t *)&call->timer));
	if (!call->timer_open) {
		uv_timer_init(call->svc->loop, &call->timer);
		call->timer.data = call;
		call->timer_open = true;
		nr_call_ref(call); /* dropped in the close callback */
	}
	uv_timer_start(&call->timer, timeout_fired, call->svc->limits.timeout_ms, 0);
}

/* Takes the FIFO's oldest call off it and makes it the running one. */
static struct nr_call *devq_start_next(struct nr_devq *q)
{
	struct nr_call *call = q->head;

	q->head = call->queue_next;
	if (!q->head)
		q->tail = NULL;
	call->queue_next = NULL;
	assert(q->waiting > 0 && !q->running);
	q->waiting--;
	q->running = true;
	nr_call_set_state(call, NR_CALL_RUNNING);
	call->running_on = q;
	nr_devq_ref(q); /* dropped in work_finish */
	nr_call_ref(call);
	return call;
}

static void async_done(struct nr_cmd *cmd, int rc, void *arg)
{
	struct nr_call *call = arg;

	(void)cmd;
	if (rc == -EOPNOTSUPP) { /* not taken this way after all: the pool sends it */
		uv_queue_work(call->svc->loop, &call->work_req, work_run, work_after);
		return;
	}
	call->work_rc = rc;
	work_after(&call->work_req, 0);
}

/* Starts @call's single command through the backend's submit_async.
 * Returns true when it is in flight (its completion finishes the work). */
static bool async_start(struct nr_call *call)
{
	struct nr_ctrl *ctrl = call->queued_on;

	return call->cmd && ctrl->ops->submit_async &&
	       ctrl->ops->submit_async(ctrl->backend_ctrl, call->svc->loop, call->cmd, async_done,
				       call) == 0;
}

/*
 * Whether @call's command runs on the loop thread: the first command of a
 * call (a stream's next chunk, a job's next step go through the pool, so
 * that a cancel or a peer's other requests are read in between) on a
 * backend whose submit never blocks.
 */
static bool runs_inline(const struct nr_call *call)
{
	const struct nr_ctrl *ctrl = call->queued_on;

	return !call->started && ctrl->ops->runs_inline &&
	       ctrl->ops->runs_inline(ctrl->backend_ctrl);
}

/*
 * Starts the FIFO's oldest call when nothing runs on it. From a submission
 * (@inline_ok) a call may run on the loop thread, its done callback
 * included, and then the next, up to limits.inline_runs in a row (the loop
 * then serves other peers); otherwise, and after
 * a completion (which may be inside another call's ending), on the pool. A
 * kick from inside an inline run only queues: this loop starts the call.
 */
static void devq_kick(struct nr_devq *q, bool inline_ok)
{
	if (q->kicking)
		return;
	q->kicking = true;
	nr_devq_ref(q); /* a done callback may drop the last other reference */
	for (unsigned runs = 0; !q->running && q->head; runs++) {
		struct nr_call *call = devq_start_next(q);
		bool here = inline_ok && runs < call->svc->limits.inline_runs && runs_inline(call);
		call->started = true;
		if (here) {
			work_run(&call->work_req);
			work_after(&call->work_req, 0);
			continue;
		}
		if (!call->internal && !call->answered)
			timer_arm(call);
		if (!async_start(call))
			uv_queue_work(call->svc->loop, &call->work_req, work_run, work_after);
	}
	q->kicking = false;
	nr_devq_unref(q);
}

int nr_exec_submit(struct nr_call *call, struct nr_ctrl *ctrl, nr_work_fn work, nr_done_fn done)
{
	return nr_exec_submit_cmd(call, ctrl, NULL, work, done);
}

int nr_exec_submit_cmd(struct nr_call *call, struct nr_ctrl *ctrl, struct nr_cmd *cmd,
		       nr_work_fn work, nr_done_fn done)
{
	struct nr_devq *q = ctrl->fifo;
	bool continuing = call->queued_on == ctrl;
	int rc;

	/* Sending may have ended the call (the peer went away mid-stream). */
	if (call->state == NR_CALL_ENDED)
		return -ECANCELED;
	if (!nr_call_may_start(call))
		return -ESHUTDOWN;
	if (nr_ctrl_removed(ctrl))
		return -ENODEV;
	/* A stream's next chunk is not a new call, nor is the daemon's own
	 * work: neither is refused. Nor is a batch element when another of its
	 * batch is queued here: a batch is one request, holding one place in
	 * the bound, so its elements are not refused for each other's sake
	 * (--max-batch bounds their number). */
	if (!continuing && !call->internal &&
	    q->waiting + q->running >= call->svc->limits.max_queue &&
	    !nr_call_batch_queued_on(call, ctrl))
		return -EBUSY;
	if (ctrl->ops->admit && (rc = ctrl->ops->admit(ctrl->backend_ctrl)) != 0)
		return rc;
	call->queued_ns = nr_exec_now_ns();
	call->work = work;
	call->done = done;
	call->cmd = cmd;
	call->queued_on = ctrl;
	nr_call_set_state(call, NR_CALL_QUEUED);
	if (q->tail)
		q->tail->queue_next = call;
	else
		q->head = call;
	q->tail = call;
	q->waiting++;
	devq_kick(q, true);
	return 0;
}

bool nr_exec_unqueue(struct nr_call *call)
{
	struct nr_devq *q;
	struct nr_call **link;
	struct nr_call *prev = NULL;

	if (call->state != NR_CALL_QUEUED || !call->queued_on)
		return false;
	q = call->queued_on->fifo;
	for (link = &q->head; *link; prev = *link, link = &(*link)->queue_next) {
		if (*link != call)
			continue;
		*link = call->queue_next;
		if (q->tail == call)
			q->tail = prev;
		call->queue_next = NULL;
		assert(q->waiting > 0);
		q->waiting--;
		return true;
	}
	return false;
}
