/* SPDX-License-Identifier: MIT */
/*
 * echo_server: the throughput ceiling nrbench compares nvmerpcd against.
 *
 * It does the least an NDJSON JSON-RPC server must do on a Unix socket and
 * nothing more: read bytes, split them at newlines, and write every complete
 * line back. Lines found in one read are answered with one write, which is
 * what a server that coalesces its replies can reach; no JSON is parsed.
 *
 * Usage: echo_server SOCKET_PATH
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, memrchr, getopt_long, mkdtemp */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

/* A connection's input buffer starts here and doubles up to the limit. */
#define ECHO_INBUF_INITIAL (64 * 1024)
#define ECHO_INBUF_MAX (16 * 1024 * 1024)
/* Reading stops while more than this many reply bytes wait for the socket. */
#define ECHO_WRITE_QUEUE_MAX (1024 * 1024)

struct echo_conn {
	uv_pipe_t pipe;
	char *inbuf;
	size_t inbuf_len;
	size_t inbuf_cap;
};

struct echo_write {
	uv_write_t req;
	char data[];
};

static uv_pipe_t listener;
static uv_signal_t sigint_handle;
static uv_signal_t sigterm_handle;
static const char *socket_path;

static void conn_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

/* Frees the connection once libuv no longer refers to its handle. */
static void conn_close_cb(uv_handle_t *handle)
{
	struct echo_conn *conn = handle->data;

	free(conn->inbuf);
	free(conn);
}

static void conn_close(struct echo_conn *conn)
{
	if (!uv_is_closing((uv_handle_t *)&conn->pipe))
		uv_close((uv_handle_t *)&conn->pipe, conn_close_cb);
}

/* Hands libuv the free tail of the input buffer, growing it when full. */
static void conn_alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	struct echo_conn *conn = handle->data;
	char *grown;

	(void)suggested;
	*buf = uv_buf_init(NULL, 0);
	if (conn->inbuf_len == conn->inbuf_cap) {
		if (conn->inbuf_cap >= ECHO_INBUF_MAX)
			return; /* libuv reports UV_ENOBUFS and the line is dropped. */
		grown = realloc(conn->inbuf, conn->inbuf_cap * 2);
		if (grown == NULL)
			return;
		conn->inbuf = grown;
		conn->inbuf_cap *= 2;
	}
	*buf = uv_buf_init(conn->inbuf + conn->inbuf_len, conn->inbuf_cap - conn->inbuf_len);
}

/* Resumes reading once the queued replies have drained below the limit. */
static void conn_write_cb(uv_write_t *req, int status)
{
	struct echo_conn *conn = req->handle->data;

	free(req);
	if (status < 0) {
		conn_close(conn);
		return;
	}
	if (conn->pipe.write_queue_size <= ECHO_WRITE_QUEUE_MAX &&
	    !uv_is_closing((uv_handle_t *)&conn->pipe))
		uv_read_start((uv_stream_t *)&conn->pipe, conn_alloc_cb, conn_read_cb);
}

/*
 * Writes @len bytes, without a copy when the socket takes them at once.
 * Returns 0 or a negative libuv error.
 */
static int conn_write(struct echo_conn *conn, const char *data, size_t len)
{
	uv_buf_t buf = uv_buf_init((char *)data, len);
	struct echo_write *wr;
	int written;

	written = uv_try_write((uv_stream_t *)&conn->pipe, &buf, 1);
	if (written == UV_EAGAIN)
		written = 0;
	if (written < 0)
		return written;
	if ((size_t)written == len)
		return 0;
	wr = malloc(sizeof(*wr) + len - written);
	if (wr == NULL)
		return UV_ENOMEM;
	memcpy(wr->data, data + written, len - written);
	buf = uv_buf_init(wr->data, len - written);
	written = uv_write(&wr->req, (uv_stream_t *)&conn->pipe, &buf, 1, conn_write_cb);
	if (written < 0) {
		free(wr);
		return written;
	}
	if (conn->pipe.write_queue_size > ECHO_WRITE_QUEUE_MAX)
		uv_read_stop((uv_stream_t *)&conn->pipe);
	return 0;
}

