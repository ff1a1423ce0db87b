/* SPDX-License-Identifier: MIT */
/*
 * nvme.watch's watched state and its events: what changed between two polls
 * of one controller, as {device, kind, before, after, time} objects.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "methods/watch.h"

static const char *const kind_names[WATCH_KIND_COUNT] = {
    [WATCH_CRITICAL_WARNING] = "critical_warning",
    [WATCH_TEMPERATURE] = "temperature",
    [WATCH_AVAILABLE_SPARE] = "available_spare",
    [WATCH_PERCENTAGE_USED] = "percentage_used",
    [WATCH_MEDIA_ERRORS] = "media_errors",
    [WATCH_NAMESPACE] = "namespace",
    [WATCH_FIRMWARE] = "firmware",
    [WATCH_CONTROLLER] = "controller",
    [WATCH_MI_HEALTH] = "mi_health",
};

/* Critical Warning bits (SMART / Health log byte 0), as nvme-cli names them. */
static const char *const cw_bit_names[8] = {
    "available_spare", "temperature",	"reliability", "read_only",
    "volatile_backup", "pmr_read_only", "bit6",	       "bit7",
};

/* Percentage Used levels whose crossing is an event. */
static const unsigned used_levels[] = {80, 90, 100};

const char *watch_kind_name(unsigned kind)
{
	return kind < WATCH_KIND_COUNT ? kind_names[kind] : NULL;
}

void watch_state_clear(struct watch_state *st)
{
	free(st->ns);
	memset(st, 0, sizeof(*st));
}

void watch_state_move(struct watch_state *to, struct watch_state *from)
{
	free(to->ns);
	*to = *from;
	memset(from, 0, sizeof(*from));
}

json_t *watch_time_now(void)
{
	struct timeval tv;
	struct tm tm;
	char text[40];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
	return json_sprintf("%s.%03ldZ", text, (long)(tv.tv_usec / 1000));
}

/* A new event object; @before and @after are stolen. */
static json_t *event_new(const char *name, enum watch_kind kind, json_t *before, json_t *after,
			 json_t *time)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:O}", "device", name, "kind", kind_names[kind],
			 "before", before ? before : json_null(), "after",
			 after ? after : json_null(), "time", time);
}

json_t *watch_event_controller(const char *name, bool present, json_t *time)
{
	return event_new(name, WATCH_CONTROLLER, json_string(present ? "absent" : "present"),
			 json_string(present ? "present" : "absent"), time);
}

static json_t *ns_json(const struct watch_ns *ns)
{
	return json_pack("{s:I, s:I, s:I}", "nsid", (json_int_t)ns->nsid, "nsze",
			 (json_int_t)ns->nsze, "ncap", (json_int_t)ns->ncap);
}

static json_t *ns_list_json(const struct watch_state *st)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < st->ns_count; i++)
		json_array_append_new(list, ns_json(&st->ns[i]));
	return list;
}

/* Adds the SMART-derived members of @st to @obj. */
static void smart_put(json_t *obj, const struct watch_state *st)
{
	json_object_set_new(obj, "critical_warning", json_integer(st->critical_warning));
	json_object_set_new(obj, "temperature", json_integer(st->temperature));
	json_object_set_new(obj, "avail_spare", json_integer(st->avail_spare));
	json_object_set_new(obj, "spare_thresh", json_integer(st->spare_thresh));
	json_object_set_new(obj, "percent_used", json_integer(st->percent_used));
	json_object_set_new(obj, "media_errors", json_integer((json_int_t)st->media_errors));
}

/* CTEMP in degrees Celsius (NVMe-MI 1.2): 00h-7Eh 0..126, 7Fh 127 or more,
 * C4h -60 or less, C5h-FFh -59..-1; null for 80h (no data), 81h (sensor
 * failure) and the reserved values. New reference. */
static json_t *ctemp_json(uint8_t raw)
{
	if (raw >= 0x80 && raw < 0xc4)
		return json_null();
	return json_integer(raw <= 0x7f ? raw : (int)raw - 256);
}

/* The NVM Subsystem Health Data Structure by its fields' names, SW as sent
 * (active low). New reference. */
static json_t *health_json(const struct nr_subsys_health *h)
{
	return json_pack("{s:i, s:i, s:o, s:i, s:i}", "nss", h->nss, "sw", h->sw, "ctemp",
			 ctemp_json(h->ctemp), "pdlu", h->pdlu, "ccs", h->ccs);
}

