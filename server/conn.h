/* SPDX-License-Identifier: MIT */
/* A peer connection: a Unix socket client, or stdin/stdout in --stdio mode. */
#ifndef NR_CONN_H
#define NR_CONN_H

#include <uv.h>

#include "call.h"

struct nr_conn;

/*
 * Accepts a client from @listener and starts reading. Returns 0 or -errno.
 * @on_close runs when the connection is gone (after its handles closed).
 */
int nr_conn_accept(struct nr_service *svc, uv_stream_t *listener,
		   void (*on_close)(struct nr_conn *conn));

/* Serves stdin/stdout. @on_close runs when stdin ended and every answer was written. */
int nr_conn_stdio(struct nr_service *svc, void (*on_close)(struct nr_conn *conn));

/* Closes every open connection (shutdown). */
void nr_conn_close_all(void);

#endif
