/* SPDX-License-Identifier: MIT */
/*
 * Log pages: decoded (error, firmware slot, effects, self-test, sanitize,
 * changed namespaces) and raw (nvme.get_log, telemetry, persistent event),
 * the raw ones read in chunks no larger than MDTS and streamed as base64.
 * They set Retain Asynchronous Event: reading a log is not acknowledging its
 * event. Only nvme.get_log and the changed lists clear one, when asked to
 * with rae: false (a write-class call).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "encode/encode_log.h"
#include "methods/job.h"
#include "nvme/nvme_cmd_admin.h"
#include "rpc/rpc_error.h"

#define NSID_ALL 0xffffffffu
#define LOG_CHUNK_MAX (64u * 1024u)    /* bytes per Get Log Page and per item */
#define LOG_INLINE_MAX (1024u * 1024u) /* a non-streamed raw log, at most */
#define LOG_HDR_SIZE 512u
#define ITEM_HEAD_MAX 96u /* {"offset":N,"length":N,"data":"..."} less the data */

#define LPA_EFFECTS (1u << 1)
#define LPA_TELEMETRY (1u << 3)
#define LPA_PEL (1u << 4)
#define OACS_SELF_TEST (1u << 4)

/* Starts a job reading one log page of @len bytes into its buffer. */
static void decoded_log(struct nr_call *call, const struct nr_log_args *args, uint32_t len,
			nr_job_encode_fn encode, const char *what)
{
	struct nr_job *job = nr_job_new(call, len, 0, encode, what);

	if (!job)
		return;
	nr_cmd_get_log_page(&job->cmd, args, job->buf, len);
	nr_job_submit(call);
}

static json_t *error_encode(struct nr_call *call, struct nr_job *job)
{
	return nr_enc_error_log(job->buf, job->buf_len / NR_ERROR_LOG_ENTRY_SIZE);
}

void nr_m_nvme_error_log(struct nr_call *call)
{
	uint64_t supported = (uint64_t)call->dev.ctrl->elpe + 1;
	uint64_t entries = nr_param_u64(call, "entries", supported);
	struct nr_log_args args = {.lid = NVME_LOG_LID_ERROR, .nsid = NSID_ALL, .rae = true};

	if (entries > supported)
		entries = supported;
	decoded_log(call, &args, (uint32_t)entries * NR_ERROR_LOG_ENTRY_SIZE, error_encode,
		    "Error Information log");
}

static json_t *fw_encode(struct nr_call *call, struct nr_job *job)
{
	return nr_enc_fw_log(job->buf);
}

void nr_m_nvme_fw_log(struct nr_call *call)
{
	struct nr_log_args args = {.lid = NVME_LOG_LID_FW_SLOT, .nsid = NSID_ALL, .rae = true};

	decoded_log(call, &args, NR_FW_LOG_SIZE, fw_encode, "Firmware Slot Information log");
}

static json_t *effects_encode(struct nr_call *call, struct nr_job *job)
{
	return nr_enc_effects_log(job->buf, (uint8_t)(job->cmd.sqe.cdw14 >> 24));
}

void nr_m_nvme_effects_log(struct nr_call *call)
{
	struct nr_log_args args = {.lid = NVME_LOG_LID_CMD_EFFECTS,
				   .nsid = NSID_ALL,
				   .rae = true,
				   .csi = (uint8_t)nr_param_u64(call, "csi", NR_CSI_NVM)};

	if (!(call->dev.ctrl->lpa & LPA_EFFECTS)) {
		nr_call_unsupported(call,
				    "the controller has no Commands Supported and "
				    "Effects log",
				    "LPA bit 1 is clear");
		return;
	}
	decoded_log(call, &args, NR_EFFECTS_LOG_SIZE, effects_encode,
		    "Commands Supported and Effects log");
}

static json_t *self_test_encode(struct nr_call *call, struct nr_job *job)
{
	return nr_enc_self_test_log(job->buf);
}

void nr_m_nvme_self_test_log(struct nr_call *call)
{
	struct nr_log_args args = {
	    .lid = NVME_LOG_LID_DEVICE_SELF_TEST, .nsid = NSID_ALL, .rae = true};

	if (!(call->dev.ctrl->oacs & OACS_SELF_TEST)) {
		nr_call_unsupported(call, "the controller does not support device self-test",
				    "OACS bit 4 is clear");
		return;
	}
	decoded_log(call, &args, NR_SELF_TEST_LOG_SIZE, self_test_encode, "Device Self-test log");
}

