/* SPDX-License-Identifier: MIT */
/*
 * The responder's control socket: a Unix stream of newline-delimited JSON
 * requests, one reply line each.
 *
 *   {"op":"set","net":1,"eid":8,"behaviour":{...}}  -> {"ok":true}
 *   {"op":"stats","net":1,"eid":8}                   -> {"ok":true,"requests":N,...}
 *   {"op":"reset_stats"[,"net":1,"eid":8]}           -> {"ok":true}
 *   {"op":"health","net":1,"eid":8,"health":{...}[,"ctrl":0]}
 *        -> {"ok":true,"health":{...}}: SMART values of the endpoint's
 *           simulated controllers (or the ctrl-th only) as sim.fault's
 *           health sets them; the health poll then reports them
 *   {"op":"ping"}                                    -> {"ok":true}
 *
 * Failures answer {"ok":false,"error":"sentence"}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mi_responder.h"

#define CTL_LINE_MAX 65536
#define ERR_LEN 256

struct ctl_client {
	uv_pipe_t pipe;
	struct mr_server *srv;
	size_t len;
	char buf[CTL_LINE_MAX];
};

struct ctl_write {
	uv_write_t req;
	char *text;
};

enum beh_key {
	BEH_SILENT,
	BEH_DELAY_MS,
	BEH_MPR,
	BEH_MPRT,
	BEH_CORRUPT_MIC,
	BEH_SHORT,
	BEH_MI_STATUS,
	BEH_MI_STATUS_COUNT,
	BEH_CCS_EVENTS,
};

/* The behaviour keys, their JSON ranges (booleans have none). */
static const struct {
	const char *name;
	int64_t min, max;
} beh_keys[] = {
    [BEH_SILENT] = {"silent", 0, 1},
    [BEH_DELAY_MS] = {"delay_ms", 0, 600000},
    [BEH_MPR] = {"mpr", -1, 1000000},
    [BEH_MPRT] = {"mprt", 0, 65535},
    [BEH_CORRUPT_MIC] = {"corrupt_mic", -1, INT32_MAX},
    [BEH_SHORT] = {"short", -1, INT32_MAX},
    [BEH_MI_STATUS] = {"mi_status", 0, 255},
    [BEH_MI_STATUS_COUNT] = {"mi_status_count", -1, INT32_MAX},
    [BEH_CCS_EVENTS] = {"ccs_events", 0, 0xffff},
};

static void beh_assign(enum beh_key k, int64_t v, struct mr_behaviour *b, uint16_t *ccs)
{
	switch (k) {
	case BEH_SILENT:
		b->silent = v;
		break;
	case BEH_DELAY_MS:
		b->delay_ms = (uint32_t)v;
		break;
	case BEH_MPR:
		b->mpr = v;
		break;
	case BEH_MPRT:
		b->mprt = (uint16_t)v;
		break;
	case BEH_CORRUPT_MIC:
		b->corrupt_mic = v;
		break;
	case BEH_SHORT:
		b->short_count = v;
		break;
	case BEH_MI_STATUS:
		b->mi_status = (uint8_t)v;
		break;
	case BEH_MI_STATUS_COUNT:
		b->mi_status_count = v;
		break;
	case BEH_CCS_EVENTS:
		*ccs |= (uint16_t)v;
		break;
	}
}

/* Reads one behaviour value: a boolean for "silent", an integer otherwise. */
static int beh_value(enum beh_key k, const json_t *v, int64_t *out)
{
	if (k == BEH_SILENT) {
		if (!json_is_boolean(v))
			return -EINVAL;
		*out = json_is_true(v);
		return 0;
	}
	if (!json_is_integer(v))
		return -EINVAL;
	*out = json_integer_value(v);
	return *out < beh_keys[k].min || *out > beh_keys[k].max ? -EINVAL : 0;
}

int mr_behaviour_parse(const json_t *obj, struct mr_behaviour *beh, uint16_t *ccs_events, char *err,
		       size_t err_len)
{
	struct mr_behaviour next = *beh;
	const char *key;
	json_t *v;
	size_t k;
	int64_t val;

	if (!json_is_object(obj)) {
		snprintf(err, err_len, "behaviour: must be an object");
		return -EINVAL;
	}
	json_object_foreach ((json_t *)obj, key, v) {
		for (k = 0; k < sizeof(beh_keys) / sizeof(beh_keys[0]); k++) {
			if (!strcmp(key, beh_keys[k].name))
				break;
		}
		if (k == sizeof(beh_keys) / sizeof(beh_keys[0])) {
			snprintf(err, err_len, "behaviour.%s: unknown key", key);
			return -EINVAL;
		}
		if (beh_value((enum beh_key)k, v, &val)) {
			snprintf(err, err_len, "behaviour.%s: must be %s %lld..%lld", key,
				 k == BEH_SILENT ? "a boolean" : "an integer",
				 (long long)beh_keys[k].min, (long long)beh_keys[k].max);
			return -EINVAL;
		}
		beh_assign((enum beh_key)k, val, &next, ccs_events);
	}
	*beh = next;
	return 0;
}

