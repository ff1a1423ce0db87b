/* SPDX-License-Identifier: MIT */
/* JSON-RPC error codes, used everywhere, each with a symbolic name. */
#ifndef NR_RPC_ERROR_H
#define NR_RPC_ERROR_H

#include <jansson.h>

enum nr_rpc_code {
	NR_E_PARSE = -32700,
	NR_E_INVALID_REQUEST = -32600,
	NR_E_METHOD_NOT_FOUND = -32601,
	NR_E_INVALID_PARAMS = -32602,
	NR_E_INTERNAL = -32603,
	NR_E_DEVICE_NOT_FOUND = -32001,
	NR_E_DEVICE_BUSY = -32002,
	NR_E_TIMEOUT = -32003,
	NR_E_NVME_STATUS = -32004,
	NR_E_MI_STATUS = -32005,
	NR_E_NOT_SUPPORTED = -32006,
	NR_E_PERMISSION_DENIED = -32007,
	NR_E_CONFIRMATION_REQUIRED = -32008,
	NR_E_TRANSPORT = -32009,
	NR_E_CANCELLED = -32010,
	NR_E_RESULT_TOO_LARGE = -32011,
	NR_E_STATE_CHANGED = -32012, /* nvme.apply: the device changed since the plan */
	NR_E_SERVER_BUSY = -32013,   /* a per-client or server limit: data.limit names it */
};

/* Symbolic name of a code ("InvalidParams"); "ServerError" when unknown. */
const char *nr_rpc_code_name(int code);

/*
 * Builds a JSON-RPC error object {code, message, data}. @data is stolen (may
 * be NULL) and gets "name" added; @reason, when not NULL, becomes
 * data.reason and the message "<standard message>: <reason>".
 * Returns a new reference.
 */
json_t *nr_rpc_error_object(int code, const char *reason, json_t *data);

/*
 * The InvalidParams (-32602) error for the parameter at JSON path @field
 * ("params.device"): data.field is @field, and the message and data.reason
 * read "<field>: <reason>", so a reader of either knows which parameter.
 * Returns a new reference.
 */
json_t *nr_rpc_error_invalid_params(const char *field, const char *reason);

/*
 * Maps an internal -errno to the JSON-RPC error for a device call: -ETIMEDOUT
 * to Timeout, -ENODEV/-ENOENT to DeviceNotFound, -EBUSY to DeviceBusy,
 * -EOPNOTSUPP to NotSupported, -ECANCELED to Cancelled, -ENOMEM to Internal,
 * anything else to TransportError with data.errno and data.errno_name.
 * Returns a new reference.
 */
json_t *nr_rpc_error_from_errno(int neg_errno, const char *what);

/* The NvmeStatus (-32004) error for a completion status. Returns a new reference. */
json_t *nr_rpc_error_nvme_status(unsigned status, const char *what);

/* The MiStatus (-32005) error for an NVMe-MI response status (NVMe-MI 1.2
 * "Status"), with data.mi_status and data.status (its name). New reference. */
json_t *nr_rpc_error_mi_status(unsigned status, const char *what);

/* The name of an NVMe-MI response status ("Invalid Parameter"). */
const char *nr_mi_status_name(unsigned status);

#endif
