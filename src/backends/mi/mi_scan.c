/* SPDX-License-Identifier: MIT */
/*
 * The NVMe-MI backend's topology half: configuration, endpoint discovery
 * (config file and the MCTP daemon over D-Bus), and learning each
 * endpoint's controllers through its own FIFO, so a silent endpoint delays
 * nobody else's scan. Loop thread unless said otherwise.
 */
#include "backends/mi/mi_int.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/call.h"
#include "rpc/exec.h"
#include "backends/mi/mctp_dbus.h"
#include "rpc/rpc_error.h"

/* ---- configuration ------------------------------------------------------ */

void nr_mi_config_init(struct nr_mi_config *cfg, uint32_t deadline_ms)
{
	*cfg = (struct nr_mi_config){
	    .timeout_ms = NR_MI_DEFAULT_TIMEOUT_MS,
	    .deadline_ms = deadline_ms,
	    .quarantine_after = NR_MI_DEFAULT_QUARANTINE_AFTER,
	    .quarantine_ms = NR_MI_DEFAULT_QUARANTINE_MS,
	};
}

/* Reads the unsigned integer at @key, when present, into @out within
 * [@min, @max]. Returns 0 or -EINVAL with a sentence in @err. */
static int config_u32(const json_t *obj, const char *key, uint32_t min, uint32_t max, uint32_t *out,
		      char *err, size_t err_len)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(err, err_len, "mi.%s: an integer from %u to %u", key, min, max);
		return -EINVAL;
	}
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int config_endpoints(const json_t *list, struct nr_mi_config *cfg, char *err, size_t err_len)
{
	size_t i;
	json_t *item;

	if (!list)
		return 0;
	if (!json_is_array(list) || json_array_size(list) > NR_MI_MAX_STATIC) {
		snprintf(err, err_len, "mi.endpoints: an array of at most %d {net, eid}",
			 NR_MI_MAX_STATIC);
		return -EINVAL;
	}
	json_array_foreach (list, i, item) {
		json_int_t net = json_integer_value(json_object_get(item, "net"));
		json_int_t eid = json_integer_value(json_object_get(item, "eid"));
		if (!json_is_integer(json_object_get(item, "net")) ||
		    !json_is_integer(json_object_get(item, "eid")) || net < 0 || net > UINT32_MAX ||
		    eid < 8 || eid > 254) {
			snprintf(err, err_len,
				 "mi.endpoints[%zu]: {net: 0..2^32-1, eid: 8..254} (EIDs 0-7 "
				 "and 255 are reserved by MCTP)",
				 i);
			return -EINVAL;
		}
		cfg->endpoints[cfg->endpoint_count++] =
		    (struct nr_mi_addr){(uint32_t)net, (uint8_t)eid};
	}
	return 0;
}

static int config_dbus(const json_t *v, struct nr_mi_config *cfg, char *err, size_t err_len)
{
	if (!v)
		return 0;
	if (json_is_boolean(v)) {
		cfg->dbus = json_is_true(v);
		return 0;
	}
	if (json_is_string(v) && json_string_length(v) < sizeof(cfg->dbus_address)) {
		cfg->dbus = true;
		snprintf(cfg->dbus_address, sizeof(cfg->dbus_address), "%s", json_string_value(v));
		return 0;
	}
	snprintf(err, err_len, "mi.dbus: true (the system bus), false, or a D-Bus address");
	return -EINVAL;
}

