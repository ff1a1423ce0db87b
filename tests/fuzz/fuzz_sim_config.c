/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the simulator description parser (nr_sim_new_from_json), read as
 * nr_sim_load_file reads a file (duplicate keys rejected). A refusal must
 * say why. An accepted description must give a subsystem the daemon can
 * learn: every controller is added to a topology, which sends it Identify
 * commands for itself and its namespaces, and listed as nvme.list does.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/sim.h"
#include "nvme/topology.h"

static void learn(struct nr_sim *sim)
{
	struct nr_topology *topo = nr_topology_new();
	json_t *list;

	if (!topo)
		abort();
	for (size_t i = 0; i < nr_sim_ctrl_count(sim); i++) {
		if (nr_topology_add_ctrl(topo, "sim", &nr_sim_ops, nr_sim_ctrl_at(sim, i)) != 0)
			abort(); /* an accepted description the daemon cannot serve */
	}
	list = nr_topology_list(topo);
	if (!list)
		abort();
	json_decref(list);
	nr_topology_free(topo);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *desc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	struct nr_sim *sim = NULL;
	char err[256];

	if (!desc)
		return 0;
	memset(err, 0, sizeof(err));
	if (nr_sim_new_from_json(desc, &sim, err, sizeof(err)) == 0) {
		learn(sim);
		nr_sim_free(sim);
	} else if (!err[0] || !memchr(err, '\0', sizeof(err))) {
		abort(); /* a refusal names the offending path */
	}
	json_decref(desc);
	return 0;
}
