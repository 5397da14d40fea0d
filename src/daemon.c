/* SPDX-License-Identifier: MIT */
/*
 * daemon.c: running in the background (-d). One fork and a new session; a pipe carries the
 * child's "serving" to the parent, whose exit status is then the start's result (a child
 * that dies first closes the pipe: the parent exits 1).
 * daemon_switch_user(): PgBouncer's `user`, a switch from root to that Unix user.
 * Not here: the pidfile and the log file (main.c, log.c).
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define READY 'R'

#if defined(__SANITIZE_ADDRESS__)
#define LG_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LG_UNDER_ASAN 1
#endif
#endif
#ifndef LG_UNDER_ASAN
#define LG_UNDER_ASAN 0
#endif

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

int daemon_switch_user(const char *name, char *err, size_t errlen)
{
    if (!name || !*name)
        return 0;
    errno = 0;
    const struct passwd *pw = getpwnam(name);
    if (!pw) {
        bool absent = errno == 0 || errno == ENOENT || errno == ESRCH || errno == EBADF ||
                      errno == EPERM; /* getpwnam(3): "not found" */
        snprintf(err, errlen, "user = %s: %s", name,
                 absent ? "no such Unix user" : strerror(errno));
        return -1;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    if (geteuid() == uid)
        return 0;
    if (geteuid() != 0) {
        snprintf(err, errlen,
                 "user = %s: running as uid %d, which cannot become another user (start "
                 "lifeguard as root, or as %s)",
                 name, (int)geteuid(), name);
        return -1;
    }
    if (initgroups(name, gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
        snprintf(err, errlen, "user = %s: cannot switch to it: %s", name, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) { /* must not be able to come back */
        snprintf(err, errlen, "user = %s: root could be regained after the switch", name);
        return -1;
    }
#if LG_UNDER_ASAN
    /* The switch made us non-dumpable, which stops LeakSanitizer's exit check from
     * inspecting our threads; sanitizer builds (tests) only. */
    prctl(PR_SET_DUMPABLE, 1);
#endif
    return 0;
}
