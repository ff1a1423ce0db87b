/* SPDX-License-Identifier: MIT */
/*
 * The NVMe command layer: methods build 64-byte submission entries once and
 * hand them to a backend (simulator, passthru ioctl, NVMe-MI tunnel), which
 * only executes them.
 */
#ifndef NR_NVME_CMD_H
#define NR_NVME_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Submission queue entry, laid out as in the NVMe base specification
 * (Figure "Common Command Format"). Host byte order: backends that put it on
 * a wire convert. */
struct nr_sqe {
	uint8_t opcode;
	uint8_t flags;
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2;
	uint32_t cdw3;
	uint64_t mptr;
	uint64_t dptr[2];
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};
_Static_assert(sizeof(struct nr_sqe) == 64, "SQE is 64 bytes");

enum nr_queue {
	NR_QUEUE_ADMIN = 0,
	NR_QUEUE_IO = 1,
};

enum nr_xfer {
	NR_XFER_NONE = 0,
	NR_XFER_FROM_DEV = 1, /* controller-to-host: identify, logs, reports */
	NR_XFER_TO_DEV = 2,   /* host-to-controller: set features, writes */
};

/*
 * One command with its data buffer and completion. The status is the NVMe
 * completion status field without the phase bit, the same encoding libnvme
 * returns: bits 7:0 SC, 10:8 SCT, 12:11 CRD, 13 More, 14 DNR. Zero is success.
 */
struct nr_cmd {
	struct nr_sqe sqe;
	enum nr_queue queue;
	enum nr_xfer xfer;
	void *data;
	uint32_t data_len;
	uint32_t timeout_ms;
	/* completion */
	uint32_t result; /* CQE dword 0 */
	uint16_t status;
	uint32_t result_hi; /* CQE dword 1 */
	/* NVMe-MI backend: the MI response status when the management endpoint
	 * refused or failed the tunneled command (then status is not set). */
	uint8_t mi_status;
};

#define NR_STATUS_SC(s) ((unsigned)(s)&0xffu)
#define NR_STATUS_SCT(s) (((unsigned)(s) >> 8) & 0x7u)
#define NR_STATUS_CRD(s) (((unsigned)(s) >> 11) & 0x3u)
#define NR_STATUS_MORE(s) (((unsigned)(s) >> 13) & 0x1u)
#define NR_STATUS_DNR(s) (((unsigned)(s) >> 14) & 0x1u)
#define NR_STATUS(sct, sc) ((uint16_t)((((sct)&0x7u) << 8) | ((sc)&0xffu)))

/* Opcodes used by the command layer and the simulator. */
enum {
	NR_ADM_GET_LOG_PAGE = 0x02,
	NR_ADM_IDENTIFY = 0x06,
	NR_ADM_SET_FEATURES = 0x09,
	NR_ADM_GET_FEATURES = 0x0a,
	NR_IO_ZONE_MGMT_SEND = 0x79,
	NR_IO_ZONE_MGMT_RECV = 0x7a,
};

/* Identify CNS values. */
enum {
	NR_CNS_NS = 0x00,
	NR_CNS_CTRL = 0x01,
	NR_CNS_NS_ACTIVE_LIST = 0x02,
	NR_CNS_NS_DESC_LIST = 0x03,
	NR_CNS_CSI_NS = 0x05,
	NR_CNS_CSI_CTRL = 0x06,
};

enum {
	NR_CSI_NVM = 0x00,
	NR_CSI_ZNS = 0x02,
};

enum {
	NR_LID_ERROR = 0x01,
	NR_LID_SMART = 0x02,
	NR_LID_FW_SLOT = 0x03,
};

/* Zone Management Receive action (cdw13 bits 7:0) and report filter. */
enum {
	NR_ZRA_REPORT = 0x00,
	NR_ZRA_EXT_REPORT = 0x01,
};

enum nr_zrasf {
	NR_ZRASF_ALL = 0x0,
	NR_ZRASF_EMPTY = 0x1,
	NR_ZRASF_IMPL_OPEN = 0x2,
	NR_ZRASF_EXPL_OPEN = 0x3,
	NR_ZRASF_CLOSED = 0x4,
	NR_ZRASF_FULL = 0x5,
	NR_ZRASF_READ_ONLY = 0x6,
	NR_ZRASF_OFFLINE = 0x7,
};

/* Zone Management Send action (cdw13 bits 7:0); bit 8 of cdw13 is Select All. */
enum {
	NR_ZSA_CLOSE = 0x01,
	NR_ZSA_FINISH = 0x02,
	NR_ZSA_OPEN = 0x03,
	NR_ZSA_RESET = 0x04,
	NR_ZSA_OFFLINE = 0x05,
	NR_ZSA_SET_DESC_EXT = 0x10,
};

/* Zone states as the descriptor's ZS field (bits 7:4) holds them. */
enum {
	NR_ZS_EMPTY = 0x1,
	NR_ZS_IMPL_OPEN = 0x2,
	NR_ZS_EXPL_OPEN = 0x3,
	NR_ZS_CLOSED = 0x4,
	NR_ZS_READ_ONLY = 0xd,
	NR_ZS_FULL = 0xe,
	NR_ZS_OFFLINE = 0xf,
};

/* Zeroes @cmd and fills the common fields; without a buffer (NULL or
 * zero length) there is no transfer. Every builder starts here. */
void nr_cmd_init(struct nr_cmd *cmd, enum nr_queue queue, uint8_t opcode, uint32_t nsid,
		 enum nr_xfer xfer, void *buf, uint32_t len);

/* Bytes to a 0-based dword count (NUMD); a zero length is NUMD 0. */
uint32_t nr_len_to_numd(uint32_t len);

/* Builders: zero the command, fill the SQE and the buffer description. */
void nr_cmd_identify(struct nr_cmd *cmd, uint8_t cns, uint8_t csi, uint32_t nsid, uint16_t cntid,
		     void *buf, uint32_t len);
void nr_cmd_get_log(struct nr_cmd *cmd, uint8_t lid, uint32_t nsid, uint64_t offset, void *buf,
		    uint32_t len);
void nr_cmd_zone_report(struct nr_cmd *cmd, uint32_t nsid, uint64_t slba, enum nr_zrasf filter,
			bool partial, bool extended, void *buf, uint32_t len);
void nr_cmd_zone_send(struct nr_cmd *cmd, uint32_t nsid, uint64_t slba, uint8_t action,
		      bool select_all);
/* Zone Management Send, Set Zone Descriptor Extension of the zone at @slba:
 * @len bytes (ZDES * 64) from @buf. */
void nr_cmd_zone_set_ext(struct nr_cmd *cmd, uint32_t nsid, uint64_t slba, void *buf, uint32_t len);

/* Returns the spec's name for a status ("Invalid Namespace or Format"), a
 * static string, never NULL. */
const char *nr_status_name(uint16_t status);

#endif
