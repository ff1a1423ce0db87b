/* SPDX-License-Identifier: MIT */
/* Framing: value boundaries, resynchronisation, limits. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "framing.h"

struct sink {
	char out[4096]; /* values and errors, one per line: "V:<text>" or "E<n>" */
	bool reject;	/* pretend the value did not parse (discard the line) */
};

static bool on_value(void *opaque, const char *text, size_t len)
{
	struct sink *s = opaque;

	strcat(s->out, "V:");
	strncat(s->out, text, len);
	strcat(s->out, "\n");
	return s->reject;
}

static void on_error(void *opaque, enum nr_frame_error error, const char *reason)
{
	struct sink *s = opaque;

	strcat(s->out, error == NR_FRAME_TOO_DEEP   ? "E3\n"
		       : error == NR_FRAME_TOO_LONG ? "E2\n"
						    : "E1\n");
}

static const struct nr_framer_ops ops = {on_value, on_error};

static void run(const char *input, size_t max, struct sink *s)
{
	struct nr_framer f;

	nr_framer_init(&f, &ops, s, max, 4);
	/* Byte by byte as well as whole must agree: feed in two uneven halves. */
	size_t half = strlen(input) / 3;
	cr_assert_eq(nr_framer_feed(&f, input, half), 0);
	cr_assert_eq(nr_framer_feed(&f, input + half, strlen(input) - half), 0);
	nr_framer_finish(&f);
	nr_framer_fini(&f);
}

/* Criterion re-executes the binary for each test: parameters are copied
 * bytes, so they hold arrays, not pointers. */
struct vector {
	char input[64];
	char expect[64];
};

ParameterizedTestParameters(framing, vectors)
{
	static struct vector v[] = {
	    {"{\"a\":1}\n", "V:{\"a\":1}\n"},
	    {"{\"a\":1}{\"b\":2}\n", "V:{\"a\":1}\nV:{\"b\":2}\n"},
	    {"  [1,[2]]  \r\n", "V:[1,[2]]\n"},
	    {"{\"s\":\"}{\\\"\"}\n", "V:{\"s\":\"}{\\\"\"}\n"},
	    {"{\"a\":\n{\"b\":2}\n", "E1\nV:{\"b\":2}\n"},
	    {"{\"a\":\"x\ny\"}\n{}\n", "E1\nV:y\nE1\nV:{}\n"},
	    {"} junk {\"x\":1}\n{\"y\":2}\n", "E1\nV:{\"y\":2}\n"},
	    {"123\n\"str\"\n", "V:123\nV:\"str\"\n"},
	    {"true{}\n", "V:true\nV:{}\n"},
	    {"{\"a\":1}", "V:{\"a\":1}\n"},
	    {"{\"a\":", "E1\n"},
	    {"\n\n\n", ""},
	    {"[[[[1]]]]\n", "V:[[[[1]]]]\n"},
	    {"[[[[[1]]]]]\n{}\n", "E3\nV:{}\n"},
	    {"{\"a\":[{\"b\":[[]]}]} 1\n[]\n", "E3\nV:[]\n"},
	    {"[\"[[[[[[\"]\n", "V:[\"[[[[[[\"]\n"},
	};
	return cr_make_param_array(struct vector, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct vector *v, framing, vectors, .timeout = 10)
{
	struct sink s = {.out = ""};
	struct sink bytewise = {.out = ""};
	struct nr_framer f;

	run(v->input, 1024, &s);
	cr_assert_str_eq(s.out, v->expect, "input %s", v->input);
	/* One byte per read: every value crosses read boundaries. */
	nr_framer_init(&f, &ops, &bytewise, 1024, 4);
	for (size_t i = 0; v->input[i]; i++)
		cr_assert_eq(nr_framer_feed(&f, &v->input[i], 1), 0);
	nr_framer_finish(&f);
	nr_framer_fini(&f);
	cr_assert_str_eq(bytewise.out, v->expect, "input %s, byte by byte", v->input);
}

Test(framing, too_long_value_is_rejected_and_line_discarded, .timeout = 10)
{
	struct sink s = {.out = ""};

	run("{\"a\":\"0123456789012345678901234567890123456789\"} {\"b\":1}\n{\"c\":1}\n", 32, &s);
	cr_assert_str_eq(s.out, "E2\nV:{\"c\":1}\n");
}

Test(framing, value_exactly_at_limit_is_accepted, .timeout = 10)
{
	struct sink s = {.out = ""};

	run("{\"k\":\"123456\"}\n", 14, &s);
	cr_assert_str_eq(s.out, "V:{\"k\":\"123456\"}\n");
}

Test(framing, parse_failure_discards_rest_of_line, .timeout = 10)
{
	struct sink s = {.out = "", .reject = true};

	run("{bad} {\"x\":1}\n", 1024, &s);
	cr_assert_str_eq(s.out, "V:{bad}\n");
}

Test(framing, garbage_scalar_resyncs_at_newline, .timeout = 10)
{
	struct sink s = {.out = "", .reject = true};

	run("garbage more {\"x\":1}\n", 1024, &s);
	cr_assert_str_eq(s.out, "V:garbage\n");
}

static bool on_value_hold(void *opaque, const char *text, size_t len)
{
	struct nr_framer *f = opaque;

	f->hold = true;
	return false;
}

static void on_error_ignore(void *opaque, enum nr_frame_error error, const char *reason)
{
}

Test(framing, hold_stops_after_the_value_and_reports_what_was_fed, .timeout = 10)
{
	static const struct nr_framer_ops hold_ops = {on_value_hold, on_error_ignore};
	const char input[] = "{\"a\":1}{\"b\":2}\n";
	struct nr_framer f;

	nr_framer_init(&f, &hold_ops, &f, 1024, 4);
	cr_assert_eq(nr_framer_feed(&f, input, strlen(input)), 0);
	cr_assert_eq(f.fed, 7);
	f.hold = false;
	cr_assert_eq(nr_framer_feed(&f, input + 7, strlen(input) - 7), 0);
	cr_assert_eq(f.fed, 7, "the second value ends the scan again");
	f.hold = false;
	cr_assert_eq(nr_framer_feed(&f, input + 14, 1), 0);
	cr_assert_eq(f.fed, 1);
	nr_framer_fini(&f);
}

Test(framing, drop_discards_the_partial_value_to_the_newline, .timeout = 10)
{
	struct sink s = {.out = ""};
	struct nr_framer f;

	nr_framer_init(&f, &ops, &s, 1024, 4);
	cr_assert_eq(nr_framer_feed(&f, "{\"a\":\"xyz", 10), 0);
	cr_assert(nr_framer_partial(&f));
	nr_framer_drop(&f);
	cr_assert(nr_framer_partial(&f), "still skipping to the newline");
	cr_assert_eq(nr_framer_feed(&f, "zz\"}\n{}\n", 8), 0);
	cr_assert_not(nr_framer_partial(&f));
	nr_framer_fini(&f);
	cr_assert_str_eq(s.out, "V:{}\n");
}
