/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/nvme/features.c: every standard FID decodes and encodes its
 * value losslessly, fields sit at the spec's bit positions (checked against
 * hand-built dwords), and encoding refuses unknown or over-wide fields.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>

#include "nvme/nvme_features.h"

/* Every FID of NVMe base 2.0 the table must know. */
static const uint8_t standard_fids[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
					0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14,
					0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x80, 0x82, 0x83, 0x84};

static uint32_t fields_mask(const struct nr_feat_field *fields)
{
	uint32_t mask = 0;

	for (const struct nr_feat_field *f = fields; f->name; f++) {
		uint32_t m = f->width >= 32 ? 0xffffffffu : (1u << f->width) - 1;
		cr_assert_eq(mask & (m << f->shift), 0, "%s overlaps another field", f->name);
		cr_assert_leq(f->shift + f->width, 32, "%s runs past bit 31", f->name);
		mask |= m << f->shift;
	}
	return mask;
}

static void round_trip(const struct nr_feat_field *fields, uint32_t value)
{
	uint32_t mask = fields_mask(fields);
	json_t *obj = nr_feature_decode(fields, value);
	uint32_t back = 0;
	const char *bad = NULL;

	cr_assert_not_null(obj);
	cr_assert_eq(nr_feature_encode(fields, obj, &back, &bad), 0, "bad field %s", bad);
	cr_expect_eq(back, value & mask, "0x%08x -> 0x%08x (mask 0x%08x)", value, back, mask);
	json_decref(obj);
}

ParameterizedTestParameters(features, round_trip)
{
	return cr_make_param_array(uint8_t, (void *)standard_fids,
				   sizeof(standard_fids) / sizeof(standard_fids[0]));
}

ParameterizedTest(uint8_t *fid, features, round_trip, .timeout = 30)
{
	static const uint32_t values[] = {0, 0xffffffffu, 0xa5a5a5a5u, 0x5a5a5a5au, 0x80000001u};
	const struct nr_feature *feat = nr_feature_find(*fid);

	cr_assert_not_null(feat, "FID 0x%02x missing from the table", *fid);
	cr_expect_str_neq(feat->name, "");
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		round_trip(feat->fields, values[i]);
		round_trip(nr_feature_cdw0_fields(feat), values[i]);
	}
}

struct layout_vec {
	uint8_t fid;
	char json[96];	/* fields */
	uint32_t value; /* the dword the spec's figure gives for them */
};

ParameterizedTestParameters(features, layout)
{
	static struct layout_vec vecs[] = {
	    {0x01, "{\"ab\":3,\"lpw\":1,\"mpw\":2,\"hpw\":4}", 0x04020103u},
	    {0x02, "{\"ps\":4,\"wh\":2}", 0x44u},
	    {0x03, "{\"num\":63}", 0x3fu},
	    {0x04, "{\"tmpth\":343,\"tmpsel\":2,\"thsel\":1}", 0x00120157u},
	    {0x05, "{\"tler\":100,\"dulbe\":1}", 0x00010064u},
	    {0x06, "{\"wce\":1}", 0x1u},
	    {0x07, "{\"nsqr\":63,\"ncqr\":31}", 0x001f003fu},
	    {0x08, "{\"thr\":5,\"time\":10}", 0x0a05u},
	    {0x09, "{\"iv\":7,\"cd\":1}", 0x00010007u},
	    {0x0a, "{\"dn\":1}", 0x1u},
	    {0x0b, "{\"smart\":31,\"nan\":1,\"fan\":1,\"tln\":1,\"dlpcn\":1}", 0x8000071fu},
	    {0x0c, "{\"apste\":1}", 0x1u},
	    {0x0d, "{\"ehm\":1,\"mr\":1}", 0x3u},
	    {0x0f, "{\"kato\":120000}", 120000u},
	    {0x10, "{\"tmt2\":350,\"tmt1\":340}", 0x0154015eu},
	    {0x11, "{\"noppme\":1}", 0x1u},
	    {0x12, "{\"rrl\":15}", 0xfu},
	    {0x13, "{\"ple\":1}", 0x1u},
	    {0x14, "{\"ws\":2}", 0x2u},
	    {0x15, "{\"lsiri\":1,\"lsipi\":2}", 0x00020001u},
	    {0x17, "{\"nodrm\":1}", 0x1u},
	    {0x18, "{\"endgid\":1,\"egcw\":7}", 0x00070001u},
	    {0x19, "{\"iocsci\":511}", 0x1ffu},
	    {0x1a, "{\"supe\":1}", 0x1u},
	    {0x80, "{\"pbslc\":200}", 200u},
	    {0x82, "{\"regpre\":1,\"resrel\":1,\"respre\":1}", 0xeu},
	    {0x83, "{\"ptpl\":1}", 0x1u},
	    {0x84, "{\"wps\":3}", 0x3u},
	};
	return cr_make_param_array(struct layout_vec, vecs, sizeof(vecs) / sizeof(vecs[0]));
}

