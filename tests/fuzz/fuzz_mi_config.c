/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the NVMe-MI section of the config file (nr_mi_config_parse), read
 * as the daemon reads --config: duplicate keys rejected, then the "mi"
 * member (the whole document when it has none, to reach the parser from
 * any input). A refusal must say why; an accepted config must be in range.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/mi/mi.h"

static void check_config(const struct nr_mi_config *cfg)
{
	if (cfg->endpoint_count > NR_MI_MAX_STATIC ||
	    !memchr(cfg->dbus_address, '\0', sizeof(cfg->dbus_address)))
		abort();
	if (cfg->timeout_ms == 0 || cfg->deadline_ms == 0 || cfg->quarantine_after == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	struct nr_mi_config cfg;
	char err[256];
	json_t *mi;

	if (!doc)
		return 0;
	mi = json_object_get(doc, "mi");
	nr_mi_config_init(&cfg, 30000);
	memset(err, 0, sizeof(err));
	if (nr_mi_config_parse(mi ? mi : doc, &cfg, err, sizeof(err)) == 0)
		check_config(&cfg);
	else if (!err[0] || !memchr(err, '\0', sizeof(err)))
		abort(); /* a refusal names the offending key */
	json_decref(doc);
	return 0;
}
