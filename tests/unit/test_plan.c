/* SPDX-License-Identifier: MIT */
/* Desired state: inner calls (methods/inner.c) and the planner (methods/plan_diff.c) on a
 * state document written here, against the built-in simulator's topology. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "backends/sim/sim.h"
#include "methods/inner.h"
#include "methods/plan.h"
#include "rpc/call.h"

static struct nr_service svc;
static struct nr_sim *sim;
static uv_loop_t loop;
static struct nr_device dev;

static void setup(void)
{
	char err[256];

	uv_loop_init(&loop);
	cr_assert_eq(nr_service_init(&svc, &loop, err, sizeof(err)), 0, "%s", err);
	nr_limits_default(&svc.limits);
	cr_assert_eq(nr_sim_new_default(&sim), 0);
	cr_assert_eq(nr_topology_add_ctrl(svc.topology, "sim", &nr_sim_ops, nr_sim_ctrl_at(sim, 0)),
		     0);
	cr_assert_eq(nr_topology_find(svc.topology, "sim0", &dev), 0);
}

static void teardown(void)
{
	uv_run(&loop, UV_RUN_DEFAULT);
	nr_service_fini(&svc);
	nr_sim_free(sim);
	uv_loop_close(&loop);
}

/* ---- inner calls ------------------------------------------------------- */

struct answer {
	int calls;
	json_t *result, *error;
};

static void on_done(void *opaque, json_t *result, json_t *error)
{
	struct answer *a = opaque;

	a->calls++;
	a->result = json_incref(result);
	a->error = json_incref(error);
}

TestSuite(inner, .init = setup, .fini = teardown, .timeout = 10);

Test(inner, answered_at_once_is_reported_before_the_call_returns)
{
	struct nr_inner *inner = nr_inner_new(&svc, &(struct nr_peer){.uid = 0});
	struct answer a = {0};

	cr_assert_eq(nr_inner_call(inner, "rpc.ping", json_object(), on_done, &a), 0);
	cr_assert_eq(a.calls, 1);
	cr_assert_str_eq(json_string_value(a.result), "pong");
	cr_assert_null(a.error);
	cr_assert_not(nr_inner_busy(inner));
	json_decref(a.result);
	nr_inner_free(inner);
}

Test(inner, a_refusal_is_the_error_object)
{
	struct nr_inner *inner = nr_inner_new(&svc, &(struct nr_peer){.uid = 65534});
	struct answer a = {0};

	cr_assert_eq(
	    nr_inner_call(inner, "nvme.set_feature",
			  json_pack("{s:s, s:i, s:i}", "device", "sim0", "fid", 4, "value", 300),
			  on_done, &a),
	    0);
	cr_assert_eq(a.calls, 1);
	cr_assert_null(a.result);
	cr_assert_eq(json_integer_value(json_object_get(a.error, "code")), -32007);
	json_decref(a.error);
	nr_inner_free(inner);
}

Test(inner, a_device_call_run_inline_is_reported_once)
{
	struct nr_inner *inner = nr_inner_new(&svc, &(struct nr_peer){.uid = 0});
	struct answer a = {0};

	svc.limits.inline_runs = 32; /* the simulator's command runs from its submission */
	cr_assert_eq(
	    nr_inner_call(inner, "nvme.id_ctrl", json_pack("{s:s}", "device", "sim0"), on_done, &a),
	    0);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(a.calls, 1);
	cr_assert_str_eq(json_string_value(json_object_get(a.result, "sn")), "NRSIM0000000001");
	cr_assert_not(nr_inner_busy(inner));
	json_decref(a.result);
	nr_inner_free(inner);
}

