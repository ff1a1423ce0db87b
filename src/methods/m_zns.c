/* SPDX-License-Identifier: MIT */
/*
 * Zoned namespaces. Report Zones fetches the report in partial chunks so
 * memory stays flat however many zones the namespace has; streamed, each
 * chunk becomes one rpc.stream notification and production pauses while the
 * peer is behind.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "encode/encode.h"
#include "methods/handlers.h"
#include "methods/job.h"
#include "nvme/nvme_cmd_admin.h"
#include "rpc/rpc_error.h"

#define ZONE_CHUNK 4096u /* descriptors per Zone Management Receive */
#define ZONE_DESC_SIZE 64u
#define ZONE_HDR_SIZE 64u
/* Report bytes per chunk: extended reports fit fewer, larger entries. */
#define ZONE_CHUNK_BYTES (ZONE_CHUNK * ZONE_DESC_SIZE)
#define ZONE_EXT_TEXT_PAD 10u /* ,"ext":"" */

static const char *const state_filters[] = {
    [NR_ZRASF_ALL] = "all",
    [NR_ZRASF_EMPTY] = "empty",
    [NR_ZRASF_IMPL_OPEN] = "implicitly_open",
    [NR_ZRASF_EXPL_OPEN] = "explicitly_open",
    [NR_ZRASF_CLOSED] = "closed",
    [NR_ZRASF_FULL] = "full",
    [NR_ZRASF_READ_ONLY] = "read_only",
    [NR_ZRASF_OFFLINE] = "offline",
};

struct report {
	struct nr_cmd cmd;
	enum nr_zrasf filter;
	uint64_t next_slba;
	uint64_t total;	    /* zones answered so far */
	uint64_t cap;	    /* stop after this many */
	bool cap_is_error;  /* reaching cap + 1 means ResultTooLarge */
	uint32_t want;	    /* descriptors asked in the chunk in flight */
	uint32_t ext_bytes; /* extension after each descriptor, 0 if not extended */
	uint32_t chunk;	    /* entries per Zone Management Receive */
	json_t *zone_list;  /* not streamed: the whole answer */
	bool device_count;  /* partial: false: nr_zones is the device's count */
	bool counted;	    /* the first (non-partial) report gave it */
	uint64_t matching;  /* that count: every matching zone from slba */
	bool failed_over;   /* a chunk went again through another path */
	_Alignas(8) unsigned char buf[ZONE_HDR_SIZE + ZONE_CHUNK_BYTES];
};

static void report_free(void *ctx)
{
	struct report *r = ctx;

	json_decref(r->zone_list);
	free(r);
}

static enum nr_zrasf filter_parse(const json_t *state)
{
	for (size_t i = 0; state && i < sizeof(state_filters) / sizeof(state_filters[0]); i++) {
		if (strcmp(state_filters[i], json_string_value(state)) == 0)
			return (enum nr_zrasf)i;
	}
	return NR_ZRASF_ALL;
}

/* Returns true when @call addresses a zoned namespace; ends the call if not. */
static bool require_zoned(struct nr_call *call)
{
	if (!call->dev.ns) {
		nr_call_invalid(call, "params.device", "must be a namespace, not a controller");
		return false;
	}
	if (call->dev.ns->csi != NR_CSI_ZNS || call->dev.ns->zone_size == 0) {
		nr_call_fail(call, NR_E_NOT_SUPPORTED, "%s is not a zoned namespace",
			     call->dev.ns->name);
		return false;
	}
	return true;
}

static int report_work(struct nr_call *call)
{
	struct report *r = call->ctx;

	return call->dev.ctrl->ops->submit(call->dev.ctrl->backend_ctrl, &r->cmd);
}

static void report_done(struct nr_call *call, int rc);

static void report_next(struct nr_call *call)
{
	struct report *r = call->ctx;
	uint64_t left = r->cap + 1 - r->total; /* one more than wanted shows truncation */
	int rc;

	r->want = left < r->chunk ? (uint32_t)left : r->chunk;
	/* Only the first report of a partial: false call clears the Partial
	 * Report bit: its header then counts every matching zone from slba. */
	nr_cmd_zone_report(&r->cmd, call->dev.ns->nsid, r->next_slba, r->filter,
			   !(r->device_count && !r->counted), r->ext_bytes > 0, r->buf,
			   ZONE_HDR_SIZE + r->want * (ZONE_DESC_SIZE + r->ext_bytes));
	rc = nr_exec_submit(call, call->dev.ctrl, report_work, report_done);
	if (rc)
		nr_call_fail_cmd(call, rc, NULL, "Report Zones");
}

