/* SPDX-License-Identifier: MIT */
/*
 * Test-only SMART / Health overrides of a simulated controller (sim.fault's
 * "health"): a critical warning bit, the composite temperature, available
 * spare, percentage used and media errors, so that nvme.watch and the
 * exporter can be shown a drive going bad. The values live under the
 * controller's fault lock, like its faults.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backends/sim/sim_int.h"

/* One overridable value: its key, its bit in sim_health.set, its range. */
struct health_key {
	const char *key;
	uint8_t bit;
	uint64_t max;
};

static const struct health_key health_keys[] = {
    {"critical_warning", SIM_HEALTH_CW, 0xff},	   {"temperature", SIM_HEALTH_TEMP, 0xffff},
    {"avail_spare", SIM_HEALTH_SPARE, 0xff},	   {"percent_used", SIM_HEALTH_USED, 0xff},
    {"media_errors", SIM_HEALTH_MEDIA, INT64_MAX},
};

#define HEALTH_KEYS (sizeof(health_keys) / sizeof(health_keys[0]))

static void health_store(struct sim_health *h, uint8_t bit, uint64_t value)
{
	if (bit == SIM_HEALTH_CW)
		h->critical_warning = (uint8_t)value;
	else if (bit == SIM_HEALTH_TEMP)
		h->temp_kelvin = (uint16_t)value;
	else if (bit == SIM_HEALTH_SPARE)
		h->avail_spare = (uint8_t)value;
	else if (bit == SIM_HEALTH_USED)
		h->percent_used = (uint8_t)value;
	else
		h->media_errors = value;
}

static uint64_t health_load(const struct sim_health *h, uint8_t bit)
{
	if (bit == SIM_HEALTH_CW)
		return h->critical_warning;
	if (bit == SIM_HEALTH_TEMP)
		return h->temp_kelvin;
	if (bit == SIM_HEALTH_SPARE)
		return h->avail_spare;
	if (bit == SIM_HEALTH_USED)
		return h->percent_used;
	return h->media_errors;
}

/* Parses one key of @spec into @h. Returns 0 or -EINVAL with @err set. */
static int health_parse_key(const json_t *spec, const struct health_key *k, const char *path,
			    struct sim_health *h, char *err, size_t err_len)
{
	json_t *value = json_object_get(spec, k->key);
	json_int_t n;

	if (!value)
		return 0;
	if (json_is_null(value)) {
		h->set &= (uint8_t)~k->bit;
		return 0;
	}
	n = json_is_integer(value) ? json_integer_value(value) : -1;
	if (n < 0 || (uint64_t)n > k->max) {
		snprintf(err, err_len, "%s.%s: must be an integer from 0 to %llu", path, k->key,
			 (unsigned long long)k->max);
		return -EINVAL;
	}
	h->set |= k->bit;
	health_store(h, k->bit, (uint64_t)n);
	return 0;
}

int nr_sim_health_set(struct nr_sim_ctrl *ctrl, const json_t *spec, const char *path, char *err,
		      size_t err_len)
{
	struct sim_health h;
	const char *key;
	json_t *value;
	int rc = 0;

	if (!json_is_object(spec)) {
		snprintf(err, err_len, "%s: must be an object", path);
		return -EINVAL;
	}
	json_object_foreach ((json_t *)spec, key, value) {
		size_t i = 0;
		while (i < HEALTH_KEYS && strcmp(health_keys[i].key, key) != 0)
			i++;
		if (i == HEALTH_KEYS) {
			snprintf(err, err_len, "%s.%s: unknown health value", path, key);
			return -EINVAL;
		}
	}
	pthread_mutex_lock(&ctrl->fault_lock);
	h = ctrl->health;
	for (size_t i = 0; rc == 0 && i < HEALTH_KEYS; i++)
		rc = health_parse_key(spec, &health_keys[i], path, &h, err, err_len);
	if (rc == 0)
		ctrl->health = h;
	pthread_mutex_unlock(&ctrl->fault_lock);
	return rc;
}

json_t *nr_sim_health_json(struct nr_sim_ctrl *ctrl, uint64_t *commands)
{
	struct sim_health h;
	json_t *obj = json_object();

	pthread_mutex_lock(&ctrl->fault_lock);
	h = ctrl->health;
	*commands = ctrl->commands;
	pthread_mutex_unlock(&ctrl->fault_lock);
	for (size_t i = 0; obj && i < HEALTH_KEYS; i++) {
		if (h.set & health_keys[i].bit)
			json_object_set_new(
			    obj, health_keys[i].key,
			    json_integer((json_int_t)health_load(&h, health_keys[i].bit)));
	}
	return obj;
}

/* The overridden temperature also decides the log's temperature bit, by the
 * composite sensor's thresholds (Temperature Threshold feature); a spare
 * below its threshold sets the spare bit, as a drive would. */
void sim_health_apply(struct nr_sim_ctrl *ctrl, struct nvme_smart_log *log)
{
	struct sim_health h;
	uint16_t temp;

	pthread_mutex_lock(&ctrl->fault_lock);
	h = ctrl->health;
	pthread_mutex_unlock(&ctrl->fault_lock);
	if (h.set & SIM_HEALTH_TEMP) {
		temp = htole16(h.temp_kelvin);
		memcpy(log->temperature, &temp, 2);
		log->temp_sensor[0] = temp;
		log->critical_warning &= (uint8_t)~NVME_SMART_CRIT_TEMPERATURE;
		if (h.temp_kelvin > ctrl->feat.temp[0][0] || h.temp_kelvin < ctrl->feat.temp[0][1])
			log->critical_warning |= NVME_SMART_CRIT_TEMPERATURE;
	}
	if (h.set & SIM_HEALTH_SPARE) {
		log->avail_spare = h.avail_spare;
		if (h.avail_spare < log->spare_thresh)
			log->critical_warning |= NVME_SMART_CRIT_SPARE;
	}
	if (h.set & SIM_HEALTH_USED)
		log->percent_used = h.percent_used;
	if (h.set & SIM_HEALTH_MEDIA)
		sim_le128_put(log->media_errors, h.media_errors, 0);
	if (h.set & SIM_HEALTH_CW)
		log->critical_warning |= h.critical_warning;
}
