/* SPDX-License-Identifier: MIT */
/* Jobs, the topology refresh after lifecycle changes, parameter helpers. */
#include "methods/job.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc_error.h"

static void job_free(void *ctx)
{
	struct nr_job *job = ctx;

	if (job->state_free)
		job->state_free(job->state);
	free(job->extra);
	free(job);
}

/* Where the handler state starts after a @buf_len-byte buffer. */
static size_t job_state_offset(size_t buf_len)
{
	size_t align = _Alignof(max_align_t);

	return (sizeof(struct nr_job) + buf_len + align - 1) / align * align;
}

struct nr_job *nr_job_new(struct nr_call *call, size_t buf_len, size_t state_size,
			  nr_job_encode_fn encode, const char *what)
{
	size_t at = job_state_offset(buf_len);
	struct nr_job *job = calloc(1, state_size ? at + state_size : sizeof(*job) + buf_len);

	if (!job) {
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return NULL;
	}
	if (state_size)
		job->state = (char *)job + at;
	job->encode = encode;
	job->what = what;
	job->buf_len = buf_len;
	call->ctx = job;
	call->ctx_free = job_free;
	return job;
}

int nr_job_send(struct nr_call *call, struct nr_cmd *cmd)
{
	struct nr_job *job = call->ctx;
	int rc = call->dev.ctrl->ops->submit(call->dev.ctrl->backend_ctrl, cmd);

	/* Only a device that was gone before it took the command is safe to
	 * try again elsewhere. */
	if (rc != -ENODEV)
		job->delivered++;
	return rc ? rc : (cmd->status || cmd->mi_status) ? 1 : 0;
}

static int job_work(struct nr_call *call)
{
	struct nr_job *job = call->ctx;
	/* delivered was zeroed by nr_job_submit, which alone queues this. */
	int rc = job->work ? job->work(call, job) : nr_job_send(call, &job->cmd);

	return rc > 0 ? 0 : rc; /* a status error is in job->cmd */
}

bool nr_call_failover(struct nr_call *call, bool *failed_over)
{
	struct nr_device alt;

	call->dev.ctrl->gone = true;
	if (!call->dev.ns || *failed_over ||
	    nr_topology_other_path(call->svc->topology, &call->dev, &alt) != 0)
		return false;
	nr_ctrl_ref(alt.ctrl);
	nr_ctrl_unref(call->dev.ctrl);
	call->dev = alt;
	*failed_over = true;
	return true;
}

static void job_done(struct nr_call *call, int rc)
{
	struct nr_job *job = call->ctx;
	json_t *result;

	/* A read is safe to send again whatever reached the device; a write
	 * only when nothing did. */
	if (rc == -ENODEV && (job->delivered == 0 || call->cls == NR_CLASS_READ) &&
	    nr_call_failover(call, &job->failed_over)) {
		job->cmd.status = 0;
		job->cmd.mi_status = 0;
		job->cmd.result = 0;
		nr_job_submit(call);
		return;
	}
	if (rc == -ENODEV)
		call->dev.ctrl->gone = true;
	if (nr_call_fail_cmd(call, rc, &job->cmd, job->what))
		return;
	if (job->next) {
		job->next(call, job);
		return;
	}
	result = job->encode(call, job);
	if (!result) {
		if (!nr_call_ended(call)) /* else it answered with text */
			nr_call_fail(call, NR_E_INTERNAL, "encoding %s failed", job->what);
		return;
	}
	if (job->refresh) {
		nr_refresh_answer(call, result);
		return;
	}
	nr_call_result(call, result);
}

void nr_job_submit(struct nr_call *call)
{
	struct nr_job *job = call->ctx;
	int rc;

	/* A job that is its one command may skip the worker pool (the
	 * backend's submit_async); delivered then stays 0 exactly when the
	 * device was gone before it took the command (-ENODEV). */
	job->delivered = 0;
	rc = job->work ? nr_exec_submit(call, call->dev.ctrl, job_work, job_done)
		       : nr_exec_submit_cmd(call, call->dev.ctrl, &job->cmd, job_work, job_done);

	if (rc)
		nr_call_fail_cmd(call, rc, NULL, job->what);
}

