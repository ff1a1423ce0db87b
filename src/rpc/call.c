/* SPDX-License-Identifier: MIT */
/*
 * Request envelope, dispatch and the life of a call. Loop thread only.
 */
#include "rpc/call.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"
#include "rpc/answer.h"
#include "rpc/envelope.h"
#include "rpc/request.h"
#include "rpc/rpc_error.h"
#include "rpc/rpc_text.h"

static const char *const call_state_names[] = {
    [NR_CALL_NEW] = "new",	 [NR_CALL_QUEUED] = "queued", [NR_CALL_RUNNING] = "running",
    [NR_CALL_PAUSED] = "paused", [NR_CALL_ENDED] = "ended",
};

/* allowed[from] has bit (1 << to) set for every legal move. */
#define TO(s) (1u << (s))
static const unsigned call_state_allowed[] = {
    [NR_CALL_NEW] = TO(NR_CALL_QUEUED) | TO(NR_CALL_PAUSED) | TO(NR_CALL_ENDED),
    [NR_CALL_QUEUED] = TO(NR_CALL_RUNNING) | TO(NR_CALL_ENDED),
    [NR_CALL_RUNNING] = TO(NR_CALL_NEW) | TO(NR_CALL_ENDED),
    [NR_CALL_PAUSED] = TO(NR_CALL_NEW) | TO(NR_CALL_ENDED),
    [NR_CALL_ENDED] = 0,
};
#undef TO

const char *nr_call_state_name(enum nr_call_state state)
{
	if ((size_t)state >= sizeof(call_state_names) / sizeof(call_state_names[0]))
		return "invalid";
	return call_state_names[state];
}

void nr_call_set_state(struct nr_call *call, enum nr_call_state to)
{
	assert((size_t)call->state < sizeof(call_state_allowed) / sizeof(call_state_allowed[0]));
	assert(call_state_allowed[call->state] & (1u << to));
	if (nr_log_enabled(NR_LOG_DEBUG))
		nr_log(NR_LOG_DEBUG, "call %p %s: %s -> %s", (void *)call, call->method->name,
		       nr_call_state_name(call->state), nr_call_state_name(to));
	call->state = to;
}

/* A batch's answers are gathered as one JSON array text. */
struct nr_batch {
	struct nr_session *session; /* NULL once the session closed */
	struct nr_buf text;	    /* "[" answer "," answer ... */
	unsigned pending;
};

/* Sends @text (malloc'd, stolen). */
static void session_send_text(struct nr_session *session, char *text, size_t len)
{
	if (!session) {
		free(text);
		return;
	}
	/* On failure the transport freed the text and closes itself. */
	session->ops->send(session, text, len);
}

static int batch_append(struct nr_batch *batch, const char *text, size_t len)
{
	int rc = nr_buf_putc(&batch->text, batch->text.len == 0 ? '[' : ',');

	return rc ? rc : nr_buf_append(&batch->text, text, len);
}

/* Settles one element of the batch with its answer (@text malloc'd and
 * stolen; NULL for a notification). Sends the array after the last one. */
static void batch_settle(struct nr_batch *batch, char *text, size_t len)
{
	if (text && batch->session)
		batch_append(batch, text, len);
	free(text);
	assert(batch->pending > 0);
	if (--batch->pending > 0)
		return;
	if (batch->session && batch->text.len > 0 && nr_buf_putc(&batch->text, ']') == 0) {
		char *array = nr_buf_take(&batch->text, &len);
		session_send_text(batch->session, array, len);
	}
	nr_buf_free(&batch->text);
	free(batch);
}

/* Delivers an answer (@text malloc'd and stolen; NULL for a notification). */
static void deliver(struct nr_session *session, struct nr_batch *batch, char *text, size_t len)
{
	if (batch)
		batch_settle(batch, text, len);
	else if (text)
		session_send_text(session, text, len);
}

/* Answers a request that never became a call. @error is stolen. */
static void reject(struct nr_session *session, struct nr_batch *batch, const json_t *id,
		   bool notification, json_t *error)
{
	size_t len = 0;
	char *text = NULL;

	session->svc->stats.errors++;
	session->errors++;
	if (notification)
		json_decref(error);
	else
		text = nr_answer_json(id, "error", error, &len);
	deliver(session, batch, text, len);
}