int nr_mi_config_parse(const json_t *obj, struct nr_mi_config *cfg, char *err, size_t err_len)
{
	static const char *const known[] = {
	    "endpoints", "dbus", "timeout_ms", "deadline_ms", "quarantine_after", "quarantine_ms"};
	const char *key;
	json_t *value;
	int rc;

	if (!json_is_object(obj)) {
		snprintf(err, err_len, "mi: an object");
		return -EINVAL;
	}
	json_object_foreach ((json_t *)obj, key, value) {
		bool ok = false;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			ok |= strcmp(key, known[i]) == 0;
		if (!ok) {
			snprintf(err, err_len, "mi.%s: unknown key", key);
			return -EINVAL;
		}
	}
	rc = config_endpoints(json_object_get(obj, "endpoints"), cfg, err, err_len);
	if (!rc)
		rc = config_dbus(json_object_get(obj, "dbus"), cfg, err, err_len);
	if (!rc)
		rc = config_u32(obj, "timeout_ms", 1, 600000, &cfg->timeout_ms, err, err_len);
	if (!rc)
		rc = config_u32(obj, "deadline_ms", 1, 3600000, &cfg->deadline_ms, err, err_len);
	if (!rc)
		rc = config_u32(obj, "quarantine_after", 1, 1000, &cfg->quarantine_after, err,
				err_len);
	if (!rc)
		rc = config_u32(obj, "quarantine_ms", 0, 86400000, &cfg->quarantine_ms, err,
				err_len);
	return rc;
}

/* ---- the backend ---------------------------------------------------------- */

int nr_mi_new(struct nr_service *svc, const struct nr_mi_config *cfg)
{
	struct nr_mi *mi = calloc(1, sizeof(*mi));

	if (!mi)
		return -ENOMEM;
	mi->svc = svc;
	mi->cfg = *cfg;
	svc->mi = mi;
	return 0;
}

void nr_mi_free(struct nr_mi *mi)
{
	if (!mi)
		return;
	for (size_t i = 0; i < mi->ep_count; i++)
		mi_ep_unref(mi->eps[i]);
	free(mi->eps);
	free(mi);
}

static struct nr_mi_ep *ep_find(struct nr_mi *mi, struct nr_mi_addr addr)
{
	for (size_t i = 0; i < mi->ep_count; i++) {
		if (mi->eps[i]->addr.net == addr.net && mi->eps[i]->addr.eid == addr.eid)
			return mi->eps[i];
	}
	return NULL;
}

/* Unlists the controllers behind @ep. */
static void ep_unlist_ctrls(struct nr_mi *mi, struct nr_mi_ep *ep)
{
	struct nr_topology *topo = mi->svc->topology;

	for (size_t i = nr_topology_ctrl_count(topo); i-- > 0;) {
		struct nr_ctrl *ctrl = nr_topology_ctrl_at(topo, i);
		if (ctrl->ops == &nr_mi_ops && nr_mi_ep_of(ctrl) == ep)
			nr_topology_remove(topo, ctrl);
	}
}

static int ep_list(struct nr_mi *mi, struct nr_mi_addr addr, const char *source)
{
	struct nr_mi_ep **grown = realloc(mi->eps, (mi->ep_count + 1) * sizeof(*grown));
	struct nr_mi_ep *ep;

	if (!grown)
		return -ENOMEM;
	mi->eps = grown;
	ep = mi_ep_new(mi, addr, source);
	if (!ep)
		return -ENOMEM;
	if (nr_topology_insert(mi->svc->topology, ep->entry) != 0) {
		nr_ctrl_unref(ep->entry);
		mi_ep_unref(ep);
		return -ENOMEM;
	}
	mi->eps[mi->ep_count++] = ep;
	return 0;
}

static void ep_unlist(struct nr_mi *mi, size_t index)
{
	struct nr_mi_ep *ep = mi->eps[index];

	ep_unlist_ctrls(mi, ep);
	nr_topology_remove(mi->svc->topology, ep->entry);
	memmove(&mi->eps[index], &mi->eps[index + 1],
		(mi->ep_count - index - 1) * sizeof(*mi->eps));
	mi->ep_count--;
	mi_ep_unref(ep);
}

/* ---- a scan ----------------------------------------------------------------- */

struct mi_scan {
	struct nr_mi *mi;
	struct nr_call *call; /* a reference, or NULL */
	uv_work_t req;
	struct nr_mi_addr found[NR_MI_MAX_STATIC];
	char found_source[NR_MI_MAX_STATIC][64];
	size_t found_count;
	int dbus_rc;
	char dbus_err[256];
	unsigned pending;
	json_t *report; /* one object per endpoint */
	json_t *answer; /* when set, the call's result instead of the report */
};

