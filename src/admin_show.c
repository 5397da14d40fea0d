/* SPDX-License-Identifier: MIT */
/*
 * admin_show.c: the admin console's SHOW renderers and the handful of PostgreSQL
 * messages the console sends (RowDescription, DataRow, CommandComplete, Notice/Error,
 * ReadyForQuery), built straight into a strbuf: pgproto's builders write into a fixed
 * struct buf, and a large SHOW would not fit one. Column tables mirror PgBouncer 1.18
 * (names, order, type OIDs), checked against a running PgBouncer 1.18 and
 * tests/unit/test_admin.c. Part of the admin module; only admin.c calls it.
 */
#include "admin_show.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin_msg.h"
#include "alloc.h"
#include "cfg.h"

/* ---- SHOW POOLS / STATS ---- */

static const struct col pools_cols[] = {
        {"database", OID_TEXT},
        {"user", OID_TEXT},
        {"cl_active", OID_INT4},
        {"cl_waiting", OID_INT4},
        {"cl_active_cancel_req", OID_INT4},
        {"cl_waiting_cancel_req", OID_INT4},
        {"sv_active", OID_INT4},
        {"sv_active_cancel", OID_INT4},
        {"sv_being_canceled", OID_INT4},
        {"sv_idle", OID_INT4},
        {"sv_used", OID_INT4},
        {"sv_tested", OID_INT4},
        {"sv_login", OID_INT4},
        {"maxwait", OID_INT4},
        {"maxwait_us", OID_INT4},
        {"pool_mode", OID_TEXT},
};

static void pool_row(void *arg, const struct stats_pool_snap *p)
{
    struct row r = admin_row_begin(arg, ARRAY_SIZE(pools_cols));
    admin_row_text(&r, p->database);
    admin_row_text(&r, p->user);
    int v[] = {p->cl_active,
               p->cl_waiting,
               p->cl_active_cancel_req,
               p->cl_waiting_cancel_req,
               p->sv_active,
               p->sv_active_cancel,
               p->sv_being_canceled,
               p->sv_idle,
               p->sv_used,
               p->sv_tested,
               p->sv_login};
    for (size_t i = 0; i < ARRAY_SIZE(v); i++)
        admin_row_i64(&r, v[i]);
    admin_row_u64(&r, p->maxwait_us / 1000000);
    admin_row_u64(&r, p->maxwait_us % 1000000);
    admin_row_text(&r, p->pool_mode);
    admin_row_end(&r);
}

/* Per-database sums for SHOW STATS*, and user names for SHOW USERS / LISTS. */
struct agg {
    char *name;
    struct stats_counters c;
    struct stats_averages a;
    uint64_t avg_weight_x, avg_weight_q; /* avg xact/query counts, to weight avg times */
};

struct aggs {
    struct agg *v;
    size_t n, cap;
    int err;
    bool by_user;
    int n_pools, cl, sv; /* pools seen, their clients and servers summed */
};

static struct agg *agg_find(struct aggs *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].name, name) == 0)
            return &a->v[i];
    if (a->err)
        return NULL;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        struct agg *v = lg_realloc(a->v, cap * sizeof(*v));
        if (!v) {
            a->err = -ENOMEM;
            return NULL;
        }
        a->v = v;
        a->cap = cap;
    }
    struct agg *g = &a->v[a->n];
    memset(g, 0, sizeof(*g));
    g->name = lg_strdup(name);
    if (!g->name) {
        a->err = -ENOMEM;
        return NULL;
    }
    a->n++;
    return g;
}

static void aggs_free(struct aggs *a)
{
    for (size_t i = 0; i < a->n; i++)
        lg_free(a->v[i].name);
    lg_free(a->v);
}