json_t *watch_state_json(const struct nr_ctrl *ctrl, const char *name, const struct watch_state *st)
{
	json_t *obj = json_pack("{s:s}", "device", name);

	if (!obj)
		return NULL;
	if (ctrl)
		json_object_update_new(obj, json_pack("{s:s, s:s, s:s, s:s}", "serial", ctrl->sn,
						      "model", ctrl->mn, "firmware", ctrl->fr,
						      "backend", ctrl->ops->name));
	json_object_set_new(obj, "present", json_boolean(ctrl != NULL));
	if (st->error)
		json_object_set_new(obj, "error", json_string(strerror(-st->error)));
	if (st->smart_ok)
		smart_put(obj, st);
	if (st->thresh_ok)
		json_object_update_new(obj, json_pack("{s:i, s:i}", "over_temp_threshold",
						      (int)st->over_temp, "under_temp_threshold",
						      (int)st->under_temp));
	if (st->fw_ok)
		json_object_update_new(obj, json_pack("{s:i, s:s}", "fw_slot", (int)st->fw_slot,
						      "fw_revision", st->fw_rev));
	if (st->health_ok)
		json_object_set_new(obj, "mi_health", health_json(&st->health));
	json_object_set_new(obj, "namespaces", ns_list_json(st));
	return obj;
}

/* "over", "under" or "normal": the composite temperature against its
 * thresholds (over: above the over threshold; under: below the under one). */
static const char *temp_zone(const struct watch_state *st)
{
	if (!st->thresh_ok)
		return "normal";
	if (st->temperature > st->over_temp)
		return "over";
	if (st->temperature < st->under_temp)
		return "under";
	return "normal";
}

static void diff_critical_warning(const struct watch_state *old, const struct watch_state *cur,
				  const char *name, json_t *time, json_t *events)
{
	uint8_t changed = old->critical_warning ^ cur->critical_warning;
	json_t *set, *cleared, *event;

	if (!changed)
		return;
	set = json_array();
	cleared = json_array();
	for (unsigned bit = 0; bit < 8; bit++) {
		if (changed & (1u << bit))
			json_array_append_new(cur->critical_warning & (1u << bit) ? set : cleared,
					      json_string(cw_bit_names[bit]));
	}
	event = event_new(name, WATCH_CRITICAL_WARNING, json_integer(old->critical_warning),
			  json_integer(cur->critical_warning), time);
	json_object_set_new(event, "set", set);
	json_object_set_new(event, "cleared", cleared);
	json_array_append_new(events, event);
}

static void diff_temperature(const struct watch_state *old, const struct watch_state *cur,
			     const char *name, json_t *time, json_t *events)
{
	const char *was = temp_zone(old), *now = temp_zone(cur);
	json_t *event;

	if (strcmp(was, now) == 0)
		return;
	event = event_new(name, WATCH_TEMPERATURE, json_string(was), json_string(now), time);
	json_object_update_new(event,
			       json_pack("{s:i, s:i, s:i}", "temperature", (int)cur->temperature,
					 "over_temp_threshold", (int)cur->over_temp,
					 "under_temp_threshold", (int)cur->under_temp));
	json_array_append_new(events, event);
}

static void diff_spare(const struct watch_state *old, const struct watch_state *cur,
		       const char *name, json_t *time, json_t *events)
{
	bool was_below = old->avail_spare < old->spare_thresh;
	bool is_below = cur->avail_spare < cur->spare_thresh;
	json_t *event;

	if (was_below == is_below)
		return;
	event = event_new(name, WATCH_AVAILABLE_SPARE, json_integer(old->avail_spare),
			  json_integer(cur->avail_spare), time);
	json_object_set_new(event, "spare_thresh", json_integer(cur->spare_thresh));
	json_object_set_new(event, "below_threshold", json_boolean(is_below));
	json_array_append_new(events, event);
}

/* The highest level of used_levels at or below @used, 0 for none. */
static unsigned used_level(unsigned used)
{
	unsigned level = 0;

	for (size_t i = 0; i < sizeof(used_levels) / sizeof(used_levels[0]); i++) {
		if (used >= used_levels[i])
			level = used_levels[i];
	}
	return level;
}

