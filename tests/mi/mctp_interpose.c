/* SPDX-License-Identifier: MIT */
/*
 * An LD_PRELOAD shim that gives a process AF_MCTP sockets on a kernel that has
 * none. When NR_MCTP_SOCKET names a Unix socket, socket(AF_MCTP, SOCK_DGRAM, 0)
 * returns a SOCK_SEQPACKET socket connected to it (the test responder), and
 * sendmsg/recvmsg/poll/ioctl on that descriptor behave as libnvme-mi expects
 * from the kernel's MCTP stack. Every other descriptor passes through.
 *
 * One datagram each way. It starts with an 8-byte header, then carries the
 * MCTP message without its type byte (what the kernel carries):
 *   u32 network (little endian), u8 eid, u8 type, u8 tag, u8 reserved.
 * A request's tag has MCTP_TAG_OWNER set; a response's tag does not.
 *
 * Like the kernel, the shim delivers a response only while its tag is still
 * allocated to the socket: a response that arrives after SIOCMCTPDROPTAG (a
 * late answer to a timed-out request) is discarded, and poll() does not wake
 * for it. A tag the kernel picked itself (the request went out with plain
 * MCTP_TAG_OWNER, as libnvme-mi 1.3 does) is released by the first response
 * or by the socket's next request, so a second response to one request (the
 * answer after a More Processing Required) is discarded as the kernel would.
 *
 * The shim is deliberately never built with sanitizers, so it can be preloaded
 * into any process; a sanitized process needs its runtime first in LD_PRELOAD
 * (tests/mi/mi_harness.py does that).
 */
#include <dlfcn.h>
#include <endian.h>
#include <errno.h>
#include <linux/mctp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_MCTP
#define AF_MCTP 45
#endif

#define WIRE_HDR_LEN 8
#define FD_SLOTS 65536
#define MAX_IOV 64
#define TAG_VALUE(t) ((uint8_t)((t)&MCTP_TAG_MASK))

/* What the shim knows about one descriptor it created. */
struct fd_slot {
	bool mctp;
	bool pending_valid;    /* a request was sent and its answer is wanted */
	bool pending_prealloc; /* its tag came from SIOCMCTPALLOCTAG */
	uint8_t pending_tag;   /* tag value (bits 2:0) of that request */
	uint8_t alloc_mask;    /* tag values allocated and not yet dropped */
};

struct real_fns {
	int (*socket)(int, int, int);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*ioctl)(int, unsigned long, ...);
	int (*close)(int);
};

static struct real_fns real;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;
/* The daemon opens and closes endpoint sockets from several worker threads. */
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fd_slot slots[FD_SLOTS];
static atomic_uint tag_counter;

