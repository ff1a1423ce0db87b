/* SPDX-License-Identifier: MIT */
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const level_names[] = {
    [NR_LOG_ERROR] = "error",
    [NR_LOG_WARN] = "warn",
    [NR_LOG_INFO] = "info",
    [NR_LOG_DEBUG] = "debug",
};

static enum nr_log_level current_level = NR_LOG_INFO;

int nr_log_parse_level(const char *text, enum nr_log_level *level)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(text, level_names[i]) == 0) {
			*level = (enum nr_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void nr_log_set_level(enum nr_log_level level)
{
	current_level = level;
}

bool nr_log_enabled(enum nr_log_level level)
{
	return level <= current_level;
}

void nr_log(enum nr_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > current_level)
		return;
	fprintf(stderr, "nvmerpcd: %s: ", level_names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
