/* SPDX-License-Identifier: MIT */
/*
 * The simulated controller: lifecycle, command dispatch, the checks every
 * command goes through (sanitize in progress, error logging, accounting) and
 * controller reset. Data structures are produced byte for byte as the NVMe
 * Base Specification 2.0 and the ZNS Command Set Specification 1.1 lay them
 * out, in little-endian order, using libnvme's structure definitions.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/sim/sim_int.h"

#define SIM_IEEE_OUI 0x525400u

/* Controller-to-host buffer of at least @need bytes, or -EINVAL: a buffer
 * description that cannot hold the transfer is a host bug, not a status. */
int sim_xfer_check(const struct nr_cmd *cmd, uint64_t need)
{
	if (cmd->xfer != NR_XFER_FROM_DEV || !cmd->data || cmd->data_len < need)
		return -EINVAL;
	return 0;
}

/* Host-to-controller buffer of at least @need bytes, or -EINVAL. */
int sim_xfer_in_check(const struct nr_cmd *cmd, uint64_t need)
{
	if (cmd->xfer != NR_XFER_TO_DEV || !cmd->data || cmd->data_len < need)
		return -EINVAL;
	return 0;
}

/* Every status the simulator returns is deterministic, so DNR is set. */
uint16_t sim_error(uint8_t sct, uint8_t sc)
{
	return NR_STATUS(sct, sc) | NVME_SC_DNR;
}

/* Invalid Field in Command, remembering the offending SQE byte and bit for
 * the Error Information log. */
uint16_t sim_field_error(struct nr_sim_ctrl *ctrl, uint8_t byte, uint8_t bit)
{
	ctrl->err_param = SIM_PARAM(byte, bit);
	return sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
}

uint64_t sim_now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

/* Power-on hours since the simulator was built. */
uint64_t sim_poh(const struct nr_sim_ctrl *ctrl)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - ctrl->born.tv_sec) / 3600u;
}

/* Copies @src into a space-padded ASCII field of @len bytes. */
void sim_pad_copy(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len);

	memcpy(dst, src, n);
	memset(dst + n, ' ', len - n);
}

void sim_le128_put(uint8_t out[16], uint64_t lo, uint64_t hi)
{
	uint64_t lo_le = htole64(lo), hi_le = htole64(hi);

	memcpy(out, &lo_le, 8);
	memcpy(out + 8, &hi_le, 8);
}

static int ns_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct sim_ns *)a)->nsid, y = ((const struct sim_ns *)b)->nsid;

	return x < y ? -1 : x > y;
}

/* Returns the allocated namespace @nsid or NULL. Caller holds the lock or
 * owns the subsystem exclusively. */
struct sim_ns *sim_ns_find(struct sim_subsys *subsys, uint32_t nsid)
{
	struct sim_ns key = {.nsid = nsid};

	return bsearch(&key, subsys->ns, subsys->nr_ns, sizeof(key), ns_cmp);
}

/* Returns namespace @nsid when it is attached to @ctrl (active), or NULL. */
struct sim_ns *sim_ns_active(struct nr_sim_ctrl *ctrl, uint32_t nsid)
{
	struct sim_ns *ns = sim_ns_find(ctrl->subsys, nsid);

	return ns && ns->attached & (1ull << ctrl->slot) ? ns : NULL;
}

/* A valid NSID names a namespace the controller could have (1..NN), active
 * or not; 0 and the broadcast value are not valid here. */
bool sim_nsid_valid(const struct sim_subsys *subsys, uint32_t nsid)
{
	return nsid >= 1 && nsid <= subsys->nn;
}

uint64_t sim_allocated_bytes(const struct sim_subsys *subsys)
{
	uint64_t total = 0;

	for (size_t i = 0; i < subsys->nr_ns; i++)
		total += subsys->ns[i].bytes;
	return total;
}

/* Adds @nsid to the controller's Changed Namespace List once. */
void sim_changed_ns(struct nr_sim_ctrl *ctrl, uint32_t nsid)
{
	uint32_t n = ctrl->nr_changed_ns;

	for (uint32_t i = 0; i < n && i < SIM_CHANGED_NS_MAX; i++) {
		if (ctrl->changed_ns[i] == nsid)
			return;
	}
	if (n < SIM_CHANGED_NS_MAX)
		ctrl->changed_ns[n] = nsid;
	if (n <= SIM_CHANGED_NS_MAX)
		ctrl->nr_changed_ns = n + 1;
}

