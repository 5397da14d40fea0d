/* SPDX-License-Identifier: MIT */
/*
 * client.c: the client state machine: startup packet, SSL/GSSENC refusal, cancel
 * requests, authentication (userlist or auth_query), waiting for a server, relaying
 * (stream.c does the bytes), and one teardown path, client_close(). Objects are
 * freed at the end of the loop turn, never inside their own callbacks.
 * Invariant: every client is on exactly one list, the one named by its state.
 */
#include "client.h"

#include <errno.h>
#include <strings.h>
#include <stdarg.h>
#include <sys/random.h>
#include <unistd.h>

#include "admin.h"
#include "alloc.h"
#include "auth.h"
#include "cfg.h"
#include "clock.h"
#include "console.h"
#include "evloop.h"
#include "list.h"
#include "log.h"
#include "pgproto.h"
#include "pool.h"
#include "stats.h"
#include "prepared.h"
#include "stream.h"
#include "userlist.h"

#define CANCEL_BUCKETS 4096

struct auth_lookup;

struct client {
    struct list_node node;        /* on lists[state] */
    struct list_node hash_node;   /* on cancel_hash[cancel_pid % CANCEL_BUCKETS] */
    enum client_state state;
    uint64_t id;
    char peer[64];
    struct stream st;
    struct evloop_timer login_timer; /* client_login_timeout */
    uint8_t *startup;             /* copy of the startup packet; su points into it */
    struct pgproto_startup su;
    const char *user, *dbname;
    struct pgproto_param want[PGPROTO_MAX_PARAMS]; /* parameters to SET on the server */
    size_t n_want;
    char *owned[PGPROTO_MAX_PARAMS][2]; /* storage for want[] entries updated later */
    bool welcomed;                /* ParameterStatus/BackendKeyData/ReadyForQuery sent */
    struct ps_client *ps;         /* named prepared statements (transaction mode) */
    uint64_t seen_in, seen_out;   /* byte counters at the last janitor look */
    uint64_t active_at_us;        /* when bytes last moved */
    uint64_t query_since_us;      /* a request has been in flight since (0: none) */
    bool query_cancelled;         /* query_timeout already sent a cancel */
    bool console;                 /* connected to the admin console database */
    bool console_admin;           /* in admin_users (else stats_users: SHOW only) */
    struct admin_result *ares;    /* console answer being sent */
    uint64_t connected_at_us;
    const struct db_entry *db;
    struct pool *pool;
    struct pool_waiter waiter;
    struct auth_exchange auth;
    char *secret;                 /* stored password/secret for this user, or NULL */
    struct server *server;        /* linked server (opaque here), or NULL */
    struct auth_lookup *lookup;   /* auth_query in flight */
    struct pool_cancel *cancel;   /* this connection is a CancelRequest being forwarded */
    uint32_t cancel_pid, cancel_key;
    bool ssl_answered, gss_answered;
};

struct auth_lookup {
    struct pool_waiter w;
    struct client *c;             /* NULL once the client left */
    bool in_exec;
};

static struct evloop *g_ev;
static const struct config *g_cfg;
static const struct userlist *g_ul;
static struct list_node lists[CLIENT_NSTATES];
static struct list_node cancel_hash[CANCEL_BUCKETS];
static size_t n_clients;
static uint64_t next_id = 1;

static int on_raw(struct stream *st, const uint8_t *p, size_t n);
static int on_message(struct stream *st, uint8_t type, const uint8_t *p, uint32_t len);
static void on_close(struct stream *st, int err);
static int on_hold(struct stream *st, const uint8_t *p, size_t n);
static int on_head(struct stream *st, uint8_t type, size_t total, const uint8_t *p, size_t n);
static void on_out_space(struct stream *st);
static const struct stream_ops client_ops = {.on_raw = on_raw,
                                             .on_message = on_message,
                                             .on_close = on_close,
                                             .on_hold = on_hold,
                                             .on_head = on_head,
                                             .on_out_space = on_out_space};

void client_module_init(struct evloop *ev, const struct config *cfg, const struct userlist *ul)
{
    g_ev = ev;
    g_cfg = cfg;
    g_ul = ul;
    for (int i = 0; i < CLIENT_NSTATES; i++)
        list_init(&lists[i]);
    for (int i = 0; i < CANCEL_BUCKETS; i++)
        list_init(&cancel_hash[i]);
}

size_t client_count(void)
{
    return n_clients;
}

static void set_state(struct client *c, enum client_state st)
{
    list_del(&c->node);
    c->state = st;
    list_append(&lists[st], &c->node);
}

static void free_client(struct evloop *ev, void *arg)
{
    (void)ev;
    struct client *c = arg;
    list_del(&c->node);
    lg_free(c->startup);
    ps_client_free(c->ps);
    if (c->ares) {
        admin_result_fini(c->ares);
        lg_free(c->ares);
    }
    for (size_t i = 0; i < PGPROTO_MAX_PARAMS; i++) {
        lg_free(c->owned[i][0]);
        lg_free(c->owned[i][1]);
    }
    if (c->secret) {
        explicit_bzero(c->secret, strlen(c->secret));
        lg_free(c->secret);
    }
    lg_free(c);
    n_clients--;
}

static void detach_lookup(struct client *c)
{
    struct auth_lookup *lk = c->lookup;
    if (!lk)
        return;
    c->lookup = NULL;
    lk->c = NULL;
    if (!lk->in_exec) {
        pool_cancel_wait(&lk->w);
        lg_free(lk);
    }
}

static void client_close(struct client *c, const char *sqlstate, const char *fmt, ...)
        LG_PRINTF(3, 4);

