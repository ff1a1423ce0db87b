/* SPDX-License-Identifier: MIT */
/*
 * sim.*: test-only methods on simulated controllers, served under --simulate
 * alone (the dispatcher hides x-test-only methods otherwise). The schema
 * lists only the sim backend for sim.fault, so its controller is a simulated
 * one; sim.insert names one and checks.
 */
#include <errno.h>
#include <string.h>

#include "methods/handlers.h"
#include "rpc/rpc_error.h"
#include "backends/sim/sim.h"

/* Ends the call with InvalidParams from the simulator's "PATH: reason". */
static void fault_invalid(struct nr_call *call, char *err)
{
	char *sep = strstr(err, ": ");

	if (sep) {
		*sep = '\0';
		nr_call_invalid(call, err, sep + 2);
	} else {
		nr_call_invalid(call, "params", err);
	}
}

/* Returns @params without "device": the simulator's fault keys. New
 * reference or NULL. */
static json_t *fault_spec(const json_t *params)
{
	json_t *spec = json_copy((json_t *)params);

	if (spec) {
		json_object_del(spec, "device");
		json_object_del(spec, "health");
	}
	return spec;
}

/*
 * Applies the faults at once, on the loop thread: not through the device's
 * FIFO, which a hang keeps busy. The controller's fault state has its own
 * lock, never held across a command.
 */
void nr_m_sim_fault(struct nr_call *call)
{
	struct nr_sim_ctrl *ctrl = call->dev.ctrl->backend_ctrl;
	json_t *spec = fault_spec(call->params);
	json_t *health = json_object_get(call->params, "health");
	json_t *faults = NULL, *health_now = NULL;
	uint64_t commands = 0;
	char err[256];
	int rc = spec ? nr_sim_fault_set(ctrl, spec, "params", err, sizeof(err)) : -ENOMEM;

	json_decref(spec);
	if (rc == 0 && health)
		rc = nr_sim_health_set(ctrl, health, "params.health", err, sizeof(err));
	if (rc == -EINVAL) {
		fault_invalid(call, err);
		return;
	}
	if (rc == 0)
		faults = nr_sim_fault_json(ctrl);
	if (faults)
		health_now = nr_sim_health_json(ctrl, &commands);
	if (health_now)
		nr_call_result(call, json_pack("{s:s, s:o, s:o, s:I}", "device",
					       call->dev.ctrl->name, "faults", faults, "health",
					       health_now, "commands", (json_int_t)commands));
	else {
		json_decref(faults);
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
	}
}

/*
 * A removed simulated controller is plugged back in. It is named, not
 * resolved as a device: once removed it resolves no more (and a rescan has
 * unlisted it), so the dispatcher could not hand it over.
 */
void nr_m_sim_insert(struct nr_call *call)
{
	const char *name = json_string_value(json_object_get(call->params, "controller"));
	struct nr_ctrl *entry = nr_topology_find_any(call->svc->topology, name);

	if (!entry || entry->ops != &nr_sim_ops) {
		nr_call_invalid(call, "params.controller", "no simulated controller of that name");
		return;
	}
	if (nr_sim_reinsert(entry->backend_ctrl) != 0) {
		nr_call_invalid(call, "params.controller", "that controller was not removed");
		return;
	}
	nr_call_result(call, json_pack("{s:s}", "controller", entry->name));
}
