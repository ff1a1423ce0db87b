/* SPDX-License-Identifier: MIT */
/*
 * Command builders and status names for the NVMe command layer. Builders
 * only fill memory; they never fail and never touch a device.
 */
#include <string.h>

#include "nvme/nvme_cmd.h"

uint32_t nr_len_to_numd(uint32_t len)
{
	return len >= 4 ? len / 4 - 1 : 0;
}

void nr_cmd_init(struct nr_cmd *cmd, enum nr_queue queue, uint8_t opcode, uint32_t nsid,
		 enum nr_xfer xfer, void *buf, uint32_t len)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->queue = queue;
	cmd->sqe.opcode = opcode;
	cmd->sqe.nsid = nsid;
	cmd->xfer = buf && len ? xfer : NR_XFER_NONE;
	cmd->data = buf;
	cmd->data_len = buf ? len : 0;
}

void nr_cmd_identify(struct nr_cmd *cmd, uint8_t cns, uint8_t csi, uint32_t nsid, uint16_t cntid,
		     void *buf, uint32_t len)
{
	nr_cmd_init(cmd, NR_QUEUE_ADMIN, NR_ADM_IDENTIFY, nsid, NR_XFER_FROM_DEV, buf, len);
	cmd->sqe.cdw10 = (uint32_t)cns | (uint32_t)cntid << 16;
	cmd->sqe.cdw11 = (uint32_t)csi << 24;
}

/* The offset is in bytes (LPOL/LPOU); NUMD is split into NUMDL and NUMDU. */
void nr_cmd_get_log(struct nr_cmd *cmd, uint8_t lid, uint32_t nsid, uint64_t offset, void *buf,
		    uint32_t len)
{
	uint32_t numd = nr_len_to_numd(len);

	nr_cmd_init(cmd, NR_QUEUE_ADMIN, NR_ADM_GET_LOG_PAGE, nsid, NR_XFER_FROM_DEV, buf, len);
	cmd->sqe.cdw10 = (uint32_t)lid | (numd & 0xffffu) << 16;
	cmd->sqe.cdw11 = numd >> 16;
	cmd->sqe.cdw12 = (uint32_t)offset;
	cmd->sqe.cdw13 = (uint32_t)(offset >> 32);
}

void nr_cmd_zone_report(struct nr_cmd *cmd, uint32_t nsid, uint64_t slba, enum nr_zrasf filter,
			bool partial, bool extended, void *buf, uint32_t len)
{
	uint32_t zra = extended ? NR_ZRA_EXT_REPORT : NR_ZRA_REPORT;

	nr_cmd_init(cmd, NR_QUEUE_IO, NR_IO_ZONE_MGMT_RECV, nsid, NR_XFER_FROM_DEV, buf, len);
	cmd->sqe.cdw10 = (uint32_t)slba;
	cmd->sqe.cdw11 = (uint32_t)(slba >> 32);
	cmd->sqe.cdw12 = nr_len_to_numd(len);
	cmd->sqe.cdw13 = zra | ((uint32_t)filter & 0xffu) << 8 | (partial ? 1u : 0u) << 16;
}

void nr_cmd_zone_send(struct nr_cmd *cmd, uint32_t nsid, uint64_t slba, uint8_t action,
		      bool select_all)
{
	nr_cmd_init(cmd, NR_QUEUE_IO, NR_IO_ZONE_MGMT_SEND, nsid, NR_XFER_NONE, NULL, 0);
	cmd->sqe.cdw10 = (uint32_t)slba;
	cmd->sqe.cdw11 = (uint32_t)(slba >> 32);
	cmd->sqe.cdw13 = (uint32_t)action | (select_all ? 1u : 0u) << 8;
}

void nr_cmd_zone_set_ext(struct nr_cmd *cmd, uint32_t nsid, uint64_t slba, void *buf, uint32_t len)
{
	nr_cmd_init(cmd, NR_QUEUE_IO, NR_IO_ZONE_MGMT_SEND, nsid, NR_XFER_TO_DEV, buf, len);
	cmd->sqe.cdw10 = (uint32_t)slba;
	cmd->sqe.cdw11 = (uint32_t)(slba >> 32);
	cmd->sqe.cdw13 = NR_ZSA_SET_DESC_EXT; /* no NUMD: the length is ZDES */
}