static void client_close(struct client *c, const char *sqlstate, const char *fmt, ...)
{
    if (c->state == CLIENT_CLOSING)
        return;
    char reason[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (sqlstate) {
        log_info("C-%llu %s/%s@%s closing: %s (%s)", (unsigned long long)c->id,
                 c->dbname ? c->dbname : "?", c->user ? c->user : "?", c->peer, reason, sqlstate);
        if (!c->st.closed && !c->st.err) {
            /* The error goes before anything else we would still send; relayed bytes
             * from a server are abandoned (the session is over). */
            stream_unlink(&c->st);
            if (pgproto_put_error(&c->st.out, "FATAL", sqlstate, reason) == 0)
                stream_flush(&c->st);
        }
    } else if (g_cfg->log_disconnections) {
        log_info("C-%llu %s/%s@%s closing: %s", (unsigned long long)c->id,
                 c->dbname ? c->dbname : "?", c->user ? c->user : "?", c->peer, reason);
    }
    evloop_timer_cancel(g_ev, &c->login_timer);
    detach_lookup(c);
    if (c->cancel) {
        pool_cancel_detach(c->cancel);
        c->cancel = NULL;
    }
    pool_cancel_wait(&c->waiter);
    if (c->server) {
        struct server *s = c->server;
        c->server = NULL;
        pool_release(s, &c->st);
    }
    auth_fini(&c->auth);
    list_del(&c->hash_node);
    stream_close(&c->st);
    set_state(c, CLIENT_CLOSING);
    if (evloop_defer(g_ev, free_client, c) < 0)
        log_error("C-%llu: cannot schedule free (out of memory); leaking it",
                  (unsigned long long)c->id);
}

void client_close_all(const char *reason)
{
    for (int st = 0; st < CLIENT_NSTATES; st++) {
        if (st == CLIENT_CLOSING)
            continue;
        while (!list_empty(&lists[st]))
            client_close(container_of(lists[st].next, struct client, node), "57P01", "%s",
                         reason);
    }
}

static void login_timeout(struct evloop *ev, void *arg)
{
    (void)ev;
    client_close(arg, "08P01", "client_login_timeout: login not completed in time");
}

void client_accept(int fd, const char *peer, bool is_unix)
{
    struct client *c = lg_calloc(1, sizeof(*c));
    if (!c) {
        log_error("accept from %s: out of memory", peer);
        close(fd);
        return;
    }
    n_clients++;
    c->id = next_id++;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    list_init(&c->node);
    list_init(&c->hash_node);
    list_init(&c->waiter.node);
    evloop_timer_init(&c->login_timer, login_timeout, c);
    c->state = CLIENT_LOGIN;
    c->active_at_us = clock_now_us();
    c->connected_at_us = c->active_at_us;
    list_append(&lists[CLIENT_LOGIN], &c->node);
    (void)is_unix;
    size_t bufsz = (size_t)LG_MAX(g_cfg->pkt_buf, 16384);
    if (stream_init(&c->st, g_ev, fd, bufsz, &client_ops, c) < 0) {
        log_error("C-%llu accept from %s: cannot register socket", (unsigned long long)c->id,
                  peer);
        close(fd);
        c->st.closed = true;
        set_state(c, CLIENT_CLOSING);
        free_client(g_ev, c);
        return;
    }
    c->st.raw = true;
    /* While relaying, lifeguard looks only at Terminate; it counts Query, Sync and
     * FunctionCall so the pool knows whether every request was answered. */
    stream_intercept(&c->st, 'X', true);
    stream_count(&c->st, 'Q');
    stream_count(&c->st, 'S');
    stream_count(&c->st, 'F');
    stream_neutral(&c->st, 'H');
    stream_neutral(&c->st, 'd');
    stream_neutral(&c->st, 'c');
    stream_neutral(&c->st, 'f');
    if (g_cfg->log_connections)
        log_info("C-%llu connection from %s", (unsigned long long)c->id, peer);
    if (g_cfg->max_client_conn > 0 && n_clients > (size_t)g_cfg->max_client_conn) {
        client_close(c, "53300", "no more connections allowed (max_client_conn=%d)",
                     g_cfg->max_client_conn);
        return;
    }
    if (g_cfg->client_login_timeout_us &&
        evloop_timer_set(g_ev, &c->login_timer, clock_now_us() + g_cfg->client_login_timeout_us) <
                0) {
        client_close(c, "53200", "out of memory");
        return;
    }
}

/* ---- cancel requests ---- */

static void cancel_done(void *arg)
{
    struct client *c = arg;
    c->cancel = NULL;
    client_close(c, NULL, "cancel request forwarded");
}

/* @c is the connection that carried the CancelRequest. It stays open until the
 * forwarded cancel is done. */
static void handle_cancel(struct client *c, uint32_t pid, uint32_t key)
{
    struct list_node *n;
    evloop_timer_cancel(g_ev, &c->login_timer);
    list_for_each(n, &cancel_hash[pid % CANCEL_BUCKETS]) {
        struct client *t = container_of(n, struct client, hash_node);
        if (t->cancel_pid != pid || t->cancel_key != key)
            continue;
        if (t->server) {
            log_debug("C-%llu cancel request forwarded", (unsigned long long)t->id);
            c->cancel = pool_send_cancel(t->server, cancel_done, c);
            if (c->cancel) {
                /* Nothing more is read from the requester; bound the wait anyway. */
                c->st.paused = true;
                return;
            }
        } else {
            log_debug("C-%llu cancel request dropped: no server", (unsigned long long)t->id);
        }
        break;
    }
    client_close(c, NULL, "cancel request handled");
}

/* ---- login ---- */

static bool is_safe_name(const char *n)
{
    if (!*n)
        return false;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
              *n == '_' || *n == '.'))
            return false;
    return true;
}

static void begin_exchange(struct client *c);
static void start_lookup(struct client *c, const char *auth_user);

/* Add an owned name=value to the parameters applied on servers. */
static int add_owned_param(struct client *c, const char *name, size_t nlen, const char *value,
                           size_t vlen)
{
    if (c->n_want == PGPROTO_MAX_PARAMS) {
        client_close(c, "08P01", "too many startup parameters");
        return -1;
    }
    size_t i = c->n_want;
    char *n = lg_strndup(name, nlen), *v = lg_strndup(value, vlen);
    if (!n || !v) {
        lg_free(n);
        lg_free(v);
        client_close(c, "53200", "out of memory");
        return -1;
    }
    for (char *q = n; *q; q++)
        if (*q == '-')
            *q = '_'; /* --work-mem=... spells work_mem, as in PostgreSQL */
    if (!is_safe_name(n)) {
        client_close(c, "08P01", "invalid parameter name in options: %.64s", n);
        lg_free(n);
        lg_free(v);
        return -1;
    }
    c->owned[i][0] = n;
    c->owned[i][1] = v;
    c->want[i].name = n;
    c->want[i].value = v;
    c->n_want++;
    return 0;
}

/* The "options" startup parameter (PGOPTIONS): "-c name=value" and "--name=value" are
 * applied like other parameters; other command-line switches are refused. Tokens are
 * separated by whitespace; a backslash escapes the next character (as in PostgreSQL). */
