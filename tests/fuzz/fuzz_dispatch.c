/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes what a connection does with each JSON text, in process: the plain
 * envelope read from the text (nr_session_handle_text), else the text loader
 * (nr_rpc_text_load) and nr_session_handle, then validation and dispatch
 * against a simulated subsystem, running the loop until
 * every call ended. Input: lines, each one text, served in order on one
 * session as uid 0 (so write and destructive methods run too). Each input
 * gets a fresh simulator and topology, so inputs do not depend on each
 * other. Every answer must be a JSON-RPC 2.0 response (or a batch of them,
 * or a stream notification), and a session must end with no live call.
 * Whatever the envelope scan accepts, the full parser must read the same:
 * equal method, id and params.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "rpc/call.h"
#include "rpc/envelope.h"
#include "rpc/rpc_error.h"
#include "rpc/rpc_text.h"
#include "backends/sim/sim.h"

/* The default subsystem, smaller, with two controllers and no waiting:
 * sanitize and self-test complete at once, so polling calls end. */
static const char sim_desc[] =
    "{\"subsystems\":[{\"nqn\":\"nqn.2026-11.io.nvmerpcd:sim-subsys0\",\"capacity\":8589934592,"
    "\"controllers\":[{\"sn\":\"NRSIM0000000001\",\"sanitize_ms\":0,"
    "\"self_test_ms\":{\"short\":0,\"extended\":0}},"
    "{\"sn\":\"NRSIM0000000002\",\"sanitize_ms\":0,\"self_test_ms\":{\"short\":0,"
    "\"extended\":0}}],"
    "\"namespaces\":[{\"nsid\":1,\"lba_size\":512,\"blocks\":2097152},"
    "{\"nsid\":2,\"lba_size\":512,\"zoned\":{\"zone_size\":2048,\"nr_zones\":256,"
    "\"max_open\":14,\"max_active\":14}}]}]}";

static uv_loop_t loop;
static struct nr_service svc;
static json_t *desc;
static bool verbose; /* NR_FUZZ_VERBOSE set: print every answer (to read a seed's) */

struct fuzz_session {
	struct nr_session session;
	size_t answers;
};

static void check_response(const json_t *msg)
{
	const json_t *result = json_object_get(msg, "result");
	const json_t *error = json_object_get(msg, "error");
	const char *version = json_string_value(json_object_get(msg, "jsonrpc"));

	if (!json_is_object(msg) || !version || strcmp(version, "2.0") != 0)
		abort();
	if (json_object_get(msg, "method"))
		return; /* a stream notification */
	if (!json_object_get(msg, "id") || !result == !error)
		abort();
	if (error && (!json_is_integer(json_object_get(error, "code")) ||
		      !json_is_string(json_object_get(error, "message"))))
		abort();
}

static int fuzz_send(struct nr_session *session, char *text, size_t len)
{
	struct fuzz_session *s = (struct fuzz_session *)session;
	/* Answers echo ids, which may hold U+0000 (valid JSON). */
	json_t *msg = json_loadb(text, len, JSON_ALLOW_NUL, NULL);
	size_t i;
	json_t *item;

	if (!msg)
		abort(); /* the daemon answered with text that is not JSON */
	if (verbose)
		fprintf(stderr, "%.*s\n", (int)len, text);
	if (json_is_array(msg)) {
		if (json_array_size(msg) == 0)
			abort(); /* an empty batch answer is never sent */
		json_array_foreach (msg, i, item)
			check_response(item);
	} else {
		check_response(msg);
	}
	json_decref(msg);
	free(text);
	s->answers++;
	return 0;
}

static size_t fuzz_unsent(struct nr_session *session)
{
	return 0;
}

