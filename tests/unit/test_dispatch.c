/* SPDX-License-Identifier: MIT */
/* The dispatcher with a fake session on a real loop and the simulator. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/call.h"
#include "rpc/rpc_error.h"
#include "util/log.h"
#include "backends/sim/sim.h"

struct fake {
	struct nr_session session;
	json_t *sent; /* every message, parsed */
	size_t unsent;
};

static int fake_send(struct nr_session *session, char *text, size_t len)
{
	struct fake *f = (struct fake *)session;

	json_array_append_new(f->sent, json_loadb(text, len, 0, NULL));
	free(text);
	return 0;
}

static size_t fake_unsent(struct nr_session *session)
{
	return ((struct fake *)session)->unsent;
}

static const struct nr_session_ops fake_ops = {.send = fake_send, .unsent = fake_unsent};

static struct nr_service svc;
static struct nr_sim *sim;
static struct fake fake;
static uv_loop_t loop;

static void setup(void)
{
	char err[256];

	uv_loop_init(&loop);
	cr_assert_eq(nr_service_init(&svc, &loop, err, sizeof(err)), 0, "%s", err);
	nr_limits_default(&svc.limits);
	/* These tests hold a command running on a worker when dispatch returns:
	 * the simulator's commands go through the pool, not the loop thread. */
	svc.limits.inline_runs = 0;
	cr_assert_eq(nr_sim_new_default(&sim), 0);
	cr_assert_eq(nr_topology_add_ctrl(svc.topology, "sim", &nr_sim_ops, nr_sim_ctrl_at(sim, 0)),
		     0);
	fake = (struct fake){.session = {.ops = &fake_ops, .svc = &svc}, .sent = json_array()};
}

static void teardown(void)
{
	nr_session_close(&fake.session);
	uv_run(&loop, UV_RUN_DEFAULT);
	json_decref(fake.sent);
	nr_service_fini(&svc);
	nr_sim_free(sim);
	uv_loop_close(&loop);
}

static void handle(const char *text)
{
	json_t *value = json_loads(text, JSON_DECODE_ANY, NULL);

	cr_assert_not_null(value, "%s", text);
	nr_session_handle(&fake.session, value);
	json_decref(value);
	uv_run(&loop, UV_RUN_DEFAULT);
}

static json_t *sent(size_t i)
{
	cr_assert_gt(json_array_size(fake.sent), i, "only %zu messages",
		     json_array_size(fake.sent));
	return json_array_get(fake.sent, i);
}

static int error_code(json_t *msg)
{
	return (int)json_integer_value(json_object_get(json_object_get(msg, "error"), "code"));
}

Test(dispatch, ping, .init = setup, .fini = teardown, .timeout = 10)
{
	handle("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rpc.ping\"}");
	cr_assert_str_eq(json_string_value(json_object_get(sent(0), "result")), "pong");
}

Test(dispatch, notification_gets_no_reply_even_on_error, .init = setup, .fini = teardown,
     .timeout = 10)
{
	handle("{\"jsonrpc\":\"2.0\",\"method\":\"rpc.ping\"}");
	handle("{\"jsonrpc\":\"2.0\",\"method\":\"no.such\"}");
	cr_assert_eq(json_array_size(fake.sent), 0);
	cr_assert_eq(svc.stats.notifications, 2);
}

Test(dispatch, envelope_errors, .init = setup, .fini = teardown, .timeout = 10)
{
	handle("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"rpc.ping\"}");
	handle("{\"jsonrpc\":\"2.0\",\"id\":2}");
	handle("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"rpc.ping\",\"extra\":1}");
	handle("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"rpc.ping\"}");
	handle("17");
	for (size_t i = 0; i < 5; i++)
		cr_assert_eq(error_code(sent(i)), NR_E_INVALID_REQUEST, "message %zu", i);
	cr_assert(json_is_null(json_object_get(sent(3), "id")));
	cr_assert_eq(json_integer_value(json_object_get(sent(2), "id")), 3);
}

Test(dispatch, positional_params_are_invalid_params, .init = setup, .fini = teardown, .timeout = 10)
{
	handle("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nvme.id_ctrl\",\"params\":[\"sim0\"]}");
	cr_assert_eq(error_code(sent(0)), NR_E_INVALID_PARAMS);
}

