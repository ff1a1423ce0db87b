/* SPDX-License-Identifier: MIT */
/*
 * Internal model of the simulated subsystem, shared by the sim_*.c files:
 * sim.c (lifecycle, dispatch, error log, reset), sim_identify.c, sim_log.c
 * (Get Log Page), sim_feat.c (Get / Set Features), sim_nsmgmt.c (namespace
 * management, attachment, Format NVM), sim_maint.c (sanitize, device
 * self-test, firmware), sim_zns.c (zones) and sim_config.c (descriptions).
 * Not part of the library's interface.
 */
#ifndef NR_SIM_INT_H
#define NR_SIM_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <libnvme.h>

#include "nvme/nvme_cmd.h"
#include "backends/sim/sim.h"

#define SIM_NQN_MAX 223 /* NVMe NQN without the terminating NUL */
#define SIM_MAX_SUBSYS 64
#define SIM_MAX_CTRLS 64 /* per subsystem: one bit each in sim_ns.attached */
#define SIM_MAX_NS 1024	 /* per subsystem: one Active Namespace ID list */
#define SIM_MAX_ZONES 16777216u
#define SIM_MAX_BLOCKS (1ull << 48)
#define SIM_MAX_LATENCY_US 10000000u
#define SIM_MIN_NN 32u	/* Identify Controller NN when no nsid is higher */
#define SIM_NO_LIMIT 0u /* max_open / max_active: unlimited */
#define SIM_NSID_ALL 0xffffffffu
#define SIM_IDENTIFY_LEN 4096u

#define SIM_LBAF_MAX 3	    /* 512, 4096 and a configured size outside those */
#define SIM_ERR_ENTRIES 64u /* Error Information log entries (ELPE + 1) */
#define SIM_CHANGED_NS_MAX 1024u
#define SIM_DST_RESULTS 20u
#define SIM_FW_SLOTS_MAX 7u
#define SIM_FW_REV_LEN 8u
#define SIM_FW_MAX_BYTES (1u << 20)
#define SIM_PEL_MAX_EVENTS 64u
#define SIM_PEL_EVENT_MAX 64u /* bytes of event data, header excluded */
#define SIM_TEMP_SENSORS 2u   /* composite (TMPSEL 0) and sensor 1 */
#define SIM_IRQ_VECTORS 64u
#define SIM_NPSS 2u /* power states 0, 1 operational; 2 non-operational */

/* Timing defaults, overridable per controller in the description. */
#define SIM_DST_SHORT_MS 2000u
#define SIM_DST_EXTENDED_MS 5000u
#define SIM_SANITIZE_MS 2000u

#define SIM_ZDES_MAX 4u	     /* descriptor extension, 64-byte units */
#define SIM_ZEXT_CHUNK 4096u /* zones per lazily allocated extension chunk */

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
	uint32_t ext_bytes; /* descriptor extension size (ZDES * 64), 0 for none */
	/* With ext_bytes: one pointer per SIM_ZEXT_CHUNK zones, each chunk
	 * allocated when a zone in it first gets an extension. NULL otherwise. */
	struct sim_zext_chunk **ext;
};

/* Namespace Write Protection states (Set Features 84h, WPS). */
enum sim_wps {
	SIM_WPS_NONE = 0,
	SIM_WPS_PROTECT = 1,
	SIM_WPS_UNTIL_POWER_CYCLE = 2,
	SIM_WPS_PERMANENT = 3,
};

/* An allocated namespace; active on the controllers set in @attached. */
struct sim_ns {
	uint32_t nsid;
	uint32_t lba_size; /* of the current format */
	uint8_t lbads;	   /* log2(lba_size) */
	uint8_t nlbaf;	   /* formats in lbaf_size, 0-based as NLBAF */
	uint8_t flbas;	   /* bits 3:0 format index, bit 4 MSET */
	uint8_t nmic;	   /* bit 0: may be attached to several controllers */
	uint32_t lbaf_size[SIM_LBAF_MAX];
	uint64_t blocks;
	uint64_t bytes;	   /* allocated capacity, kept across formats */
	uint64_t attached; /* bit i: controller i of the subsystem */
	uint8_t nguid[16];
	uint8_t eui64[8];
	struct sim_zoned *zoned; /* NULL for a conventional namespace */
	/* namespace-specific features */
	uint32_t err_rec, err_rec_saved;   /* 05h */
	uint8_t wps;			   /* 84h, enum sim_wps */
	uint8_t lbart_num;		   /* 03h: entries - 1 */
	struct nvme_lba_range_type *lbart; /* 03h; NULL: the default single range */
};

