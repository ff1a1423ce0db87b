/* SPDX-License-Identifier: MIT */
/*
 * Injected faults of a simulated controller: added delay, an NVMe error
 * status, a hang (the command is held: nr_sim_submit returns -EINPROGRESS and
 * only the abort op completes it) and removal (-ENODEV, then unlisted by a
 * rescan). Set from the description (sim_config.c) or by sim.fault. State is
 * under the controller's fault_lock, never held across a sleep.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "backends/sim/sim_int.h"

/* Whether @m hits @cmd; consumes one of its count when it does. */
static bool match_take(struct sim_fault_match *m, const struct nr_cmd *cmd)
{
	if (!m->on || (m->opcode >= 0 && m->opcode != cmd->sqe.opcode) ||
	    (m->queue >= 0 && m->queue != (int)cmd->queue))
		return false;
	if (m->count && --m->count == 0)
		m->on = false;
	return true;
}

/* Keeps the held command's SQE (not its buffer) for the Error log. */
static void hold(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd)
{
	ctrl->held++;
	ctrl->held_cmd = *cmd;
	ctrl->held_cmd.data = NULL;
	ctrl->held_cmd.data_len = 0;
}

/*
 * Worker thread, before the command runs. Returns -ENODEV (removed),
 * -EINPROGRESS (held by a hang), or 0 with *@status the injected status (0:
 * run the command). The delay is slept after the lock is dropped.
 */
int sim_fault_apply(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, uint16_t *status)
{
	struct sim_faults *f = &ctrl->faults;
	uint32_t delay_us = 0;
	int rc = 0;

	*status = 0;
	pthread_mutex_lock(&ctrl->fault_lock);
	ctrl->commands++;
	if (ctrl->faults_armed) {
		delay_us = f->delay_us;
		if (f->removed)
			rc = -ENODEV;
		else if (match_take(&f->hang, cmd))
			rc = -EINPROGRESS;
		else if (match_take(&f->status, cmd))
			*status = f->status_value;
		if (rc == -EINPROGRESS)
			hold(ctrl, cmd);
	}
	pthread_mutex_unlock(&ctrl->fault_lock);
	if (rc != -ENODEV && delay_us)
		usleep(delay_us);
	return rc;
}

/*
 * Loop thread: completes the oldest held command with Command Abort
 * Requested, recorded in the Error Information log. Returns 0, or -ENOENT
 * when nothing is held.
 */
int sim_fault_abort(struct nr_sim_ctrl *ctrl)
{
	struct nr_cmd cmd;

	pthread_mutex_lock(&ctrl->fault_lock);
	if (ctrl->held == 0) {
		pthread_mutex_unlock(&ctrl->fault_lock);
		return -ENOENT;
	}
	ctrl->held--;
	cmd = ctrl->held_cmd;
	pthread_mutex_unlock(&ctrl->fault_lock);
	cmd.status = sim_error(NVME_SCT_GENERIC, NVME_SC_ABORT_REQ);
	pthread_mutex_lock(&ctrl->subsys->lock);
	ctrl->err_param = SIM_PARAM_NONE;
	ctrl->err_lba = 0;
	sim_error_record(ctrl, &cmd);
	pthread_mutex_unlock(&ctrl->subsys->lock);
	return 0;
}

bool sim_fault_sleeps(struct nr_sim_ctrl *ctrl)
{
	bool sleeps;

	pthread_mutex_lock(&ctrl->fault_lock);
	sleeps = ctrl->faults_armed && ctrl->faults.delay_us != 0 && !ctrl->faults.removed;
	pthread_mutex_unlock(&ctrl->fault_lock);
	return sleeps;
}

/* Returns -ENODEV once the controller was removed, else 0. */
int sim_fault_probe(struct nr_sim_ctrl *ctrl)
{
	bool removed;

	pthread_mutex_lock(&ctrl->fault_lock);
	removed = ctrl->faults_armed && ctrl->faults.removed;
	pthread_mutex_unlock(&ctrl->fault_lock);
	return removed ? -ENODEV : 0;
}

