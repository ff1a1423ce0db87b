/* SPDX-License-Identifier: MIT */
/*
 * Zone descriptor extensions of the simulator: the zdes description key,
 * Identify ZNS Namespace ZDES, Set Zone Descriptor Extension, Extended
 * Report Zones and the reset that clears an extension.
 */
#include "nvme/nvme_cmd_admin.h"
#include "test_sim_util.h"

#define EXT_ZONE_SIZE 64u
#define EXT_ZONES 10000u /* more than one lazily allocated chunk */
#define ZA_ZDEV 0x80u

static void setup_zext(void)
{
	char err[256];

	cr_assert_eq(new_sim_json("{\"subsystems\":[{\"nqn\":\"nqn.x\",\"controllers\":[{\"sn\":"
				  "\"A\"}],\"namespaces\":[{\"nsid\":1,\"zoned\":{\"zone_size\":64,"
				  "\"nr_zones\":10000,\"max_active\":2,\"zdes\":2}},{\"nsid\":2,"
				  "\"zoned\":{\"zone_size\":64,\"nr_zones\":8}}]}]}",
				  err, sizeof(err)),
		     0, "%s", err);
}

TestSuite(zext, .init = setup_zext, .fini = teardown, .timeout = 30);

static uint16_t set_ext(uint32_t nsid, uint64_t slba, const uint8_t *data, uint32_t len)
{
	struct nr_cmd cmd;

	nr_cmd_zone_set_ext(&cmd, nsid, slba, (void *)data, len);
	return submit(&cmd);
}

static uint16_t ext_report(uint32_t nsid, uint64_t slba, bool partial, void *buf, uint32_t len)
{
	struct nr_cmd cmd;

	memset(buf, 0xcc, len);
	nr_cmd_zone_report(&cmd, nsid, slba, NR_ZRASF_ALL, partial, true, buf, len);
	return submit(&cmd);
}

Test(zext, identify_reports_zdes)
{
	struct nvme_zns_id_ns zns;

	cr_assert_eq(identify(NR_CNS_CSI_NS, NR_CSI_ZNS, 1, &zns), 0);
	cr_expect_eq(zns.lbafe[0].zdes, 2);
	cr_assert_eq(identify(NR_CNS_CSI_NS, NR_CSI_ZNS, 2, &zns), 0);
	cr_expect_eq(zns.lbafe[0].zdes, 0);
}

Test(zext, set_then_extended_report)
{
	uint8_t data[128], buf[64 + 3 * (64 + 128)];
	const struct nvme_zns_desc *desc;
	uint64_t slba = 5000ull * EXT_ZONE_SIZE;

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i + 1);
	cr_assert_eq(set_ext(1, slba, data, sizeof(data)), 0);
	cr_assert_eq(ext_report(1, slba, true, buf, sizeof(buf)), 0);
	cr_expect_eq(le64toh(((struct nvme_zone_report *)buf)->nr_zones), 3);
	desc = (const void *)(buf + 64);
	cr_expect_eq(desc->zs >> 4, NR_ZS_CLOSED);
	cr_expect_eq(desc->za, ZA_ZDEV);
	cr_expect_eq(le64toh(desc->wp), slba, "nothing written");
	cr_expect_arr_eq(buf + 128, data, sizeof(data));
	desc = (const void *)(buf + 64 + 192);
	cr_expect_eq(desc->za, 0);
	cr_expect_eq(desc->zs >> 4, NR_ZS_EMPTY);
	cr_expect_eq(le64toh(desc->zslba), slba + EXT_ZONE_SIZE);
	for (unsigned i = 0; i < 128; i++)
		cr_expect_eq(buf[64 + 192 + 64 + i], 0, "an unset extension reads as zeroes");
	/* The plain report shows ZDEV too, without the data. */
	cr_assert_eq(report(1, slba, NR_ZRASF_ALL, true, buf, 128), 0);
	cr_expect_eq(((const struct nvme_zns_desc *)(buf + 64))->za, ZA_ZDEV);
}

