/* SPDX-License-Identifier: MIT */
/*
 * A backend executes commands built by the command layer. Adding one is one
 * file with this small vtable, not a copy of the method code.
 */
#ifndef NR_BACKEND_H
#define NR_BACKEND_H

#include "nvme_cmd.h"


struct nr_backend_ops {
	const char *name; /* "sim", "passthru", "mi": reported in nvme.list */
	/*
	 * Executes @cmd on the controller. Runs on a worker thread. Returns 0
	 * when the command completed (cmd->status holds the NVMe status, which
	 * may be an error) or -errno when it could not be delivered.
	 */
	int (*submit)(void *ctrl, struct nr_cmd *cmd);
};

#endif
