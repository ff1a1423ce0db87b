/* SPDX-License-Identifier: MIT */
/*
 * NVMe structure -> JSON. Structures are read as raw little-endian bytes at
 * the spec's offsets through field tables, so each encoder is a list of
 * names, not a page of calls; reserved bytes are never looked at. Key order
 * follows nvme-cli 2.3's -o json output.
 */
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "encode/encode.h"
#include "encode/enc_text.h"

#define IDENT_MAX 256 /* SUBNQN, the longest identifier field */

#define COUNT(table) (sizeof(table) / sizeof((table)[0]))
#define MEMBER_SIZE(type, member) sizeof(((type *)0)->member)
/* A key and its length, from a string literal. */
#define KEY(key) key, sizeof(key) - 1
/* A field at @member's offset and size, under @key (a string literal). */
#define NAMED(type, key, member, kind)                                                             \
	{                                                                                          \
		key, sizeof(key) - 1, kind, offsetof(type, member), MEMBER_SIZE(type, member), 0,  \
		    0, NULL                                                                        \
	}
#define FIELD(type, member, kind) NAMED(type, #member, member, kind)
#define DESC(table)                                                                                \
	{                                                                                          \
		table, COUNT(table)                                                                \
	}

#define P(key, member) NAMED(struct nvme_id_psd, key, member, NR_ENC_UINT)
static const struct nr_enc_field psd_fields[] = {
    P("max_power", mp),	  P("flags", flags),	   P("entry_lat", enlat),
    P("exit_lat", exlat), P("read_tput", rrt),	   P("read_lat", rrl),
    P("write_tput", rwt), P("write_lat", rwl),	   P("idle_power", idlp),
    P("idle_scale", ips), P("active_power", actp), P("active_work_scale", apws),
};
#undef P
static const struct nr_enc_desc psd_desc = DESC(psd_fields);

#define C(member) FIELD(struct nvme_id_ctrl, member, NR_ENC_UINT)
#define C_K(member, kind) FIELD(struct nvme_id_ctrl, member, kind)
/* Key order follows nvme-cli 2.3's id-ctrl -o json; psds holds NPSS + 1
 * descriptors, at most the 32 of the structure. */
static const struct nr_enc_field id_ctrl_fields[] = {
    C(vid),
    C(ssvid),
    C_K(sn, NR_ENC_IDENT),
    C_K(mn, NR_ENC_IDENT),
    C_K(fr, NR_ENC_IDENT),
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
    C_K(fguid, NR_ENC_UUID),
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
    C_K(tnvmcap, NR_ENC_U128),
    C_K(unvmcap, NR_ENC_U128),
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
    C_K(megcap, NR_ENC_U128),
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
    C_K(maxdna, NR_ENC_U128),
    C(maxcna),
    C_K(subnqn, NR_ENC_IDENT),
    C(ioccsz),
    C(iorcsz),
    C(icdoff),
    C(fcatt),
    C(msdbd),
    C(ofcs),
    {KEY("psds"), NR_ENC_ARRAY, offsetof(struct nvme_id_ctrl, psd), sizeof(struct nvme_id_psd),
     offsetof(struct nvme_id_ctrl, npss),
     MEMBER_SIZE(struct nvme_id_ctrl, psd) / sizeof(struct nvme_id_psd), &psd_desc},
};
#undef C
#undef C_K
const struct nr_enc_desc nr_enc_id_ctrl_desc = DESC(id_ctrl_fields);

static const struct nr_enc_field lbaf_fields[] = {
    FIELD(struct nvme_lbaf, ms, NR_ENC_UINT),
    FIELD(struct nvme_lbaf, ds, NR_ENC_UINT),
    FIELD(struct nvme_lbaf, rp, NR_ENC_UINT),
};
static const struct nr_enc_desc lbaf_desc = DESC(lbaf_fields);

