/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the simulator's maintenance operations: Sanitize and
 * Device Self-test progressing over (short, configured) time, Firmware
 * Download / Commit with controller reset, Telemetry and Persistent Event
 * logs, and Zone Append. Durations are polled to completion, never timed.
 */
#include "test_sim_util.h"

/* Fast timings so operations complete within a test. */
static const char fast_desc[] =
    "{\"subsystems\":[{\"nqn\":\"nqn.x\",\"controllers\":[{\"sn\":\"A\",\"fr\":\"1.0\","
    "\"self_test_ms\":{\"short\":60,\"extended\":200},\"sanitize_ms\":100,\"fwug\":1,"
    "\"fw_slots\":3}],\"namespaces\":[{\"nsid\":1,\"blocks\":1024},{\"nsid\":2,\"zoned\":{"
    "\"zone_size\":64,\"nr_zones\":8,\"max_open\":2}}]}]}";

static void setup_fast(void)
{
	char err[256];

	cr_assert_eq(new_sim_json(fast_desc, err, sizeof(err)), 0, "%s", err);
}

TestSuite(sim, .init = setup_fast, .fini = teardown, .timeout = 30);

static struct nvme_sanitize_log_page sanitize_log(void)
{
	struct nvme_sanitize_log_page log;

	cr_assert_eq(get_log(0x81, 0, 0, &log, sizeof(log)), 0);
	return log;
}

Test(sim, sanitize_progress_to_completion)
{
	struct nvme_sanitize_log_page log = sanitize_log();
	uint16_t sprog;
	int polls = 0;

	cr_expect_eq(le16toh(log.sprog), 0xffff);
	cr_expect_eq(le16toh(log.sstat), 0, "never sanitized");
	cr_expect_eq(le32toh(log.etbe), 1, "100 ms rounds up to 1 s");
	cr_assert_eq(zsend(2, 0, NR_ZSA_FINISH, false), 0);
	cr_assert_eq(admin(nvme_admin_sanitize_nvm, 0, 2 | 1u << 3, 0, NR_XFER_NONE, NULL, 0), 0);
	log = sanitize_log();
	cr_expect_eq(le16toh(log.sstat) & 7, 2, "in progress");
	cr_expect_lt(le16toh(log.sprog), 0xffff);
	cr_expect_eq(le32toh(log.scdw10), 2 | 1u << 3);
	cr_expect_eq(zsend(2, 0, NR_ZSA_RESET, false), ST(0, 0x1d), "I/O waits");
	cr_expect_eq(admin(nvme_admin_format_nvm, 1, 0, 0, NR_XFER_NONE, NULL, 0), ST(0, 0x1d));
	cr_expect_eq(admin(nvme_admin_sanitize_nvm, 0, 2, 0, NR_XFER_NONE, NULL, 0), ST(0, 0x1d));
	do {
		sleep_ms(10);
		log = sanitize_log();
		sprog = le16toh(log.sprog);
	} while (sprog != 0xffff && ++polls < 1000);
	cr_expect_eq(le16toh(log.sstat), 1 | 1u << 8, "completed, global data erased");
	cr_expect_eq(count_zones(2, NR_ZRASF_EMPTY), 8, "zones erased");
	cr_expect_eq(zsend(2, 0, NR_ZSA_OPEN, false), 0);
}

Test(sim, sanitize_actions)
{
	cr_expect_eq(admin(nvme_admin_sanitize_nvm, 0, 0, 0, NR_XFER_NONE, NULL, 0), ST(0, 0x02));
	cr_expect_eq(admin(nvme_admin_sanitize_nvm, 0, 5, 0, NR_XFER_NONE, NULL, 0), ST(0, 0x02));
	cr_expect_eq(admin(nvme_admin_sanitize_nvm, 0, 1, 0, NR_XFER_NONE, NULL, 0), 0,
		     "exit failure mode with nothing failed");
	cr_assert_eq(
	    admin(nvme_admin_sanitize_nvm, 0, 3 | 2u << 4, 0x5a5a5a5a, NR_XFER_NONE, NULL, 0), 0);
	while (le16toh(sanitize_log().sprog) != 0xffff)
		sleep_ms(10);
	cr_expect_eq(le16toh(sanitize_log().sstat), 1 | 2u << 3 | 1u << 8, "two passes done");
}

static struct nvme_self_test_log dst_log(void)
{
	struct nvme_self_test_log log;

	cr_assert_eq(get_log(0x06, 0, 0, &log, sizeof(log)), 0);
	return log;
}

