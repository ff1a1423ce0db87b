/* SPDX-License-Identifier: MIT */
/*
 * Connections: bytes in through the framer, values to the dispatcher,
 * answers out through uv_write. The connection is freed only in the close
 * callback of its last handle, after the session has let go of its calls.
 */
#include "conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "framing.h"
#include "log.h"
#include "rpc_error.h"

#define READ_BUFFER_SIZE 65536

enum conn_state {
	CONN_OPEN,
	CONN_DRAINING, /* input ended: answer what is in flight, then close */
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
	uv_pipe_t in;
	uv_pipe_t out; /* stdio mode only; otherwise in is both ways */
	uv_stream_t *writer;
	int handles_open;
	struct nr_framer framer;
	/* Answers produced while one read is being served are gathered here and
	 * written once when the read callback returns. */
	bool in_read;
	struct nr_buf gathered;
	void (*on_close)(struct nr_conn *conn);
	struct nr_conn *next;
	char read_buf[READ_BUFFER_SIZE];
};

struct write_req {
	uv_write_t req;
	char *text;
};

static struct nr_conn *conns;

static void conn_close(struct nr_conn *conn);
static void conn_idle(struct nr_session *session);

static bool conn_value(void *opaque, const char *text, size_t len)
{
	struct nr_conn *conn = opaque;
	json_error_t jerr;
	json_t *value;

	if (conn->state == CONN_CLOSING)
		return true;
	value = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!value) {
		nr_session_send_error(&conn->session, NR_E_PARSE, jerr.text);
		return true;
	}
	nr_session_handle(&conn->session, value);
	json_decref(value);
	return false;
}

static void conn_frame_error(void *opaque, enum nr_frame_error error, const char *reason)
{
	struct nr_conn *conn = opaque;

	if (conn->state == CONN_CLOSING)
		return;
	nr_session_send_error(
	    &conn->session, error == NR_FRAME_TOO_LONG ? NR_E_INVALID_REQUEST : NR_E_PARSE, reason);
}

static const struct nr_framer_ops framer_ops = {
    .value = conn_value,
    .error = conn_frame_error,
};

static void write_done(uv_write_t *req, int status)
{
	struct write_req *wr = (struct write_req *)req;
	struct nr_conn *conn = req->data;

	free(wr->text);
	free(wr);
	if (status < 0) {
		nr_log(NR_LOG_DEBUG, "write failed: %s", uv_strerror(status));
		return conn_close(conn);
	}
	if (conn->state == CONN_CLOSING)
		return;
	if (uv_stream_get_write_queue_size(conn->writer) <=
	    conn->session.svc->limits.write_buffer / 2)
		nr_session_drained(&conn->session);
	conn_idle(&conn->session);
}

/* Skips @n written bytes at the front of @bufs. Returns the buffers left. */
static unsigned bufs_advance(uv_buf_t *bufs, unsigned nbufs, size_t n, uv_buf_t **rest)
{
	while (nbufs > 0 && n >= bufs->len) {
		n -= bufs->len;
		bufs++;
		nbufs--;
	}
	if (nbufs > 0) {
		bufs->base += n;
		bufs->len -= n;
	}
	*rest = bufs;
	return nbufs;
}

/*
 * Writes @nbufs buffers; @owned is freed once they are written. When nothing
 * is queued it first tries a direct write, which saves a request, a callback
 * and an epoll update per answer. Returns 0 or -errno.
 */
static int conn_write(struct nr_conn *conn, char *owned, uv_buf_t *bufs, unsigned nbufs)
{
	struct write_req *wr;
	int rc;

	if (uv_stream_get_write_queue_size(conn->writer) == 0) {
		rc = uv_try_write(conn->writer, bufs, nbufs);
		if (rc < 0 && rc != UV_EAGAIN) {
			free(owned);
			return rc;
		}
		nbufs = bufs_advance(bufs, nbufs, rc > 0 ? (size_t)rc : 0, &bufs);
		if (nbufs == 0) {
			free(owned);
			return 0;
		}
	}
	wr = malloc(sizeof(*wr));
	if (!wr) {
		free(owned);
		return -ENOMEM;
	}
	wr->text = owned;
	wr->req.data = conn;
	rc = uv_write(&wr->req, conn->writer, bufs, nbufs, write_done);
	if (rc < 0) {
		free(owned);
		free(wr);
	}
	return rc;
}

/* Writes what was gathered during a read. Returns 0 or -errno. */
static int conn_flush(struct nr_conn *conn)
{
	size_t len;
	char *owned = nr_buf_take(&conn->gathered, &len);
	uv_buf_t buf = uv_buf_init(owned, (unsigned)len);

	return len ? conn_write(conn, owned, &buf, 1) : 0;
}

static int gather(struct nr_conn *conn, const char *text, size_t len)
{
	int rc = nr_buf_append(&conn->gathered, text, len);

	return rc ? rc : nr_buf_putc(&conn->gathered, '\n');
}

static int conn_send(struct nr_session *session, char *text, size_t len)
{
	struct nr_conn *conn = (struct nr_conn *)session;
	uv_buf_t bufs[2];
	int rc;

	if (conn->state == CONN_CLOSING) {
		free(text);
		return -EPIPE;
	}
	if (conn->in_read || conn->gathered.len > 0) {
		rc = gather(conn, text, len);
		free(text);
		if (rc == 0 && !conn->in_read)
			rc = conn_flush(conn);
	} else {
		bufs[0] = uv_buf_init(text, (unsigned)len);
		bufs[1] = uv_buf_init("\n", 1);
		rc = conn_write(conn, text, bufs, 2);
	}
	if (rc < 0)
		conn_close(conn);
	return rc;
}

