/* SPDX-License-Identifier: MIT */
/*
 * The simulated controller: lifecycle, command dispatch, Identify and Get Log
 * Page. Data structures are produced byte for byte as the NVMe Base
 * Specification 2.0 and the ZNS Command Set Specification 1.1 lay them out,
 * in little-endian order, using libnvme's structure definitions.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libnvme.h>

#include "sim_int.h"

#define SIM_IDENTIFY_LEN 4096u
#define SIM_ELPE 63u	      /* Error Log Page Entries, 0-based */
#define SIM_LOG_MAX_LEN 4096u /* the largest page: 64 error entries */
#define SIM_TEMP_KELVIN 308u
#define SIM_WCTEMP_KELVIN 343u
#define SIM_CCTEMP_KELVIN 353u
#define SIM_VID 0x1b36u /* Red Hat, as QEMU's emulated controller */
#define SIM_SSVID 0x1af4u
#define SIM_IEEE_OUI 0x525400u
#define SIM_NVME_VERSION 0x00020000u /* 2.0 */
#define SIM_MAX_POWER_CW 2500u	     /* power state 0: 25.00 W */
#define SIM_NSID_BROADCAST 0xffffffffu

/* Controller-to-host buffer of at least @need bytes, or -EINVAL: a buffer
 * description that cannot hold the transfer is a host bug, not a status. */
int sim_xfer_check(const struct nr_cmd *cmd, uint64_t need)
{
	if (cmd->xfer != NR_XFER_FROM_DEV || !cmd->data || cmd->data_len < need)
		return -EINVAL;
	return 0;
}

/* Every status the simulator returns is deterministic, so DNR is set. */
uint16_t sim_error(uint8_t sct, uint8_t sc)
{
	return NR_STATUS(sct, sc) | NVME_SC_DNR;
}

static int ns_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct sim_ns *)a)->nsid, y = ((const struct sim_ns *)b)->nsid;

	return x < y ? -1 : x > y;
}

/* Returns the active namespace @nsid or NULL. Caller holds the lock or owns
 * the subsystem exclusively. */
struct sim_ns *sim_ns_find(struct sim_subsys *subsys, uint32_t nsid)
{
	struct sim_ns key = {.nsid = nsid};

	return bsearch(&key, subsys->ns, subsys->nr_ns, sizeof(key), ns_cmp);
}

/* A valid NSID names a namespace the controller could have (1..NN), active
 * or not; 0 and the broadcast value are not valid here. */
static bool nsid_valid(const struct sim_subsys *subsys, uint32_t nsid)
{
	return nsid >= 1 && nsid <= subsys->nn;
}

/*
 * Allocates an empty simulator with room for the given counts; the mutexes
 * are initialised here so nr_sim_free can always destroy them. Returns 0 or
 * -ENOMEM.
 */
int sim_alloc(size_t nr_subsys, size_t nr_ctrls, struct nr_sim **out)
{
	struct nr_sim *sim = calloc(1, sizeof(*sim));

	if (!sim)
		return -ENOMEM;
	sim->subsys = calloc(nr_subsys ? nr_subsys : 1, sizeof(*sim->subsys));
	sim->ctrls = calloc(nr_ctrls ? nr_ctrls : 1, sizeof(*sim->ctrls));
	if (!sim->subsys || !sim->ctrls) {
		free(sim->subsys);
		free(sim->ctrls);
		free(sim);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nr_subsys; i++) {
		pthread_mutex_init(&sim->subsys[i].lock, NULL);
		sim->subsys[i].index = (uint32_t)i;
	}
	sim->nr_subsys = nr_subsys;
	sim->nr_ctrls = nr_ctrls;
	*out = sim;
	return 0;
}

/* Derives the namespace's EUI-64 and NGUID from the subsystem position and
 * the NSID so they are unique within a description and stable across runs. */
