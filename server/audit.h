/* SPDX-License-Identifier: MIT */
/*
 * The audit log: every write or destructive call, allowed or not, to syslog
 * and the log, one line each:
 *
 *   audit: uid=1000 pid=42 gid=1000 params=sha256:<64 hex> duration_ms=12.345
 *          method=nvme.format device=sim0 outcome=ok
 *
 * (one line; the outcome last, so that a reader can match the end). A refused
 * call has duration_ms=0.000.
 *
 * The digest is over the params as compact JSON with sorted keys, where a
 * payload ("data", "image") is replaced by its length in base64 characters:
 * it tells which call this was without ever logging a firmware image or
 * written data.
 */
#ifndef NR_AUDIT_H
#define NR_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "rpc/policy.h"

/* The nr_service audit hook. Loop thread. */
void nr_audit_log(const struct nr_peer *peer, const char *method, const json_t *params, int code,
		  uint64_t duration_us);

/* Writes "sha256:<hex>" for @params (the digest above) into @out (80 bytes). */
void nr_audit_params_digest(const json_t *params, char out[80]);

#endif
