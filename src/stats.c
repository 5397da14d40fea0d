/* SPDX-License-Identifier: MIT */
/*
 * stats.c: histograms, SQLSTATE classes, stats_period averages, and the renderers for
 * /metrics (Prometheus text 0.0.4) and /health/db (JSON). Rendering is family-major:
 * each metric family's samples for every pool follow its # HELP and # TYPE lines, as
 * the format requires. Numbers are printed from integers (microseconds as exact
 * decimal seconds), never through floating point, so output is reproducible.
 */
#include "stats.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "strbuf.h"

const uint64_t stats_hist_bounds_us[STATS_HIST_BUCKETS] = {
        100,    250,    500,    1000,    2500,    5000,    10000,    25000,    50000,
        100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 60000000,
};

void stats_histogram_observe(struct stats_histogram *h, uint64_t us)
{
    /* First bound >= us, or STATS_HIST_BUCKETS. A scan from the bottom: most waits and
     * transactions fall in the first few buckets, where this beats a binary search. */
    size_t i = 0;
    while (i < STATS_HIST_BUCKETS && stats_hist_bounds_us[i] < us)
        i++;
    h->buckets[i]++;
    h->sum_us += us;
    h->count++;
}

static const char *const class_names[STATS_ERR_N] = {
        "08", "22", "23", "25", "28", "3D", "40", "42", "53", "54", "55", "57", "58", "XX", "other",
};

enum stats_err_class stats_sqlstate_class(const char *sqlstate)
{
    if (!sqlstate || !sqlstate[0] || !sqlstate[1])
        return STATS_ERR_OTHER;
    for (int i = 0; i < STATS_ERR_OTHER; i++)
        if (sqlstate[0] == class_names[i][0] && sqlstate[1] == class_names[i][1])
            return (enum stats_err_class)i;
    return STATS_ERR_OTHER;
}

void stats_count_error(struct stats_counters *c, const char *sqlstate)
{
    c->errors_by_class[stats_sqlstate_class(sqlstate)]++;
}

const char *stats_err_class_name(enum stats_err_class cls)
{
    return (unsigned)cls < STATS_ERR_N ? class_names[cls] : "other";
}

static uint64_t delta(uint64_t cur, uint64_t prev)
{
    return cur > prev ? cur - prev : 0;
}

/* @d per @period_us, as a per-second rate rounded down, without overflow for any period
 * shorter than 200 days. */
static uint64_t per_second(uint64_t d, uint64_t period_us)
{
    return d / period_us * 1000000 + d % period_us * 1000000 / period_us;
}

void stats_averages_compute(const struct stats_counters *prev, const struct stats_counters *cur,
                            uint64_t period_us, struct stats_averages *out)
{
    memset(out, 0, sizeof(*out));
    if (!period_us)
        return;
    uint64_t xacts = delta(cur->xact_count, prev->xact_count);
    uint64_t queries = delta(cur->query_count, prev->query_count);
    out->xact_count = per_second(xacts, period_us);
    out->query_count = per_second(queries, period_us);
    out->bytes_in = per_second(delta(cur->bytes_in, prev->bytes_in), period_us);
    out->bytes_out = per_second(delta(cur->bytes_out, prev->bytes_out), period_us);
    if (xacts) {
        out->xact_time_us = delta(cur->xact_time_us, prev->xact_time_us) / xacts;
        out->wait_time_us = delta(cur->wait_time_us, prev->wait_time_us) / xacts;
    }
    if (queries)
        out->query_time_us = delta(cur->query_time_us, prev->query_time_us) / queries;
}

/* ---- Prometheus text format ---- */

/* Label value escaping (exposition format 0.0.4): backslash, double quote, newline. */
static void put_label_value(struct strbuf *out, const char *v)
{
    const char *run = v ? v : "";
    const char *s = run;
    for (; *s; s++) {
        const char *esc = NULL;
        if (*s == '\\')
            esc = "\\\\";
        else if (*s == '"')
            esc = "\\\"";
        else if (*s == '\n')
            esc = "\\n";
        if (!esc)
            continue;
        strbuf_append(out, run, (size_t)(s - run));
        strbuf_puts(out, esc);
        run = s + 1;
    }
    strbuf_append(out, run, (size_t)(s - run));
}

