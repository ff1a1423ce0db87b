/* SPDX-License-Identifier: MIT */
/*
 * The NVMe-MI backend's transport half: endpoints, the tunneled Admin
 * command, the MI command set, quarantine and sharing of identical reads.
 * Worker-side state of an endpoint is touched by one worker at a time (its
 * FIFO); what the loop thread reads (mi.endpoints, admission) is under the
 * endpoint's lock.
 */
#include "backends/mi/mi_int.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/exec.h"

/* ---- endpoint lifetime (loop thread) ------------------------------------ */

struct nr_mi_ep *mi_ep_new(struct nr_mi *mi, struct nr_mi_addr addr, const char *source)
{
	struct nr_mi_ep *ep = calloc(1, sizeof(*ep));

	if (!ep)
		return NULL;
	ep->refs = 1;
	ep->mi = mi;
	ep->addr = addr;
	snprintf(ep->name, sizeof(ep->name), "mctp:%u,%u", addr.net, addr.eid);
	snprintf(ep->source, sizeof(ep->source), "%s", source);
	pthread_mutex_init(&ep->lock, NULL);
	ep->entry = nr_ctrl_new_hidden(ep->name, &nr_mi_ep_ops, ep);
	if (!ep->entry) {
		pthread_mutex_destroy(&ep->lock);
		free(ep);
		return NULL;
	}
	ep->refs++; /* the entry's */
	return ep;
}

void mi_ep_ref(struct nr_mi_ep *ep)
{
	ep->refs++;
}

static void recent_clear(struct nr_mi_ep *ep)
{
	for (size_t i = 0; i < MI_RECENT; i++) {
		free(ep->recent[i].data);
		ep->recent[i] = (struct mi_recent){0};
	}
}

void mi_ep_unref(struct nr_mi_ep *ep)
{
	if (--ep->refs > 0)
		return;
	if (ep->root)
		nvme_mi_free_root(ep->root); /* closes the endpoint and its controllers */
	recent_clear(ep);
	pthread_mutex_destroy(&ep->lock);
	free(ep);
}

/* ---- quarantine and accounting ------------------------------------------ */

static uint64_t now_ms(void)
{
	return nr_exec_now_ns() / 1000000u;
}

/* Worker thread: records how a request ended; quarantines the endpoint
 * after too many timeouts in a row. */
static void account(struct nr_mi_ep *ep, int rc)
{
	const struct nr_mi_config *cfg = &ep->mi->cfg;

	pthread_mutex_lock(&ep->lock);
	ep->st.requests++;
	if (rc == -ETIMEDOUT) {
		ep->st.timeouts++;
		if (++ep->st.consecutive_timeouts >= cfg->quarantine_after) {
			if (ep->st.quarantined_until_ms <= now_ms())
				ep->st.quarantines++;
			ep->st.quarantined_until_ms = now_ms() + cfg->quarantine_ms;
		}
	} else if (rc == 0 || rc == -EBADMSG || rc == -EPROTO) {
		/* It answered, even if badly: it is alive. */
		ep->st.consecutive_timeouts = 0;
		ep->st.quarantined_until_ms = 0;
	}
	if (rc)
		ep->st.errors++;
	ep->st.last_errno = -rc;
	pthread_mutex_unlock(&ep->lock);
}

/* Any thread: -EHOSTDOWN while quarantined. After the quarantine a request
 * goes through as a probe; one more timeout quarantines it again. */
int mi_ep_admit(struct nr_mi_ep *ep)
{
	int rc = 0;

	pthread_mutex_lock(&ep->lock);
	if (ep->st.quarantined_until_ms > now_ms())
		rc = -EHOSTDOWN;
	pthread_mutex_unlock(&ep->lock);
	return rc;
}

/* ---- libnvme-mi calls ---------------------------------------------------- */

