/* SPDX-License-Identifier: MIT */
/*
 * The NVMe-MI backend: NVMe-MI over MCTP through libnvme-mi, as a BMC talks
 * to a drive out of band. An endpoint ("mctp:1,8") is a hidden controller
 * entry in the topology whose FIFO every controller behind it
 * ("mctp:1,8:0") shares, so one MI request at a time is outstanding per
 * endpoint. Admin commands are tunneled (NVMe-MI "NVMe Admin Command");
 * the MI command set (health poll, read data structure, configuration) has
 * its own entry point. Endpoints that keep timing out are quarantined;
 * identical reads that arrive while one is in flight share its answer.
 */
#ifndef NR_MI_H
#define NR_MI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "nvme/backend.h"
#include "nvme/topology.h"

#define NR_MI_DEFAULT_TIMEOUT_MS 1000u	  /* one MI request (libnvme-mi's default) */
#define NR_MI_DEFAULT_QUARANTINE_AFTER 3u /* consecutive timeouts */
#define NR_MI_DEFAULT_QUARANTINE_MS 30000u
#define NR_MI_MAX_STATIC 256
#define NR_MI_XFER_MAX 4096u /* NVMe-MI 1.2: data in one Admin command message */
/* Format, sanitize, firmware commit, namespace management, self-test: the
 * endpoint timeout while one of these is outstanding (then restored). */
#define NR_MI_LONG_TIMEOUT_MS 10000u

struct nr_service;
struct nr_call;
struct nr_mi;
struct nr_mi_ep;

struct nr_mi_addr {
	uint32_t net;
	uint8_t eid;
};

struct nr_mi_config {
	uint32_t timeout_ms;	   /* per MI request, set on the endpoint */
	uint32_t deadline_ms;	   /* one request including More Processing Required */
	uint32_t quarantine_after; /* consecutive timeouts before quarantine */
	uint32_t quarantine_ms;	   /* how long a quarantined endpoint is refused */
	bool dbus;		   /* discover endpoints from the MCTP daemon */
	char dbus_address[256];	   /* "" for the system bus */
	struct nr_mi_addr endpoints[NR_MI_MAX_STATIC]; /* static, from the config file */
	size_t endpoint_count;
};

/* Controller and endpoint entries. */
extern const struct nr_backend_ops nr_mi_ops;
extern const struct nr_backend_ops nr_mi_ep_ops;

/* The defaults: no endpoints, no D-Bus. */
void nr_mi_config_init(struct nr_mi_config *cfg, uint32_t deadline_ms);

/*
 * Reads the "mi" object of the config file into @cfg (defaults kept where
 * absent). @obj is borrowed. Returns 0, or -EINVAL with a sentence in @err
 * naming the offending key.
 */
int nr_mi_config_parse(const json_t *obj, struct nr_mi_config *cfg, char *err, size_t err_len);

/* Creates the backend for @svc (svc->mi). Returns 0 or -ENOMEM. Loop thread. */
int nr_mi_new(struct nr_service *svc, const struct nr_mi_config *cfg);
void nr_mi_free(struct nr_mi *mi);

/*
 * Discovers endpoints (config, then D-Bus), lists new ones, unlists those
 * gone, and learns every endpoint's controllers through its own FIFO, in
 * parallel across endpoints. Answers @call (may be NULL: at start) with a
 * summary once every endpoint finished or failed. Loop thread.
 */
void nr_mi_scan(struct nr_mi *mi, struct nr_call *call);

/*
 * The scan at start: nr_mi_scan(@mi, NULL), then @done(@arg) once every
 * endpoint finished or failed (the topology is known: the daemon tells
 * systemd it is ready). Loop thread.
 */
void nr_mi_scan_first(struct nr_mi *mi, void (*done)(void *arg), void *arg);

/*
 * After a namespace or format change on a controller behind an endpoint:
 * re-learns that endpoint's controllers (through its FIFO, after the
 * change) and then answers @call with @result (stolen). Loop thread.
 */
void nr_mi_refresh_answer(struct nr_call *call, json_t *result);

/* The mi.endpoints result: every endpoint with its state. New reference. */
json_t *nr_mi_endpoints_json(struct nr_mi *mi);

/* The endpoint behind an MI controller or endpoint entry; NULL for other
 * backends. Borrowed. */
struct nr_mi_ep *nr_mi_ep_of(const struct nr_ctrl *ctrl);

/* The NVMe-MI command set, as sent (NVMe-MI 1.2 "NVMe-MI Commands"). */
enum nr_mi_opcode {
	NR_MI_READ_DATA = 0x00,
	NR_MI_HEALTH_POLL = 0x01,
	NR_MI_CONFIG_SET = 0x03,
	NR_MI_CONFIG_GET = 0x04,
};

struct nr_mi_cmd {
	enum nr_mi_opcode opcode;
	uint32_t dw0; /* request dword 0, as on the wire */
	uint32_t dw1;
	/* completion */
	uint8_t mi_status;  /* nonzero: the endpoint refused or failed it */
	uint32_t nmresp;    /* configuration get: the response dword's 23:0 */
	uint8_t data[4096]; /* read data and health poll: the structure */
	bool shared;	    /* the answer of an identical request in flight */
};

/*
 * Sends one MI command to @ep and waits. Worker thread, through the
 * endpoint's FIFO. Returns 0 when the endpoint answered (cmd->mi_status
 * may hold an error status), or -errno: -ETIMEDOUT (no answer within the
 * endpoint timeout or the deadline), -EBADMSG (integrity check failed),
 * -EPROTO (malformed), -EHOSTDOWN (quarantined).
 */
int nr_mi_exec(struct nr_mi_ep *ep, struct nr_mi_cmd *cmd);

/* Worker thread: bounds every poll() this thread makes until cleared (0)
 * to end by @deadline_ns (CLOCK_MONOTONIC): mi_deadline.c. */
void nr_mi_deadline_set(uint64_t deadline_ns);

#endif
