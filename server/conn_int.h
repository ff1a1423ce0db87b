/* SPDX-License-Identifier: MIT */
/*
 * The connection's insides, shared by conn.c (reading, writing, closing,
 * timeouts) and conn_open.c (accepting with limits, stdio). Loop thread.
 */
#ifndef NR_CONN_INT_H
#define NR_CONN_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "util/buf.h"
#include "rpc/call.h"
#include "framing.h"

#define READ_BUFFER_SIZE 65536

/* States only move forward: open → draining → closing (conn_set_state). */
enum conn_state {
	CONN_OPEN,
	CONN_DRAINING, /* no more input: answer what is in flight, then close */
	CONN_CLOSING,
};

static const char *const conn_state_names[] = {
    [CONN_OPEN] = "open",
    [CONN_DRAINING] = "draining",
    [CONN_CLOSING] = "closing",
};

struct nr_conn {
	struct nr_session session; /* first: the session ops cast back */
	enum conn_state state;
	uv_pipe_t in;	     /* the socket, or stdin when it is a pipe or socket */
	uv_pipe_t out;	     /* stdio mode with stdout a pipe or socket */
	uv_prepare_t anchor; /* stdio mode with both ends files: the handle to close */
	uv_stream_t *writer; /* NULL when answers go to a file (out_fd) */
	int out_fd;	     /* stdout when it is a file: written synchronously; else -1 */
	bool in_file;	     /* stdin is a file: read with uv_fs_read, not polled */
	bool file_reading;   /* file_req in flight: the connection outlives it */
	uv_fs_t file_req;
	int handles_open;
	struct nr_framer framer;
	/* Answers produced while one read is being served are gathered here and
	 * written once when the read callback returns. */
	bool in_read;
	struct nr_buf gathered;
	bool input_held; /* unsent answers above the bound: input stopped */
	size_t held_off; /* bytes of read_buf not fed yet while held */
	size_t held_len;
	bool timeouts;	      /* line and idle timeouts apply (sockets) */
	uint64_t line_since;  /* uv_now when the unfinished line began; 0: none */
	uint64_t active_at;   /* uv_now of the last input or written answer */
	size_t input_charged; /* framer bytes counted in input_total */
	bool failed;	      /* ended by an error or a limit, not by the peer's EOF */
	void (*on_close)(struct nr_conn *conn);
	struct nr_conn *next;
	char read_buf[READ_BUFFER_SIZE];
};

/* A new connection, listed and counted, its peer and handles still to set.
 * Returns NULL when out of memory. */
struct nr_conn *conn_new(struct nr_service *svc, void (*on_close)(struct nr_conn *conn));

/* Reads (again) unless input is held, ended or already being read. */
void conn_input_start(struct nr_conn *conn);

/* Ends the connection through an error or a limit (not a clean EOF). */
void conn_fail(struct nr_conn *conn);

/* Starts the timer applying the line, idle and drain timeouts (once). */
void conn_sweep_start(uv_loop_t *loop);

/* Connections (not yet freed) of peer @uid. */
size_t conn_count_uid(uid_t uid);

#endif
