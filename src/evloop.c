/* SPDX-License-Identifier: MIT */
/*
 * evloop.c: readiness (epoll, or io_uring multishot polls), asynchronous sends
 * (io_uring), a timer heap and a deferred list. The only file that includes
 * <sys/epoll.h> or knows io_uring's operations. Registrations live in an array
 * indexed by fd; io_uring completions name the fd and a generation, so a completion
 * for a registration that was since removed (and its fd number reused) is dropped.
 * With io_uring, everything queued during a turn (sends, new polls, removals) goes
 * to the kernel in the one system call that also waits for the next completions.
 */
#include "evloop.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "log.h"
#include "uring.h"

#define MAX_EVENTS    256
#define RING_ENTRIES  4096
/* A finished send keeps its staging area for the next one if the area is small and the
 * record among the first few: after a burst of sends to thousands of sockets, at most
 * SEND_KEEP_N * SEND_KEEP_CAP bytes stay allocated. */
#define SEND_KEEP_CAP 4096
#define SEND_KEEP_N   1024
#define LONE_MAX      1 /* io_uring: turns with at most this many events write at once */

/* io_uring user_data: kind in the top bits, then a generation, then fd or send slot. */
enum { UD_POLL = 1, UD_SEND = 2, UD_IGNORE = 3 };
#define UD_GEN_MASK 0x3fffffffu

static inline uint64_t ud_make(unsigned kind, uint32_t gen, uint32_t idx)
{
    return (uint64_t)kind << 62 | (uint64_t)(gen & UD_GEN_MASK) << 32 | idx;
}

struct reg {
    evloop_io_fn *fn; /* NULL: free slot (events still queued for it are dropped) */
    void *arg;
    uint32_t gen;  /* io_uring: bumped at add and del, carried by the poll's completions */
    bool listener; /* io_uring: one-shot poll, re-armed after each callback (level) */
};

/* One io_uring send in flight: its bytes stay here until the kernel is done. */
struct sendrec {
    uint8_t *data;
    uint32_t cap, len, off;
    int fd;
    uint32_t next_free; /* free list link (index + 1; 0 ends it) */
    evloop_sent_fn *fn; /* NULL: forgotten (the stream closed): just free it */
    void *arg;
    uint32_t gen; /* bumped per send: a late cancel cannot hit the record's next send */
    uint8_t where;
};
enum { SEND_FREE = 0, SEND_PENDING, SEND_IN_RING };

struct deferred {
    evloop_timer_fn *fn;
    void *arg;
};

struct evloop {
    int epfd;           /* -1 with io_uring */
    struct uring *ring; /* NULL with epoll */
    struct sendrec *sends;
    uint32_t n_sends, send_free; /* send_free: index + 1 of the first free record */
    uint32_t area;               /* io_uring: record handed out by evloop_send_area */
    uint32_t *pend; /* sends of this turn not yet queued to the ring (record indexes) */
    uint32_t pend_len, pend_cap;
    bool lone;        /* io_uring: dispatching the only completion of its batch */
    struct reg *regs; /* indexed by fd: epoll's data is the fd, so the array may move */
    size_t n_regs;
    struct evloop_timer **heap;
    size_t heap_len, heap_cap;
    struct deferred *defer;
    size_t defer_len, defer_cap;
};

struct evloop *evloop_new(void)
{
    struct evloop *ev = lg_calloc(1, sizeof(*ev));
    if (!ev)
        return NULL;
    ev->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ev->epfd < 0) {
        lg_free(ev);
        return NULL;
    }
    return ev;
}

int evloop_use_uring(struct evloop *ev, char *why, size_t why_n)
{
    if (ev->ring)
        return 0;
    if (ev->n_regs) {
        snprintf(why, why_n, "fds already registered");
        return -EBUSY;
    }
    struct uring *u = uring_new(RING_ENTRIES, why, why_n);
    if (!u)
        return -EOPNOTSUPP;
    close(ev->epfd);
    ev->epfd = -1;
    ev->ring = u;
    return 0;
}