/* ---- topology refresh -------------------------------------------------- */

/* The generic refresh: each controller of the subsystem rebuilt through its
 * own FIFO (backends without a relearn op and without release). */
struct refresh {
	struct nr_call *call;
	json_t *result;
	struct nr_ctrl **old; /* referenced until the swap */
	struct nr_ctrl **fresh;
	size_t count;
	size_t pending; /* rebuilds not done yet */
	int rc;
};

/* One controller's rebuild, queued on its FIFO as an internal call. */
struct refresh_step {
	struct refresh *r;
	size_t index;
};

/* Lists each rebuilt controller in place of the entry listed for it now
 * (another refresh may have replaced the one collected); a controller
 * removed meanwhile stays removed. */
static void refresh_swap(struct nr_topology *topo, struct refresh *r)
{
	for (size_t i = 0; i < r->count; i++) {
		struct nr_ctrl *listed = r->old[i];
		while (listed->successor)
			listed = listed->successor;
		if (r->rc == 0 && !listed->gone && r->fresh[i] &&
		    nr_topology_replace(topo, listed, r->fresh[i]) == 0)
			continue;
		if (r->fresh[i])
			nr_ctrl_unref(r->fresh[i]);
	}
}

/* Swaps the rebuilt controllers in and answers the call. */
static void refresh_finish(struct refresh *r)
{
	struct nr_call *call = r->call;

	nr_topology_drop_vanished(call->svc->topology);
	refresh_swap(call->svc->topology, r);
	for (size_t i = 0; i < r->count; i++)
		nr_ctrl_unref(r->old[i]);
	free(r->fresh);
	free(r->old);
	if (nr_call_ended(call))
		json_decref(r->result);
	else if (r->rc)
		json_object_set_new(r->result, "topology_error", json_string(strerror(-r->rc)));
	if (!nr_call_ended(call))
		nr_call_result(call, r->result);
	nr_call_unref(call);
	free(r);
}

/* Worker thread, in the controller's FIFO: its Identify commands never
 * overlap another command on the device. */
static int rebuild_work(struct nr_call *child)
{
	struct refresh_step *step = child->ctx;
	struct nr_ctrl *old = child->dev.ctrl;

	return nr_ctrl_build(old->name, old->ops, old->backend_ctrl, &step->r->fresh[step->index]);
}

static void rebuild_done(struct nr_call *child, int rc)
{
	struct refresh *r = ((struct refresh_step *)child->ctx)->r;

	/* A controller that vanished is unlisted, not a failed refresh. */
	if (rc && rc != -ENODEV && r->rc == 0)
		r->rc = rc;
	if (--r->pending == 0)
		refresh_finish(r);
	nr_call_unref(child);
}

/* Queues the rebuild of old[@index] on its FIFO. Returns 0 or -errno. */
static int rebuild_submit(struct refresh *r, size_t index)
{
	struct refresh_step *step = calloc(1, sizeof(*step));
	struct nr_call *child = step ? nr_call_internal(r->call->svc, r->call) : NULL;
	int rc;

	if (!child) {
		free(step);
		return -ENOMEM;
	}
	*step = (struct refresh_step){r, index};
	child->ctx = step;
	child->ctx_free = free;
	child->dev.ctrl = r->old[index];
	nr_ctrl_ref(child->dev.ctrl);
	rc = nr_exec_submit(child, child->dev.ctrl, rebuild_work, rebuild_done);
	if (rc)
		nr_call_unref(child);
	return rc;
}

