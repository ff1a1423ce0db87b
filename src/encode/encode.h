/* SPDX-License-Identifier: MIT */
/*
 * NVMe structure -> JSON encoders. Field names follow the spec mnemonics as
 * nvme-cli 2.3 prints them with -o json. Numbers rule, the same everywhere:
 *  - 128-bit counters are decimal strings;
 *  - every other field is a JSON integer; a 64-bit field holding all ones
 *    (0xFFFFFFFFFFFFFFFF: a full zone's write pointer, "no limit") is -1,
 *    and any other value above 2^63-1 is its two's complement, so the bits
 *    are always recovered with `value & 0xFFFFFFFFFFFFFFFF`;
 *  - a 32-bit field whose all-ones value is a sentinel, not a quantity
 *    (0xFFFFFFFF: ZNS MAR / MOR "no limit", a sanitize estimate "not
 *    reported"), is -1 too, through nr_json_u32_sentinel, as nvme-cli
 *    prints mar and mor. Other 32-bit fields are their unsigned value.
 * Every function returns a new reference, or NULL on allocation failure;
 * called on the loop thread.
 */
#ifndef NR_ENCODE_H
#define NR_ENCODE_H

#include <jansson.h>
#include <libnvme.h>
#include <stdint.h>

json_t *nr_json_u64(uint64_t value);
/* A 32-bit field whose all-ones value means "no limit" or "not reported":
 * -1 for 0xFFFFFFFF, else the value. */
json_t *nr_json_u32_sentinel(uint32_t value);
json_t *nr_json_u128(const uint8_t le[16]);
/* A space-padded ASCII identifier (sn, mn, fr, subnqn) with trailing spaces
 * and NULs removed. */
json_t *nr_json_ident(const char *field, size_t len);
/* Lower-case hex of up to 16 bytes (EUI-64, NGUID, UUID), no separators. */
json_t *nr_json_hex(const uint8_t *bytes, size_t len);

/*
 * A structure's encoder description: its fields in answer order, each read
 * as raw little-endian bytes at its offset. One description drives both
 * the text writer (the answer on the hot path, no jansson value at all) and
 * the jansson builder (tests, callers that need a value), so the two cannot
 * drift apart: test_encode_text proves the text parses to the built value.
 */
enum nr_enc_kind {
	NR_ENC_UINT,	     /* unsigned, 1..8 bytes; see the number rules above */
	NR_ENC_UINT_NONZERO, /* the same, left out when zero (SMART temperature sensors) */
	NR_ENC_U32_SENTINEL, /* 4 bytes, all ones -> -1 (nr_json_u32_sentinel) */
	NR_ENC_U128,	     /* 16 bytes -> decimal string */
	NR_ENC_IDENT,	     /* space-padded ASCII (nr_json_ident) */
	NR_ENC_HEX,	     /* bytes -> lowercase hex, at most 16 (nr_json_hex) */
	NR_ENC_UUID,	     /* 16 bytes -> 8-4-4-4-12 lowercase hex */
	NR_ENC_BIT,	     /* true/false: bit @size of the byte at @offset */
	NR_ENC_OBJECT,	     /* @nested's fields read at @offset */
	NR_ENC_ARRAY,	     /* @nested items of @size bytes from @offset: as many as the
			      * 0-based count byte at @count_at says, at most @slots */
};

struct nr_enc_desc;

struct nr_enc_field {
	const char *key;
	uint8_t key_len;
	uint8_t kind; /* enum nr_enc_kind */
	uint16_t offset;
	uint16_t size;
	uint16_t count_at;
	uint16_t slots;
	const struct nr_enc_desc *nested;
};

struct nr_enc_desc {
	const struct nr_enc_field *fields;
	size_t count;
};

extern const struct nr_enc_desc nr_enc_id_ctrl_desc;   /* struct nvme_id_ctrl, 4096 bytes */
extern const struct nr_enc_desc nr_enc_id_ns_desc;     /* struct nvme_id_ns, 4096 bytes */
extern const struct nr_enc_desc nr_enc_smart_log_desc; /* struct nvme_smart_log, 512 bytes */

/* Worst-case text lengths of those (test_encode_text checks each against
 * nr_enc_text_bound). */
#define NR_ID_CTRL_TEXT_MAX 12288
#define NR_ID_NS_TEXT_MAX 4096
#define NR_SMART_LOG_TEXT_MAX 2048

/* Writes the object @desc describes, read from @base, as compact JSON text
 * at @out (at least nr_enc_text_bound(@desc) bytes; not NUL-terminated).
 * Returns the bytes written: the same text json_dumps(JSON_COMPACT) gives
 * for nr_enc_json(@desc, @base). Any thread. */
size_t nr_enc_text(char *out, const struct nr_enc_desc *desc, const void *base);
/* Returns a new object of the same fields, or NULL when out of memory. */
json_t *nr_enc_json(const struct nr_enc_desc *desc, const void *base);
/* The longest text nr_enc_text can write for @desc, whatever the bytes. */
size_t nr_enc_text_bound(const struct nr_enc_desc *desc);

json_t *nr_enc_id_ctrl(const struct nvme_id_ctrl *ctrl);
json_t *nr_enc_id_ns(const struct nvme_id_ns *ns);
json_t *nr_enc_smart_log(const struct nvme_smart_log *log);
json_t *nr_enc_zone_desc(const struct nvme_zns_desc *desc);

/*
 * The same zone descriptor object as nr_enc_zone_desc, written as compact
 * JSON text at @out (at least NR_ZONE_TEXT_MAX bytes, not NUL-terminated).
 * Streamed reports use it: a million zones through jansson objects cost more
 * in allocation than the rest of the stream. Returns the bytes written.
 * test_encode checks that both encoders give equal objects.
 */
#define NR_ZONE_TEXT_MAX 224
size_t nr_enc_zone_desc_text(char *out, const struct nvme_zns_desc *desc);

/* Names for zone state and type values, static strings, "UNKNOWN" when out of
 * the table. */
const char *nr_zone_state_name(unsigned zs);
const char *nr_zone_type_name(unsigned zt);

#endif
