/* SPDX-License-Identifier: MIT */
/*
 * Building a simulated subsystem from a JSON description (docs/simulator.md)
 * or from the built-in default. Validation is strict: an unknown key, a wrong
 * type or an out-of-range value fails the whole description with -EINVAL and
 * one sentence naming the JSON path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/sim_int.h"

#define CFG_PATH_MAX 128
#define CFG_SN_LEN 20
#define CFG_MN_LEN 40
#define CFG_FR_LEN 8
#define CFG_CNTLID_MAX 0xffefu
#define CFG_NSID_MAX 0xfffffffeu
#define CFG_LBA_MIN 512u
#define CFG_LBA_MAX 65536u
#define CFG_DEFAULT_MN "nvmerpcd simulated controller"
#define CFG_DEFAULT_FR "1.0"
#define CFG_MS_MAX 3600000u /* an hour */
#define CFG_FW_SLOTS 3u
#define CFG_FWUG 1u			  /* 4 KiB */
#define CFG_DEFAULT_CAPACITY (8ull << 30) /* the default subsystem: 3 GiB unallocated */

struct cfg_err {
	char *buf;
	size_t len;
};

/* Formats "PATH: message" into the caller's buffer; returns -EINVAL. */
static int cfg_fail(struct cfg_err *err, const char *path, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err->buf && err->len)
		snprintf(err->buf, err->len, "%s: %s", path, msg);
	return -EINVAL;
}

/* Paths are short by construction (four levels at most); one that does not
 * fit is cut and marked rather than overflowing. */
static void path_mark_cut(char *out, int written)
{
	if (written >= CFG_PATH_MAX)
		memcpy(out + CFG_PATH_MAX - 4, "...", 4);
}

static void path_key(char *out, const char *path, const char *key)
{
	path_mark_cut(out, snprintf(out, CFG_PATH_MAX, "%s%s%s", path, *path ? "." : "", key));
}

static void path_index(char *out, const char *path, size_t index)
{
	path_mark_cut(out, snprintf(out, CFG_PATH_MAX, "%s[%zu]", path, index));
}

/* Every key of @obj must be in the NULL-terminated @allowed list. */
static int check_keys(const json_t *obj, const char *path, const char *const *allowed,
		      struct cfg_err *err)
{
	const char *key;
	json_t *value;
	char at[CFG_PATH_MAX];

	if (!json_is_object(obj))
		return cfg_fail(err, *path ? path : "(root)", "must be an object");
	json_object_foreach ((json_t *)obj, key, value) {
		const char *const *ok = allowed;

		while (*ok && strcmp(*ok, key))
			ok++;
		if (!*ok) {
			path_key(at, path, key);
			return cfg_fail(err, at, "unknown key");
		}
	}
	return 0;
}

/*
 * Reads an integer member in [min, max]. A missing optional member leaves
 * @out untouched. Returns 0 or -EINVAL.
 */
static int get_uint(const json_t *obj, const char *path, const char *key, bool required,
		    uint64_t min, uint64_t max, uint64_t *out, struct cfg_err *err)
{
	json_t *value = json_object_get(obj, key);
	char at[CFG_PATH_MAX];
	json_int_t v;

	path_key(at, path, key);
	if (!value)
		return required ? cfg_fail(err, at, "is required") : 0;
	if (!json_is_integer(value))
		return cfg_fail(err, at, "must be an integer");
	v = json_integer_value(value);
	if (v < 0 || (uint64_t)v < min || (uint64_t)v > max)
		return cfg_fail(err, at, "must be %llu..%llu", (unsigned long long)min,
				(unsigned long long)max);
	*out = (uint64_t)v;
	return 0;
}

