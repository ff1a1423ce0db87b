/* SPDX-License-Identifier: MIT */
/*
 * Parsing one JSON text from a client. Every valid JSON text gets a value
 * the dispatcher can answer: numbers beyond what jansson holds (integers
 * past 64 bits, reals past double) are read as reals of the same sign, so
 * that validation names the field instead of the parser refusing the text.
 */
#ifndef NR_RPC_TEXT_H
#define NR_RPC_TEXT_H

#include <jansson.h>
#include <stddef.h>

struct nr_rpc_text_error {
	int code; /* NR_E_PARSE (not JSON), NR_E_INVALID_REQUEST (JSON this server refuses) */
	char reason[JSON_ERROR_TEXT_LENGTH + 32];
};

/*
 * Parses @len bytes of @text. Strings may hold U+0000 (the dispatcher
 * refuses them where they matter). Returns a new reference, or NULL with
 * @err set: -32700 for text that is not JSON, -32600 for JSON this server
 * does not take (a repeated member name, U+0000 in a member name, nesting
 * beyond jansson's depth).
 */
json_t *nr_rpc_text_load(const char *text, size_t len, struct nr_rpc_text_error *err);

#endif
