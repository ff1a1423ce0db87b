/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the simulator's management commands: Get / Set Features,
 * Namespace Management and Attachment, Format NVM, and the log pages they
 * feed (Error Information, Changed Namespace List, Commands Supported and
 * Effects).
 */
#include "test_sim_util.h"

#define SV (1u << 31)
#define SEL(s) ((uint32_t)(s) << 8)

TestSuite(sim, .init = setup_default, .fini = teardown, .timeout = 30);

static uint16_t get_feat(uint8_t fid, uint32_t sel, uint32_t nsid, uint32_t cdw11, uint32_t *result,
			 void *buf, uint32_t len)
{
	struct nr_cmd cmd;
	uint16_t status = admin_res(&cmd, nvme_admin_get_features, nsid, fid | SEL(sel), cdw11,
				    NR_XFER_FROM_DEV, buf, len);

	*result = cmd.result;
	return status;
}

static uint16_t set_feat(uint8_t fid, bool save, uint32_t nsid, uint32_t cdw11, void *buf,
			 uint32_t len)
{
	return admin(nvme_admin_set_features, nsid, fid | (save ? SV : 0), cdw11, NR_XFER_TO_DEV,
		     buf, len);
}

static uint32_t feat_value(uint8_t fid, uint32_t sel)
{
	uint32_t v = 0;

	cr_assert_eq(get_feat(fid, sel, 0, 0, &v, NULL, 0), 0, "fid 0x%x sel %u", fid, sel);
	return v;
}

struct cap_vec {
	uint8_t fid;
	uint32_t caps; /* SEL 3: bit 0 saveable, 1 namespace specific, 2 changeable */
	uint32_t nsid;
};

ParameterizedTestParameters(sim, feature_capabilities)
{
	static struct cap_vec vecs[] = {
	    {0x01, 5, 0}, {0x02, 5, 0}, {0x03, 6, 1}, {0x04, 5, 0}, {0x05, 7, 1}, {0x06, 5, 0},
	    {0x07, 4, 0}, {0x08, 5, 0}, {0x09, 4, 0}, {0x0a, 5, 0}, {0x0b, 5, 0}, {0x0c, 5, 0},
	    {0x0d, 4, 0}, {0x0e, 4, 0}, {0x0f, 4, 0}, {0x10, 5, 0}, {0x11, 5, 0}, {0x12, 5, 0},
	    {0x13, 5, 0}, {0x14, 4, 0}, {0x16, 4, 0}, {0x17, 5, 0}, {0x18, 5, 0}, {0x19, 4, 0},
	    {0x1a, 5, 0}, {0x84, 6, 1},
	};
	return cr_make_param_array(struct cap_vec, vecs, sizeof(vecs) / sizeof(vecs[0]));
}

ParameterizedTest(struct cap_vec *vec, sim, feature_capabilities)
{
	uint32_t caps = 0;

	cr_expect_eq(get_feat(vec->fid, 3, vec->nsid, 0, &caps, NULL, 0), 0);
	cr_expect_eq(caps, vec->caps, "fid 0x%x", vec->fid);
}

ParameterizedTestParameters(sim, unsupported_features)
{
	static uint8_t fids[] = {0x00, 0x15, 0x1b, 0x1d, 0x7d, 0x7e, 0x80, 0x81, 0x83, 0xc0, 0xff};

	return cr_make_param_array(uint8_t, fids, sizeof(fids));
}

ParameterizedTest(uint8_t *fid, sim, unsupported_features)
{
	uint32_t v;

	cr_expect_eq(get_feat(*fid, 0, 0, 0, &v, NULL, 0), ST(0, 0x02), "fid 0x%x", *fid);
	cr_expect_eq(set_feat(*fid, false, 0, 0, NULL, 0), ST(0, 0x02));
}

Test(sim, feature_defaults)
{
	cr_expect_eq(feat_value(0x06, 0), 1, "write cache on");
	cr_expect_eq(feat_value(0x07, 0), 0x003f003f, "64 + 64 queues");
	cr_expect_eq(feat_value(0x14, 0), 2, "non-deterministic window");
	cr_expect_eq(feat_value(0x01, 1), 0);
}

