/* SPDX-License-Identifier: MIT */
/*
 * The test NVMe-MI responder (tests/mi/mi_responder*.c): one simulated NVM
 * subsystem per MCTP endpoint, answering NVMe-MI 1.2 messages that the
 * mctp_interpose shim carries over a Unix seqpacket socket.
 */
#ifndef NR_MI_RESPONDER_H
#define NR_MI_RESPONDER_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "backends/sim/sim.h"

/* The shim's datagram header: u32 net (LE), u8 eid, u8 type, u8 tag, u8 0. */
#define MR_WIRE_HDR_LEN 8
/* A message as NVMe-MI sees it: type byte first, MIC last. */
#define MR_MIC_LEN 4
#define MR_ADMIN_DATA_MAX 4096
#define MR_MSG_MAX (68 + MR_ADMIN_DATA_MAX + MR_MIC_LEN)
#define MR_MCTP_TYPE_NVME_MI 0x84 /* type 4 with the Integrity Check bit */

/* Behaviours: how the endpoint misbehaves. Counters of -1 mean forever. Only
 * the loop thread reads or writes them. */
struct mr_behaviour {
	bool silent;		 /* receive and count, never answer */
	uint32_t delay_ms;	 /* before each response, MPR ones included */
	int64_t mpr;		 /* More Processing Required responses before each answer */
	uint16_t mprt;		 /* MPRT in those, 100 ms units */
	int64_t corrupt_mic;	 /* answers left to send with a wrong MIC */
	int64_t short_count;	 /* answers left to truncate */
	uint8_t mi_status;	 /* status answered instead of executing ... */
	int64_t mi_status_count; /* ... for this many requests */
};

/* Counters since start or the last reset_stats; loop thread only. */
struct mr_stats {
	uint64_t requests, mi, admin, other, dropped, responses, mpr_sent;
	uint64_t mi_opcodes[256], admin_opcodes[256];
	uint64_t log_pages[256]; /* tunneled Get Log Page messages by LID */
};

/* MI state a worker thread changes while executing a request: the
 * Configuration Set values and the health status latches. Guarded by
 * mr_endpoint.lock. */
struct mr_mi_state {
	uint8_t smbus_freq;
	uint16_t mctp_mtu;
	uint16_t ccs_latched;				   /* change bits reported until cleared */
	uint8_t ref_ctemp, ref_pdlu, ref_spare, ref_cwarn; /* values at the last clear */
};

struct mr_endpoint {
	uint32_t net;
	uint8_t eid;
	struct nr_sim *sim;
	struct mr_behaviour beh;
	struct mr_stats stats;
	pthread_mutex_t lock;
	struct mr_mi_state mi;
};

/* Port 0, the only port: SMBus/I2C, since the MCTP endpoint lives there. */
#define MR_PORT_MMCTPTUS 250u
#define MR_PORT_MME_FREQ 3u /* 1 MHz, the fastest frequency Configuration Set accepts */
#define MR_MTU_DEFAULT 64u
#define MR_SMBUS_FREQ_DEFAULT 1u /* 100 kHz */

/* Sets the MI state of a fresh endpoint (reads the sim's SMART values). */
void mr_mi_init(struct mr_endpoint *ep);

/* ORs Composite Controller Status change bits into the endpoint's latches, as
 * if those events had happened. Any thread. */
void mr_mi_raise_ccs(struct mr_endpoint *ep, uint16_t bits);

/* CRC-32C (Castagnoli) as NVMe-MI's MIC: initial value all ones, final
 * complement. */
uint32_t mr_crc32c(const void *buf, size_t len);

/*
 * Checks that @msg (type byte first, MIC last) is an NVMe-MI request with a
 * correct MIC. Returns 0, or -EBADMSG when a real endpoint would discard it.
 */
int mr_check_request(const uint8_t *msg, size_t len);

/*
 * Executes one request @req (checked by mr_check_request) on @ep and writes
 * the complete response to @resp (at least MR_MSG_MAX bytes), MIC included.
 * Returns the response length. Runs on a worker thread: it calls the
 * simulator and takes ep->lock.
 */
size_t mr_execute(struct mr_endpoint *ep, const uint8_t *req, size_t req_len, uint8_t *resp);

/* Writes an error response with MI status @status to @req into @resp (12
 * bytes with MIC). Returns its length. */
size_t mr_error_response(const uint8_t *req, uint8_t status, uint32_t nmresp, uint8_t *resp);

/* Writes a More Processing Required response (MPRT @mprt) into @resp.
 * Returns its length. */
size_t mr_mpr_response(const uint8_t *req, uint16_t mprt, uint8_t *resp);

/* The process: endpoints from the configuration and the two sockets. Only the
 * loop thread touches it, apart from what mr_endpoint says. */
struct mr_server {
	uv_loop_t *loop;
	struct mr_endpoint *eps;
	size_t nr_eps;
	int listen_fd;
	uv_poll_t listen_poll;
	uv_pipe_t control;
	uv_signal_t sigint, sigterm;
	bool verbose;
};

/* Returns the endpoint at (@net, @eid), borrowed, or NULL. */
struct mr_endpoint *mr_find_endpoint(struct mr_server *srv, uint32_t net, uint8_t eid);

/* Listens for control connections on @path. Returns 0 or -errno. */
int mr_control_start(struct mr_server *srv, const char *path);

/* Closes a control handle (the listener or a client) as part of shutdown. */
void mr_control_close(uv_handle_t *h, struct mr_server *srv);

/*
 * Parses a behaviour object into @beh, changing only the keys present.
 * @obj is borrowed. Returns 0, or -EINVAL with a sentence in @err.
 */
int mr_behaviour_parse(const json_t *obj, struct mr_behaviour *beh, uint16_t *ccs_events, char *err,
		       size_t err_len);

#endif
