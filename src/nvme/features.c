/* SPDX-License-Identifier: MIT */
#include "nvme/nvme_features.h"

#include <errno.h>
#include <libnvme.h>
#include <string.h>

#define F(n, s, w)                                                                                 \
	{                                                                                          \
		.name = n, .shift = s, .width = w                                                  \
	}

/* Endurance Group Event Configuration: Get Features returns EGCW alone in
 * completion dword 0 bits 7:0 (dword 11 of Set carries ENDGID too). */
static const struct nr_feat_field endgrp_cdw0_fields[] = {F("egcw", 0, 8), {0}};

static const struct nr_feat_field no_fields[] = {{0}};

const struct nr_feat_field nr_feature_caps_fields[] = {
    F("saveable", 0, 1),
    F("ns_specific", 1, 1),
    F("changeable", 2, 1),
    {0},
};

/* NVMe base specification 2.0, section 5.27.1 and its figures. */
static const struct nr_feature feature_table[256] = {
    [NVME_FEAT_FID_ARBITRATION] = {.name = "Arbitration",
				   .fields = {F("ab", 0, 3), F("lpw", 8, 8), F("mpw", 16, 8),
					      F("hpw", 24, 8)}},
    [NVME_FEAT_FID_POWER_MGMT] = {.name = "Power Management",
				  .fields = {F("ps", 0, 5), F("wh", 5, 3)}},
    [NVME_FEAT_FID_LBA_RANGE] = {.name = "LBA Range Type",
				 .data_len = 4096,
				 .fields = {F("num", 0, 6)}},
    [NVME_FEAT_FID_TEMP_THRESH] = {.name = "Temperature Threshold",
				   .fields = {F("tmpth", 0, 16), F("tmpsel", 16, 4),
					      F("thsel", 20, 2)}},
    [NVME_FEAT_FID_ERR_RECOVERY] = {.name = "Error Recovery",
				    .fields = {F("tler", 0, 16), F("dulbe", 16, 1)}},
    [NVME_FEAT_FID_VOLATILE_WC] = {.name = "Volatile Write Cache", .fields = {F("wce", 0, 1)}},
    [NVME_FEAT_FID_NUM_QUEUES] = {.name = "Number of Queues",
				  .fields = {F("nsqr", 0, 16), F("ncqr", 16, 16)}},
    [NVME_FEAT_FID_IRQ_COALESCE] = {.name = "Interrupt Coalescing",
				    .fields = {F("thr", 0, 8), F("time", 8, 8)}},
    [NVME_FEAT_FID_IRQ_CONFIG] = {.name = "Interrupt Vector Configuration",
				  .fields = {F("iv", 0, 16), F("cd", 16, 1)}},
    [NVME_FEAT_FID_WRITE_ATOMIC] = {.name = "Write Atomicity Normal", .fields = {F("dn", 0, 1)}},
    [NVME_FEAT_FID_ASYNC_EVENT] = {.name = "Async Event Configuration",
				   .fields = {F("smart", 0, 8), F("nan", 8, 1), F("fan", 9, 1),
					      F("tln", 10, 1), F("anacn", 11, 1),
					      F("plealcn", 12, 1), F("lsin", 13, 1),
					      F("egealcn", 14, 1), F("nnsshdn", 15, 1),
					      F("dlpcn", 31, 1)}},
    [NVME_FEAT_FID_AUTO_PST] = {.name = "Autonomous Power State Transition",
				.data_len = 256,
				.fields = {F("apste", 0, 1)}},
    [NVME_FEAT_FID_HOST_MEM_BUF] = {.name = "Host Memory Buffer",
				    .data_len = 4096,
				    .data_get_only = true,
				    .fields = {F("ehm", 0, 1), F("mr", 1, 1)}},
    [NVME_FEAT_FID_TIMESTAMP] = {.name = "Timestamp", .data_len = 8},
    [NVME_FEAT_FID_KATO] = {.name = "Keep Alive Timer", .fields = {F("kato", 0, 32)}},
    [NVME_FEAT_FID_HCTM] = {.name = "Host Controlled Thermal Management",
			    .fields = {F("tmt2", 0, 16), F("tmt1", 16, 16)}},
    [NVME_FEAT_FID_NOPSC] = {.name = "Non-Operational Power State Config",
			     .fields = {F("noppme", 0, 1)}},
    [NVME_FEAT_FID_RRL] = {.name = "Read Recovery Level Config",
			   .value_in_cdw12 = true,
			   .fields = {F("rrl", 0, 4)}},
    [NVME_FEAT_FID_PLM_CONFIG] = {.name = "Predictable Latency Mode Config",
				  .data_len = 512,
				  .value_in_cdw12 = true,
				  .fields = {F("ple", 0, 1)}},
    [NVME_FEAT_FID_PLM_WINDOW] = {.name = "Predictable Latency Mode Window",
				  .value_in_cdw12 = true,
				  .fields = {F("ws", 0, 3)}},
    [NVME_FEAT_FID_LBA_STS_INTERVAL] = {.name = "LBA Status Information Report Interval",
					.fields = {F("lsiri", 0, 16), F("lsipi", 16, 16)}},
    [NVME_FEAT_FID_HOST_BEHAVIOR] = {.name = "Host Behavior Support", .data_len = 512},
    [NVME_FEAT_FID_SANITIZE] = {.name = "Sanitize Config", .fields = {F("nodrm", 0, 1)}},
    [NVME_FEAT_FID_ENDURANCE_EVT_CFG] = {.name = "Endurance Group Event Configuration",
					 .fields = {F("endgid", 0, 16), F("egcw", 16, 8)},
					 .cdw0_fields = endgrp_cdw0_fields},
    [NVME_FEAT_FID_IOCS_PROFILE] = {.name = "I/O Command Set Profile",
				    .fields = {F("iocsci", 0, 9)}},
    [NVME_FEAT_FID_SPINUP_CONTROL] = {.name = "Spinup Control", .fields = {F("supe", 0, 1)}},
    [NVME_FEAT_FID_SW_PROGRESS] = {.name = "Software Progress Marker",
				   .fields = {F("pbslc", 0, 8)}},
    [NVME_FEAT_FID_RESV_MASK] = {.name = "Reservation Notification Mask",
				 .fields = {F("regpre", 1, 1), F("resrel", 2, 1),
					    F("respre", 3, 1)}},
    [NVME_FEAT_FID_RESV_PERSIST] = {.name = "Reservation Persistence", .fields = {F("ptpl", 0, 1)}},
    [NVME_FEAT_FID_WRITE_PROTECT] = {.name = "Namespace Write Protection Config",
				     .fields = {F("wps", 0, 3)}},
};