Test(dispatch, batch_omits_notifications_and_keeps_errors, .init = setup, .fini = teardown,
     .timeout = 10)
{
	handle("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rpc.ping\"},"
	       "{\"jsonrpc\":\"2.0\",\"method\":\"rpc.ping\"},"
	       "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nvme.id_ctrl\",\"params\":{\"device\":"
	       "\"sim0\"}},"
	       "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nope\"}, 5]");
	cr_assert_eq(json_array_size(fake.sent), 1);
	cr_assert_eq(json_array_size(sent(0)), 4);
	handle("[]");
	cr_assert_eq(error_code(sent(1)), NR_E_INVALID_REQUEST);
	handle("[{\"jsonrpc\":\"2.0\",\"method\":\"rpc.ping\"}]");
	cr_assert_eq(json_array_size(fake.sent), 2, "an all-notification batch gets no reply");
}

Test(dispatch, device_name_is_never_a_path, .init = setup, .fini = teardown, .timeout = 10)
{
	handle("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nvme.id_ctrl\",\"params\":{\"device\":"
	       "\"/dev/null\"}}");
	handle("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nvme.id_ctrl\",\"params\":{\"device\":"
	       "\"sim0n9\"}}");
	cr_assert_eq(error_code(sent(0)), NR_E_DEVICE_NOT_FOUND);
	cr_assert_eq(error_code(sent(1)), NR_E_DEVICE_NOT_FOUND);
}

Test(dispatch, destructive_needs_serial_and_root, .init = setup, .fini = teardown, .timeout = 10)
{
	const char *req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nvme.zns.mgmt_send\","
			  "\"params\":{\"device\":\"sim0n2\",\"action\":\"reset\",\"all\":true%s}}";
	char text[512];

	snprintf(text, sizeof(text), req, "");
	handle(text);
	cr_assert_eq(error_code(sent(0)), NR_E_CONFIRMATION_REQUIRED);
	snprintf(text, sizeof(text), req, ",\"confirm\":\"NRSIM0000000001\"");
	handle(text);
	cr_assert_not_null(json_object_get(sent(1), "result"));
	fake.session.peer.uid = 1000;
	handle(text);
	cr_assert_eq(error_code(sent(2)), NR_E_PERMISSION_DENIED);
	handle("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"nvme.id_ctrl\",\"params\":{\"device\":"
	       "\"sim0\"}}");
	cr_assert_not_null(json_object_get(sent(3), "result"), "read methods stay open");
}

/* Dispatches @text without running the loop: its device work stays queued. */
static void post(const char *text)
{
	json_t *value = json_loads(text, JSON_DECODE_ANY, NULL);

	cr_assert_not_null(value, "%s", text);
	nr_session_handle(&fake.session, value);
	json_decref(value);
}

#define ID_CTRL(id)                                                                                \
	"{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"method\":\"nvme.id_ctrl\",\"params\":{"             \
	"\"device\":\"sim0\"}}"

Test(dispatch, queue_limit_gives_device_busy, .init = setup, .fini = teardown, .timeout = 10)
{
	svc.limits.max_queue = 2;
	post(ID_CTRL(0)); /* running */
	post(ID_CTRL(1)); /* waiting */
	post(ID_CTRL(2));
	cr_assert_eq(error_code(sent(0)), NR_E_DEVICE_BUSY, "the third request meets the bound");
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_not_null(json_object_get(sent(1), "result"));
	cr_assert_not_null(json_object_get(sent(2), "result"));
}

/* A batch is one request: its elements were refused DeviceBusy for each
 * other's sake. It holds one place in the bound, which others still meet. */
Test(dispatch, batch_holds_one_place_in_the_queue_limit, .init = setup, .fini = teardown,
     .timeout = 10)
{
	size_t i, ok = 0;
	json_t *msg;

	svc.limits.max_queue = 2;
	post("[" ID_CTRL(0) "," ID_CTRL(1) "," ID_CTRL(2) "," ID_CTRL(3) "]");
	post(ID_CTRL(4));
	cr_assert_eq(error_code(sent(0)), NR_E_DEVICE_BUSY, "another request meets the bound");
	uv_run(&loop, UV_RUN_DEFAULT);
	json_array_foreach (sent(1), i, msg)
		ok += json_object_get(msg, "result") != NULL;
	cr_assert_eq(ok, 4);
}

