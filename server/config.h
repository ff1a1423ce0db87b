/* SPDX-License-Identifier: MIT */
/*
 * The config file (--config FILE, JSON), read at start and again on SIGHUP:
 *
 *   {"mi": {...}, "policy": {...}, "socket": {"group": "nvmerpc", "mode": "0660"}}
 *
 * "mi" is docs/mi.md's; "policy" is src/rpc/policy.h's; "socket" sets the
 * listening socket's group and mode. Without "socket", a policy that names
 * the group nvmerpc gets 0660 root:nvmerpc, anything else 0666 (any local
 * user connects; the policy decides what each may call). Unknown keys are
 * refused, naming them.
 */
#ifndef NR_CONFIG_H
#define NR_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "backends/mi/mi.h"
#include "rpc/policy.h"

#define NR_SOCKET_GROUP "nvmerpc"

struct nr_config {
	struct nr_mi_config mi;
	char *mi_text; /* the "mi" section as canonical text, to tell a change on reload */
	struct nr_policy *policy;
	char *firmware_dir; /* "firmware": {"dir"}: absolute, or NULL */
	gid_t socket_gid;   /* (gid_t)-1: unchanged (root's) */
	mode_t socket_mode;
};

/*
 * Reads @file (NULL: the defaults) into @cfg. Method names in the policy are
 * checked against @schema; @deadline_ms is the MI default deadline. Returns
 * 0, or -errno with a sentence naming the file and the key in @err; then
 * @cfg holds nothing to free.
 */
int nr_config_load(const char *file, const struct nr_schema *schema, uint32_t deadline_ms,
		   struct nr_config *cfg, char *err, size_t err_len);

void nr_config_fini(struct nr_config *cfg);

#endif
