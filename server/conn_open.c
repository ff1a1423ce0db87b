/* SPDX-License-Identifier: MIT */
/*
 * Opening connections: a socket accepted under the connection limits, with
 * the peer's credentials from the kernel; or stdin/stdout, whatever they are.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "conn_int.h"
#include "util/log.h"
#include "rpc/rpc_error.h"

/* Reads the peer's supplementary groups into @peer: the first
 * NR_PEER_GROUPS_MAX of them (fewer groups can only take permissions away). */
static void peer_groups(int fd, struct nr_peer *peer)
{
	socklen_t len = sizeof(peer->groups);
	gid_t *all;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, peer->groups, &len) == 0) {
		peer->ngroups = (unsigned)(len / sizeof(gid_t));
		return;
	}
	/* ERANGE: nothing was copied; len is the size needed. */
	if (errno != ERANGE || !(all = malloc(len)))
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, all, &len) == 0) {
		peer->ngroups = NR_PEER_GROUPS_MAX;
		memcpy(peer->groups, all, sizeof(peer->groups));
	}
	free(all);
}

/* The peer's uid, gid, pid and supplementary groups, from the kernel. */
static void peer_credentials(int fd, struct nr_peer *peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	memset(peer, 0, sizeof(*peer));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		/* Unknown credentials get the least privilege. */
		peer->uid = (uid_t)-1;
		peer->gid = (gid_t)-1;
		return;
	}
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	peer->pid = cred.pid;
	peer_groups(fd, peer);
}

/* The limit a new connection from @uid would exceed, or NULL. */
static const char *connection_limit(const struct nr_service *svc, uid_t uid, uint32_t *value)
{
	*value = svc->limits.max_connections;
	if (nr_conn_count() >= *value + (uid == 0 ? NR_ROOT_RESERVED_CONNECTIONS : 0))
		return "max-connections";
	if (uid == 0)
		return NULL;
	*value = svc->limits.max_connections_per_uid;
	return conn_count_uid(uid) >= *value ? "max-connections-per-uid" : NULL;
}

/* Tells a refused client why in one JSON-RPC error line, then closes @fd.
 * The write never blocks: a new socket's buffer takes one line. */
static void refuse(int fd, const char *limit, uint32_t value)
{
	char reason[128];
	json_t *response;
	char *text;

	snprintf(reason, sizeof(reason), "too many connections (--%s %u)", limit, value);
	response = json_pack("{s:s, s:n, s:o}", "jsonrpc", "2.0", "id", "error",
			     nr_rpc_error_object(NR_E_SERVER_BUSY, reason,
						 json_pack("{s:s, s:i}", "limit", limit, "value",
							   (json_int_t)value)));
	text = response ? json_dumps(response, JSON_COMPACT) : NULL;
	json_decref(response);
	if (text) {
		size_t len = strlen(text);
		text[len] = '\n';
		(void)!send(fd, text, len + 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		free(text);
	}
	close(fd);
}

int nr_conn_accept(struct nr_service *svc, int fd, void (*on_close)(struct nr_conn *conn))
{
	struct nr_peer peer;
	struct nr_conn *conn;
	const char *limit;
	uint32_t value;
	int rc;

	peer_credentials(fd, &peer);
	limit = connection_limit(svc, peer.uid, &value);
	if (limit) {
		nr_log(NR_LOG_WARN, "connection from uid %d pid %d refused: --%s %u reached",
		       (int)peer.uid, (int)peer.pid, limit, value);
		refuse(fd, limit, value);
		return -EBUSY;
	}
	conn = conn_new(svc, on_close);
	if (!conn) {
		close(fd);
		return -ENOMEM;
	}
	conn->session.peer = peer;
	conn->timeouts = true;
	uv_pipe_init(svc->loop, &conn->in, 0);
	conn->handles_open = 1;
	rc = uv_pipe_open(&conn->in, fd);
	if (rc) {
		close(fd);
		conn_fail(conn);
		return rc;
	}
	nr_log(NR_LOG_DEBUG, "connection from uid %d pid %d", (int)peer.uid, (int)peer.pid);
	conn_sweep_start(svc->loop);
	conn_input_start(conn);
	return 0;
}

/* Opens stdout: a pipe or socket is written through libuv, anything else
 * (a regular file, /dev/null) synchronously. Returns 0 or -errno. */
static int stdio_open_out(struct nr_conn *conn, uv_loop_t *loop)
{
	if (uv_guess_handle(1) == UV_FILE) {
		conn->writer = NULL;
		conn->out_fd = 1;
		return 0;
	}
	uv_pipe_init(loop, &conn->out, 0);
	conn->handles_open++;
	conn->writer = (uv_stream_t *)&conn->out;
	return uv_pipe_open(&conn->out, 1);
}

/* Opens stdin: a file (which epoll cannot watch) is read with uv_fs_read on
 * the pool; a pipe, socket or terminal through libuv. Returns 0 or -errno. */
static int stdio_open_in(struct nr_conn *conn, uv_loop_t *loop)
{
	if (uv_guess_handle(0) == UV_FILE) {
		conn->in_file = true;
		/* Something to close when the connection ends, if stdout is a file too. */
		uv_prepare_init(loop, &conn->anchor);
		conn->anchor.data = conn;
		conn->handles_open++;
		return 0;
	}
	uv_pipe_init(loop, &conn->in, 0);
	conn->handles_open++;
	return uv_pipe_open(&conn->in, 0);
}

int nr_conn_stdio(struct nr_service *svc, void (*on_close)(struct nr_conn *conn))
{
	struct nr_conn *conn = conn_new(svc, on_close);
	int rc;

	if (!conn)
		return -ENOMEM;
	/* The peer is whoever started us (ssh host nvmerpcd --stdio): our own uid. */
	conn->session.peer = (struct nr_peer){.uid = getuid(), .gid = getgid(), .pid = getppid()};
	rc = getgroups(NR_PEER_GROUPS_MAX, conn->session.peer.groups);
	conn->session.peer.ngroups = rc > 0 ? (unsigned)rc : 0;
	rc = stdio_open_in(conn, svc->loop);
	if (rc == 0)
		rc = stdio_open_out(conn, svc->loop);
	if (rc == 0)
		conn_input_start(conn);
	if (rc)
		conn_fail(conn);
	return rc;
}
