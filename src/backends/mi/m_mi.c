/* SPDX-License-Identifier: MIT */
/* mi.*: the NVMe-MI command set, endpoint listing and discovery. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "methods/handlers.h"
#include "methods/job.h"
#include "backends/mi/mi_int.h"
#include "rpc/rpc_error.h"

void nr_m_mi_endpoints(struct nr_call *call)
{
	nr_call_result(call, nr_mi_endpoints_json(call->svc->mi));
}

void nr_m_mi_scan(struct nr_call *call)
{
	if (!call->svc->mi) {
		nr_call_fail(call, NR_E_NOT_SUPPORTED, "the NVMe-MI backend is not configured");
		return;
	}
	nr_mi_scan(call->svc->mi, call);
}

/* ---- one MI command through the endpoint's FIFO --------------------------- */

typedef json_t *(*mi_encode_fn)(const struct nr_mi_cmd *cmd, struct nr_call *call);

struct mi_call {
	struct nr_mi_cmd cmd;
	mi_encode_fn encode;
	const char *what;
};

static int mi_work(struct nr_call *call)
{
	struct mi_call *mc = call->ctx;

	return nr_mi_exec(nr_mi_ep_of(call->dev.ctrl), &mc->cmd);
}

static void mi_done(struct nr_call *call, int rc)
{
	struct mi_call *mc = call->ctx;

	if (rc)
		nr_call_error(call, nr_rpc_error_from_errno(rc, mc->what));
	else if (mc->cmd.mi_status)
		nr_call_error(call, nr_rpc_error_mi_status(mc->cmd.mi_status, mc->what));
	else
		nr_call_result(call, mc->encode(&mc->cmd, call));
}

static void mi_call_free(void *ctx)
{
	free(ctx);
}

static void mi_submit(struct nr_call *call, enum nr_mi_opcode opcode, uint32_t dw0, uint32_t dw1,
		      mi_encode_fn encode, const char *what)
{
	struct mi_call *mc = calloc(1, sizeof(*mc));
	int rc;

	if (!mc) {
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return;
	}
	mc->cmd = (struct nr_mi_cmd){.opcode = opcode, .dw0 = dw0, .dw1 = dw1};
	mc->encode = encode;
	mc->what = what;
	call->ctx = mc;
	call->ctx_free = mi_call_free;
	rc = nr_exec_submit(call, call->dev.ctrl, mi_work, mi_done);
	if (rc)
		nr_call_fail_cmd(call, rc, NULL, what);
}

/* ---- mi.health_status_poll ------------------------------------------------ */

struct flag_name {
	unsigned bit;
	const char *name;
};

static json_t *flags_json(unsigned value, const struct flag_name *names, size_t count)
{
	json_t *obj = json_object();

	for (size_t i = 0; i < count; i++)
		json_object_set_new(obj, names[i].name, json_boolean(value & (1u << names[i].bit)));
	return obj;
}

/* NVMe-MI 1.2, "NVM Subsystem Health Data Structure". */
static const struct flag_name nss_flags[] = {
    {5, "drive_functional"},
    {4, "reset_not_required"},
    {3, "port0_link_active"},
    {2, "port1_link_active"},
};

/* SMART Warnings: the SMART log's Critical Warning bits, each cleared to 0
 * while its condition holds (NVMe-MI inverts them); decoded here as
 * "warning present". */
static const struct flag_name sw_flags[] = {
    {0, "spare_below_threshold"},  {1, "temperature"},
    {2, "reliability_degraded"},   {3, "read_only"},
    {4, "volatile_backup_failed"}, {5, "pmr_read_only"},
};

static const struct flag_name ccs_flags[] = {
    {0, "ready"},
    {1, "fatal_status"},
    {2, "shutdown_status"},
    {4, "subsystem_reset_occurred"},
    {5, "enable_changed"},
    {6, "namespace_attribute_changed"},
    {7, "firmware_activated"},
    {8, "status_changed"},
    {9, "temperature_changed"},
    {10, "life_used_changed"},
    {11, "spare_changed"},
    {12, "critical_warning_changed"},
};

/* CTEMP in degrees Celsius: 00h-7Eh 0..126, 7Fh 127 or more, C4h -60 or
 * less, C5h-FFh -59..-1; 80h no data, 81h sensor failure. */
