/* SPDX-License-Identifier: MIT */
/*
 * Zoned namespaces of the simulator: zone state (one byte of state and four
 * bytes of write pointer offset per zone, no data), zone descriptor
 * extensions (allocated per chunk of zones, only once one is set), Zone
 * Management Receive (Report Zones, Extended Report Zones) and Zone
 * Management Send (the ZNS zone state machine with its open and active
 * resource limits, Set Zone Descriptor Extension). Every function here runs with the
 * subsystem lock held, or on a subsystem not yet shared.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libnvme.h>

#include "backends/sim/sim_int.h"

#define ZONE_SELECT_ALL (1u << 8)
#define ZONE_PARTIAL_REPORT (1u << 16)
#define ZONE_WP_INVALID UINT64_MAX
#define SIM_APPEND_MAX_BYTES (4096u << 7) /* MDTS 7 with 4 KiB pages */
#define ZONE_DESC_BYTES 64u
#define ZONE_ZA_ZDEV 0x80u /* Zone Attributes: Zone Descriptor Extension Valid */

/* Extensions of SIM_ZEXT_CHUNK consecutive zones: a ZDEV bit and ext_bytes
 * of data each. */
struct sim_zext_chunk {
	uint8_t valid[SIM_ZEXT_CHUNK / 8];
	uint8_t data[];
};

static const uint8_t zs_codes[SIM_Z_COUNT] = {
    [SIM_Z_EMPTY] = NR_ZS_EMPTY,	 [SIM_Z_IMPL_OPEN] = NR_ZS_IMPL_OPEN,
    [SIM_Z_EXPL_OPEN] = NR_ZS_EXPL_OPEN, [SIM_Z_CLOSED] = NR_ZS_CLOSED,
    [SIM_Z_READ_ONLY] = NR_ZS_READ_ONLY, [SIM_Z_FULL] = NR_ZS_FULL,
    [SIM_Z_OFFLINE] = NR_ZS_OFFLINE,
};

/* Report filter (ZRASF) to the stored state; -1 reports every zone. */
static const int8_t zrasf_states[8] = {
    [NR_ZRASF_ALL] = -1,
    [NR_ZRASF_EMPTY] = SIM_Z_EMPTY,
    [NR_ZRASF_IMPL_OPEN] = SIM_Z_IMPL_OPEN,
    [NR_ZRASF_EXPL_OPEN] = SIM_Z_EXPL_OPEN,
    [NR_ZRASF_CLOSED] = SIM_Z_CLOSED,
    [NR_ZRASF_FULL] = SIM_Z_FULL,
    [NR_ZRASF_READ_ONLY] = SIM_Z_READ_ONLY,
    [NR_ZRASF_OFFLINE] = SIM_Z_OFFLINE,
};

uint8_t sim_zs_code(enum sim_zone state)
{
	return zs_codes[state];
}

/*
 * Gives @ns a zone array with every zone empty. calloc keeps creation cheap:
 * SIM_Z_EMPTY is 0, so untouched pages are never written. Returns 0 or
 * -ENOMEM.
 */
int sim_zoned_alloc(struct sim_ns *ns, uint64_t zone_size, uint64_t zone_cap, uint32_t nr_zones,
		    uint32_t max_open, uint32_t max_active, uint32_t zdes)
{
	struct sim_zoned *zoned = calloc(1, sizeof(*zoned));

	if (!zoned)
		return -ENOMEM;
	zoned->state = calloc(nr_zones, sizeof(*zoned->state));
	zoned->wp = calloc(nr_zones, sizeof(*zoned->wp));
	zoned->ext_bytes = zdes * ZONE_DESC_BYTES;
	if (zdes)
		zoned->ext =
		    calloc((nr_zones + SIM_ZEXT_CHUNK - 1) / SIM_ZEXT_CHUNK, sizeof(*zoned->ext));
	if (!zoned->state || !zoned->wp || (zdes && !zoned->ext)) {
		sim_zoned_free(zoned);
		return -ENOMEM;
	}
	zoned->zone_size = zone_size;
	zoned->zone_cap = zone_cap;
	zoned->nr_zones = nr_zones;
	zoned->max_open = max_open;
	zoned->max_active = max_active;
	zoned->count[SIM_Z_EMPTY] = nr_zones;
	ns->zoned = zoned;
	return 0;
}

