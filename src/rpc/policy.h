/* SPDX-License-Identifier: MIT */
/*
 * Authorization: who may make calls of each class (read, write,
 * destructive), from the "policy" section of the config file, with
 * per-method rules. A peer matches a rule by its uid, its primary gid or one
 * of its supplementary groups (all read from the kernel: SO_PEERCRED and
 * SO_PEERGROUPS, never from the peer's claims). uid 0 is always allowed: it
 * owns the config file. Loop thread.
 *
 *   "policy": {
 *     "read": "any",
 *     "write": {"uids": ["backup", 1001], "groups": ["nvmerpc"]},
 *     "destructive": {"groups": ["nvme-admin"]},
 *     "methods": {"nvme.sanitize": {"uids": []}}
 *   }
 *
 * A class left out keeps the default: read "any", write and destructive
 * root only. A per-method rule replaces its class's rule for that method's
 * own class; a call whose params raise its class (rae: false) goes by the
 * raised class's rule.
 */
#ifndef NR_POLICY_H
#define NR_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "rpc/schema.h"

#define NR_PEER_GROUPS_MAX 64

/* The peer's credentials, from SO_PEERCRED and SO_PEERGROUPS (or the
 * daemon's own in --stdio). Groups past NR_PEER_GROUPS_MAX are not seen:
 * that can only take permissions away. */
struct nr_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	unsigned ngroups;
	gid_t groups[NR_PEER_GROUPS_MAX];
};

struct nr_policy;

/*
 * Parses a "policy" section (@section borrowed; NULL gives the default
 * policy). Names are resolved now (getpwnam, getgrnam) and method names
 * checked against @schema (when not NULL): an unknown one is an error.
 * Returns 0 with *out set, or -EINVAL with a sentence naming the key in @err
 * (e.g. "policy.write.groups[1]: no such group \"nvme\""), or -ENOMEM.
 */
int nr_policy_parse(const json_t *section, const struct nr_schema *schema, struct nr_policy **out,
		    char *err, size_t err_len);
void nr_policy_free(struct nr_policy *policy);

/* Whether @peer may make a call of class @cls to @method, whose own class is
 * @method_cls. @policy NULL: the default. */
bool nr_policy_allows(const struct nr_policy *policy, const struct nr_peer *peer,
		      const char *method, enum nr_class method_cls, enum nr_class cls);

/* Whether a rule of @policy names group @gid (the socket's default group). */
bool nr_policy_names_group(const struct nr_policy *policy, gid_t gid);

#endif