/* Bounds the libnvme-mi calls of this thread by the endpoint's deadline. */
static void deadline_begin(struct nr_mi_ep *ep)
{
	nr_mi_deadline_set(nr_exec_now_ns() + (uint64_t)ep->mi->cfg.deadline_ms * 1000000u);
}

static void deadline_end(void)
{
	nr_mi_deadline_set(0);
}

/*
 * The one adapter from libnvme-mi's return convention: -1 with errno, 0,
 * or a positive value. For 1.3 a positive value is the response's MI
 * status, or 1 when the integrity check failed (status 1, More Processing
 * Required, never ends a request: the transport waits it out).
 */
static int mi_rc(int rc, uint8_t *mi_status)
{
	if (rc < 0)
		return errno ? -errno : -EIO;
	if (rc == 1)
		return -EBADMSG;
	if (rc > 0)
		*mi_status = (uint8_t)rc;
	return 0;
}

/* Worker thread: opens the endpoint once (libnvme-mi probes it with an
 * Identify, so this is I/O). Returns 0 or -errno. */
int mi_ep_open(struct nr_mi_ep *ep)
{
	nvme_mi_ep_t handle;

	if (ep->handle)
		return 0;
	if (!ep->root)
		ep->root = nvme_mi_create_root(stderr, LOG_WARNING);
	if (!ep->root)
		return -ENOMEM;
	deadline_begin(ep);
	errno = 0;
	handle = nvme_mi_open_mctp(ep->root, ep->addr.net, ep->addr.eid);
	deadline_end();
	if (!handle)
		return errno ? -errno : -EIO;
	nvme_mi_ep_set_timeout(handle, ep->mi->cfg.timeout_ms);
	ep->handle = handle;
	pthread_mutex_lock(&ep->lock);
	ep->st.opened = true;
	pthread_mutex_unlock(&ep->lock);
	return 0;
}

/* Worker thread: the libnvme-mi controller for @id, made once per endpoint
 * (libnvme-mi keeps them on the endpoint until it is closed). */
nvme_mi_ctrl_t mi_ep_ctrl(struct nr_mi_ep *ep, uint16_t id)
{
	for (size_t i = 0; i < ep->ctrl_count; i++) {
		if (ep->ctrl_ids[i] == id)
			return ep->ctrls[i];
	}
	if (ep->ctrl_count == MI_MAX_CTRLS)
		return NULL;
	ep->ctrls[ep->ctrl_count] = nvme_mi_init_ctrl(ep->handle, id);
	if (!ep->ctrls[ep->ctrl_count])
		return NULL;
	ep->ctrl_ids[ep->ctrl_count] = id;
	return ep->ctrls[ep->ctrl_count++];
}

/* ---- identical reads share one answer ------------------------------------ */

/*
 * Worker thread: when a request identical to @key arrived no later than
 * this one and completed after this one arrived (it was in flight or queued
 * ahead when this one came), this one shares its answer: copies it out and
 * returns true.
 */
static bool recent_find(struct nr_mi_ep *ep, const void *key, size_t key_len, struct mi_answer *out,
			void *data, size_t data_len)
{
	uint64_t arrived = nr_exec_arrival_ns();

	for (size_t i = 0; arrived && i < MI_RECENT; i++) {
		struct mi_recent *r = &ep->recent[i];
		if (!r->valid || r->key_len != key_len || memcmp(r->key, key, key_len) != 0)
			continue;
		if (arrived < r->arrived_ns || arrived > r->done_ns || r->answer.len > data_len)
			continue;
		*out = r->answer;
		if (r->answer.len)
			memcpy(data, r->data, r->answer.len);
		pthread_mutex_lock(&ep->lock);
		ep->st.coalesced++;
		pthread_mutex_unlock(&ep->lock);
		return true;
	}
	return false;
}

/* Worker thread: remembers a read's answer for identical requests queued
 * behind it. */
