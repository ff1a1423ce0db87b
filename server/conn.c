/* SPDX-License-Identifier: MIT */
/*
 * Connections: bytes in through the framer, values to the dispatcher,
 * answers out through uv_write. The connection is freed only in the close
 * callback of its last handle (and never while a file read is in flight),
 * after the session has let go of its calls.
 *
 * What one client may cost is bounded here: unsent answers above the write
 * bound stop its input until the peer reads; unfinished lines count against
 * a budget shared by every connection and must end within the line timeout;
 * a connection with nothing to do is closed after the idle timeout.
 */
#include "conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/buf.h"
#include "conn_int.h"
#include "framing.h"
#include "util/log.h"
#include "rpc/rpc_error.h"
#include "rpc/rpc_text.h"

#define SWEEP_INTERVAL_MS 1000
/* How long a connection that will read no more may take to accept its last
 * answers: a peer that never reads does not hold the slot forever. */
#define DRAIN_TIMEOUT_MS 10000

struct write_req {
	uv_write_t req;
	char *text;
};

static struct nr_conn *conns;
static size_t conn_count;
static size_t input_total; /* bytes of unfinished lines, all connections */
static uv_timer_t sweep_timer;
static bool sweep_started;

static void conn_close(struct nr_conn *conn);
static void conn_idle(struct nr_session *session);

/*
 * Moves @conn to @to. States only move forward, and nothing leaves CLOSING:
 * a late EOF or write error cannot reopen a connection being closed.
 * Returns true when the state changed.
 */
static bool conn_set_state(struct nr_conn *conn, enum conn_state to)
{
	if (to <= conn->state)
		return false;
	nr_log(NR_LOG_DEBUG, "connection %p: %s -> %s", (void *)conn, conn_state_names[conn->state],
	       conn_state_names[to]);
	conn->state = to;
	return true;
}

static uint64_t conn_now(const struct nr_conn *conn)
{
	return uv_now(conn->session.svc->loop);
}

static size_t conn_queued(const struct nr_conn *conn)
{
	return conn->writer ? uv_stream_get_write_queue_size(conn->writer) : 0;
}

static size_t conn_unsent(struct nr_session *session)
{
	struct nr_conn *conn = (struct nr_conn *)session;

	return conn_queued(conn) + conn->gathered.len;
}

/* Whether what waits for the peer to drain (paused streams, held input) may
 * go on: half the write bound or less is still queued. */
static bool conn_drained(const struct nr_conn *conn)
{
	return conn_queued(conn) <= conn->session.svc->limits.write_buffer / 2;
}

static bool conn_backlogged(struct nr_conn *conn)
{
	return conn_unsent(&conn->session) > conn->session.svc->limits.write_buffer;
}

static bool conn_value(void *opaque, const char *text, size_t len)
{
	struct nr_conn *conn = opaque;
	struct nr_rpc_text_error err;
	json_t *value;

	if (conn->state == CONN_CLOSING)
		return true;
	/* The plain form of a request is read without a jansson tree. */
	if (!nr_session_handle_text(&conn->session, text, len)) {
		value = nr_rpc_text_load(text, len, &err);
		if (!value) {
			nr_session_send_error(&conn->session, err.code, err.reason, NULL);
			return err.code == NR_E_PARSE;
		}
		nr_session_handle(&conn->session, value);
		json_decref(value);
	}
	/* A client that sends faster than it reads stops being read. */
	if (conn_backlogged(conn) || conn->state == CONN_CLOSING)
		conn->framer.hold = true;
	return false;
}

static void conn_frame_error(void *opaque, enum nr_frame_error error, const char *reason)
{
	struct nr_conn *conn = opaque;
	const struct nr_limits *limits = &conn->session.svc->limits;
	json_t *data = NULL;

	if (conn->state == CONN_CLOSING)
		return;
	/* A limit is named in data.limit and data.value, as every other is. */
	if (error == NR_FRAME_TOO_LONG)
		data = json_pack("{s:s, s:I}", "limit", "max-line", "value",
				 (json_int_t)limits->max_line);
	else if (error == NR_FRAME_TOO_DEEP)
		data = json_pack("{s:s, s:I}", "limit", "max-depth", "value",
				 (json_int_t)limits->max_depth);
	nr_session_send_error(&conn->session,
			      error == NR_FRAME_PARSE ? NR_E_PARSE : NR_E_INVALID_REQUEST, reason,
			      data);
}

static const struct nr_framer_ops framer_ops = {
    .value = conn_value,
    .error = conn_frame_error,
};

/* A write failed or a limit was hit: the connection ends, not cleanly. */
void conn_fail(struct nr_conn *conn)
{
	conn->failed = true;
	conn_close(conn);
}

/* Starts reading again once the peer took enough of its answers. */
static void input_resume(struct nr_conn *conn);