/* A recorded Persistent Event log entry: header fields and its data. */
struct sim_pel_event {
	uint8_t type;
	uint16_t cntlid;
	uint64_t timestamp_ms;
	uint16_t len;
	uint8_t data[SIM_PEL_EVENT_MAX];
};

/* Sanitize state of the subsystem (the operation is subsystem-wide). */
struct sim_sanitize {
	bool running;
	uint16_t sstat; /* Sanitize Status log SSTAT */
	uint32_t cdw10; /* of the most recent Sanitize command */
	uint64_t start_ms, dur_ms;
	uint16_t cntlid; /* controller that started it */
};

struct sim_subsys {
	pthread_mutex_t lock; /* guards everything below and every controller's state */
	char nqn[SIM_NQN_MAX + 1];
	struct sim_ns *ns; /* allocated namespaces, sorted by nsid */
	size_t nr_ns;
	size_t ns_cap; /* slots allocated in ns */
	struct nr_sim_ctrl *ctrls;
	size_t nr_ctrls;
	uint32_t nn;	    /* Identify Controller NN */
	uint32_t index;	    /* position in the description */
	uint64_t capacity;  /* TNVMCAP in bytes */
	uint32_t ns_serial; /* namespaces created, makes NGUIDs unique */
	struct sim_sanitize sanitize;
	struct sim_pel_event *pel; /* ring of SIM_PEL_MAX_EVENTS */
	uint32_t pel_count;	   /* events ever recorded */
	uint16_t pel_gen;
};

/* Activity counters reported in the SMART / Health log. */
struct sim_stats {
	uint64_t reads;		/* commands that returned data */
	uint64_t writes;	/* write commands: zone send, zone append */
	uint64_t units_written; /* 512-byte units appended */
	uint64_t busy_us;
	uint64_t power_cycles;
};

/* Controller features whose value is per controller (sim_feat.c). */
struct sim_feats {
	uint32_t dw[256]; /* the Dword 11 style value of simple features, by FID */
	uint16_t temp[SIM_TEMP_SENSORS][2]; /* [sensor][0 over, 1 under] */
	uint64_t irq_cd;		    /* 09h: Coalescing Disable per vector */
	struct nvme_feat_auto_pst apst;	    /* 0Ch data */
	struct nvme_host_mem_buf_attrs hmb; /* 0Dh data (cdw12..15 of the Set) */
	uint8_t host_behavior[512];	    /* 16h data */
	struct nvme_plm_config plm;	    /* 13h data */
	uint32_t plm_lpe;		    /* 13h: Predictable Latency Enable */
	uint32_t plm_window;		    /* 14h: window select */
	uint32_t rrl;			    /* 12h */
	uint32_t endgrp_cw;		    /* 18h: critical warnings of group 1 */
};

struct sim_dst {
	uint8_t op; /* 0 none, 1 short, 2 extended */
	uint32_t nsid;
	uint64_t start_ms, dur_ms;
	struct nvme_st_result results[SIM_DST_RESULTS]; /* newest first */
};

struct sim_fw {
	uint8_t nr_slots;
	uint8_t active; /* 1-based slot running now */
	uint8_t next;	/* slot to activate at the next reset, 0 none */
	uint8_t fwug;	/* Identify Controller FWUG (4 KiB units) */
	char slot[SIM_FW_SLOTS_MAX][SIM_FW_REV_LEN + 1];
	uint8_t *image;	    /* download buffer, SIM_FW_MAX_BYTES, lazily allocated */
	uint8_t *loaded;    /* bit per dword received */
	uint32_t image_end; /* bytes: highest offset + length received */
};

/* Which commands a fault hits, and how many more (0: every one). */
struct sim_fault_match {
	bool on;
	int16_t opcode; /* -1: any */
	int8_t queue;	/* -1: any, else enum nr_queue */
	uint32_t count; /* commands left to hit; 0: no limit */
};