static void recent_store(struct nr_mi_ep *ep, const void *key, size_t key_len,
			 const struct mi_answer *answer, const void *data)
{
	struct mi_recent *r = &ep->recent[ep->recent_next];
	void *copy = NULL;

	if (key_len > sizeof(r->key) || !nr_exec_arrival_ns())
		return;
	if (answer->len && !(copy = malloc(answer->len)))
		return;
	if (answer->len)
		memcpy(copy, data, answer->len);
	free(r->data);
	*r = (struct mi_recent){.valid = true,
				.key_len = key_len,
				.answer = *answer,
				.data = copy,
				.arrived_ns = nr_exec_arrival_ns(),
				.done_ns = nr_exec_now_ns()};
	memcpy(r->key, key, key_len);
	ep->recent_next = (ep->recent_next + 1) % MI_RECENT;
}

/*
 * Worker thread: what every request does before it may cross the link. A
 * read may share the answer of an identical one (returns 1, @answer and
 * @data filled); anything else ends the sharing window. Then the endpoint
 * must be out of quarantine and open. Returns 0 to go on, or -errno.
 */
static int request_begin(struct nr_mi_ep *ep, bool read, const void *key, size_t key_len,
			 struct mi_answer *answer, void *data, size_t data_len)
{
	int rc;

	if (read && recent_find(ep, key, key_len, answer, data, data_len))
		return 1;
	if (!read)
		recent_clear(ep);
	rc = mi_ep_admit(ep);
	return rc ? rc : mi_ep_open(ep);
}

/* ---- the MI command set ---------------------------------------------------- */

static bool mi_cmd_is_read(const struct nr_mi_cmd *cmd)
{
	return cmd->opcode == NR_MI_READ_DATA || cmd->opcode == NR_MI_CONFIG_GET ||
	       (cmd->opcode == NR_MI_HEALTH_POLL && !(cmd->dw1 & (1u << 31)));
}

static int mi_send(struct nr_mi_ep *ep, struct nr_mi_cmd *cmd)
{
	uint8_t type = cmd->dw0 >> 24;
	int rc;

	switch (cmd->opcode) {
	case NR_MI_HEALTH_POLL:
		rc = nvme_mi_mi_subsystem_health_status_poll(ep->handle, cmd->dw1 >> 31,
							     (void *)cmd->data);
		break;
	case NR_MI_READ_DATA:
		if (type == 0)
			rc = nvme_mi_mi_read_mi_data_subsys(ep->handle, (void *)cmd->data);
		else if (type == 1)
			rc = nvme_mi_mi_read_mi_data_port(ep->handle, (cmd->dw0 >> 16) & 0xff,
							  (void *)cmd->data);
		else if (type == 2)
			rc = nvme_mi_mi_read_mi_data_ctrl_list(ep->handle, cmd->dw0 & 0xffff,
							       (void *)cmd->data);
		else
			rc = nvme_mi_mi_read_mi_data_ctrl(ep->handle, cmd->dw0 & 0xffff,
							  (void *)cmd->data);
		break;
	case NR_MI_CONFIG_GET:
		rc = nvme_mi_mi_config_get(ep->handle, cmd->dw0, cmd->dw1, &cmd->nmresp);
		break;
	case NR_MI_CONFIG_SET:
		rc = nvme_mi_mi_config_set(ep->handle, cmd->dw0, cmd->dw1);
		break;
	default:
		return -EINVAL;
	}
	return rc;
}

int nr_mi_exec(struct nr_mi_ep *ep, struct nr_mi_cmd *cmd)
{
	uint32_t key[3] = {cmd->opcode, cmd->dw0, cmd->dw1};
	struct mi_answer answer = {0};
	bool read = mi_cmd_is_read(cmd);
	int rc;

	cmd->mi_status = 0;
	rc = request_begin(ep, read, key, sizeof(key), &answer, cmd->data, sizeof(cmd->data));
	if (rc == 1) {
		cmd->mi_status = answer.mi_status;
		cmd->nmresp = answer.result;
		cmd->shared = true;
		return answer.rc;
	}
	if (rc)
		return rc;
	deadline_begin(ep);
	errno = 0;
	rc = mi_rc(mi_send(ep, cmd), &cmd->mi_status);
	deadline_end();
	account(ep, rc);
	if (read && (rc == 0)) {
		answer = (struct mi_answer){.rc = rc,
					    .mi_status = cmd->mi_status,
					    .result = cmd->nmresp,
					    .len = sizeof(cmd->data)};
		recent_store(ep, key, sizeof(key), &answer, cmd->data);
	}
	return rc;
}