struct ep_scan {
	struct mi_scan *scan;
	struct nr_mi_ep *ep;
	struct nr_ctrl *built[MI_MAX_CTRLS];
	size_t built_count;
	uint8_t mi_status;
};

static void found_add(struct mi_scan *scan, struct nr_mi_addr addr, const char *source)
{
	for (size_t i = 0; i < scan->found_count; i++) {
		if (scan->found[i].net == addr.net && scan->found[i].eid == addr.eid)
			return; /* the config file's entry wins */
	}
	if (scan->found_count == NR_MI_MAX_STATIC)
		return;
	snprintf(scan->found_source[scan->found_count], sizeof(scan->found_source[0]), "%s",
		 source);
	scan->found[scan->found_count++] = addr;
}

/* Worker thread: the endpoints the config names, then those the MCTP
 * daemon knows that speak NVMe-MI. */
static void discover_work(uv_work_t *req)
{
	struct mi_scan *scan = req->data;
	const struct nr_mi_config *cfg = &scan->mi->cfg;
	struct nr_mctp_endpoint *eps = NULL;
	size_t count = 0;

	for (size_t i = 0; i < cfg->endpoint_count; i++)
		found_add(scan, cfg->endpoints[i], "config");
	if (!cfg->dbus)
		return;
	scan->dbus_rc = nr_mctp_dbus_discover(cfg->dbus_address[0] ? cfg->dbus_address : NULL, &eps,
					      &count, scan->dbus_err, sizeof(scan->dbus_err));
	for (size_t i = 0; scan->dbus_rc == 0 && i < count; i++)
		found_add(scan, (struct nr_mi_addr){eps[i].net, eps[i].eid}, eps[i].service);
	free(eps);
}

static void scan_finish(struct mi_scan *scan)
{
	struct nr_call *call = scan->call;

	if (--scan->pending > 0)
		return;
	scan->mi->scans++;
	if (call && !nr_call_ended(call) && scan->answer) {
		nr_call_result(call, scan->answer);
		scan->answer = NULL;
	} else if (call && !nr_call_ended(call)) {
		json_t *result = json_pack("{s:O}", "endpoints", scan->report);
		if (scan->mi->cfg.dbus)
			json_object_set_new(result, "dbus",
					    scan->dbus_rc ? json_string(scan->dbus_err)
							  : json_string("ok"));
		nr_call_result(call, result);
	}
	if (call)
		nr_call_unref(call);
	json_decref(scan->report);
	json_decref(scan->answer);
	if (!call && scan->mi->first_done) {
		void (*done)(void *arg) = scan->mi->first_done;
		scan->mi->first_done = NULL;
		done(scan->mi->first_arg);
	}
	free(scan);
}

/* Worker thread, through the endpoint's FIFO: opens it, reads its
 * controller list and learns each controller. */
static int ep_scan_work(struct nr_call *call)
{
	struct ep_scan *es = call->ctx;
	struct nr_mi_ep *ep = es->ep;
	struct nr_mi_cmd list = {.opcode = NR_MI_READ_DATA, .dw0 = 2u << 24};
	const uint8_t *ids = list.data + 2;
	int rc = nr_mi_exec(ep, &list);
	uint16_t count;

	if (rc || (es->mi_status = list.mi_status) != 0)
		return rc;
	count = le16toh(*(const uint16_t *)list.data);
	for (uint16_t i = 0; i < count && es->built_count < MI_MAX_CTRLS; i++) {
		struct mi_ctrl *mc = calloc(1, sizeof(*mc));
		char name[NR_NAME_MAX + 8]; /* "mctp:4294967295,254:65535" fits */
		if (!mc)
			return -ENOMEM;
		mc->ep = ep;
		mc->id = (uint16_t)(ids[2 * i] | ids[2 * i + 1] << 8);
		snprintf(name, sizeof(name), "%s:%u", ep->name, mc->id);
		rc = nr_ctrl_build(name, &nr_mi_ops, mc, &es->built[es->built_count]);
		if (rc) {
			free(mc);
			return rc;
		}
		es->built_count++;
	}
	return 0;
}

