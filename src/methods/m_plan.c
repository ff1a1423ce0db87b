/* SPDX-License-Identifier: MIT */
/*
 * nvme.plan and nvme.apply (docs/desired-state.md). Both read the
 * controller's state through inner calls and compute the plan
 * (plan_state.c, plan_diff.c); apply then checks the digest, support,
 * authorization and confirm for every operation before running any, and
 * runs them in order as inner calls of the methods they name, so each is
 * validated, authorized, confirmed and audited as a client's own call
 * would be. It stops at the first failure. Loop thread.
 *
 * Once its first operation is sent, the apply counts as a write that handed a
 * command to a device (nr_call_commit): a peer that goes away orphans it and
 * it runs to its end, audited; rpc.cancel is refused; shutting down waits for
 * the operation in flight, and the next one is refused (Cancelled), so the
 * apply answers with its report. Before that (while reading), it is
 * cancelled like any call that reached no device.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "methods/handlers.h"
#include "methods/plan.h"
#include "rpc/policy.h"
#include "rpc/rpc_error.h"
#include "util/base64.h"

struct plan_ctx {
	struct nr_call *call; /* referenced while the plan or apply runs */
	struct nr_inner *inner;
	struct plan_read *reader;
	bool apply;
	json_t *state;	/* read, referenced */
	json_t *digest; /* of the state */
	json_t *ops;	/* the plan */
	json_t *diff;
	json_t *done; /* operations run, with their results */
	size_t next;  /* the operation running or next */
};

static void ctx_free(void *opaque)
{
	struct plan_ctx *ctx = opaque;

	plan_read_free(ctx->reader);
	nr_inner_free(ctx->inner);
	json_decref(ctx->state);
	json_decref(ctx->digest);
	json_decref(ctx->ops);
	json_decref(ctx->diff);
	json_decref(ctx->done);
	free(ctx);
}

/* Drops the reference the running plan held; may free @ctx. */
static void ctx_release(struct plan_ctx *ctx)
{
	nr_call_unref(ctx->call);
}

static json_t *numbered(json_t *ops)
{
	json_t *op;
	size_t i;

	json_array_foreach (ops, i, op)
		json_object_set_new(op, "index", json_integer((json_int_t)i));
	return ops;
}

static void plan_answer(struct plan_ctx *ctx)
{
	nr_call_result(ctx->call,
		       json_pack("{s:s, s:O, s:O, s:O, s:b}", "device", ctx->call->dev.ctrl->name,
				 "operations", ctx->ops, "diff", ctx->diff, "plan_digest",
				 ctx->digest, "changes", json_array_size(ctx->ops) > 0));
}

/* ---- apply: checks before anything runs --------------------------------- */

static json_t *state_changed(struct plan_ctx *ctx)
{
	json_t *given = json_object_get(ctx->call->params, "plan_digest");

	if (!given || json_equal(given, ctx->digest))
		return NULL;
	return nr_rpc_error_object(
	    NR_E_STATE_CHANGED, "the device changed since the plan was made: plan again",
	    json_pack("{s:O, s:O}", "plan_digest", given, "current_digest", ctx->digest));
}

/* The first operation with an error the plan already knows (NotSupported). */
static json_t *unsupported_op(struct plan_ctx *ctx)
{
	json_t *op;
	size_t i;

	json_array_foreach (ctx->ops, i, op) {
		json_t *error = json_object_get(op, "error");
		if (!error)
			continue;
		error = json_deep_copy(error);
		json_object_set_new(json_object_get(error, "data"), "operation",
				    json_integer((json_int_t)i));
		return error;
	}
	return NULL;
}

static enum nr_class op_class(json_t *op)
{
	const char *name = json_string_value(json_object_get(op, "class"));

	if (strcmp(name, "destructive") == 0)
		return NR_CLASS_DESTRUCTIVE;
	return strcmp(name, "write") == 0 ? NR_CLASS_WRITE : NR_CLASS_READ;
}

/* PermissionDenied for the first operation the policy refuses the peer. */
static json_t *forbidden_op(struct plan_ctx *ctx)
{
	struct nr_call *call = ctx->call;
	json_t *op;
	size_t i;

	json_array_foreach (ctx->ops, i, op) {
		const char *method = json_string_value(json_object_get(op, "method"));
		const struct nr_method *m = nr_method_find(method);
		if (m &&
		    nr_policy_allows(call->svc->policy, &call->peer, method, m->cls, op_class(op)))
			continue;
		return nr_rpc_error_object(
		    NR_E_PERMISSION_DENIED, "the plan has an operation the policy does not allow",
		    json_pack("{s:i, s:O, s:s, s:I}", "uid", (int)call->peer.uid, "class",
			      json_object_get(op, "class"), "method", method, "operation",
			      (json_int_t)i));
	}
	return NULL;
}

/* ConfirmationRequired when an operation is destructive and confirm is not
 * the controller's serial number. */