Test(sim, feature_saved_vs_current_across_reset)
{
	cr_assert_eq(set_feat(0x08, true, 0, 0x0a05, NULL, 0), 0);	 /* saved and current */
	cr_assert_eq(set_feat(0x08, false, 0, 0x0b06, NULL, 0), 0);	 /* current only */
	cr_assert_eq(set_feat(0x06, false, 0xffffffffu, 0, NULL, 0), 0); /* cache off */
	cr_expect_eq(feat_value(0x08, 0), 0x0b06);
	cr_expect_eq(feat_value(0x08, 2), 0x0a05);
	cr_expect_eq(feat_value(0x08, 1), 0);
	cr_expect_eq(feat_value(0x06, 0), 0);
	cr_expect_eq(feat_value(0x06, 2), 1, "never saved: the default");

	cr_assert_eq(nr_sim_ctrl_reset(ctrl), 0);
	cr_expect_eq(feat_value(0x08, 0), 0x0a05, "current := saved");
	cr_expect_eq(feat_value(0x06, 0), 1);
	cr_expect_eq(nr_sim_ctrl_reset(NULL), -EINVAL);
}

struct set_vec {
	uint8_t fid;
	bool save;
	uint32_t nsid;
	uint32_t cdw11;
	uint16_t status;
};

ParameterizedTestParameters(sim, set_feature_statuses)
{
	static struct set_vec vecs[] = {
	    {0x02, false, 0, 0x02, 0},		      /* PS2 exists */
	    {0x02, false, 0, 0x03, ST(0, 0x02)},      /* PS3 does not */
	    {0x07, true, 0, 0x00010001, ST(1, 0x0d)}, /* not saveable */
	    {0x07, false, 0, 0xffff, ST(0, 0x02)},
	    {0x01, false, 1, 0, ST(1, 0x0f)},	     /* not namespace specific */
	    {0x05, false, 0, 0, ST(0, 0x0b)},	     /* namespace specific, NSID 0 */
	    {0x05, false, 9, 0, ST(0, 0x0b)},	     /* inactive */
	    {0x05, false, 1, 1u << 16, ST(0, 0x02)}, /* DULBE unsupported */
	    {0x05, true, 0xffffffffu, 7, 0},
	    {0x10, false, 0, (320u << 16) | 340u, 0},
	    {0x10, false, 0, (340u << 16) | 320u, ST(0, 0x02)}, /* TMT1 >= TMT2 */
	    {0x10, false, 0, 100u, ST(0, 0x02)},		/* below MNTMT */
	    {0x19, false, 0, 1, ST(1, 0x2b)},
	    {0x19, false, 0, 0, 0},
	    {0x04, false, 0, (3u << 20), ST(0, 0x02)}, /* THSEL reserved */
	    {0x04, false, 0, (5u << 16), ST(0, 0x02)}, /* sensor 5 absent */
	    {0x04, true, 0, (0xfu << 16) | 350u, 0},   /* all sensors */
	    {0x09, false, 0, 64, ST(0, 0x02)},
	    {0x09, false, 0, (1u << 16) | 3, 0},
	    {0x84, false, 1, 4, ST(0, 0x02)},
	    {0x84, true, 1, 1, ST(1, 0x0d)},
	    {0x14, false, 0, 0, ST(0, 0x02)}, /* WS (CDW12) 0 is reserved */
	    {0x12, false, 0, 2, ST(0, 0x02)}, /* NVM set 2 does not exist */
	    {0x18, false, 0, 2u | (0x5u << 16), ST(0, 0x02)},
	    {0x18, true, 0, 1u | (0x5u << 16), 0},
	};
	return cr_make_param_array(struct set_vec, vecs, sizeof(vecs) / sizeof(vecs[0]));
}

ParameterizedTest(struct set_vec *vec, sim, set_feature_statuses)
{
	cr_expect_eq(set_feat(vec->fid, vec->save, vec->nsid, vec->cdw11, NULL, 0), vec->status,
		     "fid 0x%x cdw11 0x%x", vec->fid, vec->cdw11);
}

