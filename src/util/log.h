/* SPDX-License-Identifier: MIT */
/* Logging to stderr, for the server and the library (journald picks it up under systemd). */
#ifndef NR_LOG_H
#define NR_LOG_H

#include <stdbool.h>

enum nr_log_level {
	NR_LOG_ERROR = 0,
	NR_LOG_WARN = 1,
	NR_LOG_INFO = 2,
	NR_LOG_DEBUG = 3,
};

/* Parses "error", "warn", "info" or "debug". Returns 0 or -EINVAL. */
int nr_log_parse_level(const char *text, enum nr_log_level *level);
void nr_log_set_level(enum nr_log_level level);
/* Whether @level is logged: lets a hot path skip building its message. */
bool nr_log_enabled(enum nr_log_level level);
void nr_log(enum nr_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
