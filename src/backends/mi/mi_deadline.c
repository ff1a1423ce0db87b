/* SPDX-License-Identifier: MIT */
/*
 * The deadline a daemon enforces on an NVMe-MI request. libnvme-mi 1.3
 * waits for a response with poll() on the MCTP socket, and on each More
 * Processing Required response polls again for as long as the endpoint asks
 * (up to 6553.5 s, and again after that): an endpoint could hold a worker
 * thread forever, and libnvme-mi 1.3 has no setter for a maximum. This
 * definition of poll() is the one libnvme-mi's reference binds to (the
 * executable's own symbols come first), and it clamps the wait to the
 * deadline the MI backend set for the calling thread; everything else
 * (threads without a deadline, the loop) passes straight through.
 */
#include <dlfcn.h>
#include <poll.h>
#include <pthread.h>

#include "rpc/exec.h"
#include "backends/mi/mi.h"

static _Thread_local uint64_t thread_deadline_ns;
static int (*next_poll)(struct pollfd *fds, nfds_t nfds, int timeout);
static pthread_once_t next_poll_once = PTHREAD_ONCE_INIT;

static void next_poll_resolve(void)
{
	next_poll = (int (*)(struct pollfd *, nfds_t, int))dlsym(RTLD_NEXT, "poll");
}

void nr_mi_deadline_set(uint64_t deadline_ns)
{
	thread_deadline_ns = deadline_ns;
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	uint64_t now;
	uint64_t left_ms;

	pthread_once(&next_poll_once, next_poll_resolve);
	if (thread_deadline_ns == 0)
		return next_poll(fds, nfds, timeout);
	now = nr_exec_now_ns();
	if (now >= thread_deadline_ns)
		return 0; /* as a poll that timed out: the caller gives up */
	left_ms = (thread_deadline_ns - now + 999999u) / 1000000u;
	if (timeout < 0 || (uint64_t)timeout > left_ms)
		timeout = (int)left_ms;
	return next_poll(fds, nfds, timeout);
}