static void resolve_real(void)
{
	real.socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	real.sendmsg = (ssize_t(*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
	real.recvmsg = (ssize_t(*)(int, struct msghdr *, int))dlsym(RTLD_NEXT, "recvmsg");
	real.sendto = (ssize_t(*)(int, const void *, size_t, int, const struct sockaddr *,
				  socklen_t))dlsym(RTLD_NEXT, "sendto");
	real.recvfrom = (ssize_t(*)(int, void *, size_t, int, struct sockaddr *, socklen_t *))dlsym(
	    RTLD_NEXT, "recvfrom");
	real.poll = (int (*)(struct pollfd *, nfds_t, int))dlsym(RTLD_NEXT, "poll");
	real.ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	real.close = (int (*)(int))dlsym(RTLD_NEXT, "close");
}

static const struct real_fns *fns(void)
{
	pthread_once(&real_once, resolve_real);
	return &real;
}

static bool slot_valid(int fd)
{
	return fd >= 0 && fd < FD_SLOTS;
}

/* Returns whether @fd is an MCTP socket the shim created. Any thread. */
static bool is_mctp(int fd)
{
	bool mctp;

	if (!slot_valid(fd))
		return false;
	pthread_mutex_lock(&slots_lock);
	mctp = slots[fd].mctp;
	pthread_mutex_unlock(&slots_lock);
	return mctp;
}

static void slot_set(int fd, bool mctp)
{
	pthread_mutex_lock(&slots_lock);
	memset(&slots[fd], 0, sizeof(slots[fd]));
	slots[fd].mctp = mctp;
	pthread_mutex_unlock(&slots_lock);
}

/* Opens the seqpacket connection standing in for an AF_MCTP socket.
 * Returns the descriptor, or -1 with errno set. */
static int open_fake_mctp(const char *path, int type_flags)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd, saved;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = fns()->socket(AF_UNIX, SOCK_SEQPACKET | type_flags, 0);
	if (fd < 0)
		return -1;
	if (!slot_valid(fd)) {
		fns()->close(fd);
		errno = EMFILE;
		return -1;
	}
	/* A non-blocking connect to a listening Unix socket completes at once
	 * or fails; there is no EINPROGRESS for AF_UNIX. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		saved = errno;
		fns()->close(fd);
		errno = saved;
		return -1;
	}
	slot_set(fd, true);
	return fd;
}

int socket(int domain, int type, int protocol)
{
	const char *path = getenv("NR_MCTP_SOCKET");
	int flags = type & (SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (domain != AF_MCTP || !path || !*path)
		return fns()->socket(domain, type, protocol);
	if ((type & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) != SOCK_DGRAM || protocol != 0) {
		errno = EPROTONOSUPPORT;
		return -1;
	}
	return open_fake_mctp(path, flags);
}

int close(int fd)
{
	/* Forget the descriptor first: once closed, its number may be reused
	 * by another thread's socket() at once. */
	if (is_mctp(fd))
		slot_set(fd, false);
	return fns()->close(fd);
}

/* Picks the tag value a request goes out with and remembers that its answer
 * is wanted. Returns the tag for the wire, with MCTP_TAG_OWNER. */
static uint8_t request_tag(int fd, uint8_t user_tag)
{
	uint8_t value = TAG_VALUE(user_tag);
	bool prealloc = user_tag & MCTP_TAG_PREALLOC;

	/* Without preallocation the kernel picks a free tag itself. */
	if (!prealloc)
		value = TAG_VALUE(atomic_fetch_add(&tag_counter, 1));
	pthread_mutex_lock(&slots_lock);
	slots[fd].pending_valid = true;
	slots[fd].pending_prealloc = prealloc;
	slots[fd].pending_tag = value;
	pthread_mutex_unlock(&slots_lock);
	return (uint8_t)(value | MCTP_TAG_OWNER);
}

static ssize_t mctp_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	const struct sockaddr_mctp *addr = msg->msg_name;
	struct iovec iov[MAX_IOV + 1];
	uint8_t hdr[WIRE_HDR_LEN];
	struct msghdr out = {.msg_iov = iov};
	uint32_t net_le;
	ssize_t rc;

	if (!addr || msg->msg_namelen < sizeof(*addr)) {
		errno = EDESTADDRREQ;
		return -1;
	}
	if (addr->smctp_family != AF_MCTP || msg->msg_iovlen > MAX_IOV) {
		errno = addr->smctp_family != AF_MCTP ? EINVAL : EMSGSIZE;
		return -1;
	}
	net_le = htole32(addr->smctp_network);
	memcpy(hdr, &net_le, sizeof(net_le));
	hdr[4] = addr->smctp_addr.s_addr;
	hdr[5] = addr->smctp_type;
	hdr[6] = addr->smctp_tag & MCTP_TAG_OWNER ? request_tag(fd, addr->smctp_tag)
						  : TAG_VALUE(addr->smctp_tag);
	hdr[7] = 0;
	iov[0] = (struct iovec){.iov_base = hdr, .iov_len = sizeof(hdr)};
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		iov[i + 1] = msg->msg_iov[i];
	out.msg_iovlen = msg->msg_iovlen + 1;
	rc = fns()->sendmsg(fd, &out, (flags & MSG_DONTWAIT) | MSG_NOSIGNAL);
	return rc < 0 ? rc : rc - WIRE_HDR_LEN;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (!is_mctp(fd))
		return fns()->sendmsg(fd, msg, flags);
	return mctp_sendmsg(fd, msg, flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
	       socklen_t tolen)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr msg = {
	    .msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = &iov, .msg_iovlen = 1};

	if (!is_mctp(fd))
		return fns()->sendto(fd, buf, len, flags, to, tolen);
	return mctp_sendmsg(fd, &msg, flags);
}