static size_t conn_unsent(struct nr_session *session)
{
	struct nr_conn *conn = (struct nr_conn *)session;

	return uv_stream_get_write_queue_size(conn->writer) + conn->gathered.len;
}

/* Closes a draining connection once nothing is in flight or unsent. */
static void conn_idle(struct nr_session *session)
{
	struct nr_conn *conn = (struct nr_conn *)session;

	if (conn->state == CONN_DRAINING && !session->calls &&
	    uv_stream_get_write_queue_size(conn->writer) == 0)
		conn_close(conn);
}

static const struct nr_session_ops session_ops = {
    .send = conn_send,
    .unsent = conn_unsent,
    .idle = conn_idle,
};

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	struct nr_conn *conn = handle->data;

	*buf = uv_buf_init(conn->read_buf, sizeof(conn->read_buf));
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct nr_conn *conn = stream->data;
	int rc;

	if (nread > 0) {
		conn->in_read = true;
		rc = nr_framer_feed(&conn->framer, buf->base, (size_t)nread);
		conn->in_read = false;
		if (rc == 0 && conn->state != CONN_CLOSING)
			rc = conn_flush(conn);
		if (rc)
			conn_close(conn);
		return;
	}
	if (nread == 0)
		return;
	uv_read_stop(stream);
	if (nread != UV_EOF || conn->state != CONN_OPEN)
		return conn_close(conn);
	nr_framer_finish(&conn->framer);
	conn->state = CONN_DRAINING;
	nr_log(NR_LOG_DEBUG, "connection %p: %s", (void *)conn, conn_state_names[conn->state]);
	conn_idle(&conn->session);
}

static void handle_closed(uv_handle_t *handle)
{
	struct nr_conn *conn = handle->data;
	struct nr_conn **link;

	if (--conn->handles_open > 0)
		return;
	for (link = &conns; *link; link = &(*link)->next) {
		if (*link == conn) {
			*link = conn->next;
			break;
		}
	}
	conn->session.svc->stats.connections--;
	nr_framer_fini(&conn->framer);
	nr_buf_free(&conn->gathered);
	if (conn->on_close)
		conn->on_close(conn);
	free(conn);
}

static void conn_close(struct nr_conn *conn)
{
	if (conn->state == CONN_CLOSING)
		return;
	conn->state = CONN_CLOSING;
	nr_session_close(&conn->session);
	uv_close((uv_handle_t *)&conn->in, handle_closed);
	if ((uv_stream_t *)&conn->out == conn->writer)
		uv_close((uv_handle_t *)&conn->out, handle_closed);
}

void nr_conn_close_all(void)
{
	for (struct nr_conn *conn = conns; conn; conn = conn->next)
		conn_close(conn);
}

static struct nr_conn *conn_new(struct nr_service *svc, void (*on_close)(struct nr_conn *conn))
{
	struct nr_conn *conn = calloc(1, sizeof(*conn));

	if (!conn)
		return NULL;
	conn->session.ops = &session_ops;
	conn->session.svc = svc;
	conn->on_close = on_close;
	conn->in.data = conn;
	conn->out.data = conn;
	conn->writer = (uv_stream_t *)&conn->in;
	nr_framer_init(&conn->framer, &framer_ops, conn, svc->limits.max_line);
	return conn;
}

static void conn_register(struct nr_conn *conn)
{
	conn->next = conns;
	conns = conn;
	conn->session.svc->stats.connections++;
	conn->session.svc->stats.connections_total++;
}

static void peer_credentials(struct nr_conn *conn)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uv_os_fd_t fd;

	/* Unknown credentials get the least privilege. */
	conn->session.peer = (struct nr_peer){.uid = (uid_t)-1, .gid = (gid_t)-1, .pid = 0};
	if (uv_fileno((uv_handle_t *)&conn->in, &fd) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		conn->session.peer = (struct nr_peer){cred.uid, cred.gid, cred.pid};
}

int nr_conn_accept(struct nr_service *svc, uv_stream_t *listener,
		   void (*on_close)(struct nr_conn *conn))
{
	struct nr_conn *conn = conn_new(svc, on_close);
	int rc;

	if (!conn)
		return -ENOMEM;
	uv_pipe_init(svc->loop, &conn->in, 0);
	conn->handles_open = 1;
	conn_register(conn);
	rc = uv_accept(listener, (uv_stream_t *)&conn->in);
	if (rc == 0) {
		peer_credentials(conn);
		nr_log(NR_LOG_DEBUG, "connection from uid %d pid %d", (int)conn->session.peer.uid,
		       (int)conn->session.peer.pid);
		rc = uv_read_start((uv_stream_t *)&conn->in, alloc_cb, read_cb);
	}
	if (rc)
		conn_close(conn);
	return rc;
}

int nr_conn_stdio(struct nr_service *svc, void (*on_close)(struct nr_conn *conn))
{
	struct nr_conn *conn = conn_new(svc, on_close);
	int rc;

	if (!conn)
		return -ENOMEM;
	uv_pipe_init(svc->loop, &conn->in, 0);
	uv_pipe_init(svc->loop, &conn->out, 0);
	conn->handles_open = 2;
	conn->writer = (uv_stream_t *)&conn->out;
	conn_register(conn);
	/* The peer is whoever started us (ssh host nvmerpcd --stdio): our own uid. */
	conn->session.peer = (struct nr_peer){getuid(), getgid(), getppid()};
	rc = uv_pipe_open(&conn->in, 0);
	if (rc == 0)
		rc = uv_pipe_open(&conn->out, 1);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&conn->in, alloc_cb, read_cb);
	if (rc)
		conn_close(conn);
	return rc;
}
