/* SPDX-License-Identifier: MIT */
#include "rpc/schema.h"
#include "rpc/schema_internal.h"

#include <errno.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char nr_openrpc_doc[];
extern const size_t nr_openrpc_doc_len;

#define MAX_PATTERNS 32
#define MAX_DEPTH 16

struct pattern {
	const char *source; /* borrowed from the document */
	regex_t regex;
	bool simple; /* one class with a length: the fields below match it */
	uint8_t class_bits[32];
	size_t min_len, max_len;
};

struct nr_schema {
	json_t *doc;
	json_t *public_doc; /* doc without x-test-only methods, sharing the rest */
	json_t *index;	    /* method name -> integer index */
	struct nr_schema_method *methods;
	size_t method_count;
	struct pattern patterns[MAX_PATTERNS];
	size_t pattern_count;
};

static const char *const known_keywords[] = {
    "$ref",
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "description",
    "title",
    "default",
    "examples",
};

static const char *const class_names[] = {
    [NR_CLASS_READ] = "read",
    [NR_CLASS_WRITE] = "write",
    [NR_CLASS_DESTRUCTIVE] = "destructive",
};

static const struct {
	const char *name;
	unsigned bit;
} backend_bits[] = {
    {"sim", NR_BACKEND_BIT_SIM},
    {"passthru", NR_BACKEND_BIT_PASSTHRU},
    {"mi", NR_BACKEND_BIT_MI},
};

unsigned nr_schema_backend_bit(const char *name)
{
	for (size_t i = 0; i < sizeof(backend_bits) / sizeof(backend_bits[0]); i++) {
		if (strcmp(backend_bits[i].name, name) == 0)
			return backend_bits[i].bit;
	}
	return 0;
}

/* Returns the schema a $ref names (borrowed), or NULL. */
const json_t *nr_schema_resolve_ref(const struct nr_schema *schema, const char *ref)
{
	static const char prefix[] = "#/components/schemas/";

	if (strncmp(ref, prefix, sizeof(prefix) - 1) != 0)
		return NULL;
	return json_object_get(
	    json_object_get(json_object_get(schema->doc, "components"), "schemas"),
	    ref + sizeof(prefix) - 1);
}

static const struct pattern *pattern_find(const struct nr_schema *schema, const char *source)
{
	for (size_t i = 0; i < schema->pattern_count; i++) {
		if (schema->patterns[i].source == source ||
		    strcmp(schema->patterns[i].source, source) == 0)
			return &schema->patterns[i];
	}
	return NULL;
}

static void class_set(struct pattern *p, unsigned char c)
{
	p->class_bits[c >> 3] |= (uint8_t)(1u << (c & 7));
}

/* Reads "[...]" at @s (ranges a-z and single characters; a '-' first or
 * last is itself). Returns the text after ']', or NULL for anything else. */
static const char *class_parse(struct pattern *p, const char *s)
{
	if (*s++ != '[' || *s == '^' || *s == ']')
		return NULL;
	for (; *s && *s != ']'; s++) {
		if (*s == '[' || *s == '\\')
			return NULL;
		if (s[1] == '-' && s[2] && s[2] != ']') {
			for (unsigned c = (unsigned char)s[0]; c <= (unsigned char)s[2]; c++)
				class_set(p, (unsigned char)c);
			s += 2;
		} else {
			class_set(p, (unsigned char)*s);
		}
	}
	return *s == ']' ? s + 1 : NULL;
}

/* Recognises "^[...]{m,n}$", "^[...]{n}$", "^[...]+$" and "^[...]*$". */
static void pattern_simplify(struct pattern *p)
{
	const char *s = p->source;
	unsigned long lo, hi;
	char *end;

	if (*s++ != '^' || !(s = class_parse(p, s)))
		return;
	if (strcmp(s, "+$") == 0 || strcmp(s, "*$") == 0) {
		p->min_len = *s == '+';
		p->max_len = SIZE_MAX;
		p->simple = true;
		return;
	}
	if (*s++ != '{')
		return;
	lo = strtoul(s, &end, 10);
	hi = lo;
	if (*end == ',')
		hi = strtoul(end + 1, &end, 10);
	if (end == s || strcmp(end, "}$") != 0 || hi < lo)
		return;
	p->min_len = lo;
	p->max_len = hi;
	p->simple = true;
}

