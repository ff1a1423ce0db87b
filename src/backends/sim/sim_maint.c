/* SPDX-License-Identifier: MIT */
/*
 * Background and maintenance operations of the simulated controller:
 * Sanitize (admin 84h, subsystem-wide, progressing over time), Device
 * Self-test (14h, per controller, progressing over time), Firmware Image
 * Download (11h) and Firmware Commit (10h). Time advances lazily: sim_tick
 * completes whatever is due before each command. Runs with the subsystem
 * lock held.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/sim_int.h"

#define SANACT_EXIT_FAILURE 1
#define SANACT_BLOCK_ERASE 2
#define SANACT_OVERWRITE 3
#define SANACT_CRYPTO_ERASE 4
#define SSTAT_COMPLETED 1
#define SSTAT_IN_PROGRESS 2
#define SSTAT_FAILED 3
#define SSTAT_GDE (1u << 8)
#define DST_SHORT 1
#define DST_EXTENDED 2
#define DST_ABORT 0xf
#define FW_CA_REPLACE 0
#define FW_CA_REPLACE_ACTIVATE 1
#define FW_CA_ACTIVATE 2
#define FW_CA_REPLACE_ACTIVATE_NOW 3
#define FW_MAGIC "NRFW"

static uint16_t cmd_specific(uint8_t sc)
{
	return sim_error(NVME_SCT_CMD_SPECIFIC, sc);
}

/* Sanitize progress as SPROG: the fraction done of 65536, FFFFh when no
 * sanitize operation is in progress. */
uint16_t sim_sprog(const struct sim_subsys *subsys)
{
	const struct sim_sanitize *san = &subsys->sanitize;
	uint64_t done;

	if (!san->running)
		return 0xffff;
	done = san->dur_ms ? (sim_now_ms() - san->start_ms) * 65536u / san->dur_ms : 65535u;
	return (uint16_t)(done > 65534u ? 65534u : done);
}

static void sanitize_complete(struct nr_sim_ctrl *ctrl)
{
	struct sim_subsys *subsys = ctrl->subsys;
	struct sim_sanitize *san = &subsys->sanitize;
	struct nvme_sanitize_compln_event ev = {0};
	uint32_t passes = (san->cdw10 >> 4) & 0xfu;

	for (size_t i = 0; i < subsys->nr_ns; i++) {
		if (subsys->ns[i].zoned)
			sim_zones_reset_all(subsys->ns[i].zoned);
	}
	san->running = false;
	san->sstat = SSTAT_COMPLETED | SSTAT_GDE;
	if ((san->cdw10 & 0x7u) == SANACT_OVERWRITE)
		san->sstat |= (uint16_t)((passes ? passes : 16) << 3);
	ev.sani_prog = htole16(0xffff);
	ev.sani_status = htole16(san->sstat);
	sim_pel_add(ctrl, NVME_PEL_SANITIZE_COMPLETION_EVENT, &ev, sizeof(ev));
}

/* Self-test progress in percent, below 100 while running. */
uint8_t sim_dst_progress(const struct nr_sim_ctrl *ctrl)
{
	const struct sim_dst *dst = &ctrl->dst;
	uint64_t pct = dst->dur_ms ? (sim_now_ms() - dst->start_ms) * 100u / dst->dur_ms : 99u;

	return (uint8_t)(pct > 99 ? 99 : pct);
}

/* Ends the running self-test with @result, newest entry first. */
static void dst_finish(struct nr_sim_ctrl *ctrl, uint8_t result)
{
	struct sim_dst *dst = &ctrl->dst;
	struct nvme_st_result *r = &dst->results[0];

	memmove(&dst->results[1], &dst->results[0],
		(SIM_DST_RESULTS - 1) * sizeof(dst->results[0]));
	memset(r, 0, sizeof(*r));
	r->dsts = (uint8_t)(result | dst->op << 4);
	r->vdi = dst->nsid ? NVME_ST_VALID_DIAG_INFO_NSID : 0;
	r->poh = htole64(sim_poh(ctrl));
	r->nsid = htole32(dst->nsid);
	dst->op = 0;
}

void sim_dst_abort(struct nr_sim_ctrl *ctrl, uint8_t result)
{
	if (ctrl->dst.op)
		dst_finish(ctrl, result);
}