static void agg_pool(void *arg, const struct stats_pool_snap *p)
{
    struct aggs *a = arg;
    a->n_pools++;
    a->cl += p->cl_active + p->cl_waiting + p->cl_active_cancel_req + p->cl_waiting_cancel_req;
    a->sv += p->sv_active + p->sv_active_cancel + p->sv_being_canceled + p->sv_idle + p->sv_used +
             p->sv_tested + p->sv_login;
    struct agg *g =
            agg_find(a, a->by_user ? (p->user ? p->user : "") : (p->database ? p->database : ""));
    if (!g || a->by_user || !p->c)
        return;
    const struct stats_counters *c = p->c;
    g->c.xact_count += c->xact_count;
    g->c.query_count += c->query_count;
    g->c.bytes_in += c->bytes_in;
    g->c.bytes_out += c->bytes_out;
    g->c.xact_time_us += c->xact_time_us;
    g->c.query_time_us += c->query_time_us;
    g->c.wait_time_us += c->wait_time_us;
    if (p->avg) {
        const struct stats_averages *s = p->avg;
        g->a.xact_count += s->xact_count;
        g->a.query_count += s->query_count;
        g->a.bytes_in += s->bytes_in;
        g->a.bytes_out += s->bytes_out;
        /* Averages of times are weighted by each pool's rate; divided out below. */
        g->a.xact_time_us += s->xact_time_us * s->xact_count;
        g->a.wait_time_us += s->wait_time_us * s->xact_count;
        g->a.query_time_us += s->query_time_us * s->query_count;
    }
}

/* Every pool's counters summed per database into @a (freed on failure). 0 or -errno. */
static int pools_by_database(const struct admin_source *src, struct aggs *a)
{
    if (src->pools)
        src->pools(src->arg, agg_pool, a);
    int err = a->err;
    if (err)
        aggs_free(a);
    return err;
}

enum stats_kind { STATS_ALL, STATS_TOTALS, STATS_AVERAGES };

static const char *const totals_names[] = {"xact_count", "query_count", "bytes_received",
                                           "bytes_sent", "xact_time",   "query_time",
                                           "wait_time"};
static const char *const stats_names[] = {
        "total_xact_count", "total_query_count", "total_received",  "total_sent",
        "total_xact_time",  "total_query_time",  "total_wait_time", "avg_xact_count",
        "avg_query_count",  "avg_recv",          "avg_sent",        "avg_xact_time",
        "avg_query_time",   "avg_wait_time"};

static int show_stats(struct strbuf *sb, const struct admin_source *src, enum stats_kind kind)
{
    struct col cols[1 + ARRAY_SIZE(stats_names)] = {{"database", OID_TEXT}};
    size_t ncols = 1;
    if (kind == STATS_ALL)
        for (size_t i = 0; i < ARRAY_SIZE(stats_names); i++)
            cols[ncols++] = (struct col){stats_names[i], OID_NUMERIC};
    else
        for (size_t i = 0; i < ARRAY_SIZE(totals_names); i++)
            cols[ncols++] = (struct col){totals_names[i], OID_NUMERIC};
    struct aggs a = {0};
    int rc = pools_by_database(src, &a);
    if (rc < 0)
        return rc;
    admin_row_desc(sb, cols, ncols);
    for (size_t i = 0; i < a.n; i++) {
        struct agg *g = &a.v[i];
        struct stats_averages *s = &g->a;
        uint64_t ax = s->xact_count, aq = s->query_count;
        uint64_t tot[7] = {g->c.xact_count,   g->c.query_count,   g->c.bytes_in,    g->c.bytes_out,
                           g->c.xact_time_us, g->c.query_time_us, g->c.wait_time_us};
        uint64_t avg[7] = {ax,
                           aq,
                           s->bytes_in,
                           s->bytes_out,
                           ax ? s->xact_time_us / ax : 0,
                           aq ? s->query_time_us / aq : 0,
                           ax ? s->wait_time_us / ax : 0};
        struct row r = admin_row_begin(sb, ncols);
        admin_row_text(&r, g->name);
        if (kind != STATS_AVERAGES)
            for (size_t k = 0; k < 7; k++)
                admin_row_u64(&r, tot[k]);
        if (kind != STATS_TOTALS)
            for (size_t k = 0; k < 7; k++)
                admin_row_u64(&r, avg[k]);
        admin_row_end(&r);
    }
    aggs_free(&a);
    admin_show_done(sb);
    return 0;
}

