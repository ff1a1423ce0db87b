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
