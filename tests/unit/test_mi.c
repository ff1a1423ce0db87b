/* SPDX-License-Identifier: MIT */
/* The NVMe-MI backend's pieces that need no endpoint: the "mi" section of
 * the config file, the MI status names and the MiStatus error, and the
 * poll() deadline. The wire is tested end to end in tests/mi/. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "rpc/exec.h"
#include "backends/mi/mi.h"
#include "rpc/rpc_error.h"

static int parse(const char *text, struct nr_mi_config *cfg, char *err, size_t err_len)
{
	json_error_t jerr;
	json_t *obj = json_loads(text, 0, &jerr);
	int rc;

	cr_assert_not_null(obj, "%s", jerr.text);
	nr_mi_config_init(cfg, 30000);
	rc = nr_mi_config_parse(obj, cfg, err, err_len);
	json_decref(obj);
	return rc;
}

Test(mi_config, defaults_without_keys)
{
	struct nr_mi_config cfg;
	char err[256] = "";

	cr_assert_eq(parse("{}", &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.timeout_ms, NR_MI_DEFAULT_TIMEOUT_MS);
	cr_assert_eq(cfg.deadline_ms, 30000);
	cr_assert_eq(cfg.quarantine_after, NR_MI_DEFAULT_QUARANTINE_AFTER);
	cr_assert_eq(cfg.endpoint_count, 0);
	cr_assert_not(cfg.dbus);
}

Test(mi_config, endpoints_dbus_and_timeouts)
{
	struct nr_mi_config cfg;
	char err[256] = "";

	cr_assert_eq(parse("{\"endpoints\": [{\"net\": 1, \"eid\": 8}, {\"net\": 4294967295, "
			   "\"eid\": 254}], \"dbus\": \"unix:path=/run/x\", \"timeout_ms\": 250, "
			   "\"deadline_ms\": 900, \"quarantine_after\": 5, \"quarantine_ms\": 0}",
			   &cfg, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(cfg.endpoint_count, 2);
	cr_assert_eq(cfg.endpoints[1].net, 4294967295u);
	cr_assert_eq(cfg.endpoints[1].eid, 254);
	cr_assert(cfg.dbus);
	cr_assert_str_eq(cfg.dbus_address, "unix:path=/run/x");
	cr_assert_eq(cfg.timeout_ms, 250);
	cr_assert_eq(cfg.deadline_ms, 900);
	cr_assert_eq(cfg.quarantine_after, 5);
	cr_assert_eq(cfg.quarantine_ms, 0);
}

Test(mi_config, dbus_true_is_the_system_bus)
{
	struct nr_mi_config cfg;
	char err[256] = "";

	cr_assert_eq(parse("{\"dbus\": true}", &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert(cfg.dbus);
	cr_assert_str_eq(cfg.dbus_address, "");
}

struct bad_config {
	char text[160];
	char names[32]; /* what the error sentence must mention */
};

ParameterizedTestParameters(mi_config, rejected)
{
	static struct bad_config cases[] = {
	    {"{\"endpoint\": []}", "mi.endpoint"},
	    {"{\"endpoints\": {}}", "mi.endpoints"},
	    {"{\"endpoints\": [{\"net\": 1}]}", "mi.endpoints[0]"},
	    {"{\"endpoints\": [{\"net\": 1, \"eid\": 7}]}", "mi.endpoints[0]"},
	    {"{\"endpoints\": [{\"net\": 1, \"eid\": 255}]}", "mi.endpoints[0]"},
	    {"{\"endpoints\": [{\"net\": -1, \"eid\": 8}]}", "mi.endpoints[0]"},
	    {"{\"endpoints\": [{\"net\": 1, \"eid\": \"8\"}]}", "mi.endpoints[0]"},
	    {"{\"dbus\": 1}", "mi.dbus"},
	    {"{\"timeout_ms\": 0}", "mi.timeout_ms"},
	    {"{\"timeout_ms\": 1.5}", "mi.timeout_ms"},
	    {"{\"quarantine_after\": 0}", "mi.quarantine_after"},
	    {"{\"deadline_ms\": -5}", "mi.deadline_ms"},
	};
	return cr_make_param_array(struct bad_config, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_config *c, mi_config, rejected)
{
	struct nr_mi_config cfg;
	char err[256] = "";

	cr_assert_eq(parse(c->text, &cfg, err, sizeof(err)), -EINVAL, "%s accepted", c->text);
	cr_assert(strstr(err, c->names), "error \"%s\" does not name %s", err, c->names);
}

Test(mi_status, names_and_error_object)
{
	json_t *err = nr_rpc_error_mi_status(0x04, "Read NVMe-MI Data Structure");
	json_t *data = json_object_get(err, "data");

	cr_assert_str_eq(nr_mi_status_name(0x02), "Internal Error");
	cr_assert_str_eq(nr_mi_status_name(0x2a), "Sanitize In Progress");
	cr_assert_str_eq(nr_mi_status_name(0x10), "Reserved");
	cr_assert_str_eq(nr_mi_status_name(0xe5), "Vendor Specific");
	cr_assert_eq(json_integer_value(json_object_get(err, "code")), NR_E_MI_STATUS);
	cr_assert_eq(json_integer_value(json_object_get(data, "mi_status")), 4);
	cr_assert_str_eq(json_string_value(json_object_get(data, "status")), "Invalid Parameter");
	cr_assert_str_eq(json_string_value(json_object_get(data, "name")), "MiStatus");
	json_decref(err);
}

/* The deadline turns a poll that would wait forever into a timeout. */
Test(mi_deadline, bounds_an_endless_poll, .timeout = 10)
{
	int fds[2];
	struct pollfd pfd;
	uint64_t start = nr_exec_now_ns();

	cr_assert_eq(pipe(fds), 0);
	pfd = (struct pollfd){.fd = fds[0], .events = POLLIN};
	nr_mi_deadline_set(start + 50u * 1000000u);
	cr_assert_eq(poll(&pfd, 1, -1), 0);
	nr_mi_deadline_set(nr_exec_now_ns() - 1);
	cr_assert_eq(poll(&pfd, 1, -1), 0, "a passed deadline does not wait at all");
	nr_mi_deadline_set(0);
	cr_assert_eq(write(fds[1], "x", 1), 1);
	cr_assert_eq(poll(&pfd, 1, -1), 1, "without a deadline poll is poll");
	close(fds[0]);
	close(fds[1]);
}