static json_t *sanitize_encode(struct nr_call *call, struct nr_job *job)
{
	return nr_enc_sanitize_log(job->buf);
}

void nr_m_nvme_sanitize_log(struct nr_call *call)
{
	struct nr_log_args args = {.lid = NVME_LOG_LID_SANITIZE, .nsid = NSID_ALL, .rae = true};

	if ((call->dev.ctrl->sanicap & 7u) == 0) {
		nr_call_unsupported(call, "the controller does not support sanitize",
				    "SANICAP bits 2:0 are clear");
		return;
	}
	decoded_log(call, &args, NR_SANITIZE_LOG_SIZE, sanitize_encode, "Sanitize Status log");
}

static json_t *changed_encode(struct nr_call *call, struct nr_job *job)
{
	return nr_enc_changed_ns_list(job->buf);
}

void nr_m_nvme_changed_ns_list(struct nr_call *call)
{
	struct nr_log_args args = {
	    .lid = NVME_LOG_LID_CHANGED_NS, .nsid = NSID_ALL, .rae = nr_param_rae(call)};

	decoded_log(call, &args, NR_CHANGED_NS_LOG_SIZE, changed_encode,
		    "Changed Namespace List log");
}

/* ---- raw logs ---------------------------------------------------------- */

struct rawlog;
/* Reads the total length from a log's header; 0 when it has no data. */
typedef uint64_t (*rawlog_measure_fn)(const struct nr_call *call, const uint8_t *hdr);

struct rawlog {
	struct nr_cmd cmd;
	struct nr_log_args args; /* args.offset moves as chunks come in */
	const char *what;
	uint64_t start, end; /* bytes [start, end) */
	uint32_t chunk_max;
	uint32_t want; /* bytes asked in the command in flight */
	rawlog_measure_fn measure;
	uint8_t hdr_lsp;  /* LSP of the header read (telemetry create, PEL context) */
	bool failed_over; /* a chunk went again through another path */
	bool reading_hdr;
	uint8_t *data; /* the chunk in flight, or the whole log when not streamed */
	size_t data_cap;
	json_t *summary; /* keys the final answer adds */
};

static void rawlog_free(void *ctx)
{
	struct rawlog *r = ctx;

	json_decref(r->summary);
	free(r->data);
	free(r);
}

static int rawlog_work(struct nr_call *call)
{
	struct rawlog *r = call->ctx;

	return call->dev.ctrl->ops->submit(call->dev.ctrl->backend_ctrl, &r->cmd);
}

static void rawlog_done(struct nr_call *call, int rc);

/* Where the bytes of the next command go. */
static uint8_t *rawlog_dest(const struct nr_call *call, const struct rawlog *r)
{
	return call->stream || r->reading_hdr ? r->data : r->data + (r->args.offset - r->start);
}

static void rawlog_next(struct nr_call *call)
{
	struct rawlog *r = call->ctx;
	struct nr_log_args args = r->args;
	uint64_t left = r->end - r->args.offset;
	int rc;

	r->want = r->reading_hdr	? LOG_HDR_SIZE
		  : left < r->chunk_max ? (uint32_t)left
					: r->chunk_max;
	if (r->reading_hdr) {
		args.lsp = r->hdr_lsp;
		args.offset = 0;
	}
	nr_cmd_get_log_page(&r->cmd, &args, rawlog_dest(call, r), r->want);
	rc = nr_exec_submit(call, call->dev.ctrl, rawlog_work, rawlog_done);
	if (rc)
		nr_call_fail_cmd(call, rc, NULL, r->what);
}

/* Returns a new base64 string of @len bytes, or NULL. */
static json_t *base64_json(const uint8_t *bytes, size_t len)
{
	char *text = malloc(NR_BASE64_ENCODED_LEN(len) + 1);
	json_t *value;

	if (!text)
		return NULL;
	value = json_stringn_nocheck(text, nr_base64_encode(bytes, len, text));
	free(text);
	return value;
}

static int rawlog_stream_chunk(struct nr_call *call, struct rawlog *r)
{
	size_t len;
	char *text =
	    nr_call_stream_begin(call, ITEM_HEAD_MAX + NR_BASE64_ENCODED_LEN(r->want), &len);

	if (!text)
		return -ENOMEM;
	len += (size_t)snprintf(text + len, ITEM_HEAD_MAX,
				"{\"offset\":%llu,\"length\":%u,\"data\":\"",
				(unsigned long long)r->args.offset, r->want);
	len += nr_base64_encode(r->data, r->want, text + len);
	text[len++] = '"';
	text[len++] = '}';
	return nr_call_stream_send(call, text, len);
}