/* Returns the counters as a new JSON object. */
static json_t *stats_json(const struct mr_stats *s)
{
	json_t *ops = json_object(), *logs = json_object();
	char name[16];

	for (unsigned i = 0; i < 256; i++) {
		snprintf(name, sizeof(name), "mi:0x%02x", i);
		if (s->mi_opcodes[i])
			json_object_set_new(ops, name, json_integer((json_int_t)s->mi_opcodes[i]));
		snprintf(name, sizeof(name), "admin:0x%02x", i);
		if (s->admin_opcodes[i])
			json_object_set_new(ops, name,
					    json_integer((json_int_t)s->admin_opcodes[i]));
	}
	for (unsigned i = 0; i < 256; i++) {
		snprintf(name, sizeof(name), "0x%02x", i);
		if (s->log_pages[i])
			json_object_set_new(logs, name, json_integer((json_int_t)s->log_pages[i]));
	}
	return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "ok", 1, "requests",
			 (json_int_t)s->requests, "mi", (json_int_t)s->mi, "admin",
			 (json_int_t)s->admin, "other", (json_int_t)s->other, "dropped",
			 (json_int_t)s->dropped, "responses", (json_int_t)s->responses, "mpr_sent",
			 (json_int_t)s->mpr_sent, "opcodes", ops, "log_pages", logs);
}

/* Finds the endpoint a request names. Returns it borrowed, or NULL with a
 * sentence in @err. */
static struct mr_endpoint *request_endpoint(struct mr_server *srv, json_t *req, char *err)
{
	json_int_t net = -1, eid = -1;
	struct mr_endpoint *ep;

	if (json_unpack(req, "{s:I, s:I}", "net", &net, "eid", &eid) || net < 0 ||
	    net > UINT32_MAX || eid < 0 || eid > 255) {
		snprintf(err, ERR_LEN, "needs integer \"net\" and \"eid\"");
		return NULL;
	}
	ep = mr_find_endpoint(srv, (uint32_t)net, (uint8_t)eid);
	if (!ep)
		snprintf(err, ERR_LEN, "no endpoint at net %lld eid %lld", (long long)net,
			 (long long)eid);
	return ep;
}

static int op_set(struct mr_server *srv, json_t *req, char *err)
{
	struct mr_endpoint *ep = request_endpoint(srv, req, err);
	uint16_t ccs = 0;

	if (!ep)
		return -EINVAL;
	if (mr_behaviour_parse(json_object_get(req, "behaviour"), &ep->beh, &ccs, err, ERR_LEN))
		return -EINVAL;
	mr_mi_raise_ccs(ep, ccs);
	return 0;
}

static int op_reset_stats(struct mr_server *srv, json_t *req, char *err)
{
	struct mr_endpoint *ep;

	if (!json_object_get(req, "net") && !json_object_get(req, "eid")) {
		for (size_t i = 0; i < srv->nr_eps; i++)
			memset(&srv->eps[i].stats, 0, sizeof(srv->eps[i].stats));
		return 0;
	}
	ep = request_endpoint(srv, req, err);
	if (!ep)
		return -EINVAL;
	memset(&ep->stats, 0, sizeof(ep->stats));
	return 0;
}

/*
 * Overrides SMART / Health values of the endpoint's simulated controllers,
 * so that the health poll and the SMART log change as a drive's would.
 * Returns the overrides in force now (of the last controller changed), a
 * new reference, or NULL with a sentence in @err.
 */
