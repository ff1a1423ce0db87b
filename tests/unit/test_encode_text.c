/* SPDX-License-Identifier: MIT */
/*
 * The table-driven text writer (nr_enc_text, nr_enc_feature_text) against
 * the answers as they were (golden texts from the encoders it replaced)
 * and against the jansson builder driven by the same tables: for thousands
 * of random structures the text must be exactly json_dumps(JSON_COMPACT) of
 * the built object, parse back equal to it, and stay within the bound the
 * handlers' buffers are sized by.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "encode/encode.h"
#include "encode/encode_feature.h"
#include "golden_encode.h"
#include "test_fixture.h"

#define RANDOM_ROUNDS 2000

struct structure {
	const char *name;
	const struct nr_enc_desc *desc;
	size_t size;
	size_t text_max;
};

static const struct structure structures[] = {
    {"id_ctrl", &nr_enc_id_ctrl_desc, 4096, NR_ID_CTRL_TEXT_MAX},
    {"id_ns", &nr_enc_id_ns_desc, 4096, NR_ID_NS_TEXT_MAX},
    {"smart_log", &nr_enc_smart_log_desc, 512, NR_SMART_LOG_TEXT_MAX},
};

/* Checks that the text of @base equals @expect byte for byte. */
static void expect_text(const struct nr_enc_desc *desc, const void *base, const char *expect)
{
	static char text[NR_ID_CTRL_TEXT_MAX];
	size_t len = nr_enc_text(text, desc, base);

	cr_expect_eq(len, strlen(expect), "length %zu, golden %zu", len, strlen(expect));
	cr_expect(memcmp(text, expect, len < strlen(expect) ? len : strlen(expect)) == 0,
		  "text:   %.*s\ngolden: %s", (int)len, text, expect);
}

Test(encode_text, golden_fixtures, .timeout = 30)
{
	static uint8_t buf[4096];

	fixture_id_ctrl(buf);
	expect_text(&nr_enc_id_ctrl_desc, buf, golden_id_ctrl_fixture);
	fixture_id_ns(buf);
	expect_text(&nr_enc_id_ns_desc, buf, golden_id_ns_fixture);
	fixture_smart_log(buf);
	expect_text(&nr_enc_smart_log_desc, buf, golden_smart_log_fixture);
}

/* Identifiers holding '"', '\\', control bytes and DEL; all-ones numbers,
 * NPSS and NLBAF past their arrays, 128-bit counters above 2^64. */
Test(encode_text, golden_hostile_bytes, .timeout = 30)
{
	static uint8_t buf[4096];

	fixture_random(buf, 4096, 1, 2);
	expect_text(&nr_enc_id_ctrl_desc, buf, golden_id_ctrl_ident_bytes);
	fixture_random(buf, 4096, 2, 1);
	expect_text(&nr_enc_id_ns_desc, buf, golden_id_ns_all_ones);
	fixture_random(buf, 512, 3, 1);
	expect_text(&nr_enc_smart_log_desc, buf, golden_smart_log_all_ones);
}

/* The handlers' stack buffers are sized by the *_TEXT_MAX constants. */
Test(encode_text, bounds_fit_the_buffers, .timeout = 30)
{
	for (size_t i = 0; i < sizeof(structures) / sizeof(structures[0]); i++)
		cr_expect_leq(nr_enc_text_bound(structures[i].desc), structures[i].text_max, "%s",
			      structures[i].name);
}

/* Checks one structure: text == dump of the built object, parses back
 * equal, within the bound. */
static void check_random(const struct structure *s, const uint8_t *buf)
{
	static char text[NR_ID_CTRL_TEXT_MAX];
	size_t len = nr_enc_text(text, s->desc, buf);
	json_t *built = nr_enc_json(s->desc, buf);
	char *dumped = json_dumps(built, JSON_COMPACT);
	json_error_t err;
	json_t *parsed = json_loadb(text, len, 0, &err);

	cr_assert_not_null(dumped);
	cr_assert_leq(len, nr_enc_text_bound(s->desc), "%s", s->name);
	cr_assert_eq(len, strlen(dumped), "%s: text %.*s\ndump %s", s->name, (int)len, text,
		     dumped);
	cr_assert(memcmp(text, dumped, len) == 0, "%s: text %.*s\ndump %s", s->name, (int)len, text,
		  dumped);
	cr_assert_not_null(parsed, "%s: %s", s->name, err.text);
	cr_assert(json_equal(parsed, built), "%s", s->name);
	json_decref(parsed);
	json_decref(built);
	free(dumped);
}

Test(encode_text, random_structures_text_equals_built_object, .timeout = 120)
{
	static uint8_t buf[4096];

	for (size_t i = 0; i < sizeof(structures) / sizeof(structures[0]); i++) {
		for (unsigned round = 0; round < RANDOM_ROUNDS; round++) {
			fixture_random(buf, structures[i].size, 1000 + round, round);
			check_random(&structures[i], buf);
		}
	}
}

/* The jansson builder through the table keeps the old entry points. */
Test(encode_text, builders_are_the_table, .timeout = 30)
{
	static uint8_t buf[4096];
	json_t *a, *b;

	fixture_random(buf, 4096, 7, 1);
	a = nr_enc_id_ctrl((const struct nvme_id_ctrl *)buf);
	b = nr_enc_json(&nr_enc_id_ctrl_desc, buf);
	cr_expect(json_equal(a, b));
	json_decref(a);
	json_decref(b);
}

/* nvme.get_feature's answer as the handler built it with json_pack before
 * the text writer (m_feature.c get_encode at b03b016). */
