/* SPDX-License-Identifier: MIT */
/* The checks a request meets before it becomes a call: its envelope, its
 * params against the schema, the per-connection call limit and the policy.
 * Each returns NULL or what the answer says. Loop thread. */
#include "rpc/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/policy.h"
#include "rpc/rpc_error.h"

static const char *const envelope_keys[] = {"jsonrpc", "id", "method", "params"};

/* Returns NULL when @req is a well-formed request envelope, else why not. */
const char *nr_request_envelope_problem(const json_t *req)
{
	const char *key;
	json_t *value;
	json_t *id = json_object_get(req, "id");
	json_t *version = json_object_get(req, "jsonrpc");
	json_t *params = json_object_get(req, "params");

	if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0)
		return "\"jsonrpc\" must be \"2.0\"";
	if (!json_is_string(json_object_get(req, "method")))
		return "\"method\" must be a string";
	if (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id))
		return "\"id\" must be a string, an integer or null";
	if (params && !json_is_object(params) && !json_is_array(params))
		return "\"params\" must be an object (or an array, which this server rejects)";
	json_object_foreach ((json_t *)req, key, value) {
		bool known = false;
		for (size_t i = 0; i < sizeof(envelope_keys) / sizeof(envelope_keys[0]); i++)
			known |= strcmp(key, envelope_keys[i]) == 0;
		if (!known)
			return "unknown member in the request object";
	}
	return NULL;
}

/*
 * Whether a string in @value (at JSON path @path, @len bytes long in a
 * buffer of @cap) holds U+0000; @path then names it. The framer bounds the
 * nesting, so the recursion is shallow.
 */
static bool nul_in_strings(const json_t *value, char *path, size_t len, size_t cap)
{
	const char *key;
	json_t *member;
	size_t i;

	if (json_is_string(value))
		return strlen(json_string_value(value)) != json_string_length(value);
	json_object_foreach ((json_t *)value, key, member) {
		snprintf(path + len, cap - len, ".%s", key);
		if (nul_in_strings(member, path, strlen(path), cap))
			return true;
	}
	json_array_foreach (value, i, member) {
		snprintf(path + len, cap - len, "[%zu]", i);
		if (nul_in_strings(member, path, strlen(path), cap))
			return true;
	}
	path[len] = '\0';
	return false;
}

/* Returns NULL if the params validate, else a new error object. */
json_t *nr_request_params_problem(struct nr_service *svc, const struct nr_schema_method *sm,
				  const json_t *params)
{
	char field[256];
	char reason[256];

	if (json_is_array(params))
		return nr_rpc_error_invalid_params("params",
						   "positional parameters are not supported: pass "
						   "an object of named parameters");
	if (!json_is_object(params))
		return nr_rpc_error_invalid_params("params", "must be an object");
	snprintf(field, sizeof(field), "params");
	if (nul_in_strings(params, field, strlen(field), sizeof(field)))
		return nr_rpc_error_invalid_params(field, "must not contain U+0000");
	if (nr_schema_validate(svc->schema, sm->params_schema, params, "params", field,
			       sizeof(field), reason, sizeof(reason)) == 0)
		return NULL;
	return nr_rpc_error_invalid_params(field, reason);
}

json_t *nr_request_too_many_calls(const struct nr_service *svc)
{
	char reason[96];

	snprintf(reason, sizeof(reason), "this connection already has %u calls in flight",
		 svc->limits.max_calls);
	return nr_rpc_error_object(NR_E_SERVER_BUSY, reason,
				   json_pack("{s:s, s:i}", "limit", "max-calls", "value",
					     (json_int_t)svc->limits.max_calls));
}

/* Returns NULL when @peer may make a call of class @cls, else a new
 * PermissionDenied error naming the class needed and the parameter of
 * @params that raised the method's class to it (@why, NULL when none did). */
json_t *nr_request_permission_problem(const struct nr_service *svc, const struct nr_peer *peer,
				      const struct nr_method *m, const json_t *params,
				      enum nr_class cls, const char *why)
{
	const char *method = m->name;
	char reason[256];
	char *value;
	json_t *data;

	if (nr_policy_allows(svc->policy, peer, method, m->cls, cls))
		return NULL;
	value = why ? json_dumps(json_object_get(params, why), JSON_ENCODE_ANY) : NULL;
	data = json_pack("{s:i, s:s}", "uid", (int)peer->uid, "class", nr_class_name(cls));
	if (why)
		json_object_set_new(data, "param", json_sprintf("params.%s", why));
	snprintf(reason, sizeof(reason),
		 "%s%s%s%s%s is a %s call, which the policy does not allow uid %d", method,
		 why ? " with " : "", why ? why : "", value ? " " : "", value ? value : "",
		 nr_class_name(cls), (int)peer->uid);
	free(value);
	return nr_rpc_error_object(NR_E_PERMISSION_DENIED, reason, data);
}
