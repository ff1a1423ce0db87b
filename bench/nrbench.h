/* SPDX-License-Identifier: MIT */
/*
 * Shared by the nrbench driver's files: options, the servers it starts, and
 * the figures each part hands back to the table printer in nrbench.c.
 */
#ifndef NR_BENCH_H
#define NR_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#define BENCH_MAX_ARGS 32

struct bench_opts {
	const char *daemon;
	const char *echo;
	const char *daemon_cmd;
	double seconds;
	double warmup;
	bool check;
	bool run_ping;
	bool run_zones;
	bool run_calls;
	const char *alloc_lib; /* nrbench_alloc.so; NULL: no allocation counts */
	bool keep_tmp;
};

/* A server started by nrbench; its output goes to a log file in the temp dir. */
struct bench_child {
	pid_t pid;
	char sock[108];
	char log[4096];
};

struct bench_ping_result {
	bool ok;
	double rps, p50_us, p99_us, srv_cpu, cli_cpu, other_cpu;
	double allocs_per_call; /* with bench_call_run's counters, else 0 */
	uint64_t bad_ids, errors;
	char why[160];
};

struct bench_zone_result {
	bool ok;
	uint64_t counted, reported, chunks_seen, chunks_reported, seq_errors;
	double secs, srv_cpu, cli_cpu, other_cpu;
	long idle_kib, peak_kib;
	size_t max_line;
	char why[256];
};

/* The temp directory holding sockets, logs and simulator files. */
extern char bench_tmp_dir[];

/* Returns a connected blocking Unix stream socket to @path, or -errno. */
int bench_unix_connect(const char *path);

/*
 * Fills @argv (BENCH_MAX_ARGS entries, NULL-terminated) for the daemon on
 * @sock; @sim_arg is "--simulate" or "--simulate=FILE". @store backs the
 * strings when o->daemon_cmd is split into words.
 */
void bench_daemon_argv(const struct bench_opts *o, const char *sock, const char *sim_arg,
		       char *store, size_t store_len, char *argv[]);

/*
 * Starts @argv with c->sock already set, logging to TMP/@name.log, and waits
 * until it accepts connections. Returns 0, or -errno after printing the log.
 */
int bench_child_start(struct bench_child *c, const char *name, char *const argv[]);

/* Stops the child with SIGTERM, then SIGKILL; returns true if SIGTERM sufficed. */
bool bench_child_stop(struct bench_child *c);

void bench_child_print_log(const struct bench_child *c);

/* Returns utime + stime of @pid in clock ticks, or 0 if it cannot be read. */
uint64_t bench_proc_cpu_ticks(pid_t pid);

/* Returns a /proc/PID/status value such as "VmHWM" in KiB, or -1. */
long bench_proc_status_kib(pid_t pid, const char *field);

/*
 * Returns the busy time of all CPUs (user, nice, system, irq, softirq and
 * steal) in clock ticks from /proc/stat, or 0 if it cannot be read.
 */
uint64_t bench_sys_busy_ticks(void);

double bench_cpu_percent(uint64_t ticks, double secs);
double bench_rusage_secs(const struct rusage *ru);

/* Runs one ping row (@nconns connections, @depth outstanding each) against @server. */
void bench_ping_run(const struct bench_opts *o, const struct bench_child *server, int nconns,
		    int depth, struct bench_ping_result *res);

/* The counting allocator's counters (nrbench_alloc.so), shared through the
 * file named by the BENCH_ALLOC_ENV variable. */
#define BENCH_ALLOC_ENV "NRBENCH_ALLOC_FILE"
struct bench_alloc_counts {
	uint64_t malloc, calloc, realloc;
};

/*
 * The same as bench_ping_run with another request: @tail is its text after
 * the id, e.g. ",\"method\":\"nvme.id_ctrl\",\"params\":{\"device\":\"sim0\"}}\n".
 * With @allocs (the server's counters), res->allocs_per_call is the
 * allocator calls in the measured window over the replies in it.
 */
void bench_call_run(const struct bench_opts *o, const struct bench_child *server, int nconns,
		    int depth, const char *tail, const volatile struct bench_alloc_counts *allocs,
		    struct bench_ping_result *res);

/* Part 3: nvme.* calls against rpc.ping at 1x1 on the simulator, and
 * allocations per call (nrbench_calls.c). Returns the targets missed. */
int bench_calls(const struct bench_opts *o);

/*
 * Starts a fresh daemon simulating @nr_zones zones, streams a report of all of
 * them, and stops the daemon. Failures are described in res->why.
 */
void bench_zone_run(const struct bench_opts *o, uint64_t nr_zones, struct bench_zone_result *res);

#endif
