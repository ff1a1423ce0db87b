/* SPDX-License-Identifier: MIT */
/*
 * Long and dangerous operations: format, sanitize and device self-test
 * (with progress polled on the loop thread and optionally streamed),
 * firmware download and commit, controller reset, and the raw admin and I/O
 * passthru.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "encode/encode_log.h"
#include "methods/job.h"
#include "nvme/nvme_cmd_admin.h"
#include "rpc/rpc_error.h"

#define NSID_ALL 0xffffffffu
#define POLL_MS 200u
#define PASSTHRU_DATA_MAX (1024u * 1024u)
#define FW_CHUNK_MAX (256u * 1024u)

#define OACS_FORMAT (1u << 1)
#define OACS_FW (1u << 2)
#define OACS_SELF_TEST (1u << 4)

/* ---- progress polling -------------------------------------------------- */

enum longop_kind { LONGOP_SANITIZE, LONGOP_SELF_TEST };

/* The poll timer: its own allocation, freed in its close callback, holding
 * a reference on the call; it closes itself once the call has ended. */
struct poll_timer {
	uv_timer_t handle;
	struct nr_call *call;
	bool busy; /* a poll command is queued or running */
	bool closing;
};

struct longop {
	enum longop_kind kind;
	const char *action;
	bool answer_now; /* answer when accepted (no wait, or a self-test abort) */
	struct poll_timer *timer;
	uint8_t log[NR_SELF_TEST_LOG_SIZE];
};

static void poll_closed(uv_handle_t *handle)
{
	struct poll_timer *t = handle->data;

	nr_call_unref(t->call);
	free(t);
}

static void poll_close(struct poll_timer *t)
{
	if (t->closing)
		return;
	t->closing = true;
	uv_timer_stop(&t->handle);
	uv_close((uv_handle_t *)&t->handle, poll_closed);
}

static json_t *longop_log_json(const struct longop *op)
{
	return op->kind == LONGOP_SANITIZE ? nr_enc_sanitize_log(op->log)
					   : nr_enc_self_test_log(op->log);
}

/* Returns whether the operation still runs; sets the progress item. */
static bool longop_progress(const struct longop *op, json_t **item)
{
	unsigned sstat = op->log[2] & 7u;
	unsigned sprog = (unsigned)(op->log[0] | op->log[1] << 8);

	if (op->kind == LONGOP_SANITIZE) {
		*item = json_pack("{s:i, s:s, s:i}", "percent", (int)(sprog * 100u / 65536u),
				  "status", nr_sanitize_status_name(sstat), "sprog", (int)sprog);
		return sstat == 2;
	}
	*item = json_pack("{s:i, s:s, s:i}", "percent", op->log[1] & 0x7f, "status",
			  (op->log[0] & 0xf) ? "in_progress" : "done", "current_operation",
			  op->log[0] & 0xf);
	return (op->log[0] & 0xf) != 0;
}

static void longop_polled(struct nr_call *call, struct nr_job *job)
{
	struct longop *op = job->state;
	json_t *item = NULL, *result;
	bool running = longop_progress(op, &item);

	op->timer->busy = false;
	if (call->stream && item)
		nr_call_stream_item(call, item);
	json_decref(item);
	if (running || nr_call_ended(call))
		return;
	poll_close(op->timer);
	result = longop_log_json(op);
	json_object_set_new(result, "action", json_string(op->action));
	nr_call_result(call, result);
}

