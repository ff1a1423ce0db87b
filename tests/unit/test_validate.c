/* SPDX-License-Identifier: MIT */
/* The validator against the real embedded schema: every keyword, with the
 * JSON path it reports. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc_error.h"
#include "rpc/schema.h"
#include "rpc/schema_internal.h"
#include "rpc/service.h"

static struct nr_schema *schema;

static void setup(void)
{
	char err[256];

	cr_assert_eq(nr_schema_load(&schema, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	nr_schema_free(schema);
}

/* Criterion re-executes the binary for each test: parameters are copied
 * bytes, so they hold arrays, not pointers. */
struct vector {
	char method[32];
	char params[128];
	char field[32]; /* empty: valid */
	char reason_part[32];
};

ParameterizedTestParameters(validate, vectors)
{
	static struct vector v[] = {
	    {"rpc.ping", "{}", "", ""},
	    {"rpc.ping", "{\"x\":1}", "params.x", "not a known parameter"},
	    {"nvme.id_ctrl", "{\"device\":\"sim0\"}", "", ""},
	    {"nvme.id_ctrl", "{}", "params.device", "required"},
	    {"nvme.id_ctrl", "{\"device\":5}", "params.device", "must be string"},
	    {"nvme.id_ctrl", "{\"device\":\"a b\"}", "params.device", "must match"},
	    {"nvme.id_ctrl", "{\"device\":\"\"}", "params.device", "must match"},
	    {"nvme.id_ns", "{\"device\":\"sim0\",\"nsid\":0}", "params.nsid", ">= 1"},
	    {"nvme.id_ns", "{\"device\":\"sim0\",\"nsid\":4294967296}", "params.nsid",
	     "<= 4294967295"},
	    {"nvme.id_ns", "{\"device\":\"sim0\",\"nsid\":1.5}", "params.nsid", "must be integer"},
	    {"nvme.zns.report_zones", "{\"device\":\"sim0n2\",\"state\":\"full\"}", "", ""},
	    {"nvme.zns.report_zones", "{\"device\":\"sim0n2\",\"state\":\"fool\"}", "params.state",
	     "one of"},
	    {"nvme.zns.report_zones", "{\"device\":\"sim0n2\",\"stream\":1}", "params.stream",
	     "boolean"},
	    {"nvme.zns.report_zones", "{\"device\":\"sim0n2\",\"slba\":-1}", "params.slba", ">= 0"},
	    {"rpc.cancel", "{\"id\":7}", "", ""},
	    {"rpc.cancel", "{\"id\":\"x\"}", "", ""},
	    {"rpc.cancel", "{\"id\":[1]}", "params.id", "wrong type"},
	    {"nvme.zns.mgmt_send",
	     "{\"device\":\"d\",\"action\":\"reset\",\"confirm\":\"012345678901234567890\"}",
	     "params.confirm", "at most 20"},
	};
	return cr_make_param_array(struct vector, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct vector *v, validate, vectors, .init = setup, .fini = teardown,
		  .timeout = 10)
{
	const struct nr_schema_method *m = nr_schema_method(schema, v->method);
	json_t *params = json_loads(v->params, 0, NULL);
	char field[256] = "", reason[256] = "";
	int rc;

	cr_assert_not_null(m);
	cr_assert_not_null(params);
	rc = nr_schema_validate(schema, m->params_schema, params, "params", field, sizeof(field),
				reason, sizeof(reason));
	if (!v->field[0]) {
		cr_assert_eq(rc, 0, "%s %s: %s %s", v->method, v->params, field, reason);
	} else {
		cr_assert_neq(rc, 0, "%s %s accepted", v->method, v->params);
		cr_assert_str_eq(field, v->field);
		cr_assert(strstr(reason, v->reason_part), "reason '%s' lacks '%s'", reason,
			  v->reason_part);
	}
	json_decref(params);
}

Test(validate, method_table_matches_schema, .init = setup, .fini = teardown)
{
	char err[256] = "";

	cr_assert_eq(nr_methods_check(schema, err, sizeof(err)), 0, "%s", err);
}

Test(validate, classes_come_from_schema, .init = setup, .fini = teardown)
{
	cr_assert_eq(nr_schema_method(schema, "nvme.format")->cls, NR_CLASS_DESTRUCTIVE);
	cr_assert_eq(nr_schema_method(schema, "nvme.zns.mgmt_send")->cls, NR_CLASS_WRITE);
	cr_assert(nr_schema_method(schema, "nvme.zns.report_zones")->streaming);
	cr_assert_eq(nr_schema_method(schema, "nvme.id_ctrl")->backends & NR_BACKEND_BIT_MI,
		     NR_BACKEND_BIT_MI);
	cr_assert_null(nr_schema_method(schema, "nvme.nope"));
}

/* "Invalid params: is required" did not say which parameter was missing. */
Test(validate, required_error_names_the_field, .init = setup, .fini = teardown)
{
	const struct nr_schema_method *m = nr_schema_method(schema, "nvme.id_ctrl");
	json_t *params = json_object();
	char field[256] = "", reason[256] = "";
	json_t *error;

	cr_assert_neq(nr_schema_validate(schema, m->params_schema, params, "params", field,
					 sizeof(field), reason, sizeof(reason)),
		      0);
	error = nr_rpc_error_invalid_params(field, reason);
	cr_assert_str_eq(json_string_value(json_object_get(error, "message")),
			 "Invalid params: params.device: is required");
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(error, "data"), "field")),
	    "params.device");
	json_decref(error);
	json_decref(params);
}

