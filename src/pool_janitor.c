/* SPDX-License-Identifier: MIT */
/*
 * pool_janitor.c: upkeep of server pools. pool_janitor() (main.c, about once a second)
 * closes idle servers past server_lifetime, overflow_idle_timeout or server_idle_timeout
 * and opens servers up to min_pool_size; the pre-ping (server_check_delay and
 * server_check_query) checks a long-idle server before hand-over; pool_link_status()
 * tells client_janitor.c what a link is doing; pool_server_lifetime_us() is each
 * server's own server_lifetime (the pool's: its [databases] entry's, or the global one).
 * Not here: client timeouts (client_janitor.c), connect backoff (pool.c).
 * Invariant: only servers that no client holds are closed here.
 */
#include "pool.h"

#include "cfg.h"
#include "clock.h"
#include "log.h"
#include "pool_int.h"
#include "stream.h"

bool pool_janitor_needs_ping(struct server *s)
{
    uint64_t delay = pool_cfg()->server_check_delay_us;
    return delay && clock_now_us() - server_idle_since_us(s) >= delay;
}

static void ping_done(void *arg, struct server *s, const struct pgproto_error *err,
                      const char *value, bool closed)
{
    (void)arg;
    (void)value;
    if (closed)
        return; /* server_close logged it; the waiter is still queued */
    if (err || server_tx_status(s) != 'I') {
        log_info("pool \"%s\": pre-ping failed (%s); closing that server", server_pool(s)->name,
                 err ? err->message : "not idle");
        server_pool(s)->c.ping_failures++;
        server_close(s, "ping_failed");
        return;
    }
    server_set_state(s, SERVER_IDLE);
    pool_schedule_service(server_pool(s));
}

void pool_janitor_ping(struct server *s)
{
    const struct config *cfg = pool_cfg();
    const char *q = cfg->server_check_query ? cfg->server_check_query : "";
    server_set_state(s, SERVER_ACTIVE);
    if (server_exec(s, q, NULL, 0, ping_done, NULL) < 0)
        server_close(s, "could not start the pre-ping");
}

static void janitor_one(struct pool *p, uint64_t now)
{
    const struct config *cfg = pool_cfg();
    pool_unpark_stale(p, now); /* then they are idle servers like the others, below */
    size_t total = pool_nservers(p, SERVER_CONNECTING) + pool_nservers(p, SERVER_IDLE) +
                   pool_nservers(p, SERVER_ACTIVE);
    struct list_node *n, *t;
    /* Oldest idle first (the list's head is the least recently used). */
    list_for_each_safe (n, t, &p->servers[SERVER_IDLE]) {
        struct server *s = server_from_node(n);
        uint64_t idle = now - server_idle_since_us(s);
        uint64_t age = now - server_connected_at_us(s);
        const char *why = NULL;
        uint64_t lifetime = pool_server_lifetime_us(s);
        if (lifetime && age > lifetime)
            why = "server_lifetime reached (recycled)";
        else if (total > (size_t)p->pool_size && cfg->overflow_idle_timeout_us &&
                 idle > cfg->overflow_idle_timeout_us)
            why = "overflow server idle (overflow_idle_timeout)";
        else if (total > (size_t)p->min_pool_size && cfg->server_idle_timeout_us &&
                 idle > cfg->server_idle_timeout_us)
            why = "server_idle_timeout";
        if (why) {
            p->c.recycled++;
            server_close(s, "%s", why);
            total--;
        }
    }
    /* A safety net: a waiter that no event brought a server to within a second gets one
     * more look (service() opens one if it may). */
    pool_schedule_service(p);
    if (total < (size_t)p->min_pool_size && now >= p->next_connect_us &&
        now >= p->no_fill_before_us) {
        size_t want = (size_t)p->min_pool_size - total;
        /* Session mode: the parameters the pool's clients last came with, so that the
         * next one does not have to replace the server. */
        const struct paramset *startup = pool_keyed(p) ? p->recent_startup : NULL;
        while (want-- && pool_caps_room(p) && pool_open_server(p, startup))
            ;
    }
}

/* Every stats_period: averages for SHOW STATS / STATS_AVERAGES, and the stats line. */
static void stats_tick(uint64_t now)
{
    static uint64_t last_us;
    const struct config *cfg = pool_cfg();
    uint64_t period = cfg->stats_period_us;
    if (!last_us)
        last_us = now;
    if (!period || now - last_us < period)
        return;
    uint64_t took = now - last_us;
    last_us = now;
    struct list_node *n;
    list_for_each (n, pool_all()) {
        struct pool *p = container_of(n, struct pool, node);
        stats_averages_compute(&p->prev, &p->c, took, &p->avg);
        p->prev = p->c;
        if (cfg->log_stats)
            log_info("stats: pool \"%s\": %llu xacts/s, %llu queries/s, in %llu B/s, "
                     "out %llu B/s, xact %llu us, query %llu us, wait %llu us",
                     p->name, (unsigned long long)p->avg.xact_count,
                     (unsigned long long)p->avg.query_count, (unsigned long long)p->avg.bytes_in,
                     (unsigned long long)p->avg.bytes_out, (unsigned long long)p->avg.xact_time_us,
                     (unsigned long long)p->avg.query_time_us,
                     (unsigned long long)p->avg.wait_time_us);
    }
}

void pool_janitor(void)
{
    uint64_t now = clock_now_us();
    stats_tick(now);
    struct list_node *all = pool_all(), *n;
    list_for_each (n, all) {
        janitor_one(container_of(n, struct pool, node), now);
    }
}

char pool_link_status(struct server *s, const struct stream *client)
{
    const struct stream *ss = server_stream(s);
    if (client->n_counted - client->link_base != ss->n_counted - ss->link_base ||
        client->pending_work)
        return 'Q';
    return server_tx_status(s);
}

uint64_t pool_server_lifetime_us(const struct server *s)
{
    uint64_t life = server_pool(s)->lifetime_us;
    if (!life)
        return 0;
    uint64_t h = server_id(s) * 0x9E3779B97F4A7C15ull; /* Fibonacci hashing */
    return life - (h >> 32) % (life / 5 + 1);
}