int sim_ns_init(struct sim_subsys *subsys, struct sim_ns *ns)
{
	uint32_t nsid_be = htobe32(ns->nsid);

	ns->lbads = (uint8_t)__builtin_ctz(ns->lba_size);
	ns->eui64[0] = (uint8_t)(SIM_IEEE_OUI >> 16);
	ns->eui64[1] = (uint8_t)(SIM_IEEE_OUI >> 8);
	ns->eui64[2] = (uint8_t)SIM_IEEE_OUI;
	ns->eui64[3] = (uint8_t)subsys->index;
	memcpy(&ns->eui64[4], &nsid_be, 4);
	memcpy(ns->nguid, "nvmerpcd", 8);
	memcpy(&ns->nguid[8], ns->eui64, 8);
	return 0;
}

/* Completes a description: sorts namespaces, sets NN and controller names.
 * Returns 0. */
int sim_finish(struct nr_sim *sim)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (size_t i = 0; i < sim->nr_subsys; i++) {
		struct sim_subsys *subsys = &sim->subsys[i];

		qsort(subsys->ns, subsys->nr_ns, sizeof(*subsys->ns), ns_cmp);
		subsys->nn = SIM_MIN_NN;
		if (subsys->nr_ns && subsys->ns[subsys->nr_ns - 1].nsid > subsys->nn)
			subsys->nn = subsys->ns[subsys->nr_ns - 1].nsid;
	}
	for (size_t i = 0; i < sim->nr_ctrls; i++) {
		snprintf(sim->ctrls[i].name, sizeof(sim->ctrls[i].name), "sim%u", (unsigned)i);
		sim->ctrls[i].born = now;
	}
	return 0;
}

void nr_sim_free(struct nr_sim *sim)
{
	if (!sim)
		return;
	for (size_t i = 0; i < sim->nr_subsys; i++) {
		struct sim_subsys *subsys = &sim->subsys[i];

		for (size_t n = 0; n < subsys->nr_ns; n++)
			sim_zoned_free(subsys->ns[n].zoned);
		free(subsys->ns);
		pthread_mutex_destroy(&subsys->lock);
	}
	free(sim->subsys);
	free(sim->ctrls);
	free(sim);
}

size_t nr_sim_ctrl_count(const struct nr_sim *sim)
{
	return sim ? sim->nr_ctrls : 0;
}

struct nr_sim_ctrl *nr_sim_ctrl_at(struct nr_sim *sim, size_t index)
{
	return sim && index < sim->nr_ctrls ? &sim->ctrls[index] : NULL;
}

const char *nr_sim_ctrl_subnqn(const struct nr_sim_ctrl *ctrl)
{
	return ctrl->subsys->nqn;
}

const char *nr_sim_ctrl_name(const struct nr_sim_ctrl *ctrl)
{
	return ctrl->name;
}

/* Copies @src into a space-padded ASCII field of @len bytes. */
static void pad_copy(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len);

	memcpy(dst, src, n);
	memset(dst + n, ' ', len - n);
}

static void le128_put(uint8_t out[16], uint64_t lo, uint64_t hi)
{
	uint64_t lo_le = htole64(lo), hi_le = htole64(hi);

	memcpy(out, &lo_le, 8);
	memcpy(out + 8, &hi_le, 8);
}

static uint64_t subsys_capacity_bytes(const struct sim_subsys *subsys, uint64_t *hi)
{
	unsigned __int128 total = 0;

	for (size_t i = 0; i < subsys->nr_ns; i++)
		total += (unsigned __int128)subsys->ns[i].blocks * subsys->ns[i].lba_size;
	*hi = (uint64_t)(total >> 64);
	return (uint64_t)total;
}

static void id_ctrl_psd(struct nvme_id_psd *psd)
{
	psd->mp = htole16(SIM_MAX_POWER_CW);
	psd->enlat = htole32(16);
	psd->exlat = htole32(4);
}

/* Identify Controller (CNS 01h). Values model a small single-port ZNS-capable
 * PCIe SSD; only features the simulator implements are advertised. */