/* The faults injected into one controller (docs/simulator.md, Faults). */
struct sim_faults {
	uint32_t delay_us; /* slept before every command, outside any lock */
	struct sim_fault_match status;
	uint16_t status_value; /* SCT, SC and DNR as in the CQE status field */
	struct sim_fault_match hang;
	bool removed;
};

/* SMART / Health values sim.fault's "health" overrides (test only): each
 * applies when its bit of @set is on; the rest keep the simulator's values. */
enum {
	SIM_HEALTH_CW = 1u << 0,
	SIM_HEALTH_TEMP = 1u << 1,
	SIM_HEALTH_SPARE = 1u << 2,
	SIM_HEALTH_USED = 1u << 3,
	SIM_HEALTH_MEDIA = 1u << 4,
};

struct sim_health {
	uint8_t set;
	uint8_t critical_warning; /* ORed into the log's own bits */
	uint16_t temp_kelvin;	  /* composite temperature */
	uint8_t avail_spare;
	uint8_t percent_used;
	uint64_t media_errors;
};

/* A fault description as parsed: which kinds it names. */
struct sim_fault_spec {
	struct sim_faults faults;
	bool has_delay, has_status, has_hang;
	bool clear; /* sim.fault only: drop every fault but a removal first */
};

struct nr_sim_ctrl {
	struct sim_subsys *subsys;
	char sn[21];
	char mn[41];
	char fr[9];
	char name[16]; /* "sim<index>" */
	uint16_t cntlid;
	uint32_t slot; /* index within the subsystem: the bit in sim_ns.attached */
	uint32_t latency_us;
	uint32_t dst_short_ms, dst_ext_ms, sanitize_ms;
	/* everything below is under subsys->lock */
	struct sim_stats stats;
	struct timespec born;
	struct sim_feats feat, feat_saved;
	uint64_t ts_base_ms, ts_set_at_ms; /* Timestamp feature: value at set time */
	uint8_t ts_origin;
	struct nvme_error_log_page errors[SIM_ERR_ENTRIES]; /* ring, newest at err_head-1 */
	uint64_t err_count;
	uint16_t err_param; /* parameter error location of the running command */
	uint64_t err_lba;
	uint32_t changed_ns[SIM_CHANGED_NS_MAX];
	uint32_t nr_changed_ns; /* > SIM_CHANGED_NS_MAX: overflowed */
	struct sim_dst dst;
	struct sim_fw fw;
	uint8_t tel_host_gen, tel_ctrl_gen, tel_ctrl_avail;
	bool tel_host_created;
	bool pel_ctx;		/* a Persistent Event log context is established */
	uint32_t pel_ctx_count; /* events in the context */
	/* Faults: under fault_lock, not the subsystem's, so the loop thread
	 * (sim.fault, abort, probe) never waits for a long command. */
	pthread_mutex_t fault_lock;
	struct sim_faults faults;
	bool faults_armed; /* nr_sim_faults_arm or sim.fault ran */
	uint32_t held;	   /* commands a hang holds */
	uint64_t commands; /* commands submitted to it (sim.fault reports them) */
	struct sim_health health;
	struct nr_cmd held_cmd; /* the newest one: its SQE for the Error log */
};

struct nr_sim {
	struct sim_subsys *subsys;
	size_t nr_subsys;
	struct nr_sim_ctrl *ctrls;
	size_t nr_ctrls;
};

/* Parameter error location: byte offset in the SQE and bit, as the Error
 * Information log encodes it. */
#define SIM_PARAM(byte, bit) ((uint16_t)((byte) | (bit) << 8))
#define SIM_PARAM_NONE 0xffffu

/* sim.c */
int sim_alloc(size_t nr_subsys, size_t nr_ctrls, struct nr_sim **out);
int sim_ns_init(struct sim_subsys *subsys, struct sim_ns *ns);
int sim_finish(struct nr_sim *sim);
struct sim_ns *sim_ns_find(struct sim_subsys *subsys, uint32_t nsid);
struct sim_ns *sim_ns_active(struct nr_sim_ctrl *ctrl, uint32_t nsid);
bool sim_nsid_valid(const struct sim_subsys *subsys, uint32_t nsid);
uint16_t sim_error(uint8_t sct, uint8_t sc);
uint16_t sim_field_error(struct nr_sim_ctrl *ctrl, uint8_t byte, uint8_t bit);
int sim_xfer_check(const struct nr_cmd *cmd, uint64_t need);
int sim_xfer_in_check(const struct nr_cmd *cmd, uint64_t need);
uint64_t sim_now_ms(void);
uint64_t sim_poh(const struct nr_sim_ctrl *ctrl);
void sim_pad_copy(char *dst, size_t len, const char *src);
void sim_le128_put(uint8_t out[16], uint64_t lo, uint64_t hi);
uint64_t sim_allocated_bytes(const struct sim_subsys *subsys);
void sim_changed_ns(struct nr_sim_ctrl *ctrl, uint32_t nsid);
void sim_changed_ns_all(struct sim_subsys *subsys, uint64_t ctrl_mask, uint32_t nsid);

