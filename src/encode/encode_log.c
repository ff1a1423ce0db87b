/* SPDX-License-Identifier: MIT */
#include "encode/encode_log.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "encode/encode.h"

#define COUNT(table) (sizeof(table) / sizeof((table)[0]))

/* A little-endian unsigned field of @size bytes at @offset, with its key;
 * @sentinel: a 32-bit field whose all-ones value means "no limit" or "not
 * reported", encoded -1 (encode.h). */
struct log_field {
	const char *name;
	uint16_t offset;
	uint8_t size;
	bool sentinel;
};

#define FIELD(name, offset, size)                                                                  \
	{                                                                                          \
		name, offset, size, false                                                          \
	}
/* A 32-bit field whose all ones is a sentinel ("no limit", "not reported"). */
#define NO_LIMIT32(name, offset)                                                                   \
	{                                                                                          \
		name, offset, 4, true                                                              \
	}

static uint64_t le_at(const uint8_t *buf, size_t offset, size_t size)
{
	uint64_t value = 0;

	while (size--)
		value = value << 8 | buf[offset + size];
	return value;
}

/* Adds each field of @fields read from @base to @obj. Returns 0 or -1. */
static int put_fields(json_t *obj, const uint8_t *base, const struct log_field *fields,
		      size_t count)
{
	for (size_t i = 0; i < count; i++) {
		uint64_t v = le_at(base, fields[i].offset, fields[i].size);
		json_t *value =
		    fields[i].sentinel ? nr_json_u32_sentinel((uint32_t)v) : nr_json_u64(v);
		if (json_object_set_new_nocheck(obj, fields[i].name, value))
			return -1;
	}
	return 0;
}

