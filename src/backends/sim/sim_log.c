/* SPDX-License-Identifier: MIT */
/*
 * Get Log Page (admin 02h) for the simulated controller, the Error
 * Information log's recording and the Persistent Event log's events. Pages
 * are built in full into a scratch buffer, then the requested window is
 * copied. Runs with the subsystem lock held.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/sim_int.h"

#define SIM_LOG_MAX_LEN 16384u
#define SIM_TEMP_KELVIN 308u
#define SIM_VID 0x1b36u
#define SIM_SSVID 0x1af4u
#define SIM_IEEE_OUI 0x525400u
#define LID_CHANGED_NS 0x04
#define LID_CMD_EFFECTS 0x05
#define LID_DEVICE_SELF_TEST 0x06
#define LID_TELEMETRY_HOST 0x07
#define LID_TELEMETRY_CTRL 0x08
#define LID_PERSISTENT_EVENT 0x0d
#define LID_SANITIZE 0x81
#define LOG_RAE (1u << 15)
#define LOG_INDEX_OFFSET (1u << 23)
#define TEL_BLOCK 512u
#define TEL_DALB1 8u /* data areas 1..3 end at blocks 8, 16 and 24 */
#define TEL_DALB2 16u
#define TEL_DALB3 24u
#define PEL_HEADER_LEN 512u
#define PEL_EVENT_HEADER_LEN 24u
#define PEL_ESTABLISH 1u
#define PEL_RELEASE 2u

/* The controller's Timestamp feature value now, in milliseconds. */
uint64_t sim_timestamp_ms(const struct nr_sim_ctrl *ctrl)
{
	return ctrl->ts_base_ms + (sim_now_ms() - ctrl->ts_set_at_ms);
}

/* The Timestamp feature's 8-byte layout: 48-bit milliseconds, then the
 * attributes byte (bits 3:1 origin). */
static uint64_t timestamp_field(const struct nr_sim_ctrl *ctrl)
{
	return (sim_timestamp_ms(ctrl) & 0xffffffffffffull) | (uint64_t)(ctrl->ts_origin << 1)
								  << 48;
}

/* Records one event in the subsystem's Persistent Event log (a ring of the
 * newest SIM_PEL_MAX_EVENTS). @len is at most SIM_PEL_EVENT_MAX. */
void sim_pel_add(struct nr_sim_ctrl *ctrl, uint8_t type, const void *data, uint16_t len)
{
	struct sim_subsys *subsys = ctrl->subsys;
	struct sim_pel_event *ev = &subsys->pel[subsys->pel_count % SIM_PEL_MAX_EVENTS];

	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->cntlid = ctrl->cntlid;
	ev->timestamp_ms = timestamp_field(ctrl);
	ev->len = len < SIM_PEL_EVENT_MAX ? len : SIM_PEL_EVENT_MAX;
	memcpy(ev->data, data, ev->len);
	subsys->pel_count++;
}

/* Power-on or Reset event: firmware revision, then one controller entry. */
void sim_pel_reset_event(struct nr_sim_ctrl *ctrl, bool fw_activated)
{
	uint8_t data[SIM_FW_REV_LEN + sizeof(struct nvme_power_on_reset_info_list)] = {0};
	struct nvme_power_on_reset_info_list info = {0};

	memcpy(data, ctrl->fr, strnlen(ctrl->fr, SIM_FW_REV_LEN));
	info.cid = htole16(ctrl->cntlid);
	info.fw_act = fw_activated;
	info.ctrl_power_cycle = htole32((uint32_t)ctrl->stats.power_cycles);
	info.power_on_ml_seconds = htole64(sim_now_ms() - ((uint64_t)ctrl->born.tv_sec * 1000u));
	info.ctrl_time_stamp = htole64(timestamp_field(ctrl));
	memcpy(data + SIM_FW_REV_LEN, &info, sizeof(info));
	sim_pel_add(ctrl, NVME_PEL_POWER_ON_RESET_EVENT, data, sizeof(data));
}

