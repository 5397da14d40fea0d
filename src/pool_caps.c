/* SPDX-License-Identifier: MIT */
/*
 * pool_caps.c: max_db_connections and max_user_connections, caps shared by every pool of
 * a database or of a user. A pool at a cap may evict an idle server of a sibling pool
 * (whose clients are not waiting) to open its own; a server that closes or goes idle
 * wakes siblings waiting under the cap. Not here: pool_size and max_overflow (pool.c).
 */
#include <string.h>

#include "cfg.h"
#include "pool.h"
#include "pool_int.h"

void pool_set_caps(struct pool *p, const struct db_entry *db, const struct user_entry *ue,
                   const struct config *cfg)
{
    p->max_db_connections =
            db->max_db_connections >= 0 ? db->max_db_connections : cfg->max_db_connections;
    p->max_user_connections = ue && ue->max_user_connections >= 0 ? ue->max_user_connections
                                                                  : cfg->max_user_connections;
}

size_t pool_open_count(const struct pool *q)
{
    return pool_nservers(q, SERVER_CONNECTING) + pool_nservers(q, SERVER_IDLE) +
           pool_nservers(q, SERVER_ACTIVE);
}

/* Room under max_db_connections / max_user_connections for one more server of @p. If the
 * cap is reached, close one idle server of another pool sharing the database or user
 * (its clients are not waiting; ours are). */
static bool under_caps(struct pool *p, bool evict)
{
    for (int pass = 0; pass < 2; pass++) {
        bool by_db = pass == 0;
        int cap = by_db ? p->max_db_connections : p->max_user_connections;
        if (cap <= 0)
            continue;
        size_t used = 0;
        struct pool *spare = NULL;
        struct list_node *n;
        list_for_each (n, pool_all()) {
            struct pool *q = container_of(n, struct pool, node);
            if (strcmp(by_db ? q->client_db : q->client_user,
                       by_db ? p->client_db : p->client_user) != 0)
                continue;
            used += pool_open_count(q);
            if (q != p && (!list_empty(&q->servers[SERVER_IDLE]) || pool_nparked(q)))
                spare = q;
        }
        if (used < (size_t)cap)
            continue;
        if (!spare || !evict)
            return false;
        if (list_empty(&spare->servers[SERVER_IDLE]) && !pool_unpark_one(spare))
            return false;
        if (list_empty(&spare->servers[SERVER_IDLE]))
            continue; /* the unparked one was closed at once (lifetime): room now */
        server_close(server_from_node(spare->servers[SERVER_IDLE].next),
                     "evicted: %s reached, making room for pool \"%s\"",
                     by_db ? "max_db_connections" : "max_user_connections", p->name);
    }
    return true;
}

/* A server of @p closed or went idle: pools sharing its database or user may be
 * waiting under a cap for exactly that. */
void pool_wake_siblings_capped(struct pool *p)
{
    struct list_node *n;
    list_for_each (n, pool_all()) {
        struct pool *q = container_of(n, struct pool, node);
        if (q != p && q->n_waiting &&
            (strcmp(q->client_db, p->client_db) == 0 ||
             strcmp(q->client_user, p->client_user) == 0))
            pool_schedule_service(q);
    }
}

bool pool_under_caps(struct pool *p)
{
    return under_caps(p, true);
}

bool pool_caps_room(struct pool *p)
{
    return under_caps(p, false);
}
