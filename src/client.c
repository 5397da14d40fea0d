/* SPDX-License-Identifier: MIT */
/*
 * client.c: the client state machine: startup packet, SSL/GSSENC refusal, cancel
 * requests, authentication (userlist or auth_query), waiting for a server, relaying
 * (stream.c does the bytes), and one teardown path, client_close(). Objects are
 * freed at the end of the loop turn, never inside their own callbacks.
 * Not here: startup parameters (client_param.c), prepared statements (client_ps.c), the
 * admin console (client_admin.c), timeouts (client_janitor.c); struct client is in
 * client_int.h. Invariant: every client is on exactly one list, the one named by its state.
 */
#include "client.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/random.h>
#include <unistd.h>

#include "admin.h"
#include "alloc.h"
#include "auth.h"
#include "cfg.h"
#include "client_int.h"
#include "clock.h"
#include "console.h"
#include "evloop.h"
#include "hba.h"
#include "intern.h"
#include "list.h"
#include "log.h"
#include "net.h"
#include "pgproto.h"
#include "pool.h"
#include "prepared.h"
#include "stream.h"
#include "tls.h"
#include "userlist.h"

#define CANCEL_BUCKETS 4096

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
static void describe(const struct stream *st, char *buf, size_t n)
{
    const struct client *c = st->owner;
    snprintf(buf, n, "C-%llu %s/%s@%s", (unsigned long long)c->id, c->dbname ? c->dbname : "?",
             c->user ? c->user : "?", c->peer);
}

static const struct stream_ops client_ops = {.on_raw = on_raw,
                                             .on_message = on_message,
                                             .on_close = on_close,
                                             .on_hold = on_hold,
                                             .on_head = client_ps_on_head,
                                             .on_out_space = client_admin_on_out_space,
                                             .describe = describe};

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

void client_set_config(const struct config *cfg, const struct userlist *ul)
{
    g_cfg = cfg;
    g_ul = ul;
}

int client_kill_db(const char *db)
{
    int n = 0;
    for (int st = 0; st < CLIENT_NSTATES; st++) {
        if (st == CLIENT_CLOSING)
            continue;
        struct list_node *it, *t;
        list_for_each_safe (it, t, &lists[st]) {
            struct client *c = container_of(it, struct client, node);
            if (c->console || !c->dbname || strcmp(c->dbname, db) != 0)
                continue;
            client_close(c, "57P01", "KILL from the admin console");
            n++;
        }
    }
    return n;
}

size_t client_count(void)
{
    return n_clients;
}

size_t client_object_size(void)
{
    return sizeof(struct client);
}

const struct config *client_cfg(void)
{
    return g_cfg;
}

struct evloop *client_ev(void)
{
    return g_ev;
}

const struct userlist *client_userlist(void)
{
    return g_ul;
}

struct list_node *client_list(enum client_state st)
{
    return &lists[st];
}

void client_set_state(struct client *c, enum client_state st)
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
    intern_put(c->user);
    intern_put(c->dbname);
    ps_client_free(c->ps);
    client_ddl_free(c);
    if (c->ares) {
        client_admin_forget(c);
        admin_result_fini(c->ares);
        lg_free(c->ares);
    }
    client_param_free(c);
    if (c->secret) {
        explicit_bzero(c->secret, strlen(c->secret));
        lg_free(c->secret);
    }
    lg_free(c);
    n_clients--;
}