#define N(member) FIELD(struct nvme_id_ns, member, NR_ENC_UINT)
/* nvme-cli's id-ns keys; lbafs holds NLBAF + 1 formats, at most 64. */
static const struct nr_enc_field id_ns_fields[] = {
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
    FIELD(struct nvme_id_ns, nvmcap, NR_ENC_U128),
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
    FIELD(struct nvme_id_ns, nguid, NR_ENC_HEX),
    FIELD(struct nvme_id_ns, eui64, NR_ENC_HEX),
    {KEY("lbafs"), NR_ENC_ARRAY, offsetof(struct nvme_id_ns, lbaf), sizeof(struct nvme_lbaf),
     offsetof(struct nvme_id_ns, nlbaf),
     MEMBER_SIZE(struct nvme_id_ns, lbaf) / sizeof(struct nvme_lbaf), &lbaf_desc},
};
#undef N
const struct nr_enc_desc nr_enc_id_ns_desc = DESC(id_ns_fields);

/* Critical Warning bits, SMART / Health log byte 0. */
#define BIT(key, bit)                                                                              \
	{                                                                                          \
		key, sizeof(key) - 1, NR_ENC_BIT, 0, bit, 0, 0, NULL                               \
	}
static const struct nr_enc_field critical_warning_fields[] = {
    BIT("spare", 0),	 BIT("temperature", 1),	    BIT("reliability", 2),
    BIT("read_only", 3), BIT("volatile_backup", 4), BIT("pmr_read_only", 5),
};
#undef BIT
static const struct nr_enc_desc critical_warning_desc = DESC(critical_warning_fields);

#define S(member) FIELD(struct nvme_smart_log, member, NR_ENC_UINT)
#define S128(key, member) NAMED(struct nvme_smart_log, key, member, NR_ENC_U128)
/* Temperature sensors appear only when implemented (non-zero), as in nvme-cli. */
#define SENSOR(n)                                                                                  \
	{                                                                                          \
		"temperature_sensor_" #n, sizeof("temperature_sensor_" #n) - 1,                    \
		    NR_ENC_UINT_NONZERO,                                                           \
		    offsetof(struct nvme_smart_log, temp_sensor) + 2 * ((n)-1), 2, 0, 0, NULL      \
	}
/* nvme-cli's smart-log keys plus critical_warning_bits. */
static const struct nr_enc_field smart_log_fields[] = {
    S(critical_warning),
    S(temperature),
    S(avail_spare),
    S(spare_thresh),
    S(percent_used),
    NAMED(struct nvme_smart_log, "endurance_grp_critical_warning_summary", endu_grp_crit_warn_sumry,
	  NR_ENC_UINT),
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
    SENSOR(1),
    SENSOR(2),
    SENSOR(3),
    SENSOR(4),
    SENSOR(5),
    SENSOR(6),
    SENSOR(7),
    SENSOR(8),
    S(thm_temp1_trans_count),
    S(thm_temp2_trans_count),
    S(thm_temp1_total_time),
    S(thm_temp2_total_time),
    {KEY("critical_warning_bits"), NR_ENC_OBJECT, 0, 1, 0, 0, &critical_warning_desc},
};
#undef S
#undef S128
#undef SENSOR
const struct nr_enc_desc nr_enc_smart_log_desc = DESC(smart_log_fields);

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

static unsigned __int128 le_u128(const uint8_t le[16])
{
	unsigned __int128 value = 0;

	for (int i = 15; i >= 0; i--)
		value = value << 8 | le[i];
	return value;
}

/* Returns a new decimal string of the 128-bit little-endian value. */
json_t *nr_json_u128(const uint8_t le[16])
{
	char digits[NR_TEXT_U128_MAX];

	return json_stringn_nocheck(digits, (size_t)(nr_text_u128(digits, le_u128(le)) - digits));
}

/* The identifier's visible bytes into @out (IDENT_MAX bytes): up to the
 * first NUL, trailing spaces removed, bytes outside printable ASCII (which
 * the spec forbids in these fields) as '.'. Returns the length. */
