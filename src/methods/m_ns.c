/* SPDX-License-Identifier: MIT */
/*
 * Namespaces: identify lists and descriptors, I/O command set specific
 * identify (NVM, ZNS), and the lifecycle (create, delete, attach, detach,
 * rescan), each followed by a topology refresh.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "encode/encode_log.h"
#include "methods/job.h"
#include "nvme/nvme_cmd_admin.h"
#include "rpc/rpc_error.h"

#define NSID_ALL 0xffffffffu
#define OACS_NS_MGMT (1u << 3)

/* Returns true when the controller supports Namespace Management and
 * Attachment (OACS bit 3); ends the call with NotSupported if not. */
static bool require_ns_mgmt(struct nr_call *call)
{
	if (call->dev.ctrl->oacs & OACS_NS_MGMT)
		return true;
	nr_call_unsupported(call, "the controller does not support namespace management",
			    "OACS bit 3 is clear");
	return false;
}

/* The nsid a namespace method addresses; ends the call when there is none. */
static bool require_nsid(struct nr_call *call, uint32_t *nsid)
{
	*nsid = nr_param_nsid(call, 0);
	if (*nsid != 0)
		return true;
	nr_call_invalid(call, "params.nsid", "is required when device is a controller");
	return false;
}

static json_t *ns_list_encode(struct nr_call *call, struct nr_job *job)
{
	return nr_enc_ns_list(job->buf);
}

void nr_m_nvme_list_ns(struct nr_call *call)
{
	bool all = nr_param_bool(call, "all");
	uint32_t start = (uint32_t)nr_param_u64(call, "nsid", 0);
	struct nr_job *job;

	if (all && !require_ns_mgmt(call))
		return;
	job = nr_job_new(call, NR_IDENTIFY_SIZE, 0, ns_list_encode, "Identify Namespace List");
	if (!job)
		return;
	nr_cmd_identify(&job->cmd,
			all ? NVME_IDENTIFY_CNS_ALLOCATED_NS_LIST : NR_CNS_NS_ACTIVE_LIST,
			NR_CSI_NVM, start, 0, job->buf, NR_IDENTIFY_SIZE);
	nr_job_submit(call);
}

static json_t *ctrl_list_encode(struct nr_call *call, struct nr_job *job)
{
	return nr_enc_ctrl_list(job->buf);
}

void nr_m_nvme_list_ctrl(struct nr_call *call)
{
	uint32_t nsid = (uint32_t)nr_param_u64(call, "nsid", 0);
	uint16_t start = (uint16_t)nr_param_u64(call, "cntid", 0);
	struct nr_job *job =
	    nr_job_new(call, NR_IDENTIFY_SIZE, 0, ctrl_list_encode, "Identify Controller List");

	if (!job)
		return;
	nr_cmd_identify(&job->cmd,
			nsid ? NVME_IDENTIFY_CNS_NS_CTRL_LIST : NVME_IDENTIFY_CNS_CTRL_LIST,
			NR_CSI_NVM, nsid, start, job->buf, NR_IDENTIFY_SIZE);
	nr_job_submit(call);
}

static json_t *descs_encode(struct nr_call *call, struct nr_job *job)
{
	return nr_enc_ns_descs(job->buf, job->buf_len);
}

void nr_m_nvme_ns_descs(struct nr_call *call)
{
	uint32_t nsid;
	struct nr_job *job;

	if (!require_nsid(call, &nsid))
		return;
	job = nr_job_new(call, NR_IDENTIFY_SIZE, 0, descs_encode,
			 "Identify Namespace Identification Descriptor list");
	if (!job)
		return;
	nr_cmd_identify(&job->cmd, NR_CNS_NS_DESC_LIST, NR_CSI_NVM, nsid, 0, job->buf,
			NR_IDENTIFY_SIZE);
	nr_job_submit(call);
}

/* The command set specific Identify Namespace's state. */
struct csi_ns_state {
	uint8_t csi;
	unsigned nlbaf; /* from Identify Namespace: how many formats to decode */
};

