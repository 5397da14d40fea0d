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

#include "alloc.h"
#include "cfg.h"

#define OID_INT4    23u
#define OID_TEXT    25u
#define OID_NUMERIC 1700u

struct col {
    const char *name;
    uint32_t oid;
};

/* ---- message building ---- */

static void put_u16(struct strbuf *sb, uint16_t v)
{
    char b[2] = {(char)(v >> 8), (char)v};
    strbuf_append(sb, b, 2);
}

static void put_u32(struct strbuf *sb, uint32_t v)
{
    char b[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v};
    strbuf_append(sb, b, 4);
}

/* Start a message: type byte and a length placeholder; returns where the length goes. */
static size_t msg_begin(struct strbuf *sb, char type)
{
    strbuf_putc(sb, type);
    size_t at = sb->len;
    put_u32(sb, 0);
    return at;
}

static void msg_end(struct strbuf *sb, size_t at)
{
    if (strbuf_status(sb) < 0)
        return;
    uint32_t len = (uint32_t)(sb->len - at);
    unsigned char *p = (unsigned char *)sb->data + at;
    p[0] = (unsigned char)(len >> 24);
    p[1] = (unsigned char)(len >> 16);
    p[2] = (unsigned char)(len >> 8);
    p[3] = (unsigned char)len;
}

static void put_cstr(struct strbuf *sb, const char *s)
{
    strbuf_append(sb, s, strlen(s) + 1);
}

static void row_desc(struct strbuf *sb, const struct col *cols, size_t n)
{
    size_t at = msg_begin(sb, 'T');
    put_u16(sb, (uint16_t)n);
    for (size_t i = 0; i < n; i++) {
        put_cstr(sb, cols[i].name);
        put_u32(sb, 0); /* table oid */
        put_u16(sb, 0); /* attnum */
        put_u32(sb, cols[i].oid);
        put_u16(sb, cols[i].oid == OID_INT4 ? 4 : 0xffff); /* typlen */
        put_u32(sb, 0xffffffffu);                          /* typmod */
        put_u16(sb, 0);                                    /* text format */
    }
    msg_end(sb, at);
}

/* A DataRow under construction. */
struct row {
    struct strbuf *sb;
    size_t at;
};

static struct row row_begin(struct strbuf *sb, size_t ncols)
{
    struct row r = {sb, msg_begin(sb, 'D')};
    put_u16(sb, (uint16_t)ncols);
    return r;
}

static void row_text(struct row *r, const char *s)
{
    if (!s) {
        put_u32(r->sb, 0xffffffffu); /* NULL */
        return;
    }
    size_t n = strlen(s);
    put_u32(r->sb, (uint32_t)n);
    strbuf_append(r->sb, s, n);
}

static void row_i64(struct row *r, int64_t v)
{
    char b[24];
    snprintf(b, sizeof(b), "%" PRId64, v);
    row_text(r, b);
}

static void row_u64(struct row *r, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof(b), "%" PRIu64, v);
    row_text(r, b);
}

static void row_end(struct row *r)
{
    msg_end(r->sb, r->at);
}

void admin_msg_complete(struct strbuf *sb, const char *tag)
{
    size_t at = msg_begin(sb, 'C');
    put_cstr(sb, tag);
    msg_end(sb, at);
}

void admin_msg_ready(struct strbuf *sb)
{
    size_t at = msg_begin(sb, 'Z');
    strbuf_putc(sb, 'I');
    msg_end(sb, at);
}

/* ErrorResponse or NoticeResponse with severity, code, message and optional detail. */
void admin_msg_notice(struct strbuf *sb, char type, const char *severity, const char *sqlstate,
                      const char *msg, const char *detail)
{
    size_t at = msg_begin(sb, type);
    strbuf_putc(sb, 'S');
    put_cstr(sb, severity);
    strbuf_putc(sb, 'V');
    put_cstr(sb, severity);
    strbuf_putc(sb, 'C');
    put_cstr(sb, sqlstate);
    strbuf_putc(sb, 'M');
    put_cstr(sb, msg);
    if (detail) {
        strbuf_putc(sb, 'D');
        put_cstr(sb, detail);
    }
    strbuf_putc(sb, '\0');
    msg_end(sb, at);
}

