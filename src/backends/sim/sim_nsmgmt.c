/* SPDX-License-Identifier: MIT */
/*
 * Namespace Management (admin 0Dh), Namespace Attachment (15h) and Format
 * NVM (80h) for the simulated controller. A namespace is allocated (it
 * exists in the subsystem and uses capacity) and active on the controllers
 * it is attached to. Runs with the subsystem lock held.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/sim_int.h"

#define NSM_CREATE 0
#define NSM_DELETE 1
#define NSA_ATTACH 0
#define NSA_DETACH 1
#define FMT_SES_CRYPTO 2

void sim_ns_release(struct sim_ns *ns)
{
	sim_zoned_free(ns->zoned);
	ns->zoned = NULL;
	free(ns->lbart);
	ns->lbart = NULL;
}

static uint16_t cmd_specific(uint8_t sc)
{
	return sim_error(NVME_SCT_CMD_SPECIFIC, sc);
}

/* Lowest NSID in 1..NN not allocated, or 0 when all are. */
static uint32_t free_nsid(const struct sim_subsys *subsys)
{
	uint32_t want = 1;

	for (size_t i = 0; i < subsys->nr_ns && subsys->ns[i].nsid == want; i++)
		want++;
	return want <= subsys->nn ? want : 0;
}

/* Inserts a zeroed namespace @nsid in NSID order; returns it or NULL. */
static struct sim_ns *ns_insert(struct sim_subsys *subsys, uint32_t nsid)
{
	size_t at = 0;

