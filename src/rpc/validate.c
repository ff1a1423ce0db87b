/* SPDX-License-Identifier: MIT */
/*
 * A JSON Schema subset, enough for method parameters: the keywords listed in
 * schema.h. The document is checked at load so every keyword met here is one
 * this file implements.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rpc/schema_internal.h"

/* Where a value sits: formatted ("params.controllers[2]") only when it fails. */
struct vpath {
	const struct vpath *parent;
	const char *key; /* NULL: an array element */
	size_t index;
};

struct vctx {
	struct nr_schema *schema;
	char *field;
	size_t field_len;
	char *reason;
	size_t reason_len;
};

/* Writes @path at @out (@len bytes, NUL-terminated); returns the length. */
static size_t path_format(const struct vpath *path, char *out, size_t len)
{
	size_t n = path->parent ? path_format(path->parent, out, len) : 0;
	int w;

	if (n >= len)
		return n;
	if (path->key)
		w = snprintf(out + n, len - n, "%s%s", path->parent ? "." : "", path->key);
	else
		w = snprintf(out + n, len - n, "[%zu]", path->index);
	return n + (w > 0 ? (size_t)w : 0);
}

static int fail(struct vctx *v, const struct vpath *path, const char *fmt, ...)
{
	va_list ap;

	if (v->field_len) {
		v->field[0] = '\0';
		path_format(path, v->field, v->field_len);
	}
	va_start(ap, fmt);
	vsnprintf(v->reason, v->reason_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *type_of(const json_t *value)
{
	static const char *const names[] = {
	    [JSON_OBJECT] = "object",	[JSON_ARRAY] = "array", [JSON_STRING] = "string",
	    [JSON_INTEGER] = "integer", [JSON_REAL] = "number", [JSON_TRUE] = "boolean",
	    [JSON_FALSE] = "boolean",	[JSON_NULL] = "null",
	};
	return names[json_typeof(value)];
}

static bool type_matches(const char *want, const json_t *value)
{
	const char *have = type_of(value);

	if (strcmp(want, have) == 0)
		return true;
	return strcmp(want, "number") == 0 && json_is_integer(value);
}

static int check_type(struct vctx *v, const json_t *type, const json_t *value,
		      const struct vpath *path)
{
	size_t i;
	json_t *item;

	if (json_is_string(type)) {
		if (type_matches(json_string_value(type), value))
			return 0;
		/* The text loader reads integers past 64 bits as reals (rpc_text.h). */
		if (strcmp(json_string_value(type), "integer") == 0 && json_is_real(value) &&
		    (json_real_value(value) >= 0x1p63 || json_real_value(value) <= -0x1p63))
			return fail(v, path, "must be an integer of at most 64 bits");
		return fail(v, path, "must be %s, not %s", json_string_value(type), type_of(value));
	}
	json_array_foreach (type, i, item) {
		if (type_matches(json_string_value(item), value))
			return 0;
	}
	return fail(v, path, "has the wrong type (%s)", type_of(value));
}

static int check_enum(struct vctx *v, const json_t *choices, const json_t *value,
		      const struct vpath *path)
{
	size_t i;
	json_t *item;
	char list[256] = "";

	json_array_foreach (choices, i, item) {
		if (json_equal(item, (json_t *)value))
			return 0;
		if (json_is_string(item) &&
		    strlen(list) + strlen(json_string_value(item)) + 3 < sizeof(list)) {
			strcat(list, i ? ", " : "");
			strcat(list, json_string_value(item));
		}
	}
	return fail(v, path, "must be one of: %s", list);
}

static int check_number(struct vctx *v, const json_t *node, const json_t *value,
			const struct vpath *path)
{
	json_t *min = json_object_get(node, "minimum");
	json_t *max = json_object_get(node, "maximum");
	double x = json_number_value(value);

	if (json_is_integer(value) && json_is_integer(min) &&
	    json_integer_value(value) < json_integer_value(min))
		return fail(v, path, "must be >= %" JSON_INTEGER_FORMAT, json_integer_value(min));
	if (json_is_integer(value) && json_is_integer(max) &&
	    json_integer_value(value) > json_integer_value(max))
		return fail(v, path, "must be <= %" JSON_INTEGER_FORMAT, json_integer_value(max));
	if (json_is_real(value) &&
	    ((min && x < json_number_value(min)) || (max && x > json_number_value(max))))
		return fail(v, path, "is out of range");
	return 0;
}

static int check_string(struct vctx *v, const json_t *node, const json_t *value,
			const struct vpath *path)
{
	json_t *min = json_object_get(node, "minLength");
	json_t *max = json_object_get(node, "maxLength");
	json_t *pattern = json_object_get(node, "pattern");
	size_t len = json_string_length(value);

	if (min && (json_int_t)len < json_integer_value(min))
		return fail(v, path, "must be at least %" JSON_INTEGER_FORMAT " characters",
			    json_integer_value(min));
	if (max && (json_int_t)len > json_integer_value(max))
		return fail(v, path, "must be at most %" JSON_INTEGER_FORMAT " characters",
			    json_integer_value(max));
	if (pattern && (strlen(json_string_value(value)) != len ||
			!nr_schema_pattern_match(v->schema, json_string_value(pattern),
						 json_string_value(value), len)))
		return fail(v, path, "must match %s", json_string_value(pattern));
	return 0;
}

static int validate_node(struct vctx *v, const json_t *node, const json_t *value,
			 const struct vpath *path, int depth);

static int check_object(struct vctx *v, const json_t *node, const json_t *value,
			const struct vpath *path, int depth)
{
	json_t *props = json_object_get(node, "properties");
	json_t *extra = json_object_get(node, "additionalProperties");
	json_t *required = json_object_get(node, "required");
	const char *key;
	json_t *member;
	size_t i;
	int rc;

	json_array_foreach (required, i, member) {
		struct vpath sub = {path, json_string_value(member), 0};
		if (!json_object_get(value, sub.key))
			return fail(v, &sub, "is required");
	}
	json_object_foreach ((json_t *)value, key, member) {
		const json_t *child = json_object_get(props, key);
		struct vpath sub = {path, key, 0};
		if (!child && json_is_false(extra))
			return fail(v, &sub, "is not a known parameter");
		child = child ? child : (json_is_object(extra) ? extra : NULL);
		rc = child ? validate_node(v, child, member, &sub, depth + 1) : 0;
		if (rc)
			return rc;
	}
	return 0;
}

static int check_array(struct vctx *v, const json_t *node, const json_t *value,
		       const struct vpath *path, int depth)
{
	json_t *items = json_object_get(node, "items");
	json_t *min = json_object_get(node, "minItems");
	json_t *max = json_object_get(node, "maxItems");
	size_t i;
	json_t *item;
	int rc;

	if (min && (json_int_t)json_array_size(value) < json_integer_value(min))
		return fail(v, path, "needs at least %" JSON_INTEGER_FORMAT " items",
			    json_integer_value(min));
	if (max && (json_int_t)json_array_size(value) > json_integer_value(max))
		return fail(v, path, "takes at most %" JSON_INTEGER_FORMAT " items",
			    json_integer_value(max));
	json_array_foreach (value, i, item) {
		struct vpath sub = {path, NULL, i};
		rc = items ? validate_node(v, items, item, &sub, depth + 1) : 0;
		if (rc)
			return rc;
	}
	return 0;
}

static int validate_node(struct vctx *v, const json_t *node, const json_t *value,
			 const struct vpath *path, int depth)
{
	json_t *ref = json_object_get(node, "$ref");
	json_t *type = json_object_get(node, "type");
	json_t *choices = json_object_get(node, "enum");
	json_t *constant = json_object_get(node, "const");
	int rc;

	if (depth > 32)
		return fail(v, path, "is nested too deeply");
	if (ref) {
		rc = validate_node(v, nr_schema_resolve_ref(v->schema, json_string_value(ref)),
				   value, path, depth + 1);
		if (rc)
			return rc;
	}
	if (type && (rc = check_type(v, type, value, path)))
		return rc;
	if (choices && (rc = check_enum(v, choices, value, path)))
		return rc;
	if (constant && !json_equal(constant, (json_t *)value))
		return fail(v, path, "has the wrong value");
	/* Only the keywords of the value's own type are looked up. */
	switch (json_typeof(value)) {
	case JSON_INTEGER:
	case JSON_REAL:
		return check_number(v, node, value, path);
	case JSON_STRING:
		return check_string(v, node, value, path);
	case JSON_OBJECT:
		return check_object(v, node, value, path, depth);
	case JSON_ARRAY:
		return check_array(v, node, value, path, depth);
	default:
		return 0;
	}
}

int nr_schema_validate(struct nr_schema *schema, const json_t *node, const json_t *value,
		       const char *path, char *field, size_t field_len, char *reason,
		       size_t reason_len)
{
	struct vctx v = {schema, field, field_len, reason, reason_len};
	struct vpath root = {NULL, path, 0};

	return validate_node(&v, node, value, &root, 0);
}