static void write_done(uv_write_t *req, int status)
{
	struct write_req *wr = (struct write_req *)req;
	struct nr_conn *conn = req->data;

	free(wr->text);
	free(wr);
	if (status < 0) {
		nr_log(NR_LOG_DEBUG, "write failed: %s", uv_strerror(status));
		conn_fail(conn);
		return;
	}
	if (conn->state == CONN_CLOSING)
		return;
	conn->active_at = conn_now(conn);
	if (conn_drained(conn)) {
		nr_session_drained(&conn->session);
		input_resume(conn);
	}
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

/* Writes @bufs to a file descriptor that is not polled (stdout redirected to
 * a file): a regular file takes every byte at once. Returns 0 or -errno. */
static int write_file(int fd, uv_buf_t *bufs, unsigned nbufs)
{
	while (nbufs > 0) {
		ssize_t n = write(fd, bufs->base, bufs->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		nbufs = bufs_advance(bufs, nbufs, (size_t)n, &bufs);
	}
	return 0;
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

	if (!conn->writer) {
		rc = write_file(conn->out_fd, bufs, nbufs);
		free(owned);
		return rc;
	}
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
		conn_fail(conn);
	return rc;
}

/* Closes a draining connection once nothing is in flight or unsent. */
static void conn_idle(struct nr_session *session)
{
	struct nr_conn *conn = (struct nr_conn *)session;

	if (conn->state == CONN_DRAINING && !session->calls && conn_queued(conn) == 0)
		conn_close(conn);
}

static const struct nr_session_ops session_ops = {
    .send = conn_send,
    .unsent = conn_unsent,
    .idle = conn_idle,
};

/* ---- input ------------------------------------------------------------- */

/*
 * Counts this connection's unfinished line in the budget shared by every
 * connection. Past the budget the line is dropped with ServerBusy: the
 * connection stays usable from its next line on.
 */
static void input_charge(struct nr_conn *conn)
{
	const struct nr_limits *limits = &conn->session.svc->limits;
	size_t now = conn->framer.value.len;

	input_total = input_total - conn->input_charged + now;
	conn->input_charged = now;
	if (input_total <= limits->max_input_total || now == 0)
		return;
	nr_framer_drop(&conn->framer);
	input_total -= conn->input_charged;
	conn->input_charged = 0;
	nr_log(NR_LOG_WARN,
	       "connection from uid %d: line dropped: unfinished input of all "
	       "clients is over --max-input-total (%u bytes)",
	       (int)conn->session.peer.uid, limits->max_input_total);
	nr_session_send_error(&conn->session, NR_E_SERVER_BUSY,
			      "the server's buffer for unfinished requests is full: the line was "
			      "dropped; retry",
			      json_pack("{s:s, s:i}", "limit", "max-input-total", "value",
					(json_int_t)limits->max_input_total));
}

/* Tracks when the current unfinished line began, for the line timeout. */
static void input_track_line(struct nr_conn *conn)
{
	if (!nr_framer_partial(&conn->framer))
		conn->line_since = 0;
	else if (!conn->line_since)
		conn->line_since = conn_now(conn);
}

static void input_stop(struct nr_conn *conn)
{
	if (!conn->in_file && conn->state != CONN_CLOSING)
		uv_read_stop((uv_stream_t *)&conn->in);
}

/*
 * Feeds @len bytes at @data (inside read_buf) to the framer, gathering the
 * answers into one write. When the framer was held (the peer does not read
 * its answers), the rest is kept for input_resume and input stops.
 */
/* One pass of input_feed. Returns false when the connection failed. */
static bool input_feed_once(struct nr_conn *conn, const char *data, size_t len)
{
	int rc;

	conn->active_at = conn_now(conn);
	conn->in_read = true;
	rc = nr_framer_feed(&conn->framer, data, len);
	conn->in_read = false;
	if (conn->state == CONN_CLOSING)
		return false;
	if (rc == 0 && conn->framer.hold) {
		conn->held_off = (size_t)(data - conn->read_buf) + conn->framer.fed;
		conn->held_len = len - conn->framer.fed;
		conn->input_held = true;
		input_stop(conn);
	}
	input_charge(conn);
	input_track_line(conn);
	if (rc == 0 && conn->state != CONN_CLOSING)
		rc = conn_flush(conn);
	if (rc)
		conn_fail(conn);
	return rc == 0 && conn->state != CONN_CLOSING;
}

/*
 * Feeds @len bytes at @data. The answers gathered meanwhile may have gone out
 * in the flush at once, and then no write callback comes to wake what waited
 * for the peer to drain: the streams paused while they were gathered (a
 * first chunk run on the loop thread) and the input held. Both go on here.
 */
static void input_feed(struct nr_conn *conn, const char *data, size_t len)
{
	bool resumed = false;

	while (input_feed_once(conn, data, len) && conn_drained(conn)) {
		if (conn->session.drain_waiters)
			nr_session_drained(&conn->session);
		if (conn->state != CONN_OPEN || !conn->input_held)
			break;
		conn->input_held = false;
		conn->framer.hold = false;
		resumed = true;
		data = conn->read_buf + conn->held_off;
		len = conn->held_len;
		conn->held_len = 0;
		if (len == 0)
			break;
	}
	if (resumed)
		conn_input_start(conn);
}

static void input_resume(struct nr_conn *conn)
{
	if (!conn->input_held || conn->state != CONN_OPEN)
		return;
	conn->input_held = false;
	conn->framer.hold = false;
	if (conn->held_len > 0) {
		size_t off = conn->held_off, len = conn->held_len;
		conn->held_len = 0;
		input_feed(conn, conn->read_buf + off, len);
	}
	if (!conn->input_held)
		conn_input_start(conn);
}

/* End of input: a pending scalar is served, then the connection drains. */
static void input_end(struct nr_conn *conn)
{
	if (conn->state != CONN_OPEN)
		return;
	conn->session.input_ended = true;
	conn->in_read = true;
	nr_framer_finish(&conn->framer);
	conn->in_read = false;
	input_charge(conn);
	conn->line_since = 0;
	if (conn->state == CONN_CLOSING)
		return;
	if (conn_flush(conn) != 0) {
		conn_fail(conn);
		return;
	}
	/* As in input_feed: the flush may have written at once what a stream
	 * paused for. */
	if (conn->session.drain_waiters && conn_drained(conn))
		nr_session_drained(&conn->session);
	if (conn->state == CONN_CLOSING)
		return;
	conn_set_state(conn, CONN_DRAINING);
	conn_idle(&conn->session);
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	struct nr_conn *conn = handle->data;

	*buf = uv_buf_init(conn->read_buf, sizeof(conn->read_buf));
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct nr_conn *conn = stream->data;

	if (nread > 0) {
		input_feed(conn, buf->base, (size_t)nread);
		return;
	}
	if (nread == 0)
		return;
	uv_read_stop(stream);
	if (nread == UV_EOF) {
		input_end(conn);
		return;
	}
	nr_log(NR_LOG_DEBUG, "read failed: %s", uv_strerror((int)nread));
	conn_fail(conn);
}

static void conn_free(struct nr_conn *conn);

static void file_read_done(uv_fs_t *req)
{
	struct nr_conn *conn = req->data;
	ssize_t n = req->result;

	uv_fs_req_cleanup(req);
	conn->file_reading = false;
	if (conn->state == CONN_CLOSING) {
		if (conn->handles_open == 0)
			conn_free(conn);
		return;
	}
	if (n > 0) {
		input_feed(conn, conn->read_buf, (size_t)n);
		conn_input_start(conn);
	} else if (n == 0) {
		input_end(conn);
	} else {
		nr_log(NR_LOG_ERROR, "stdin: %s", uv_strerror((int)n));
		conn_fail(conn);
	}
}

void conn_input_start(struct nr_conn *conn)
{
	uv_buf_t buf = uv_buf_init(conn->read_buf, sizeof(conn->read_buf));
	int rc;

	if (conn->state != CONN_OPEN || conn->input_held)
		return;
	if (!conn->in_file) {
		rc = uv_read_start((uv_stream_t *)&conn->in, alloc_cb, read_cb);
	} else if (conn->file_reading) {
		return;
	} else {
		conn->file_req.data = conn;
		rc = uv_fs_read(conn->session.svc->loop, &conn->file_req, 0, &buf, 1, -1,
				file_read_done);
		conn->file_reading = rc == 0;
	}
	if (rc && rc != UV_EALREADY) {
		nr_log(NR_LOG_ERROR, "reading: %s", uv_strerror(rc));
		conn_fail(conn);
	}
}

/* ---- life -------------------------------------------------------------- */

static void conn_free(struct nr_conn *conn)
{
	struct nr_conn **link;

	for (link = &conns; *link; link = &(*link)->next) {
		if (*link == conn) {
			*link = conn->next;
			break;
		}
	}
	conn_count--;
	conn->session.svc->stats.connections--;
	input_total -= conn->input_charged;
	nr_framer_fini(&conn->framer);
	nr_buf_free(&conn->gathered);
	if (conn->on_close)
		conn->on_close(conn);
	free(conn);
}

static void handle_closed(uv_handle_t *handle)
{
	struct nr_conn *conn = handle->data;

	if (--conn->handles_open > 0 || conn->file_reading)
		return;
	conn_free(conn);
}

static void conn_close(struct nr_conn *conn)
{
	if (!conn_set_state(conn, CONN_CLOSING))
		return;
	nr_session_close(&conn->session);
	if (conn->in_file && conn->file_reading)
		uv_cancel((uv_req_t *)&conn->file_req);
	uv_close(conn->in_file ? (uv_handle_t *)&conn->anchor : (uv_handle_t *)&conn->in,
		 handle_closed);
	if (conn->writer == (uv_stream_t *)&conn->out)
		uv_close((uv_handle_t *)&conn->out, handle_closed);
}

/* Whether a connection is waiting for its client and owes it nothing. */
static bool conn_is_idle(const struct nr_conn *conn)
{
	return conn->state == CONN_OPEN && !conn->session.calls && !conn->input_held &&
	       conn_queued(conn) == 0 && !nr_framer_partial(&conn->framer);
}

/* Applies the line, idle and drain timeouts to one connection. */
static void conn_sweep(struct nr_conn *conn, uint64_t now)
{
	const struct nr_limits *limits = &conn->session.svc->limits;
	char reason[96];

	if (!conn->timeouts || conn->state == CONN_CLOSING)
		return;
	if (conn->line_since && limits->line_timeout_ms &&
	    now - conn->line_since >= limits->line_timeout_ms) {
		snprintf(reason, sizeof(reason), "the request line was not completed within %u ms",
			 limits->line_timeout_ms);
		nr_log(NR_LOG_INFO, "connection from uid %d: %s: closed",
		       (int)conn->session.peer.uid, reason);
		nr_session_send_error(&conn->session, NR_E_INVALID_REQUEST, reason,
				      json_pack("{s:s, s:i}", "limit", "line-timeout-ms", "value",
						(json_int_t)limits->line_timeout_ms));
		conn_fail(conn);
	} else if (limits->idle_timeout_ms && conn_is_idle(conn) &&
		   now - conn->active_at >= limits->idle_timeout_ms) {
		nr_log(NR_LOG_DEBUG, "connection from uid %d: idle for %u ms: closed",
		       (int)conn->session.peer.uid, limits->idle_timeout_ms);
		conn_close(conn);
	} else if (conn->state == CONN_DRAINING && !conn->session.calls && conn_queued(conn) &&
		   now - conn->active_at >= DRAIN_TIMEOUT_MS) {
		nr_log(NR_LOG_INFO, "connection from uid %d: answers not read within %u ms: closed",
		       (int)conn->session.peer.uid, DRAIN_TIMEOUT_MS);
		conn_fail(conn);
	}
}

static void sweep(uv_timer_t *timer)
{
	uint64_t now = uv_now(timer->loop);

	/* Closing unlinks nothing here (that waits for the close callbacks). */
	for (struct nr_conn *conn = conns; conn; conn = conn->next)
		conn_sweep(conn, now);
}

void conn_sweep_start(uv_loop_t *loop)
{
	if (sweep_started)
		return;
	sweep_started = true;
	uv_timer_init(loop, &sweep_timer);
	uv_timer_start(&sweep_timer, sweep, SWEEP_INTERVAL_MS, SWEEP_INTERVAL_MS);
	uv_unref((uv_handle_t *)&sweep_timer); /* never keeps the loop alive */
}

void nr_conn_close_all(void)
{
	for (struct nr_conn *conn = conns; conn; conn = conn->next)
		conn_close(conn);
	if (sweep_started) {
		sweep_started = false;
		uv_close((uv_handle_t *)&sweep_timer, NULL);
	}
}

size_t nr_conn_shutdown_all(bool force)
{
	size_t live = 0;

	for (struct nr_conn *conn = conns; conn; conn = conn->next) {
		if (conn->state == CONN_CLOSING)
			continue;
		input_stop(conn);
		conn->line_since = 0;
		conn_set_state(conn, CONN_DRAINING);
		live += nr_session_shutdown(&conn->session, force);
		conn_idle(&conn->session);
	}
	return live;
}

size_t nr_conn_count(void)
{
	return conn_count;
}

size_t conn_count_uid(uid_t uid)
{
	size_t n = 0;

	for (const struct nr_conn *conn = conns; conn; conn = conn->next)
		n += conn->session.peer.uid == uid;
	return n;
}

bool nr_conn_failed(const struct nr_conn *conn)
{
	return conn->failed;
}

struct nr_conn *conn_new(struct nr_service *svc, void (*on_close)(struct nr_conn *conn))
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
	conn->out_fd = -1;
	conn->active_at = uv_now(svc->loop);
	nr_framer_init(&conn->framer, &framer_ops, conn, svc->limits.max_line,
		       svc->limits.max_depth);
	conn->next = conns;
	conns = conn;
	conn_count++;
	svc->stats.connections++;
	svc->stats.connections_total++;
	return conn;
}