bool nr_schema_pattern_match(const struct nr_schema *schema, const char *source, const char *text,
			     size_t len)
{
	const struct pattern *p = pattern_find(schema, source);

	if (!p)
		return true; /* every pattern was compiled at load */
	if (!p->simple)
		return regexec(&p->regex, text, 0, NULL, 0) == 0;
	if (len < p->min_len || len > p->max_len)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (!(p->class_bits[c >> 3] >> (c & 7) & 1))
			return false;
	}
	return true;
}

static int pattern_add(struct nr_schema *schema, const char *source, char *err, size_t err_len)
{
	struct pattern *p;

	if (pattern_find(schema, source))
		return 0;
	if (schema->pattern_count == MAX_PATTERNS) {
		snprintf(err, err_len, "more than %d patterns", MAX_PATTERNS);
		return -EINVAL;
	}
	p = &schema->patterns[schema->pattern_count];
	if (regcomp(&p->regex, source, REG_EXTENDED | REG_NOSUB) != 0) {
		snprintf(err, err_len, "pattern %s is not POSIX extended", source);
		return -EINVAL;
	}
	p->source = source;
	pattern_simplify(p);
	schema->pattern_count++;
	return 0;
}

static bool keyword_known(const char *key)
{
	for (size_t i = 0; i < sizeof(known_keywords) / sizeof(known_keywords[0]); i++) {
		if (strcmp(known_keywords[i], key) == 0)
			return true;
	}
	return false;
}

/* Walks a params schema: every keyword is one the validator implements,
 * every $ref resolves, every pattern compiles. */
