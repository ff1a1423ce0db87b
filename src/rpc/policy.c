/* SPDX-License-Identifier: MIT */
#include "rpc/policy.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLASS_COUNT 3

/* Who a rule lets in: anyone, or the uids and groups listed. */
struct rule {
	bool any;
	size_t nuids, ngids;
	unsigned *uids; /* uid_t */
	unsigned *gids; /* gid_t */
};

struct method_rule {
	char *method;
	struct rule rule;
};

struct nr_policy {
	struct rule classes[CLASS_COUNT];
	struct method_rule *methods;
	size_t nmethods;
};

static const char *const class_keys[CLASS_COUNT] = {
    [NR_CLASS_READ] = "read",
    [NR_CLASS_WRITE] = "write",
    [NR_CLASS_DESTRUCTIVE] = "destructive",
};

static void rule_fini(struct rule *rule)
{
	free(rule->uids);
	free(rule->gids);
}

void nr_policy_free(struct nr_policy *policy)
{
	if (!policy)
		return;
	for (size_t i = 0; i < CLASS_COUNT; i++)
		rule_fini(&policy->classes[i]);
	for (size_t i = 0; i < policy->nmethods; i++) {
		free(policy->methods[i].method);
		rule_fini(&policy->methods[i].rule);
	}
	free(policy->methods);
	free(policy);
}

static int fail(char *err, size_t err_len, const char *path, const char *what)
{
	snprintf(err, err_len, "%s: %s", path, what);
	return -EINVAL;
}

/* A user or group: a number, or a name resolved now. Returns 0 or -EINVAL. */
static int resolve_id(const json_t *value, bool group, unsigned *out, const char *path, char *err,
		      size_t err_len)
{
	const char *name = json_string_value(value);
	char what[160];

	if (json_is_integer(value) && json_integer_value(value) >= 0 &&
	    json_integer_value(value) < (json_int_t)0xFFFFFFFF) {
		*out = (unsigned)json_integer_value(value);
		return 0;
	}
	if (!name)
		return fail(err, err_len, path, "must be a name or a number");
	if (group) {
		struct group *gr = getgrnam(name);
		if (gr) {
			*out = gr->gr_gid;
			return 0;
		}
	} else {
		struct passwd *pw = getpwnam(name);
		if (pw) {
			*out = pw->pw_uid;
			return 0;
		}
	}
	snprintf(what, sizeof(what), "no such %s \"%s\"", group ? "group" : "user", name);
	return fail(err, err_len, path, what);
}

