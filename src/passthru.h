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

#include <stddef.h>

#include "backend.h"
#include "topology.h"

extern const struct nr_backend_ops nr_passthru_ops;

struct nr_passthru;

/*
 * Scans sysfs and adds every NVMe controller found to @topo, named as the
 * kernel names it. A controller that cannot be opened or identified is
 * skipped with a sentence in the log callback's words. Returns 0 (also
 * when there is no NVMe device at all) or -ENOMEM. Loop thread, before
 * serving.
 */
int nr_passthru_scan(struct nr_topology *topo, struct nr_passthru **out,
		     void (*warn)(const char *what, int neg_errno));

void nr_passthru_free(struct nr_passthru *pt);

#endif
