/* SPDX-License-Identifier: MIT */
/*
 * NVMe structure -> JSON. Structures are read as raw little-endian bytes at
 * the spec's offsets through field tables, so each encoder is a list of
 * names, not a page of calls; reserved bytes are never looked at. Key order
 * follows nvme-cli 2.3's -o json output.
 */
#include <endian.h>
#include <stddef.h>
#include <string.h>

#include "encode/encode.h"

#define IDENT_MAX 256 /* SUBNQN, the longest identifier field */

enum field_kind {
	F_UINT,	 /* little-endian unsigned integer of 1..8 bytes */
	F_U128,	 /* 128-bit little-endian counter -> decimal string */
	F_IDENT, /* space-padded ASCII */
	F_HEX,	 /* byte string -> lowercase hex in byte order */
	F_UUID,	 /* 16 bytes -> 8-4-4-4-12 */
};

struct field {
	const char *name;
	uint16_t offset;
	uint16_t size;
	enum field_kind kind;
};

#define MEMBER_SIZE(type, member) sizeof(((type *)0)->member)
#define NAMED(type, name, member, kind)                                                            \
	{                                                                                          \
		name, offsetof(type, member), MEMBER_SIZE(type, member), kind                      \
	}
#define FIELD(type, member, kind) NAMED(type, #member, member, kind)

#define C(member) FIELD(struct nvme_id_ctrl, member, F_UINT)
#define C_K(member, kind) FIELD(struct nvme_id_ctrl, member, kind)
static const struct field id_ctrl_fields[] = {
    C(vid),
    C(ssvid),
    C_K(sn, F_IDENT),
    C_K(mn, F_IDENT),
    C_K(fr, F_IDENT),
    C(rab),
    C(ieee),
    C(cmic),
    C(mdts),
    C(cntlid),
    C(ver),
    C(rtd3r),
    C(rtd3e),
    C(oaes),
    C(ctratt),
    C(rrls),
    C(cntrltype),
    C_K(fguid, F_UUID),
    C(crdt1),
    C(crdt2),
    C(crdt3),
    C(nvmsr),
    C(vwci),
    C(mec),
    C(oacs),
    C(acl),
    C(aerl),
    C(frmw),
    C(lpa),
    C(elpe),
    C(npss),
    C(avscc),
    C(apsta),
    C(wctemp),
    C(cctemp),
    C(mtfa),
    C(hmpre),
    C(hmmin),
    C_K(tnvmcap, F_U128),
    C_K(unvmcap, F_U128),
    C(rpmbs),
    C(edstt),
    C(dsto),
    C(fwug),
    C(kas),
    C(hctma),
    C(mntmt),
    C(mxtmt),
    C(sanicap),
    C(hmminds),
    C(hmmaxd),
    C(nsetidmax),
    C(endgidmax),
    C(anatt),
    C(anacap),
    C(anagrpmax),
    C(nanagrpid),
    C(pels),
    C(domainid),
    C_K(megcap, F_U128),
    C(sqes),
    C(cqes),
    C(maxcmd),
    C(nn),
    C(oncs),
    C(fuses),
    C(fna),
    C(vwc),
    C(awun),
    C(awupf),
    C(icsvscc),
    C(nwpc),
    C(acwu),
    C(ocfs),
    C(sgls),
    C(mnan),
    C_K(maxdna, F_U128),
    C(maxcna),
    C_K(subnqn, F_IDENT),
    C(ioccsz),
    C(iorcsz),
    C(icdoff),
    C(fcatt),
    C(msdbd),
    C(ofcs),
};
#undef C
#undef C_K

#define P(name, member) NAMED(struct nvme_id_psd, name, member, F_UINT)
static const struct field psd_fields[] = {
    P("max_power", mp),	  P("flags", flags),	   P("entry_lat", enlat),
    P("exit_lat", exlat), P("read_tput", rrt),	   P("read_lat", rrl),
    P("write_tput", rwt), P("write_lat", rwl),	   P("idle_power", idlp),
    P("idle_scale", ips), P("active_power", actp), P("active_work_scale", apws),
};
#undef P

