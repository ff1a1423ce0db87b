/* SPDX-License-Identifier: MIT */
/*
 * nrbench's zone streaming part: a fresh daemon simulates one zoned namespace
 * of N zones, and one blocking client asks for a streamed Report Zones. Zones
 * are counted by their "slba" keys, without parsing the chunks, and checked
 * against the final result; only that final line is parsed with jansson.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, memrchr, getopt_long, mkdtemp */
#endif
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nrbench.h"

#define ZONE_IDLE_TIMEOUT_S 30
#define ZONE_INBUF_INITIAL (1024 * 1024)
#define ZONE_INBUF_MAX (512 * 1024 * 1024)

static const char zone_request[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
				   "\"nvme.zns.report_zones\",\"params\":"
				   "{\"device\":\"sim0n1\",\"stream\":true}}\n";

/* The state of one streamed report as lines arrive. */
struct zone_stream {
	char *buf;
	size_t len, cap, scanned;
	bool final_seen;
	long long next_seq; /* -1 until the first notification. */
	struct bench_zone_result *res;
};

static double mono_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void zone_fail(struct bench_zone_result *res, const char *fmt, const char *detail)
{
	if (res->why[0] == '\0')
		snprintf(res->why, sizeof(res->why), fmt, detail);
	res->ok = false;
}

/* Writes the simulator description for @nr_zones to @path. Returns 0 or -EIO. */
static int zone_write_sim(const char *path, uint64_t nr_zones)
{
	json_t *desc = json_pack(
	    "{s:[{s:s, s:[{s:s, s:s, s:s, s:i}], s:[{s:i, s:i, s:{s:i, s:I, s:i, s:i}}]}]}",
	    "subsystems", "nqn", "nqn.2026-11.io.nvmerpcd:bench", "controllers", "sn", "BENCH0001",
	    "mn", "bench", "fr", "1.0", "cntlid", 1, "namespaces", "nsid", 1, "lba_size", 512,
	    "zoned", "zone_size", 64, "nr_zones", (json_int_t)nr_zones, "max_open", 14,
	    "max_active", 14);
	int rc;

	if (desc == NULL)
		return -EIO;
	rc = json_dump_file(desc, path, JSON_COMPACT) == 0 ? 0 : -EIO;
	json_decref(desc);
	return rc;
}

/* Returns the number after "seq": in a notification line, or -1. */
static long long zone_line_seq(const char *line, size_t len)
{
	const char *p = memmem(line, len, "\"seq\":", 6);

	return p == NULL ? -1 : strtoll(p + 6, NULL, 10);
}

/* Counts the zones in one rpc.stream notification and checks its sequence. */
static void zone_notification(struct zone_stream *zs, const char *line, size_t len)
{
	struct bench_zone_result *res = zs->res;
	const char *p = line, *end = line + len;
	long long seq = zone_line_seq(line, len);

	if (seq < 0 || (zs->next_seq >= 0 && seq != zs->next_seq))
		res->seq_errors++;
	zs->next_seq = seq + 1;
	res->chunks_seen++;
	while ((p = memmem(p, (size_t)(end - p), "\"slba\"", 6)) != NULL) {
		res->counted++;
		p += 6;
	}
	if (len > res->max_line)
		res->max_line = len;
}

/* Parses the final response line: {nr_zones, chunks} or an error. */
static void zone_final(struct zone_stream *zs, const char *line, size_t len)
{
	struct bench_zone_result *res = zs->res;
	json_int_t nr_zones = -1, chunks = -1;
	json_error_t jerr;
	json_t *reply = json_loadb(line, len, 0, &jerr), *error;

	zs->final_seen = true;
	if (reply == NULL) {
		zone_fail(res, "the final line is not JSON: %s", jerr.text);
		return;
	}
	error = json_object_get(reply, "error");
	if (error != NULL) {
		char *text = json_dumps(error, JSON_COMPACT);

		zone_fail(res, "the daemon answered with an error: %s", text ? text : "?");
		free(text);
	} else if (json_unpack(reply, "{s:{s:I, s:I}}", "result", "nr_zones", &nr_zones, "chunks",
			       &chunks) != 0) {
		zone_fail(res, "%s", "the final result lacks nr_zones or chunks");
	}
	res->reported = nr_zones < 0 ? 0 : (uint64_t)nr_zones;
	res->chunks_reported = chunks < 0 ? 0 : (uint64_t)chunks;
	json_decref(reply);
}

/* Consumes every complete line in the buffer; keeps the partial tail. */
static void zone_consume(struct zone_stream *zs)
{
	char *line = zs->buf, *end;

	while ((end = memchr(zs->buf + zs->scanned, '\n', zs->len - zs->scanned)) != NULL) {
		size_t len = (size_t)(end - line);

		if (zs->final_seen)
			zone_fail(zs->res, "%s", "lines arrived after the final response");
		else if (memmem(line, len, "\"rpc.stream\"", 12) != NULL)
			zone_notification(zs, line, len);
		else
			zone_final(zs, line, len);
		line = end + 1;
		zs->scanned = (size_t)(line - zs->buf);
	}
	zs->len -= (size_t)(line - zs->buf);
	memmove(zs->buf, line, zs->len);
	zs->scanned = zs->len;
}

/* Makes room for at least one more read. Returns 0 or -ENOMEM. */
static int zone_reserve(struct zone_stream *zs)
{
	char *grown;

	if (zs->cap - zs->len >= ZONE_INBUF_INITIAL / 4)
		return 0;
	if (zs->cap * 2 > ZONE_INBUF_MAX)
		return -ENOMEM;
	grown = realloc(zs->buf, zs->cap * 2);
	if (grown == NULL)
		return -ENOMEM;
	zs->buf = grown;
	zs->cap *= 2;
	return 0;
}

/* Reads until the final response line. Returns 0 or -errno. */
static int zone_receive(int fd, struct zone_stream *zs)
{
	ssize_t n;

	while (!zs->final_seen) {
		if (zone_reserve(zs) < 0)
			return -ENOMEM;
		n = read(fd, zs->buf + zs->len, zs->cap - zs->len);
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		zs->len += (size_t)n;
		zone_consume(zs);
	}
	return 0;
}

/* Sends the request on @fd and times the stream. Returns 0 or -errno. */
static int zone_stream_report(int fd, struct bench_zone_result *res)
{
	struct timeval idle = {.tv_sec = ZONE_IDLE_TIMEOUT_S};
	struct zone_stream zs = {.cap = ZONE_INBUF_INITIAL, .next_seq = -1, .res = res};
	double t0;
	int rc;

	zs.buf = malloc(zs.cap);
	if (zs.buf == NULL)
		return -ENOMEM;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
	t0 = mono_secs();
	rc =
	    write(fd, zone_request, sizeof(zone_request) - 1) == (ssize_t)(sizeof(zone_request) - 1)
		? 0
		: -EIO;
	if (rc == 0)
		rc = zone_receive(fd, &zs);
	res->secs = mono_secs() - t0;
	free(zs.buf);
	return rc;
}

/* Checks the counts once the stream has ended. */
static void zone_verify(struct bench_zone_result *res, uint64_t nr_zones)
{
	if (res->counted != nr_zones || res->reported != nr_zones)
		zone_fail(res, "%s", "zone count mismatch (counted / reported / simulated differ)");
	if (res->chunks_seen != res->chunks_reported)
		zone_fail(res, "%s", "chunk count mismatch (notifications seen vs result.chunks)");
	if (res->seq_errors != 0)
		zone_fail(res, "%s", "rpc.stream seq numbers missing or not consecutive");
}

/* Runs the report against a daemon that is up; fills timing, CPU and RSS. */
static void zone_measure(struct bench_child *d, uint64_t nr_zones, struct bench_zone_result *res)
{
	struct rusage ru0, ru1;
	uint64_t ticks0, sys0;
	int fd, rc;

	res->idle_kib = bench_proc_status_kib(d->pid, "VmRSS");
	fd = bench_unix_connect(d->sock);
	if (fd < 0) {
		zone_fail(res, "connect: %s", strerror(-fd));
		return;
	}
	ticks0 = bench_proc_cpu_ticks(d->pid);
	sys0 = bench_sys_busy_ticks();
	getrusage(RUSAGE_SELF, &ru0);
	rc = zone_stream_report(fd, res);
	getrusage(RUSAGE_SELF, &ru1);
	res->srv_cpu = bench_cpu_percent(bench_proc_cpu_ticks(d->pid) - ticks0, res->secs);
	res->cli_cpu = 100.0 * (bench_rusage_secs(&ru1) - bench_rusage_secs(&ru0)) / res->secs;
	res->other_cpu = bench_cpu_percent(bench_sys_busy_ticks() - sys0, res->secs) -
			 res->srv_cpu - res->cli_cpu;
	if (res->other_cpu < 0)
		res->other_cpu = 0; /* /proc/stat tick sampling undercounts slightly. */
	res->peak_kib = bench_proc_status_kib(d->pid, "VmHWM");
	close(fd);
	if (rc < 0)
		zone_fail(res, "stream: %s", strerror(-rc));
	else
		zone_verify(res, nr_zones);
}

void bench_zone_run(const struct bench_opts *o, uint64_t nr_zones, struct bench_zone_result *res)
{
	struct bench_child d = {.pid = -1};
	char sim_path[256], sim_arg[300], name[64], store[4096];
	char *argv[BENCH_MAX_ARGS];

	*res = (struct bench_zone_result){.ok = true, .idle_kib = -1, .peak_kib = -1};
	snprintf(name, sizeof(name), "zones-%" PRIu64, nr_zones);
	snprintf(sim_path, sizeof(sim_path), "%s/%s.json", bench_tmp_dir, name);
	snprintf(sim_arg, sizeof(sim_arg), "--simulate=%s", sim_path);
	snprintf(d.sock, sizeof(d.sock), "%s/%s.sock", bench_tmp_dir, name);
	if (zone_write_sim(sim_path, nr_zones) < 0) {
		zone_fail(res, "%s", "cannot write the simulator file");
		return;
	}
	bench_daemon_argv(o, d.sock, sim_arg, store, sizeof(store), argv);
	if (bench_child_start(&d, name, argv) < 0) {
		zone_fail(res, "%s", "the daemon did not start (its log is above)");
		return;
	}
	zone_measure(&d, nr_zones, res);
	if (!bench_child_stop(&d))
		zone_fail(res, "%s", "the daemon ignored SIGTERM for 3 s");
	if (!res->ok)
		bench_child_print_log(&d);
}