/* Records a change of @nsid on every controller in @ctrl_mask. */
void sim_changed_ns_all(struct sim_subsys *subsys, uint64_t ctrl_mask, uint32_t nsid)
{
	for (size_t i = 0; i < subsys->nr_ctrls; i++) {
		if (ctrl_mask & (1ull << i))
			sim_changed_ns(&subsys->ctrls[i], nsid);
	}
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
	for (size_t i = 0; i < nr_ctrls; i++)
		pthread_mutex_init(&sim->ctrls[i].fault_lock, NULL);
	sim->nr_subsys = nr_subsys;
	sim->nr_ctrls = nr_ctrls;
	*out = sim;
	return 0;
}

/* Derives the namespace's EUI-64 and NGUID from the subsystem position and
 * the NSID so they are unique within a description and stable across runs;
 * a namespace created at run time carries its creation number in the NGUID
 * instead, so an NSID reused after a delete gets a new one. Also sets the
 * LBA formats and the namespace-specific feature defaults. */
int sim_ns_init(struct sim_subsys *subsys, struct sim_ns *ns)
{
	uint32_t nsid_be = htobe32(ns->nsid), serial_be = htobe32(subsys->ns_serial);

	sim_lbaf_init(ns, ns->lba_size);
	ns->bytes = ns->blocks << ns->lbads;
	ns->eui64[0] = (uint8_t)(SIM_IEEE_OUI >> 16);
	ns->eui64[1] = (uint8_t)(SIM_IEEE_OUI >> 8);
	ns->eui64[2] = (uint8_t)SIM_IEEE_OUI;
	ns->eui64[3] = (uint8_t)subsys->index;
	memcpy(&ns->eui64[4], &nsid_be, 4);
	memcpy(ns->nguid, "nvmerpcd", 8);
	if (subsys->ns_serial)
		memcpy(&ns->nguid[4], &serial_be, 4);
	memcpy(&ns->nguid[8], ns->eui64, 8);
	sim_ns_feats_default(ns);
	return 0;
}

static void ctrl_init(struct nr_sim_ctrl *ctrl, uint32_t slot, const struct timespec *now)
{
	ctrl->slot = slot;
	ctrl->born = *now;
	ctrl->ts_set_at_ms = (uint64_t)now->tv_sec * 1000u + (uint64_t)now->tv_nsec / 1000000u;
	ctrl->stats.power_cycles = 1;
	sim_feats_default(&ctrl->feat);
	ctrl->feat_saved = ctrl->feat;
	for (unsigned i = 0; i < SIM_DST_RESULTS; i++)
		ctrl->dst.results[i].dsts = NVME_ST_RESULT_NOT_USED;
	ctrl->fw.active = 1;
	memcpy(ctrl->fw.slot[0], ctrl->fr, sizeof(ctrl->fw.slot[0]));
	ctrl->tel_ctrl_gen = 1;
	ctrl->tel_ctrl_avail = 1;
}

/* Completes a subsystem: sorts namespaces, attaches them to every controller,
 * sets NN and the capacity when the description gave none. */
static int subsys_finish(struct sim_subsys *subsys)
{
	uint64_t all = subsys->nr_ctrls >= 64 ? UINT64_MAX : (1ull << subsys->nr_ctrls) - 1;
	uint64_t used = sim_allocated_bytes(subsys);

	qsort(subsys->ns, subsys->nr_ns, sizeof(*subsys->ns), ns_cmp);
	for (size_t n = 0; n < subsys->nr_ns; n++) {
		subsys->ns[n].attached = all;
		subsys->ns[n].nmic = subsys->nr_ctrls > 1 ? NVME_NS_NMIC_SHARED : 0;
	}
	subsys->nn = SIM_MIN_NN;
	if (subsys->nr_ns && subsys->ns[subsys->nr_ns - 1].nsid > subsys->nn)
		subsys->nn = subsys->ns[subsys->nr_ns - 1].nsid;
	if (subsys->capacity < used)
		subsys->capacity = used;
	subsys->pel = calloc(SIM_PEL_MAX_EVENTS, sizeof(*subsys->pel));
	return subsys->pel ? 0 : -ENOMEM;
}

/* Completes a description: subsystems, controller names and state, and a
 * power-on event in each subsystem's Persistent Event log. Returns 0 or
 * -ENOMEM. */
int sim_finish(struct nr_sim *sim)
{
	struct timespec now;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (size_t i = 0; i < sim->nr_subsys && !rc; i++)
		rc = subsys_finish(&sim->subsys[i]);
	for (size_t i = 0, slot = 0; i < sim->nr_ctrls; i++, slot++) {
		struct nr_sim_ctrl *ctrl = &sim->ctrls[i];

		if (i && ctrl->subsys != sim->ctrls[i - 1].subsys)
			slot = 0;
		snprintf(ctrl->name, sizeof(ctrl->name), "sim%u", (unsigned)i);
		ctrl_init(ctrl, (uint32_t)slot, &now);
		if (!rc)
			sim_pel_reset_event(ctrl, false);
	}
	return rc;
}