void sim_zoned_free(struct sim_zoned *zoned)
{
	if (!zoned)
		return;
	for (uint32_t c = 0; zoned->ext && c * SIM_ZEXT_CHUNK < zoned->nr_zones; c++)
		free(zoned->ext[c]);
	free(zoned->ext);
	free(zoned->state);
	free(zoned->wp);
	free(zoned);
}

/* The chunk holding @zone's extension, NULL when none was ever set there. */
static struct sim_zext_chunk *zext_chunk(const struct sim_zoned *zoned, uint32_t zone)
{
	return zoned->ext ? zoned->ext[zone / SIM_ZEXT_CHUNK] : NULL;
}

/* Whether @zone's descriptor extension is valid (ZDEV). */
static bool zone_zdev(const struct sim_zoned *zoned, uint32_t zone)
{
	const struct sim_zext_chunk *chunk = zext_chunk(zoned, zone);
	uint32_t i = zone % SIM_ZEXT_CHUNK;

	return chunk && (chunk->valid[i / 8] >> (i % 8) & 1u);
}

/* @zone's extension bytes, NULL when its chunk was never allocated. */
static uint8_t *zext_data(const struct sim_zoned *zoned, uint32_t zone)
{
	struct sim_zext_chunk *chunk = zext_chunk(zoned, zone);

	return chunk ? chunk->data + (size_t)(zone % SIM_ZEXT_CHUNK) * zoned->ext_bytes : NULL;
}

/* Clears ZDEV and the extension data of @zone (the zone became empty). */
static void zext_clear(struct sim_zoned *zoned, uint32_t zone)
{
	struct sim_zext_chunk *chunk = zext_chunk(zoned, zone);
	uint32_t i = zone % SIM_ZEXT_CHUNK;

	if (!chunk || !(chunk->valid[i / 8] >> (i % 8) & 1u))
		return;
	chunk->valid[i / 8] &= (uint8_t) ~(1u << (i % 8));
	memset(zext_data(zoned, zone), 0, zoned->ext_bytes);
}

/* Stores @data as @zone's extension and sets ZDEV, allocating the zone's
 * chunk on first use. Returns 0 or -ENOMEM. */
static int zext_store(struct sim_zoned *zoned, uint32_t zone, const uint8_t *data)
{
	struct sim_zext_chunk **chunk = &zoned->ext[zone / SIM_ZEXT_CHUNK];
	uint32_t i = zone % SIM_ZEXT_CHUNK;

	if (!*chunk) {
		*chunk = calloc(1, sizeof(**chunk) + (size_t)SIM_ZEXT_CHUNK * zoned->ext_bytes);
		if (!*chunk)
			return -ENOMEM;
	}
	(*chunk)->valid[i / 8] |= (uint8_t)(1u << (i % 8));
	memcpy(zext_data(zoned, zone), data, zoned->ext_bytes);
	return 0;
}

/* Moves @zone to @state with write pointer offset @wp, keeping the per-state
 * counts that the resource checks and filtered counts use. */
void sim_zone_set(struct sim_zoned *zoned, uint32_t zone, enum sim_zone state, uint32_t wp)
{
	if (state == SIM_Z_EMPTY && zoned->ext)
		zext_clear(zoned, zone);
	zoned->count[zoned->state[zone]]--;
	zoned->count[state]++;
	zoned->state[zone] = (uint8_t)state;
	zoned->wp[zone] = wp;
}

static uint32_t open_zones(const struct sim_zoned *zoned)
{
	return zoned->count[SIM_Z_IMPL_OPEN] + zoned->count[SIM_Z_EXPL_OPEN];
}

static uint32_t active_zones(const struct sim_zoned *zoned)
{
	return open_zones(zoned) + zoned->count[SIM_Z_CLOSED];
}

/* Full, read-only and offline zones have no valid write pointer; like QEMU
 * the descriptor then holds all ones. */
