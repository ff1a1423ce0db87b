/* SPDX-License-Identifier: MIT */
/* The method table, checked against the OpenRPC document at build time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/handlers.h"

/* Sorted by name: nr_method_find bisects it. */
static const struct nr_method method_table[] = {
    {"mi.config_get", NR_CLASS_READ, false, nr_m_mi_config_get},
    {"mi.config_set", NR_CLASS_WRITE, false, nr_m_mi_config_set},
    {"mi.endpoints", NR_CLASS_READ, false, nr_m_mi_endpoints},
    {"mi.health_status_poll", NR_CLASS_READ, false, nr_m_mi_health_status_poll},
    {"mi.read_data", NR_CLASS_READ, false, nr_m_mi_read_data},
    {"mi.scan", NR_CLASS_WRITE, false, nr_m_mi_scan},
    {"nvme.admin_passthru", NR_CLASS_DESTRUCTIVE, false, nr_m_nvme_admin_passthru},
    {"nvme.apply", NR_CLASS_WRITE, true, nr_m_nvme_apply},
    {"nvme.changed_ns_list", NR_CLASS_READ, false, nr_m_nvme_changed_ns_list},
    {"nvme.effects_log", NR_CLASS_READ, false, nr_m_nvme_effects_log},
    {"nvme.error_log", NR_CLASS_READ, false, nr_m_nvme_error_log},
    {"nvme.format", NR_CLASS_DESTRUCTIVE, true, nr_m_nvme_format},
    {"nvme.fw_commit", NR_CLASS_DESTRUCTIVE, false, nr_m_nvme_fw_commit},
    {"nvme.fw_download", NR_CLASS_WRITE, false, nr_m_nvme_fw_download},
    {"nvme.fw_log", NR_CLASS_READ, false, nr_m_nvme_fw_log},
    {"nvme.get_feature", NR_CLASS_READ, false, nr_m_nvme_get_feature},
    {"nvme.get_log", NR_CLASS_READ, true, nr_m_nvme_get_log},
    {"nvme.id_ctrl", NR_CLASS_READ, false, nr_m_nvme_id_ctrl},
    {"nvme.id_ns", NR_CLASS_READ, false, nr_m_nvme_id_ns},
    {"nvme.id_ns_csi", NR_CLASS_READ, false, nr_m_nvme_id_ns_csi},
    {"nvme.io_passthru", NR_CLASS_DESTRUCTIVE, false, nr_m_nvme_io_passthru},
    {"nvme.list", NR_CLASS_READ, false, nr_m_nvme_list},
    {"nvme.list_ctrl", NR_CLASS_READ, false, nr_m_nvme_list_ctrl},
    {"nvme.list_ns", NR_CLASS_READ, false, nr_m_nvme_list_ns},
    {"nvme.ns_attach", NR_CLASS_WRITE, false, nr_m_nvme_ns_attach},
    {"nvme.ns_create", NR_CLASS_WRITE, false, nr_m_nvme_ns_create},
    {"nvme.ns_delete", NR_CLASS_DESTRUCTIVE, false, nr_m_nvme_ns_delete},
    {"nvme.ns_descs", NR_CLASS_READ, false, nr_m_nvme_ns_descs},
    {"nvme.ns_detach", NR_CLASS_DESTRUCTIVE, false, nr_m_nvme_ns_detach},
    {"nvme.ns_rescan", NR_CLASS_WRITE, false, nr_m_nvme_ns_rescan},
    {"nvme.persistent_event_log", NR_CLASS_READ, true, nr_m_nvme_persistent_event_log},
    {"nvme.plan", NR_CLASS_READ, false, nr_m_nvme_plan},
    {"nvme.rescan", NR_CLASS_WRITE, false, nr_m_nvme_rescan},
    {"nvme.reset", NR_CLASS_DESTRUCTIVE, false, nr_m_nvme_reset},
    {"nvme.sanitize", NR_CLASS_DESTRUCTIVE, true, nr_m_nvme_sanitize},
    {"nvme.sanitize_log", NR_CLASS_READ, false, nr_m_nvme_sanitize_log},
    {"nvme.self_test", NR_CLASS_WRITE, true, nr_m_nvme_self_test},
    {"nvme.self_test_log", NR_CLASS_READ, false, nr_m_nvme_self_test_log},
    {"nvme.set_feature", NR_CLASS_WRITE, false, nr_m_nvme_set_feature},
    {"nvme.smart_log", NR_CLASS_READ, false, nr_m_nvme_smart_log},
    {"nvme.telemetry_log", NR_CLASS_READ, true, nr_m_nvme_telemetry_log},
    {"nvme.watch", NR_CLASS_READ, true, nr_m_nvme_watch},
    {"nvme.zns.append", NR_CLASS_WRITE, false, nr_m_zns_append},
    {"nvme.zns.changed_zones", NR_CLASS_READ, false, nr_m_zns_changed_zones},
    {"nvme.zns.id_ctrl", NR_CLASS_READ, false, nr_m_zns_id_ctrl},
    {"nvme.zns.id_ns", NR_CLASS_READ, false, nr_m_zns_id_ns},
    {"nvme.zns.mgmt_send", NR_CLASS_WRITE, false, nr_m_zns_mgmt_send},
    {"nvme.zns.report_zones", NR_CLASS_READ, true, nr_m_zns_report_zones},
    {"rpc.cancel", NR_CLASS_READ, false, nr_m_rpc_cancel},
    {"rpc.discover", NR_CLASS_READ, false, nr_m_rpc_discover},
    {"rpc.ping", NR_CLASS_READ, false, nr_m_rpc_ping},
    {"server.info", NR_CLASS_READ, false, nr_m_server_info},
    {"server.stats", NR_CLASS_READ, false, nr_m_server_stats},
    {"sim.fault", NR_CLASS_WRITE, false, nr_m_sim_fault},
    {"sim.insert", NR_CLASS_WRITE, false, nr_m_sim_insert},
};

