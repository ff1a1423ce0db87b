/* SPDX-License-Identifier: MIT */
/*
 * Firmware images named in a desired state by file: only a plain file name
 * (the schema allows no '/' and no leading '.') inside the configured
 * directory, opened without following a symbolic link, a regular file of at
 * most PLAN_FW_MAX bytes, a multiple of 4.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "methods/plan.h"

/* Opens @name in @dir; returns the descriptor with *size set, or -errno with
 * why in @why. */
static int fw_open(const char *dir, const char *name, off_t *size, char *why, size_t why_len)
{
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	int fd, rc = 0;

	if (dirfd < 0) {
		snprintf(why, why_len, "the firmware directory: %s", strerror(errno));
		return -errno;
	}
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(why, why_len, "%s", strerror(errno));
	} else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		snprintf(why, why_len, "is not a regular file");
	} else if (st.st_size == 0 || st.st_size > PLAN_FW_MAX || st.st_size % 4) {
		rc = -EINVAL;
		snprintf(why, why_len, "must hold 4 to %d bytes, a multiple of 4", PLAN_FW_MAX);
	}
	close(dirfd);
	if (rc) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	*size = st.st_size;
	return fd;
}

int plan_fw_check(const char *dir, const char *name, char *why, size_t why_len)
{
	off_t size;
	int fd;

	if (!dir) {
		snprintf(why, why_len, "no firmware directory is configured (docs/config.md)");
		return -ENOENT;
	}
	fd = fw_open(dir, name, &size, why, why_len);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int plan_fw_read(const char *dir, const char *name, uint8_t **data, size_t *len)
{
	char why[128];
	off_t size;
	ssize_t got = 0, n;
	int fd = dir ? fw_open(dir, name, &size, why, sizeof(why)) : -ENOENT;

	if (fd < 0)
		return fd;
	*data = malloc((size_t)size);
	if (!*data) {
		close(fd);
		return -ENOMEM;
	}
	while (got < size && (n = read(fd, *data + got, (size_t)(size - got))) > 0)
		got += n;
	close(fd);
	if (got != size) {
		free(*data);
		*data = NULL;
		return -EIO;
	}
	*len = (size_t)size;
	return 0;
}