static uint64_t zone_wp(const struct sim_zoned *zoned, uint32_t zone, uint64_t zslba)
{
	switch (zoned->state[zone]) {
	case SIM_Z_FULL:
	case SIM_Z_READ_ONLY:
	case SIM_Z_OFFLINE:
		return ZONE_WP_INVALID;
	default:
		return zslba + zoned->wp[zone];
	}
}

static void desc_fill(const struct sim_zoned *zoned, uint32_t zone, struct nvme_zns_desc *desc)
{
	uint64_t zslba = (uint64_t)zone * zoned->zone_size;

	memset(desc, 0, sizeof(*desc));
	desc->zt = NVME_ZONE_TYPE_SEQWRITE_REQ;
	desc->zs = (uint8_t)(zs_codes[zoned->state[zone]] << 4);
	desc->zcap = htole64(zoned->zone_cap);
	desc->zslba = htole64(zslba);
	desc->wp = htole64(zone_wp(zoned, zone, zslba));
	desc->za = zone_zdev(zoned, zone) ? ZONE_ZA_ZDEV : 0;
}

/* One report entry: the descriptor, then with @ext its extension (zeroes
 * while ZDEV is clear). Returns the entry's size. */
static uint32_t entry_fill(const struct sim_zoned *zoned, uint32_t zone, bool ext, uint8_t *entry)
{
	const uint8_t *data = ext ? zext_data(zoned, zone) : NULL;

	desc_fill(zoned, zone, (struct nvme_zns_desc *)entry);
	if (!ext)
		return ZONE_DESC_BYTES;
	if (data)
		memcpy(entry + ZONE_DESC_BYTES, data, zoned->ext_bytes);
	else
		memset(entry + ZONE_DESC_BYTES, 0, zoned->ext_bytes);
	return ZONE_DESC_BYTES + zoned->ext_bytes;
}

/* Index of the first zone at or after @zone in @state (any when < 0), or
 * nr_zones when there is none. */
static uint32_t next_match(const struct sim_zoned *zoned, uint32_t zone, int state)
{
	const uint8_t *hit;

	if (state < 0 || zone >= zoned->nr_zones)
		return zone < zoned->nr_zones ? zone : zoned->nr_zones;
	hit = memchr(zoned->state + zone, state, zoned->nr_zones - zone);
	return hit ? (uint32_t)(hit - zoned->state) : zoned->nr_zones;
}

static uint32_t count_range(const struct sim_zoned *zoned, uint32_t from, uint32_t to, int state)
{
	uint32_t n = 0;

	for (uint32_t z = from; z < to; z++)
		n += zoned->state[z] == state;
	return n;
}

/* Zones from @first to the end matching @state: O(1) for the unfiltered
 * case, otherwise a scan of the shorter side of @first. */
static uint64_t count_matching(const struct sim_zoned *zoned, uint32_t first, int state)
{
	if (state < 0)
		return zoned->nr_zones - first;
	if (first < zoned->nr_zones / 2)
		return zoned->count[state] - count_range(zoned, 0, first, state);
	return count_range(zoned, first, zoned->nr_zones, state);
}

/*
 * Writes matching entries (descriptors, with @ext followed by extensions)
 * after the 64-byte header into @buf of @len bytes. An entry that only
 * partly fits is transferred partly, as a controller filling a short buffer
 * would; only whole ones are counted. Returns the number of whole entries
 * written.
 */
static uint64_t report_fill(const struct sim_zoned *zoned, uint32_t first, int state, bool ext,
			    uint8_t *buf, uint64_t len)
{
	uint8_t entry[ZONE_DESC_BYTES * (1 + SIM_ZDES_MAX)];
	uint64_t at = sizeof(struct nvme_zone_report), n = 0;
	uint32_t zone = next_match(zoned, first, state), size;

	while (zone < zoned->nr_zones && at < len) {
		size = entry_fill(zoned, zone, ext, entry);
		if (len - at < size) {
			memcpy(buf + at, entry, (size_t)(len - at));
			return n;
		}
		memcpy(buf + at, entry, size);
		at += size;
		n++;
		zone = next_match(zoned, zone + 1, state);
	}
	if (at < len)
		memset(buf + at, 0, (size_t)(len - at));
	return n;
}

