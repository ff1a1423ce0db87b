/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/encode/encode.c. Fixtures are raw byte buffers filled at the
 * NVMe specification's byte offsets (not through libnvme's structures), so a
 * wrong offset, width or byte order in the encoder shows up.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "encode/encode.h"
#include "encode/encode_log.h"
#include "test_fixture.h"

static const char *str_at(const json_t *obj, const char *key)
{
	json_t *value = json_object_get(obj, key);

	cr_assert(json_is_string(value), "%s is not a string", key);
	return json_string_value(value);
}

struct u64_vec {
	uint64_t value;
	json_int_t expect;
};

ParameterizedTestParameters(encode, u64)
{
	static struct u64_vec vecs[] = {
	    {0, 0},
	    {1, 1},
	    {0x7fffffffffffffffull, INT64_MAX},
	    {0x8000000000000000ull, INT64_MIN},
	    {0xfffffffffffffffeull, -2},
	    {0xffffffffffffffffull, -1},
	};
	return cr_make_param_array(struct u64_vec, vecs, sizeof(vecs) / sizeof(vecs[0]));
}

ParameterizedTest(struct u64_vec *vec, encode, u64, .timeout = 30)
{
	json_t *value = nr_json_u64(vec->value);

	cr_assert(json_is_integer(value));
	cr_expect_eq(json_integer_value(value), vec->expect);
	cr_expect_eq((uint64_t)json_integer_value(value), vec->value, "bits are recovered");
	json_decref(value);
}

/* Parameters are copied into a re-executed test process: no pointers. */
struct u128_vec {
	uint64_t lo, hi;
	char expect[48];
};

ParameterizedTestParameters(encode, u128)
{
	static struct u128_vec vecs[] = {
	    {0, 0, "0"},
	    {1, 0, "1"},
	    {10, 0, "10"},
	    {0xffffffffffffffffull, 0, "18446744073709551615"},
	    {0, 1, "18446744073709551616"},
	    {5, 1, "18446744073709551621"},
	    {0x6bc75e2d63100000ull, 0x5, "100000000000000000000"},
	    {0xffffffffffffffffull, 0xffffffffffffffffull,
	     "340282366920938463463374607431768211455"},
	};
	return cr_make_param_array(struct u128_vec, vecs, sizeof(vecs) / sizeof(vecs[0]));
}

ParameterizedTest(struct u128_vec *vec, encode, u128, .timeout = 30)
{
	uint8_t le[16];
	json_t *value;

	put_le(le, 0, vec->lo, 8);
	put_le(le, 8, vec->hi, 8);
	value = nr_json_u128(le);
	cr_assert(json_is_string(value));
	cr_expect_str_eq(json_string_value(value), vec->expect);
	json_decref(value);
}

struct ident_vec {
	char field[8];
	char expect[16];
};

ParameterizedTestParameters(encode, ident)
{
	static struct ident_vec vecs[] = {
	    {"ABC     ", "ABC"},
	    {"1.0\0\0\0\0\0", "1.0"},
	    {"AB\0CD   ", "AB"},
	    {"        ", ""},
	    {"  X  Y  ", "  X  Y"},
	    {"A\x01\xff"
	     "B    ",
	     "A..B"},
	    {"12345678", "12345678"},
	};
	return cr_make_param_array(struct ident_vec, vecs, sizeof(vecs) / sizeof(vecs[0]));
}

ParameterizedTest(struct ident_vec *vec, encode, ident, .timeout = 30)
{
	json_t *value = nr_json_ident(vec->field, sizeof(vec->field));

	cr_assert(json_is_string(value));
	cr_expect_str_eq(json_string_value(value), vec->expect);
	json_decref(value);
}

