/* SPDX-License-Identifier: MIT */
/*
 * nvmerpcd: NVMe device management as JSON-RPC 2.0 over a Unix socket.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conn.h"
#include "listener.h"
#include "log.h"
#include "mi.h"
#include "passthru.h"
#include "rpc_error.h"
#include "sim.h"

#define DEFAULT_SOCKET "/run/nvmerpcd.sock"

struct options {
	const char *socket;
	const char *simulate; /* NULL: off; "": built-in; else a file */
	const char *config;   /* the config file (JSON), or NULL */
	bool stdio;
	bool check_schema;
	bool no_passthru;
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
    "  --write-buffer BYTES    unsent bytes per client before streams pause (default 1048576)\n"
    "  --check-schema          check the method table against the schema and exit\n";

static uv_signal_t sig_int, sig_term;
static struct nr_sim *sim;

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

static int parse_limit(int opt, const char *arg, struct nr_limits *l)
{
	switch (opt) {
	case 't':
		return parse_u32(arg, 1, 128, &l->threads);
	case OPT_MAX_LINE:
		return parse_u32(arg, 64, 1u << 30, &l->max_line);
	case OPT_MAX_RESULT_ITEMS:
		return parse_u32(arg, 1, 1u << 24, &l->max_result_items);
	case OPT_TIMEOUT_MS:
		return parse_u32(arg, 1, 86400000, &l->timeout_ms);
	case OPT_MAX_QUEUE:
		return parse_u32(arg, 1, 1u << 20, &l->max_queue);
	case OPT_WRITE_BUFFER:
		return parse_u32(arg, 4096, 1u << 30, &l->write_buffer);
	}
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
		if (rc) {
			fprintf(stderr, "nvmerpcd: bad value for --%s: %s\n",
				long_options[0].name ? argv[optind - 1] : "", optarg);
			return rc;
		}
	}
	return optind < argc ? -EINVAL : 0;
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
	svc->have_sim = true;
	return 0;
}

/* Every write or destructive call, allowed or not, goes to syslog (and the
 * log): who, what, on which device, and how it ended. */
static void audit_log(const struct nr_peer *peer, const char *method, const char *device, int code)
{
	syslog(LOG_NOTICE, "audit: uid=%d pid=%d method=%s device=%s outcome=%s (%d)",
	       (int)peer->uid, (int)peer->pid, method, device, code ? nr_rpc_code_name(code) : "ok",
	       code);
	nr_log(NR_LOG_INFO, "audit: uid=%d pid=%d method=%s device=%s outcome=%s", (int)peer->uid,
	       (int)peer->pid, method, device, code ? nr_rpc_code_name(code) : "ok");
}

/*
 * Reads the config file (JSON: {"mi": {...}}, docs/mi.md) and starts the
 * NVMe-MI backend; its first scan runs on the workers once the loop runs,
 * so clients are served meanwhile. Returns 0 or -errno, logged.
 */
static int mi_start(struct nr_service *svc, const char *file)
{
	struct nr_mi_config cfg;
	json_error_t jerr;
	json_t *doc = NULL;
	char err[256] = "";
	int rc = 0;

	nr_mi_config_init(&cfg, svc->limits.timeout_ms);
	if (file) {
		doc = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
		if (!doc) {
			nr_log(NR_LOG_ERROR, "%s:%d: %s", file, jerr.line, jerr.text);
			return -EINVAL;
		}
		if (json_object_get(doc, "mi"))
			rc = nr_mi_config_parse(json_object_get(doc, "mi"), &cfg, err, sizeof(err));
		json_decref(doc);
		if (rc) {
			nr_log(NR_LOG_ERROR, "%s: %s", file, err);
			return rc;
		}
	}
	rc = nr_mi_new(svc, &cfg);
	if (rc == 0 && (cfg.endpoint_count > 0 || cfg.dbus))
		nr_mi_scan(svc->mi, NULL);
	return rc;
}

static void passthru_warn(const char *what, int neg_errno)
{
	nr_log(NR_LOG_WARN, "%s: skipped: %s", what, strerror(-neg_errno));
}

static void shutdown_all(void)
{
	nr_listener_stop();
	nr_conn_close_all();
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_close((uv_handle_t *)&sig_term, NULL);
}

static void on_signal(uv_signal_t *handle, int signum)
{
	nr_log(NR_LOG_INFO, "%s: shutting down", strsignal(signum));
	shutdown_all();
}

static void on_stdio_closed(struct nr_conn *conn)
{
	shutdown_all();
}

static int serve(struct nr_service *svc, const struct options *o)
{
	int rc;

	uv_signal_init(svc->loop, &sig_int);
	uv_signal_init(svc->loop, &sig_term);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	if (o->stdio) {
		rc = nr_conn_stdio(svc, on_stdio_closed);
	} else {
		rc = nr_listener_start(svc, o->socket);
		if (rc == -EADDRINUSE)
			nr_log(NR_LOG_ERROR, "%s: another nvmerpcd is serving it", o->socket);
		else if (rc == 0)
			nr_log(NR_LOG_INFO, "serving %s", o->socket);
	}
	if (rc) {
		if (rc != -EADDRINUSE)
			nr_log(NR_LOG_ERROR, "%s: %s", o->stdio ? "stdio" : o->socket,
			       uv_strerror(rc));
		shutdown_all();
	}
	uv_run(svc->loop, UV_RUN_DEFAULT);
	return rc;
}

int main(int argc, char **argv)
{
	struct nr_service svc = {0};
	struct options o;
	char err[256] = "";
	char threads[16];
	int rc;

	if (parse_options(argc, argv, &o) != 0) {
		fputs(usage_text, stderr);
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
	svc.limits = o.limits;
	svc.audit = audit_log;
	openlog("nvmerpcd", LOG_PID, LOG_DAEMON);
	if (o.simulate && simulator_start(&svc, o.simulate) != 0)
		return 1;
	svc.passthru = !o.no_passthru;
	if (svc.passthru && nr_passthru_attach(svc.topology, passthru_warn) != 0)
		return 1;
	if (mi_start(&svc, o.config) != 0)
		return 1;
	rc = serve(&svc, &o);
	nr_mi_free(svc.mi);
	nr_service_fini(&svc);
	nr_sim_free(sim);
	uv_loop_close(uv_default_loop());
	return rc ? 1 : 0;
}