/* sim_config.c: a "faults" object at @path; @runtime allows "clear". */
int sim_faults_parse(const json_t *obj, const char *path, bool runtime, struct sim_fault_spec *spec,
		     char *err, size_t err_len);

/* sim_fault.c */
int sim_fault_apply(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd, uint16_t *status);
int sim_fault_abort(struct nr_sim_ctrl *ctrl);
int sim_fault_probe(struct nr_sim_ctrl *ctrl);
/* Any thread: whether a delay fault makes the next command sleep. */
bool sim_fault_sleeps(struct nr_sim_ctrl *ctrl);

/* sim_health.c: applies sim.fault's health overrides to a SMART log; the
 * caller holds subsys->lock (the fault lock is taken inside it, never the
 * other way round). */
void sim_health_apply(struct nr_sim_ctrl *ctrl, struct nvme_smart_log *log);

/* sim_identify.c */
int sim_identify(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd);
void sim_lbaf_init(struct sim_ns *ns, uint32_t lba_size);

/* sim_log.c */
int sim_get_log(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd);
void sim_error_record(struct nr_sim_ctrl *ctrl, const struct nr_cmd *cmd);
void sim_pel_add(struct nr_sim_ctrl *ctrl, uint8_t type, const void *data, uint16_t len);
void sim_pel_reset_event(struct nr_sim_ctrl *ctrl, bool fw_activated);
uint64_t sim_timestamp_ms(const struct nr_sim_ctrl *ctrl);

/* sim_feat.c */
int sim_get_features(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd);
int sim_set_features(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd);
void sim_feats_default(struct sim_feats *feat);
void sim_feats_reset(struct nr_sim_ctrl *ctrl);
void sim_ns_feats_default(struct sim_ns *ns);
bool sim_temp_warning(const struct nr_sim_ctrl *ctrl);

/* sim_nsmgmt.c */
int sim_ns_mgmt(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd);
int sim_ns_attach(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd);
int sim_format(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd);
void sim_ns_release(struct sim_ns *ns);

/* sim_maint.c */
int sim_sanitize(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd);
int sim_self_test(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd);
int sim_fw_download(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd);
int sim_fw_commit(struct nr_sim_ctrl *ctrl, struct nr_cmd *cmd);
void sim_tick(struct nr_sim_ctrl *ctrl);
void sim_dst_abort(struct nr_sim_ctrl *ctrl, uint8_t result);
void sim_dst_abort_ns(struct sim_subsys *subsys, uint32_t nsid, uint8_t result);
uint16_t sim_sprog(const struct sim_subsys *subsys);
uint8_t sim_dst_progress(const struct nr_sim_ctrl *ctrl);
bool sim_fw_reset(struct nr_sim_ctrl *ctrl);

/* sim_zns.c */
int sim_zoned_alloc(struct sim_ns *ns, uint64_t zone_size, uint64_t zone_cap, uint32_t nr_zones,
		    uint32_t max_open, uint32_t max_active, uint32_t zdes);
void sim_zoned_free(struct sim_zoned *zoned);
void sim_zone_set(struct sim_zoned *zoned, uint32_t zone, enum sim_zone state, uint32_t wp);
void sim_zones_reset_all(struct sim_zoned *zoned);
uint8_t sim_zs_code(enum sim_zone state);
int sim_zone_recv(struct nr_sim_ctrl *ctrl, struct sim_ns *ns, struct nr_cmd *cmd);
int sim_zone_send(struct nr_sim_ctrl *ctrl, struct sim_ns *ns, struct nr_cmd *cmd);
int sim_zone_append(struct nr_sim_ctrl *ctrl, struct sim_ns *ns, struct nr_cmd *cmd);

#endif
