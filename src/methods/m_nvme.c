/* SPDX-License-Identifier: MIT */
/* nvme.list, identify and SMART: one command, one answer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode/encode.h"
#include "methods/handlers.h"
#include "nvme/nvme_cmd_admin.h"
#include "rpc/rpc_error.h"

#define NSID_ALL 0xffffffffu

void nr_call_invalid(struct nr_call *call, const char *field, const char *reason)
{
	nr_call_error(call, nr_rpc_error_invalid_params(field, reason));
}

bool nr_call_fail_cmd(struct nr_call *call, int rc, const struct nr_cmd *cmd, const char *what)
{
	if (rc == -EBUSY)
		nr_call_fail(call, NR_E_DEVICE_BUSY, "%s has %u requests queued",
			     call->dev.ctrl->name, call->svc->limits.max_queue);
	else if (rc == -ESHUTDOWN)
		nr_call_fail(call, NR_E_CANCELLED, "the daemon is shutting down");
	else if (rc)
		nr_call_error(call, nr_rpc_error_from_errno(rc, what));
	else if (cmd && cmd->mi_status)
		nr_call_error(call, nr_rpc_error_mi_status(cmd->mi_status, what));
	else if (cmd && cmd->status)
		nr_call_error(call, nr_rpc_error_nvme_status(cmd->status, what));
	else
		return false;
	return true;
}

static void single_free(void *ctx)
{
	free(ctx);
}

struct nr_single *nr_single_new(struct nr_call *call, size_t buf_len, nr_single_encode_fn encode,
				const char *what)
{
	struct nr_single *single = calloc(1, sizeof(*single) + buf_len);

	if (!single) {
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return NULL;
	}
	single->encode = encode;
	single->what = what;
	single->buf_len = buf_len;
	call->ctx = single;
	call->ctx_free = single_free;
	return single;
}

static int single_work(struct nr_call *call)
{
	struct nr_single *single = call->ctx;

	return call->dev.ctrl->ops->submit(call->dev.ctrl->backend_ctrl, &single->cmd);
}

/*
 * The controller's device vanished (hot removal): mark it gone and, for a
 * namespace reached by another controller too (multipath), send the command
 * again through that path, once. Returns true if it did.
 */
static bool single_failover(struct nr_call *call, struct nr_single *single)
{
	struct nr_device alt;

	call->dev.ctrl->gone = true;
	if (!call->dev.ns || single->failed_over ||
	    nr_topology_find(call->svc->topology, call->dev.ns->name, &alt) != 0)
		return false;
	nr_ctrl_ref(alt.ctrl);
	nr_ctrl_unref(call->dev.ctrl);
	call->dev = alt;
	single->failed_over = true;
	single->cmd.status = 0;
	single->cmd.result = 0;
	nr_single_submit(call);
	return true;
}

static void single_done(struct nr_call *call, int rc)
{
	struct nr_single *single = call->ctx;
	json_t *result;

	if (rc == -ENODEV && single_failover(call, single))
		return;
	if (nr_call_fail_cmd(call, rc, &single->cmd, single->what))
		return;
	result = single->encode(call, single);
	if (result)
		nr_call_result(call, result);
	else if (!nr_call_ended(call)) /* else it answered with text */
		nr_call_fail(call, NR_E_INTERNAL, "encoding %s failed", single->what);
}

void nr_single_submit(struct nr_call *call)
{
	int rc = nr_exec_submit(call, call->dev.ctrl, single_work, single_done);

	if (rc)
		nr_call_fail_cmd(call, rc, NULL, ((struct nr_single *)call->ctx)->what);
}

void nr_m_nvme_list(struct nr_call *call)
{
	nr_call_result(call, nr_topology_list(call->svc->topology));
}

void nr_m_nvme_rescan(struct nr_call *call)
{
	/* Controllers a backend knows are gone (a simulated removal) first. */
	nr_topology_drop_vanished(call->svc->topology);
	if (!call->svc->host_rescan) {
		nr_m_nvme_list(call);
		return;
	}
	call->svc->host_rescan(call, NULL);
}

static json_t *id_ctrl_encode(struct nr_call *call, const struct nr_single *single)
{
	char text[NR_ID_CTRL_TEXT_MAX];

	nr_call_result_text(call, text, nr_enc_text(text, &nr_enc_id_ctrl_desc, single->buf));
	return NULL;
}

void nr_m_nvme_id_ctrl(struct nr_call *call)
{
	struct nr_single *single =
	    nr_single_new(call, sizeof(struct nvme_id_ctrl), id_ctrl_encode, "Identify Controller");

	if (!single)
		return;
	nr_cmd_identify(&single->cmd, NR_CNS_CTRL, NR_CSI_NVM, 0, 0, single->buf, single->buf_len);
	nr_single_submit(call);
}

static json_t *id_ns_encode(struct nr_call *call, const struct nr_single *single)
{
	char text[NR_ID_NS_TEXT_MAX];

	nr_call_result_text(call, text, nr_enc_text(text, &nr_enc_id_ns_desc, single->buf));
	return NULL;
}

/* The nsid a method addresses: the params' nsid, else the namespace's own,
 * else @fallback (0 when the method needs one). */
static uint32_t call_nsid(const struct nr_call *call, uint32_t fallback)
{
	json_t *nsid = json_object_get(call->params, "nsid");

	if (nsid)
		return (uint32_t)json_integer_value(nsid);
	return call->dev.ns ? call->dev.ns->nsid : fallback;
}

void nr_m_nvme_id_ns(struct nr_call *call)
{
	uint32_t nsid = call_nsid(call, 0);
	struct nr_single *single;

	if (nsid == 0) {
		nr_call_invalid(call, "params.nsid", "is required when device is a controller");
		return;
	}
	single = nr_single_new(call, sizeof(struct nvme_id_ns), id_ns_encode, "Identify Namespace");
	if (!single)
		return;
	nr_cmd_identify(&single->cmd, NR_CNS_NS, NR_CSI_NVM, nsid, 0, single->buf, single->buf_len);
	nr_single_submit(call);
}

static json_t *smart_encode(struct nr_call *call, const struct nr_single *single)
{
	char text[NR_SMART_LOG_TEXT_MAX];

	nr_call_result_text(call, text, nr_enc_text(text, &nr_enc_smart_log_desc, single->buf));
	return NULL;
}

void nr_m_nvme_smart_log(struct nr_call *call)
{
	uint32_t nsid =
	    json_object_get(call->params, "nsid") ? call_nsid(call, NSID_ALL) : NSID_ALL;
	struct nr_log_args args = {.lid = NR_LID_SMART, .nsid = nsid, .rae = true};
	struct nr_single *single =
	    nr_single_new(call, sizeof(struct nvme_smart_log), smart_encode, "SMART log");

	if (!single)
		return;
	/* RAE: a read-class call leaves a SMART / Health Status event in place. */
	nr_cmd_get_log_page(&single->cmd, &args, single->buf, (uint32_t)single->buf_len);
	nr_single_submit(call);
}
