/* SPDX-License-Identifier: MIT */
/* The request envelope read from the text without a jansson tree. */
#ifndef NR_ENVELOPE_H
#define NR_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>

/* Spans into the request text (not NUL-terminated). */
struct nr_envelope_text {
	const char *method;
	size_t method_len;
	bool has_id;
	bool id_is_string; /* else a short integer token */
	const char *id;	   /* a string's bytes between its quotes, or the integer */
	size_t id_len;
	const char *params; /* the object or array, brackets included; NULL: absent */
	size_t params_len;
};

/*
 * Reads @text (one JSON text, @len bytes) as a request object of the plain
 * form: members jsonrpc ("2.0"), method and optionally id and params, each
 * once, no other; keys, method and a string id in printable ASCII without
 * escapes; an integer id of at most 18 digits; params an object or array
 * (only its extent is found here). Returns 0 with *@env set, or -EINVAL when
 * @text is anything else: the caller then parses it in full.
 */
int nr_envelope_scan(const char *text, size_t len, struct nr_envelope_text *env);

#endif
