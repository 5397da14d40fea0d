/* SPDX-License-Identifier: MIT */
/*
 * daemon.c: running in the background (-d). One fork and a new session; a pipe carries the
 * child's "serving" to the parent, whose exit status is then the start's result (a child
 * that dies first closes the pipe: the parent exits 1).
 * Not here: the pidfile and the log file (main.c, log.c).
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define READY 'R'

int daemon_start(char *err, size_t errlen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        int e = errno;
        snprintf(err, errlen, "pipe: %s", strerror(e));
        return -e;
    }
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        snprintf(err, errlen, "fork: %s", strerror(e));
        close(p[0]);
        close(p[1]);
        return -e;
    }
    if (pid > 0) {
        close(p[1]);
        char c = 0;
        ssize_t n;
        do
            n = read(p[0], &c, 1);
        while (n < 0 && errno == EINTR);
        _exit(n == 1 && c == READY ? 0 : 1);
    }
    close(p[0]);
    (void)setsid(); /* fails only for a process group leader, which a fresh child is not */
    return p[1];
}

void daemon_ready(int fd)
{
    int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (nul >= 0) {
        dup2(nul, STDIN_FILENO);
        dup2(nul, STDOUT_FILENO);
        dup2(nul, STDERR_FILENO);
        if (nul > STDERR_FILENO)
            close(nul);
    }
    char c = READY;
    ssize_t n;
    do
        n = write(fd, &c, 1);
    while (n < 0 && errno == EINTR);
    close(fd);
}