/* Rebuilds every collected controller through its own FIFO, then swaps. */
static void refresh_start(struct refresh *r)
{
	r->pending = r->count + 1; /* held until every rebuild is queued */
	for (size_t i = 0; i < r->count; i++) {
		int rc = rebuild_submit(r, i);
		if (rc == 0)
			continue;
		if (r->rc == 0)
			r->rc = rc;
		r->pending--;
	}
	if (--r->pending == 0)
		refresh_finish(r);
}

/* The listed controllers of @ctrl's subsystem on the same backend. */
static int refresh_collect(struct nr_call *call, struct refresh *r)
{
	struct nr_topology *topo = call->svc->topology;
	size_t total = nr_topology_ctrl_count(topo);

	r->old = calloc(total ? total : 1, sizeof(*r->old));
	r->fresh = calloc(total ? total : 1, sizeof(*r->fresh));
	if (!r->old || !r->fresh)
		return -ENOMEM;
	for (size_t i = 0; i < total; i++) {
		struct nr_ctrl *c = nr_topology_ctrl_at(topo, i);
		if (c->gone || c->ops != call->dev.ctrl->ops ||
		    strcmp(c->subnqn, call->dev.ctrl->subnqn) != 0)
			continue;
		nr_ctrl_ref(c);
		r->old[r->count++] = c;
	}
	return 0;
}

void nr_refresh_answer(struct nr_call *call, json_t *result)
{
	const struct nr_backend_ops *ops = call->dev.ctrl->ops;
	struct refresh *r;

	if (ops->relearn) {
		ops->relearn(call, result);
		return;
	}
	if (ops->release) {
		nr_call_result(call, result); /* a backend that cannot re-learn */
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r || refresh_collect(call, r) != 0) {
		if (r)
			free(r->old), free(r->fresh);
		free(r);
		json_decref(result);
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return;
	}
	r->call = call;
	r->result = result;
	nr_call_ref(call);
	refresh_start(r);
}

/* ---- parameters -------------------------------------------------------- */

uint64_t nr_param_u64(const struct nr_call *call, const char *key, uint64_t fallback)
{
	json_t *value = json_object_get(call->params, key);

	return json_is_integer(value) ? (uint64_t)json_integer_value(value) : fallback;
}

bool nr_param_bool(const struct nr_call *call, const char *key)
{
	return json_is_true(json_object_get(call->params, key));
}

bool nr_param_rae(const struct nr_call *call)
{
	return !json_is_false(json_object_get(call->params, "rae"));
}

uint32_t nr_param_nsid(const struct nr_call *call, uint32_t fallback)
{
	json_t *nsid = json_object_get(call->params, "nsid");

	if (nsid)
		return (uint32_t)json_integer_value(nsid);
	return call->dev.ns ? call->dev.ns->nsid : fallback;
}

int nr_param_enum(const struct nr_call *call, const char *key, const char *const *names,
		  size_t count, int fallback)
{
	const char *value = json_string_value(json_object_get(call->params, key));

	for (size_t i = 0; value && i < count; i++) {
		if (names[i] && strcmp(names[i], value) == 0)
			return (int)i;
	}
	return fallback;
}

void nr_call_unsupported(struct nr_call *call, const char *what, const char *because)
{
	nr_call_error(call,
		      nr_rpc_error_object(NR_E_NOT_SUPPORTED, what,
					  json_pack("{s:s, s:s}", "device", call->dev.ctrl->name,
						    "identify", because)));
}

uint32_t nr_ctrl_max_write(const struct nr_ctrl *ctrl, uint32_t cap)
{
	if (ctrl->write_limit && ctrl->write_limit < cap)
		cap = ctrl->write_limit;
	return nr_ctrl_max_xfer(ctrl, cap);
}

uint32_t nr_ctrl_max_xfer(const struct nr_ctrl *ctrl, uint32_t cap)
{
	uint64_t bytes;

	if (ctrl->mdts == 0 || ctrl->mdts > 20)
		return cap;
	bytes = 4096ull << ctrl->mdts;
	return bytes < cap ? (uint32_t)bytes : cap;
}
