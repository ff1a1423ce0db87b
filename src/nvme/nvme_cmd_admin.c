/* SPDX-License-Identifier: MIT */
#include "nvme/nvme_cmd_admin.h"

#include <string.h>

void nr_cmd_get_log_page(struct nr_cmd *cmd, const struct nr_log_args *args, void *buf,
			 uint32_t len)
{
	uint32_t numd = nr_len_to_numd(len);

	nr_cmd_init(cmd, NR_QUEUE_ADMIN, nvme_admin_get_log_page, args->nsid, NR_XFER_FROM_DEV, buf,
		    len);
	cmd->sqe.cdw10 = (uint32_t)args->lid | ((uint32_t)args->lsp & 0x7fu) << 8 |
			 (args->rae ? 1u : 0u) << 15 | (numd & 0xffffu) << 16;
	cmd->sqe.cdw11 = numd >> 16 | (uint32_t)args->lsi << 16;
	cmd->sqe.cdw12 = (uint32_t)args->offset;
	cmd->sqe.cdw13 = (uint32_t)(args->offset >> 32);
	cmd->sqe.cdw14 = (uint32_t)args->csi << 24;
}

void nr_cmd_get_features(struct nr_cmd *cmd, uint8_t fid, uint8_t sel, uint32_t nsid,
			 uint32_t cdw11, void *buf, uint32_t len)
{
	nr_cmd_init(cmd, NR_QUEUE_ADMIN, nvme_admin_get_features, nsid, NR_XFER_FROM_DEV, buf, len);
	cmd->sqe.cdw10 = (uint32_t)fid | ((uint32_t)sel & 0x7u) << 8;
	cmd->sqe.cdw11 = cdw11;
}

void nr_cmd_set_features(struct nr_cmd *cmd, uint8_t fid, bool save, uint32_t nsid, uint32_t cdw11,
			 uint32_t cdw12, void *buf, uint32_t len)
{
	nr_cmd_init(cmd, NR_QUEUE_ADMIN, nvme_admin_set_features, nsid, NR_XFER_TO_DEV, buf, len);
	cmd->sqe.cdw10 = (uint32_t)fid | (save ? 1u : 0u) << 31;
	cmd->sqe.cdw11 = cdw11;
	cmd->sqe.cdw12 = cdw12;
}

void nr_cmd_ns_create(struct nr_cmd *cmd, uint8_t csi, void *buf, uint32_t len)
{
	nr_cmd_init(cmd, NR_QUEUE_ADMIN, nvme_admin_ns_mgmt, 0, NR_XFER_TO_DEV, buf, len);
	cmd->sqe.cdw10 = NVME_NS_MGMT_SEL_CREATE;
	cmd->sqe.cdw11 = (uint32_t)csi << 24;
}

void nr_cmd_ns_delete(struct nr_cmd *cmd, uint32_t nsid)
{
	nr_cmd_init(cmd, NR_QUEUE_ADMIN, nvme_admin_ns_mgmt, nsid, NR_XFER_NONE, NULL, 0);
	cmd->sqe.cdw10 = NVME_NS_MGMT_SEL_DELETE;
}

void nr_cmd_ns_attach(struct nr_cmd *cmd, uint32_t nsid, bool attach, void *buf, uint32_t len)
{
	nr_cmd_init(cmd, NR_QUEUE_ADMIN, nvme_admin_ns_attach, nsid, NR_XFER_TO_DEV, buf, len);
	cmd->sqe.cdw10 = attach ? NVME_NS_ATTACH_SEL_CTRL_ATTACH : NVME_NS_ATTACH_SEL_CTRL_DEATTACH;
}

void nr_cmd_format(struct nr_cmd *cmd, uint32_t nsid, uint8_t lbaf, uint8_t mset, uint8_t pi,
		   uint8_t pil, uint8_t ses)
{
	nr_cmd_init(cmd, NR_QUEUE_ADMIN, nvme_admin_format_nvm, nsid, NR_XFER_NONE, NULL, 0);
	cmd->sqe.cdw10 = ((uint32_t)lbaf & 0xfu) | ((uint32_t)mset & 1u) << 4 |
			 ((uint32_t)pi & 7u) << 5 | ((uint32_t)pil & 1u) << 8 |
			 ((uint32_t)ses & 7u) << 9 | (((uint32_t)lbaf >> 4) & 3u) << 12;
}

void nr_cmd_sanitize(struct nr_cmd *cmd, const struct nr_sanitize_args *args)
{
	nr_cmd_init(cmd, NR_QUEUE_ADMIN, nvme_admin_sanitize_nvm, 0, NR_XFER_NONE, NULL, 0);
	cmd->sqe.cdw10 = ((uint32_t)args->sanact & 7u) | (args->ause ? 1u : 0u) << 3 |
			 ((uint32_t)args->owpass & 0xfu) << 4 | (args->oipbp ? 1u : 0u) << 8 |
			 (args->nodas ? 1u : 0u) << 9;
	cmd->sqe.cdw11 = args->ovrpat;
}

void nr_cmd_self_test(struct nr_cmd *cmd, uint32_t nsid, uint8_t stc)
{
	nr_cmd_init(cmd, NR_QUEUE_ADMIN, nvme_admin_dev_self_test, nsid, NR_XFER_NONE, NULL, 0);
	cmd->sqe.cdw10 = (uint32_t)stc & 0xfu;
}

void nr_cmd_fw_download(struct nr_cmd *cmd, uint32_t offset, void *buf, uint32_t len)
{
	nr_cmd_init(cmd, NR_QUEUE_ADMIN, nvme_admin_fw_download, 0, NR_XFER_TO_DEV, buf, len);
	cmd->sqe.cdw10 = nr_len_to_numd(len);
	cmd->sqe.cdw11 = offset / 4;
}

void nr_cmd_fw_commit(struct nr_cmd *cmd, uint8_t slot, uint8_t action, bool bpid)
{
	nr_cmd_init(cmd, NR_QUEUE_ADMIN, nvme_admin_fw_commit, 0, NR_XFER_NONE, NULL, 0);
	cmd->sqe.cdw10 =
	    ((uint32_t)slot & 7u) | ((uint32_t)action & 7u) << 3 | (bpid ? 1u : 0u) << 31;
}

void nr_cmd_zone_append(struct nr_cmd *cmd, uint32_t nsid, uint64_t zslba, uint32_t nlb, void *buf,
			uint32_t len)
{
	nr_cmd_init(cmd, NR_QUEUE_IO, nvme_zns_cmd_append, nsid, NR_XFER_TO_DEV, buf, len);
	cmd->sqe.cdw10 = (uint32_t)zslba;
	cmd->sqe.cdw11 = (uint32_t)(zslba >> 32);
	cmd->sqe.cdw12 = nlb > 0 ? (nlb - 1) & 0xffffu : 0;
}
