/* SPDX-License-Identifier: MIT */
/*
 * Identify (admin 06h) for the simulated controller: every structure is built
 * zeroed in the host buffer, little-endian, through libnvme's definitions.
 * Runs with the subsystem lock held.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "backends/sim/sim_int.h"

#define SIM_TEMP_WCTEMP 343u
#define SIM_TEMP_CCTEMP 353u
#define SIM_VID 0x1b36u /* Red Hat, as QEMU's emulated controller */
#define SIM_SSVID 0x1af4u
#define SIM_IEEE_OUI 0x525400u
#define SIM_NVME_VERSION 0x00020000u /* 2.0 */
#define SIM_ELPE (SIM_ERR_ENTRIES - 1)
#define SIM_HMPRE 8192u /* 32 MiB in 4 KiB units */
#define SIM_HMMIN 2048u
#define SIM_KAS 10u /* 1 s in 100 ms units */
#define SIM_MNTMT 313u
#define SIM_MXTMT 353u
#define SIM_RRLS 0x8003u /* levels 0, 1 and 15 (fast fail) */
#define SIM_MTFA 10u	 /* 1 s in 100 ms units */
#define CNS_NVMSET_LIST 0x04
#define CNS_CSI_INDEPENDENT_NS 0x08
#define CNS_ALLOCATED_NS_LIST 0x10
#define CNS_ALLOCATED_NS 0x11
#define CNS_NS_CTRL_LIST 0x12
#define CNS_CTRL_LIST 0x13
#define CNS_IOCS 0x1c

/*
 * The LBA formats a namespace offers: a conventional one 512 and 4096 bytes
 * (plus its configured size when that is neither), a zoned one only its
 * configured size, since its zones are sized in blocks. Sets FLBAS to the
 * format of @lba_size.
 */
void sim_lbaf_init(struct sim_ns *ns, uint32_t lba_size)
{
	ns->nlbaf = 0;
	ns->lbaf_size[0] = lba_size;
	if (!ns->zoned) {
		ns->lbaf_size[0] = 512;
		ns->lbaf_size[1] = 4096;
		ns->nlbaf = 1;
		if (lba_size != 512 && lba_size != 4096)
			ns->lbaf_size[++ns->nlbaf] = lba_size;
	}
	for (uint8_t i = 0; i <= ns->nlbaf; i++) {
		if (ns->lbaf_size[i] == lba_size)
			ns->flbas = (uint8_t)((ns->flbas & NVME_NS_FLBAS_META_EXT) | i);
	}
	ns->lba_size = lba_size;
	ns->lbads = (uint8_t)__builtin_ctz(lba_size);
}

static void id_ctrl_psd(struct nvme_id_ctrl *id)
{
	static const struct {
		uint16_t mp;
		uint8_t flags;
		uint32_t enlat, exlat;
		uint8_t rel;
	} ps[SIM_NPSS + 1] = {
	    {2500, 0, 16, 4, 0},		       /* 25.00 W */
	    {1200, 0, 50, 50, 1},		       /* 12.00 W */
	    {50, NVME_PSD_FLAGS_NOPS, 5000, 10000, 2}, /* 0.50 W, non-operational */
	};

	for (unsigned i = 0; i <= SIM_NPSS; i++) {
		id->psd[i].mp = htole16(ps[i].mp);
		id->psd[i].flags = ps[i].flags;
		id->psd[i].enlat = htole32(ps[i].enlat);
		id->psd[i].exlat = htole32(ps[i].exlat);
		id->psd[i].rrt = id->psd[i].rrl = id->psd[i].rwt = id->psd[i].rwl = ps[i].rel;
	}
}

static uint16_t div_round_up(uint32_t ms, uint32_t unit)
{
	uint32_t v = (ms + unit - 1) / unit;

	return (uint16_t)(v ? (v > 0xffff ? 0xffff : v) : 1);
}