static void poll_tick(uv_timer_t *handle)
{
	struct poll_timer *t = handle->data;
	struct nr_call *call = t->call;
	struct nr_job *job = call->ctx;
	struct longop *op = job->state;
	struct nr_log_args args = {.nsid = NSID_ALL};

	if (nr_call_ended(call)) {
		poll_close(t);
		return;
	}
	if (t->busy)
		return;
	args.lid =
	    op->kind == LONGOP_SANITIZE ? NVME_LOG_LID_SANITIZE : NVME_LOG_LID_DEVICE_SELF_TEST;
	nr_cmd_get_log_page(&job->cmd, &args, op->log,
			    op->kind == LONGOP_SANITIZE ? NR_SANITIZE_LOG_SIZE
							: NR_SELF_TEST_LOG_SIZE);
	job->work = NULL;
	job->next = longop_polled;
	job->what = op->kind == LONGOP_SANITIZE ? "Sanitize Status log" : "Device Self-test log";
	t->busy = true;
	nr_job_submit(call);
}

/* The command was accepted: answer now, or poll until it is done. */
static void longop_accepted(struct nr_call *call, struct nr_job *job)
{
	struct longop *op = job->state;
	struct poll_timer *t;

	if (op->answer_now) {
		nr_call_result(call,
			       json_pack("{s:s, s:b}", "action", op->action, "accepted", true));
		return;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return;
	}
	uv_timer_init(call->svc->loop, &t->handle);
	t->handle.data = t;
	t->call = call;
	nr_call_ref(call);
	op->timer = t;
	uv_timer_start(&t->handle, poll_tick, 0, POLL_MS);
}

/* Returns a job with a longop state, or NULL after ending the call. */
static struct nr_job *longop_new(struct nr_call *call, enum longop_kind kind, const char *action,
				 const char *what)
{
	struct nr_job *job = nr_job_new(call, 0, sizeof(struct longop), NULL, what);
	struct longop *op = job ? job->state : NULL;

	if (!job)
		return NULL;
	op->kind = kind;
	op->action = action;
	op->answer_now = !nr_param_bool(call, "wait");
	job->next = longop_accepted;
	return job;
}

static const char *const sanitize_actions[] = {
    [1] = "exit_failure", [2] = "block", [3] = "overwrite", [4] = "crypto"};
/* SANICAP bit per action: crypto erase 0, block erase 1, overwrite 2. */
static const int sanicap_bits[] = {[1] = -1, [2] = 1, [3] = 2, [4] = 0};

void nr_m_nvme_sanitize(struct nr_call *call)
{
	int action = nr_param_enum(call, "action", sanitize_actions, 5, 0);
	struct nr_sanitize_args args = {.sanact = (uint8_t)action};
	struct nr_job *job;

	if (action <= 0) {
		nr_call_invalid(call, "params.action", "unknown action");
		return;
	}
	if ((call->dev.ctrl->sanicap & 7u) == 0 ||
	    (sanicap_bits[action] >= 0 && !(call->dev.ctrl->sanicap >> sanicap_bits[action] & 1))) {
		nr_call_unsupported(call,
				    "the controller does not support this sanitize "
				    "action",
				    "SANICAP");
		return;
	}
	args.ause = nr_param_bool(call, "ause");
	args.owpass = (uint8_t)nr_param_u64(call, "owpass", 0);
	args.oipbp = nr_param_bool(call, "oipbp");
	args.nodas = nr_param_bool(call, "nodas");
	args.ovrpat = (uint32_t)nr_param_u64(call, "ovrpat", 0);
	job = longop_new(call, LONGOP_SANITIZE, sanitize_actions[action], "Sanitize");
	if (!job)
		return;
	nr_cmd_sanitize(&job->cmd, &args);
	nr_job_submit(call);
}

static const char *const self_test_actions[16] = {[1] = "short", [2] = "extended", [0xf] = "abort"};

void nr_m_nvme_self_test(struct nr_call *call)
{
	int stc = nr_param_enum(call, "action", self_test_actions, 16, 0);
	struct nr_job *job;

	if (stc <= 0) {
		nr_call_invalid(call, "params.action", "unknown action");
		return;
	}
	if (!(call->dev.ctrl->oacs & OACS_SELF_TEST)) {
		nr_call_unsupported(call, "the controller does not support device self-test",
				    "OACS bit 4 is clear");
		return;
	}
	job = longop_new(call, LONGOP_SELF_TEST, self_test_actions[stc], "Device Self-test");
	if (!job)
		return;
	if (stc == 0xf)
		((struct longop *)job->state)->answer_now = true;
	nr_cmd_self_test(&job->cmd, nr_param_nsid(call, NSID_ALL), (uint8_t)stc);
	nr_job_submit(call);
}