/* SHOW TOTALS: SHOW STATS summed over every pool, as name/value rows (PgBouncer's). */
static int show_totals(struct strbuf *sb, const struct admin_source *src)
{
    static const struct col cols[] = {{"name", OID_TEXT}, {"value", OID_NUMERIC}};
    struct aggs a = {0};
    int rc = pools_by_database(src, &a);
    if (rc < 0)
        return rc;
    struct agg t = {0};
    for (size_t i = 0; i < a.n; i++) {
        const struct agg *g = &a.v[i];
        t.c.xact_count += g->c.xact_count;
        t.c.query_count += g->c.query_count;
        t.c.bytes_in += g->c.bytes_in;
        t.c.bytes_out += g->c.bytes_out;
        t.c.xact_time_us += g->c.xact_time_us;
        t.c.query_time_us += g->c.query_time_us;
        t.c.wait_time_us += g->c.wait_time_us;
        t.a.xact_count += g->a.xact_count;
        t.a.query_count += g->a.query_count;
        t.a.bytes_in += g->a.bytes_in;
        t.a.bytes_out += g->a.bytes_out;
        t.a.xact_time_us += g->a.xact_time_us; /* weighted sums (agg_pool) */
        t.a.query_time_us += g->a.query_time_us;
        t.a.wait_time_us += g->a.wait_time_us;
    }
    aggs_free(&a);
    uint64_t ax = t.a.xact_count, aq = t.a.query_count;
    uint64_t v[ARRAY_SIZE(stats_names)] = {t.c.xact_count,
                                           t.c.query_count,
                                           t.c.bytes_in,
                                           t.c.bytes_out,
                                           t.c.xact_time_us,
                                           t.c.query_time_us,
                                           t.c.wait_time_us,
                                           ax,
                                           aq,
                                           t.a.bytes_in,
                                           t.a.bytes_out,
                                           ax ? t.a.xact_time_us / ax : 0,
                                           aq ? t.a.query_time_us / aq : 0,
                                           ax ? t.a.wait_time_us / ax : 0};
    admin_row_desc(sb, cols, ARRAY_SIZE(cols));
    for (size_t i = 0; i < ARRAY_SIZE(stats_names); i++) {
        struct row r = admin_row_begin(sb, 2);
        admin_row_text(&r, stats_names[i]);
        admin_row_u64(&r, v[i]);
        admin_row_end(&r);
    }
    admin_show_done(sb);
    return 0;
}

/* ---- SHOW CLIENTS / SERVERS ---- */

static const struct col conn_cols[] = {
        {"type", OID_TEXT},         {"user", OID_TEXT},       {"database", OID_TEXT},
        {"state", OID_TEXT},        {"addr", OID_TEXT},       {"port", OID_INT4},
        {"local_addr", OID_TEXT},   {"local_port", OID_INT4}, {"connect_time", OID_TEXT},
        {"request_time", OID_TEXT}, {"wait", OID_INT4},       {"wait_us", OID_INT4},
        {"close_needed", OID_INT4}, {"ptr", OID_TEXT},        {"link", OID_TEXT},
        {"remote_pid", OID_INT4},   {"tls", OID_TEXT},        {"application_name", OID_TEXT},
};

struct conn_ctx {
    struct strbuf *sb;
    const char *type;
};

/* The SHOW CLIENTS/SERVERS columns of @c, in conn_cols order. */
static void conn_fields(struct row *r, const char *type, const char *state,
                        const struct stats_conn_snap *c)
{
    admin_row_text(r, type);
    admin_row_text(r, c->user ? c->user : "");
    admin_row_text(r, c->database ? c->database : "");
    admin_row_text(r, state);
    admin_row_text(r, c->addr ? c->addr : "");
    admin_row_i64(r, c->port);
    admin_row_text(r, c->local_addr ? c->local_addr : "");
    admin_row_i64(r, c->local_port);
    admin_row_time(r, c->connect_time_unix_us);
    admin_row_time(r, c->request_time_unix_us);
    admin_row_u64(r, c->wait_us / 1000000);
    admin_row_u64(r, c->wait_us % 1000000);
    admin_row_i64(r, c->close_needed ? 1 : 0);
    admin_row_ptr(r, c->ptr);
    admin_row_ptr(r, c->link);
    admin_row_i64(r, c->remote_pid);
    admin_row_text(r, c->tls ? c->tls : "");
    admin_row_text(r, c->application_name ? c->application_name : "");
}