static json_t *unconfirmed(struct plan_ctx *ctx)
{
	json_t *confirm = json_object_get(ctx->call->params, "confirm"), *op, *which = json_array();
	size_t i;

	json_array_foreach (ctx->ops, i, op) {
		if (op_class(op) == NR_CLASS_DESTRUCTIVE)
			json_array_append_new(which, json_integer((json_int_t)i));
	}
	if (json_array_size(which) == 0 ||
	    (json_is_string(confirm) &&
	     strcmp(json_string_value(confirm), ctx->call->dev.ctrl->sn) == 0)) {
		json_decref(which);
		return NULL;
	}
	return nr_rpc_error_object(
	    NR_E_CONFIRMATION_REQUIRED,
	    "the plan has destructive operations: pass confirm equal to the "
	    "controller's serial number (sn)",
	    json_pack("{s:s, s:o}", "device", ctx->call->dev.ctrl->name, "operations", which));
}

/* ---- apply: running the operations -------------------------------------- */

static void apply_next(struct plan_ctx *ctx);
static void on_op(void *opaque, json_t *result, json_t *error);

static void apply_answer(struct plan_ctx *ctx, json_t *failed)
{
	json_t *rest = json_array();

	for (size_t i = ctx->next + (failed ? 1 : 0); i < json_array_size(ctx->ops); i++)
		json_array_append(rest, json_array_get(ctx->ops, i));
	nr_call_result(ctx->call,
		       json_pack("{s:s, s:O, s:o, s:O, s:o, s:b, s:O}", "device",
				 ctx->call->dev.ctrl->name, "plan_digest", ctx->digest, "done",
				 json_incref(ctx->done), "failed", failed ? failed : json_null(),
				 "not_attempted", rest, "complete", !failed, "diff", ctx->diff));
}

/* The error when a create's answer put the namespace elsewhere, or NULL. */
static json_t *create_misplaced(json_t *op, json_t *result)
{
	json_t *want = json_object_get(op, "nsid"), *got = json_object_get(result, "nsid");

	if (!want || json_equal(want, got))
		return NULL;
	return nr_rpc_error_object(
	    NR_E_STATE_CHANGED, "the controller gave the new namespace another NSID than the plan",
	    json_pack("{s:O, s:O}", "nsid", want, "allocated", got));
}

static void on_op(void *opaque, json_t *result, json_t *error)
{
	struct plan_ctx *ctx = opaque;
	json_t *op = json_deep_copy(json_array_get(ctx->ops, ctx->next));
	json_t *misplaced = error ? NULL : create_misplaced(op, result);

	if (misplaced)
		error = misplaced;
	json_object_set(op, error ? "error" : "result", error ? error : result);
	json_object_set_new(op, "status", json_string(error ? "failed" : "done"));
	json_decref(misplaced);
	if (ctx->call->stream && !nr_call_ended(ctx->call))
		nr_call_stream_item(ctx->call, op);
	if (error || nr_call_ended(ctx->call)) {
		if (!nr_call_ended(ctx->call))
			apply_answer(ctx, op);
		json_decref(op);
		ctx_release(ctx);
		return;
	}
	json_array_append_new(ctx->done, op);
	ctx->next++;
	apply_next(ctx);
}

/* Sends the current operation with @params (stolen). */
static void send_op(struct plan_ctx *ctx, json_t *params)
{
	json_t *op = json_array_get(ctx->ops, ctx->next);
	int rc;

	if (op_class(op) == NR_CLASS_DESTRUCTIVE)
		json_object_set(params, "confirm", json_object_get(ctx->call->params, "confirm"));
	rc = nr_inner_call(ctx->inner, json_string_value(json_object_get(op, "method")), params,
			   on_op, ctx);
	if (rc) {
		json_t *error = nr_rpc_error_from_errno(rc, "nvme.apply");
		on_op(ctx, NULL, error);
		json_decref(error);
	}
}

/* Reading a firmware image named by file, on a worker thread. */
struct fw_read {
	uv_work_t req;
	struct plan_ctx *ctx;
	char *dir, *name;
	uint8_t *data;
	size_t len;
	int rc;
};

static void fw_read_work(uv_work_t *req)
{
	struct fw_read *fr = req->data;

	fr->rc = plan_fw_read(fr->dir, fr->name, &fr->data, &fr->len);
}

/* The download's params with the image read in place of its path, or NULL. */
static json_t *fw_params(struct plan_ctx *ctx, const struct fw_read *fr)
{
	json_t *params =
	    json_deep_copy(json_object_get(json_array_get(ctx->ops, ctx->next), "params"));
	char *text = malloc(NR_BASE64_ENCODED_LEN(fr->len) + 1);
	size_t len;

	if (!params || !text) {
		json_decref(params);
		free(text);
		return NULL;
	}
	len = nr_base64_encode(fr->data, fr->len, text);
	json_object_del(params, "path");
	json_object_set_new(params, "image", json_stringn(text, len));
	free(text);
	return params;
}