/* ---- format ------------------------------------------------------------ */

struct format_state {
	uint32_t nsid;
	uint8_t lbaf;
};

static json_t *format_encode(struct nr_call *call, struct nr_job *job)
{
	json_t *done = json_pack("{s:i, s:s}", "percent", 100, "status", "done");

	if (call->stream && done)
		nr_call_stream_item(call, done);
	json_decref(done);
	const struct format_state *st = job->state;

	return json_pack("{s:I, s:I, s:b}", "nsid", (json_int_t)st->nsid, "lbaf",
			 (json_int_t)st->lbaf, "done", true);
}

void nr_m_nvme_format(struct nr_call *call)
{
	uint8_t ses = (uint8_t)nr_param_u64(call, "ses", 0);
	uint32_t nsid = nr_param_nsid(call, NSID_ALL);
	struct format_state *st;
	struct nr_job *job;

	if (!(call->dev.ctrl->oacs & OACS_FORMAT)) {
		nr_call_unsupported(call, "the controller does not support Format NVM",
				    "OACS bit 1 is clear");
		return;
	}
	if (ses == 2 && !(call->dev.ctrl->fna & 4u)) {
		nr_call_unsupported(call,
				    "the controller does not support cryptographic "
				    "erase",
				    "FNA bit 2 is clear");
		return;
	}
	job = nr_job_new(call, 0, sizeof(struct format_state), format_encode, "Format NVM");
	if (!job)
		return;
	st = job->state;
	st->nsid = nsid;
	st->lbaf = (uint8_t)nr_param_u64(call, "lbaf", 0);
	nr_cmd_format(&job->cmd, nsid, st->lbaf, (uint8_t)nr_param_u64(call, "mset", 0),
		      (uint8_t)nr_param_u64(call, "pi", 0), (uint8_t)nr_param_u64(call, "pil", 0),
		      ses);
	job->cmd.timeout_ms = call->svc->limits.timeout_ms;
	job->refresh = true;
	nr_job_submit(call);
}

/* ---- firmware ---------------------------------------------------------- */

/* Bytes per Firmware Image Download: within MDTS and a multiple of FWUG
 * (in 4 KiB units; 0 means not reported and FFh no restriction). */
static uint32_t fw_chunk(const struct nr_ctrl *ctrl)
{
	uint32_t max = nr_ctrl_max_write(ctrl, FW_CHUNK_MAX);
	uint32_t gran = ctrl->fwug && ctrl->fwug != 0xff ? ctrl->fwug * 4096u : 4096u;

	return max >= gran ? max / gran * gran : max;
}

struct fw_download_state {
	uint64_t offset;   /* in the image, of the first byte sent */
	uint32_t chunk;	   /* bytes per command */
	uint64_t len;	   /* bytes to send, in job->extra */
	unsigned commands; /* sent so far */
};

/* Worker thread: the image in chunks. */
static int fw_download_work(struct nr_call *call, struct nr_job *job)
{
	struct fw_download_state *st = job->state;
	int rc = 0;

	st->commands = 0;
	for (uint64_t at = 0; at < st->len && rc == 0; at += st->chunk) {
		uint32_t n = st->len - at < st->chunk ? (uint32_t)(st->len - at) : st->chunk;
		nr_cmd_fw_download(&job->cmd, (uint32_t)(st->offset + at), job->extra + at, n);
		rc = nr_job_send(call, &job->cmd);
		st->commands++;
	}
	return rc;
}

