/* SPDX-License-Identifier: MIT */
/*
 * Get Features (admin 0Ah) and Set Features (09h) for the simulated
 * controller. Every standard feature the controller supports has an entry in
 * one table: its capabilities (saveable, namespace specific, changeable), the
 * data it transfers, and how a value is read, checked and stored. Values are
 * kept current and saved; SEL 1 answers the default; a controller reset
 * makes current := saved (sim_feats_reset). Runs with the subsystem lock held.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/sim_int.h"

#define F_SAVE (1u << 0)   /* SEL 3 answer: saveable */
#define F_NS (1u << 1)	   /* namespace specific */
#define F_CHANGE (1u << 2) /* changeable */
#define FEAT_SV (1u << 31)
#define SEL_CURRENT 0
#define SEL_DEFAULT 1
#define SEL_SAVED 2
#define SEL_CAPS 3
#define SIM_WCTEMP 343u
#define SIM_MNTMT 313u
#define SIM_MXTMT 353u
#define SIM_TEMP_KELVIN 308u
#define SIM_RRLS 0x8003u
#define SIM_HMMIN 2048u
#define SIM_MAX_QUEUES 64u
#define KATO_GRANULARITY_MS 1000u
#define LBART_MAX 64u

/* One Get or Set: @f is the value set read or written (current, saved or
 * default); @ns the namespace for a namespace-specific feature. */
struct feat_req {
	struct nr_sim_ctrl *ctrl;
	struct nr_cmd *cmd;
	struct sim_feats *f;
	struct sim_ns *ns;
	uint8_t fid, sel;
};

struct feat_desc {
	uint8_t caps;
	uint32_t mask;	   /* simple features: the CDW11 bits kept */
	uint32_t data_len; /* bytes the command transfers, 0 none */
	uint16_t (*check)(struct feat_req *req, uint32_t *value); /* may adjust it */
	uint16_t (*get)(struct feat_req *req, void *data);
	uint16_t (*set)(struct feat_req *req, const void *data);
};

static uint16_t invalid(struct feat_req *req, uint8_t byte)
{
	return sim_field_error(req->ctrl, byte, 0);
}

/* 02h: the power state must exist. */
static uint16_t check_power(struct feat_req *req, uint32_t *value)
{
	return (req->cmd->sqe.cdw11 & 0x1fu) > SIM_NPSS ? invalid(req, 44) : 0;
}

/* 10h: each non-zero threshold within MNTMT..MXTMT, TMT1 below TMT2. */
static uint16_t check_hctm(struct feat_req *req, uint32_t *value)
{
	uint32_t tmt1 = req->cmd->sqe.cdw11 >> 16, tmt2 = req->cmd->sqe.cdw11 & 0xffffu;

	if ((tmt1 && (tmt1 < SIM_MNTMT || tmt1 > SIM_MXTMT)) ||
	    (tmt2 && (tmt2 < SIM_MNTMT || tmt2 > SIM_MXTMT)) || (tmt1 && tmt2 && tmt1 >= tmt2))
		return invalid(req, 44);
	return 0;
}

/* 0Fh: the controller rounds KATO up to its granularity (KAS, 1 s). */
static uint16_t check_kato(struct feat_req *req, uint32_t *value)
{
	uint32_t kato = *value;

	if (kato % KATO_GRANULARITY_MS && kato <= UINT32_MAX - KATO_GRANULARITY_MS)
		*value = kato + KATO_GRANULARITY_MS - kato % KATO_GRANULARITY_MS;
	return 0;
}

/* 19h: only combination 0 (NVM + ZNS) exists. */
static uint16_t check_iocs(struct feat_req *req, uint32_t *value)
{
	return req->cmd->sqe.cdw11 & 0x1ffu
		   ? sim_error(NVME_SCT_CMD_SPECIFIC, NVME_SC_IOCS_COMBINATION_REJECTED)
		   : 0;
}

/* 05h: DULBE needs deallocated-block error support, which is absent. */
static uint16_t check_err_rec(struct feat_req *req)
{
	return req->cmd->sqe.cdw11 & (1u << 16) ? invalid(req, 46) : 0;
}