/* Reads printable-ASCII string of 1..@max bytes into @out (max + 1 bytes). */
static int get_ascii(const json_t *obj, const char *path, const char *key, bool required,
		     size_t max, char *out, struct cfg_err *err)
{
	json_t *value = json_object_get(obj, key);
	char at[CFG_PATH_MAX];
	const char *s;
	size_t len;

	path_key(at, path, key);
	if (!value)
		return required ? cfg_fail(err, at, "is required") : 0;
	if (!json_is_string(value))
		return cfg_fail(err, at, "must be a string");
	s = json_string_value(value);
	len = json_string_length(value);
	if (len < 1 || len > max)
		return cfg_fail(err, at, "must be 1..%zu characters", max);
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			return cfg_fail(err, at, "must be printable ASCII");
	}
	memcpy(out, s, len + 1);
	return 0;
}

/* Sets @out to the array member @key, which must have 0..@max items (1..@max
 * when required); an absent optional member gives NULL, an empty list. */
static int get_array(const json_t *obj, const char *path, const char *key, bool required,
		     size_t max, json_t **out, struct cfg_err *err)
{
	json_t *value = json_object_get(obj, key);
	char at[CFG_PATH_MAX];

	path_key(at, path, key);
	*out = value;
	if (!value)
		return required ? cfg_fail(err, at, "is required") : 0;
	if (!json_is_array(value))
		return cfg_fail(err, at, "must be an array");
	if (json_array_size(value) > max || (required && json_array_size(value) == 0))
		return cfg_fail(err, at, "must have %u..%zu entries", required ? 1u : 0u, max);
	return 0;
}

static const char *const ctrl_keys[] = {"sn",	      "mn",	      "fr",	     "cntlid",
					"latency_us", "self_test_ms", "sanitize_ms", "fwug",
					"fw_slots",   "faults",	      NULL};
static const char *const self_test_keys[] = {"short", "extended", NULL};

/* The optional timing and firmware knobs of a controller. */
static int parse_ctrl_knobs(const json_t *obj, const char *path, struct nr_sim_ctrl *ctrl,
			    struct cfg_err *err)
{
	uint64_t dst_short = SIM_DST_SHORT_MS, dst_ext = SIM_DST_EXTENDED_MS;
	uint64_t sanitize = SIM_SANITIZE_MS, fwug = CFG_FWUG, slots = CFG_FW_SLOTS;
	json_t *dst = json_object_get(obj, "self_test_ms");
	char at[CFG_PATH_MAX];
	int rc = 0;

	path_key(at, path, "self_test_ms");
	if (dst) {
		rc = check_keys(dst, at, self_test_keys, err);
		rc = rc ? rc : get_uint(dst, at, "short", false, 0, CFG_MS_MAX, &dst_short, err);
		rc = rc ? rc : get_uint(dst, at, "extended", false, 0, CFG_MS_MAX, &dst_ext, err);
	}
	rc = rc ? rc : get_uint(obj, path, "sanitize_ms", false, 0, CFG_MS_MAX, &sanitize, err);
	rc = rc ? rc : get_uint(obj, path, "fwug", false, 0, 255, &fwug, err);
	rc = rc ? rc : get_uint(obj, path, "fw_slots", false, 1, SIM_FW_SLOTS_MAX, &slots, err);
	ctrl->dst_short_ms = (uint32_t)dst_short;
	ctrl->dst_ext_ms = (uint32_t)dst_ext;
	ctrl->sanitize_ms = (uint32_t)sanitize;
	ctrl->fw.fwug = (uint8_t)fwug;
	ctrl->fw.nr_slots = (uint8_t)slots;
	return rc;
}

static int get_bool(const json_t *obj, const char *path, const char *key, bool *out,
		    struct cfg_err *err)
{
	json_t *value = json_object_get(obj, key);
	char at[CFG_PATH_MAX];

	path_key(at, path, key);
	if (value && !json_is_boolean(value))
		return cfg_fail(err, at, "must be true or false");
	if (value)
		*out = json_is_true(value);
	return 0;
}

static const char *const fault_keys[] = {"delay_us", "status", "hang", "removed", NULL};
static const char *const fault_rpc_keys[] = {"delay_us", "status", "hang",
					     "removed",	 "clear",  NULL};
static const char *const fault_status_keys[] = {"sct",	 "sc",	  "dnr", "opcode",
						"queue", "count", NULL};
static const char *const fault_hang_keys[] = {"opcode", "queue", "count", NULL};