static int parse_options(struct client *c, const char *opts)
{
    char tok[1024];
    bool expect_c_value = false;
    const char *p = opts;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        size_t n = 0;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            if (*p == '\\' && p[1])
                p++;
            if (n + 1 >= sizeof(tok)) {
                client_close(c, "08P01", "options startup parameter too long");
                return -1;
            }
            tok[n++] = *p++;
        }
        tok[n] = '\0';
        const char *kv = NULL;
        if (expect_c_value) {
            kv = tok;
            expect_c_value = false;
        } else if (strcmp(tok, "-c") == 0) {
            expect_c_value = true;
            continue;
        } else if (strncmp(tok, "-c", 2) == 0) {
            kv = tok + 2;
        } else if (strncmp(tok, "--", 2) == 0) {
            kv = tok + 2;
        }
        const char *eq = kv ? strchr(kv, '=') : NULL;
        if (!eq || eq == kv) {
            client_close(c, "08P01",
                         "unsupported startup parameter: options \"%.64s\" (only -c name=value "
                         "and --name=value are supported)",
                         tok);
            return -1;
        }
        if (add_owned_param(c, kv, (size_t)(eq - kv), eq + 1, strlen(eq + 1)) < 0)
            return -1;
    }
    if (expect_c_value) {
        client_close(c, "08P01", "options: -c without a value");
        return -1;
    }
    return 0;
}

static bool is_admin_db(const char *db)
{
    return strcmp(db, "lifeguard") == 0 || strcmp(db, "pgbouncer") == 0;
}

static int on_startup(struct client *c, const uint8_t *p, int len)
{
    c->startup = lg_malloc((size_t)len);
    if (!c->startup) {
        client_close(c, "53200", "out of memory");
        return -1;
    }
    memcpy(c->startup, p, (size_t)len);
    if (pgproto_parse_startup(c->startup, (size_t)len, &c->su) != len) {
        client_close(c, "08P01", "invalid startup packet");
        return -1;
    }
    c->st.raw = false;
    c->user = pgproto_startup_get(&c->su, "user");
    c->dbname = pgproto_startup_get(&c->su, "database");
    if (!c->dbname || !*c->dbname)
        c->dbname = c->user;
    for (size_t i = 0; i < c->su.n_params; i++) {
        const char *name = c->su.params[i].name;
        if (strcmp(name, "user") == 0 || strcmp(name, "database") == 0)
            continue;
        if (cfg_list_contains(g_cfg->ignore_startup_parameters, name))
            continue;
        if (strcmp(name, "replication") == 0) {
            client_close(c, "08P01", "replication connections are not supported by lifeguard");
            return -1;
        }
        if (strcmp(name, "options") == 0) {
            if (parse_options(c, c->su.params[i].value) < 0)
                return -1;
            continue;
        }
        if (!is_safe_name(name)) {
            client_close(c, "08P01", "unsupported startup parameter: %.64s", name);
            return -1;
        }
        if (c->n_want == PGPROTO_MAX_PARAMS) {
            client_close(c, "08P01", "too many startup parameters");
            return -1;
        }
        c->want[c->n_want++] = c->su.params[i];
    }
    if (is_admin_db(c->dbname)) {
        /* The virtual admin database: authenticated like any user (auth_file), then
         * admin_users/stats_users decide. */
        c->console = true;
        const char *sec = g_ul ? userlist_lookup(g_ul, c->user) : NULL;
        if (sec && !(c->secret = lg_strdup(sec))) {
            client_close(c, "53200", "out of memory");
            return -1;
        }
        begin_exchange(c);
        return c->state == CLIENT_CLOSING ? -1 : len;
    }
    c->db = cfg_find_db(g_cfg, c->dbname);
    if (!c->db) {
        client_close(c, "3D000", "no such database: %s", c->dbname);
        return -1;
    }
    if (g_cfg->log_connections)
        log_info("C-%llu login attempt: db=%s user=%s", (unsigned long long)c->id, c->dbname,
                 c->user);
    const char *secret = g_ul ? userlist_lookup(g_ul, c->user) : NULL;
    if (secret) {
        c->secret = lg_strdup(secret);
        if (!c->secret) {
            client_close(c, "53200", "out of memory");
            return -1;
        }
    }
    const char *auth_user = c->db->auth_user ? c->db->auth_user : g_cfg->auth_user;
    if (!secret && auth_user && *auth_user && g_cfg->auth_type != AUTH_TYPE_TRUST) {
        start_lookup(c, auth_user);
        return c->state == CLIENT_CLOSING ? -1 : len;
    }
    begin_exchange(c);
    return c->state == CLIENT_CLOSING ? -1 : len;
}

static int on_raw(struct stream *st, const uint8_t *p, size_t n)
{
    struct client *c = st->owner;
    struct pgproto_startup su;
    int rc = pgproto_parse_startup(p, n, &su);
    if (rc == 0)
        return 0;
    if (rc == -EMSGSIZE) {
        client_close(c, "08P01", "invalid startup packet length");
        return -1;
    }
    if (rc == -EPROTONOSUPPORT) {
        uint32_t v = pgproto_get_u32(p + 4);
        client_close(c, "08P01",
                     "unsupported frontend protocol %u.%u: lifeguard supports 3.0",
                     v >> 16, v & 0xffff);
        return -1;
    }
    if (rc < 0) {
        client_close(c, "08P01", "invalid startup packet");
        return -1;
    }
    switch (su.kind) {
    case PGPROTO_STARTUP_SSL:
    case PGPROTO_STARTUP_GSSENC: {
        bool *done = su.kind == PGPROTO_STARTUP_SSL ? &c->ssl_answered : &c->gss_answered;
        if (*done) {
            client_close(c, "08P01", "encryption negotiation requested twice");
            return -1;
        }
        *done = true;
        if (pgproto_put_byte(&c->st.out, 'N') < 0) {
            client_close(c, "53200", "out of memory");
            return -1;
        }
        stream_flush(&c->st);
        return rc;
    }
    case PGPROTO_STARTUP_CANCEL:
        handle_cancel(c, su.cancel_pid, su.cancel_key);
        return c->state == CLIENT_CLOSING ? -1 : rc; /* else paused until forwarded */
    case PGPROTO_STARTUP_V3:
    default:
        return on_startup(c, p, rc);
    }
}

static void auth_ok(struct client *c);