/* Aborts self-tests that include namespace @nsid (0: every self-test). */
void sim_dst_abort_ns(struct sim_subsys *subsys, uint32_t nsid, uint8_t result)
{
	for (size_t i = 0; i < subsys->nr_ctrls; i++) {
		struct nr_sim_ctrl *ctrl = &subsys->ctrls[i];

		if (ctrl->dst.op &&
		    (!nsid || ctrl->dst.nsid == nsid || ctrl->dst.nsid == SIM_NSID_ALL))
			dst_finish(ctrl, result);
	}
}

/* Completes what is due: the subsystem's sanitize, this controller's
 * self-test. */
void sim_tick(struct nr_sim_ctrl *ctrl)
{
	const struct sim_sanitize *san = &ctrl->subsys->sanitize;
	uint64_t now = sim_now_ms();

	if (san->running && now - san->start_ms >= san->dur_ms)
		sanitize_complete(ctrl);
	if (ctrl->dst.op && now - ctrl->dst.start_ms >= ctrl->dst.dur_ms)
		dst_finish(ctrl, NVME_ST_RESULT_NO_ERR);
}

/*
 * Sanitize: CDW10 SANACT 2:0 (1 exit failure mode, 2 block erase, 3
 * overwrite, 4 crypto erase), AUSE 3, OWPASS 7:4, OIPBP 8, NDAS 9; CDW11 the
 * overwrite pattern. The operation runs for the controller's sanitize_ms,
 * aborts every self-test in the subsystem and, when done, empties every
 * zone. Exit Failure Mode without a failed sanitize does nothing.
 */
int sim_sanitize(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	struct sim_subsys *subsys = ctrl->subsys;
	struct sim_sanitize *san = &subsys->sanitize;
	struct nvme_sanitize_start_event ev = {0};
	uint32_t sanact = cmd->sqe.cdw10 & 0x7u;

	if (sanact == SANACT_EXIT_FAILURE) {
		if ((san->sstat & 0x7u) == SSTAT_FAILED)
			san->sstat = (uint16_t)((san->sstat & ~0x7u) | SSTAT_COMPLETED);
		return 0;
	}
	if (sanact < SANACT_BLOCK_ERASE || sanact > SANACT_CRYPTO_ERASE) {
		cmd->status = sim_field_error(ctrl, 40, 0);
		return 0;
	}
	sim_dst_abort_ns(subsys, 0, NVME_ST_RESULT_ABORTED_SANITIZE);
	san->running = true;
	san->cdw10 = cmd->sqe.cdw10;
	san->start_ms = sim_now_ms();
	san->dur_ms = ctrl->sanitize_ms;
	san->sstat = SSTAT_IN_PROGRESS;
	san->cntlid = ctrl->cntlid;
	ev.sani_cap =
	    htole32(NVME_CTRL_SANICAP_CES | NVME_CTRL_SANICAP_BES | NVME_CTRL_SANICAP_OWS);
	ev.sani_cdw10 = htole32(cmd->sqe.cdw10);
	ev.sani_cdw11 = htole32(cmd->sqe.cdw11);
	sim_pel_add(ctrl, NVME_PEL_SANITIZE_START_EVENT, &ev, sizeof(ev));
	return 0;
}

/*
 * Device Self-test: CDW10 STC 3:0 (1 short, 2 extended, Fh abort). The NSID
 * is 0 (no namespace), FFFFFFFFh (all) or an active namespace. One test at
 * a time per controller: another start while one runs is Device Self-test
 * In Progress. Aborting when none runs succeeds and does nothing.
 */
int sim_self_test(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	struct sim_dst *dst = &ctrl->dst;
	uint32_t stc = cmd->sqe.cdw10 & 0xfu, nsid = cmd->sqe.nsid;

	if (stc == DST_ABORT) {
		sim_dst_abort(ctrl, NVME_ST_RESULT_ABORTED);
		return 0;
	}
	if (stc != DST_SHORT && stc != DST_EXTENDED)
		cmd->status = sim_field_error(ctrl, 40, 0);
	else if (dst->op)
		cmd->status = cmd_specific(NVME_SC_SELF_TEST_IN_PROGRESS);
	else if (nsid && nsid != SIM_NSID_ALL && !sim_ns_active(ctrl, nsid))
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
	if (cmd->status)
		return 0;
	dst->op = (uint8_t)stc;
	dst->nsid = nsid;
	dst->start_ms = sim_now_ms();
	dst->dur_ms = stc == DST_SHORT ? ctrl->dst_short_ms : ctrl->dst_ext_ms;
	return 0;
}

