/* SPDX-License-Identifier: MIT */
/* Response texts written directly, without a jansson object: the per-call
 * cost of every answer. Loop thread. */
#include "rpc/answer.h"

#include <stdlib.h>
#include <string.h>

/* An integer's decimal text at @out (room for 21 bytes); returns its length. */
static size_t integer_text(json_int_t value, char *out)
{
	char digits[20];
	unsigned long long magnitude =
	    value < 0 ? 0ull - (unsigned long long)value : (unsigned long long)value;
	size_t n = 0, len = 0;

	do {
		digits[n++] = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude);
	if (value < 0)
		out[len++] = '-';
	while (n)
		out[len++] = digits[--n];
	return len;
}

/* Dumps @value compactly into @stack when it fits, else into a malloc'd
 * buffer (*heap, to free). Returns the text (not NUL-terminated) or NULL. */
static const char *dump_value(const json_t *value, char *stack, size_t cap, char **heap,
			      size_t *len)
{
	size_t need;

	*heap = NULL;
	/* Most ids are integers: no trip through jansson's dumper. */
	if (json_is_integer(value) && cap >= 21) {
		*len = integer_text(json_integer_value(value), stack);
		return stack;
	}
	need = json_dumpb(value, stack, cap, JSON_COMPACT | JSON_ENCODE_ANY);
	*len = need;
	if (need == 0)
		return NULL;
	if (need <= cap)
		return stack;
	*heap = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	return *heap;
}

/*
 * Returns a new response text {"jsonrpc":"2.0","id":ID,"KEY":VALUE} for @id
 * (borrowed; NULL means null) around @value_text (@value_len bytes, the
 * value's compact JSON text); NULL on allocation failure.
 */
char *nr_answer_text(const json_t *id, const char *key, const char *value_text, size_t value_len,
		     size_t *len)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":";
	char id_stack[128];
	char *id_heap, *text = NULL, *p;
	size_t id_len, key_len = strlen(key);
	const char *id_text =
	    dump_value(id ? id : json_null(), id_stack, sizeof(id_stack), &id_heap, &id_len);

	if (id_text)
		text = malloc(sizeof(head) + id_len + key_len + value_len + 8);
	if (text) {
		p = text;
		memcpy(p, head, sizeof(head) - 1);
		p += sizeof(head) - 1;
		memcpy(p, id_text, id_len);
		p += id_len;
		*p++ = ',';
		*p++ = '"';
		memcpy(p, key, key_len);
		p += key_len;
		*p++ = '"';
		*p++ = ':';
		memcpy(p, value_text, value_len);
		p += value_len;
		*p++ = '}';
		*p = '\0';
		*len = (size_t)(p - text);
	}
	free(id_heap);
	return text;
}

/*
 * Returns a new response text {"jsonrpc":"2.0","id":ID,"KEY":VALUE} for @id
 * (borrowed; NULL means null), @value stolen; NULL on allocation failure.
 * Written directly rather than through a jansson object: it is the per-call
 * cost of every answer.
 */
char *nr_answer_json(const json_t *id, const char *key, json_t *value, size_t *len)
{
	char value_stack[2048];
	char *value_heap, *text = NULL;
	size_t value_len;
	const char *value_text =
	    dump_value(value, value_stack, sizeof(value_stack), &value_heap, &value_len);

	if (value_text)
		text = nr_answer_text(id, key, value_text, value_len, len);
	free(value_heap);
	json_decref(value);
	return text;
}
