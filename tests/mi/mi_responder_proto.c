/* SPDX-License-Identifier: MIT */
/*
 * The NVMe-MI 1.2 message layer of the test responder: message checks, the
 * MI command set (Read NVMe-MI Data Structure, NVM Subsystem Health Status
 * Poll, Configuration Get/Set) and the tunnel for NVMe Admin commands, which
 * the simulator executes. No libuv here: mr_execute runs on worker threads.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libnvme-mi.h>

#include "mi_responder.h"
#include "nvme/nvme_cmd.h"

#define NMP_ROR 0x80u
#define NMP_NMIMT(nmp) (((nmp) >> 3) & 0xfu)
#define NMP_ECHO_MASK 0x79u /* NMIMT and the Command Slot Identifier */
#define MI_REQ_LEN ((size_t)sizeof(struct nvme_mi_mi_req_hdr))
#define ADMIN_REQ_LEN ((size_t)sizeof(struct nvme_mi_admin_req_hdr))
#define ADMIN_RESP_LEN ((size_t)sizeof(struct nvme_mi_admin_resp_hdr))
#define MI_RESP_LEN ((size_t)sizeof(struct nvme_mi_mi_resp_hdr))
#define ADMIN_FLAG_DLEN 0x1u
#define ADMIN_FLAG_DOFF 0x2u
#define SIM_BUF_MAX (1u << 20)
#define NSID_ALL 0xffffffffu
#define PCI_DID 0x0010u	 /* the PCI IDs of QEMU's emulated controller, */
#define PCI_SSID 0x1100u /* whose VID/SSVID the simulator reports */
/* NSS: Drive Functional and Reset Not Required; no PCIe port, so no P0LA. */
#define NSS_DF_RNR 0x30u
#define CCS_STATUS_BITS (NVME_MI_CCS_RDY | NVME_MI_CCS_CFS | NVME_MI_CCS_SHST)
#define CCS_CHANGE_BITS 0x1ff0u
/* Parameter Error Location offsets (bytes from the message's type byte). */
#define PEL_CDW0_B0 8u
#define PEL_CDW0_B2 10u
#define PEL_CDW0_B3 11u
#define PEL_CDW1 12u
#define PEL_ADMIN_OPCODE 4u
#define PEL_ADMIN_CTRL_ID 6u
#define PEL_ADMIN_DOFF 28u
#define PEL_ADMIN_DLEN 32u

/* A response being built: the header is in place, data follows. */
struct reply {
	uint8_t *buf;
	size_t len;
};

struct health {
	uint8_t ctemp, pdlu, spare, cwarn;
};

uint32_t mr_crc32c(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t crc = 0xffffffffu;

	while (len--) {
		crc ^= *p++;
		for (int i = 0; i < 8; i++)
			crc = (crc >> 1) ^ (crc & 1u ? 0x82f63b78u : 0);
	}
	return ~crc;
}

/* Appends the MIC over @len bytes of @buf. Returns the sealed length. */
static size_t seal(uint8_t *buf, size_t len)
{
	uint32_t mic = htole32(mr_crc32c(buf, len));

	memcpy(buf + len, &mic, sizeof(mic));
	return len + MR_MIC_LEN;
}

int mr_check_request(const uint8_t *msg, size_t len)
{
	uint32_t mic;

	if (len < sizeof(struct nvme_mi_msg_hdr) + MR_MIC_LEN || msg[0] != MR_MCTP_TYPE_NVME_MI)
		return -EBADMSG;
	if (msg[1] & NMP_ROR)
		return -EBADMSG;
	memcpy(&mic, msg + len - MR_MIC_LEN, sizeof(mic));
	return le32toh(mic) == mr_crc32c(msg, len - MR_MIC_LEN) ? 0 : -EBADMSG;
}

/* Starts a response to @req: the message header and a zeroed status dword. */
static struct reply reply_start(const uint8_t *req, uint8_t *buf, size_t hdr_len)
{
	memset(buf, 0, hdr_len);
	buf[0] = MR_MCTP_TYPE_NVME_MI;
	buf[1] = (uint8_t)(NMP_ROR | (req[1] & NMP_ECHO_MASK));
	return (struct reply){.buf = buf, .len = hdr_len};
}