static json_t *ctemp_json(uint8_t raw)
{
	if (raw == 0x80 || raw == 0x81 || (raw > 0x81 && raw < 0xc4))
		return json_null();
	return json_integer(raw <= 0x7f ? raw : (int)raw - 256);
}

static json_t *health_encode(const struct nr_mi_cmd *cmd, struct nr_call *call)
{
	const struct nvme_mi_nvm_ss_health_status *hs = (const void *)cmd->data;
	unsigned ccs = le16toh(hs->ccs);
	unsigned warnings = ~hs->sw & 0x3fu;

	return json_pack("{s:i, s:o, s:i, s:o, s:o, s:i, s:i, s:i, s:o, s:b}", "nss", hs->nss,
			 "status", flags_json(hs->nss, nss_flags, 4), "sw", hs->sw, "warnings",
			 flags_json(warnings, sw_flags, 6), "ctemp", ctemp_json(hs->ctemp),
			 "ctemp_raw", hs->ctemp, "pdlu", hs->pdlu, "ccs", ccs, "changes",
			 flags_json(ccs, ccs_flags, 12), "shared", cmd->shared);
}

void nr_m_mi_health_status_poll(struct nr_call *call)
{
	uint32_t dw1 = nr_param_bool(call, "clear") ? 1u << 31 : 0;

	mi_submit(call, NR_MI_HEALTH_POLL, 0, dw1, health_encode,
		  "NVM Subsystem Health Status Poll");
}

/* ---- mi.read_data ---------------------------------------------------------- */

static const char *const data_types[] = {"subsystem", "port", "controller_list", "controller"};

static const char *port_type(uint8_t portt)
{
	switch (portt & 0x7) {
	case 0:
		return "inactive";
	case 1:
		return "pcie";
	case 2:
		return "smbus";
	default:
		return "reserved";
	}
}

static json_t *port_encode(const struct nvme_mi_read_port_info *p)
{
	json_t *obj =
	    json_pack("{s:s, s:i, s:i, s:I}", "type", port_type(p->portt), "portt", p->portt,
		      "mmctptus", le16toh(p->mmctptus), "meb", (json_int_t)le32toh(p->meb));

	if ((p->portt & 7) == 1)
		json_object_set_new(obj, "pcie",
				    json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "mps", p->pcie.mps,
					      "sls", p->pcie.sls, "cls", p->pcie.cls, "mlw",
					      p->pcie.mlw, "nlw", p->pcie.nlw, "pn", p->pcie.pn));
	else if ((p->portt & 7) == 2)
		json_object_set_new(obj, "smbus",
				    json_pack("{s:i, s:i, s:i, s:i, s:i}", "vpd_addr",
					      p->smb.vpd_addr, "mvpd_freq", p->smb.mvpd_freq,
					      "mme_addr", p->smb.mme_addr, "mme_freq",
					      p->smb.mme_freq, "nvmebm", p->smb.nvmebm));
	return obj;
}

static json_t *ctrl_list_encode(const uint8_t *data)
{
	uint16_t count = (uint16_t)(data[0] | data[1] << 8);
	json_t *ids = json_array();

	for (uint16_t i = 0; i < count && i < 2047; i++)
		json_array_append_new(ids, json_integer(data[2 + 2 * i] | data[3 + 2 * i] << 8));
	return json_pack("{s:o}", "controllers", ids);
}

static json_t *read_data_encode(const struct nr_mi_cmd *cmd, struct nr_call *call)
{
	const struct nvme_mi_read_nvm_ss_info *ss = (const void *)cmd->data;
	const struct nvme_mi_read_ctrl_info *ci = (const void *)cmd->data;
	json_t *obj;

	switch (cmd->dw0 >> 24) {
	case 0:
		obj = json_pack("{s:i, s:i, s:i, s:i}", "nump", ss->nump, "ports", ss->nump + 1,
				"mjr", ss->mjr, "mnr", ss->mnr);
		json_object_set_new(obj, "version", json_sprintf("%u.%u", ss->mjr, ss->mnr));
		break;
	case 1:
		obj = port_encode((const void *)cmd->data);
		break;
	case 2:
		obj = ctrl_list_encode(cmd->data);
		break;
	default:
		obj = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "portid", ci->portid, "prii",
				ci->prii, "pri", le16toh(ci->pri), "vid", le16toh(ci->vid), "did",
				le16toh(ci->did), "ssvid", le16toh(ci->ssvid), "ssid",
				le16toh(ci->ssid));
		break;
	}
	json_object_set_new(obj, "type", json_string(data_types[cmd->dw0 >> 24]));
	return obj;
}

