/* SPDX-License-Identifier: MIT */
/*
 * The request envelope read straight from the text, without a jansson tree,
 * for the plain form nearly every client sends. Anything else (a batch, an
 * escape, a byte outside printable ASCII in a key or string, a repeated or
 * unknown member, an id that is not a short integer or plain string) is left
 * to the full parser, which gives every error its exact answer: this path
 * only ever accepts what the full path would accept, and reads it the same.
 */
#include "rpc/envelope.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

struct scan {
	const char *at;
	const char *end;
};

static void skip_ws(struct scan *s)
{
	while (s->at < s->end &&
	       (*s->at == ' ' || *s->at == '\t' || *s->at == '\n' || *s->at == '\r'))
		s->at++;
}

static bool take(struct scan *s, char c)
{
	skip_ws(s);
	if (s->at == s->end || *s->at != c)
		return false;
	s->at++;
	return true;
}

/* A string of printable ASCII without escapes: its bytes between the quotes. */
static bool plain_string(struct scan *s, const char **text, size_t *len)
{
	const char *p;

	if (!take(s, '"'))
		return false;
	for (p = s->at; p < s->end && *p != '"'; p++) {
		if (*p < 0x20 || *p > 0x7e || *p == '\\')
			return false;
	}
	if (p == s->end)
		return false;
	*text = s->at;
	*len = (size_t)(p - s->at);
	s->at = p + 1;
	return true;
}

/* -?(0|[1-9][0-9]{0,17}): always within int64, never a real. */
static bool short_integer(struct scan *s, const char **text, size_t *len)
{
	const char *p = s->at;
	size_t digits = 0;

	if (p < s->end && *p == '-')
		p++;
	while (p + digits < s->end && p[digits] >= '0' && p[digits] <= '9')
		digits++;
	if (digits == 0 || digits > 18 || (digits > 1 && *p == '0'))
		return false;
	p += digits;
	if (p < s->end && (*p == '.' || *p == 'e' || *p == 'E'))
		return false;
	*text = s->at;
	*len = (size_t)(p - s->at);
	s->at = p;
	return true;
}

/* An object or array value: its span, brackets included (its contents are
 * the full parser's to judge). */
static bool nested_span(struct scan *s, const char **text, size_t *len)
{
	const char *p = s->at;
	bool in_string = false, escape = false;
	size_t depth = 0;

	if (p == s->end || (*p != '{' && *p != '['))
		return false;
	for (; p < s->end; p++) {
		if (in_string) {
			in_string = escape || *p != '"';
			escape = !escape && *p == '\\';
		} else if (*p == '"') {
			in_string = true;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if ((*p == '}' || *p == ']') && --depth == 0) {
			*text = s->at;
			*len = (size_t)(p + 1 - s->at);
			s->at = p + 1;
			return true;
		}
	}
	return false;
}

enum member { M_JSONRPC, M_ID, M_METHOD, M_PARAMS, M_COUNT };

static const struct {
	const char *name;
	size_t len;
} members[M_COUNT] = {
    [M_JSONRPC] = {"jsonrpc", 7},
    [M_ID] = {"id", 2},
    [M_METHOD] = {"method", 6},
    [M_PARAMS] = {"params", 6},
};

static int member_of(const char *key, size_t len)
{
	for (int m = 0; m < M_COUNT; m++) {
		if (members[m].len == len && memcmp(members[m].name, key, len) == 0)
			return m;
	}
	return -1;
}

static bool member_value(struct scan *s, enum member m, struct nr_envelope_text *env)
{
	const char *text;
	size_t len;

	skip_ws(s);
	switch (m) {
	case M_JSONRPC:
		return plain_string(s, &text, &len) && len == 3 && memcmp(text, "2.0", 3) == 0;
	case M_METHOD:
		return plain_string(s, &env->method, &env->method_len);
	case M_ID:
		env->has_id = true;
		if (s->at < s->end && *s->at == '"') {
			env->id_is_string = true;
			return plain_string(s, &env->id, &env->id_len);
		}
		return short_integer(s, &env->id, &env->id_len);
	case M_PARAMS:
		return nested_span(s, &env->params, &env->params_len);
	default:
		return false;
	}
}

int nr_envelope_scan(const char *text, size_t len, struct nr_envelope_text *env)
{
	struct scan s = {text, text + len};
	unsigned seen = 0;

	*env = (struct nr_envelope_text){0};
	if (!take(&s, '{'))
		return -EINVAL;
	do {
		const char *key;
		size_t key_len;
		int m;
		if (!plain_string(&s, &key, &key_len) || (m = member_of(key, key_len)) < 0 ||
		    (seen & 1u << m) || !take(&s, ':') || !member_value(&s, (enum member)m, env))
			return -EINVAL;
		seen |= 1u << m;
	} while (take(&s, ','));
	if (!take(&s, '}'))
		return -EINVAL;
	skip_ws(&s);
	/* Without jsonrpc or method it is not a valid request: the full path says why. */
	if (s.at != s.end || !(seen & 1u << M_JSONRPC) || !(seen & 1u << M_METHOD))
		return -EINVAL;
	return 0;
}