void admin_msg_error_ready(struct strbuf *sb, const char *sqlstate, const char *msg)
{
    admin_msg_notice(sb, 'E', "ERROR", sqlstate, msg, NULL);
    admin_msg_ready(sb);
}

static void show_done(struct strbuf *sb)
{
    admin_msg_complete(sb, "SHOW");
    admin_msg_ready(sb);
}

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
    struct row r = row_begin(arg, ARRAY_SIZE(pools_cols));
    row_text(&r, p->database);
    row_text(&r, p->user);
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
        row_i64(&r, v[i]);
    row_u64(&r, p->maxwait_us / 1000000);
    row_u64(&r, p->maxwait_us % 1000000);
    row_text(&r, p->pool_mode);
    row_end(&r);
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
    row_desc(sb, cols, ncols);
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
        struct row r = row_begin(sb, ncols);
        row_text(&r, g->name);
        if (kind != STATS_AVERAGES)
            for (size_t k = 0; k < 7; k++)
                row_u64(&r, tot[k]);
        if (kind != STATS_TOTALS)
            for (size_t k = 0; k < 7; k++)
                row_u64(&r, avg[k]);
        row_end(&r);
    }
    aggs_free(&a);
    show_done(sb);
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
    row_desc(sb, cols, ARRAY_SIZE(cols));
    for (size_t i = 0; i < ARRAY_SIZE(stats_names); i++) {
        struct row r = row_begin(sb, 2);
        row_text(&r, stats_names[i]);
        row_u64(&r, v[i]);
        row_end(&r);
    }
    show_done(sb);
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

/* "2026-11-26 17:14:39 UTC", PgBouncer's format; "" when unknown. */
static void row_time(struct row *r, uint64_t unix_us)
{
    char b[40] = "";
    if (unix_us) {
        time_t t = (time_t)(unix_us / 1000000);
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S UTC", &tm);
    }
    row_text(r, b);
}

static void row_ptr(struct row *r, const void *p)
{
    char b[32] = "";
    if (p)
        snprintf(b, sizeof(b), "%p", p);
    row_text(r, b);
}

static void conn_row(void *arg, const struct stats_conn_snap *c)
{
    struct conn_ctx *x = arg;
    struct row r = row_begin(x->sb, ARRAY_SIZE(conn_cols));
    row_text(&r, x->type);
    row_text(&r, c->user ? c->user : "");
    row_text(&r, c->database ? c->database : "");
    row_text(&r, c->state ? c->state : "");
    row_text(&r, c->addr ? c->addr : "");
    row_i64(&r, c->port);
    row_text(&r, c->local_addr ? c->local_addr : "");
    row_i64(&r, c->local_port);
    row_time(&r, c->connect_time_unix_us);
    row_time(&r, c->request_time_unix_us);
    row_u64(&r, c->wait_us / 1000000);
    row_u64(&r, c->wait_us % 1000000);
    row_i64(&r, c->close_needed ? 1 : 0);
    row_ptr(&r, c->ptr);
    row_ptr(&r, c->link);
    row_i64(&r, c->remote_pid);
    row_text(&r, c->tls ? c->tls : "");
    row_text(&r, c->application_name ? c->application_name : "");
    row_end(&r);
}