Test(zext, reset_clears_and_close_keeps)
{
	uint8_t data[128], buf[64 + 192];
	const struct nvme_zns_desc *desc = (const void *)(buf + 64);

	memset(data, 0x5a, sizeof(data));
	cr_assert_eq(set_ext(1, 0, data, sizeof(data)), 0);
	/* Open then close with nothing written: ZDEV keeps it closed. */
	cr_assert_eq(zsend(1, 0, NR_ZSA_OPEN, false), 0);
	cr_assert_eq(zsend(1, 0, NR_ZSA_CLOSE, false), 0);
	cr_assert_eq(ext_report(1, 0, true, buf, sizeof(buf)), 0);
	cr_expect_eq(desc->zs >> 4, NR_ZS_CLOSED);
	cr_expect_eq(desc->za, ZA_ZDEV);
	cr_assert_eq(zsend(1, 0, NR_ZSA_RESET, false), 0);
	cr_assert_eq(ext_report(1, 0, true, buf, sizeof(buf)), 0);
	cr_expect_eq(desc->zs >> 4, NR_ZS_EMPTY);
	cr_expect_eq(desc->za, 0);
	for (unsigned i = 0; i < 128; i++)
		cr_expect_eq(buf[128 + i], 0, "reset clears the extension data");
}

Test(zext, errors_per_spec)
{
	uint8_t data[128] = {1}, buf[256];
	struct nr_cmd cmd;

	cr_expect_eq(zsend(1, 64, NR_ZSA_OPEN, false), 0);
	cr_expect_eq(set_ext(1, 64, data, sizeof(data)), ST(1, 0xbf), "zone not empty");
	cr_expect_eq(set_ext(1, 65, data, sizeof(data)), ST(0, 0x02), "not a zone start");
	cr_expect_eq(set_ext(1, 64ull * EXT_ZONES, data, sizeof(data)), ST(0, 0x80));
	nr_cmd_zone_set_ext(&cmd, 1, 0, data, sizeof(data));
	cmd.sqe.cdw13 |= 1u << 8;
	cr_expect_eq(submit(&cmd), ST(0, 0x02), "Select All is invalid");
	nr_cmd_zone_set_ext(&cmd, 1, 0, data, 64);
	cr_expect_eq(nr_sim_submit(ctrl, &cmd), -EINVAL, "short data buffer");
	cr_expect_eq(set_ext(2, 0, data, sizeof(data)), ST(0, 0x02), "ZDES 0");
	cr_expect_eq(ext_report(2, 0, false, buf, sizeof(buf)), ST(0, 0x02), "ZDES 0");
	/* max_active 2: the open zone holds one, the first extension the other. */
	cr_expect_eq(set_ext(1, 0, data, sizeof(data)), 0);
	cr_expect_eq(set_ext(1, 128, data, sizeof(data)), ST(1, 0xbd), "Too Many Active Zones");
}

Test(zext, full_report_counts_and_format_clears)
{
	uint8_t data[128] = {7}, buf[64 + 2 * 192 + 100];
	const struct nvme_zns_desc *desc = (const void *)(buf + 64 + 192);
	struct nr_cmd cmd;

	cr_assert_eq(set_ext(1, 64, data, sizeof(data)), 0);
	/* Without Partial the count is every zone from SLBA; a cut entry is
	 * transferred in part. */
	cr_assert_eq(ext_report(1, 0, false, buf, sizeof(buf)), 0);
	cr_expect_eq(le64toh(((struct nvme_zone_report *)buf)->nr_zones), EXT_ZONES);
	cr_expect_eq(desc->za, ZA_ZDEV);
	cr_expect_eq(buf[64 + 192 + 64], 7);
	nr_cmd_format(&cmd, 1, 0, 0, 0, 0, 0);
	cr_assert_eq(submit(&cmd), 0);
	cr_assert_eq(ext_report(1, 0, true, buf, sizeof(buf)), 0);
	cr_expect_eq(desc->za, 0, "Format NVM empties the zone");
	cr_expect_eq(buf[64 + 192 + 64], 0);
}
