/* SPDX-License-Identifier: MIT */
/*
 * pool_park.c: server affinity in transaction and statement pooling. At the end of a
 * client's transaction, when no other client waits, its server is parked for it instead
 * of going back to the idle servers: the streams are unlinked (an idle server's messages
 * are lifeguard's to handle, as for any idle server) but the server stays held, so the
 * client's next transaction relinks it without a checkout (pool_resume). Anyone else
 * who needs a server takes a parked one first (pool_checkout_parked, pool_caps.c), and the
 * janitor gives back servers parked for a second, so a parked server never makes a
 * client wait, and idle timeouts, lifetimes and pre-pings apply as to idle servers.
 * Once another client had to take a parked server (more clients at work than servers),
 * the pool parks nothing for a second: each such take costs a detach and wins nothing.
 * SHOW and /metrics count parked servers as idle.
 * Not here: the release itself (pool_txn.c, pool.c), the client's side (client.c).
 * Invariant: a parked server is between transactions ('I', every request answered,
 * nothing buffered), unlinked, state ACTIVE, held by its client's waiter.
 */
#include <stdbool.h>

#include "cfg.h"
#include "clock.h"
#include "list.h"
#include "log.h"
#include "pool.h"
#include "pool_int.h"
#include "stats.h"
#include "stream.h"

#define PARK_MAX_US 1000000ull /* parked longer: back to the idle servers (janitor) */

size_t pool_nparked(const struct pool *p)
{
    return list_count(&p->parked);
}

bool pool_parked(const struct server *s)
{
    return server_parked(s);
}

bool pool_server_retiring(struct server *s, uint64_t now)
{
    struct pool *p = server_pool(s);
    if (server_connected_at_us(s) < p->reconnect_before_us)
        return true;
    uint64_t lifetime = pool_server_lifetime_us(s);
    return lifetime && now - server_connected_at_us(s) > lifetime;
}

bool pool_park(struct server *s)
{
    const struct config *cfg = pool_cfg();
    struct pool *p = server_pool(s);
    struct pool_waiter *w = server_holder(s);
    uint64_t now = clock_now_us();
    if (!cfg->server_affinity || cfg->server_reset_query_always || p->paused ||
        !list_empty(&p->waiters) || !w->ops->on_released || now < p->park_off_until_us ||
        pool_server_retiring(s, now))
        return false;
    /* The client's input buffer stays too: its next request comes soon (else the
     * janitor unparks it, and client.c's on_released gives the buffer back). */
    stream_keep_buffers(server_stream(s)->peer, true);
    stream_unlink(server_stream(s));
    server_park(s, &p->parked);
    return true;
}

int pool_resume(struct server *s, struct stream *client, struct pool_waiter *w)
{
    struct pool *p = server_pool(s);
    LG_ASSERT(server_parked(s) && server_holder(s) == w);
    /* Parked a second or two at most (the janitor): its lifetime was checked at parking,
     * and RECONNECT, PAUSE and RELOAD unpark (see pool_park). A pre-ping may be due. */
    if (p->paused || !list_empty(&p->waiters) || pool_janitor_needs_ping(s)) {
        pool_unpark(s); /* the client checks out as usual (and waits if it must) */
        return 0;
    }
    server_unpark(s);
    stats_histogram_observe(&p->wait_hist, 0); /* a checkout that did not wait */
    pool_link(s, client, w);
    return 1;
}

void pool_unpark(struct server *s)
{
    uint64_t since = server_idle_since_us(s);
    pool_unpark_detach(s);
    pool_to_idle(s);
    if (server_state(s) == SERVER_IDLE)
        server_set_idle_since_us(s, since); /* idle since it was parked, not since now */
}

/* No idle server at all: the one parked longest for another client fits, as it is (it
 * is between transactions): a transfer, without going through the idle servers. (An idle
 * server whose parameters were never compared goes to the queue's service first.) */
bool pool_checkout_parked(struct pool *p, struct pool_waiter *w)
{
    if (list_empty(&p->parked) || !list_empty(&p->waiters) ||
        !list_empty(&p->servers[SERVER_IDLE]) || !w->want_hash)
        return false;
    struct server *s = server_from_park_node(p->parked.next);
    if (!server_params_synced(s, w->want_hash) || pool_janitor_needs_ping(s) ||
        !pool_server_fits(p, s, w) || pool_server_retiring(s, clock_now_us()))
        return false;
    pool_unpark_detach(s);
    /* Fewer servers than clients with work: parking only adds a detach to the next
     * checkout. The servers go straight back to the idle ones for a while. */
    p->park_off_until_us = clock_now_us() + PARK_MAX_US;
    w->queued = false;
    pool_hand_over(p, s, w); /* synced: on_ready at once, unless a reset is owed */
    return true;
}

bool pool_unpark_one(struct pool *p)
{
    if (list_empty(&p->parked))
        return false;
    pool_unpark(server_from_park_node(p->parked.next));
    return true;
}

void pool_unpark_all(struct pool *p)
{
    while (pool_unpark_one(p))
        ;
}

void pool_unpark_stale(struct pool *p, uint64_t now)
{
    while (!list_empty(&p->parked)) {
        struct server *s = server_from_park_node(p->parked.next);
        if (now - server_idle_since_us(s) < PARK_MAX_US)
            break; /* oldest first: the rest were parked later */
        pool_unpark(s);
    }
}

void pool_unpark_detach(struct server *s)
{
    struct pool_waiter *w = server_holder(s);
    server_unpark(s);
    server_set_holder(s, NULL);
    w->ops->on_released(w);
}