#define N(member) FIELD(struct nvme_id_ns, member, F_UINT)
static const struct field id_ns_fields[] = {
    N(nsze),
    N(ncap),
    N(nuse),
    N(nsfeat),
    N(nlbaf),
    N(flbas),
    N(mc),
    N(dpc),
    N(dps),
    N(nmic),
    N(rescap),
    N(fpi),
    N(dlfeat),
    N(nawun),
    N(nawupf),
    N(nacwu),
    N(nabsn),
    N(nabo),
    N(nabspf),
    N(noiob),
    FIELD(struct nvme_id_ns, nvmcap, F_U128),
    N(npwg),
    N(npwa),
    N(npdg),
    N(npda),
    N(nows),
    N(mssrl),
    N(mcl),
    N(msrc),
    N(nulbaf),
    N(anagrpid),
    N(nsattr),
    N(nvmsetid),
    N(endgid),
    FIELD(struct nvme_id_ns, nguid, F_HEX),
    FIELD(struct nvme_id_ns, eui64, F_HEX),
};
#undef N

static const struct field lbaf_fields[] = {
    FIELD(struct nvme_lbaf, ms, F_UINT),
    FIELD(struct nvme_lbaf, ds, F_UINT),
    FIELD(struct nvme_lbaf, rp, F_UINT),
};

#define S(member) FIELD(struct nvme_smart_log, member, F_UINT)
#define S128(name, member) NAMED(struct nvme_smart_log, name, member, F_U128)
static const struct field smart_head_fields[] = {
    S(critical_warning),
    S(temperature),
    S(avail_spare),
    S(spare_thresh),
    S(percent_used),
    NAMED(struct nvme_smart_log, "endurance_grp_critical_warning_summary", endu_grp_crit_warn_sumry,
	  F_UINT),
    S128("data_units_read", data_units_read),
    S128("data_units_written", data_units_written),
    S128("host_read_commands", host_reads),
    S128("host_write_commands", host_writes),
    S128("controller_busy_time", ctrl_busy_time),
    S128("power_cycles", power_cycles),
    S128("power_on_hours", power_on_hours),
    S128("unsafe_shutdowns", unsafe_shutdowns),
    S128("media_errors", media_errors),
    S128("num_err_log_entries", num_err_log_entries),
    S(warning_temp_time),
    S(critical_comp_time),
};

static const struct field smart_tail_fields[] = {
    S(thm_temp1_trans_count),
    S(thm_temp2_trans_count),
    S(thm_temp1_total_time),
    S(thm_temp2_total_time),
};
#undef S
#undef S128

/* Critical Warning bits, SMART / Health log byte 0. */
static const char *const critical_warning_bits[] = {
    "spare", "temperature", "reliability", "read_only", "volatile_backup", "pmr_read_only",
};

static const char *const temp_sensor_names[8] = {
    "temperature_sensor_1", "temperature_sensor_2", "temperature_sensor_3", "temperature_sensor_4",
    "temperature_sensor_5", "temperature_sensor_6", "temperature_sensor_7", "temperature_sensor_8",
};

/* nvme-cli's zone state and type strings. */
static const char *const zone_states[16] = {
    [0x1] = "EMPTY",	[0x2] = "IMP_OPENED", [0x3] = "EXP_OPENED", [0x4] = "CLOSED",
    [0xd] = "READONLY", [0xe] = "FULL",	      [0xf] = "OFFLINE",
};

static const char *const zone_types[16] = {
    [0x2] = "SEQWRITE_REQ",
};

/* Returns a new integer; see encode.h for the rule above 2^63 - 1. */
json_t *nr_json_u64(uint64_t value)
{
	return json_integer((json_int_t)value);
}

json_t *nr_json_u32_sentinel(uint32_t value)
{
	return json_integer(value == UINT32_MAX ? -1 : (json_int_t)value);
}

/* Returns a new decimal string of the 128-bit little-endian value. */
json_t *nr_json_u128(const uint8_t le[16])
{
	unsigned __int128 value = 0;
	char digits[40];
	size_t at = sizeof(digits) - 1;

	for (int i = 15; i >= 0; i--)
		value = value << 8 | le[i];
	digits[at] = '\0';
	do {
		digits[--at] = (char)('0' + (unsigned)(value % 10));
		value /= 10;
	} while (value);
	return json_string_nocheck(digits + at);
}

/*
 * Returns a new string: the field up to its first NUL, trailing spaces
 * removed. Bytes outside printable ASCII (which the spec forbids in these
 * fields) become '.', so the result is always valid JSON text. At most
 * IDENT_MAX bytes are read.
 */