void nr_m_mi_read_data(struct nr_call *call)
{
	const char *type = json_string_value(json_object_get(call->params, "type"));
	uint32_t port = (uint32_t)nr_param_u64(call, "port", 0);
	uint32_t ctrl_id = (uint32_t)nr_param_u64(call, "ctrl_id", 0);
	uint32_t dtyp = 0;

	while (dtyp < 3 && strcmp(type, data_types[dtyp]) != 0)
		dtyp++;
	mi_submit(call, NR_MI_READ_DATA, dtyp << 24 | port << 16 | ctrl_id, 0, read_data_encode,
		  "Read NVMe-MI Data Structure");
}

/* ---- mi.config_get / mi.config_set ------------------------------------------- */

static const char *const config_names[] = {
    [1] = "smbus_frequency",
    [2] = "health_status_change",
    [3] = "mctp_mtu",
};

static const char *const smbus_freqs[] = {[1] = "100kHz", [2] = "400kHz", [3] = "1MHz"};

static uint32_t config_id(const struct nr_call *call)
{
	const char *name = json_string_value(json_object_get(call->params, "config"));

	for (uint32_t id = 1; id < 4; id++) {
		if (strcmp(name, config_names[id]) == 0)
			return id;
	}
	return 0; /* the schema's enum rules this out */
}

static json_t *config_encode(const struct nr_mi_cmd *cmd, struct nr_call *call)
{
	uint32_t id = cmd->dw0 & 0xff;
	uint32_t value = id == 1 ? cmd->nmresp & 0x3 : id == 3 ? cmd->nmresp & 0xffff : cmd->nmresp;
	json_t *obj;

	if (cmd->opcode == NR_MI_CONFIG_SET)
		value = (uint32_t)nr_param_u64(call, "value", 0);
	obj = json_pack("{s:s, s:I}", "config", config_names[id], "value", (json_int_t)value);
	if (id != 2)
		json_object_set_new(obj, "port", json_integer(cmd->dw0 >> 24));
	if (id == 1)
		json_object_set_new(obj, "frequency",
				    value >= 1 && value <= 3 ? json_string(smbus_freqs[value])
							     : json_null());
	return obj;
}

/* Configuration Get/Set dwords (NVMe-MI 1.2, "Configuration Identifiers"):
 * dword 0 holds the identifier in bits 7:0 and the port in 31:24; SMBus
 * frequency goes in dword 0 bits 11:8, the MTU and the health status change
 * mask in dword 1. */
void nr_m_mi_config_get(struct nr_call *call)
{
	uint32_t id = config_id(call);
	uint32_t port = (uint32_t)nr_param_u64(call, "port", 0);

	mi_submit(call, NR_MI_CONFIG_GET, port << 24 | id, 0, config_encode, "Configuration Get");
}

void nr_m_mi_config_set(struct nr_call *call)
{
	uint32_t id = config_id(call);
	uint32_t port = (uint32_t)nr_param_u64(call, "port", 0);
	uint64_t value = nr_param_u64(call, "value", 0);
	uint32_t dw0 = port << 24 | id;
	uint32_t dw1 = 0;

	if (id == 1 && (value < 1 || value > 3)) {
		nr_call_invalid(call, "value",
				"SMBus frequency: 1 (100 kHz), 2 (400 kHz) or 3 (1 MHz)");
		return;
	}
	if (id == 3 && (value < 64 || value > 0xffff)) {
		nr_call_invalid(call, "value", "MCTP MTU: 64 to 65535 bytes");
		return;
	}
	if (id == 1)
		dw0 |= (uint32_t)value << 8;
	else
		dw1 = (uint32_t)value;
	mi_submit(call, NR_MI_CONFIG_SET, dw0, dw1, config_encode, "Configuration Set");
}
