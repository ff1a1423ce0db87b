/* idbench: the cost of one Identify Controller, raw and through nvmerpcd (issue 12).
 *
 *   idbench --dev /dev/nvme0 [-n N] [--uring[=DEV]] [--daemon PATH --name NAME]
 *           [--rounds R] [--starts K] [--daemon-log PATH] [-- DAEMON_ARGS...]
 *   idbench --expect SN:CNTLID --daemon PATH --name NAME [-- --simulate]   (daemon part only)
 *
 * Run in the QEMU guest (tests/qemu/qemu_bench.py runs it through the guest agent), on one
 * controller's char device. Each part times N commands and gives the mean per command in
 * microseconds; the parts run in R rounds (default 3), interleaved, and each figure is the best
 * round's (the host is shared). stdout is one JSON object with every figure and the
 * correctness counts (the caller asserts on those, never on the times):
 *
 *   raw     N Identify Controller (opcode 06h, CNS 1) through NVME_IOCTL_ADMIN_CMD.
 *   uring   the same through io_uring (IORING_OP_URING_CMD, NVME_URING_CMD_ADMIN, SQE128 and
 *           CQE32), one in flight, on DEV (default: the --dev char device). Only when built with
 *           liburing (NR_HAVE_LIBURING); an error is reported as "uring_error", not fatal.
 *   daemon  PATH --stdio (plus DAEMON_ARGS) started 1 + K times (default K 5): start to serving
 *           is the time from fork to the first rpc.ping answer (median of the last K). In the last
 * process, after one warm-up call, each round: N nvme.id_ctrl pipelined (all written before the
 * first answer is awaited; --max-queue and --max-calls are raised to N + 16) from the first write
 * to the last answer; then N at depth 1 (each written after the previous answer). Every answer must
 * carry a result whose "sn" and "cntlid" are the raw ones.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/nvme_ioctl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef NR_HAVE_LIBURING
#include <liburing.h>
#endif

#define ID_LEN 4096
#define SN_OFF 4
#define SN_LEN 20
#define CNTLID_OFF 78
#define MAX_STARTS 16

struct opts {
	const char *dev;
	const char *uring_dev;
	bool uring;
	const char *daemon;
	const char *name;
	const char *daemon_log;
	const char *expect; /* SN:CNTLID instead of --dev: the daemon part only */
	int n;
	int rounds;
	int starts;
	char **daemon_args;
	int n_daemon_args;
};

struct ident {
	char sn[SN_LEN + 1];
	unsigned cntlid;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void ident_parse(const uint8_t *id, struct ident *out)
{
	int len = SN_LEN;

	memcpy(out->sn, id + SN_OFF, SN_LEN);
	while (len > 0 && (out->sn[len - 1] == ' ' || out->sn[len - 1] == '\0'))
		len--;
	out->sn[len] = '\0';
	out->cntlid = id[CNTLID_OFF] | id[CNTLID_OFF + 1] << 8;
}

static void identify_cmd(struct nvme_passthru_cmd *cmd, void *buf)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->opcode = 0x06;
	cmd->addr = (uint64_t)(uintptr_t)buf;
	cmd->data_len = ID_LEN;
	cmd->cdw10 = 1; /* CNS 01h: Identify Controller */
}

/* N Identify ioctls on @fd. Returns the mean µs, or -errno / NVMe status (> 0 as -status). */
static double bench_raw(int fd, int n, struct ident *id, int *bad)
{
	static uint8_t buf[ID_LEN] __attribute__((aligned(4096)));
	struct nvme_passthru_cmd cmd;
	struct ident got;
	double t0 = 0;

	*bad = 0;
	for (int i = 0; i < n + 10; i++) {
		if (i == 10)
			t0 = now_us();
		identify_cmd(&cmd, buf);
		int rc = ioctl(fd, NVME_IOCTL_ADMIN_CMD, &cmd);
		if (rc != 0)
			return rc < 0 ? -errno : -rc;
		ident_parse(buf, &got);
		if (i == 0)
			*id = got;
		else if (strcmp(got.sn, id->sn) || got.cntlid != id->cntlid)
			(*bad)++;
	}
	return (now_us() - t0) / n;
}

