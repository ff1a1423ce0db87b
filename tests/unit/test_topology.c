/* SPDX-License-Identifier: MIT */
/* Controller entries: what a backend says about where a controller is. */
#include <criterion/criterion.h>
#include <string.h>

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
