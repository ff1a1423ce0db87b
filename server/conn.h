/* SPDX-License-Identifier: MIT */
/* A peer connection: a Unix socket client, or stdin/stdout in --stdio mode. */
#ifndef NR_CONN_H
#define NR_CONN_H

#include <stdbool.h>
#include <uv.h>

#include "rpc/call.h"

struct nr_conn;

/*
 * Serves the accepted socket @fd (ownership taken: closed on every error).
 * A client over --max-connections or --max-connections-per-uid gets one
 * ServerBusy error line and is closed: returns -EBUSY. Returns 0 or -errno.
 * @on_close runs when the connection is gone (after its handles closed).
 */
int nr_conn_accept(struct nr_service *svc, int fd, void (*on_close)(struct nr_conn *conn));

/*
 * Serves stdin/stdout; either may be a pipe, a socket, a terminal or a file
 * (/dev/null included). @on_close runs when stdin ended and every answer was
 * written, or when writing failed (nr_conn_failed tells which).
 */
int nr_conn_stdio(struct nr_service *svc, void (*on_close)(struct nr_conn *conn));

/* Whether @conn ended through an error or a limit rather than a clean EOF
 * with every answer written. For on_close callbacks. */
bool nr_conn_failed(const struct nr_conn *conn);

/* Connections not yet freed (closing ones included). */
size_t nr_conn_count(void);

/*
 * Graceful shutdown: every connection stops reading and drains: calls that
 * never reached a device end with Cancelled, calls on a device are answered
 * with its outcome (see nr_session_shutdown; @force also ends running reads),
 * and each connection closes once its answers are written. Returns the number
 * of calls still in flight.
 */
size_t nr_conn_shutdown_all(bool force);

/* Closes every open connection at once (nothing left to answer). */
void nr_conn_close_all(void);

#endif