Test(sim, number_of_queues_allocated)
{
	struct nr_cmd cmd;

	cr_assert_eq(
	    admin_res(&cmd, nvme_admin_set_features, 0, 0x07, 0x00030100, NR_XFER_NONE, NULL, 0),
	    0);
	cr_expect_eq(cmd.result, 0x0003003f, "256 submission queues asked, 64 allocated");
	cr_expect_eq(feat_value(0x07, 0), 0x0003003f);
	cr_expect_eq(feat_value(0x07, 2), 0x003f003f, "saved is the default");
}

Test(sim, temperature_threshold_warning)
{
	struct nvme_smart_log log;
	uint32_t v;

	cr_expect_eq(get_feat(0x04, 0, 0, 0, &v, NULL, 0), 0);
	cr_expect_eq(v & 0xffff, 343);
	cr_expect_eq(get_feat(0x04, 0, 0, 1u << 16, &v, NULL, 0), 0);
	cr_expect_eq(v & 0xffff, 0xffff);
	cr_expect_eq(get_feat(0x04, 0, 0, 1u << 20, &v, NULL, 0), 0);
	cr_expect_eq(v & 0xffff, 0, "under threshold");
	cr_expect_eq(get_feat(0x04, 0, 0, 0xfu << 16, &v, NULL, 0), ST(0, 0x02), "Fh only on set");

	cr_assert_eq(get_log(NR_LID_SMART, 0, 0, &log, sizeof(log)), 0);
	cr_expect_eq(log.critical_warning, 0);
	cr_assert_eq(set_feat(0x04, false, 0, 300, NULL, 0), 0); /* over at 300 K */
	cr_assert_eq(get_log(NR_LID_SMART, 0, 0, &log, sizeof(log)), 0);
	cr_expect_eq(log.critical_warning, NVME_SMART_CRIT_TEMPERATURE);
	cr_assert_eq(nr_sim_ctrl_reset(ctrl), 0);
	cr_assert_eq(get_log(NR_LID_SMART, 0, 0, &log, sizeof(log)), 0);
	cr_expect_eq(log.critical_warning, 0, "not saved");
}

Test(sim, timestamp_counts_up)
{
	uint8_t ts[8] = {0x10, 0x27}, out[8]; /* 10000 ms */
	uint32_t v;
	uint64_t ms = 0;

	cr_assert_eq(set_feat(0x0e, false, 0, 0, ts, sizeof(ts)), 0);
	sleep_ms(20);
	cr_assert_eq(get_feat(0x0e, 0, 0, 0, &v, out, sizeof(out)), 0);
	memcpy(&ms, out, 6);
	cr_expect_geq(le64toh(ms), 10020);
	cr_expect_lt(le64toh(ms), 10020 + 60000);
	cr_expect_eq(out[6], 1 << 1, "origin: set by the host");
	cr_assert_eq(nr_sim_ctrl_reset(ctrl), 0);
	cr_assert_eq(get_feat(0x0e, 0, 0, 0, &v, out, sizeof(out)), 0);
	cr_expect_eq(out[6], 0, "origin: since reset");
}

Test(sim, data_features_round_trip)
{
	uint8_t apst[256] = {0}, out[4096], hb[512] = {1}, plm[512] = {0x3};
	uint64_t entry = htole64(50u << 8 | 2u << 3); /* idle 50 ms -> PS2 */
	uint32_t v;

	memcpy(apst, &entry, 8);
	cr_assert_eq(set_feat(0x0c, true, 0, 1, apst, sizeof(apst)), 0);
	cr_assert_eq(get_feat(0x0c, 2, 0, 0, &v, out, 256), 0);
	cr_expect_arr_eq(out, apst, 256);
	cr_expect_eq(v, 1, "APSTE saved");
	entry = htole64(50u << 8 | 1u << 3); /* PS1 is operational */
	memcpy(apst, &entry, 8);
	cr_expect_eq(set_feat(0x0c, false, 0, 1, apst, sizeof(apst)), ST(0, 0x02));

	cr_assert_eq(set_feat(0x16, false, 0, 0, hb, sizeof(hb)), 0);
	cr_assert_eq(get_feat(0x16, 0, 0, 0, &v, out, 512), 0);
	cr_expect_eq(out[0], 1, "ACRE");
	hb[0] = 2;
	cr_expect_eq(set_feat(0x16, false, 0, 0, hb, sizeof(hb)), ST(0, 0x02));

	cr_expect_eq(admin(nvme_admin_set_features, 0, 0x14, 0, NR_XFER_NONE, NULL, 0),
		     ST(0, 0x02));
	cr_assert_eq(set_feat(0x13, false, 0, 0, plm, sizeof(plm)), 0);
	cr_assert_eq(get_feat(0x13, 0, 0, 0, &v, out, 512), 0);
	cr_expect_eq(out[0], 3);
	cr_expect_eq(v, 0, "LPE off");
}

