/* SPDX-License-Identifier: MIT */
/* Method handlers (m_*.c) and the helpers they share. Loop thread. */
#ifndef NR_HANDLERS_H
#define NR_HANDLERS_H

#include "rpc/call.h"
#include "nvme/nvme_cmd.h"

/* rpc.* and server.* */
void nr_m_rpc_discover(struct nr_call *call);
void nr_m_rpc_ping(struct nr_call *call);
void nr_m_rpc_cancel(struct nr_call *call);
void nr_m_server_info(struct nr_call *call);
void nr_m_server_stats(struct nr_call *call);

/* sim.*: test-only, served under --simulate alone (m_sim.c). */
void nr_m_sim_fault(struct nr_call *call);
void nr_m_sim_insert(struct nr_call *call);

/* mi.*: the NVMe-MI command set and endpoints (m_mi.c). */
void nr_m_mi_endpoints(struct nr_call *call);
void nr_m_mi_scan(struct nr_call *call);
void nr_m_mi_health_status_poll(struct nr_call *call);
void nr_m_mi_read_data(struct nr_call *call);
void nr_m_mi_config_get(struct nr_call *call);
void nr_m_mi_config_set(struct nr_call *call);

/* nvme.* */
void nr_m_nvme_list(struct nr_call *call);
void nr_m_nvme_rescan(struct nr_call *call);
void nr_m_nvme_id_ctrl(struct nr_call *call);
void nr_m_nvme_id_ns(struct nr_call *call);
void nr_m_nvme_smart_log(struct nr_call *call);
void nr_m_zns_report_zones(struct nr_call *call);
void nr_m_zns_mgmt_send(struct nr_call *call);
void nr_m_zns_append(struct nr_call *call);
void nr_m_zns_changed_zones(struct nr_call *call);

/* Identify lists, descriptors and command set specific identify (m_ns.c). */
void nr_m_nvme_list_ns(struct nr_call *call);
void nr_m_nvme_list_ctrl(struct nr_call *call);
void nr_m_nvme_ns_descs(struct nr_call *call);
void nr_m_nvme_id_ns_csi(struct nr_call *call);
void nr_m_zns_id_ctrl(struct nr_call *call);
void nr_m_zns_id_ns(struct nr_call *call);
/* Namespace lifecycle, each followed by a topology refresh (m_ns.c). */
void nr_m_nvme_ns_create(struct nr_call *call);
void nr_m_nvme_ns_delete(struct nr_call *call);
void nr_m_nvme_ns_attach(struct nr_call *call);
void nr_m_nvme_ns_detach(struct nr_call *call);
void nr_m_nvme_ns_rescan(struct nr_call *call);

/* Log pages (m_log.c). */
void nr_m_nvme_error_log(struct nr_call *call);
void nr_m_nvme_fw_log(struct nr_call *call);
void nr_m_nvme_effects_log(struct nr_call *call);
void nr_m_nvme_self_test_log(struct nr_call *call);
void nr_m_nvme_sanitize_log(struct nr_call *call);
void nr_m_nvme_changed_ns_list(struct nr_call *call);
void nr_m_nvme_get_log(struct nr_call *call);
void nr_m_nvme_telemetry_log(struct nr_call *call);
void nr_m_nvme_persistent_event_log(struct nr_call *call);

/* Long operations, firmware, reset, raw passthru (m_admin.c). */
void nr_m_nvme_sanitize(struct nr_call *call);
void nr_m_nvme_self_test(struct nr_call *call);
void nr_m_nvme_format(struct nr_call *call);
void nr_m_nvme_fw_download(struct nr_call *call);
void nr_m_nvme_fw_commit(struct nr_call *call);
void nr_m_nvme_reset(struct nr_call *call);
void nr_m_nvme_admin_passthru(struct nr_call *call);
void nr_m_nvme_io_passthru(struct nr_call *call);

/* Health and topology events, streamed until cancelled (m_watch.c). */
void nr_m_nvme_watch(struct nr_call *call);

/* Desired state: plan and apply (m_plan.c). */
void nr_m_nvme_plan(struct nr_call *call);
void nr_m_nvme_apply(struct nr_call *call);

/* Features (m_feature.c). */
void nr_m_nvme_get_feature(struct nr_call *call);
void nr_m_nvme_set_feature(struct nr_call *call);

/* Ends the call with the error a failed submission or completion means:
 * -errno (DeviceBusy, Timeout, TransportError, Cancelled for -ESHUTDOWN...)
 * or an NVMe status.
 * Returns true if it ended the call. */
bool nr_call_fail_cmd(struct nr_call *call, int rc, const struct nr_cmd *cmd, const char *what);

/* Ends the call with InvalidParams for @field. */
void nr_call_invalid(struct nr_call *call, const char *field, const char *reason);

#endif