static json_t *ep_scan_report(struct ep_scan *es, int rc)
{
	json_t *names = json_array();
	json_t *entry;

	for (size_t i = 0; i < es->built_count; i++)
		json_array_append_new(names, json_string(es->built[i]->name));
	entry = json_pack("{s:s, s:o}", "name", es->ep->name, "controllers", names);
	if (rc)
		json_object_set_new(entry, "error", nr_rpc_error_from_errno(rc, es->ep->name));
	else if (es->mi_status)
		json_object_set_new(entry, "error",
				    nr_rpc_error_mi_status(es->mi_status, es->ep->name));
	return entry;
}

/* Lists what the scan learned in place of what was listed before. */
static void ep_scan_done(struct nr_call *call, int rc)
{
	struct ep_scan *es = call->ctx;
	struct nr_mi_ep *ep = es->ep;
	struct nr_mi *mi = es->scan->mi;

	pthread_mutex_lock(&ep->lock);
	ep->st.scan_rc = rc;
	ep->st.scan_mi_status = es->mi_status;
	pthread_mutex_unlock(&ep->lock);
	json_array_append_new(es->scan->report, ep_scan_report(es, rc));
	/* A scan that failed (the endpoint timed out) keeps what was learned
	 * before: an endpoint slow for a while does not lose its controllers. */
	bool replace = !ep->entry->gone && rc == 0 && es->mi_status == 0;
	if (replace)
		ep_unlist_ctrls(mi, ep);
	for (size_t i = 0; i < es->built_count; i++) {
		struct nr_ctrl *ctrl = es->built[i];
		/* The controller's references, dropped by its release: the
		 * endpoint, and the entry that owns the FIFO it queues on (a
		 * call may outlive the endpoint's listing). */
		mi_ep_ref(ep);
		nr_ctrl_ref(ep->entry);
		nr_ctrl_share_fifo(ctrl, ep->entry);
		ctrl->write_limit = NR_MI_XFER_MAX;
		if (!replace || nr_topology_insert(mi->svc->topology, ctrl) != 0)
			nr_ctrl_unref(ctrl);
	}
	es->built_count = 0;
	scan_finish(es->scan);
	nr_call_unref(call); /* ep_scan_start's */
}

static void ep_scan_free(void *ctx)
{
	free(ctx);
}

/* Queues the scan of one endpoint on its FIFO as an internal call. */
static void ep_scan_start(struct mi_scan *scan, struct nr_mi_ep *ep)
{
	struct ep_scan *es = calloc(1, sizeof(*es));
	struct nr_call *child = es ? nr_call_internal(scan->mi->svc, scan->call) : NULL;
	int rc;

	if (!child) {
		free(es);
		return;
	}
	es->scan = scan;
	es->ep = ep;
	child->ctx = es;
	child->ctx_free = ep_scan_free;
	child->dev.ctrl = ep->entry;
	nr_ctrl_ref(ep->entry);
	scan->pending++;
	rc = nr_exec_submit(child, ep->entry, ep_scan_work, ep_scan_done);
	if (rc) {
		json_array_append_new(scan->report, ep_scan_report(es, rc));
		scan->pending--;
		nr_call_unref(child);
	}
}

static void discover_done(uv_work_t *req, int status)
{
	struct mi_scan *scan = req->data;
	struct nr_mi *mi = scan->mi;

	for (size_t i = mi->ep_count; i-- > 0;) {
		bool still = false;
		for (size_t f = 0; f < scan->found_count; f++)
			still |= scan->found[f].net == mi->eps[i]->addr.net &&
				 scan->found[f].eid == mi->eps[i]->addr.eid;
		if (!still)
			ep_unlist(mi, i);
	}
	for (size_t f = 0; f < scan->found_count; f++) {
		if (!ep_find(mi, scan->found[f]))
			ep_list(mi, scan->found[f], scan->found_source[f]);
	}
	scan->pending = 1; /* released below, once every endpoint is queued */
	for (size_t i = 0; i < mi->ep_count; i++)
		ep_scan_start(scan, mi->eps[i]);
	scan_finish(scan);
}