void nr_session_send_error(struct nr_session *session, int code, const char *reason, json_t *data)
{
	reject(session, NULL, NULL, false, nr_rpc_error_object(code, reason, data));
}

void nr_call_ref(struct nr_call *call)
{
	call->refs++;
}

void nr_call_unref(struct nr_call *call)
{
	assert(call->refs > 0);
	if (--call->refs > 0)
		return;
	if (call->ctx_free)
		call->ctx_free(call->ctx);
	if (call->dev.ctrl)
		nr_ctrl_unref(call->dev.ctrl);
	json_decref(call->id);
	json_decref(call->params);
	free(call);
}

static void timer_closed(uv_handle_t *handle)
{
	nr_call_unref(handle->data);
}

static void session_unlink(struct nr_call *call)
{
	struct nr_call **link;

	if (!call->session)
		return;
	assert(call->session->live > 0);
	call->session->live--;
	for (link = &call->session->calls; *link; link = &(*link)->session_next) {
		if (*link == call) {
			*link = call->session_next;
			break;
		}
	}
	for (link = &call->session->drain_waiters; *link; link = &(*link)->drain_next) {
		if (*link == call) {
			*link = call->drain_next;
			break;
		}
	}
}

/* Reports a write or destructive call's outcome: 0, or its error code;
 * @since_ns is when the call began (0: refused before it began). */
static void audit(struct nr_service *svc, const struct nr_peer *peer, const char *method,
		  const json_t *params, int code, uint64_t since_ns)
{
	uint64_t duration_us = since_ns ? (nr_exec_now_ns() - since_ns) / 1000 : 0;

	if (svc->audit)
		svc->audit(peer, method, params, code, duration_us);
}

/* The audited outcome of an ending: 0, or its error code. */
static int outcome_code(const char *key, const json_t *value, bool failed)
{
	if (!key)
		return NR_E_CANCELLED; /* the peer went away before the device had it */
	return failed ? (int)json_integer_value(json_object_get(value, "code")) : 0;
}

void nr_call_commit(struct nr_call *call)
{
	call->started = true;
}

/* Whether a write or destructive call handed a command to a device: from
 * then on its outcome is the device's, not the peer's to cancel. */
static bool call_committed(const struct nr_call *call)
{
	return call->started && call->cls != NR_CLASS_READ;
}

/* Sends the call's one answer, @value (stolen, may be NULL) under @key, unless it went out
 * already; it settles the call's batch element. */
static void call_answer(struct nr_call *call, const char *key, json_t *value, bool failed)
{
	struct nr_method_stats *ms = &call->svc->stats.methods[call->method_index];
	char *text = NULL;
	size_t len = 0;

	if (call->answered) {
		free(call->ready_text);
		call->ready_text = NULL;
		json_decref(value);
		return;
	}
	call->answered = true;
	nr_stats_answered(ms, failed, nr_exec_now_ns() - call->start_ns);
	ms->errors += failed;
	call->svc->stats.errors += failed;
	if (call->session)
		call->session->errors += failed;
	if (call->ready_text) {
		text = call->ready_text;
		len = call->ready_len;
		call->ready_text = NULL;
	} else if (call->id && value && call->session) {
		text = nr_answer_json(call->id, key, value, &len);
	} else {
		json_decref(value);
	}
	deliver(call->session, call->batch, text, len);
	call->batch = NULL;
}

/* Answers the call and takes it off its session, whose idle op runs when
 * that was its last live call. */
static void call_answer_leave(struct nr_call *call, const char *key, json_t *value, bool failed)
{
	struct nr_session *session = call->session;

	session_unlink(call);
	call_answer(call, key, value, failed);
	call->session = NULL;
	if (session && !session->calls && session->ops->idle)
		session->ops->idle(session);
}

/* Ends the call once: audits it (write and destructive), unqueues it,
 * answers with @value (stolen, may be NULL) under @key ("result" or
 * "error"; NULL: the peer went away), and drops the dispatcher's reference.
 * A call answered before (Timeout) gets its second audit line here. */