size_t mr_error_response(const uint8_t *req, uint8_t status, uint32_t nmresp, uint8_t *resp)
{
	struct reply r = reply_start(req, resp, sizeof(struct nvme_mi_msg_resp));

	resp[4] = status;
	resp[5] = (uint8_t)nmresp;
	resp[6] = (uint8_t)(nmresp >> 8);
	resp[7] = (uint8_t)(nmresp >> 16);
	return seal(r.buf, r.len);
}

size_t mr_mpr_response(const uint8_t *req, uint16_t mprt, uint8_t *resp)
{
	struct reply r = reply_start(req, resp, sizeof(struct nvme_mi_msg_resp));
	uint16_t mprt_le = htole16(mprt);

	resp[4] = NVME_MI_RESP_MPR;
	memcpy(resp + 6, &mprt_le, sizeof(mprt_le));
	return seal(r.buf, r.len);
}

/* Invalid Parameter with the Parameter Error Location: byte in bits 23:8. */
static size_t invalid_param(const uint8_t *req, unsigned byte, uint8_t *resp)
{
	return mr_error_response(req, NVME_MI_RESP_INVALID_PARAM, byte << 8, resp);
}

/* Runs one admin command on @ctrl from the loop's worker. Returns 0 or -errno
 * of nr_sim_submit. */
static int sim_admin(struct nr_sim_ctrl *ctrl, uint8_t opcode, uint32_t nsid, uint32_t cdw10,
		     void *buf, uint32_t len)
{
	struct nr_cmd cmd;

	nr_cmd_init(&cmd, NR_QUEUE_ADMIN, opcode, nsid, NR_XFER_FROM_DEV, buf, len);
	cmd.sqe.cdw10 = cdw10;
	return nr_sim_submit(ctrl, &cmd) ?: (cmd.status ? -EIO : 0);
}

/* NVMe-MI CTEMP: degrees Celsius, 7Fh for 127 and above, C4h for -60 and
 * below, two's complement in between; 80h when there is no reading. */
static uint8_t ctemp_encode(uint16_t kelvin)
{
	int celsius = (int)kelvin - 273;

	if (!kelvin)
		return 0x80;
	if (celsius > 127)
		celsius = 127;
	if (celsius < -60)
		celsius = -60;
	return (uint8_t)(int8_t)celsius;
}

/* Reads the subsystem's health from every controller's SMART log: the
 * hottest composite temperature, the highest percentage used, the lowest
 * spare and all critical warnings. */
static void read_health(struct mr_endpoint *ep, struct health *h)
{
	struct nvme_smart_log log;
	uint16_t kelvin, hottest = 0;

	*h = (struct health){.spare = 100};
	for (size_t i = 0; i < nr_sim_ctrl_count(ep->sim); i++) {
		memset(&log, 0, sizeof(log));
		if (sim_admin(nr_sim_ctrl_at(ep->sim, i), NR_ADM_GET_LOG_PAGE, NSID_ALL,
			      NR_LID_SMART | (nr_len_to_numd(sizeof(log)) << 16), &log,
			      sizeof(log)))
			continue;
		kelvin = (uint16_t)(log.temperature[0] | log.temperature[1] << 8);
		hottest = kelvin > hottest ? kelvin : hottest;
		h->pdlu = log.percent_used > h->pdlu ? log.percent_used : h->pdlu;
		h->spare = log.avail_spare < h->spare ? log.avail_spare : h->spare;
		h->cwarn |= log.critical_warning;
	}
	h->ctemp = ctemp_encode(hottest);
}

static void set_reference(struct mr_mi_state *mi, const struct health *h)
{
	mi->ref_ctemp = h->ctemp;
	mi->ref_pdlu = h->pdlu;
	mi->ref_spare = h->spare;
	mi->ref_cwarn = h->cwarn;
}

