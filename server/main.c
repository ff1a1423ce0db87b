/* SPDX-License-Identifier: MIT */
/*
 * nvmerpcd: NVMe device management as JSON-RPC 2.0 over a Unix socket.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "conn.h"
#include "listener.h"
#include "sd.h"
#include "util/log.h"
#include "backends/mi/mi.h"
#include "backends/passthru/passthru.h"
#include "rpc/rpc_error.h"
#include "backends/sim/sim.h"

#define DEFAULT_SOCKET "/run/nvmerpcd.sock"

struct options {
	const char *socket;
	const char *simulate; /* NULL: off; "": built-in; else a file */
	const char *config;   /* the config file (JSON), or NULL */
	bool stdio;
	bool check_schema;
	bool no_passthru;
	bool no_io_uring;
	enum nr_log_level log_level;
	struct nr_limits limits;
};

enum {
	OPT_MAX_LINE = 256,
	OPT_MAX_RESULT_ITEMS,
	OPT_TIMEOUT_MS,
	OPT_MAX_QUEUE,
	OPT_WRITE_BUFFER,
	OPT_CHECK_SCHEMA,
	OPT_LOG_LEVEL,
	OPT_NO_PASSTHRU,
	OPT_CONFIG,
	OPT_MAX_CONNECTIONS,
	OPT_MAX_CONNECTIONS_PER_UID,
	OPT_MAX_CALLS,
	OPT_MAX_BATCH,
	OPT_MAX_DEPTH,
	OPT_MAX_INPUT_TOTAL,
	OPT_LINE_TIMEOUT_MS,
	OPT_IDLE_TIMEOUT_MS,
	OPT_INLINE_RUNS,
	OPT_NO_IO_URING,
};

static const struct option long_options[] = {
    {"socket", required_argument, NULL, 's'},
    {"simulate", optional_argument, NULL, 'S'},
    {"stdio", no_argument, NULL, 'i'},
    {"threads", required_argument, NULL, 't'},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"max-line", required_argument, NULL, OPT_MAX_LINE},
    {"max-result-items", required_argument, NULL, OPT_MAX_RESULT_ITEMS},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT_MS},
    {"max-queue", required_argument, NULL, OPT_MAX_QUEUE},
    {"write-buffer", required_argument, NULL, OPT_WRITE_BUFFER},
    {"check-schema", no_argument, NULL, OPT_CHECK_SCHEMA},
    {"no-passthru", no_argument, NULL, OPT_NO_PASSTHRU},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"max-connections-per-uid", required_argument, NULL, OPT_MAX_CONNECTIONS_PER_UID},
    {"max-calls", required_argument, NULL, OPT_MAX_CALLS},
    {"max-batch", required_argument, NULL, OPT_MAX_BATCH},
    {"max-depth", required_argument, NULL, OPT_MAX_DEPTH},
    {"max-input-total", required_argument, NULL, OPT_MAX_INPUT_TOTAL},
    {"line-timeout-ms", required_argument, NULL, OPT_LINE_TIMEOUT_MS},
    {"idle-timeout-ms", required_argument, NULL, OPT_IDLE_TIMEOUT_MS},
    {"inline-runs", required_argument, NULL, OPT_INLINE_RUNS},
    {"no-io-uring", no_argument, NULL, OPT_NO_IO_URING},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static const char usage_text[] =
    "usage: nvmerpcd [options]\n"
    "  --socket PATH           listen here (default " DEFAULT_SOCKET ")\n"
    "  --simulate[=FILE]       serve the built-in simulated subsystem, or one described by FILE\n"
    "  --no-passthru           do not scan this host's NVMe devices (served by default)\n"
    "  --config FILE           JSON config: \"mi\" names NVMe-MI endpoints and D-Bus discovery\n"
    "  --stdio                 serve JSON-RPC on stdin/stdout instead of a socket\n"
    "  --threads N             worker threads for device calls (default 4)\n"
    "  --log-level LEVEL       error, warn, info (default) or debug\n"
    "  --max-line BYTES        largest JSON text accepted (default 1048576)\n"
    "  --max-result-items N    items in one non-streamed result (default 1024)\n"
    "  --timeout-ms MS         per device command (default 30000)\n"
    "  --max-queue N           calls queued per device before DeviceBusy (default 128)\n"
    "  --write-buffer BYTES    unsent bytes per client before it is no longer read and its\n"
    "                          streams pause (default 1048576)\n"
    "  --max-connections N     open connections, all users (default 1024; root has 16 more)\n"
    "  --max-connections-per-uid N\n"
    "                          open connections of one non-root user (default 64)\n"
    "  --max-calls N           calls in flight on one connection (default 1024)\n"
    "  --max-batch N           requests in one batch (default 1024)\n"
    "  --max-depth N           nesting of arrays and objects in one request (default 64)\n"
    "  --max-input-total BYTES unfinished request bytes buffered for all clients (default "
    "67108864)\n"
    "  --line-timeout-ms MS    a started request line must end within this (default 30000; 0: "
    "never)\n"
    "  --idle-timeout-ms MS    a connection with nothing in flight is closed (default 600000; 0: "
    "never)\n"
    "  --inline-runs N         commands of a backend that never blocks (the simulator) run on\n"
    "                          the event loop, up to N in a row (default 32; 0: worker pool)\n"
    "  --no-io-uring           send host device commands with ioctls on the worker pool, not\n"
    "                          through io_uring from the event loop (used where the kernel\n"
    "                          takes it)\n"
    "  --check-schema          check the method table against the schema and exit\n";