static void call_end(struct nr_call *call, const char *key, json_t *value, bool failed)
{
	if (call->state == NR_CALL_ENDED) {
		json_decref(value);
		return;
	}
	if (call->cls != NR_CLASS_READ)
		audit(call->svc, &call->peer, call->method->name, call->params,
		      outcome_code(key, value, failed), call->start_ns);
	if (call->state == NR_CALL_QUEUED)
		nr_exec_unqueue(call);
	nr_call_set_state(call, NR_CALL_ENDED);
	/* A held command would keep the FIFO busy for a call nobody waits for. */
	nr_exec_abandon(call);
	assert(call->svc->stats.in_flight > 0);
	call->svc->stats.in_flight--;
	if (call->timer_open) {
		call->timer_open = false;
		uv_close((uv_handle_t *)&call->timer, timer_closed);
	}
	call_answer_leave(call, key, value, failed);
	nr_call_unref(call);
}

void nr_call_timed_out(struct nr_call *call)
{
	char reason[96];
	json_t *error;

	snprintf(reason, sizeof(reason), "the device did not complete within %u ms",
		 call->svc->limits.timeout_ms);
	error = nr_rpc_error_object(NR_E_TIMEOUT, reason, NULL);
	if (!call_committed(call)) {
		nr_call_error(call, error);
		return;
	}
	/* The command is still the device's: answer now, audit what it ends with later. */
	audit(call->svc, &call->peer, call->method->name, call->params, NR_E_TIMEOUT,
	      call->start_ns);
	call_answer_leave(call, "error", error, true);
}

void nr_call_result(struct nr_call *call, json_t *result)
{
	call_end(call, "result", result, false);
}

void nr_call_result_text(struct nr_call *call, const char *text, size_t len)
{
	if (nr_call_ended(call))
		return;
	if (call->id && call->session && !call->answered) {
		call->ready_text = nr_answer_text(call->id, "result", text, len, &call->ready_len);
		if (!call->ready_text) {
			nr_call_fail(call, NR_E_INTERNAL, "out of memory");
			return;
		}
	}
	call_end(call, "result", NULL, false);
}

void nr_call_error(struct nr_call *call, json_t *error)
{
	call_end(call, "error", error, true);
}

void nr_call_fail(struct nr_call *call, int code, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	nr_call_error(call, nr_rpc_error_object(code, reason, NULL));
}

bool nr_call_batch_queued_on(const struct nr_call *call, const struct nr_ctrl *ctrl)
{
	const struct nr_call *other;

	if (!call->batch || !call->session)
		return false;
	/* Newest first: the batch's previous element is usually next in line. */
	for (other = call->session->calls; other; other = other->session_next) {
		if (other != call && other->batch == call->batch && other->queued_on == ctrl &&
		    (other->state == NR_CALL_QUEUED || other->state == NR_CALL_RUNNING))
			return true;
	}
	return false;
}

bool nr_call_ended(const struct nr_call *call)
{
	return call->state == NR_CALL_ENDED;
}

