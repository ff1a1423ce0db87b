/* SPDX-License-Identifier: MIT */
#include "passthru.h"

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
	int fd; /* for I/O commands */
	char name[NR_NAME_MAX];
	char generic[NR_NAME_MAX];
};

struct pt_ctrl {
	char name[NR_NAME_MAX];
	int fd; /* the controller character device, for admin commands */
	struct pt_ns ns[PT_MAX_NS];
	size_t ns_count;
};

struct nr_passthru {
	struct pt_ctrl **ctrls;
	size_t count;
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

static int pt_ns_names(void *backend_ctrl, uint32_t nsid, char *name, char *alias, size_t len)
{
	struct pt_ns *ns = ns_find(backend_ctrl, nsid);

	if (!ns)
		return -ENOENT;
	snprintf(name, len, "%s", ns->name);
	snprintf(alias, len, "%s", ns->generic);
	return 0;
}

const struct nr_backend_ops nr_passthru_ops = {
	.name = "passthru",
	.submit = pt_submit,
	.ns_names = pt_ns_names,
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
	if (ns->fd < 0)
		ns->fd = dev_open(ns->name);
}

/* Namespaces this controller reaches: its own (no multipath) and the
 * subsystem's shared heads with a path through it. */
static void ctrl_namespaces(struct pt_ctrl *ctrl, nvme_subsystem_t s, nvme_ctrl_t c)
{
	nvme_ns_t n;
	nvme_path_t p;

	nvme_ctrl_for_each_ns(c, n)
		ns_add(ctrl, n);
	nvme_subsystem_for_each_ns(s, n) {
		nvme_namespace_for_each_path(n, p) {
			if (nvme_path_get_ctrl(p) == c)
				ns_add(ctrl, n);
		}
	}
}

static void pt_ctrl_free(struct pt_ctrl *ctrl)
{
	for (size_t i = 0; i < ctrl->ns_count; i++) {
		if (ctrl->ns[i].fd >= 0)
			close(ctrl->ns[i].fd);
	}
	if (ctrl->fd >= 0)
		close(ctrl->fd);
	free(ctrl);
}

static int ctrl_add(struct nr_passthru *pt, struct nr_topology *topo, nvme_subsystem_t s,
		    nvme_ctrl_t c)
{
	struct pt_ctrl *ctrl = calloc(1, sizeof(*ctrl));
	struct pt_ctrl **grown;
	int rc;

	if (!ctrl)
		return -ENOMEM;
	snprintf(ctrl->name, sizeof(ctrl->name), "%s", nvme_ctrl_get_name(c));
	ctrl->fd = dev_open(ctrl->name);
	if (ctrl->fd < 0) {
		rc = ctrl->fd;
		free(ctrl);
		return rc;
	}
	ctrl_namespaces(ctrl, s, c);
	grown = realloc(pt->ctrls, (pt->count + 1) * sizeof(*grown));
	if (!grown) {
		pt_ctrl_free(ctrl);
		return -ENOMEM;
	}
	pt->ctrls = grown;
	pt->ctrls[pt->count++] = ctrl;
	return nr_topology_add_ctrl_named(topo, ctrl->name, &nr_passthru_ops, ctrl);
}

int nr_passthru_scan(struct nr_topology *topo, struct nr_passthru **out,
		     void (*warn)(const char *what, int neg_errno))
{
	struct nr_passthru *pt = calloc(1, sizeof(*pt));
	nvme_root_t root;
	nvme_host_t h;
	nvme_subsystem_t s;
	nvme_ctrl_t c;
	int rc;

	if (!pt)
		return -ENOMEM;
	*out = pt;
	root = nvme_scan(NULL);
	if (!root)
		return 0; /* no sysfs nvme class: no devices */
	nvme_for_each_host(root, h) {
		nvme_for_each_subsystem(h, s) {
			nvme_subsystem_for_each_ctrl(s, c) {
				rc = ctrl_add(pt, topo, s, c);
				if (rc && warn)
					warn(nvme_ctrl_get_name(c), rc);
			}
		}
	}
	nvme_free_tree(root);
	return 0;
}

void nr_passthru_free(struct nr_passthru *pt)
{
	if (!pt)
		return;
	for (size_t i = 0; i < pt->count; i++)
		pt_ctrl_free(pt->ctrls[i]);
	free(pt->ctrls);
	free(pt);
}