	if (subsys->nr_ns == subsys->ns_cap) {
		size_t cap = subsys->ns_cap ? subsys->ns_cap * 2 : 8;
		struct sim_ns *grown = realloc(subsys->ns, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		subsys->ns = grown;
		subsys->ns_cap = cap;
	}
	while (at < subsys->nr_ns && subsys->ns[at].nsid < nsid)
		at++;
	memmove(&subsys->ns[at + 1], &subsys->ns[at], (subsys->nr_ns - at) * sizeof(*subsys->ns));
	memset(&subsys->ns[at], 0, sizeof(*subsys->ns));
	subsys->ns[at].nsid = nsid;
	subsys->nr_ns++;
	return &subsys->ns[at];
}

static void ns_event(struct nr_sim_ctrl *ctrl, const struct sim_ns *ns, uint32_t cdw10)
{
	struct nvme_change_ns_event ev = {0};

	ev.nsmgt_cdw10 = htole32(cdw10);
	ev.nsze = htole64(ns->blocks);
	ev.nscap = htole64(ns->blocks);
	ev.flbas = ns->flbas;
	ev.nmic = ns->nmic;
	ev.nsid = htole32(ns->nsid);
	sim_pel_add(ctrl, NVME_PEL_CHANGE_NS_EVENT, &ev, sizeof(ev));
}

/* Checks the Identify Namespace fields a create uses; returns a status. */
static uint16_t create_check(struct nr_sim_ctrl *ctrl, const struct nvme_id_ns *id,
			     uint32_t *lba_size)
{
	const struct sim_subsys *subsys = ctrl->subsys;
	uint64_t nsze = le64toh(id->nsze), ncap = le64toh(id->ncap);
	unsigned fmt = (id->flbas & NVME_NS_FLBAS_LOWER_MASK) | (id->flbas & 0x60u) >> 1;

	if (fmt > 1)
		return cmd_specific(NVME_SC_INVALID_FORMAT);
	*lba_size = fmt ? 4096 : 512;
	if (!nsze || nsze > SIM_MAX_BLOCKS || ncap > nsze || id->dps || id->nmic > 1 ||
	    (id->nmic && subsys->nr_ctrls < 2))
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	if (ncap != nsze)
		return cmd_specific(NVME_SC_THIN_PROV_NOT_SUPP);
	if (nsze * *lba_size > subsys->capacity - sim_allocated_bytes(subsys))
		return cmd_specific(NVME_SC_NS_INSUFFICIENT_CAP);
	if (subsys->nr_ns >= SIM_MAX_NS || !free_nsid(subsys))
		return cmd_specific(NVME_SC_NS_ID_UNAVAILABLE);
	return 0;
}

/* Create (SEL 0): an NVM namespace from the Identify Namespace structure in
 * the data (NSZE, NCAP, FLBAS, DPS, NMIC), attached to no controller. The
 * new NSID is returned in CDW0. Only the NVM command set (CSI 0) is
 * supported. */
static int ns_create(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	struct sim_subsys *subsys = ctrl->subsys;
	struct nvme_id_ns id;
	struct sim_ns *ns;
	uint32_t lba_size = 0;
	int rc = sim_xfer_in_check(cmd, sizeof(id));

	if (rc)
		return rc;
	if (cmd->sqe.cdw11 >> 24 != NR_CSI_NVM) {
		cmd->status = sim_field_error(ctrl, 47, 0);
		return 0;
	}
	memcpy(&id, cmd->data, sizeof(id));
	cmd->status = create_check(ctrl, &id, &lba_size);
	if (cmd->status)
		return 0;
	ns = ns_insert(subsys, free_nsid(subsys));
	if (!ns)
		return -ENOMEM;
	subsys->ns_serial++;
	ns->lba_size = lba_size;
	ns->blocks = le64toh(id.nsze);
	ns->flbas = id.flbas & NVME_NS_FLBAS_META_EXT;
	ns->nmic = id.nmic;
	sim_ns_init(subsys, ns);
	ns_event(ctrl, ns, cmd->sqe.cdw10);
	cmd->result = ns->nsid;
	return 0;
}

/* Removes the namespace at index @i: detached from its controllers (which
 * see the change), a self-test on it aborted. */
static void ns_remove(struct nr_sim_ctrl *ctrl, size_t i, uint32_t cdw10)
{
	struct sim_subsys *subsys = ctrl->subsys;
	struct sim_ns *ns = &subsys->ns[i];

	sim_changed_ns_all(subsys, ns->attached, ns->nsid);
	sim_dst_abort_ns(subsys, ns->nsid, NVME_ST_RESULT_NS_REMOVED);
	ns_event(ctrl, ns, cdw10);
	sim_ns_release(ns);
	memmove(ns, ns + 1, (subsys->nr_ns - i - 1) * sizeof(*ns));
	subsys->nr_ns--;
}

/* Delete (SEL 1): one allocated namespace, or all of them for FFFFFFFFh. */
static int ns_delete(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	struct sim_subsys *subsys = ctrl->subsys;
	struct sim_ns *ns;

	if (cmd->sqe.nsid == SIM_NSID_ALL) {
		while (subsys->nr_ns)
			ns_remove(ctrl, subsys->nr_ns - 1, cmd->sqe.cdw10);
		return 0;
	}
	ns = sim_ns_find(subsys, cmd->sqe.nsid);
	if (!ns) {
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
		return 0;
	}
	ns_remove(ctrl, (size_t)(ns - subsys->ns), cmd->sqe.cdw10);
	return 0;
}

/* Namespace Management: CDW10 SEL 3:0. */
int sim_ns_mgmt(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	switch (cmd->sqe.cdw10 & 0xfu) {
	case NSM_CREATE:
		return ns_create(ctrl, cmd);
	case NSM_DELETE:
		return ns_delete(ctrl, cmd);
	default:
		cmd->status = sim_field_error(ctrl, 40, 0);
		return 0;
	}
}

/* Turns the controller list in @list into a mask of controller slots.
 * Unknown or repeated identifiers, and an empty list, are Controller List
 * Invalid. */
static uint16_t ctrl_mask(const struct sim_subsys *subsys, const struct nvme_ctrl_list *list,
			  uint64_t *mask, unsigned *count)
{
	unsigned num = le16toh(list->num);

	*mask = 0;
	*count = num;
	if (!num || num > NVME_ID_CTRL_LIST_MAX)
		return cmd_specific(NVME_SC_CTRL_LIST_INVALID);
	for (unsigned i = 0; i < num; i++) {
		uint16_t id = le16toh(list->identifier[i]);
		size_t c = 0;

		while (c < subsys->nr_ctrls && subsys->ctrls[c].cntlid != id)
			c++;
		if (c == subsys->nr_ctrls || *mask & (1ull << c))
			return cmd_specific(NVME_SC_CTRL_LIST_INVALID);
		*mask |= 1ull << c;
	}
	return 0;
}

/*
 * Namespace Attachment: CDW10 SEL 3:0 (0 attach, 1 detach), the controller
 * list in the data. All or nothing: an attach where any controller already
 * has the namespace is Namespace Already Attached, a detach where any does
 * not is Namespace Not Attached; a private namespace (NMIC 0) goes to one
 * controller at most (Namespace Is Private).
 */
int sim_ns_attach(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	struct sim_subsys *subsys = ctrl->subsys;
	uint32_t sel = cmd->sqe.cdw10 & 0xfu;
	struct nvme_ctrl_list *list;
	struct sim_ns *ns;
	uint64_t mask;
	unsigned count;
	int rc = sim_xfer_in_check(cmd, sizeof(*list));

	if (rc)
		return rc;
	if (sel > NSA_DETACH) {
		cmd->status = sim_field_error(ctrl, 40, 0);
		return 0;
	}
	ns = sim_ns_find(subsys, cmd->sqe.nsid);
	if (!ns) {
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
		return 0;
	}
	list = cmd->data;
	cmd->status = ctrl_mask(subsys, list, &mask, &count);
	if (!cmd->status && sel == NSA_ATTACH && ns->attached & mask)
		cmd->status = cmd_specific(NVME_SC_NS_ALREADY_ATTACHED);
	else if (!cmd->status && sel == NSA_ATTACH && !ns->nmic && (count > 1 || ns->attached))
		cmd->status = cmd_specific(NVME_SC_NS_IS_PRIVATE);
	else if (!cmd->status && sel == NSA_DETACH && (ns->attached & mask) != mask)
		cmd->status = cmd_specific(NVME_SC_NS_NOT_ATTACHED);
	if (cmd->status)
		return 0;
	ns->attached = sel == NSA_ATTACH ? ns->attached | mask : ns->attached & ~mask;
	sim_changed_ns_all(subsys, mask, ns->nsid);
	return 0;
}

/* Checks one namespace against the Format NVM fields; returns a status. */
static uint16_t format_check(const struct sim_ns *ns, unsigned lbaf, unsigned pi)
{
	if (ns->wps != SIM_WPS_NONE)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_NS_WRITE_PROTECTED);
	if (lbaf > ns->nlbaf || pi) /* no metadata, so no protection information */
		return cmd_specific(NVME_SC_INVALID_FORMAT);
	return 0;
}