Test(sim, data_feature_without_buffer_is_einval)
{
	struct nr_cmd cmd = {0};

	cmd.sqe.opcode = nvme_admin_get_features;
	cmd.sqe.cdw10 = 0x0c;
	cmd.queue = NR_QUEUE_ADMIN;
	cr_expect_eq(nr_sim_submit(ctrl, &cmd), -EINVAL);
}

Test(sim, namespace_specific_features)
{
	uint8_t lbart[4096] = {0}, out[4096];
	uint32_t v;

	cr_assert_eq(get_feat(0x03, 0, 1, 0, &v, out, sizeof(out)), 0);
	cr_expect_eq(v, 0, "one range");
	cr_expect_eq(le64toh(((struct nvme_lba_range_type *)out)->entry[0].nlb), 2097151);
	lbart[0] = 2; /* filesystem */
	lbart[64] = 3;
	cr_assert_eq(set_feat(0x03, false, 1, 1, lbart, sizeof(lbart)), 0);
	cr_assert_eq(get_feat(0x03, 0, 1, 0, &v, out, sizeof(out)), 0);
	cr_expect_eq(v, 1);
	cr_expect_eq(out[64], 3);

	cr_assert_eq(set_feat(0x05, true, 1, 30, NULL, 0), 0);
	cr_expect_eq(get_feat(0x05, 2, 1, 0, &v, NULL, 0), 0);
	cr_expect_eq(v, 30);
	cr_expect_eq(get_feat(0x05, 0, 2, 0, &v, NULL, 0), 0);
	cr_expect_eq(v, 0, "namespace 2 untouched");
}

Test(sim, write_protection)
{
	uint32_t v;
	struct nvme_id_ns id;

	cr_assert_eq(set_feat(0x84, false, 2, 1, NULL, 0), 0);
	cr_expect_eq(get_feat(0x84, 0, 2, 0, &v, NULL, 0), 0);
	cr_expect_eq(v, 1);
	cr_assert_eq(identify(NR_CNS_NS, 0, 2, &id), 0);
	cr_expect_eq(id.nsattr, 1);
	cr_expect_eq(zsend(2, 0, NR_ZSA_RESET, false), ST(0, 0x20));
	cr_expect_eq(admin(nvme_admin_format_nvm, 2, 0, 0, NR_XFER_NONE, NULL, 0), ST(0, 0x20));
	cr_assert_eq(set_feat(0x84, false, 2, 0, NULL, 0), 0);
	cr_expect_eq(zsend(2, 0, NR_ZSA_RESET, false), 0);
	cr_assert_eq(set_feat(0x84, false, 2, 3, NULL, 0), 0);
	cr_expect_eq(set_feat(0x84, false, 2, 0, NULL, 0), ST(0, 0x02), "permanent");
}

static uint16_t ns_create(uint64_t nsze, uint8_t flbas, uint8_t nmic, uint32_t *nsid)
{
	struct nvme_id_ns id = {0};
	struct nr_cmd cmd;
	uint16_t status;

	id.nsze = id.ncap = htole64(nsze);
	id.flbas = flbas;
	id.nmic = nmic;
	status = admin_res(&cmd, nvme_admin_ns_mgmt, 0, 0, 0, NR_XFER_TO_DEV, &id, sizeof(id));
	*nsid = cmd.result;
	return status;
}

static uint16_t ns_attach(uint32_t nsid, bool detach, const uint16_t *ids, unsigned n)
{
	struct nvme_ctrl_list list = {0};

	list.num = htole16((uint16_t)n);
	for (unsigned i = 0; i < n; i++)
		list.identifier[i] = htole16(ids[i]);
	return admin(nvme_admin_ns_attach, nsid, detach, 0, NR_XFER_TO_DEV, &list, sizeof(list));
}