static int check_node(struct nr_schema *schema, const json_t *node, int depth, char *err,
		      size_t err_len)
{
	const char *key;
	json_t *value;
	int rc;

	if (depth > MAX_DEPTH || !json_is_object(node)) {
		snprintf(err, err_len, "schema node too deep or not an object");
		return -EINVAL;
	}
	json_object_foreach ((json_t *)node, key, value) {
		if (!keyword_known(key)) {
			snprintf(err, err_len, "keyword %s is not implemented by the validator",
				 key);
			return -EINVAL;
		}
		rc = 0;
		if (strcmp(key, "$ref") == 0) {
			const json_t *target =
			    nr_schema_resolve_ref(schema, json_string_value(value));
			rc = target ? check_node(schema, target, depth + 1, err, err_len) : -EINVAL;
			if (!target)
				snprintf(err, err_len, "unresolved $ref");
		} else if (strcmp(key, "pattern") == 0) {
			rc = pattern_add(schema, json_string_value(value), err, err_len);
		} else if (strcmp(key, "items") == 0 ||
			   (strcmp(key, "additionalProperties") == 0 && json_is_object(value))) {
			rc = check_node(schema, value, depth + 1, err, err_len);
		} else if (strcmp(key, "properties") == 0) {
			const char *prop;
			json_t *sub;
			json_object_foreach (value, prop, sub) {
				rc = check_node(schema, sub, depth + 1, err, err_len);
				if (rc)
					break;
			}
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_class(const char *text, enum nr_class *cls)
{
	for (size_t i = 0; i < sizeof(class_names) / sizeof(class_names[0]); i++) {
		if (text && strcmp(class_names[i], text) == 0) {
			*cls = (enum nr_class)i;
			return 0;
		}
	}
	return -EINVAL;
}

static unsigned parse_backends(const json_t *list)
{
	unsigned bits = 0;
	size_t i;
	json_t *item;

	json_array_foreach (list, i, item) {
		if (json_is_string(item))
			bits |= nr_schema_backend_bit(json_string_value(item));
	}
	return bits;
}

/* Builds {type: object, properties, required, additionalProperties: false}
 * from an OpenRPC params list. Returns a new reference or NULL. */
static json_t *params_schema_build(const json_t *params)
{
	json_t *props = json_object();
	json_t *required = json_array();
	size_t i;
	json_t *param;

	json_array_foreach (params, i, param) {
		const char *name = json_string_value(json_object_get(param, "name"));
		json_t *sub = json_object_get(param, "schema");
		if (!name || !json_is_object(sub))
			goto fail;
		json_object_set(props, name, sub);
		if (json_is_true(json_object_get(param, "required")))
			json_array_append_new(required, json_string(name));
	}
	return json_pack("{s:s, s:o, s:o, s:b}", "type", "object", "properties", props, "required",
			 required, "additionalProperties", 0);
fail:
	json_decref(props);
	json_decref(required);
	return NULL;
}

const char *nr_class_name(enum nr_class cls)
{
	return (size_t)cls < sizeof(class_names) / sizeof(class_names[0]) ? class_names[cls] : "?";
}

/* Checks one parameter's x-class-if: each key a class above the method's,
 * each value a schema the validator implements. */
static int class_if_check(struct nr_schema *schema, const struct nr_schema_method *m,
			  const json_t *class_if, char *err, size_t err_len)
{
	const char *name;
	json_t *when;
	enum nr_class cls;

	json_object_foreach ((json_t *)class_if, name, when) {
		if (parse_class(name, &cls) != 0 || cls <= m->cls) {
			snprintf(err, err_len, "method %s: x-class-if %s is not a class above %s",
				 m->name, name, class_names[m->cls]);
			return -EINVAL;
		}
		if (check_node(schema, when, 0, err, err_len) != 0)
			return -EINVAL;
	}
	return 0;
}

/* Gathers the params' x-class-if into m->class_if (NULL when none). */
static int class_if_load(struct nr_schema *schema, struct nr_schema_method *m, const json_t *params,
			 char *err, size_t err_len)
{
	size_t i;
	json_t *param;

	json_array_foreach (params, i, param) {
		json_t *class_if = json_object_get(param, "x-class-if");
		if (!class_if)
			continue;
		if (!json_is_object(class_if) || class_if_check(schema, m, class_if, err, err_len))
			return -EINVAL;
		if (!m->class_if)
			m->class_if = json_object();
		json_object_set(m->class_if, json_string_value(json_object_get(param, "name")),
				class_if);
	}
	return 0;
}

enum nr_class nr_schema_call_class(struct nr_schema *schema, const struct nr_schema_method *m,
				   const json_t *params, const char **why)
{
	enum nr_class cls = m->cls, when_cls;
	char field[128], reason[128];
	const char *name, *class_name;
	json_t *class_if, *when;

	if (why)
		*why = NULL;
	json_object_foreach (m->class_if, name, class_if) {
		const json_t *value = json_object_get(params, name);
		json_object_foreach (class_if, class_name, when) {
			if (!value || parse_class(class_name, &when_cls) != 0 || when_cls <= cls ||
			    nr_schema_validate(schema, when, value, name, field, sizeof(field),
					       reason, sizeof(reason)) != 0)
				continue;
			cls = when_cls;
			if (why)
				*why = name;
		}
	}
	return cls;
}

static int method_load(struct nr_schema *schema, const json_t *obj, struct nr_schema_method *m,
		       char *err, size_t err_len)
{
	m->name = json_string_value(json_object_get(obj, "name"));
	if (!m->name ||
	    parse_class(json_string_value(json_object_get(obj, "x-class")), &m->cls) != 0) {
		snprintf(err, err_len, "method %s: missing name or x-class",
			 m->name ? m->name : "?");
		return -EINVAL;
	}
	m->streaming = json_is_true(json_object_get(obj, "x-streaming"));
	m->test_only = json_is_true(json_object_get(obj, "x-test-only"));
	m->backends = parse_backends(json_object_get(obj, "x-backends"));
	m->params_schema = params_schema_build(json_object_get(obj, "params"));
	if (!m->params_schema) {
		snprintf(err, err_len, "method %s: malformed params", m->name);
		return -EINVAL;
	}
	if (class_if_load(schema, m, json_object_get(obj, "params"), err, err_len))
		return -EINVAL;
	return check_node(schema, m->params_schema, 0, err, err_len);
}

/* The document a daemon that does not simulate serves: a shallow copy
 * whose methods array leaves the test-only ones out. Returns 0 or -ENOMEM. */
static int public_doc_build(struct nr_schema *schema)
{
	json_t *methods = json_array();

	schema->public_doc = json_copy(schema->doc);
	if (!methods || !schema->public_doc) {
		json_decref(methods);
		return -ENOMEM;
	}
	for (size_t i = 0; i < schema->method_count; i++) {
		if (!schema->methods[i].test_only)
			json_array_append(
			    methods, json_array_get(json_object_get(schema->doc, "methods"), i));
	}
	return json_object_set_new(schema->public_doc, "methods", methods) ? -ENOMEM : 0;
}

int nr_schema_load(struct nr_schema **out, char *err, size_t err_len)
{
	struct nr_schema *schema = calloc(1, sizeof(*schema));
	json_error_t jerr;
	json_t *methods;
	int rc = -EINVAL;

	if (!schema)
		return -ENOMEM;
	schema->doc = json_loadb(nr_openrpc_doc, nr_openrpc_doc_len, 0, &jerr);
	methods = json_object_get(schema->doc, "methods");
	if (!json_is_array(methods)) {
		snprintf(err, err_len, "embedded document: %s",
			 schema->doc ? "no methods" : jerr.text);
		goto fail;
	}
	schema->method_count = json_array_size(methods);
	schema->methods = calloc(schema->method_count, sizeof(*schema->methods));
	schema->index = json_object();
	for (size_t i = 0; i < schema->method_count; i++) {
		rc = method_load(schema, json_array_get(methods, i), &schema->methods[i], err,
				 err_len);
		if (rc)
			goto fail;
		json_object_set_new(schema->index, schema->methods[i].name,
				    json_integer((json_int_t)i));
	}
	rc = public_doc_build(schema);
	if (rc)
		goto fail;
	*out = schema;
	return 0;
fail:
	nr_schema_free(schema);
	return rc;
}

void nr_schema_free(struct nr_schema *schema)
{
	if (!schema)
		return;
	for (size_t i = 0; i < schema->method_count; i++) {
		json_decref(schema->methods[i].params_schema);
		json_decref(schema->methods[i].class_if);
	}
	for (size_t i = 0; i < schema->pattern_count; i++)
		regfree(&schema->patterns[i].regex);
	free(schema->methods);
	json_decref(schema->index);
	json_decref(schema->public_doc);
	json_decref(schema->doc);
	free(schema);
}

json_t *nr_schema_document(const struct nr_schema *schema)
{
	return schema->doc;
}

json_t *nr_schema_public_document(const struct nr_schema *schema)
{
	return schema->public_doc;
}

const struct nr_schema_method *nr_schema_method(const struct nr_schema *schema, const char *name)
{
	json_t *idx = json_object_get(schema->index, name);

	return idx ? &schema->methods[json_integer_value(idx)] : NULL;
}

size_t nr_schema_method_count(const struct nr_schema *schema)
{
	return schema->method_count;
}

const struct nr_schema_method *nr_schema_method_at(const struct nr_schema *schema, size_t index)
{
	return index < schema->method_count ? &schema->methods[index] : NULL;
}