static json_t *fw_download_encode(struct nr_call *call, struct nr_job *job)
{
	const struct fw_download_state *st = job->state;

	return json_pack("{s:I, s:I, s:I, s:I}", "offset", (json_int_t)st->offset, "bytes",
			 (json_int_t)st->len, "chunk_size", (json_int_t)st->chunk, "commands",
			 (json_int_t)st->commands);
}

void nr_m_nvme_fw_download(struct nr_call *call)
{
	const char *image = json_string_value(json_object_get(call->params, "image"));
	size_t len = strlen(image);
	struct fw_download_state *st;
	struct nr_job *job;
	long n;

	if (!(call->dev.ctrl->oacs & OACS_FW)) {
		nr_call_unsupported(call,
				    "the controller does not support firmware "
				    "download",
				    "OACS bit 2 is clear");
		return;
	}
	job = nr_job_new(call, 0, sizeof(struct fw_download_state), fw_download_encode,
			 "Firmware Image Download");
	if (!job)
		return;
	job->extra = malloc(NR_BASE64_DECODED_MAX(len));
	n = job->extra ? nr_base64_decode(image, len, job->extra) : -ENOMEM;
	if (n <= 0 || n % 4) {
		nr_call_invalid(call, "params.image",
				"must be canonical base64 of a non-empty image whose "
				"length is a multiple of 4 bytes");
		return;
	}
	st = job->state;
	st->offset = nr_param_u64(call, "offset", 0);
	st->chunk = fw_chunk(call->dev.ctrl);
	st->len = (uint64_t)n;
	job->work = fw_download_work;
	nr_job_submit(call);
}

static const char *const commit_actions[] = {
    "replace",
    "replace_activate",
    "activate",
    "replace_activate_immediate",
};

struct fw_commit_state {
	uint8_t slot;
	uint8_t action; /* index into commit_actions */
};

static json_t *fw_commit_encode(struct nr_call *call, struct nr_job *job)
{
	const struct fw_commit_state *st = job->state;

	return json_pack("{s:I, s:s, s:I}", "slot", (json_int_t)st->slot, "action",
			 commit_actions[st->action], "cdw0", (json_int_t)job->cmd.result);
}

void nr_m_nvme_fw_commit(struct nr_call *call)
{
	json_t *action = json_object_get(call->params, "action");
	int ca = json_is_integer(action) ? (int)json_integer_value(action)
					 : nr_param_enum(call, "action", commit_actions, 4, 0);
	uint64_t slot = nr_param_u64(call, "slot", 0);
	struct fw_commit_state *st;
	struct nr_job *job;

	if (!(call->dev.ctrl->oacs & OACS_FW)) {
		nr_call_unsupported(call, "the controller does not support firmware commit",
				    "OACS bit 2 is clear");
		return;
	}
	if (slot > (call->dev.ctrl->frmw >> 1 & 7u)) {
		nr_call_invalid(call, "params.slot", "above the controller's slot count");
		return;
	}
	job = nr_job_new(call, 0, sizeof(struct fw_commit_state), fw_commit_encode,
			 "Firmware Commit");
	if (!job)
		return;
	st = job->state;
	st->slot = (uint8_t)slot;
	st->action = (uint8_t)ca;
	nr_cmd_fw_commit(&job->cmd, (uint8_t)slot, (uint8_t)ca, false);
	nr_job_submit(call);
}

/* ---- reset ------------------------------------------------------------- */

static int reset_work(struct nr_call *call, struct nr_job *job)
{
	return call->dev.ctrl->ops->reset(call->dev.ctrl->backend_ctrl);
}

static json_t *reset_encode(struct nr_call *call, struct nr_job *job)
{
	return json_pack("{s:s}", "device", call->dev.ctrl->name);
}

