/* SPDX-License-Identifier: MIT */
/*
 * MCTP endpoint discovery over D-Bus, for the NVMe-MI backend on a BMC.
 * libnvme 1.3's nvme_mi_scan_mctp knows only the old "xyz.openbmc_project.MCTP"
 * name; current mctpd publishes "au.com.codeconstruct.MCTP1". This asks both.
 */
#ifndef NR_MCTP_DBUS_H
#define NR_MCTP_DBUS_H

#include <stddef.h>
#include <stdint.h>

/* The bound on each D-Bus method call, so a wedged mctpd cannot hold a worker. */
#define NR_MCTP_DBUS_CALL_TIMEOUT_MS 2000

/* The MCTP message type of NVMe-MI (DSP0239). */
#define NR_MCTP_TYPE_NVME_MI 0x04

struct nr_mctp_endpoint {
	uint32_t net;	  /* MCTP network id */
	uint8_t eid;	  /* endpoint id within the network */
	char service[64]; /* the D-Bus name that reported it */
	char path[256];	  /* its object path on that service */
};

/*
 * Lists the MCTP endpoints that support NVMe-MI (message type 0x04), asking
 * "au.com.codeconstruct.MCTP1" first and then "xyz.openbmc_project.MCTP"
 * through org.freedesktop.DBus.ObjectManager.GetManagedObjects. An endpoint
 * (net, eid) reported by both is listed once, as the first service saw it.
 *
 * @bus_address: a D-Bus address ("unix:path=..."); NULL for the system bus
 * (which honours DBUS_SYSTEM_BUS_ADDRESS).
 *
 * Blocks for up to NR_MCTP_DBUS_CALL_TIMEOUT_MS per call: run it on a worker
 * thread. Thread-safe: it uses a private connection, closed before returning.
 *
 * Returns 0 and stores a malloc'd array in *@out (NULL when *@count is 0;
 * the caller frees it with free()). A service absent from the bus is not an
 * error. Otherwise returns -errno with a sentence in @err and *@out NULL:
 * -ECONNREFUSED when the bus cannot be reached, -EPROTO when a reply is
 * malformed (the sentence names the object path), -ETIMEDOUT when a service
 * does not answer in time, -EINVAL for bad arguments, -ENOMEM.
 */
int nr_mctp_dbus_discover(const char *bus_address, struct nr_mctp_endpoint **out, size_t *count,
			  char *err, size_t err_len);

#endif