#define METHOD_COUNT (sizeof(method_table) / sizeof(method_table[0]))

static int method_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct nr_method *)elem)->name);
}

const struct nr_method *nr_method_find(const char *name)
{
	return bsearch(name, method_table, METHOD_COUNT, sizeof(method_table[0]), method_cmp);
}

size_t nr_method_count(void)
{
	return METHOD_COUNT;
}

const struct nr_method *nr_method_at(size_t index)
{
	return index < METHOD_COUNT ? &method_table[index] : NULL;
}

int nr_methods_check(const struct nr_schema *schema, char *err, size_t err_len)
{
	for (size_t i = 0; i < METHOD_COUNT; i++) {
		const struct nr_method *m = &method_table[i];
		const struct nr_schema_method *sm = nr_schema_method(schema, m->name);
		if (i > 0 && strcmp(method_table[i - 1].name, m->name) >= 0) {
			snprintf(err, err_len, "method table not sorted at %s", m->name);
			return -EINVAL;
		}
		if (!sm || sm->cls != m->cls || sm->streaming != m->streaming) {
			snprintf(err, err_len, "%s: %s", m->name,
				 sm ? "class or streaming flag differs from the schema"
				    : "missing from the schema");
			return -EINVAL;
		}
	}
	if (nr_schema_method_count(schema) != METHOD_COUNT) {
		snprintf(err, err_len, "the schema has %zu methods, the table %zu",
			 nr_schema_method_count(schema), (size_t)METHOD_COUNT);
		return -EINVAL;
	}
	return 0;
}

void nr_limits_default(struct nr_limits *limits)
{
	*limits = (struct nr_limits){
	    .max_line = NR_DEFAULT_MAX_LINE,
	    .max_result_items = NR_DEFAULT_MAX_RESULT_ITEMS,
	    .timeout_ms = NR_DEFAULT_TIMEOUT_MS,
	    .max_queue = NR_DEFAULT_MAX_QUEUE,
	    .write_buffer = NR_DEFAULT_WRITE_BUFFER,
	    .threads = 4,
	    .max_connections = NR_DEFAULT_MAX_CONNECTIONS,
	    .max_connections_per_uid = NR_DEFAULT_MAX_CONNECTIONS_PER_UID,
	    .max_calls = NR_DEFAULT_MAX_CALLS,
	    .max_batch = NR_DEFAULT_MAX_BATCH,
	    .max_depth = NR_DEFAULT_MAX_DEPTH,
	    .max_input_total = NR_DEFAULT_MAX_INPUT_TOTAL,
	    .line_timeout_ms = NR_DEFAULT_LINE_TIMEOUT_MS,
	    .idle_timeout_ms = NR_DEFAULT_IDLE_TIMEOUT_MS,
	    .inline_runs = NR_DEFAULT_INLINE_RUNS,
	};
}

int nr_service_init(struct nr_service *svc, uv_loop_t *loop, char *err, size_t err_len)
{
	int rc;

	svc->loop = loop;
	svc->start_ms = uv_now(loop);
	rc = nr_schema_load(&svc->schema, err, err_len);
	if (rc)
		return rc;
	rc = nr_methods_check(svc->schema, err, err_len);
	if (rc)
		return rc;
	svc->stats.methods =
	    calloc(nr_schema_method_count(svc->schema), sizeof(*svc->stats.methods));
	svc->handlers = calloc(nr_schema_method_count(svc->schema), sizeof(*svc->handlers));
	svc->topology = nr_topology_new();
	svc->no_params = json_object();
	if (!svc->stats.methods || !svc->handlers || !svc->topology || !svc->no_params)
		return -ENOMEM;
	for (size_t i = 0; i < nr_schema_method_count(svc->schema); i++)
		svc->handlers[i] = nr_method_find(nr_schema_method_at(svc->schema, i)->name);
	return 0;
}

void nr_service_fini(struct nr_service *svc)
{
	nr_topology_free(svc->topology);
	json_decref(svc->no_params);
	nr_schema_free(svc->schema);
	nr_policy_free(svc->policy);
	free(svc->firmware_dir);
	svc->policy = NULL;
	free(svc->stats.methods);
	free(svc->handlers);
	svc->handlers = NULL;
	svc->topology = NULL;
	svc->schema = NULL;
	svc->stats.methods = NULL;
}
