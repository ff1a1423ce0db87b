/* SPDX-License-Identifier: MIT */
/*
 * The host rescan: libnvme's sysfs scan and each controller's Identify run
 * on a worker; the topology and the answer are updated back on the loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/passthru/passthru.h"
#include "rpc/call.h"
#include "rpc/rpc_error.h"

struct rescan {
	uv_work_t req;
	struct nr_call *call;
	json_t *result; /* NULL: answer with nvme.list's result */
	struct nr_ctrl **ctrls;
	size_t count;
	int rc;
};

/* Worker thread: sysfs scan and Identify commands, no JSON. */
static void rescan_work(uv_work_t *req)
{
	struct rescan *r = req->data;

	r->rc = nr_passthru_build(&r->ctrls, &r->count, NULL);
}

static void rescan_answer(struct rescan *r)
{
	struct nr_call *call = r->call;

	if (nr_call_ended(call)) {
		json_decref(r->result);
	} else if (!r->result && r->rc) {
		nr_call_fail(call, NR_E_INTERNAL, "rescan: %s", strerror(-r->rc));
	} else if (!r->result) {
		nr_call_result(call, nr_topology_list(call->svc->topology));
	} else {
		if (r->rc)
			json_object_set_new(r->result, "topology_error",
					    json_string(strerror(-r->rc)));
		nr_call_result(call, r->result);
	}
}

static void rescan_done(uv_work_t *req, int status)
{
	struct rescan *r = req->data;

	/* Controllers a backend knows are gone (a simulated removal) first. */
	nr_topology_drop_vanished(r->call->svc->topology);
	if (r->rc == 0)
		nr_passthru_replace(r->call->svc->topology, r->ctrls, r->count);
	rescan_answer(r);
	nr_call_unref(r->call);
	free(r);
}

void nr_passthru_relearn(struct nr_call *call, json_t *result)
{
	struct rescan *r = calloc(1, sizeof(*r));

	if (!r) {
		json_decref(result);
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return;
	}
	r->req.data = r;
	r->call = call;
	r->result = result;
	nr_call_ref(call);
	uv_queue_work(call->svc->loop, &r->req, rescan_work, rescan_done);
}