/* Adds a failed command to the Error Information log ring. */
void sim_error_record(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd)
{
	struct nvme_error_log_page *e = &ctrl->errors[ctrl->err_count % SIM_ERR_ENTRIES];

	memset(e, 0, sizeof(*e));
	ctrl->err_count++;
	e->error_count = htole64(ctrl->err_count);
	e->sqid = htole16(cmd->queue == NR_QUEUE_ADMIN ? 0 : 1);
	e->cmdid = htole16(cmd->sqe.cid);
	e->status_field = htole16((uint16_t)(cmd->status << 1)); /* bit 0: phase tag */
	e->parm_error_location = htole16(ctrl->err_param);
	e->lba = htole64(ctrl->err_lba);
	e->nsid = htole32(cmd->sqe.nsid);
}

struct log_req {
	struct nr_sim_ctrl *ctrl;
	const struct nr_cmd *cmd;
	uint8_t lsp;
	uint64_t offset;
};

/* Error Information (LID 01h): newest first; unused entries are zero. */
static uint16_t log_error(const struct log_req *req, uint8_t *buf, size_t *len)
{
	const struct nr_sim_ctrl *ctrl = req->ctrl;
	uint64_t n = ctrl->err_count < SIM_ERR_ENTRIES ? ctrl->err_count : SIM_ERR_ENTRIES;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t idx = (ctrl->err_count - 1 - i) % SIM_ERR_ENTRIES;

		memcpy(buf + i * sizeof(ctrl->errors[0]), &ctrl->errors[idx],
		       sizeof(ctrl->errors[0]));
	}
	*len = SIM_ERR_ENTRIES * sizeof(struct nvme_error_log_page);
	return 0;
}

static void le128_put_u64(uint8_t out[16], uint64_t value)
{
	sim_le128_put(out, value, 0);
}

/*
 * SMART / Health Information (LID 02h), controller-wide. The simulator has no
 * read path, so Data Units Read and Host Read Commands count commands that
 * returned data; Data Units Written counts thousands of 512-byte units of
 * Zone Append data (rounded up), Host Write Commands the zone management
 * sends and appends.
 */
static uint16_t log_smart(const struct log_req *req, uint8_t *buf, size_t *len)
{
	const struct nr_sim_ctrl *ctrl = req->ctrl;
	struct nvme_smart_log *log = (struct nvme_smart_log *)buf;
	uint16_t temp = htole16(SIM_TEMP_KELVIN);

	if (req->cmd->sqe.nsid != 0 && req->cmd->sqe.nsid != SIM_NSID_ALL)
		return sim_field_error(req->ctrl, 4, 0);
	log->critical_warning = sim_temp_warning(ctrl) ? NVME_SMART_CRIT_TEMPERATURE : 0;
	memcpy(log->temperature, &temp, 2);
	log->avail_spare = 100;
	log->spare_thresh = 10;
	le128_put_u64(log->data_units_read, ctrl->stats.reads);
	le128_put_u64(log->data_units_written, (ctrl->stats.units_written + 999) / 1000);
	le128_put_u64(log->host_reads, ctrl->stats.reads);
	le128_put_u64(log->host_writes, ctrl->stats.writes);
	le128_put_u64(log->ctrl_busy_time, ctrl->stats.busy_us / 60000000u);
	le128_put_u64(log->power_cycles, ctrl->stats.power_cycles);
	le128_put_u64(log->power_on_hours, sim_poh(ctrl));
	le128_put_u64(log->num_err_log_entries, ctrl->err_count);
	log->temp_sensor[0] = htole16(SIM_TEMP_KELVIN);
	sim_health_apply(req->ctrl, log);
	*len = sizeof(*log);
	return 0;
}

/* Firmware Slot Information (LID 03h): AFI bits 2:0 the running slot, 6:4
 * the slot activated at the next reset; FRS of empty slots are zero. */