/* Parses @list (an array of ids) at @path into a malloc'd array. */
static int parse_ids(const json_t *list, bool group, unsigned **out, size_t *count,
		     const char *path, char *err, size_t err_len)
{
	char item_path[160];
	json_t *item;
	size_t i;
	int rc;

	if (!list)
		return 0;
	if (!json_is_array(list))
		return fail(err, err_len, path, "must be an array");
	*out = calloc(json_array_size(list) + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	json_array_foreach (list, i, item) {
		snprintf(item_path, sizeof(item_path), "%s[%zu]", path, i);
		rc = resolve_id(item, group, &(*out)[i], item_path, err, err_len);
		if (rc)
			return rc;
		(*count)++;
	}
	return 0;
}

/* A rule: "any", or {"uids": [...], "groups": [...]}. */
static int parse_rule(const json_t *value, struct rule *rule, const char *path, char *err,
		      size_t err_len)
{
	char sub[160];
	const char *key;
	json_t *member;
	int rc;

	*rule = (struct rule){0};
	if (json_is_string(value) && strcmp(json_string_value(value), "any") == 0) {
		rule->any = true;
		return 0;
	}
	if (!json_is_object(value))
		return fail(err, err_len, path,
			    "must be \"any\" or {\"uids\": [...], \"groups\": [...]}");
	json_object_foreach ((json_t *)value, key, member) {
		if (strcmp(key, "uids") != 0 && strcmp(key, "groups") != 0) {
			snprintf(sub, sizeof(sub), "%s.%s", path, key);
			return fail(err, err_len, sub, "unknown key (uids, groups)");
		}
	}
	snprintf(sub, sizeof(sub), "%s.uids", path);
	rc = parse_ids(json_object_get(value, "uids"), false, &rule->uids, &rule->nuids, sub, err,
		       err_len);
	snprintf(sub, sizeof(sub), "%s.groups", path);
	if (rc == 0)
		rc = parse_ids(json_object_get(value, "groups"), true, &rule->gids, &rule->ngids,
			       sub, err, err_len);
	return rc;
}

static int parse_methods(const json_t *methods, struct nr_policy *p, const struct nr_schema *schema,
			 char *err, size_t err_len)
{
	char path[160];
	const char *name;
	json_t *value;
	int rc;

	if (!json_is_object(methods))
		return fail(err, err_len, "policy.methods", "must be an object of method: rule");
	p->methods = calloc(json_object_size(methods) + 1, sizeof(*p->methods));
	if (!p->methods)
		return -ENOMEM;
	json_object_foreach ((json_t *)methods, name, value) {
		struct method_rule *mr = &p->methods[p->nmethods];
		snprintf(path, sizeof(path), "policy.methods.%s", name);
		if (schema && !nr_schema_method((struct nr_schema *)schema, name))
			return fail(err, err_len, path, "no such method");
		mr->method = strdup(name);
		if (!mr->method)
			return -ENOMEM;
		p->nmethods++;
		rc = parse_rule(value, &mr->rule, path, err, err_len);
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_section(const json_t *section, struct nr_policy *p, const struct nr_schema *schema,
			 char *err, size_t err_len)
{
	char path[64];
	const char *key;
	json_t *value;
	int rc;

	if (!json_is_object(section))
		return fail(err, err_len, "policy", "must be an object");
	json_object_foreach ((json_t *)section, key, value) {
		size_t c;
		for (c = 0; c < CLASS_COUNT && strcmp(key, class_keys[c]) != 0; c++)
			;
		snprintf(path, sizeof(path), "policy.%s", key);
		if (c < CLASS_COUNT)
			rc = parse_rule(value, &p->classes[c], path, err, err_len);
		else if (strcmp(key, "methods") == 0)
			rc = parse_methods(value, p, schema, err, err_len);
		else
			rc = fail(err, err_len, path,
				  "unknown key (read, write, destructive, methods)");
		if (rc)
			return rc;
	}
	return 0;
}

int nr_policy_parse(const json_t *section, const struct nr_schema *schema, struct nr_policy **out,
		    char *err, size_t err_len)
{
	struct nr_policy *p = calloc(1, sizeof(*p));
	int rc = 0;

	if (!p)
		return -ENOMEM;
	p->classes[NR_CLASS_READ].any = true;
	if (section)
		rc = parse_section(section, p, schema, err, err_len);
	if (rc) {
		nr_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

static bool peer_in_group(const struct nr_peer *peer, gid_t gid)
{
	if (peer->gid == gid)
		return true;
	for (unsigned i = 0; i < peer->ngroups; i++) {
		if (peer->groups[i] == gid)
			return true;
	}
	return false;
}

static bool rule_matches(const struct rule *rule, const struct nr_peer *peer)
{
	if (rule->any)
		return true;
	for (size_t i = 0; i < rule->nuids; i++) {
		if (rule->uids[i] == peer->uid)
			return true;
	}
	for (size_t i = 0; i < rule->ngids; i++) {
		if (peer_in_group(peer, rule->gids[i]))
			return true;
	}
	return false;
}

static const struct rule *method_rule(const struct nr_policy *policy, const char *method)
{
	for (size_t i = 0; i < policy->nmethods; i++) {
		if (strcmp(policy->methods[i].method, method) == 0)
			return &policy->methods[i].rule;
	}
	return NULL;
}

bool nr_policy_allows(const struct nr_policy *policy, const struct nr_peer *peer,
		      const char *method, enum nr_class method_cls, enum nr_class cls)
{
	const struct rule *rule;

	if (peer->uid == 0)
		return true;
	if (!policy)
		return cls == NR_CLASS_READ;
	rule = cls == method_cls ? method_rule(policy, method) : NULL;
	return rule_matches(rule ? rule : &policy->classes[cls], peer);
}

static bool rule_names_group(const struct rule *rule, gid_t gid)
{
	for (size_t i = 0; i < rule->ngids; i++) {
		if (rule->gids[i] == gid)
			return true;
	}
	return false;
}

bool nr_policy_names_group(const struct nr_policy *policy, gid_t gid)
{
	for (size_t c = 0; policy && c < CLASS_COUNT; c++) {
		if (rule_names_group(&policy->classes[c], gid))
			return true;
	}
	for (size_t m = 0; policy && m < policy->nmethods; m++) {
		if (rule_names_group(&policy->methods[m].rule, gid))
			return true;
	}
	return false;
}
