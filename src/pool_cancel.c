/* SPDX-License-Identifier: MIT */
/*
 * pool_cancel.c: forwarding a CancelRequest to the server a client is linked to, on a
 * connection of its own that carries copies of the server's address and backend key.
 * Not here: looking up lifeguard's own cancel key (client.c) or query_timeout
 * (client_janitor.c); both call pool_send_cancel().
 * Invariant: every cancel in flight is on g_cancels and bounded by
 * server_connect_timeout; it finishes exactly once, and its done callback runs then
 * unless the requester detached. Until it finishes, its server serves no other client
 * (a cancel that PostgreSQL delivers late would stop that client's query).
 */
#include "pool.h"

#include <unistd.h>

#include "alloc.h"
#include "cfg.h"
#include "clock.h"
#include "log.h"
#include "net.h"
#include "pool_int.h"
#include "stream.h"

/* A CancelRequest being forwarded on a connection of its own. */
struct pool_cancel {
    struct list_node node; /* on g_cancels until finished */
    struct stream st;
    struct evloop_timer timer;
    pool_cancel_done_fn *done;
    void *arg;
    struct server *target; /* held back from other clients until this finishes */
};

static struct list_node g_cancels = {&g_cancels, &g_cancels};

static void cancel_free(struct evloop *ev, void *arg)
{
    (void)ev;
    lg_free(arg);
}

static void cancel_finish(struct pool_cancel *c)
{
    if (c->st.closed)
        return;
    evloop_timer_cancel(pool_ev(), &c->timer);
    stream_close(&c->st);
    list_del(&c->node);
    struct server *target = c->target;
    c->target = NULL;
    pool_cancel_done_fn *done = c->done;
    c->done = NULL;
    if (done)
        done(c->arg);
    /* PostgreSQL has signalled the backend by now; a backend idle by then ignores it.
     * The server may go back to the pool if its client is done with it. */
    if (target && !pool_cancel_pending(target))
        pool_check_release(target);
    if (evloop_defer(pool_ev(), cancel_free, c) < 0)
        log_error("cancel: cannot schedule free; leaking it");
}

void pool_cancel_detach(struct pool_cancel *c)
{
    c->done = NULL;
}

static int cancel_on_message(struct stream *st, uint8_t type, const uint8_t *p, uint32_t len)
{
    (void)type;
    (void)p;
    (void)len;
    cancel_finish(st->owner);
    return -1;
}

static void cancel_on_close(struct stream *st, int err)
{
    (void)err; /* PostgreSQL closes the connection once it has read the request */
    cancel_finish(st->owner);
}

static void cancel_timeout(struct evloop *ev, void *arg)
{
    (void)ev;
    log_warn("cancel request: server did not answer in time");
    cancel_finish(arg);
}

static const struct stream_ops cancel_ops = {.on_message = cancel_on_message,
                                             .on_close = cancel_on_close};

struct pool_cancel *pool_send_cancel(struct server *s, pool_cancel_done_fn *done, void *arg)
{
    const struct server_target *t = server_target(s);
    uint32_t pid, key;
    server_backend_key(s, &pid, &key);
    struct net_tcp_opts topts;
    server_tcp_opts(pool_cfg(), &topts);
    int fd = net_connect(t->host, t->port, &topts);
    if (fd < 0) {
        log_warn("cancel request for server pid %u: connect failed: %s", pid, strerror(-fd));
        return NULL;
    }
    struct pool_cancel *c = lg_calloc(1, sizeof(*c));
    if (!c || stream_init(&c->st, pool_ev(), fd, 64, &cancel_ops, c) < 0) {
        close(fd);
        lg_free(c);
        log_warn("cancel request for server pid %u: out of memory", pid);
        return NULL;
    }
    list_append(&g_cancels, &c->node);
    evloop_timer_init(&c->timer, cancel_timeout, c);
    uint64_t deadline_us = clock_now_us() + pool_cfg()->server_connect_timeout_us;
    if (pgproto_put_cancel(&c->st.out, pid, key) < 0 ||
        evloop_timer_set(pool_ev(), &c->timer, deadline_us) < 0) {
        cancel_finish(c);
        return NULL;
    }
    c->done = done;
    c->arg = arg;
    c->target = s;
    stream_flush(&c->st);
    log_debug("cancel request forwarded to server pid %u", pid);
    return c;
}

bool pool_cancel_pending(const struct server *s)
{
    struct list_node *n;
    list_for_each (n, &g_cancels)
        if (container_of(n, struct pool_cancel, node)->target == s)
            return true;
    return false;
}

void pool_cancel_forget(const struct server *s)
{
    struct list_node *n;
    list_for_each (n, &g_cancels) {
        struct pool_cancel *c = container_of(n, struct pool_cancel, node);
        if (c->target == s)
            c->target = NULL;
    }
}

void pool_cancel_close_all(void)
{
    while (!list_empty(&g_cancels))
        cancel_finish(container_of(g_cancels.next, struct pool_cancel, node));
}
