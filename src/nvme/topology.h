/* SPDX-License-Identifier: MIT */
/*
 * The known devices. A client's device name is resolved against this list
 * only; it is never opened as a path.
 */
#ifndef NR_TOPOLOGY_H
#define NR_TOPOLOGY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "nvme/backend.h"
#include "rpc/exec.h"

#define NR_NAME_MAX 64

struct nr_ns;

struct nr_ctrl {
	char name[NR_NAME_MAX];
	char transport[16];
	char address[NR_NAME_MAX];
	unsigned refs;		   /* the topology's, plus one per call addressing it */
	bool gone;		   /* unlisted: replaced by a rescan, or the device vanished */
	struct nr_ctrl *successor; /* the entry a rescan listed in its place
				    * (referenced); NULL while listed or removed */
	const struct nr_backend_ops *ops;
	void *backend_ctrl;
	char sn[21];
	char mn[41];
	char fr[9];
	char subnqn[257];
	uint16_t cntlid;
	uint8_t oacs_lo;
	/* Identify Controller capabilities, cached so a method can refuse an
	 * unsupported operation before sending anything. */
	uint16_t oacs;	  /* optional admin commands: bit 3 namespace management */
	uint16_t oncs;	  /* optional NVM commands */
	uint8_t fna;	  /* format NVM attributes */
	uint8_t frmw;	  /* firmware updates: slots, slot 1 read-only */
	uint8_t lpa;	  /* log page attributes */
	uint8_t elpe;	  /* error log page entries, 0's based */
	uint8_t mdts;	  /* maximum data transfer size, 2^n minimum pages; 0: no limit */
	uint8_t fwug;	  /* firmware update granularity, 4 KiB units; 0: none given, FFh: none */
	uint32_t sanicap; /* sanitize capabilities */
	uint32_t nn;	  /* number of namespaces */
	struct nr_devq *fifo; /* referenced: one command in flight per device,
			       * shared with the entries it replaced and with
			       * the controllers behind one NVMe-MI endpoint */
	uint32_t write_limit; /* data bytes one command can carry to the controller
			       * over its transport; 0: MDTS only (reads larger
			       * than a message are the backend's to split) */
	bool hidden;	      /* resolvable by name, not listed (an MI endpoint) */
	struct nr_ns **namespaces;
	size_t ns_count;
};

struct nr_ns {
	char name[NR_NAME_MAX];
	char alias[NR_NAME_MAX]; /* "ng0n1" for "nvme0n1"; may be empty */
	uint32_t nsid;
	uint8_t csi;
	uint64_t nsze;
	uint64_t ncap;
	uint64_t nuse;
	uint32_t lba_size;
	uint64_t zone_size; /* blocks; 0 when not zoned */
	uint64_t nr_zones;
	uint32_t zdes_bytes; /* zone descriptor extension size (ZDES * 64), 0 for none */
	struct nr_ctrl *ctrl;
};

struct nr_device {
	struct nr_ctrl *ctrl;
	struct nr_ns *ns; /* NULL when the name is a controller */
};

struct nr_topology;

struct nr_topology *nr_topology_new(void);
void nr_topology_free(struct nr_topology *topo);

/*
 * Adds a controller reached through @ops and learns its identity and
 * namespaces by issuing Identify commands through it (synchronously: call
 * before the loop serves requests). @prefix names it: "sim" gives sim0,
 * sim0n1... Returns 0 or -errno (-EIO when the controller answered Identify
 * with an error status).
 */
int nr_topology_add_ctrl(struct nr_topology *topo, const char *prefix,
			 const struct nr_backend_ops *ops, void *backend_ctrl);

/* The same, with the controller's name given ("nvme0", as the host names it). */
int nr_topology_add_ctrl_named(struct nr_topology *topo, const char *name,
			       const struct nr_backend_ops *ops, void *backend_ctrl);

/*
 * The two halves of adding: nr_ctrl_build learns a controller through its
 * backend (blocking I/O, no JSON: any thread) and returns it with one
 * reference; nr_topology_insert (loop thread) lists it, taking that
 * reference. Returns 0 or -errno; on error the backend controller is left to
 * the caller.
 */
int nr_ctrl_build(const char *name, const struct nr_backend_ops *ops, void *backend_ctrl,
		  struct nr_ctrl **out);