Test(inner, a_device_call_answers_later_and_one_at_a_time)
{
	struct nr_inner *inner = nr_inner_new(&svc, &(struct nr_peer){.uid = 0});
	struct answer a = {0}, b = {0};

	svc.limits.inline_runs = 0; /* every command through the pool */

	cr_assert_eq(
	    nr_inner_call(inner, "nvme.id_ctrl", json_pack("{s:s}", "device", "sim0"), on_done, &a),
	    0);
	cr_assert(nr_inner_busy(inner));
	cr_assert_eq(nr_inner_call(inner, "rpc.ping", json_object(), on_done, &b), -EBUSY);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(a.calls, 1);
	cr_assert_str_eq(json_string_value(json_object_get(a.result, "sn")), "NRSIM0000000001");
	cr_assert_eq(b.calls, 0);
	json_decref(a.result);
	nr_inner_free(inner);
}

/* ---- the planner ------------------------------------------------------- */

TestSuite(diff, .init = setup, .fini = teardown, .timeout = 10);

#define GIB 1073741824LL

/* A state: controller with @unvmcap of @tnvmcap free, OACS @oacs, and the namespaces. */
static json_t *state(json_int_t tnvmcap, json_int_t unvmcap, int oacs, json_t *namespaces)
{
	return json_pack("{s:{s:i, s:s, s:s, s:i, s:i, s:i, s:I, s:I}, s:o, s:[], s:[]}",
			 "controller", "cntlid", 1, "sn", "NRSIM0000000001", "fr", "1.0", "oacs",
			 oacs, "nn", 32, "frmw", 7, "tnvmcap", tnvmcap, "unvmcap", unvmcap,
			 "namespaces", namespaces, "features", "zones");
}

static json_t *ns(json_int_t nsid, json_int_t size)
{
	return json_pack("{s:I, s:I, s:i, s:i, s:I, s:[i], s:[{s:i, s:i}, {s:i, s:i}]}", "nsid",
			 nsid, "size", size, "lba_size", 512, "lbaf", 0, "nvmcap", size,
			 "controllers", 1, "lbafs", "lba_size", 512, "ms", 0, "lba_size", 4096,
			 "ms", 0);
}

/* The plan's methods joined by spaces, or the error's data.field. */
static char *plan_text(json_t *st, const char *desired_text)
{
	json_t *desired = json_loads(desired_text, 0, NULL), *ops, *diff, *error, *op;
	static char text[512];
	size_t i;

	cr_assert_not_null(desired, "%s", desired_text);
	text[0] = '\0';
	if (plan_diff(&svc, dev.ctrl, st, desired, &ops, &diff, &error) != 0) {
		snprintf(
		    text, sizeof(text), "error %s",
		    json_string_value(json_object_get(json_object_get(error, "data"), "field")));
		json_decref(error);
	} else {
		json_array_foreach (ops, i, op) {
			strcat(text, i ? " " : "");
			strcat(text, json_string_value(json_object_get(op, "method")) + 5);
			if (json_object_get(op, "error"))
				strcat(text, "!");
		}
		json_decref(ops);
		json_decref(diff);
	}
	json_decref(desired);
	json_decref(st);
	return text;
}

Test(diff, creates_go_first_when_they_fit)
{
	cr_assert_str_eq(
	    plan_text(state(8 * GIB, 5 * GIB, 0xe, json_pack("[o, o]", ns(1, GIB), ns(3, GIB))),
		      "{\"namespaces\": [{\"nsid\": 3, \"state\": \"absent\"},"
		      " {\"nsid\": 2, \"size\": 2147483648}]}"),
	    "ns_detach ns_create ns_attach ns_delete");
}

Test(diff, deletes_go_first_when_capacity_requires)
{
	cr_assert_str_eq(
	    plan_text(state(3 * GIB, 1 * GIB, 0xe, json_pack("[o, o]", ns(1, GIB), ns(3, GIB))),
		      "{\"namespaces\": [{\"nsid\": 3, \"state\": \"absent\"},"
		      " {\"nsid\": 2, \"size\": 2147483648}]}"),
	    "ns_detach ns_delete ns_create ns_attach");
}

