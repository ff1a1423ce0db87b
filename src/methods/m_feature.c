/* SPDX-License-Identifier: MIT */
/*
 * Get Features and Set Features, decoded through the FID table
 * (features.c): a value is shown as its raw dword and its named fields, and
 * can be set by either; setting only some fields reads the current value
 * first, so the others keep theirs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "encode/encode_feature.h"
#include "methods/job.h"
#include "nvme/nvme_cmd_admin.h"
#include "nvme/nvme_features.h"
#include "rpc/rpc_error.h"

#define FEAT_DATA_MAX 4096u

static const char *const select_names[] = {"current", "default", "saved", "supported"};

/* nvme.get_feature's state. */
struct get_state {
	uint8_t fid;
	unsigned sel; /* index into select_names */
};

/* nvme.set_feature's state. */
struct set_state {
	uint8_t fid;
	uint32_t value; /* the dword sent; with merge, the merged one */
	uint32_t keep;	/* bits of the current value the fields leave */
	bool save;
	bool merge; /* fields without value: read, modify, write */
};

static json_t *get_encode(struct nr_call *call, struct nr_job *job)
{
	const struct get_state *st = job->state;
	uint8_t fid = st->fid;
	unsigned sel = st->sel;
	const struct nr_feature *feat = nr_feature_find(fid);
	struct nr_feature_answer answer = {
	    .fid = fid,
	    .sel = select_names[sel],
	    .value = job->cmd.result,
	    .fields = sel == 3 ? nr_feature_caps_fields : nr_feature_cdw0_fields(feat),
	    .data = job->buf,
	    .data_len = job->cmd.data_len < job->buf_len ? job->cmd.data_len : job->buf_len,
	};
	char text[NR_FEATURE_TEXT_MAX(FEAT_DATA_MAX)];

	nr_call_result_text(call, text, nr_enc_feature_text(text, &answer));
	return NULL;
}

void nr_m_nvme_get_feature(struct nr_call *call)
{
	uint8_t fid = (uint8_t)nr_param_u64(call, "fid", 0);
	int sel = nr_param_enum(call, "sel", select_names, 4, 0);
	const struct nr_feature *feat = nr_feature_find(fid);
	uint32_t len = feat && sel != 3 ? feat->data_len : 0;
	struct nr_job *job =
	    nr_job_new(call, len, sizeof(struct get_state), get_encode, "Get Features");
	struct get_state *st;

	if (!job)
		return;
	st = job->state;
	st->fid = fid;
	st->sel = (unsigned)sel;
	nr_cmd_get_features(&job->cmd, fid, (uint8_t)sel, nr_param_nsid(call, 0),
			    (uint32_t)nr_param_u64(call, "cdw11", 0), len ? job->buf : NULL, len);
	nr_job_submit(call);
}

/* ---- set --------------------------------------------------------------- */

/* Applies the params' fields onto *value; *keep gets the bits they leave.
 * Returns 0, or ends the call. */
static int set_fields(struct nr_call *call, const struct nr_feature *feat, uint32_t *value,
		      uint32_t *keep)
{
	json_t *fields = json_object_get(call->params, "fields");
	const struct nr_feat_field *table = feat ? feat->fields : nr_feature_cdw0_fields(NULL);
	uint32_t ones = 0xffffffffu, zeros = 0;
	const char *bad = NULL;
	char path[96];

	*keep = 0xffffffffu;
	if (!fields)
		return 0;
	if (nr_feature_encode(table, fields, value, &bad) == 0) {
		nr_feature_encode(table, fields, &ones, &bad);
		nr_feature_encode(table, fields, &zeros, &bad);
		*keep = ones ^ zeros;
		return 0;
	}
	snprintf(path, sizeof(path), "params.fields.%s", bad);
	nr_call_invalid(call, path, "not a field of this feature, or wider than it");
	return -EINVAL;
}

/* Worker thread: Get Features (current) first when only some fields were
 * given, merges them (the bits outside them kept), then Set Features. */
