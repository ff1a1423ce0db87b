/* SPDX-License-Identifier: MIT */
/*
 * Inner calls over a private session (see inner.h). The session's transport
 * keeps the one answer text it is sent; the answer is reported once the call
 * left the session (its idle op), never from inside the dispatcher, so the
 * callback may free the session.
 */
#include "methods/inner.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc_error.h"

struct nr_inner {
	struct nr_session session; /* first: the transport ops get it */
	char *answer;		   /* the response text, once sent */
	size_t answer_len;
	nr_inner_done_fn done; /* set while a call is in flight */
	void *opaque;
	json_int_t next_id;
	bool in_handle; /* inside nr_session_handle: report after it returns */
};

static int inner_send(struct nr_session *session, char *text, size_t len)
{
	struct nr_inner *inner = (struct nr_inner *)session;

	free(inner->answer);
	inner->answer = text;
	inner->answer_len = len;
	return 0;
}

static size_t inner_unsent(struct nr_session *session)
{
	(void)session;
	return 0;
}

/* Reports the answer kept, if the call is over. Touches nothing of @inner
 * after the callback, which may free it. */
static void inner_report(struct nr_inner *inner)
{
	nr_inner_done_fn done = inner->done;
	json_t *response, *error;

	if (!done || !inner->answer || inner->session.live > 0)
		return;
	response = json_loadb(inner->answer, inner->answer_len, 0, NULL);
	free(inner->answer);
	inner->answer = NULL;
	inner->done = NULL;
	error = response ? json_object_get(response, "error") : NULL;
	if (!response)
		error = nr_rpc_error_object(NR_E_INTERNAL, "unreadable inner answer", NULL);
	else if (error)
		json_incref(error);
	done(inner->opaque, error ? NULL : json_object_get(response, "result"), error);
	json_decref(error);
	json_decref(response);
}

static void inner_idle(struct nr_session *session)
{
	struct nr_inner *inner = (struct nr_inner *)session;

	if (!inner->in_handle)
		inner_report(inner);
}

static const struct nr_session_ops inner_ops = {
    .send = inner_send,
    .unsent = inner_unsent,
    .idle = inner_idle,
};

struct nr_inner *nr_inner_new(struct nr_service *svc, const struct nr_peer *peer)
{
	struct nr_inner *inner = calloc(1, sizeof(*inner));

	if (!inner)
		return NULL;
	inner->session.ops = &inner_ops;
	inner->session.svc = svc;
	inner->session.peer = *peer;
	return inner;
}

int nr_inner_call(struct nr_inner *inner, const char *method, json_t *params, nr_inner_done_fn done,
		  void *opaque)
{
	json_t *req;

	if (inner->done) {
		json_decref(params);
		return -EBUSY;
	}
	req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", ++inner->next_id, "method",
			method, "params", params);
	if (!req)
		return -ENOMEM;
	inner->done = done;
	inner->opaque = opaque;
	inner->in_handle = true;
	nr_session_handle(&inner->session, req);
	inner->in_handle = false;
	json_decref(req);
	/* Answered at once (a refusal, a synchronous error): report it now. */
	inner_report(inner);
	return 0;
}

bool nr_inner_busy(const struct nr_inner *inner)
{
	return inner->done != NULL;
}

void nr_inner_free(struct nr_inner *inner)
{
	if (!inner)
		return;
	free(inner->answer);
	free(inner);
}