static void put_family(struct strbuf *out, const char *name, const char *type, const char *help)
{
    strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{database="..",user=".."[,extra="val"][,le="x"]} : everything up to the value. */
static void put_pool_labels(struct strbuf *out, const struct stats_pool_snap *p, const char *extra,
                            const char *extra_val)
{
    strbuf_puts(out, "{database=\"");
    put_label_value(out, p->database);
    strbuf_puts(out, "\",user=\"");
    put_label_value(out, p->user);
    strbuf_putc(out, '"');
    if (extra) {
        strbuf_printf(out, ",%s=\"", extra);
        put_label_value(out, extra_val);
        strbuf_putc(out, '"');
    }
}

static void put_int_value(struct strbuf *out, int64_t v)
{
    if (v < 0) {
        strbuf_putc(out, '-');
        strbuf_put_u64(out, (uint64_t)(-(v + 1)) + 1);
    } else {
        strbuf_put_u64(out, (uint64_t)v);
    }
    strbuf_putc(out, '\n');
}

enum unit { U_COUNT, U_MICROS };

struct pool_gauge {
    const char *name, *help;
    size_t off; /* of an int in struct stats_pool_snap */
};

static const struct pool_gauge pool_gauges[] = {
        {"lifeguard_pool_size", "Configured pool_size: servers the pool opens before overflow.",
         offsetof(struct stats_pool_snap, pool_size)},
        {"lifeguard_pool_min_size", "Configured min_pool_size: servers kept open when idle.",
         offsetof(struct stats_pool_snap, min_pool_size)},
        {"lifeguard_pool_max_overflow",
         "Configured max_overflow: extra servers allowed while clients wait.",
         offsetof(struct stats_pool_snap, max_overflow)},
        {"lifeguard_pool_overflow_servers", "Servers open beyond pool_size right now.",
         offsetof(struct stats_pool_snap, overflow_in_use)},
};

struct state_gauge {
    const char *state;
    size_t off;
};

static const struct state_gauge client_states[] = {
        {"active", offsetof(struct stats_pool_snap, cl_active)},
        {"waiting", offsetof(struct stats_pool_snap, cl_waiting)},
        {"active_cancel_req", offsetof(struct stats_pool_snap, cl_active_cancel_req)},
        {"waiting_cancel_req", offsetof(struct stats_pool_snap, cl_waiting_cancel_req)},
};

static const struct state_gauge server_states[] = {
        {"active", offsetof(struct stats_pool_snap, sv_active)},
        {"active_cancel", offsetof(struct stats_pool_snap, sv_active_cancel)},
        {"being_canceled", offsetof(struct stats_pool_snap, sv_being_canceled)},
        {"idle", offsetof(struct stats_pool_snap, sv_idle)},
        {"used", offsetof(struct stats_pool_snap, sv_used)},
        {"tested", offsetof(struct stats_pool_snap, sv_tested)},
        {"login", offsetof(struct stats_pool_snap, sv_login)},
};

struct pool_counter {
    const char *name, *help;
    size_t off; /* of a uint64_t in struct stats_counters */
    enum unit unit;
};

static const struct pool_counter pool_counters[] = {
        {"lifeguard_pool_transactions_total", "Transactions completed through the pool.",
         offsetof(struct stats_counters, xact_count), U_COUNT},
        {"lifeguard_pool_queries_total", "Queries completed through the pool.",
         offsetof(struct stats_counters, query_count), U_COUNT},
        {"lifeguard_pool_received_bytes_total", "Bytes received from the pool's clients.",
         offsetof(struct stats_counters, bytes_in), U_COUNT},
        {"lifeguard_pool_sent_bytes_total", "Bytes sent to the pool's clients.",
         offsetof(struct stats_counters, bytes_out), U_COUNT},
        {"lifeguard_pool_transaction_time_seconds_total",
         "Time servers spent linked to clients inside transactions.",
         offsetof(struct stats_counters, xact_time_us), U_MICROS},
        {"lifeguard_pool_query_time_seconds_total", "Time servers spent executing queries.",
         offsetof(struct stats_counters, query_time_us), U_MICROS},
        {"lifeguard_pool_wait_time_seconds_total", "Time clients spent waiting for a server.",
         offsetof(struct stats_counters, wait_time_us), U_MICROS},
        {"lifeguard_pool_server_connects_total", "Server connections opened and logged in.",
         offsetof(struct stats_counters, server_connects), U_COUNT},
        {"lifeguard_pool_server_connect_failures_total",
         "Server connection attempts or logins that failed.",
         offsetof(struct stats_counters, connect_failures), U_COUNT},
        {"lifeguard_pool_timeouts_total", "Clients that gave up waiting after pool_timeout.",
         offsetof(struct stats_counters, pool_timeouts), U_COUNT},
        {"lifeguard_pool_server_recycled_total",
         "Servers closed by server_lifetime or server_idle_timeout.",
         offsetof(struct stats_counters, recycled), U_COUNT},
        {"lifeguard_pool_server_ping_failures_total", "Server health checks that failed.",
         offsetof(struct stats_counters, ping_failures), U_COUNT},
        {"lifeguard_pool_client_logins_total", "Client logins to the pool that succeeded.",
         offsetof(struct stats_counters, client_logins), U_COUNT},
        {"lifeguard_pool_client_login_failures_total", "Client logins to the pool that failed.",
         offsetof(struct stats_counters, login_failures), U_COUNT},
};

static int snap_int(const struct stats_pool_snap *p, size_t off)
{
    int v;
    memcpy(&v, (const char *)p + off, sizeof(v));
    return v;
}

static uint64_t counter_u64(const struct stats_counters *c, size_t off)
{
    uint64_t v;
    memcpy(&v, (const char *)c + off, sizeof(v));
    return v;
}

static void render_histogram(struct strbuf *out, const char *name, const char *help,
                             const struct stats_pool_snap *pools, size_t n, bool wait)
{
    bool any = false;
    for (size_t i = 0; i < n && !any; i++)
        any = (wait ? pools[i].wait_hist : pools[i].xact_hist) != NULL;
    if (!any)
        return;
    put_family(out, name, "histogram", help);
    for (size_t i = 0; i < n; i++) {
        const struct stats_pool_snap *p = &pools[i];
        const struct stats_histogram *h = wait ? p->wait_hist : p->xact_hist;
        if (!h)
            continue;
        uint64_t cum = 0;
        for (size_t b = 0; b <= STATS_HIST_BUCKETS; b++) {
            cum += h->buckets[b];
            strbuf_printf(out, "%s_bucket", name);
            put_pool_labels(out, p, NULL, NULL);
            strbuf_puts(out, ",le=\"");
            if (b < STATS_HIST_BUCKETS)
                strbuf_put_seconds(out, stats_hist_bounds_us[b]);
            else
                strbuf_puts(out, "+Inf");
            strbuf_puts(out, "\"} ");
            strbuf_put_u64(out, cum);
            strbuf_putc(out, '\n');
        }
        strbuf_printf(out, "%s_sum", name);
        put_pool_labels(out, p, NULL, NULL);
        strbuf_puts(out, "} ");
        strbuf_put_seconds(out, h->sum_us);
        strbuf_printf(out, "\n%s_count", name);
        put_pool_labels(out, p, NULL, NULL);
        strbuf_puts(out, "} ");
        /* The +Inf bucket and _count must agree; both come from the buckets. */
        strbuf_put_u64(out, cum);
        strbuf_putc(out, '\n');
    }
}

static void render_process(struct strbuf *out, const struct stats_process_snap *s, size_t n_pools)
{
    put_family(out, "lifeguard_info", "gauge", "Always 1; the version label names the build.");
    strbuf_puts(out, "lifeguard_info{version=\"");
    put_label_value(out, s->version);
    strbuf_puts(out, "\"} 1\n");
    struct {
        const char *name, *type, *help;
        uint64_t v;
        enum unit unit;
    } rows[] = {
            {"lifeguard_pools", "gauge", "Pools (database, user pairs) that exist.", n_pools,
             U_COUNT},
            {"lifeguard_client_connections", "gauge",
             "Client connections open, admin console included.", s->client_connections, U_COUNT},
            {"lifeguard_server_connections", "gauge", "Server connections open.",
             s->server_connections, U_COUNT},
            {"lifeguard_max_client_connections", "gauge", "Configured max_client_conn.",
             s->max_client_conn, U_COUNT},
            {"process_start_time_seconds", "gauge",
             "Start time of the process since the Unix epoch in seconds.", s->start_time_unix_us,
             U_MICROS},
            {"process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.",
             s->cpu_us, U_MICROS},
            {"process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
             s->resident_bytes, U_COUNT},
            {"process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
             s->virtual_bytes, U_COUNT},
            {"process_open_fds", "gauge", "Number of open file descriptors.", s->open_fds, U_COUNT},
            {"process_max_fds", "gauge", "Maximum number of open file descriptors.", s->max_fds,
             U_COUNT},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        put_family(out, rows[i].name, rows[i].type, rows[i].help);
        strbuf_printf(out, "%s ", rows[i].name);
        if (rows[i].unit == U_MICROS)
            strbuf_put_seconds(out, rows[i].v);
        else
            strbuf_put_u64(out, rows[i].v);
        strbuf_putc(out, '\n');
    }
    put_family(out, "lifeguard_alloc_live_objects", "gauge",
               "Heap allocations currently live (lifeguard's allocator).");
    strbuf_puts(out, "lifeguard_alloc_live_objects ");
    put_int_value(out, s->alloc_live);
}

int stats_render_prometheus(struct strbuf *out, const struct stats_pool_snap *pools, size_t n,
                            const struct stats_process_snap *proc)
{
    if (proc)
        render_process(out, proc, n);
    if (n == 0)
        return strbuf_status(out);

    put_family(out, "lifeguard_pool_info", "gauge",
               "Always 1; labels name the pool and its pool_mode.");
    for (size_t i = 0; i < n; i++) {
        strbuf_puts(out, "lifeguard_pool_info");
        put_pool_labels(out, &pools[i], "pool_mode", pools[i].pool_mode);
        strbuf_puts(out, "} 1\n");
    }
    for (size_t g = 0; g < ARRAY_SIZE(pool_gauges); g++) {
        put_family(out, pool_gauges[g].name, "gauge", pool_gauges[g].help);
        for (size_t i = 0; i < n; i++) {
            strbuf_puts(out, pool_gauges[g].name);
            put_pool_labels(out, &pools[i], NULL, NULL);
            strbuf_puts(out, "} ");
            put_int_value(out, snap_int(&pools[i], pool_gauges[g].off));
        }
    }
    put_family(out, "lifeguard_pool_clients", "gauge",
               "Client connections of the pool by state (SHOW POOLS cl_*).");
    for (size_t i = 0; i < n; i++)
        for (size_t s = 0; s < ARRAY_SIZE(client_states); s++) {
            strbuf_puts(out, "lifeguard_pool_clients");
            put_pool_labels(out, &pools[i], "state", client_states[s].state);
            strbuf_puts(out, "} ");
            put_int_value(out, snap_int(&pools[i], client_states[s].off));
        }
    put_family(out, "lifeguard_pool_servers", "gauge",
               "Server connections of the pool by state (SHOW POOLS sv_*).");
    for (size_t i = 0; i < n; i++)
        for (size_t s = 0; s < ARRAY_SIZE(server_states); s++) {
            strbuf_puts(out, "lifeguard_pool_servers");
            put_pool_labels(out, &pools[i], "state", server_states[s].state);
            strbuf_puts(out, "} ");
            put_int_value(out, snap_int(&pools[i], server_states[s].off));
        }
    put_family(out, "lifeguard_pool_max_wait_seconds", "gauge",
               "How long the oldest waiting client has waited.");
    for (size_t i = 0; i < n; i++) {
        strbuf_puts(out, "lifeguard_pool_max_wait_seconds");
        put_pool_labels(out, &pools[i], NULL, NULL);
        strbuf_puts(out, "} ");
        strbuf_put_seconds(out, pools[i].maxwait_us);
        strbuf_putc(out, '\n');
    }
    for (size_t k = 0; k < ARRAY_SIZE(pool_counters); k++) {
        put_family(out, pool_counters[k].name, "counter", pool_counters[k].help);
        for (size_t i = 0; i < n; i++) {
            strbuf_puts(out, pool_counters[k].name);
            put_pool_labels(out, &pools[i], NULL, NULL);
            strbuf_puts(out, "} ");
            uint64_t v = pools[i].c ? counter_u64(pools[i].c, pool_counters[k].off) : 0;
            if (pool_counters[k].unit == U_MICROS)
                strbuf_put_seconds(out, v);
            else
                strbuf_put_u64(out, v);
            strbuf_putc(out, '\n');
        }
    }
    /* Only classes seen so far: 15 series per pool would dominate a 1000-pool scrape. */
    put_family(out, "lifeguard_pool_errors_total", "counter",
               "ErrorResponses sent to the pool's clients, by SQLSTATE class.");
    for (size_t i = 0; i < n; i++)
        for (int e = 0; e < STATS_ERR_N && pools[i].c; e++) {
            uint64_t v = pools[i].c->errors_by_class[e];
            if (!v)
                continue;
            strbuf_puts(out, "lifeguard_pool_errors_total");
            put_pool_labels(out, &pools[i], "class", class_names[e]);
            strbuf_puts(out, "} ");
            strbuf_put_u64(out, v);
            strbuf_putc(out, '\n');
        }
    render_histogram(out, "lifeguard_pool_wait_seconds",
                     "Time clients waited for a server (checkout), per checkout.", pools, n, true);
    render_histogram(out, "lifeguard_pool_transaction_seconds",
                     "Transaction duration as seen by the pool, per transaction.", pools, n, false);
    return strbuf_status(out);
}

struct collect {
    struct stats_pool_snap *v;
    size_t n, cap;
    int err;
};

static void collect_one(void *arg, const struct stats_pool_snap *p)
{
    struct collect *c = arg;
    if (c->err)
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct stats_pool_snap *v = lg_realloc(c->v, cap * sizeof(*v));
        if (!v) {
            c->err = -ENOMEM;
            return;
        }
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = *p;
}

int stats_render_prometheus_from(struct strbuf *out,
                                 void (*visit)(void *visit_arg, stats_pool_visit_fn *fn,
                                               void *fn_arg),
                                 void *visit_arg, const struct stats_process_snap *proc)
{
    struct collect c = {0};
    visit(visit_arg, collect_one, &c);
    int rc = c.err;
    if (!rc)
        rc = stats_render_prometheus(out, c.v, c.n, proc);
    lg_free(c.v);
    return rc;
}

/* ---- /health/db JSON ---- */

static void put_millis(struct strbuf *out, uint64_t us)
{
    strbuf_put_u64(out, us / 1000);
    strbuf_printf(out, ".%03u", (unsigned)(us % 1000));
}

int stats_render_health_json(struct strbuf *out, const struct stats_health_result *r, size_t n)
{
    bool all_ok = n > 0;
    for (size_t i = 0; i < n; i++)
        all_ok = all_ok && r[i].ok;
    strbuf_printf(out, "{\"status\":\"%s\",\"pools\":[", all_ok ? "ok" : "fail");
    for (size_t i = 0; i < n; i++) {
        const struct stats_health_result *h = &r[i];
        strbuf_puts(out, i ? ",{" : "{");
        strbuf_puts(out, "\"database\":");
        strbuf_put_json_string(out, h->database ? h->database : "");
        strbuf_puts(out, ",\"user\":");
        strbuf_put_json_string(out, h->user ? h->user : "");
        strbuf_printf(out, ",\"status\":\"%s\",\"latency_ms\":", h->ok ? "ok" : "fail");
        put_millis(out, h->latency_us);
        strbuf_printf(out, ",\"servers_idle\":%d,\"servers_active\":%d,\"clients_waiting\":%d",
                      h->servers_idle, h->servers_active, h->clients_waiting);
        if (!h->ok) {
            strbuf_puts(out, ",\"sqlstate\":");
            strbuf_put_json_string(out, h->sqlstate ? h->sqlstate : "");
            strbuf_puts(out, ",\"error\":");
            strbuf_put_json_string(out, h->error ? h->error : "");
        }
        strbuf_putc(out, '}');
    }
    strbuf_puts(out, "]}\n");
    int rc = strbuf_status(out);
    return rc < 0 ? rc : (all_ok ? 200 : 503);
}
