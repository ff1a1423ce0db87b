/* SPDX-License-Identifier: MIT */
/*
 * The planner's features, zones and firmware (plan_diff.c has the
 * namespaces and the order): a feature already at its value, zones already
 * in the wanted state and a revision already running (or pending at the next
 * reset) plan nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "methods/plan_int.h"
#include "nvme/topology.h"
#include "rpc/rpc_error.h"

static int feature_check(struct plan_differ *d, size_t i, json_t *want, json_t *have)
{
	json_t *fields = json_object_get(want, "fields"), *value;
	const char *key;

	if (!json_object_get(want, "value") == !fields)
		return plan_invalid(d, "give value or fields, one of them",
				    PLAN_PATH ".features[%zu].value", i);
	if (json_object_get(have, "error"))
		return 0;
	json_object_foreach (fields, key, value) {
		if (!json_is_integer(value))
			return plan_invalid(d, "must be an integer",
					    PLAN_PATH ".features[%zu].fields.%s", i, key);
		if (!json_object_get(json_object_get(have, "fields"), key))
			return plan_invalid(d, "is not a field of this feature",
					    PLAN_PATH ".features[%zu].fields.%s", i, key);
	}
	for (size_t j = 0; j < i; j++) {
		json_t *other = json_array_get(json_object_get(d->desired, "features"), j);
		if (plan_int(other, "fid") == plan_int(want, "fid") &&
		    plan_int(other, "nsid") == plan_int(want, "nsid"))
			return plan_invalid(d, "names the same feature as an earlier entry",
					    PLAN_PATH ".features[%zu].fid", i);
	}
	return 0;
}

/* Whether the feature @have (current state) differs from @want. */
static bool feature_differs(json_t *want, json_t *have)
{
	json_t *fields = json_object_get(want, "fields"), *value;
	json_t *saved = json_object_get(have, "saved");
	const char *key;

	if (json_object_get(have, "error"))
		return true;
	if (saved && json_integer_value(saved) != plan_int(have, "value"))
		return true; /* save: the saved value must follow */
	if (!fields)
		return plan_int(want, "value") != plan_int(have, "value");
	json_object_foreach (fields, key, value) {
		if (json_integer_value(value) !=
		    json_integer_value(json_object_get(json_object_get(have, "fields"), key)))
			return true;
	}
	return false;
}

int plan_features(struct plan_differ *d)
{
	json_t *list = json_object_get(d->desired, "features"), *want, *have, *params, *op;
	char sentence[160], path[64];
	size_t i;

	json_array_foreach (list, i, want) {
		have = json_array_get(json_object_get(d->state, "features"), i);
		if (feature_check(d, i, want, have))
			return -EINVAL;
		if (!feature_differs(want, have))
			continue;
		params = json_deep_copy(want);
		snprintf(sentence, sizeof(sentence), "set feature %lld (%s)%s",
			 (long long)plan_int(want, "fid"),
			 json_string_value(json_object_get(have, "name")) ?: "unknown",
			 json_is_true(json_object_get(want, "save")) ? ", saved" : "");
		op = plan_op_add(d, P_FEATURE, "nvme.set_feature", params,
				 json_pack("{s:O*, s:O*}", "value", json_object_get(have, "value"),
					   "fields", json_object_get(have, "fields")),
				 json_deep_copy(want), sentence);
		if (json_object_get(have, "error") && !json_object_get(op, "error"))
			json_object_set(op, "error", json_object_get(have, "error"));
		snprintf(path, sizeof(path), "features[fid=%lld]",
			 (long long)plan_int(want, "fid"));
		plan_diff_add(d, path, json_incref(json_object_get(have, "value")),
			      json_deep_copy(want));
	}
	return 0;
}

static void zone_ops(struct plan_differ *d, json_t *want, json_t *have, const char *ns)
{
	const char *action = json_string_value(json_object_get(want, "action"));
	json_t *slbas = json_object_get(have, "slbas"), *slba, *op;
	char sentence[160];
	size_t i;

	if (!json_object_get(want, "state")) {
		snprintf(sentence, sizeof(sentence), "%s every zone of %s (%zu or more %s)", action,
			 ns, json_array_size(slbas), "zones to act on");
		op = plan_op_add(
		    d, P_ZONE, "nvme.zns.mgmt_send",
		    json_pack("{s:s, s:s, s:b}", "device", ns, "action", action, "all", 1),
		    json_pack("{s:I}", "zones", (json_int_t)json_array_size(slbas)),
		    json_pack("{s:i}", "zones", 0), sentence);
		if (json_object_get(have, "error"))
			json_object_set(op, "error", json_object_get(have, "error"));
		return;
	}
	json_array_foreach (slbas, i, slba) {
		snprintf(sentence, sizeof(sentence), "%s the zone of %s at LBA %lld", action, ns,
			 (long long)json_integer_value(slba));
		plan_op_add(
		    d, P_ZONE, "nvme.zns.mgmt_send",
		    json_pack("{s:s, s:s, s:O}", "device", ns, "action", action, "slba", slba),
		    json_pack("{s:O}", "state", json_object_get(want, "state")), NULL, sentence);
	}
}