static size_t ident_clean(char *out, const char *field, size_t len)
{
	size_t n = 0;

	if (len > IDENT_MAX)
		len = IDENT_MAX;
	for (; n < len && field[n]; n++)
		out[n] = field[n] >= 0x20 && field[n] <= 0x7e ? field[n] : '.';
	while (n && out[n - 1] == ' ')
		n--;
	return n;
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

	return json_stringn_nocheck(out, ident_clean(out, field, len));
}

/* Lower-case hex of @len bytes at @p (no quotes). Returns the end. */
static char *put_hex(char *p, const uint8_t *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		*p++ = digits[bytes[i] >> 4];
		*p++ = digits[bytes[i] & 0xf];
	}
	return p;
}

json_t *nr_json_hex(const uint8_t *bytes, size_t len)
{
	char out[2 * 16];

	if (len > 16)
		len = 16;
	return json_stringn_nocheck(out, (size_t)(put_hex(out, bytes, len) - out));
}

/* 16 bytes as 8-4-4-4-12 lowercase hex (no quotes), 36 characters. */
static char *put_uuid(char *p, const uint8_t bytes[16])
{
	static const uint8_t groups[] = {4, 2, 2, 2, 6};

	for (size_t g = 0; g < COUNT(groups); g++) {
		if (g)
			*p++ = '-';
		p = put_hex(p, bytes, groups[g]);
		bytes += groups[g];
	}
	return p;
}

static uint64_t le_uint(const uint8_t *bytes, size_t size)
{
	uint64_t value = 0;

	if (size == 8) {
		memcpy(&value, bytes, 8);
		return le64toh(value);
	}
	while (size--)
		value = value << 8 | bytes[size];
	return value;
}

/* A 0-based count byte (NPSS, NLBAF) bounded by the @slots of the array it
 * indexes: a device may report more than exist. */
static size_t reported_count(uint8_t zero_based, size_t slots)
{
	size_t count = (size_t)zero_based + 1;

	return count < slots ? count : slots;
}

/* ---- text ----------------------------------------------------------------- */

/* The identifier as nr_json_ident cleans it, quoted and escaped, in one
 * pass: its visible bytes end at the first NUL, trailing spaces off (a
 * space is printable, so trimming the raw bytes trims the cleaned ones). */
static char *put_ident(char *p, const char *field, size_t len)
{
	size_t n = strnlen(field, len < IDENT_MAX ? len : IDENT_MAX);

	while (n && field[n - 1] == ' ')
		n--;
	*p++ = '"';
	for (size_t i = 0; i < n; i++) {
		char c = field[i];

		if (c == '"' || c == '\\')
			*p++ = '\\';
		*p++ = c >= 0x20 && c <= 0x7e ? c : '.';
	}
	*p++ = '"';
	return p;
}

static char *put_object(char *p, const struct nr_enc_desc *desc, const uint8_t *base);

static char *put_array(char *p, const struct nr_enc_field *f, const uint8_t *base)
{
	size_t count = reported_count(base[f->count_at], f->slots);

	*p++ = '[';
	for (size_t i = 0; i < count; i++) {
		if (i)
			*p++ = ',';
		p = put_object(p, f->nested, base + f->offset + i * f->size);
	}
	*p++ = ']';
	return p;
}

/* Writes one field's value (its key is written). Returns the end. */
static char *put_value(char *p, const struct nr_enc_field *f, const uint8_t *base)
{
	const uint8_t *at = base + f->offset;
	uint64_t v;

	switch ((enum nr_enc_kind)f->kind) {
	case NR_ENC_UINT:
	case NR_ENC_UINT_NONZERO:
		return nr_text_i64(p, (int64_t)le_uint(at, f->size));
	case NR_ENC_U32_SENTINEL:
		v = le_uint(at, 4);
		return v == UINT32_MAX ? nr_text_put(p, "-1", 2) : nr_text_u64(p, v);
	case NR_ENC_U128:
		*p++ = '"';
		p = nr_text_u128(p, le_u128(at));
		*p++ = '"';
		return p;
	case NR_ENC_IDENT:
		return put_ident(p, (const char *)at, f->size);
	case NR_ENC_HEX:
	case NR_ENC_UUID:
		*p++ = '"';
		p = f->kind == NR_ENC_UUID ? put_uuid(p, at)
					   : put_hex(p, at, f->size > 16 ? 16 : f->size);
		*p++ = '"';
		return p;
	case NR_ENC_BIT:
		return (*at >> f->size) & 1 ? nr_text_put(p, "true", 4)
					    : nr_text_put(p, "false", 5);
	case NR_ENC_OBJECT:
		return put_object(p, f->nested, at);
	case NR_ENC_ARRAY:
		return put_array(p, f, base);
	}
	return p;
}

