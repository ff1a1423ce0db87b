/* SPDX-License-Identifier: MIT */
/*
 * The OpenRPC document, embedded at build time from schema/, and the
 * validator that checks requests against it before dispatch.
 */
#ifndef NR_SCHEMA_H
#define NR_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum nr_class {
	NR_CLASS_READ = 0,
	NR_CLASS_WRITE = 1,
	NR_CLASS_DESTRUCTIVE = 2,
};

struct nr_schema_method {
	const char *name; /* borrowed from the document */
	enum nr_class cls;
	bool streaming;
	bool test_only;	       /* x-test-only: served under --simulate alone */
	unsigned backends;     /* bit per backend: NR_BACKEND_BIT_* */
	json_t *params_schema; /* owned: {type: object, properties, required, additionalProperties:
				  false} */
	json_t *class_if;      /* owned: param name -> its x-class-if {class: schema}, or NULL */
};

#define NR_BACKEND_BIT_SIM 0x1u
#define NR_BACKEND_BIT_PASSTHRU 0x2u
#define NR_BACKEND_BIT_MI 0x4u

/* The bit of the backend named @name in the schema's x-backends vocabulary
 * (a backend's ops->name); 0 when the schema does not know it. */
unsigned nr_schema_backend_bit(const char *name);

struct nr_schema;

/*
 * Parses the embedded document and indexes its methods. Returns 0 or -EINVAL
 * (with a sentence in @err) when the document is malformed. Loop thread,
 * once at start.
 */
int nr_schema_load(struct nr_schema **out, char *err, size_t err_len);
void nr_schema_free(struct nr_schema *schema);

/* The whole document, borrowed. */
json_t *nr_schema_document(const struct nr_schema *schema);
/* The document without its x-test-only methods (what a daemon not
 * simulating serves), borrowed. */
json_t *nr_schema_public_document(const struct nr_schema *schema);

/* The method or NULL. */
const struct nr_schema_method *nr_schema_method(const struct nr_schema *schema, const char *name);
size_t nr_schema_method_count(const struct nr_schema *schema);
const struct nr_schema_method *nr_schema_method_at(const struct nr_schema *schema, size_t index);

/*
 * Validates @value against the JSON Schema @node (resolving $ref against the
 * document). @path names @value ("params"). Returns 0 when valid, or -EINVAL
 * with the JSON path of the offending value in @field and why in @reason.
 * Supported keywords: $ref, type, enum, const, properties, required,
 * additionalProperties, items, minItems, maxItems, minimum, maximum,
 * minLength, maxLength, pattern (POSIX extended), description and friends
 * are ignored. Unknown validation keywords make nr_schema_load fail.
 */
int nr_schema_validate(struct nr_schema *schema, const json_t *node, const json_t *value,
		       const char *path, char *field, size_t field_len, char *reason,
		       size_t reason_len);

/*
 * The effective class of a call of @m with @params (already validated): the
 * method's x-class, raised by each parameter present whose value matches one
 * of its x-class-if schemas ({"write": {"const": false}}). An absent
 * parameter takes its default, which never raises the class. @why, when not
 * NULL, gets the name of the parameter that raised it to the class returned
 * (borrowed from the document) or NULL. Loop thread.
 */
enum nr_class nr_schema_call_class(struct nr_schema *schema, const struct nr_schema_method *m,
				   const json_t *params, const char **why);

/* "read", "write" or "destructive". */
const char *nr_class_name(enum nr_class cls);

#endif
