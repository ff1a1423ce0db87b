/* SPDX-License-Identifier: MIT */
/*
 * systemd integration through libsystemd: the listening socket passed by a
 * socket unit (LISTEN_FDS, LISTEN_FDNAMES), readiness and status
 * (sd_notify: READY=1, STATUS=, STOPPING=1) and the watchdog (WATCHDOG=1
 * from the loop). Built without libsystemd, or started by anything else,
 * every function here does nothing and the daemon runs as before.
 */
#ifndef NR_SD_H
#define NR_SD_H

#include "rpc/call.h"

/*
 * The listening Unix stream socket systemd passed, taken over (the
 * LISTEN_* variables are unset so children do not see them). With several
 * descriptors, the one named "nvmerpcd" (FileDescriptorName=). Returns the
 * descriptor, -ENOENT when none was passed, or -EINVAL when what was
 * passed is not one listening Unix stream socket. Call once, before the
 * loop runs.
 */
int nr_sd_listen_fd(void);

/*
 * Under a service manager (NOTIFY_SOCKET): starts a timer on @svc's loop
 * that sends WATCHDOG=1 at half of WatchdogSec= (when set) and refreshes
 * STATUS= when the device counts change. @what names what is served (the
 * socket path), for the status line. Loop thread.
 */
void nr_sd_start(struct nr_service *svc, const char *what);

/* READY=1 with a STATUS= line counting the devices; sent once. Call when
 * the topology is known and the socket is served. Loop thread. */
void nr_sd_ready(void);

/* STOPPING=1 with a STATUS= line saying what is still waited for. */
void nr_sd_stopping(size_t calls_on_devices);

/* Closes the timer (shutdown: lets the loop end). Loop thread. */
void nr_sd_stop(void);

#endif