Test(dispatch, report_zones_over_the_item_limit, .init = setup, .fini = teardown, .timeout = 10)
{
	svc.limits.max_result_items = 10;
	handle("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nvme.zns.report_zones\",\"params\":{"
	       "\"device\":\"sim0n2\"}}");
	cr_assert_eq(error_code(sent(0)), NR_E_RESULT_TOO_LARGE);
	handle("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nvme.zns.report_zones\",\"params\":{"
	       "\"device\":\"sim0n2\",\"limit\":10,\"slba\":4096}}");
	json_t *result = json_object_get(sent(1), "result");
	cr_assert_eq(json_integer_value(json_object_get(result, "nr_zones")), 10);
	cr_assert_eq(json_integer_value(json_object_get(result, "next_slba")), 4096 + 10 * 2048);
	handle("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nvme.zns.report_zones\",\"params\":{"
	       "\"device\":\"sim0n1\"}}");
	cr_assert_eq(error_code(sent(2)), NR_E_NOT_SUPPORTED);
}

/* Adds controller sim1 with a 20000-zone namespace sim1n1: five report chunks. */
static struct nr_sim *add_big_zoned_ctrl(void)
{
	char err[256];
	struct nr_sim *big;
	json_t *desc = json_loads(
	    "{\"subsystems\":[{\"nqn\":\"nqn.2026-11.io.nvmerpcd:t\",\"controllers\":[{\"sn\":"
	    "\"T1\","
	    "\"mn\":\"t\",\"fr\":\"1\",\"cntlid\":1}],\"namespaces\":[{\"nsid\":1,\"lba_size\":512,"
	    "\"zoned\":{\"zone_size\":64,\"nr_zones\":20000,\"max_open\":14,\"max_active\":14}}]}]"
	    "}",
	    0, NULL);

	cr_assert_eq(nr_sim_new_from_json(desc, &big, err, sizeof(err)), 0, "%s", err);
	json_decref(desc);
	cr_assert_eq(nr_topology_add_ctrl(svc.topology, "sim", &nr_sim_ops, nr_sim_ctrl_at(big, 0)),
		     0);
	return big;
}

Test(dispatch, stream_pauses_while_backlogged, .init = setup, .fini = teardown, .timeout = 10)
{
	json_t *req =
	    json_pack("{s:s, s:i, s:s, s:{s:s, s:b}}", "jsonrpc", "2.0", "id", 9, "method",
		      "nvme.zns.report_zones", "params", "device", "sim0n2", "stream", 1);

	struct nr_sim *big = add_big_zoned_ctrl();

	json_object_set_new(json_object_get(req, "params"), "device", json_string("sim1n1"));
	svc.limits.write_buffer = 100;
	fake.unsent = 1000; /* the peer is not reading */
	nr_session_handle(&fake.session, req);
	json_decref(req);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(json_array_size(fake.sent), 1, "one chunk, then paused");
	cr_assert_eq(svc.stats.in_flight, 1);
	fake.unsent = 0;
	nr_session_drained(&fake.session);
	uv_run(&loop, UV_RUN_DEFAULT);
	json_t *last = json_array_get(fake.sent, json_array_size(fake.sent) - 1);
	cr_assert_eq(
	    json_integer_value(json_object_get(json_object_get(last, "result"), "nr_zones")),
	    20000);
	cr_assert_eq(json_array_size(fake.sent), 6, "five chunks of 4096 and the summary");
	nr_session_close(&fake.session);
	uv_run(&loop, UV_RUN_DEFAULT);
	nr_sim_free(big);
}

/* Regression: a stream whose send fails (the peer went away, so the session
 * closed under it) queued its next chunk on an ended call and re-initialised
 * its closing timer (libuv assertion in uv__finish_close). */
static int failing_send(struct nr_session *session, char *text, size_t len)
{
	free(text);
	nr_session_close(session);
	return -EPIPE;
}

Test(dispatch, stream_send_failure_ends_call_cleanly, .init = setup, .fini = teardown,
     .timeout = 10)
{
	static const struct nr_session_ops ops = {.send = failing_send, .unsent = fake_unsent};
	json_t *req =
	    json_pack("{s:s, s:i, s:s, s:{s:s, s:b}}", "jsonrpc", "2.0", "id", 9, "method",
		      "nvme.zns.report_zones", "params", "device", "sim0n2", "stream", 1);

	struct nr_sim *big = add_big_zoned_ctrl();

	json_object_set_new(json_object_get(req, "params"), "device", json_string("sim1n1"));
	fake.session.ops = &ops;
	nr_session_handle(&fake.session, req);
	json_decref(req);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(svc.stats.in_flight, 0);
	cr_assert_eq(nr_topology_ctrl_at(svc.topology, 1)->fifo->waiting, 0);
	cr_assert_not(nr_topology_ctrl_at(svc.topology, 1)->fifo->running);
	nr_sim_free(big);
}