static uint16_t recv_check(const struct sim_ns *ns, const struct nr_cmd *cmd, uint64_t slba)
{
	uint32_t zra = cmd->sqe.cdw13 & 0xffu, zrasf = (cmd->sqe.cdw13 >> 8) & 0xffu;

	/* Without zone descriptor extensions (ZDES 0) Extended Report is
	 * invalid, as in QEMU. */
	if ((zra != NR_ZRA_REPORT && zra != NR_ZRA_EXT_REPORT) ||
	    (zra == NR_ZRA_EXT_REPORT && !ns->zoned->ext_bytes) || zrasf >= sizeof(zrasf_states))
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	if (slba >= ns->blocks)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_LBA_RANGE);
	return 0;
}

/*
 * Zone Management Receive, Report Zones and Extended Report Zones (each
 * descriptor followed by its extension). The header's Number of Zones is,
 * with Partial Report, the descriptors in this buffer; without it, every
 * zone matching the filter from the zone holding SLBA to the end. Returns 0
 * with cmd->status set, or -EINVAL when the buffer cannot hold NUMD + 1
 * dwords.
 */
int sim_zone_recv(struct nr_sim_ctrl *ctrl, struct sim_ns *ns, struct nr_cmd *cmd)
{
	const struct sim_zoned *zoned = ns->zoned;
	uint64_t slba = (uint64_t)cmd->sqe.cdw11 << 32 | cmd->sqe.cdw10;
	uint64_t len = ((uint64_t)cmd->sqe.cdw12 + 1) * 4, nr;
	struct nvme_zone_report head = {0};
	uint32_t first;
	int state, rc = sim_xfer_check(cmd, len);

	if (rc)
		return rc;
	cmd->status = recv_check(ns, cmd, slba);
	if (cmd->status)
		return 0;
	state = zrasf_states[(cmd->sqe.cdw13 >> 8) & 0xffu];
	first = (uint32_t)(slba / zoned->zone_size);
	nr = report_fill(zoned, first, state, (cmd->sqe.cdw13 & 0xffu) == NR_ZRA_EXT_REPORT,
			 cmd->data, len);
	if (!(cmd->sqe.cdw13 & ZONE_PARTIAL_REPORT))
		nr = count_matching(zoned, first, state);
	head.nr_zones = htole64(nr);
	memcpy(cmd->data, &head, len < sizeof(head) ? (size_t)len : sizeof(head));
	return 0;
}

static uint16_t zone_invalid_transition(void)
{
	return sim_error(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZNS_INVAL_TRANSITION);
}

/* Room for one more active zone, and for one more open zone when @open. */
static uint16_t zone_resources(const struct sim_zoned *zoned, bool active, bool open)
{
	if (active && zoned->max_active && active_zones(zoned) >= zoned->max_active)
		return sim_error(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZNS_TOO_MANY_ACTIVE);
	if (open && zoned->max_open && open_zones(zoned) >= zoned->max_open)
		return sim_error(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZNS_TOO_MANY_OPENS);
	return 0;
}

/* Close: open -> closed; a zone with nothing written and no valid
 * extension goes back to empty (ZNS state machine; null_blk and QEMU do the
 * same), closed stays closed. */
static uint16_t zone_close(struct sim_zoned *zoned, uint32_t zone)
{
	uint32_t wp = zoned->wp[zone];

	switch (zoned->state[zone]) {
	case SIM_Z_IMPL_OPEN:
	case SIM_Z_EXPL_OPEN:
		sim_zone_set(zoned, zone, wp || zone_zdev(zoned, zone) ? SIM_Z_CLOSED : SIM_Z_EMPTY,
			     wp);
		return 0;
	case SIM_Z_CLOSED:
		return 0;
	default:
		return zone_invalid_transition();
	}
}

/* Finish: empty, open and closed -> full. An empty zone needs an active
 * resource for the transition, as in QEMU. */
