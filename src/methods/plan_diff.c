/* SPDX-License-Identifier: MIT */
/*
 * From a controller's current state (plan_state.c) and a desired state to
 * the ordered operations between them (docs/desired-state.md). Every
 * operation is a call of an existing method, with the class that method
 * and its params have. Order: detaches, then deletes and creates (creates
 * first when the unallocated capacity holds them and no NSID is reused,
 * else deletes first), attaches, formats, features, zones, and firmware
 * download and commit last. A check that fails names the JSON path of the
 * desired document it is about.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/plan_int.h"
#include "nvme/topology.h"
#include "rpc/rpc_error.h"
#include "util/sha256.h"

#define NEW_NS_LBA_SIZE 512

/* Records an InvalidParams error for @path (printf-style); returns -EINVAL. */
int plan_invalid(struct plan_differ *d, const char *reason, const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (!d->error)
		d->error = nr_rpc_error_invalid_params(path, reason);
	return -EINVAL;
}

json_int_t plan_int(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

/* Why the controller cannot run @method: NULL when it can. */
static const char *unsupported(struct plan_differ *d, const char *method)
{
	const struct nr_schema_method *sm = nr_schema_method(d->svc->schema, method);
	json_int_t oacs = plan_int(json_object_get(d->state, "controller"), "oacs");

	if (!sm || !(sm->backends & nr_schema_backend_bit(d->ctrl->ops->name)))
		return "the device's backend does not support this method";
	if (strncmp(method, "nvme.ns_", 8) == 0 && !(oacs & (1 << 3)))
		return "the controller has no namespace management (OACS bit 3)";
	if (strcmp(method, "nvme.format") == 0 && !(oacs & (1 << 1)))
		return "the controller has no Format NVM (OACS bit 1)";
	if (strncmp(method, "nvme.fw_", 8) == 0 && !(oacs & (1 << 2)))
		return "the controller has no firmware download and commit (OACS bit 2)";
	return NULL;
}

/*
 * Appends to @phase the call of @method with @params (stolen; the device is
 * added unless given), described by @sentence, with @before and @after
 * (stolen, may be NULL for null). An operation the controller cannot run
 * gets the NotSupported error it will fail with.
 */
json_t *plan_op_add(struct plan_differ *d, enum plan_phase phase, const char *method,
		    json_t *params, json_t *before, json_t *after, const char *sentence)
{
	const struct nr_schema_method *sm = nr_schema_method(d->svc->schema, method);
	const char *why = unsupported(d, method);
	enum nr_class cls;
	json_t *op;

	if (!json_object_get(params, "device"))
		json_object_set_new(params, "device", json_string(d->ctrl->name));
	cls = sm ? nr_schema_call_class(d->svc->schema, sm, params, NULL) : NR_CLASS_DESTRUCTIVE;
	op = json_pack("{s:s, s:o, s:s, s:s, s:o, s:o}", "method", method, "params", params,
		       "class", nr_class_name(cls), "sentence", sentence, "before",
		       before ? before : json_null(), "after", after ? after : json_null());
	if (why)
		json_object_set_new(
		    op, "error",
		    nr_rpc_error_object(
			NR_E_NOT_SUPPORTED, why,
			json_pack("{s:s, s:s}", "device", d->ctrl->name, "method", method)));
	json_array_append_new(d->phase[phase], op);
	return op;
}

void plan_diff_add(struct plan_differ *d, const char *path, json_t *before, json_t *after)
{
	json_array_append_new(d->diff, json_pack("{s:s, s:o, s:o}", "path", path, "before",
						 before ? before : json_null(), "after",
						 after ? after : json_null()));
}

/* ---- namespaces -------------------------------------------------------- */

static json_t *ns_current(struct plan_differ *d, json_int_t nsid)
{
	json_t *ns;
	size_t i;

	json_array_foreach (json_object_get(d->state, "namespaces"), i, ns) {
		if (plan_int(ns, "nsid") == nsid)
			return ns;
	}
	return NULL;
}

static json_t *ns_summary(json_int_t nsid, json_int_t size, json_int_t lba_size, json_t *ctrls)
{
	return json_pack("{s:I, s:I, s:I, s:O}", "nsid", nsid, "size", size, "lba_size", lba_size,
			 "controllers", ctrls);
}

static json_t *ns_summary_of(json_t *cur)
{
	return ns_summary(plan_int(cur, "nsid"), plan_int(cur, "size"), plan_int(cur, "lba_size"),
			  json_object_get(cur, "controllers"));
}

static bool id_in(json_t *list, json_t *id)
{
	json_t *x;
	size_t i;

	json_array_foreach (list, i, x) {
		if (json_integer_value(x) == json_integer_value(id))
			return true;
	}
	return false;
}

/* The members of @a not in @b: a new array. */
static json_t *ids_minus(json_t *a, json_t *b)
{
	json_t *out = json_array(), *x;
	size_t i;

	json_array_foreach (a, i, x) {
		if (!id_in(b, x))
			json_array_append(out, x);
	}
	return out;
}

/* "1, 2" into @buf: the controller IDs of @ids (the first ones, when many). */
static const char *ids_text(json_t *ids, char *buf, size_t len)
{
	size_t used = 0;
	json_t *id;
	size_t i;

	buf[0] = '\0';
	json_array_foreach (ids, i, id) {
		int n = snprintf(buf + used, len - used, "%s%lld", i ? ", " : "",
				 (long long)json_integer_value(id));
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

static void op_detach(struct plan_differ *d, json_int_t nsid, json_t *ctrls, json_t *remaining,
		      const char *why)
{
	char sentence[200], ids[96];

	if (json_array_size(ctrls) == 0)
		return;
	snprintf(sentence, sizeof(sentence), "detach namespace %lld from controller%s %s: %s",
		 (long long)nsid, json_array_size(ctrls) > 1 ? "s" : "",
		 ids_text(ctrls, ids, sizeof(ids)), why);
	plan_op_add(
	    d, P_DETACH, "nvme.ns_detach",
	    json_pack("{s:I, s:O}", "nsid", nsid, "controllers", ctrls),
	    json_pack("{s:O}", "controllers", json_object_get(ns_current(d, nsid), "controllers")),
	    json_pack("{s:O}", "controllers", remaining), sentence);
}

static void op_attach(struct plan_differ *d, json_int_t nsid, json_t *ctrls, json_t *before,
		      json_t *after)
{
	char sentence[160], ids[96];

	if (json_array_size(ctrls) == 0)
		return;
	snprintf(sentence, sizeof(sentence), "attach namespace %lld to controller%s %s",
		 (long long)nsid, json_array_size(ctrls) > 1 ? "s" : "",
		 ids_text(ctrls, ids, sizeof(ids)));
	plan_op_add(d, P_ATTACH, "nvme.ns_attach",
		    json_pack("{s:I, s:O}", "nsid", nsid, "controllers", ctrls),
		    json_pack("{s:O}", "controllers", before),
		    json_pack("{s:O}", "controllers", after), sentence);
}

/* Detaches @cur from every controller, then deletes it. */
static void plan_remove(struct plan_differ *d, json_t *cur, const char *why)
{
	json_int_t nsid = plan_int(cur, "nsid");
	json_t *empty = json_array();
	char sentence[160];

	op_detach(d, nsid, json_object_get(cur, "controllers"), empty, "it is deleted next");
	json_decref(empty);
	snprintf(sentence, sizeof(sentence), "delete namespace %lld%s", (long long)nsid, why);
	plan_op_add(d, P_DELETE, "nvme.ns_delete", json_pack("{s:I}", "nsid", nsid),
		    ns_summary_of(cur), NULL, sentence);
	d->freed += plan_int(cur, "nvmcap") ? plan_int(cur, "nvmcap") : plan_int(cur, "size");
}

static void plan_create(struct plan_differ *d, json_int_t nsid, json_int_t size,
			json_int_t lba_size, json_t *ctrls)
{
	json_t *none = json_array(), *params;
	char sentence[160];

	snprintf(sentence, sizeof(sentence),
		 "create namespace %lld: %lld bytes in blocks of %lld bytes", (long long)nsid,
		 (long long)size, (long long)lba_size);
	params = json_pack("{s:I, s:I}", "nsze", size / lba_size, "lba_size", lba_size);
	/* More than one controller: it must be shared (NMIC bit 0) to attach to them all. */
	if (json_array_size(ctrls) > 1)
		json_object_set_new(params, "nmic", json_integer(1));
	plan_op_add(d, P_CREATE, "nvme.ns_create", params, NULL,
		    ns_summary(nsid, size, lba_size, none), sentence);
	/* Where the controller's answer must put it: m_plan.c checks. */
	json_object_set_new(
	    json_array_get(d->phase[P_CREATE], json_array_size(d->phase[P_CREATE]) - 1), "nsid",
	    json_integer(nsid));
	op_attach(d, nsid, ctrls, none, ctrls);
	json_decref(none);
	d->need += size;
}

/* The index of the metadata-free LBA format of @lba_size in @cur, or -1. */
static json_int_t lbaf_of(json_t *cur, json_int_t lba_size)
{
	json_t *lbaf;
	size_t i;

	json_array_foreach (json_object_get(cur, "lbafs"), i, lbaf) {
		if (plan_int(lbaf, "lba_size") == lba_size && plan_int(lbaf, "ms") == 0)
			return (json_int_t)i;
	}
	return -1;
}

static int plan_format(struct plan_differ *d, size_t i, json_t *cur, json_int_t lba_size,
		       json_t *ctrls)
{
	json_int_t nsid = plan_int(cur, "nsid"), lbaf = lbaf_of(cur, lba_size);
	json_t *cntlid = json_integer(d->cntlid);
	char sentence[160];
	bool reachable = id_in(ctrls, cntlid);

	json_decref(cntlid);
	if (lbaf < 0)
		return plan_invalid(d,
				    "the namespace offers no metadata-free LBA format of that size",
				    PLAN_PATH ".namespaces[%zu].lba_size", i);
	if (!reachable)
		return plan_invalid(d, "formatting needs the namespace attached to this controller",
				    PLAN_PATH ".namespaces[%zu].controllers", i);
	snprintf(sentence, sizeof(sentence),
		 "format namespace %lld to LBA format %lld (%lld-byte blocks): its data is lost",
		 (long long)nsid, (long long)lbaf, (long long)lba_size);
	plan_op_add(d, P_FORMAT, "nvme.format", json_pack("{s:I, s:I}", "nsid", nsid, "lbaf", lbaf),
		    json_pack("{s:I}", "lba_size", plan_int(cur, "lba_size")),
		    json_pack("{s:I}", "lba_size", lba_size), sentence);
	return 0;
}

/* An existing namespace kept: its size, format and attachments. */
static int plan_keep(struct plan_differ *d, size_t i, json_t *want, json_t *cur, json_t *ctrls)
{
	json_int_t size =
	    json_object_get(want, "size") ? plan_int(want, "size") : plan_int(cur, "size");
	json_int_t lba = json_object_get(want, "lba_size") ? plan_int(want, "lba_size")
							   : plan_int(cur, "lba_size");
	json_int_t nsid = plan_int(cur, "nsid");
	json_t *have = json_object_get(cur, "controllers"), *gone, *added;

	if (size != plan_int(cur, "size")) {
		plan_remove(d, cur,
			    ": its size changes, so it is created again and its data is lost");
		plan_create(d, nsid, size, lba, ctrls);
		return 0;
	}
	gone = ids_minus(have, ctrls);
	added = ids_minus(ctrls, have);
	op_detach(d, nsid, gone, ctrls, "no longer wanted");
	op_attach(d, nsid, added, have, ctrls);
	json_decref(gone);
	json_decref(added);
	if (lba != plan_int(cur, "lba_size"))
		return plan_format(d, i, cur, lba, ctrls);
	return 0;
}

static int check_ns_entry(struct plan_differ *d, size_t i, json_t *want, json_t *cur,
			  json_t **ctrls)
{
	json_int_t lba = json_object_get(want, "lba_size") ? plan_int(want, "lba_size")
			 : cur				   ? plan_int(cur, "lba_size")
							   : NEW_NS_LBA_SIZE;
	json_t *size = json_object_get(want, "size");

	if (json_object_get(want, "controllers"))
		*ctrls = json_incref(json_object_get(want, "controllers"));
	else
		*ctrls = json_pack("[I]", d->cntlid);
	if (!cur && !size)
		return plan_invalid(d, "is required to create the namespace",
				    PLAN_PATH ".namespaces[%zu].size", i);
	if (size && json_integer_value(size) % lba)
		return plan_invalid(d, "must be a multiple of the LBA size",
				    PLAN_PATH ".namespaces[%zu].size", i);
	return 0;
}

static bool ns_present(json_t *want)
{
	json_t *state = json_object_get(want, "state");

	return !state || strcmp(json_string_value(state), "absent") != 0;
}

static size_t ops_count(struct plan_differ *d)
{
	size_t n = 0;

	for (int i = 0; i < P_COUNT; i++)
		n += json_array_size(d->phase[i]);
	return n;
}

/* A present namespace: created, kept as is, or changed. */
static int plan_ns_present(struct plan_differ *d, size_t i, json_t *want, json_t *cur)
{
	json_t *ctrls = NULL;
	json_int_t lba =
	    json_object_get(want, "lba_size") ? plan_int(want, "lba_size") : NEW_NS_LBA_SIZE;
	int rc = check_ns_entry(d, i, want, cur, &ctrls);

	if (rc == 0 && cur)
		rc = plan_keep(d, i, want, cur, ctrls);
	else if (rc == 0)
		plan_create(d, plan_int(want, "nsid"), plan_int(want, "size"), lba, ctrls);
	json_decref(ctrls);
	return rc;
}

static int plan_ns_entry(struct plan_differ *d, size_t i, json_t *want)
{
	json_int_t nsid = plan_int(want, "nsid");
	json_t *cur = ns_current(d, nsid);
	size_t before = ops_count(d);
	char path[48];

	snprintf(path, sizeof(path), "namespaces[nsid=%lld]", (long long)nsid);
	if (!ns_present(want)) {
		if (cur) {
			plan_remove(d, cur, "");
			plan_diff_add(d, path, ns_summary_of(cur), NULL);
		}
		return 0;
	}
	if (plan_ns_present(d, i, want, cur))
		return -EINVAL;
	if (ops_count(d) > before)
		plan_diff_add(d, path, cur ? ns_summary_of(cur) : NULL, json_deep_copy(want));
	return 0;
}

static int check_ns_unique(struct plan_differ *d, json_t *list)
{
	json_t *a, *b;
	size_t i, j;

	json_array_foreach (list, i, a) {
		for (j = 0; j < i; j++) {
			b = json_array_get(list, j);
			if (plan_int(a, "nsid") == plan_int(b, "nsid"))
				return plan_invalid(d, "names the same nsid as an earlier entry",
						    PLAN_PATH ".namespaces[%zu].nsid", i);
		}
		if (plan_int(a, "nsid") > plan_int(json_object_get(d->state, "controller"), "nn"))
			return plan_invalid(d,
					    "is above the controller's number of namespaces (nn)",
					    PLAN_PATH ".namespaces[%zu].nsid", i);
	}
	return 0;
}

/* The desired index of the entry for @nsid. */
static size_t desired_index(struct plan_differ *d, json_int_t nsid)
{
	json_t *want;
	size_t i;

	json_array_foreach (json_object_get(d->desired, "namespaces"), i, want) {
		if (plan_int(want, "nsid") == nsid)
			break;
	}
	return i;
}

/*
 * Whether each create gets the NSID it wants: the controller allocates the
 * lowest free one. @deleted_first: the deletes have freed theirs. Records
 * the problem when @report.
 */
static bool nsids_predicted(struct plan_differ *d, bool deleted_first, bool report)
{
	json_t *op, *taken = json_array(), *ns, *id;
	size_t i;
	bool ok = true;

	json_array_foreach (json_object_get(d->state, "namespaces"), i, ns)
		json_array_append(taken, json_object_get(ns, "nsid"));
	if (deleted_first) {
		json_array_foreach (d->phase[P_DELETE], i, op) {
			for (size_t j = 0; j < json_array_size(taken); j++) {
				if (json_integer_value(json_array_get(taken, j)) ==
				    plan_int(json_object_get(op, "params"), "nsid"))
					json_array_remove(taken, j--);
			}
		}
	}
	json_array_foreach (d->phase[P_CREATE], i, op) {
		json_int_t want = plan_int(op, "nsid"), next = 1;
		for (id = json_integer(next); id_in(taken, id); json_integer_set(id, ++next))
			;
		json_array_append_new(taken, id);
		if (next != want) {
			ok = false;
			if (report)
				plan_invalid(d,
					     "a new namespace gets the lowest free NSID: list new "
					     "namespaces so that they fill the lowest free NSIDs",
					     PLAN_PATH ".namespaces[%zu].nsid",
					     desired_index(d, want));
			break;
		}
	}
	json_decref(taken);
	return ok;
}

static int op_nsid_cmp(const void *a, const void *b)
{
	json_int_t x = plan_int(*(json_t *const *)a, "nsid"),
		   y = plan_int(*(json_t *const *)b, "nsid");

	return (x > y) - (x < y);
}

/* Creates in NSID order, as the controller allocates them. */
static void sort_creates(struct plan_differ *d)
{
	size_t n = json_array_size(d->phase[P_CREATE]);
	json_t **ops = calloc(n ? n : 1, sizeof(*ops)), *sorted = json_array();

	for (size_t i = 0; ops && i < n; i++)
		ops[i] = json_array_get(d->phase[P_CREATE], i);
	if (ops)
		qsort(ops, n, sizeof(*ops), op_nsid_cmp);
	for (size_t i = 0; ops && i < n; i++)
		json_array_append(sorted, ops[i]);
	free(ops);
	if (json_array_size(sorted) == n) {
		json_decref(d->phase[P_CREATE]);
		d->phase[P_CREATE] = sorted;
		return;
	}
	json_decref(sorted);
}

/* A controller that reports no capacity (TNVMCAP 0): the device decides
 * whether the creates fit; the deletes go first when the NSIDs allow. */
static int order_unknown_capacity(struct plan_differ *d)
{
	if (nsids_predicted(d, true, false))
		return 0;
	return nsids_predicted(d, false, true) ? 1 : -EINVAL;
}

/* Returns whether the creates go before the deletes (1: they fit in the
 * unallocated capacity and get their NSIDs so), 0 when the deletes must go
 * first, or -EINVAL. */
static int order_creates(struct plan_differ *d)
{
	json_t *ctrl = json_object_get(d->state, "controller");
	json_int_t free_bytes = plan_int(ctrl, "unvmcap");
	char reason[192];

	sort_creates(d);
	if (json_array_size(d->phase[P_CREATE]) == 0)
		return 0;
	if (plan_int(ctrl, "tnvmcap") == 0)
		return order_unknown_capacity(d);
	if (d->need <= free_bytes && nsids_predicted(d, false, false))
		return 1;
	if (d->need > free_bytes + d->freed) {
		snprintf(reason, sizeof(reason),
			 "the new namespaces need %lld bytes; the controller has %lld unallocated, "
			 "%lld after the deletions",
			 (long long)d->need, (long long)free_bytes,
			 (long long)(free_bytes + d->freed));
		return plan_invalid(d, reason, PLAN_PATH ".namespaces");
	}
	return nsids_predicted(d, true, true) ? 0 : -EINVAL;
}

static int plan_namespaces(struct plan_differ *d)
{
	json_t *list = json_object_get(d->desired, "namespaces"), *want;
	size_t i;

	if (check_ns_unique(d, list))
		return -EINVAL;
	json_array_foreach (list, i, want) {
		if (plan_ns_entry(d, i, want))
			return -EINVAL;
	}
	return order_creates(d);
}

/* ---- the plan ---------------------------------------------------------- */

static json_t *ordered(struct plan_differ *d, bool creates_first)
{
	static const enum plan_phase deletes_first_order[] = {
	    P_DETACH, P_DELETE, P_CREATE, P_ATTACH, P_FORMAT, P_FEATURE, P_ZONE, P_FW};
	static const enum plan_phase creates_first_order[] = {
	    P_DETACH, P_CREATE, P_ATTACH, P_DELETE, P_FORMAT, P_FEATURE, P_ZONE, P_FW};
	const enum plan_phase *order = creates_first ? creates_first_order : deletes_first_order;
	json_t *ops = json_array();

	for (int i = 0; i < P_COUNT; i++)
		json_array_extend(ops, d->phase[order[i]]);
	return ops;
}

int plan_diff(const struct nr_service *svc, const struct nr_ctrl *ctrl, json_t *state,
	      json_t *desired, json_t **ops, json_t **diff, json_t **error)
{
	struct plan_differ d = {.svc = (struct nr_service *)svc,
				.ctrl = ctrl,
				.state = state,
				.desired = desired,
				.diff = json_array()};
	int rc;

	*ops = NULL;
	*diff = NULL;
	d.cntlid = plan_int(json_object_get(state, "controller"), "cntlid");
	for (int i = 0; i < P_COUNT; i++)
		d.phase[i] = json_array();
	rc = plan_namespaces(&d);
	if (rc >= 0 && plan_features(&d) == 0 && plan_zones(&d) == 0 && plan_firmware(&d) == 0) {
		*ops = ordered(&d, rc == 1);
		*diff = d.diff;
	} else {
		json_decref(d.diff);
	}
	for (int i = 0; i < P_COUNT; i++)
		json_decref(d.phase[i]);
	*error = d.error;
	return d.error ? -EINVAL : 0;
}

json_t *plan_digest(json_t *state)
{
	char *text = json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS);
	uint8_t sum[NR_SHA256_LEN];
	char hex[2 * NR_SHA256_LEN + 1];

	if (!text)
		return NULL;
	nr_sha256(text, strlen(text), sum);
	free(text);
	for (size_t i = 0; i < NR_SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", sum[i]);
	return json_string(hex);
}
