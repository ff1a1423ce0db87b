/* SPDX-License-Identifier: MIT */
/*
 * NVMe passthru through io_uring (IORING_OP_URING_CMD: NVME_URING_CMD_ADMIN
 * on the controller's character device, NVME_URING_CMD_IO on a namespace's
 * generic one): a command is started from the loop thread and its
 * completion read there when the ring polls readable, so one device round
 * trip costs no worker-pool hop. One small ring per controller, made at its
 * first command; the controller's FIFO keeps one command in flight. Where
 * the kernel (or a seccomp filter) does not take io_uring NVMe commands,
 * the ring says so and the controller's commands go through the pool's
 * ioctls as before. Without liburing at build time every call declines.
 */
#ifndef NR_PT_URING_H
#define NR_PT_URING_H

#include <stdbool.h>
#include <uv.h>

#include "nvme/backend.h"

struct pt_ring;
struct nvme_passthru_cmd; /* the kernel's (or libnvme's copy of it) */

/*
 * Starts @cmd, filled into @pc as for the ioctl, on @fd (@admin: the
 * controller's admin queue, else the
 * namespace's I/O queue through its generic device) through *@ring, made
 * on @loop at the first call. Returns 0 (@cb comes later on the loop
 * thread, with 0 or -errno as the ioctl path returns, or -EOPNOTSUPP when
 * the kernel refused the command kind before it reached the device), or
 * -EOPNOTSUPP when this ring cannot take it now. Loop thread.
 */
int pt_ring_submit(struct pt_ring **ring, uv_loop_t *loop, const char *name, int fd, bool admin,
		   const struct nvme_passthru_cmd *pc, struct nr_cmd *cmd, nr_cmd_cb cb, void *arg);

/* The controller let go of @ring (may be NULL): it is closed once no
 * command is in flight on it. Loop thread, or any thread before the ring
 * was made. */
void pt_ring_release(struct pt_ring *ring);

#endif