char *nr_call_stream_begin(struct nr_call *call, size_t items_len, size_t *len)
{
	static const char head[] =
	    "{\"jsonrpc\":\"2.0\",\"method\":\"rpc.stream\",\"params\":{\"id\":";
	char *id = call->id ? json_dumps(call->id, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	size_t room = id ? sizeof(head) + strlen(id) + 32 : 0;
	char *text = id ? malloc(room + items_len + 3) : NULL;
	int n;

	if (text) {
		/* Each message begun is sent before the next begins: seq strictly increases. */
		assert(!call->stream_open && call->stream_seq + 1 > call->stream_seq);
		n = snprintf(text, room, "%s%s,\"seq\":%u,\"items\":[", head, id, call->stream_seq);
		*len = (size_t)n;
		call->stream_seq++;
		call->stream_open = true;
	}
	free(id);
	return text;
}

int nr_call_stream_item(struct nr_call *call, const json_t *item)
{
	size_t need = json_dumpb(item, NULL, 0, JSON_COMPACT);
	size_t len;
	char *text = nr_call_stream_begin(call, need, &len);

	if (!text)
		return -ENOMEM;
	len += json_dumpb(item, text + len, need, JSON_COMPACT);
	return nr_call_stream_send(call, text, len);
}

int nr_call_stream_send(struct nr_call *call, char *text, size_t len)
{
	assert(call->stream_open);
	call->stream_open = false;
	if (!call->session) {
		free(text);
		return -EPIPE;
	}
	memcpy(text + len, "]}}", 3);
	return call->session->ops->send(call->session, text, len + 3);
}

bool nr_call_backlogged(const struct nr_call *call)
{
	return call->session &&
	       call->session->ops->unsent(call->session) > call->svc->limits.write_buffer;
}

void nr_call_pause(struct nr_call *call, void (*resume)(struct nr_call *call))
{
	if (call->state == NR_CALL_ENDED || !call->session)
		return;
	call->resume = resume;
	nr_call_set_state(call, NR_CALL_PAUSED);
	call->drain_next = call->session->drain_waiters;
	call->session->drain_waiters = call;
}

void nr_session_drained(struct nr_session *session)
{
	struct nr_call *call;

	while ((call = session->drain_waiters) != NULL) {
		session->drain_waiters = call->drain_next;
		call->drain_next = NULL;
		nr_call_set_state(call, NR_CALL_NEW);
		nr_call_ref(call);
		call->resume(call);
		nr_call_unref(call);
	}
}

void nr_session_close(struct nr_session *session)
{
	struct nr_call *call;

	for (call = session->calls; call; call = call->session_next) {
		if (call->batch)
			call->batch->session = NULL;
	}
	while ((call = session->calls) != NULL) {
		session->calls = call->session_next;
		call->session = NULL;
		/* Orphaned: it runs to its end, audited with the device's outcome. */
		if (!call_committed(call))
			call_end(call, NULL, NULL, false);
	}
	session->live = 0;
	session->drain_waiters = NULL;
}

enum nr_cancel_outcome nr_session_cancel(struct nr_session *session, const json_t *id,
					 const struct nr_call *except)
{
	struct nr_call *call;

	for (call = session->calls; call; call = call->session_next) {
		if (call == except || !call->id || !json_equal(call->id, (json_t *)id))
			continue;
		if (call_committed(call))
			return NR_CANCEL_REFUSED;
		nr_call_fail(call, NR_E_CANCELLED, "cancelled by rpc.cancel");
		return NR_CANCEL_DONE;
	}
	return NR_CANCEL_NOT_FOUND;
}

bool nr_call_may_start(const struct nr_call *call)
{
	return !call->svc->shutting_down || call->internal || call_committed(call);
}

/* Whether shutting down ends @call now: it never reached a device, or it is
 * a read between commands (or running, when forced). */
static bool shutdown_ends(const struct nr_call *call, bool force)
{
	if (!call->started)
		return true;
	if (call->cls != NR_CLASS_READ)
		return false;
	return force || call->state != NR_CALL_RUNNING;
}

size_t nr_session_shutdown(struct nr_session *session, bool force)
{
	size_t live = session->live;
	struct nr_call *call;

	session->svc->shutting_down = true;
	while (live > 0) {
		for (call = session->calls; call && !shutdown_ends(call, force);
		     call = call->session_next)
			;
		if (!call)
			break;
		/* The last one may run the idle op, which may free the session. */
		if (--live == 0) {
			nr_call_fail(call, NR_E_CANCELLED, "the daemon is shutting down");
			return 0;
		}
		nr_call_fail(call, NR_E_CANCELLED, "the daemon is shutting down");
		live = session->live;
	}
	return live;
}

/* ---- dispatch ---------------------------------------------------------- */

static struct nr_call *call_new(struct nr_session *session, struct nr_batch *batch,
				const struct nr_method *m, size_t index, const json_t *id,
				json_t *params)
{
	struct nr_call *call = calloc(1, sizeof(*call));

	if (!call)
		return NULL;
	call->session = session;
	call->peer = session->peer;
	call->svc = session->svc;
	call->method = m;
	call->method_index = index;
	call->id = id ? json_incref((json_t *)id) : NULL;
	call->params = json_incref(params);
	call->batch = batch;
	call->refs = 1;
	call->start_ns = nr_exec_now_ns();
	call->stream = json_is_true(json_object_get(params, "stream"));
	call->session_next = session->calls;
	session->calls = call;
	session->live++;
	session->svc->stats.in_flight++;
	session->svc->stats.methods[index].calls++;
	return call;
}

struct nr_call *nr_call_internal(struct nr_service *svc, const struct nr_call *parent)
{
	struct nr_call *call = calloc(1, sizeof(*call));

	if (!call)
		return NULL;
	call->svc = svc;
	call->method = parent ? parent->method : NULL;
	call->cls = parent ? parent->cls : NR_CLASS_READ;
	call->method_index = parent ? parent->method_index : 0;
	if (parent)
		call->peer = parent->peer;
	call->refs = 1;
	call->internal = true;
	return call;
}

static size_t schema_index(const struct nr_schema *schema, const struct nr_schema_method *sm)
{
	return (size_t)(sm - nr_schema_method_at(schema, 0));
}

/*
 * Checks that apply to every method taking a device: the name resolves, the
 * backend supports the method, and destructive calls carry the controller's
 * serial number. Returns NULL or a new error object.
 */
static json_t *device_problem(struct nr_call *call, const struct nr_schema_method *sm)
{
	json_t *name = json_object_get(call->params, "device");
	json_t *confirm = json_object_get(call->params, "confirm");
	unsigned bit;

	if (!name)
		return NULL;
	if (nr_topology_find(call->svc->topology, json_string_value(name), &call->dev) != 0)
		return nr_rpc_error_object(NR_E_DEVICE_NOT_FOUND, "no such device in nvme.list",
					   json_pack("{s:O}", "device", name));
	nr_ctrl_ref(call->dev.ctrl); /* a rescan may drop it while the call lives */
	bit = nr_schema_backend_bit(call->dev.ctrl->ops->name);
	if (!(sm->backends & bit))
		return nr_rpc_error_object(
		    NR_E_NOT_SUPPORTED,
		    "the device's backend does not "
		    "support this method",
		    json_pack("{s:s}", "backend", call->dev.ctrl->ops->name));
	if (call->cls == NR_CLASS_DESTRUCTIVE &&
	    (!json_is_string(confirm) ||
	     strcmp(json_string_value(confirm), call->dev.ctrl->sn) != 0))
		return nr_rpc_error_object(NR_E_CONFIRMATION_REQUIRED,
					   "destructive method: pass confirm equal to the "
					   "controller's serial number (sn)",
					   json_pack("{s:O}", "device", name));
	return NULL;
}

/* A request as dispatch reads it, from a jansson tree or from the text. */
struct envelope {
	json_t *id;	     /* borrowed; NULL when absent */
	const char *problem; /* why it is not a valid request, or NULL */
	const char *name;    /* the method, NUL-terminated */
	size_t name_len;     /* its length as sent: less than strlen means U+0000 */
	json_t *params;	     /* borrowed; NULL when absent */
};

static void dispatch_envelope(struct nr_session *session, const struct envelope *env,
			      struct nr_batch *batch);

static void dispatch(struct nr_session *session, json_t *req, struct nr_batch *batch)
{
	json_t *method = json_object_get(req, "method");
	struct envelope env = {
	    .id = json_object_get(req, "id"),
	    .problem =
		json_is_object(req) ? nr_request_envelope_problem(req) : "not a request object",
	    .name = json_string_value(method),
	    .name_len = json_string_length(method),
	    .params = json_object_get(req, "params"),
	};

	dispatch_envelope(session, &env, batch);
}

static void dispatch_envelope(struct nr_session *session, const struct envelope *env,
			      struct nr_batch *batch)
{
	struct nr_service *svc = session->svc;
	json_t *id = env->id;
	const char *problem = env->problem;
	/* Only a valid request without an id is a notification: an invalid one
	 * is answered with id null (JSON-RPC 2.0, section 5). */
	bool notification = !problem && !id;
	const char *name = env->name;
	const struct nr_schema_method *sm;
	const struct nr_method *m;
	json_t *params, *error;
	struct nr_call *call;
	enum nr_class cls;
	const char *why = NULL;

	svc->stats.requests++;
	session->requests++;
	svc->stats.notifications += notification;
	if (problem) {
		if (id && !json_is_string(id) && !json_is_integer(id))
			id = NULL;
		reject(session, batch, id, notification,
		       nr_rpc_error_object(NR_E_INVALID_REQUEST, problem, NULL));
		return;
	}
	if (strlen(name) != env->name_len) {
		reject(session, batch, id, notification,
		       nr_rpc_error_object(NR_E_METHOD_NOT_FOUND, "the method name contains U+0000",
					   NULL));
		return;
	}
	if (session->live >= svc->limits.max_calls) {
		reject(session, batch, id, notification, nr_request_too_many_calls(svc));
		return;
	}
	sm = nr_schema_method(svc->schema, name);
	m = sm ? svc->handlers[schema_index(svc->schema, sm)] : NULL;
	/* A test-only method does not exist for a daemon that is not simulating. */
	if (sm && sm->test_only && !svc->have_sim)
		sm = NULL;
	if (!sm || !m) {
		reject(session, batch, id, notification,
		       nr_rpc_error_object(NR_E_METHOD_NOT_FOUND, name,
					   json_pack("{s:s}", "method", name)));
		return;
	}
	params = json_incref(env->params ? env->params : svc->no_params);
	/* Authorization goes by what this call does: its params may raise the
	 * method's class (rae: false clears an event). */
	error = nr_request_params_problem(svc, sm, params);
	cls = error ? m->cls : nr_schema_call_class(svc->schema, sm, params, &why);
	if (!error)
		error = nr_request_permission_problem(svc, &session->peer, m, params, cls, why);
	if (error && cls != NR_CLASS_READ)
		audit(svc, &session->peer, name, params,
		      (int)json_integer_value(json_object_get(error, "code")), 0);
	if (error) {
		json_decref(params);
		svc->stats.methods[schema_index(svc->schema, sm)].errors++;
		reject(session, batch, id, notification, error);
		return;
	}
	call = call_new(session, batch, m, schema_index(svc->schema, sm), id, params);
	json_decref(params);
	if (!call) {
		reject(session, batch, id, notification,
		       nr_rpc_error_object(NR_E_INTERNAL, "out of memory", NULL));
		return;
	}
	call->cls = cls;
	error = device_problem(call, sm);
	if (error) {
		nr_call_error(call, error);
		return;
	}
	m->start(call);
}

static void batch_too_large(struct nr_session *session, size_t size)
{
	uint32_t max = session->svc->limits.max_batch;
	char reason[96];

	snprintf(reason, sizeof(reason), "a batch of %zu requests is over the limit of %u", size,
		 max);
	nr_session_send_error(
	    session, NR_E_INVALID_REQUEST, reason,
	    json_pack("{s:s, s:i}", "limit", "max-batch", "value", (json_int_t)max));
}

bool nr_session_handle_text(struct nr_session *session, const char *text, size_t len)
{
	struct nr_envelope_text et;
	struct nr_rpc_text_error err;
	struct envelope env = {0};
	char name[128];

	if (nr_envelope_scan(text, len, &et) != 0 || et.method_len >= sizeof(name))
		return false;
	if (et.params && !(env.params = nr_rpc_text_load(et.params, et.params_len, &err)))
		return false; /* the full parse gives the error as for the whole text */
	memcpy(name, et.method, et.method_len);
	name[et.method_len] = '\0';
	env.name = name;
	env.name_len = et.method_len;
	if (et.has_id)
		env.id = et.id_is_string ? json_stringn_nocheck(et.id, et.id_len)
					 : json_integer(strtoll(et.id, NULL, 10));
	if (et.has_id && !env.id) {
		json_decref(env.params);
		return false;
	}
	dispatch_envelope(session, &env, NULL);
	json_decref(env.id);
	json_decref(env.params);
	return true;
}

void nr_session_handle(struct nr_session *session, json_t *value)
{
	struct nr_batch *batch;
	size_t i;
	json_t *req;

	if (!json_is_array(value)) {
		dispatch(session, value, NULL);
		return;
	}
	if (json_array_size(value) == 0) {
		nr_session_send_error(session, NR_E_INVALID_REQUEST, "empty batch", NULL);
		return;
	}
	if (json_array_size(value) > session->svc->limits.max_batch) {
		batch_too_large(session, json_array_size(value));
		return;
	}
	batch = calloc(1, sizeof(*batch));
	if (!batch) {
		nr_session_send_error(session, NR_E_INTERNAL, "out of memory", NULL);
		return;
	}
	batch->session = session;
	/* One extra count so the batch cannot complete while still dispatching. */
	batch->pending = (unsigned)json_array_size(value) + 1;
	json_array_foreach (value, i, req)
		dispatch(session, req, batch);
	batch_settle(batch, NULL, 0);
}