static uint16_t id_ctrl(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	struct nvme_id_ctrl *id = buf;
	const struct sim_subsys *subsys = ctrl->subsys;
	uint64_t cap_hi, cap_lo = subsys_capacity_bytes(subsys, &cap_hi);

	id->vid = htole16(SIM_VID);
	id->ssvid = htole16(SIM_SSVID);
	pad_copy(id->sn, sizeof(id->sn), ctrl->sn);
	pad_copy(id->mn, sizeof(id->mn), ctrl->mn);
	pad_copy(id->fr, sizeof(id->fr), ctrl->fr);
	id->rab = 6;
	id->ieee[0] = (uint8_t)SIM_IEEE_OUI;
	id->ieee[1] = (uint8_t)(SIM_IEEE_OUI >> 8);
	id->ieee[2] = (uint8_t)(SIM_IEEE_OUI >> 16);
	id->cmic = subsys->nr_ctrls > 1 ? NVME_CTRL_CMIC_MULTI_CTRL : 0;
	id->mdts = 7;
	id->cntlid = htole16(ctrl->cntlid);
	id->ver = htole32(SIM_NVME_VERSION);
	id->oaes = htole32(NVME_CTRL_OAES_NA);
	id->ctratt = htole32(NVME_CTRL_CTRATT_128_ID);
	id->cntrltype = NVME_CTRL_CNTRLTYPE_IO;
	id->acl = 3;
	id->aerl = 3;
	id->frmw = (1 << 1) | NVME_CTRL_FRMW_1ST_RO; /* one slot, read-only */
	id->lpa = NVME_CTRL_LPA_EXTENDED;
	id->elpe = SIM_ELPE;
	id->npss = 0;
	id->avscc = NVME_CTRL_AVSCC_AVS;
	id->wctemp = htole16(SIM_WCTEMP_KELVIN);
	id->cctemp = htole16(SIM_CCTEMP_KELVIN);
	le128_put(id->tnvmcap, cap_lo, cap_hi);
	id->sqes = 0x66;
	id->cqes = 0x44;
	id->nn = htole32(subsys->nn);
	id->vwc = 0;
	memcpy(id->subnqn, subsys->nqn, strlen(subsys->nqn)); /* NUL padded */
	id_ctrl_psd(&id->psd[0]);
	return 0;
}

static void id_ns_fill(const struct sim_subsys *subsys, const struct sim_ns *ns,
		       struct nvme_id_ns *id)
{
	uint64_t bytes_lo = ns->blocks << ns->lbads;
	uint64_t bytes_hi = ns->lbads ? ns->blocks >> (64 - ns->lbads) : 0;

	id->nsze = htole64(ns->blocks);
	id->ncap = htole64(ns->blocks);
	id->nuse = htole64(ns->blocks);
	id->nlbaf = 0;
	id->flbas = 0;
	id->nmic = subsys->nr_ctrls > 1 ? NVME_NS_NMIC_SHARED : 0;
	le128_put(id->nvmcap, bytes_lo, bytes_hi);
	memcpy(id->nguid, ns->nguid, sizeof(id->nguid));
	memcpy(id->eui64, ns->eui64, sizeof(id->eui64));
	id->lbaf[0].ds = ns->lbads;
	id->lbaf[0].rp = NVME_LBAF_RP_BEST;
}

/*
 * Identify Namespace (CNS 00h). An NSID in 1..NN with no namespace behind it
 * is inactive and gets a zero-filled structure with success, as the spec
 * requires; 0, the broadcast NSID (no namespace management) and anything
 * above NN are Invalid Namespace or Format.
 */
static uint16_t id_ns(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	struct sim_ns *ns;

	if (!nsid_valid(ctrl->subsys, cmd->sqe.nsid))
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
	ns = sim_ns_find(ctrl->subsys, cmd->sqe.nsid);
	if (ns)
		id_ns_fill(ctrl->subsys, ns, buf);
	return 0;
}

