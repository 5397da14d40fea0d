/* SPDX-License-Identifier: MIT */
/*
 * log.h: leveled logging to stderr (and optionally a file), one line per event,
 * logfmt by default: ts=2026-11-26T16:40:07.123Z level=info pid=1 msg="C-1 ...";
 * also JSON or PgBouncer-like text. Never logs secrets: callers
 * must not pass passwords or SCRAM material.
 */
#ifndef LG_LOG_H
#define LG_LOG_H

#include <stdbool.h>

#include "base.h"

enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARNING,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_NOISE
};

enum log_format { LOG_FORMAT_LOGFMT = 0, LOG_FORMAT_JSON, LOG_FORMAT_TEXT };

/* Line format; default LOG_FORMAT_LOGFMT: ts=... level=... pid=... msg="..." */
void log_set_format(enum log_format f);
/* Messages above @level are dropped. Default LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Also append to @path (NULL: stderr only). 0 or -errno. */
int log_set_file(const char *path) LG_MUSTCHECK;

/* PgBouncer's syslog_facility names, in this order (auth, authpriv, daemon, user, local0-7). */
enum log_facility {
    LOG_FAC_AUTH = 0,
    LOG_FAC_AUTHPRIV,
    LOG_FAC_DAEMON,
    LOG_FAC_USER,
    LOG_FAC_LOCAL0,
    LOG_FAC_LOCAL1,
    LOG_FAC_LOCAL2,
    LOG_FAC_LOCAL3,
    LOG_FAC_LOCAL4,
    LOG_FAC_LOCAL5,
    LOG_FAC_LOCAL6,
    LOG_FAC_LOCAL7
};
/* Also send each message to syslog (/dev/log) as @ident, or stop (on = false). */
void log_set_syslog(bool on, const char *ident, enum log_facility facility);

void log_msg(enum log_level level, const char *fmt, ...) LG_PRINTF(2, 3);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_get_level() >= LOG_LEVEL_DEBUG)                                                    \
            log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);                                                 \
    } while (0)
#define log_noise(...)                                                                             \
    do {                                                                                           \
        if (log_get_level() >= LOG_LEVEL_NOISE)                                                    \
            log_msg(LOG_LEVEL_NOISE, __VA_ARGS__);                                                 \
    } while (0)

#endif