static uv_signal_t sig_int, sig_term, sig_hup;
static bool stopping;
static bool signals_closed;
static int exit_code;
static struct nr_sim *sim;
/* Readiness (systemd's READY=1): the socket is served and the topology is
 * known, i.e. the first NVMe-MI scan (when configured) has finished. */
static bool serving;
static bool mi_scanning;

static void ready_maybe(void)
{
	if (serving && !mi_scanning)
		nr_sd_ready();
}

static void mi_first_scan_done(void *arg)
{
	mi_scanning = false;
	ready_maybe();
}

/* Parses a decimal in [min, max] into *out. Returns 0 or -EINVAL. */
static int parse_u32(const char *text, unsigned long min, unsigned long max, uint32_t *out)
{
	char *end;
	unsigned long value;

	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || *end || end == text || value < min || value > max)
		return -EINVAL;
	*out = (uint32_t)value;
	return 0;
}

/* Each numeric option: where it goes and its range. */
struct limit_option {
	int opt;
	size_t offset; /* into struct nr_limits */
	unsigned long min, max;
};

#define LIMIT(o, field, lo, hi)                                                                    \
	{                                                                                          \
		o, offsetof(struct nr_limits, field), lo, hi                                       \
	}
static const struct limit_option limit_options[] = {
    LIMIT('t', threads, 1, 128),
    LIMIT(OPT_MAX_LINE, max_line, 64, 1u << 30),
    LIMIT(OPT_MAX_RESULT_ITEMS, max_result_items, 1, 1u << 24),
    LIMIT(OPT_TIMEOUT_MS, timeout_ms, 1, 86400000),
    LIMIT(OPT_MAX_QUEUE, max_queue, 1, 1u << 20),
    LIMIT(OPT_WRITE_BUFFER, write_buffer, 4096, 1u << 30),
    LIMIT(OPT_MAX_CONNECTIONS, max_connections, 1, 1u << 20),
    LIMIT(OPT_MAX_CONNECTIONS_PER_UID, max_connections_per_uid, 1, 1u << 20),
    LIMIT(OPT_MAX_CALLS, max_calls, 1, 1u << 20),
    LIMIT(OPT_MAX_BATCH, max_batch, 1, 1u << 20),
    LIMIT(OPT_MAX_DEPTH, max_depth, 2, 1024),
    LIMIT(OPT_MAX_INPUT_TOTAL, max_input_total, 65536, 1u << 31),
    LIMIT(OPT_LINE_TIMEOUT_MS, line_timeout_ms, 0, 86400000),
    LIMIT(OPT_IDLE_TIMEOUT_MS, idle_timeout_ms, 0, 86400000),
    LIMIT(OPT_INLINE_RUNS, inline_runs, 0, 1u << 16),
};

static const struct limit_option *limit_option(int opt)
{
	for (size_t i = 0; i < sizeof(limit_options) / sizeof(limit_options[0]); i++) {
		if (limit_options[i].opt == opt)
			return &limit_options[i];
	}
	return NULL;
}

/* The option's name as typed: "--max-line" (the short -t is --threads). */
static const char *option_name(int opt)
{
	for (const struct option *o = long_options; o->name; o++) {
		if (o->val == opt)
			return o->name;
	}
	return "?";
}

