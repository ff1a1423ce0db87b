/* SPDX-License-Identifier: MIT */
/* Unit tests for src/nvme/nvme_cmd.c: SQE builders and status names. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "nvme/nvme_cmd.h"

Test(nvme_cmd, identify_fills_cns_cntid_csi_and_buffer, .timeout = 30)
{
	struct nr_cmd cmd;
	uint8_t buf[4096];

	memset(&cmd, 0xa5, sizeof(cmd));
	nr_cmd_identify(&cmd, NR_CNS_CSI_NS, NR_CSI_ZNS, 7, 0x1234, buf, sizeof(buf));
	cr_expect_eq(cmd.sqe.opcode, 0x06);
	cr_expect_eq(cmd.sqe.nsid, 7);
	cr_expect_eq(cmd.sqe.cdw10, 0x12340005u);
	cr_expect_eq(cmd.sqe.cdw11, 0x02000000u);
	cr_expect_eq(cmd.sqe.cdw12, 0);
	cr_expect_eq(cmd.sqe.flags, 0);
	cr_expect_eq(cmd.sqe.cid, 0);
	cr_expect_eq(cmd.queue, NR_QUEUE_ADMIN);
	cr_expect_eq(cmd.xfer, NR_XFER_FROM_DEV);
	cr_expect_eq(cmd.data, buf);
	cr_expect_eq(cmd.data_len, 4096);
	cr_expect_eq(cmd.status, 0);
	cr_expect_eq(cmd.result, 0);
}

Test(nvme_cmd, get_log_splits_numd_and_offset, .timeout = 30)
{
	struct nr_cmd cmd;
	static uint8_t buf[0x40004];

	nr_cmd_get_log(&cmd, NR_LID_SMART, 0xffffffffu, 0x0000000500000200ull, buf, sizeof(buf));
	cr_expect_eq(cmd.sqe.opcode, 0x02);
	cr_expect_eq(cmd.sqe.nsid, 0xffffffffu);
	/* 0x40004 bytes = 0x10001 dwords, NUMD 0x10000: NUMDL 0, NUMDU 1. */
	cr_expect_eq(cmd.sqe.cdw10, 0x00000002u);
	cr_expect_eq(cmd.sqe.cdw11, 0x00000001u);
	cr_expect_eq(cmd.sqe.cdw12, 0x00000200u);
	cr_expect_eq(cmd.sqe.cdw13, 0x00000005u);
	cr_expect_eq(cmd.queue, NR_QUEUE_ADMIN);
	cr_expect_eq(cmd.xfer, NR_XFER_FROM_DEV);

	nr_cmd_get_log(&cmd, NR_LID_FW_SLOT, 0, 0, buf, 512);
	cr_expect_eq(cmd.sqe.cdw10, 0x007f0003u);
	cr_expect_eq(cmd.sqe.cdw11, 0);
}

Test(nvme_cmd, zone_report_packs_cdw13, .timeout = 30)
{
	struct nr_cmd cmd;
	uint8_t buf[64 + 64 * 4];

	nr_cmd_zone_report(&cmd, 2, 0x123456789aull, NR_ZRASF_CLOSED, true, false, buf,
			   sizeof(buf));
	cr_expect_eq(cmd.sqe.opcode, 0x7a);
	cr_expect_eq(cmd.queue, NR_QUEUE_IO);
	cr_expect_eq(cmd.sqe.nsid, 2);
	cr_expect_eq(cmd.sqe.cdw10, 0x3456789au);
	cr_expect_eq(cmd.sqe.cdw11, 0x12u);
	cr_expect_eq(cmd.sqe.cdw12, sizeof(buf) / 4 - 1);
	cr_expect_eq(cmd.sqe.cdw13, 0x00010400u);

	nr_cmd_zone_report(&cmd, 2, 0, NR_ZRASF_ALL, false, true, buf, sizeof(buf));
	cr_expect_eq(cmd.sqe.cdw13, 0x00000001u);
}

