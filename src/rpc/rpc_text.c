/* SPDX-License-Identifier: MIT */
#include "rpc/rpc_text.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "rpc/rpc_error.h"

#define LOAD_FLAGS (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)
/* Stands for a number too large for a double: still a number, still huge. */
#define HUGE_REAL "1e300"

static bool is_number_byte(char c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

static bool is_real(const char *tok, size_t len)
{
	return memchr(tok, '.', len) || memchr(tok, 'e', len) || memchr(tok, 'E', len);
}

/* Whether the number token @tok (@len bytes) overflows what jansson holds. */
static bool number_overflows(const char *tok, size_t len, bool real)
{
	char *copy = strndup(tok, len);
	bool overflows;

	if (!copy)
		return false; /* then the parse fails as before: out of memory */
	errno = 0;
	if (real) {
		double v = strtod(copy, NULL);
		overflows =
		    errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL); /* not underflow */
	} else {
		strtoll(copy, NULL, 10);
		overflows = errno == ERANGE;
	}
	free(copy);
	return overflows;
}

/* Appends the token, or a real standing for it when it overflows: its
 * digits with ".0" when a double holds them, else HUGE_REAL with its sign.
 * Returns 0 or -ENOMEM. */
static int put_number(struct nr_buf *out, const char *tok, size_t len)
{
	bool real = is_real(tok, len);
	int rc;

	if (!number_overflows(tok, len, real))
		return nr_buf_append(out, tok, len);
	if (!real && len <= 300)
		return (rc = nr_buf_append(out, tok, len)) ? rc : nr_buf_append(out, ".0", 2);
	if (tok[0] == '-' && (rc = nr_buf_putc(out, '-')) != 0)
		return rc;
	return nr_buf_append(out, HUGE_REAL, sizeof(HUGE_REAL) - 1);
}

/*
 * Copies @text with every overflowing number token replaced (put_number).
 * Strings are copied as they are. Returns 0 or -ENOMEM.
 */
static int widen_numbers(const char *text, size_t len, struct nr_buf *out)
{
	bool in_string = false, escape = false;
	size_t i = 0;
	int rc = 0;

	while (i < len && rc == 0) {
		char c = text[i];
		size_t n = 1;
		if (in_string) {
			in_string = escape || c != '"';
			escape = !escape && c == '\\';
		} else if (c == '"') {
			in_string = true;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			while (i + n < len && is_number_byte(text[i + n]))
				n++;
			rc = put_number(out, text + i, n);
			i += n;
			continue;
		}
		rc = nr_buf_putc(out, c);
		i += n;
	}
	return rc;
}

static json_t *load_widened(const char *text, size_t len, json_error_t *jerr)
{
	struct nr_buf copy = {0};
	json_t *value = NULL;

	if (widen_numbers(text, len, &copy) == 0)
		value = json_loadb(copy.data, copy.len, LOAD_FLAGS, jerr);
	nr_buf_free(&copy);
	return value;
}

json_t *nr_rpc_text_load(const char *text, size_t len, struct nr_rpc_text_error *err)
{
	json_error_t jerr;
	json_t *value = json_loadb(text, len, LOAD_FLAGS, &jerr);

	if (!value && json_error_code(&jerr) == json_error_numeric_overflow)
		value = load_widened(text, len, &jerr);
	if (value)
		return value;
	switch (json_error_code(&jerr)) {
	case json_error_duplicate_key:
	case json_error_null_byte_in_key:
	case json_error_stack_overflow:
		err->code = NR_E_INVALID_REQUEST;
		break;
	default:
		err->code = NR_E_PARSE;
		break;
	}
	snprintf(err->reason, sizeof(err->reason), "%s", jerr.text);
	return NULL;
}