static void rawlog_finish(struct nr_call *call, struct rawlog *r)
{
	json_t *result = json_pack("{s:i, s:I, s:I}", "lid", r->args.lid, "offset",
				   (json_int_t)r->start, "length", (json_int_t)(r->end - r->start));

	json_object_update(result, r->summary);
	if (call->stream)
		json_object_set_new(result, "chunks", json_integer(call->stream_seq));
	else
		json_object_set_new(result, "data", base64_json(r->data, r->end - r->start));
	nr_call_result(call, result);
}

/* Sizes the buffers for [start, end): a chunk when streamed, else the whole. */
static int rawlog_size(struct nr_call *call, struct rawlog *r)
{
	size_t need = call->stream ? r->chunk_max : (size_t)(r->end - r->start);
	uint8_t *grown;

	if (need <= r->data_cap)
		return 0;
	grown = realloc(r->data, need);
	if (!grown)
		return -ENOMEM;
	r->data = grown;
	r->data_cap = need;
	return 0;
}

static void rawlog_too_large(struct nr_call *call, uint64_t length)
{
	nr_call_error(call,
		      nr_rpc_error_object(NR_E_RESULT_TOO_LARGE,
					  "log larger than the inline limit: pass stream: true",
					  json_pack("{s:I, s:I}", "length", (json_int_t)length,
						    "limit", (json_int_t)LOG_INLINE_MAX)));
}

/* The header came in: sets the range to the whole log it announces. */
static void rawlog_header(struct nr_call *call, struct rawlog *r)
{
	r->reading_hdr = false;
	r->start = 0;
	r->args.offset = 0;
	r->end = r->measure(call, r->data);
	if (!call->stream && r->end > LOG_INLINE_MAX) {
		rawlog_too_large(call, r->end);
		return;
	}
	if (rawlog_size(call, r)) {
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return;
	}
	if (r->end == 0) {
		rawlog_finish(call, r);
		return;
	}
	rawlog_next(call);
}

static void rawlog_done(struct nr_call *call, int rc)
{
	struct rawlog *r = call->ctx;

	/* A read chunk goes again through another path of the namespace. */
	if (rc == -ENODEV && call->cls == NR_CLASS_READ &&
	    nr_call_failover(call, &r->failed_over)) {
		rawlog_next(call);
		return;
	}
	if (nr_call_fail_cmd(call, rc, &r->cmd, r->what))
		return;
	if (r->reading_hdr) {
		rawlog_header(call, r);
		return;
	}
	if (call->stream && rawlog_stream_chunk(call, r) == -ENOMEM) {
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return;
	}
	if (nr_call_ended(call))
		return;
	r->args.offset += r->want;
	if (r->args.offset >= r->end) {
		rawlog_finish(call, r);
		return;
	}
	if (nr_call_backlogged(call)) {
		nr_call_pause(call, rawlog_next);
		return;
	}
	rawlog_next(call);
}

/* Returns the context (owned by the call) or NULL after ending the call. */
static struct rawlog *rawlog_new(struct nr_call *call, const char *what)
{
	struct rawlog *r = calloc(1, sizeof(*r));

	if (!r) {
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return NULL;
	}
	call->ctx = r;
	call->ctx_free = rawlog_free;
	r->what = what;
	r->summary = json_object();
	r->chunk_max = nr_ctrl_max_xfer(call->dev.ctrl, LOG_CHUNK_MAX);
	return r;
}

/* Starts reading: the header first when @r->measure is set. */
static void rawlog_start(struct nr_call *call, struct rawlog *r)
{
	r->reading_hdr = r->measure != NULL;
	if (r->reading_hdr ? (r->data = malloc(LOG_HDR_SIZE)) == NULL : rawlog_size(call, r) != 0) {
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return;
	}
	if (r->reading_hdr)
		r->data_cap = LOG_HDR_SIZE;
	if (!r->reading_hdr && r->end == r->start) {
		rawlog_finish(call, r);
		return;
	}
	rawlog_next(call);
}