/* Temperature Threshold (04h): CDW11 TMPTH 15:0, TMPSEL 19:16 (0 composite,
 * 1 sensor 1, Fh all on Set), THSEL 21:20 (0 over, 1 under). */
static uint16_t temp_sel(struct feat_req *req, unsigned *sensor, unsigned *th, bool set)
{
	uint32_t cdw11 = req->cmd->sqe.cdw11;

	*sensor = (cdw11 >> 16) & 0xfu;
	*th = (cdw11 >> 20) & 0x3u;
	if (*th > 1)
		return invalid(req, 46);
	if (*sensor >= SIM_TEMP_SENSORS && !(set && *sensor == 0xf))
		return invalid(req, 46);
	return 0;
}

static uint16_t get_temp(struct feat_req *req, void *data)
{
	unsigned sensor, th;
	uint16_t status = temp_sel(req, &sensor, &th, false);

	if (!status)
		req->cmd->result = req->f->temp[sensor][th] | sensor << 16 | th << 20;
	return status;
}

static uint16_t set_temp(struct feat_req *req, const void *data)
{
	unsigned sensor, th;
	uint16_t status = temp_sel(req, &sensor, &th, true);

	for (unsigned s = 0; !status && s < SIM_TEMP_SENSORS; s++) {
		if (sensor == 0xf || s == sensor)
			req->f->temp[s][th] = (uint16_t)req->cmd->sqe.cdw11;
	}
	return status;
}

/* Number of Queues (07h): NSQR 15:0 and NCQR 31:16, 0-based; FFFFh is
 * invalid. The answer is what was allocated, at most 64 of each. */
static uint16_t set_queues(struct feat_req *req, const void *data)
{
	uint32_t nsqr = req->cmd->sqe.cdw11 & 0xffffu, ncqr = req->cmd->sqe.cdw11 >> 16;

	if (nsqr == 0xffffu || ncqr == 0xffffu)
		return invalid(req, 44);
	nsqr = nsqr < SIM_MAX_QUEUES ? nsqr : SIM_MAX_QUEUES - 1;
	ncqr = ncqr < SIM_MAX_QUEUES ? ncqr : SIM_MAX_QUEUES - 1;
	req->f->dw[req->fid] = nsqr | ncqr << 16;
	req->cmd->result = req->f->dw[req->fid];
	return 0;
}

/* Interrupt Vector Configuration (09h): IV 15:0 selects the vector, CD bit 16. */
static uint16_t get_irq(struct feat_req *req, void *data)
{
	uint32_t iv = req->cmd->sqe.cdw11 & 0xffffu;

	if (iv >= SIM_IRQ_VECTORS)
		return invalid(req, 44);
	req->cmd->result = iv | (uint32_t)((req->f->irq_cd >> iv) & 1u) << 16;
	return 0;
}

static uint16_t set_irq(struct feat_req *req, const void *data)
{
	uint32_t iv = req->cmd->sqe.cdw11 & 0xffffu;

	if (iv >= SIM_IRQ_VECTORS)
		return invalid(req, 44);
	req->f->irq_cd &= ~(1ull << iv);
	req->f->irq_cd |= (uint64_t)((req->cmd->sqe.cdw11 >> 16) & 1u) << iv;
	return 0;
}

/* Autonomous Power State Transition (0Ch): APSTE in CDW11 bit 0, the
 * 32-entry table in the data; a transition must target the non-operational
 * state. */
static uint16_t get_apst(struct feat_req *req, void *data)
{
	memcpy(data, &req->f->apst, sizeof(req->f->apst));
	req->cmd->result = req->f->dw[req->fid];
	return 0;
}

static uint16_t set_apst(struct feat_req *req, const void *data)
{
	struct nvme_feat_auto_pst apst;

	memcpy(&apst, data, sizeof(apst));
	for (unsigned i = 0; i < 32; i++) {
		uint64_t e = le64toh(apst.apst_entry[i]);
		unsigned itps = (unsigned)(e >> 3) & 0x1fu;

		if ((e >> 8) & 0xffffffu && itps != SIM_NPSS)
			return invalid(req, 44);
	}
	req->f->apst = apst;
	req->f->dw[req->fid] = req->cmd->sqe.cdw11 & 1u;
	return 0;
}

