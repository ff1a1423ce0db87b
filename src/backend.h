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
	/*
	 * Optional: the names the host gives namespace @nsid behind this
	 * controller (Linux: "nvme0n1" and the generic "ng0n1"), each buffer
	 * @len bytes; @alias may come back empty. Returns 0, or -ENOENT when
	 * the backend has no name for it (the topology then makes one up).
	 * Loop thread, at topology build.
	 */
	int (*ns_names)(void *ctrl, uint32_t nsid, char *name, char *alias, size_t len);
	/* Optional: how the controller is attached ("pcie", "loop") and where
	 * ("0000:00:04.0"); buffers of @len bytes. */
	void (*ctrl_info)(void *ctrl, char *transport, char *address, size_t len);
	/*
	 * Optional: resets the controller (Linux: NVME_IOCTL_RESET) and returns
	 * once the host driver has it back. Worker thread, through the
	 * controller's FIFO. Returns 0 or -errno.
	 */
	int (*reset)(void *ctrl);
	/* Optional: asks the host driver to rescan the controller's namespaces
	 * (Linux: NVME_IOCTL_RESCAN). Worker thread. Returns 0 or -errno. */
	int (*rescan)(void *ctrl);
	/* Optional: may work be queued for the controller now? Returns 0, or
	 * -errno to refuse it (an MI endpoint in quarantine: -EHOSTDOWN).
	 * Loop thread. */
	int (*admit)(void *ctrl);
	/* Optional: the topology let go of the controller; free it. Loop thread. */
	void (*release)(void *ctrl);
};

#endif