static void fw_read_done(uv_work_t *req, int status)
{
	struct fw_read *fr = req->data;
	json_t *params = NULL, *error = NULL;

	if (status == 0 && fr->rc == 0)
		params = fw_params(fr->ctx, fr);
	if (!params)
		error = nr_rpc_error_from_errno(status	 ? status
						: fr->rc ? fr->rc
							 : -ENOMEM,
						"reading the firmware image");
	if (params)
		send_op(fr->ctx, params);
	else
		on_op(fr->ctx, NULL, error);
	json_decref(error);
	free(fr->data);
	free(fr->dir);
	free(fr->name);
	free(fr);
}

/* Reads the image of the current operation's path, then sends it. */
static void fw_read_start(struct plan_ctx *ctx, json_t *path)
{
	struct fw_read *fr = calloc(1, sizeof(*fr));
	const char *dir = ctx->call->svc->firmware_dir;
	json_t *error;

	if (fr && dir) {
		fr->req.data = fr;
		fr->ctx = ctx;
		fr->dir = strdup(dir);
		fr->name = strdup(json_string_value(path));
	}
	if (fr && fr->dir && fr->name &&
	    uv_queue_work(ctx->call->svc->loop, &fr->req, fw_read_work, fw_read_done) == 0)
		return;
	if (fr) {
		free(fr->dir);
		free(fr->name);
	}
	free(fr);
	error = nr_rpc_error_from_errno(dir ? -ENOMEM : -ENOENT, "reading the firmware image");
	on_op(ctx, NULL, error);
	json_decref(error);
}

static void apply_next(struct plan_ctx *ctx)
{
	json_t *op = json_array_get(ctx->ops, ctx->next);
	json_t *path = json_object_get(json_object_get(op, "params"), "path");

	if (nr_call_ended(ctx->call) || !op) {
		if (!op && !nr_call_ended(ctx->call))
			apply_answer(ctx, NULL);
		ctx_release(ctx);
		return;
	}
	/* Its outcome is the device's from now on (see the top of this file). */
	nr_call_commit(ctx->call);
	if (path)
		fw_read_start(ctx, path);
	else
		send_op(ctx, json_deep_copy(json_object_get(op, "params")));
}

static void apply_start(struct plan_ctx *ctx)
{
	json_t *error = state_changed(ctx);

	if (!error)
		error = unsupported_op(ctx);
	if (!error)
		error = forbidden_op(ctx);
	if (!error)
		error = unconfirmed(ctx);
	if (error) {
		nr_call_error(ctx->call, error);
		ctx_release(ctx);
		return;
	}
	numbered(ctx->ops);
	ctx->done = json_array();
	apply_next(ctx);
}

/* ---- both --------------------------------------------------------------- */

static void on_state(void *opaque, json_t *state, json_t *error)
{
	struct plan_ctx *ctx = opaque;
	json_t *desired = json_object_get(ctx->call->params, "desired");

	if (nr_call_ended(ctx->call)) {
		ctx_release(ctx);
		return;
	}
	if (error) {
		nr_call_error(ctx->call, json_incref(error));
		ctx_release(ctx);
		return;
	}
	ctx->state = json_incref(state);
	ctx->digest = plan_digest(state);
	if (plan_diff(ctx->call->svc, ctx->call->dev.ctrl, state, desired, &ctx->ops, &ctx->diff,
		      &error)) {
		nr_call_error(ctx->call, error);
		ctx_release(ctx);
		return;
	}
	if (ctx->apply) {
		apply_start(ctx);
		return;
	}
	numbered(ctx->ops);
	plan_answer(ctx);
	ctx_release(ctx);
}

static void plan_begin(struct nr_call *call, bool apply)
{
	struct plan_ctx *ctx;
	json_t *desired = json_object_get(call->params, "desired");

	if (call->dev.ns) {
		nr_call_invalid(call, "params.device", "must be a controller, not a namespace");
		return;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx)
		ctx->inner = nr_inner_new(call->svc, &call->peer);
	if (!ctx || !ctx->inner) {
		free(ctx);
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return;
	}
	ctx->call = call;
	ctx->apply = apply;
	call->ctx = ctx;
	call->ctx_free = ctx_free;
	nr_call_ref(call); /* the plan's, dropped by ctx_release */
	nr_call_ref(call); /* this function's: the read may end before it returns */
	ctx->reader = plan_read_start(ctx->inner, call->dev.ctrl, desired, on_state, ctx);
	if (!ctx->reader) {
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		ctx_release(ctx);
	}
	nr_call_unref(call);
}

void nr_m_nvme_plan(struct nr_call *call)
{
	plan_begin(call, false);
}

void nr_m_nvme_apply(struct nr_call *call)
{
	plan_begin(call, true);
}