/* Worker thread: Identify Namespace for NLBAF, then the command set
 * specific structure into buf. */
static int csi_ns_work(struct nr_call *call, struct nr_job *job)
{
	struct csi_ns_state *st = job->state;
	struct nvme_id_ns id;
	int rc;

	nr_cmd_identify(&job->cmd, NR_CNS_NS, NR_CSI_NVM, job->cmd.sqe.nsid, 0, &id, sizeof(id));
	rc = nr_job_send(call, &job->cmd);
	if (rc)
		return rc;
	st->nlbaf = id.nlbaf;
	nr_cmd_identify(&job->cmd, NR_CNS_CSI_NS, st->csi, job->cmd.sqe.nsid, 0, job->buf,
			NR_IDENTIFY_SIZE);
	return nr_job_send(call, &job->cmd);
}

static json_t *csi_ns_encode(struct nr_call *call, struct nr_job *job)
{
	const struct csi_ns_state *st = job->state;

	if (st->csi == NR_CSI_ZNS)
		return nr_enc_zns_id_ns(job->buf, st->nlbaf);
	return nr_enc_nvm_id_ns(job->buf, st->nlbaf);
}

/* Whether the topology knows namespace @nsid of the call's controller and
 * that it is not a zoned namespace. */
static bool known_not_zoned(const struct nr_call *call, uint32_t nsid)
{
	const struct nr_ctrl *ctrl = call->dev.ctrl;

	for (size_t i = 0; i < ctrl->ns_count; i++) {
		if (ctrl->namespaces[i]->nsid == nsid)
			return ctrl->namespaces[i]->csi != NR_CSI_ZNS;
	}
	return false;
}

static void csi_ns_start(struct nr_call *call, uint8_t csi)
{
	uint32_t nsid;
	struct nr_job *job;

	if (!require_nsid(call, &nsid))
		return;
	/* Asking a namespace the topology knows is not zoned for its ZNS
	 * identify is refused before anything is sent: the answer is known, and
	 * Linux 6.12's nvmet dereferences NULL on it (a read method must not be
	 * able to take a target down). */
	if (csi == NR_CSI_ZNS && known_not_zoned(call, nsid)) {
		nr_call_fail(call, NR_E_NOT_SUPPORTED, "namespace %u is not zoned", nsid);
		return;
	}
	job = nr_job_new(call, NR_IDENTIFY_SIZE, sizeof(struct csi_ns_state), csi_ns_encode,
			 "I/O Command Set specific Identify Namespace");
	if (!job)
		return;
	job->work = csi_ns_work;
	((struct csi_ns_state *)job->state)->csi = csi;
	job->cmd.sqe.nsid = nsid;
	nr_job_submit(call);
}

void nr_m_nvme_id_ns_csi(struct nr_call *call)
{
	csi_ns_start(call, (uint8_t)nr_param_u64(call, "csi", NR_CSI_NVM));
}

void nr_m_zns_id_ns(struct nr_call *call)
{
	csi_ns_start(call, NR_CSI_ZNS);
}

static json_t *zns_ctrl_encode(struct nr_call *call, struct nr_job *job)
{
	return nr_enc_zns_id_ctrl(job->buf);
}

void nr_m_zns_id_ctrl(struct nr_call *call)
{
	struct nr_job *job =
	    nr_job_new(call, NR_IDENTIFY_SIZE, 0, zns_ctrl_encode, "ZNS Identify Controller");

	if (!job)
		return;
	nr_cmd_identify(&job->cmd, NR_CNS_CSI_CTRL, NR_CSI_ZNS, 0, 0, job->buf, NR_IDENTIFY_SIZE);
	nr_job_submit(call);
}

/* ---- lifecycle --------------------------------------------------------- */

/* Identify Namespace byte offsets of the host-specified create fields. */
enum {
	CREATE_NSZE = 0,
	CREATE_NCAP = 8,
	CREATE_FLBAS = 26,
	CREATE_DPS = 29,
	CREATE_NMIC = 30,
};