Test(nvme_cmd, zone_send_packs_action_and_select_all, .timeout = 30)
{
	struct nr_cmd cmd;

	nr_cmd_zone_send(&cmd, 2, 4096, NR_ZSA_RESET, true);
	cr_expect_eq(cmd.sqe.opcode, 0x79);
	cr_expect_eq(cmd.queue, NR_QUEUE_IO);
	cr_expect_eq(cmd.xfer, NR_XFER_NONE);
	cr_expect_null(cmd.data);
	cr_expect_eq(cmd.data_len, 0);
	cr_expect_eq(cmd.sqe.cdw10, 4096);
	cr_expect_eq(cmd.sqe.cdw11, 0);
	cr_expect_eq(cmd.sqe.cdw13, 0x104u);

	nr_cmd_zone_send(&cmd, 2, 1ull << 32, NR_ZSA_OPEN, false);
	cr_expect_eq(cmd.sqe.cdw10, 0);
	cr_expect_eq(cmd.sqe.cdw11, 1);
	cr_expect_eq(cmd.sqe.cdw13, 0x003u);
}

Test(nvme_cmd, zone_set_ext_sends_the_extension, .timeout = 30)
{
	struct nr_cmd cmd;
	uint8_t ext[128];

	nr_cmd_zone_set_ext(&cmd, 2, (1ull << 32) | 64, ext, sizeof(ext));
	cr_expect_eq(cmd.sqe.opcode, 0x79);
	cr_expect_eq(cmd.queue, NR_QUEUE_IO);
	cr_expect_eq(cmd.xfer, NR_XFER_TO_DEV);
	cr_expect_eq(cmd.data, ext);
	cr_expect_eq(cmd.data_len, sizeof(ext));
	cr_expect_eq(cmd.sqe.cdw10, 64);
	cr_expect_eq(cmd.sqe.cdw11, 1);
	cr_expect_eq(cmd.sqe.cdw12, 0, "Zone Management Send has no NUMD");
	cr_expect_eq(cmd.sqe.cdw13, 0x010u, "ZSA 10h, Select All clear");
}

Test(nvme_cmd, status_macros_decode_fields, .timeout = 30)
{
	uint16_t status = NR_STATUS(1, 0xbe) | 0x4000 | 0x2000 | 0x0800;

	cr_expect_eq(NR_STATUS_SC(status), 0xbe);
	cr_expect_eq(NR_STATUS_SCT(status), 1);
	cr_expect_eq(NR_STATUS_CRD(status), 1);
	cr_expect_eq(NR_STATUS_MORE(status), 1);
	cr_expect_eq(NR_STATUS_DNR(status), 1);
}

/* Parameters are copied into a re-executed test process: no pointers. */
struct status_vec {
	uint16_t status;
	char name[64];
};

ParameterizedTestParameters(nvme_cmd, status_name)
{
	static struct status_vec vecs[] = {
	    {0x0000, "Successful Completion"},
	    {0x0001, "Invalid Command Opcode"},
	    {0x4001, "Invalid Command Opcode"}, /* DNR does not change the name */
	    {0x0002, "Invalid Field in Command"},
	    {0x000b, "Invalid Namespace or Format"},
	    {0x0080, "LBA Out of Range"},
	    {0x0109, "Invalid Log Page"},
	    {0x01b8, "Zone Boundary Error"},
	    {0x01b9, "Zone Is Full"},
	    {0x01ba, "Zone Is Read Only"},
	    {0x01bb, "Zone Is Offline"},
	    {0x01bc, "Zone Invalid Write"},
	    {0x01bd, "Too Many Active Zones"},
	    {0x41be, "Too Many Open Zones"},
	    {0x01bf, "Invalid Zone State Transition"},
	    {0x0281, "Unrecovered Read Error"},
	    {0x0302, "Asymmetric Access Inaccessible"},
	    {0x00ff, "Unknown Generic Command Status"},
	    {0x01ff, "Unknown Command Specific Status"},
	    {0x0400, "Reserved Status Code Type"},
	    {0x0712, "Vendor Specific Status"},
	};
	return cr_make_param_array(struct status_vec, vecs, sizeof(vecs) / sizeof(vecs[0]));
}

ParameterizedTest(struct status_vec *vec, nvme_cmd, status_name, .timeout = 30)
{
	cr_expect_str_eq(nr_status_name(vec->status), vec->name, "status 0x%04x", vec->status);
}

Test(nvme_cmd, status_name_never_null, .timeout = 30)
{
	for (uint32_t status = 0; status <= 0xffff; status++)
		cr_assert_not_null(nr_status_name((uint16_t)status));
}
