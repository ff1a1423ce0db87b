/* SPDX-License-Identifier: MIT */
#include "backends/passthru/passthru.h"
#include "backends/passthru/pt_uring.h"

#include <errno.h>
#include <fcntl.h>
#include <libnvme.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PT_MAX_NS 256

struct pt_ns {
	uint32_t nsid;
	int fd;		 /* for I/O commands */
	bool fd_generic; /* fd is the generic character device (io_uring takes it) */
	char name[NR_NAME_MAX];
	char generic[NR_NAME_MAX];
};

struct pt_ctrl {
	char name[NR_NAME_MAX];
	char transport[16];
	char address[NR_NAME_MAX];
	int fd;		      /* the controller character device, for admin commands */
	struct pt_ring *ring; /* io_uring passthru, made at the first command */
	struct pt_ns ns[PT_MAX_NS];
	size_t ns_count;
};

/* Opens /dev/@name. Returns the fd or -errno. */
static int dev_open(const char *name)
{
	char path[NR_NAME_MAX + 8];
	int fd;

	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static struct pt_ns *ns_find(struct pt_ctrl *ctrl, uint32_t nsid)
{
	for (size_t i = 0; i < ctrl->ns_count; i++) {
		if (ctrl->ns[i].nsid == nsid)
			return &ctrl->ns[i];
	}
	return NULL;
}

static void pt_cmd_fill(struct nvme_passthru_cmd *pc, const struct nr_cmd *cmd)
{
	memset(pc, 0, sizeof(*pc));
	pc->opcode = cmd->sqe.opcode;
	pc->flags = cmd->sqe.flags;
	pc->nsid = cmd->sqe.nsid;
	pc->cdw2 = cmd->sqe.cdw2;
	pc->cdw3 = cmd->sqe.cdw3;
	pc->addr = (uint64_t)(uintptr_t)cmd->data;
	pc->data_len = cmd->data_len;
	pc->cdw10 = cmd->sqe.cdw10;
	pc->cdw11 = cmd->sqe.cdw11;
	pc->cdw12 = cmd->sqe.cdw12;
	pc->cdw13 = cmd->sqe.cdw13;
	pc->cdw14 = cmd->sqe.cdw14;
	pc->cdw15 = cmd->sqe.cdw15;
	pc->timeout_ms = cmd->timeout_ms;
}

/* Worker thread. The ioctl returns -1/errno when the command could not be
 * delivered, a positive NVMe status when it completed with an error. */
static int pt_submit(void *backend_ctrl, struct nr_cmd *cmd)
{
	struct pt_ctrl *ctrl = backend_ctrl;
	struct nvme_passthru_cmd pc;
	struct pt_ns *ns;
	__u32 result = 0;
	int rc;

	pt_cmd_fill(&pc, cmd);
	if (cmd->queue == NR_QUEUE_ADMIN) {
		rc = nvme_submit_admin_passthru(ctrl->fd, &pc, &result);
	} else {
		ns = ns_find(ctrl, cmd->sqe.nsid);
		if (!ns || ns->fd < 0)
			return -ENODEV;
		rc = nvme_submit_io_passthru(ns->fd, &pc, &result);
	}
	if (rc < 0)
		return -errno;
	cmd->result = result;
	cmd->status = (uint16_t)rc;
	return 0;
}

/* Loop thread: the same command started through io_uring (pt_uring.h). */
static int pt_submit_async(void *backend_ctrl, uv_loop_t *loop, struct nr_cmd *cmd, nr_cmd_cb cb,
			   void *arg)
{
	struct pt_ctrl *ctrl = backend_ctrl;
	struct nvme_passthru_cmd pc;
	struct pt_ns *ns = NULL;
	bool admin = cmd->queue == NR_QUEUE_ADMIN;

	if (!admin && (!(ns = ns_find(ctrl, cmd->sqe.nsid)) || !ns->fd_generic))
		return -EOPNOTSUPP; /* the pool's path answers ENODEV, or uses the block device */
	pt_cmd_fill(&pc, cmd);
	return pt_ring_submit(&ctrl->ring, loop, ctrl->name, admin ? ctrl->fd : ns->fd, admin, &pc,
			      cmd, cb, arg);
}

static int pt_ns_names(void *backend_ctrl, uint32_t nsid, char *name, char *alias, size_t len)
{
	struct pt_ns *ns = ns_find(backend_ctrl, nsid);

	if (!ns)
		return -ENOENT;
	snprintf(name, len, "%s", ns->name);
	snprintf(alias, len, "%s", ns->generic);
	return 0;
}

static void pt_ctrl_info(void *backend_ctrl, char *transport, size_t transport_len, char *address,
			 size_t address_len)
{
	struct pt_ctrl *ctrl = backend_ctrl;

	snprintf(transport, transport_len, "%s", ctrl->transport);
	snprintf(address, address_len, "%s", ctrl->address);
}

/* Worker thread. libnvme's wrappers return -1/errno. */
static int pt_reset(void *backend_ctrl)
{
	struct pt_ctrl *ctrl = backend_ctrl;

	return nvme_ctrl_reset(ctrl->fd) < 0 ? -errno : 0;
}

static int pt_rescan(void *backend_ctrl)
{
	struct pt_ctrl *ctrl = backend_ctrl;

	return nvme_ns_rescan(ctrl->fd) < 0 ? -errno : 0;
}

static void pt_ctrl_free(void *backend_ctrl);

const struct nr_backend_ops nr_passthru_ops = {
    .name = "passthru",
    .submit = pt_submit,
    .submit_async = pt_submit_async,
    .ns_names = pt_ns_names,
    .ctrl_info = pt_ctrl_info,
    .reset = pt_reset,
    .rescan = pt_rescan,
    .release = pt_ctrl_free,
    .relearn = nr_passthru_relearn,
};

static void ns_add(struct pt_ctrl *ctrl, nvme_ns_t n)
{
	struct pt_ns *ns;
	const char *generic = nvme_ns_get_generic_name(n);

	if (ctrl->ns_count == PT_MAX_NS || ns_find(ctrl, (uint32_t)nvme_ns_get_nsid(n)))
		return;
	ns = &ctrl->ns[ctrl->ns_count++];
	ns->nsid = (uint32_t)nvme_ns_get_nsid(n);
	snprintf(ns->name, sizeof(ns->name), "%s", nvme_ns_get_name(n));
	snprintf(ns->generic, sizeof(ns->generic), "%s", generic ? generic : "");
	ns->fd = generic ? dev_open(generic) : -ENOENT;
	ns->fd_generic = ns->fd >= 0;
	if (ns->fd < 0)
		ns->fd = dev_open(ns->name);
}

/* Namespaces this controller reaches: its own (no multipath) and the
 * subsystem's shared heads with a path through it. */
static void ctrl_namespaces(struct pt_ctrl *ctrl, nvme_subsystem_t s, nvme_ctrl_t c)
{
	nvme_ns_t n;
	nvme_path_t p;

	nvme_ctrl_for_each_ns(c, n) ns_add(ctrl, n);
	nvme_subsystem_for_each_ns(s, n)
	{
		nvme_namespace_for_each_path(n, p)
		{
			if (nvme_path_get_ctrl(p) == c)
				ns_add(ctrl, n);
		}
	}
}

static void pt_ctrl_free(void *backend_ctrl)
{
	struct pt_ctrl *ctrl = backend_ctrl;

	pt_ring_release(ctrl->ring);
	for (size_t i = 0; i < ctrl->ns_count; i++) {
		if (ctrl->ns[i].fd >= 0)
			close(ctrl->ns[i].fd);
	}
	if (ctrl->fd >= 0)
		close(ctrl->fd);
	free(ctrl);
}

/* Opens and builds one controller. Returns 0 with *out set, or -errno. */
static int ctrl_build(nvme_subsystem_t s, nvme_ctrl_t c, struct nr_ctrl **out)
{
	struct pt_ctrl *ctrl = calloc(1, sizeof(*ctrl));
	const char *address = nvme_ctrl_get_address(c);
	int rc;

	if (!ctrl)
		return -ENOMEM;
	snprintf(ctrl->name, sizeof(ctrl->name), "%s", nvme_ctrl_get_name(c));
	snprintf(ctrl->transport, sizeof(ctrl->transport), "%s", nvme_ctrl_get_transport(c));
	snprintf(ctrl->address, sizeof(ctrl->address), "%s", address ? address : "");
	ctrl->fd = dev_open(ctrl->name);
	if (ctrl->fd < 0) {
		rc = ctrl->fd;
		free(ctrl);
		return rc;
	}
	ctrl_namespaces(ctrl, s, c);
	rc = nr_ctrl_build(ctrl->name, &nr_passthru_ops, ctrl, out);
	if (rc)
		pt_ctrl_free(ctrl);
	return rc;
}

static int list_append(struct nr_ctrl ***ctrls, size_t *count, struct nr_ctrl *ctrl)
{
	struct nr_ctrl **grown = realloc(*ctrls, (*count + 1) * sizeof(*grown));

	if (!grown) {
		nr_ctrl_unref(ctrl);
		return -ENOMEM;
	}
	grown[(*count)++] = ctrl;
	*ctrls = grown;
	return 0;
}

int nr_passthru_build(struct nr_ctrl ***ctrls, size_t *count,
		      void (*warn)(const char *what, int neg_errno))
{
	nvme_root_t root = nvme_scan(NULL);
	struct nr_ctrl *ctrl;
	nvme_host_t h;
	nvme_subsystem_t s;
	nvme_ctrl_t c;
	int rc = 0;

	*ctrls = NULL;
	*count = 0;
	if (!root)
		return 0; /* no sysfs nvme class: no devices */
	nvme_for_each_host(root, h)
	{
		nvme_for_each_subsystem(h, s)
		{
			nvme_subsystem_for_each_ctrl(s, c)
			{
				int err = ctrl_build(s, c, &ctrl);
				if (err == 0 && rc)
					nr_ctrl_unref(ctrl);
				else if (err == 0)
					rc = list_append(ctrls, count, ctrl);
				else if (warn)
					warn(nvme_ctrl_get_name(c), err);
			}
		}
	}
	nvme_free_tree(root);
	return rc;
}

void nr_passthru_replace(struct nr_topology *topo, struct nr_ctrl **ctrls, size_t count)
{
	nr_topology_retire(topo, &nr_passthru_ops);
	for (size_t i = 0; i < count; i++) {
		if (nr_topology_insert(topo, ctrls[i]) != 0)
			nr_ctrl_unref(ctrls[i]);
	}
	free(ctrls);
}

int nr_passthru_attach(struct nr_topology *topo, void (*warn)(const char *what, int neg_errno))
{
	struct nr_ctrl **ctrls;
	size_t count;
	int rc = nr_passthru_build(&ctrls, &count, warn);

	if (rc == 0)
		nr_passthru_replace(topo, ctrls, count);
	return rc;
}