static void begin_exchange(struct client *c)
{
    struct lg_err err;
    set_state(c, CLIENT_AUTH);
    int rc = auth_begin(&c->auth, g_cfg->auth_type, c->user, c->secret, &c->st.out, &err);
    if (rc < 0) {
        client_close(c, err.sqlstate, "%s", err.msg);
        return;
    }
    stream_flush(&c->st);
    if (rc == AUTH_OK)
        auth_ok(c);
}

/* ---- auth_query ---- */

static void lookup_done(void *arg, struct server *s, const struct pgproto_error *err,
                        const char *value, bool closed)
{
    struct auth_lookup *lk = arg;
    struct client *c = lk->c;
    lg_free(lk);
    if (!closed)
        pool_release_unlinked(s);
    if (!c)
        return;
    c->lookup = NULL;
    if (closed) {
        client_close(c, "08006", "auth_query: server connection lost");
        return;
    }
    if (err) {
        log_warn("C-%llu auth_query failed: %s (%s)", (unsigned long long)c->id, err->message,
                 err->sqlstate);
        client_close(c, "28000", "authentication lookup failed (auth_query)");
        return;
    }
    if (value) {
        c->secret = lg_strdup(value);
        if (!c->secret) {
            client_close(c, "53200", "out of memory");
            return;
        }
    }
    begin_exchange(c);
}

static void lookup_ready(struct pool_waiter *w, struct server *s)
{
    struct auth_lookup *lk = container_of(w, struct auth_lookup, w);
    if (!lk->c) {
        pool_release_unlinked(s);
        lg_free(lk);
        return;
    }
    const char *params[1] = {lk->c->user};
    const char *q = lk->c->db->auth_query ? lk->c->db->auth_query : g_cfg->auth_query;
    if (pool_exec(s, q, params, 1, lookup_done, lk) < 0) {
        struct client *c = lk->c;
        c->lookup = NULL;
        lg_free(lk);
        pool_release_unlinked(s);
        client_close(c, "53200", "could not run auth_query");
        return;
    }
    lk->in_exec = true;
}

static void lookup_fail(struct pool_waiter *w, const struct lg_err *err)
{
    struct auth_lookup *lk = container_of(w, struct auth_lookup, w);
    struct client *c = lk->c;
    lg_free(lk);
    if (!c)
        return;
    c->lookup = NULL;
    client_close(c, err->sqlstate, "authentication lookup failed: %s", err->msg);
}

static void start_lookup(struct client *c, const char *auth_user)
{
    struct lg_err err;
    const char *auth_db = g_cfg->auth_dbname && *g_cfg->auth_dbname ? g_cfg->auth_dbname
                                                                    : c->dbname;
    const struct db_entry *adb = cfg_find_db(g_cfg, auth_db);
    if (!adb)
        adb = c->db;
    struct pool *ap = pool_get(adb, auth_db, auth_user, &err);
    if (!ap) {
        client_close(c, err.sqlstate, "%s", err.msg);
        return;
    }
    if (!pool_has_password(ap) && g_ul) {
        const char *pw = userlist_lookup(g_ul, auth_user);
        if (pw)
            pool_set_password(ap, pw);
    }
    struct auth_lookup *lk = lg_calloc(1, sizeof(*lk));
    if (!lk) {
        client_close(c, "53200", "out of memory");
        return;
    }
    lk->c = c;
    list_init(&lk->w.node);
    lk->w.on_ready = lookup_ready;
    lk->w.on_fail = lookup_fail;
    if (pool_checkout(ap, &lk->w) < 0) {
        lg_free(lk);
        client_close(c, "53200", "out of memory");
        return;
    }
    c->lookup = lk;
    set_state(c, CLIENT_LOOKUP);
}

/* ---- getting a server ---- */

static void server_ready(struct pool_waiter *w, struct server *s)
{
    struct client *c = container_of(w, struct client, waiter);
    c->server = s;
    set_state(c, CLIENT_ACTIVE);
    if (!c->welcomed) {
        struct buf *out = &c->st.out;
        int rc = 0;
        for (size_t i = 0; i < server_param_count(s) && rc == 0; i++) {
            const char *n, *v;
            server_param_at(s, i, &n, &v);
            rc = pgproto_put_param_status(out, n, v);
        }
        if (rc == 0)
            rc = pgproto_put_backend_key(out, c->cancel_pid, c->cancel_key);
        if (rc == 0)
            rc = pgproto_put_ready(out, 'I');
        if (rc < 0) {
            client_close(c, "53200", "cannot build welcome messages");
            return;
        }
        c->welcomed = true;
        if (pool_mode_of(c->pool) != POOL_MODE_SESSION) {
            c->st.hold_unlinked = true;
        }
        if (pool_mode_of(c->pool) != POOL_MODE_SESSION && g_cfg->max_prepared_statements > 0) {
            c->ps = ps_client_new();
            if (!c->ps) {
                client_close(c, "53200", "out of memory");
                return;
            }
            static const char observed[] = {'P', 'B', 'D', 'C', 'S', 'Q', 'F'};
            for (size_t i = 0; i < sizeof(observed); i++)
                stream_observe(&c->st, (uint8_t)observed[i]);
        }
    }
    pool_link(s, &c->st, w);
    stream_flush(&c->st);
    log_noise("C-%llu %s/%s linked", (unsigned long long)c->id, c->dbname, c->user);
    pool_check_release(s);
}

static void server_released(struct pool_waiter *w)
{
    struct client *c = container_of(w, struct client, waiter);
    c->server = NULL;
    set_state(c, CLIENT_IDLE);
    if (buf_unscanned(&c->st.in))
        stream_kick(&c->st); /* the next transaction's first bytes are already here */
}

static bool is_tracked_param(const char *name)
{
    static const char *const tracked[] = {"client_encoding", "DateStyle", "IntervalStyle",
                                          "TimeZone", "standard_conforming_strings",
                                          "application_name"};
    for (size_t i = 0; i < ARRAY_SIZE(tracked); i++)
        if (strcasecmp(tracked[i], name) == 0)
            return true;
    return false;
}

/* The server told us a parameter changed (the client ran SET): remember the client's
 * value, so that its next server gets it too. */