static void conn_row(void *arg, const struct stats_conn_snap *c)
{
    struct conn_ctx *x = arg;
    struct row r = admin_row_begin(x->sb, ARRAY_SIZE(conn_cols));
    conn_fields(&r, x->type, c->state ? c->state : "", c);
    admin_row_end(&r);
}

static void show_conns(struct strbuf *sb, const struct admin_source *src, bool clients)
{
    admin_row_desc(sb, conn_cols, ARRAY_SIZE(conn_cols));
    struct conn_ctx x = {sb, clients ? "C" : "S"};
    void (*visit)(void *, stats_conn_visit_fn *, void *) = clients ? src->clients : src->servers;
    if (visit)
        visit(src->arg, conn_row, &x);
    admin_show_done(sb);
}

/* ---- SHOW SOCKETS / ACTIVE_SOCKETS / FDS / MEM (PgBouncer's low-level views) ---- */

static const char *const buf_cols[] = {"recv_pos",    "pkt_pos",   "pkt_remain", "send_pos",
                                       "send_remain", "pkt_avail", "send_avail"};

struct socket_ctx {
    struct strbuf *sb;
    bool clients, active_only;
};

/* SHOW SOCKETS: SHOW CLIENTS/SERVERS's columns, the state as cl_active, sv_idle, ...,
 * then the buffer positions. ACTIVE_SOCKETS: only sockets holding buffered bytes. */
static void socket_row(void *arg, const struct stats_conn_snap *c)
{
    struct socket_ctx *x = arg;
    bool holds = false;
    for (size_t i = 0; i < ARRAY_SIZE(buf_cols); i++)
        holds |= c->buf_pos[i] != 0;
    if (x->active_only && !holds)
        return;
    char state[40];
    snprintf(state, sizeof(state), "%s_%s", x->clients ? "cl" : "sv", c->state ? c->state : "");
    struct row r = admin_row_begin(x->sb, ARRAY_SIZE(conn_cols) + ARRAY_SIZE(buf_cols));
    conn_fields(&r, x->clients ? "C" : "S", state, c);
    for (size_t i = 0; i < ARRAY_SIZE(buf_cols); i++)
        admin_row_u64(&r, c->buf_pos[i]);
    admin_row_end(&r);
}

static void show_sockets(struct strbuf *sb, const struct admin_source *src, bool active_only)
{
    struct col cols[ARRAY_SIZE(conn_cols) + ARRAY_SIZE(buf_cols)];
    memcpy(cols, conn_cols, sizeof(conn_cols));
    for (size_t i = 0; i < ARRAY_SIZE(buf_cols); i++)
        cols[ARRAY_SIZE(conn_cols) + i] = (struct col){buf_cols[i], OID_INT4};
    admin_row_desc(sb, cols, ARRAY_SIZE(cols));
    struct socket_ctx x = {sb, true, active_only};
    if (src->clients)
        src->clients(src->arg, socket_row, &x);
    x.clients = false;
    if (src->servers)
        src->servers(src->arg, socket_row, &x);
    admin_show_done(sb);
}

static const struct col fds_cols[] = {{"fd", OID_INT4},
                                      {"task", OID_TEXT},
                                      {"user", OID_TEXT},
                                      {"database", OID_TEXT},
                                      {"addr", OID_TEXT},
                                      {"port", OID_INT4},
                                      {"cancel", OID_INT8},
                                      {"link", OID_INT4},
                                      {"client_encoding", OID_TEXT},
                                      {"std_strings", OID_TEXT},
                                      {"datestyle", OID_TEXT},
                                      {"timezone", OID_TEXT},
                                      {"password", OID_TEXT},
                                      {"scram_client_key", OID_BYTEA},
                                      {"scram_server_key", OID_BYTEA}};

struct fds_ctx {
    struct strbuf *sb;
    const char *task;
};

