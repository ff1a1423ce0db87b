/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes every NVMe structure encoder (src/encode/encode.c, src/encode/encode_log.c) and
 * the feature value codec (src/nvme/features.c) with random bytes as the
 * structure a device returned. Input: a selector byte, a parameter byte
 * (count, CSI, NLBAF or FID, as the encoder takes), then the structure,
 * zero-padded or cut to its exact size in its own allocation so that ASan
 * sees any read past it. Every result must be JSON that jansson writes and
 * reads back equal; the zone descriptor's text encoder must agree with its
 * jansson encoder, and the table-driven text writer (Identify Controller,
 * Identify Namespace, SMART, Get Features) must write exactly what jansson
 * dumps of the same answer, in a buffer of its declared bound; decoding a
 * feature value and encoding it back must give the same bits.
 */
#include <jansson.h>
#include <libnvme.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode/encode.h"
#include "encode/encode_feature.h"
#include "encode/encode_log.h"
#include "nvme/nvme_features.h"

/* A new allocation of exactly @size bytes: @data, zero-padded. */
static uint8_t *structure(const uint8_t *data, size_t len, size_t size)
{
	uint8_t *buf = calloc(1, size ? size : 1);

	if (!buf)
		abort();
	memcpy(buf, data, len < size ? len : size);
	return buf;
}

/* Checks that @obj (stolen) is JSON jansson writes and reads back equal. */
static void check_json(json_t *obj)
{
	char *text;
	json_t *back;

	if (!obj)
		abort(); /* encoders return NULL only when out of memory */
	text = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!text)
		abort();
	back = json_loads(text, JSON_DECODE_ANY, NULL);
	if (!back || !json_equal(obj, back))
		abort();
	json_decref(back);
	free(text);
	json_decref(obj);
}

/* The text writer's output for @buf, in an allocation of exactly its
 * bound, must be the compact dump of the table's jansson object. */
static void check_text(const struct nr_enc_desc *desc, const uint8_t *buf)
{
	size_t bound = nr_enc_text_bound(desc);
	char *text = malloc(bound);
	json_t *obj = nr_enc_json(desc, buf);
	char *dumped = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	size_t n;

	if (!text || !dumped)
		abort();
	n = nr_enc_text(text, desc, buf);
	if (n > bound || n != strlen(dumped) || memcmp(text, dumped, n) != 0)
		abort(); /* the text writer and the builder disagree */
	free(dumped);
	json_decref(obj);
	free(text);
}

/* Get Features' answer text against the object the handler used to pack. */
static void check_feature_text(uint8_t fid, unsigned sel, uint32_t value, const uint8_t *data,
			       size_t len)
{
	static const char *const sels[] = {"current", "default", "saved", "supported"};
	const struct nr_feature *feat = nr_feature_find(fid);
	struct nr_feature_answer a = {
	    .fid = fid,
	    .sel = sels[sel % 4],
	    .value = value,
	    .fields = sel % 4 == 3 ? nr_feature_caps_fields : nr_feature_cdw0_fields(feat),
	    .data = data,
	    .data_len = len > 4096 ? 4096 : len,
	};
	char *text = malloc(NR_FEATURE_TEXT_MAX(a.data_len));
	char *b64 = malloc(NR_BASE64_ENCODED_LEN(a.data_len) + 1);
	json_t *obj = json_pack("{s:i, s:s, s:s, s:I, s:o}", "fid", fid, "name",
				nr_feature_name(fid), "sel", a.sel, "value", (json_int_t)value,
				"fields", nr_feature_decode(a.fields, value));
	char *dumped;
	size_t n;

	if (!text || !b64 || !obj)
		abort();
	if (a.data_len)
		json_object_set_new(obj, "data",
				    json_stringn(b64, nr_base64_encode(data, a.data_len, b64)));
	dumped = json_dumps(obj, JSON_COMPACT);
	n = nr_enc_feature_text(text, &a);
	if (!dumped || n > NR_FEATURE_TEXT_MAX(a.data_len) || n != strlen(dumped) ||
	    memcmp(text, dumped, n) != 0)
		abort();
	free(dumped);
	json_decref(obj);
	free(b64);
	free(text);
}

static void check_zone_desc(const uint8_t *data, size_t len)
{
	uint8_t *desc = structure(data, len, sizeof(struct nvme_zns_desc));
	char *text = malloc(NR_ZONE_TEXT_MAX);
	json_t *obj = nr_enc_zone_desc((const struct nvme_zns_desc *)desc);
	size_t n;
	json_t *parsed;

	if (!text)
		abort();
	n = nr_enc_zone_desc_text(text, (const struct nvme_zns_desc *)desc);
	if (n > NR_ZONE_TEXT_MAX)
		abort();
	parsed = json_loadb(text, n, 0, NULL);
	if (!parsed || !json_equal(parsed, obj))
		abort(); /* the two zone encoders disagree */
	json_decref(parsed);
	check_json(obj);
	free(text);
	free(desc);
}

/* The decimal string of the 128-bit counter must be its value. */
static void check_u128(const uint8_t *data, size_t len)
{
	uint8_t *le = structure(data, len, 16);
	json_t *str = nr_json_u128(le);
	const char *digits = json_string_value(str);
	unsigned __int128 value = 0, expect = 0;

	for (int i = 15; i >= 0; i--)
		expect = expect << 8 | le[i];
	for (const char *p = digits; p && *p; p++) {
		if (*p < '0' || *p > '9')
			abort();
		value = value * 10 + (unsigned)(*p - '0');
	}
	if (!digits || !*digits || value != expect || (digits[0] == '0' && digits[1]))
		abort();
	check_json(str);
	free(le);
}