static uint16_t zone_finish(struct sim_zoned *zoned, uint32_t zone)
{
	uint16_t status;

	switch (zoned->state[zone]) {
	case SIM_Z_EMPTY:
		status = zone_resources(zoned, true, false);
		if (status)
			return status;
		/* fall through */
	case SIM_Z_IMPL_OPEN:
	case SIM_Z_EXPL_OPEN:
	case SIM_Z_CLOSED:
		sim_zone_set(zoned, zone, SIM_Z_FULL, (uint32_t)zoned->zone_cap);
		return 0;
	case SIM_Z_FULL:
		return 0;
	default:
		return zone_invalid_transition();
	}
}

/* Open: empty (needs active + open), closed (needs open) and implicitly open
 * -> explicitly open. No implicitly open zone is closed to make room. */
static uint16_t zone_open(struct sim_zoned *zoned, uint32_t zone)
{
	enum sim_zone state = zoned->state[zone];
	uint16_t status;

	switch (state) {
	case SIM_Z_EMPTY:
	case SIM_Z_CLOSED:
		status = zone_resources(zoned, state == SIM_Z_EMPTY, true);
		if (status)
			return status;
		/* fall through */
	case SIM_Z_IMPL_OPEN:
		sim_zone_set(zoned, zone, SIM_Z_EXPL_OPEN, zoned->wp[zone]);
		return 0;
	case SIM_Z_EXPL_OPEN:
		return 0;
	default:
		return zone_invalid_transition();
	}
}

/* Reset: open, closed and full -> empty with the write pointer at ZSLBA. */
static uint16_t zone_reset(struct sim_zoned *zoned, uint32_t zone)
{
	switch (zoned->state[zone]) {
	case SIM_Z_IMPL_OPEN:
	case SIM_Z_EXPL_OPEN:
	case SIM_Z_CLOSED:
	case SIM_Z_FULL:
		sim_zone_set(zoned, zone, SIM_Z_EMPTY, 0);
		return 0;
	case SIM_Z_EMPTY:
		return 0;
	default:
		return zone_invalid_transition();
	}
}

/* Offline: only a read-only zone may be taken offline. */
static uint16_t zone_offline(struct sim_zoned *zoned, uint32_t zone)
{
	switch (zoned->state[zone]) {
	case SIM_Z_READ_ONLY:
		sim_zone_set(zoned, zone, SIM_Z_OFFLINE, 0);
		return 0;
	case SIM_Z_OFFLINE:
		return 0;
	default:
		return zone_invalid_transition();
	}
}

#define ZBIT(state) (1u << (state))

struct zone_action {
	uint16_t (*apply)(struct sim_zoned *zoned, uint32_t zone);
	uint32_t select_all; /* ZBIT mask of the states Select All acts on */
};

static const struct zone_action zone_actions[256] = {
    [NR_ZSA_CLOSE] = {zone_close, ZBIT(SIM_Z_IMPL_OPEN) | ZBIT(SIM_Z_EXPL_OPEN)},
    [NR_ZSA_FINISH] = {zone_finish,
		       ZBIT(SIM_Z_IMPL_OPEN) | ZBIT(SIM_Z_EXPL_OPEN) | ZBIT(SIM_Z_CLOSED)},
    [NR_ZSA_OPEN] = {zone_open, ZBIT(SIM_Z_CLOSED)},
    [NR_ZSA_RESET] = {zone_reset, ZBIT(SIM_Z_IMPL_OPEN) | ZBIT(SIM_Z_EXPL_OPEN) |
				      ZBIT(SIM_Z_CLOSED) | ZBIT(SIM_Z_FULL)},
    [NR_ZSA_OFFLINE] = {zone_offline, ZBIT(SIM_Z_READ_ONLY)},
};

/*
 * Select All: applies the action to every zone in one of its states. Open is
 * all or nothing: if the closed zones do not all fit under the open limit,
 * nothing changes and the status is Too Many Open Zones. The other actions
 * only release resources, so they cannot fail part way.
 */