void nr_mi_scan(struct nr_mi *mi, struct nr_call *call)
{
	struct mi_scan *scan = calloc(1, sizeof(*scan));

	if (!scan) {
		if (call)
			nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return;
	}
	scan->mi = mi;
	scan->call = call;
	if (call)
		nr_call_ref(call);
	scan->report = json_array();
	scan->req.data = scan;
	uv_queue_work(mi->svc->loop, &scan->req, discover_work, discover_done);
}

void nr_mi_scan_first(struct nr_mi *mi, void (*done)(void *arg), void *arg)
{
	mi->first_done = done;
	mi->first_arg = arg;
	nr_mi_scan(mi, NULL);
}

void nr_mi_refresh_answer(struct nr_call *call, json_t *result)
{
	struct nr_mi_ep *ep = nr_mi_ep_of(call->dev.ctrl);
	struct mi_scan *scan = calloc(1, sizeof(*scan));

	if (!scan) {
		json_decref(result);
		nr_call_fail(call, NR_E_INTERNAL, "out of memory");
		return;
	}
	scan->mi = ep->mi;
	scan->call = call;
	nr_call_ref(call);
	scan->report = json_array();
	scan->answer = result;
	scan->pending = 1;
	ep_scan_start(scan, ep);
	scan_finish(scan);
}

/* ---- mi.endpoints ---------------------------------------------------------- */

static json_t *ep_ctrl_names(struct nr_mi *mi, struct nr_mi_ep *ep)
{
	struct nr_topology *topo = mi->svc->topology;
	json_t *names = json_array();

	for (size_t i = 0; i < nr_topology_ctrl_count(topo); i++) {
		struct nr_ctrl *ctrl = nr_topology_ctrl_at(topo, i);
		if (ctrl->ops == &nr_mi_ops && nr_mi_ep_of(ctrl) == ep)
			json_array_append_new(names, json_string(ctrl->name));
	}
	return names;
}

static json_t *ep_json(struct nr_mi *mi, struct nr_mi_ep *ep)
{
	struct mi_ep_state st;
	uint64_t now = nr_exec_now_ns() / 1000000u;
	bool quarantined;
	const char *state;

	pthread_mutex_lock(&ep->lock);
	st = ep->st;
	pthread_mutex_unlock(&ep->lock);
	quarantined = st.quarantined_until_ms > now;
	state = quarantined			  ? "quarantined"
		: !st.opened			  ? (st.scan_rc ? "unreachable" : "unopened")
		: st.scan_rc || st.scan_mi_status ? "error"
						  : "ok";
	return json_pack(
	    "{s:s, s:I, s:i, s:s, s:s, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:I, s:s?}", "name",
	    ep->name, "net", (json_int_t)ep->addr.net, "eid", ep->addr.eid, "source", ep->source,
	    "state", state, "controllers", ep_ctrl_names(mi, ep), "counters", "requests",
	    (json_int_t)st.requests, "errors", (json_int_t)st.errors, "timeouts",
	    (json_int_t)st.timeouts, "consecutive_timeouts", (json_int_t)st.consecutive_timeouts,
	    "coalesced", (json_int_t)st.coalesced, "quarantines", (json_int_t)st.quarantines,
	    "quarantine_remaining_ms",
	    (json_int_t)(quarantined ? st.quarantined_until_ms - now : 0), "last_error",
	    st.last_errno && strerrorname_np(st.last_errno) ? strerrorname_np(st.last_errno)
							    : NULL);
}

json_t *nr_mi_endpoints_json(struct nr_mi *mi)
{
	json_t *list = json_array();

	for (size_t i = 0; mi && i < mi->ep_count; i++)
		json_array_append_new(list, ep_json(mi, mi->eps[i]));
	return json_pack("{s:o, s:I}", "endpoints", list, "scans",
			 (json_int_t)(mi ? mi->scans : 0));
}
