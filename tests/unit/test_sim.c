/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the simulated controller (src/sim*.c): every structure is
 * read back at the spec's byte offsets through libnvme's definitions.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libnvme.h>

#include "sim.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#define DNR 0x4000u
#define ST(sct, sc) (NR_STATUS(sct, sc) | DNR)
#define ZONE_SIZE 2048u
#define NR_ZONES 4096u
#define WP_NONE UINT64_MAX

static struct nr_sim *sim;
static struct nr_sim_ctrl *ctrl;

static void setup_default(void)
{
	cr_assert_eq(nr_sim_new_default(&sim), 0);
	ctrl = nr_sim_ctrl_at(sim, 0);
	cr_assert_not_null(ctrl);
}

static void teardown(void)
{
	nr_sim_free(sim);
	sim = NULL;
}

/* Timing assertions are meaningless under valgrind or sanitizers. */
static bool timing_checked(void)
{
	return !RUNNING_ON_VALGRIND && !getenv("NR_TEST_NO_TIMING");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t submit(struct nr_cmd *cmd)
{
	cr_assert_eq(nr_sim_submit(ctrl, cmd), 0);
	return cmd->status;
}

static uint16_t identify(uint8_t cns, uint8_t csi, uint32_t nsid, void *buf)
{
	struct nr_cmd cmd;

	memset(buf, 0xcc, 4096);
	nr_cmd_identify(&cmd, cns, csi, nsid, 0, buf, 4096);
	return submit(&cmd);
}

static uint16_t get_log(uint8_t lid, uint32_t nsid, uint64_t offset, void *buf, uint32_t len)
{
	struct nr_cmd cmd;

	nr_cmd_get_log(&cmd, lid, nsid, offset, buf, len);
	return submit(&cmd);
}

static uint16_t report(uint32_t nsid, uint64_t slba, enum nr_zrasf filter, bool partial, void *buf,
		       uint32_t len)
{
	struct nr_cmd cmd;

	memset(buf, 0xcc, len);
	nr_cmd_zone_report(&cmd, nsid, slba, filter, partial, false, buf, len);
	return submit(&cmd);
}

static uint16_t zsend(uint32_t nsid, uint64_t slba, uint8_t action, bool all)
{
	struct nr_cmd cmd;

	nr_cmd_zone_send(&cmd, nsid, slba, action, all);
	return submit(&cmd);
}

/* Reads one zone's descriptor through an unfiltered partial report. */
static struct nvme_zns_desc zone_desc(uint32_t nsid, uint32_t zone, uint64_t zone_size)
{
	uint8_t buf[128];
	struct nvme_zns_desc desc;

	cr_assert_eq(report(nsid, (uint64_t)zone * zone_size, NR_ZRASF_ALL, true, buf, 128), 0);
	memcpy(&desc, buf + 64, sizeof(desc));
	return desc;
}

static unsigned zone_state(uint32_t nsid, uint32_t zone, uint64_t zone_size)
{
	return zone_desc(nsid, zone, zone_size).zs >> 4;
}

static uint64_t count_zones(uint32_t nsid, enum nr_zrasf filter)
{
	uint8_t buf[64];

	cr_assert_eq(report(nsid, 0, filter, false, buf, sizeof(buf)), 0);
	return le64toh(((struct nvme_zone_report *)buf)->nr_zones);
}

static int new_sim_json(const char *text, char *err, size_t err_len)
{
	json_error_t jerr;
	json_t *desc = json_loads(text, 0, &jerr);
	int rc;

	cr_assert_not_null(desc, "bad test JSON: %s", jerr.text);
	rc = nr_sim_new_from_json(desc, &sim, err, err_len);
	json_decref(desc);
	if (rc == 0)
		ctrl = nr_sim_ctrl_at(sim, 0);
	return rc;
}

TestSuite(sim, .init = setup_default, .fini = teardown, .timeout = 30);

Test(sim, identify_controller)
{
	static const uint8_t tnvmcap[16] = {0x00, 0x00, 0x00, 0x40, 0x01};
	struct nvme_id_ctrl id;

	cr_assert_eq(identify(NR_CNS_CTRL, 0, 0, &id), 0);
	cr_expect_eq(le16toh(id.vid), 0x1b36);
	cr_expect_eq(le16toh(id.ssvid), 0x1af4);
	cr_expect_arr_eq(id.sn, "NRSIM0000000001     ", 20);
	cr_expect_arr_eq(id.mn, "nvmerpcd simulated controller           ", 40);
	cr_expect_arr_eq(id.fr, "1.0     ", 8);
	cr_expect_eq(id.ieee[0] | id.ieee[1] << 8 | id.ieee[2] << 16, 0x525400);
	cr_expect_eq(le16toh(id.cntlid), 1);
	cr_expect_eq(le32toh(id.ver), 0x20000);
	cr_expect_eq(id.cntrltype, 1);
	cr_expect_eq(id.cmic, 0);
	cr_expect_eq(id.mdts, 7);
	cr_expect_eq(id.sqes, 0x66);
	cr_expect_eq(id.cqes, 0x44);
	cr_expect_eq(le16toh(id.wctemp), 343);
	cr_expect_eq(le16toh(id.cctemp), 353);
	cr_expect_eq(id.elpe, 63);
	cr_expect_eq(id.lpa & 0x4, 0x4);
	cr_expect_eq(id.npss, 0);
	cr_expect_eq(le16toh(id.psd[0].mp), 2500);
	cr_expect_geq(le32toh(id.nn), 2);
	/* 1 GiB + 4096 zones * 2048 * 512 B = 5 GiB = 0x1_4000_0000. */
	cr_expect_arr_eq(id.tnvmcap, tnvmcap, 16);
	cr_expect_str_eq(id.subnqn, "nqn.2026-11.io.nvmerpcd:sim-subsys0");
	cr_expect_eq(id.rsvd1024[0], 0, "reserved bytes are zero");
}

Test(sim, identify_namespaces)
{
	struct nvme_id_ns id;
	uint8_t nvmcap[16] = {0};

	cr_assert_eq(identify(NR_CNS_NS, 0, 1, &id), 0);
	cr_expect_eq(le64toh(id.nsze), 2097152);
	cr_expect_eq(le64toh(id.ncap), 2097152);
	cr_expect_eq(id.nlbaf, 0);
	cr_expect_eq(id.flbas, 0);
	cr_expect_eq(id.lbaf[0].ds, 9);
	cr_expect_eq(le16toh(id.lbaf[0].ms), 0);
	nvmcap[3] = 0x40; /* 1 GiB */
	cr_expect_arr_eq(id.nvmcap, nvmcap, 16);
	cr_expect_neq(id.eui64[0] | id.eui64[7], 0);

	cr_assert_eq(identify(NR_CNS_NS, 0, 2, &id), 0);
	cr_expect_eq(le64toh(id.nsze), (uint64_t)NR_ZONES * ZONE_SIZE);
	cr_expect_eq(id.lbaf[0].ds, 9);
}

Test(sim, identify_inactive_namespace_is_zeroes)
{
	static const uint8_t zero[4096];
	uint8_t buf[4096];

	cr_assert_eq(identify(NR_CNS_NS, 0, 5, buf), 0);
	cr_expect_arr_eq(buf, zero, sizeof(zero));
}

struct nsid_vec {
	uint8_t cns;
	uint32_t nsid;
	uint16_t status;
};

ParameterizedTestParameters(sim, identify_nsid_checks)
{
	static struct nsid_vec vecs[] = {
	    {NR_CNS_NS, 0, ST(0, 0x0b)},
	    {NR_CNS_NS, 0xffffffffu, ST(0, 0x0b)},
	    {NR_CNS_NS, 33, ST(0, 0x0b)}, /* above NN (32) */
	    {NR_CNS_NS, 32, 0},		  /* inactive but valid */
	    {NR_CNS_NS_DESC_LIST, 3, ST(0, 0x0b)},
	    {NR_CNS_NS_DESC_LIST, 0, ST(0, 0x0b)},
	    {NR_CNS_NS_ACTIVE_LIST, 0xfffffffeu, ST(0, 0x0b)},
	    {NR_CNS_NS_ACTIVE_LIST, 0xffffffffu, ST(0, 0x0b)},
	    {0x7f, 1, ST(0, 0x02)},
	    {0x10, 1, ST(0, 0x02)},
	};
	return cr_make_param_array(struct nsid_vec, vecs, sizeof(vecs) / sizeof(vecs[0]));
}

ParameterizedTest(struct nsid_vec *vec, sim, identify_nsid_checks)
{
	uint8_t buf[4096];

	cr_expect_eq(identify(vec->cns, 0, vec->nsid, buf), vec->status, "cns 0x%x nsid 0x%x",
		     vec->cns, vec->nsid);
}

Test(sim, identify_active_list)
{
	uint32_t list[1024];

	cr_assert_eq(identify(NR_CNS_NS_ACTIVE_LIST, 0, 0, list), 0);
	cr_expect_eq(le32toh(list[0]), 1);
	cr_expect_eq(le32toh(list[1]), 2);
	cr_expect_eq(list[2], 0);
	cr_assert_eq(identify(NR_CNS_NS_ACTIVE_LIST, 0, 1, list), 0);
	cr_expect_eq(le32toh(list[0]), 2);
	cr_expect_eq(list[1], 0);
	cr_assert_eq(identify(NR_CNS_NS_ACTIVE_LIST, 0, 2, list), 0);
	cr_expect_eq(list[0], 0);
}

Test(sim, identify_ns_descriptors)
{
	uint8_t buf[4096];

	cr_assert_eq(identify(NR_CNS_NS_DESC_LIST, 0, 2, buf), 0);
	cr_expect_eq(buf[0], 1); /* EUI-64 */
	cr_expect_eq(buf[1], 8);
	cr_expect_eq(buf[12], 2); /* NGUID */
	cr_expect_eq(buf[13], 16);
	cr_expect_eq(buf[32], 4); /* CSI */
	cr_expect_eq(buf[33], 1);
	cr_expect_eq(buf[36], NR_CSI_ZNS);
	cr_expect_eq(buf[37], 0, "list ends");

	cr_assert_eq(identify(NR_CNS_NS_DESC_LIST, 0, 1, buf), 0);
	cr_expect_eq(buf[32], 4);
	cr_expect_eq(buf[36], NR_CSI_NVM);
}

Test(sim, identify_zns_namespace_and_controller)
{
	struct nvme_zns_id_ns zns;
	struct nvme_zns_id_ctrl zctrl;
	static const uint8_t zero[4096];

	cr_assert_eq(identify(NR_CNS_CSI_NS, NR_CSI_ZNS, 2, &zns), 0);
	cr_expect_eq(le32toh(zns.mar), 13, "14 active zones, 0-based");
	cr_expect_eq(le32toh(zns.mor), 13);
	cr_expect_eq(le64toh(zns.lbafe[0].zsze), ZONE_SIZE);
	cr_expect_eq(zns.lbafe[0].zdes, 0);
	cr_expect_eq(le16toh(zns.zoc), 0);

	cr_expect_eq(identify(NR_CNS_CSI_NS, NR_CSI_ZNS, 1, &zns), ST(0, 0x02));
	cr_expect_eq(identify(NR_CNS_CSI_NS, 1, 2, &zns), ST(0, 0x02));
	cr_expect_eq(identify(NR_CNS_CSI_NS, NR_CSI_ZNS, 0, &zns), ST(0, 0x0b));
	cr_assert_eq(identify(NR_CNS_CSI_NS, NR_CSI_NVM, 1, &zns), 0);
	cr_expect_arr_eq(&zns, zero, 4096);

	memset(&zctrl, 0xff, sizeof(zctrl));
	cr_assert_eq(identify(NR_CNS_CSI_CTRL, NR_CSI_ZNS, 0, &zctrl), 0);
	cr_expect_eq(zctrl.zasl, 0);
	cr_expect_eq(identify(NR_CNS_CSI_CTRL, 3, 0, &zctrl), ST(0, 0x02));
}

Test(sim, zns_limits_none_is_all_ones)
{
	struct nvme_zns_id_ns zns;
	char err[256];

	nr_sim_free(sim);
	cr_assert_eq(new_sim_json("{\"subsystems\":[{\"nqn\":\"nqn.x\",\"controllers\":[{\"sn\":"
				  "\"A\"}],\"namespaces\":[{\"nsid\":1,\"zoned\":{\"zone_size\":"
				  "64,\"nr_zones\":8}}]}]}",
				  err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(identify(NR_CNS_CSI_NS, NR_CSI_ZNS, 1, &zns), 0);
	cr_expect_eq(le32toh(zns.mar), 0xffffffffu);
	cr_expect_eq(le32toh(zns.mor), 0xffffffffu);
}

Test(sim, short_buffer_is_einval)
{
	struct nr_cmd cmd;
	uint8_t buf[4096];

	nr_cmd_identify(&cmd, NR_CNS_CTRL, 0, 0, 0, buf, 4095);
	cr_expect_eq(nr_sim_submit(ctrl, &cmd), -EINVAL);
	nr_cmd_identify(&cmd, NR_CNS_CTRL, 0, 0, 0, NULL, 4096);
	cr_expect_eq(nr_sim_submit(ctrl, &cmd), -EINVAL);
	nr_cmd_identify(&cmd, NR_CNS_CTRL, 0, 0, 0, buf, 4096);
	cmd.queue = 7;
	cr_expect_eq(nr_sim_submit(ctrl, &cmd), -EINVAL);
	nr_cmd_zone_report(&cmd, 2, 0, NR_ZRASF_ALL, false, false, buf, 128);
	cmd.data_len = 64;
	cr_expect_eq(nr_sim_submit(ctrl, &cmd), -EINVAL);
}

Test(sim, smart_log_values_and_counters_move)
{
	struct nvme_smart_log log;
	uint8_t buf[4096];
	uint64_t reads;

	cr_assert_eq(get_log(NR_LID_SMART, 0xffffffffu, 0, &log, sizeof(log)), 0);
	cr_expect_eq(log.temperature[0] | log.temperature[1] << 8, 308);
	cr_expect_eq(log.avail_spare, 100);
	cr_expect_eq(log.spare_thresh, 10);
	cr_expect_eq(log.critical_warning, 0);
	cr_expect_eq(le16toh(log.temp_sensor[0]), 308);
	cr_expect_eq(log.power_cycles[0], 1);
	memcpy(&reads, log.host_reads, 8);
	reads = le64toh(reads);

	cr_assert_eq(identify(NR_CNS_CTRL, 0, 0, buf), 0);
	cr_assert_eq(zsend(2, 0, NR_ZSA_RESET, false), 0);
	cr_assert_eq(get_log(NR_LID_SMART, 0, 0, &log, sizeof(log)), 0);
	/* The previous SMART read and the identify returned data. */
	cr_expect_eq(log.host_reads[0], (uint8_t)(reads + 2));
	cr_expect_eq(log.data_units_read[0], (uint8_t)(reads + 2));
	cr_expect_eq(log.host_writes[0], 1);
	cr_expect_eq(log.data_units_written[0], 1);
	cr_expect_eq(log.data_units_written[8], 0, "upper 64 bits");
}

Test(sim, get_log_honours_numd_and_offset)
{
	uint8_t full[512], part[16], big[1024];

	cr_assert_eq(get_log(NR_LID_SMART, 0, 0, full, sizeof(full)), 0);
	memset(part, 0xcc, sizeof(part));
	cr_assert_eq(get_log(NR_LID_SMART, 0, 200, part, 8), 0);
	cr_expect_arr_eq(part, full + 200, 8);
	cr_expect_eq(part[8], 0xcc, "NUMD bounds the transfer");

	memset(big, 0xcc, sizeof(big));
	cr_assert_eq(get_log(NR_LID_SMART, 0, 0, big, sizeof(big)), 0);
	cr_expect_eq(big[512], 0, "past the page reads zero");
	cr_expect_eq(big[1023], 0);

	cr_expect_eq(get_log(NR_LID_SMART, 0, 2, part, 8), ST(0, 0x02), "unaligned offset");
	cr_expect_eq(get_log(NR_LID_SMART, 0, 512, part, 8), ST(0, 0x02), "offset past page");
	cr_expect_eq(get_log(NR_LID_SMART, 1, 0, part, 8), ST(0, 0x02), "per-namespace");
}

Test(sim, get_log_other_pages)
{
	static const uint8_t zero[4096];
	struct nvme_firmware_slot fw;
	uint8_t buf[4096];

	memset(buf, 0xcc, sizeof(buf));
	cr_assert_eq(get_log(NR_LID_ERROR, 0, 0, buf, sizeof(buf)), 0);
	cr_expect_arr_eq(buf, zero, sizeof(buf));

	cr_assert_eq(get_log(NR_LID_FW_SLOT, 0, 0, &fw, sizeof(fw)), 0);
	cr_expect_eq(fw.afi, 1);
	cr_expect_arr_eq(fw.frs[0], "1.0     ", 8);
	cr_expect_eq(fw.frs[1][0], 0);

	cr_expect_eq(get_log(0x7e, 0, 0, buf, 512), ST(1, 0x09));
	cr_expect_eq(get_log(0xc0, 0, 0, buf, 512), ST(1, 0x09));
}

Test(sim, unknown_opcodes)
{
	struct nr_cmd cmd;
	uint8_t buf[4096];

	nr_cmd_identify(&cmd, NR_CNS_CTRL, 0, 0, 0, buf, sizeof(buf));
	cmd.sqe.opcode = 0x80; /* Format NVM: not implemented */
	cr_expect_eq(submit(&cmd), ST(0, 0x01));
	cmd.sqe.opcode = NR_ADM_SET_FEATURES;
	cr_expect_eq(submit(&cmd), ST(0, 0x01));

	nr_cmd_zone_send(&cmd, 1, 0, NR_ZSA_OPEN, false);
	cmd.sqe.opcode = 0x01; /* Write */
	cr_expect_eq(submit(&cmd), ST(0, 0x01));
	cmd.sqe.opcode = NR_IO_ZONE_MGMT_SEND; /* on a conventional namespace */
	cr_expect_eq(submit(&cmd), ST(0, 0x01));
	cr_expect_eq(report(1, 0, NR_ZRASF_ALL, false, buf, 128), ST(0, 0x01));
	cr_expect_eq(report(9, 0, NR_ZRASF_ALL, false, buf, 128), ST(0, 0x0b));
}

static void expect_desc(const uint8_t *at, unsigned zs, uint64_t zslba, uint64_t wp)
{
	struct nvme_zns_desc desc;

	memcpy(&desc, at, sizeof(desc));
	cr_expect_eq(desc.zt, 0x2);
	cr_expect_eq(desc.zs, zs << 4, "zslba %llu", (unsigned long long)zslba);
	cr_expect_eq(le64toh(desc.zcap), ZONE_SIZE);
	cr_expect_eq(le64toh(desc.zslba), zslba);
	cr_expect_eq(le64toh(desc.wp), wp, "zslba %llu", (unsigned long long)zslba);
	cr_expect_eq(desc.rsvd32[31], 0);
}

Test(sim, report_all_zones)
{
	uint8_t buf[64 + 64 * 8];
	struct nvme_zone_report *head = (void *)buf;

	cr_assert_eq(report(2, 0, NR_ZRASF_ALL, false, buf, sizeof(buf)), 0);
	cr_expect_eq(le64toh(head->nr_zones), NR_ZONES);
	cr_expect_eq(head->rsvd8[0], 0);
	expect_desc(buf + 64, NR_ZS_FULL, 0, WP_NONE);
	expect_desc(buf + 128, NR_ZS_IMPL_OPEN, ZONE_SIZE, ZONE_SIZE + 1024);
	expect_desc(buf + 192, NR_ZS_CLOSED, 2 * ZONE_SIZE, 2 * ZONE_SIZE + 512);
	expect_desc(buf + 256, NR_ZS_EMPTY, 3 * ZONE_SIZE, 3 * ZONE_SIZE);
	expect_desc(buf + 64 + 7 * 64, NR_ZS_EMPTY, 7 * ZONE_SIZE, 7 * ZONE_SIZE);
}

Test(sim, report_partial_counts_descriptors_in_buffer)
{
	uint8_t buf[64 + 64 * 10];
	struct nvme_zone_report *head = (void *)buf;

	cr_assert_eq(report(2, 0, NR_ZRASF_ALL, true, buf, sizeof(buf)), 0);
	cr_expect_eq(le64toh(head->nr_zones), 10);
	cr_assert_eq(report(2, (NR_ZONES - 3) * ZONE_SIZE, NR_ZRASF_ALL, true, buf, sizeof(buf)),
		     0);
	cr_expect_eq(le64toh(head->nr_zones), 3);
	cr_expect_eq(buf[64 + 3 * 64], 0, "unused space is zeroed");
}

Test(sim, report_from_the_middle)
{
	uint8_t buf[64 + 64 * 2];
	struct nvme_zone_report *head = (void *)buf;

	/* An SLBA inside zone 100 reports from zone 100's start. */
	cr_assert_eq(report(2, 100 * ZONE_SIZE + 7, NR_ZRASF_ALL, false, buf, sizeof(buf)), 0);
	cr_expect_eq(le64toh(head->nr_zones), NR_ZONES - 100);
	expect_desc(buf + 64, NR_ZS_EMPTY, 100 * ZONE_SIZE, 100 * ZONE_SIZE);
	expect_desc(buf + 128, NR_ZS_EMPTY, 101 * ZONE_SIZE, 101 * ZONE_SIZE);
	cr_assert_eq(report(2, 3000 * ZONE_SIZE, NR_ZRASF_EMPTY, false, buf, sizeof(buf)), 0);
	cr_expect_eq(le64toh(head->nr_zones), NR_ZONES - 3000);
	cr_assert_eq(report(2, 1 * ZONE_SIZE, NR_ZRASF_EMPTY, false, buf, sizeof(buf)), 0);
	cr_expect_eq(le64toh(head->nr_zones), NR_ZONES - 3);
}

struct filter_vec {
	enum nr_zrasf filter;
	uint64_t nr_zones;
	unsigned first_zs;
	uint64_t first_zslba;
};

ParameterizedTestParameters(sim, report_filtered)
{
	static struct filter_vec vecs[] = {
	    {NR_ZRASF_EMPTY, NR_ZONES - 3, NR_ZS_EMPTY, 3 * ZONE_SIZE},
	    {NR_ZRASF_IMPL_OPEN, 1, NR_ZS_IMPL_OPEN, ZONE_SIZE},
	    {NR_ZRASF_EXPL_OPEN, 0, 0, 0},
	    {NR_ZRASF_CLOSED, 1, NR_ZS_CLOSED, 2 * ZONE_SIZE},
	    {NR_ZRASF_FULL, 1, NR_ZS_FULL, 0},
	    {NR_ZRASF_READ_ONLY, 0, 0, 0},
	    {NR_ZRASF_OFFLINE, 0, 0, 0},
	};
	return cr_make_param_array(struct filter_vec, vecs, sizeof(vecs) / sizeof(vecs[0]));
}

ParameterizedTest(struct filter_vec *vec, sim, report_filtered)
{
	uint8_t buf[64 + 64 * 4];
	struct nvme_zns_desc desc;

	cr_assert_eq(report(2, 0, vec->filter, false, buf, sizeof(buf)), 0);
	cr_expect_eq(le64toh(((struct nvme_zone_report *)buf)->nr_zones), vec->nr_zones);
	memcpy(&desc, buf + 64, sizeof(desc));
	cr_expect_eq(desc.zs >> 4, vec->first_zs);
	if (vec->first_zs)
		cr_expect_eq(le64toh(desc.zslba), vec->first_zslba);
}

Test(sim, report_buffer_smaller_than_report)
{
	uint8_t buf[64 + 64 + 32], full[64 + 128];
	struct nvme_zone_report *head = (void *)buf;

	cr_assert_eq(report(2, 0, NR_ZRASF_ALL, false, full, sizeof(full)), 0);
	cr_assert_eq(report(2, 0, NR_ZRASF_ALL, false, buf, sizeof(buf)), 0);
	cr_expect_eq(le64toh(head->nr_zones), NR_ZONES);
	/* The second descriptor is cut where the buffer ends. */
	cr_expect_arr_eq(buf + 64, full + 64, 96);
	cr_assert_eq(report(2, 0, NR_ZRASF_ALL, true, buf, sizeof(buf)), 0);
	cr_expect_eq(le64toh(head->nr_zones), 1, "only whole descriptors count");

	memset(buf, 0xcc, sizeof(buf));
	cr_assert_eq(report(2, 0, NR_ZRASF_ALL, false, buf, 16), 0);
	cr_expect_eq(le64toh(head->nr_zones), NR_ZONES);
	cr_expect_eq(buf[16], 0xcc, "nothing past NUMD");
}

Test(sim, report_errors)
{
	uint8_t buf[128];
	struct nr_cmd cmd;

	cr_expect_eq(report(2, (uint64_t)NR_ZONES * ZONE_SIZE, NR_ZRASF_ALL, false, buf, 128),
		     ST(0, 0x80));
	nr_cmd_zone_report(&cmd, 2, 0, NR_ZRASF_ALL, false, true, buf, sizeof(buf));
	cr_expect_eq(submit(&cmd), ST(0, 0x02), "no zone descriptor extensions");
	nr_cmd_zone_report(&cmd, 2, 0, 8, false, false, buf, sizeof(buf));
	cr_expect_eq(submit(&cmd), ST(0, 0x02));
}

Test(sim, zone_state_machine)
{
	const uint64_t z3 = 3 * ZONE_SIZE;

	cr_expect_eq(zsend(2, z3, NR_ZSA_OPEN, false), 0);
	cr_expect_eq(zone_state(2, 3, ZONE_SIZE), NR_ZS_EXPL_OPEN);
	cr_expect_eq(zsend(2, z3, NR_ZSA_OPEN, false), 0, "open is idempotent");
	cr_expect_eq(zsend(2, z3, NR_ZSA_CLOSE, false), 0);
	cr_expect_eq(zone_state(2, 3, ZONE_SIZE), NR_ZS_EMPTY, "nothing written: back to empty");
	cr_expect_eq(zsend(2, z3, NR_ZSA_FINISH, false), 0);
	cr_expect_eq(zone_state(2, 3, ZONE_SIZE), NR_ZS_FULL);
	cr_expect_eq(le64toh(zone_desc(2, 3, ZONE_SIZE).wp), WP_NONE);
	cr_expect_eq(zsend(2, z3, NR_ZSA_OPEN, false), ST(1, 0xbf));
	cr_expect_eq(zsend(2, z3, NR_ZSA_CLOSE, false), ST(1, 0xbf));
	cr_expect_eq(zsend(2, z3, NR_ZSA_RESET, false), 0);
	cr_expect_eq(zone_state(2, 3, ZONE_SIZE), NR_ZS_EMPTY);
	cr_expect_eq(le64toh(zone_desc(2, 3, ZONE_SIZE).wp), z3);
	cr_expect_eq(zsend(2, z3, NR_ZSA_OFFLINE, false), ST(1, 0xbf), "only from read-only");

	/* Closed (zone 2, 512 written) -> open -> closed keeps its write pointer. */
	cr_expect_eq(zsend(2, 2 * ZONE_SIZE, NR_ZSA_OPEN, false), 0);
	cr_expect_eq(zone_state(2, 2, ZONE_SIZE), NR_ZS_EXPL_OPEN);
	cr_expect_eq(zsend(2, 2 * ZONE_SIZE, NR_ZSA_CLOSE, false), 0);
	cr_expect_eq(zone_state(2, 2, ZONE_SIZE), NR_ZS_CLOSED);
	cr_expect_eq(le64toh(zone_desc(2, 2, ZONE_SIZE).wp), 2 * ZONE_SIZE + 512);
	/* Implicitly open (zone 1) -> closed. */
	cr_expect_eq(zsend(2, ZONE_SIZE, NR_ZSA_CLOSE, false), 0);
	cr_expect_eq(zone_state(2, 1, ZONE_SIZE), NR_ZS_CLOSED);
}

Test(sim, zone_send_errors)
{
	cr_expect_eq(zsend(2, 5, NR_ZSA_OPEN, false), ST(0, 0x02), "not a zone start");
	cr_expect_eq(zsend(2, (uint64_t)NR_ZONES * ZONE_SIZE, NR_ZSA_OPEN, false), ST(0, 0x80));
	cr_expect_eq(zsend(2, 0, 0x00, false), ST(0, 0x02), "reserved action");
	cr_expect_eq(zsend(2, 0, 0x10, true), ST(0, 0x02));
}

Test(sim, zone_select_all)
{
	cr_expect_eq(zsend(2, 0, NR_ZSA_CLOSE, true), 0);
	cr_expect_eq(zone_state(2, 1, ZONE_SIZE), NR_ZS_CLOSED);
	cr_expect_eq(count_zones(2, NR_ZRASF_CLOSED), 2);
	cr_expect_eq(zsend(2, 0, NR_ZSA_OPEN, true), 0);
	cr_expect_eq(count_zones(2, NR_ZRASF_EXPL_OPEN), 2);
	cr_expect_eq(zsend(2, 0, NR_ZSA_FINISH, true), 0);
	cr_expect_eq(count_zones(2, NR_ZRASF_FULL), 3);
	cr_expect_eq(zsend(2, 0, NR_ZSA_OFFLINE, true), 0, "no read-only zones: nothing to do");
	cr_expect_eq(zsend(2, 0, NR_ZSA_RESET, true), 0);
	cr_expect_eq(count_zones(2, NR_ZRASF_EMPTY), NR_ZONES);
	cr_expect_eq(count_zones(2, NR_ZRASF_FULL), 0);
}

Test(sim, zone_open_and_active_limits)
{
	/* Default ns 2: zone 1 implicitly open, zone 2 closed, limits 14/14. */
	for (uint32_t z = 3; z < 15; z++)
		cr_assert_eq(zsend(2, z * ZONE_SIZE, NR_ZSA_OPEN, false), 0, "zone %u", z);
	cr_expect_eq(zsend(2, 15 * ZONE_SIZE, NR_ZSA_OPEN, false), ST(1, 0xbd));
	cr_expect_eq(zsend(2, 15 * ZONE_SIZE, NR_ZSA_FINISH, false), ST(1, 0xbd));
	cr_expect_eq(zone_state(2, 15, ZONE_SIZE), NR_ZS_EMPTY, "failed command changed nothing");
	/* Finishing an open zone releases both resources. */
	cr_expect_eq(zsend(2, 3 * ZONE_SIZE, NR_ZSA_FINISH, false), 0);
	cr_expect_eq(zsend(2, 15 * ZONE_SIZE, NR_ZSA_OPEN, false), 0);
	cr_expect_eq(zsend(2, 1 * ZONE_SIZE, NR_ZSA_OPEN, false), 0, "implicit -> explicit");
}

Test(sim, zone_too_many_open)
{
	char err[256];

	nr_sim_free(sim);
	cr_assert_eq(new_sim_json("{\"subsystems\":[{\"nqn\":\"nqn.x\",\"controllers\":[{\"sn\":"
				  "\"A\"}],\"namespaces\":[{\"nsid\":1,\"zoned\":{\"zone_size\":"
				  "64,\"nr_zones\":8,\"max_open\":2}}]}]}",
				  err, sizeof(err)),
		     0, "%s", err);
	cr_expect_eq(zsend(1, 0, NR_ZSA_OPEN, false), 0);
	cr_expect_eq(zsend(1, 64, NR_ZSA_OPEN, false), 0);
	cr_expect_eq(zsend(1, 128, NR_ZSA_OPEN, false), ST(1, 0xbe));
	cr_expect_eq(zsend(1, 128, NR_ZSA_FINISH, false), 0, "no active limit");
	cr_expect_eq(zsend(1, 0, NR_ZSA_CLOSE, false), 0);
	cr_expect_eq(zsend(1, 192, NR_ZSA_OPEN, false), 0);
}

Test(sim, backend_ops_and_names)
{
	struct nr_cmd cmd;
	uint8_t buf[4096];

	cr_expect_str_eq(nr_sim_ops.name, "sim");
	nr_cmd_identify(&cmd, NR_CNS_CTRL, 0, 0, 0, buf, sizeof(buf));
	cr_assert_eq(nr_sim_ops.submit(ctrl, &cmd), 0);
	cr_expect_eq(cmd.status, 0);
	cr_expect_eq(nr_sim_ctrl_count(sim), 1);
	cr_expect_null(nr_sim_ctrl_at(sim, 1));
	cr_expect_str_eq(nr_sim_ctrl_name(ctrl), "sim0");
	cr_expect_str_eq(nr_sim_ctrl_subnqn(ctrl), "nqn.2026-11.io.nvmerpcd:sim-subsys0");
}

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
	cr_expect_eq(ns.lbaf[0].ds, 12);
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

ParameterizedTestParameters(sim, json_errors)
{
	static struct json_err_vec vecs[] = {
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
	if (timing_checked()) {
		cr_expect_lt(create_s, 0.1);
		cr_expect_lt(report_s, 0.001);
	}
	free(buf);
}