static uint16_t zone_send_all(struct sim_zoned *zoned, const struct zone_action *action)
{
	uint32_t pending = 0;

	for (unsigned s = 0; s < SIM_Z_COUNT; s++)
		pending += action->select_all & ZBIT(s) ? zoned->count[s] : 0;
	if (action->apply == zone_open && zoned->max_open &&
	    open_zones(zoned) + pending > zoned->max_open)
		return sim_error(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZNS_TOO_MANY_OPENS);
	for (uint32_t z = 0; pending && z < zoned->nr_zones; z++) {
		if (action->select_all & ZBIT(zoned->state[z])) {
			action->apply(zoned, z);
			pending--;
		}
	}
	return 0;
}

/* Zone and extension checks of Set Zone Descriptor Extension, whose data
 * has been checked to be there. Returns a status. */
static uint16_t set_ext_check(const struct sim_ns *ns, const struct nr_cmd *cmd, uint64_t slba)
{
	const struct sim_zoned *zoned = ns->zoned;

	if (!zoned->ext_bytes || cmd->sqe.cdw13 & ZONE_SELECT_ALL)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	if (slba >= ns->blocks)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_LBA_RANGE);
	if (slba % zoned->zone_size)
		return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	if (zoned->state[slba / zoned->zone_size] != SIM_Z_EMPTY)
		return zone_invalid_transition();
	return zone_resources(zoned, true, false);
}

/*
 * Set Zone Descriptor Extension (ZSA 10h): the data (ZDES * 64 bytes) becomes
 * the extension of the empty zone at SLBA, which turns closed with ZDEV set
 * and so takes an active resource. Select All is invalid for it and so is a
 * namespace without extensions (Invalid Field, as QEMU). Returns 0 with
 * cmd->status set, -EINVAL when the buffer is short, -ENOMEM.
 */
static int zone_set_ext(struct sim_ns *ns, struct nr_cmd *cmd, uint64_t slba)
{
	struct sim_zoned *zoned = ns->zoned;
	uint32_t zone;
	int rc = sim_xfer_in_check(cmd, zoned->ext_bytes);

	if (rc && zoned->ext_bytes)
		return rc;
	cmd->status = set_ext_check(ns, cmd, slba);
	if (cmd->status)
		return 0;
	zone = (uint32_t)(slba / zoned->zone_size);
	rc = zext_store(zoned, zone, cmd->data);
	if (rc)
		return rc;
	sim_zone_set(zoned, zone, SIM_Z_CLOSED, 0);
	return 0;
}

/*
 * Zone Management Send. Without Select All, SLBA must be the first LBA of a
 * zone (Invalid Field in Command otherwise; LBA Out of Range past the end).
 * A write-protected namespace refuses every action. Returns 0 with
 * cmd->status set, or an error of Set Zone Descriptor Extension.
 */
int sim_zone_send(struct nr_sim_ctrl *ctrl, struct sim_ns *ns, struct nr_cmd *cmd)
{
	struct sim_zoned *zoned = ns->zoned;
	const struct zone_action *action = &zone_actions[cmd->sqe.cdw13 & 0xffu];
	uint64_t slba = (uint64_t)cmd->sqe.cdw11 << 32 | cmd->sqe.cdw10;

	if (ns->wps != SIM_WPS_NONE)
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_NS_WRITE_PROTECTED);
	else if ((cmd->sqe.cdw13 & 0xffu) == NR_ZSA_SET_DESC_EXT)
		return zone_set_ext(ns, cmd, slba);
	else if (!action->apply)
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	else if (cmd->sqe.cdw13 & ZONE_SELECT_ALL)
		cmd->status = zone_send_all(zoned, action);
	else if (slba >= ns->blocks)
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_LBA_RANGE);
	else if (slba % zoned->zone_size)
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	else
		cmd->status = action->apply(zoned, (uint32_t)(slba / zoned->zone_size));
	return 0;
}

/* Empties every zone (Format NVM, sanitize): write pointers back to ZSLBA;
 * read-only and offline zones stay as they are. */
void sim_zones_reset_all(struct sim_zoned *zoned)
{
	for (uint32_t z = 0; z < zoned->nr_zones; z++) {
		if (zoned->state[z] != SIM_Z_EMPTY && zoned->state[z] != SIM_Z_READ_ONLY &&
		    zoned->state[z] != SIM_Z_OFFLINE)
			sim_zone_set(zoned, z, SIM_Z_EMPTY, 0);
	}
}