static unsigned log2_exact(uint64_t value)
{
	unsigned n = 0;

	while (value > 1 && (value & 1) == 0) {
		value >>= 1;
		n++;
	}
	return value == 1 ? n : 0;
}

/* nvme.ns_create's state. */
struct create_state {
	uint64_t lba_size; /* 0: flbas given */
	unsigned flbas;	   /* the format index, given or picked */
	bool no_format;	   /* no format of lba_size without metadata */
	uint8_t csi;
};

/* Worker thread: finds the metadata-free LBA format of lba_size in the
 * common namespace capabilities (NSID FFFFFFFFh). Returns 0 with flbas set,
 * or with no_format when no format matches. */
static int create_pick_format(struct nr_call *call, struct nr_job *job)
{
	struct create_state *st = job->state;
	struct nvme_id_ns id;
	unsigned want = log2_exact(st->lba_size);
	int rc;

	nr_cmd_identify(&job->cmd, NR_CNS_NS, NR_CSI_NVM, NSID_ALL, 0, &id, sizeof(id));
	rc = nr_job_send(call, &job->cmd);
	if (rc)
		return rc;
	for (unsigned i = 0; i <= id.nlbaf && i < 64; i++) {
		if (id.lbaf[i].ds == want && id.lbaf[i].ms == 0) {
			st->flbas = i;
			return 0;
		}
	}
	st->no_format = true;
	return 0;
}

static int create_work(struct nr_call *call, struct nr_job *job)
{
	struct create_state *st = job->state;
	uint8_t *data = job->buf;
	int rc = st->lba_size ? create_pick_format(call, job) : 0;

	if (rc || st->no_format)
		return rc;
	data[CREATE_FLBAS] = (uint8_t)((st->flbas & 0xf) | ((st->flbas >> 4) & 3) << 5);
	nr_cmd_ns_create(&job->cmd, st->csi, data, NR_IDENTIFY_SIZE);
	return nr_job_send(call, &job->cmd);
}

static void create_next(struct nr_call *call, struct nr_job *job)
{
	if (((struct create_state *)job->state)->no_format) {
		nr_call_invalid(call, "params.lba_size",
				"no LBA format of this size without metadata");
		return;
	}
	nr_refresh_answer(call, json_pack("{s:I}", "nsid", (json_int_t)job->cmd.result));
}

static void put_le(uint8_t *buf, size_t offset, uint64_t value, size_t size)
{
	for (size_t i = 0; i < size; i++)
		buf[offset + i] = (uint8_t)(value >> (8 * i));
}

void nr_m_nvme_ns_create(struct nr_call *call)
{
	json_t *flbas = json_object_get(call->params, "flbas");
	json_t *lba_size = json_object_get(call->params, "lba_size");
	struct create_state *st;
	struct nr_job *job;

	if (!flbas == !lba_size) {
		nr_call_invalid(call, flbas ? "params.lba_size" : "params.flbas",
				"pass exactly one of flbas and lba_size");
		return;
	}
	if (lba_size && !log2_exact((uint64_t)json_integer_value(lba_size))) {
		nr_call_invalid(call, "params.lba_size", "must be a power of two");
		return;
	}
	if (!require_ns_mgmt(call))
		return;
	job = nr_job_new(call, NR_IDENTIFY_SIZE, sizeof(struct create_state), NULL,
			 "Namespace Management (create)");
	if (!job)
		return;
	put_le(job->buf, CREATE_NSZE, nr_param_u64(call, "nsze", 0), 8);
	put_le(job->buf, CREATE_NCAP, nr_param_u64(call, "ncap", nr_param_u64(call, "nsze", 0)), 8);
	job->buf[CREATE_DPS] = (uint8_t)nr_param_u64(call, "dps", 0);
	job->buf[CREATE_NMIC] = (uint8_t)nr_param_u64(call, "nmic", 0);
	st = job->state;
	st->lba_size = nr_param_u64(call, "lba_size", 0);
	st->flbas = (unsigned)nr_param_u64(call, "flbas", 0);
	st->csi = (uint8_t)nr_param_u64(call, "csi", NR_CSI_NVM);
	job->work = create_work;
	job->next = create_next;
	nr_job_submit(call);
}