/* Host Memory Buffer (0Dh): EHM bit 0, MR bit 1; CDW12 HSIZE (4 KiB units),
 * CDW13/14 descriptor list address, CDW15 entry count. Enabling an enabled
 * buffer without MR is a Command Sequence Error. */
static uint16_t get_hmb(struct feat_req *req, void *data)
{
	memcpy(data, &req->f->hmb, sizeof(req->f->hmb));
	req->cmd->result = req->f->dw[req->fid];
	return 0;
}

static uint16_t set_hmb(struct feat_req *req, const void *data)
{
	const struct nr_sqe *sqe = &req->cmd->sqe;
	bool enable = sqe->cdw11 & 1u;

	if (enable && (req->f->dw[req->fid] & 1u) && !(sqe->cdw11 & 2u))
		return sim_error(NVME_SCT_GENERIC, NVME_SC_CMD_SEQ_ERROR);
	if (enable && (sqe->cdw12 < SIM_HMMIN || !sqe->cdw15))
		return invalid(req, sqe->cdw15 ? 48 : 60);
	memset(&req->f->hmb, 0, sizeof(req->f->hmb));
	if (enable) {
		req->f->hmb.hsize = htole32(sqe->cdw12);
		req->f->hmb.hmdlal = htole32(sqe->cdw13);
		req->f->hmb.hmdlau = htole32(sqe->cdw14);
		req->f->hmb.hmdlec = htole32(sqe->cdw15);
	}
	req->f->dw[req->fid] = enable;
	return 0;
}

/* Timestamp (0Eh): 48-bit milliseconds counting up from when it was set;
 * attributes bits 3:1 origin (0 since reset, 1 set by the host). */
static uint16_t get_timestamp(struct feat_req *req, void *data)
{
	struct nvme_timestamp *ts = data;
	uint64_t now = htole64(sim_timestamp_ms(req->ctrl));

	memcpy(ts->timestamp, &now, 6);
	ts->attr = (uint8_t)(req->ctrl->ts_origin << 1);
	return 0;
}

static uint16_t set_timestamp(struct feat_req *req, const void *data)
{
	struct nr_sim_ctrl *ctrl = req->ctrl;
	uint64_t value = 0, event[2];

	memcpy(&value, data, 6);
	event[0] = htole64(sim_timestamp_ms(ctrl) | (uint64_t)(ctrl->ts_origin << 1) << 48);
	event[1] = htole64(sim_now_ms() - (uint64_t)ctrl->born.tv_sec * 1000u);
	ctrl->ts_base_ms = le64toh(value);
	ctrl->ts_set_at_ms = sim_now_ms();
	ctrl->ts_origin = 1;
	sim_pel_add(ctrl, NVME_PEL_TIMESTAMP_EVENT, event, sizeof(event));
	return 0;
}

/* The NVM Set (12h..14h) or Endurance Group (18h) in CDW11 15:0: the
 * controller has one of each, identifier 1; 0 means that one too. */
static bool one_group(const struct feat_req *req)
{
	return (req->cmd->sqe.cdw11 & 0xffffu) <= 1;
}

/* Read Recovery Level Config (12h): level in CDW12 3:0, one of RRLS. */
static uint16_t get_rrl(struct feat_req *req, void *data)
{
	if (!one_group(req))
		return invalid(req, 44);
	req->cmd->result = req->f->rrl;
	return 0;
}

static uint16_t set_rrl(struct feat_req *req, const void *data)
{
	uint32_t rrl = req->cmd->sqe.cdw12 & 0xfu;

	if (!one_group(req))
		return invalid(req, 44);
	if (!(SIM_RRLS & (1u << rrl)))
		return invalid(req, 48);
	req->f->rrl = rrl;
	return 0;
}

/* Predictable Latency Mode Config (13h): LPE in CDW12 bit 0, the 512-byte
 * configuration in the data (event enables 2:0, window times). */