/*
 * Echoes every complete line in the input buffer and keeps the partial tail.
 * Each line is copied into a reply buffer, as a server must build its reply
 * somewhere other than its input. Returns 0 or a negative libuv error.
 */
static int conn_echo_lines(struct echo_conn *conn)
{
	const char *newline = memrchr(conn->inbuf, '\n', conn->inbuf_len);
	const char *line = conn->inbuf;
	const char *end;
	size_t done, reply_len = 0;
	char *reply;
	int rc;

	if (newline == NULL)
		return 0;
	done = (size_t)(newline - conn->inbuf) + 1;
	reply = malloc(done);
	if (reply == NULL)
		return UV_ENOMEM;
	while ((end = memchr(line, '\n', conn->inbuf + done - line)) != NULL) {
		memcpy(reply + reply_len, line, end - line + 1);
		reply_len += end - line + 1;
		line = end + 1;
	}
	rc = conn_write(conn, reply, reply_len);
	free(reply);
	memmove(conn->inbuf, conn->inbuf + done, conn->inbuf_len - done);
	conn->inbuf_len -= done;
	return rc;
}

static void conn_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct echo_conn *conn = stream->data;

	(void)buf; /* It points into conn->inbuf, past inbuf_len. */
	if (nread < 0) {
		conn_close(conn);
		return;
	}
	conn->inbuf_len += (size_t)nread;
	if (conn_echo_lines(conn) < 0)
		conn_close(conn);
}

/* Accepts one client; a client that cannot be set up is closed, not fatal. */
static void listener_connection_cb(uv_stream_t *server, int status)
{
	struct echo_conn *conn;

	if (status < 0)
		return;
	conn = calloc(1, sizeof(*conn));
	if (conn == NULL)
		return;
	conn->inbuf_cap = ECHO_INBUF_INITIAL;
	conn->inbuf = malloc(conn->inbuf_cap);
	uv_pipe_init(server->loop, &conn->pipe, 0);
	conn->pipe.data = conn;
	if (conn->inbuf == NULL || uv_accept(server, (uv_stream_t *)&conn->pipe) < 0) {
		conn_close(conn);
		return;
	}
	if (uv_read_start((uv_stream_t *)&conn->pipe, conn_alloc_cb, conn_read_cb) < 0)
		conn_close(conn);
}

static void close_walk_cb(uv_handle_t *handle, void *arg)
{
	(void)arg;
	if (uv_is_closing(handle))
		return;
	if (handle->type == UV_NAMED_PIPE && handle != (uv_handle_t *)&listener)
		conn_close(handle->data);
	else
		uv_close(handle, NULL);
}

/* SIGINT or SIGTERM: close everything so uv_run returns and the socket goes. */
static void signal_cb(uv_signal_t *handle, int signum)
{
	(void)signum;
	uv_walk(handle->loop, close_walk_cb, NULL);
}

static int echo_listen(uv_loop_t *loop, const char *path)
{
	int rc;

	rc = uv_pipe_init(loop, &listener, 0);
	if (rc == 0)
		rc = uv_pipe_bind(&listener, path);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&listener, 128, listener_connection_cb);
	if (rc == 0)
		rc = uv_signal_init(loop, &sigint_handle);
	if (rc == 0)
		rc = uv_signal_start(&sigint_handle, signal_cb, SIGINT);
	if (rc == 0)
		rc = uv_signal_init(loop, &sigterm_handle);
	if (rc == 0)
		rc = uv_signal_start(&sigterm_handle, signal_cb, SIGTERM);
	return rc;
}

int main(int argc, char **argv)
{
	uv_loop_t *loop = uv_default_loop();
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET_PATH\n", argv[0]);
		return 2;
	}
	socket_path = argv[1];
	rc = echo_listen(loop, socket_path);
	if (rc < 0) {
		fprintf(stderr, "echo_server: %s: %s\n", socket_path, uv_strerror(rc));
		return 1;
	}
	uv_run(loop, UV_RUN_DEFAULT);
	unlink(socket_path);
	uv_loop_close(loop);
	return 0;
}