/* The optional "queue" of a fault: "admin" or "io"; absent: -1, any. */
static int get_queue(const json_t *obj, const char *path, int8_t *out, struct cfg_err *err)
{
	json_t *value = json_object_get(obj, "queue");
	const char *name = json_string_value(value);
	char at[CFG_PATH_MAX];

	*out = -1;
	if (!value)
		return 0;
	if (name && !strcmp(name, "admin"))
		*out = NR_QUEUE_ADMIN;
	else if (name && !strcmp(name, "io"))
		*out = NR_QUEUE_IO;
	path_key(at, path, "queue");
	return *out < 0 ? cfg_fail(err, at, "must be \"admin\" or \"io\"") : 0;
}

/* Which commands a fault hits: "opcode", "queue", "count" (all optional). */
static int parse_match(const json_t *obj, const char *path, struct sim_fault_match *m,
		       struct cfg_err *err)
{
	uint64_t opcode = UINT64_MAX, count = 0;
	int rc = get_uint(obj, path, "opcode", false, 0, 255, &opcode, err);

	rc = rc ? rc : get_uint(obj, path, "count", false, 1, UINT32_MAX, &count, err);
	rc = rc ? rc : get_queue(obj, path, &m->queue, err);
	m->on = true;
	m->opcode = opcode > 255 ? -1 : (int16_t)opcode;
	m->count = (uint32_t)count;
	return rc;
}

/* "status": {"sct", "sc", "dnr"} and the match keys. */
static int parse_fault_status(const json_t *obj, const char *path, struct sim_faults *f,
			      struct cfg_err *err)
{
	uint64_t sct = 0, sc = 0;
	bool dnr = true;
	int rc = check_keys(obj, path, fault_status_keys, err);

	rc = rc ? rc : get_uint(obj, path, "sct", true, 0, 7, &sct, err);
	rc = rc ? rc : get_uint(obj, path, "sc", true, 0, 255, &sc, err);
	if (!rc && sct == 0 && sc == 0)
		rc = cfg_fail(err, path, "sct 0 with sc 0 is success, not an error");
	rc = rc ? rc : get_bool(obj, path, "dnr", &dnr, err);
	rc = rc ? rc : parse_match(obj, path, &f->status, err);
	f->status_value = (uint16_t)(NR_STATUS(sct, sc) | (dnr ? NVME_SC_DNR : 0));
	return rc;
}

/* "status" and "hang", each when present. */
static int parse_fault_kinds(const json_t *obj, const char *path, struct sim_fault_spec *spec,
			     struct cfg_err *err)
{
	json_t *status = json_object_get(obj, "status");
	json_t *hang = json_object_get(obj, "hang");
	char at[CFG_PATH_MAX];
	int rc = 0;

	path_key(at, path, "status");
	if (status)
		rc = parse_fault_status(status, at, &spec->faults, err);
	path_key(at, path, "hang");
	if (!rc && hang) {
		rc = check_keys(hang, at, fault_hang_keys, err);
		rc = rc ? rc : parse_match(hang, at, &spec->faults.hang, err);
	}
	spec->has_status = status != NULL;
	spec->has_hang = hang != NULL;
	return rc;
}

static int parse_faults(const json_t *obj, const char *path, bool runtime,
			struct sim_fault_spec *spec, struct cfg_err *err)
{
	uint64_t delay = 0;
	int rc = check_keys(obj, path, runtime ? fault_rpc_keys : fault_keys, err);

	*spec = (struct sim_fault_spec){0};
	rc = rc ? rc : get_uint(obj, path, "delay_us", false, 0, SIM_MAX_LATENCY_US, &delay, err);
	rc = rc ? rc : parse_fault_kinds(obj, path, spec, err);
	rc = rc ? rc : get_bool(obj, path, "removed", &spec->faults.removed, err);
	rc = rc ? rc : get_bool(obj, path, "clear", &spec->clear, err);
	spec->faults.delay_us = (uint32_t)delay;
	spec->has_delay = json_object_get(obj, "delay_us") != NULL;
	return rc;
}

