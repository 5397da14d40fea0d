/* SPDX-License-Identifier: MIT */
/*
 * pool_obs.c: observing pools from outside: snapshots of every pool and server for
 * SHOW POOLS/SERVERS and /metrics, server counts, and lookup and iteration by name.
 * Not here: rendering (stats.c, admin_show.c) or changing anything: these functions
 * only read, and snapshots live only for the visitor's call.
 * Invariant: a CLOSING server is never shown; the counts are the lengths of the lists.
 */
#include "pool.h"

#include "cfg.h"
#include "clock.h"
#include "log.h"
#include "pool_int.h"
#include "stats.h"
#include "stream.h"

static const char *mode_name(int m)
{
    return m == POOL_MODE_TRANSACTION ? "transaction"
           : m == POOL_MODE_STATEMENT ? "statement"
                                      : "session";
}

void pool_visit(stats_pool_visit_fn *fn, void *arg)
{
    uint64_t now = clock_now_us();
    struct list_node *all = pool_all(), *n;
    list_for_each (n, all) {
        struct pool *p = container_of(n, struct pool, node);
        struct stats_pool_snap snap = {0};
        snap.database = p->client_db;
        snap.user = p->client_user;
        snap.pool_mode = mode_name(p->pool_mode);
        snap.pool_size = p->pool_size;
        snap.max_overflow = p->max_overflow;
        snap.min_pool_size = p->min_pool_size;
        int linked = 0;
        struct list_node *m;
        list_for_each (m, &p->servers[SERVER_ACTIVE]) {
            struct server *s = server_from_node(m);
            if (server_holder(s) && !server_parked(s))
                linked++;
        }
        int parked = (int)pool_nparked(p); /* between their client's transactions: idle */
        snap.cl_active = linked;
        snap.cl_waiting = (int)p->n_waiting;
        snap.sv_active = (int)pool_nservers(p, SERVER_ACTIVE) - parked;
        snap.sv_idle = (int)pool_nservers(p, SERVER_IDLE) + parked;
        snap.sv_login = (int)pool_nservers(p, SERVER_CONNECTING);
        int total = snap.sv_active + snap.sv_idle + snap.sv_login;
        snap.overflow_in_use = total > p->pool_size ? total - p->pool_size : 0;
        if (!list_empty(&p->waiters))
            snap.maxwait_us =
                    now - container_of(p->waiters.next, struct pool_waiter, node)->enqueued_us;
        snap.c = &p->c;
        snap.wait_hist = &p->wait_hist;
        snap.xact_hist = &p->xact_hist;
        snap.avg = &p->avg;
        fn(arg, &snap);
    }
}

void pool_visit_servers(stats_conn_visit_fn *fn, void *arg, uint64_t wall_now_us)
{
    uint64_t now = clock_now_us();
    struct list_node *all = pool_all(), *n;
    list_for_each (n, all) {
        struct pool *p = container_of(n, struct pool, node);
        for (int st = 0; st < SERVER_NSTATES; st++) {
            if (st == SERVER_CLOSING)
                continue;
            struct list_node *m;
            list_for_each (m, &p->servers[st]) {
                struct server *s = server_from_node(m);
                struct stats_conn_snap c = {0};
                uint32_t pid, key;
                server_backend_key(s, &pid, &key);
                c.user = p->client_user;
                c.database = p->client_db;
                c.state = st == SERVER_CONNECTING                 ? "new"
                          : st == SERVER_IDLE || server_parked(s) ? "idle"
                          : server_holder(s)                      ? "active"
                                                                  : "used";
                c.addr = server_host(s);
                c.port = server_target(s)->port;
                c.connect_time_unix_us = wall_now_us - (now - server_connected_at_us(s));
                c.ptr = s;
                c.link = server_parked(s) ? NULL : server_holder(s);
                c.remote_pid = (int)pid;
                char tls[96];
                c.tls = server_tls_describe(s, tls, sizeof(tls));
                c.application_name = server_param(s, "application_name");
                struct stream *ss = server_stream(s);
                c.fd = ss->fd;
                c.link_fd = ss->peer ? ss->peer->fd : -1;
                stream_buffer_positions(ss, c.buf_pos);
                c.cancel_key = key;
                c.client_encoding = server_param(s, "client_encoding");
                c.std_strings = server_param(s, "standard_conforming_strings");
                c.datestyle = server_param(s, "DateStyle");
                c.timezone = server_param(s, "TimeZone");
                fn(arg, &c);
            }
        }
    }
}

void pool_mem_usage(size_t *pool_size, size_t *n_pools, size_t *server_size)
{
    *pool_size = sizeof(struct pool);
    *n_pools = list_count(pool_all());
    *server_size = server_object_size();
}

size_t pool_server_count(void)
{
    size_t n = 0;
    struct list_node *all = pool_all(), *m;
    list_for_each (m, all) {
        struct pool *p = container_of(m, struct pool, node);
        n += pool_nservers(p, SERVER_CONNECTING) + pool_nservers(p, SERVER_IDLE) +
             pool_nservers(p, SERVER_ACTIVE);
    }
    return n;
}

struct pool *pool_find(const char *db, const char *user)
{
    struct list_node *all = pool_all(), *n;
    list_for_each (n, all) {
        struct pool *p = container_of(n, struct pool, node);
        if (strcmp(p->client_db, db) == 0 && strcmp(p->client_user, user) == 0)
            return p;
    }
    return NULL;
}

void pool_counts(const struct pool *p, int *idle, int *active, int *waiting)
{
    int parked = (int)pool_nparked(p);
    *idle = (int)list_count(&p->servers[SERVER_IDLE]) + parked;
    *active = (int)list_count(&p->servers[SERVER_ACTIVE]) - parked;
    *waiting = (int)p->n_waiting;
}

const char *pool_db(const struct pool *p)
{
    return p->client_db;
}

const char *pool_user(const struct pool *p)
{
    return p->client_user;
}

struct pool *pool_next(struct pool *p)
{
    struct list_node *all = pool_all();
    struct list_node *n = p ? p->node.next : all->next;
    return n == all ? NULL : container_of(n, struct pool, node);
}

void pool_count_error(struct pool *p, const char *sqlstate)
{
    stats_count_error(&p->c, sqlstate);
}

size_t pool_active_count(void)
{
    size_t n = 0;
    struct list_node *m;
    list_for_each (m, pool_all()) {
        struct pool *p = container_of(m, struct pool, node);
        n += pool_nservers(p, SERVER_ACTIVE) - pool_nparked(p);
    }
    return n;
}

void pool_count_login(struct pool *p)
{
    p->c.client_logins++;
}

void pool_note_tx_warning(struct server *s, const char *sqlstate, const struct stream *client)
{
    struct pool *p = server_pool(s);
    stats_count_error(&p->c, sqlstate);
    uint64_t now = clock_now_us();
    if (now - p->tx_warning_logged_us < 10000000 && p->tx_warning_logged_us)
        return; /* at most one line per pool every 10 s */
    p->tx_warning_logged_us = now;
    char who[160];
    log_warn("pool \"%s\": PostgreSQL warned %s (transaction %s in progress) on server S-%llu "
             "for client %s: that client connection may be shared by two processes or threads "
             "(a connection inherited across fork?)",
             p->name, sqlstate, strcmp(sqlstate, "25001") == 0 ? "already" : "not",
             (unsigned long long)server_id(s), stream_describe(client, who, sizeof(who)));
}