static uint32_t first_list_entry(uint8_t cns, uint32_t nsid)
{
	uint32_t list[1024];

	cr_assert_eq(identify(cns, 0, nsid, list), 0);
	return le32toh(list[0]);
}

Test(sim, namespace_lifecycle)
{
	static const uint16_t me = 1;
	uint32_t nsid = 0, changed[1024];
	struct nvme_id_ctrl idc;
	struct nvme_id_ns id;
	uint16_t ctrls[2048];

	cr_assert_eq(ns_create(262144, 1, 0, &nsid), 0); /* 1 GiB of 4 KiB */
	cr_expect_eq(nsid, 3, "lowest free NSID");
	cr_expect_eq(first_list_entry(0x10, 2), 3, "allocated");
	cr_expect_eq(first_list_entry(NR_CNS_NS_ACTIVE_LIST, 2), 0, "not active");
	cr_assert_eq(identify(0x11, 0, 3, &id), 0);
	cr_expect_eq(le64toh(id.nsze), 262144);
	cr_expect_eq(id.flbas, 1);
	cr_assert_eq(identify(NR_CNS_NS, 0, 3, &id), 0);
	cr_expect_eq(id.nsze, 0, "inactive: zeroes");
	cr_assert_eq(identify(NR_CNS_CTRL, 0, 0, &idc), 0);
	cr_expect_eq(idc.unvmcap[3], 0x80, "2 GiB left");

	cr_assert_eq(ns_attach(3, false, &me, 1), 0);
	cr_expect_eq(ns_attach(3, false, &me, 1), ST(1, 0x18));
	cr_expect_eq(first_list_entry(NR_CNS_NS_ACTIVE_LIST, 2), 3);
	cr_assert_eq(identify(0x12, 0, 3, ctrls), 0);
	cr_expect_eq(le16toh(ctrls[0]), 1);
	cr_expect_eq(le16toh(ctrls[1]), 1);
	cr_assert_eq(get_log(0x04, 0, 0, changed, sizeof(changed)), 0);
	cr_expect_eq(le32toh(changed[0]), 3);
	cr_expect_eq(changed[1], 0);
	cr_assert_eq(get_log(0x04, 0, 0, changed, sizeof(changed)), 0);
	cr_expect_eq(changed[0], 0, "cleared by the read");

	cr_assert_eq(ns_attach(3, true, &me, 1), 0);
	cr_expect_eq(ns_attach(3, true, &me, 1), ST(1, 0x1a));
	cr_assert_eq(admin(nvme_admin_ns_mgmt, 3, 1, 0, NR_XFER_NONE, NULL, 0), 0);
	cr_expect_eq(first_list_entry(0x10, 2), 0);
	cr_expect_eq(admin(nvme_admin_ns_mgmt, 3, 1, 0, NR_XFER_NONE, NULL, 0), ST(0, 0x0b));
}

Test(sim, namespace_create_errors)
{
	uint32_t nsid;
	struct nvme_id_ns id = {0};
	static const uint16_t bad = 9, two[2] = {1, 1};

	cr_expect_eq(ns_create(1ull << 40, 0, 0, &nsid), ST(1, 0x15), "beyond capacity");
	cr_expect_eq(ns_create(8, 2, 0, &nsid), ST(1, 0x0a), "format 2");
	cr_expect_eq(ns_create(0, 0, 0, &nsid), ST(0, 0x02));
	cr_expect_eq(ns_create(8, 0, 1, &nsid), ST(0, 0x02), "shared in a 1-controller subsystem");
	id.nsze = htole64(16);
	id.ncap = htole64(8);
	cr_expect_eq(admin(nvme_admin_ns_mgmt, 0, 0, 0, NR_XFER_TO_DEV, &id, sizeof(id)),
		     ST(1, 0x1b), "thin provisioning");
	cr_expect_eq(admin(nvme_admin_ns_mgmt, 0, 0, 2u << 24, NR_XFER_TO_DEV, &id, sizeof(id)),
		     ST(0, 0x02), "zoned creation is not supported");
	cr_expect_eq(admin(nvme_admin_ns_mgmt, 0, 5, 0, NR_XFER_NONE, NULL, 0), ST(0, 0x02));
	cr_expect_eq(ns_attach(1, false, &bad, 1), ST(1, 0x1c));
	cr_expect_eq(ns_attach(1, true, two, 2), ST(1, 0x1c), "repeated controller");
	cr_expect_eq(ns_attach(1, false, &bad, 0), ST(1, 0x1c), "empty list");
	cr_expect_eq(ns_attach(7, false, two, 1), ST(0, 0x0b), "not allocated");
	for (uint32_t i = 3; i <= 32; i++)
		cr_assert_eq(ns_create(8, 0, 0, &nsid), 0, "nsid %u", i);
	cr_expect_eq(ns_create(8, 0, 0, &nsid), ST(1, 0x16), "all 32 NSIDs used");
	cr_assert_eq(admin(nvme_admin_ns_mgmt, 0xffffffffu, 1, 0, NR_XFER_NONE, NULL, 0), 0);
	cr_expect_eq(first_list_entry(0x10, 0), 0, "all deleted");
	cr_expect_eq(first_list_entry(NR_CNS_NS_ACTIVE_LIST, 0), 0);
}