/* Whether the field is left out of the answer for these bytes. */
static bool field_absent(const struct nr_enc_field *f, const uint8_t *base)
{
	return f->kind == NR_ENC_UINT_NONZERO && le_uint(base + f->offset, f->size) == 0;
}

static char *put_object(char *p, const struct nr_enc_desc *desc, const uint8_t *base)
{
	char sep = '{';

	for (size_t i = 0; i < desc->count; i++) {
		const struct nr_enc_field *f = &desc->fields[i];

		if (field_absent(f, base))
			continue;
		*p++ = sep;
		sep = ',';
		*p++ = '"';
		p = nr_text_put(p, f->key, f->key_len);
		*p++ = '"';
		*p++ = ':';
		p = put_value(p, f, base);
	}
	if (sep == '{')
		*p++ = '{';
	*p++ = '}';
	return p;
}

size_t nr_enc_text(char *out, const struct nr_enc_desc *desc, const void *base)
{
	return (size_t)(put_object(out, desc, base) - out);
}

/* Decimal digits of the largest unsigned value of 0..7 bytes. */
static const uint8_t uint_digits[8] = {1, 3, 5, 8, 10, 13, 15, 17};

/* The longest value text of @f. */
static size_t value_bound(const struct nr_enc_field *f)
{
	switch ((enum nr_enc_kind)f->kind) {
	case NR_ENC_U128:
		return NR_TEXT_U128_MAX;
	case NR_ENC_IDENT:
		return 6 * (f->size < IDENT_MAX ? f->size : IDENT_MAX) + 2;
	case NR_ENC_HEX:
		return 2 * 16 + 2;
	case NR_ENC_UUID:
		return 36 + 2;
	case NR_ENC_OBJECT:
		return nr_enc_text_bound(f->nested);
	case NR_ENC_ARRAY:
		return 2 + f->slots * (nr_enc_text_bound(f->nested) + 1);
	case NR_ENC_UINT:
	case NR_ENC_UINT_NONZERO:
		/* 2^(8 * size) - 1 in decimal; 8 bytes can be negative. */
		return f->size < 8 ? uint_digits[f->size] : NR_TEXT_I64_MAX;
	default:
		return NR_TEXT_I64_MAX; /* sentinels and booleans */
	}
}

size_t nr_enc_text_bound(const struct nr_enc_desc *desc)
{
	size_t bound = 2;

	for (size_t i = 0; i < desc->count; i++)
		bound += 1 + desc->fields[i].key_len + 3 + value_bound(&desc->fields[i]);
	return bound;
}

/* ---- jansson ---------------------------------------------------------- */

static json_t *array_json(const struct nr_enc_field *f, const uint8_t *base)
{
	size_t count = reported_count(base[f->count_at], f->slots);
	json_t *array = json_array();

	for (size_t i = 0; array && i < count; i++) {
		if (json_array_append_new(array,
					  nr_enc_json(f->nested, base + f->offset + i * f->size))) {
			json_decref(array);
			return NULL;
		}
	}
	return array;
}