/* SHOW FDS: each client and server socket with the state a restarted PgBouncer would
 * take over. lifeguard does no online restart and never shows secrets: password and
 * the SCRAM keys are NULL. */
static void fd_row(void *arg, const struct stats_conn_snap *c)
{
    struct fds_ctx *x = arg;
    struct row r = admin_row_begin(x->sb, ARRAY_SIZE(fds_cols));
    admin_row_i64(&r, c->fd);
    admin_row_text(&r, x->task);
    admin_row_text(&r, c->user);
    admin_row_text(&r, c->database);
    admin_row_text(&r, c->addr ? c->addr : "");
    admin_row_i64(&r, c->port);
    admin_row_u64(&r, c->cancel_key);
    admin_row_i64(&r, c->link_fd >= 0 ? c->link_fd : 0);
    admin_row_text(&r, c->client_encoding);
    admin_row_text(&r, c->std_strings);
    admin_row_text(&r, c->datestyle);
    admin_row_text(&r, c->timezone);
    admin_row_text(&r, NULL);
    admin_row_text(&r, NULL);
    admin_row_text(&r, NULL);
    admin_row_end(&r);
}

static void show_fds(struct strbuf *sb, const struct admin_source *src)
{
    admin_row_desc(sb, fds_cols, ARRAY_SIZE(fds_cols));
    struct fds_ctx x = {sb, "client"};
    if (src->clients)
        src->clients(src->arg, fd_row, &x);
    x.task = "server";
    if (src->servers)
        src->servers(src->arg, fd_row, &x);
    admin_show_done(sb);
}

static void mem_row(void *arg, const struct admin_mem_row *m)
{
    struct row r = admin_row_begin(arg, 5);
    admin_row_text(&r, m->name);
    admin_row_u64(&r, m->size);
    admin_row_u64(&r, m->used);
    admin_row_u64(&r, m->free);
    admin_row_u64(&r, m->size * (m->used + m->free));
    admin_row_end(&r);
}

static void show_mem(struct strbuf *sb, const struct admin_source *src)
{
    static const struct col cols[] = {{"name", OID_TEXT},
                                      {"size", OID_INT4},
                                      {"used", OID_INT4},
                                      {"free", OID_INT4},
                                      {"memtotal", OID_INT4}};
    admin_row_desc(sb, cols, ARRAY_SIZE(cols));
    if (src->mem)
        src->mem(src->arg, mem_row, sb);
    admin_show_done(sb);
}

/* ---- SHOW DATABASES / USERS / LISTS / CONFIG ---- */

static const struct col db_cols[] = {
        {"name", OID_TEXT},
        {"host", OID_TEXT},
        {"port", OID_INT4},
        {"database", OID_TEXT},
        {"force_user", OID_TEXT},
        {"pool_size", OID_INT4},
        {"min_pool_size", OID_INT4},
        {"reserve_pool", OID_INT4},
        {"pool_mode", OID_TEXT},
        {"max_connections", OID_INT4},
        {"current_connections", OID_INT4},
        {"paused", OID_INT4},
        {"disabled", OID_INT4},
};

static const char *mode_name(int mode)
{
    switch (mode) {
    case POOL_MODE_SESSION:
        return "session";
    case POOL_MODE_TRANSACTION:
        return "transaction";
    case POOL_MODE_STATEMENT:
        return "statement";
    default:
        return NULL;
    }
}

static int pick(int v, int dflt)
{
    return v >= 0 ? v : dflt;
}