static uint16_t log_fw_slot(const struct log_req *req, uint8_t *buf, size_t *len)
{
	const struct sim_fw *fw = &req->ctrl->fw;
	struct nvme_firmware_slot *log = (struct nvme_firmware_slot *)buf;

	log->afi = (uint8_t)(fw->active | fw->next << 4);
	for (unsigned i = 0; i < fw->nr_slots; i++) {
		if (fw->slot[i][0])
			sim_pad_copy(log->frs[i], sizeof(log->frs[i]), fw->slot[i]);
	}
	*len = sizeof(*log);
	return 0;
}

/* Changed Namespace List (LID 04h): more than 1024 changes give FFFFFFFFh
 * in the first entry. Reading clears it unless RAE is set. */
static uint16_t log_changed_ns(const struct log_req *req, uint8_t *buf, size_t *len)
{
	struct nr_sim_ctrl *ctrl = req->ctrl;
	uint32_t *list = (uint32_t *)buf;

	if (ctrl->nr_changed_ns > SIM_CHANGED_NS_MAX)
		list[0] = htole32(SIM_NSID_ALL);
	else {
		for (uint32_t i = 0; i < ctrl->nr_changed_ns; i++)
			list[i] = htole32(ctrl->changed_ns[i]);
	}
	if (!(req->cmd->sqe.cdw10 & LOG_RAE))
		ctrl->nr_changed_ns = 0;
	*len = SIM_CHANGED_NS_MAX * 4;
	return 0;
}

#define EFF_CSUPP NVME_CMD_EFFECTS_CSUPP
#define EFF_LBCC NVME_CMD_EFFECTS_LBCC
#define EFF_NCC NVME_CMD_EFFECTS_NCC
#define EFF_NIC NVME_CMD_EFFECTS_NIC
#define EFF_CCC NVME_CMD_EFFECTS_CCC
#define EFF_CSE_NS (1u << 16)  /* no other command to the same namespace */
#define EFF_CSE_ALL (2u << 16) /* no other command to any namespace */

static const uint32_t admin_effects[256] = {
    [nvme_admin_get_log_page] = EFF_CSUPP,
    [nvme_admin_identify] = EFF_CSUPP,
    [nvme_admin_set_features] = EFF_CSUPP | EFF_CCC,
    [nvme_admin_get_features] = EFF_CSUPP,
    [nvme_admin_ns_mgmt] = EFF_CSUPP | EFF_LBCC | EFF_NCC | EFF_NIC,
    [nvme_admin_fw_commit] = EFF_CSUPP | EFF_CCC,
    [nvme_admin_fw_download] = EFF_CSUPP,
    [nvme_admin_dev_self_test] = EFF_CSUPP,
    [nvme_admin_ns_attach] = EFF_CSUPP | EFF_NCC | EFF_NIC,
    [nvme_admin_keep_alive] = EFF_CSUPP,
    [nvme_admin_format_nvm] = EFF_CSUPP | EFF_LBCC | EFF_NCC | EFF_CSE_NS,
    [nvme_admin_sanitize_nvm] = EFF_CSUPP | EFF_LBCC | EFF_CSE_ALL,
};

static const uint32_t zns_effects[256] = {
    [nvme_cmd_flush] = EFF_CSUPP,
    [NR_IO_ZONE_MGMT_SEND] = EFF_CSUPP | EFF_LBCC,
    [NR_IO_ZONE_MGMT_RECV] = EFF_CSUPP,
    [nvme_zns_cmd_append] = EFF_CSUPP | EFF_LBCC,
};

/* Commands Supported and Effects (LID 05h) for the CSI in CDW14 31:24: the
 * admin opcodes are the same for both; the I/O part lists what the command
 * set implements here (NVM: Flush only). */