/* Generic Command Status (SCT 0), NVMe Base Specification 2.0. */
static const char *const generic_status[256] = {
    [0x00] = "Successful Completion",
    [0x01] = "Invalid Command Opcode",
    [0x02] = "Invalid Field in Command",
    [0x03] = "Command ID Conflict",
    [0x04] = "Data Transfer Error",
    [0x05] = "Commands Aborted due to Power Loss Notification",
    [0x06] = "Internal Error",
    [0x07] = "Command Abort Requested",
    [0x08] = "Command Aborted due to SQ Deletion",
    [0x09] = "Command Aborted due to Failed Fused Command",
    [0x0a] = "Command Aborted due to Missing Fused Command",
    [0x0b] = "Invalid Namespace or Format",
    [0x0c] = "Command Sequence Error",
    [0x0d] = "Invalid SGL Segment Descriptor",
    [0x0e] = "Invalid Number of SGL Descriptors",
    [0x0f] = "Data SGL Length Invalid",
    [0x10] = "Metadata SGL Length Invalid",
    [0x11] = "SGL Descriptor Type Invalid",
    [0x12] = "Invalid Use of Controller Memory Buffer",
    [0x13] = "PRP Offset Invalid",
    [0x14] = "Atomic Write Unit Exceeded",
    [0x15] = "Operation Denied",
    [0x16] = "SGL Offset Invalid",
    [0x18] = "Host Identifier Inconsistent Format",
    [0x19] = "Keep Alive Timer Expired",
    [0x1a] = "Keep Alive Timeout Invalid",
    [0x1b] = "Command Aborted due to Preempt and Abort",
    [0x1c] = "Sanitize Failed",
    [0x1d] = "Sanitize In Progress",
    [0x1e] = "SGL Data Block Granularity Invalid",
    [0x1f] = "Command Not Supported for Queue in CMB",
    [0x20] = "Namespace is Write Protected",
    [0x21] = "Command Interrupted",
    [0x22] = "Transient Transport Error",
    [0x23] = "Command Prohibited by Command and Feature Lockdown",
    [0x24] = "Admin Command Media Not Ready",
    [0x80] = "LBA Out of Range",
    [0x81] = "Capacity Exceeded",
    [0x82] = "Namespace Not Ready",
    [0x83] = "Reservation Conflict",
    [0x84] = "Format In Progress",
    [0x85] = "Invalid Value Size",
    [0x86] = "Invalid Key Size",
    [0x87] = "KV Key Does Not Exist",
    [0x88] = "Unrecovered Error",
    [0x89] = "Key Exists",
};