const struct nr_feature *nr_feature_find(uint8_t fid)
{
	return feature_table[fid].name ? &feature_table[fid] : NULL;
}

const char *nr_feature_name(uint8_t fid)
{
	const struct nr_feature *feat = nr_feature_find(fid);

	if (feat)
		return feat->name;
	return fid >= 0xc0 ? "Vendor Specific" : "Unknown";
}

const struct nr_feat_field *nr_feature_cdw0_fields(const struct nr_feature *feat)
{
	if (!feat)
		return no_fields;
	return feat->cdw0_fields ? feat->cdw0_fields : feat->fields;
}

static uint32_t field_mask(const struct nr_feat_field *f)
{
	return f->width >= 32 ? 0xffffffffu : (1u << f->width) - 1;
}

json_t *nr_feature_decode(const struct nr_feat_field *fields, uint32_t value)
{
	json_t *obj = json_object();

	for (const struct nr_feat_field *f = fields; obj && f->name; f++) {
		uint32_t bits = (value >> f->shift) & field_mask(f);
		if (json_object_set_new_nocheck(obj, f->name, json_integer(bits))) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

static const struct nr_feat_field *field_find(const struct nr_feat_field *fields, const char *name)
{
	for (const struct nr_feat_field *f = fields; f->name; f++) {
		if (strcmp(f->name, name) == 0)
			return f;
	}
	return NULL;
}

int nr_feature_encode(const struct nr_feat_field *fields, const json_t *obj, uint32_t *value,
		      const char **bad)
{
	const char *key;
	json_t *item;

	json_object_foreach ((json_t *)obj, key, item) {
		const struct nr_feat_field *f = field_find(fields, key);
		json_int_t bits = json_integer_value(item);

		if (!f || !json_is_integer(item) || bits < 0 || (uint64_t)bits > field_mask(f)) {
			*bad = key;
			return -EINVAL;
		}
		*value &= ~(field_mask(f) << f->shift);
		*value |= ((uint32_t)bits & field_mask(f)) << f->shift;
	}
	return 0;
}