int nr_sim_reinsert(struct nr_sim_ctrl *ctrl)
{
	int rc = -EALREADY;

	pthread_mutex_lock(&ctrl->fault_lock);
	if (ctrl->faults.removed) {
		ctrl->faults.removed = false;
		rc = 0;
	}
	pthread_mutex_unlock(&ctrl->fault_lock);
	return rc;
}

void nr_sim_faults_arm(struct nr_sim *sim)
{
	for (size_t i = 0; sim && i < sim->nr_ctrls; i++) {
		pthread_mutex_lock(&sim->ctrls[i].fault_lock);
		sim->ctrls[i].faults_armed = true;
		pthread_mutex_unlock(&sim->ctrls[i].fault_lock);
	}
}

/* Applies a parsed @spec to @f. Caller holds the fault lock. */
static void faults_merge(struct sim_faults *f, const struct sim_fault_spec *spec)
{
	if (spec->clear)
		*f = (struct sim_faults){.removed = f->removed};
	if (spec->has_delay)
		f->delay_us = spec->faults.delay_us;
	if (spec->has_status) {
		f->status = spec->faults.status;
		f->status_value = spec->faults.status_value;
	}
	if (spec->has_hang)
		f->hang = spec->faults.hang;
	f->removed |= spec->faults.removed;
}

int nr_sim_fault_set(struct nr_sim_ctrl *ctrl, const json_t *spec, const char *path, char *err,
		     size_t err_len)
{
	struct sim_fault_spec parsed;
	int rc = sim_faults_parse(spec, path, true, &parsed, err, err_len);

	if (rc)
		return rc;
	pthread_mutex_lock(&ctrl->fault_lock);
	faults_merge(&ctrl->faults, &parsed);
	ctrl->faults_armed = true;
	pthread_mutex_unlock(&ctrl->fault_lock);
	return 0;
}

static const char *const queue_names[] = {[NR_QUEUE_ADMIN] = "admin", [NR_QUEUE_IO] = "io"};

/* A match as {"opcode", "queue", "count"}, each only when it filters or
 * limits; merged into @obj (borrowed). */
static void match_put(json_t *obj, const struct sim_fault_match *m)
{
	if (m->opcode >= 0)
		json_object_set_new(obj, "opcode", json_integer(m->opcode));
	if (m->queue >= 0)
		json_object_set_new(obj, "queue", json_string(queue_names[m->queue]));
	if (m->count)
		json_object_set_new(obj, "count", json_integer(m->count));
}

static json_t *status_json(const struct sim_faults *f)
{
	json_t *obj = json_pack("{s:i, s:i, s:b}", "sct", (int)NR_STATUS_SCT(f->status_value), "sc",
				(int)NR_STATUS_SC(f->status_value), "dnr",
				(int)NR_STATUS_DNR(f->status_value));

	if (obj)
		match_put(obj, &f->status);
	return obj;
}

json_t *nr_sim_fault_json(struct nr_sim_ctrl *ctrl)
{
	struct sim_faults f;
	uint32_t held;
	json_t *obj, *hang;

	pthread_mutex_lock(&ctrl->fault_lock);
	f = ctrl->faults;
	held = ctrl->held;
	pthread_mutex_unlock(&ctrl->fault_lock);
	obj = json_pack("{s:I, s:b, s:I}", "delay_us", (json_int_t)f.delay_us, "removed",
			(int)f.removed, "held", (json_int_t)held);
	if (obj && f.status.on)
		json_object_set_new(obj, "status", status_json(&f));
	if (obj && f.hang.on && (hang = json_object()) != NULL) {
		match_put(hang, &f.hang);
		json_object_set_new(obj, "hang", hang);
	}
	return obj;
}