/* ---- the tunneled Admin command -------------------------------------------- */

struct mi_admin_req {
	struct nvme_mi_admin_req_hdr hdr;
	uint8_t data[NR_MI_XFER_MAX];
};

struct mi_admin_resp {
	struct nvme_mi_admin_resp_hdr hdr;
	uint8_t data[NR_MI_XFER_MAX];
};

/* Admin commands that take long on any drive: Format NVM, Sanitize,
 * Firmware Commit, Namespace Management, Device Self-test. */
static bool admin_is_long(uint8_t opcode)
{
	return opcode == 0x80 || opcode == 0x84 || opcode == 0x10 || opcode == 0x0d ||
	       opcode == 0x14;
}

/*
 * The endpoint timeout for one command: the caller's (admin passthru's
 * timeout_ms), else NR_MI_LONG_TIMEOUT_MS for the long commands, else the
 * endpoint's; never beyond the deadline. Returns the timeout to restore, or
 * 0 when the endpoint's own one applies.
 */
static unsigned timeout_begin(struct nr_mi_ep *ep, uint8_t opcode, uint32_t wanted_ms)
{
	const struct nr_mi_config *cfg = &ep->mi->cfg;
	unsigned saved = nvme_mi_ep_get_timeout(ep->handle);
	uint32_t ms = wanted_ms ? wanted_ms : admin_is_long(opcode) ? NR_MI_LONG_TIMEOUT_MS : 0;

	if (ms && ms < cfg->timeout_ms)
		ms = cfg->timeout_ms;
	if (ms > cfg->deadline_ms)
		ms = cfg->deadline_ms;
	if (!ms || ms == saved || nvme_mi_ep_set_timeout(ep->handle, ms) != 0)
		return 0;
	return saved;
}

static void timeout_end(struct nr_mi_ep *ep, unsigned saved)
{
	if (saved)
		nvme_mi_ep_set_timeout(ep->handle, saved);
}

/* Worker thread: one Admin command message, at most 4 KiB of data either
 * way; @doff selects the window of a larger response. */
static int admin_xfer(struct nr_mi_ep *ep, nvme_mi_ctrl_t ctrl, const struct nr_cmd *cmd,
		      void *data, uint32_t len, uint32_t doff, struct mi_answer *answer)
{
	const struct nr_sqe *sqe = &cmd->sqe;
	enum nr_xfer xfer = cmd->xfer;
	unsigned saved_timeout;
	static _Thread_local struct mi_admin_req req;
	static _Thread_local struct mi_admin_resp resp;
	size_t resp_len = xfer == NR_XFER_FROM_DEV ? len : 0;
	size_t req_len = xfer == NR_XFER_TO_DEV ? len : 0;
	int rc;

	memset(&req.hdr, 0, sizeof(req.hdr));
	memset(&resp.hdr, 0, sizeof(resp.hdr));
	req.hdr.opcode = sqe->opcode;
	req.hdr.cdw1 = htole32(sqe->nsid);
	req.hdr.cdw2 = htole32(sqe->cdw2);
	req.hdr.cdw3 = htole32(sqe->cdw3);
	req.hdr.cdw10 = htole32(sqe->cdw10);
	req.hdr.cdw11 = htole32(sqe->cdw11);
	req.hdr.cdw12 = htole32(sqe->cdw12);
	req.hdr.cdw13 = htole32(sqe->cdw13);
	req.hdr.cdw14 = htole32(sqe->cdw14);
	req.hdr.cdw15 = htole32(sqe->cdw15);
	if (req_len)
		memcpy(req.data, data, req_len);
	saved_timeout = timeout_begin(ep, sqe->opcode, cmd->timeout_ms);
	deadline_begin(ep);
	errno = 0;
	rc = mi_rc(nvme_mi_admin_xfer(ctrl, &req.hdr, req_len, &resp.hdr, doff, &resp_len),
		   &answer->mi_status);
	deadline_end();
	timeout_end(ep, saved_timeout);
	account(ep, rc);
	if (rc)
		return rc;
	answer->mi_status = resp.hdr.status;
	if (answer->mi_status)
		return 0;
	answer->status = (uint16_t)((le32toh(resp.hdr.cdw3) >> 17) & 0x7fff);
	answer->result = le32toh(resp.hdr.cdw0);
	answer->result_hi = le32toh(resp.hdr.cdw1);
	answer->len = resp_len < len ? (uint32_t)resp_len : len;
	if (xfer == NR_XFER_FROM_DEV)
		memcpy(data, resp.data, answer->len);
	return 0;
}