int sim_faults_parse(const json_t *obj, const char *path, bool runtime, struct sim_fault_spec *spec,
		     char *err_buf, size_t err_len)
{
	struct cfg_err err = {.buf = err_buf, .len = err_len};

	return parse_faults(obj, path, runtime, spec, &err);
}

/* A controller's "faults", inert until nr_sim_faults_arm. */
static int parse_ctrl_faults(const json_t *obj, const char *path, struct nr_sim_ctrl *ctrl,
			     struct cfg_err *err)
{
	json_t *faults = json_object_get(obj, "faults");
	struct sim_fault_spec spec;
	char at[CFG_PATH_MAX];
	int rc;

	if (!faults)
		return 0;
	path_key(at, path, "faults");
	rc = parse_faults(faults, at, false, &spec, err);
	ctrl->faults = spec.faults;
	return rc;
}

static int parse_ctrl(const json_t *obj, const char *path, size_t index, struct nr_sim_ctrl *ctrl,
		      struct cfg_err *err)
{
	uint64_t cntlid = index + 1, latency = 0;
	int rc;

	snprintf(ctrl->mn, sizeof(ctrl->mn), "%s", CFG_DEFAULT_MN);
	snprintf(ctrl->fr, sizeof(ctrl->fr), "%s", CFG_DEFAULT_FR);
	rc = check_keys(obj, path, ctrl_keys, err);
	rc = rc ? rc : get_ascii(obj, path, "sn", true, CFG_SN_LEN, ctrl->sn, err);
	rc = rc ? rc : get_ascii(obj, path, "mn", false, CFG_MN_LEN, ctrl->mn, err);
	rc = rc ? rc : get_ascii(obj, path, "fr", false, CFG_FR_LEN, ctrl->fr, err);
	rc = rc ? rc : get_uint(obj, path, "cntlid", false, 0, CFG_CNTLID_MAX, &cntlid, err);
	rc = rc ? rc
		: get_uint(obj, path, "latency_us", false, 0, SIM_MAX_LATENCY_US, &latency, err);
	rc = rc ? rc : parse_ctrl_knobs(obj, path, ctrl, err);
	rc = rc ? rc : parse_ctrl_faults(obj, path, ctrl, err);
	ctrl->cntlid = (uint16_t)cntlid;
	ctrl->latency_us = (uint32_t)latency;
	return rc;
}

static const char *const zoned_keys[] = {"zone_size",  "zone_capacity", "nr_zones", "max_open",
					 "max_active", "zdes",		NULL};

struct zoned_cfg {
	uint64_t zone_size, zone_cap, nr_zones, max_open, max_active, zdes;
};

static int zoned_limits(const struct zoned_cfg *z, const char *path, struct cfg_err *err)
{
	char at[CFG_PATH_MAX];

	if (z->zone_cap > z->zone_size) {
		path_key(at, path, "zone_capacity");
		return cfg_fail(err, at, "must not exceed zone_size");
	}
	if (z->max_open && z->max_active && z->max_open > z->max_active) {
		path_key(at, path, "max_open");
		return cfg_fail(err, at, "must not exceed max_active");
	}
	if (z->zone_size * z->nr_zones > SIM_MAX_BLOCKS)
		return cfg_fail(err, path, "zone_size * nr_zones must not exceed %llu blocks",
				(unsigned long long)SIM_MAX_BLOCKS);
	return 0;
}

static int parse_zoned(const json_t *obj, const char *path, struct zoned_cfg *z,
		       struct cfg_err *err)
{
	int rc = check_keys(obj, path, zoned_keys, err);

	rc = rc ? rc : get_uint(obj, path, "zone_size", true, 1, UINT32_MAX, &z->zone_size, err);
	rc = rc ? rc : get_uint(obj, path, "nr_zones", true, 1, SIM_MAX_ZONES, &z->nr_zones, err);
	z->zone_cap = z->zone_size;
	rc =
	    rc ? rc : get_uint(obj, path, "zone_capacity", false, 1, UINT32_MAX, &z->zone_cap, err);
	rc = rc ? rc : get_uint(obj, path, "max_open", false, 0, z->nr_zones, &z->max_open, err);
	rc =
	    rc ? rc : get_uint(obj, path, "max_active", false, 0, z->nr_zones, &z->max_active, err);
	rc = rc ? rc : get_uint(obj, path, "zdes", false, 0, SIM_ZDES_MAX, &z->zdes, err);
	return rc ? rc : zoned_limits(z, path, err);
}