Test(diff, too_big_even_after_the_deletes_names_the_namespaces)
{
	cr_assert_str_eq(
	    plan_text(state(3 * GIB, 1 * GIB, 0xe, json_pack("[o, o]", ns(1, GIB), ns(3, GIB))),
		      "{\"namespaces\": [{\"nsid\": 3, \"state\": \"absent\"},"
		      " {\"nsid\": 2, \"size\": 4294967296}]}"),
	    "error params.desired.namespaces");
}

Test(diff, unknown_capacity_puts_the_deletes_first)
{
	cr_assert_str_eq(plan_text(state(0, 0, 0xe, json_pack("[o, o]", ns(1, GIB), ns(3, GIB))),
				   "{\"namespaces\": [{\"nsid\": 3, \"state\": \"absent\"},"
				   " {\"nsid\": 2, \"size\": 4294967296}]}"),
			 "ns_detach ns_delete ns_create ns_attach");
}

Test(diff, new_namespaces_must_take_the_lowest_free_nsids)
{
	cr_assert_str_eq(plan_text(state(8 * GIB, 7 * GIB, 0xe, json_pack("[o]", ns(1, GIB))),
				   "{\"namespaces\": [{\"nsid\": 2, \"size\": 4096},"
				   " {\"nsid\": 4, \"size\": 4096}]}"),
			 "error params.desired.namespaces[1].nsid");
	cr_assert_str_eq(plan_text(state(8 * GIB, 7 * GIB, 0xe, json_pack("[o]", ns(1, GIB))),
				   "{\"namespaces\": [{\"nsid\": 3, \"size\": 4096},"
				   " {\"nsid\": 2, \"size\": 4096}]}"),
			 "ns_create ns_create ns_attach ns_attach");
}

Test(diff, no_namespace_management_is_planned_as_not_supported)
{
	cr_assert_str_eq(plan_text(state(8 * GIB, 7 * GIB, 0x6, json_pack("[o]", ns(1, GIB))),
				   "{\"namespaces\": [{\"nsid\": 2, \"size\": 4096}]}"),
			 "ns_create! ns_attach!");
	cr_assert_str_eq(plan_text(state(8 * GIB, 7 * GIB, 0xc, json_pack("[o]", ns(1, GIB))),
				   "{\"namespaces\": [{\"nsid\": 1, \"lba_size\": 4096}]}"),
			 "format!");
}

Test(diff, firmware_pending_at_the_next_reset_is_current)
{
	json_t *st = state(8 * GIB, 7 * GIB, 0xe, json_array());

	json_object_set_new(st, "firmware",
			    json_pack("{s:s, s:i, s:i, s:[s, s, s, s, s, s, s]}", "fr", "1.0",
				      "active_slot", 1, "next_slot", 2, "slots", "1.0", "2.0", "",
				      "", "", "", ""));
	cr_assert_str_eq(plan_text(json_incref(st), "{\"firmware\": {\"revision\": \"2.0\"}}"), "");
	cr_assert_str_eq(plan_text(json_incref(st), "{\"firmware\": {\"revision\": \"3.0\"}}"),
			 "error params.desired.firmware.image");
	cr_assert_str_eq(
	    plan_text(st, "{\"firmware\": {\"revision\": \"3.0\", \"image\": \"AAAA\"}}"),
	    "fw_download fw_commit");
}

Test(diff, too_many_zones_in_a_state_names_the_state)
{
	json_t *st = state(8 * GIB, 7 * GIB, 0xe, json_array()), *slbas = json_array();

	for (int i = 0; i < 257; i++)
		json_array_append_new(slbas, json_integer(i * 2048));
	json_array_append_new(
	    json_object_get(st, "zones"),
	    json_pack("{s:i, s:s, s:o}", "nsid", 2, "action", "reset", "slbas", slbas));
	cr_assert_str_eq(plan_text(json_incref(st), "{\"zones\": [{\"nsid\": 2, \"action\": "
						    "\"reset\", \"state\": \"full\"}]}"),
			 "error params.desired.zones[0].state");
	cr_assert_str_eq(plan_text(st, "{\"zones\": [{\"nsid\": 2, \"action\": \"reset\"}]}"),
			 "zns.mgmt_send");
}
