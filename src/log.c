/* SPDX-License-Identifier: MIT */
/*
 * log.c: formats one line per message into a stack buffer and writes it with a
 * single write(2) so lines from one process never interleave; with syslog on, the
 * message also goes to syslog(3), which adds its own time and pid.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum log_level cur_level = LOG_LEVEL_INFO;
static enum log_format cur_format = LOG_FORMAT_LOGFMT;

void log_set_format(enum log_format f)
{
    cur_format = f;
}

/* Append @src to @dst[*n..cap) escaped for a double-quoted logfmt/JSON string. */
static void append_quoted(char *dst, size_t cap, size_t *n, const char *src, bool json)
{
    for (; *src && *n + 8 < cap; src++) {
        unsigned char ch = (unsigned char)*src;
        if (ch == '"' || ch == '\\') {
            dst[(*n)++] = '\\';
            dst[(*n)++] = (char)ch;
        } else if (ch == '\n') {
            dst[(*n)++] = '\\';
            dst[(*n)++] = 'n';
        } else if (ch < 0x20) {
            *n += (size_t)snprintf(dst + *n, cap - *n, json ? "\\u%04x" : "\\x%02x", ch);
        } else {
            dst[(*n)++] = (char)ch;
        }
    }
}
static int file_fd = -1;

static const char *const level_names[] = {"ERROR", "WARNING", "LOG", "DEBUG", "NOISE"};

void log_set_level(enum log_level level)
{
    cur_level = level;
}

enum log_level log_get_level(void)
{
    return cur_level;
}

int log_set_file(const char *path)
{
    if (file_fd >= 0)
        close(file_fd);
    file_fd = -1;
    if (!path || !*path)
        return 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    file_fd = fd;
    return 0;
}

static bool syslog_on;
static char syslog_ident[64]; /* openlog() keeps the pointer */

void log_set_syslog(bool on, const char *ident, enum log_facility facility)
{
    static const int facilities[] = {LOG_AUTH,   LOG_AUTHPRIV, LOG_DAEMON, LOG_USER,
                                     LOG_LOCAL0, LOG_LOCAL1,   LOG_LOCAL2, LOG_LOCAL3,
                                     LOG_LOCAL4, LOG_LOCAL5,   LOG_LOCAL6, LOG_LOCAL7};
    if (syslog_on)
        closelog();
    syslog_on = on;
    if (!on)
        return;
    snprintf(syslog_ident, sizeof(syslog_ident), "%s", ident && *ident ? ident : "lifeguard");
    unsigned f = (unsigned)facility;
    openlog(syslog_ident, LOG_PID | LOG_NDELAY,
            f < ARRAY_SIZE(facilities) ? facilities[f] : LOG_DAEMON);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level > cur_level)
        return;
    static const char *const lower[] = {"error", "warning", "info", "debug", "noise"};
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (w < 0)
        msg[0] = '\0';
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    size_t tl = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tl, sizeof(ts) - tl, ".%03dZ", (int)(tv.tv_usec / 1000));
    size_t n = 0;
    switch (cur_format) {
    case LOG_FORMAT_JSON:
        n = (size_t)snprintf(line, sizeof(line),
                             "{\"ts\":\"%s\",\"level\":\"%s\",\"pid\":%d,\"msg\":\"", ts,
                             lower[level], (int)getpid());
        append_quoted(line, sizeof(line), &n, msg, true);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "\"}");
        break;
    case LOG_FORMAT_TEXT:
        n = (size_t)snprintf(line, sizeof(line), "%s [%d] %s %s", ts, (int)getpid(),
                             level_names[level], msg);
        break;
    case LOG_FORMAT_LOGFMT:
    default:
        n = (size_t)snprintf(line, sizeof(line), "ts=%s level=%s pid=%d msg=\"", ts, lower[level],
                             (int)getpid());
        append_quoted(line, sizeof(line), &n, msg, false);
        if (n < sizeof(line) - 2)
            line[n++] = '"';
        break;
    }
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t LG_UNUSED r = write(STDERR_FILENO, line, n);
    if (file_fd >= 0)
        r = write(file_fd, line, n);
    if (syslog_on) {
        static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG};
        syslog(prio[level], "%s", msg);
    }
}