static uint16_t get_plm(struct feat_req *req, void *data)
{
	if (!one_group(req))
		return invalid(req, 44);
	memcpy(data, &req->f->plm, sizeof(req->f->plm));
	req->cmd->result = req->f->plm_lpe;
	return 0;
}

static uint16_t set_plm(struct feat_req *req, const void *data)
{
	struct nvme_plm_config plm = {0};

	if (!one_group(req))
		return invalid(req, 44);
	memcpy(&plm, data, 56); /* the fields before the reserved tail */
	plm.ee = htole16(le16toh(plm.ee) & 0x7u);
	req->f->plm = plm;
	req->f->plm_lpe = req->cmd->sqe.cdw12 & 1u;
	return 0;
}

/* Predictable Latency Mode Window (14h): WS in CDW12 2:0, 1 deterministic,
 * 2 non-deterministic; needs the mode enabled. */
static uint16_t get_plm_window(struct feat_req *req, void *data)
{
	if (!one_group(req))
		return invalid(req, 44);
	req->cmd->result = req->f->plm_window;
	return 0;
}

static uint16_t set_plm_window(struct feat_req *req, const void *data)
{
	uint32_t ws = req->cmd->sqe.cdw12 & 0x7u;

	if (!one_group(req))
		return invalid(req, 44);
	if (ws != 1 && ws != 2)
		return invalid(req, 48);
	if (!req->f->plm_lpe)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_CMD_SEQ_ERROR);
	req->f->plm_window = ws;
	return 0;
}

/* Host Behavior Support (16h): ACRE, ETDAS and LBAFEE bytes, each 0 or 1. */
static uint16_t get_host_behavior(struct feat_req *req, void *data)
{
	memcpy(data, req->f->host_behavior, sizeof(req->f->host_behavior));
	return 0;
}

static uint16_t set_host_behavior(struct feat_req *req, const void *data)
{
	const uint8_t *bytes = data;

	if (bytes[0] > 1 || bytes[1] > 1 || bytes[2] > 1)
		return invalid(req, 44);
	memset(req->f->host_behavior, 0, sizeof(req->f->host_behavior));
	memcpy(req->f->host_behavior, bytes, 3);
	return 0;
}

/* Endurance Group Event Configuration (18h): ENDGID 15:0, warnings 23:16. */
static uint16_t get_endgrp(struct feat_req *req, void *data)
{
	if (!one_group(req))
		return invalid(req, 44);
	req->cmd->result = req->f->endgrp_cw;
	return 0;
}

static uint16_t set_endgrp(struct feat_req *req, const void *data)
{
	if (!one_group(req))
		return invalid(req, 44);
	req->f->endgrp_cw = (req->cmd->sqe.cdw11 >> 16) & 0xffu;
	return 0;
}

/* LBA Range Type (03h), namespace specific: NUM in CDW11 5:0 (0-based), up
 * to 64 entries of 64 bytes. The default is one general-purpose range over
 * the whole namespace that the host may overwrite. */
static void lbart_default(const struct sim_ns *ns, struct nvme_lba_range_type *lbart)
{
	memset(lbart, 0, sizeof(*lbart));
	lbart->entry[0].type = NVME_LBART_TYPE_GP;
	lbart->entry[0].attributes = NVME_LBART_ATTRIB_TEMP;
	lbart->entry[0].nlb = htole64(ns->blocks - 1);
}

static uint16_t get_lbart(struct feat_req *req, void *data)
{
	if (req->sel == SEL_CURRENT && req->ns->lbart) {
		memcpy(data, req->ns->lbart, sizeof(*req->ns->lbart));
		req->cmd->result = req->ns->lbart_num;
	} else
		lbart_default(req->ns, data);
	return 0;
}

static uint16_t set_lbart(struct feat_req *req, const void *data)
{
	struct sim_ns *ns = req->ns;

	if (!ns->lbart)
		ns->lbart = malloc(sizeof(*ns->lbart));
	if (!ns->lbart)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INTERNAL);
	memset(ns->lbart, 0, sizeof(*ns->lbart));
	ns->lbart_num = (uint8_t)(req->cmd->sqe.cdw11 & (LBART_MAX - 1));
	memcpy(ns->lbart, data, (ns->lbart_num + 1u) * sizeof(ns->lbart->entry[0]));
	return 0;
}