/*
 * Worker thread: a read whose data exceeds one message. NVMe-MI's answer
 * is the data offset: the same command is sent again for each 4 KiB window
 * of its data (DOFF, DLEN), so every command reads this way, log pages
 * included, without relying on the log's own offset support.
 */
static int admin_split(struct nr_mi_ep *ep, nvme_mi_ctrl_t ctrl, struct nr_cmd *cmd,
		       struct mi_answer *answer)
{
	uint8_t *data = cmd->data;
	uint32_t done = 0;

	if (cmd->xfer != NR_XFER_FROM_DEV)
		return -EMSGSIZE; /* the commands that write more are chunked by xfer_limit */
	while (done < cmd->data_len) {
		uint32_t len = cmd->data_len - done;
		int rc;
		if (len > NR_MI_XFER_MAX)
			len = NR_MI_XFER_MAX;
		rc = admin_xfer(ep, ctrl, cmd, data + done, len, done, answer);
		if (rc || answer->mi_status || answer->status)
			return rc;
		if (answer->len < len)
			break; /* the device returned less: the data ends here */
		done += len;
	}
	answer->len = done;
	return 0;
}

/* Reads without side effects on the device's state, safe to share. */
static bool admin_is_read(const struct nr_cmd *cmd)
{
	return cmd->xfer != NR_XFER_TO_DEV &&
	       (cmd->sqe.opcode == NR_ADM_IDENTIFY || cmd->sqe.opcode == NR_ADM_GET_FEATURES ||
		cmd->sqe.opcode == NR_ADM_GET_LOG_PAGE);
}

static int mi_submit(void *backend_ctrl, struct nr_cmd *cmd)
{
	struct mi_ctrl *mc = backend_ctrl;
	struct nr_mi_ep *ep = mc->ep;
	struct {
		struct nr_sqe sqe;
		uint32_t len;
		uint16_t ctrl_id;
	} key = {cmd->sqe, cmd->data_len, mc->id};
	struct mi_answer answer = {0};
	bool read = admin_is_read(cmd);
	nvme_mi_ctrl_t ctrl;
	int rc;

	if (cmd->queue != NR_QUEUE_ADMIN)
		return -EOPNOTSUPP; /* NVMe-MI carries no I/O commands */
	key.sqe.cid = 0;
	cmd->mi_status = 0;
	cmd->status = 0;
	rc = request_begin(ep, read, &key, sizeof(key), &answer, cmd->data, cmd->data_len);
	if (rc == 1)
		goto answered;
	if (rc)
		return rc;
	ctrl = mi_ep_ctrl(ep, mc->id);
	if (!ctrl)
		return -ENOMEM;
	if (cmd->data_len > NR_MI_XFER_MAX)
		rc = admin_split(ep, ctrl, cmd, &answer);
	else
		rc = admin_xfer(ep, ctrl, cmd, cmd->data, cmd->data_len, 0, &answer);
	if (rc)
		return rc;
	if (read)
		recent_store(ep, &key, sizeof(key), &answer, cmd->data);
answered:
	cmd->mi_status = answer.mi_status;
	cmd->status = answer.status;
	cmd->result = answer.result;
	cmd->result_hi = answer.result_hi;
	return answer.rc;
}

