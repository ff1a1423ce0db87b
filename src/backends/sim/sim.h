/* SPDX-License-Identifier: MIT */
/*
 * The simulated NVMe subsystem: a controller model that executes admin
 * commands (identify, logs, features, namespace management, format,
 * sanitize, self-test, firmware) and zoned I/O commands given as submission
 * entries, so every method is written once against the command layer. Zone
 * state only, no data.
 */
#ifndef NR_SIM_H
#define NR_SIM_H

#include <jansson.h>
#include <stddef.h>

#include "nvme/backend.h"

struct nr_sim;
struct nr_sim_ctrl;

/* The backend vtable; its submit takes a struct nr_sim_ctrl *. */
extern const struct nr_backend_ops nr_sim_ops;

/*
 * Builds the default subsystem: one controller (sim0) with namespace 1
 * conventional and namespace 2 zoned (4096 zones). Returns 0 or -errno.
 */
int nr_sim_new_default(struct nr_sim **out);

/*
 * Builds a subsystem from a JSON description (format in docs/simulator.md).
 * @desc is borrowed. Returns 0, or -EINVAL with a sentence in @err naming the
 * offending JSON path, or -ENOMEM.
 */
int nr_sim_new_from_json(const json_t *desc, struct nr_sim **out, char *err, size_t err_len);

/* Reads and builds from a file; errors as nr_sim_new_from_json plus -errno of the read. */
int nr_sim_load_file(const char *path, struct nr_sim **out, char *err, size_t err_len);

void nr_sim_free(struct nr_sim *sim);

/* Controllers in description order across all subsystems. */
size_t nr_sim_ctrl_count(const struct nr_sim *sim);
struct nr_sim_ctrl *nr_sim_ctrl_at(struct nr_sim *sim, size_t index);

/* The NQN of the controller's subsystem; borrowed, valid until nr_sim_free. */
const char *nr_sim_ctrl_subnqn(const struct nr_sim_ctrl *ctrl);

/* The controller's name, "sim<index>" in description order; borrowed, valid
 * until nr_sim_free. */
const char *nr_sim_ctrl_name(const struct nr_sim_ctrl *ctrl);

/*
 * Executes one command. Safe to call from several worker threads at once
 * (state is guarded per subsystem). Sleeps the controller's configured
 * latency first. Returns 0 with cmd->status/result set, or -errno.
 */
int nr_sim_submit(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd);

/*
 * Models a Controller Level Reset of a simulated controller (the daemon's
 * nvme.reset calls it for sim controllers): a firmware image committed with
 * CA 1 or 2 becomes the running revision (Identify Controller FR), every
 * feature's current value becomes its saved value (its default when never
 * saved), a running device self-test is aborted (result 2h), a partial
 * firmware download is dropped and a reset event is logged. Namespaces,
 * zones and a running sanitize are unaffected. Takes the subsystem lock, so
 * any thread may call it. Returns 0, or -EINVAL for a NULL controller.
 */
int nr_sim_ctrl_reset(struct nr_sim_ctrl *ctrl);

/*
 * Faults (docs/simulator.md, Faults). A description's faults are inert
 * until nr_sim_faults_arm, which the daemon calls once it has learnt the
 * controllers (so they hit clients' commands, not its own Identify at
 * start). Any thread.
 */
void nr_sim_faults_arm(struct nr_sim *sim);

/*
 * Changes @ctrl's faults from @spec, an object of the description's
 * "faults" keys plus "clear" (sim.fault's params without "device";
 * borrowed), and arms them. Named kinds replace the current ones; "clear"
 * drops all but a removal first, which only nr_sim_reinsert undoes. Returns 0, or
 * -EINVAL with "PATH: reason" in @err (paths start with @path). Any thread.
 */
int nr_sim_fault_set(struct nr_sim_ctrl *ctrl, const json_t *spec, const char *path, char *err,
		     size_t err_len);

/*
 * Test only (sim.insert): undoes @ctrl's removal, as a drive plugged back
 * in: its commands run again and the next nvme.rescan lists it again (a
 * fresh entry: watchers see it added). Its other faults are as they were.
 * Returns 0, or -EALREADY when it was not removed. Any thread.
 */
int nr_sim_reinsert(struct nr_sim_ctrl *ctrl);

/* @ctrl's faults as sim.fault reports them, with "held": the commands a
 * hang holds now. New reference, NULL when out of memory. Any thread. */
json_t *nr_sim_fault_json(struct nr_sim_ctrl *ctrl);

/*
 * Test only (sim.fault's "health"): overrides SMART / Health values of @ctrl
 * from @spec (borrowed): critical_warning (bits ORed into the log's own),
 * temperature (composite, Kelvin), avail_spare, percent_used,
 * media_errors; null drops an override. Returns 0, or -EINVAL with "PATH:
 * reason" in @err. Any thread.
 */
int nr_sim_health_set(struct nr_sim_ctrl *ctrl, const json_t *spec, const char *path, char *err,
		      size_t err_len);

/* @ctrl's health overrides as an object and the commands it has received
 * (*@commands). New reference, NULL when out of memory. Any thread. */
json_t *nr_sim_health_json(struct nr_sim_ctrl *ctrl, uint64_t *commands);

#endif