/* Active Namespace ID list (CNS 02h): NSIDs greater than the given one. */
static uint16_t id_active_list(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	const struct sim_subsys *subsys = ctrl->subsys;
	uint32_t *list = buf;
	size_t n = 0;

	if (cmd->sqe.nsid >= 0xfffffffeu)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
	for (size_t i = 0; i < subsys->nr_ns && n < SIM_IDENTIFY_LEN / 4; i++) {
		if (subsys->ns[i].nsid > cmd->sqe.nsid)
			list[n++] = htole32(subsys->ns[i].nsid);
	}
	return 0;
}

static uint8_t *ns_desc_put(uint8_t *at, uint8_t nidt, const void *nid, uint8_t nidl)
{
	struct nvme_ns_id_desc *desc = (struct nvme_ns_id_desc *)at;

	desc->nidt = nidt;
	desc->nidl = nidl;
	memcpy(desc->nid, nid, nidl);
	return at + sizeof(*desc) + nidl;
}

/* Namespace Identification Descriptor list (CNS 03h): EUI-64, NGUID, CSI.
 * The NSID must be active. */
static uint16_t id_ns_descs(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	struct sim_ns *ns = sim_ns_find(ctrl->subsys, cmd->sqe.nsid);
	uint8_t csi;
	uint8_t *at = buf;

	if (!ns)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
	csi = ns->zoned ? NR_CSI_ZNS : NR_CSI_NVM;
	at = ns_desc_put(at, NVME_NIDT_EUI64, ns->eui64, NVME_NIDT_EUI64_LEN);
	at = ns_desc_put(at, NVME_NIDT_NGUID, ns->nguid, NVME_NIDT_NGUID_LEN);
	ns_desc_put(at, NVME_NIDT_CSI, &csi, NVME_NIDT_CSI_LEN);
	return 0;
}

/* 0-based resource limit as MAR / MOR hold it; all ones means no limit. */
static uint32_t zns_limit(uint32_t max)
{
	return max == SIM_NO_LIMIT ? 0xffffffffu : max - 1;
}

static void id_zns_ns_fill(const struct sim_zoned *zoned, struct nvme_zns_id_ns *id)
{
	id->zoc = 0;
	id->ozcs = 0;
	id->mar = htole32(zns_limit(zoned->max_active));
	id->mor = htole32(zns_limit(zoned->max_open));
	id->lbafe[0].zsze = htole64(zoned->zone_size);
	id->lbafe[0].zdes = 0;
}

/*
 * I/O Command Set specific Identify Namespace (CNS 05h). For the NVM command
 * set (CSI 0) the structure is all zeroes (no optional features); for ZNS the
 * namespace must be zoned. Inactive NSIDs get zeroes, like CNS 00h.
 */
static uint16_t id_csi_ns(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	uint8_t csi = (uint8_t)(cmd->sqe.cdw11 >> 24);
	struct sim_ns *ns;

	if (csi != NR_CSI_NVM && csi != NR_CSI_ZNS)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	if (!nsid_valid(ctrl->subsys, cmd->sqe.nsid))
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
	ns = sim_ns_find(ctrl->subsys, cmd->sqe.nsid);
	if (!ns || csi == NR_CSI_NVM)
		return 0;
	if (!ns->zoned)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	id_zns_ns_fill(ns->zoned, buf);
	return 0;
}

/* I/O Command Set specific Identify Controller (CNS 06h). ZASL 0: the zone
 * append size limit is MDTS. NVM command set fields are all zero. */
static uint16_t id_csi_ctrl(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	uint8_t csi = (uint8_t)(cmd->sqe.cdw11 >> 24);
	struct nvme_zns_id_ctrl *id = buf;

	if (csi != NR_CSI_NVM && csi != NR_CSI_ZNS)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	if (csi == NR_CSI_ZNS)
		id->zasl = 0;
	return 0;
}

typedef uint16_t (*identify_fn)(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf);

static const identify_fn identify_ops[256] = {
    [NR_CNS_NS] = id_ns,
    [NR_CNS_CTRL] = id_ctrl,
    [NR_CNS_NS_ACTIVE_LIST] = id_active_list,
    [NR_CNS_NS_DESC_LIST] = id_ns_descs,
    [NR_CNS_CSI_NS] = id_csi_ns,
    [NR_CNS_CSI_CTRL] = id_csi_ctrl,
};