/* Worker thread: the endpoint's NVM Subsystem Health Status Poll without
 * Clear Status: a read, shared with an identical one in flight. */
static int mi_health_poll(void *backend_ctrl, struct nr_subsys_health *out)
{
	struct mi_ctrl *mc = backend_ctrl;
	struct nr_mi_cmd *cmd = calloc(1, sizeof(*cmd));
	const struct nvme_mi_nvm_ss_health_status *hs;
	int rc;

	if (!cmd)
		return -ENOMEM;
	cmd->opcode = NR_MI_HEALTH_POLL;
	rc = nr_mi_exec(mc->ep, cmd);
	hs = (const void *)cmd->data;
	*out = (struct nr_subsys_health){.mi_status = cmd->mi_status};
	if (rc == 0 && !cmd->mi_status)
		*out = (struct nr_subsys_health){.nss = hs->nss,
						 .sw = hs->sw,
						 .ctemp = hs->ctemp,
						 .pdlu = hs->pdlu,
						 .ccs = le16toh(hs->ccs)};
	free(cmd);
	return rc;
}

static void mi_ctrl_info(void *backend_ctrl, char *transport, size_t transport_len, char *address,
			 size_t address_len)
{
	struct mi_ctrl *mc = backend_ctrl;

	snprintf(transport, transport_len, "mctp");
	snprintf(address, address_len, "net %u eid %u ctrl %u", mc->ep->addr.net, mc->ep->addr.eid,
		 mc->id);
}

static int mi_admit(void *backend_ctrl)
{
	return mi_ep_admit(((struct mi_ctrl *)backend_ctrl)->ep);
}

static void mi_release(void *backend_ctrl)
{
	struct mi_ctrl *mc = backend_ctrl;

	nr_ctrl_unref(mc->ep->entry);
	mi_ep_unref(mc->ep);
	free(mc);
}

const struct nr_backend_ops nr_mi_ops = {
    .name = "mi",
    .submit = mi_submit,
    .ctrl_info = mi_ctrl_info,
    .admit = mi_admit,
    .release = mi_release,
    .relearn = nr_mi_refresh_answer,
    .health_poll = mi_health_poll,
};

/* ---- the endpoint entry ---------------------------------------------------- */

static int ep_submit(void *backend_ctrl, struct nr_cmd *cmd)
{
	return -EOPNOTSUPP; /* NVMe commands address a controller: mctp:NET,EID:CTRL */
}

static void ep_info(void *backend_ctrl, char *transport, size_t transport_len, char *address,
		    size_t address_len)
{
	struct nr_mi_ep *ep = backend_ctrl;

	snprintf(transport, transport_len, "mctp");
	snprintf(address, address_len, "net %u eid %u", ep->addr.net, ep->addr.eid);
}

static int ep_admit(void *backend_ctrl)
{
	return mi_ep_admit(backend_ctrl);
}

static void ep_release(void *backend_ctrl)
{
	mi_ep_unref(backend_ctrl);
}

const struct nr_backend_ops nr_mi_ep_ops = {
    .name = "mi",
    .submit = ep_submit,
    .ctrl_info = ep_info,
    .admit = ep_admit,
    .release = ep_release,
};

struct nr_mi_ep *nr_mi_ep_of(const struct nr_ctrl *ctrl)
{
	if (ctrl->ops == &nr_mi_ep_ops)
		return ctrl->backend_ctrl;
	if (ctrl->ops == &nr_mi_ops)
		return ((struct mi_ctrl *)ctrl->backend_ctrl)->ep;
	return NULL;
}
