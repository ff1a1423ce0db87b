/* SPDX-License-Identifier: MIT */
/* Response texts: {"jsonrpc":"2.0","id":ID,"KEY":VALUE}. */
#ifndef NR_ANSWER_H
#define NR_ANSWER_H

#include <jansson.h>
#include <stddef.h>

/* Returns a new (malloc'd) response text for @id (borrowed; NULL means null)
 * around @value_text (@value_len bytes of compact JSON) under @key
 * ("result" or "error"), its length in *@len; NULL on allocation failure. */
char *nr_answer_text(const json_t *id, const char *key, const char *value_text, size_t value_len,
		     size_t *len);
/* The same with @value (stolen) dumped compactly. */
char *nr_answer_json(const json_t *id, const char *key, json_t *value, size_t *len);

#endif
