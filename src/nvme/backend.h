/* SPDX-License-Identifier: MIT */
/*
 * A backend executes commands built by the command layer. Adding one is one
 * file with this small vtable, not a copy of the method code.
 */
#ifndef NR_BACKEND_H
#define NR_BACKEND_H

#include <jansson.h>
#include <uv.h>

#include "nvme/nvme_cmd.h"

struct nr_call;

/* Loop thread: @cmd, started by submit_async, is over; @rc is what submit
 * would have returned for it. */
typedef void (*nr_cmd_cb)(struct nr_cmd *cmd, int rc, void *arg);

/* The NVM Subsystem Health Data Structure (NVMe-MI 1.2), as the endpoint
 * sent it: the answer of a health status poll. */
struct nr_subsys_health {
	uint8_t nss;	   /* NVM Subsystem Status */
	uint8_t sw;	   /* SMART Warnings: active low, a bit cleared while its warning holds */
	uint8_t ctemp;	   /* Composite Temperature: Celsius, 80h no data, 81h sensor failure */
	uint8_t pdlu;	   /* Percentage Drive Life Used */
	uint16_t ccs;	   /* Composite Controller Status */
	uint8_t mi_status; /* nonzero: the endpoint refused the poll */
};

struct nr_backend_ops {
	const char *name; /* "sim", "passthru", "mi": reported in nvme.list */
	/*
	 * Executes @cmd on the controller. Runs on a worker thread. Returns 0
	 * when the command completed (cmd->status holds the NVMe status, which
	 * may be an error) or -errno when it could not be delivered.
	 *
	 * A backend with an abort op may also return -EINPROGRESS: the
	 * controller took the command and holds it (a simulated hang); it has
	 * not run and will not complete by itself, and the backend keeps no
	 * pointer to @cmd. The worker thread returns at once: the work
	 * function stops there (as for any error) and the exec layer keeps the
	 * device's FIFO busy, without a pool thread, until it calls abort (the
	 * call's timeout, or its end).
	 */
	int (*submit)(void *ctrl, struct nr_cmd *cmd);
	/*
	 * Optional, loop thread: starts @cmd without blocking (Linux: NVMe
	 * passthru through io_uring) and returns 0; @cb(@cmd, rc, @arg) comes
	 * later on @loop's thread, never from inside this call, with what
	 * submit would have returned. Saves the worker pool's two thread hops
	 * for a command that is one device round trip. Returns -EOPNOTSUPP (or
	 * another -errno) when @cmd cannot go this way: the exec layer then
	 * sends it through submit on the pool. @cb may also report
	 * -EOPNOTSUPP: the command did not reach the device (the kernel does
	 * not take it this way) and the exec layer sends it through submit.
	 */
	int (*submit_async)(void *ctrl, uv_loop_t *loop, struct nr_cmd *cmd, nr_cmd_cb cb,
			    void *arg);
	/*
	 * Optional: the exec layer gave up on the command the controller holds
	 * (submit returned -EINPROGRESS): its call timed out or ended. The
	 * backend completes it with an Abort status (the simulator: Command
	 * Abort Requested, SCT 0 SC 07h, in its Error Information log) and
	 * forgets it; the call's work ends with -ECANCELED, and the FIFO moves
	 * on. Returns 0, or -ENOENT when the controller held nothing. Loop
	 * thread.
	 */
	int (*abort)(void *ctrl);
	/* Optional: whether the controller is still there. Returns 0, or
	 * -ENODEV when it went away (a simulated hot removal): nvme.rescan
	 * unlists it. Loop thread. */
	int (*probe)(void *ctrl);
	/*
	 * Optional: the names the host gives namespace @nsid behind this
	 * controller (Linux: "nvme0n1" and the generic "ng0n1"), each buffer
	 * @len bytes; @alias may come back empty. Returns 0, or -ENOENT when
	 * the backend has no name for it (the topology then makes one up).
	 * Loop thread, at topology build.
	 */
	int (*ns_names)(void *ctrl, uint32_t nsid, char *name, char *alias, size_t len);
	/*
	 * Optional, loop thread: whether the controller's next command may run
	 * on the loop thread itself: its submit never sleeps nor blocks on I/O
	 * (a simulated controller without latency or delay faults). Saves the
	 * two thread hops of the worker pool; the exec layer bounds how many
	 * run in a row so that other peers are served.
	 */
	bool (*runs_inline)(void *ctrl);
	/*
	 * Optional, loop thread: re-learns the controllers behind @call's device
	 * after a lifecycle change (a host rescan, an NVMe-MI endpoint's scan),
	 * then answers @call with @result (stolen; NULL: with nvme.list's
	 * result, as nvme.rescan answers). Without it, a backend without
	 * release has each controller of the subsystem rebuilt through its FIFO,
	 * and one with release answers without re-learning.
	 */
	void (*relearn)(struct nr_call *call, json_t *result);
	/* Optional: how the controller is attached ("pcie", "loop") and where
	 * ("0000:00:04.0", "traddr=…,trsvcid=…"), into buffers of the sizes given. */
	void (*ctrl_info)(void *ctrl, char *transport, size_t transport_len, char *address,
			  size_t address_len);
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
	/*
	 * Optional: a cheap summary of the health of the controller's NVM
	 * subsystem (NVMe-MI: the NVM Subsystem Health Status Poll, clearing
	 * nothing), so a poller reads the SMART log only when it changed.
	 * Worker thread, through the controller's FIFO. Returns 0 (an MI error
	 * status in @out->mi_status) or -errno as submit does.
	 */
	int (*health_poll)(void *ctrl, struct nr_subsys_health *out);
	/* Optional: the topology let go of the controller; free it. Loop thread. */
	void (*release)(void *ctrl);
};

#endif