static const char *ns_name(const struct nr_ctrl *ctrl, json_int_t nsid)
{
	for (size_t i = 0; i < ctrl->ns_count; i++) {
		if (ctrl->namespaces[i]->nsid == (uint32_t)nsid)
			return ctrl->namespaces[i]->name;
	}
	return "?";
}

int plan_zones(struct plan_differ *d)
{
	json_t *list = json_object_get(d->desired, "zones"), *want, *have;
	char path[64];
	size_t i;

	json_array_foreach (list, i, want) {
		have = json_array_get(json_object_get(d->state, "zones"), i);
		if (json_array_size(json_object_get(have, "slbas")) == 0 &&
		    !json_object_get(have, "error"))
			continue;
		if (json_object_get(want, "state") &&
		    json_array_size(json_object_get(have, "slbas")) > PLAN_ZONE_OPS_MAX)
			return plan_invalid(
			    d,
			    "more than 256 zones are in this state: leave state out "
			    "to act on every zone at once",
			    PLAN_PATH ".zones[%zu].state", i);
		zone_ops(d, want, have, ns_name(d->ctrl, plan_int(want, "nsid")));
		snprintf(path, sizeof(path), "zones[nsid=%lld].%s",
			 (long long)plan_int(want, "nsid"),
			 json_string_value(json_object_get(want, "action")));
		plan_diff_add(
		    d, path,
		    json_integer((json_int_t)json_array_size(json_object_get(have, "slbas"))),
		    json_integer(0));
	}
	return 0;
}

/* Whether @revision runs, or is the one the next reset activates. */
static bool firmware_current(json_t *fw, const char *revision)
{
	json_int_t next = plan_int(fw, "next_slot");
	const char *pending =
	    next > 0
		? json_string_value(json_array_get(json_object_get(fw, "slots"), (size_t)next - 1))
		: NULL;

	return strcmp(json_string_value(json_object_get(fw, "fr")) ?: "", revision) == 0 ||
	       (pending && strcmp(pending, revision) == 0);
}

/* The download's params: the image, or the file it is read from when apply
 * runs (m_plan.c replaces path with image). NULL after recording why not. */
static json_t *firmware_source(struct plan_differ *d, json_t *want)
{
	json_t *image = json_object_get(want, "image"), *path = json_object_get(want, "path");
	char why[160];

	if (image && path) {
		plan_invalid(d, "give image or path, not both", PLAN_PATH ".firmware.path");
		return NULL;
	}
	if (!image && !path) {
		plan_invalid(d, "is required (or path): the controller runs another revision",
			     PLAN_PATH ".firmware.image");
		return NULL;
	}
	if (image)
		return json_pack("{s:O}", "image", image);
	if (plan_fw_check(d->svc->firmware_dir, json_string_value(path), why, sizeof(why))) {
		plan_invalid(d, why, PLAN_PATH ".firmware.path");
		return NULL;
	}
	return json_pack("{s:O}", "path", path);
}

int plan_firmware(struct plan_differ *d)
{
	json_t *want = json_object_get(d->desired, "firmware");
	json_t *fw = json_object_get(d->state, "firmware");
	const char *revision = json_string_value(json_object_get(want, "revision"));
	json_t *slot = json_object_get(want, "slot"), *action = json_object_get(want, "action");
	json_t *source;
	char sentence[160];

	if (!want || firmware_current(fw, revision))
		return 0;
	source = firmware_source(d, want);
	if (!source)
		return -EINVAL;
	plan_op_add(d, P_FW, "nvme.fw_download", source, NULL, NULL,
		    json_object_get(source, "path")
			? "download the firmware image read from its file"
			: "download the firmware image");
	snprintf(sentence, sizeof(sentence), "commit the image to slot %lld (%s): revision %s",
		 (long long)json_integer_value(slot),
		 action ? json_string_value(action) : "replace_activate", revision);
	plan_op_add(d, P_FW, "nvme.fw_commit",
		    json_pack("{s:I, s:s}", "slot", slot ? json_integer_value(slot) : 0, "action",
			      action ? json_string_value(action) : "replace_activate"),
		    json_pack("{s:O}", "revision", json_object_get(fw, "fr")),
		    json_pack("{s:s}", "revision", revision), sentence);
	plan_diff_add(d, "firmware.revision", json_incref(json_object_get(fw, "fr")),
		      json_string(revision));
	return 0;
}