Test(sim, self_test_progress_and_log)
{
	struct nvme_self_test_log log = dst_log();

	cr_expect_eq(log.current_operation, 0);
	cr_expect_eq(log.result[0].dsts, 0xf, "unused");
	cr_expect_eq(log.result[19].dsts, 0xf);
	cr_assert_eq(admin(nvme_admin_dev_self_test, 0xffffffffu, 1, 0, NR_XFER_NONE, NULL, 0), 0);
	cr_expect_eq(admin(nvme_admin_dev_self_test, 0, 2, 0, NR_XFER_NONE, NULL, 0), ST(1, 0x1d));
	log = dst_log();
	cr_expect_eq(log.current_operation, 1);
	cr_expect_lt(log.completion, 100);
	while (dst_log().current_operation)
		sleep_ms(10);
	log = dst_log();
	cr_expect_eq(log.result[0].dsts, 0x10, "short, no error");
	cr_expect_eq(le32toh(log.result[0].nsid), 0xffffffffu);
	cr_expect_eq(log.result[0].vdi & 1, 1);

	cr_assert_eq(admin(nvme_admin_dev_self_test, 1, 2, 0, NR_XFER_NONE, NULL, 0), 0);
	cr_assert_eq(admin(nvme_admin_dev_self_test, 0, 0xf, 0, NR_XFER_NONE, NULL, 0), 0);
	log = dst_log();
	cr_expect_eq(log.current_operation, 0);
	cr_expect_eq(log.result[0].dsts, 0x21, "extended, aborted");
	cr_expect_eq(log.result[1].dsts, 0x10, "newest first");

	cr_assert_eq(admin(nvme_admin_dev_self_test, 1, 2, 0, NR_XFER_NONE, NULL, 0), 0);
	cr_assert_eq(admin(nvme_admin_format_nvm, 1, 0, 0, NR_XFER_NONE, NULL, 0), 0);
	cr_expect_eq(dst_log().result[0].dsts, 0x24, "aborted by format");
	cr_assert_eq(admin(nvme_admin_dev_self_test, 0, 1, 0, NR_XFER_NONE, NULL, 0), 0);
	cr_assert_eq(nr_sim_ctrl_reset(ctrl), 0);
	cr_expect_eq(dst_log().result[0].dsts, 0x12, "aborted by reset");
	cr_assert_eq(admin(nvme_admin_dev_self_test, 0, 1, 0, NR_XFER_NONE, NULL, 0), 0);
	cr_assert_eq(admin(nvme_admin_sanitize_nvm, 0, 4, 0, NR_XFER_NONE, NULL, 0), 0);
	cr_expect_eq(dst_log().result[0].dsts, 0x19, "aborted by sanitize");

	cr_expect_eq(admin(nvme_admin_dev_self_test, 9, 1, 0, NR_XFER_NONE, NULL, 0), ST(0, 0x1d),
		     "still sanitizing");
}

Test(sim, self_test_errors)
{
	cr_expect_eq(admin(nvme_admin_dev_self_test, 9, 1, 0, NR_XFER_NONE, NULL, 0), ST(0, 0x0b));
	cr_expect_eq(admin(nvme_admin_dev_self_test, 0, 3, 0, NR_XFER_NONE, NULL, 0), ST(0, 0x02));
	cr_expect_eq(admin(nvme_admin_dev_self_test, 0, 0xf, 0, NR_XFER_NONE, NULL, 0), 0,
		     "abort with nothing running");
}

static uint16_t fw_download(const void *image, uint32_t len, uint32_t offset)
{
	return admin(nvme_admin_fw_download, 0, len / 4 - 1, offset / 4, NR_XFER_TO_DEV,
		     (void *)image, len);
}

static uint16_t fw_commit(unsigned slot, unsigned ca)
{
	return admin(nvme_admin_fw_commit, 0, slot | ca << 3, 0, NR_XFER_NONE, NULL, 0);
}

static void expect_fr(const char *fr)
{
	struct nvme_id_ctrl id;

	cr_assert_eq(identify(NR_CNS_CTRL, 0, 0, &id), 0);
	cr_expect_arr_eq(id.fr, fr, 8, "fr %.8s", id.fr);
}

