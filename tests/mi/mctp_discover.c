/* SPDX-License-Identifier: MIT */
/*
 * mctp_discover [BUS_ADDRESS]: runs nr_mctp_dbus_discover against the bus at
 * BUS_ADDRESS (default: the system bus) and prints one JSON object per
 * endpoint: {"net": N, "eid": E, "service": "...", "path": "..."}.
 * On error prints "error: -ERRNO: sentence" to stderr and exits 1.
 */
#include <dbus/dbus.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "backends/mi/mctp_dbus.h"

/* Prints one endpoint as a JSON line. Returns 0 or -1 when it cannot. */
static int print_endpoint(const struct nr_mctp_endpoint *ep)
{
	json_t *line = json_pack("{s:I, s:i, s:s, s:s}", "net", (json_int_t)ep->net, "eid",
				 (int)ep->eid, "service", ep->service, "path", ep->path);
	char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
	int rc = text && puts(text) >= 0 ? 0 : -1;

	free(text);
	json_decref(line);
	return rc;
}

int main(int argc, char **argv)
{
	struct nr_mctp_endpoint *eps;
	char err[256] = "";
	size_t count, i;
	int rc;

	if (argc > 2) {
		fprintf(stderr, "usage: mctp_discover [BUS_ADDRESS]\n");
		return 2;
	}
	rc = nr_mctp_dbus_discover(argc == 2 ? argv[1] : NULL, &eps, &count, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "error: %d: %s\n", rc, err);
		dbus_shutdown();
		return 1;
	}
	for (i = 0; i < count && !rc; i++)
		rc = print_endpoint(&eps[i]);
	free(eps);
	/* Releases libdbus's process-wide caches so LeakSanitizer sees none. */
	dbus_shutdown();
	return rc ? 1 : 0;
}