void mr_mi_init(struct mr_endpoint *ep)
{
	struct health h;

	read_health(ep, &h);
	pthread_mutex_lock(&ep->lock);
	ep->mi.smbus_freq = MR_SMBUS_FREQ_DEFAULT;
	ep->mi.mctp_mtu = MR_MTU_DEFAULT;
	/* Power-on is a subsystem reset: the first poll reports it. */
	ep->mi.ccs_latched = NVME_MI_CCS_NSSRO;
	set_reference(&ep->mi, &h);
	pthread_mutex_unlock(&ep->lock);
}

void mr_mi_raise_ccs(struct mr_endpoint *ep, uint16_t bits)
{
	pthread_mutex_lock(&ep->lock);
	ep->mi.ccs_latched |= bits & CCS_CHANGE_BITS;
	pthread_mutex_unlock(&ep->lock);
}

/* Latches the change bits for values that moved since the last clear. */
static uint16_t latch_changes(struct mr_mi_state *mi, const struct health *h)
{
	if (h->ctemp != mi->ref_ctemp)
		mi->ccs_latched |= NVME_MI_CCS_CTEMP;
	if (h->pdlu != mi->ref_pdlu)
		mi->ccs_latched |= NVME_MI_CCS_PDLU;
	if (h->spare != mi->ref_spare)
		mi->ccs_latched |= NVME_MI_CCS_SPARE;
	if (h->cwarn != mi->ref_cwarn)
		mi->ccs_latched |= NVME_MI_CCS_CCWARN;
	return (uint16_t)(NVME_MI_CCS_RDY | mi->ccs_latched);
}

/* NVM Subsystem Health Status Poll (01h); CDW1 bit 31 is Clear Status. */
static size_t mi_health_poll(struct mr_endpoint *ep, const uint8_t *req, uint32_t cdw1,
			     uint8_t *resp)
{
	struct reply r = reply_start(req, resp, MI_RESP_LEN);
	struct nvme_mi_nvm_ss_health_status hs = {0};
	struct health h;

	read_health(ep, &h);
	hs.nss = NSS_DF_RNR;
	/* SMART Warnings are active low: a bit is cleared while its warning is set. */
	hs.sw = (uint8_t)(~h.cwarn & 0x3fu);
	hs.ctemp = h.ctemp;
	hs.pdlu = h.pdlu;
	pthread_mutex_lock(&ep->lock);
	hs.ccs = htole16(latch_changes(&ep->mi, &h));
	if (cdw1 & 0x80000000u) {
		ep->mi.ccs_latched = 0;
		set_reference(&ep->mi, &h);
	}
	pthread_mutex_unlock(&ep->lock);
	memcpy(r.buf + r.len, &hs, sizeof(hs));
	return seal(r.buf, r.len + sizeof(hs));
}