static bool dwords_free(const uint8_t *loaded, uint32_t first, uint32_t count)
{
	for (uint32_t d = first; d < first + count; d++) {
		if (loaded[d / 8] & (1u << (d % 8)))
			return false;
	}
	return true;
}

/*
 * Firmware Image Download: CDW10 NUMD (0-based dwords), CDW11 OFST (dwords).
 * Pieces may come in any order; the offset must be a multiple of FWUG and a
 * piece overlapping one already received is Overlapping Range. Images are
 * at most 1 MiB.
 */
int sim_fw_download(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	struct sim_fw *fw = &ctrl->fw;
	uint64_t count = (uint64_t)cmd->sqe.cdw10 + 1, first = cmd->sqe.cdw11;
	uint64_t gran = fw->fwug && fw->fwug != 0xff ? fw->fwug * 4096u : 4;
	int rc = sim_xfer_in_check(cmd, count * 4);

	if (rc)
		return rc;
	if ((first + count) * 4 > SIM_FW_MAX_BYTES) {
		cmd->status = sim_field_error(ctrl, 40, 0);
		return 0;
	}
	if ((first * 4) % gran) {
		cmd->status = sim_field_error(ctrl, 44, 0);
		return 0;
	}
	if (!fw->image)
		fw->image = malloc(SIM_FW_MAX_BYTES);
	if (!fw->loaded)
		fw->loaded = calloc(1, SIM_FW_MAX_BYTES / 32);
	if (!fw->image || !fw->loaded)
		return -ENOMEM;
	if (!dwords_free(fw->loaded, (uint32_t)first, (uint32_t)count)) {
		cmd->status = cmd_specific(NVME_SC_OVERLAPPING_RANGE);
		return 0;
	}
	memcpy(fw->image + first * 4, cmd->data, (size_t)count * 4);
	for (uint64_t d = first; d < first + count; d++)
		fw->loaded[d / 8] |= (uint8_t)(1u << (d % 8));
	if ((first + count) * 4 > fw->image_end)
		fw->image_end = (uint32_t)((first + count) * 4);
	return 0;
}

static void fw_drop_download(struct sim_fw *fw)
{
	if (fw->loaded)
		memset(fw->loaded, 0, SIM_FW_MAX_BYTES / 32);
	fw->image_end = 0;
}

/*
 * The revision of the downloaded image into @rev (9 bytes): an image that
 * starts with "NRFW" carries it in bytes 4..11 (printable ASCII, NUL or
 * space padded); any other image gets "F" and seven hex digits of its
 * FNV-1a hash. Returns false for an image with a gap or nothing in it.
 */
static bool fw_image_revision(const struct sim_fw *fw, char *rev)
{
	uint32_t hash = 2166136261u, dwords = fw->image_end / 4;
	size_t len = 0;

	if (!dwords)
		return false;
	for (uint32_t d = 0; d < dwords; d++) {
		if (!(fw->loaded[d / 8] & (1u << (d % 8))))
			return false;
	}
	if (fw->image_end >= 12 && !memcmp(fw->image, FW_MAGIC, 4)) {
		memcpy(rev, fw->image + 4, SIM_FW_REV_LEN);
		rev[SIM_FW_REV_LEN] = '\0';
		len = strnlen(rev, SIM_FW_REV_LEN);
		while (len && rev[len - 1] == ' ')
			rev[--len] = '\0';
		for (size_t i = 0; i < len; i++) {
			if (rev[i] < 0x20 || rev[i] > 0x7e)
				return false;
		}
		return len > 0;
	}
	for (uint32_t i = 0; i < fw->image_end; i++)
		hash = (hash ^ fw->image[i]) * 16777619u;
	snprintf(rev, SIM_FW_REV_LEN + 1, "F%07x", hash & 0xfffffffu);
	return true;
}

/* The slot a replace action writes: FS, or for FS 0 the first writable slot
 * that is not running; 0 when there is none (slot 1 is read-only). */
static unsigned fw_replace_slot(const struct sim_fw *fw, unsigned fs)
{
	if (fs)
		return fs == 1 ? 0 : fs;
	for (unsigned s = 2; s <= fw->nr_slots; s++) {
		if (s != fw->active)
			return s;
	}
	return 0;
}