static int parse_limit(int opt, const char *arg, struct nr_limits *l)
{
	const struct limit_option *lo = limit_option(opt);

	if (!lo || parse_u32(arg, lo->min, lo->max, (uint32_t *)((char *)l + lo->offset)) == 0)
		return lo ? 0 : -EINVAL;
	fprintf(stderr, "nvmerpcd: bad value for --%s: '%s' (a whole number from %lu to %lu)\n",
		option_name(opt), arg, lo->min, lo->max);
	return -EINVAL;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int opt;

	*o = (struct options){.socket = DEFAULT_SOCKET, .log_level = NR_LOG_INFO};
	nr_limits_default(&o->limits);
	while ((opt = getopt_long(argc, argv, "s:t:hV", long_options, NULL)) != -1) {
		int rc = 0;
		switch (opt) {
		case 's':
			o->socket = optarg;
			break;
		case 'S':
			o->simulate = optarg ? optarg : "";
			break;
		case 'i':
			o->stdio = true;
			break;
		case OPT_CHECK_SCHEMA:
			o->check_schema = true;
			break;
		case OPT_NO_PASSTHRU:
			o->no_passthru = true;
			break;
		case OPT_NO_IO_URING:
			o->no_io_uring = true;
			break;
		case OPT_CONFIG:
			o->config = optarg;
			break;
		case OPT_LOG_LEVEL:
			rc = nr_log_parse_level(optarg, &o->log_level);
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			puts("nvmerpcd " NR_VERSION);
			exit(0);
		case '?':
			return -EINVAL;
		default:
			rc = parse_limit(opt, optarg, &o->limits);
			break;
		}
		if (rc == -EINVAL && opt == OPT_LOG_LEVEL)
			fprintf(stderr, "nvmerpcd: bad value for --log-level: '%s'\n", optarg);
		if (rc)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "nvmerpcd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int simulator_start(struct nr_service *svc, const char *file)
{
	char err[256] = "";
	int rc = *file ? nr_sim_load_file(file, &sim, err, sizeof(err)) : nr_sim_new_default(&sim);

	if (rc) {
		nr_log(NR_LOG_ERROR, "simulator %s: %s", *file ? file : "(built-in)",
		       *err ? err : strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < nr_sim_ctrl_count(sim); i++) {
		rc =
		    nr_topology_add_ctrl(svc->topology, "sim", &nr_sim_ops, nr_sim_ctrl_at(sim, i));
		if (rc) {
			nr_log(NR_LOG_ERROR, "simulated controller %zu: %s", i, strerror(-rc));
			return rc;
		}
	}
	/* The description's faults hit clients' commands, not the Identify above. */
	nr_sim_faults_arm(sim);
	svc->have_sim = true;
	return 0;
}

/* The config as last loaded (socket access and the MI section, to tell
 * what a reload changes). */
static struct nr_config config;
static const char *config_file;

/*
 * Reads the config file (docs/config.md: "mi", "policy", "socket"), installs
 * the policy and starts the NVMe-MI backend; its first scan runs on the
 * workers once the loop runs, so clients are served meanwhile. Returns 0 or
 * -errno, logged.
 */
static int config_start(struct nr_service *svc, const char *file)
{
	char err[512] = "";
	int rc;

	config_file = file;
	rc = nr_config_load(file, svc->schema, svc->limits.timeout_ms, &config, err, sizeof(err));
	if (rc) {
		nr_log(NR_LOG_ERROR, "%s", err);
		return rc;
	}
	svc->policy = config.policy;
	config.policy = NULL; /* the service's now */
	svc->firmware_dir = config.firmware_dir;
	config.firmware_dir = NULL;
	rc = nr_mi_new(svc, &config.mi);
	if (rc == 0 && (config.mi.endpoint_count > 0 || config.mi.dbus)) {
		mi_scanning = true;
		nr_mi_scan_first(svc->mi, mi_first_scan_done, NULL);
	}
	return rc;
}

/*
 * SIGHUP: reads the config file again and, only if all of it is good,
 * replaces the policy and the socket's mode and group at once. A bad file is
 * logged with the key at fault and changes nothing. The MI section is
 * checked but takes effect at the next start.
 */
static void config_reload(struct nr_service *svc)
{
	struct nr_config fresh;
	char err[512] = "";
	int rc;

	if (!config_file) {
		nr_log(NR_LOG_INFO, "SIGHUP: no --config file to reload");
		return;
	}
	rc = nr_config_load(config_file, svc->schema, svc->limits.timeout_ms, &fresh, err,
			    sizeof(err));
	if (rc) {
		nr_log(NR_LOG_ERROR, "SIGHUP: %s: kept the running configuration", err);
		return;
	}
	rc = nr_listener_set_access(fresh.socket_mode, fresh.socket_gid);
	if (rc) {
		nr_log(NR_LOG_ERROR,
		       "SIGHUP: socket mode or group: %s: kept the running configuration",
		       strerror(-rc));
		nr_config_fini(&fresh);
		return;
	}
	if ((fresh.mi_text || config.mi_text) &&
	    (!fresh.mi_text || !config.mi_text || strcmp(fresh.mi_text, config.mi_text) != 0))
		nr_log(NR_LOG_WARN,
		       "SIGHUP: %s: the mi section changed: it takes effect at restart",
		       config_file);
	nr_policy_free(svc->policy);
	svc->policy = fresh.policy;
	fresh.policy = NULL;
	free(svc->firmware_dir);
	svc->firmware_dir = fresh.firmware_dir;
	fresh.firmware_dir = NULL;
	config.socket_mode = fresh.socket_mode;
	config.socket_gid = fresh.socket_gid;
	/* config.mi_text stays the running one (MI changes wait for a restart). */
	nr_config_fini(&fresh);
	nr_log(NR_LOG_INFO, "SIGHUP: reloaded %s", config_file);
}

static void passthru_warn(const char *what, int neg_errno)
{
	nr_log(NR_LOG_WARN, "%s: skipped: %s", what, strerror(-neg_errno));
}

/* Everything is answered and closed: let the loop end. */
static void shutdown_finish(void)
{
	if (signals_closed)
		return;
	signals_closed = true;
	nr_sd_stop();
	nr_listener_stop();
	nr_conn_close_all();
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_close((uv_handle_t *)&sig_term, NULL);
	uv_close((uv_handle_t *)&sig_hup, NULL);
}

static void conn_closed(void)
{
	if (stopping && nr_conn_count() == 0)
		shutdown_finish();
}

/*
 * SIGTERM/SIGINT: stop accepting (the socket file goes at once), end the
 * calls that never reached a device, let those on a device finish and
 * answer, then exit when every connection has drained. A second signal
 * also ends running reads; writes and destructive commands are still
 * waited for (each is bounded by its timeout).
 */
static void on_signal(uv_signal_t *handle, int signum)
{
	size_t live;

	if (signum == SIGHUP) {
		config_reload(handle->data);
		return;
	}
	if (!stopping) {
		stopping = true;
		nr_listener_stop();
		live = nr_conn_shutdown_all(false);
		nr_sd_stopping(live);
		nr_log(NR_LOG_INFO, "%s: shutting down; %zu calls still on devices",
		       strsignal(signum), live);
	} else {
		live = nr_conn_shutdown_all(true);
		nr_log(NR_LOG_WARN,
		       "%s again: reads ended; still waiting for %zu write or destructive "
		       "commands on devices",
		       strsignal(signum), live);
	}
	conn_closed();
}

static void on_stdio_closed(struct nr_conn *conn)
{
	if (nr_conn_failed(conn))
		exit_code = 1;
	stopping = true;
	shutdown_finish();
}

static void listen_error(const char *path, int rc)
{
	if (rc == -EADDRINUSE)
		nr_log(NR_LOG_ERROR, "%s: another nvmerpcd is serving it", path);
	else if (rc == -ENAMETOOLONG)
		nr_log(NR_LOG_ERROR,
		       "%s: the path is %zu bytes; a Unix socket path holds at most %zu", path,
		       strlen(path), nr_listener_path_max());
	else
		nr_log(NR_LOG_ERROR, "%s: %s", path, strerror(-rc));
}

/*
 * Serves the socket systemd passed (socket activation), else binds
 * --socket; then tells systemd it is ready once the topology is known too.
 * Returns 0 or -errno, logged.
 */
static int listen_start(struct nr_service *svc, const struct options *o)
{
	int fd = nr_sd_listen_fd();
	int rc;

	if (fd >= 0) {
		rc = nr_listener_adopt(svc, fd, conn_closed);
		if (rc) {
			close(fd);
			nr_log(NR_LOG_ERROR, "socket from systemd: %s", strerror(-rc));
			return rc;
		}
	} else if (fd != -ENOENT) {
		return fd;
	} else {
		rc = nr_listener_start(svc, o->socket, config.socket_mode, config.socket_gid,
				       conn_closed);
		if (rc) {
			listen_error(o->socket, rc);
			return rc;
		}
	}
	nr_log(NR_LOG_INFO, "serving %s%s", nr_listener_path(),
	       fd >= 0 ? " (socket from systemd)" : "");
	nr_sd_start(svc, nr_listener_path());
	serving = true;
	ready_maybe();
	return 0;
}

static int serve(struct nr_service *svc, const struct options *o)
{
	int rc;

	uv_signal_init(svc->loop, &sig_int);
	uv_signal_init(svc->loop, &sig_term);
	uv_signal_init(svc->loop, &sig_hup);
	sig_hup.data = svc;
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	uv_signal_start(&sig_hup, on_signal, SIGHUP);
	if (o->stdio) {
		rc = nr_conn_stdio(svc, on_stdio_closed);
		if (rc)
			nr_log(NR_LOG_ERROR, "stdio: %s", uv_strerror(rc));
	} else {
		rc = listen_start(svc, o);
	}
	if (rc)
		shutdown_finish();
	uv_run(svc->loop, UV_RUN_DEFAULT);
	return rc ? rc : exit_code;
}

/*
 * Raises the descriptor limit to its hard limit and keeps the connection
 * limit under it, so that a client past the limit is told so (ServerBusy)
 * rather than accepted and dropped for want of a descriptor.
 */
static void fd_budget(struct nr_limits *limits)
{
	/* Descriptors besides connections: devices, the lock, epoll, syslog, MI. */
	const rlim_t reserve = 256;
	struct rlimit rl;
	rlim_t want;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	want = (rlim_t)limits->max_connections + NR_ROOT_RESERVED_CONNECTIONS + reserve;
	if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur >= want)
		return;
	limits->max_connections =
	    rl.rlim_cur > reserve + NR_ROOT_RESERVED_CONNECTIONS + 1
		? (uint32_t)(rl.rlim_cur - reserve - NR_ROOT_RESERVED_CONNECTIONS)
		: 1;
	nr_log(NR_LOG_WARN, "open file limit %llu: --max-connections lowered to %u",
	       (unsigned long long)rl.rlim_cur, limits->max_connections);
}

int main(int argc, char **argv)
{
	struct nr_service svc = {0};
	struct options o;
	char err[256] = "";
	char threads[16];
	int rc;

	if (parse_options(argc, argv, &o) != 0) {
		fputs("nvmerpcd: --help lists the options\n", stderr);
		return 2;
	}
	nr_log_set_level(o.log_level);
	signal(SIGPIPE, SIG_IGN);
	snprintf(threads, sizeof(threads), "%u", o.limits.threads);
	setenv("UV_THREADPOOL_SIZE", threads, 1);
	rc = nr_service_init(&svc, uv_default_loop(), err, sizeof(err));
	if (rc) {
		nr_log(NR_LOG_ERROR, "schema: %s", err);
		return 1;
	}
	if (o.check_schema) {
		nr_service_fini(&svc);
		return 0;
	}
	fd_budget(&o.limits);
	svc.limits = o.limits;
	svc.audit = nr_audit_log;
	openlog("nvmerpcd", LOG_PID, LOG_DAEMON);
	/* A failed start unwinds as a stop does: what was built is freed. */
	rc = o.simulate ? simulator_start(&svc, o.simulate) : 0;
	svc.passthru = !o.no_passthru;
	nr_passthru_uring(!o.no_io_uring);
	if (rc == 0 && svc.passthru)
		rc = nr_passthru_attach(svc.topology, passthru_warn);
	if (svc.passthru)
		svc.host_rescan = nr_passthru_relearn;
	if (rc == 0)
		rc = config_start(&svc, o.config);
	if (rc == 0)
		rc = serve(&svc, &o);
	nr_mi_free(svc.mi);
	nr_config_fini(&config);
	nr_service_fini(&svc);
	nr_sim_free(sim);
	uv_run(uv_default_loop(), UV_RUN_NOWAIT); /* the handles fini closed (io_uring polls) */
	uv_loop_close(uv_default_loop());
	return rc ? 1 : 0;
}