static void param_changed(struct pool_waiter *w, const char *name, const char *value)
{
    struct client *c = container_of(w, struct client, waiter);
    size_t i;
    for (i = 0; i < c->n_want; i++)
        if (strcasecmp(c->want[i].name, name) == 0)
            break;
    if (i == c->n_want && (!is_tracked_param(name) || c->n_want == PGPROTO_MAX_PARAMS))
        return;
    if (i < c->n_want && strcmp(c->want[i].value, value) == 0)
        return;
    char *n = lg_strdup(name), *v = lg_strdup(value);
    if (!n || !v) {
        lg_free(n);
        lg_free(v);
        log_warn("C-%llu: out of memory tracking parameter %s", (unsigned long long)c->id, name);
        return;
    }
    lg_free(c->owned[i][0]);
    lg_free(c->owned[i][1]);
    c->owned[i][0] = n;
    c->owned[i][1] = v;
    c->want[i].name = n;
    c->want[i].value = v;
    if (i == c->n_want)
        c->n_want++;
    c->waiter.n_want = c->n_want;
}

static int request_server(struct client *c)
{
    set_state(c, CLIENT_WAITING);
    if (pool_checkout(c->pool, &c->waiter) < 0) {
        client_close(c, "53200", "out of memory");
        return -1;
    }
    return 0;
}

/* Transaction mode: bytes arrived while the client holds no server. */
static int on_hold(struct stream *st, const uint8_t *p, size_t n)
{
    struct client *c = st->owner;
    if (c->state != CLIENT_IDLE)
        return 0; /* already waiting */
    if (n >= PGPROTO_HEADER && p[0] == 'X') {
        client_close(c, NULL, "client disconnected");
        return -1;
    }
    return request_server(c);
}

static void server_fail(struct pool_waiter *w, const struct lg_err *err)
{
    struct client *c = container_of(w, struct client, waiter);
    client_close(c, err->sqlstate, "%s", err->msg);
}

static void server_lost(struct pool_waiter *w, const struct lg_err *err)
{
    struct client *c = container_of(w, struct client, waiter);
    c->server = NULL; /* already closing or released: nothing to release */
    client_close(c, err->sqlstate[0] ? err->sqlstate : "08006", "%s", err->msg);
}

static void console_welcome(struct client *c);

static void auth_ok(struct client *c)
{
    struct lg_err err;
    evloop_timer_cancel(g_ev, &c->login_timer);
    if (c->console) {
        console_welcome(c);
        return;
    }
    c->pool = pool_get(c->db, c->dbname, c->user, &err);
    if (!c->pool) {
        client_close(c, err.sqlstate, "%s", err.msg);
        return;
    }
    if (c->secret)
        pool_set_password(c->pool, c->secret);
    if (c->auth.have_client_key)
        pool_set_client_key(c->pool, c->auth.client_key);
    auth_fini(&c->auth);
    /* lifeguard's own cancel key: never PostgreSQL's, so a client cannot cancel
     * another client's query on a server it no longer holds. */
    do {
        if (getrandom(&c->cancel_pid, sizeof(c->cancel_pid), 0) != 4 ||
            getrandom(&c->cancel_key, sizeof(c->cancel_key), 0) != 4) {
            client_close(c, "58000", "random number generator failed");
            return;
        }
        c->cancel_pid &= 0x7fffffff;
    } while (c->cancel_pid == 0);
    list_append(&cancel_hash[c->cancel_pid % CANCEL_BUCKETS], &c->hash_node);
    if (pgproto_put_auth(&c->st.out, PGPROTO_AUTH_OK, NULL, 0) < 0) {
        client_close(c, "53200", "out of buffer space");
        return;
    }
    stream_flush(&c->st);
    c->waiter.want = c->want;
    c->waiter.n_want = c->n_want;
    c->waiter.on_ready = server_ready;
    c->waiter.on_fail = server_fail;
    c->waiter.on_lost = server_lost;
    c->waiter.on_released = server_released;
    c->waiter.on_param = param_changed;
    (void)request_server(c);
}

/* ---- named prepared statements in transaction mode ---- */

static uint64_t next_stmt_id = 1;

/* Room the stream can make at its cursor (after compaction). */
static size_t room(const struct stream *st)
{
    return st->in.cap - (st->in.end - st->in.sent);
}

/* Append a message header for @type with a payload of @payload_len bytes. */
static uint8_t *put_header(uint8_t *d, uint8_t type, size_t payload_len)
{
    uint32_t len = (uint32_t)payload_len + 4;
    d[0] = type;
    d[1] = (uint8_t)(len >> 24);
    d[2] = (uint8_t)(len >> 16);
    d[3] = (uint8_t)(len >> 8);
    d[4] = (uint8_t)len;
    return d + PGPROTO_HEADER;
}

/* Bytes of a Parse for entry @e under its server name. */
static size_t parse_size(const struct ps_entry *e)
{
    char name[PS_NAME_MAX];
    ps_server_name(e->id, name);
    return PGPROTO_HEADER + strlen(name) + 1 + e->body_len;
}

static void build_parse(uint8_t *d, const struct ps_entry *e)
{
    char name[PS_NAME_MAX];
    ps_server_name(e->id, name);
    size_t nl = strlen(name) + 1;
    d = put_header(d, 'P', nl + e->body_len);
    memcpy(d, name, nl);
    memcpy(d + nl, e->body, e->body_len);
}

#define CLOSE_SIZE (PGPROTO_HEADER + 1 + PS_NAME_MAX)

static size_t build_close(uint8_t *d, uint64_t id)
{
    char name[PS_NAME_MAX];
    ps_server_name(id, name);
    size_t nl = strlen(name) + 1;
    uint8_t *q = put_header(d, 'C', 1 + nl);
    q[0] = 'S';
    memcpy(q + 1, name, nl);
    return PGPROTO_HEADER + 1 + nl;
}

static int ps_fail(struct client *c, const char *sqlstate, const char *msg)
{
    client_close(c, sqlstate, "%s", msg);
    return -1;
}

/* Make sure @e is prepared on the server before the current message: insert its
 * Parse (and the Close of an evicted statement) if needed. @extra: room the caller
 * needs afterwards. >0 done, 0 wait for room, <0 closed. */
static int ensure_prepared(struct client *c, struct ps_server *ps, const struct ps_entry *e,
                           size_t extra)
{
    if (ps_server_has(ps, e->id))
        return 1;
    size_t need = parse_size(e) + CLOSE_SIZE + extra;
    if (room(&c->st) < need)
        return buf_ready(&c->st.in) ? 0 : ps_fail(c, "54000", "prepared statement too large");
    uint64_t evicted;
    if (ps_server_add(ps, e->id, &evicted) < 0)
        return ps_fail(c, "53200", "out of memory");
    if (evicted) {
        uint8_t close[CLOSE_SIZE];
        size_t n = build_close(close, evicted);
        if (ps_owe(ps, PS_OWED_CLOSE_INJECTED, evicted) < 0 ||
            stream_insert(&c->st, close, n) < 0)
            return ps_fail(c, "54000", "too many messages in flight");
    }
    size_t n = parse_size(e);
    uint8_t *msg = lg_malloc(n);
    if (!msg)
        return ps_fail(c, "53200", "out of memory");
    build_parse(msg, e);
    int rc = ps_owe(ps, PS_OWED_PARSE_INJECTED, e->id);
    if (rc == 0)
        rc = stream_insert(&c->st, msg, n);
    lg_free(msg);
    if (rc < 0)
        return ps_fail(c, "54000", "too many messages in flight");
    return 1;
}