void nr_sim_free(struct nr_sim *sim)
{
	if (!sim)
		return;
	for (size_t i = 0; i < sim->nr_subsys; i++) {
		struct sim_subsys *subsys = &sim->subsys[i];

		for (size_t n = 0; n < subsys->nr_ns; n++)
			sim_ns_release(&subsys->ns[n]);
		free(subsys->ns);
		free(subsys->pel);
		pthread_mutex_destroy(&subsys->lock);
	}
	for (size_t i = 0; i < sim->nr_ctrls; i++) {
		free(sim->ctrls[i].fw.image);
		free(sim->ctrls[i].fw.loaded);
		pthread_mutex_destroy(&sim->ctrls[i].fault_lock);
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

/* Keep Alive (18h): nothing to do but answer. */
static int sim_keep_alive(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	return 0;
}

typedef int (*admin_fn)(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd);

struct admin_op {
	admin_fn fn;
	bool during_sanitize; /* allowed while a sanitize operation runs */
};

static const struct admin_op admin_ops[256] = {
    [nvme_admin_get_log_page] = {sim_get_log, true},
    [nvme_admin_identify] = {sim_identify, true},
    [nvme_admin_set_features] = {sim_set_features, true},
    [nvme_admin_get_features] = {sim_get_features, true},
    [nvme_admin_ns_mgmt] = {sim_ns_mgmt, false},
    [nvme_admin_fw_commit] = {sim_fw_commit, false},
    [nvme_admin_fw_download] = {sim_fw_download, false},
    [nvme_admin_dev_self_test] = {sim_self_test, false},
    [nvme_admin_ns_attach] = {sim_ns_attach, false},
    [nvme_admin_keep_alive] = {sim_keep_alive, true},
    [nvme_admin_format_nvm] = {sim_format, false},
    [nvme_admin_sanitize_nvm] = {sim_sanitize, false},
};

typedef int (*io_fn)(struct nr_sim_ctrl *ctrl, struct sim_ns *ns, struct nr_cmd *cmd);

/* Flush: no volatile data to write back; the broadcast NSID is accepted
 * (VWC bits 2:1 = 11b). */
static int sim_flush(struct nr_sim_ctrl *ctrl, struct sim_ns *ns, struct nr_cmd *cmd)
{
	return 0;
}

struct io_op {
	io_fn fn;
	bool zoned; /* only on a zoned namespace: Invalid Command Opcode otherwise */
};

static const struct io_op io_ops[256] = {
    [nvme_cmd_flush] = {sim_flush, false},
    [NR_IO_ZONE_MGMT_SEND] = {sim_zone_send, true},
    [NR_IO_ZONE_MGMT_RECV] = {sim_zone_recv, true},
    [nvme_zns_cmd_append] = {sim_zone_append, true},
};

static uint16_t sanitize_busy(void)
{
	return sim_error(NVME_SCT_GENERIC, NVME_SC_SANITIZE_IN_PROGRESS);
}

/* I/O commands need an active namespace; zone commands a zoned one. */
static int sim_io(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	const struct io_op *op = &io_ops[cmd->sqe.opcode];
	struct sim_ns *ns;

	if (!op->fn) {
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE);
		return 0;
	}
	if (ctrl->subsys->sanitize.running) {
		cmd->status = sanitize_busy();
		return 0;
	}
	if (op->fn == sim_flush && cmd->sqe.nsid == SIM_NSID_ALL)
		return 0;
	ns = sim_ns_active(ctrl, cmd->sqe.nsid);
	if (!ns) {
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
		return 0;
	}
	if (op->zoned && !ns->zoned) {
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE);
		return 0;
	}
	return op->fn(ctrl, ns, cmd);
}

static int sim_admin(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	const struct admin_op *op = &admin_ops[cmd->sqe.opcode];

	if (!op->fn) {
		cmd->status = sim_error(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE);
		return 0;
	}
	if (ctrl->subsys->sanitize.running && !op->during_sanitize) {
		cmd->status = sanitize_busy();
		return 0;
	}
	return op->fn(ctrl, cmd);
}