/* Command Specific Status (SCT 1), base specification plus ZNS. */
static const char *const cmd_specific_status[256] = {
    [0x00] = "Completion Queue Invalid",
    [0x01] = "Invalid Queue Identifier",
    [0x02] = "Invalid Queue Size",
    [0x03] = "Abort Command Limit Exceeded",
    [0x05] = "Asynchronous Event Request Limit Exceeded",
    [0x06] = "Invalid Firmware Slot",
    [0x07] = "Invalid Firmware Image",
    [0x08] = "Invalid Interrupt Vector",
    [0x09] = "Invalid Log Page",
    [0x0a] = "Invalid Format",
    [0x0b] = "Firmware Activation Requires Conventional Reset",
    [0x0c] = "Invalid Queue Deletion",
    [0x0d] = "Feature Identifier Not Saveable",
    [0x0e] = "Feature Not Changeable",
    [0x0f] = "Feature Not Namespace Specific",
    [0x10] = "Firmware Activation Requires NVM Subsystem Reset",
    [0x11] = "Firmware Activation Requires Controller Level Reset",
    [0x12] = "Firmware Activation Requires Maximum Time Violation",
    [0x13] = "Firmware Activation Prohibited",
    [0x14] = "Overlapping Range",
    [0x15] = "Namespace Insufficient Capacity",
    [0x16] = "Namespace Identifier Unavailable",
    [0x18] = "Namespace Already Attached",
    [0x19] = "Namespace Is Private",
    [0x1a] = "Namespace Not Attached",
    [0x1b] = "Thin Provisioning Not Supported",
    [0x1c] = "Controller List Invalid",
    [0x1d] = "Device Self-test In Progress",
    [0x1e] = "Boot Partition Write Prohibited",
    [0x1f] = "Invalid Controller Identifier",
    [0x20] = "Invalid Secondary Controller State",
    [0x21] = "Invalid Number of Controller Resources",
    [0x22] = "Invalid Resource Identifier",
    [0x23] = "Sanitize Prohibited While Persistent Memory Region is Enabled",
    [0x24] = "ANA Group Identifier Invalid",
    [0x25] = "ANA Attach Failed",
    [0x26] = "Insufficient Capacity",
    [0x27] = "Namespace Attachment Limit Exceeded",
    [0x28] = "Prohibition of Command Execution Not Supported",
    [0x29] = "I/O Command Set Not Supported",
    [0x2a] = "I/O Command Set Not Enabled",
    [0x2b] = "I/O Command Set Combination Rejected",
    [0x2c] = "Invalid I/O Command Set",
    [0x2d] = "Identifier Unavailable",
    [0x80] = "Conflicting Attributes",
    [0x81] = "Invalid Protection Information",
    [0x82] = "Attempted Write to Read Only Range",
    [0x83] = "Command Size Limit Exceeded",
    [0xb6] = "Invalid Zone Operation Request",
    [0xb7] = "ZRWA Resources Unavailable",
    [0xb8] = "Zone Boundary Error",
    [0xb9] = "Zone Is Full",
    [0xba] = "Zone Is Read Only",
    [0xbb] = "Zone Is Offline",
    [0xbc] = "Zone Invalid Write",
    [0xbd] = "Too Many Active Zones",
    [0xbe] = "Too Many Open Zones",
    [0xbf] = "Invalid Zone State Transition",
};

/* Media and Data Integrity Errors (SCT 2). */
static const char *const media_status[256] = {
    [0x80] = "Write Fault",
    [0x81] = "Unrecovered Read Error",
    [0x82] = "End-to-end Guard Check Error",
    [0x83] = "End-to-end Application Tag Check Error",
    [0x84] = "End-to-end Reference Tag Check Error",
    [0x85] = "Compare Failure",
    [0x86] = "Access Denied",
    [0x87] = "Deallocated or Unwritten Logical Block",
    [0x88] = "End-to-End Storage Tag Check Error",
};

/* Path Related Status (SCT 3). */
static const char *const path_status[256] = {
    [0x00] = "Internal Path Error",
    [0x01] = "Asymmetric Access Persistent Loss",
    [0x02] = "Asymmetric Access Inaccessible",
    [0x03] = "Asymmetric Access Transition",
    [0x60] = "Controller Pathing Error",
    [0x70] = "Host Pathing Error",
    [0x71] = "Command Aborted By Host",
};

struct status_type {
	const char *const *names; /* indexed by SC, NULL when the type has no table */
	const char *fallback;	  /* for an SC missing from the table */
};

static const struct status_type status_types[8] = {
    [0] = {.names = generic_status, .fallback = "Unknown Generic Command Status"},
    [1] = {.names = cmd_specific_status, .fallback = "Unknown Command Specific Status"},
    [2] = {.names = media_status, .fallback = "Unknown Media and Data Integrity Error"},
    [3] = {.names = path_status, .fallback = "Unknown Path Related Status"},
    [4] = {.names = NULL, .fallback = "Reserved Status Code Type"},
    [5] = {.names = NULL, .fallback = "Reserved Status Code Type"},
    [6] = {.names = NULL, .fallback = "Reserved Status Code Type"},
    [7] = {.names = NULL, .fallback = "Vendor Specific Status"},
};

/*
 * Our own tables are used rather than libnvme's nvme_status_to_string: its
 * strings carry a trailing explanation ("Invalid Field in Command: A reserved
 * coded value or an unsupported value in a defined field") and are not the
 * short spec names clients match on. Only SCT and SC are looked at; CRD, More
 * and DNR do not change the name.
 */
const char *nr_status_name(uint16_t status)
{
	const struct status_type *type = &status_types[NR_STATUS_SCT(status)];
	const char *name = NULL;

	if (type->names)
		name = type->names[NR_STATUS_SC(status)];
	return name ? name : type->fallback;
}
