/* SPDX-License-Identifier: MIT */
/* Shared between schema.c (loading) and validate.c (checking). */
#ifndef NR_SCHEMA_INTERNAL_H
#define NR_SCHEMA_INTERNAL_H

#include <regex.h>

#include "rpc/schema.h"

/* The component a "#/components/schemas/N" reference names (borrowed), or NULL. */
const json_t *nr_schema_resolve_ref(const struct nr_schema *schema, const char *ref);

/* Whether @text (@len bytes, no NUL inside) matches the pattern @source seen
 * at load. A pattern of one character class with a length, "^[...]{m,n}$",
 * "^[...]+$" or "^[...]*$", is matched by a byte table (the device name
 * every call carries); any other by its compiled POSIX regex. */
bool nr_schema_pattern_match(const struct nr_schema *schema, const char *source, const char *text,
			     size_t len);

#endif
