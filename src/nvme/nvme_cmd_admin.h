/* SPDX-License-Identifier: MIT */
/*
 * Command builders for the management methods (logs with every Get Log Page
 * field, features, namespace management and attachment, format, sanitize,
 * self-test, firmware, zone append). Opcodes, CNS, LIDs and FIDs are
 * libnvme's spec enums. Builders only fill memory; they never fail.
 */
#ifndef NR_NVME_CMD_ADMIN_H
#define NR_NVME_CMD_ADMIN_H

#include <libnvme.h>

#include "nvme/nvme_cmd.h"

/* Every field of Get Log Page (NVMe 2.0, Figure "Get Log Page - Command
 * Dword 10..14"). @offset is in bytes. */
struct nr_log_args {
	uint8_t lid;
	uint8_t lsp; /* 7 bits */
	bool rae;
	uint16_t lsi;
	uint8_t csi;
	uint32_t nsid;
	uint64_t offset;
};

void nr_cmd_get_log_page(struct nr_cmd *cmd, const struct nr_log_args *args, void *buf,
			 uint32_t len);

/* Get Features: @sel 0 current, 1 default, 2 saved, 3 supported capabilities. */
void nr_cmd_get_features(struct nr_cmd *cmd, uint8_t fid, uint8_t sel, uint32_t nsid,
			 uint32_t cdw11, void *buf, uint32_t len);
/* Set Features: @buf (may be NULL) goes to the controller. */
void nr_cmd_set_features(struct nr_cmd *cmd, uint8_t fid, bool save, uint32_t nsid, uint32_t cdw11,
			 uint32_t cdw12, void *buf, uint32_t len);

/* Namespace Management: create sends the 4096-byte host software specified
 * fields (Identify Namespace layout); delete names @nsid. */
void nr_cmd_ns_create(struct nr_cmd *cmd, uint8_t csi, void *buf, uint32_t len);
void nr_cmd_ns_delete(struct nr_cmd *cmd, uint32_t nsid);
/* Namespace Attachment: @buf is a Controller List (4096 bytes). */
void nr_cmd_ns_attach(struct nr_cmd *cmd, uint32_t nsid, bool attach, void *buf, uint32_t len);

/* Format NVM (cdw10: LBAFL 3:0, MSET 4, PI 7:5, PIL 8, SES 11:9, LBAFU 13:12). */
void nr_cmd_format(struct nr_cmd *cmd, uint32_t nsid, uint8_t lbaf, uint8_t mset, uint8_t pi,
		   uint8_t pil, uint8_t ses);

struct nr_sanitize_args {
	uint8_t sanact; /* 1 exit failure, 2 block, 3 overwrite, 4 crypto */
	bool ause;
	uint8_t owpass; /* 4 bits */
	bool oipbp;
	bool nodas;
	uint32_t ovrpat;
};
void nr_cmd_sanitize(struct nr_cmd *cmd, const struct nr_sanitize_args *args);

/* Device Self-test: @stc 1 short, 2 extended, 0Fh abort. */
void nr_cmd_self_test(struct nr_cmd *cmd, uint32_t nsid, uint8_t stc);

/* Firmware Image Download: @offset and @len in bytes, multiples of 4. */
void nr_cmd_fw_download(struct nr_cmd *cmd, uint32_t offset, void *buf, uint32_t len);
/* Firmware Commit: @action is the commit action (CA, 0..7), @slot 0..7. */
void nr_cmd_fw_commit(struct nr_cmd *cmd, uint8_t slot, uint8_t action, bool bpid);

/* Zone Append of @len bytes (@nlb blocks) to the zone starting at @zslba. */
void nr_cmd_zone_append(struct nr_cmd *cmd, uint32_t nsid, uint64_t zslba, uint32_t nlb, void *buf,
			uint32_t len);

#endif