/* Returns a new reference for one field's value, or NULL. */
static json_t *value_json(const struct nr_enc_field *f, const uint8_t *base)
{
	const uint8_t *at = base + f->offset;
	char text[NR_TEXT_I64_MAX + 2 * 16 + 38]; /* the longest of uuid and hex */

	switch ((enum nr_enc_kind)f->kind) {
	case NR_ENC_UINT:
	case NR_ENC_UINT_NONZERO:
		return nr_json_u64(le_uint(at, f->size));
	case NR_ENC_U32_SENTINEL:
		return nr_json_u32_sentinel((uint32_t)le_uint(at, 4));
	case NR_ENC_U128:
		return nr_json_u128(at);
	case NR_ENC_IDENT:
		return nr_json_ident((const char *)at, f->size);
	case NR_ENC_HEX:
		return nr_json_hex(at, f->size);
	case NR_ENC_UUID:
		return json_stringn_nocheck(text, (size_t)(put_uuid(text, at) - text));
	case NR_ENC_BIT:
		return json_boolean((*at >> f->size) & 1);
	case NR_ENC_OBJECT:
		return nr_enc_json(f->nested, at);
	case NR_ENC_ARRAY:
		return array_json(f, base);
	}
	return NULL;
}

json_t *nr_enc_json(const struct nr_enc_desc *desc, const void *base)
{
	json_t *obj = json_object();

	for (size_t i = 0; obj && i < desc->count; i++) {
		const struct nr_enc_field *f = &desc->fields[i];

		if (field_absent(f, base))
			continue;
		if (json_object_set_new_nocheck(obj, f->key, value_json(f, base))) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

json_t *nr_enc_id_ctrl(const struct nvme_id_ctrl *ctrl)
{
	return nr_enc_json(&nr_enc_id_ctrl_desc, ctrl);
}

json_t *nr_enc_id_ns(const struct nvme_id_ns *ns)
{
	return nr_enc_json(&nr_enc_id_ns_desc, ns);
}

json_t *nr_enc_smart_log(const struct nvme_smart_log *log)
{
	return nr_enc_json(&nr_enc_smart_log_desc, log);
}

/* ---- zone descriptors ------------------------------------------------- */

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

static char *put_str(char *p, const char *s)
{
	return nr_text_put(p, s, strlen(s));
}

size_t nr_enc_zone_desc_text(char *out, const struct nvme_zns_desc *desc)
{
	char *p = out;

	p = put_str(p, "{\"slba\":");
	p = nr_text_i64(p, (int64_t)le64toh(desc->zslba));
	p = put_str(p, ",\"wp\":");
	p = nr_text_i64(p, (int64_t)le64toh(desc->wp));
	p = put_str(p, ",\"cap\":");
	p = nr_text_i64(p, (int64_t)le64toh(desc->zcap));
	p = put_str(p, ",\"state\":\"");
	p = put_str(p, nr_zone_state_name(desc->zs >> 4));
	p = put_str(p, "\",\"type\":\"");
	p = put_str(p, nr_zone_type_name(desc->zt & 0xfu));
	p = put_str(p, "\",\"attrs\":");
	p = nr_text_i64(p, desc->za);
	p = put_str(p, ",\"attrs_info\":");
	p = nr_text_i64(p, desc->zai);
	*p++ = '}';
	return (size_t)(p - out);
}

/* ---- text primitives (enc_text.h) -------------------------------------- */

char *nr_text_u128(char *p, unsigned __int128 value)
{
	static const uint64_t e19 = 10000000000000000000ull;
	uint64_t low;
	char digits[19];

	if (value >> 64 == 0)
		return nr_text_u64(p, (uint64_t)value);
	low = (uint64_t)(value % e19);
	p = nr_text_u128(p, value / e19);
	/* The low 19 digits, zero-padded. */
	for (int i = 18; i >= 0; i--) {
		digits[i] = (char)('0' + low % 10);
		low /= 10;
	}
	return nr_text_put(p, digits, sizeof(digits));
}

char *nr_text_string(char *p, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	static const char short_escape[0x20] = {
	    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};

	*p++ = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20 && short_escape[c]) {
			*p++ = '\\';
			*p++ = short_escape[c];
		} else if (c < 0x20) {
			p = nr_text_put(p, "\\u00", 4);
			*p++ = hex[c >> 4];
			*p++ = hex[c & 0xf];
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	return p;
}