static const char *const ns_keys[] = {"nsid", "lba_size", "blocks", "zoned", NULL};

/* Namespace size: "blocks" for a conventional namespace; for a zoned one it
 * follows from the zones, and a "blocks" given anyway must agree. */
static int ns_blocks(const json_t *obj, const char *path, const struct zoned_cfg *z, bool zoned,
		     uint64_t *blocks, struct cfg_err *err)
{
	char at[CFG_PATH_MAX];
	int rc = get_uint(obj, path, "blocks", !zoned, 1, SIM_MAX_BLOCKS, blocks, err);

	if (rc || !zoned)
		return rc;
	if (json_object_get(obj, "blocks") && *blocks != z->zone_size * z->nr_zones) {
		path_key(at, path, "blocks");
		return cfg_fail(err, at, "must equal zoned.zone_size * zoned.nr_zones");
	}
	*blocks = z->zone_size * z->nr_zones;
	return 0;
}

static int parse_ns(const json_t *obj, const char *path, struct sim_subsys *subsys,
		    struct sim_ns *ns, struct cfg_err *err)
{
	uint64_t nsid = 0, lba_size = CFG_LBA_MIN, blocks = 0;
	json_t *zoned_obj = json_object_get(obj, "zoned");
	struct zoned_cfg z = {0};
	char at[CFG_PATH_MAX];
	int rc = check_keys(obj, path, ns_keys, err);

	rc = rc ? rc : get_uint(obj, path, "nsid", true, 1, CFG_NSID_MAX, &nsid, err);
	rc = rc ? rc
		: get_uint(obj, path, "lba_size", false, CFG_LBA_MIN, CFG_LBA_MAX, &lba_size, err);
	path_key(at, path, "lba_size");
	if (!rc && (lba_size & (lba_size - 1)))
		rc = cfg_fail(err, at, "must be a power of two");
	path_key(at, path, "zoned");
	rc = rc || !zoned_obj ? rc : parse_zoned(zoned_obj, at, &z, err);
	rc = rc ? rc : ns_blocks(obj, path, &z, zoned_obj != NULL, &blocks, err);
	if (rc)
		return rc;
	ns->nsid = (uint32_t)nsid;
	ns->lba_size = (uint32_t)lba_size;
	ns->blocks = blocks;
	if (zoned_obj)
		rc =
		    sim_zoned_alloc(ns, z.zone_size, z.zone_cap, (uint32_t)z.nr_zones,
				    (uint32_t)z.max_open, (uint32_t)z.max_active, (uint32_t)z.zdes);
	return rc ? rc : sim_ns_init(subsys, ns);
}

static int parse_namespaces(const json_t *list, const char *path, struct sim_subsys *subsys,
			    struct cfg_err *err)
{
	char at[CFG_PATH_MAX];
	size_t n = json_array_size(list);
	int rc;

	subsys->ns = calloc(n ? n : 1, sizeof(*subsys->ns));
	if (!subsys->ns)
		return -ENOMEM;
	subsys->ns_cap = n ? n : 1;
	for (size_t i = 0; i < n; i++) {
		path_index(at, path, i);
		rc = parse_ns(json_array_get(list, i), at, subsys, &subsys->ns[i], err);
		subsys->nr_ns = i + 1;
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++) {
			if (subsys->ns[j].nsid == subsys->ns[i].nsid)
				return cfg_fail(err, at, "nsid %u is already used by %s[%zu]",
						subsys->ns[i].nsid, path, j);
		}
	}
	return 0;
}

static int parse_ctrls(const json_t *list, const char *path, struct sim_subsys *subsys,
		       struct nr_sim_ctrl *ctrls, struct cfg_err *err)
{
	char at[CFG_PATH_MAX];
	int rc;