#ifdef NR_HAVE_LIBURING
/* N Identify through IORING_OP_URING_CMD on @path, one in flight. Returns the mean µs; on
 * failure writes what failed to @err and returns -1. */
static double bench_uring(const char *path, int n, const struct ident *want, int *bad, char *err,
			  size_t errlen)
{
	static uint8_t buf[ID_LEN] __attribute__((aligned(4096)));
	struct io_uring ring;
	struct ident got;
	double t0 = 0, mean = -1;
	int fd, rc;

	*bad = 0;
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		return -1;
	}
	rc = io_uring_queue_init(4, &ring, IORING_SETUP_SQE128 | IORING_SETUP_CQE32);
	if (rc < 0) {
		snprintf(err, errlen, "io_uring_queue_init(SQE128|CQE32): %s", strerror(-rc));
		close(fd);
		return -1;
	}
	for (int i = 0; i < n + 10; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct io_uring_cqe *cqe;
		struct nvme_uring_cmd *cmd;

		if (i == 10)
			t0 = now_us();
		memset(sqe, 0, 2 * sizeof(*sqe));
		sqe->opcode = IORING_OP_URING_CMD;
		sqe->fd = fd;
		sqe->cmd_op = NVME_URING_CMD_ADMIN;
		cmd = (struct nvme_uring_cmd *)sqe->cmd;
		cmd->opcode = 0x06;
		cmd->addr = (uint64_t)(uintptr_t)buf;
		cmd->data_len = ID_LEN;
		cmd->cdw10 = 1;
		rc = io_uring_submit_and_wait(&ring, 1);
		if (rc < 0) {
			snprintf(err, errlen, "io_uring_submit_and_wait: %s", strerror(-rc));
			goto out;
		}
		rc = io_uring_wait_cqe(&ring, &cqe);
		if (rc < 0) {
			snprintf(err, errlen, "io_uring_wait_cqe: %s", strerror(-rc));
			goto out;
		}
		rc = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		if (rc != 0) {
			snprintf(err, errlen, "uring_cmd NVME_URING_CMD_ADMIN on %s: %s", path,
				 rc < 0 ? strerror(-rc) : "NVMe status");
			goto out;
		}
		ident_parse(buf, &got);
		if (strcmp(got.sn, want->sn) || got.cntlid != want->cntlid)
			(*bad)++;
	}
	mean = (now_us() - t0) / n;
out:
	io_uring_queue_exit(&ring);
	close(fd);
	return mean;
}
#endif

/* -- the daemon over a pipe pair ------------------------------------------------------- */

struct daemon {
	pid_t pid;
	int in;	 /* its stdin (we write) */
	int out; /* its stdout (we read) */
	char *buf;
	size_t len, cap;
};