static const struct nvme_zns_desc *chunk_desc(const struct report *r, uint64_t index)
{
	return (const struct nvme_zns_desc *)(r->buf + ZONE_HDR_SIZE +
					      index * (ZONE_DESC_SIZE + r->ext_bytes));
}

/* The extension following descriptor @index of an extended report. */
static const uint8_t *chunk_ext(const struct report *r, uint64_t index)
{
	return (const uint8_t *)chunk_desc(r, index) + ZONE_DESC_SIZE;
}

/* Adds "ext" (base64 of the extension) to @zone, a new descriptor object
 * that it steals; returns it, or NULL when out of memory. */
static json_t *zone_with_ext(const struct report *r, uint64_t index, json_t *zone)
{
	char *text = malloc(NR_BASE64_ENCODED_LEN(r->ext_bytes) + 1);
	size_t len;

	if (!text || !zone) {
		free(text);
		json_decref(zone);
		return NULL;
	}
	len = nr_base64_encode(chunk_ext(r, index), r->ext_bytes, text);
	text[len] = '\0';
	if (json_object_set_new_nocheck(zone, "ext", json_string_nocheck(text))) {
		json_decref(zone);
		zone = NULL;
	}
	free(text);
	return zone;
}

/*
 * Reads the chunk's header: how many descriptors came back, and how many of
 * them fit under the cap. Moves next_slba past what is kept (or to the first
 * zone dropped). Returns the descriptors to keep; *end is set when the
 * namespace has no zones past this chunk, *truncated when the cap cut it.
 */
static uint64_t chunk_measure(struct nr_call *call, struct report *r, bool *end, bool *truncated)
{
	uint64_t got = le64toh(*(const uint64_t *)r->buf);
	uint64_t keep;

	if (r->device_count && !r->counted) {
		r->matching = got; /* every matching zone, not only those in the buffer */
		r->counted = true;
	}
	got = got < r->want ? got : r->want;
	keep = r->total + got > r->cap ? r->cap - r->total : got;
	*truncated = keep < got;
	if (*truncated)
		r->next_slba = le64toh(chunk_desc(r, keep)->zslba);
	else if (got > 0)
		r->next_slba = le64toh(chunk_desc(r, got - 1)->zslba) + call->dev.ns->zone_size;
	*end = got < r->want || got == 0 || r->next_slba >= call->dev.ns->nsze;
	return keep;
}

/* Not streamed: the descriptors join the whole answer as objects. */
static void chunk_collect(struct report *r, uint64_t count)
{
	for (uint64_t i = 0; i < count; i++) {
		json_t *zone = nr_enc_zone_desc(chunk_desc(r, i));

		json_array_append_new(r->zone_list,
				      r->ext_bytes ? zone_with_ext(r, i, zone) : zone);
	}
}

/* Writes descriptor @index as text at @out; with extensions, "ext" goes in
 * before the closing brace. Returns the characters written. */
static size_t zone_text(const struct report *r, uint64_t index, char *out)
{
	size_t len = nr_enc_zone_desc_text(out, chunk_desc(r, index));

	if (!r->ext_bytes)
		return len;
	len--; /* the closing brace */
	memcpy(out + len, ",\"ext\":\"", 8);
	len += 8;
	len += nr_base64_encode(chunk_ext(r, index), r->ext_bytes, out + len);
	memcpy(out + len, "\"}", 2);
	return len + 2;
}

/* Streamed: one rpc.stream notification, written as text (the hot path). */
static int chunk_stream(struct nr_call *call, struct report *r, uint64_t count)
{
	size_t item = NR_ZONE_TEXT_MAX + 1 +
		      (r->ext_bytes ? ZONE_EXT_TEXT_PAD + NR_BASE64_ENCODED_LEN(r->ext_bytes) : 0);
	size_t len;
	char *text = nr_call_stream_begin(call, count * item, &len);

	if (!text)
		return -ENOMEM;
	for (uint64_t i = 0; i < count; i++) {
		if (i > 0)
			text[len++] = ',';
		len += zone_text(r, i, text + len);
	}
	return nr_call_stream_send(call, text, len);
}

static void report_finish(struct nr_call *call, bool truncated)
{
	struct report *r = call->ctx;
	json_t *result =
	    json_pack("{s:I}", "nr_zones", (json_int_t)(r->device_count ? r->matching : r->total));

	if (call->stream)
		json_object_set_new(result, "chunks", json_integer(call->stream_seq));
	else
		json_object_set(result, "zone_list", r->zone_list);
	if (truncated)
		json_object_set_new(result, "next_slba", nr_json_u64(r->next_slba));
	nr_call_result(call, result);
}

static void report_too_large(struct nr_call *call)
{
	nr_call_error(call, nr_rpc_error_object(
				NR_E_RESULT_TOO_LARGE,
				"more zones than max_result_items: pass stream: true, or page "
				"with slba and limit",
				json_pack("{s:I}", "max_result_items",
					  (json_int_t)call->svc->limits.max_result_items)));
}

