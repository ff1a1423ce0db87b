/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the simulator's descriptions (src/backends/sim/sim_config.c), its
 * threading and its cost with a million zones.
 */
#include "test_sim_util.h"

#include "nvme/nvme_cmd_admin.h"

TestSuite(sim, .init = setup_default, .fini = teardown, .timeout = 30);

static const char multi_desc[] =
    "{\"subsystems\":["
    " {\"nqn\":\"nqn.2026-11.io.nvmerpcd:a\",\"controllers\":["
    "   {\"sn\":\"SA1\",\"cntlid\":7},{\"sn\":\"SA2\",\"mn\":\"Model\",\"fr\":\"2.1\"}],"
    "  \"namespaces\":[{\"nsid\":10,\"lba_size\":4096,\"blocks\":1000},{\"nsid\":3,\"blocks\":1}]},"
    " {\"nqn\":\"nqn.2026-11.io.nvmerpcd:b\",\"controllers\":[{\"sn\":\"SB1\"}]}]}";

Test(sim, json_description_multi)
{
	struct nvme_id_ctrl id;
	struct nvme_id_ns ns;
	uint32_t list[1024];
	char err[256];

	nr_sim_free(sim);
	cr_assert_eq(new_sim_json(multi_desc, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(nr_sim_ctrl_count(sim), 3);
	cr_expect_str_eq(nr_sim_ctrl_name(nr_sim_ctrl_at(sim, 2)), "sim2");
	cr_expect_str_eq(nr_sim_ctrl_subnqn(nr_sim_ctrl_at(sim, 2)), "nqn.2026-11.io.nvmerpcd:b");

	cr_assert_eq(identify(NR_CNS_CTRL, 0, 0, &id), 0);
	cr_expect_eq(le16toh(id.cntlid), 7);
	cr_expect_eq(id.cmic, 0x2, "two controllers");
	cr_expect_eq(le32toh(id.nn), 32);

	ctrl = nr_sim_ctrl_at(sim, 1);
	cr_assert_eq(identify(NR_CNS_CTRL, 0, 0, &id), 0);
	cr_expect_eq(le16toh(id.cntlid), 2, "default cntlid is index + 1");
	cr_expect_arr_eq(id.mn, "Model ", 6);
	cr_expect_arr_eq(id.fr, "2.1     ", 8);
	cr_assert_eq(identify(NR_CNS_NS, 0, 10, &ns), 0, "shared namespace on controller 2");
	cr_expect_eq(le64toh(ns.nsze), 1000);
	cr_expect_eq(ns.flbas, 1, "4096 is format 1");
	cr_expect_eq(ns.lbaf[1].ds, 12);
	cr_expect_eq(ns.nmic, 1);
	cr_assert_eq(identify(NR_CNS_NS_ACTIVE_LIST, 0, 0, list), 0);
	cr_expect_eq(le32toh(list[0]), 3, "sorted by nsid");
	cr_expect_eq(le32toh(list[1]), 10);

	ctrl = nr_sim_ctrl_at(sim, 2);
	cr_assert_eq(identify(NR_CNS_NS_ACTIVE_LIST, 0, 0, list), 0);
	cr_expect_eq(list[0], 0, "subsystem b has no namespaces");
}

/* Parameters are copied into a re-executed test process: no pointers. */
struct json_err_vec {
	char json[256];
	char error[160];
};

#define SUB(inner)                                                                                 \
	"{\"subsystems\":[{\"nqn\":\"nqn.x\",\"controllers\":[{\"sn\":\"A\"}]" inner "}]}"
#define ZNS(zoned)                                                                                 \
	SUB(",\"namespaces\":[{\"nsid\":1,\"blocks\":8},{\"nsid\":2,\"zoned\":" zoned "}]")

#define CTRL_A "{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"A\","
#define FLT(faults) CTRL_A "\"faults\":" faults "}]}]}"
#define FLT_AT "subsystems[0].controllers[0].faults"

ParameterizedTestParameters(sim, json_errors)
{
	static struct json_err_vec vecs[] = {
	    {FLT("[]"), FLT_AT ": must be an object"},
	    {FLT("{\"slow\":1}"), FLT_AT ".slow: unknown key"},
	    {FLT("{\"clear\":true}"), FLT_AT ".clear: unknown key"},
	    {FLT("{\"delay_us\":10000001}"), FLT_AT ".delay_us: must be 0..10000000"},
	    {FLT("{\"removed\":1}"), FLT_AT ".removed: must be true or false"},
	    {FLT("{\"status\":{\"sc\":2}}"), FLT_AT ".status.sct: is required"},
	    {FLT("{\"status\":{\"sct\":8,\"sc\":2}}"), FLT_AT ".status.sct: must be 0..7"},
	    {FLT("{\"status\":{\"sct\":0,\"sc\":256}}"), FLT_AT ".status.sc: must be 0..255"},
	    {FLT("{\"status\":{\"sct\":0,\"sc\":0}}"),
	     FLT_AT ".status: sct 0 with sc 0 is success, not an error"},
	    {FLT("{\"status\":{\"sct\":0,\"sc\":1,\"dnr\":0}}"),
	     FLT_AT ".status.dnr: must be true or false"},
	    {FLT("{\"status\":{\"sct\":0,\"sc\":1,\"cid\":0}}"), FLT_AT ".status.cid: unknown key"},
	    {FLT("{\"hang\":true}"), FLT_AT ".hang: must be an object"},
	    {FLT("{\"hang\":{\"opcode\":256}}"), FLT_AT ".hang.opcode: must be 0..255"},
	    {FLT("{\"hang\":{\"count\":0}}"), FLT_AT ".hang.count: must be 1..4294967295"},
	    {FLT("{\"hang\":{\"queue\":\"sq\"}}"),
	     FLT_AT ".hang.queue: must be \"admin\" or \"io\""},
	    {FLT("{\"hang\":{\"sct\":1}}"), FLT_AT ".hang.sct: unknown key"},
	    {"[]", "(root): must be an object"},
	    {"{}", "subsystems: is required"},
	    {"{\"subsystems\":[]}", "subsystems: must have 1..64 entries"},
	    {"{\"subsystems\":{}}", "subsystems: must be an array"},
	    {"{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"A\"}]}],\"x\":1}",
	     "x: unknown key"},
	    {"{\"subsystems\":[7]}", "subsystems[0]: must be an object"},
	    {"{\"subsystems\":[{\"nqn\":\"n\"}]}", "subsystems[0].controllers: is required"},
	    {"{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[]}]}",
	     "subsystems[0].controllers: must have 1..64 entries"},
	    {"{\"subsystems\":[{\"controllers\":[{\"sn\":\"A\"}]}]}",
	     "subsystems[0].nqn: is required"},
	    {"{\"subsystems\":[{\"nqn\":\"\",\"controllers\":[{\"sn\":\"A\"}]}]}",
	     "subsystems[0].nqn: must be 1..223 characters"},
	    {"{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"A\"}]},"
	     "{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"B\"}]}]}",
	     "subsystems[1].nqn: is already used by subsystems[0]"},
	    {"{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"123456789012345678901\"}]}"
	     "]}",
	     "subsystems[0].controllers[0].sn: must be 1..20 characters"},
	    {"{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"A\\u00e9\"}]}]}",
	     "subsystems[0].controllers[0].sn: must be printable ASCII"},
	    {"{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":5}]}]}",
	     "subsystems[0].controllers[0].sn: must be a string"},
	    {"{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"A\",\"latency_us\":-1}]}]"
	     "}",
	     "subsystems[0].controllers[0].latency_us: must be 0..10000000"},
	    {"{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"A\",\"cntlid\":1.5}]}]}",
	     "subsystems[0].controllers[0].cntlid: must be an integer"},
	    {"{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"A\",\"cntlid\":65520}]}]}",
	     "subsystems[0].controllers[0].cntlid: must be 0..65519"},
	    {"{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"A\"},{\"sn\":\"B\","
	     "\"cntlid\":1}]}]}",
	     "subsystems[0].controllers[1]: cntlid 1 is already used by "
	     "subsystems[0].controllers[0]"},
	    {"{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"A\",\"name\":\"x\"}]}]}",
	     "subsystems[0].controllers[0].name: unknown key"},
	    {SUB(",\"namespaces\":[{\"nsid\":0,\"blocks\":8}]"),
	     "subsystems[0].namespaces[0].nsid: must be 1..4294967294"},
	    {SUB(",\"namespaces\":[{\"nsid\":1}]"),
	     "subsystems[0].namespaces[0].blocks: is required"},
	    {SUB(",\"namespaces\":[{\"nsid\":1,\"blocks\":0}]"),
	     "subsystems[0].namespaces[0].blocks: must be 1..281474976710656"},
	    {SUB(",\"namespaces\":[{\"nsid\":1,\"blocks\":8,\"lba_size\":1000}]"),
	     "subsystems[0].namespaces[0].lba_size: must be a power of two"},
	    {SUB(",\"namespaces\":[{\"nsid\":1,\"blocks\":8,\"lba_size\":\"512\"}]"),
	     "subsystems[0].namespaces[0].lba_size: must be an integer"},
	    {SUB(",\"namespaces\":[{\"nsid\":1,\"blocks\":8,\"lba_size\":256}]"),
	     "subsystems[0].namespaces[0].lba_size: must be 512..65536"},
	    {SUB(",\"namespaces\":[{\"nsid\":1,\"blocks\":8},{\"nsid\":1,\"blocks\":8}]"),
	     "subsystems[0].namespaces[1]: nsid 1 is already used by "
	     "subsystems[0].namespaces[0]"},
	    {SUB(",\"namespaces\":{}"), "subsystems[0].namespaces: must be an array"},
	    {ZNS("{\"zone_size\":64,\"nr_zones\":0}"),
	     "subsystems[0].namespaces[1].zoned.nr_zones: must be 1..16777216"},
	    {ZNS("{\"zone_size\":64,\"nr_zones\":16777217}"),
	     "subsystems[0].namespaces[1].zoned.nr_zones: must be 1..16777216"},
	    {ZNS("{\"nr_zones\":4}"), "subsystems[0].namespaces[1].zoned.zone_size: is required"},
	    {ZNS("{\"zone_size\":4294967296,\"nr_zones\":4}"),
	     "subsystems[0].namespaces[1].zoned.zone_size: must be 1..4294967295"},
	    {ZNS("{\"zone_size\":64,\"nr_zones\":4,\"zone_capacity\":65}"),
	     "subsystems[0].namespaces[1].zoned.zone_capacity: must not exceed zone_size"},
	    {ZNS("{\"zone_size\":64,\"nr_zones\":4,\"max_open\":5}"),
	     "subsystems[0].namespaces[1].zoned.max_open: must be 0..4"},
	    {ZNS("{\"zone_size\":64,\"nr_zones\":4,\"max_open\":3,\"max_active\":2}"),
	     "subsystems[0].namespaces[1].zoned.max_open: must not exceed max_active"},
	    {ZNS("{\"zone_size\":64,\"nr_zones\":4,\"open\":1}"),
	     "subsystems[0].namespaces[1].zoned.open: unknown key"},
	    {ZNS("[]"), "subsystems[0].namespaces[1].zoned: must be an object"},
	    {ZNS("{\"zone_size\":4294967295,\"nr_zones\":16777216}"),
	     "subsystems[0].namespaces[1].zoned: zone_size * nr_zones must not exceed "
	     "281474976710656 blocks"},
	    {SUB(",\"namespaces\":[{\"nsid\":1,\"blocks\":8}],\"capacity\":4095"),
	     "subsystems[0].capacity: must be at least the namespaces' total, 4096 bytes"},
	    {"{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"A\",\"fw_slots\":8}]}]}",
	     "subsystems[0].controllers[0].fw_slots: must be 1..7"},
	    {"{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"A\",\"self_test_ms\":"
	     "{\"long\":1}}]}]}",
	     "subsystems[0].controllers[0].self_test_ms.long: unknown key"},
	    {"{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"A\",\"sanitize_ms\":"
	     "3600001}]}]}",
	     "subsystems[0].controllers[0].sanitize_ms: must be 0..3600000"},
	    {SUB(",\"namespaces\":[{\"nsid\":1,\"blocks\":9,\"zoned\":{\"zone_size\":4,"
		 "\"nr_zones\":2}}]"),
	     "subsystems[0].namespaces[0].blocks: must equal zoned.zone_size * zoned.nr_zones"},
	};
	return cr_make_param_array(struct json_err_vec, vecs, sizeof(vecs) / sizeof(vecs[0]));
}