ParameterizedTest(struct layout_vec *vec, features, layout, .timeout = 30)
{
	const struct nr_feature *feat = nr_feature_find(vec->fid);
	json_t *obj = json_loads(vec->json, 0, NULL);
	json_t *decoded;
	uint32_t value = 0;
	const char *bad = NULL;
	const char *key;
	json_t *item;

	cr_assert_not_null(feat);
	cr_assert_not_null(obj);
	cr_assert_eq(nr_feature_encode(feat->fields, obj, &value, &bad), 0, "bad %s", bad);
	cr_expect_eq(value, vec->value, "FID 0x%02x: 0x%08x, want 0x%08x", vec->fid, value,
		     vec->value);
	decoded = nr_feature_decode(feat->fields, vec->value);
	json_object_foreach (obj, key, item)
		cr_expect(json_equal(item, json_object_get(decoded, key)), "%s", key);
	json_decref(decoded);
	json_decref(obj);
}

Test(features, endurance_group_get_layout, .timeout = 30)
{
	json_t *obj = nr_feature_decode(nr_feature_cdw0_fields(nr_feature_find(0x18)), 0x5au);

	cr_expect_eq(json_integer_value(json_object_get(obj, "egcw")), 0x5a);
	cr_expect_eq(json_object_size(obj), 1);
	json_decref(obj);
}

Test(features, data_lengths, .timeout = 30)
{
	cr_expect_eq(nr_feature_find(0x03)->data_len, 4096);
	cr_expect_eq(nr_feature_find(0x0c)->data_len, 256);
	cr_expect_eq(nr_feature_find(0x0e)->data_len, 8);
	cr_expect_eq(nr_feature_find(0x16)->data_len, 512);
	cr_expect_eq(nr_feature_find(0x13)->data_len, 512);
	cr_expect(nr_feature_find(0x0d)->data_get_only);
	cr_expect_eq(nr_feature_find(0x07)->data_len, 0);
}

Test(features, names, .timeout = 30)
{
	cr_expect_str_eq(nr_feature_name(0x07), "Number of Queues");
	cr_expect_str_eq(nr_feature_name(0xc1), "Vendor Specific");
	cr_expect_str_eq(nr_feature_name(0x60), "Unknown");
	cr_expect_null(nr_feature_find(0x00));
}

Test(features, supported_capabilities, .timeout = 30)
{
	json_t *obj = nr_feature_decode(nr_feature_caps_fields, 0x5);

	cr_expect_eq(json_integer_value(json_object_get(obj, "saveable")), 1);
	cr_expect_eq(json_integer_value(json_object_get(obj, "ns_specific")), 0);
	cr_expect_eq(json_integer_value(json_object_get(obj, "changeable")), 1);
	json_decref(obj);
}

struct bad_vec {
	char json[32];
	char bad[16];
};

ParameterizedTestParameters(features, refuses)
{
	static struct bad_vec vecs[] = {
	    {"{\"tmpsel\":16}", "tmpsel"},
	    {"{\"thsel\":-1}", "thsel"},
	    {"{\"tmpth\":\"1\"}", "tmpth"},
	    {"{\"wce\":1}", "wce"},
	};
	return cr_make_param_array(struct bad_vec, vecs, sizeof(vecs) / sizeof(vecs[0]));
}

ParameterizedTest(struct bad_vec *vec, features, refuses, .timeout = 30)
{
	json_t *obj = json_loads(vec->json, 0, NULL);
	uint32_t value = 0;
	const char *bad = NULL;

	cr_expect_eq(nr_feature_encode(nr_feature_find(0x04)->fields, obj, &value, &bad), -EINVAL);
	cr_expect_str_eq(bad, vec->bad);
	json_decref(obj);
}