static int daemon_start(const struct opts *o, struct daemon *d)
{
	int pin[2], pout[2];
	char qn[32];

	if (pipe(pin) || pipe(pout))
		return -errno;
	snprintf(qn, sizeof(qn), "%d", o->n + 16);
	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (d->pid == 0) {
		char *argv[64];
		int a = 0, log = open(o->daemon_log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		dup2(pin[0], 0);
		dup2(pout[1], 1);
		if (log >= 0)
			dup2(log, 2);
		close(pin[1]);
		close(pout[0]);
		argv[a++] = (char *)o->daemon;
		argv[a++] = "--stdio";
		argv[a++] = "--max-queue";
		argv[a++] = qn;
		argv[a++] = "--max-calls";
		argv[a++] = qn;
		for (int i = 0; i < o->n_daemon_args && a < 63; i++)
			argv[a++] = o->daemon_args[i];
		argv[a] = NULL;
		execv(o->daemon, argv);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	d->in = pin[1];
	d->out = pout[0];
	d->len = 0;
	fcntl(d->in, F_SETFL, O_NONBLOCK);
	return 0;
}

static int daemon_stop(struct daemon *d)
{
	int status;

	close(d->in);
	close(d->out);
	free(d->buf);
	d->buf = NULL;
	d->cap = 0;
	if (waitpid(d->pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reads what is there (blocking once); calls @line for each complete line. 0, or -1 at EOF. */
static int daemon_read(struct daemon *d, void (*line)(void *, char *), void *ctx)
{
	ssize_t got;
	char *nl, *p;

	if (d->cap - d->len < 65536) {
		d->cap = d->cap ? d->cap * 2 : 1 << 20;
		d->buf = realloc(d->buf, d->cap);
		if (!d->buf)
			abort();
	}
	got = read(d->out, d->buf + d->len, d->cap - d->len - 1);
	if (got <= 0)
		return -1;
	d->len += got;
	p = d->buf;
	while ((nl = memchr(p, '\n', d->buf + d->len - p))) {
		*nl = '\0';
		line(ctx, p);
		p = nl + 1;
	}
	d->len -= p - d->buf;
	memmove(d->buf, p, d->len);
	return 0;
}

struct tally {
	const struct ident *want;
	int answers;
	int good;
	char first_bad[256];
};

/* The value after "KEY": in @s (spaces skipped), or NULL. */
static const char *json_value(const char *s, const char *key)
{
	const char *p = strstr(s, key);

	if (!p)
		return NULL;
	p += strlen(key);
	while (*p == ' ' || *p == ':')
		p++;
	return p;
}

static void tally_line(void *ctx, char *s)
{
	struct tally *t = ctx;
	const char *sn = json_value(s, "\"sn\"");
	const char *cntlid = json_value(s, "\"cntlid\"");
	bool ok = strstr(s, "\"result\"") && !strstr(s, "\"error\"") && sn && cntlid &&
		  *sn == '"' && !strncmp(sn + 1, t->want->sn, strlen(t->want->sn)) &&
		  sn[1 + strlen(t->want->sn)] == '"' &&
		  strtoul(cntlid, NULL, 10) == t->want->cntlid;

	t->answers++;
	if (ok)
		t->good++;
	else if (!t->first_bad[0])
		snprintf(t->first_bad, sizeof(t->first_bad), "%.200s", s);
}

static void count_line(void *ctx, char *s)
{
	(void)s;
	(*(int *)ctx)++;
}

/* Writes all of @req (the pipe is non-blocking: reads answers while it is full). */
static int write_all(struct daemon *d, const char *req, size_t len, struct tally *t)
{
	while (len > 0) {
		ssize_t w = write(d->in, req, len);

		if (w > 0) {
			req += w;
			len -= w;
			continue;
		}
		if (w < 0 && errno != EAGAIN)
			return -errno;
		struct pollfd p[2] = {{d->in, POLLOUT, 0}, {d->out, POLLIN, 0}};
		poll(p, 2, -1);
		if (p[1].revents && daemon_read(d, tally_line, t) < 0)
			return -EPIPE;
	}
	return 0;
}

static const char PING[] = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"rpc.ping\"}\n";

/* Starts the daemon and waits for its first rpc.ping answer: µs, or < 0. */
static double daemon_serving(const struct opts *o, struct daemon *d)
{
	double t0 = now_us();
	int lines = 0;

	if (daemon_start(o, d) < 0)
		return -1;
	if (write(d->in, PING, sizeof(PING) - 1) != (ssize_t)sizeof(PING) - 1)
		return -1;
	while (lines == 0)
		if (daemon_read(d, count_line, &lines) < 0)
			return -1;
	return now_us() - t0;
}

static char *requests(const struct opts *o, int first, int n, size_t *len)
{
	size_t cap = (size_t)n * (128 + strlen(o->name));
	char *s = malloc(cap);
	size_t at = 0;

	for (int i = 0; i < n; i++)
		at += snprintf(s + at, cap - at,
			       "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"nvme.id_ctrl\","
			       "\"params\":{\"device\":\"%s\"}}\n",
			       first + i, o->name);
	*len = at;
	return s;
}

/* Sends @n calls @depth at a time (n or 1); returns the mean µs per call, or < 0. */
static double daemon_calls(const struct opts *o, struct daemon *d, int n, bool pipelined,
			   struct tally *t)
{
	size_t len, one;
	char *all = requests(o, 1, n, &len);
	double t0 = now_us();
	int want;

	if (pipelined) {
		want = t->answers + n;
		if (write_all(d, all, len, t) < 0)
			goto fail;
		while (t->answers < want)
			if (daemon_read(d, tally_line, t) < 0)
				goto fail;
	} else {
		const char *p = all;

		for (int i = 0; i < n; i++, p += one) {
			one = strchr(p, '\n') + 1 - p;
			want = t->answers + 1;
			if (write_all(d, p, one, t) < 0)
				goto fail;
			while (t->answers < want)
				if (daemon_read(d, tally_line, t) < 0)
					goto fail;
		}
	}
	free(all);
	return (now_us() - t0) / n;
fail:
	free(all);
	return -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: idbench {--dev /dev/nvmeX | --expect SN:CNTLID} [-n N] "
		"[--uring[=DEV]] [--daemon PATH "
		"--name NAME] [--rounds R] [--starts K] [--daemon-log PATH] [-- DAEMON_ARGS...]\n");
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {{"dev", required_argument, 0, 'd'},
					      {"uring", optional_argument, 0, 'u'},
					      {"daemon", required_argument, 0, 'D'},
					      {"name", required_argument, 0, 'N'},
					      {"starts", required_argument, 0, 's'},
					      {"daemon-log", required_argument, 0, 'l'},
					      {"expect", required_argument, 0, 'e'},
					      {"rounds", required_argument, 0, 'r'},
					      {0, 0, 0, 0}};
	int c;

	*o = (struct opts){.n = 200, .rounds = 3, .starts = 5, .daemon_log = "/dev/null"};
	while ((c = getopt_long(argc, argv, "n:", longs, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->dev = optarg;
			break;
		case 'u':
			o->uring = true;
			o->uring_dev = optarg;
			break;
		case 'D':
			o->daemon = optarg;
			break;
		case 'N':
			o->name = optarg;
			break;
		case 's':
			o->starts = atoi(optarg);
			break;
		case 'l':
			o->daemon_log = optarg;
			break;
		case 'n':
			o->n = atoi(optarg);
			break;
		case 'e':
			o->expect = optarg;
			break;
		case 'r':
			o->rounds = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (!o->dev == !o->expect || (o->expect && !strchr(o->expect, ':')) || o->n < 1 ||
	    o->rounds < 1 || (o->daemon && !o->name) || o->starts < 1 || o->starts > MAX_STARTS)
		usage();
	o->daemon_args = argv + optind;
	o->n_daemon_args = argc - optind;
}

static double min_of(double a, double b)
{
	return a < 0 || b < a ? b : a;
}

static void print_escaped(const char *s)
{
	for (; *s; s++)
		printf(*s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
}

/* Starts the daemon 1 + o->starts times (start to serving: the median), keeps the last one and
 * sends it one warm-up call. Returns the median in ms, or < 0. */
static double daemon_setup(const struct opts *o, struct daemon *d, struct tally *t)
{
	double starts[MAX_STARTS];
	int rc;

	/* Start -1 is not counted: it brings the binary and its libraries into the page cache
	 * (over 9p in the guest), which a daemon started at boot pays once. */
	for (int i = -1; i < o->starts; i++) {
		double us = daemon_serving(o, d);

		if (us < 0)
			return -1;
		if (i >= 0)
			starts[i] = us;
		if (i + 1 < o->starts && (rc = daemon_stop(d)) != 0)
			fprintf(stderr, "idbench: daemon exited %d\n", rc);
	}
	if (daemon_calls(o, d, 1, false, t) < 0)
		return -1;
	qsort(starts, o->starts, sizeof(double), cmp_double);
	return starts[o->starts / 2] / 1000;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct ident id = {{0}, 0};
	struct tally t = {.want = &id};
	struct daemon d = {0};
	double raw = -1, uring = -1, pipe_us = -1, d1_us = -1, start_ms = -1, x;
	int fd = -1, bad, raw_bad = 0, uring_bad = 0, rc = 0;
	char uring_err[256] = "";

	parse(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	if (o.expect) {
		snprintf(id.sn, sizeof(id.sn), "%.*s", (int)(strchr(o.expect, ':') - o.expect),
			 o.expect);
		id.cntlid = strtoul(strchr(o.expect, ':') + 1, NULL, 10);
	} else {
		fd = open(o.dev, O_RDONLY);
		if (fd < 0 || bench_raw(fd, 1, &id, &bad) < 0) {
			fprintf(stderr, "idbench: Identify on %s: %s\n", o.dev, strerror(errno));
			return 1;
		}
	}
#ifndef NR_HAVE_LIBURING
	if (o.uring)
		snprintf(uring_err, sizeof(uring_err), "idbench built without liburing");
#endif
	if (o.daemon && (start_ms = daemon_setup(&o, &d, &t)) < 0) {
		fprintf(stderr, "idbench: %s did not answer\n", o.daemon);
		return 1;
	}
	/* Rounds interleave the kinds, so that a busy moment of the host does not fall on one
	 * kind only; each figure is the best round's. */
	for (int r = 0; r < o.rounds; r++) {
		if (fd >= 0) {
			x = bench_raw(fd, o.n, &id, &bad);
			if (x < 0) {
				fprintf(stderr, "idbench: Identify ioctl on %s failed: %g\n", o.dev,
					x);
				return 1;
			}
			raw = min_of(raw, x);
			raw_bad += bad;
		}
#ifdef NR_HAVE_LIBURING
		if (fd >= 0 && o.uring && !uring_err[0]) {
			x = bench_uring(o.uring_dev ? o.uring_dev : o.dev, o.n, &id, &bad,
					uring_err, sizeof(uring_err));
			if (x >= 0)
				uring = min_of(uring, x);
			uring_bad += bad;
		}
#endif
		if (o.daemon) {
			double p = daemon_calls(&o, &d, o.n, true, &t);
			double one = p < 0 ? -1 : daemon_calls(&o, &d, o.n, false, &t);

			if (one < 0) {
				fprintf(stderr, "idbench: the daemon stopped answering\n");
				return 1;
			}
			pipe_us = min_of(pipe_us, p);
			d1_us = min_of(d1_us, one);
		}
	}
	if (fd >= 0)
		close(fd);
	if (o.daemon)
		rc = daemon_stop(&d);

	printf("{\"n\":%d,\"rounds\":%d,\"sn\":\"%s\",\"cntlid\":%u", o.n, o.rounds, id.sn,
	       id.cntlid);
	if (fd >= 0)
		printf(",\"dev\":\"%s\",\"raw_us\":%.2f,\"raw_bad\":%d", o.dev, raw, raw_bad);
	if (uring >= 0 && !uring_err[0])
		printf(",\"uring_us\":%.2f,\"uring_bad\":%d", uring, uring_bad);
	else if (o.uring) {
		printf(",\"uring_error\":\"");
		print_escaped(uring_err);
		printf("\"");
	}
	if (o.daemon) {
		printf(
		    ",\"daemon_start_ms\":%.1f,\"daemon_starts\":%d,\"daemon_pipelined_us\":%.2f,"
		    "\"daemon_depth1_us\":%.2f,\"daemon_answers\":%d,\"daemon_good\":%d,"
		    "\"daemon_exit\":%d,\"daemon_first_bad\":\"",
		    start_ms, o.starts, pipe_us, d1_us, t.answers, t.good, rc);
		print_escaped(t.first_bad);
		printf("\"");
	}
	printf("}\n");
	return 0;
}
