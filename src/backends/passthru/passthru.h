/* SPDX-License-Identifier: MIT */
/*
 * The Linux passthru backend: controllers and namespaces found by libnvme's
 * sysfs scan, commands sent with the NVMe passthru ioctls. Admin commands go
 * to the controller's character device (/dev/nvme0); I/O and zone commands
 * to the namespace's generic character device (/dev/ng0n1) where present,
 * else its block device.
 */
#ifndef NR_PASSTHRU_H
#define NR_PASSTHRU_H

#include <jansson.h>

#include <stddef.h>

#include "nvme/backend.h"
#include "nvme/topology.h"

extern const struct nr_backend_ops nr_passthru_ops;

/*
 * Scans sysfs and builds every NVMe controller found (nr_ctrl_build: the
 * Identify commands are sent here), named as the kernel names it. A
 * controller that cannot be opened or identified is skipped and reported
 * through @warn (may be NULL). Blocking, no JSON: runs on a worker thread
 * for a rescan. Returns 0 with a malloc'd array (possibly empty) or -ENOMEM.
 */
int nr_passthru_build(struct nr_ctrl ***ctrls, size_t *count,
		      void (*warn)(const char *what, int neg_errno));

/* Whether commands may go through io_uring from the loop thread (default
 * yes, where the kernel takes them; --no-io-uring). Before the first command. */
void nr_passthru_uring(bool on);

/* Builds and lists the host's controllers in @topo (at start). Returns 0 or -ENOMEM. */
int nr_passthru_attach(struct nr_topology *topo, void (*warn)(const char *what, int neg_errno));

/*
 * Replaces the listed passthru controllers with the freshly built @ctrls
 * (stolen, with the array): calls in flight on the old ones finish on them.
 * Loop thread.
 */
void nr_passthru_replace(struct nr_topology *topo, struct nr_ctrl **ctrls, size_t count);

/*
 * The host rescan (nvme.rescan, and the relearn op after a lifecycle change
 * on a host controller): rebuilds every host controller on a worker, lists
 * them in place of the old entries, then answers @call with @result (stolen;
 * a failed scan adds "topology_error"), or with nvme.list's result when
 * @result is NULL (a failed scan is then the call's error). Loop thread.
 */
void nr_passthru_relearn(struct nr_call *call, json_t *result);

#endif