Test(sim, firmware_download_commit_reset)
{
	static uint8_t image[8192];
	struct nvme_firmware_slot log;

	memcpy(image, "NRFW2.0", 7);
	cr_assert_eq(fw_download(image + 4096, 4096, 4096), 0, "any order");
	cr_expect_eq(fw_download(image, 4096, 2048), ST(0, 0x02), "offset not a multiple of FWUG");
	cr_expect_eq(fw_download(image + 4096, 4096, 4096), ST(1, 0x14), "overlap");
	cr_expect_eq(fw_commit(1, 1), ST(1, 0x06), "slot 1 is read-only");
	cr_expect_eq(fw_commit(4, 1), ST(1, 0x06), "3 slots");
	cr_expect_eq(fw_commit(2, 1), ST(1, 0x07), "gap at the start");
	cr_assert_eq(fw_download(image, 4096, 0), 0);
	cr_assert_eq(fw_commit(2, 1), 0);
	cr_assert_eq(get_log(NR_LID_FW_SLOT, 0, 0, &log, sizeof(log)), 0);
	cr_expect_eq(log.afi, 0x21, "running 1, next 2");
	cr_expect_arr_eq(log.frs[1], "2.0     ", 8);
	expect_fr("1.0     ");
	cr_assert_eq(nr_sim_ctrl_reset(ctrl), 0);
	expect_fr("2.0     ");
	cr_assert_eq(get_log(NR_LID_FW_SLOT, 0, 0, &log, sizeof(log)), 0);
	cr_expect_eq(log.afi, 0x02);

	cr_expect_eq(fw_commit(2, 0), ST(1, 0x07), "the image went into slot 2");
	cr_expect_eq(fw_commit(3, 2), ST(1, 0x07), "slot 3 is empty");
	cr_assert_eq(fw_commit(1, 2), 0);
	cr_assert_eq(nr_sim_ctrl_reset(ctrl), 0);
	expect_fr("1.0     ");
}

Test(sim, firmware_activate_now_and_hash_revision)
{
	static uint8_t image[4096] = {1, 2, 3};
	struct nvme_firmware_slot log;
	struct nvme_id_ctrl id;

	cr_assert_eq(fw_download(image, sizeof(image), 0), 0);
	cr_assert_eq(fw_commit(0, 3), 0, "controller picks slot 2");
	cr_assert_eq(identify(NR_CNS_CTRL, 0, 0, &id), 0);
	cr_expect_eq(id.fr[0], 'F');
	cr_assert_eq(get_log(NR_LID_FW_SLOT, 0, 0, &log, sizeof(log)), 0);
	cr_expect_eq(log.afi, 0x02);
	cr_expect_arr_eq(log.frs[1], id.fr, 8);
	cr_expect_eq(fw_commit(0, 6), ST(0, 0x02), "boot partitions");
}

Test(sim, telemetry_generations)
{
	static uint8_t a[4096], b[4096];
	struct nvme_telemetry_log *head = (void *)a;
	struct nr_cmd cmd;

	cr_assert_eq(get_log(0x07, 0, 0, a, 512), 0);
	cr_expect_eq(head->lpi, 0x07);
	cr_expect_eq(le16toh(head->dalb1), 8);
	cr_expect_eq(le16toh(head->dalb3), 24);
	cr_expect_eq(head->hostdgn, 0);
	cr_expect_eq(head->ctrlavail, 1);
	nr_cmd_get_log(&cmd, 0x07, 0, 0, a, 512);
	cmd.sqe.cdw10 |= 1u << 8; /* create */
	cr_assert_eq(submit(&cmd), 0);
	cr_expect_eq(head->hostdgn, 1);
	cr_assert_eq(get_log(0x07, 0, 512, a, 4096), 0);
	cr_assert_eq(get_log(0x07, 0, 512, b, 4096), 0);
	cr_expect_arr_eq(a, b, 4096, "deterministic");
	cr_assert_eq(submit(&cmd), 0);
	cr_assert_eq(get_log(0x07, 0, 512, b, 4096), 0);
	cr_expect_neq(memcmp(a, b, 4096), 0, "a new generation");
	cr_expect_eq(get_log(0x07, 0, 256, a, 512), ST(0, 0x02), "512-byte aligned offsets");
	cr_expect_eq(get_log(0x07, 0, 25 * 512, a, 512), ST(0, 0x02), "past the data");
	cr_assert_eq(get_log(0x08, 0, 0, a, 512), 0);
	cr_expect_eq(head->lpi, 0x08);
	cr_expect_eq(head->ctrldgn, 1);
}

