/* SPDX-License-Identifier: MIT */
/*
 * Reading a controller's current state for nvme.plan and nvme.apply: a
 * queue of read calls made through the inner session (so the caller's
 * policy applies to them too), each answer stored into one JSON document.
 * The document holds only what the desired state can speak of, so its
 * digest changes exactly when the plan could.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/plan.h"
#include "nvme/topology.h"
#include "rpc/rpc_error.h"

struct plan_read;

/* Stores one answer (@result or @error, borrowed) with @arg (the step's);
 * returns 0, or -1 after setting r->fail. */
typedef int (*store_fn)(struct plan_read *r, json_t *arg, json_t *result, json_t *error);

struct read_step {
	const char *method;
	json_t *params;
	store_fn store;
	json_t *arg;
};

struct plan_read {
	struct nr_inner *inner;
	char device[NR_NAME_MAX];
	json_t *desired; /* referenced */
	json_t *state;
	struct read_step *steps;
	size_t count, cap, next;
	json_t *fail;  /* the error that ended the read */
	bool sending;  /* inside nr_inner_call */
	bool answered; /* and the answer came before it returned */
	plan_read_done_fn done;
	void *opaque;
};

/* Queues a read of @method with @params and @arg (both stolen). */
static int push(struct plan_read *r, const char *method, json_t *params, store_fn store,
		json_t *arg)
{
	struct read_step *grown;

	if (r->count == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		grown = realloc(r->steps, cap * sizeof(*grown));
		if (!grown) {
			json_decref(params);
			json_decref(arg);
			return -ENOMEM;
		}
		r->steps = grown;
		r->cap = cap;
	}
	json_object_set_new(params, "device", json_string(r->device));
	r->steps[r->count++] = (struct read_step){method, params, store, arg};
	return 0;
}

static int fail(struct plan_read *r, json_t *error)
{
	if (!r->fail)
		r->fail = error;
	else
		json_decref(error);
	return -1;
}

static int fail_copy(struct plan_read *r, json_t *error)
{
	return fail(r, json_incref(error));
}

static int out_of_memory(struct plan_read *r)
{
	return fail(r, nr_rpc_error_object(NR_E_INTERNAL, "out of memory", NULL));
}

/* A U128 decimal string or an integer, as an integer (saturating). */
static json_int_t bytes_of(json_t *value)
{
	if (json_is_integer(value))
		return json_integer_value(value);
	if (json_is_string(value))
		return (json_int_t)strtoll(json_string_value(value), NULL, 10);
	return 0;
}

static uint64_t u64_of(json_t *obj, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(obj, key));
}

/* The state's namespace entry for @nsid, created in NSID order. Borrowed. */
static json_t *ns_entry(struct plan_read *r, json_int_t nsid)
{
	json_t *list = json_object_get(r->state, "namespaces");
	json_t *ns;
	size_t i;

	json_array_foreach (list, i, ns) {
		if (json_integer_value(json_object_get(ns, "nsid")) == nsid)
			return ns;
	}
	ns = json_pack("{s:I, s:[]}", "nsid", nsid, "controllers");
	json_array_append_new(list, ns);
	return ns;
}

static int store_list_ctrl(struct plan_read *r, json_t *arg, json_t *result, json_t *error)
{
	json_t *ns = ns_entry(r, json_integer_value(arg));
	json_t *ids = json_array(), *entry;
	size_t i;

	if (error) {
		json_decref(ids);
		return fail_copy(r, error);
	}
	json_array_foreach (json_object_get(result, "ctrl_list"), i, entry)
		json_array_append(ids, json_object_get(entry, "ctrl_id"));
	json_object_set_new(ns, "controllers", ids);
	return 0;
}

/* The LBA formats of an Identify Namespace answer: [{lba_size, ms}]. */
static json_t *lba_formats(json_t *id_ns)
{
	json_t *list = json_array(), *lbaf;
	size_t i;

	json_array_foreach (json_object_get(id_ns, "lbafs"), i, lbaf) {
		uint64_t ds = u64_of(lbaf, "ds");
		json_array_append_new(list, json_pack("{s:I, s:I}", "lba_size",
						      (json_int_t)(ds < 32 ? 1ull << ds : 0), "ms",
						      (json_int_t)u64_of(lbaf, "ms")));
	}
	return list;
}

