/* SPDX-License-Identifier: MIT */
/*
 * log.c: formats one line per message into a stack buffer and writes it with a
 * single write(2) so lines from one process never interleave.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level cur_level = LOG_LEVEL_INFO;
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

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level > cur_level)
        return;
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03d UTC [%d] %s ", (int)(tv.tv_usec / 1000),
                          (int)getpid(), level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (w < 0)
        w = 0;
    n += (size_t)w;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t LG_UNUSED r = write(STDERR_FILENO, line, n);
    if (file_fd >= 0)
        r = write(file_fd, line, n);
}