static uint16_t log_effects(const struct log_req *req, uint8_t *buf, size_t *len)
{
	struct nvme_cmd_effects_log *log = (struct nvme_cmd_effects_log *)buf;
	uint8_t csi = (uint8_t)(req->cmd->sqe.cdw14 >> 24);

	if (csi != NR_CSI_NVM && csi != NR_CSI_ZNS)
		return sim_field_error(req->ctrl, 59, 0);
	for (unsigned op = 0; op < 256; op++) {
		log->acs[op] = htole32(admin_effects[op]);
		if (csi == NR_CSI_ZNS || op == nvme_cmd_flush)
			log->iocs[op] = htole32(zns_effects[op]);
	}
	*len = sizeof(*log);
	return 0;
}

/* Device Self-test (LID 06h). */
static uint16_t log_self_test(const struct log_req *req, uint8_t *buf, size_t *len)
{
	const struct nr_sim_ctrl *ctrl = req->ctrl;
	struct nvme_self_test_log *log = (struct nvme_self_test_log *)buf;

	log->current_operation = ctrl->dst.op;
	log->completion = ctrl->dst.op ? sim_dst_progress(ctrl) : 0;
	memcpy(log->result, ctrl->dst.results, sizeof(log->result));
	*len = sizeof(*log);
	return 0;
}

/*
 * Telemetry (LID 07h host-initiated, 08h controller-initiated): a 512-byte
 * header, then data areas 1..3 ending at blocks 8, 16 and 24, whose bytes are
 * a function of the offset, the log and its generation number, so a new
 * generation reads differently. LSP bit 0 on the host log captures a new
 * generation. The offset must be a multiple of 512 bytes.
 */
static uint16_t log_telemetry(const struct log_req *req, uint8_t *buf, size_t *len)
{
	struct nr_sim_ctrl *ctrl = req->ctrl;
	struct nvme_telemetry_log *log = (struct nvme_telemetry_log *)buf;
	uint8_t lid = (uint8_t)req->cmd->sqe.cdw10, gen;
	const char *reason = lid == LID_TELEMETRY_HOST ? "nvmerpcd sim host-initiated"
						       : "nvmerpcd sim controller-initiated";

	if (req->offset % TEL_BLOCK)
		return sim_field_error(ctrl, 48, 0);
	if (lid == LID_TELEMETRY_HOST && req->lsp & NVME_LOG_TELEM_HOST_LSP_CREATE)
		ctrl->tel_host_gen++;
	gen = lid == LID_TELEMETRY_HOST ? ctrl->tel_host_gen : ctrl->tel_ctrl_gen;
	log->lpi = lid;
	log->ieee[0] = (uint8_t)SIM_IEEE_OUI;
	log->ieee[1] = (uint8_t)(SIM_IEEE_OUI >> 8);
	log->ieee[2] = (uint8_t)(SIM_IEEE_OUI >> 16);
	log->dalb1 = htole16(TEL_DALB1);
	log->dalb2 = htole16(TEL_DALB2);
	log->dalb3 = htole16(TEL_DALB3);
	log->hostdgn = lid == LID_TELEMETRY_HOST ? ctrl->tel_host_gen : 0;
	log->ctrlavail = ctrl->tel_ctrl_avail;
	log->ctrldgn = ctrl->tel_ctrl_gen;
	memcpy(log->rsnident, reason, strlen(reason));
	for (size_t at = TEL_BLOCK; at < (TEL_DALB3 + 1) * TEL_BLOCK; at++)
		buf[at] = (uint8_t)(at * 7u + gen * 13u + lid);
	*len = (TEL_DALB3 + 1) * TEL_BLOCK;
	return 0;
}