static void show_databases(struct strbuf *sb, const struct admin_source *src,
                           const struct config *cfg)
{
    admin_row_desc(sb, db_cols, ARRAY_SIZE(db_cols));
    for (size_t i = 0; cfg && i < cfg->n_dbs; i++) {
        const struct db_entry *d = &cfg->dbs[i];
        struct admin_db_status st = {0};
        if (src->db_status)
            src->db_status(src->arg, d->name, &st);
        struct row r = admin_row_begin(sb, ARRAY_SIZE(db_cols));
        admin_row_text(&r, d->name);
        admin_row_text(&r, d->host);
        admin_row_i64(&r, d->port > 0 ? d->port : 5432);
        admin_row_text(&r, d->dbname ? d->dbname : d->name);
        admin_row_text(&r, d->user);
        admin_row_i64(&r, pick(d->pool_size, cfg->default_pool_size));
        admin_row_i64(&r, pick(d->min_pool_size, cfg->min_pool_size));
        admin_row_i64(&r, pick(d->max_overflow, cfg->max_overflow));
        admin_row_text(&r, mode_name(d->pool_mode));
        admin_row_i64(&r, pick(d->max_db_connections, cfg->max_db_connections));
        admin_row_i64(&r, st.current_connections);
        admin_row_i64(&r, st.paused ? 1 : 0);
        admin_row_i64(&r, st.disabled ? 1 : 0);
        admin_row_end(&r);
    }
    admin_show_done(sb);
}

/* [users] entries first, then users that only appear as pools. */
static int collect_users(const struct admin_source *src, const struct config *cfg, struct aggs *a)
{
    a->by_user = true;
    for (size_t i = 0; cfg && i < cfg->n_users; i++)
        (void)agg_find(a, cfg->users[i].name);
    if (src->pools)
        src->pools(src->arg, agg_pool, a);
    return a->err;
}

static int show_users(struct strbuf *sb, const struct admin_source *src, const struct config *cfg)
{
    static const struct col cols[] = {{"name", OID_TEXT}, {"pool_mode", OID_TEXT}};
    struct aggs a = {0};
    int rc = collect_users(src, cfg, &a);
    if (rc == 0) {
        admin_row_desc(sb, cols, ARRAY_SIZE(cols));
        for (size_t i = 0; i < a.n; i++) {
            const struct user_entry *u = cfg ? cfg_find_user(cfg, a.v[i].name) : NULL;
            struct row r = admin_row_begin(sb, 2);
            admin_row_text(&r, a.v[i].name);
            admin_row_text(&r, u ? mode_name(u->pool_mode) : NULL);
            admin_row_end(&r);
        }
        admin_show_done(sb);
    }
    aggs_free(&a);
    return rc;
}

static int show_lists(struct strbuf *sb, const struct admin_source *src, const struct config *cfg)
{
    static const struct col cols[] = {{"list", OID_TEXT}, {"items", OID_INT4}};
    struct aggs users = {0}, pools = {0};
    int rc = collect_users(src, cfg, &users);
    if (rc == 0 && src->pools)
        src->pools(src->arg, agg_pool, &pools);
    if (rc == 0)
        rc = pools.err;
    if (rc == 0) {
        struct admin_counts k = {.used_clients = pools.cl, .used_servers = pools.sv};
        if (src->counts)
            src->counts(src->arg, &k);
        struct {
            const char *name;
            int64_t v;
        } rows[] = {
                {"databases", cfg ? (int64_t)cfg->n_dbs : 0},
                {"users", (int64_t)users.n},
                {"pools", pools.n_pools},
                {"free_clients", 0},
                {"used_clients", k.used_clients},
                {"login_clients", k.login_clients},
                {"free_servers", 0},
                {"used_servers", k.used_servers},
                {"dns_names", 0},
                {"dns_zones", 0},
                {"dns_queries", 0},
                {"dns_pending", 0},
        };
        admin_row_desc(sb, cols, ARRAY_SIZE(cols));
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
            struct row r = admin_row_begin(sb, 2);
            admin_row_text(&r, rows[i].name);
            admin_row_i64(&r, rows[i].v);
            admin_row_end(&r);
        }
        admin_show_done(sb);
    }
    aggs_free(&users);
    aggs_free(&pools);
    return rc;
}

static void config_row(void *arg, const char *key, const char *value, const char *default_value,
                       bool reloadable)
{
    struct row r = admin_row_begin(arg, 4);
    admin_row_text(&r, key);
    admin_row_text(&r, value);
    admin_row_text(&r, default_value);
    admin_row_text(&r, reloadable ? "yes" : "no");
    admin_row_end(&r);
}