/* Returns whether a datagram with wire tag @tag is one the kernel would
 * deliver: a request to us, or the answer to the outstanding request while
 * its tag is still allocated. */
static bool tag_wanted(int fd, uint8_t tag)
{
	const struct fd_slot *s = &slots[fd];
	bool wanted;

	if (tag & MCTP_TAG_OWNER)
		return true;
	pthread_mutex_lock(&slots_lock);
	wanted = s->pending_valid && s->pending_tag == TAG_VALUE(tag) &&
		 (!s->pending_prealloc || s->alloc_mask & 1u << TAG_VALUE(tag));
	pthread_mutex_unlock(&slots_lock);
	return wanted;
}

/* Discards the datagram at the head of the queue. */
static void drop_head(int fd)
{
	uint8_t byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	fns()->recvmsg(fd, &m, MSG_DONTWAIT);
}

/* Drops unwanted datagrams at the head of the queue. Returns 1 when a wanted
 * one (or end of file) is next, 0 when the queue is empty. */
static int skip_unwanted(int fd)
{
	uint8_t hdr[WIRE_HDR_LEN];
	struct iovec iov = {.iov_base = hdr, .iov_len = sizeof(hdr)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t rc;

	for (;;) {
		rc = fns()->recvmsg(fd, &m, MSG_PEEK | MSG_DONTWAIT);
		if (rc < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;
		if (rc == 0 || (rc >= WIRE_HDR_LEN && tag_wanted(fd, hdr[6])))
			return 1;
		drop_head(fd);
	}
}

/* A response was delivered: a kernel-picked tag is released with it. */
static void response_taken(int fd)
{
	pthread_mutex_lock(&slots_lock);
	if (!slots[fd].pending_prealloc)
		slots[fd].pending_valid = false;
	pthread_mutex_unlock(&slots_lock);
}

static void fill_name(struct msghdr *msg, const uint8_t *hdr)
{
	struct sockaddr_mctp addr = {.smctp_family = AF_MCTP};
	uint32_t net_le;

	if (!msg->msg_name)
		return;
	memcpy(&net_le, hdr, sizeof(net_le));
	addr.smctp_network = le32toh(net_le);
	addr.smctp_addr.s_addr = hdr[4];
	addr.smctp_type = hdr[5];
	addr.smctp_tag = hdr[6];
	if (msg->msg_namelen > sizeof(addr))
		msg->msg_namelen = sizeof(addr);
	memcpy(msg->msg_name, &addr, msg->msg_namelen);
	msg->msg_namelen = sizeof(addr);
}

static ssize_t mctp_recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct iovec iov[MAX_IOV + 1];
	uint8_t hdr[WIRE_HDR_LEN];
	struct msghdr in = {.msg_iov = iov};
	int pass = flags & (MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
	ssize_t rc;

	if (msg->msg_iovlen > MAX_IOV) {
		errno = EMSGSIZE;
		return -1;
	}
	iov[0] = (struct iovec){.iov_base = hdr, .iov_len = sizeof(hdr)};
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		iov[i + 1] = msg->msg_iov[i];
	in.msg_iovlen = msg->msg_iovlen + 1;
	for (;;) {
		in.msg_flags = 0;
		rc = fns()->recvmsg(fd, &in, pass);
		if (rc <= 0)
			return rc;
		if (rc >= WIRE_HDR_LEN && tag_wanted(fd, hdr[6]))
			break;
		if (flags & MSG_PEEK)
			drop_head(fd);
	}
	if (!(flags & MSG_PEEK) && !(hdr[6] & MCTP_TAG_OWNER))
		response_taken(fd);
	fill_name(msg, hdr);
	msg->msg_controllen = 0;
	msg->msg_flags = in.msg_flags & MSG_TRUNC;
	return rc - WIRE_HDR_LEN;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (!is_mctp(fd))
		return fns()->recvmsg(fd, msg, flags);
	return mctp_recvmsg(fd, msg, flags);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
		 socklen_t *fromlen)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr msg = {.msg_name = from,
			     .msg_namelen = from && fromlen ? *fromlen : 0,
			     .msg_iov = &iov,
			     .msg_iovlen = 1};
	ssize_t rc;

	if (!is_mctp(fd))
		return fns()->recvfrom(fd, buf, len, flags, from, fromlen);
	rc = mctp_recvmsg(fd, &msg, flags);
	if (rc >= 0 && from && fromlen)
		*fromlen = msg.msg_namelen;
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Takes POLLIN away from shim sockets whose queue held only unwanted
 * datagrams. Returns the number of entries still reporting events. */
static int filter_revents(struct pollfd *fds, nfds_t nfds, int rc)
{
	for (nfds_t i = 0; i < nfds; i++) {
		if (!(fds[i].revents & POLLIN) || !is_mctp(fds[i].fd))
			continue;
		if (skip_unwanted(fds[i].fd))
			continue;
		fds[i].revents &= (short)~POLLIN;
		if (!fds[i].revents)
			rc--;
	}
	return rc;
}

/* poll() is interposed only so that a discarded late answer does not wake the
 * caller: with the real kernel it would never have been queued. */
int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	bool ours = false;
	int64_t deadline = timeout >= 0 ? now_ms() + timeout : -1;
	int rc, wait = timeout;

	for (nfds_t i = 0; i < nfds && !ours; i++)
		ours = (fds[i].events & POLLIN) && is_mctp(fds[i].fd);
	if (!ours)
		return fns()->poll(fds, nfds, timeout);
	for (;;) {
		rc = fns()->poll(fds, nfds, wait);
		if (rc <= 0)
			return rc;
		rc = filter_revents(fds, nfds, rc);
		if (rc > 0)
			return rc;
		if (deadline >= 0) {
			wait = (int)(deadline - now_ms());
			if (wait <= 0)
				return 0;
		}
	}
}

/* SIOCMCTPALLOCTAG: the kernel hands out a tag value per peer with TO and
 * PREALLOC set; it requires tag and flags zero on entry. */
static int alloc_tag(int fd, struct mctp_ioc_tag_ctl *ctl)
{
	uint8_t value = 0;
	bool found = false;

	if (ctl->tag || ctl->flags) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&slots_lock);
	for (unsigned i = 0; i <= MCTP_TAG_MASK && !found; i++) {
		value = TAG_VALUE(atomic_fetch_add(&tag_counter, 1));
		found = !(slots[fd].alloc_mask & 1u << value);
	}
	if (found)
		slots[fd].alloc_mask |= (uint8_t)(1u << value);
	pthread_mutex_unlock(&slots_lock);
	if (!found) {
		errno = EBUSY;
		return -1;
	}
	ctl->tag = (uint8_t)(value | MCTP_TAG_OWNER | MCTP_TAG_PREALLOC);
	return 0;
}

static int drop_tag(int fd, const struct mctp_ioc_tag_ctl *ctl)
{
	pthread_mutex_lock(&slots_lock);
	slots[fd].alloc_mask &= (uint8_t) ~(1u << TAG_VALUE(ctl->tag));
	pthread_mutex_unlock(&slots_lock);
	return 0;
}

int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (is_mctp(fd) && request == SIOCMCTPALLOCTAG)
		return arg ? alloc_tag(fd, arg) : (errno = EFAULT, -1);
	if (is_mctp(fd) && request == SIOCMCTPDROPTAG)
		return arg ? drop_tag(fd, arg) : (errno = EFAULT, -1);
	return fns()->ioctl(fd, request, arg);
}
