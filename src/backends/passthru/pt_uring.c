/* SPDX-License-Identifier: MIT */
#include "backends/passthru/pt_uring.h"
#include "backends/passthru/passthru.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvme/topology.h"
#include "util/log.h"

static bool uring_on = true;

void nr_passthru_uring(bool on)
{
	uring_on = on;
}

#ifndef NR_HAVE_LIBURING

int pt_ring_submit(struct pt_ring **ring, uv_loop_t *loop, const char *name, int fd, bool admin,
		   const struct nvme_passthru_cmd *pc, struct nr_cmd *cmd, nr_cmd_cb cb, void *arg)
{
	(void)ring, (void)loop, (void)name, (void)fd, (void)admin, (void)pc, (void)cmd, (void)cb,
	    (void)arg;
	return -EOPNOTSUPP;
}

void pt_ring_release(struct pt_ring *ring)
{
	(void)ring;
}

#else

#include <linux/nvme_ioctl.h>
#include <liburing.h>

/* The FIFO keeps one command in flight per controller; a few slots spare. */
#define PT_RING_SLOTS 4

struct pt_slot {
	struct nr_cmd *cmd; /* NULL: free */
	nr_cmd_cb cb;
	void *arg;
};

struct pt_ring {
	struct io_uring ring;
	uv_poll_t poll; /* on the ring's fd: readable while completions wait */
	char name[NR_NAME_MAX];
	unsigned inflight;
	bool off;      /* the kernel does not take these commands: decline */
	bool proven;   /* a command completed this way: later errors are its own */
	bool released; /* the controller let go: close once idle */
	bool closing;
	struct pt_slot slots[PT_RING_SLOTS];
};

/* A ring that could not be made, shared by every controller it failed for:
 * its commands are declined. */
static struct pt_ring ring_unavailable = {.off = true};

static void ring_closed(uv_handle_t *handle)
{
	struct pt_ring *r = handle->data;

	io_uring_queue_exit(&r->ring);
	free(r);
}

static void ring_close(struct pt_ring *r)
{
	if (r->closing)
		return;
	r->closing = true;
	uv_close((uv_handle_t *)&r->poll, ring_closed);
}

/* Completes one slot: the command's NVMe status and result, or -errno. */
static void slot_complete(struct pt_ring *r, unsigned idx, int res, uint64_t result)
{
	struct pt_slot s = r->slots[idx];

	r->slots[idx].cmd = NULL;
	if (--r->inflight == 0)
		uv_unref((uv_handle_t *)&r->poll);
	if (!r->proven && (res == -EOPNOTSUPP || res == -EINVAL)) {
		/* The kernel has no io_uring NVMe passthru for this device
		 * (before Linux 6.0 for the controller's own device): the
		 * command did not reach it. */
		if (!r->off)
			nr_log(NR_LOG_INFO,
			       "%s: io_uring passthru refused (%s): commands go "
			       "through the worker pool",
			       r->name, strerror(-res));
		r->off = true;
		res = -EOPNOTSUPP;
	} else if (res >= 0) {
		r->proven = true;
		s.cmd->result = (uint32_t)result;
		s.cmd->status = (uint16_t)res;
		res = 0;
	}
	s.cb(s.cmd, res, s.arg);
}

static void ring_readable(uv_poll_t *poll, int status, int events)
{
	struct pt_ring *r = poll->data;
	struct io_uring_cqe *cqe;

	(void)status, (void)events;
	while (!r->closing && io_uring_peek_cqe(&r->ring, &cqe) == 0) {
		unsigned idx = (unsigned)cqe->user_data;
		int res = cqe->res;
		uint64_t result = cqe->big_cqe[0];

		io_uring_cqe_seen(&r->ring, cqe);
		if (idx < PT_RING_SLOTS && r->slots[idx].cmd)
			slot_complete(r, idx, res, result);
		if (r->released && r->inflight == 0)
			ring_close(r);
	}
}

/* Whether the kernel has IORING_OP_URING_CMD at all. */
static bool uring_cmd_probed(struct io_uring *ring)
{
	struct io_uring_probe *probe = io_uring_get_probe_ring(ring);
	bool ok = probe && io_uring_opcode_supported(probe, IORING_OP_URING_CMD);

	io_uring_free_probe(probe);
	return ok;
}