static void show_conns(struct strbuf *sb, const struct admin_source *src, bool clients)
{
    row_desc(sb, conn_cols, ARRAY_SIZE(conn_cols));
    struct conn_ctx x = {sb, clients ? "C" : "S"};
    void (*visit)(void *, stats_conn_visit_fn *, void *) = clients ? src->clients : src->servers;
    if (visit)
        visit(src->arg, conn_row, &x);
    show_done(sb);
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
    row_desc(sb, db_cols, ARRAY_SIZE(db_cols));
    for (size_t i = 0; cfg && i < cfg->n_dbs; i++) {
        const struct db_entry *d = &cfg->dbs[i];
        struct admin_db_status st = {0};
        if (src->db_status)
            src->db_status(src->arg, d->name, &st);
        struct row r = row_begin(sb, ARRAY_SIZE(db_cols));
        row_text(&r, d->name);
        row_text(&r, d->host);
        row_i64(&r, d->port > 0 ? d->port : 5432);
        row_text(&r, d->dbname ? d->dbname : d->name);
        row_text(&r, d->user);
        row_i64(&r, pick(d->pool_size, cfg->default_pool_size));
        row_i64(&r, pick(d->min_pool_size, cfg->min_pool_size));
        row_i64(&r, pick(d->max_overflow, cfg->max_overflow));
        row_text(&r, mode_name(d->pool_mode));
        row_i64(&r, pick(d->max_db_connections, cfg->max_db_connections));
        row_i64(&r, st.current_connections);
        row_i64(&r, st.paused ? 1 : 0);
        row_i64(&r, st.disabled ? 1 : 0);
        row_end(&r);
    }
    show_done(sb);
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
        row_desc(sb, cols, ARRAY_SIZE(cols));
        for (size_t i = 0; i < a.n; i++) {
            const struct user_entry *u = cfg ? cfg_find_user(cfg, a.v[i].name) : NULL;
            struct row r = row_begin(sb, 2);
            row_text(&r, a.v[i].name);
            row_text(&r, u ? mode_name(u->pool_mode) : NULL);
            row_end(&r);
        }
        show_done(sb);
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
        row_desc(sb, cols, ARRAY_SIZE(cols));
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
            struct row r = row_begin(sb, 2);
            row_text(&r, rows[i].name);
            row_i64(&r, rows[i].v);
            row_end(&r);
        }
        show_done(sb);
    }
    aggs_free(&users);
    aggs_free(&pools);
    return rc;
}

static void config_row(void *arg, const char *key, const char *value, const char *default_value,
                       bool reloadable)
{
    struct row r = row_begin(arg, 4);
    row_text(&r, key);
    row_text(&r, value);
    row_text(&r, default_value);
    row_text(&r, reloadable ? "yes" : "no");
    row_end(&r);
}

static void show_config(struct strbuf *sb, const struct config *cfg)
{
    static const struct col cols[] = {{"key", OID_TEXT},
                                      {"value", OID_TEXT},
                                      {"default", OID_TEXT},
                                      {"changeable", OID_TEXT}};
    row_desc(sb, cols, ARRAY_SIZE(cols));
    if (cfg)
        cfg_show(cfg, config_row, sb);
    show_done(sb);
}

static const char help_text[] = "\n\tSHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|VERSION"
                                "\n\tSHOW LISTS|TOTALS|DNS_HOSTS|DNS_ZONES"
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
        row_desc(sb, pools_cols, ARRAY_SIZE(pools_cols));
        if (src->pools)
            src->pools(src->arg, pool_row, sb);
        show_done(sb);
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
        row_desc(sb, word_is(what, "dns_hosts") ? hosts : zones, 3);
        show_done(sb);
    } else if (word_is(what, "config")) {
        show_config(sb, cfg);
    } else if (word_is(what, "version")) {
        static const struct col cols[] = {{"version", OID_TEXT}};
        row_desc(sb, cols, 1);
        struct row r = row_begin(sb, 1);
        row_text(&r, src->version ? src->version : "lifeguard");
        row_end(&r);
        show_done(sb);
    } else if (word_is(what, "help")) {
        admin_msg_notice(sb, 'N', "NOTICE", "00000", "Console usage", help_text);
        show_done(sb);
    } else {
        return 1; /* unknown */
    }
    return 0;
}

void admin_msg_empty_query(struct strbuf *sb)
{
    size_t at = msg_begin(sb, 'I');
    msg_end(sb, at);
    admin_msg_ready(sb);
}
