/* SPDX-License-Identifier: MIT */
/* Controller entries: what a backend says about where a controller is, and
 * controllers that vanish and come back. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "backends/sim/sim.h"
#include "nvme/topology.h"

#define FABRICS_ADDRESS "traddr=192.168.100.200,trsvcid=4420,src_addr=192.168.100.1"

static void long_info(void *ctrl, char *transport, size_t transport_len, char *address,
		      size_t address_len)
{
	snprintf(transport, transport_len, "tcp");
	snprintf(address, address_len, "%s", FABRICS_ADDRESS);
}

static const struct nr_backend_ops fake_ops = {.name = "fake", .ctrl_info = long_info};

/* ctrl_info once got the transport buffer's size (16) for both buffers: an
 * address past 15 characters was cut. */
Test(topology, ctrl_info_long_address_is_not_cut)
{
	struct nr_ctrl *ctrl = nr_ctrl_new_hidden("fake0", &fake_ops, NULL);

	cr_assert_not_null(ctrl);
	cr_assert_lt(strlen(FABRICS_ADDRESS), sizeof(ctrl->address));
	cr_assert_str_eq(ctrl->address, FABRICS_ADDRESS);
	cr_assert_str_eq(ctrl->transport, "tcp");
	nr_ctrl_unref(ctrl);
}

/* ---- vanished controllers and their return (sim.insert, nvme.rescan) ---- */

static struct nr_sim *sim;
static struct nr_topology *topo;

static void sim_setup(void)
{
	cr_assert_eq(nr_sim_new_default(&sim), 0);
	topo = nr_topology_new();
	cr_assert_not_null(topo);
	cr_assert_eq(nr_topology_add_ctrl_named(topo, "sim0", &nr_sim_ops, nr_sim_ctrl_at(sim, 0)),
		     0);
	nr_sim_faults_arm(sim);
}

static void sim_teardown(void)
{
	nr_topology_free(topo);
	nr_sim_free(sim);
}

static void fault(const char *spec)
{
	json_t *obj = json_loads(spec, 0, NULL);
	char err[256];

	cr_assert_eq(nr_sim_fault_set(nr_sim_ctrl_at(sim, 0), obj, "params", err, sizeof(err)), 0,
		     "%s", err);
	json_decref(obj);
}

Test(topology, removed_then_reinserted_is_listed_afresh_on_the_old_fifo, .init = sim_setup,
     .fini = sim_teardown)
{
	struct nr_device dev;
	struct nr_ctrl *old;

	cr_assert_eq(nr_topology_find(topo, "sim0", &dev), 0);
	old = dev.ctrl;
	nr_ctrl_ref(old);
	fault("{\"removed\": true}");
	nr_topology_drop_vanished(topo);
	cr_assert_eq(nr_topology_ctrl_count(topo), 0);
	cr_assert_eq(nr_topology_find(topo, "sim0", &dev), -ENODEV);
	cr_assert_eq(nr_topology_find_any(topo, "sim0"), old, "kept aside, still named");
	cr_assert(old->gone);
	cr_assert_eq(nr_topology_restore(topo), 0, "still removed: not listed");

	cr_assert_eq(nr_sim_reinsert(nr_sim_ctrl_at(sim, 0)), 0);
	cr_assert_eq(nr_sim_reinsert(nr_sim_ctrl_at(sim, 0)), -EALREADY);
	cr_assert_eq(nr_topology_restore(topo), 1);
	cr_assert_eq(nr_topology_restore(topo), 0, "restored once");
	cr_assert_eq(nr_topology_find(topo, "sim0", &dev), 0);
	cr_assert_neq(dev.ctrl, old, "a fresh entry");
	cr_assert_eq(dev.ctrl->fifo, old->fifo, "queued behind what the old entry runs");
	cr_assert_str_eq(dev.ctrl->sn, old->sn);
	cr_assert_eq(dev.ctrl->ns_count, old->ns_count);
	cr_assert_eq(nr_topology_find_any(topo, "sim0"), dev.ctrl);
	nr_ctrl_unref(old);
}

/* A command found it gone (DeviceNotFound) and it came back before a
 * rescan: the listed entry resolves no more, so the rescan replaces it. */
Test(topology, gone_entry_whose_probe_answers_is_replaced, .init = sim_setup, .fini = sim_teardown)
{
	struct nr_device dev;

	cr_assert_eq(nr_topology_find(topo, "sim0", &dev), 0);
	dev.ctrl->gone = true;
	cr_assert_eq(nr_topology_find(topo, "sim0", &dev), -ENODEV);
	nr_topology_drop_vanished(topo);
	cr_assert_eq(nr_topology_restore(topo), 1);
	cr_assert_eq(nr_topology_find(topo, "sim0", &dev), 0);
	cr_assert_not(dev.ctrl->gone);
}

/* Restoring learns the controller on the calling (loop) thread: not while
 * its commands would sleep; a later rescan does it. */
Test(topology, controller_that_would_sleep_waits_for_a_later_restore, .init = sim_setup,
     .fini = sim_teardown)
{
	struct nr_device dev;

	fault("{\"removed\": true, \"delay_us\": 200000}");
	nr_topology_drop_vanished(topo);
	cr_assert_eq(nr_sim_reinsert(nr_sim_ctrl_at(sim, 0)), 0);
	cr_assert_eq(nr_topology_restore(topo), 0);
	cr_assert_eq(nr_topology_find(topo, "sim0", &dev), -ENODEV);
	fault("{\"delay_us\": 0}");
	cr_assert_eq(nr_topology_restore(topo), 1);
	cr_assert_eq(nr_topology_find(topo, "sim0", &dev), 0);
}
