/* SPDX-License-Identifier: MIT */
/*
 * The counting allocator nrbench preloads into a daemon (LD_PRELOAD) to
 * print malloc calls per call. Every malloc, calloc and realloc (and the
 * aligned allocators) adds one to a counter in the file named by
 * NRBENCH_ALLOC_FILE, mapped shared so nrbench reads it live; the memory
 * itself comes from glibc's allocator. Without the variable it counts into
 * a private struct and changes nothing else. Any thread: relaxed atomics.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nrbench.h"

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *ptr, size_t size);
void *__libc_memalign(size_t align, size_t size);

static struct bench_alloc_counts private_counts;
static struct bench_alloc_counts *counts = &private_counts;

/* Maps the shared counters before main(); mmap and open do not allocate. */
__attribute__((constructor)) static void alloc_count_init(void)
{
	const char *path = getenv(BENCH_ALLOC_ENV);
	void *map;
	int fd;

	if (!path)
		return;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	map = mmap(NULL, sizeof(*counts), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map != MAP_FAILED)
		counts = map;
}

static void count(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t size)
{
	count(&counts->malloc);
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	count(&counts->calloc);
	return __libc_calloc(n, size);
}

void *realloc(void *ptr, size_t size)
{
	count(&counts->realloc);
	return __libc_realloc(ptr, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *ptr;

	count(&counts->malloc);
	ptr = __libc_memalign(align, size);
	if (!ptr)
		return ENOMEM;
	*out = ptr;
	return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
	count(&counts->malloc);
	return __libc_memalign(align, size);
}
