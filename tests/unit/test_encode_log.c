/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/encode/encode_log.c. Fixtures are raw buffers filled at the
 * NVMe base specification 2.0 / ZNS byte offsets, not through libnvme's
 * structures, so a wrong offset, width or byte order shows up.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "encode/encode_log.h"
#include "test_fixture.h"

Test(encode_log, error_log_entry, .timeout = 30)
{
	uint8_t buf[2 * 64] = {0};
	json_t *log, *e;

	put_le(buf, 64 + 0, 0x1122334455667788ull, 8); /* second entry */
	put_le(buf, 64 + 8, 3, 2);
	put_le(buf, 64 + 10, 0x1234, 2);
	put_le(buf, 64 + 12, (0x4002u << 1) | 1u, 2);
	put_le(buf, 64 + 14, 0x0105, 2);
	put_le(buf, 64 + 16, 0xdeadbeefull, 8);
	put_le(buf, 64 + 24, 7, 4);
	buf[64 + 28] = 0x5a;
	buf[64 + 29] = 3;
	put_le(buf, 64 + 32, 0xabcdull, 8);
	put_le(buf, 64 + 40, 0x4242, 2);
	log = nr_enc_error_log(buf, 2);
	cr_assert_eq(json_array_size(json_object_get(log, "errors")), 2);
	e = json_array_get(json_object_get(log, "errors"), 1);
	cr_expect_eq(int_at(e, "error_count"), 0x1122334455667788ll);
	cr_expect_eq(int_at(e, "sqid"), 3);
	cr_expect_eq(int_at(e, "cmdid"), 0x1234);
	cr_expect_eq(int_at(e, "status_field"), 0x4002);
	cr_expect_eq(int_at(e, "phase_tag"), 1);
	cr_expect_eq(int_at(e, "parm_error_location"), 0x0105);
	cr_expect_eq(int_at(e, "lba"), 0xdeadbeefll);
	cr_expect_eq(int_at(e, "nsid"), 7);
	cr_expect_eq(int_at(e, "vs"), 0x5a);
	cr_expect_eq(int_at(e, "trtype"), 3);
	cr_expect_eq(int_at(e, "cs"), 0xabcd);
	cr_expect_eq(int_at(e, "trtype_spec_info"), 0x4242);
	cr_expect_eq(json_object_size(e), 12);
	json_decref(log);
}

Test(encode_log, fw_log, .timeout = 30)
{
	uint8_t buf[512] = {0};
	json_t *log;

	buf[0] = 0x21; /* active slot 1, next slot 2 */
	memcpy(buf + 8, "1.0     ", 8);
	memcpy(buf + 16, "2.0-rc1 ", 8);
	log = nr_enc_fw_log(buf);
	cr_expect_eq(int_at(log, "afi"), 0x21);
	cr_expect_eq(int_at(log, "active_slot"), 1);
	cr_expect_eq(int_at(log, "next_slot"), 2);
	cr_expect_str_eq(json_string_value(json_object_get(log, "frs1")), "1.0");
	cr_expect_str_eq(json_string_value(json_object_get(log, "frs2")), "2.0-rc1");
	cr_expect_str_eq(json_string_value(json_object_get(log, "frs7")), "");
	json_decref(log);
}

Test(encode_log, effects_log, .timeout = 30)
{
	uint8_t buf[4096] = {0};
	json_t *log, *e;

	put_le(buf, 0x06 * 4, 0x1u, 4); /* Identify */
	put_le(buf, 0x80 * 4, 0x1u | 0x2u | 0x10u | (3u << 16) | (1u << 19), 4);
	put_le(buf, 0x81 * 4, 0x2u, 4);	       /* not supported: left out */
	put_le(buf, 1024 + 0x01 * 4, 0x3u, 4); /* I/O Write */
	log = nr_enc_effects_log(buf, 0);
	cr_assert_eq(json_array_size(json_object_get(log, "acs")), 2);
	cr_assert_eq(json_array_size(json_object_get(log, "iocs")), 1);
	e = json_array_get(json_object_get(log, "acs"), 1);
	cr_expect_eq(int_at(e, "opcode"), 0x80);
	cr_expect_eq(int_at(e, "lbcc"), 1);
	cr_expect_eq(int_at(e, "ncc"), 0);
	cr_expect_eq(int_at(e, "ccc"), 1);
	cr_expect_eq(int_at(e, "cse"), 3);
	cr_expect_eq(int_at(e, "uss"), 1);
	cr_expect_eq(int_at(json_array_get(json_object_get(log, "iocs"), 0), "opcode"), 1);
	json_decref(log);
}