Test(encode, id_ctrl_fixture, .timeout = 30)
{
	static uint8_t buf[4096];
	json_t *obj, *psds, *psd;

	fixture_id_ctrl(buf);
	obj = nr_enc_id_ctrl((const struct nvme_id_ctrl *)buf);
	cr_assert_not_null(obj);
	cr_expect_eq(int_at(obj, "vid"), 0x1b36);
	cr_expect_eq(int_at(obj, "ssvid"), 0x1af4);
	cr_expect_str_eq(str_at(obj, "sn"), "SN0001");
	cr_expect_str_eq(str_at(obj, "mn"), "Model X");
	cr_expect_str_eq(str_at(obj, "fr"), "FW 1.2");
	cr_expect_eq(int_at(obj, "rab"), 6);
	cr_expect_eq(int_at(obj, "ieee"), 0x525400);
	cr_expect_eq(int_at(obj, "mdts"), 7);
	cr_expect_eq(int_at(obj, "cntlid"), 0x0102);
	cr_expect_eq(int_at(obj, "ver"), 0x20000);
	cr_expect_eq(int_at(obj, "ctratt"), 0x80000001);
	cr_expect_eq(int_at(obj, "rrls"), 0);
	cr_expect_eq(int_at(obj, "cntrltype"), 1);
	cr_expect_str_eq(str_at(obj, "fguid"), "10111213-1415-1617-1819-1a1b1c1d1e1f");
	cr_expect_eq(int_at(obj, "crdt1"), 0);
	cr_expect_eq(int_at(obj, "nvmsr"), 0);
	cr_expect_eq(int_at(obj, "oacs"), 0x17);
	cr_expect_eq(int_at(obj, "npss"), 1);
	cr_expect_eq(int_at(obj, "wctemp"), 343);
	cr_expect_eq(int_at(obj, "cctemp"), 353);
	cr_expect_str_eq(str_at(obj, "tnvmcap"), "18446744073709559808");
	cr_expect_str_eq(str_at(obj, "unvmcap"), "0");
	cr_expect_str_eq(str_at(obj, "megcap"), "0");
	cr_expect_str_eq(str_at(obj, "maxdna"), "0");
	cr_expect_eq(int_at(obj, "sqes"), 0x66);
	cr_expect_eq(int_at(obj, "cqes"), 0x44);
	cr_expect_eq(int_at(obj, "nn"), 1024);
	cr_expect_eq(int_at(obj, "sgls"), 0xffffffff);
	cr_expect_str_eq(str_at(obj, "subnqn"), "nqn.2014-08.org.example:sub");
	cr_expect_eq(int_at(obj, "ofcs"), 0);

	psds = json_object_get(obj, "psds");
	cr_assert(json_is_array(psds));
	cr_assert_eq(json_array_size(psds), 2, "npss + 1 descriptors");
	psd = json_array_get(psds, 0);
	cr_expect_eq(int_at(psd, "max_power"), 2500);
	cr_expect_eq(int_at(psd, "entry_lat"), 16);
	psd = json_array_get(psds, 1);
	cr_expect_eq(int_at(psd, "max_power"), 900);
	cr_expect_eq(int_at(psd, "flags"), 3);
	cr_expect_eq(int_at(psd, "active_work_scale"), 0x42);
	cr_expect_eq(json_object_size(psd), 12);
	/* 85 scalar fields + psds. */
	cr_expect_eq(json_object_size(obj), 86);
	json_decref(obj);
}

