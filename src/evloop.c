/* SPDX-License-Identifier: MIT */
/*
 * evloop.c: epoll + timer heap + deferred list. The only file that includes
 * <sys/epoll.h>. Registrations carry a small heap-allocated record so the event
 * data can name both the callback and its argument.
 */
#include "evloop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "log.h"

#define MAX_EVENTS 256

struct reg {
    evloop_io_fn *fn; /* NULL: free slot (events still queued for it are dropped) */
    void *arg;
};

struct deferred {
    evloop_timer_fn *fn;
    void *arg;
};

struct evloop {
    int epfd;
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

void evloop_free(struct evloop *ev)
{
    if (!ev)
        return;
    lg_free(ev->regs);
    lg_free(ev->heap);
    lg_free(ev->defer);
    close(ev->epfd);
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

static int add(struct evloop *ev, int fd, uint32_t events, evloop_io_fn *fn, void *arg)
{
    struct reg *r = reg_get(ev, fd);
    if (!r)
        return -ENOMEM;
    r->fn = fn;
    r->arg = arg;
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

int evloop_run_once(struct evloop *ev, uint64_t max_wait_us)
{
    uint64_t now = clock_update();
    uint64_t wait = max_wait_us;
    if (ev->defer_len)
        wait = 0;
    if (ev->heap_len) {
        uint64_t next = ev->heap[0]->when_us;
        uint64_t d = next > now ? next - now : 0;
        if (d < wait)
            wait = d;
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
        struct reg *r = &ev->regs[fd]; /* looked up per event: callbacks may grow regs */
        unsigned what = 0;
        uint32_t e = events[i].events;
        if (e & EPOLLIN)
            what |= EVLOOP_READ;
        if (e & EPOLLOUT)
            what |= EVLOOP_WRITE;
        if (e & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))
            what |= EVLOOP_ERROR | EVLOOP_READ;
        r->fn(ev, fd, r->arg, what);
    }
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