bool evloop_async_send(const struct evloop *ev)
{
    /* A turn with one event (light load) writes at once: a send staged for the ring
     * goes to the kernel with the io_uring_enter that then sleeps, which cost 1.5-1.8x
     * the CPU of send() at one client, and staging costs instructions. With more events
     * per turn the sends go together with that one system call: writing at once in turns
     * of up to 4 events was measured (make bench, same day) at 2.89 system calls per
     * transaction against 2.34, and 0.69x PgBouncer's CPU at 256 clients against 0.63x. */
    return ev->ring != NULL && !(ev->lone && ev->pend_len == 0);
}

void evloop_free(struct evloop *ev)
{
    if (!ev)
        return;
    lg_free(ev->regs);
    lg_free(ev->heap);
    lg_free(ev->defer);
    if (ev->epfd >= 0)
        close(ev->epfd);
    /* Sends still in the kernel read their staging areas: the ring goes first. */
    uring_free(ev->ring);
    for (uint32_t i = 0; i < ev->n_sends; i++)
        lg_free(ev->sends[i].data);
    lg_free(ev->sends);
    lg_free(ev->pend);
    lg_free(ev);
}

static struct reg *reg_get(struct evloop *ev, int fd)
{
    if ((size_t)fd >= ev->n_regs) {
        size_t n = ev->n_regs ? ev->n_regs : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct reg *r = lg_realloc(ev->regs, n * sizeof(*r));
        if (!r)
            return NULL;
        memset(r + ev->n_regs, 0, (n - ev->n_regs) * sizeof(*r));
        ev->regs = r;
        ev->n_regs = n;
    }
    return &ev->regs[fd];
}

/* io_uring: cancel the request queued as @ud (its own completion is ignored). */
static bool queue_cancel(struct evloop *ev, uint64_t ud)
{
    struct io_uring_sqe *sqe = uring_sqe(ev->ring);
    if (!sqe)
        return false;
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = -1;
    sqe->addr = ud;
    sqe->user_data = ud_make(UD_IGNORE, 0, 0);
    return true;
}

/* io_uring: arm a poll for @fd (multishot for edge-triggered registrations, one-shot
 * for listeners, whose level semantics come from re-arming after each callback). */
static int arm_poll(struct evloop *ev, int fd, const struct reg *r)
{
    struct io_uring_sqe *sqe = uring_sqe(ev->ring);
    if (!sqe)
        return -EAGAIN;
    sqe->opcode = IORING_OP_POLL_ADD;
    sqe->fd = fd;
    if (r->listener) {
        sqe->poll32_events = POLLIN;
    } else {
        sqe->poll32_events = POLLIN | POLLOUT | POLLRDHUP;
        sqe->len = IORING_POLL_ADD_MULTI;
    }
    sqe->user_data = ud_make(UD_POLL, r->gen, (uint32_t)fd);
    return 0;
}

static int add(struct evloop *ev, int fd, uint32_t events, evloop_io_fn *fn, void *arg)
{
    struct reg *r = reg_get(ev, fd);
    if (!r)
        return -ENOMEM;
    r->fn = fn;
    r->arg = arg;
    if (ev->ring) {
        r->gen++;
        r->listener = !(events & EPOLLET);
        int rc = arm_poll(ev, fd, r);
        if (rc < 0) {
            r->fn = NULL;
            r->arg = NULL;
        }
        return rc;
    }
    struct epoll_event e = {.events = events, .data.fd = fd};
    if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
        int err = errno;
        r->fn = NULL;
        r->arg = NULL;
        return -err;
    }
    return 0;
}

int evloop_add(struct evloop *ev, int fd, evloop_io_fn *fn, void *arg)
{
    return add(ev, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, fn, arg);
}

int evloop_add_listener(struct evloop *ev, int fd, evloop_io_fn *fn, void *arg)
{
    return add(ev, fd, EPOLLIN, fn, arg);
}

int evloop_listener_enable(struct evloop *ev, int fd, bool on, evloop_io_fn *fn, void *arg)
{
    if (on)
        return evloop_add_listener(ev, fd, fn, arg);
    evloop_del(ev, fd);
    return 0;
}