static int set_work(struct nr_call *call, struct nr_job *job)
{
	struct set_state *st = job->state;
	const struct nr_feature *feat = nr_feature_find(st->fid);
	struct nr_cmd get;
	uint32_t value;
	int rc;

	nr_cmd_get_features(&get, st->fid, 0, job->cmd.sqe.nsid,
			    feat && feat->value_in_cdw12 ? job->cmd.sqe.cdw11 : 0, NULL, 0);
	rc = nr_job_send(call, &get);
	if (rc) {
		job->cmd = get;
		return rc;
	}
	value = (get.result & st->keep) | (st->value & ~st->keep);
	st->value = value;
	if (feat && feat->value_in_cdw12)
		job->cmd.sqe.cdw12 = value;
	else
		job->cmd.sqe.cdw11 = value;
	return nr_job_send(call, &job->cmd);
}

static json_t *set_encode(struct nr_call *call, struct nr_job *job)
{
	const struct set_state *st = job->state;

	return json_pack("{s:i, s:s, s:I, s:b, s:I}", "fid", st->fid, "name",
			 nr_feature_name(st->fid), "value", (json_int_t)st->value, "save", st->save,
			 "cdw0", (json_int_t)job->cmd.result);
}

/* Decodes the params' data into the job's buffer (zero-padded to the
 * feature's length). Returns the bytes to send, or -1 after ending the call. */
static long set_data(struct nr_call *call, const struct nr_feature *feat, struct nr_job *job)
{
	const char *text = json_string_value(json_object_get(call->params, "data"));
	size_t max = feat ? feat->data_len : FEAT_DATA_MAX;
	size_t len = text ? strlen(text) : 0;
	long n;

	if (!text)
		return feat && !feat->data_get_only ? (long)feat->data_len : 0;
	/* Canonical base64 of n bytes is 4 * ceil(n / 3) characters: at most
	 * (len / 4) * 3 bytes, two fewer with padding. */
	if (max == 0 || (feat && feat->data_get_only) || (len / 4) * 3 > max + 2) {
		nr_call_invalid(call, "params.data", "this feature takes no data, or less");
		return -1;
	}
	job->extra = calloc(1, NR_BASE64_DECODED_MAX(len) > max ? NR_BASE64_DECODED_MAX(len) : max);
	n = job->extra ? nr_base64_decode(text, len, job->extra) : -ENOMEM;
	if (n < 0 || (size_t)n > max) {
		nr_call_invalid(call, "params.data",
				"is not canonical base64 of at most the "
				"feature's data length");
		return -1;
	}
	return feat ? (long)max : n;
}

/* The dword the value goes in, from the params; ends the call on error. */
static int set_value(struct nr_call *call, const struct nr_feature *feat, struct set_state *st)
{
	json_t *value = json_object_get(call->params, "value");
	json_t *fields = json_object_get(call->params, "fields");
	uint32_t v = (uint32_t)json_integer_value(value);
	uint32_t keep;

	if (!value && !fields && !json_object_get(call->params, "data")) {
		nr_call_invalid(call, "params.value", "pass value, fields or data");
		return -EINVAL;
	}
	if (fields && !value && !feat) {
		nr_call_invalid(call, "params.fields", "this FID has no known fields: pass value");
		return -EINVAL;
	}
	if (set_fields(call, feat, &v, &keep))
		return -EINVAL;
	st->value = v;
	st->keep = keep;
	st->merge = fields && !value;
	return 0;
}

void nr_m_nvme_set_feature(struct nr_call *call)
{
	uint8_t fid = (uint8_t)nr_param_u64(call, "fid", 0);
	const struct nr_feature *feat = nr_feature_find(fid);
	struct nr_job *job =
	    nr_job_new(call, 0, sizeof(struct set_state), set_encode, "Set Features");
	struct set_state *st = job ? job->state : NULL;
	uint32_t cdw11, cdw12;
	long len;

	if (!job || set_value(call, feat, st))
		return;
	len = set_data(call, feat, job);
	if (len < 0)
		return;
	st->fid = fid;
	st->save = nr_param_bool(call, "save");
	cdw11 = feat && feat->value_in_cdw12 ? (uint32_t)nr_param_u64(call, "cdw11", 0) : st->value;
	cdw12 = feat && feat->value_in_cdw12 ? st->value : (uint32_t)nr_param_u64(call, "cdw12", 0);
	nr_cmd_set_features(&job->cmd, fid, st->save, nr_param_nsid(call, 0), cdw11, cdw12,
			    len ? job->extra : NULL, (uint32_t)len);
	if (st->merge)
		job->work = set_work;
	nr_job_submit(call);
}
