/* SPDX-License-Identifier: MIT */
/*
 * evloop.h: one edge-triggered event loop with timers and end-of-turn work.
 * A file descriptor is registered once for read+write readiness and stays
 * registered for its lifetime (no epoll_ctl per transaction). Timers live in a
 * binary heap keyed by monotonic microseconds. Deferred callbacks run after all
 * I/O and timers of a turn: that is where objects closed during the turn are freed.
 * Readiness comes from epoll, or from io_uring (evloop_use_uring), which also takes
 * sends: they are queued during a turn and handed to the kernel, with everything
 * else queued, in the one system call that waits for the next turn's events.
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
/* An asynchronous send finished: @res is the bytes sent (all of them) or -errno. */
typedef void evloop_sent_fn(struct evloop *ev, void *arg, int res);

#define EVLOOP_SEND_MAX 65536 /* bytes per asynchronous send */

/* Embedded by its owner; zero-initialize, then evloop_timer_init. */
struct evloop_timer {
    uint64_t when_us;
    size_t heap_idx; /* SIZE_MAX when not armed */
    evloop_timer_fn *fn;
    void *arg;
};

struct evloop *evloop_new(void);
void evloop_free(struct evloop *ev);
/* Switch @ev to io_uring, before anything is registered. 0, or -errno with @why filled
 * (the kernel refused: the loop stays on epoll). */
int evloop_use_uring(struct evloop *ev, char *why, size_t why_n);
/* Does @ev send asynchronously (evloop_send_area/evloop_send)? */
bool evloop_async_send(const struct evloop *ev);

/* Asynchronous sends (io_uring only). A staging area of @n bytes (at most
 * EVLOOP_SEND_MAX), or NULL (no ring, out of memory: write synchronously). Copy the
 * bytes in, then call evloop_send before anything else uses the loop. */
uint8_t *evloop_send_area(struct evloop *ev, size_t n);
/* Send the @n bytes of the staging area on @fd, which must stay open until @fn runs or
 * evloop_send_forget. At most one send per socket at a time (the kernel does not order
 * two). Returns a handle >= 0, or -errno (nothing queued: write synchronously). */
int evloop_send(struct evloop *ev, int fd, size_t n, evloop_sent_fn *fn, void *arg) LG_MUSTCHECK;
/* The sender is closing its fd: no callback; a send still waiting for room is dropped.
 * If it went out whole, the @n bytes at @tail (what the sender built since, such as the
 * error explaining the close) are written after it, as far as the socket takes them. */
void evloop_send_forget(struct evloop *ev, int handle, const void *tail, size_t n);

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