int nr_topology_insert(struct nr_topology *topo, struct nr_ctrl *ctrl);

/*
 * A controller entry that is not a controller: a name that resolves (an
 * NVMe-MI endpoint, "mctp:1,8") and a FIFO that real controllers may share,
 * with no identity learned and not listed by nvme.list. Returns it with one
 * reference, or NULL when out of memory. Any thread.
 */
struct nr_ctrl *nr_ctrl_new_hidden(const char *name, const struct nr_backend_ops *ops,
				   void *backend_ctrl);

/* Unlists @ctrl (marked gone, the topology's reference dropped); calls in
 * flight on it finish. Returns 0, or -ENOENT when it was not listed. Loop thread. */
int nr_topology_remove(struct nr_topology *topo, struct nr_ctrl *ctrl);

/* Unlists every controller whose backend's probe says it went away
 * (-ENODEV: a simulated removal), or that a command found gone where the
 * backend has a probe; calls in flight finish. The entry is kept aside for
 * nr_topology_restore. Loop thread. */
void nr_topology_drop_vanished(struct nr_topology *topo);

/*
 * Lists again the controllers nr_topology_drop_vanished unlisted whose probe
 * now says they are back (a simulated re-insertion), each as a fresh entry
 * of the same name, learnt through the backend on this thread, so only one
 * whose commands never block (runs_inline) is restored; another waits for a
 * later call. Returns how many were listed. Loop thread (nvme.rescan).
 */
size_t nr_topology_restore(struct nr_topology *topo);

/* The entry named @name, listed or unlisted by nr_topology_drop_vanished,
 * gone or not; hidden ones excluded. Borrowed, NULL when none. Loop thread. */
struct nr_ctrl *nr_topology_find_any(struct nr_topology *topo, const char *name);

/* Unlists every controller of backend @ops: marked gone, freed (with its
 * backend controller) once no call holds it. Loop thread. */
void nr_topology_retire(struct nr_topology *topo, const struct nr_backend_ops *ops);

void nr_ctrl_ref(struct nr_ctrl *ctrl);
void nr_ctrl_unref(struct nr_ctrl *ctrl);

/* Makes @ctrl queue on @with's FIFO, dropping its own. Only for an entry no
 * work has been queued on yet. Loop thread. */
void nr_ctrl_share_fifo(struct nr_ctrl *ctrl, const struct nr_ctrl *with);

/* Whether @ctrl's device was removed (hot removal, a rescan that no longer
 * finds it), following the entries that replaced it. Loop thread. */
bool nr_ctrl_removed(const struct nr_ctrl *ctrl);

/* Resolves a name ("nvme0n1", "ng0n1", or either with a "/dev/" prefix),
 * comparing it with the known names only; a namespace reached by several
 * controllers resolves through the first one not gone. Returns 0 or -ENODEV. */
int nr_topology_find(struct nr_topology *topo, const char *name, struct nr_device *out);

/* Another path to @dev's namespace: a live controller of the same subsystem,
 * on the same backend, that reaches the same nsid (multipath). Returns 0 with
 * *@out set (the reference is the topology's), or -ENODEV. */
int nr_topology_other_path(struct nr_topology *topo, const struct nr_device *dev,
			   struct nr_device *out);

/* Backends present, as a JSON array of names. New reference. */
json_t *nr_topology_backends(const struct nr_topology *topo);

/* The nvme.list result. New reference. */
json_t *nr_topology_list(const struct nr_topology *topo);

/*
 * Lists @fresh (its reference stolen) where @old is, marks @old gone and
 * drops the topology's reference to it. @fresh takes over @old's FIFO and
 * becomes its successor: calls in flight on @old keep working on it (it is
 * the same device), serialised with new calls on @fresh. When @old is not
 * listed, @fresh is appended. Returns 0 or -ENOMEM (then @fresh is left to
 * the caller). Loop thread.
 */
int nr_topology_replace(struct nr_topology *topo, struct nr_ctrl *old, struct nr_ctrl *fresh);

size_t nr_topology_ctrl_count(const struct nr_topology *topo);
struct nr_ctrl *nr_topology_ctrl_at(struct nr_topology *topo, size_t index);

#endif
