/* SPDX-License-Identifier: MIT */
/*
 * daemon.h: PgBouncer's -d: run in the background, detached from the terminal; and its
 * `user` setting: drop root for another Unix user after start-up.
 * The parent waits until the child is serving (listening, pidfile written) or has failed,
 * and exits 0 or 1 accordingly: a script that starts `lifeguard -d` learns from the exit
 * status whether it started, and startup errors still reach its terminal.
 */
#ifndef LG_DAEMON_H
#define LG_DAEMON_H

#include <stddef.h>

/* Fork; the parent waits for the child's word and exits (never returns). In the child,
 * a new session: returns the descriptor to pass to daemon_ready(), or -errno before the
 * fork (reason in @err). Call before any thread or io_uring exists. */
int daemon_start(char *err, size_t errlen);
/* The child serves now: stdin/stdout/stderr go to /dev/null and the parent exits 0. */
void daemon_ready(int fd);
/* PgBouncer's `user`: become Unix user @name (its groups too) once the listeners are open.
 * Nothing to do when @name is NULL or empty, or names the user we already are; else only
 * root can. 0, or -1 with the reason in @err. */
int daemon_switch_user(const char *name, char *err, size_t errlen);

#endif
