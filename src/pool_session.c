/* SPDX-License-Identifier: MIT */
/*
 * pool_session.c: session mode with session_startup_parameters: a server is opened with
 * the startup parameters of the client it is opened for (PostgreSQL makes them the
 * session's RESET values, as on a direct connection), and a client only gets an idle
 * server opened with the same ones. With no such server, one is opened for the client;
 * if the pool is full, an idle server opened with other parameters makes room.
 * Not here: the plain service loop (pool.c), applying what still differs (pool_handoff.c).
 * Invariant: the servers of a pool never exceed pool_size + max_overflow (and the caps),
 * and clients whose parameters are all alike never make a server close.
 */
#include "pool.h"

#include "log.h"
#include "paramset.h"
#include "pool_int.h"

/* Connecting servers not yet promised to a waiter, per startup key, for one service run:
 * a waiter behind as many others of its key as there are servers logging in with it
 * needs a server of its own. More keys than this in one queue: the rest are taken as
 * not covered, which may open a server early but never past the limits. */
#define COVER_KEYS 16

struct cover {
    const struct paramset *key;
    bool any;    /* waiters that take any server (not clients) */
    size_t left; /* connecting servers still unpromised */
};

bool pool_startup_fits(const struct server *s, const struct pool_waiter *w)
{
    return paramset_same(server_startup(s), w->startup);
}

/* The first waiter, in queue order, that idle server @s fits. */
static struct pool_waiter *waiter_for(struct pool *p, struct server *s)
{
    struct list_node *n;
    list_for_each (n, &p->waiters) {
        struct pool_waiter *w = container_of(n, struct pool_waiter, node);
        if (pool_server_fits(p, s, w))
            return w;
    }
    return NULL;
}

/* Give each idle server (most recently used first) to the first waiter it fits. */
static void hand_out_idle(struct pool *p)
{
    struct list_node *idle = &p->servers[SERVER_IDLE];
    struct list_node *n = idle->prev;
    while (n != idle && !list_empty(&p->waiters)) {
        struct server *s = server_from_node(n);
        struct pool_waiter *w = waiter_for(p, s);
        if (!w) {
            n = n->prev;
            continue;
        }
        if (pool_janitor_needs_ping(s))
            pool_janitor_ping(s); /* it rejoins the idle list, or is closed, and we come back */
        else
            pool_hand_over(p, s, w);
        n = idle->prev; /* @s left the idle list: start again from the most recent */
    }
}

/* Is a connecting server on its way for @w? Promises one if so. */
static bool covered(struct pool *p, const struct pool_waiter *w, struct cover *cov, size_t *ncov)
{
    bool any = !w->keyed;
    for (size_t i = 0; i < *ncov; i++) {
        if (cov[i].any == any && (any || paramset_same(cov[i].key, w->startup))) {
            if (!cov[i].left)
                return false;
            cov[i].left--;
            return true;
        }
    }
    if (*ncov == COVER_KEYS)
        return false;
    size_t left = 0;
    struct list_node *n;
    list_for_each (n, &p->servers[SERVER_CONNECTING]) {
        if (any || pool_startup_fits(server_from_node(n), w))
            left++;
    }
    cov[*ncov] = (struct cover){w->startup, any, left};
    (*ncov)++;
    return covered(p, w, cov, ncov);
}

void pool_session_service(struct pool *p)
{
    hand_out_idle(p);
    if (list_empty(&p->waiters) || !pool_connect_allowed(p))
        return;
    struct cover cov[COVER_KEYS];
    size_t ncov = 0;
    size_t total = pool_open_count(p);
    size_t size = (size_t)p->pool_size, most = size + pool_overflow_now(p);
    struct list_node *idle = &p->servers[SERVER_IDLE];
    struct list_node *n;
    list_for_each (n, &p->waiters) {
        struct pool_waiter *w = container_of(n, struct pool_waiter, node);
        if (covered(p, w, cov, &ncov))
            continue;
        /* Idle servers left now fit no waiter: the oldest makes room for this one when
         * the pool is full (before any overflow server: nothing is under pressure). */
        bool replace = total >= size && !list_empty(idle);
        if (!replace && total >= most)
            break; /* full and all busy: wait for a release (it comes back here) */
        if (replace) {
            server_close(server_from_node(idle->next),
                         "making room for a client with other startup parameters (pool full)");
            total--;
        }
        /* At max_db_connections / max_user_connections, an idle server of another pool
         * makes room (pool_under_caps), else one of ours that fits nobody waiting. */
        bool room;
        while (!(room = pool_under_caps(p)) && !list_empty(idle)) {
            server_close(server_from_node(idle->next),
                         "making room for a client with other startup parameters (%s)",
                         "max_db_connections or max_user_connections reached");
            total--;
        }
        if (!room)
            break; /* pool_wake_siblings() brings us back when a server frees up */
        /* Not a client (a health probe, an auth lookup): the parameters the pool's
         * clients last came with, which the next client most likely wants. */
        const struct paramset *startup = w->keyed ? w->startup : p->recent_startup;
        if (!pool_open_server(p, startup)) {
            pool_arm_retry(p);
            break;
        }
        total++;
        if (w->keyed && !paramset_same(p->recent_startup, startup)) {
            const struct paramset *ref = startup ? paramset_get(startup->p, startup->n) : NULL;
            if (ref || !startup) {
                paramset_put(p->recent_startup);
                p->recent_startup = ref;
            }
        }
    }
}