/* Namespace delete, attach and detach: the namespace acted on. */
struct nsid_state {
	uint32_t nsid;
};

static json_t *nsid_encode(struct nr_call *call, struct nr_job *job)
{
	return json_pack("{s:I}", "nsid", (json_int_t)((struct nsid_state *)job->state)->nsid);
}

void nr_m_nvme_ns_delete(struct nr_call *call)
{
	uint32_t nsid;
	struct nr_job *job;

	if (!require_nsid(call, &nsid) || !require_ns_mgmt(call))
		return;
	job = nr_job_new(call, 0, sizeof(struct nsid_state), nsid_encode,
			 "Namespace Management (delete)");
	if (!job)
		return;
	nr_cmd_ns_delete(&job->cmd, nsid);
	((struct nsid_state *)job->state)->nsid = nsid;
	job->refresh = true;
	nr_job_submit(call);
}

static json_t *attach_encode(struct nr_call *call, struct nr_job *job)
{
	json_t *ids = json_array();
	unsigned count = (unsigned)(job->buf[0] | job->buf[1] << 8);

	for (unsigned i = 0; i < count; i++)
		json_array_append_new(ids,
				      json_integer(job->buf[2 + 2 * i] | job->buf[3 + 2 * i] << 8));
	return json_pack("{s:I, s:o}", "nsid", (json_int_t)((struct nsid_state *)job->state)->nsid,
			 "controllers", ids);
}

/* Fills the Controller List: the params' controllers, else this one. */
static void ctrl_list_fill(struct nr_call *call, uint8_t *buf)
{
	json_t *list = json_object_get(call->params, "controllers");
	size_t count = list ? json_array_size(list) : 1;

	put_le(buf, 0, count, 2);
	for (size_t i = 0; i < count; i++) {
		uint64_t id = list ? (uint64_t)json_integer_value(json_array_get(list, i))
				   : call->dev.ctrl->cntlid;
		put_le(buf, 2 + 2 * i, id, 2);
	}
}

static void attach_start(struct nr_call *call, bool attach)
{
	uint32_t nsid;
	struct nr_job *job;

	if (!require_nsid(call, &nsid) || !require_ns_mgmt(call))
		return;
	job =
	    nr_job_new(call, NR_IDENTIFY_SIZE, sizeof(struct nsid_state), attach_encode,
		       attach ? "Namespace Attachment (attach)" : "Namespace Attachment (detach)");
	if (!job)
		return;
	ctrl_list_fill(call, job->buf);
	nr_cmd_ns_attach(&job->cmd, nsid, attach, job->buf, NR_IDENTIFY_SIZE);
	((struct nsid_state *)job->state)->nsid = nsid;
	job->refresh = true;
	nr_job_submit(call);
}

void nr_m_nvme_ns_attach(struct nr_call *call)
{
	attach_start(call, true);
}

void nr_m_nvme_ns_detach(struct nr_call *call)
{
	attach_start(call, false);
}

/* Worker thread: the host driver's rescan, where the backend has one. */
static int ns_rescan_work(struct nr_call *call, struct nr_job *job)
{
	const struct nr_backend_ops *ops = call->dev.ctrl->ops;

	return ops->rescan ? ops->rescan(call->dev.ctrl->backend_ctrl) : 0;
}

static json_t *ns_rescan_encode(struct nr_call *call, struct nr_job *job)
{
	return json_pack("{s:s}", "device", call->dev.ctrl->name);
}

void nr_m_nvme_ns_rescan(struct nr_call *call)
{
	struct nr_job *job = nr_job_new(call, 0, 0, ns_rescan_encode, "namespace rescan");

	if (!job)
		return;
	job->work = ns_rescan_work;
	job->refresh = true;
	nr_job_submit(call);
}
