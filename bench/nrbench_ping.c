/* SPDX-License-Identifier: MIT */
/*
 * nrbench's ping client: one libuv loop thread drives every connection, so on
 * a two-core machine the server keeps a core to itself. Each connection keeps
 * @depth requests outstanding and matches replies in order by counting lines;
 * the id is parsed only to prove that order.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, memrchr, getopt_long, mkdtemp */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "nrbench.h"

#define PING_MAX_DEPTH 256
#define PING_LINE_MAX 32768 /* an nvme.id_ctrl answer is about 3 KiB */
#define PING_TAIL_MAX 160
#define PING_INBUF (64 * 1024)
#define PING_DRAIN_MS 5000

enum ping_phase { PING_WARMUP, PING_MEASURE, PING_DRAIN, PING_DONE };

struct ping_run;

struct ping_conn {
	uv_pipe_t pipe;
	uv_connect_t connect_req;
	struct ping_run *run;
	bool connected;
	uint64_t sent_at[PING_MAX_DEPTH]; /* A ring: oldest outstanding first. */
	int oldest, outstanding;
	uint64_t next_id, expect_id;
	size_t inbuf_len;
	char inbuf[PING_INBUF];
};

struct ping_write {
	uv_write_t req;
	char data[];
};

struct ping_run {
	uv_loop_t loop;
	uv_timer_t phase_timer;
	enum ping_phase phase;
	struct ping_conn *conns;
	int nconns, depth, open_conns;
	pid_t server_pid;
	uint64_t t0, t1, srv_ticks0, srv_ticks1, sys_ticks0, sys_ticks1, completed;
	struct rusage ru0, ru1;
	double seconds;
	uint32_t *lat_ns;
	size_t nlat, lat_cap;
	struct bench_ping_result *res;
	const char *tail; /* the request after its id */
	size_t tail_len;
	const volatile struct bench_alloc_counts *allocs;
	uint64_t allocs0, allocs1;
};

static void ping_fail(struct ping_run *run, const char *fmt, const char *detail)
{
	if (run->res->why[0] == '\0')
		snprintf(run->res->why, sizeof(run->res->why), fmt, detail);
	run->res->ok = false;
}

static void ping_conn_close(struct ping_conn *conn)
{
	if (!uv_is_closing((uv_handle_t *)&conn->pipe)) {
		uv_close((uv_handle_t *)&conn->pipe, NULL);
		conn->run->open_conns--;
	}
	if (conn->run->open_conns == 0 && !uv_is_closing((uv_handle_t *)&conn->run->phase_timer))
		uv_close((uv_handle_t *)&conn->run->phase_timer, NULL);
}

/* Formats one request at @p; returns its length. */
static size_t ping_format(const struct ping_run *run, char *p, uint64_t id)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":";
	char digits[24];
	int n = 0;

	do {
		digits[n++] = (char)('0' + id % 10);
		id /= 10;
	} while (id != 0);
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	for (int i = 0; i < n; i++)
		p[i] = digits[n - 1 - i];
	memcpy(p + n, run->tail, run->tail_len);
	return sizeof(head) - 1 + n + run->tail_len;
}

static void ping_write_cb(uv_write_t *req, int status)
{
	(void)status; /* A failed write shows as a closed connection on read. */
	free(req);
}

/* Writes @len bytes, copying only what the socket did not take at once. */
static int ping_write(struct ping_conn *conn, const char *data, size_t len)
{
	uv_buf_t buf = uv_buf_init((char *)data, len);
	struct ping_write *wr;
	int written = uv_try_write((uv_stream_t *)&conn->pipe, &buf, 1);

	if (written == UV_EAGAIN)
		written = 0;
	if (written < 0 || (size_t)written == len)
		return written < 0 ? written : 0;
	wr = malloc(sizeof(*wr) + len - written);
	if (wr == NULL)
		return UV_ENOMEM;
	memcpy(wr->data, data + written, len - written);
	buf = uv_buf_init(wr->data, len - written);
	written = uv_write(&wr->req, (uv_stream_t *)&conn->pipe, &buf, 1, ping_write_cb);
	if (written < 0)
		free(wr);
	return written;
}

/* Tops the connection up to @depth outstanding requests with one write. */
static void ping_fill(struct ping_conn *conn)
{
	char batch[PING_MAX_DEPTH * (PING_TAIL_MAX + 48)];
	size_t len = 0;
	uint64_t now = uv_hrtime();
	int rc;

	while (conn->outstanding < conn->run->depth) {
		len += ping_format(conn->run, batch + len, conn->next_id++);
		conn->sent_at[(conn->oldest + conn->outstanding) % conn->run->depth] = now;
		conn->outstanding++;
	}
	rc = len ? ping_write(conn, batch, len) : 0;
	if (rc < 0) {
		ping_fail(conn->run, "write: %s", uv_strerror(rc));
		ping_conn_close(conn);
	}
}