/* Makes room for an implicit open when the open limit is reached by closing
 * an implicitly open zone, as the ZNS specification lets a controller do.
 * Returns a status. */
static uint16_t append_open(struct sim_zoned *zoned, uint32_t zone)
{
	enum sim_zone state = zoned->state[zone];
	uint16_t status;

	if (state == SIM_Z_IMPL_OPEN || state == SIM_Z_EXPL_OPEN)
		return 0;
	status = zone_resources(zoned, state == SIM_Z_EMPTY, false);
	if (status)
		return status;
	if (zoned->max_open && open_zones(zoned) >= zoned->max_open) {
		uint32_t victim = next_match(zoned, 0, SIM_Z_IMPL_OPEN);

		if (victim == zoned->nr_zones)
			return sim_error(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZNS_TOO_MANY_OPENS);
		zone_close(zoned, victim);
	}
	sim_zone_set(zoned, zone, SIM_Z_IMPL_OPEN, zoned->wp[zone]);
	return 0;
}

static uint16_t append_state(const struct sim_zoned *zoned, uint32_t zone)
{
	switch (zoned->state[zone]) {
	case SIM_Z_FULL:
		return sim_error(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZNS_FULL);
	case SIM_Z_READ_ONLY:
		return sim_error(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZNS_READ_ONLY);
	case SIM_Z_OFFLINE:
		return sim_error(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZNS_OFFLINE);
	default:
		return 0;
	}
}

/*
 * Zone Append: CDW10/11 ZSLBA (a zone's first LBA), CDW12 NLB 15:0 (0-based).
 * The data (NLB + 1 blocks, at most MDTS since ZASL is 0) is discarded; the
 * write pointer advances and the LBA written first is returned in CQE
 * dwords 0 and 1. An empty or closed zone opens implicitly; a zone reaching
 * its capacity becomes full. Returns 0 with cmd->status set, or -EINVAL when
 * the buffer cannot hold the data.
 */
int sim_zone_append(struct nr_sim_ctrl *ctrl, struct sim_ns *ns, struct nr_cmd *cmd)
{
	struct sim_zoned *zoned = ns->zoned;
	uint64_t zslba = (uint64_t)cmd->sqe.cdw11 << 32 | cmd->sqe.cdw10, lba;
	uint32_t nlb = (cmd->sqe.cdw12 & 0xffffu) + 1, zone;
	int rc = sim_xfer_in_check(cmd, (uint64_t)nlb << ns->lbads);

	if (rc)
		return rc;
	ctrl->err_lba = zslba;
	if (ns->wps != SIM_WPS_NONE)
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_NS_WRITE_PROTECTED);
	else if (zslba >= ns->blocks)
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_LBA_RANGE);
	else if (zslba % zoned->zone_size || ((uint64_t)nlb << ns->lbads) > SIM_APPEND_MAX_BYTES)
		cmd->status = sim_field_error(ctrl, zslba % zoned->zone_size ? 40 : 48, 0);
	if (cmd->status)
		return 0;
	zone = (uint32_t)(zslba / zoned->zone_size);
	cmd->status = append_state(zoned, zone);
	if (!cmd->status && zoned->wp[zone] + (uint64_t)nlb > zoned->zone_cap)
		cmd->status = sim_error(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZNS_BOUNDARY_ERROR);
	if (!cmd->status)
		cmd->status = append_open(zoned, zone);
	if (cmd->status)
		return 0;
	lba = zslba + zoned->wp[zone];
	zoned->wp[zone] += nlb;
	if (zoned->wp[zone] == zoned->zone_cap)
		sim_zone_set(zoned, zone, SIM_Z_FULL, zoned->wp[zone]);
	ctrl->stats.units_written += ((uint64_t)nlb << ns->lbads) / 512u;
	cmd->result = (uint32_t)lba;
	cmd->result_hi = (uint32_t)(lba >> 32);
	return 0;
}