static int store_id_ns(struct plan_read *r, json_t *arg, json_t *result, json_t *error);

/* Identify of an allocated namespace (CNS 11h) is for the NVM command set: a
 * zoned namespace is refused (QEMU: Invalid I/O Command Set). An attached one
 * is read again through CNS 00h. */
static int retry_active(struct plan_read *r, json_t *arg, json_t *error)
{
	json_int_t nsid = json_integer_value(json_object_get(arg, "nsid"));

	if (!json_is_true(json_object_get(arg, "allocated")))
		return fail_copy(r, error);
	if (push(r, "nvme.id_ns", json_pack("{s:I}", "nsid", nsid), store_id_ns,
		 json_pack("{s:I, s:b}", "nsid", nsid, "allocated", 0)))
		return out_of_memory(r);
	return 0;
}

static int store_id_ns(struct plan_read *r, json_t *arg, json_t *result, json_t *error)
{
	json_t *ns = ns_entry(r, json_integer_value(json_object_get(arg, "nsid")));
	json_t *formats;
	uint64_t flbas, index, lba_size;

	if (error)
		return retry_active(r, arg, error);
	flbas = u64_of(result, "flbas");
	index = (flbas & 0xf) | ((flbas >> 5) & 0x3) << 4;
	formats = lba_formats(result);
	lba_size = u64_of(json_array_get(formats, index), "lba_size");
	json_object_set_new(ns, "lba_size", json_integer((json_int_t)lba_size));
	json_object_set_new(ns, "lbaf", json_integer((json_int_t)index));
	json_object_set_new(ns, "size",
			    json_integer((json_int_t)(u64_of(result, "nsze") * lba_size)));
	json_object_set_new(ns, "nsze", json_integer((json_int_t)u64_of(result, "nsze")));
	json_object_set_new(ns, "ncap", json_integer((json_int_t)u64_of(result, "ncap")));
	json_object_set_new(ns, "nvmcap",
			    json_integer(bytes_of(json_object_get(result, "nvmcap"))));
	json_object_set_new(ns, "lbafs", formats);
	return 0;
}

static bool has_ns_mgmt(struct plan_read *r)
{
	return u64_of(json_object_get(r->state, "controller"), "oacs") & (1u << 3);
}

static int push_ns_reads(struct plan_read *r, json_int_t nsid)
{
	bool mgmt = has_ns_mgmt(r);

	ns_entry(r, nsid);
	if (push(r, "nvme.id_ns", json_pack("{s:I, s:b}", "nsid", nsid, "allocated", mgmt),
		 store_id_ns, json_pack("{s:I, s:b}", "nsid", nsid, "allocated", mgmt)))
		return -ENOMEM;
	if (!mgmt) /* an active namespace of a controller without management is its own */
		return 0;
	return push(r, "nvme.list_ctrl", json_pack("{s:I}", "nsid", nsid), store_list_ctrl,
		    json_integer(nsid));
}

static int store_feature(struct plan_read *r, json_t *arg, json_t *result, json_t *error)
{
	json_t *entry = json_array_get(json_object_get(r->state, "features"),
				       (size_t)json_integer_value(json_object_get(arg, "index")));
	const char *sel = json_string_value(json_object_get(arg, "sel"));

	if (error) {
		/* Unreadable (not supported): the plan shows a set that will fail. */
		if (strcmp(sel, "current") == 0)
			json_object_set(entry, "error", error);
		return 0;
	}
	if (strcmp(sel, "saved") == 0) {
		json_object_set(entry, "saved", json_object_get(result, "value"));
		return 0;
	}
	json_object_set(entry, "name", json_object_get(result, "name"));
	json_object_set(entry, "value", json_object_get(result, "value"));
	json_object_set(entry, "fields", json_object_get(result, "fields"));
	return 0;
}