static void fw_activate(struct nr_sim_ctrl *ctrl, unsigned slot)
{
	struct sim_fw *fw = &ctrl->fw;

	fw->active = (uint8_t)slot;
	fw->next = 0;
	memcpy(ctrl->fr, fw->slot[slot - 1], sizeof(ctrl->fr));
	ctrl->tel_ctrl_gen++; /* the new firmware captures controller telemetry */
	ctrl->tel_ctrl_avail = 1;
}

static void fw_event(struct nr_sim_ctrl *ctrl, const char *old_fr, unsigned ca, unsigned slot)
{
	struct nvme_fw_commit_event ev = {0};

	memcpy(&ev.old_fw_rev, old_fr, strnlen(old_fr, 8));
	memcpy(&ev.new_fw_rev, ctrl->fw.slot[slot - 1], strnlen(ctrl->fw.slot[slot - 1], 8));
	ev.fw_commit_action = (uint8_t)ca;
	ev.fw_slot = (uint8_t)slot;
	sim_pel_add(ctrl, NVME_PEL_FW_COMMIT_EVENT, &ev, sizeof(ev));
}

/* Replace actions: checks the slot and the image, stores the image's
 * revision in the slot; returns a status and the slot in @slot. */
static uint16_t fw_replace(struct nr_sim_ctrl *ctrl, unsigned fs, unsigned *slot)
{
	struct sim_fw *fw = &ctrl->fw;
	char rev[SIM_FW_REV_LEN + 1];

	*slot = fw_replace_slot(fw, fs);
	if (!*slot)
		return cmd_specific(NVME_SC_FIRMWARE_SLOT);
	if (!fw->loaded || !fw_image_revision(fw, rev))
		return cmd_specific(NVME_SC_FIRMWARE_IMAGE);
	memcpy(fw->slot[*slot - 1], rev, sizeof(rev));
	fw_drop_download(fw);
	if (fw->next == *slot)
		fw->next = 0;
	return 0;
}

/*
 * Firmware Commit: CDW10 FS 2:0, CA 5:3 (0 replace, 1 replace and activate
 * at the next reset, 2 activate at the next reset, 3 replace and activate
 * now), BPID 31. Boot partitions are not supported (CA 6, 7: Invalid
 * Field). A slot beyond FRMW's count, or slot 1 (read-only) for a replace,
 * is Invalid Firmware Slot; a missing or gapped image, or activating an
 * empty slot, Invalid Firmware Image.
 */
int sim_fw_commit(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	struct sim_fw *fw = &ctrl->fw;
	unsigned fs = cmd->sqe.cdw10 & 0x7u, ca = (cmd->sqe.cdw10 >> 3) & 0x7u, slot = fs;
	char old_fr[sizeof(ctrl->fr)];

	memcpy(old_fr, ctrl->fr, sizeof(old_fr));
	if (ca > FW_CA_REPLACE_ACTIVATE_NOW)
		cmd->status = sim_field_error(ctrl, 40, 3);
	else if (fs > fw->nr_slots || (ca == FW_CA_ACTIVATE && !fs))
		cmd->status = cmd_specific(NVME_SC_FIRMWARE_SLOT);
	else if (ca == FW_CA_ACTIVATE && !fw->slot[fs - 1][0])
		cmd->status = cmd_specific(NVME_SC_FIRMWARE_IMAGE);
	else if (ca != FW_CA_ACTIVATE)
		cmd->status = fw_replace(ctrl, fs, &slot);
	if (cmd->status)
		return 0;
	if (ca == FW_CA_REPLACE_ACTIVATE || ca == FW_CA_ACTIVATE)
		fw->next = (uint8_t)slot;
	else if (ca == FW_CA_REPLACE_ACTIVATE_NOW)
		fw_activate(ctrl, slot);
	fw_event(ctrl, old_fr, ca, slot);
	return 0;
}

/* At a controller reset: a pending activation takes effect, a partial
 * download is dropped. Returns whether firmware was activated. */
bool sim_fw_reset(struct nr_sim_ctrl *ctrl)
{
	struct sim_fw *fw = &ctrl->fw;
	bool activate = fw->next != 0;

	fw_drop_download(fw);
	if (activate)
		fw_activate(ctrl, fw->next);
	return activate;
}
