/* SPDX-License-Identifier: MIT */
/* Shared between schema.c (loading) and validate.c (checking). */
#ifndef NR_SCHEMA_INTERNAL_H
#define NR_SCHEMA_INTERNAL_H

#include <regex.h>

#include "rpc/schema.h"

/* The component a "#/components/schemas/N" reference names (borrowed), or NULL. */
const json_t *nr_schema_resolve_ref(const struct nr_schema *schema, const char *ref);

/* The compiled form of a pattern seen at load, or NULL. */
regex_t *nr_schema_pattern(struct nr_schema *schema, const char *source);

#endif
