/* SPDX-License-Identifier: MIT */
/* server.stats' request duration histogram and per-device queue depths. */
#include "rpc/service.h"

#include "nvme/topology.h"

/* Upper bounds of all buckets but the last, microseconds. */
static const uint64_t duration_bounds_us[NR_DURATION_BUCKETS - 1] = {
    100, 1000, 10000, 100000, 1000000, 10000000,
};

void nr_stats_answered(struct nr_method_stats *ms, bool failed, uint64_t duration_ns)
{
	uint64_t us = duration_ns / 1000;
	size_t b = 0;

	while (b < NR_DURATION_BUCKETS - 1 && us > duration_bounds_us[b])
		b++;
	ms->duration_count[b]++;
	ms->duration_sum_us += us;
	ms->ok += !failed;
}

json_t *nr_stats_duration_json(const struct nr_method_stats *ms)
{
	json_t *buckets = json_array(), *bounds = json_array();
	uint64_t total = 0;

	for (size_t b = 0; buckets && bounds && b < NR_DURATION_BUCKETS; b++) {
		total += ms->duration_count[b];
		json_array_append_new(buckets, json_integer((json_int_t)total));
		if (b < NR_DURATION_BUCKETS - 1)
			json_array_append_new(bounds,
					      json_integer((json_int_t)duration_bounds_us[b]));
	}
	return json_pack("{s:o, s:o, s:I}", "buckets", buckets, "bounds_us", bounds, "sum_us",
			 (json_int_t)ms->duration_sum_us);
}

json_t *nr_stats_queues_json(struct nr_topology *topo)
{
	json_t *queues = json_object();

	for (size_t i = 0; queues && i < nr_topology_ctrl_count(topo); i++) {
		struct nr_ctrl *c = nr_topology_ctrl_at(topo, i);
		if (c->gone || c->hidden)
			continue;
		json_object_set_new(
		    queues, c->name,
		    json_integer((json_int_t)(c->fifo->waiting + c->fifo->running)));
	}
	return queues;
}