/* Returns @obj, or NULL after dropping it when @failed. */
static json_t *finish(json_t *obj, int failed)
{
	if (failed) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* Error Information log entry, Figure "Error Information Log Entry". The
 * status field's bit 0 is the phase tag, split off as nvme-cli does. */
static const struct log_field error_head[] = {
    FIELD("error_count", 0, 8),
    FIELD("sqid", 8, 2),
    FIELD("cmdid", 10, 2),
};
static const struct log_field error_tail[] = {
    FIELD("parm_error_location", 14, 2),
    FIELD("lba", 16, 8),
    FIELD("nsid", 24, 4),
    FIELD("vs", 28, 1),
    FIELD("trtype", 29, 1),
    FIELD("cs", 32, 8),
    FIELD("trtype_spec_info", 40, 2),
};

static json_t *error_entry(const uint8_t *e)
{
	json_t *obj = json_object();
	uint16_t status = (uint16_t)le_at(e, 12, 2);

	return finish(
	    obj, !obj || put_fields(obj, e, error_head, COUNT(error_head)) ||
		     json_object_set_new_nocheck(obj, "status_field", json_integer(status >> 1)) ||
		     json_object_set_new_nocheck(obj, "phase_tag", json_integer(status & 1)) ||
		     put_fields(obj, e, error_tail, COUNT(error_tail)));
}

json_t *nr_enc_error_log(const uint8_t *buf, size_t count)
{
	json_t *errors = json_array();

	for (size_t i = 0; errors && i < count; i++) {
		if (json_array_append_new(errors, error_entry(buf + i * NR_ERROR_LOG_ENTRY_SIZE))) {
			json_decref(errors);
			return NULL;
		}
	}
	return errors ? json_pack("{s:o}", "errors", errors) : NULL;
}

json_t *nr_enc_fw_log(const uint8_t *buf)
{
	json_t *obj = json_object();
	int failed = !obj;
	char key[8];

	failed = failed || json_object_set_new_nocheck(obj, "afi", json_integer(buf[0])) ||
		 json_object_set_new_nocheck(obj, "active_slot", json_integer(buf[0] & 7)) ||
		 json_object_set_new_nocheck(obj, "next_slot", json_integer((buf[0] >> 4) & 7));
	for (int slot = 1; !failed && slot <= 7; slot++) {
		snprintf(key, sizeof(key), "frs%d", slot);
		failed = json_object_set_new(obj, key,
					     nr_json_ident((const char *)buf + 8 * slot, 8)) != 0;
	}
	return finish(obj, failed);
}

/* Commands Supported and Effects data structure bits. */
static json_t *effects_entry(unsigned opcode, uint32_t e)
{
	return json_pack("{s:i, s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "opcode", (int)opcode,
			 "effects", (json_int_t)e, "csupp", (int)(e & 1), "lbcc", (int)(e >> 1 & 1),
			 "ncc", (int)(e >> 2 & 1), "nic", (int)(e >> 3 & 1), "ccc",
			 (int)(e >> 4 & 1), "cse", (int)(e >> 16 & 7), "uss", (int)(e >> 19 & 1));
}

static json_t *effects_list(const uint8_t *table)
{
	json_t *list = json_array();

	for (unsigned op = 0; list && op < 256; op++) {
		uint32_t e = (uint32_t)le_at(table, op * 4, 4);
		if ((e & 1) && json_array_append_new(list, effects_entry(op, e))) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

json_t *nr_enc_effects_log(const uint8_t *buf, uint8_t csi)
{
	json_t *acs = effects_list(buf);
	json_t *iocs = effects_list(buf + 1024);

	if (!acs || !iocs) {
		json_decref(acs);
		json_decref(iocs);
		return NULL;
	}
	return json_pack("{s:i, s:o, s:o}", "csi", csi, "acs", acs, "iocs", iocs);
}

/* Self-test Result data structure, 28 bytes from byte 4 of the log. */
static const struct log_field st_result_fields[] = {
    FIELD("segment", 1, 1), FIELD("vdi", 2, 1),	 FIELD("poh", 4, 8), FIELD("nsid", 12, 4),
    FIELD("flba", 16, 8),   FIELD("sct", 24, 1), FIELD("sc", 25, 1), FIELD("vs", 26, 2),
};

static json_t *st_result(const uint8_t *r)
{
	json_t *obj = json_pack("{s:i, s:i}", "result", r[0] & 0xf, "code", r[0] >> 4);

	return finish(obj, !obj || put_fields(obj, r, st_result_fields, COUNT(st_result_fields)));
}

json_t *nr_enc_self_test_log(const uint8_t *buf)
{
	json_t *results = json_array();

	for (size_t i = 0; results && i < 20; i++) {
		const uint8_t *r = buf + 4 + i * 28;
		if ((r[0] & 0xf) != 0xf && json_array_append_new(results, st_result(r))) {
			json_decref(results);
			return NULL;
		}
	}
	if (!results)
		return NULL;
	return json_pack("{s:i, s:i, s:o}", "current_operation", buf[0] & 0xf, "completion",
			 buf[1] & 0x7f, "results", results);
}

static const char *const sanitize_status_names[] = {
    [0] = "never_sanitized",	   [1] = "success", [2] = "in_progress", [3] = "failed",
    [4] = "success_no_deallocate",
};

const char *nr_sanitize_status_name(unsigned status)
{
	return status < COUNT(sanitize_status_names) ? sanitize_status_names[status] : "reserved";
}

/* Sanitize Status log, nvme-cli's keys for the estimated times; an
 * estimate of FFFFFFFFh is "no time period reported" (-1). */
static const struct log_field sanitize_fields[] = {
    FIELD("sprog", 0, 2),
    FIELD("sstat", 2, 2),
    FIELD("cdw10_info", 4, 4),
    NO_LIMIT32("time_over_write", 8),
    NO_LIMIT32("time_block_erase", 12),
    NO_LIMIT32("time_crypto_erase", 16),
    NO_LIMIT32("time_over_write_no_dealloc", 20),
    NO_LIMIT32("time_block_erase_no_dealloc", 24),
    NO_LIMIT32("time_crypto_erase_no_dealloc", 28),
};

json_t *nr_enc_sanitize_log(const uint8_t *buf)
{
	unsigned sprog = (unsigned)le_at(buf, 0, 2);
	unsigned sstat = (unsigned)le_at(buf, 2, 2);
	json_t *obj = json_object();

	return finish(
	    obj,
	    !obj || put_fields(obj, buf, sanitize_fields, COUNT(sanitize_fields)) ||
		json_object_set_new_nocheck(obj, "status",
					    json_string(nr_sanitize_status_name(sstat & 7))) ||
		json_object_set_new_nocheck(obj, "completed_passes",
					    json_integer(sstat >> 3 & 0x1f)) ||
		json_object_set_new_nocheck(obj, "global_erased", json_boolean(sstat >> 8 & 1)) ||
		json_object_set_new_nocheck(
		    obj, "percent",
		    json_integer((sstat & 7) == 2 ? (json_int_t)sprog * 100 / 65536 : 100)));
}

/* Appends the non-zero dwords of a 1024-entry list to @list, in order. */
static int id_list(json_t *list, const uint8_t *buf, const char *key)
{
	for (size_t i = 0; i < 1024; i++) {
		uint32_t id = (uint32_t)le_at(buf, i * 4, 4);
		if (id == 0)
			break;
		if (json_array_append_new(list, key ? json_pack("{s:I}", key, (json_int_t)id)
						    : json_integer(id)))
			return -1;
	}
	return 0;
}

json_t *nr_enc_changed_ns_list(const uint8_t *buf)
{
	bool overflow = le_at(buf, 0, 4) == 0xffffffffu;
	json_t *list = json_array();

	if (!list || (!overflow && id_list(list, buf, NULL))) {
		json_decref(list);
		return NULL;
	}
	return json_pack("{s:o, s:b}", "nsid_list", list, "overflow", overflow);
}

json_t *nr_enc_ns_list(const uint8_t *buf)
{
	json_t *list = json_array();

	if (!list || id_list(list, buf, "nsid")) {
		json_decref(list);
		return NULL;
	}
	return json_pack("{s:o}", "nsid_list", list);
}

json_t *nr_enc_ctrl_list(const uint8_t *buf)
{
	unsigned num = (unsigned)le_at(buf, 0, 2);
	json_t *list = json_array();

	for (unsigned i = 0; list && i < num && i < 2047; i++) {
		json_int_t id = (json_int_t)le_at(buf, 2 + i * 2, 2);
		if (json_array_append_new(list, json_pack("{s:I}", "ctrl_id", id))) {
			json_decref(list);
			return NULL;
		}
	}
	return list ? json_pack("{s:i, s:o}", "num_ctrl", (int)num, "ctrl_list", list) : NULL;
}

static json_t *uuid_string(const uint8_t b[16])
{
	char out[37];

	snprintf(out, sizeof(out),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
	return json_string_nocheck(out);
}

/* Returns the value of one descriptor (NIDT 1..4 with the right NIDL), or
 * NULL for a type this encoder does not know; *key names it. */
static json_t *desc_value(uint8_t nidt, uint8_t nidl, const uint8_t *nid, const char **key)
{
	static const struct {
		const char *key;
		uint8_t nidl;
	} types[5] = {
	    [1] = {"eui64", 8}, [2] = {"nguid", 16}, [3] = {"uuid", 16}, [4] = {"csi", 1}};

	if (nidt >= COUNT(types) || !types[nidt].key || types[nidt].nidl != nidl)
		return NULL;
	*key = types[nidt].key;
	if (nidt == 3)
		return uuid_string(nid);
	return nidt == 4 ? json_integer(nid[0]) : nr_json_hex(nid, nidl);
}

json_t *nr_enc_ns_descs(const uint8_t *buf, size_t len)
{
	json_t *obj = json_object();
	size_t off = 0;

	while (obj && off + 4 <= len && buf[off + 1] != 0 && off + 4 + buf[off + 1] <= len) {
		const char *key = NULL;
		json_t *value = desc_value(buf[off], buf[off + 1], buf + off + 4, &key);
		if (value && json_object_set_new_nocheck(obj, key, value)) {
			json_decref(obj);
			return NULL;
		}
		off += 4 + buf[off + 1];
	}
	return obj;
}

json_t *nr_enc_zns_id_ctrl(const uint8_t *buf)
{
	return json_pack("{s:i}", "zasl", buf[0]);
}

/* ZNS Identify Namespace, nvme-cli's keys and order; MAR and MOR of
 * FFFFFFFFh are "no limit" (-1, as nvme-cli prints them). */
static const struct log_field zns_ns_fields[] = {
    FIELD("zoc", 0, 2),	     FIELD("ozcs", 2, 2),    NO_LIMIT32("mar", 4),
    NO_LIMIT32("mor", 8),    FIELD("rrl", 12, 4),    FIELD("frl", 16, 4),
    FIELD("rrl1", 20, 4),    FIELD("rrl2", 24, 4),   FIELD("rrl3", 28, 4),
    FIELD("frl1", 32, 4),    FIELD("frl2", 36, 4),   FIELD("frl3", 40, 4),
    FIELD("numzrwa", 44, 4), FIELD("zrwafg", 48, 2), FIELD("zrwasz", 50, 2),
    FIELD("zrwacap", 52, 1),
};

#define ZNS_LBAFE_OFFSET 2816u
#define NVM_ELBAF_OFFSET 12u
#define MAX_LBAF 63u

json_t *nr_enc_zns_id_ns(const uint8_t *buf, unsigned nlbaf)
{
	json_t *obj = json_object();
	json_t *lbafe = json_array();
	int failed = !obj || !lbafe || put_fields(obj, buf, zns_ns_fields, COUNT(zns_ns_fields));

	for (unsigned i = 0; !failed && i <= nlbaf && i <= MAX_LBAF; i++) {
		const uint8_t *e = buf + ZNS_LBAFE_OFFSET + i * 16;
		failed = json_array_append_new(lbafe, json_pack("{s:o, s:i}", "zsze",
								nr_json_u64(le_at(e, 0, 8)), "zdes",
								e[8])) != 0;
	}
	if (failed)
		json_decref(lbafe);
	return finish(obj, failed || json_object_set_new_nocheck(obj, "lbafe", lbafe));
}

json_t *nr_enc_nvm_id_ns(const uint8_t *buf, unsigned nlbaf)
{
	json_t *elbafs = json_array();
	int failed = !elbafs;

	for (unsigned i = 0; !failed && i <= nlbaf && i <= MAX_LBAF; i++) {
		uint32_t e = (uint32_t)le_at(buf, NVM_ELBAF_OFFSET + i * 4, 4);
		failed =
		    json_array_append_new(elbafs, json_pack("{s:i, s:i}", "sts", (int)(e & 0x7f),
							    "pif", (int)(e >> 7 & 3))) != 0;
	}
	if (failed) {
		json_decref(elbafs);
		return NULL;
	}
	return json_pack("{s:o, s:i, s:o}", "lbstm", nr_json_u64(le_at(buf, 0, 8)), "pic", buf[8],
			 "elbafs", elbafs);
}
