/* SPDX-License-Identifier: MIT */
/*
 * nvme.get_feature's answer written as compact JSON text: the same bytes
 * json_dumps(JSON_COMPACT) gives for
 * {"fid", "name", "sel", "value", "fields": nr_feature_decode(...), "data"?}
 * as the handler used to build it with json_pack (test_encode_text proves
 * it). Any thread.
 */
#ifndef NR_ENCODE_FEATURE_H
#define NR_ENCODE_FEATURE_H

#include <stddef.h>
#include <stdint.h>

#include "util/base64.h"
#include "nvme/nvme_features.h"

/* The fixed part's bound: keys, numbers, the feature's name and up to
 * NR_FEAT_MAX_FIELDS fields (names of at most 32 characters). */
#define NR_FEATURE_TEXT_FIXED 1536
/* Room for an answer carrying @data_len bytes of data. */
#define NR_FEATURE_TEXT_MAX(data_len) (NR_FEATURE_TEXT_FIXED + NR_BASE64_ENCODED_LEN(data_len) + 12)

struct nr_feature_answer {
	uint8_t fid;
	const char *sel;		    /* "current", "default", "saved" or "supported" */
	uint32_t value;			    /* completion dword 0 */
	const struct nr_feat_field *fields; /* decode value by these (NULL-name ended) */
	const uint8_t *data;		    /* the data buffer, or NULL */
	size_t data_len;		    /* 0: no "data" key */
};

/* Writes the answer at @out (NR_FEATURE_TEXT_MAX(a->data_len) bytes). Returns
 * the bytes written (not NUL-terminated). */
size_t nr_enc_feature_text(char *out, const struct nr_feature_answer *a);

#endif