json_t *nr_json_ident(const char *field, size_t len)
{
	char out[IDENT_MAX];
	size_t n = 0;

	if (len > sizeof(out))
		len = sizeof(out);
	for (; n < len && field[n]; n++)
		out[n] = field[n] >= 0x20 && field[n] <= 0x7e ? field[n] : '.';
	while (n && out[n - 1] == ' ')
		n--;
	return json_stringn_nocheck(out, n);
}

json_t *nr_json_hex(const uint8_t *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char out[2 * 16 + 1];
	size_t n = 0;

	for (size_t i = 0; i < len && n + 2 < sizeof(out); i++) {
		out[n++] = digits[bytes[i] >> 4];
		out[n++] = digits[bytes[i] & 0xf];
	}
	return json_stringn_nocheck(out, n);
}

static json_t *json_uuid(const uint8_t bytes[16])
{
	char out[37];

	snprintf(out, sizeof(out),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
		 bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8],
		 bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
	return json_string_nocheck(out);
}

static uint64_t le_uint(const uint8_t *bytes, size_t size)
{
	uint64_t value = 0;

	while (size--)
		value = value << 8 | bytes[size];
	return value;
}

/* Returns a new reference for one field of the structure at @base. */
static json_t *field_value(const uint8_t *base, const struct field *f)
{
	const uint8_t *at = base + f->offset;

	switch (f->kind) {
	case F_UINT:
		return nr_json_u64(le_uint(at, f->size));
	case F_U128:
		return nr_json_u128(at);
	case F_IDENT:
		return nr_json_ident((const char *)at, f->size);
	case F_HEX:
		return nr_json_hex(at, f->size);
	case F_UUID:
		return json_uuid(at);
	}
	return NULL;
}

/* Adds every field of the table to @obj. Returns 0 or -1 on allocation
 * failure (the object is then partly filled; the caller drops it). */
static int add_fields(json_t *obj, const void *base, const struct field *fields, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (json_object_set_new_nocheck(obj, fields[i].name, field_value(base, &fields[i])))
			return -1;
	}
	return 0;
}