/* The parts of Identify Controller that describe optional admin features. */
static void id_ctrl_admin(const struct nr_sim_ctrl *ctrl, struct nvme_id_ctrl *id)
{
	id->oacs = htole16(NVME_CTRL_OACS_FORMAT | NVME_CTRL_OACS_FW | NVME_CTRL_OACS_NS_MGMT |
			   NVME_CTRL_OACS_SELF_TEST);
	id->acl = 3;
	id->aerl = 3;
	id->frmw = (uint8_t)(NVME_CTRL_FRMW_1ST_RO | ctrl->fw.nr_slots << 1 |
			     NVME_CTRL_FRMW_FW_ACT_NO_RESET);
	id->lpa = NVME_CTRL_LPA_CMD_EFFECTS | NVME_CTRL_LPA_EXTENDED | NVME_CTRL_LPA_TELEMETRY |
		  NVME_CTRL_LPA_PERSETENT_EVENT;
	id->elpe = SIM_ELPE;
	id->npss = SIM_NPSS;
	id->avscc = NVME_CTRL_AVSCC_AVS;
	id->apsta = NVME_CTRL_APSTA_APST;
	id->mtfa = htole16(SIM_MTFA);
	id->hmpre = htole32(SIM_HMPRE);
	id->hmmin = htole32(SIM_HMMIN);
	id->edstt = htole16(div_round_up(ctrl->dst_ext_ms, 60000u));
	id->dsto = 0;
	id->fwug = ctrl->fw.fwug;
	id->kas = htole16(SIM_KAS);
	id->hctma = htole16(NVME_CTRL_HCTMA_HCTM);
	id->mntmt = htole16(SIM_MNTMT);
	id->mxtmt = htole16(SIM_MXTMT);
	id->sanicap =
	    htole32(NVME_CTRL_SANICAP_CES | NVME_CTRL_SANICAP_BES | NVME_CTRL_SANICAP_OWS);
	id->pels = htole32(1); /* 64 KiB */
}

/* Identify Controller (CNS 01h). Values model a small PCIe SSD with ZNS;
 * only features the simulator implements are advertised. */
static uint16_t id_ctrl(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	struct nvme_id_ctrl *id = buf;
	const struct sim_subsys *subsys = ctrl->subsys;

	id->vid = htole16(SIM_VID);
	id->ssvid = htole16(SIM_SSVID);
	sim_pad_copy(id->sn, sizeof(id->sn), ctrl->sn);
	sim_pad_copy(id->mn, sizeof(id->mn), ctrl->mn);
	sim_pad_copy(id->fr, sizeof(id->fr), ctrl->fr);
	id->rab = 6;
	id->ieee[0] = (uint8_t)SIM_IEEE_OUI;
	id->ieee[1] = (uint8_t)(SIM_IEEE_OUI >> 8);
	id->ieee[2] = (uint8_t)(SIM_IEEE_OUI >> 16);
	id->cmic = subsys->nr_ctrls > 1 ? NVME_CTRL_CMIC_MULTI_CTRL : 0;
	id->mdts = 7;
	id->cntlid = htole16(ctrl->cntlid);
	id->ver = htole32(SIM_NVME_VERSION);
	id->oaes = htole32(NVME_CTRL_OAES_NA | NVME_CTRL_OAES_FA);
	id->ctratt = htole32(NVME_CTRL_CTRATT_128_ID | NVME_CTRL_CTRATT_NON_OP_PSP |
			     NVME_CTRL_CTRATT_READ_RECV_LVLS | NVME_CTRL_CTRATT_PREDICTABLE_LAT);
	id->rrls = htole16(SIM_RRLS);
	id->cntrltype = NVME_CTRL_CNTRLTYPE_IO;
	id_ctrl_admin(ctrl, id);
	id->wctemp = htole16(SIM_TEMP_WCTEMP);
	id->cctemp = htole16(SIM_TEMP_CCTEMP);
	sim_le128_put(id->tnvmcap, subsys->capacity, 0);
	sim_le128_put(id->unvmcap, subsys->capacity - sim_allocated_bytes(subsys), 0);
	id->sqes = 0x66;
	id->cqes = 0x44;
	id->nn = htole32(subsys->nn);
	id->oncs = htole16(NVME_CTRL_ONCS_SAVE_FEATURES | NVME_CTRL_ONCS_TIMESTAMP);
	id->fna = NVME_CTRL_FNA_CRYPTO_ERASE;
	id->vwc = NVME_CTRL_VWC_PRESENT | NVME_CTRL_VWC_FLUSH;
	id->nwpc = NVME_CTRL_NWPC_WRITE_PROTECT | NVME_CTRL_NWPC_WRITE_PROTECT_POWER_CYCLE |
		   NVME_CTRL_NWPC_WRITE_PROTECT_PERMANENT;
	memcpy(id->subnqn, subsys->nqn, strlen(subsys->nqn)); /* NUL padded */
	id_ctrl_psd(id);
	return 0;
}