/* Identify: the structure is built zeroed in the host buffer. On an error
 * status the buffer content is unspecified (here: zeroes). */
static int sim_identify(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	identify_fn fn = identify_ops[cmd->sqe.cdw10 & 0xffu];
	int rc = sim_xfer_check(cmd, SIM_IDENTIFY_LEN);

	if (rc)
		return rc;
	memset(cmd->data, 0, SIM_IDENTIFY_LEN);
	cmd->status =
	    fn ? fn(ctrl, cmd, cmd->data) : sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	return 0;
}

static void le128_put_u64(uint8_t out[16], uint64_t value)
{
	le128_put(out, value, 0);
}

/*
 * SMART / Health Information (LID 02h), controller-wide. The simulator has no
 * data path, so the data-unit and command counters count commands it ran:
 * reads are commands that returned data, writes are commands that changed
 * zone state.
 */
static size_t log_smart(struct nr_sim_ctrl *ctrl, void *buf)
{
	struct nvme_smart_log *log = buf;
	uint16_t temp = htole16(SIM_TEMP_KELVIN);
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	memcpy(log->temperature, &temp, 2);
	log->avail_spare = 100;
	log->spare_thresh = 10;
	le128_put_u64(log->data_units_read, ctrl->stats.reads);
	le128_put_u64(log->data_units_written, ctrl->stats.writes);
	le128_put_u64(log->host_reads, ctrl->stats.reads);
	le128_put_u64(log->host_writes, ctrl->stats.writes);
	le128_put_u64(log->ctrl_busy_time, ctrl->stats.busy_us / 60000000u);
	le128_put_u64(log->power_cycles, 1);
	le128_put_u64(log->power_on_hours, (uint64_t)(now.tv_sec - ctrl->born.tv_sec) / 3600u);
	log->temp_sensor[0] = htole16(SIM_TEMP_KELVIN);
	return sizeof(*log);
}

/* Error Information (LID 01h): no errors recorded, ELPE + 1 zero entries. */
static size_t log_error(struct nr_sim_ctrl *ctrl, void *buf)
{
	return (SIM_ELPE + 1) * sizeof(struct nvme_error_log_page);
}

/* Firmware Slot Information (LID 03h): slot 1 active, holding FR. */
static size_t log_fw_slot(struct nr_sim_ctrl *ctrl, void *buf)
{
	struct nvme_firmware_slot *log = buf;

	log->afi = 1;
	pad_copy(log->frs[0], sizeof(log->frs[0]), ctrl->fr);
	return sizeof(*log);
}

struct log_page {
	size_t (*build)(struct nr_sim_ctrl *ctrl, void *buf); /* returns the page size */
	bool controller_scope;				      /* NSID must be 0 or FFFFFFFFh */
};

static const struct log_page log_pages[256] = {
    [NR_LID_ERROR] = {.build = log_error},
    [NR_LID_SMART] = {.build = log_smart, .controller_scope = true},
    [NR_LID_FW_SLOT] = {.build = log_fw_slot},
};

/* Checks the Get Log Page fields that apply to every page; returns a status. */
static uint16_t log_check(const struct nr_cmd *cmd, const struct log_page *page, uint64_t offset)
{
	uint32_t nsid = cmd->sqe.nsid;

	if (!page->build)
		return sim_error(NVME_SCT_CMD_SPECIFIC, NVME_SC_INVALID_LOG_PAGE);
	if (cmd->sqe.cdw14 & (1u << 23) || offset & 3u) /* index offsets; unaligned */
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	if (page->controller_scope && nsid != 0 && nsid != SIM_NSID_BROADCAST)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	return 0;
}

/*
 * Get Log Page: the page is built in full, then NUMD + 1 dwords are copied
 * from the byte offset LPO. Bytes past the end of the page read as zero; an
 * offset beyond the page is Invalid Field in Command.
 */