static int cntlid_cmp(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static struct nr_sim_ctrl *find_ctrl(struct mr_endpoint *ep, uint16_t cntlid)
{
	struct nvme_id_ctrl id;

	for (size_t i = 0; i < nr_sim_ctrl_count(ep->sim); i++) {
		struct nr_sim_ctrl *c = nr_sim_ctrl_at(ep->sim, i);

		if (!sim_admin(c, NR_ADM_IDENTIFY, 0, NR_CNS_CTRL, &id, sizeof(id)) &&
		    le16toh(id.cntlid) == cntlid)
			return c;
	}
	return NULL;
}

/* Controller List: the CNTLIDs from @from upwards, ascending. Returns the
 * data length. */
static size_t ctrl_list(struct mr_endpoint *ep, uint16_t from, uint8_t *out)
{
	uint16_t ids[NVME_ID_CTRL_LIST_MAX], num = 0, le;
	struct nvme_id_ctrl id;

	for (size_t i = 0; i < nr_sim_ctrl_count(ep->sim) && num < NVME_ID_CTRL_LIST_MAX; i++) {
		if (!sim_admin(nr_sim_ctrl_at(ep->sim, i), NR_ADM_IDENTIFY, 0, NR_CNS_CTRL, &id,
			       sizeof(id)) &&
		    le16toh(id.cntlid) >= from)
			ids[num++] = le16toh(id.cntlid);
	}
	qsort(ids, num, sizeof(ids[0]), cntlid_cmp);
	le = htole16(num);
	memcpy(out, &le, 2);
	for (uint16_t i = 0; i < num; i++) {
		le = htole16(ids[i]);
		memcpy(out + 2 + 2 * i, &le, 2);
	}
	return 2u + 2u * num;
}

static void port_info(struct nvme_mi_read_port_info *p)
{
	p->portt = 2; /* SMBus/I2C */
	p->mmctptus = htole16(MR_PORT_MMCTPTUS);
	p->meb = 0;
	p->smb.vpd_addr = 0xa6;
	p->smb.mvpd_freq = 1;
	p->smb.mme_addr = 0x3a;
	p->smb.mme_freq = MR_PORT_MME_FREQ;
	p->smb.nvmebm = 1;
}

/* Controller Information for @cntlid; -ENOENT when there is none. */
static int ctrl_info(struct mr_endpoint *ep, uint16_t cntlid, struct nvme_mi_read_ctrl_info *ci)
{
	struct nr_sim_ctrl *c = find_ctrl(ep, cntlid);
	struct nvme_id_ctrl id;

	if (!c || sim_admin(c, NR_ADM_IDENTIFY, 0, NR_CNS_CTRL, &id, sizeof(id)))
		return -ENOENT;
	ci->portid = 0;
	ci->prii = 0; /* no PCIe routing ID: the only port is SMBus */
	ci->vid = id.vid;
	ci->did = htole16(PCI_DID);
	ci->ssvid = id.ssvid;
	ci->ssid = htole16(PCI_SSID);
	return 0;
}

/* Read NVMe-MI Data Structure (00h): CDW0 DTYP 31:24, PORTID 23:16, CTRLID
 * 15:0. NMRESP carries the Response Data Length. */
static size_t mi_read_data(struct mr_endpoint *ep, const uint8_t *req, uint32_t cdw0, uint8_t *resp)
{
	struct reply r = reply_start(req, resp, MI_RESP_LEN);
	uint8_t *data = r.buf + r.len, dtyp = (uint8_t)(cdw0 >> 24);
	uint16_t cntlid = (uint16_t)cdw0;
	size_t len = 32;

	memset(data, 0, len);
	switch (dtyp) {
	case nvme_mi_dtyp_subsys_info:
		((struct nvme_mi_read_nvm_ss_info *)data)->mjr = 1;
		((struct nvme_mi_read_nvm_ss_info *)data)->mnr = 2;
		break;
	case nvme_mi_dtyp_port_info:
		if ((cdw0 >> 16 & 0xffu) != 0)
			return invalid_param(req, PEL_CDW0_B2, resp);
		port_info((struct nvme_mi_read_port_info *)data);
		break;
	case nvme_mi_dtyp_ctrl_list:
		len = ctrl_list(ep, cntlid, data);
		break;
	case nvme_mi_dtyp_ctrl_info:
		if (ctrl_info(ep, cntlid, (struct nvme_mi_read_ctrl_info *)data))
			return invalid_param(req, PEL_CDW0_B0, resp);
		break;
	case nvme_mi_dtyp_opt_cmd_support:
		len = 2; /* NUMCMD 0: no optional commands */
		break;
	default:
		return invalid_param(req, PEL_CDW0_B3, resp);
	}
	r.buf[5] = (uint8_t)len;
	r.buf[6] = (uint8_t)(len >> 8);
	/* NVMe-MI messages are dword multiples (libnvme-mi rejects others):
	 * pad the data, RDL keeps its true length. */
	while (len & 3u)
		data[len++] = 0;
	return seal(r.buf, r.len + len);
}

/* Configuration Get (04h): CDW0 bits 7:0 the identifier, 31:24 the port. */
static size_t mi_config_get(struct mr_endpoint *ep, const uint8_t *req, uint32_t cdw0,
			    uint8_t *resp)
{
	uint32_t nmresp;

	if (cdw0 >> 24 != 0)
		return invalid_param(req, PEL_CDW0_B3, resp);
	pthread_mutex_lock(&ep->lock);
	nmresp = (cdw0 & 0xffu) == NVME_MI_CONFIG_SMBUS_FREQ ? ep->mi.smbus_freq
		 : (cdw0 & 0xffu) == NVME_MI_CONFIG_MCTP_MTU ? ep->mi.mctp_mtu
							     : UINT32_MAX;
	pthread_mutex_unlock(&ep->lock);
	/* Health Status Change can only be set. */
	if (nmresp == UINT32_MAX)
		return invalid_param(req, PEL_CDW0_B0, resp);
	return mr_error_response(req, NVME_MI_RESP_SUCCESS, nmresp, resp);
}

/* Applies one Configuration Set under ep->lock. Returns 0, or the byte
 * offset of the invalid parameter. */
static unsigned config_set_locked(struct mr_endpoint *ep, uint32_t cdw0, uint32_t cdw1)
{
	uint32_t freq = cdw0 >> 8 & 0xfu, mtu = cdw1 & 0xffffu;

	switch (cdw0 & 0xffu) {
	case NVME_MI_CONFIG_SMBUS_FREQ:
		if (cdw0 >> 24 != 0)
			return PEL_CDW0_B3;
		if (freq < 1 || freq > MR_PORT_MME_FREQ)
			return PEL_CDW0_B0 + 1;
		ep->mi.smbus_freq = (uint8_t)freq;
		return 0;
	case NVME_MI_CONFIG_HEALTH_STATUS_CHANGE:
		ep->mi.ccs_latched &= (uint16_t) ~(cdw1 & CCS_CHANGE_BITS);
		return 0;
	case NVME_MI_CONFIG_MCTP_MTU:
		if (cdw0 >> 24 != 0)
			return PEL_CDW0_B3;
		if (mtu < MR_MTU_DEFAULT || mtu > MR_PORT_MMCTPTUS)
			return PEL_CDW1;
		ep->mi.mctp_mtu = (uint16_t)mtu;
		return 0;
	default:
		return PEL_CDW0_B0;
	}
}

static size_t mi_config_set(struct mr_endpoint *ep, const uint8_t *req, uint32_t cdw0,
			    uint32_t cdw1, uint8_t *resp)
{
	unsigned bad;

	pthread_mutex_lock(&ep->lock);
	bad = config_set_locked(ep, cdw0, cdw1);
	pthread_mutex_unlock(&ep->lock);
	if (bad)
		return invalid_param(req, bad, resp);
	return mr_error_response(req, NVME_MI_RESP_SUCCESS, 0, resp);
}

static size_t mi_execute(struct mr_endpoint *ep, const uint8_t *req, size_t len, uint8_t *resp)
{
	struct nvme_mi_mi_req_hdr hdr;
	uint32_t cdw0, cdw1;

	if (len != MI_REQ_LEN + MR_MIC_LEN)
		return mr_error_response(req, NVME_MI_RESP_INVALID_CMD_SIZE, 0, resp);
	memcpy(&hdr, req, sizeof(hdr));
	cdw0 = le32toh(hdr.cdw0);
	cdw1 = le32toh(hdr.cdw1);
	switch (hdr.opcode) {
	case nvme_mi_mi_opcode_mi_data_read:
		return mi_read_data(ep, req, cdw0, resp);
	case nvme_mi_mi_opcode_subsys_health_status_poll:
		return mi_health_poll(ep, req, cdw1, resp);
	case nvme_mi_mi_opcode_configuration_set:
		return mi_config_set(ep, req, cdw0, cdw1, resp);
	case nvme_mi_mi_opcode_configuration_get:
		return mi_config_get(ep, req, cdw0, resp);
	default:
		return mr_error_response(req, NVME_MI_RESP_INVALID_OPCODE, 0, resp);
	}
}

/* The data a Get Features returns when DLEN is not valid (NVMe-MI 1.1
 * semantics, which libnvme-mi 1.3's get_features relies on): the feature's
 * whole data structure. */
static uint32_t get_features_len(const struct nvme_mi_admin_req_hdr *h)
{
	switch (le32toh(h->cdw10) & 0xffu) {
	case NVME_FEAT_FID_LBA_RANGE:
	case NVME_FEAT_FID_HOST_MEM_BUF:
		return 4096;
	case NVME_FEAT_FID_AUTO_PST:
		return 256;
	case NVME_FEAT_FID_TIMESTAMP:
		return 8;
	case NVME_FEAT_FID_PLM_CONFIG:
	case NVME_FEAT_FID_HOST_BEHAVIOR:
		return 512;
	case NVME_FEAT_FID_HOST_ID:
		return le32toh(h->cdw11) & 1u ? 16 : 8;
	default:
		return 0;
	}
}

/* The buffer the simulator needs for a controller-to-host command: Get Log
 * Page asks for NUMD + 1 dwords, everything else fits in 4096 bytes. */
static uint64_t from_dev_len(const struct nvme_mi_admin_req_hdr *h, uint64_t window_end)
{
	uint64_t need = MR_ADMIN_DATA_MAX;

	if (h->opcode == NR_ADM_GET_LOG_PAGE)
		need = ((uint64_t)(le32toh(h->cdw10) >> 16 | (le32toh(h->cdw11) & 0xffffu) << 16) +
			1) *
		       4;
	return need > window_end ? need : window_end;
}

struct admin_req {
	struct nvme_mi_admin_req_hdr h;
	const uint8_t *data; /* host-to-controller data in the message */
	uint32_t data_len;
	uint32_t doff, dlen;
	enum nr_xfer xfer;
};

/* Fills the SQE from the tunnelled header: CDW1 is the NSID, CDW4/5 MPTR. */
static void build_cmd(const struct admin_req *a, struct nr_cmd *cmd, void *buf, uint32_t len)
{
	const struct nvme_mi_admin_req_hdr *h = &a->h;

	nr_cmd_init(cmd, NR_QUEUE_ADMIN, h->opcode, le32toh(h->cdw1), a->xfer, buf, len);
	cmd->sqe.cdw2 = le32toh(h->cdw2);
	cmd->sqe.cdw3 = le32toh(h->cdw3);
	cmd->sqe.mptr = le32toh(h->cdw4) | (uint64_t)le32toh(h->cdw5) << 32;
	cmd->sqe.cdw10 = le32toh(h->cdw10);
	cmd->sqe.cdw11 = le32toh(h->cdw11);
	cmd->sqe.cdw12 = le32toh(h->cdw12);
	cmd->sqe.cdw13 = le32toh(h->cdw13);
	cmd->sqe.cdw14 = le32toh(h->cdw14);
	cmd->sqe.cdw15 = le32toh(h->cdw15);
}

/* The Admin response: CQE dwords 0, 1 and 3 (status in bits 31:17), then the
 * data window [doff, doff + dlen) of what the command returned. */
static size_t admin_reply(const uint8_t *req, const struct nr_cmd *cmd, const uint8_t *buf,
			  uint64_t buf_len, const struct admin_req *a, uint8_t *resp)
{
	struct reply r = reply_start(req, resp, ADMIN_RESP_LEN);
	struct nvme_mi_admin_resp_hdr *rh = (struct nvme_mi_admin_resp_hdr *)r.buf;
	uint64_t n = 0;

	rh->cdw0 = htole32(cmd->result);
	rh->cdw1 = htole32(cmd->result_hi);
	rh->cdw3 = htole32((uint32_t)cmd->status << 17);
	if (!cmd->status && a->xfer == NR_XFER_FROM_DEV && a->doff < buf_len) {
		n = buf_len - a->doff < a->dlen ? buf_len - a->doff : a->dlen;
		memcpy(r.buf + r.len, buf + a->doff, n);
	}
	return seal(r.buf, r.len + n);
}

static size_t admin_run(struct nr_sim_ctrl *ctrl, const struct admin_req *a, const uint8_t *req,
			uint8_t *resp)
{
	uint64_t len = a->xfer == NR_XFER_TO_DEV ? a->data_len : 0;
	uint8_t *buf = NULL;
	struct nr_cmd cmd;
	size_t out;
	int rc;

	if (a->xfer == NR_XFER_FROM_DEV)
		len = from_dev_len(&a->h, (uint64_t)a->doff + a->dlen);
	if (len > SIM_BUF_MAX)
		return invalid_param(req, PEL_ADMIN_DLEN, resp);
	if (len && !(buf = calloc(1, len)))
		return mr_error_response(req, NVME_MI_RESP_INTERNAL_ERR, 0, resp);
	if (a->xfer == NR_XFER_TO_DEV && len)
		memcpy(buf, a->data, len);
	build_cmd(a, &cmd, buf, (uint32_t)len);
	rc = nr_sim_submit(ctrl, &cmd);
	if (rc == -EINVAL)
		out = mr_error_response(req,
					a->xfer == NR_XFER_TO_DEV ? NVME_MI_RESP_INVALID_INPUT_SIZE
								  : NVME_MI_RESP_INVALID_PARAM,
					0, resp);
	else if (rc)
		out = mr_error_response(req, NVME_MI_RESP_INTERNAL_ERR, 0, resp);
	else
		out = admin_reply(req, &cmd, buf, len, a, resp);
	free(buf);
	return out;
}

static size_t admin_execute(struct mr_endpoint *ep, const uint8_t *req, size_t len, uint8_t *resp)
{
	struct admin_req a = {.data = req + ADMIN_REQ_LEN};
	struct nr_sim_ctrl *ctrl;

	if (len < ADMIN_REQ_LEN + MR_MIC_LEN)
		return mr_error_response(req, NVME_MI_RESP_INVALID_CMD_SIZE, 0, resp);
	memcpy(&a.h, req, sizeof(a.h));
	a.data_len = (uint32_t)(len - ADMIN_REQ_LEN - MR_MIC_LEN);
	/* Bits 1:0 of the opcode give the direction; 11b is bidirectional,
	 * which the MI tunnel cannot carry. */
	a.xfer = (a.h.opcode & 3u) == 1	  ? NR_XFER_TO_DEV
		 : (a.h.opcode & 3u) == 2 ? NR_XFER_FROM_DEV
					  : NR_XFER_NONE;
	if ((a.h.opcode & 3u) == 3)
		return invalid_param(req, PEL_ADMIN_OPCODE, resp);
	if (a.xfer != NR_XFER_TO_DEV && a.data_len)
		return mr_error_response(req, NVME_MI_RESP_INVALID_INPUT_SIZE, 0, resp);
	a.dlen = a.h.flags & ADMIN_FLAG_DLEN	     ? le32toh(a.h.dlen)
		 : a.h.opcode == NR_ADM_GET_FEATURES ? get_features_len(&a.h)
						     : 0;
	a.doff = a.h.flags & ADMIN_FLAG_DOFF ? le32toh(a.h.doff) : 0;
	if (a.doff & 3u)
		return invalid_param(req, PEL_ADMIN_DOFF, resp);
	if (a.dlen > MR_ADMIN_DATA_MAX)
		return invalid_param(req, PEL_ADMIN_DLEN, resp);
	ctrl = find_ctrl(ep, le16toh(a.h.ctrl_id));
	if (!ctrl)
		return invalid_param(req, PEL_ADMIN_CTRL_ID, resp);
	return admin_run(ctrl, &a, req, resp);
}

size_t mr_execute(struct mr_endpoint *ep, const uint8_t *req, size_t req_len, uint8_t *resp)
{
	switch (NMP_NMIMT(req[1])) {
	case NVME_MI_MT_MI:
		return mi_execute(ep, req, req_len, resp);
	case NVME_MI_MT_ADMIN:
		return admin_execute(ep, req, req_len, resp);
	default:
		/* Control primitives and PCIe commands are not modelled. */
		return invalid_param(req, 1, resp);
	}
}
