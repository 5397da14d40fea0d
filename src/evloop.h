/* SPDX-License-Identifier: MIT */
/*
 * evloop.h: one edge-triggered epoll loop with timers and end-of-turn work.
 * A file descriptor is registered once for read+write readiness and stays
 * registered for its lifetime (no epoll_ctl per transaction). Timers live in a
 * binary heap keyed by monotonic microseconds. Deferred callbacks run after all
 * I/O and timers of a turn: that is where objects closed during the turn are freed.
 */
#ifndef LG_EVLOOP_H
#define LG_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"

struct evloop;

#define EVLOOP_READ  1u
#define EVLOOP_WRITE 2u
#define EVLOOP_ERROR 4u /* EPOLLERR/EPOLLHUP/EPOLLRDHUP: treat as readable, read reports it */

typedef void evloop_io_fn(struct evloop *ev, int fd, void *arg, unsigned events);
typedef void evloop_timer_fn(struct evloop *ev, void *arg);

/* Embedded by its owner; zero-initialize, then evloop_timer_init. */
struct evloop_timer {
    uint64_t when_us;
    size_t heap_idx; /* SIZE_MAX when not armed */
    evloop_timer_fn *fn;
    void *arg;
};

struct evloop *evloop_new(void);
void evloop_free(struct evloop *ev);

/* Register @fd edge-triggered for read and write readiness; @fn gets @arg. 0 or -errno. */
int evloop_add(struct evloop *ev, int fd, evloop_io_fn *fn, void *arg) LG_MUSTCHECK;
/* Register for read readiness only, level-triggered (listeners). */
int evloop_add_listener(struct evloop *ev, int fd, evloop_io_fn *fn, void *arg) LG_MUSTCHECK;
/* Pause/resume a level-triggered listener (EMFILE, max_client_conn). */
int evloop_listener_enable(struct evloop *ev, int fd, bool on, evloop_io_fn *fn, void *arg);
/* Unregister @fd (before closing it). */
void evloop_del(struct evloop *ev, int fd);

void evloop_timer_init(struct evloop_timer *t, evloop_timer_fn *fn, void *arg);
/* Arm (or re-arm) @t to fire at monotonic @when_us. 0 or -ENOMEM. */
int evloop_timer_set(struct evloop *ev, struct evloop_timer *t, uint64_t when_us) LG_MUSTCHECK;
void evloop_timer_cancel(struct evloop *ev, struct evloop_timer *t);
static inline bool evloop_timer_armed(const struct evloop_timer *t)
{
    return t->heap_idx != (size_t)-1;
}

/* Run @fn(@arg) at the end of this turn (or the next, if called from deferred work).
 * 0 or -ENOMEM. */
int evloop_defer(struct evloop *ev, evloop_timer_fn *fn, void *arg) LG_MUSTCHECK;

/* Run one turn: wait at most @max_wait_us (or until the next timer), dispatch I/O,
 * expired timers, then deferred work. 0 or -errno from epoll_wait (EINTR is 0). */
int evloop_run_once(struct evloop *ev, uint64_t max_wait_us);

#endif