void evloop_del(struct evloop *ev, int fd)
{
    if (ev->ring) {
        if ((size_t)fd >= ev->n_regs || !ev->regs[fd].fn)
            return;
        /* The poll holds a reference to the socket until it is removed: the removal goes
         * to the kernel with this turn's other submissions, and completions still queued
         * for the old generation are dropped. */
        struct reg *r = &ev->regs[fd];
        /* Not POLL_REMOVE: it gives up (-EALREADY) on a poll whose wakeup is being
         * handled, leaving the socket open; a cancel marks it either way. */
        if (!queue_cancel(ev, ud_make(UD_POLL, r->gen, (uint32_t)fd)))
            log_error("io_uring: cannot queue a poll removal (fd=%d)", fd);
        r->gen++;
        r->fn = NULL;
        r->arg = NULL;
        return;
    }
    epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL);
    if ((size_t)fd < ev->n_regs) {
        /* Events for this fd may still sit in the current epoll_wait batch: the slot
         * is marked free, and such events are dropped (or go to the next user of the
         * fd number, as a spurious readiness that edge-triggered code tolerates). */
        ev->regs[fd].fn = NULL;
        ev->regs[fd].arg = NULL;
    }
}

/* ---- timer heap ---- */

static void heap_swap(struct evloop *ev, size_t a, size_t b)
{
    struct evloop_timer *t = ev->heap[a];
    ev->heap[a] = ev->heap[b];
    ev->heap[b] = t;
    ev->heap[a]->heap_idx = a;
    ev->heap[b]->heap_idx = b;
}

static void heap_up(struct evloop *ev, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (ev->heap[p]->when_us <= ev->heap[i]->when_us)
            break;
        heap_swap(ev, p, i);
        i = p;
    }
}

static void heap_down(struct evloop *ev, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < ev->heap_len && ev->heap[l]->when_us < ev->heap[m]->when_us)
            m = l;
        if (r < ev->heap_len && ev->heap[r]->when_us < ev->heap[m]->when_us)
            m = r;
        if (m == i)
            return;
        heap_swap(ev, i, m);
        i = m;
    }
}

void evloop_timer_init(struct evloop_timer *t, evloop_timer_fn *fn, void *arg)
{
    t->when_us = 0;
    t->heap_idx = (size_t)-1;
    t->fn = fn;
    t->arg = arg;
}

void evloop_timer_cancel(struct evloop *ev, struct evloop_timer *t)
{
    if (!evloop_timer_armed(t))
        return;
    size_t i = t->heap_idx;
    ev->heap_len--;
    if (i != ev->heap_len) {
        ev->heap[i] = ev->heap[ev->heap_len];
        ev->heap[i]->heap_idx = i;
        heap_up(ev, i);
        heap_down(ev, ev->heap[i]->heap_idx);
    }
    t->heap_idx = (size_t)-1;
}

int evloop_timer_set(struct evloop *ev, struct evloop_timer *t, uint64_t when_us)
{
    if (evloop_timer_armed(t)) {
        evloop_timer_cancel(ev, t);
    }
    if (ev->heap_len == ev->heap_cap) {
        size_t n = ev->heap_cap ? ev->heap_cap * 2 : 256;
        struct evloop_timer **h = lg_realloc(ev->heap, n * sizeof(*h));
        if (!h)
            return -ENOMEM;
        ev->heap = h;
        ev->heap_cap = n;
    }
    t->when_us = when_us;
    t->heap_idx = ev->heap_len;
    ev->heap[ev->heap_len++] = t;
    heap_up(ev, t->heap_idx);
    return 0;
}

int evloop_defer(struct evloop *ev, evloop_timer_fn *fn, void *arg)
{
    if (ev->defer_len == ev->defer_cap) {
        size_t n = ev->defer_cap ? ev->defer_cap * 2 : 64;
        struct deferred *d = lg_realloc(ev->defer, n * sizeof(*d));
        if (!d)
            return -ENOMEM;
        ev->defer = d;
        ev->defer_cap = n;
    }
    ev->defer[ev->defer_len].fn = fn;
    ev->defer[ev->defer_len].arg = arg;
    ev->defer_len++;
    return 0;
}

/* ---- io_uring sends ---- */

static struct sendrec *send_get(struct evloop *ev)
{
    if (!ev->send_free) {
        uint32_t n = ev->n_sends ? ev->n_sends * 2 : 64;
        struct sendrec *r = lg_realloc(ev->sends, n * sizeof(*r));
        if (!r)
            return NULL;
        memset(r + ev->n_sends, 0, (n - ev->n_sends) * sizeof(*r));
        for (uint32_t i = n; i > ev->n_sends; i--) {
            r[i - 1].next_free = ev->send_free;
            ev->send_free = i;
        }
        ev->sends = r;
        ev->n_sends = n;
    }
    return &ev->sends[ev->send_free - 1];
}