static void lbaf_fill(const uint32_t *sizes, uint8_t nlbaf, struct nvme_id_ns *id)
{
	id->nlbaf = nlbaf;
	for (uint8_t i = 0; i <= nlbaf; i++) {
		id->lbaf[i].ds = (uint8_t)__builtin_ctz(sizes[i]);
		id->lbaf[i].rp = sizes[i] == 4096 ? NVME_LBAF_RP_BEST : NVME_LBAF_RP_BETTER;
	}
}

static void id_ns_fill(const struct sim_ns *ns, struct nvme_id_ns *id)
{
	id->nsze = htole64(ns->blocks);
	id->ncap = htole64(ns->blocks);
	id->nuse = htole64(ns->blocks);
	id->flbas = ns->flbas;
	id->nmic = ns->nmic;
	id->nsattr = ns->wps != SIM_WPS_NONE;
	sim_le128_put(id->nvmcap, ns->bytes, 0);
	memcpy(id->nguid, ns->nguid, sizeof(id->nguid));
	memcpy(id->eui64, ns->eui64, sizeof(id->eui64));
	lbaf_fill(ns->lbaf_size, ns->nlbaf, id);
}

/* Identify Namespace for the broadcast NSID: the capabilities common to all
 * namespaces, which namespace management uses (sizes are zero). */
static void id_ns_common(struct nvme_id_ns *id)
{
	static const uint32_t sizes[2] = {512, 4096};

	lbaf_fill(sizes, 1, id);
}

/*
 * Identify Namespace (CNS 00h). An NSID in 1..NN with no namespace attached
 * is inactive and gets a zero-filled structure with success, as the spec
 * requires; FFFFFFFFh gets the common capabilities; 0 and anything above NN
 * are Invalid Namespace or Format.
 */
static uint16_t id_ns(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	struct sim_ns *ns;

	if (cmd->sqe.nsid == SIM_NSID_ALL) {
		id_ns_common(buf);
		return 0;
	}
	if (!sim_nsid_valid(ctrl->subsys, cmd->sqe.nsid))
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
	ns = sim_ns_active(ctrl, cmd->sqe.nsid);
	if (ns)
		id_ns_fill(ns, buf);
	return 0;
}

/* Identify Namespace for an allocated NSID (CNS 11h), attached or not. */
static uint16_t id_allocated_ns(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	struct sim_ns *ns;

	if (!sim_nsid_valid(ctrl->subsys, cmd->sqe.nsid))
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
	ns = sim_ns_find(ctrl->subsys, cmd->sqe.nsid);
	if (ns)
		id_ns_fill(ns, buf);
	return 0;
}

/* Namespace ID lists (CNS 02h active, 10h allocated): NSIDs greater than the
 * given one, ascending. */
static uint16_t ns_list(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf,
			bool allocated)
{
	const struct sim_subsys *subsys = ctrl->subsys;
	uint32_t *list = buf;
	size_t n = 0;

	if (cmd->sqe.nsid >= 0xfffffffeu)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
	for (size_t i = 0; i < subsys->nr_ns && n < SIM_IDENTIFY_LEN / 4; i++) {
		const struct sim_ns *ns = &subsys->ns[i];

		if (ns->nsid > cmd->sqe.nsid && (allocated || ns->attached & (1ull << ctrl->slot)))
			list[n++] = htole32(ns->nsid);
	}
	return 0;
}

static uint16_t id_active_list(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	return ns_list(ctrl, cmd, buf, false);
}

static uint16_t id_allocated_list(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	return ns_list(ctrl, cmd, buf, true);
}

/* Controller lists (CNS 12h attached to NSID, 13h all in the subsystem):
 * CNTLIDs at or above CDW10.CNTID, ascending. */
static uint16_t ctrl_list(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf,
			  uint64_t mask)
{
	const struct sim_subsys *subsys = ctrl->subsys;
	uint16_t from = (uint16_t)(cmd->sqe.cdw10 >> 16), ids[SIM_MAX_CTRLS], n = 0;
	struct nvme_ctrl_list *list = buf;

	for (size_t i = 0; i < subsys->nr_ctrls; i++) {
		if (mask & (1ull << i) && subsys->ctrls[i].cntlid >= from)
			ids[n++] = subsys->ctrls[i].cntlid;
	}
	for (uint16_t i = 1; i < n; i++) { /* insertion sort: at most 64 */
		uint16_t v = ids[i], j = i;

		for (; j && ids[j - 1] > v; j--)
			ids[j] = ids[j - 1];
		ids[j] = v;
	}
	list->num = htole16(n);
	for (uint16_t i = 0; i < n; i++)
		list->identifier[i] = htole16(ids[i]);
	return 0;
}