static const char two_ctrls[] =
    "{\"subsystems\":[{\"nqn\":\"nqn.x\",\"capacity\":1048576,\"controllers\":[{\"sn\":\"A\","
    "\"cntlid\":4},{\"sn\":\"B\",\"cntlid\":2}],\"namespaces\":[{\"nsid\":1,\"blocks\":8}]}]}";

Test(sim, attach_shared_and_private)
{
	static const uint16_t both[2] = {2, 4}, one = 4;
	uint16_t list[2048];
	uint32_t nsid, changed[1024];
	char err[256];

	nr_sim_free(sim);
	cr_assert_eq(new_sim_json(two_ctrls, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(identify(0x13, 0, 0, list), 0);
	cr_expect_eq(le16toh(list[0]), 2);
	cr_expect_eq(le16toh(list[1]), 2, "ascending");
	cr_expect_eq(le16toh(list[2]), 4);
	cr_assert_eq(
	    admin(nvme_admin_identify, 0, 0x13 | 3u << 16, 0, NR_XFER_FROM_DEV, list, 4096), 0);
	cr_expect_eq(le16toh(list[0]), 1, "CNTID 3 and above");

	cr_assert_eq(ns_create(16, 0, 0, &nsid), 0);
	cr_expect_eq(ns_attach(nsid, false, both, 2), ST(1, 0x19), "private");
	cr_assert_eq(ns_create(16, 0, 1, &nsid), 0);
	cr_assert_eq(ns_attach(nsid, false, both, 2), 0);
	cr_assert_eq(ns_attach(nsid, true, &one, 1), 0);
	cr_assert_eq(get_log(0x04, 0, 0, changed, sizeof(changed)), 0);
	cr_expect_eq(le32toh(changed[0]), nsid, "controller 4 saw attach and detach once");
	cr_expect_eq(changed[1], 0);
	ctrl = nr_sim_ctrl_at(sim, 1);
	cr_expect_eq(first_list_entry(NR_CNS_NS_ACTIVE_LIST, 1), nsid);
	cr_expect_eq(ns_create(4096, 0, 0, &nsid), ST(1, 0x15));
}

Test(sim, format_changes_lba_size)
{
	struct nvme_id_ns id;
	uint32_t changed[1024];

	cr_assert_eq(admin(nvme_admin_format_nvm, 1, 1 | 1u << 9, 0, NR_XFER_NONE, NULL, 0), 0);
	cr_assert_eq(identify(NR_CNS_NS, 0, 1, &id), 0);
	cr_expect_eq(id.flbas, 1);
	cr_expect_eq(le64toh(id.nsze), 262144, "1 GiB of 4 KiB blocks");
	cr_assert_eq(get_log(0x04, 0, 0, changed, sizeof(changed)), 0);
	cr_expect_eq(le32toh(changed[0]), 1);
	cr_assert_eq(admin(nvme_admin_format_nvm, 1, 0, 0, NR_XFER_NONE, NULL, 0), 0);
	cr_assert_eq(identify(NR_CNS_NS, 0, 1, &id), 0);
	cr_expect_eq(le64toh(id.nsze), 2097152, "and back");

	cr_expect_eq(admin(nvme_admin_format_nvm, 1, 2, 0, NR_XFER_NONE, NULL, 0), ST(1, 0x0a));
	cr_expect_eq(admin(nvme_admin_format_nvm, 1, 1u << 5, 0, NR_XFER_NONE, NULL, 0),
		     ST(1, 0x0a), "no protection information without metadata");
	cr_expect_eq(admin(nvme_admin_format_nvm, 1, 3u << 9, 0, NR_XFER_NONE, NULL, 0),
		     ST(0, 0x02), "SES 3");
	cr_expect_eq(admin(nvme_admin_format_nvm, 9, 0, 0, NR_XFER_NONE, NULL, 0), ST(0, 0x0b));
	cr_expect_eq(admin(nvme_admin_format_nvm, 2, 1, 0, NR_XFER_NONE, NULL, 0), ST(1, 0x0a),
		     "a zoned namespace has one format");
}

Test(sim, format_resets_zones)
{
	cr_expect_eq(count_zones(2, NR_ZRASF_FULL), 1);
	cr_assert_eq(admin(nvme_admin_format_nvm, 0xffffffffu, 2u << 9, 0, NR_XFER_NONE, NULL, 0),
		     0);
	cr_expect_eq(count_zones(2, NR_ZRASF_EMPTY), NR_ZONES);
}

Test(sim, error_log_records_failures)
{
	struct nvme_error_log_page log[64];
	struct nvme_smart_log smart;
	struct nr_cmd cmd;
	uint8_t buf[4096];
	uint64_t count;

	nr_cmd_identify(&cmd, 0x7f, 0, 0, 0, buf, sizeof(buf));
	cmd.sqe.cid = 0x1234;
	cr_assert_eq(submit(&cmd), ST(0, 0x02));
	cr_assert_eq(zsend(2, 5, NR_ZSA_OPEN, false), ST(0, 0x02));
	cr_assert_eq(get_log(NR_LID_ERROR, 0, 0, log, sizeof(log)), 0);
	cr_expect_eq(le64toh(log[0].error_count), 2, "newest first");
	cr_expect_eq(le16toh(log[0].sqid), 1);
	cr_expect_eq(le32toh(log[0].nsid), 2);
	cr_expect_eq(le64toh(log[1].error_count), 1);
	cr_expect_eq(le16toh(log[1].sqid), 0);
	cr_expect_eq(le16toh(log[1].cmdid), 0x1234);
	cr_expect_eq(le16toh(log[1].status_field), (uint16_t)(ST(0, 0x02) << 1));
	cr_expect_eq(le16toh(log[1].parm_error_location), 40, "CNS is byte 40");
	cr_expect_eq(log[2].error_count, 0);
	cr_assert_eq(get_log(NR_LID_SMART, 0, 0, &smart, sizeof(smart)), 0);
	memcpy(&count, smart.num_err_log_entries, 8);
	cr_expect_eq(le64toh(count), 2);
}

Test(sim, effects_log)
{
	struct nvme_cmd_effects_log log;
	struct nr_cmd cmd;

	nr_cmd_get_log(&cmd, 0x05, 0, 0, &log, sizeof(log));
	cmd.sqe.cdw14 = (uint32_t)NR_CSI_ZNS << 24;
	cr_assert_eq(submit(&cmd), 0);
	cr_expect_eq(le32toh(log.acs[0x06]), 1);
	cr_expect_eq(le32toh(log.acs[0x0d]) & 0xf, 0xf, "ns management changes everything");
	cr_expect_eq(le32toh(log.acs[0x84]) >> 16, 2, "sanitize: no other command");
	cr_expect_eq(log.acs[0x0c], 0, "no AER");
	cr_expect_eq(le32toh(log.iocs[0x7d]), 3);
	cr_expect_eq(le32toh(log.iocs[0x7a]), 1);
	cr_expect_eq(log.iocs[0x01], 0, "no Write");
	nr_cmd_get_log(&cmd, 0x05, 0, 0, &log, sizeof(log));
	cr_assert_eq(submit(&cmd), 0);
	cr_expect_eq(le32toh(log.iocs[0x00]), 1, "NVM: Flush");
	cr_expect_eq(log.iocs[0x7d], 0);
	cmd.sqe.cdw14 = 5u << 24;
	cr_expect_eq(submit(&cmd), ST(0, 0x02));
}
