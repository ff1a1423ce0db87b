/* SPDX-License-Identifier: MIT */
/*
 * nrbench's process plumbing: starting and stopping the servers it measures,
 * and reading their CPU time and memory from /proc. Runs on the main thread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, memrchr, getopt_long, mkdtemp */
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nrbench.h"

#define READY_TIMEOUT_MS 5000
#define STOP_TIMEOUT_MS 3000

char bench_tmp_dir[] = "/tmp/nrbench.XXXXXX";

/*
 * Forks and execs @argv with stdout and stderr sent to c->log.
 * Returns 0 or -errno of the fork or the log file.
 */
static int child_spawn(struct bench_child *c, char *const argv[])
{
	int log_fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (log_fd < 0)
		return -errno;
	c->pid = fork();
	if (c->pid == 0) {
		dup2(log_fd, STDOUT_FILENO);
		dup2(log_fd, STDERR_FILENO);
		setpgid(0, 0); /* Signals reach a wrapper's children too. */
		execv(argv[0], argv);
		_exit(127);
	}
	close(log_fd);
	return c->pid < 0 ? -errno : 0;
}

/* Returns a connected blocking socket to @path, or -errno. */
int bench_unix_connect(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

/* Waits until the child accepts connections. Returns 0, -ECHILD or -ETIMEDOUT. */
static int child_wait_ready(struct bench_child *c)
{
	int waited, fd, status;

	for (waited = 0; waited < READY_TIMEOUT_MS; waited += 10) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
			c->pid = -1;
			return -ECHILD;
		}
		fd = bench_unix_connect(c->sock);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/* Sends SIGTERM, escalating to SIGKILL; returns true if SIGTERM sufficed. */
bool bench_child_stop(struct bench_child *c)
{
	int waited, status;

	if (c->pid <= 0)
		return true;
	kill(-c->pid, SIGTERM);
	for (waited = 0; waited < STOP_TIMEOUT_MS; waited += 10) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
			c->pid = -1;
			return true;
		}
		usleep(10000);
	}
	kill(-c->pid, SIGKILL);
	waitpid(c->pid, &status, 0);
	c->pid = -1;
	return false;
}

/* Prints the last lines of a child's log, for a child that failed. */
void bench_child_print_log(const struct bench_child *c)
{
	char cmd[sizeof(c->log) + 32];

	fprintf(stderr, "--- last lines of %s ---\n", c->log);
	snprintf(cmd, sizeof(cmd), "tail -n 15 '%s' >&2", c->log);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log)\n");
}

/*
 * Builds the daemon's argv in @argv (pointers into @store or the options).
 * @sim_arg is "--simulate" or "--simulate=FILE". With --daemon-cmd, the
 * command is split at spaces and the tokens {socket} and {simulate} replaced.
 */
void bench_daemon_argv(const struct bench_opts *o, const char *sock, const char *sim_arg,
		       char *store, size_t store_len, char *argv[])
{
	char *tok, *save = NULL;
	int n = 0;

	if (o->daemon_cmd == NULL) {
		argv[0] = (char *)o->daemon;
		argv[1] = "--socket";
		argv[2] = (char *)sock;
		argv[3] = (char *)sim_arg;
		argv[4] = NULL;
		return;
	}
	snprintf(store, store_len, "%s", o->daemon_cmd);
	for (tok = strtok_r(store, " ", &save); tok && n < BENCH_MAX_ARGS - 1;
	     tok = strtok_r(NULL, " ", &save)) {
		if (strcmp(tok, "{socket}") == 0)
			tok = (char *)sock;
		else if (strcmp(tok, "{simulate}") == 0)
			tok = (char *)sim_arg;
		argv[n++] = tok;
	}
	argv[n] = NULL;
}

/* Starts a server from @argv on c->sock and waits for it. Returns 0 or -errno. */
int bench_child_start(struct bench_child *c, const char *name, char *const argv[])
{
	int rc;

	snprintf(c->log, sizeof(c->log), "%s/%s.log", bench_tmp_dir, name);
	rc = child_spawn(c, argv);
	if (rc == 0)
		rc = child_wait_ready(c);
	if (rc < 0) {
		fprintf(stderr, "nrbench: %s (%s) did not come up: %s\n", name, argv[0],
			strerror(-rc));
		bench_child_print_log(c);
		bench_child_stop(c);
	}
	return rc;
}

/* Returns utime + stime of @pid in clock ticks, or 0 if it cannot be read. */
uint64_t bench_proc_cpu_ticks(pid_t pid)
{
	unsigned long long utime = 0, stime = 0;
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				&utime, &stime) != 2)
		return 0;
	return utime + stime;
}

/* Returns the value in KiB of a /proc/PID/status line such as VmHWM, or -1. */
long bench_proc_status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, len) == 0 && line[len] == ':') {
			kib = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib;
}

double bench_cpu_percent(uint64_t ticks, double secs)
{
	return secs > 0 ? 100.0 * (double)ticks / (double)sysconf(_SC_CLK_TCK) / secs : 0;
}

double bench_rusage_secs(const struct rusage *ru)
{
	return ru->ru_utime.tv_sec + ru->ru_stime.tv_sec +
	       (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e6;
}

uint64_t bench_sys_busy_ticks(void)
{
	unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (f == NULL)
		return 0;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle,
		   &iowait, &irq, &softirq, &steal);
	fclose(f);
	return n == 8 ? user + nice + sys + irq + softirq + steal : 0;
}