/* Returns a new object of the table's fields, or NULL. */
static json_t *fields_object(const void *base, const struct field *fields, size_t count)
{
	json_t *obj = json_object();

	if (obj && add_fields(obj, base, fields, count)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* Returns a new array of @count structures of @stride bytes, or NULL. */
static json_t *fields_array(const void *base, size_t stride, size_t count,
			    const struct field *fields, size_t nr_fields)
{
	json_t *array = json_array();

	for (size_t i = 0; array && i < count; i++) {
		const uint8_t *item = (const uint8_t *)base + i * stride;

		if (json_array_append_new(array, fields_object(item, fields, nr_fields))) {
			json_decref(array);
			return NULL;
		}
	}
	return array;
}

#define COUNT(table) (sizeof(table) / sizeof((table)[0]))

/* A count the device reports as a 0-based byte (NPSS, NLBAF), bounded by the
 * @slots of the array it indexes: a device may report more than exist. */
static size_t reported_count(uint8_t zero_based, size_t slots)
{
	size_t count = (size_t)zero_based + 1;

	return count < slots ? count : slots;
}

/* Returns a new object with nvme-cli's id-ctrl keys and psds (NPSS + 1, at
 * most the 32 descriptors of the structure). */
json_t *nr_enc_id_ctrl(const struct nvme_id_ctrl *ctrl)
{
	json_t *obj = fields_object(ctrl, id_ctrl_fields, COUNT(id_ctrl_fields));
	json_t *psds = fields_array(ctrl->psd, sizeof(ctrl->psd[0]),
				    reported_count(ctrl->npss, COUNT(ctrl->psd)), psd_fields,
				    COUNT(psd_fields));

	if (!obj || json_object_set_new_nocheck(obj, "psds", psds)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* Returns a new object with nvme-cli's id-ns keys and lbafs (NLBAF + 1, at
 * most the 64 formats of the structure). */
json_t *nr_enc_id_ns(const struct nvme_id_ns *ns)
{
	json_t *obj = fields_object(ns, id_ns_fields, COUNT(id_ns_fields));
	json_t *lbafs =
	    fields_array(ns->lbaf, sizeof(ns->lbaf[0]), reported_count(ns->nlbaf, COUNT(ns->lbaf)),
			 lbaf_fields, COUNT(lbaf_fields));

	if (!obj || json_object_set_new_nocheck(obj, "lbafs", lbafs)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static json_t *warning_bits(uint8_t critical_warning)
{
	json_t *obj = json_object();

	for (size_t i = 0; obj && i < COUNT(critical_warning_bits); i++) {
		if (json_object_set_new_nocheck(obj, critical_warning_bits[i],
						json_boolean(critical_warning & (1u << i)))) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

/* Temperature sensors appear only when implemented (non-zero), as in nvme-cli. */
static int add_temp_sensors(json_t *obj, const struct nvme_smart_log *log)
{
	for (size_t i = 0; i < COUNT(temp_sensor_names); i++) {
		uint16_t kelvin = le16toh(log->temp_sensor[i]);

		if (kelvin &&
		    json_object_set_new_nocheck(obj, temp_sensor_names[i], json_integer(kelvin)))
			return -1;
	}
	return 0;
}

/* Returns a new object with nvme-cli's smart-log keys plus critical_warning_bits. */
json_t *nr_enc_smart_log(const struct nvme_smart_log *log)
{
	json_t *obj = fields_object(log, smart_head_fields, COUNT(smart_head_fields));

	if (!obj || add_temp_sensors(obj, log) ||
	    add_fields(obj, log, smart_tail_fields, COUNT(smart_tail_fields)) ||
	    json_object_set_new_nocheck(obj, "critical_warning_bits",
					warning_bits(log->critical_warning))) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/*
 * Returns a new object {slba, wp, cap, state, type, attrs, attrs_info}. On
 * the zone-report hot path: no table walk, no format parsing, keys set
 * without UTF-8 checks.
 */
json_t *nr_enc_zone_desc(const struct nvme_zns_desc *desc)
{
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	if (json_object_set_new_nocheck(obj, "slba", nr_json_u64(le64toh(desc->zslba))) ||
	    json_object_set_new_nocheck(obj, "wp", nr_json_u64(le64toh(desc->wp))) ||
	    json_object_set_new_nocheck(obj, "cap", nr_json_u64(le64toh(desc->zcap))) ||
	    json_object_set_new_nocheck(obj, "state",
					json_string_nocheck(nr_zone_state_name(desc->zs >> 4))) ||
	    json_object_set_new_nocheck(obj, "type",
					json_string_nocheck(nr_zone_type_name(desc->zt & 0xfu))) ||
	    json_object_set_new_nocheck(obj, "attrs", json_integer(desc->za)) ||
	    json_object_set_new_nocheck(obj, "attrs_info", json_integer(desc->zai))) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

const char *nr_zone_state_name(unsigned zs)
{
	const char *name = zs < COUNT(zone_states) ? zone_states[zs] : NULL;

	return name ? name : "UNKNOWN";
}

const char *nr_zone_type_name(unsigned zt)
{
	const char *name = zt < COUNT(zone_types) ? zone_types[zt] : NULL;

	return name ? name : "UNKNOWN";
}

/* Writes @value in decimal at @p. Returns the end. */
static char *put_i64(char *p, int64_t value)
{
	uint64_t u = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
	char digits[20];
	size_t n = 0;

	if (value < 0)
		*p++ = '-';
	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	while (n)
		*p++ = digits[--n];
	return p;
}

static char *put_str(char *p, const char *s)
{
	size_t len = strlen(s);

	memcpy(p, s, len);
	return p + len;
}

size_t nr_enc_zone_desc_text(char *out, const struct nvme_zns_desc *desc)
{
	char *p = out;

	p = put_str(p, "{\"slba\":");
	p = put_i64(p, (int64_t)le64toh(desc->zslba));
	p = put_str(p, ",\"wp\":");
	p = put_i64(p, (int64_t)le64toh(desc->wp));
	p = put_str(p, ",\"cap\":");
	p = put_i64(p, (int64_t)le64toh(desc->zcap));
	p = put_str(p, ",\"state\":\"");
	p = put_str(p, nr_zone_state_name(desc->zs >> 4));
	p = put_str(p, "\",\"type\":\"");
	p = put_str(p, nr_zone_type_name(desc->zt & 0xfu));
	p = put_str(p, "\",\"attrs\":");
	p = put_i64(p, desc->za);
	p = put_str(p, ",\"attrs_info\":");
	p = put_i64(p, desc->zai);
	*p++ = '}';
	return (size_t)(p - out);
}