static void pel_header(const struct nr_sim_ctrl *ctrl, uint32_t events, uint64_t total,
		       uint8_t *buf)
{
	const struct sim_subsys *subsys = ctrl->subsys;
	struct nvme_persistent_event_log *log = (struct nvme_persistent_event_log *)buf;
	static const uint8_t types[] = {
	    NVME_PEL_FW_COMMIT_EVENT,	   NVME_PEL_TIMESTAMP_EVENT,
	    NVME_PEL_POWER_ON_RESET_EVENT, NVME_PEL_CHANGE_NS_EVENT,
	    NVME_PEL_FORMAT_START_EVENT,   NVME_PEL_FORMAT_COMPLETION_EVENT,
	    NVME_PEL_SANITIZE_START_EVENT, NVME_PEL_SANITIZE_COMPLETION_EVENT,
	};

	log->lid = LID_PERSISTENT_EVENT;
	log->tnev = htole32(events);
	log->tll = htole64(total);
	log->rv = 1;
	log->lhl = htole16(PEL_HEADER_LEN);
	log->ts = htole64(timestamp_field(ctrl));
	sim_le128_put(log->poh, sim_poh(ctrl), 0);
	log->pcc = htole64(ctrl->stats.power_cycles);
	log->vid = htole16(SIM_VID);
	log->ssvid = htole16(SIM_SSVID);
	sim_pad_copy(log->sn, sizeof(log->sn), ctrl->sn);
	sim_pad_copy(log->mn, sizeof(log->mn), ctrl->mn);
	memcpy(log->subnqn, subsys->nqn, strlen(subsys->nqn));
	log->gen_number = htole16(subsys->pel_gen);
	for (size_t i = 0; i < sizeof(types); i++)
		log->seb[types[i] / 8] |= (uint8_t)(1u << (types[i] % 8));
}

/*
 * Persistent Event (LID 0Dh). LSP bits 1:0: 00b read the established context,
 * 01b establish a context (a snapshot of the newest events) and read it, 10b
 * release it. Reading without a context is a Command Sequence Error. Events
 * follow the 512-byte header oldest first, each a 24-byte header and data.
 */
static uint16_t log_pel(const struct log_req *req, uint8_t *buf, size_t *len)
{
	struct nr_sim_ctrl *ctrl = req->ctrl;
	const struct sim_subsys *subsys = ctrl->subsys;
	uint8_t action = req->lsp & 3u;
	uint32_t first, n;
	size_t at = PEL_HEADER_LEN;

	if (action == 3)
		return sim_field_error(ctrl, 41, 0);
	if (action == PEL_RELEASE) {
		ctrl->pel_ctx = false;
		*len = PEL_HEADER_LEN;
		return 0;
	}
	if (action == PEL_ESTABLISH) {
		ctrl->pel_ctx = true;
		ctrl->pel_ctx_count = subsys->pel_count;
		ctrl->subsys->pel_gen++;
	} else if (!ctrl->pel_ctx)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_CMD_SEQ_ERROR);
	n = ctrl->pel_ctx_count < SIM_PEL_MAX_EVENTS ? ctrl->pel_ctx_count : SIM_PEL_MAX_EVENTS;
	first = ctrl->pel_ctx_count - n;
	for (uint32_t i = first; i < ctrl->pel_ctx_count; i++) {
		const struct sim_pel_event *ev = &subsys->pel[i % SIM_PEL_MAX_EVENTS];
		struct nvme_persistent_event_entry head = {0};

		head.etype = ev->type;
		head.etype_rev = 1;
		head.ehl = PEL_EVENT_HEADER_LEN - 3;
		head.cntlid = htole16(ev->cntlid);
		head.ets = htole64(ev->timestamp_ms);
		head.el = htole16(ev->len);
		memcpy(buf + at, &head, sizeof(head));
		memcpy(buf + at + PEL_EVENT_HEADER_LEN, ev->data, ev->len);
		at += PEL_EVENT_HEADER_LEN + ev->len;
	}
	pel_header(ctrl, n, at, buf);
	*len = at;
	return 0;
}

/* Sanitize Status (LID 81h). Estimated times are in seconds; the
 * No-Deallocate estimates are not reported (all ones). */