static int sim_get_log(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	const struct log_page *page = &log_pages[cmd->sqe.cdw10 & 0xffu];
	uint64_t offset = (uint64_t)cmd->sqe.cdw13 << 32 | cmd->sqe.cdw12;
	uint64_t len = ((uint64_t)(cmd->sqe.cdw11 & 0xffffu) << 16 | cmd->sqe.cdw10 >> 16) * 4 + 4;
	uint8_t page_buf[SIM_LOG_MAX_LEN] = {0};
	size_t page_len, avail;
	int rc = sim_xfer_check(cmd, len);

	if (rc)
		return rc;
	cmd->status = log_check(cmd, page, offset);
	if (cmd->status)
		return 0;
	page_len = page->build(ctrl, page_buf);
	if (offset >= page_len) {
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
		return 0;
	}
	avail = page_len - (size_t)offset;
	memset(cmd->data, 0, (size_t)len);
	memcpy(cmd->data, page_buf + offset, avail < len ? avail : (size_t)len);
	return 0;
}

typedef int (*admin_fn)(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd);

static const admin_fn admin_ops[256] = {
    [NR_ADM_GET_LOG_PAGE] = sim_get_log,
    [NR_ADM_IDENTIFY] = sim_identify,
};

typedef int (*io_fn)(struct sim_ns *ns, struct nr_cmd *cmd);

static const io_fn zoned_io_ops[256] = {
    [NR_IO_ZONE_MGMT_SEND] = sim_zone_send,
    [NR_IO_ZONE_MGMT_RECV] = sim_zone_recv,
};

/* I/O commands: the only ones implemented are the zoned ones, so on a
 * conventional namespace every opcode is Invalid Command Opcode. */
static int sim_io(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	io_fn fn = zoned_io_ops[cmd->sqe.opcode];
	struct sim_ns *ns;

	if (!fn) {
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE);
		return 0;
	}
	ns = sim_ns_find(ctrl->subsys, cmd->sqe.nsid);
	if (!ns) {
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
		return 0;
	}
	if (!ns->zoned) {
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE);
		return 0;
	}
	return fn(ns, cmd);
}

static int sim_admin(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	admin_fn fn = admin_ops[cmd->sqe.opcode];

	if (!fn) {
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE);
		return 0;
	}
	return fn(ctrl, cmd);
}

/* Counts a completed command for the SMART log. Caller holds the lock. */
static void account(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd)
{
	ctrl->stats.busy_us += ctrl->latency_us;
	if (cmd->status)
		return;
	if (cmd->xfer == NR_XFER_FROM_DEV)
		ctrl->stats.reads++;
	else if (cmd->queue == NR_QUEUE_IO && cmd->sqe.opcode == NR_IO_ZONE_MGMT_SEND)
		ctrl->stats.writes++;
}

/*
 * Runs on a worker thread. Sleeps the controller's latency outside the lock,
 * then executes under the subsystem's mutex, so commands to controllers of
 * different subsystems run in parallel. Returns 0 with cmd->status set, or
 * -EINVAL for a malformed command (bad queue, buffer too small).
 */
int nr_sim_submit(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	int rc;

	if (!ctrl || !cmd || (cmd->queue != NR_QUEUE_ADMIN && cmd->queue != NR_QUEUE_IO))
		return -EINVAL;
	if (ctrl->latency_us)
		usleep(ctrl->latency_us);
	cmd->status = 0;
	cmd->result = 0;
	pthread_mutex_lock(&ctrl->subsys->lock);
	rc = cmd->queue == NR_QUEUE_ADMIN ? sim_admin(ctrl, cmd) : sim_io(ctrl, cmd);
	if (rc == 0)
		account(ctrl, cmd);
	pthread_mutex_unlock(&ctrl->subsys->lock);
	return rc;
}

static int sim_backend_submit(void *ctrl, struct nr_cmd *cmd)
{
	return nr_sim_submit(ctrl, cmd);
}

const struct nr_backend_ops nr_sim_ops = {
    .name = "sim",
    .submit = sim_backend_submit,
};