/* Returns the id in a reply line, or UINT64_MAX if it has none. */
static uint64_t ping_line_id(const char *line, size_t len)
{
	const char *p = memmem(line, len, "\"id\":", 5);
	const char *end = line + len;
	uint64_t id = 0;

	if (p == NULL)
		return UINT64_MAX;
	for (p += 5; p < end && *p == ' '; p++)
		;
	if (p == end || *p < '0' || *p > '9')
		return UINT64_MAX;
	for (; p < end && *p >= '0' && *p <= '9'; p++)
		id = id * 10 + (uint64_t)(*p - '0');
	return id;
}

static void ping_record(struct ping_run *run, uint64_t latency_ns)
{
	uint32_t *grown;

	if (run->nlat == run->lat_cap) {
		grown = realloc(run->lat_ns, (run->lat_cap * 2 + 1024) * sizeof(*grown));
		if (grown == NULL)
			return;
		run->lat_ns = grown;
		run->lat_cap = run->lat_cap * 2 + 1024;
	}
	run->lat_ns[run->nlat++] = latency_ns > UINT32_MAX ? UINT32_MAX : (uint32_t)latency_ns;
	run->completed++;
}

/* Matches one reply line with the oldest outstanding request. */
static void ping_reply(struct ping_conn *conn, const char *line, size_t len, uint64_t now)
{
	struct ping_run *run = conn->run;

	if (conn->outstanding == 0) {
		run->res->bad_ids++;
		return;
	}
	if (ping_line_id(line, len) != conn->expect_id)
		run->res->bad_ids++;
	if (memmem(line, len, "\"error\"", 7) != NULL)
		run->res->errors++;
	if (run->phase == PING_MEASURE)
		ping_record(run, now - conn->sent_at[conn->oldest]);
	conn->oldest = (conn->oldest + 1) % run->depth;
	conn->outstanding--;
	conn->expect_id++;
}

static void ping_alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	struct ping_conn *conn = handle->data;

	(void)suggested;
	*buf = uv_buf_init(conn->inbuf + conn->inbuf_len, PING_INBUF - conn->inbuf_len);
}

/* Consumes every complete line, then refills or, when draining, closes. */
static void ping_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct ping_conn *conn = stream->data;
	uint64_t now = uv_hrtime();
	char *line = conn->inbuf, *end;

	(void)buf; /* It points into conn->inbuf, past inbuf_len. */
	if (nread < 0) {
		ping_fail(conn->run, "connection closed by the server: %s", uv_strerror(nread));
		ping_conn_close(conn);
		return;
	}
	conn->inbuf_len += (size_t)nread;
	while ((end = memchr(line, '\n', conn->inbuf + conn->inbuf_len - line)) != NULL) {
		ping_reply(conn, line, (size_t)(end - line), now);
		line = end + 1;
	}
	conn->inbuf_len -= (size_t)(line - conn->inbuf);
	memmove(conn->inbuf, line, conn->inbuf_len);
	if (conn->inbuf_len > PING_LINE_MAX) {
		ping_fail(conn->run, "%s", "a reply line is longer than expected");
		ping_conn_close(conn);
	} else if (conn->run->phase < PING_DRAIN) {
		ping_fill(conn);
	} else if (conn->outstanding == 0) {
		ping_conn_close(conn);
	}
}

static void ping_connect_cb(uv_connect_t *req, int status)
{
	struct ping_conn *conn = req->data;
	int rc = status;

	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&conn->pipe, ping_alloc_cb, ping_read_cb);
	if (rc < 0) {
		ping_fail(conn->run, "connect: %s", uv_strerror(rc));
		ping_conn_close(conn);
		return;
	}
	conn->connected = true;
	ping_fill(conn);
}

static void ping_drain_timeout_cb(uv_timer_t *timer)
{
	struct ping_run *run = timer->data;

	ping_fail(run, "%s", "requests still unanswered 5 s after the run ended");
	for (int i = 0; i < run->nconns; i++)
		ping_conn_close(&run->conns[i]);
}

/* The server's allocator calls so far (0 without counters). */
static uint64_t alloc_total(const volatile struct bench_alloc_counts *c)
{
	return c ? c->malloc + c->calloc + c->realloc : 0;
}