static json_t *op_health(struct mr_server *srv, json_t *req, char *err)
{
	struct mr_endpoint *ep = request_endpoint(srv, req, err);
	json_t *spec = json_object_get(req, "health"), *ctrl = json_object_get(req, "ctrl");
	size_t count = ep ? nr_sim_ctrl_count(ep->sim) : 0, first = 0;
	uint64_t commands;

	if (!ep)
		return NULL;
	if (ctrl && (!json_is_integer(ctrl) || json_integer_value(ctrl) < 0 ||
		     (size_t)json_integer_value(ctrl) >= count)) {
		snprintf(err, ERR_LEN, "ctrl: must be a controller index 0..%zu", count - 1);
		return NULL;
	}
	if (ctrl) {
		first = (size_t)json_integer_value(ctrl);
		count = first + 1;
	}
	for (size_t i = first; i < count; i++) {
		if (nr_sim_health_set(nr_sim_ctrl_at(ep->sim, i), spec, "health", err, ERR_LEN))
			return NULL;
	}
	return json_pack("{s:b, s:o}", "ok", 1, "health",
			 nr_sim_health_json(nr_sim_ctrl_at(ep->sim, count - 1), &commands));
}

/* Executes one request line. Returns the reply, a new reference. */
static json_t *handle_line(struct mr_server *srv, const char *line, size_t len)
{
	char err[ERR_LEN] = "";
	json_t *req = json_loadb(line, len, 0, NULL), *reply = NULL;
	const char *op = json_string_value(json_object_get(req, "op"));
	struct mr_endpoint *ep;
	int rc = -EINVAL;

	if (!op)
		snprintf(err, sizeof(err), "needs a JSON object with a string \"op\"");
	else if (!strcmp(op, "set"))
		rc = op_set(srv, req, err);
	else if (!strcmp(op, "reset_stats"))
		rc = op_reset_stats(srv, req, err);
	else if (!strcmp(op, "ping"))
		rc = 0;
	else if (!strcmp(op, "stats") && (ep = request_endpoint(srv, req, err)))
		reply = stats_json(&ep->stats);
	else if (!strcmp(op, "health"))
		reply = op_health(srv, req, err);
	else if (strcmp(op, "stats"))
		snprintf(err, sizeof(err), "unknown op \"%s\"", op);
	json_decref(req);
	if (reply)
		return reply;
	return rc ? json_pack("{s:b, s:s}", "ok", 0, "error", err) : json_pack("{s:b}", "ok", 1);
}

static void on_written(uv_write_t *req, int status)
{
	struct ctl_write *w = (struct ctl_write *)req;

	free(w->text);
	free(w);
}

/* Sends @reply (stolen) as one line. */
static void client_reply(struct ctl_client *c, json_t *reply)
{
	struct ctl_write *w = calloc(1, sizeof(*w));
	char *text = json_dumps(reply, JSON_COMPACT);
	size_t n = text ? strlen(text) : 0;
	uv_buf_t buf;

	json_decref(reply);
	if (!w || !text || !(w->text = realloc(text, n + 2))) {
		free(w);
		free(text);
		return;
	}
	memcpy(w->text + n, "\n", 2);
	buf = uv_buf_init(w->text, (unsigned)(n + 1));
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, on_written))
		on_written(&w->req, 0);
}

static void client_free(uv_handle_t *h)
{
	free(h->data);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ctl_client *c = h->data;

	*buf = uv_buf_init(c->buf + c->len, (unsigned)(sizeof(c->buf) - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_client *c = s->data;
	char *nl;

	if (nread < 0) {
		uv_close((uv_handle_t *)s, client_free);
		return;
	}
	c->len += (size_t)nread;
	while ((nl = memchr(c->buf, '\n', c->len))) {
		client_reply(c, handle_line(c->srv, c->buf, (size_t)(nl - c->buf)));
		c->len -= (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, c->len);
	}
	/* A line longer than the buffer cannot be answered: drop the client. */
	if (c->len == sizeof(c->buf))
		uv_close((uv_handle_t *)s, client_free);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct mr_server *srv = server->data;
	struct ctl_client *c;

	if (status < 0 || !(c = calloc(1, sizeof(*c))))
		return;
	c->srv = srv;
	c->pipe.data = c;
	uv_pipe_init(srv->loop, &c->pipe, 0);
	if (uv_accept(server, (uv_stream_t *)&c->pipe) ||
	    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read))
		uv_close((uv_handle_t *)&c->pipe, client_free);
}

int mr_control_start(struct mr_server *srv, const char *path)
{
	int rc;

	unlink(path);
	srv->control.data = srv;
	rc = uv_pipe_init(srv->loop, &srv->control, 0);
	rc = rc ? rc : uv_pipe_bind(&srv->control, path);
	return rc ? rc : uv_listen((uv_stream_t *)&srv->control, 16, on_connection);
}

void mr_control_close(uv_handle_t *h, struct mr_server *srv)
{
	uv_close(h, h == (uv_handle_t *)&srv->control ? NULL : client_free);
}
