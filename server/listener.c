/* SPDX-License-Identifier: MIT */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"

#define LISTEN_BACKLOG 128

static uv_pipe_t listener;
static bool listening;
static int lock_fd = -1;
static char socket_path[PATH_MAX];

static void on_connection(uv_stream_t *server, int status)
{
	struct nr_service *svc = server->data;
	int rc;

	if (status < 0) {
		nr_log(NR_LOG_WARN, "accept: %s", uv_strerror(status));
		return;
	}
	rc = nr_conn_accept(svc, server, NULL);
	if (rc)
		nr_log(NR_LOG_WARN, "accept: %s", uv_strerror(rc));
}

static int lock_take(const char *path)
{
	char lock_path[PATH_MAX];

	if (snprintf(lock_path, sizeof(lock_path), "%s.lock", path) >= (int)sizeof(lock_path))
		return -ENAMETOOLONG;
	lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0)
		return -errno;
	if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
		int err = errno;
		close(lock_fd);
		lock_fd = -1;
		return err == EWOULDBLOCK ? -EADDRINUSE : -err;
	}
	return 0;
}

int nr_listener_start(struct nr_service *svc, const char *path)
{
	int rc;

	if (snprintf(socket_path, sizeof(socket_path), "%s", path) >= (int)sizeof(socket_path))
		return -ENAMETOOLONG;
	rc = lock_take(path);
	if (rc)
		return rc;
	/* We hold the lock: any socket file left there is stale. */
	if (unlink(path) != 0 && errno != ENOENT)
		return -errno;
	uv_pipe_init(svc->loop, &listener, 0);
	listener.data = svc;
	listening = true;
	rc = uv_pipe_bind(&listener, path);
	if (rc == 0 && chmod(path, 0666) != 0)
		rc = -errno;
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&listener, LISTEN_BACKLOG, on_connection);
	return rc;
}

void nr_listener_stop(void)
{
	if (!listening)
		return;
	listening = false;
	uv_close((uv_handle_t *)&listener, NULL);
	unlink(socket_path);
	if (lock_fd >= 0)
		close(lock_fd);
	lock_fd = -1;
}