static uint16_t id_ns_ctrl_list(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	struct sim_ns *ns;

	if (!sim_nsid_valid(ctrl->subsys, cmd->sqe.nsid))
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
	ns = sim_ns_find(ctrl->subsys, cmd->sqe.nsid);
	return ctrl_list(ctrl, cmd, buf, ns ? ns->attached : 0);
}

static uint16_t id_ctrl_list(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	return ctrl_list(ctrl, cmd, buf, UINT64_MAX);
}

static uint8_t *ns_desc_put(uint8_t *at, uint8_t nidt, const void *nid, uint8_t nidl)
{
	struct nvme_ns_id_desc *desc = (struct nvme_ns_id_desc *)at;

	desc->nidt = nidt;
	desc->nidl = nidl;
	memcpy(desc->nid, nid, nidl);
	return at + sizeof(*desc) + nidl;
}

/* Namespace Identification Descriptor list (CNS 03h): EUI-64, NGUID, UUID
 * (the NGUID with RFC 4122 version 4 and variant bits), CSI. The NSID must
 * be active. */
static uint16_t id_ns_descs(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	struct sim_ns *ns = sim_ns_active(ctrl, cmd->sqe.nsid);
	uint8_t csi, uuid[16];
	uint8_t *at = buf;

	if (!ns)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
	csi = ns->zoned ? NR_CSI_ZNS : NR_CSI_NVM;
	memcpy(uuid, ns->nguid, sizeof(uuid));
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
	at = ns_desc_put(at, NVME_NIDT_EUI64, ns->eui64, NVME_NIDT_EUI64_LEN);
	at = ns_desc_put(at, NVME_NIDT_NGUID, ns->nguid, NVME_NIDT_NGUID_LEN);
	at = ns_desc_put(at, NVME_NIDT_UUID, uuid, NVME_NIDT_UUID_LEN);
	ns_desc_put(at, NVME_NIDT_CSI, &csi, NVME_NIDT_CSI_LEN);
	return 0;
}

/* I/O Command Set Independent Identify Namespace (CNS 08h). */
static uint16_t id_independent_ns(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	struct nvme_id_independent_id_ns *id = buf;
	struct sim_ns *ns;

	if (!sim_nsid_valid(ctrl->subsys, cmd->sqe.nsid))
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
	ns = sim_ns_active(ctrl, cmd->sqe.nsid);
	if (!ns)
		return 0;
	id->nmic = ns->nmic;
	id->nsattr = ns->wps != SIM_WPS_NONE;
	id->nstat = 1; /* namespace ready */
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
	id->lbafe[0].zdes = (uint8_t)(zoned->ext_bytes / 64);
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
		return sim_field_error(ctrl, 47, 0);
	if (!sim_nsid_valid(ctrl->subsys, cmd->sqe.nsid))
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
	ns = sim_ns_active(ctrl, cmd->sqe.nsid);
	if (!ns || csi == NR_CSI_NVM)
		return 0;
	if (!ns->zoned)
		return sim_field_error(ctrl, 47, 0);
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
		return sim_field_error(ctrl, 47, 0);
	if (csi == NR_CSI_ZNS)
		id->zasl = 0;
	return 0;
}

/* Identify I/O Command Set data structure (CNS 1Ch): one combination, NVM
 * and ZNS, which is the one Set Features 19h selects. */
static uint16_t id_iocs(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, void *buf)
{
	struct nvme_id_iocs *id = buf;

	id->iocsc[0] = htole64(1ull << NR_CSI_NVM | 1ull << NR_CSI_ZNS);
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
    [CNS_CSI_INDEPENDENT_NS] = id_independent_ns,
    [CNS_ALLOCATED_NS_LIST] = id_allocated_list,
    [CNS_ALLOCATED_NS] = id_allocated_ns,
    [CNS_NS_CTRL_LIST] = id_ns_ctrl_list,
    [CNS_CTRL_LIST] = id_ctrl_list,
    [CNS_IOCS] = id_iocs,
};

/* Identify: the structure is built zeroed in the host buffer. On an error
 * status the buffer content is unspecified (here: zeroes). */
int sim_identify(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	identify_fn fn = identify_ops[cmd->sqe.cdw10 & 0xffu];
	int rc = sim_xfer_check(cmd, SIM_IDENTIFY_LEN);

	if (rc)
		return rc;
	memset(cmd->data, 0, SIM_IDENTIFY_LEN);
	cmd->status = fn ? fn(ctrl, cmd, cmd->data) : sim_field_error(ctrl, 40, 0);
	return 0;
}