Test(encode_log, self_test_log, .timeout = 30)
{
	uint8_t buf[564];
	json_t *log, *r;

	memset(buf, 0, sizeof(buf));
	for (int i = 0; i < 20; i++)
		buf[4 + i * 28] = 0xf; /* unused */
	buf[0] = 1;
	buf[1] = 42;
	buf[4] = 0x27; /* extended, failed segment */
	buf[5] = 3;
	buf[6] = 0x3;
	put_le(buf, 4 + 4, 1000, 8);
	put_le(buf, 4 + 12, 1, 4);
	put_le(buf, 4 + 16, 0x1234, 8);
	buf[4 + 24] = 2;
	buf[4 + 25] = 0x81;
	log = nr_enc_self_test_log(buf);
	cr_expect_eq(int_at(log, "current_operation"), 1);
	cr_expect_eq(int_at(log, "completion"), 42);
	cr_assert_eq(json_array_size(json_object_get(log, "results")), 1);
	r = json_array_get(json_object_get(log, "results"), 0);
	cr_expect_eq(int_at(r, "result"), 7);
	cr_expect_eq(int_at(r, "code"), 2);
	cr_expect_eq(int_at(r, "segment"), 3);
	cr_expect_eq(int_at(r, "poh"), 1000);
	cr_expect_eq(int_at(r, "nsid"), 1);
	cr_expect_eq(int_at(r, "flba"), 0x1234);
	cr_expect_eq(int_at(r, "sct"), 2);
	cr_expect_eq(int_at(r, "sc"), 0x81);
	json_decref(log);
}

Test(encode_log, sanitize_log, .timeout = 30)
{
	uint8_t buf[512] = {0};
	json_t *log;

	put_le(buf, 0, 32768, 2);
	put_le(buf, 2, 2u | (3u << 3) | (1u << 8), 2);
	put_le(buf, 4, 0x212, 4);
	put_le(buf, 8, 10, 4);
	put_le(buf, 12, 11, 4);
	put_le(buf, 16, 12, 4);
	put_le(buf, 28, 15, 4);
	log = nr_enc_sanitize_log(buf);
	cr_expect_eq(int_at(log, "sprog"), 32768);
	cr_expect_eq(int_at(log, "percent"), 50);
	cr_expect_str_eq(json_string_value(json_object_get(log, "status")), "in_progress");
	cr_expect_eq(int_at(log, "completed_passes"), 3);
	cr_expect(json_is_true(json_object_get(log, "global_erased")));
	cr_expect_eq(int_at(log, "cdw10_info"), 0x212);
	cr_expect_eq(int_at(log, "time_over_write"), 10);
	cr_expect_eq(int_at(log, "time_block_erase"), 11);
	cr_expect_eq(int_at(log, "time_crypto_erase"), 12);
	cr_expect_eq(int_at(log, "time_crypto_erase_no_dealloc"), 15);
	json_decref(log);
}