static int push_feature_reads(struct plan_read *r)
{
	json_t *features = json_object_get(r->desired, "features"), *want, *params;
	size_t i;

	json_object_set_new(r->state, "features", json_array());
	json_array_foreach (features, i, want) {
		json_t *fid = json_object_get(want, "fid"), *nsid = json_object_get(want, "nsid");
		json_t *entry = json_pack("{s:O}", "fid", fid);
		if (nsid)
			json_object_set(entry, "nsid", nsid);
		json_array_append_new(json_object_get(r->state, "features"), entry);
		params = json_deep_copy(entry);
		if (push(r, "nvme.get_feature", params, store_feature,
			 json_pack("{s:I, s:s}", "index", (json_int_t)i, "sel", "current")))
			return -ENOMEM;
		if (!json_is_true(json_object_get(want, "save")))
			continue;
		params = json_pack("{s:O, s:s}", "fid", fid, "sel", "saved");
		if (nsid)
			json_object_set(params, "nsid", nsid);
		if (push(r, "nvme.get_feature", params, store_feature,
			 json_pack("{s:I, s:s}", "index", (json_int_t)i, "sel", "saved")))
			return -ENOMEM;
	}
	return 0;
}

static int store_fw_log(struct plan_read *r, json_t *arg, json_t *result, json_t *error)
{
	json_t *slots = json_array();
	char key[8];

	(void)arg;
	if (error) {
		json_decref(slots);
		return fail_copy(r, error);
	}
	for (int slot = 1; slot <= 7; slot++) {
		snprintf(key, sizeof(key), "frs%d", slot);
		json_array_append(slots, json_object_get(result, key));
	}
	json_object_set_new(
	    r->state, "firmware",
	    json_pack("{s:O, s:O, s:O, s:o}", "fr",
		      json_object_get(json_object_get(r->state, "controller"), "fr"), "active_slot",
		      json_object_get(result, "active_slot"), "next_slot",
		      json_object_get(result, "next_slot"), "slots", slots));
	return 0;
}

/* Zone states each zone action's "all" form acts on (Zone Management Send). */
static const char *const reset_states[] = {"implicitly_open", "explicitly_open", "closed", "full",
					   NULL};
static const char *const finish_states[] = {"implicitly_open", "explicitly_open", "closed", NULL};

static int store_zones(struct plan_read *r, json_t *arg, json_t *result, json_t *error)
{
	json_t *entry =
	    json_array_get(json_object_get(r->state, "zones"), (size_t)json_integer_value(arg));
	json_t *slbas = json_object_get(entry, "slbas"), *zone;
	size_t i;

	if (error) {
		json_object_set(entry, "error", error);
		return 0;
	}
	json_array_foreach (json_object_get(result, "zone_list"), i, zone)
		json_array_append(slbas, json_object_get(zone, "slba"));
	return 0;
}

/* The name of the namespace @nsid on the controller, or NULL. */
static const char *ns_name(const struct nr_ctrl *ctrl, json_int_t nsid)
{
	for (size_t i = 0; i < ctrl->ns_count; i++) {
		if (ctrl->namespaces[i]->nsid == (uint32_t)nsid)
			return ctrl->namespaces[i]->name;
	}
	return NULL;
}

/* One report per zone state the entry names (or its action's whole set). */
static int push_zone_reads(struct plan_read *r, const struct nr_ctrl *ctrl, size_t index,
			   json_t *want)
{
	json_int_t nsid = json_integer_value(json_object_get(want, "nsid"));
	const char *action = json_string_value(json_object_get(want, "action"));
	json_t *state = json_object_get(want, "state");
	const char *const *states = strcmp(action, "reset") == 0 ? reset_states : finish_states;
	const char *name = ns_name(ctrl, nsid);
	json_t *entry = json_pack("{s:I, s:s, s:[]}", "nsid", nsid, "action", action, "slbas");
	const char *one[2] = {json_string_value(state), NULL};

	json_array_append_new(json_object_get(r->state, "zones"), entry);
	if (!name) {
		json_object_set_new(entry, "error",
				    nr_rpc_error_object(NR_E_NOT_SUPPORTED,
							"the namespace is not attached to this "
							"controller, so its zones cannot be read",
							json_pack("{s:I}", "nsid", nsid)));
		return 0;
	}
	for (const char *const *s = state ? one : states; *s; s++) {
		/* 257: one more than a plan acts on zone by zone. */
		json_t *params = json_pack("{s:s, s:I}", "state", *s, "limit", (json_int_t)257);
		if (push(r, "nvme.zns.report_zones", params, store_zones,
			 json_integer((json_int_t)index)))
			return -ENOMEM;
		json_object_set_new(r->steps[r->count - 1].params, "device", json_string(name));
	}
	return 0;
}

