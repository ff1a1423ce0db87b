/* SPDX-License-Identifier: MIT */
/*
 * The listening socket is ours, not libuv's: libuv accepts and silently
 * drops connections once the process runs out of file descriptors (its
 * EMFILE trick), and gives no way to pause accepting. Here the listening
 * descriptor is polled, accept4() runs in the callback, and running out of
 * descriptors pauses accepting (the kernel keeps clients in the backlog)
 * until a connection closes or a short timer fires: the loop never spins.
 */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "util/log.h"

#define LISTEN_BACKLOG 128
/* Connections taken per readiness callback, so one busy socket cannot
 * starve the loop's other work. */
#define ACCEPT_BATCH 32
#define ACCEPT_RETRY_MS 500

static uv_poll_t listener;
static uv_timer_t retry_timer;
static int listen_fd = -1;
static bool listening;
static bool paused;
static bool adopted; /* the socket is the service manager's: never unlinked */
static int lock_fd = -1;
static char socket_path[PATH_MAX];
static char lock_path[PATH_MAX + 8];
static struct nr_service *service;
static void (*conn_closed_hook)(void);

size_t nr_listener_path_max(void)
{
	return sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
}

static void on_readable(uv_poll_t *handle, int status, int events);

static void accept_resume(void)
{
	if (!listening || !paused)
		return;
	paused = false;
	uv_timer_stop(&retry_timer);
	uv_poll_start(&listener, UV_READABLE, on_readable);
	nr_log(NR_LOG_INFO, "accepting connections again");
}

static void retry_fired(uv_timer_t *timer)
{
	accept_resume();
}

/* Out of descriptors: stop polling until one is freed. */
static void accept_pause(int err)
{
	nr_log(NR_LOG_WARN, "accept: %s with %zu connections open: pausing accepts", strerror(err),
	       nr_conn_count());
	paused = true;
	uv_poll_stop(&listener);
	uv_timer_start(&retry_timer, retry_fired, ACCEPT_RETRY_MS, 0);
}

static void conn_closed(struct nr_conn *conn)
{
	accept_resume();
	if (conn_closed_hook)
		conn_closed_hook();
}

static void on_readable(uv_poll_t *handle, int status, int events)
{
	for (int i = 0; i < ACCEPT_BATCH && listening; i++) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			nr_conn_accept(service, fd, conn_closed);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			accept_pause(errno);
		else if (errno != EAGAIN)
			nr_log(NR_LOG_WARN, "accept: %s", strerror(errno));
		return;
	}
}

/* Whether @fd is still the file at @path (not unlinked by a stopping
 * instance after we opened it). */
static bool lock_is_current(int fd, const char *path)
{
	struct stat held, named;

	return fstat(fd, &held) == 0 && stat(path, &named) == 0 && held.st_dev == named.st_dev &&
	       held.st_ino == named.st_ino;
}

static int lock_take(void)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lock_fd < 0)
			return -errno;
		if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
			int err = errno;
			close(lock_fd);
			lock_fd = -1;
			return err == EWOULDBLOCK ? -EADDRINUSE : -err;
		}
		/* The instance we waited for removes the file as it stops: a lock
		 * on the removed file guards nothing. */
		if (lock_is_current(lock_fd, lock_path))
			return 0;
		close(lock_fd);
		lock_fd = -1;
	}
	return -EADDRINUSE;
}

/* Polls the listening descriptor. Returns 0 or a libuv error. */
static int accept_start(struct nr_service *svc)
{
	uv_timer_init(svc->loop, &retry_timer);
	uv_poll_init(svc->loop, &listener, listen_fd);
	return uv_poll_start(&listener, UV_READABLE, on_readable);
}

/* Creates the listening socket at @path with @mode from the moment it
 * exists (umask, not a chmod after bind), then gives it group @gid: until
 * then only root may connect, so it is never wider than asked. Returns 0 or
 * -errno. */
static int socket_bind(const char *path, mode_t mode, gid_t gid)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	mode_t old_mask;
	int rc = 0;

	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		return -errno;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	old_mask = umask(~mode & 0777);
	if (bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		rc = -errno;
	umask(old_mask);
	if (rc == 0 && gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0)
		rc = -errno;
	if (rc == 0 && listen(listen_fd, LISTEN_BACKLOG) != 0)
		rc = -errno;
	return rc;
}

int nr_listener_start(struct nr_service *svc, const char *path, mode_t mode, gid_t gid,
		      void (*on_conn_closed)(void))
{
	int rc;

	if (strlen(path) > nr_listener_path_max())
		return -ENAMETOOLONG;
	snprintf(socket_path, sizeof(socket_path), "%s", path);
	snprintf(lock_path, sizeof(lock_path), "%s.lock", path);
	rc = lock_take();
	if (rc)
		return rc;
	/* We hold the lock: any socket file left there is stale. */
	if (unlink(path) != 0 && errno != ENOENT)
		return -errno;
	service = svc;
	conn_closed_hook = on_conn_closed;
	listening = true;
	rc = socket_bind(path, mode, gid);
	if (rc)
		return rc;
	return accept_start(svc);
}

int nr_listener_adopt(struct nr_service *svc, int fd, void (*on_conn_closed)(void))
{
	struct sockaddr_un addr;
	socklen_t len = sizeof(addr);
	int flags = fcntl(fd, F_GETFL);

	/* The accept loop runs until EAGAIN: a blocking socket would stall it. */
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
		return -errno;
	memset(&addr, 0, sizeof(addr));
	if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
		return -errno;
	snprintf(socket_path, sizeof(socket_path), "%.*s", (int)sizeof(addr.sun_path),
		 addr.sun_path[0] ? addr.sun_path : "(abstract)");
	service = svc;
	conn_closed_hook = on_conn_closed;
	listening = true;
	adopted = true;
	listen_fd = fd;
	return accept_start(svc);
}

const char *nr_listener_path(void)
{
	return socket_path;
}

int nr_listener_set_access(mode_t mode, gid_t gid)
{
	/* An adopted socket's owner and mode are its socket unit's
	 * (SocketUser=, SocketGroup=, SocketMode=). */
	if (!listening || adopted)
		return 0;
	/* Narrow first: the group changes only once the mode allows no more
	 * than the owner, so no one gains access in between. */
	if (chmod(socket_path, mode & 0700) != 0 ||
	    chown(socket_path, (uid_t)-1, gid == (gid_t)-1 ? getegid() : gid) != 0 ||
	    chmod(socket_path, mode) != 0)
		return -errno;
	return 0;
}

void nr_listener_stop(void)
{
	if (!listening)
		return;
	listening = false;
	if (listener.loop) { /* the handles exist */
		uv_close((uv_handle_t *)&listener, NULL);
		uv_close((uv_handle_t *)&retry_timer, NULL);
	}
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	/* The service manager keeps listening on its socket (and starts us again
	 * for the next client): removing the file would make it unreachable. */
	if (!adopted)
		unlink(socket_path);
	if (lock_fd >= 0) {
		unlink(lock_path); /* while still held: see lock_is_current */
		close(lock_fd);
	}
	lock_fd = -1;
}