/* ---- nr_session_shutdown ------------------------------------------------ */

static unsigned idle_calls;
static int audited[8];
static size_t audit_count;

static void count_idle(struct nr_session *session)
{
	idle_calls++;
}

static void record_audit(const struct nr_peer *peer, const char *method, const json_t *params,
			 int code, uint64_t duration_us)
{
	if (audit_count < sizeof(audited) / sizeof(audited[0]))
		audited[audit_count++] = code;
}

static const struct nr_session_ops idle_ops = {
    .send = fake_send, .unsent = fake_unsent, .idle = count_idle};

static void shutdown_setup(void)
{
	setup();
	fake.session.ops = &idle_ops;
	svc.audit = record_audit;
	idle_calls = 0;
	audit_count = 0;
}

/* Dispatches one request without running the loop: its work is queued or
 * running on a worker when this returns. */
static void submit(const char *text)
{
	json_t *value = json_loads(text, 0, NULL);

	cr_assert_not_null(value, "%s", text);
	nr_session_handle(&fake.session, value);
	json_decref(value);
}

/* The message answering @id, or NULL. */
static json_t *answer_to(json_int_t id)
{
	size_t i;
	json_t *msg;

	json_array_foreach (fake.sent, i, msg) {
		if (json_integer_value(json_object_get(msg, "id")) == id)
			return msg;
	}
	return NULL;
}

Test(shutdown, queued_calls_end_running_destructive_answers, .init = shutdown_setup,
     .fini = teardown, .timeout = 10)
{
	submit("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nvme.zns.mgmt_send\",\"params\":{"
	       "\"device\":\"sim0n2\",\"action\":\"finish\",\"slba\":10240,\"confirm\":"
	       "\"NRSIM0000000001\"}}");
	submit("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nvme.id_ctrl\",\"params\":{\"device\":"
	       "\"sim0\"}}");
	submit("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nvme.zns.mgmt_send\",\"params\":{"
	       "\"device\":\"sim0n2\",\"action\":\"finish\",\"slba\":12288,\"confirm\":"
	       "\"NRSIM0000000001\"}}");
	cr_assert_eq(nr_session_shutdown(&fake.session, false), 1, "the running one is waited for");
	cr_assert(svc.shutting_down);
	cr_assert_eq(error_code(answer_to(2)), NR_E_CANCELLED);
	cr_assert_eq(error_code(answer_to(3)), NR_E_CANCELLED);
	cr_assert_null(answer_to(1));
	cr_assert_eq(idle_calls, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_not_null(json_object_get(answer_to(1), "result"), "the device's outcome");
	cr_assert_eq(idle_calls, 1, "idle once the last call ended");
	cr_assert_eq(audit_count, 2);
	cr_assert_eq(audited[0], NR_E_CANCELLED, "the queued destructive call never ran");
	cr_assert_eq(audited[1], 0, "the running one completed");
	/* A request arriving now does not reach the device either. */
	submit("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"nvme.id_ctrl\",\"params\":{\"device\":"
	       "\"sim0\"}}");
	cr_assert_eq(error_code(answer_to(4)), NR_E_CANCELLED);
}

Test(shutdown, force_ends_running_read, .init = shutdown_setup, .fini = teardown, .timeout = 10)
{
	submit("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nvme.id_ctrl\",\"params\":{\"device\":"
	       "\"sim0\"}}");
	cr_assert_eq(nr_session_shutdown(&fake.session, false), 1, "a running read is waited for");
	cr_assert_eq(json_array_size(fake.sent), 0);
	cr_assert_eq(nr_session_shutdown(&fake.session, true), 0);
	cr_assert_eq(error_code(answer_to(1)), NR_E_CANCELLED);
	cr_assert_eq(idle_calls, 1);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(json_array_size(fake.sent), 1, "no late answer");
}

Test(shutdown, stream_next_chunk_is_not_started, .init = shutdown_setup, .fini = teardown,
     .timeout = 10)
{
	struct nr_sim *big = add_big_zoned_ctrl();

	submit("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"nvme.zns.report_zones\",\"params\":{"
	       "\"device\":\"sim1n1\",\"stream\":true}}");
	cr_assert_eq(nr_session_shutdown(&fake.session, false), 1, "its chunk is on the device");
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(json_array_size(fake.sent), 2, "the chunk on the device, then the end");
	cr_assert_str_eq(json_string_value(json_object_get(sent(0), "method")), "rpc.stream");
	cr_assert_eq(error_code(answer_to(9)), NR_E_CANCELLED);
	cr_assert_eq(idle_calls, 1);
	nr_sim_free(big);
}

Test(shutdown, paused_stream_ends_now, .init = shutdown_setup, .fini = teardown, .timeout = 10)
{
	struct nr_sim *big = add_big_zoned_ctrl();

	svc.limits.write_buffer = 100;
	fake.unsent = 1000; /* the peer is not reading */
	submit("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"nvme.zns.report_zones\",\"params\":{"
	       "\"device\":\"sim1n1\",\"stream\":true}}");
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(json_array_size(fake.sent), 1, "one chunk, then paused");
	cr_assert_eq(nr_session_shutdown(&fake.session, false), 0);
	cr_assert_eq(error_code(answer_to(9)), NR_E_CANCELLED);
	cr_assert_eq(idle_calls, 1);
	nr_session_drained(&fake.session);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(json_array_size(fake.sent), 2);
	nr_sim_free(big);
}

/* ---- the call's state machine (nr_call_set_state) ------------------------ */

static const struct nr_method state_method = {.name = "test.state"};

Test(call_state, every_state_has_a_name)
{
	for (int s = NR_CALL_NEW; s <= NR_CALL_ENDED; s++)
		cr_expect_neq(strcmp(nr_call_state_name((enum nr_call_state)s), "invalid"), 0);
	cr_expect_str_eq(nr_call_state_name((enum nr_call_state)99), "invalid");
}

Test(call_state, legal_moves_are_logged_at_debug, .init = cr_redirect_stderr)
{
	struct nr_call call = {.method = &state_method, .state = NR_CALL_NEW};
	static const enum nr_call_state path[] = {NR_CALL_QUEUED, NR_CALL_RUNNING, NR_CALL_NEW,
						  NR_CALL_PAUSED, NR_CALL_NEW,	   NR_CALL_ENDED};

	nr_log_set_level(NR_LOG_DEBUG);
	for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		nr_call_set_state(&call, path[i]);
		cr_expect_eq(call.state, path[i]);
	}
	nr_log_set_level(NR_LOG_INFO);
	fflush(stderr);
	cr_expect_stderr_neq_str("");
}