static void diff_used(const struct watch_state *old, const struct watch_state *cur,
		      const char *name, json_t *time, json_t *events)
{
	unsigned was = used_level(old->percent_used), now = used_level(cur->percent_used);
	json_t *event;

	if (was == now)
		return;
	event = event_new(name, WATCH_PERCENTAGE_USED, json_integer(old->percent_used),
			  json_integer(cur->percent_used), time);
	json_object_set_new(event, "level", json_integer(now > was ? now : was));
	json_array_append_new(events, event);
}

static void diff_smart(const struct watch_state *old, const struct watch_state *cur,
		       const char *name, json_t *time, json_t *events)
{
	diff_critical_warning(old, cur, name, time, events);
	diff_temperature(old, cur, name, time, events);
	diff_spare(old, cur, name, time, events);
	diff_used(old, cur, name, time, events);
	if (cur->media_errors > old->media_errors)
		json_array_append_new(events,
				      event_new(name, WATCH_MEDIA_ERRORS,
						json_integer((json_int_t)old->media_errors),
						json_integer((json_int_t)cur->media_errors), time));
}

static const struct watch_ns *ns_find(const struct watch_state *st, uint32_t nsid)
{
	for (size_t i = 0; i < st->ns_count; i++) {
		if (st->ns[i].nsid == nsid)
			return &st->ns[i];
	}
	return NULL;
}

static void ns_event(const struct watch_ns *was, const struct watch_ns *now, const char *name,
		     json_t *time, json_t *events)
{
	json_t *event = event_new(name, WATCH_NAMESPACE, was ? ns_json(was) : NULL,
				  now ? ns_json(now) : NULL, time);

	json_object_set_new(event, "nsid", json_integer((now ? now : was)->nsid));
	json_object_set_new(event, "change",
			    json_string(!was   ? "attached"
					: !now ? "detached"
					       : "capacity"));
	json_array_append_new(events, event);
}

static void diff_namespaces(const struct watch_state *old, const struct watch_state *cur,
			    const char *name, json_t *time, json_t *events)
{
	for (size_t i = 0; i < old->ns_count; i++) {
		if (!ns_find(cur, old->ns[i].nsid))
			ns_event(&old->ns[i], NULL, name, time, events);
	}
	for (size_t i = 0; i < cur->ns_count; i++) {
		const struct watch_ns *was = ns_find(old, cur->ns[i].nsid);
		if (!was || was->nsze != cur->ns[i].nsze || was->ncap != cur->ns[i].ncap)
			ns_event(was, &cur->ns[i], name, time, events);
	}
}

static json_t *fw_json(const struct watch_state *st)
{
	return json_pack("{s:i, s:s}", "slot", (int)st->fw_slot, "revision", st->fw_rev);
}

/* The subsystem health changed: one event, the fields that moved named in
 * "changed" (ctemp is compared as sent, so 80h to 81h is a change). */
static void diff_health(const struct nr_subsys_health *old, const struct nr_subsys_health *cur,
			const char *name, json_t *time, json_t *events)
{
	const struct {
		const char *name;
		bool moved;
	} fields[] = {
	    {"nss", old->nss != cur->nss},	 {"sw", old->sw != cur->sw},
	    {"ctemp", old->ctemp != cur->ctemp}, {"pdlu", old->pdlu != cur->pdlu},
	    {"ccs", old->ccs != cur->ccs},
	};
	json_t *changed = json_array(), *event;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (fields[i].moved)
			json_array_append_new(changed, json_string(fields[i].name));
	}
	if (json_array_size(changed) == 0) {
		json_decref(changed);
		return;
	}
	event = event_new(name, WATCH_MI_HEALTH, health_json(old), health_json(cur), time);
	json_object_set_new(event, "changed", changed);
	json_array_append_new(events, event);
}

void watch_state_diff(const struct watch_state *old, const struct watch_state *cur,
		      const char *name, json_t *time, json_t *events)
{
	if (old->health_ok && cur->health_ok)
		diff_health(&old->health, &cur->health, name, time, events);
	if (old->smart_ok && cur->smart_ok)
		diff_smart(old, cur, name, time, events);
	if (old->fw_ok && cur->fw_ok &&
	    (old->fw_slot != cur->fw_slot || strcmp(old->fw_rev, cur->fw_rev) != 0))
		json_array_append_new(
		    events, event_new(name, WATCH_FIRMWARE, fw_json(old), fw_json(cur), time));
	if (cur->error == 0)
		diff_namespaces(old, cur, name, time, events);
}
