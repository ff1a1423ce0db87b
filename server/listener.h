/* SPDX-License-Identifier: MIT */
/* The Unix socket listener, guarded by a lock file as SPDK guards its RPC socket. */
#ifndef NR_LISTENER_H
#define NR_LISTENER_H

#include "call.h"

/*
 * Takes PATH.lock (refusing with -EADDRINUSE when another live instance
 * holds it), replaces a stale socket file, binds, makes the socket
 * connectable by every local user (the policy, not the file mode, decides
 * what a peer may call) and starts accepting. Returns 0 or -errno.
 */
int nr_listener_start(struct nr_service *svc, const char *path);

/* Stops accepting and removes the socket file. */
void nr_listener_stop(void);

#endif