	for (size_t i = 0; i < json_array_size(list); i++) {
		path_index(at, path, i);
		ctrls[i].subsys = subsys;
		rc = parse_ctrl(json_array_get(list, i), at, i, &ctrls[i], err);
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++) {
			if (ctrls[j].cntlid == ctrls[i].cntlid)
				return cfg_fail(err, at, "cntlid %u is already used by %s[%zu]",
						ctrls[i].cntlid, path, j);
		}
	}
	subsys->nr_ctrls = json_array_size(list);
	subsys->ctrls = ctrls;
	return 0;
}

static const char *const subsys_keys[] = {"nqn", "controllers", "namespaces", "capacity", NULL};

/* The optional capacity must hold the namespaces the description has. */
static int parse_capacity(const json_t *obj, const char *path, struct sim_subsys *subsys,
			  struct cfg_err *err)
{
	uint64_t used = sim_allocated_bytes(subsys), capacity = 0;
	char at[CFG_PATH_MAX];
	int rc = get_uint(obj, path, "capacity", false, 0, INT64_MAX, &capacity, err);

	path_key(at, path, "capacity");
	if (!rc && json_object_get(obj, "capacity") && capacity < used)
		return cfg_fail(err, at, "must be at least the namespaces' total, %llu bytes",
				(unsigned long long)used);
	subsys->capacity = capacity;
	return rc;
}

/* First pass over a subsystem: shape only, enough to count controllers. */
static int precheck_subsys(const json_t *obj, const char *path, size_t *nr_ctrls,
			   struct cfg_err *err)
{
	json_t *ctrls;
	int rc = check_keys(obj, path, subsys_keys, err);

	rc = rc ? rc : get_array(obj, path, "controllers", true, SIM_MAX_CTRLS, &ctrls, err);
	if (!rc)
		*nr_ctrls += json_array_size(ctrls);
	return rc;
}

static int parse_subsys(const json_t *obj, const char *path, struct nr_sim *sim, size_t index,
			struct nr_sim_ctrl *ctrls, struct cfg_err *err)
{
	struct sim_subsys *subsys = &sim->subsys[index];
	json_t *ctrl_list, *ns_list;
	char at[CFG_PATH_MAX];
	int rc = get_ascii(obj, path, "nqn", true, SIM_NQN_MAX, subsys->nqn, err);

	for (size_t j = 0; !rc && j < index; j++) {
		if (!strcmp(sim->subsys[j].nqn, subsys->nqn)) {
			path_key(at, path, "nqn");
			rc = cfg_fail(err, at, "is already used by subsystems[%zu]", j);
		}
	}
	rc = rc ? rc : get_array(obj, path, "controllers", true, SIM_MAX_CTRLS, &ctrl_list, err);
	rc = rc ? rc : get_array(obj, path, "namespaces", false, SIM_MAX_NS, &ns_list, err);
	path_key(at, path, "controllers");
	rc = rc ? rc : parse_ctrls(ctrl_list, at, subsys, ctrls, err);
	path_key(at, path, "namespaces");
	rc = rc ? rc : parse_namespaces(ns_list, at, subsys, err);
	return rc ? rc : parse_capacity(obj, path, subsys, err);
}

static const char *const root_keys[] = {"subsystems", NULL};

/* Validates the top level and counts subsystems and controllers. */
static int precheck(const json_t *desc, size_t *nr_subsys, size_t *nr_ctrls, struct cfg_err *err)
{
	char at[CFG_PATH_MAX];
	json_t *list;
	int rc = check_keys(desc, "", root_keys, err);

	rc = rc ? rc : get_array(desc, "", "subsystems", true, SIM_MAX_SUBSYS, &list, err);
	*nr_subsys = rc ? 0 : json_array_size(list);
	*nr_ctrls = 0;
	for (size_t i = 0; !rc && i < *nr_subsys; i++) {
		path_index(at, "subsystems", i);
		rc = precheck_subsys(json_array_get(list, i), at, nr_ctrls, err);
	}
	return rc;
}