void nr_m_nvme_get_log(struct nr_call *call)
{
	uint64_t length = nr_param_u64(call, "length", 0);
	struct rawlog *r;

	if (length % 4) {
		nr_call_invalid(call, "params.length", "must be a multiple of 4");
		return;
	}
	if (!call->stream && length > LOG_INLINE_MAX) {
		rawlog_too_large(call, length);
		return;
	}
	r = rawlog_new(call, "Get Log Page");
	if (!r)
		return;
	r->args = (struct nr_log_args){
	    .lid = (uint8_t)nr_param_u64(call, "lid", 0),
	    .lsp = (uint8_t)nr_param_u64(call, "lsp", 0),
	    .lsi = (uint16_t)nr_param_u64(call, "lsi", 0),
	    .rae = nr_param_rae(call),
	    .csi = (uint8_t)nr_param_u64(call, "csi", 0),
	    .nsid = nr_param_nsid(call, NSID_ALL),
	    .offset = nr_param_u64(call, "offset", 0),
	};
	r->start = r->args.offset;
	r->end = r->start + length;
	rawlog_start(call, r);
}

static uint64_t le_at(const uint8_t *buf, size_t offset, size_t size)
{
	uint64_t value = 0;

	while (size--)
		value = value << 8 | buf[offset + size];
	return value;
}

/* Telemetry header: Data Area 1..3 Last Block at bytes 8, 10, 12 (512-byte
 * blocks, the header being block 0). */
static uint64_t telemetry_measure(const struct nr_call *call, const uint8_t *hdr)
{
	unsigned area = (unsigned)nr_param_u64(call, "data_area", 3);
	uint64_t last = le_at(hdr, 8 + 2 * (area - 1), 2);
	struct rawlog *r = call->ctx;

	json_object_set_new(r->summary, "data_area", json_integer(area));
	json_object_set_new(r->summary, "last_block", json_integer((json_int_t)last));
	return (last + 1) * LOG_HDR_SIZE;
}

void nr_m_nvme_telemetry_log(struct nr_call *call)
{
	bool host = !json_is_false(json_object_get(call->params, "host_initiated"));
	struct rawlog *r;

	if (!(call->dev.ctrl->lpa & LPA_TELEMETRY)) {
		nr_call_unsupported(call, "the controller has no telemetry logs",
				    "LPA bit 3 is clear");
		return;
	}
	if (!host && nr_param_bool(call, "create")) {
		nr_call_invalid(call, "params.create",
				"only the host-initiated log is created by the host");
		return;
	}
	r = rawlog_new(call, host ? "Telemetry Host-Initiated log"
				  : "Telemetry Controller-Initiated log");
	if (!r)
		return;
	r->args.lid = host ? NVME_LOG_LID_TELEMETRY_HOST : NVME_LOG_LID_TELEMETRY_CTRL;
	r->args.nsid = NSID_ALL;
	r->args.rae = true;
	r->hdr_lsp = host && nr_param_bool(call, "create") ? 1 : 0;
	r->measure = telemetry_measure;
	rawlog_start(call, r);
}

static const char *const pel_actions[] = {"read", "establish", "release"};

/* Persistent Event log header: Total Number of Events at byte 4, Total Log
 * Length at byte 8. */
static uint64_t pel_measure(const struct nr_call *call, const uint8_t *hdr)
{
	struct rawlog *r = call->ctx;

	json_object_set_new(r->summary, "tnev", json_integer((json_int_t)le_at(hdr, 4, 4)));
	return le_at(hdr, 8, 8) & ~3ull;
}

static json_t *pel_release_encode(struct nr_call *call, struct nr_job *job)
{
	return json_pack("{s:s}", "action", "release");
}

void nr_m_nvme_persistent_event_log(struct nr_call *call)
{
	int action = nr_param_enum(call, "action", pel_actions, 3, 0);
	struct nr_log_args release = {.lid = NVME_LOG_LID_PERSISTENT_EVENT, .lsp = 2, .rae = true};
	struct rawlog *r;

	if (!(call->dev.ctrl->lpa & LPA_PEL)) {
		nr_call_unsupported(call, "the controller has no persistent event log",
				    "LPA bit 4 is clear");
		return;
	}
	if (action == 2) {
		decoded_log(call, &release, LOG_HDR_SIZE, pel_release_encode,
			    "Persistent Event log (release context)");
		return;
	}
	r = rawlog_new(call, "Persistent Event log");
	if (!r)
		return;
	r->args.lid = NVME_LOG_LID_PERSISTENT_EVENT;
	r->args.rae = true;
	r->hdr_lsp = (uint8_t)action;
	r->measure = pel_measure;
	rawlog_start(call, r);
}