uint8_t *evloop_send_area(struct evloop *ev, size_t n)
{
    if (!ev->ring || n > EVLOOP_SEND_MAX || n == 0)
        return NULL;
    struct sendrec *r = send_get(ev);
    if (!r)
        return NULL;
    if (r->cap < n) {
        uint32_t cap = n < 512 ? 512 : (uint32_t)n;
        uint8_t *d = lg_realloc(r->data, cap);
        if (!d)
            return NULL;
        r->data = d;
        r->cap = cap;
    }
    ev->area = (uint32_t)(r - ev->sends);
    return r->data;
}

static int queue_send(struct evloop *ev, uint32_t idx)
{
    struct sendrec *r = &ev->sends[idx];
    struct io_uring_sqe *sqe = uring_sqe(ev->ring);
    if (!sqe)
        return -EAGAIN;
    sqe->opcode = IORING_OP_SEND;
    sqe->fd = r->fd;
    sqe->addr = (uint64_t)(uintptr_t)(r->data + r->off);
    sqe->len = r->len - r->off;
    /* MSG_WAITALL: the kernel retries a short send itself, so one completion means all
     * of it went (or the socket failed). */
    sqe->msg_flags = MSG_NOSIGNAL | MSG_WAITALL;
    sqe->user_data = ud_make(UD_SEND, r->gen, idx);
    return 0;
}

int evloop_send(struct evloop *ev, int fd, size_t n, evloop_sent_fn *fn, void *arg)
{
    uint32_t idx = ev->area;
    struct sendrec *r = &ev->sends[idx];
    LG_ASSERT(ev->send_free == idx + 1 && n <= r->cap);
    r->fd = fd;
    r->len = (uint32_t)n;
    r->off = 0;
    r->fn = fn;
    r->arg = arg;
    r->gen++;
    if (ev->pend_len == ev->pend_cap) {
        uint32_t cap = ev->pend_cap ? ev->pend_cap * 2 : 64;
        uint32_t *p = lg_realloc(ev->pend, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        ev->pend = p;
        ev->pend_cap = cap;
    }
    ev->pend[ev->pend_len++] = idx;
    r->where = SEND_PENDING;
    ev->send_free = r->next_free; /* taken only once queued */
    r->next_free = 0;
    return (int)idx;
}

static void send_done(struct evloop *ev, uint32_t idx, int res);

/* End of a turn: hand this turn's sends to the kernel. Several go to the ring, to be
 * submitted with the wait (one system call for all). A lone send is made at once with
 * send(): measured at one client, a send submitted by the io_uring_enter that then
 * sleeps cost 1.5-1.8x the CPU of send() followed by that sleep. Its completion may
 * bring more sends (the stream's next bytes), so this repeats a few times. */
static void flush_sends(struct evloop *ev)
{
    for (int pass = 0; pass < 8 && ev->pend_len; pass++) {
        if (ev->pend_len == 1) {
            uint32_t idx = ev->pend[0];
            struct sendrec *r = &ev->sends[idx];
            ev->pend_len = 0;
            ssize_t n = send(r->fd, r->data, r->len, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n == (ssize_t)r->len || (n < 0 && errno != EAGAIN)) {
                send_done(ev, idx, n < 0 ? -errno : (int)n); /* may queue more */
                continue;
            }
            if (n > 0)
                r->off = (uint32_t)n; /* the rest waits for room, in the ring */
            ev->pend[0] = idx;
            ev->pend_len = 1;
        }
        uint32_t done = 0;
        while (done < ev->pend_len && queue_send(ev, ev->pend[done]) == 0)
            ev->sends[ev->pend[done++]].where = SEND_IN_RING;
        if (done < ev->pend_len) {
            /* The kernel takes no more now: the rest goes next turn, soon. */
            memmove(ev->pend, ev->pend + done, (ev->pend_len - done) * sizeof(*ev->pend));
            ev->pend_len -= done;
            log_error("io_uring: submission queue full; %u sends wait a turn", ev->pend_len);
            return;
        }
        ev->pend_len = 0;
    }
}

/* A last write before a close: what the socket takes now. Returns the bytes written. */
static size_t send_last(int fd, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    ssize_t sent = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 && errno != EAGAIN && errno != EPIPE && errno != ECONNRESET)
        log_error("send before close (fd=%d): %s", fd, strerror(errno));
    return sent < 0 ? 0 : (size_t)sent;
}