Test(sim, persistent_event_log)
{
	static uint8_t buf[8192];
	struct nvme_persistent_event_log *head = (void *)buf;
	struct nvme_persistent_event_entry ev;
	struct nr_cmd cmd;
	size_t at = 512;

	cr_expect_eq(get_log(0x0d, 0, 0, buf, 512), ST(0, 0x0c), "no context");
	cr_assert_eq(admin(nvme_admin_format_nvm, 1, 1, 0, NR_XFER_NONE, NULL, 0), 0);
	nr_cmd_get_log(&cmd, 0x0d, 0, 0, buf, sizeof(buf));
	cmd.sqe.cdw10 |= 1u << 8; /* establish context and read */
	cr_assert_eq(submit(&cmd), 0);
	cr_expect_eq(head->lid, 0x0d);
	cr_expect_eq(le32toh(head->tnev), 3, "power-on, format start, format completion");
	cr_expect_arr_eq(head->sn, "A                   ", 20);
	memcpy(&ev, buf + at, sizeof(ev));
	cr_expect_eq(ev.etype, NVME_PEL_POWER_ON_RESET_EVENT);
	cr_expect_eq(ev.ehl, 21);
	at += ev.ehl + 3 + le16toh(ev.el);
	memcpy(&ev, buf + at, sizeof(ev));
	cr_expect_eq(ev.etype, NVME_PEL_FORMAT_START_EVENT);
	at += ev.ehl + 3 + le16toh(ev.el);
	memcpy(&ev, buf + at, sizeof(ev));
	cr_expect_eq(ev.etype, NVME_PEL_FORMAT_COMPLETION_EVENT);
	at += ev.ehl + 3 + le16toh(ev.el);
	cr_expect_eq(le64toh(head->tll), at);

	cr_assert_eq(admin(nvme_admin_format_nvm, 1, 0, 0, NR_XFER_NONE, NULL, 0), 0);
	cr_assert_eq(get_log(0x0d, 0, 0, buf, 512), 0);
	cr_expect_eq(le32toh(head->tnev), 3, "the context is a snapshot");
	nr_cmd_get_log(&cmd, 0x0d, 0, 0, buf, 512);
	cmd.sqe.cdw10 |= 2u << 8; /* release */
	cr_assert_eq(submit(&cmd), 0);
	cr_expect_eq(get_log(0x0d, 0, 0, buf, 512), ST(0, 0x0c));
}

static uint16_t append(uint32_t nsid, uint64_t zslba, uint32_t nlb, uint64_t *lba)
{
	static uint8_t data[512 * 64];
	struct nr_cmd cmd = {0};
	uint16_t status;

	cmd.sqe.opcode = nvme_zns_cmd_append;
	cmd.sqe.nsid = nsid;
	cmd.sqe.cdw10 = (uint32_t)zslba;
	cmd.sqe.cdw11 = (uint32_t)(zslba >> 32);
	cmd.sqe.cdw12 = nlb - 1;
	cmd.queue = NR_QUEUE_IO;
	cmd.xfer = NR_XFER_TO_DEV;
	cmd.data = data;
	cmd.data_len = nlb * 512;
	status = submit(&cmd);
	*lba = (uint64_t)cmd.result_hi << 32 | cmd.result;
	return status;
}

Test(sim, zone_append)
{
	struct nvme_smart_log smart;
	uint64_t lba = 0;

	cr_assert_eq(append(2, 64, 8, &lba), 0);
	cr_expect_eq(lba, 64);
	cr_expect_eq(zone_state(2, 1, 64), NR_ZS_IMPL_OPEN);
	cr_assert_eq(append(2, 64, 16, &lba), 0);
	cr_expect_eq(lba, 72);
	cr_expect_eq(le64toh(zone_desc(2, 1, 64).wp), 88);
	cr_expect_eq(append(2, 64, 41, &lba), ST(1, 0xb8), "past the zone capacity");
	cr_assert_eq(append(2, 64, 40, &lba), 0);
	cr_expect_eq(zone_state(2, 1, 64), NR_ZS_FULL);
	cr_expect_eq(append(2, 64, 1, &lba), ST(1, 0xb9));
	cr_expect_eq(append(2, 65, 1, &lba), ST(0, 0x02), "not a zone start");
	cr_expect_eq(append(2, 8 * 64, 1, &lba), ST(0, 0x80));
	cr_expect_eq(append(1, 0, 1, &lba), ST(0, 0x01), "conventional");

	/* max_open 2: a third implicit open closes an implicitly open zone. */
	cr_assert_eq(append(2, 0, 1, &lba), 0);
	cr_assert_eq(append(2, 128, 1, &lba), 0);
	cr_assert_eq(append(2, 192, 1, &lba), 0);
	cr_expect_eq(count_zones(2, NR_ZRASF_IMPL_OPEN), 2);
	cr_expect_eq(count_zones(2, NR_ZRASF_CLOSED), 1);
	cr_assert_eq(get_log(NR_LID_SMART, 0, 0, &smart, sizeof(smart)), 0);
	cr_expect_eq(smart.host_writes[0], 6);
	cr_expect_eq(smart.data_units_written[0], 1, "67 blocks round up to one unit");
}

Test(sim, flush)
{
	struct nr_cmd cmd = {0};

	cmd.sqe.opcode = nvme_cmd_flush;
	cmd.sqe.nsid = 1;
	cmd.queue = NR_QUEUE_IO;
	cr_expect_eq(submit(&cmd), 0);
	cmd.sqe.nsid = 0xffffffffu;
	cr_expect_eq(submit(&cmd), 0);
	cmd.sqe.nsid = 7;
	cr_expect_eq(submit(&cmd), ST(0, 0x0b));
}