/* Error Recovery (05h), namespace specific: TLER 15:0. */
static uint16_t get_err_rec(struct feat_req *req, void *data)
{
	req->cmd->result = req->sel == SEL_DEFAULT ? 0
			   : req->sel == SEL_SAVED ? req->ns->err_rec_saved
						   : req->ns->err_rec;
	return 0;
}

static uint16_t set_err_rec(struct feat_req *req, const void *data)
{
	uint16_t status = check_err_rec(req);

	if (status)
		return status;
	req->ns->err_rec = req->cmd->sqe.cdw11 & 0xffffu;
	if (req->cmd->sqe.cdw10 & FEAT_SV)
		req->ns->err_rec_saved = req->ns->err_rec;
	return 0;
}

/* Namespace Write Protection Config (84h): WPS 2:0. Leaving the
 * until-power-cycle or permanent state is not possible from the host. */
static uint16_t get_wp(struct feat_req *req, void *data)
{
	req->cmd->result = req->sel == SEL_DEFAULT ? SIM_WPS_NONE : req->ns->wps;
	return 0;
}

static uint16_t set_wp(struct feat_req *req, const void *data)
{
	uint32_t wps = req->cmd->sqe.cdw11 & 0x7u;

	if (wps > SIM_WPS_PERMANENT || req->ns->wps >= SIM_WPS_UNTIL_POWER_CYCLE)
		return invalid(req, 44);
	req->ns->wps = (uint8_t)wps;
	return 0;
}

#define CTRL_FEAT (F_SAVE | F_CHANGE)

static const struct feat_desc feats[256] = {
    [NVME_FEAT_FID_ARBITRATION] = {CTRL_FEAT, 0xffffff07u},
    [NVME_FEAT_FID_POWER_MGMT] = {CTRL_FEAT, 0xffu, .check = check_power},
    [NVME_FEAT_FID_LBA_RANGE] = {F_NS | F_CHANGE, 0, 4096, .get = get_lbart, .set = set_lbart},
    [NVME_FEAT_FID_TEMP_THRESH] = {CTRL_FEAT, .get = get_temp, .set = set_temp},
    [NVME_FEAT_FID_ERR_RECOVERY] = {F_SAVE | F_NS | F_CHANGE, .get = get_err_rec,
				    .set = set_err_rec},
    [NVME_FEAT_FID_VOLATILE_WC] = {CTRL_FEAT, 0x1u},
    [NVME_FEAT_FID_NUM_QUEUES] = {F_CHANGE, .set = set_queues},
    [NVME_FEAT_FID_IRQ_COALESCE] = {CTRL_FEAT, 0xffffu},
    [NVME_FEAT_FID_IRQ_CONFIG] = {F_CHANGE, .get = get_irq, .set = set_irq},
    [NVME_FEAT_FID_WRITE_ATOMIC] = {CTRL_FEAT, 0x1u},
    [NVME_FEAT_FID_ASYNC_EVENT] = {CTRL_FEAT, 0x71fu},
    [NVME_FEAT_FID_AUTO_PST] = {CTRL_FEAT, 0, 256, .get = get_apst, .set = set_apst},
    [NVME_FEAT_FID_HOST_MEM_BUF] = {F_CHANGE, 0, 4096, .get = get_hmb, .set = set_hmb},
    [NVME_FEAT_FID_TIMESTAMP] = {F_CHANGE, 0, 8, .get = get_timestamp, .set = set_timestamp},
    [NVME_FEAT_FID_KATO] = {F_CHANGE, 0xffffffffu, .check = check_kato},
    [NVME_FEAT_FID_HCTM] = {CTRL_FEAT, 0xffffffffu, .check = check_hctm},
    [NVME_FEAT_FID_NOPSC] = {CTRL_FEAT, 0x1u},
    [NVME_FEAT_FID_RRL] = {CTRL_FEAT, .get = get_rrl, .set = set_rrl},
    [NVME_FEAT_FID_PLM_CONFIG] = {CTRL_FEAT, 0, 512, .get = get_plm, .set = set_plm},
    [NVME_FEAT_FID_PLM_WINDOW] = {F_CHANGE, .get = get_plm_window, .set = set_plm_window},
    [NVME_FEAT_FID_HOST_BEHAVIOR] = {F_CHANGE, 0, 512, .get = get_host_behavior,
				     .set = set_host_behavior},
    [NVME_FEAT_FID_SANITIZE] = {CTRL_FEAT, 0x1u},
    [NVME_FEAT_FID_ENDURANCE_EVT_CFG] = {CTRL_FEAT, .get = get_endgrp, .set = set_endgrp},
    [NVME_FEAT_FID_IOCS_PROFILE] = {F_CHANGE, 0x1ffu, .check = check_iocs},
    [NVME_FEAT_FID_SPINUP_CONTROL] = {CTRL_FEAT, 0x1u},
    [NVME_FEAT_FID_WRITE_PROTECT] = {F_NS | F_CHANGE, .get = get_wp, .set = set_wp},
};