ParameterizedTest(struct json_err_vec *vec, sim, json_errors)
{
	char err[256] = "";

	nr_sim_free(sim);
	sim = NULL;
	cr_expect_eq(new_sim_json(vec->json, err, sizeof(err)), -EINVAL, "%s", vec->json);
	cr_expect_str_eq(err, vec->error);
	cr_expect_null(sim);
}

Test(sim, load_file)
{
	char path[] = "/tmp/test_sim_XXXXXX", err[256];
	int fd = mkstemp(path);
	FILE *file;

	cr_assert_geq(fd, 0);
	file = fdopen(fd, "w");
	fputs(multi_desc, file);
	fclose(file);
	nr_sim_free(sim);
	sim = NULL;
	cr_expect_eq(nr_sim_load_file(path, &sim, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(nr_sim_ctrl_count(sim), 3);
	nr_sim_free(sim);
	sim = NULL;

	file = fopen(path, "w");
	fputs("{\"subsystems\": [\n  oops", file);
	fclose(file);
	cr_expect_eq(nr_sim_load_file(path, &sim, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, ":2:") != NULL, "line number in: %s", err);
	unlink(path);
	cr_expect_eq(nr_sim_load_file(path, &sim, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "No such file") != NULL, "%s", err);
	cr_expect_null(sim);
}

Test(sim, latency_is_applied)
{
	char err[256];
	uint8_t buf[4096];
	double start;

	nr_sim_free(sim);
	cr_assert_eq(new_sim_json("{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"A\","
				  "\"latency_us\":20000}]}]}",
				  err, sizeof(err)),
		     0, "%s", err);
	start = now_s();
	cr_assert_eq(identify(NR_CNS_CTRL, 0, 0, buf), 0);
	cr_expect_geq(now_s() - start, 0.019);
}

struct hammer {
	struct nr_sim_ctrl *ctrl;
	int failures;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	uint8_t buf[4096];
	struct nr_cmd cmd;

	for (int i = 0; i < 2000; i++) {
		nr_cmd_zone_report(&cmd, 2, (uint64_t)(i % 64) * ZONE_SIZE, NR_ZRASF_ALL, true,
				   false, buf, sizeof(buf));
		h->failures += nr_sim_submit(h->ctrl, &cmd) != 0 || cmd.status != 0;
		nr_cmd_zone_send(&cmd, 2, (uint64_t)(i % 64) * ZONE_SIZE,
				 i % 2 ? NR_ZSA_RESET : NR_ZSA_FINISH, false);
		h->failures += nr_sim_submit(h->ctrl, &cmd) != 0 || cmd.status != 0;
	}
	return NULL;
}

Test(sim, concurrent_submit)
{
	static const char desc[] =
	    "{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"A\"},{\"sn\":\"B\"}],"
	    "\"namespaces\":[{\"nsid\":2,\"zoned\":{\"zone_size\":2048,\"nr_zones\":64}}]}]}";
	struct hammer h[4];
	pthread_t threads[4];
	struct nvme_smart_log log;
	char err[256];
	uint64_t reads = 0;

	nr_sim_free(sim);
	cr_assert_eq(new_sim_json(desc, err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){.ctrl = nr_sim_ctrl_at(sim, (size_t)i % 2)};
		pthread_create(&threads[i], NULL, hammer_thread, &h[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		cr_expect_eq(h[i].failures, 0);
	}
	cr_assert_eq(get_log(NR_LID_SMART, 0, 0, &log, sizeof(log)), 0);
	memcpy(&reads, log.host_reads, 8);
	cr_expect_eq(le64toh(reads), 4000, "two threads x 2000 reports on controller 0");
}

Test(sim, million_zones_are_cheap)
{
	static const char desc[] =
	    "{\"subsystems\":[{\"nqn\":\"n\",\"controllers\":[{\"sn\":\"A\"}],"
	    "\"namespaces\":[{\"nsid\":1,\"zoned\":{\"zone_size\":2048,\"nr_zones\":1000000,"
	    "\"max_open\":14,\"max_active\":14}}]}]}";
	const uint32_t len = 64 + 64 * 4096;
	uint8_t *buf = malloc(len);
	char err[256];
	double start, create_s, report_s;
	int rounds = 50;

	nr_sim_free(sim);
	start = now_s();
	cr_assert_eq(new_sim_json(desc, err, sizeof(err)), 0, "%s", err);
	create_s = now_s() - start;

	start = now_s();
	for (int i = 0; i < rounds; i++)
		cr_assert_eq(report(1, (uint64_t)i * 4096 * 2048, NR_ZRASF_ALL, true, buf, len), 0);
	report_s = (now_s() - start) / rounds;
	cr_expect_eq(le64toh(((struct nvme_zone_report *)buf)->nr_zones), 4096);
	cr_assert_eq(report(1, 0, NR_ZRASF_ALL, false, buf, 64), 0);
	cr_expect_eq(le64toh(((struct nvme_zone_report *)buf)->nr_zones), 1000000);
	cr_assert_eq(zsend(1, 999999ull * 2048, NR_ZSA_FINISH, false), 0);
	cr_assert_eq(report(1, 0, NR_ZRASF_FULL, true, buf, len), 0);
	cr_expect_eq(le64toh(((struct nvme_zone_report *)buf)->nr_zones), 1);
	cr_log_info("1M zones: create %.2f ms, 4096-descriptor report %.3f ms", create_s * 1e3,
		    report_s * 1e3);
	free(buf);
}

/* ---- faults ---------------------------------------------------------------- */

static int submit_identify(struct nr_cmd *cmd, void *buf)
{
	nr_cmd_identify(cmd, NR_CNS_CTRL, NR_CSI_NVM, 0, 0, buf, 4096);
	return nr_sim_submit(ctrl, cmd);
}

static int submit_smart(struct nr_cmd *cmd, void *buf)
{
	struct nr_log_args args = {.lid = NR_LID_SMART, .nsid = 0xffffffffu, .rae = true};

	nr_cmd_get_log_page(cmd, &args, buf, 512);
	return nr_sim_submit(ctrl, cmd);
}

static void sim_with_faults(const char *faults)
{
	char desc[512], err[256];

	snprintf(desc, sizeof(desc), FLT("%s"), faults);
	nr_sim_free(sim);
	cr_assert_eq(new_sim_json(desc, err, sizeof(err)), 0, "%s", err);
}

Test(sim, description_faults_are_inert_until_armed)
{
	uint8_t buf[4096];
	struct nr_cmd cmd;

	sim_with_faults("{\"status\":{\"sct\":1,\"sc\":6},\"removed\":false}");
	cr_assert_eq(submit_identify(&cmd, buf), 0);
	cr_expect_eq(cmd.status, 0, "not armed: the daemon's own Identify is spared");
	nr_sim_faults_arm(sim);
	cr_assert_eq(submit_identify(&cmd, buf), 0);
	cr_expect_eq(cmd.status, ST(1, 6));
}

Test(sim, status_fault_matches_opcode_queue_and_count)
{
	uint8_t buf[4096];
	struct nr_cmd cmd;

	sim_with_faults("{\"status\":{\"sct\":0,\"sc\":4,\"dnr\":false,\"opcode\":2,"
			"\"queue\":\"admin\",\"count\":2}}");
	nr_sim_faults_arm(sim);
	cr_assert_eq(submit_identify(&cmd, buf), 0);
	cr_expect_eq(cmd.status, 0, "Identify (06h) is not hit");
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(submit_smart(&cmd, buf), 0);
		cr_expect_eq(cmd.status, NR_STATUS(0, 4), "hit %d, without DNR", i);
	}
	cr_assert_eq(submit_smart(&cmd, buf), 0);
	cr_expect_eq(cmd.status, 0, "count 2 is spent");
}

Test(sim, hang_holds_until_aborted)
{
	uint8_t buf[4096];
	struct nr_cmd cmd;
	json_t *faults;

	sim_with_faults("{\"hang\":{\"count\":1}}");
	nr_sim_faults_arm(sim);
	cr_expect_eq(nr_sim_ops.abort(ctrl), -ENOENT, "nothing held yet");
	cr_assert_eq(submit_identify(&cmd, buf), -EINPROGRESS);
	faults = nr_sim_fault_json(ctrl);
	cr_expect_eq(json_integer_value(json_object_get(faults, "held")), 1);
	cr_expect_null(json_object_get(faults, "hang"), "count 1 is spent");
	json_decref(faults);
	cr_assert_eq(nr_sim_ops.abort(ctrl), 0);
	cr_expect_eq(nr_sim_ops.abort(ctrl), -ENOENT);
	cr_assert_eq(submit_identify(&cmd, buf), 0);
	cr_expect_eq(cmd.status, 0);
}

Test(sim, removal_is_enodev_and_never_cleared)
{
	uint8_t buf[4096];
	struct nr_cmd cmd;
	json_t *spec = json_pack("{s:b}", "removed", 1);
	char err[160];

	sim_with_faults("{}");
	cr_expect_eq(nr_sim_ops.probe(ctrl), 0);
	cr_assert_eq(nr_sim_fault_set(ctrl, spec, "params", err, sizeof(err)), 0, "%s", err);
	json_decref(spec);
	cr_expect_eq(submit_identify(&cmd, buf), -ENODEV);
	cr_expect_eq(nr_sim_ops.probe(ctrl), -ENODEV);
	cr_expect_eq(nr_sim_ops.reset(ctrl), -ENODEV);
	spec = json_pack("{s:b}", "clear", 1);
	cr_assert_eq(nr_sim_fault_set(ctrl, spec, "params", err, sizeof(err)), 0, "%s", err);
	json_decref(spec);
	cr_expect_eq(submit_identify(&cmd, buf), -ENODEV, "a removal is not undone");
}

/* Runtime changes: named kinds replace theirs, clear drops the rest. */
Test(sim, fault_set_merges_and_clears)
{
	json_t *spec = json_pack("{s:i, s:{s:i, s:i}}", "delay_us", 5, "status", "sct", 1, "sc", 2);
	json_t *faults;
	char err[160];

	sim_with_faults("{\"hang\":{\"opcode\":6}}");
	cr_assert_eq(nr_sim_fault_set(ctrl, spec, "params", err, sizeof(err)), 0, "%s", err);
	json_decref(spec);
	faults = nr_sim_fault_json(ctrl);
	cr_expect_eq(json_integer_value(json_object_get(faults, "delay_us")), 5);
	cr_expect_not_null(json_object_get(faults, "status"));
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(faults, "hang"), "opcode")),
		     6, "the description's hang stays");
	json_decref(faults);
	spec = json_pack("{s:b, s:{}}", "clear", 1, "hang");
	cr_assert_eq(nr_sim_fault_set(ctrl, spec, "params", err, sizeof(err)), 0, "%s", err);
	json_decref(spec);
	faults = nr_sim_fault_json(ctrl);
	cr_expect_eq(json_integer_value(json_object_get(faults, "delay_us")), 0);
	cr_expect_null(json_object_get(faults, "status"));
	cr_expect_eq(json_object_size(json_object_get(faults, "hang")), 0, "every command");
	json_decref(faults);
}

Test(sim, fault_set_errors_name_the_param)
{
	json_t *spec = json_pack("{s:{s:i, s:i}}", "status", "sct", 0, "sc", 0);
	char err[160] = "";

	cr_expect_eq(nr_sim_fault_set(ctrl, spec, "params", err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "params.status: sct 0 with sc 0 is success, not an error");
	json_decref(spec);
	spec = json_pack("{s:s}", "device", "sim0");
	cr_expect_eq(nr_sim_fault_set(ctrl, spec, "params", err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "params.device: unknown key");
	json_decref(spec);
}