static uint16_t log_sanitize(const struct log_req *req, uint8_t *buf, size_t *len)
{
	const struct nr_sim_ctrl *ctrl = req->ctrl;
	const struct sim_sanitize *san = &ctrl->subsys->sanitize;
	struct nvme_sanitize_log_page *log = (struct nvme_sanitize_log_page *)buf;
	uint32_t secs = (ctrl->sanitize_ms + 999) / 1000;

	log->sprog = htole16(sim_sprog(ctrl->subsys));
	log->sstat = htole16(san->sstat);
	log->scdw10 = htole32(san->cdw10);
	log->eto = htole32(secs);
	log->etbe = htole32(secs);
	log->etce = htole32(secs);
	log->etond = log->etbend = log->etcend = htole32(0xffffffffu);
	*len = sizeof(*log);
	return 0;
}

typedef uint16_t (*log_fn)(const struct log_req *req, uint8_t *buf, size_t *len);

static const log_fn log_pages[256] = {
    [NR_LID_ERROR] = log_error,		  [NR_LID_SMART] = log_smart,
    [NR_LID_FW_SLOT] = log_fw_slot,	  [LID_CHANGED_NS] = log_changed_ns,
    [LID_CMD_EFFECTS] = log_effects,	  [LID_DEVICE_SELF_TEST] = log_self_test,
    [LID_TELEMETRY_HOST] = log_telemetry, [LID_TELEMETRY_CTRL] = log_telemetry,
    [LID_PERSISTENT_EVENT] = log_pel,	  [LID_SANITIZE] = log_sanitize,
};

/* Copies the window [offset, offset + len) of a @page_len-byte page; bytes
 * past the page read as zero. An offset beyond the page is Invalid Field. */
static uint16_t log_copy(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd, const uint8_t *page,
			 size_t page_len, uint64_t offset, uint64_t len)
{
	size_t avail;

	if (offset >= page_len)
		return sim_field_error(ctrl, 48, 0);
	avail = page_len - (size_t)offset;
	memset(cmd->data, 0, (size_t)len);
	memcpy(cmd->data, page + offset, avail < len ? avail : (size_t)len);
	return 0;
}

/*
 * Get Log Page: CDW10 LID 7:0, LSP 14:8, RAE 15, NUMDL 31:16; CDW11 NUMDU
 * 15:0, LSI 31:16; CDW12/13 LPO; CDW14 bit 23 offset type, 31:24 CSI. The
 * page is built in full, then NUMD + 1 dwords are copied from the byte
 * offset LPO. Index offsets are not supported (Invalid Field).
 */
int sim_get_log(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	log_fn fn = log_pages[cmd->sqe.cdw10 & 0xffu];
	uint64_t offset = (uint64_t)cmd->sqe.cdw13 << 32 | cmd->sqe.cdw12;
	uint64_t len = ((uint64_t)(cmd->sqe.cdw11 & 0xffffu) << 16 | cmd->sqe.cdw10 >> 16) * 4 + 4;
	struct log_req req = {ctrl, cmd, (uint8_t)((cmd->sqe.cdw10 >> 8) & 0x7fu), offset};
	size_t page_len = 0;
	uint8_t *page;
	int rc = sim_xfer_check(cmd, len);

	if (rc)
		return rc;
	if (!fn) {
		ctrl->err_param = SIM_PARAM(40, 0);
		cmd->status = sim_error(NVME_SCT_CMD_SPECIFIC, NVME_SC_INVALID_LOG_PAGE);
		return 0;
	}
	if (cmd->sqe.cdw14 & LOG_INDEX_OFFSET || offset & 3u) {
		cmd->status = sim_field_error(ctrl, cmd->sqe.cdw14 & LOG_INDEX_OFFSET ? 58 : 48, 0);
		return 0;
	}
	page = calloc(1, SIM_LOG_MAX_LEN);
	if (!page)
		return -ENOMEM;
	cmd->status = fn(&req, page, &page_len);
	if (!cmd->status)
		cmd->status = log_copy(ctrl, cmd, page, page_len, offset, len);
	free(page);
	return 0;
}