static json_t *feature_object(const struct nr_feature_answer *a)
{
	json_t *obj =
	    json_pack("{s:i, s:s, s:s, s:I, s:o}", "fid", a->fid, "name", nr_feature_name(a->fid),
		      "sel", a->sel, "value", (json_int_t)a->value, "fields",
		      nr_feature_decode(a->fields, a->value));
	char *data;

	if (obj && a->data_len > 0) {
		data = malloc(NR_BASE64_ENCODED_LEN(a->data_len) + 1);
		cr_assert_not_null(data);
		json_object_set_new(
		    obj, "data", json_stringn(data, nr_base64_encode(a->data, a->data_len, data)));
		free(data);
	}
	return obj;
}

/* Every FID and select, values with all bits in play, data of the lengths
 * the table gives (at most 4096 bytes: the handler's buffer). */
Test(encode_text, feature_text_equals_the_packed_object, .timeout = 60)
{
	static const char *const sels[] = {"current", "default", "saved", "supported"};
	static uint8_t data[4096];
	static char text[NR_FEATURE_TEXT_MAX(4096)];
	uint64_t state = 42;

	fixture_random(data, sizeof(data), 5, 0);
	for (unsigned fid = 0; fid < 256; fid++) {
		const struct nr_feature *feat = nr_feature_find((uint8_t)fid);

		cr_assert(!feat || feat->data_len <= sizeof(data), "fid %u data_len", fid);
		for (unsigned sel = 0; sel < 4; sel++) {
			struct nr_feature_answer a = {
			    .fid = (uint8_t)fid,
			    .sel = sels[sel],
			    .value = (uint32_t)fixture_next(&state),
			    .fields =
				sel == 3 ? nr_feature_caps_fields : nr_feature_cdw0_fields(feat),
			    .data = data,
			    .data_len = feat && sel != 3 ? feat->data_len : 0,
			};
			size_t len = nr_enc_feature_text(text, &a);
			json_t *obj = feature_object(&a);
			char *dumped = json_dumps(obj, JSON_COMPACT);

			cr_assert_leq(len, NR_FEATURE_TEXT_MAX(a.data_len));
			cr_assert_eq(len, strlen(dumped), "fid %u: %.*s\n%s", fid, (int)len, text,
				     dumped);
			cr_assert(memcmp(text, dumped, len) == 0, "fid %u: %.*s\n%s", fid, (int)len,
				  text, dumped);
			free(dumped);
			json_decref(obj);
		}
	}
}

/* Kinds the three structures do not use yet (encode_log's tables will):
 * the 32-bit sentinel, and a table of every kind against its dump. */
Test(encode_text, every_kind_text_equals_built_object, .timeout = 30)
{
	static const struct nr_enc_field bits[] = {
	    {"b0", 2, NR_ENC_BIT, 0, 0, 0, 0, NULL},
	    {"b7", 2, NR_ENC_BIT, 0, 7, 0, 0, NULL},
	};
	static const struct nr_enc_desc bits_desc = {bits, 2};
	static const struct nr_enc_field item[] = {{"v", 1, NR_ENC_UINT, 0, 2, 0, 0, NULL}};
	static const struct nr_enc_desc item_desc = {item, 1};
	static const struct nr_enc_field fields[] = {
	    {"u8", 2, NR_ENC_UINT, 0, 1, 0, 0, NULL},
	    {"u64", 3, NR_ENC_UINT, 0, 8, 0, 0, NULL},
	    {"nz", 2, NR_ENC_UINT_NONZERO, 8, 2, 0, 0, NULL},
	    {"sentinel", 8, NR_ENC_U32_SENTINEL, 10, 4, 0, 0, NULL},
	    {"u128", 4, NR_ENC_U128, 16, 16, 0, 0, NULL},
	    {"ident", 5, NR_ENC_IDENT, 32, 12, 0, 0, NULL},
	    {"hex", 3, NR_ENC_HEX, 44, 8, 0, 0, NULL},
	    {"uuid", 4, NR_ENC_UUID, 52, 16, 0, 0, NULL},
	    {"bits", 4, NR_ENC_OBJECT, 68, 1, 0, 0, &bits_desc},
	    {"items", 5, NR_ENC_ARRAY, 72, 2, 69, 4, &item_desc},
	};
	static const struct nr_enc_desc desc = {fields, 10};
	static const struct structure s = {"every kind", &desc, 80, 4096};
	uint8_t buf[80];
	char text[1024];
	size_t len;

	cr_assert_leq(nr_enc_text_bound(s.desc), sizeof(text));
	for (unsigned round = 0; round < RANDOM_ROUNDS; round++) {
		fixture_random(buf, sizeof(buf), 9000 + round, round);
		check_random(&s, buf);
	}
	memset(buf, 0, sizeof(buf));
	memset(buf + 10, 0xff, 4); /* sentinel: all ones */
	buf[69] = 0xff;		   /* items: 256 reported, 4 slots */
	len = nr_enc_text(text, s.desc, buf);
	cr_expect(strstr(text, "\"sentinel\":-1,") != NULL, "%.*s", (int)len, text);
	cr_expect(strstr(text, "\"nz\"") == NULL, "a zero NONZERO field is left out");
	cr_expect(strstr(text, "\"items\":[{\"v\":0},{\"v\":0},{\"v\":0},{\"v\":0}]") != NULL,
		  "%.*s", (int)len, text);
	buf[10] = 0xfe; /* one less: a number */
	len = nr_enc_text(text, s.desc, buf);
	cr_expect(strstr(text, "\"sentinel\":4294967294,") != NULL, "%.*s", (int)len, text);
}