Test(encode, id_ns_fixture, .timeout = 30)
{
	static uint8_t buf[4096];
	json_t *obj, *lbafs, *lbaf;

	fixture_id_ns(buf);
	obj = nr_enc_id_ns((const struct nvme_id_ns *)buf);
	cr_assert_not_null(obj);
	cr_expect_eq(int_at(obj, "nsze"), -1);
	cr_expect_eq(int_at(obj, "ncap"), INT64_MIN + 1);
	cr_expect_eq(int_at(obj, "nuse"), 123456789);
	cr_expect_eq(int_at(obj, "nsfeat"), 0x10);
	cr_expect_eq(int_at(obj, "nlbaf"), 1);
	cr_expect_eq(int_at(obj, "flbas"), 1);
	cr_expect_str_eq(str_at(obj, "nvmcap"), "1099511627776");
	cr_expect_eq(int_at(obj, "npwg"), 8);
	cr_expect_eq(int_at(obj, "mcl"), 0x11223344);
	cr_expect_eq(int_at(obj, "nulbaf"), 0);
	cr_expect_eq(int_at(obj, "anagrpid"), 3);
	cr_expect_eq(int_at(obj, "endgid"), 9);
	cr_expect_str_eq(str_at(obj, "nguid"), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	cr_expect_str_eq(str_at(obj, "eui64"), "0102030405060708");
	lbafs = json_object_get(obj, "lbafs");
	cr_assert_eq(json_array_size(lbafs), 2);
	lbaf = json_array_get(lbafs, 1);
	cr_expect_eq(int_at(lbaf, "ms"), 8);
	cr_expect_eq(int_at(lbaf, "ds"), 12);
	cr_expect_eq(int_at(lbaf, "rp"), 2);
	cr_expect_eq(int_at(json_array_get(lbafs, 0), "ds"), 9);
	cr_expect_eq(json_object_size(obj), 37);
	json_decref(obj);
}

Test(encode, smart_log_fixture, .timeout = 30)
{
	static uint8_t buf[512];
	json_t *obj, *bits;

	fixture_smart_log(buf);
	obj = nr_enc_smart_log((const struct nvme_smart_log *)buf);
	cr_assert_not_null(obj);
	cr_expect_eq(int_at(obj, "critical_warning"), 0x25);
	cr_expect_eq(int_at(obj, "temperature"), 308);
	cr_expect_eq(int_at(obj, "avail_spare"), 100);
	cr_expect_eq(int_at(obj, "spare_thresh"), 10);
	cr_expect_eq(int_at(obj, "percent_used"), 3);
	cr_expect_eq(int_at(obj, "endurance_grp_critical_warning_summary"), 1);
	cr_expect_str_eq(str_at(obj, "data_units_read"), "18446744073709551621");
	cr_expect_str_eq(str_at(obj, "data_units_written"), "4660");
	cr_expect_str_eq(str_at(obj, "host_read_commands"), "42");
	cr_expect_str_eq(str_at(obj, "host_write_commands"), "43");
	cr_expect_str_eq(str_at(obj, "controller_busy_time"), "7");
	cr_expect_str_eq(str_at(obj, "power_cycles"), "12");
	cr_expect_str_eq(str_at(obj, "power_on_hours"), "9999");
	cr_expect_str_eq(str_at(obj, "unsafe_shutdowns"), "2");
	cr_expect_str_eq(str_at(obj, "media_errors"), "0");
	cr_expect_str_eq(str_at(obj, "num_err_log_entries"), "77");
	cr_expect_eq(int_at(obj, "warning_temp_time"), 10);
	cr_expect_eq(int_at(obj, "critical_comp_time"), 11);
	cr_expect_eq(int_at(obj, "temperature_sensor_1"), 310);
	cr_expect_null(json_object_get(obj, "temperature_sensor_2"));
	cr_expect_eq(int_at(obj, "temperature_sensor_3"), 320);
	cr_expect_null(json_object_get(obj, "temperature_sensor_8"));
	cr_expect_eq(int_at(obj, "thm_temp1_trans_count"), 0x01020304);
	cr_expect_eq(int_at(obj, "thm_temp2_trans_count"), 0);
	cr_expect_eq(int_at(obj, "thm_temp2_total_time"), 99);

	bits = json_object_get(obj, "critical_warning_bits");
	cr_assert(json_is_object(bits));
	cr_expect(json_is_true(json_object_get(bits, "spare")));
	cr_expect(json_is_false(json_object_get(bits, "temperature")));
	cr_expect(json_is_true(json_object_get(bits, "reliability")));
	cr_expect(json_is_false(json_object_get(bits, "read_only")));
	cr_expect(json_is_false(json_object_get(bits, "volatile_backup")));
	cr_expect(json_is_true(json_object_get(bits, "pmr_read_only")));
	cr_expect_eq(json_object_size(bits), 6);
	/* 18 head + 2 sensors + 4 thermal + critical_warning_bits. */
	cr_expect_eq(json_object_size(obj), 25);
	json_decref(obj);
}

Test(encode, zone_desc_fixture, .timeout = 30)
{
	uint8_t buf[64];
	json_t *obj;

	memset(buf, 0, sizeof(buf));
	memset(buf + 32, 0x77, 32);		   /* reserved */
	buf[0] = 0x02;				   /* zt: sequential write required */
	buf[1] = 0xe0;				   /* zs: full */
	buf[2] = 0x81;				   /* za */
	buf[3] = 0x04;				   /* zai */
	put_le(buf, 8, 2048, 8);		   /* zcap */
	put_le(buf, 16, 0x100000000ull, 8);	   /* zslba */
	put_le(buf, 24, 0xffffffffffffffffull, 8); /* wp: none */

	obj = nr_enc_zone_desc((const struct nvme_zns_desc *)buf);
	cr_assert_not_null(obj);
	cr_expect_eq(int_at(obj, "slba"), 0x100000000ll);
	cr_expect_eq(int_at(obj, "wp"), -1);
	cr_expect_eq(int_at(obj, "cap"), 2048);
	cr_expect_str_eq(str_at(obj, "state"), "FULL");
	cr_expect_str_eq(str_at(obj, "type"), "SEQWRITE_REQ");
	cr_expect_eq(int_at(obj, "attrs"), 0x81);
	cr_expect_eq(int_at(obj, "attrs_info"), 4);
	cr_expect_eq(json_object_size(obj), 7);
	json_decref(obj);
}

struct name_vec {
	unsigned value;
	char name[16];
};

ParameterizedTestParameters(encode, zone_state_names)
{
	static struct name_vec vecs[] = {
	    {0x1, "EMPTY"},    {0x2, "IMP_OPENED"}, {0x3, "EXP_OPENED"}, {0x4, "CLOSED"},
	    {0xd, "READONLY"}, {0xe, "FULL"},	    {0xf, "OFFLINE"},	 {0x0, "UNKNOWN"},
	    {0x5, "UNKNOWN"},  {0x10, "UNKNOWN"},   {1000, "UNKNOWN"},
	};
	return cr_make_param_array(struct name_vec, vecs, sizeof(vecs) / sizeof(vecs[0]));
}

ParameterizedTest(struct name_vec *vec, encode, zone_state_names, .timeout = 30)
{
	cr_expect_str_eq(nr_zone_state_name(vec->value), vec->name);
}

Test(encode, zone_type_names, .timeout = 30)
{
	cr_expect_str_eq(nr_zone_type_name(0x2), "SEQWRITE_REQ");
	cr_expect_str_eq(nr_zone_type_name(0x1), "UNKNOWN");
	cr_expect_str_eq(nr_zone_type_name(0x20), "UNKNOWN");
}

/* The streamed (text) and the whole-answer (jansson) zone encoders must give
 * equal objects for every descriptor: states, types, all-ones and
 * two's-complement values, attribute bits. */
Test(encode, zone_text_equals_zone_object, .timeout = 30)
{
	static const uint64_t values[] = {0,
					  1,
					  2048,
					  0x7fffffffffffffffull,
					  0x8000000000000000ull,
					  0xfffffffffffffffeull,
					  0xffffffffffffffffull};
	const size_t nv = sizeof(values) / sizeof(values[0]);
	struct nvme_zns_desc desc;
	char text[NR_ZONE_TEXT_MAX];

	for (unsigned zs = 0; zs < 16; zs++) {
		for (size_t i = 0; i < nv * nv; i++) {
			memset(&desc, 0, sizeof(desc));
			desc.zt = (uint8_t)(zs % 3 == 0 ? 2 : zs);
			desc.zs = (uint8_t)(zs << 4);
			desc.za = (uint8_t)(i * 37);
			desc.zai = (uint8_t)(i * 11);
			desc.zslba = htole64(values[i % nv]);
			desc.wp = htole64(values[i / nv]);
			desc.zcap = htole64(values[(i + zs) % nv]);
			size_t len = nr_enc_zone_desc_text(text, &desc);
			json_error_t err;
			json_t *parsed = json_loadb(text, len, 0, &err);
			json_t *object = nr_enc_zone_desc(&desc);
			cr_assert_not_null(parsed, "%.*s: %s", (int)len, text, err.text);
			cr_assert(json_equal(parsed, object), "text %.*s", (int)len, text);
			cr_assert_lt(len, NR_ZONE_TEXT_MAX);
			json_decref(parsed);
			json_decref(object);
		}
	}
}

/* All-ones 32-bit sentinels were 4294967295 where nvme-cli 2.3 prints -1
 * (zns id-ns mar / mor "no limit"); one less stays a number. */
Test(encode, u32_no_limit_is_minus_one, .timeout = 30)
{
	uint8_t zns[4096] = {0}, sanitize[512] = {0};
	json_t *obj = nr_json_u32_sentinel(UINT32_MAX);

	cr_expect_eq(json_integer_value(obj), -1);
	json_decref(obj);
	memset(zns + 4, 0xff, 4);	/* MAR: no limit */
	memset(zns + 8, 0xff, 3);	/* MOR: FFFFFEh, a number */
	memset(zns + 12, 0xff, 4);	/* RRL: not a sentinel field */
	memset(sanitize + 20, 0xff, 4); /* ETOND: not reported */
	obj = nr_enc_zns_id_ns(zns, 0);
	cr_expect_eq(json_integer_value(json_object_get(obj, "mar")), -1);
	cr_expect_eq(json_integer_value(json_object_get(obj, "mor")), 0xffffff);
	cr_expect_eq(json_integer_value(json_object_get(obj, "rrl")), 4294967295);
	json_decref(obj);
	obj = nr_enc_sanitize_log(sanitize);
	cr_expect_eq(json_integer_value(json_object_get(obj, "time_over_write_no_dealloc")), -1);
	cr_expect_eq(json_integer_value(json_object_get(obj, "time_over_write")), 0);
	cr_expect_eq(json_integer_value(json_object_get(obj, "cdw10_info")), 0);
	json_decref(obj);
}

/* Bug: NPSS (byte 263) was trusted as the number of power state descriptors
 * less one, so a controller reporting NPSS 255 made the encoder read 224
 * descriptors past the 32 in the 4096-byte Identify buffer (a heap overflow
 * whose bytes went to the client). Found by fuzz_encode. */
Test(encode, id_ctrl_npss_past_the_psd_array, .timeout = 30)
{
	uint8_t *buf = calloc(1, 4096);
	json_t *obj;

	cr_assert_not_null(buf);
	buf[263] = 0xff;
	obj = nr_enc_id_ctrl((const struct nvme_id_ctrl *)buf);
	cr_assert_not_null(obj);
	cr_expect_eq(json_array_size(json_object_get(obj, "psds")), 32);
	json_decref(obj);
	free(buf);
}

/* Bug: NLBAF (byte 25) was trusted the same way: NLBAF 255 listed 256 LBA
 * formats of the 64 the structure holds, the rest read from the vendor
 * specific area. Found with the NPSS bug. */
Test(encode, id_ns_nlbaf_past_the_lbaf_array, .timeout = 30)
{
	uint8_t *buf = calloc(1, 4096);
	json_t *obj;

	cr_assert_not_null(buf);
	buf[25] = 0xff;
	obj = nr_enc_id_ns((const struct nvme_id_ns *)buf);
	cr_assert_not_null(obj);
	cr_expect_eq(json_array_size(json_object_get(obj, "lbafs")), 64);
	json_decref(obj);
	free(buf);
}