static void show_config(struct strbuf *sb, const struct config *cfg)
{
    static const struct col cols[] = {{"key", OID_TEXT},
                                      {"value", OID_TEXT},
                                      {"default", OID_TEXT},
                                      {"changeable", OID_TEXT}};
    admin_row_desc(sb, cols, ARRAY_SIZE(cols));
    if (cfg)
        cfg_show(cfg, config_row, sb);
    admin_show_done(sb);
}

static const char help_text[] =
        "\n\tSHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|VERSION"
        "\n\tSHOW LISTS|TOTALS|DNS_HOSTS|DNS_ZONES|FDS|SOCKETS|ACTIVE_SOCKETS|MEM"
        "\n\tSHOW STATS|STATS_TOTALS|STATS_AVERAGES"
        "\n\tSET key = arg"
        "\n\tRELOAD"
        "\n\tPAUSE [<db>]"
        "\n\tRESUME [<db>]"
        "\n\tRECONNECT [<db>]"
        "\n\tWAIT_CLOSE [<db>]"
        "\n\tKILL <db>"
        "\n\tDISABLE <db>"
        "\n\tENABLE <db>"
        "\n\tSHUTDOWN";

static bool word_is(const char *w, const char *kw)
{
    return strcasecmp(w, kw) == 0;
}

int admin_show(struct strbuf *sb, const char *what, const struct admin_source *src)
{
    const struct config *cfg = src->config ? src->config(src->arg) : NULL;
    if (word_is(what, "pools")) {
        admin_row_desc(sb, pools_cols, ARRAY_SIZE(pools_cols));
        if (src->pools)
            src->pools(src->arg, pool_row, sb);
        admin_show_done(sb);
    } else if (word_is(what, "stats")) {
        return show_stats(sb, src, STATS_ALL);
    } else if (word_is(what, "stats_totals")) {
        return show_stats(sb, src, STATS_TOTALS);
    } else if (word_is(what, "stats_averages")) {
        return show_stats(sb, src, STATS_AVERAGES);
    } else if (word_is(what, "clients")) {
        show_conns(sb, src, true);
    } else if (word_is(what, "servers")) {
        show_conns(sb, src, false);
    } else if (word_is(what, "sockets") || word_is(what, "active_sockets")) {
        show_sockets(sb, src, word_is(what, "active_sockets"));
    } else if (word_is(what, "fds")) {
        show_fds(sb, src);
    } else if (word_is(what, "mem")) {
        show_mem(sb, src);
    } else if (word_is(what, "databases")) {
        show_databases(sb, src, cfg);
    } else if (word_is(what, "users")) {
        return show_users(sb, src, cfg);
    } else if (word_is(what, "lists")) {
        return show_lists(sb, src, cfg);
    } else if (word_is(what, "totals")) {
        return show_totals(sb, src);
    } else if (word_is(what, "dns_hosts") || word_is(what, "dns_zones")) {
        /* PgBouncer's DNS cache. lifeguard resolves a host name at each connect
         * (getaddrinfo, so nscd/systemd-resolved caching applies) and caches nothing:
         * the columns, no rows. */
        static const struct col hosts[] = {
                {"hostname", OID_TEXT}, {"ttl", OID_NUMERIC}, {"addrs", OID_TEXT}};
        static const struct col zones[] = {
                {"zonename", OID_TEXT}, {"serial", OID_NUMERIC}, {"count", OID_INT4}};
        admin_row_desc(sb, word_is(what, "dns_hosts") ? hosts : zones, 3);
        admin_show_done(sb);
    } else if (word_is(what, "config")) {
        show_config(sb, cfg);
    } else if (word_is(what, "version")) {
        static const struct col cols[] = {{"version", OID_TEXT}};
        admin_row_desc(sb, cols, 1);
        struct row r = admin_row_begin(sb, 1);
        admin_row_text(&r, src->version ? src->version : "lifeguard");
        admin_row_end(&r);
        admin_show_done(sb);
    } else if (word_is(what, "help")) {
        admin_msg_notice(sb, 'N', "NOTICE", "00000", "Console usage", help_text);
        admin_show_done(sb);
    } else {
        return 1; /* unknown */
    }
    return 0;
}