/* A NUL-terminated string at @p[@off] within @n bytes: its length, or -1 if cut off. */
static long cstr_at(const uint8_t *p, size_t n, size_t off)
{
    if (off >= n)
        return -1;
    const uint8_t *z = memchr(p + off, '\0', n - off);
    return z ? (long)(z - (p + off)) : -1;
}

static int head_parse(struct client *c, struct ps_server *ps, size_t total, const uint8_t *p,
                      size_t n)
{
    long nl = cstr_at(p, n, PGPROTO_HEADER);
    if (nl == 0) { /* unnamed: nothing to translate, but its ParseComplete is owed */
        if (ps_owe(ps, PS_OWED_PARSE, 0) < 0)
            return ps_fail(c, "54000", "too many messages in flight");
        return 1;
    }
    if (total > c->st.in.cap)
        return ps_fail(c, "54000", "named prepared statement larger than the buffer (pkt_buf)");
    if (n < total)
        return 0;
    if (nl < 0)
        return ps_fail(c, "08P01", "malformed Parse message");
    const char *name = (const char *)p + PGPROTO_HEADER;
    const uint8_t *body = p + PGPROTO_HEADER + nl + 1;
    size_t body_len = total - PGPROTO_HEADER - (size_t)nl - 1;
    struct ps_entry e = {.id = next_stmt_id, .body = (uint8_t *)body, .body_len = body_len};
    size_t newlen = parse_size(&e);
    if (room(&c->st) + total < newlen + CLOSE_SIZE)
        return buf_ready(&c->st.in) ? 0 : ps_fail(c, "54000", "prepared statement too large");
    uint64_t id = next_stmt_id++;
    if (ps_client_put(c->ps, name, id, body, body_len) < 0)
        return ps_fail(c, "53200", "out of memory");
    const struct ps_entry *stored = ps_client_get(c->ps, name);
    uint64_t evicted;
    if (ps_server_add(ps, id, &evicted) < 0)
        return ps_fail(c, "53200", "out of memory");
    if (evicted) {
        uint8_t close[CLOSE_SIZE];
        size_t cn = build_close(close, evicted);
        if (ps_owe(ps, PS_OWED_CLOSE_INJECTED, evicted) < 0 ||
            stream_insert(&c->st, close, cn) < 0)
            return ps_fail(c, "54000", "too many messages in flight");
    }
    uint8_t *msg = lg_malloc(newlen);
    if (!msg)
        return ps_fail(c, "53200", "out of memory");
    build_parse(msg, stored);
    int rc = ps_owe(ps, PS_OWED_PARSE, id);
    if (rc == 0)
        rc = stream_replace_prefix(&c->st, total, msg, newlen);
    lg_free(msg);
    if (rc < 0)
        return ps_fail(c, "54000", "too many messages in flight");
    return 1;
}

/* Bind: portal name, statement name, then parameters (maybe large: only the prefix is
 * rewritten, the rest streams through). */
static int head_bind(struct client *c, struct ps_server *ps, size_t total, const uint8_t *p,
                     size_t n)
{
    long pl = cstr_at(p, n, PGPROTO_HEADER);
    long sl = pl < 0 ? -1 : cstr_at(p, n, PGPROTO_HEADER + (size_t)pl + 1);
    if (sl < 0) {
        if (n < total && n < c->st.in.cap)
            return 0;
        return ps_fail(c, "08P01", "malformed Bind message");
    }
    if (sl == 0)
        return 1;
    const char *name = (const char *)p + PGPROTO_HEADER + pl + 1;
    const struct ps_entry *e = ps_client_get(c->ps, name);
    if (!e)
        return 1; /* unknown to us: PostgreSQL answers as it would directly */
    size_t old = PGPROTO_HEADER + (size_t)pl + 1 + (size_t)sl + 1;
    char sname[PS_NAME_MAX];
    ps_server_name(e->id, sname);
    size_t snl = strlen(sname) + 1;
    size_t newp = PGPROTO_HEADER + (size_t)pl + 1 + snl;
    int rc = ensure_prepared(c, ps, e, newp > old ? newp - old : 0);
    if (rc <= 0)
        return rc;
    /* ensure_prepared may have moved the message: find it again at the cursor. */
    const uint8_t *m = c->st.in.data + c->st.in.scan;
    uint8_t prefix[PGPROTO_HEADER + 2 * 256 + PS_NAME_MAX];
    if ((size_t)pl + 1 > 256)
        return ps_fail(c, "08P01", "portal name too long");
    uint8_t *d = put_header(prefix, 'B', total - old + newp - PGPROTO_HEADER);
    memcpy(d, m + PGPROTO_HEADER, (size_t)pl + 1);
    memcpy(d + pl + 1, sname, snl);
    if (stream_replace_prefix(&c->st, old, prefix, newp) < 0)
        return buf_ready(&c->st.in) ? 0 : ps_fail(c, "54000", "Bind too large");
    return 1;
}