Test(call_state, nothing_leaves_ended, .signal = SIGABRT)
{
	struct nr_call call = {.method = &state_method, .state = NR_CALL_ENDED};

	nr_call_set_state(&call, NR_CALL_QUEUED);
}

Test(call_state, a_queued_call_cannot_pause, .signal = SIGABRT)
{
	struct nr_call call = {.method = &state_method, .state = NR_CALL_QUEUED};

	nr_call_set_state(&call, NR_CALL_PAUSED);
}

/* ---- commands run on the loop thread (limits.inline_runs) ---------------- */

Test(inline, simulator_command_answers_before_the_loop_runs, .init = shutdown_setup,
     .fini = teardown, .timeout = 10)
{
	svc.limits.inline_runs = NR_DEFAULT_INLINE_RUNS;
	submit(ID_CTRL(1));
	cr_assert_not_null(json_object_get(answer_to(1), "result"), "answered inline");
	/* A batch of reads is answered inline too, as one array. */
	submit("[" ID_CTRL(2) "," ID_CTRL(3) "]");
	cr_assert_eq(json_array_size(fake.sent), 2);
	cr_assert_eq(json_array_size(sent(1)), 2);
}

Test(inline, a_stream_continues_through_the_pool, .init = shutdown_setup, .fini = teardown,
     .timeout = 10)
{
	struct nr_sim *big;

	svc.limits.inline_runs = NR_DEFAULT_INLINE_RUNS;
	big = add_big_zoned_ctrl();
	submit("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"nvme.zns.report_zones\",\"params\":{"
	       "\"device\":\"sim1n1\",\"stream\":true}}");
	/* The first chunk ran on the loop thread; the next waits for the pool, so
	 * a cancel or another request is read in between. */
	cr_assert_eq(json_array_size(fake.sent), 1, "one chunk before the loop runs");
	cr_assert_null(answer_to(9));
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_not_null(json_object_get(answer_to(9), "result"));
	nr_session_close(&fake.session);
	uv_run(&loop, UV_RUN_DEFAULT);
	nr_sim_free(big);
}