/* Makes a ring for controller @name on @loop; &ring_unavailable when the
 * kernel or the process's filters refuse. */
static struct pt_ring *ring_new(uv_loop_t *loop, const char *name)
{
	struct pt_ring *r = calloc(1, sizeof(*r));
	int rc = -ENOMEM;

	if (!r)
		goto fail;
	snprintf(r->name, sizeof(r->name), "%s", name);
	rc = io_uring_queue_init(PT_RING_SLOTS, &r->ring, IORING_SETUP_SQE128 | IORING_SETUP_CQE32);
	if (rc < 0)
		goto fail_free;
	rc = uring_cmd_probed(&r->ring) ? uv_poll_init(loop, &r->poll, r->ring.ring_fd)
					: -EOPNOTSUPP;
	if (rc < 0)
		goto fail_exit;
	r->poll.data = r;
	rc = uv_poll_start(&r->poll, UV_READABLE, ring_readable);
	if (rc < 0) {
		ring_close(r);
		goto fail;
	}
	uv_unref((uv_handle_t *)&r->poll); /* referenced while a command is in flight */
	nr_log(NR_LOG_DEBUG, "%s: commands through io_uring passthru", name);
	return r;
fail_exit:
	io_uring_queue_exit(&r->ring);
fail_free:
	free(r);
fail:
	nr_log(NR_LOG_INFO, "%s: no io_uring passthru (%s): commands go through the worker pool",
	       name, strerror(-rc));
	return &ring_unavailable;
}

/* The uring command is the ioctl's up to its timeout (the ioctl's result
 * field comes back in the big completion entry instead). */
_Static_assert(offsetof(struct nvme_uring_cmd, timeout_ms) ==
		   offsetof(struct nvme_passthru_cmd, timeout_ms),
	       "nvme_uring_cmd starts as nvme_passthru_cmd");

static void sqe_fill(struct io_uring_sqe *sqe, int fd, bool admin, unsigned idx,
		     const struct nvme_passthru_cmd *pc)
{
	memset(sqe, 0, 2 * sizeof(*sqe)); /* SQE128: the command fills the second half */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = admin ? NVME_URING_CMD_ADMIN : NVME_URING_CMD_IO;
	sqe->user_data = idx;
	memcpy(sqe->cmd, pc, offsetof(struct nvme_uring_cmd, timeout_ms) + sizeof(pc->timeout_ms));
}

int pt_ring_submit(struct pt_ring **ringp, uv_loop_t *loop, const char *name, int fd, bool admin,
		   const struct nvme_passthru_cmd *pc, struct nr_cmd *cmd, nr_cmd_cb cb, void *arg)
{
	struct pt_ring *r = *ringp;
	struct io_uring_sqe *sqe;
	unsigned idx;
	int rc;

	if (!uring_on || fd < 0)
		return -EOPNOTSUPP;
	if (!r)
		r = *ringp = ring_new(loop, name);
	if (r->off || r->closing)
		return -EOPNOTSUPP;
	for (idx = 0; idx < PT_RING_SLOTS && r->slots[idx].cmd; idx++)
		;
	sqe = idx < PT_RING_SLOTS ? io_uring_get_sqe(&r->ring) : NULL;
	if (!sqe)
		return -EOPNOTSUPP;
	sqe_fill(sqe, fd, admin, idx, pc);
	rc = io_uring_submit(&r->ring);
	if (rc != 1) {
		/* Not taken: nothing reached the device and the pool sends it.
		 * The entry may still sit in the submission ring: this ring is
		 * never entered again. */
		nr_log(NR_LOG_WARN, "%s: io_uring_submit: %s; commands go through the worker pool",
		       r->name, strerror(rc < 0 ? -rc : EAGAIN));
		r->off = true;
		return -EOPNOTSUPP;
	}
	r->slots[idx] = (struct pt_slot){.cmd = cmd, .cb = cb, .arg = arg};
	if (r->inflight++ == 0)
		uv_ref((uv_handle_t *)&r->poll); /* the loop waits for the completion */
	return 0;
}

void pt_ring_release(struct pt_ring *r)
{
	if (!r || r == &ring_unavailable)
		return;
	r->released = true;
	if (r->inflight == 0)
		ring_close(r);
}

#endif