void evloop_send_forget(struct evloop *ev, int handle, const void *tail, size_t n)
{
    struct sendrec *r = &ev->sends[handle];
    r->fn = NULL;
    r->arg = NULL;
    if (r->where == SEND_PENDING) {
        /* Not in the ring yet: write what the socket takes now, as a write before a
         * close would, and drop the rest. */
        for (uint32_t i = 0; i < ev->pend_len; i++) {
            if (ev->pend[i] == (uint32_t)handle) {
                ev->pend[i] = ev->pend[--ev->pend_len];
                break;
            }
        }
        size_t left = r->len - r->off;
        if (send_last(r->fd, r->data + r->off, left) == left)
            send_last(r->fd, tail, n);
        send_done(ev, (uint32_t)handle, 0);
        return;
    }
    /* In the ring: it must reach the kernel while the fd still names its socket (a new
     * connection may get the number this turn). If it completed (it found room), the tail
     * follows it; else cancel it if it is still waiting for room, as a close drops it. */
    uint64_t ud = ud_make(UD_SEND, r->gen, (uint32_t)handle);
    if (uring_submit(ev->ring) < 0)
        log_error("io_uring: submit before close failed");
    int res;
    if (uring_cq_find(ev->ring, ud, &res)) {
        if (res > 0)
            send_last(r->fd, tail, n);
        return; /* the completion frees the record when the loop reads it */
    }
    if (!queue_cancel(ev, ud))
        log_error("io_uring: cannot queue the cancel of a send (fd=%d)", r->fd);
}

static void send_done(struct evloop *ev, uint32_t idx, int res)
{
    if (idx >= ev->n_sends)
        return;
    struct sendrec *r = &ev->sends[idx];
    if (res > 0 && r->off + (uint32_t)res < r->len && r->fn) {
        r->off += (uint32_t)res; /* short despite MSG_WAITALL (a signal): send the rest */
        if (queue_send(ev, idx) == 0)
            return;
        res = -EAGAIN;
    }
    evloop_sent_fn *fn = r->fn;
    void *arg = r->arg;
    int total = res < 0 ? res : (int)r->len;
    r->fn = NULL;
    r->arg = NULL;
    r->where = SEND_FREE;
    if (r->cap > SEND_KEEP_CAP || idx >= SEND_KEEP_N) {
        lg_free(r->data);
        r->data = NULL;
        r->cap = 0;
    }
    r->next_free = ev->send_free;
    ev->send_free = idx + 1;
    if (fn)
        fn(ev, arg, total);
}

static void dispatch(struct evloop *ev, int fd, uint32_t e);

static void poll_done(struct evloop *ev, uint64_t data, int res, uint32_t flags)
{
    int fd = (int)(uint32_t)data;
    uint32_t gen = (uint32_t)(data >> 32) & UD_GEN_MASK;
    if ((size_t)fd >= ev->n_regs)
        return;
    struct reg *r = &ev->regs[fd];
    if (!r->fn || (r->gen & UD_GEN_MASK) != gen)
        return; /* removed since: the fd number may belong to someone else now */
    uint32_t e = res < 0 ? (uint32_t)(POLLERR) : (uint32_t)res;
    /* A poll the kernel ended (its multishot stopped, or a listener's one-shot fired) is
     * armed again. A connection's poll that failed is not: its owner sees an error and
     * closes, where a retry would only fail again every turn. A listener's is, unless its
     * fd is gone (a listener that stops polling would never accept again). */
    bool rearm = r->listener ? res != -EBADF : res >= 0 && !(flags & IORING_CQE_F_MORE);
    if (res < 0)
        log_error("io_uring: poll of fd %d failed: %s", fd, strerror(-res));
    dispatch(ev, fd, e);
    /* The callback may have removed (or re-added) the registration. */
    if (rearm && (size_t)fd < ev->n_regs) {
        r = &ev->regs[fd];
        if (r->fn && (r->gen & UD_GEN_MASK) == gen && arm_poll(ev, fd, r) < 0)
            log_error("io_uring: cannot re-arm the poll of fd %d", fd);
    }
}

