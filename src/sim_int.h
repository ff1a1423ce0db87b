/* SPDX-License-Identifier: MIT */
/*
 * Internal model of the simulated subsystem, shared by sim.c (lifecycle,
 * dispatch, identify, logs), sim_zns.c (zone management) and sim_config.c
 * (default and JSON descriptions). Not part of the library's interface.
 */
#ifndef NR_SIM_INT_H
#define NR_SIM_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "nvme_cmd.h"
#include "sim.h"

#define SIM_NQN_MAX 223 /* NVMe NQN without the terminating NUL */
#define SIM_MAX_SUBSYS 64
#define SIM_MAX_CTRLS 64 /* per subsystem */
#define SIM_MAX_NS 1024	 /* per subsystem: one Active Namespace ID list */
#define SIM_MAX_ZONES 16777216u
#define SIM_MAX_BLOCKS (1ull << 48)
#define SIM_MAX_LATENCY_US 10000000u
#define SIM_MIN_NN 32u	/* Identify Controller NN when no nsid is higher */
#define SIM_NO_LIMIT 0u /* max_open / max_active: unlimited */

/*
 * Zone states as stored: a compact code so a freshly calloc'ed array means
 * "every zone empty" and costs nothing until touched. sim_zs_code maps a
 * code to the descriptor's ZS value.
 */
enum sim_zone {
	SIM_Z_EMPTY = 0,
	SIM_Z_IMPL_OPEN,
	SIM_Z_EXPL_OPEN,
	SIM_Z_CLOSED,
	SIM_Z_READ_ONLY,
	SIM_Z_FULL,
	SIM_Z_OFFLINE,
	SIM_Z_COUNT,
};

struct sim_zoned {
	uint64_t zone_size; /* LBAs per zone (ZSZE) */
	uint64_t zone_cap;  /* writable LBAs per zone (ZCAP), <= zone_size */
	uint32_t nr_zones;
	uint32_t max_open;   /* SIM_NO_LIMIT or 1..nr_zones */
	uint32_t max_active; /* SIM_NO_LIMIT or 1..nr_zones */
	uint8_t *state;	     /* enum sim_zone per zone */
	uint32_t *wp;	     /* write pointer offset from the zone's first LBA */
	uint32_t count[SIM_Z_COUNT];
};

struct sim_ns {
	uint32_t nsid;
	uint32_t lba_size;
	uint8_t lbads; /* log2(lba_size) */
	uint64_t blocks;
	uint8_t nguid[16];
	uint8_t eui64[8];
	struct sim_zoned *zoned; /* NULL for a conventional namespace */
};

struct sim_subsys {
	pthread_mutex_t lock; /* guards zone state and controller counters */
	char nqn[SIM_NQN_MAX + 1];
	struct sim_ns *ns; /* sorted by nsid */
	size_t nr_ns;
	size_t nr_ctrls;
	uint32_t nn;	/* Identify Controller NN */
	uint32_t index; /* position in the description */
};

/* Activity counters reported in the SMART / Health log. */
struct sim_stats {
	uint64_t reads;	 /* commands that returned data */
	uint64_t writes; /* commands that changed zone state */
	uint64_t busy_us;
};

struct nr_sim_ctrl {
	struct sim_subsys *subsys;
	char sn[21];
	char mn[41];
	char fr[9];
	char name[16]; /* "sim<index>" */
	uint16_t cntlid;
	uint32_t latency_us;
	struct sim_stats stats; /* under subsys->lock */
	struct timespec born;
};

struct nr_sim {
	struct sim_subsys *subsys;
	size_t nr_subsys;
	struct nr_sim_ctrl *ctrls;
	size_t nr_ctrls;
};

/* sim.c */
int sim_alloc(size_t nr_subsys, size_t nr_ctrls, struct nr_sim **out);
int sim_ns_init(struct sim_subsys *subsys, struct sim_ns *ns);
int sim_finish(struct nr_sim *sim);
struct sim_ns *sim_ns_find(struct sim_subsys *subsys, uint32_t nsid);
uint16_t sim_error(uint8_t sct, uint8_t sc);
int sim_xfer_check(const struct nr_cmd *cmd, uint64_t need);

/* sim_zns.c */
int sim_zoned_alloc(struct sim_ns *ns, uint64_t zone_size, uint64_t zone_cap, uint32_t nr_zones,
		    uint32_t max_open, uint32_t max_active);
void sim_zoned_free(struct sim_zoned *zoned);
void sim_zone_set(struct sim_zoned *zoned, uint32_t zone, enum sim_zone state, uint32_t wp);
uint8_t sim_zs_code(enum sim_zone state);
int sim_zone_recv(struct sim_ns *ns, struct nr_cmd *cmd);
int sim_zone_send(struct sim_ns *ns, struct nr_cmd *cmd);

#endif
