/* SPDX-License-Identifier: MIT */
/* The planner's shared state and helpers (plan_diff.c: namespaces and the
 * order; plan_settings.c: features, zones and firmware). Loop thread. */
#ifndef NR_PLAN_INT_H
#define NR_PLAN_INT_H

#include "methods/plan.h"

#define PLAN_PATH "params.desired"
#define PLAN_ZONE_OPS_MAX 256 /* zones a plan resets or finishes one by one */

enum plan_phase {
	P_DETACH,
	P_DELETE,
	P_CREATE,
	P_ATTACH,
	P_FORMAT,
	P_FEATURE,
	P_ZONE,
	P_FW,
	P_COUNT
};

struct plan_differ {
	struct nr_service *svc;
	const struct nr_ctrl *ctrl;
	json_t *state, *desired;
	json_t *phase[P_COUNT]; /* operations per phase */
	json_t *diff;
	json_t *error; /* the first problem found */
	json_int_t cntlid;
	json_int_t need, freed; /* bytes the creates need, the deletes free */
};

/* Records an InvalidParams error for the JSON path @fmt (printf-style) of the
 * desired document, unless one is recorded; returns -EINVAL. */
int plan_invalid(struct plan_differ *d, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The integer at @key of @obj (0 when absent). */
json_int_t plan_int(json_t *obj, const char *key);
/* Appends to @phase the call of @method with @params (stolen; the device is
 * added unless given), described by @sentence, with @before and @after
 * (stolen, NULL for null); one the controller cannot run carries the
 * NotSupported error it will fail with. Returns the operation (borrowed). */
json_t *plan_op_add(struct plan_differ *d, enum plan_phase phase, const char *method,
		    json_t *params, json_t *before, json_t *after, const char *sentence);
/* Appends a change of the state at @path (@before and @after stolen). */
void plan_diff_add(struct plan_differ *d, const char *path, json_t *before, json_t *after);

/* Each plans its part of the desired document; 0 or -EINVAL. */
int plan_features(struct plan_differ *d);
int plan_zones(struct plan_differ *d);
int plan_firmware(struct plan_differ *d);

#endif
