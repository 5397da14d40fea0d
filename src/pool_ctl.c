/* SPDX-License-Identifier: MIT */
/*
 * pool_ctl.c: the admin console's controls over pools: PAUSE/RESUME (stop and restart
 * handing out servers), RECONNECT (replace servers as they come back), KILL (close a
 * database's servers now). Not here: client side of KILL (client.c), reload (main.c).
 * Invariant: a paused pool neither hands out nor opens servers.
 */
#include "pool.h"

#include <string.h>

#include "alloc.h"
#include "cfg.h"
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
        if (pause)
            pool_unpark_all(p); /* between transactions: PAUSE need not wait for them */
        else
            pool_schedule_service(p);
        n++;
    }
    log_info("%s %s: %d pool(s)", pause ? "PAUSE" : "RESUME", db ? db : "(all)", n);
    return n;
}

void pool_reconnect_one(struct pool *p, uint64_t now, const char *why)
{
    p->reconnect_before_us = now + 1; /* servers connected up to now */
    pool_unpark_all(p);               /* closed below with the idle ones */
    struct list_node *m, *t;
    list_for_each_safe (m, t, &p->servers[SERVER_IDLE]) {
        server_close(server_from_node(m), "%s", why);
    }
    list_for_each_safe (m, t, &p->servers[SERVER_ACTIVE]) {
        pool_fast_close_check(server_from_node(m));
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

int pool_close_pending(const char *db)
{
    int n = 0;
    bool any = false;
    struct list_node *it, *m;
    list_for_each (it, pool_all()) {
        struct pool *p = container_of(it, struct pool, node);
        if (!matches(p, db))
            continue;
        any = true;
        for (int st = 0; st < SERVER_NSTATES; st++) {
            if (st == SERVER_CLOSING)
                continue;
            list_for_each (m, &p->servers[st])
                n += server_connected_at_us(server_from_node(m)) < p->reconnect_before_us;
        }
    }
    return any ? n : -1;
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

#define FREE_DATABASE_QUIET_US (5 * 1000000ull) /* PostgreSQL waits 5 s for sessions to go */

int pool_free_database(const struct pool *from, const char *dbname, const char *why)
{
    int n = 0;
    uint64_t now = clock_now_us();
    struct list_node *it;
    list_for_each (it, pool_all()) {
        struct pool *p = container_of(it, struct pool, node);
        if (!p->target.dbname || strcmp(p->target.dbname, dbname) != 0 ||
            p->target.port != from->target.port || !p->target.host || !from->target.host ||
            strcmp(p->target.host, from->target.host) != 0)
            continue;
        p->no_fill_before_us = now + FREE_DATABASE_QUIET_US;
        pool_unpark_all(p);
        while (!list_empty(&p->servers[SERVER_IDLE])) {
            server_close(server_from_node(p->servers[SERVER_IDLE].next), "%s", why);
            n++;
        }
    }
    return n;
}

static bool str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* RELOAD changed the entry's server (host, port, dbname, forced user or its password, as
 * a failover does): new servers go there, old ones close now if idle, else at release. */
void pool_retarget(struct pool *p, const struct db_entry *db)
{
    const char *host = db->host && *db->host ? db->host : "localhost";
    const char *dbname = db->dbname && *db->dbname ? db->dbname : p->client_db;
    const char *user = db->user && *db->user ? db->user : p->client_user;
    int port = db->port > 0 ? db->port : 5432;
    bool fixed = db->user && *db->user && db->password;
    const char *password = fixed ? db->password : NULL;
    if (!str_differs(host, p->target.host) && port == p->target.port &&
        !str_differs(dbname, p->target.dbname) && !str_differs(user, p->target.user) &&
        fixed == p->password_fixed && (!fixed || !str_differs(password, p->target.password)))
        return;
    char *h = lg_strdup(host), *d = lg_strdup(dbname), *u = lg_strdup(user);
    char *pw = fixed ? lg_strdup(password) : NULL;
    if (!h || !d || !u || (fixed && !pw)) {
        lg_free(h);
        lg_free(d);
        lg_free(u);
        lg_free(pw);
        log_error("pool \"%s\": out of memory applying its new server address; keeping the "
                  "old one",
                  p->name);
        return;
    }
    log_info("pool \"%s\": server now %s@%s:%d/%s (was %s@%s:%d/%s); servers close at release",
             p->name, u, h, port, d, p->target.user, p->target.host, p->target.port,
             p->target.dbname);
    lg_free(p->target.host);
    lg_free(p->target.dbname);
    lg_free(p->target.user);
    if (p->password_fixed && p->target.password) {
        explicit_bzero(p->target.password, strlen(p->target.password));
        lg_free(p->target.password);
        p->target.password = NULL;
    }
    p->target.host = h;
    p->target.dbname = d;
    p->target.user = u;
    p->target.port = port;
    if (fixed) {
        p->target.password = pw;
        p->password_fixed = true;
    } else if (p->password_fixed) {
        p->password_fixed = false; /* the client's own secret applies from its next login */
    }
    pool_reconnect_one(p, clock_now_us(), "its [databases] entry changed (RELOAD)");
}