static int wait_uring(struct evloop *ev, uint64_t wait)
{
    /* Sends found room at once complete during the submission, so their completions end
     * this wait at once: the next turn takes them with whatever else arrived. (Waiting
     * for one completion beyond them would spare that turn, but a send that must wait
     * for room would then hold the wait for nothing.) A lone send went out by send(). */
    flush_sends(ev);
    unsigned min = wait && !ev->pend_len ? 1 : 0; /* sends left over: no sleeping */
    int rc = uring_wait(ev->ring, min, wait);
    if (rc < 0 && rc != -EAGAIN && rc != -EBUSY)
        return rc;
    clock_update();
    unsigned head = uring_cq_head(ev->ring);
    unsigned tail = uring_cq_tail(ev->ring);
    ev->lone = tail - head <= LONE_MAX && !ev->defer_len;
    while (head != tail) {
        const struct io_uring_cqe *c = uring_cqe(ev->ring, head);
        uint64_t data = c->user_data;
        int res = c->res;
        uint32_t flags = c->flags;
        uring_seen(ev->ring, ++head);
        switch (data >> 62) {
        case UD_POLL:
            poll_done(ev, data, res, flags);
            break;
        case UD_SEND:
            send_done(ev, (uint32_t)data, res);
            break;
        default:
            break;
        }
    }
    ev->lone = false;
    return 0;
}

/* Readiness @e (poll bits; epoll's have the same values) to @fd's callback. */
static void dispatch(struct evloop *ev, int fd, uint32_t e)
{
    struct reg *r = &ev->regs[fd]; /* looked up per event: callbacks may grow regs */
    unsigned what = 0;
    if (e & POLLIN)
        what |= EVLOOP_READ;
    if (e & POLLOUT)
        what |= EVLOOP_WRITE;
    if (e & (POLLERR | POLLHUP | POLLRDHUP))
        what |= EVLOOP_ERROR | EVLOOP_READ;
    r->fn(ev, fd, r->arg, what);
}

int evloop_run_once(struct evloop *ev, uint64_t max_wait_us)
{
    /* The clock read after the last wait: the turn's work since then makes timers
     * fire later by that much (microseconds), and saves a clock read per turn. */
    uint64_t now = clock_now_us();
    uint64_t wait = max_wait_us;
    if (ev->defer_len)
        wait = 0;
    if (ev->heap_len) {
        uint64_t next = ev->heap[0]->when_us;
        uint64_t d = next > now ? next - now : 0;
        if (d < wait)
            wait = d;
    }
    if (ev->ring) {
        int rc = wait_uring(ev, wait);
        if (rc < 0)
            return rc;
        goto timers;
    }
    struct epoll_event events[MAX_EVENTS];
    /* Round up so a timer is never woken for a fraction of a millisecond early. */
    int n = epoll_wait(ev->epfd, events, MAX_EVENTS, (int)((wait + 999) / 1000));
    if (n < 0) {
        if (errno != EINTR)
            return -errno;
        n = 0;
    }
    clock_update();
    for (int i = 0; i < n; i++) {
        int fd = events[i].data.fd;
        if ((size_t)fd >= ev->n_regs || !ev->regs[fd].fn)
            continue;
        dispatch(ev, fd, events[i].events);
    }
timers:
    now = clock_now_us();
    while (ev->heap_len && ev->heap[0]->when_us <= now) {
        struct evloop_timer *t = ev->heap[0];
        evloop_timer_cancel(ev, t);
        t->fn(ev, t->arg);
    }
    /* Deferred work may defer more (a released server is handed to a waiter, whose
     * link kicks both streams): run a few rounds now rather than pay a loop turn and
     * an epoll_wait for each step; anything left runs next turn. Frees queued during a
     * round run after that round's callbacks, so nothing runs on freed memory. */
    for (int round = 0; round < 4 && ev->defer_len; round++) {
        size_t len = ev->defer_len;
        for (size_t i = 0; i < len; i++)
            ev->defer[i].fn(ev, ev->defer[i].arg);
        if (len < ev->defer_len)
            memmove(ev->defer, ev->defer + len, (ev->defer_len - len) * sizeof(*ev->defer));
        ev->defer_len -= len;
    }
    return 0;
}