static void report_done(struct nr_call *call, int rc)
{
	struct report *r = call->ctx;
	bool end, truncated;
	uint64_t keep;

	/* A read: the chunk goes again through another path of the namespace. */
	if (rc == -ENODEV && nr_call_failover(call, &r->failed_over)) {
		report_next(call);
		return;
	}
	if (nr_call_fail_cmd(call, rc, &r->cmd, "Report Zones"))
		return;
	keep = chunk_measure(call, r, &end, &truncated);
	if (truncated && r->cap_is_error) {
		report_too_large(call);
		return;
	}
	r->total += keep;
	if (!call->stream)
		chunk_collect(r, keep);
	else if (keep > 0 && chunk_stream(call, r, keep) == -ENOMEM) {
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return;
	}
	if (nr_call_ended(call))
		return; /* the peer went away while the chunk was sent */
	if (end || truncated) {
		report_finish(call, truncated);
		return;
	}
	if (nr_call_backlogged(call)) {
		nr_call_pause(call, report_next);
		return;
	}
	report_next(call);
}

void nr_m_zns_report_zones(struct nr_call *call)
{
	json_t *limit = json_object_get(call->params, "limit");
	uint64_t max = call->svc->limits.max_result_items;
	bool extended = json_is_true(json_object_get(call->params, "extended"));
	struct report *r;

	if (!require_zoned(call))
		return;
	if (extended && call->dev.ns->zdes_bytes == 0) {
		nr_call_fail(call, NR_E_NOT_SUPPORTED,
			     "%s has no zone descriptor extensions (ZDES 0)", call->dev.ns->name);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return;
	}
	call->ctx = r;
	call->ctx_free = report_free;
	r->ext_bytes = extended ? call->dev.ns->zdes_bytes : 0;
	r->chunk = ZONE_CHUNK_BYTES / (ZONE_DESC_SIZE + r->ext_bytes);
	r->filter = filter_parse(json_object_get(call->params, "state"));
	r->next_slba = (uint64_t)json_integer_value(json_object_get(call->params, "slba"));
	r->zone_list = json_array();
	r->device_count = json_is_false(json_object_get(call->params, "partial"));
	r->cap =
	    limit ? (uint64_t)json_integer_value(limit) : (call->stream ? UINT64_MAX - 1 : max);
	r->cap_is_error = !call->stream && (!limit || r->cap > max);
	if (r->cap_is_error)
		r->cap = max;
	report_next(call);
}

static const char *const send_actions[] = {
    [NR_ZSA_CLOSE] = "close", [NR_ZSA_FINISH] = "finish",   [NR_ZSA_OPEN] = "open",
    [NR_ZSA_RESET] = "reset", [NR_ZSA_OFFLINE] = "offline", [NR_ZSA_SET_DESC_EXT] = "set_desc_ext",
};

static uint8_t action_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(send_actions) / sizeof(send_actions[0]); i++) {
		if (send_actions[i] && strcmp(send_actions[i], name) == 0)
			return (uint8_t)i;
	}
	return 0;
}

static json_t *send_encode(struct nr_call *call, struct nr_job *job)
{
	json_t *result = json_pack("{s:O, s:I}", "action", json_object_get(call->params, "action"),
				   "cdw0", (json_int_t)job->cmd.result);
	json_t *slba = json_object_get(call->params, "slba");

	if (slba)
		json_object_set(result, "slba", slba);
	else
		json_object_set_new(result, "all", json_true());
	return result;
}

/*
 * Set Zone Descriptor Extension: data must decode to exactly the
 * namespace's extension size. Ends the call on bad input; submits otherwise.
 */
static void send_set_ext(struct nr_call *call, uint64_t slba, const json_t *data)
{
	size_t text_len = json_string_length(data);
	uint32_t ext_bytes = call->dev.ns->zdes_bytes;
	struct nr_job *job;
	long len;

	if (ext_bytes == 0) {
		nr_call_fail(call, NR_E_NOT_SUPPORTED,
			     "%s has no zone descriptor extensions (ZDES 0)", call->dev.ns->name);
		return;
	}
	job = nr_job_new(call, NR_BASE64_DECODED_MAX(text_len) + ext_bytes, 0, send_encode,
			 "Zone Management Send");
	if (!job)
		return;
	len = data ? nr_base64_decode(json_string_value(data), text_len, job->buf) : -EINVAL;
	if (len != (long)ext_bytes) {
		char reason[96];

		snprintf(reason, sizeof(reason),
			 "set_desc_ext needs base64 of exactly %u bytes (the zone descriptor "
			 "extension size)",
			 ext_bytes);
		nr_call_invalid(call, "params.data", reason);
		return;
	}
	nr_cmd_zone_set_ext(&job->cmd, call->dev.ns->nsid, slba, job->buf, ext_bytes);
	nr_job_submit(call);
}