/* Default values: volatile write cache on, 64 queues each, composite
 * over-temperature at WCTEMP, sensor thresholds at their extremes, the
 * deterministic window off. */
void sim_feats_default(struct sim_feats *f)
{
	memset(f, 0, sizeof(*f));
	f->dw[NVME_FEAT_FID_VOLATILE_WC] = 1;
	f->dw[NVME_FEAT_FID_NUM_QUEUES] = (SIM_MAX_QUEUES - 1) | (SIM_MAX_QUEUES - 1) << 16;
	f->temp[0][0] = SIM_WCTEMP;
	for (unsigned s = 1; s < SIM_TEMP_SENSORS; s++)
		f->temp[s][0] = 0xffff;
	for (unsigned ps = 0; ps < SIM_NPSS; ps++) /* idle 100 ms -> PS2 */
		f->apst.apst_entry[ps] = htole64(100u << 8 | SIM_NPSS << 3);
	f->plm_window = 2;
}

void sim_ns_feats_default(struct sim_ns *ns)
{
	ns->err_rec = ns->err_rec_saved = 0;
	free(ns->lbart);
	ns->lbart = NULL;
	ns->lbart_num = 0;
}

/* Reset: current := saved for the controller's features and for the
 * namespace-specific ones of its namespaces; LBA Range Type (not saveable)
 * returns to its default. */
void sim_feats_reset(struct nr_sim_ctrl *ctrl)
{
	struct sim_subsys *subsys = ctrl->subsys;

	ctrl->feat = ctrl->feat_saved;
	for (size_t i = 0; i < subsys->nr_ns; i++) {
		struct sim_ns *ns = &subsys->ns[i];

		if (!(ns->attached & (1ull << ctrl->slot)))
			continue;
		ns->err_rec = ns->err_rec_saved;
		free(ns->lbart);
		ns->lbart = NULL;
	}
}

/* The SMART critical warning for temperature: composite or sensor 1 beyond
 * its over or under threshold. */
bool sim_temp_warning(const struct nr_sim_ctrl *ctrl)
{
	for (unsigned s = 0; s < SIM_TEMP_SENSORS; s++) {
		if (SIM_TEMP_KELVIN > ctrl->feat.temp[s][0] ||
		    SIM_TEMP_KELVIN < ctrl->feat.temp[s][1])
			return true;
	}
	return false;
}

/* Looks up the feature and, for a namespace-specific one, its namespace. */
static uint16_t feat_lookup(struct feat_req *req, const struct feat_desc **out, bool set)
{
	const struct feat_desc *d = &feats[req->fid];
	uint32_t nsid = req->cmd->sqe.nsid;

	if (!d->caps)
		return invalid(req, 40);
	*out = d;
	if (!(d->caps & F_NS)) {
		if (set && nsid != 0 && nsid != SIM_NSID_ALL)
			return sim_error(NVME_SCT_CMD_SPECIFIC, NVME_SC_FEATURE_NOT_PER_NS);
		return 0;
	}
	if (set && nsid == SIM_NSID_ALL)
		return 0;
	req->ns = sim_ns_active(req->ctrl, nsid);
	return req->ns ? 0 : sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
}

