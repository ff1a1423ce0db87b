/* SPDX-License-Identifier: MIT */
/*
 * nvme.plan and nvme.apply (docs/desired-state.md): reading a controller's
 * current state through inner calls (plan_state.c) and computing the ordered
 * operations that take it to a desired state (plan_diff.c). Loop thread.
 */
#ifndef NR_PLAN_H
#define NR_PLAN_H

#include <jansson.h>
#include <stdint.h>

#include "methods/inner.h"
#include "rpc/call.h"

struct plan_read;

/* The state read, or @error (borrowed) when it could not be read. @state is
 * borrowed: take a reference to keep it. */
typedef void (*plan_read_done_fn)(void *opaque, json_t *state, json_t *error);

/*
 * Reads the state of controller @device that @desired (borrowed, validated
 * against the schema) speaks of, through @inner, acting for the caller:
 * Identify Controller, the allocated namespaces with their Identify and
 * attached controllers, the features, the firmware slots and the zones
 * named. @done runs once, later or before this returns. Returns the reader
 * (freed with plan_read_free once done ran) or NULL when out of memory.
 */
struct plan_read *plan_read_start(struct nr_inner *inner, const struct nr_ctrl *ctrl,
				  json_t *desired, plan_read_done_fn done, void *opaque);
void plan_read_free(struct plan_read *r);

/* Builds the plan from @state (borrowed, from plan_read) and @desired
 * (borrowed): on success *ops gets the ordered operations and *diff the
 * changes (new references) and 0 is returned; otherwise *error gets the
 * InvalidParams error naming the JSON path of the desired document
 * ("params.desired.namespaces[2].size") and -EINVAL is returned. @ctrl
 * gives the device name, its backend and its namespaces' names. */
int plan_diff(const struct nr_service *svc, const struct nr_ctrl *ctrl, json_t *state,
	      json_t *desired, json_t **ops, json_t **diff, json_t **error);

/* Firmware images by file name in the configured directory (plan_fw.c). */
#define PLAN_FW_MAX (64 << 20)
/* Whether @name can be read as an image from @dir (NULL: none configured):
 * 0, or -errno with why in @why. Loop thread (no read). */
int plan_fw_check(const char *dir, const char *name, char *why, size_t why_len);
/* Reads the image: 0 with *data (malloc'd) and *len, or -errno. Any thread. */
int plan_fw_read(const char *dir, const char *name, uint8_t **data, size_t *len);

/* The digest of @state: a new lowercase hex SHA-256 string of its
 * canonical text (keys sorted). */
json_t *plan_digest(json_t *state);

#endif
