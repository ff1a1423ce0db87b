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