void client_close(struct client *c, const char *sqlstate, const char *fmt, ...)
{
    if (c->state == CLIENT_CLOSING)
        return;
    char reason[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (sqlstate) {
        /* A failed login (class 28) is a warning: operators watch for those. */
        log_msg(strncmp(sqlstate, "28", 2) == 0 ? LOG_LEVEL_WARNING : LOG_LEVEL_INFO,
                "C-%llu %s/%s@%s closing because: %s (%s)", (unsigned long long)c->id,
                c->dbname ? c->dbname : "?", c->user ? c->user : "?", c->peer, reason, sqlstate);
        if (!c->st.closed && !c->st.err) {
            /* The error goes before anything else we would still send; relayed bytes
             * from a server are abandoned (the session is over). */
            stream_unlink(&c->st);
            if (pgproto_put_error(&c->st.out, "FATAL", sqlstate, reason) == 0)
                stream_flush(&c->st);
        }
    } else if (g_cfg->log_disconnections) {
        log_info("C-%llu %s/%s@%s closing because: %s", (unsigned long long)c->id,
                 c->dbname ? c->dbname : "?", c->user ? c->user : "?", c->peer, reason);
    }
    if (sqlstate && c->pool)
        pool_count_error(c->pool, sqlstate);
    evloop_timer_cancel(g_ev, &c->login_timer);
    client_detach_lookup(c);
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
    client_auth_done(c);
    list_del(&c->hash_node);
    stream_close(&c->st);
    client_set_state(c, CLIENT_CLOSING);
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
            client_close(container_of(lists[st].next, struct client, node), "57P01", "%s", reason);
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
    c->is_unix = is_unix;
    size_t bufsz = (size_t)LG_MAX(g_cfg->pkt_buf, 16384);
    if (stream_init(&c->st, g_ev, fd, bufsz, &client_ops, c) < 0) {
        log_error("C-%llu accept from %s: cannot register socket", (unsigned long long)c->id, peer);
        close(fd);
        c->st.closed = true;
        client_set_state(c, CLIENT_CLOSING);
        free_client(g_ev, c);
        return;
    }
    c->st.raw = true;
    /* An accepted socket is connected: writable until a write says EAGAIN. Without this
     * an error sent before the first EPOLLOUT edge (max_client_conn) would be dropped. */
    c->st.can_write = true;
    c->st.max_msg = (uint32_t)g_cfg->max_packet_size;
    /* Every frontend message type of protocol 3.0. A byte stream two processes wrote
     * into at once soon shows a type byte that is none of these. */
    stream_valid_types(&c->st, "QPBEDCSHFXdcfp");
    /* While relaying, lifeguard looks only at Terminate; it counts Query, Sync and
     * FunctionCall so the pool knows whether every request was answered. */
    stream_intercept(&c->st, 'X', true);
    stream_count(&c->st, 'Q');
    stream_count(&c->st, 'S');
    stream_count(&c->st, 'F');
    stream_neutral(&c->st, 'H');
    stream_neutral(&c->st, 'X'); /* leaving starts no work: pool_release() asks */
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
    list_for_each (n, &cancel_hash[pid % CANCEL_BUCKETS]) {
        struct client *t = container_of(n, struct client, hash_node);
        if (t->cancel_pid != pid || t->cancel_key != key)
            continue;
        if (t->server && !pool_parked(t->server)) { /* parked: nothing runs there */
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

static bool is_admin_db(const char *db)
{
    return strcmp(db, "lifeguard") == 0 || strcmp(db, "pgbouncer") == 0;
}

static int on_startup(struct client *c, const uint8_t *p, int len)
{
    if (client_tls_required() && !c->tls && !c->is_unix) {
        client_close(c, "28000", "SSL required (client_tls_sslmode = require)");
        return -1;
    }
    /* Parsed on the stack from the input buffer: what the client keeps (user, database,
     * parameters) is interned, shared with every client that sent the same. */
    struct pgproto_startup su;
    if (pgproto_parse_startup(p, (size_t)len, &su) != len) {
        client_close(c, "08P01", "invalid startup packet");
        return -1;
    }
    c->st.raw = false;
    const char *user = pgproto_startup_get(&su, "user");
    const char *dbname = pgproto_startup_get(&su, "database");
    if (!dbname || !*dbname)
        dbname = user;
    if ((user && !(c->user = intern_get(user))) || (dbname && !(c->dbname = intern_get(dbname)))) {
        client_close(c, "53200", "out of memory");
        return -1;
    }
    if (client_param_collect(c, &su) < 0)
        return -1;
    c->console = is_admin_db(c->dbname); /* before the method: see client_console_self() */
    if (!client_choose_method(c))
        return -1;
    if (c->console) {
        /* The virtual admin database: authenticated like any user (auth_file, never
         * auth_query), then admin_users/stats_users decide. */
        const char *sec = g_ul ? userlist_lookup(g_ul, c->user) : NULL;
        if (sec && !(c->secret = lg_strdup(sec))) {
            client_close(c, "53200", "out of memory");
            return -1;
        }
        if (!sec && c->trust_allowlist && !client_no_such_user(c, false))
            return -1;
        client_begin_exchange(c);
        return c->state == CLIENT_CLOSING ? -1 : len;
    }
    /* An unknown database is told only after authentication (auth_ok), as PostgreSQL
     * does: else a client without a password could probe which databases exist. */
    c->db = cfg_find_db(g_cfg, c->dbname);
    if (c->db && console_db_disabled(c->dbname)) { /* DISABLE on the admin console */
        client_close(c, "55000", "database \"%s\" is disabled", c->dbname);
        return -1;
    }
    if (g_cfg->log_connections)
        log_info("C-%llu login attempt: db=%s user=%s", (unsigned long long)c->id, c->dbname,
                 c->user);
    if (g_cfg->auth_type == AUTH_TYPE_ANY && c->db && !(c->db->user && *c->db->user)) {
        /* No user was checked, so nobody may log in to PostgreSQL as the name they give. */
        client_close(c, "28000",
                     "bouncer config error: auth_type = any needs user= in [databases] for "
                     "database \"%s\"",
                     c->dbname);
        return -1;
    }
    const char *secret = g_ul ? userlist_lookup(g_ul, c->user) : NULL;
    if (secret) {
        c->secret = lg_strdup(secret);
        if (!c->secret) {
            client_close(c, "53200", "out of memory");
            return -1;
        }
    }
    const char *auth_user = !c->db ? NULL : c->db->auth_user ? c->db->auth_user : g_cfg->auth_user;
    /* auth_query also decides under trust (PgBouncer's rule), never for peer or cert */
    if (!secret && auth_user && *auth_user && c->auth_method != AUTH_TYPE_CERT &&
        (c->auth_method != AUTH_TYPE_TRUST || c->trust_allowlist)) {
        client_start_lookup(c, auth_user);
        return c->state == CLIENT_CLOSING ? -1 : len;
    }
    if (!secret && !client_no_such_user(c, false))
        return -1;
    client_begin_exchange(c);
    return c->state == CLIENT_CLOSING ? -1 : len;
}

static int on_raw(struct stream *st, const uint8_t *p, size_t n)
{
    struct client *c = st->owner;
    static const uint8_t terminate[5] = {'X', 0, 0, 0, 4};
    size_t k = LG_MIN(n, sizeof(terminate));
    if (k > 0 && memcmp(p, terminate, k) == 0) {
        /* A Terminate before any startup packet: the client gave up before it began
         * (node-postgres sends one when end() follows connect() at once). PostgreSQL
         * reads an impossible length there and closes without a word; nobody is left to
         * read an ErrorResponse, and a driver that gets one reports a failed connect. */
        if (k < sizeof(terminate))
            return 0;
        client_close(c, NULL, "Terminate before the startup packet");
        return -1;
    }
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
        client_close(c, "08P01", "unsupported frontend protocol %u.%u: lifeguard supports 3.0",
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
        bool tls = su.kind == PGPROTO_STARTUP_SSL && client_tls_enabled() && !c->is_unix;
        if (tls && (size_t)rc != n) {
            /* Bytes after the SSLRequest were sent in the clear before any answer:
             * refuse them rather than treat them as protected (CVE-2021-23214). */
            client_close(c, "08P01", "received unencrypted data after SSL request");
            return -1;
        }
        if (pgproto_put_byte(&c->st.out, tls ? 'S' : 'N') < 0) {
            client_close(c, "53200", "out of memory");
            return -1;
        }
        stream_flush(&c->st);
        if (tls) {
            /* The ClientHello may already be on its way: read nothing more in the clear.
             * TLS starts at the end of this turn, once the SSLRequest is dropped. */
            c->st.paused = true;
            if (evloop_defer(g_ev, client_start_tls, c) < 0) {
                client_close(c, "53200", "out of memory");
                return -1;
            }
        }
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

void client_auth_done(struct client *c)
{
    if (c->auth) {
        auth_fini(c->auth);
        lg_free(c->auth);
        c->auth = NULL;
    }
}

void client_begin_exchange(struct client *c)
{
    struct lg_err err;
    client_set_state(c, CLIENT_AUTH);
    c->auth = lg_calloc(1, sizeof(*c->auth));
    if (!c->auth) {
        client_close(c, "53200", "out of memory");
        return;
    }
    int rc = auth_begin(c->auth, c->auth_method, c->user, c->secret, &c->st.out, &err);
    if (rc < 0) {
        client_close(c, err.sqlstate, "%s", err.msg);
        return;
    }
    if (rc == AUTH_OK)
        auth_ok(c); /* (which flushes) */
    else
        stream_flush(&c->st);
}

/* ---- getting a server ---- */

static void server_ready(struct pool_waiter *w, struct server *s)
{
    struct client *c = container_of(w, struct client, waiter);
    c->server = s;
    client_set_state(c, CLIENT_ACTIVE);
    bool welcome = !c->welcomed;
    if (welcome) {
        /* The tracked parameters as this client is to see them: its own, else what a
         * fresh connection gets; a server where another client SET them is set back
         * before this client uses it (reapplied below). */
        bool stale = client_param_welcome(c, s);
        struct buf *out = &c->st.out;
        int rc = 0;
        for (size_t i = 0; i < server_param_count(s) && rc == 0; i++) {
            const char *n, *v;
            server_param_at(s, i, &n, &v);
            const char *mine = client_param_value(c, n);
            rc = pgproto_put_param_status(out, n, mine ? mine : v);
        }
        uint32_t spid = 0, skey;
        server_backend_key(s, &spid, &skey);
        if (pool_mode_of(c->pool) == POOL_MODE_SESSION && spid != 0) {
            /* The client keeps this server for life: give it the server's process id, so
             * that pg_backend_pid() and a NOTIFY's sender pid match PQbackendPID() (drivers
             * and their tests compare them). The secret key stays lifeguard's own. */
            list_del(&c->hash_node);
            c->cancel_pid = spid;
            list_append(&cancel_hash[spid % CANCEL_BUCKETS], &c->hash_node);
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
        stream_observe(&c->st, 'Q'); /* client_ddl.c, in every pool mode */
        stream_observe(&c->st, 'P');
        /* COPY FROM STDIN and the Syncs a server ignores meanwhile (client_ps.c) */
        stream_observe(&c->st, 'S');
        stream_observe(&c->st, 'c');
        stream_observe(&c->st, 'f');
        if (pool_mode_of(c->pool) != POOL_MODE_SESSION && g_cfg->max_prepared_statements > 0) {
            c->ps_on = true; /* c->ps comes with the first named statement */
            static const char observed[] = {'P', 'B', 'D', 'C', 'S', 'Q', 'F'};
            for (size_t i = 0; i < sizeof(observed); i++)
                stream_observe(&c->st, (uint8_t)observed[i]);
        }
        if (stale) {
            /* Not linked yet: the client's input waits (CLIENT_WAITING), and if it leaves
             * meanwhile the SETs' end gives the server back, as at checkout. */
            c->server = NULL;
            client_set_state(c, CLIENT_WAITING);
            stream_flush(&c->st);
            pool_reapply(s, w);
            return;
        }
    }
    pool_link(s, &c->st, w);
    if (buf_ready(&c->st.out))
        stream_flush(&c->st); /* the welcome above */
    log_noise("C-%llu %s/%s linked", (unsigned long long)c->id, c->dbname, c->user);
    /* Linked with nothing to send (a login), or only messages that ask for no answer
     * (Flush, COPY data): the server goes back at once. A request already here (the one
     * that asked for the server) is examined next, and the release waits for its answer. */
    if (!c->request_held) {
        if (welcome) { /* its first request counts this wait as waited (pool.h) */
            w->carried_us = (uint32_t)LG_MIN(clock_now_us() - w->enqueued_us, UINT32_MAX);
            w->wait_carry = 2;
        }
        pool_check_release(s);
    }
    c->request_held = false;
}

static void server_released(struct pool_waiter *w)
{
    struct client *c = container_of(w, struct client, waiter);
    c->server = NULL;
    client_set_state(c, CLIENT_IDLE);
    /* A client that has sent requests likely sends more soon: its buffers stay (a give-
     * back and re-take per transaction costs more) until the janitor finds it quiet. A
     * client that only logged in gives them back now (thousands may sit idle). */
    stream_keep_buffers(&c->st, c->st.n_counted > 0);
    if (buf_unscanned(&c->st.in))
        stream_kick(&c->st); /* the next transaction's first bytes are already here */
}

static int request_server(struct client *c)
{
    enum client_state before = c->state; /* IDLE, or a login's state */
    if (pool_checkout(c->pool, &c->waiter) < 0) {
        client_close(c, "53200", "out of memory");
        return -1;
    }
    /* Queued (or its server's parameters are being SET): it waits. Linked at once, as
     * between transactions most of the time, it is ACTIVE already; failed, CLOSING (the
     * struct lives until the loop's deferred free). */
    if (c->state == before)
        client_set_state(c, CLIENT_WAITING);
    return 0;
}

/* Transaction mode: bytes arrived while the client holds no server. */
static int on_hold(struct stream *st, const uint8_t *p, size_t n)
{
    struct client *c = st->owner;
    bool parked = c->state == CLIENT_ACTIVE && c->server && pool_parked(c->server);
    if (c->state != CLIENT_IDLE && !parked)
        return 0; /* already waiting */
    if (n >= PGPROTO_HEADER && p[0] == 'X') {
        client_close(c, NULL, "client disconnected");
        return -1;
    }
    /* Flush and COPY data/done/fail ask for no answer; anything else is a request. */
    bool request = p[0] != 'H' && p[0] != 'd' && p[0] != 'c' && p[0] != 'f';
    if (parked) {
        /* The server of its last transaction waited for it (server_affinity). */
        if (pool_resume(c->server, &c->st, &c->waiter)) {
            if (!request)
                pool_check_release(c->server);
            return 0;
        }
        /* Given to the pool instead (server_released ran): check out as usual. */
    }
    c->request_held = request;
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
    if (!err->sqlstate[0]) {
        /* The server's own FATAL ErrorResponse already reached the client: close as
         * PostgreSQL does, with nothing after it. Logged once: client_close logs a close
         * without SQLSTATE only under log_disconnections, and this one is a failure. */
        if (!g_cfg->log_disconnections)
            log_info("C-%llu %s/%s@%s closing because: %s", (unsigned long long)c->id,
                     c->dbname ? c->dbname : "?", c->user ? c->user : "?", c->peer, err->msg);
        client_close(c, NULL, "%s", err->msg);
        return;
    }
    client_close(c, err->sqlstate, "%s", err->msg);
}

static void auth_ok(struct client *c)
{
    struct lg_err err;
    evloop_timer_cancel(g_ev, &c->login_timer);
    if (c->console) {
        client_admin_welcome(c);
        return;
    }
    if (!c->db) {
        client_close(c, "3D000", "no such database: %s", c->dbname);
        return;
    }
    c->pool = pool_get(c->db, c->dbname, c->user, &err);
    if (!c->pool) {
        client_close(c, err.sqlstate, "%s", err.msg);
        return;
    }
    pool_count_login(c->pool);
    const char *forced = c->db->user && *c->db->user ? c->db->user : NULL;
    if (forced && strcmp(forced, c->user) != 0) {
        /* user= without password=: the forced user's own secret from auth_file, as in
         * PgBouncer (never this client's, which is for another role) */
        const char *pw = g_ul ? userlist_lookup(g_ul, forced) : NULL;
        if (pw)
            pool_set_password(c->pool, pw);
    } else {
        if (c->secret)
            pool_set_password(c->pool, c->secret);
        if (c->auth && c->auth->have_client_key)
            pool_set_client_key(c->pool, c->auth->client_key);
    }
    client_auth_done(c);
    /* lifeguard's own cancel key: never PostgreSQL's, so a client cannot cancel
     * another client's query on a server it no longer holds. */
    do {
        uint32_t r[2];
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
            client_close(c, "58000", "random number generator failed");
            return;
        }
        c->cancel_pid = r[0] & 0x7fffffff;
        c->cancel_key = r[1];
    } while (c->cancel_pid == 0);
    list_append(&cancel_hash[c->cancel_pid % CANCEL_BUCKETS], &c->hash_node);
    if (pgproto_put_auth(&c->st.out, PGPROTO_AUTH_OK, NULL, 0) < 0) {
        client_close(c, "53200", "out of buffer space");
        return;
    }
    static const struct pool_waiter_ops client_waiter_ops = {.on_ready = server_ready,
                                                             .on_fail = server_fail,
                                                             .on_lost = server_lost,
                                                             .on_released = server_released,
                                                             .on_param = client_param_changed,
                                                             .on_ps_cleared = client_ps_cleared};
    c->waiter.ops = &client_waiter_ops;
    (void)request_server(c);
    /* The end of the exchange, AuthenticationOk and (with a server at once) the welcome
     * go out in one write: one wake-up of the client instead of three. */
    if (c->state != CLIENT_CLOSING)
        stream_flush(&c->st);
}
/* ---- messages ---- */

static int on_message(struct stream *st, uint8_t type, const uint8_t *p, uint32_t len)
{
    struct client *c = st->owner;
    if (c->console && c->ares)
        return client_admin_message(c, type, p, len);
    switch (c->state) {
    case CLIENT_AUTH: {
        struct lg_err err;
        int rc = auth_step(c->auth, type, p, len, &c->st.out, &err);
        if (rc < 0) {
            client_close(c, err.sqlstate, "%s", err.msg); /* logged there, as a warning */
            return -1;
        }
        if (rc == AUTH_OK)
            auth_ok(c); /* (which sends this step's last message with its own) */
        else
            stream_flush(&c->st);
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
        client_close(c, "08P01",
                     "invalid message framing from client (two processes sharing "
                     "one connection?)");
    else if (err == -ECONNABORTED)
        client_close(c, NULL, "TLS handshake failed");
    else if (err == -EMSGSIZE)
        client_close(c, "08P01", "message larger than max_packet_size (%d bytes)",
                     g_cfg->max_packet_size);
    else
        client_close(c, NULL, "%s", strerror(-err));
}