static int push_later_reads(struct plan_read *r, const struct nr_ctrl *ctrl)
{
	json_t *zones = json_object_get(r->desired, "zones"), *want;
	size_t i;

	if (push_feature_reads(r))
		return -ENOMEM;
	if (json_object_get(r->desired, "firmware") &&
	    push(r, "nvme.fw_log", json_object(), store_fw_log, NULL))
		return -ENOMEM;
	json_object_set_new(r->state, "zones", json_array());
	json_array_foreach (zones, i, want) {
		if (push_zone_reads(r, ctrl, i, want))
			return -ENOMEM;
	}
	return 0;
}

static int store_list_ns(struct plan_read *r, json_t *arg, json_t *result, json_t *error)
{
	json_t *entry;
	size_t i;

	(void)arg;
	if (error)
		return fail_copy(r, error);
	json_array_foreach (json_object_get(result, "nsid_list"), i, entry) {
		if (push_ns_reads(r, json_integer_value(json_object_get(entry, "nsid"))))
			return out_of_memory(r);
	}
	return 0;
}

static const char *const ctrl_keys[] = {"cntlid", "sn", "fr", "oacs", "nn", "frmw"};

static int store_id_ctrl(struct plan_read *r, json_t *arg, json_t *result, json_t *error)
{
	json_t *ctrl = json_object();
	(void)arg;
	if (error) {
		json_decref(ctrl);
		return fail_copy(r, error);
	}
	for (size_t i = 0; i < sizeof(ctrl_keys) / sizeof(ctrl_keys[0]); i++)
		json_object_set(ctrl, ctrl_keys[i], json_object_get(result, ctrl_keys[i]));
	json_object_set_new(ctrl, "tnvmcap",
			    json_integer(bytes_of(json_object_get(result, "tnvmcap"))));
	json_object_set_new(ctrl, "unvmcap",
			    json_integer(bytes_of(json_object_get(result, "unvmcap"))));
	json_object_set_new(r->state, "controller", ctrl);
	/* Allocated namespaces need management (OACS bit 3); else the active ones. */
	if (push(r, "nvme.list_ns", json_pack("{s:b}", "all", has_ns_mgmt(r)), store_list_ns, NULL))
		return out_of_memory(r);
	return 0;
}

static void step_next(struct plan_read *r);

static void on_answer(void *opaque, json_t *result, json_t *error)
{
	struct plan_read *r = opaque;
	struct read_step *step = &r->steps[r->next++];

	step->store(r, step->arg, result, error);
	if (r->sending)
		r->answered = true; /* step_next's loop sends the next one */
	else
		step_next(r);
}

/* Sends the next read, or reports the state when none is left (or one
 * failed). Reads answered at once (refused before reaching a device) are
 * followed in a loop, not by recursion. Nothing of @r is touched after done. */
static void step_next(struct plan_read *r)
{
	struct read_step *step;
	int rc;

	while (!r->fail && r->next < r->count) {
		step = &r->steps[r->next];
		r->sending = true;
		r->answered = false;
		rc = nr_inner_call(r->inner, step->method, json_incref(step->params), on_answer, r);
		r->sending = false;
		if (rc) {
			fail(r, nr_rpc_error_from_errno(rc, "reading the device's state"));
			break;
		}
		if (!r->answered)
			return;
	}
	r->done(r->opaque, r->fail ? NULL : r->state, r->fail);
}

struct plan_read *plan_read_start(struct nr_inner *inner, const struct nr_ctrl *ctrl,
				  json_t *desired, plan_read_done_fn done, void *opaque)
{
	struct plan_read *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->inner = inner;
	snprintf(r->device, sizeof(r->device), "%s", ctrl->name);
	r->desired = json_incref(desired);
	r->state = json_pack("{s:[]}", "namespaces");
	r->done = done;
	r->opaque = opaque;
	if (!r->state || push(r, "nvme.id_ctrl", json_object(), store_id_ctrl, NULL) != 0 ||
	    push_later_reads(r, ctrl) != 0) {
		plan_read_free(r);
		return NULL;
	}
	step_next(r);
	return r;
}

void plan_read_free(struct plan_read *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++) {
		json_decref(r->steps[i].params);
		json_decref(r->steps[i].arg);
	}
	free(r->steps);
	json_decref(r->desired);
	json_decref(r->state);
	json_decref(r->fail);
	free(r);
}
