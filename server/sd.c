/* SPDX-License-Identifier: MIT */
/*
 * The systemd protocol is libsystemd's (sd_listen_fds_with_names,
 * sd_notify, sd_watchdog_enabled), not re-implemented here. NR_HAVE_SYSTEMD
 * is set by the build when libsystemd is found (CMake option NR_SYSTEMD);
 * without it the functions below are the "not under systemd" case.
 */
#include "sd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

#ifdef NR_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

/* Without WatchdogSec=, the status line is refreshed this often. */
#define STATUS_REFRESH_MS 10000
#define FD_NAME "nvmerpcd"

static uv_timer_t tick;
static bool ticking;
static bool ready_sent;
static bool watchdog;
static struct nr_service *service;
static char served[128];
static size_t last_ctrls = (size_t)-1, last_nss = (size_t)-1;

/* Listed controllers (not NVMe-MI endpoints' hidden entries) and their
 * namespaces. */
static void device_counts(size_t *ctrls, size_t *nss)
{
	struct nr_topology *topo = service->topology;

	*ctrls = *nss = 0;
	for (size_t i = 0; i < nr_topology_ctrl_count(topo); i++) {
		const struct nr_ctrl *ctrl = nr_topology_ctrl_at(topo, i);
		if (ctrl->hidden || ctrl->gone)
			continue;
		(*ctrls)++;
		*nss += ctrl->ns_count;
	}
}

/* Sends STATUS= (with READY=1 when @ready) if the counts changed or @force. */
static void status_send(bool ready, bool force)
{
	size_t ctrls, nss;

	device_counts(&ctrls, &nss);
	if (!force && ctrls == last_ctrls && nss == last_nss)
		return;
	last_ctrls = ctrls;
	last_nss = nss;
	sd_notifyf(0, "%sSTATUS=Serving %zu controller%s, %zu namespace%s on %s",
		   ready ? "READY=1\n" : "", ctrls, ctrls == 1 ? "" : "s", nss, nss == 1 ? "" : "s",
		   served);
}

/* On the loop thread: a late or stuck loop misses the watchdog. */
static void tick_fired(uv_timer_t *timer)
{
	if (watchdog)
		sd_notify(0, "WATCHDOG=1");
	if (ready_sent)
		status_send(false, false);
}

/* The descriptor named FD_NAME, or the only one. Returns its index or -1. */
static int pick_fd(int count, char **names)
{
	for (int i = 0; names && i < count; i++) {
		if (strcmp(names[i], FD_NAME) == 0)
			return i;
	}
	return count == 1 ? 0 : -1;
}

int nr_sd_listen_fd(void)
{
	char **names = NULL;
	int count = sd_listen_fds_with_names(1, &names);
	int index, fd = -ENOENT;

	if (count < 0) {
		nr_log(NR_LOG_ERROR, "LISTEN_FDS: %s", strerror(-count));
		return -EINVAL;
	}
	if (count == 0)
		return -ENOENT;
	index = pick_fd(count, names);
	if (index < 0) {
		nr_log(NR_LOG_ERROR, "LISTEN_FDS: %d sockets passed, none named " FD_NAME, count);
		fd = -EINVAL;
	} else if (sd_is_socket_unix(SD_LISTEN_FDS_START + index, SOCK_STREAM, 1, NULL, 0) <= 0) {
		nr_log(NR_LOG_ERROR,
		       "LISTEN_FDS: descriptor %d is not a listening Unix stream socket",
		       SD_LISTEN_FDS_START + index);
		fd = -EINVAL;
	} else {
		fd = SD_LISTEN_FDS_START + index;
	}
	for (int i = 0; i < count; i++) {
		if (SD_LISTEN_FDS_START + i != fd)
			close(SD_LISTEN_FDS_START + i);
		if (names)
			free(names[i]);
	}
	free(names);
	return fd;
}

void nr_sd_start(struct nr_service *svc, const char *what)
{
	uint64_t watchdog_usec = 0;
	uint64_t period_ms = STATUS_REFRESH_MS;

	service = svc;
	snprintf(served, sizeof(served), "%s", what);
	if (!getenv("NOTIFY_SOCKET") || ticking)
		return;
	watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
	if (watchdog) {
		period_ms = watchdog_usec / 2000;
		if (period_ms == 0)
			period_ms = 1;
		nr_log(NR_LOG_INFO, "systemd watchdog: pinging every %llu ms",
		       (unsigned long long)period_ms);
	}
	uv_timer_init(svc->loop, &tick);
	uv_timer_start(&tick, tick_fired, period_ms, period_ms);
	ticking = true;
}

void nr_sd_ready(void)
{
	if (ready_sent || !service)
		return;
	ready_sent = true;
	status_send(true, true);
}

void nr_sd_stopping(size_t calls_on_devices)
{
	sd_notifyf(0, "STOPPING=1\nSTATUS=Stopping: %zu call%s still on devices", calls_on_devices,
		   calls_on_devices == 1 ? "" : "s");
}

void nr_sd_stop(void)
{
	if (!ticking)
		return;
	ticking = false;
	uv_close((uv_handle_t *)&tick, NULL);
}

#else /* !NR_HAVE_SYSTEMD */

int nr_sd_listen_fd(void)
{
	if (getenv("LISTEN_FDS"))
		nr_log(NR_LOG_WARN,
		       "LISTEN_FDS set, but this nvmerpcd was built without libsystemd: "
		       "listening on --socket");
	return -ENOENT;
}

void nr_sd_start(struct nr_service *svc, const char *what)
{
}

void nr_sd_ready(void)
{
}

void nr_sd_stopping(size_t calls_on_devices)
{
}

void nr_sd_stop(void)
{
}

#endif
