/* SPDX-License-Identifier: MIT */
/* nvme.list, identify and SMART: one command, one answer; the errors every
 * device method shares. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode/encode.h"
#include "methods/job.h"
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

/* Answers @call with the text @desc writes of @buf (no jansson tree): the
 * encode callback's NULL for "answered". */
_Static_assert(NR_ID_NS_TEXT_MAX <= NR_ID_CTRL_TEXT_MAX &&
		   NR_SMART_LOG_TEXT_MAX <= NR_ID_CTRL_TEXT_MAX,
	       "answer_text holds the largest text");

static json_t *answer_text(struct nr_call *call, const struct nr_enc_desc *desc, const void *buf)
{
	char text[NR_ID_CTRL_TEXT_MAX]; /* the largest of the structures' texts */

	nr_call_result_text(call, text, nr_enc_text(text, desc, buf));
	return NULL;
}

void nr_m_nvme_list(struct nr_call *call)
{
	nr_call_result(call, nr_topology_list(call->svc->topology));
}

void nr_m_nvme_rescan(struct nr_call *call)
{
	/* Controllers a backend knows are gone (a simulated removal) first,
	 * then those it says came back (a simulated re-insertion). */
	nr_topology_drop_vanished(call->svc->topology);
	nr_topology_restore(call->svc->topology);
	if (!call->svc->host_rescan) {
		nr_m_nvme_list(call);
		return;
	}
	call->svc->host_rescan(call, NULL);
}

static json_t *id_ctrl_encode(struct nr_call *call, struct nr_job *job)
{
	return answer_text(call, &nr_enc_id_ctrl_desc, job->buf);
}

void nr_m_nvme_id_ctrl(struct nr_call *call)
{
	struct nr_job *job =
	    nr_job_new(call, sizeof(struct nvme_id_ctrl), 0, id_ctrl_encode, "Identify Controller");

	if (!job)
		return;
	nr_cmd_identify(&job->cmd, NR_CNS_CTRL, NR_CSI_NVM, 0, 0, job->buf, job->buf_len);
	nr_job_submit(call);
}

static json_t *id_ns_encode(struct nr_call *call, struct nr_job *job)
{
	return answer_text(call, &nr_enc_id_ns_desc, job->buf);
}

void nr_m_nvme_id_ns(struct nr_call *call)
{
	uint32_t nsid = nr_param_nsid(call, 0);
	struct nr_job *job;

	if (nsid == 0) {
		nr_call_invalid(call, "params.nsid", "is required when device is a controller");
		return;
	}
	job = nr_job_new(call, sizeof(struct nvme_id_ns), 0, id_ns_encode, "Identify Namespace");
	if (!job)
		return;
	/* allocated: CNS 11h, which also describes a namespace no controller has attached. */
	nr_cmd_identify(&job->cmd,
			json_is_true(json_object_get(call->params, "allocated"))
			    ? NVME_IDENTIFY_CNS_ALLOCATED_NS
			    : NR_CNS_NS,
			NR_CSI_NVM, nsid, 0, job->buf, job->buf_len);
	nr_job_submit(call);
}

static json_t *smart_encode(struct nr_call *call, struct nr_job *job)
{
	return answer_text(call, &nr_enc_smart_log_desc, job->buf);
}

void nr_m_nvme_smart_log(struct nr_call *call)
{
	uint32_t nsid =
	    json_object_get(call->params, "nsid") ? nr_param_nsid(call, NSID_ALL) : NSID_ALL;
	struct nr_log_args args = {.lid = NR_LID_SMART, .nsid = nsid, .rae = true};
	struct nr_job *job =
	    nr_job_new(call, sizeof(struct nvme_smart_log), 0, smart_encode, "SMART log");

	if (!job)
		return;
	/* RAE: a read-class call leaves a SMART / Health Status event in place. */
	nr_cmd_get_log_page(&job->cmd, &args, job->buf, (uint32_t)job->buf_len);
	nr_job_submit(call);
}