/* Ends the measured window; connections stop sending and drain. */
static void ping_end_cb(uv_timer_t *timer)
{
	struct ping_run *run = timer->data;

	run->t1 = uv_hrtime();
	run->allocs1 = alloc_total(run->allocs);
	run->srv_ticks1 = bench_proc_cpu_ticks(run->server_pid);
	run->sys_ticks1 = bench_sys_busy_ticks();
	getrusage(RUSAGE_SELF, &run->ru1);
	run->phase = PING_DRAIN;
	uv_timer_start(timer, ping_drain_timeout_cb, PING_DRAIN_MS, 0);
	for (int i = 0; i < run->nconns; i++)
		if (run->conns[i].outstanding == 0 || !run->conns[i].connected)
			ping_conn_close(&run->conns[i]);
}

static void ping_warm_cb(uv_timer_t *timer)
{
	struct ping_run *run = timer->data;

	run->phase = PING_MEASURE;
	run->t0 = uv_hrtime();
	run->allocs0 = alloc_total(run->allocs);
	run->srv_ticks0 = bench_proc_cpu_ticks(run->server_pid);
	run->sys_ticks0 = bench_sys_busy_ticks();
	getrusage(RUSAGE_SELF, &run->ru0);
	uv_timer_start(timer, ping_end_cb, (uint64_t)(run->seconds * 1000), 0);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Fills the throughput, percentile and CPU figures from a finished run. */
static void ping_summarize(struct ping_run *run)
{
	struct bench_ping_result *res = run->res;
	double secs = (double)(run->t1 - run->t0) / 1e9;

	if (run->nlat == 0 || secs <= 0) {
		ping_fail(run, "%s", "no replies in the measured window");
		return;
	}
	qsort(run->lat_ns, run->nlat, sizeof(*run->lat_ns), cmp_u32);
	res->rps = (double)run->completed / secs;
	res->p50_us = run->lat_ns[run->nlat * 50 / 100] / 1e3;
	res->p99_us = run->lat_ns[run->nlat * 99 / 100] / 1e3;
	res->srv_cpu = bench_cpu_percent(run->srv_ticks1 - run->srv_ticks0, secs);
	res->cli_cpu = 100.0 * (bench_rusage_secs(&run->ru1) - bench_rusage_secs(&run->ru0)) / secs;
	/* Tick sampling in /proc/stat can undercount by a few percent: clamp at 0. */
	res->other_cpu = bench_cpu_percent(run->sys_ticks1 - run->sys_ticks0, secs) - res->srv_cpu -
			 res->cli_cpu;
	if (res->other_cpu < 0)
		res->other_cpu = 0;
	if (run->allocs)
		res->allocs_per_call =
		    (double)(run->allocs1 - run->allocs0) / (double)run->completed;
	if (res->bad_ids || res->errors)
		ping_fail(run, "%s", "replies out of order or errors (see counts)");
}

void bench_ping_run(const struct bench_opts *o, const struct bench_child *server, int nconns,
		    int depth, struct bench_ping_result *res)
{
	bench_call_run(o, server, nconns, depth, ",\"method\":\"rpc.ping\"}\n", NULL, res);
}

/* Runs one (connections, depth) row against the server at @sock. */
void bench_call_run(const struct bench_opts *o, const struct bench_child *server, int nconns,
		    int depth, const char *tail, const volatile struct bench_alloc_counts *allocs,
		    struct bench_ping_result *res)
{
	struct ping_run run = {.nconns = nconns,
			       .depth = depth,
			       .res = res,
			       .tail = tail,
			       .tail_len = strlen(tail),
			       .allocs = allocs};

	*res = (struct bench_ping_result){.ok = true};
	if (run.tail_len > PING_TAIL_MAX || depth > PING_MAX_DEPTH) {
		ping_fail(&run, "%s", "request or depth too large for the client");
		return;
	}
	run.seconds = o->seconds;
	run.server_pid = server->pid;
	run.conns = calloc((size_t)nconns, sizeof(*run.conns));
	if (run.conns == NULL || uv_loop_init(&run.loop) < 0) {
		free(run.conns);
		ping_fail(&run, "%s", "out of memory");
		return;
	}
	uv_timer_init(&run.loop, &run.phase_timer);
	run.phase_timer.data = &run;
	for (int i = 0; i < nconns; i++) {
		struct ping_conn *conn = &run.conns[i];

		conn->run = &run;
		uv_pipe_init(&run.loop, &conn->pipe, 0);
		conn->pipe.data = conn;
		conn->connect_req.data = conn;
		conn->next_id = conn->expect_id = 1;
		run.open_conns++;
		uv_pipe_connect(&conn->connect_req, &conn->pipe, server->sock, ping_connect_cb);
	}
	uv_timer_start(&run.phase_timer, ping_warm_cb, (uint64_t)(o->warmup * 1000), 0);
	uv_run(&run.loop, UV_RUN_DEFAULT);
	uv_loop_close(&run.loop);
	if (run.phase >= PING_DRAIN)
		ping_summarize(&run);
	free(run.lat_ns);
	free(run.conns);
}
