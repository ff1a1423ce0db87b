/* SPDX-License-Identifier: MIT */
/* The NVMe-MI backend's internals, shared by mi.c, mi_scan.c and m_mi.c. */
#ifndef NR_MI_INT_H
#define NR_MI_INT_H

#include <libnvme-mi.h>
#include <pthread.h>

#include "backends/mi/mi.h"

#define MI_RECENT 8	/* answers kept for identical requests queued behind */
#define MI_MAX_CTRLS 64 /* controllers behind one endpoint */

struct nr_mi {
	struct nr_service *svc;
	struct nr_mi_config cfg;
	struct nr_mi_ep **eps; /* listed endpoints, each holding a reference */
	size_t ep_count;
	uint64_t scans;
	void (*first_done)(void *arg); /* nr_mi_scan_first's, until it ran */
	void *first_arg;
};

/* What a request got back: shared by identical requests. */
struct mi_answer {
	int rc;
	uint8_t mi_status;
	uint16_t status;
	uint32_t result; /* CQE dword 0, or the MI response dword */
	uint32_t result_hi;
	uint32_t len; /* data bytes */
};

struct mi_recent {
	bool valid;
	uint8_t key[96];
	size_t key_len;
	struct mi_answer answer;
	uint8_t *data;
	uint64_t arrived_ns; /* when the request that got it was queued */
	uint64_t done_ns;
};

/* Read by the loop thread for mi.endpoints and admission, under the lock. */
struct mi_ep_state {
	bool opened;
	uint64_t requests;
	uint64_t errors;
	uint64_t timeouts;
	uint64_t coalesced;
	uint64_t quarantines;
	uint32_t consecutive_timeouts;
	uint64_t quarantined_until_ms; /* CLOCK_MONOTONIC; in the past: not quarantined */
	int last_errno;
	int scan_rc; /* how the last scan of it ended: 0 or -errno */
	uint8_t scan_mi_status;
};

struct nr_mi_ep {
	unsigned refs; /* loop thread: the list, the entry, each controller */
	struct nr_mi *mi;
	struct nr_mi_addr addr;
	char name[NR_NAME_MAX]; /* "mctp:1,8" */
	char source[64];	/* "config", or the D-Bus service that listed it */
	struct nr_ctrl *entry;	/* hidden topology entry: the name and the FIFO */
	/* worker thread, one at a time through the FIFO */
	nvme_root_t root;
	nvme_mi_ep_t handle;
	nvme_mi_ctrl_t ctrls[MI_MAX_CTRLS];
	uint16_t ctrl_ids[MI_MAX_CTRLS];
	size_t ctrl_count;
	struct mi_recent recent[MI_RECENT];
	unsigned recent_next;
	/* both threads */
	pthread_mutex_t lock;
	struct mi_ep_state st;
};

/* A controller behind an endpoint: nr_mi_ops' backend controller. Once
 * listed it holds a reference to the endpoint and to its entry. */
struct mi_ctrl {
	struct nr_mi_ep *ep;
	uint16_t id;
};

struct nr_mi_ep *mi_ep_new(struct nr_mi *mi, struct nr_mi_addr addr, const char *source);
void mi_ep_ref(struct nr_mi_ep *ep);
void mi_ep_unref(struct nr_mi_ep *ep);
int mi_ep_admit(struct nr_mi_ep *ep);
int mi_ep_open(struct nr_mi_ep *ep);
nvme_mi_ctrl_t mi_ep_ctrl(struct nr_mi_ep *ep, uint16_t id);

#endif