void nr_m_nvme_reset(struct nr_call *call)
{
	struct nr_job *job;

	if (!call->dev.ctrl->ops->reset) {
		nr_call_error(call, nr_rpc_error_object(
					NR_E_NOT_SUPPORTED,
					"the device's backend cannot reset a controller",
					json_pack("{s:s}", "backend", call->dev.ctrl->ops->name)));
		return;
	}
	job = nr_job_new(call, 0, 0, reset_encode, "controller reset");
	if (!job)
		return;
	job->work = reset_work;
	job->refresh = true;
	nr_job_submit(call);
}

/* ---- raw passthru ------------------------------------------------------ */

static const char *const cdw_keys[] = {"cdw2",	"cdw3",	 "cdw10", "cdw11",
				       "cdw12", "cdw13", "cdw14", "cdw15"};

static json_t *passthru_encode(struct nr_call *call, struct nr_job *job)
{
	json_t *result =
	    json_pack("{s:I, s:i}", "cdw0", (json_int_t)job->cmd.result, "status", job->cmd.status);
	size_t len = job->cmd.xfer == NR_XFER_FROM_DEV ? job->cmd.data_len : 0;
	char *text = malloc(NR_BASE64_ENCODED_LEN(len) + 1);

	if (result && text)
		json_object_set_new(
		    result, "data",
		    json_stringn_nocheck(text, nr_base64_encode(job->buf, len, text)));
	free(text);
	return result;
}

/* The SQE from the params. */
static void passthru_sqe(struct nr_call *call, struct nr_sqe *sqe)
{
	uint32_t *dwords[] = {&sqe->cdw2,  &sqe->cdw3,	&sqe->cdw10, &sqe->cdw11,
			      &sqe->cdw12, &sqe->cdw13, &sqe->cdw14, &sqe->cdw15};

	sqe->opcode = (uint8_t)nr_param_u64(call, "opcode", 0);
	sqe->nsid = nr_param_nsid(call, 0);
	for (size_t i = 0; i < sizeof(dwords) / sizeof(dwords[0]); i++)
		*dwords[i] = (uint32_t)nr_param_u64(call, cdw_keys[i], 0);
}

static void passthru_start(struct nr_call *call, enum nr_queue queue)
{
	const char *data = json_string_value(json_object_get(call->params, "data"));
	uint64_t data_len = nr_param_u64(call, "data_len", 0);
	struct nr_job *job;
	long n = 0;

	if (data && data_len) {
		nr_call_invalid(call, "params.data_len",
				"pass data (to the controller) or data_len (from it), "
				"not both");
		return;
	}
	job = nr_job_new(call, data ? NR_BASE64_DECODED_MAX(strlen(data)) : data_len, 0,
			 passthru_encode,
			 queue == NR_QUEUE_ADMIN ? "admin passthru" : "I/O passthru");
	if (!job)
		return;
	if (data && (n = nr_base64_decode(data, strlen(data), job->buf)) < 0) {
		nr_call_invalid(call, "params.data", "is not canonical base64");
		return;
	}
	job->cmd.queue = queue;
	passthru_sqe(call, &job->cmd.sqe);
	job->cmd.xfer = data ? NR_XFER_TO_DEV : data_len ? NR_XFER_FROM_DEV : NR_XFER_NONE;
	job->cmd.data = job->cmd.xfer != NR_XFER_NONE ? job->buf : NULL;
	job->cmd.data_len = data ? (uint32_t)n : (uint32_t)data_len;
	job->cmd.timeout_ms = (uint32_t)nr_param_u64(call, "timeout_ms", 0);
	nr_job_submit(call);
}

void nr_m_nvme_admin_passthru(struct nr_call *call)
{
	passthru_start(call, NR_QUEUE_ADMIN);
}

void nr_m_nvme_io_passthru(struct nr_call *call)
{
	if (!call->dev.ns && !json_object_get(call->params, "nsid")) {
		nr_call_invalid(call, "params.nsid", "is required when device is a controller");
		return;
	}
	passthru_start(call, NR_QUEUE_IO);
}