static void check_fields(const struct nr_feat_field *fields, uint32_t value)
{
	json_t *obj = nr_feature_decode(fields, value);
	uint32_t mask = 0, back = ~value;
	const char *bad = NULL;

	if (!obj)
		abort();
	for (const struct nr_feat_field *f = fields; f->name; f++)
		mask |= (f->width >= 32 ? 0xffffffffu : (1u << f->width) - 1) << f->shift;
	if (nr_feature_encode(fields, obj, &back, &bad) != 0 || (back & mask) != (value & mask) ||
	    (back & ~mask) != (~value & ~mask))
		abort(); /* decode and encode do not round-trip */
	check_json(obj);
}

static void check_feature(uint8_t fid, const uint8_t *data, size_t len)
{
	const struct nr_feature *feat = nr_feature_find(fid);
	uint32_t value = 0;

	memcpy(&value, data, len < 4 ? len : 4);
	if (!nr_feature_name(fid))
		abort();
	check_fields(nr_feature_cdw0_fields(feat), value);
	check_fields(nr_feature_caps_fields, value);
	if (feat)
		check_fields(feat->fields, value);
	check_feature_text(fid, len ? data[len - 1] : 0, value, data, len);
}

/* Encoders of one fixed-size structure. */
static json_t *enc_id_ctrl(const uint8_t *b, unsigned p)
{
	return nr_enc_id_ctrl((const struct nvme_id_ctrl *)b);
}

static json_t *enc_id_ns(const uint8_t *b, unsigned p)
{
	return nr_enc_id_ns((const struct nvme_id_ns *)b);
}

static json_t *enc_smart(const uint8_t *b, unsigned p)
{
	return nr_enc_smart_log((const struct nvme_smart_log *)b);
}

static json_t *enc_fw(const uint8_t *b, unsigned p)
{
	return nr_enc_fw_log(b);
}

static json_t *enc_effects(const uint8_t *b, unsigned p)
{
	return nr_enc_effects_log(b, (uint8_t)p);
}

static json_t *enc_self_test(const uint8_t *b, unsigned p)
{
	return nr_enc_self_test_log(b);
}

static json_t *enc_sanitize(const uint8_t *b, unsigned p)
{
	return nr_enc_sanitize_log(b);
}

static json_t *enc_changed_ns(const uint8_t *b, unsigned p)
{
	return nr_enc_changed_ns_list(b);
}

static json_t *enc_ns_list(const uint8_t *b, unsigned p)
{
	return nr_enc_ns_list(b);
}

static json_t *enc_ctrl_list(const uint8_t *b, unsigned p)
{
	return nr_enc_ctrl_list(b);
}

static json_t *enc_zns_id_ctrl(const uint8_t *b, unsigned p)
{
	return nr_enc_zns_id_ctrl(b);
}

static json_t *enc_zns_id_ns(const uint8_t *b, unsigned p)
{
	return nr_enc_zns_id_ns(b, p);
}

static json_t *enc_nvm_id_ns(const uint8_t *b, unsigned p)
{
	return nr_enc_nvm_id_ns(b, p);
}

static json_t *enc_ident(const uint8_t *b, unsigned p)
{
	return nr_json_ident((const char *)b, p % 300);
}

static json_t *enc_hex(const uint8_t *b, unsigned p)
{
	return nr_json_hex(b, p % 17);
}

static const struct {
	json_t *(*encode)(const uint8_t *buf, unsigned param);
	size_t size;
	const struct nr_enc_desc *text; /* also written as text by this table */
} fixed[] = {
    {enc_id_ctrl, sizeof(struct nvme_id_ctrl), &nr_enc_id_ctrl_desc},
    {enc_id_ns, sizeof(struct nvme_id_ns), &nr_enc_id_ns_desc},
    {enc_smart, sizeof(struct nvme_smart_log), &nr_enc_smart_log_desc},
    {enc_fw, NR_FW_LOG_SIZE},
    {enc_effects, NR_EFFECTS_LOG_SIZE},
    {enc_self_test, NR_SELF_TEST_LOG_SIZE},
    {enc_sanitize, NR_SANITIZE_LOG_SIZE},
    {enc_changed_ns, NR_CHANGED_NS_LOG_SIZE},
    {enc_ns_list, NR_IDENTIFY_SIZE},
    {enc_ctrl_list, NR_IDENTIFY_SIZE},
    {enc_zns_id_ctrl, NR_IDENTIFY_SIZE},
    {enc_zns_id_ns, NR_IDENTIFY_SIZE},
    {enc_nvm_id_ns, NR_IDENTIFY_SIZE},
    {enc_ident, 300},
    {enc_hex, 16},
};

#define FIXED_COUNT (sizeof(fixed) / sizeof(fixed[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned which, param;
	uint8_t *buf;

	if (size < 2)
		return 0;
	which = data[0] % (FIXED_COUNT + 5);
	param = data[1];
	data += 2;
	size -= 2;
	if (which < FIXED_COUNT) {
		buf = structure(data, size, fixed[which].size);
		check_json(fixed[which].encode(buf, param));
		if (fixed[which].text)
			check_text(fixed[which].text, buf);
		free(buf);
		return 0;
	}
	switch (which - FIXED_COUNT) {
	case 0: /* as many entries as the bytes hold, as m_log.c passes */
		buf = structure(data, size, size);
		check_json(nr_enc_error_log(buf, size / NR_ERROR_LOG_ENTRY_SIZE));
		break;
	case 1:
		buf = structure(data, size, size);
		check_json(nr_enc_ns_descs(buf, size));
		break;
	case 2:
		check_zone_desc(data, size);
		return 0;
	case 3:
		check_u128(data, size);
		return 0;
	default:
		check_feature((uint8_t)param, data, size);
		return 0;
	}
	free(buf);
	return 0;
}