static void format_events(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd)
{
	struct nvme_format_nvm_start_event start = {0};
	struct nvme_format_nvm_compln_event done = {0};

	start.nsid = htole32(cmd->sqe.nsid);
	start.fna = NVME_CTRL_FNA_CRYPTO_ERASE;
	start.format_nvm_cdw10 = htole32(cmd->sqe.cdw10);
	sim_pel_add(ctrl, NVME_PEL_FORMAT_START_EVENT, &start, sizeof(start));
	done.nsid = htole32(cmd->sqe.nsid);
	done.smallest_fpi = 100;
	sim_pel_add(ctrl, NVME_PEL_FORMAT_COMPLETION_EVENT, &done, sizeof(done));
}

/* Formats one namespace: new LBA size with the byte capacity kept, zones
 * emptied, the LBA Range Type back to its default, a self-test on it
 * aborted, every attached controller told. */
static void format_apply(struct nr_sim_ctrl *ctrl, struct sim_ns *ns, unsigned lbaf, bool mset)
{
	ns->flbas = (uint8_t)(mset ? NVME_NS_FLBAS_META_EXT : 0);
	sim_lbaf_init(ns, ns->lbaf_size[lbaf]);
	ns->blocks = ns->bytes >> ns->lbads;
	if (ns->zoned)
		sim_zones_reset_all(ns->zoned);
	free(ns->lbart);
	ns->lbart = NULL;
	sim_dst_abort_ns(ctrl->subsys, ns->nsid, NVME_ST_RESULT_ABORTED_FORMAT);
	sim_changed_ns_all(ctrl->subsys, ns->attached, ns->nsid);
}

/*
 * Format NVM: CDW10 LBAF 3:0 (LBAFU 13:12 above it), MSET 4, PI 7:5, PIL 8,
 * SES 11:9 (0 none, 1 user data erase, 2 cryptographic erase). The NSID is
 * one active namespace or FFFFFFFFh for every namespace attached to this
 * controller (FNA bit 0 is clear: formats are per namespace). Completes at
 * once: the simulator holds no data to erase.
 */
int sim_format(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	struct sim_subsys *subsys = ctrl->subsys;
	uint32_t cdw10 = cmd->sqe.cdw10, nsid = cmd->sqe.nsid;
	unsigned lbaf = (cdw10 & 0xfu) | ((cdw10 >> 12) & 0x3u) << 4, pi = (cdw10 >> 5) & 0x7u;
	bool all = nsid == SIM_NSID_ALL;
	struct sim_ns *ns = all ? NULL : sim_ns_active(ctrl, nsid);

	if (((cdw10 >> 9) & 0x7u) > FMT_SES_CRYPTO) {
		cmd->status = sim_field_error(ctrl, 41, 1);
		return 0;
	}
	if (!all && !ns) {
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
		return 0;
	}
	for (size_t i = 0; i < subsys->nr_ns && !cmd->status; i++) {
		if ((all && subsys->ns[i].attached & (1ull << ctrl->slot)) || &subsys->ns[i] == ns)
			cmd->status = format_check(&subsys->ns[i], lbaf, pi);
	}
	if (cmd->status)
		return 0;
	for (size_t i = 0; i < subsys->nr_ns; i++) {
		if ((all && subsys->ns[i].attached & (1ull << ctrl->slot)) || &subsys->ns[i] == ns)
			format_apply(ctrl, &subsys->ns[i], lbaf, cdw10 & (1u << 4));
	}
	format_events(ctrl, cmd);
	return 0;
}