static int feat_data_check(const struct nr_cmd *cmd, const struct feat_desc *d, bool set)
{
	if (!d->data_len)
		return 0;
	return set ? sim_xfer_in_check(cmd, d->data_len) : sim_xfer_check(cmd, d->data_len);
}

/*
 * Get Features: CDW10 FID 7:0, SEL 10:8. SEL 3 answers the capabilities in
 * CDW0 and transfers nothing; SEL 2 of a feature never saved gives its
 * default. Otherwise data-carrying features need a buffer of their size
 * (-EINVAL otherwise).
 */
int sim_get_features(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	struct feat_req req = {ctrl,
			       cmd,
			       &ctrl->feat,
			       NULL,
			       (uint8_t)cmd->sqe.cdw10,
			       (uint8_t)((cmd->sqe.cdw10 >> 8) & 0x7u)};
	const struct feat_desc *d = NULL;
	struct sim_feats dflt;
	int rc;

	cmd->status = feat_lookup(&req, &d, false);
	if (cmd->status)
		return 0;
	if (req.sel > SEL_CAPS) {
		cmd->status = invalid(&req, 41);
		return 0;
	}
	if (req.sel == SEL_CAPS) { /* no data transferred */
		cmd->result = d->caps;
		return 0;
	}
	rc = feat_data_check(cmd, d, false);
	if (rc)
		return rc;
	if (req.sel == SEL_DEFAULT) {
		sim_feats_default(&dflt);
		req.f = &dflt;
	} else if (req.sel == SEL_SAVED)
		req.f = &ctrl->feat_saved;
	if (d->data_len)
		memset(cmd->data, 0, d->data_len);
	if (d->get)
		cmd->status = d->get(&req, cmd->data);
	else
		cmd->result = req.f->dw[req.fid];
	return 0;
}

static uint16_t feat_apply(struct feat_req *req, const struct feat_desc *d)
{
	uint32_t value = req->cmd->sqe.cdw11 & d->mask;
	uint16_t status = 0;

	if (d->set)
		return d->set(req, req->cmd->data);
	if (d->check)
		status = d->check(req, &value);
	if (!status)
		req->f->dw[req->fid] = value;
	return status;
}

/* A namespace-specific Set with the broadcast NSID: every active namespace. */
static uint16_t feat_apply_all_ns(struct feat_req *req, const struct feat_desc *d)
{
	struct sim_subsys *subsys = req->ctrl->subsys;
	uint16_t status = 0;

	for (size_t i = 0; i < subsys->nr_ns && !status; i++) {
		req->ns = &subsys->ns[i];
		if (req->ns->attached & (1ull << req->ctrl->slot))
			status = d->set(req, req->cmd->data);
	}
	return status;
}

/*
 * Set Features: CDW10 FID 7:0, SV bit 31. SV on a feature that cannot be
 * saved is Feature Identifier Not Saveable; a non-namespace-specific feature
 * with a namespace NSID is Feature Not Namespace Specific. With SV the value
 * is checked and stored as current, then stored again as saved.
 */
int sim_set_features(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	struct feat_req req = {ctrl, cmd, &ctrl->feat, NULL, (uint8_t)cmd->sqe.cdw10, 0};
	const struct feat_desc *d = NULL;
	bool save = cmd->sqe.cdw10 & FEAT_SV;
	int rc;

	cmd->status = feat_lookup(&req, &d, true);
	if (cmd->status)
		return 0;
	rc = feat_data_check(cmd, d, true);
	if (rc)
		return rc;
	if (save && !(d->caps & F_SAVE)) {
		cmd->status = sim_error(NVME_SCT_CMD_SPECIFIC, NVME_SC_FEATURE_NOT_SAVEABLE);
		return 0;
	}
	if (d->caps & F_NS) {
		cmd->status = req.ns ? d->set(&req, cmd->data) : feat_apply_all_ns(&req, d);
		return 0;
	}
	cmd->status = feat_apply(&req, d);
	if (!cmd->status && save) {
		req.f = &ctrl->feat_saved;
		feat_apply(&req, d);
	}
	return 0;
}