/* Counts a completed command for the SMART log. Caller holds the lock. */
static void account(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd)
{
	ctrl->stats.busy_us += ctrl->latency_us;
	if (cmd->status)
		return;
	if (cmd->xfer == NR_XFER_FROM_DEV)
		ctrl->stats.reads++;
	else if (cmd->queue == NR_QUEUE_IO && (cmd->sqe.opcode == NR_IO_ZONE_MGMT_SEND ||
					       cmd->sqe.opcode == nvme_zns_cmd_append))
		ctrl->stats.writes++;
}

/*
 * Runs on a worker thread. Faults come first (removal: -ENODEV; a hang:
 * -EINPROGRESS, the command held until sim_fault_abort; an injected status
 * replaces the command). Sleeps the controller's latency (and an injected
 * delay) outside the lock, then executes under the subsystem's mutex, so
 * commands to controllers of different subsystems run in parallel.
 * Background operations (sanitize, self-test) advance first. A command that
 * fails is recorded in the Error Information log. Returns 0 with
 * cmd->status set, or -EINVAL for a malformed command (bad queue, buffer
 * too small).
 */
int nr_sim_submit(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd)
{
	uint16_t injected;
	int rc;

	if (!ctrl || !cmd || (cmd->queue != NR_QUEUE_ADMIN && cmd->queue != NR_QUEUE_IO))
		return -EINVAL;
	rc = sim_fault_apply(ctrl, cmd, &injected);
	if (rc)
		return rc;
	if (ctrl->latency_us)
		usleep(ctrl->latency_us);
	cmd->status = 0;
	cmd->result = 0;
	cmd->result_hi = 0;
	pthread_mutex_lock(&ctrl->subsys->lock);
	sim_tick(ctrl);
	ctrl->err_param = SIM_PARAM_NONE;
	ctrl->err_lba = 0;
	cmd->status = injected;
	if (!injected)
		rc = cmd->queue == NR_QUEUE_ADMIN ? sim_admin(ctrl, cmd) : sim_io(ctrl, cmd);
	if (rc == 0) {
		account(ctrl, cmd);
		if (cmd->status)
			sim_error_record(ctrl, cmd);
	}
	pthread_mutex_unlock(&ctrl->subsys->lock);
	return rc;
}

/*
 * A Controller Level Reset as the host's reset would do it: a firmware image
 * committed for activation at reset becomes the running one, every feature
 * goes back to its saved value (the default when never saved), a device
 * self-test is aborted, a partial firmware download is dropped, and a reset
 * event is logged. A sanitize operation keeps running. Returns 0, or
 * -EINVAL for a NULL controller.
 */
int nr_sim_ctrl_reset(struct nr_sim_ctrl *ctrl)
{
	bool fw_activated;

	if (!ctrl)
		return -EINVAL;
	pthread_mutex_lock(&ctrl->subsys->lock);
	sim_tick(ctrl);
	sim_dst_abort(ctrl, NVME_ST_RESULT_CLR);
	fw_activated = sim_fw_reset(ctrl);
	sim_feats_reset(ctrl);
	ctrl->ts_base_ms = 0;
	ctrl->ts_set_at_ms = sim_now_ms();
	ctrl->ts_origin = 0;
	ctrl->pel_ctx = false;
	sim_pel_reset_event(ctrl, fw_activated);
	pthread_mutex_unlock(&ctrl->subsys->lock);
	return 0;
}

static int sim_backend_submit(void *ctrl, struct nr_cmd *cmd)
{
	return nr_sim_submit(ctrl, cmd);
}

/* Worker thread: a Controller Level Reset of the model (nvme.reset); a
 * removed controller is not there to reset. */
static int sim_backend_reset(void *ctrl)
{
	int rc = sim_fault_probe(ctrl);

	return rc ? rc : nr_sim_ctrl_reset(ctrl);
}

/* Loop thread: a held command's call gave up on it. */
static int sim_backend_abort(void *ctrl)
{
	return sim_fault_abort(ctrl);
}

/* Loop thread: -ENODEV once the controller was removed (nvme.rescan). */
static int sim_backend_probe(void *ctrl)
{
	return sim_fault_probe(ctrl);
}

/* Loop thread: nothing sleeps unless latency or a delay fault says so. */
static bool sim_backend_runs_inline(void *backend_ctrl)
{
	struct nr_sim_ctrl *ctrl = backend_ctrl;

	return ctrl->latency_us == 0 && !sim_fault_sleeps(ctrl);
}

const struct nr_backend_ops nr_sim_ops = {
    .name = "sim",
    .submit = sim_backend_submit,
    .reset = sim_backend_reset,
    .abort = sim_backend_abort,
    .probe = sim_backend_probe,
    .runs_inline = sim_backend_runs_inline,
};
