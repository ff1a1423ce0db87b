/* SPDX-License-Identifier: MIT */
/*
 * Log page and identify structure -> JSON encoders for the management
 * methods, read as raw little-endian bytes at the NVMe base specification
 * 2.0 (and ZNS 1.1) offsets. Key names are nvme-cli 2.3's where its -o json
 * output has a usable key, else the spec mnemonic in lowercase
 * (docs/nvme-cli-differences.md lists each case). The number rules of
 * encode.h apply. Every function returns a new reference, or NULL on
 * allocation failure; loop thread.
 */
#ifndef NR_ENCODE_LOG_H
#define NR_ENCODE_LOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define NR_ERROR_LOG_ENTRY_SIZE 64u
#define NR_SELF_TEST_LOG_SIZE 564u
#define NR_SANITIZE_LOG_SIZE 512u
#define NR_FW_LOG_SIZE 512u
#define NR_EFFECTS_LOG_SIZE 4096u
#define NR_CHANGED_NS_LOG_SIZE 4096u
#define NR_IDENTIFY_SIZE 4096u

/* Error Information log (01h): {errors: [...]} of @count 64-byte entries. */
json_t *nr_enc_error_log(const uint8_t *buf, size_t count);
/* Firmware Slot Information log (03h). */
json_t *nr_enc_fw_log(const uint8_t *buf);
/* Commands Supported and Effects log (05h): supported opcodes only. */
json_t *nr_enc_effects_log(const uint8_t *buf, uint8_t csi);
/* Device Self-test log (06h): results in use only (result != Fh). */
json_t *nr_enc_self_test_log(const uint8_t *buf);
/* Sanitize Status log (81h), with percent from SPROG. */
json_t *nr_enc_sanitize_log(const uint8_t *buf);
/* Changed Namespace List log (04h): {nsid_list: [n...], overflow}. */
json_t *nr_enc_changed_ns_list(const uint8_t *buf);

/* Identify namespace ID list (CNS 02h/10h): {nsid_list: [{nsid}]}, up to the
 * first zero. */
json_t *nr_enc_ns_list(const uint8_t *buf);
/* Identify controller list (CNS 12h/13h): {num_ctrl, ctrl_list: [{ctrl_id}]}. */
json_t *nr_enc_ctrl_list(const uint8_t *buf);
/* Namespace Identification Descriptor list (CNS 03h): {eui64?, nguid?, uuid?,
 * csi?}, each present when the controller reports it. */
json_t *nr_enc_ns_descs(const uint8_t *buf, size_t len);

/* ZNS Identify Controller (CNS 06h, CSI 02h): {zasl}. */
json_t *nr_enc_zns_id_ctrl(const uint8_t *buf);
/* ZNS Identify Namespace (CNS 05h, CSI 02h), lbafe for formats 0..@nlbaf. */
json_t *nr_enc_zns_id_ns(const uint8_t *buf, unsigned nlbaf);
/* NVM Command Set Identify Namespace (CNS 05h, CSI 00h), elbafs 0..@nlbaf. */
json_t *nr_enc_nvm_id_ns(const uint8_t *buf, unsigned nlbaf);

/* The sanitize status (SSTAT bits 2:0) name: "never_sanitized", "success",
 * "in_progress", "failed", "success_no_deallocate" or "reserved". */
const char *nr_sanitize_status_name(unsigned status);

#endif
