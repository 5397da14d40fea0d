/* SPDX-License-Identifier: MIT */
/*
 * pool_ctl.c: the admin console's controls over pools: PAUSE/RESUME (stop and restart
 * handing out servers), RECONNECT (replace servers as they come back), KILL (close a
 * database's servers now). Not here: client side of KILL (client.c), reload (main.c).
 * Invariant: a paused pool neither hands out nor opens servers.
 */
#include "pool.h"

#include <string.h>

#include "clock.h"
#include "log.h"
#include "pool_int.h"

static bool matches(const struct pool *p, const char *db)
{
    return !db || strcmp(p->client_db, db) == 0;
}

int pool_pause(const char *db, bool pause)
{
    int n = 0;
    struct list_node *it;
    list_for_each (it, pool_all()) {
        struct pool *p = container_of(it, struct pool, node);
        if (!matches(p, db))
            continue;
        p->paused = pause;
        if (!pause)
            pool_schedule_service(p);
        n++;
    }
    log_info("%s %s: %d pool(s)", pause ? "PAUSE" : "RESUME", db ? db : "(all)", n);
    return n;
}

void pool_reconnect_one(struct pool *p, uint64_t now, const char *why)
{
    p->reconnect_before_us = now + 1; /* servers connected up to now */
    struct list_node *m, *t;
    list_for_each_safe (m, t, &p->servers[SERVER_IDLE]) {
        server_close(server_from_node(m), "%s", why);
    }
    pool_schedule_service(p);
}

int pool_reconnect(const char *db)
{
    int n = 0;
    uint64_t now = clock_now_us();
    struct list_node *it;
    list_for_each (it, pool_all()) {
        struct pool *p = container_of(it, struct pool, node);
        if (!matches(p, db))
            continue;
        pool_reconnect_one(p, now, "RECONNECT");
        n++;
    }
    log_info("RECONNECT %s: %d pool(s)", db ? db : "(all)", n);
    return n;
}

void pool_db_status(const char *db, int *servers, bool *paused)
{
    *servers = 0;
    *paused = false;
    struct list_node *it;
    list_for_each (it, pool_all()) {
        struct pool *p = container_of(it, struct pool, node);
        if (!matches(p, db))
            continue;
        for (int st = 0; st < SERVER_NSTATES; st++)
            if (st != SERVER_CLOSING)
                *servers += (int)pool_nservers(p, (enum server_state)st);
        *paused |= p->paused;
    }
}

int pool_kill(const char *db)
{
    int n = 0;
    struct list_node *it;
    list_for_each (it, pool_all()) {
        struct pool *p = container_of(it, struct pool, node);
        if (!matches(p, db))
            continue;
        for (int st = 0; st < SERVER_NSTATES; st++) {
            if (st == SERVER_CLOSING)
                continue;
            while (!list_empty(&p->servers[st]))
                server_close(server_from_node(p->servers[st].next), "KILL from the admin console");
        }
        n++;
    }
    log_info("KILL %s: %d pool(s)", db ? db : "(all)", n);
    return n;
}
