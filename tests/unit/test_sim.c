/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the simulated controller (src/sim*.c): Identify, the basic
 * log pages and zones. Every structure is read back at the spec's byte
 * offsets through libnvme's definitions.
 */
#include "test_sim_util.h"

TestSuite(sim, .init = setup_default, .fini = teardown, .timeout = 30);

Test(sim, identify_controller)
{
	static const uint8_t tnvmcap[16] = {0x00, 0x00, 0x00, 0x00, 0x02};
	static const uint8_t unvmcap[16] = {0x00, 0x00, 0x00, 0xc0};
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
	cr_expect_eq(id.npss, 2);
	cr_expect_eq(le16toh(id.psd[0].mp), 2500);
	cr_expect_eq(id.psd[2].flags, 0x2, "power state 2 is non-operational");
	cr_expect_eq(le16toh(id.oacs), 0x1e, "format, firmware, ns management, self-test");
	cr_expect_eq(le16toh(id.oncs), 0x50, "save/select, timestamp");
	cr_expect_eq(id.fna, 0x4);
	cr_expect_eq(id.vwc, 0x7);
	cr_expect_eq(id.lpa, 0x1e);
	cr_expect_eq(id.frmw, 0x17, "3 slots, slot 1 read-only, activation without reset");
	cr_expect_eq(id.fwug, 1);
	cr_expect_eq(le32toh(id.sanicap), 0x7);
	cr_expect_eq(le16toh(id.edstt), 1, "5 s rounds up to a minute");
	cr_expect_eq(id.apsta, 1);
	cr_expect_eq(le16toh(id.kas), 10);
	cr_expect_eq(id.nwpc, 0x7);
	cr_expect_eq(le32toh(id.oaes), 0x300);
	cr_expect_geq(le32toh(id.nn), 2);
	/* Capacity 8 GiB; allocated 1 GiB + 4096 zones * 2048 * 512 B = 5 GiB. */
	cr_expect_arr_eq(id.tnvmcap, tnvmcap, 16);
	cr_expect_arr_eq(id.unvmcap, unvmcap, 16);
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
	cr_expect_eq(id.nlbaf, 1, "512 and 4096");
	cr_expect_eq(id.flbas, 0);
	cr_expect_eq(id.lbaf[0].ds, 9);
	cr_expect_eq(id.lbaf[1].ds, 12);
	cr_expect_eq(le16toh(id.lbaf[0].ms), 0);
	nvmcap[3] = 0x40; /* 1 GiB */
	cr_expect_arr_eq(id.nvmcap, nvmcap, 16);
	cr_expect_neq(id.eui64[0] | id.eui64[7], 0);

	cr_assert_eq(identify(NR_CNS_NS, 0, 2, &id), 0);
	cr_expect_eq(le64toh(id.nsze), (uint64_t)NR_ZONES * ZONE_SIZE);
	cr_expect_eq(id.nlbaf, 0, "a zoned namespace keeps its one format");
	cr_expect_eq(id.lbaf[0].ds, 9);

	cr_assert_eq(identify(NR_CNS_NS, 0, 0xffffffffu, &id), 0, "common capabilities");
	cr_expect_eq(id.nsze, 0);
	cr_expect_eq(id.nlbaf, 1);
	cr_expect_eq(id.lbaf[1].ds, 12);
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
	    {NR_CNS_NS, 0xffffffffu, 0},
	    {NR_CNS_NS, 33, ST(0, 0x0b)}, /* above NN (32) */
	    {NR_CNS_NS, 32, 0},		  /* inactive but valid */
	    {NR_CNS_NS_DESC_LIST, 3, ST(0, 0x0b)},
	    {NR_CNS_NS_DESC_LIST, 0, ST(0, 0x0b)},
	    {NR_CNS_NS_ACTIVE_LIST, 0xfffffffeu, ST(0, 0x0b)},
	    {NR_CNS_NS_ACTIVE_LIST, 0xffffffffu, ST(0, 0x0b)},
	    {0x7f, 1, ST(0, 0x02)},
	    {0x1f, 1, ST(0, 0x02)},
	    {0x11, 0, ST(0, 0x0b)},
	    {0x12, 33, ST(0, 0x0b)},
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
	cr_expect_eq(buf[32], 3); /* UUID, version 4 */
	cr_expect_eq(buf[33], 16);
	cr_expect_eq(buf[36 + 6] >> 4, 4);
	cr_expect_eq(buf[36 + 8] >> 6, 2);
	cr_expect_eq(buf[52], 4); /* CSI */
	cr_expect_eq(buf[53], 1);
	cr_expect_eq(buf[56], NR_CSI_ZNS);
	cr_expect_eq(buf[57], 0, "list ends");

	cr_assert_eq(identify(NR_CNS_NS_DESC_LIST, 0, 1, buf), 0);
	cr_expect_eq(buf[52], 4);
	cr_expect_eq(buf[56], NR_CSI_NVM);
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
	cr_expect_eq(log.data_units_written[0], 0, "a zone reset writes no data");
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
	cmd.sqe.opcode = 0x0c; /* Asynchronous Event Request: not implemented */
	cr_expect_eq(submit(&cmd), ST(0, 0x01));
	cmd.sqe.opcode = 0x81; /* Security Send */
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