int nr_sim_new_from_json(const json_t *desc, struct nr_sim **out, char *err_buf, size_t err_len)
{
	struct cfg_err err = {.buf = err_buf, .len = err_len};
	json_t *list = json_object_get(desc, "subsystems");
	size_t nr_subsys, nr_ctrls, first_ctrl = 0;
	char at[CFG_PATH_MAX];
	struct nr_sim *sim;
	int rc = precheck(desc, &nr_subsys, &nr_ctrls, &err);

	if (rc)
		return rc;
	rc = sim_alloc(nr_subsys, nr_ctrls, &sim);
	if (rc)
		return rc;
	for (size_t i = 0; !rc && i < nr_subsys; i++) {
		path_index(at, "subsystems", i);
		rc = parse_subsys(json_array_get(list, i), at, sim, i, &sim->ctrls[first_ctrl],
				  &err);
		first_ctrl += sim->subsys[i].nr_ctrls;
	}
	rc = rc ? rc : sim_finish(sim);
	if (rc) {
		nr_sim_free(sim);
		return rc;
	}
	*out = sim;
	return 0;
}

int nr_sim_load_file(const char *path, struct nr_sim **out, char *err_buf, size_t err_len)
{
	FILE *file = fopen(path, "r");
	json_error_t jerr;
	json_t *desc;
	int rc;

	if (!file) {
		rc = -errno;
		if (err_buf && err_len)
			snprintf(err_buf, err_len, "%s: %s", path, strerror(-rc));
		return rc;
	}
	desc = json_loadf(file, JSON_REJECT_DUPLICATES, &jerr);
	fclose(file);
	if (!desc) {
		if (err_buf && err_len)
			snprintf(err_buf, err_len, "%s:%d:%d: %s", path, jerr.line, jerr.column,
				 jerr.text);
		return -EINVAL;
	}
	rc = nr_sim_new_from_json(desc, out, err_buf, err_len);
	json_decref(desc);
	return rc;
}

/* The default description; zone states are set afterwards. */
static json_t *default_desc(void)
{
	return json_pack("{s:[{s:s, s:[{s:s, s:s, s:s, s:i}], s:[{s:i, s:i, s:I},"
			 " {s:i, s:i, s:{s:i, s:i, s:i, s:i}}], s:I}]}",
			 "subsystems", "nqn", "nqn.2026-11.io.nvmerpcd:sim-subsys0", "controllers",
			 "sn", "NRSIM0000000001", "mn", CFG_DEFAULT_MN, "fr", CFG_DEFAULT_FR,
			 "cntlid", 1, "namespaces", "nsid", 1, "lba_size", 512, "blocks",
			 (json_int_t)2097152, "nsid", 2, "lba_size", 512, "zoned", "zone_size",
			 2048, "nr_zones", 4096, "max_open", 14, "max_active", 14, "capacity",
			 (json_int_t)CFG_DEFAULT_CAPACITY);
}

/*
 * The default subsystem: namespace 1 conventional (1 GiB of 512-byte
 * blocks), namespace 2 zoned with 4096 zones of 2048 blocks. So a report
 * shows variety, zone 0 is full, zone 1 implicitly open with its write
 * pointer mid-zone, zone 2 closed with 512 blocks written; the rest are
 * empty. Returns 0 or -ENOMEM.
 */
int nr_sim_new_default(struct nr_sim **out)
{
	json_t *desc = default_desc();
	struct sim_zoned *zoned;
	struct nr_sim *sim;
	char err[160];
	int rc;

	if (!desc)
		return -ENOMEM;
	rc = nr_sim_new_from_json(desc, &sim, err, sizeof(err));
	json_decref(desc);
	if (rc)
		return rc;
	zoned = sim_ns_find(&sim->subsys[0], 2)->zoned;
	sim_zone_set(zoned, 0, SIM_Z_FULL, (uint32_t)zoned->zone_cap);
	sim_zone_set(zoned, 1, SIM_Z_IMPL_OPEN, (uint32_t)zoned->zone_size / 2);
	sim_zone_set(zoned, 2, SIM_Z_CLOSED, 512);
	*out = sim;
	return 0;
}