static const struct nr_session_ops fuzz_ops = {.send = fuzz_send, .unsent = fuzz_unsent};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	uv_loop_init(&loop);
	if (nr_service_init(&svc, &loop, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_dispatch: %s\n", err);
		exit(1);
	}
	nr_limits_default(&svc.limits);
	svc.have_sim = true;
	verbose = getenv("NR_FUZZ_VERBOSE") != NULL;
	desc = json_loads(sim_desc, 0, NULL);
	if (!desc)
		exit(1);
	return 0;
}

/* A span's text as a JSON string, or parsed as params. */
static json_t *span_json(const struct nr_envelope_text *et, const char *span, size_t len)
{
	struct nr_rpc_text_error err;

	if (span == et->params)
		return nr_rpc_text_load(span, len, &err);
	return json_stringn_nocheck(span, len);
}

/* What the envelope scan reads of @text equals what the full parser reads. */
static void envelope_agrees(const char *text, size_t len)
{
	struct nr_envelope_text et;
	struct nr_rpc_text_error err;
	json_t *full, *method, *params = NULL, *id = NULL;

	if (nr_envelope_scan(text, len, &et) != 0)
		return;
	if (et.params && !(params = span_json(&et, et.params, et.params_len)))
		return; /* the fast path gives up: the full path answers */
	full = nr_rpc_text_load(text, len, &err);
	if (!full)
		abort(); /* accepted what the full parser rejects */
	method = span_json(&et, et.method, et.method_len);
	if (et.has_id)
		id = et.id_is_string ? span_json(&et, et.id, et.id_len)
				     : json_integer(strtoll(et.id, NULL, 10));
	if (!json_equal(method, json_object_get(full, "method")) ||
	    (params && !json_equal(params, json_object_get(full, "params"))) ||
	    (!params && json_object_get(full, "params")) ||
	    (id && !json_equal(id, json_object_get(full, "id"))) ||
	    (!id && json_object_get(full, "id")) ||
	    !json_is_string(json_object_get(full, "jsonrpc")) ||
	    strcmp(json_string_value(json_object_get(full, "jsonrpc")), "2.0") != 0)
		abort();
	json_decref(method);
	json_decref(params);
	json_decref(id);
	json_decref(full);
}

/* Serves one text as a connection does, then runs the loop until it is done. */
static void serve(struct fuzz_session *s, const char *text, size_t len)
{
	struct nr_rpc_text_error err;
	json_t *value;

	envelope_agrees(text, len);
	if (nr_session_handle_text(&s->session, text, len)) {
		uv_run(&loop, UV_RUN_DEFAULT);
		if (s->session.live != 0 || s->session.calls)
			abort();
		return;
	}
	value = nr_rpc_text_load(text, len, &err);
	if (!value) {
		if (err.code != NR_E_PARSE && err.code != NR_E_INVALID_REQUEST)
			abort();
		nr_session_send_error(&s->session, err.code, err.reason, NULL);
		return;
	}
	nr_session_handle(&s->session, value);
	json_decref(value);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (s->session.live != 0 || s->session.calls)
		abort(); /* the loop ran dry with a call still live */
}

static struct nr_sim *sim_start(void)
{
	struct nr_sim *sim;
	char err[256];

	if (nr_sim_new_from_json(desc, &sim, err, sizeof(err)) != 0)
		abort();
	for (size_t i = 0; i < nr_sim_ctrl_count(sim); i++) {
		if (nr_topology_add_ctrl(svc.topology, "sim", &nr_sim_ops, nr_sim_ctrl_at(sim, i)))
			abort();
	}
	return sim;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_session s = {.session = {.ops = &fuzz_ops, .svc = &svc}};
	const char *text = (const char *)data, *end = text + size;
	struct nr_sim *sim = sim_start();

	while (text < end) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		size_t len = (size_t)((nl ? nl : end) - text);
		serve(&s, text, len);
		text += len + 1;
	}
	nr_session_close(&s.session);
	uv_run(&loop, UV_RUN_DEFAULT);
	nr_topology_free(svc.topology);
	svc.topology = nr_topology_new();
	svc.shutting_down = false;
	nr_sim_free(sim);
	return 0;
}
