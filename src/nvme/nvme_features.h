/* SPDX-License-Identifier: MIT */
/*
 * (Named nvme_features.h, not features.h: src/ is on the include path and
 * would shadow glibc's <features.h>.)
 * The Feature Identifier table (NVMe base specification 2.0, Figure "Feature
 * Identifiers"): each standard FID's name, the bit-fields of its value (Set
 * Features command dword 11, the same bits Get Features returns in
 * completion dword 0) and the length of its data buffer. Pure data and
 * functions of it: any thread, except that the json_t functions follow
 * jansson's rule (loop thread).
 */
#ifndef NR_NVME_FEATURES_H
#define NR_NVME_FEATURES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NR_FEAT_MAX_FIELDS 12

struct nr_feat_field {
	const char *name; /* the spec's mnemonic, lowercase: "tmpth" */
	uint8_t shift;
	uint8_t width; /* 1..32 bits */
};

struct nr_feature {
	const char *name; /* nvme-cli's name: "Temperature Threshold" */
	/* Data buffer bytes (0: none); get_only when only Get Features
	 * returns one (Host Memory Buffer attributes). */
	uint32_t data_len;
	bool data_get_only;
	/* Set Features carries the value in dword 12 and dword 11 selects the
	 * NVM set (Read Recovery Level, Predictable Latency Mode). */
	bool value_in_cdw12;
	/* Fields of the value; cdw0_fields (when given) replaces them for the
	 * Get Features completion, whose layout differs (18h). */
	struct nr_feat_field fields[NR_FEAT_MAX_FIELDS];
	const struct nr_feat_field *cdw0_fields;
};

/* The entry for @fid, or NULL for a FID the table does not know (reserved
 * or vendor specific). */
const struct nr_feature *nr_feature_find(uint8_t fid);

/* Name for @fid: the table's, "Vendor Specific" for C0h..FFh, else "Unknown". */
const char *nr_feature_name(uint8_t fid);

/* Fields of a Get Features completion with the select given as 3 (supported
 * capabilities): saveable, ns_specific, changeable. */
extern const struct nr_feat_field nr_feature_caps_fields[];

/* The fields describing a Get Features completion for @feat (never NULL;
 * may be an empty list). */
const struct nr_feat_field *nr_feature_cdw0_fields(const struct nr_feature *feat);

/* Decodes @value by @fields (a list ended by a NULL name) into a new object
 * {name: integer}. Returns a new reference or NULL. */
json_t *nr_feature_decode(const struct nr_feat_field *fields, uint32_t value);

/*
 * Encodes the object @fields (borrowed; {name: integer}) onto @value: each
 * named field's bits are replaced, others kept. Returns 0, or -EINVAL with
 * @bad set to the offending key (unknown name, not an integer, or wider than
 * the field).
 */
int nr_feature_encode(const struct nr_feat_field *fields, const json_t *obj, uint32_t *value,
		      const char **bad);

#endif