/* Describe 'S' and Close 'S' name their statement: translate. */
static int head_describe_close(struct client *c, struct ps_server *ps, uint8_t type,
                               size_t total, const uint8_t *p, size_t n)
{
    if (n < total)
        return total <= c->st.in.cap ? 0 : ps_fail(c, "08P01", "malformed message");
    if (type == 'C' && ps_owe(ps, PS_OWED_CLOSE, 0) < 0)
        return ps_fail(c, "54000", "too many messages in flight");
    long nl = cstr_at(p, n, PGPROTO_HEADER + 1);
    if (total < PGPROTO_HEADER + 2 || nl < 0)
        return ps_fail(c, "08P01", "malformed Describe/Close message");
    if (p[PGPROTO_HEADER] != 'S' || nl == 0)
        return 1;
    const char *name = (const char *)p + PGPROTO_HEADER + 1;
    const struct ps_entry *e = ps_client_get(c->ps, name);
    if (!e)
        return 1;
    uint64_t id = e->id;
    if (type == 'D') {
        int rc = ensure_prepared(c, ps, e, PS_NAME_MAX);
        if (rc <= 0)
            return rc;
    }
    char sname[PS_NAME_MAX];
    ps_server_name(id, sname);
    size_t snl = strlen(sname) + 1;
    uint8_t msg[PGPROTO_HEADER + 1 + PS_NAME_MAX];
    uint8_t *d = put_header(msg, type, 1 + snl);
    d[0] = 'S';
    memcpy(d + 1, sname, snl);
    if (type == 'C') {
        /* Closing a statement this server does not hold is not an error in PostgreSQL,
         * so the client gets its CloseComplete either way. */
        ps_server_del(ps, id);
        ps_client_del(c->ps, name);
    }
    if (stream_replace_prefix(&c->st, total, msg, PGPROTO_HEADER + 1 + snl) < 0)
        return buf_ready(&c->st.in) ? 0 : ps_fail(c, "54000", "message too large");
    return 1;
}

/* Case-insensitive "word" at @s (after spaces), followed by a non-identifier byte. */
static const char *word(const char *s, const char *end, const char *w)
{
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++;
    size_t n = strlen(w);
    if ((size_t)(end - s) < n || strncasecmp(s, w, n) != 0)
        return NULL;
    s += n;
    if (s < end && ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
                    (*s >= '0' && *s <= '9')))
        return NULL;
    return s;
}

/* Simple Query: watch for statements that change prepared statements or cannot work
 * in transaction pooling. Only the first bytes are looked at. */
static int head_query(struct client *c, struct ps_server *ps, size_t total, const uint8_t *p,
                      size_t n)
{
    size_t want = LG_MIN(total, (size_t)256);
    if (n < want && n < c->st.in.cap)
        return 0;
    if (ps_owe(ps, PS_OWED_SYNC, 0) < 0)
        return ps_fail(c, "54000", "too many messages in flight");
    const char *q = (const char *)p + PGPROTO_HEADER;
    const char *end = (const char *)p + LG_MIN(n, total) - (n >= total ? 1 : 0);
    const char *r;
    if ((r = word(q, end, "DISCARD")) && word(r, end, "ALL")) {
        ps_client_clear(c->ps);
        ps_server_clear(ps);
    } else if ((r = word(q, end, "DEALLOCATE"))) {
        const char *r2 = word(r, end, "PREPARE");
        if (r2)
            r = r2;
        if (word(r, end, "ALL")) {
            ps_client_clear(c->ps);
            ps_server_clear(ps);
        } else {
            log_warn("C-%llu %s/%s: DEALLOCATE of a single statement in transaction pooling "
                     "is passed through unchanged",
                     (unsigned long long)c->id, c->dbname, c->user);
        }
    } else if (word(q, end, "LISTEN") || word(q, end, "PREPARE")) {
        log_warn("C-%llu %s/%s: %.*s in %s pooling mode does not outlive the transaction "
                 "(see docs/pooling-modes.md)",
                 (unsigned long long)c->id, c->dbname, c->user, word(q, end, "LISTEN") ? 6 : 7,
                 word(q, end, "LISTEN") ? "LISTEN" : "PREPARE",
                 pool_mode_of(c->pool) == POOL_MODE_STATEMENT ? "statement" : "transaction");
    }
    return 1;
}

static int on_head(struct stream *st, uint8_t type, size_t total, const uint8_t *p, size_t n)
{
    struct client *c = st->owner;
    if (!c->ps || !c->server)
        return 1;
    struct ps_server *ps = pool_server_ps(c->server);
    if (!ps)
        return ps_fail(c, "53200", "out of memory");
    switch (type) {
    case 'S':
    case 'F':
        if (ps_owe(ps, PS_OWED_SYNC, 0) < 0)
            return ps_fail(c, "54000", "too many messages in flight");
        return 1;
    case 'Q':
        return head_query(c, ps, total, p, n);
    case 'P':
        return head_parse(c, ps, total, p, n);
    case 'B':
        return head_bind(c, ps, total, p, n);
    case 'D':
    case 'C':
        return head_describe_close(c, ps, type, total, p, n);
    default:
        return 1;
    }
}

/* ---- admin console ---- */

static void console_welcome(struct client *c)
{
    bool admin = cfg_list_contains(g_cfg->admin_users, c->user);
    if (!admin && !cfg_list_contains(g_cfg->stats_users, c->user)) {
        client_close(c, "28000", "user \"%s\" is not allowed to use the admin console "
                                 "(admin_users, stats_users)", c->user);
        return;
    }
    c->console_admin = admin;
    c->ares = lg_calloc(1, sizeof(*c->ares));
    if (!c->ares) {
        client_close(c, "53200", "out of memory");
        return;
    }
    admin_result_init(c->ares);
    auth_fini(&c->auth);
    struct buf *out = &c->st.out;
    static const char *const params[][2] = {
            {"server_version", "15.0 (lifeguard 0.1.0)"}, {"server_encoding", "UTF8"},
            {"client_encoding", "UTF8"},  {"DateStyle", "ISO, MDY"},
            {"integer_datetimes", "on"},  {"standard_conforming_strings", "on"},
            {"TimeZone", "UTC"}};
    int rc = pgproto_put_auth(out, PGPROTO_AUTH_OK, NULL, 0);
    for (size_t i = 0; i < ARRAY_SIZE(params) && rc == 0; i++)
        rc = pgproto_put_param_status(out, params[i][0], params[i][1]);
    if (rc == 0)
        rc = pgproto_put_backend_key(out, 0, 0);
    if (rc == 0)
        rc = pgproto_put_ready(out, 'I');
    if (rc < 0) {
        client_close(c, "53200", "out of buffer space");
        return;
    }
    set_state(c, CLIENT_ACTIVE);
    stream_flush(&c->st);
}

static void console_pump(struct client *c)
{
    int n;
    while ((n = admin_result_drain(c->ares, &c->st.out)) > 0)
        stream_flush(&c->st);
    if (n < 0) {
        client_close(c, "53200", "out of memory");
        return;
    }
    stream_flush(&c->st);
    if (admin_result_done(c->ares)) {
        if (c->st.paused) {
            c->st.paused = false;
            stream_kick(&c->st);
        }
    } else {
        stream_want_out_space(&c->st);
    }
}

