/* SPDX-License-Identifier: MIT */
/* rpc.* and server.*: answered on the loop thread, no device work. */
#include <libnvme.h>
#include <unistd.h>

#include "methods/handlers.h"

/* Test-only methods (sim.fault) are listed only where they are served. */
void nr_m_rpc_discover(struct nr_call *call)
{
	const struct nr_schema *schema = call->svc->schema;

	nr_call_result(call, json_incref(call->svc->have_sim ? nr_schema_document(schema)
							     : nr_schema_public_document(schema)));
}

void nr_m_rpc_ping(struct nr_call *call)
{
	static const char pong[] = "\"pong\"";

	nr_call_result_text(call, pong, sizeof(pong) - 1);
}

void nr_m_rpc_cancel(struct nr_call *call)
{
	json_t *id = json_object_get(call->params, "id");
	enum nr_cancel_outcome outcome = nr_session_cancel(call->session, id, call);

	if (outcome == NR_CANCEL_REFUSED)
		nr_call_result(call, json_pack("{s:b, s:s}", "cancelled", false, "reason",
					       "running: a write or destructive command is on "
					       "the device; its outcome will be the answer"));
	else
		nr_call_result(call, json_pack("{s:b}", "cancelled", outcome == NR_CANCEL_DONE));
}

void nr_m_server_info(struct nr_call *call)
{
	struct nr_service *svc = call->svc;
	double uptime = (double)(uv_now(svc->loop) - svc->start_ms) / 1000.0;

	nr_call_result(call,
		       json_pack("{s:s, s:s, s:s, s:s, s:o, s:f, s:i, s:i}", "version", NR_VERSION,
				 "libnvme_version", nvme_get_version(NVME_VERSION_PROJECT),
				 "libuv_version", uv_version_string(), "jansson_version",
				 jansson_version_str(), "backends",
				 nr_topology_backends(svc->topology), "uptime_s", uptime, "pid",
				 (int)getpid(), "threads", (int)svc->limits.threads));
}

/* This connection's own counters. New reference. */
static json_t *connection_stats(const struct nr_call *call)
{
	const struct nr_session *session = call->session;

	return json_pack("{s:I, s:I, s:I}", "requests", (json_int_t)session->requests, "errors",
			 (json_int_t)session->errors, "in_flight", (json_int_t)session->live);
}

/*
 * Aggregate counters only: no uid, pid, peer or params, nothing a read-class
 * caller cannot already learn (the SMART log counts every user's commands,
 * nvme.watch shows namespace and firmware changes as they happen). So every
 * peer the policy allows this read-class method gets them, the unprivileged
 * exporter included; a per-method rule narrows that where wanted.
 */
void nr_m_server_stats(struct nr_call *call)
{
	struct nr_service *svc = call->svc;
	const struct nr_stats *st = &svc->stats;
	json_t *methods = json_object();

	for (size_t i = 0; i < nr_schema_method_count(svc->schema); i++) {
		if (st->methods[i].calls == 0 && st->methods[i].errors == 0)
			continue;
		json_object_set_new(methods, nr_schema_method_at(svc->schema, i)->name,
				    json_pack("{s:I, s:I, s:I, s:o}", "calls",
					      (json_int_t)st->methods[i].calls, "errors",
					      (json_int_t)st->methods[i].errors, "ok",
					      (json_int_t)st->methods[i].ok, "duration",
					      nr_stats_duration_json(&st->methods[i])));
	}
	nr_call_result(
	    call, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "scope", "server",
			    "connections", (json_int_t)st->connections, "connections_total",
			    (json_int_t)st->connections_total, "requests", (json_int_t)st->requests,
			    "notifications", (json_int_t)st->notifications, "errors",
			    (json_int_t)st->errors, "in_flight", (json_int_t)st->in_flight,
			    "methods", methods, "queues", nr_stats_queues_json(svc->topology),
			    "connection", connection_stats(call)));
}
