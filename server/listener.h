/* SPDX-License-Identifier: MIT */
/* The Unix socket listener, guarded by a lock file as SPDK guards its RPC socket. */
#ifndef NR_LISTENER_H
#define NR_LISTENER_H

#include <sys/types.h>

#include "rpc/call.h"

/* The longest socket path a sockaddr_un holds (107 bytes on Linux). */
size_t nr_listener_path_max(void);

/*
 * Takes PATH.lock (refusing with -EADDRINUSE when another live instance
 * holds it), replaces a stale socket file, binds with file mode @mode (never
 * wider, not even for an instant) and group @gid ((gid_t)-1: root's) and
 * starts accepting. A path longer than nr_listener_path_max() is
 * -ENAMETOOLONG before anything is created. @on_conn_closed (may be NULL)
 * runs after each connection is freed. Returns 0 or -errno.
 */
int nr_listener_start(struct nr_service *svc, const char *path, mode_t mode, gid_t gid,
		      void (*on_conn_closed)(void));

/*
 * Serves @fd, a listening Unix stream socket the service manager created
 * and passed (socket activation): no lock file (the manager runs one
 * instance), the mode and group are the socket unit's, and stopping closes
 * the descriptor without removing the file, which the manager keeps
 * listening on. Returns 0 or -errno.
 */
int nr_listener_adopt(struct nr_service *svc, int fd, void (*on_conn_closed)(void));

/* The path served (for log lines): --socket's, or the adopted socket's. */
const char *nr_listener_path(void);

/* Changes the socket file's mode and group (reload). Returns 0 or -errno;
 * 0 when not listening or when the socket is adopted (its unit sets them). */
int nr_listener_set_access(mode_t mode, gid_t gid);

/* Stops accepting and removes the socket and lock files. */
void nr_listener_stop(void);

#endif