static void on_out_space(struct stream *st)
{
    struct client *c = st->owner;
    if (c->ares && c->state != CLIENT_CLOSING)
        console_pump(c);
}

static int console_message(struct client *c, uint8_t type, const uint8_t *p, uint32_t len)
{
    if (type == 'X') {
        client_close(c, NULL, "client disconnected");
        return -1;
    }
    if (!admin_result_done(c->ares))
        return STREAM_PAUSE; /* the previous answer is still going out */
    if (type != 'Q' || len == 0 || p[len - 1] != '\0') {
        client_close(c, "08P01", "the admin console takes simple queries only");
        return -1;
    }
    int rc = admin_handle_query((const char *)p, c->ares, console_source(), c->console_admin);
    if (rc < 0) {
        client_close(c, "53200", "out of memory");
        return -1;
    }
    console_pump(c);
    return c->state == CLIENT_CLOSING ? -1 : STREAM_CONSUMED;
}

void client_visit(stats_conn_visit_fn *fn, void *arg, uint64_t wall_now_us)
{
    uint64_t now = clock_now_us();
    for (int st = 0; st < CLIENT_NSTATES; st++) {
        if (st == CLIENT_CLOSING)
            continue;
        struct list_node *n;
        list_for_each(n, &lists[st]) {
            struct client *c = container_of(n, struct client, node);
            struct stats_conn_snap snap = {0};
            char addr[64];
            snprintf(addr, sizeof(addr), "%s", c->peer);
            char *colon = strrchr(addr, ':');
            int port = 0;
            if (colon && strcmp(addr, "unix") != 0) {
                port = atoi(colon + 1);
                *colon = '\0';
            }
            snap.user = c->user;
            snap.database = c->dbname;
            snap.state = st == CLIENT_WAITING || st == CLIENT_LOOKUP ? "waiting" : "active";
            snap.addr = addr;
            snap.port = port;
            snap.connect_time_unix_us = wall_now_us - (now - c->connected_at_us);
            snap.request_time_unix_us = wall_now_us - (now - c->active_at_us);
            snap.wait_us = st == CLIENT_WAITING ? now - c->waiter.enqueued_us : 0;
            snap.ptr = c;
            snap.link = c->server;
            snap.tls = "";
            for (size_t i = 0; i < c->n_want; i++)
                if (strcmp(c->want[i].name, "application_name") == 0)
                    snap.application_name = c->want[i].value;
            fn(arg, &snap);
        }
    }
}

/* ---- messages ---- */

static int on_message(struct stream *st, uint8_t type, const uint8_t *p, uint32_t len)
{
    struct client *c = st->owner;
    if (c->console && c->ares)
        return console_message(c, type, p, len);
    switch (c->state) {
    case CLIENT_AUTH: {
        struct lg_err err;
        int rc = auth_step(&c->auth, type, p, len, &c->st.out, &err);
        if (rc < 0) {
            if (rc == -EACCES)
                log_warn("C-%llu %s/%s@%s: %s", (unsigned long long)c->id, c->dbname, c->user,
                         c->peer, err.msg);
            client_close(c, err.sqlstate, "%s", err.msg);
            return -1;
        }
        stream_flush(&c->st);
        if (rc == AUTH_OK)
            auth_ok(c);
        return c->state == CLIENT_CLOSING ? -1 : STREAM_CONSUMED;
    }
    case CLIENT_ACTIVE:
        if (type == 'X') {
            client_close(c, NULL, "client disconnected");
            return -1;
        }
        return STREAM_FORWARD;
    case CLIENT_LOOKUP:
    case CLIENT_WAITING:
        if (type == 'X') {
            client_close(c, NULL, "client disconnected while waiting");
            return -1;
        }
        return STREAM_PAUSE; /* keep it until a server is linked */
    default:
        client_close(c, "08P01", "unexpected message '%c'", type);
        return -1;
    }
}

static void on_close(struct stream *st, int err)
{
    struct client *c = st->owner;
    if (err == 0)
        client_close(c, NULL, "client closed the connection");
    else if (err == -EPROTO)
        client_close(c, "08P01", "invalid message framing from client (two processes sharing "
                                 "one connection?)");
    else if (err == -EMSGSIZE)
        client_close(c, "08P01", "message too large");
    else
        client_close(c, NULL, "%s", strerror(-err));
}

/* ---- upkeep ---- */

static void janitor_one(struct client *c, uint64_t now)
{
    if (c->st.bytes_in != c->seen_in || c->st.bytes_out != c->seen_out) {
        c->seen_in = c->st.bytes_in;
        c->seen_out = c->st.bytes_out;
        c->active_at_us = now;
    }
    uint64_t idle = now - c->active_at_us;
    char status = c->state == CLIENT_ACTIVE && c->server ? pool_link_status(c->server, &c->st)
                                                         : 'I';
    if (status != 'Q') {
        c->query_since_us = 0;
        c->query_cancelled = false;
    }
    if (status == 'I' && g_cfg->client_idle_timeout_us && idle > g_cfg->client_idle_timeout_us) {
        client_close(c, "57P05", "client_idle_timeout: connection idle for %.0fs",
                     (double)idle / 1e6);
    } else if ((status == 'T' || status == 'E') && g_cfg->idle_transaction_timeout_us &&
               idle > g_cfg->idle_transaction_timeout_us) {
        client_close(c, "25P03", "idle_transaction_timeout: idle in transaction for %.0fs",
                     (double)idle / 1e6);
    } else if (status == 'Q' && g_cfg->query_timeout_us) {
        if (!c->query_since_us) {
            c->query_since_us = now;
        } else if (!c->query_cancelled && now - c->query_since_us > g_cfg->query_timeout_us) {
            /* PostgreSQL answers the cancel with 57014 on the client's own query. */
            log_warn("C-%llu %s/%s: query_timeout (%.0fs): cancelling the query",
                     (unsigned long long)c->id, c->dbname, c->user,
                     (double)g_cfg->query_timeout_us / 1e6);
            c->query_cancelled = true;
            (void)pool_send_cancel(c->server, NULL, NULL);
        }
    }
}

void client_janitor(void)
{
    uint64_t now = clock_now_us();
    static const enum client_state states[] = {CLIENT_IDLE, CLIENT_ACTIVE};
    for (size_t k = 0; k < ARRAY_SIZE(states); k++) {
        struct list_node *n, *t;
        list_for_each_safe(n, t, &lists[states[k]]) {
            janitor_one(container_of(n, struct client, node), now);
        }
    }
}