/* A read method's params may make the call write (x-class-if); absent ones
 * take their side-effect-free defaults. */
struct class_vector {
	char method[32];
	char params[96];
	enum nr_class cls;
	char why[16]; /* empty: none */
};

ParameterizedTestParameters(validate, call_class)
{
	static struct class_vector v[] = {
	    {"nvme.get_log", "{\"lid\":2,\"length\":512}", NR_CLASS_READ, ""},
	    {"nvme.get_log", "{\"lid\":2,\"length\":512,\"rae\":true,\"lsp\":0}", NR_CLASS_READ,
	     ""},
	    {"nvme.get_log", "{\"lid\":2,\"length\":512,\"rae\":false}", NR_CLASS_WRITE, "rae"},
	    {"nvme.get_log", "{\"lid\":7,\"length\":512,\"lsp\":1}", NR_CLASS_WRITE, "lsp"},
	    {"nvme.get_log", "{\"lid\":128,\"length\":64}", NR_CLASS_WRITE, "lid"},
	    {"nvme.changed_ns_list", "{}", NR_CLASS_READ, ""},
	    {"nvme.changed_ns_list", "{\"rae\":false}", NR_CLASS_WRITE, "rae"},
	    {"nvme.zns.changed_zones", "{\"rae\":false}", NR_CLASS_WRITE, "rae"},
	    {"nvme.telemetry_log", "{\"create\":false}", NR_CLASS_READ, ""},
	    {"nvme.telemetry_log", "{\"create\":true}", NR_CLASS_WRITE, "create"},
	    {"nvme.persistent_event_log", "{\"action\":\"read\"}", NR_CLASS_READ, ""},
	    {"nvme.persistent_event_log", "{\"action\":\"establish\"}", NR_CLASS_WRITE, "action"},
	    {"nvme.persistent_event_log", "{\"action\":\"release\"}", NR_CLASS_WRITE, "action"},
	    {"mi.health_status_poll", "{\"clear\":true}", NR_CLASS_WRITE, "clear"},
	    {"nvme.ns_rescan", "{}", NR_CLASS_WRITE, ""},
	    {"nvme.rescan", "{}", NR_CLASS_WRITE, ""},
	    {"mi.scan", "{}", NR_CLASS_WRITE, ""},
	    {"nvme.format", "{}", NR_CLASS_DESTRUCTIVE, ""},
	    {"nvme.zns.mgmt_send", "{\"action\":\"open\"}", NR_CLASS_WRITE, ""},
	    {"nvme.zns.mgmt_send", "{\"action\":\"finish\"}", NR_CLASS_WRITE, ""},
	    {"nvme.zns.mgmt_send", "{\"action\":\"set_desc_ext\"}", NR_CLASS_WRITE, ""},
	    {"nvme.zns.mgmt_send", "{\"action\":\"reset\"}", NR_CLASS_DESTRUCTIVE, "action"},
	    {"nvme.zns.mgmt_send", "{\"action\":\"offline\"}", NR_CLASS_DESTRUCTIVE, "action"},
	};
	return cr_make_param_array(struct class_vector, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct class_vector *v, validate, call_class, .init = setup, .fini = teardown,
		  .timeout = 10)
{
	const struct nr_schema_method *m = nr_schema_method(schema, v->method);
	json_t *params = json_loads(v->params, 0, NULL);
	const char *why = "unset";

	cr_assert_not_null(m);
	cr_assert_not_null(params);
	cr_assert_eq(nr_schema_call_class(schema, m, params, &why), v->cls, "%s %s", v->method,
		     v->params);
	if (v->why[0])
		cr_assert_str_eq(why ? why : "(null)", v->why);
	else
		cr_assert_null(why, "%s %s: why %s", v->method, v->params, why);
	json_decref(params);
}

/* The byte-table matcher of one-class patterns (the device name) agrees with
 * POSIX regexec, as does the regex path, on every pattern the params use,
 * for random strings over a wide alphabet. */
Test(validate, simple_patterns_match_as_regexec_does, .init = setup, .fini = teardown)
{
	static const char *const patterns[] = {
	    "^[A-Za-z0-9:,/._-]{1,64}$", /* the byte table */
	    "^[A-Za-z0-9+/]*=?=?$",	 /* the regex */
	};
	static const char alphabet[] = "aZ09:,/._-+=fF g\\[]{}^$\x7f\xff";
	unsigned seed = 12345;

	for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
		regex_t re;
		cr_assert_eq(regcomp(&re, patterns[p], REG_EXTENDED | REG_NOSUB), 0);
		for (int round = 0; round < 4000; round++) {
			char text[80];
			size_t len = (size_t)(rand_r(&seed) % 70);
			for (size_t i = 0; i < len; i++)
				text[i] =
				    (char)(round % 3 == 0
					       ? "0123456789abcdef"[rand_r(&seed) % 16]
					       : alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)]);
			text[len] = '\0';
			bool ours = nr_schema_pattern_match(schema, patterns[p], text, len);
			bool posix = regexec(&re, text, 0, NULL, 0) == 0;
			cr_assert_eq(ours, posix, "%s on \"%s\" (%zu bytes): %d, regexec %d",
				     patterns[p], text, len, ours, posix);
		}
		regfree(&re);
	}
}