void nr_m_zns_mgmt_send(struct nr_call *call)
{
	json_t *slba = json_object_get(call->params, "slba");
	json_t *data = json_object_get(call->params, "data");
	bool all = json_is_true(json_object_get(call->params, "all"));
	uint8_t action = action_parse(json_string_value(json_object_get(call->params, "action")));
	struct nr_job *job;

	if (!require_zoned(call))
		return;
	if (!slba == !all) {
		nr_call_invalid(call, slba ? "params.all" : "params.slba",
				"pass exactly one of slba and all: true");
		return;
	}
	if (action == NR_ZSA_SET_DESC_EXT && all) {
		nr_call_invalid(call, "params.all", "set_desc_ext acts on one zone: slba");
		return;
	}
	if (action == NR_ZSA_SET_DESC_EXT) {
		send_set_ext(call, (uint64_t)json_integer_value(slba), data);
		return;
	}
	if (data) {
		nr_call_invalid(call, "params.data", "only set_desc_ext takes data");
		return;
	}
	job = nr_job_new(call, 0, 0, send_encode, "Zone Management Send");
	if (!job)
		return;
	nr_cmd_zone_send(&job->cmd, call->dev.ns->nsid, (uint64_t)json_integer_value(slba), action,
			 all);
	nr_job_submit(call);
}

static json_t *append_encode(struct nr_call *call, struct nr_job *job)
{
	uint64_t alba = ((uint64_t)job->cmd.result_hi << 32) | job->cmd.result;

	return json_pack("{s:o, s:I}", "lba", nr_json_u64(alba), "nlb",
			 (json_int_t)(job->buf_len / call->dev.ns->lba_size));
}

void nr_m_zns_append(struct nr_call *call)
{
	const json_t *data = json_object_get(call->params, "data");
	size_t text_len = json_string_length(data);
	uint32_t lba_size, max = nr_ctrl_max_write(call->dev.ctrl, 1u << 20);
	struct nr_job *job;
	long len;

	if (!require_zoned(call))
		return;
	lba_size = call->dev.ns->lba_size;
	job = nr_job_new(call, NR_BASE64_DECODED_MAX(text_len), 0, append_encode, "Zone Append");
	if (!job)
		return;
	len = nr_base64_decode(json_string_value(data), text_len, job->buf);
	if (len <= 0 || len % lba_size != 0 || (uint64_t)len > max || len / lba_size > 65536) {
		nr_call_invalid(call, "params.data",
				"must be base64 of a whole number of logical blocks, at most "
				"the controller's transfer size");
		return;
	}
	job->buf_len = (size_t)len;
	nr_cmd_zone_append(&job->cmd, call->dev.ns->nsid,
			   (uint64_t)json_integer_value(json_object_get(call->params, "slba")),
			   (uint32_t)(len / lba_size), job->buf, (uint32_t)len);
	nr_job_submit(call);
}

/* Changed Zone List log (LID BFh, CSI 2): a count and up to 511 zone IDs. */
#define CHANGED_ZONES_LID 0xbf
#define CHANGED_ZONES_MAX 511

static json_t *changed_zones_encode(struct nr_call *call, struct nr_job *job)
{
	uint16_t count = le16toh(*(const uint16_t *)job->buf);
	json_t *ids = json_array();

	/* 0xFFFF: more zones changed than the list holds. */
	for (uint16_t i = 0; count != 0xffff && i < count && i < CHANGED_ZONES_MAX; i++) {
		uint64_t id;
		memcpy(&id, job->buf + 8 + 8 * (size_t)i, sizeof(id));
		json_array_append_new(ids, nr_json_u64(le64toh(id)));
	}
	return json_pack("{s:i, s:b, s:o}", "nr_zone_ids", count == 0xffff ? -1 : count, "overflow",
			 count == 0xffff, "zone_ids", ids);
}

void nr_m_zns_changed_zones(struct nr_call *call)
{
	struct nr_log_args args = {.lid = CHANGED_ZONES_LID, .csi = NR_CSI_ZNS};
	struct nr_job *job;

	if (!require_zoned(call))
		return;
	args.nsid = call->dev.ns->nsid;
	args.rae = nr_param_rae(call);
	job = nr_job_new(call, 4096, 0, changed_zones_encode, "Changed Zone List log");
	if (!job)
		return;
	nr_cmd_get_log_page(&job->cmd, &args, job->buf, (uint32_t)job->buf_len);
	nr_job_submit(call);
}
