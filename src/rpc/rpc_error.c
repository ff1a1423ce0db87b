/* SPDX-License-Identifier: MIT */
#include "rpc/rpc_error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nvme/nvme_cmd.h"

struct code_info {
	int code;
	const char *name;
	const char *message;
};

static const struct code_info code_table[] = {
    {NR_E_PARSE, "ParseError", "Parse error"},
    {NR_E_INVALID_REQUEST, "InvalidRequest", "Invalid request"},
    {NR_E_METHOD_NOT_FOUND, "MethodNotFound", "Method not found"},
    {NR_E_INVALID_PARAMS, "InvalidParams", "Invalid params"},
    {NR_E_INTERNAL, "InternalError", "Internal error"},
    {NR_E_DEVICE_NOT_FOUND, "DeviceNotFound", "Device not found"},
    {NR_E_DEVICE_BUSY, "DeviceBusy", "Device busy"},
    {NR_E_TIMEOUT, "Timeout", "Timeout"},
    {NR_E_NVME_STATUS, "NvmeStatus", "NVMe status error"},
    {NR_E_MI_STATUS, "MiStatus", "NVMe-MI status error"},
    {NR_E_NOT_SUPPORTED, "NotSupported", "Not supported"},
    {NR_E_PERMISSION_DENIED, "PermissionDenied", "Permission denied"},
    {NR_E_CONFIRMATION_REQUIRED, "ConfirmationRequired", "Confirmation required"},
    {NR_E_TRANSPORT, "TransportError", "Transport error"},
    {NR_E_CANCELLED, "Cancelled", "Cancelled"},
    {NR_E_RESULT_TOO_LARGE, "ResultTooLarge", "Result too large"},
    {NR_E_STATE_CHANGED, "StateChanged", "State changed"},
    {NR_E_SERVER_BUSY, "ServerBusy", "Server busy"},
};

static const struct code_info *code_lookup(int code)
{
	for (size_t i = 0; i < sizeof(code_table) / sizeof(code_table[0]); i++) {
		if (code_table[i].code == code)
			return &code_table[i];
	}
	return NULL;
}

const char *nr_rpc_code_name(int code)
{
	const struct code_info *info = code_lookup(code);

	return info ? info->name : "ServerError";
}

json_t *nr_rpc_error_object(int code, const char *reason, json_t *data)
{
	const struct code_info *info = code_lookup(code);
	const char *base = info ? info->message : "Server error";
	char message[512];

	if (!data)
		data = json_object();
	json_object_set_new(data, "name", json_string(nr_rpc_code_name(code)));
	if (reason) {
		json_object_set_new(data, "reason", json_string(reason));
		snprintf(message, sizeof(message), "%s: %s", base, reason);
	} else {
		snprintf(message, sizeof(message), "%s", base);
	}
	return json_pack("{s:i, s:s, s:o}", "code", code, "message", message, "data", data);
}

json_t *nr_rpc_error_invalid_params(const char *field, const char *reason)
{
	char text[512];

	snprintf(text, sizeof(text), "%s: %s", field, reason);
	return nr_rpc_error_object(NR_E_INVALID_PARAMS, text, json_pack("{s:s}", "field", field));
}

struct errno_map {
	int err;
	int code;
};

static const struct errno_map errno_table[] = {
    {ETIMEDOUT, NR_E_TIMEOUT},	      {ENODEV, NR_E_DEVICE_NOT_FOUND},
    {ENOENT, NR_E_DEVICE_NOT_FOUND},  {ENXIO, NR_E_DEVICE_NOT_FOUND},
    {EBUSY, NR_E_DEVICE_BUSY},	      {EAGAIN, NR_E_DEVICE_BUSY},
    {EOPNOTSUPP, NR_E_NOT_SUPPORTED}, {ENOTTY, NR_E_NOT_SUPPORTED},
    {ECANCELED, NR_E_CANCELLED},      {ENOMEM, NR_E_INTERNAL},
    {EACCES, NR_E_PERMISSION_DENIED}, {EPERM, NR_E_PERMISSION_DENIED},
};

json_t *nr_rpc_error_from_errno(int neg_errno, const char *what)
{
	int err = -neg_errno;
	int code = NR_E_TRANSPORT;
	char reason[256];

	for (size_t i = 0; i < sizeof(errno_table) / sizeof(errno_table[0]); i++) {
		if (errno_table[i].err == err)
			code = errno_table[i].code;
	}
	snprintf(reason, sizeof(reason), "%s: %s", what, strerror(err));
	return nr_rpc_error_object(code, reason,
				   json_pack("{s:i, s:s}", "errno", err, "errno_name",
					     strerrorname_np(err) ? strerrorname_np(err) : "E?"));
}

json_t *nr_rpc_error_nvme_status(unsigned status, const char *what)
{
	char reason[256];
	const char *name = nr_status_name((uint16_t)status);

	snprintf(reason, sizeof(reason), "%s: %s (sct 0x%x, sc 0x%02x)", what, name,
		 NR_STATUS_SCT(status), NR_STATUS_SC(status));
	return nr_rpc_error_object(NR_E_NVME_STATUS, reason,
				   json_pack("{s:i, s:i, s:b, s:b, s:i, s:i, s:s}", "sct",
					     NR_STATUS_SCT(status), "sc", NR_STATUS_SC(status),
					     "dnr", NR_STATUS_DNR(status), "more",
					     NR_STATUS_MORE(status), "crd", NR_STATUS_CRD(status),
					     "raw", status, "status", name));
}

/* NVMe-MI 1.2, Figure "NVMe Management Response Status Values". */
static const char *const mi_status_names[] = {
    [0x00] = "Success",
    [0x01] = "More Processing Required",
    [0x02] = "Internal Error",
    [0x03] = "Invalid Command Opcode",
    [0x04] = "Invalid Parameter",
    [0x05] = "Invalid Command Size",
    [0x06] = "Invalid Command Input Data Size",
    [0x07] = "Access Denied",
    [0x20] = "VPD Updates Exceeded",
    [0x21] = "PCIe Inaccessible",
    [0x22] = "Management Endpoint Buffer Cleared Due to Sanitize",
    [0x23] = "Enclosure Services Failure",
    [0x24] = "Enclosure Services Transfer Failure",
    [0x25] = "Enclosure Failure",
    [0x26] = "Enclosure Services Transfer Refused",
    [0x27] = "Unsupported Enclosure Function",
    [0x28] = "Enclosure Services Unavailable",
    [0x29] = "Enclosure Degraded Failure",
    [0x2a] = "Sanitize In Progress",
};

const char *nr_mi_status_name(unsigned status)
{
	if (status < sizeof(mi_status_names) / sizeof(mi_status_names[0]) &&
	    mi_status_names[status])
		return mi_status_names[status];
	return status >= 0xe0 ? "Vendor Specific" : "Reserved";
}

json_t *nr_rpc_error_mi_status(unsigned status, const char *what)
{
	char reason[256];
	const char *name = nr_mi_status_name(status);

	snprintf(reason, sizeof(reason), "%s: NVMe-MI status %s (0x%02x)", what, name, status);
	return nr_rpc_error_object(NR_E_MI_STATUS, reason,
				   json_pack("{s:i, s:s}", "mi_status", status, "status", name));
}