Test(encode_log, lists, .timeout = 30)
{
	uint8_t buf[4096] = {0};
	json_t *obj;

	put_le(buf, 0, 1, 4);
	put_le(buf, 4, 0x10000, 4);
	obj = nr_enc_ns_list(buf);
	cr_assert_eq(json_array_size(json_object_get(obj, "nsid_list")), 2);
	cr_expect_eq(int_at(json_array_get(json_object_get(obj, "nsid_list"), 1), "nsid"), 0x10000);
	json_decref(obj);
	obj = nr_enc_changed_ns_list(buf);
	cr_expect_eq(json_array_size(json_object_get(obj, "nsid_list")), 2);
	cr_expect(json_is_false(json_object_get(obj, "overflow")));
	json_decref(obj);
	put_le(buf, 0, 0xffffffffu, 4);
	obj = nr_enc_changed_ns_list(buf);
	cr_expect_eq(json_array_size(json_object_get(obj, "nsid_list")), 0);
	cr_expect(json_is_true(json_object_get(obj, "overflow")));
	json_decref(obj);
	memset(buf, 0, sizeof(buf));
	put_le(buf, 0, 2, 2);
	put_le(buf, 2, 1, 2);
	put_le(buf, 4, 0x2a, 2);
	obj = nr_enc_ctrl_list(buf);
	cr_expect_eq(int_at(obj, "num_ctrl"), 2);
	cr_expect_eq(int_at(json_array_get(json_object_get(obj, "ctrl_list"), 1), "ctrl_id"), 0x2a);
	json_decref(obj);
}

Test(encode_log, ns_descs, .timeout = 30)
{
	uint8_t buf[4096] = {0};
	json_t *obj;
	size_t off = 0;

	buf[off] = 1, buf[off + 1] = 8;
	for (int i = 0; i < 8; i++)
		buf[off + 4 + i] = (uint8_t)(0x10 + i);
	off += 12;
	buf[off] = 3, buf[off + 1] = 16;
	for (int i = 0; i < 16; i++)
		buf[off + 4 + i] = (uint8_t)i;
	off += 20;
	buf[off] = 4, buf[off + 1] = 1, buf[off + 4] = 2;
	obj = nr_enc_ns_descs(buf, sizeof(buf));
	cr_expect_str_eq(json_string_value(json_object_get(obj, "eui64")), "1011121314151617");
	cr_expect_str_eq(json_string_value(json_object_get(obj, "uuid")),
			 "00010203-0405-0607-0809-0a0b0c0d0e0f");
	cr_expect_eq(int_at(obj, "csi"), 2);
	cr_expect_null(json_object_get(obj, "nguid"));
	json_decref(obj);
}

Test(encode_log, zns_id_ns, .timeout = 30)
{
	uint8_t buf[4096] = {0};
	json_t *obj, *lbafe;

	put_le(buf, 0, 1, 2);
	put_le(buf, 4, 13, 4);
	put_le(buf, 8, 14, 4);
	put_le(buf, 52, 1, 1);
	put_le(buf, 2816 + 16, 2048, 8); /* lbafe[1].zsze */
	buf[2816 + 16 + 8] = 4;
	obj = nr_enc_zns_id_ns(buf, 1);
	cr_expect_eq(int_at(obj, "zoc"), 1);
	cr_expect_eq(int_at(obj, "mar"), 13);
	cr_expect_eq(int_at(obj, "mor"), 14);
	cr_expect_eq(int_at(obj, "zrwacap"), 1);
	lbafe = json_object_get(obj, "lbafe");
	cr_assert_eq(json_array_size(lbafe), 2);
	cr_expect_eq(int_at(json_array_get(lbafe, 1), "zsze"), 2048);
	cr_expect_eq(int_at(json_array_get(lbafe, 1), "zdes"), 4);
	json_decref(obj);
	buf[0] = 7;
	obj = nr_enc_zns_id_ctrl(buf);
	cr_expect_eq(int_at(obj, "zasl"), 7);
	json_decref(obj);
}

Test(encode_log, nvm_id_ns, .timeout = 30)
{
	uint8_t buf[4096] = {0};
	json_t *obj, *e;

	put_le(buf, 0, 0xff, 8);
	buf[8] = 3;
	put_le(buf, 12 + 4, 0x05u | (2u << 7), 4); /* elbaf[1]: sts 5, pif 2 */
	obj = nr_enc_nvm_id_ns(buf, 1);
	cr_expect_eq(int_at(obj, "lbstm"), 0xff);
	cr_expect_eq(int_at(obj, "pic"), 3);
	e = json_array_get(json_object_get(obj, "elbafs"), 1);
	cr_expect_eq(int_at(e, "sts"), 5);
	cr_expect_eq(int_at(e, "pif"), 2);
	json_decref(obj);
}
