/* SPDX-License-Identifier: MIT */
/*
 * server.c: the server state machine: connect, log in (the password exchange itself is
 * server_auth.c's),
 * track ReadyForQuery status and reported parameters, and run lifeguard's own
 * statements (parameter SETs, reset, auth_query). Relaying itself is stream.c's.
 * Invariant: a server is on exactly one pool list, the one named by its state.
 */
#include "server.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "alloc.h"
#include "cfg.h"
#include "clock.h"
#include "evloop.h"
#include "list.h"
#include "log.h"
#include "md5.h"
#include "net.h"
#include "paramset.h"
#include "pool.h"
#include "prepared.h"
#include "scram.h"
#include "server_int.h"
#include "stream.h"
#include "tls.h"

static struct tls_ctx *g_tls; /* NULL: server_tls_sslmode = disable */
static int g_tls_mode;        /* SERVER_TLS_* */

void server_set_tls(struct tls_ctx *ctx, int mode)
{
    g_tls = ctx;
    g_tls_mode = mode;
}

void server_tcp_opts(const struct config *cfg, struct net_tcp_opts *o)
{
    *o = (struct net_tcp_opts){.nodelay = cfg->tcp_nodelay,
                               .keepalive = cfg->tcp_keepalive,
                               .keepidle_s = cfg->tcp_keepidle,
                               .keepintvl_s = cfg->tcp_keepintvl,
                               .keepcnt = cfg->tcp_keepcnt,
                               .user_timeout_ms = cfg->tcp_user_timeout,
                               .buffer_bytes = cfg->tcp_socket_buffer};
}

/* Does startup set @su set @name, itself or in options (-c name=...)? PostgreSQL applies
 * options before the other parameters, so a default sent beside them would win. */
static bool startup_names(const struct paramset *su, const char *name)
{
    for (uint32_t i = 0; su && i < su->n; i++)
        if (strcasecmp(su->p[i].name, name) == 0 ||
            (strcmp(su->p[i].name, "options") == 0 && strcasestr(su->p[i].value, name)))
            return true;
    return false;
}

/* The StartupMessage: who we are, and in session mode the startup parameters of the
 * client the server is opened for, as libpq sends them (PostgreSQL makes them the
 * session's RESET values, source "client"). */
static int put_startup(struct server *s)
{
    const struct server_target *t = s->target;
    struct pgproto_param params[6 + PARAMSET_MAX];
    size_t n = 0;
    params[n++] = (struct pgproto_param){"user", t->user};
    params[n++] = (struct pgproto_param){"database", t->dbname};
    if (t->application_name)
        params[n++] = (struct pgproto_param){"application_name", t->application_name};
    /* [databases] defaults, unless the client (session mode) brings its own. */
    if (t->client_encoding && !startup_names(s->startup, "client_encoding"))
        params[n++] = (struct pgproto_param){"client_encoding", t->client_encoding};
    if (t->datestyle && !startup_names(s->startup, "DateStyle"))
        params[n++] = (struct pgproto_param){"DateStyle", t->datestyle};
    if (t->timezone && !startup_names(s->startup, "TimeZone"))
        params[n++] = (struct pgproto_param){"TimeZone", t->timezone};
    for (uint32_t i = 0; s->startup && i < s->startup->n; i++)
        params[n++] = s->startup->p[i];
    return pgproto_put_startup(&s->st.out, params, n);
}

static uint64_t next_server_id = 1;

static int on_message(struct stream *st, uint8_t type, const uint8_t *p, uint32_t len);
static void on_close(struct stream *st, int err);
static void on_drained(struct stream *st)
{
    pool_on_server_drained(st->owner);
}

static int on_head(struct stream *st, uint8_t type, size_t total, const uint8_t *p, size_t n);

static void start_tls_cb(struct evloop *ev, void *arg)
{
    (void)ev;
    struct server *s = arg;
    if (s->state == SERVER_CLOSING)
        return;
    const char *host = g_tls_mode == SERVER_TLS_VERIFY_FULL ? s->host : NULL;
    int rc = stream_start_tls_client(&s->st, g_tls, host);
    if (rc == 0)
        rc = put_startup(s);
    if (rc < 0) {
        server_close(s, "cannot start TLS to the server: %s", strerror(-rc));
        return;
    }
    s->tls = true;
    stream_kick(&s->st);
}

/* The one-byte answer to our SSLRequest. */
static int on_raw(struct stream *st, const uint8_t *p, size_t n)
{
    struct server *s = st->owner;
    (void)n;
    if (!s->awaiting_ssl) {
        server_close(s, "unexpected raw bytes from the server");
        return -1;
    }
    s->awaiting_ssl = false;
    st->raw = false;
    if (p[0] == 'S') {
        /* The server says nothing more until our ClientHello: TLS starts at the end of
         * this turn, once this byte is consumed. */
        if (evloop_defer(s->ev, start_tls_cb, s) < 0) {
            server_close(s, "out of memory");
            return -1;
        }
        return 1;
    }
    if (p[0] == 'N' && g_tls_mode == SERVER_TLS_PREFER) {
        if (put_startup(s) < 0) {
            server_close(s, "cannot build the startup packet");
            return -1;
        }
        stream_flush(st);
        return 1;
    }
    server_fail_login(s, "08006",
                      p[0] == 'N' ? "the server does not accept TLS and "
                                    "server_tls_sslmode requires it"
                                  : "unexpected answer to SSLRequest");
    return -1;
}

static const struct stream_ops server_ops = {.on_raw = on_raw,
                                             .on_message = on_message,
                                             .on_close = on_close,
                                             .on_drained = on_drained,
                                             .on_head = on_head};

struct list_node *server_node(struct server *s)
{
    return &s->node;
}
struct server *server_from_node(struct list_node *n)
{
    return container_of(n, struct server, node);
}
enum server_state server_state(const struct server *s)
{
    return s->state;
}
size_t server_object_size(void)
{
    return sizeof(struct server);
}

struct stream *server_stream(struct server *s)
{
    return &s->st;
}
struct pool *server_pool(const struct server *s)
{
    return s->pool;
}
char server_tx_status(const struct server *s)
{
    return s->tx_status;
}
const struct server_target *server_target(const struct server *s)
{
    return s->target;
}

const char *server_host(const struct server *s)
{
    return s->host;
}
uint64_t server_id(const struct server *s)
{
    return s->id;
}
const char *server_tls_describe(const struct server *s, char *buf, size_t n)
{
    return stream_tls_describe(&s->st, buf, n);
}

uint64_t server_connected_at_us(const struct server *s)
{
    return s->connected_at_us;
}
void server_set_holder(struct server *s, void *holder)
{
    s->holder = holder;
}
void *server_holder(const struct server *s)
{
    return s->holder;
}
void server_backend_key(const struct server *s, uint32_t *pid, uint32_t *key)
{
    *pid = s->be_pid;
    *key = s->be_key;
}

void server_set_state(struct server *s, enum server_state st)
{
    list_del(&s->node);
    s->state = st;
    if (st == SERVER_IDLE)
        s->idle_since_us = clock_now_us();
    list_append(pool_server_list(s->pool, st), &s->node);
}

void server_park(struct server *s, struct list_node *list)
{
    s->parked = true;
    s->idle_since_us = clock_now_us();
    list_append(list, &s->park_node);
}

void server_unpark(struct server *s)
{
    s->parked = false;
    list_del(&s->park_node);
}

bool server_parked(const struct server *s)
{
    return s->parked;
}

struct server *server_from_park_node(struct list_node *n)
{
    return container_of(n, struct server, park_node);
}

void server_set_idle_since_us(struct server *s, uint64_t t)
{
    s->idle_since_us = t;
}

uint64_t server_idle_since_us(const struct server *s)
{
    return s->idle_since_us;
}

static void free_server(struct evloop *ev, void *arg)
{
    (void)ev;
    struct server *s = arg;
    list_del(&s->node);
    for (size_t i = 0; i < s->n_params; i++) {
        lg_free(s->params[i].name);
        lg_free(s->params[i].value);
        lg_free(s->params[i].login_value);
    }
    lg_free(s->exec_value);
    server_free_unreported(s);
    ps_server_free(s->ps);
    paramset_put(s->startup);
    lg_free(s);
}

struct ps_server *server_ps(struct server *s)
{
    if (!s->ps) {
        s->ps = ps_server_new(s->max_prepared);
        if (s->ps) {
            stream_observe(&s->st, '1');
            stream_observe(&s->st, '3');
            stream_observe(&s->st, 'E');
            stream_observe(&s->st, 'N'); /* ReadyForQuery: on_message (it is intercepted) */
        }
    }
    return s->ps;
}

/* Responses to messages lifeguard injected are swallowed here; errors and
 * ReadyForQuery settle what the server still owes. */
/* Field @want of an ErrorResponse or NoticeResponse from its first @n bytes, copied
 * into @out (@cap bytes with its NUL), or NULL if not in them or longer than that. */
static const char *error_field(const uint8_t *p, size_t n, uint8_t want, char *out, size_t cap)
{
    size_t pos = PGPROTO_HEADER;
    while (pos < n && p[pos]) {
        uint8_t code = p[pos++];
        const uint8_t *nul = memchr(p + pos, '\0', n - pos);
        if (!nul)
            return NULL;
        size_t len = (size_t)(nul - (p + pos));
        if (code == want && len < cap) {
            memcpy(out, p + pos, len);
            out[len] = '\0';
            return out;
        }
        pos = (size_t)(nul - p) + 1;
    }
    return NULL;
}

/* The SQLSTATE of an ErrorResponse from its first @n bytes, or NULL if not in them. */
static const char *error_sqlstate(const uint8_t *p, size_t n, char out[6])
{
    const char *code = error_field(p, n, 'C', out, 6);
    return code && strlen(code) == 5 ? code : NULL;
}

/* True if an ErrorResponse's severity (its first @n bytes) is FATAL or PANIC: the
 * server closes the connection after it. 'V' (never localized) if sent, else 'S'. */
static bool error_is_fatal(const uint8_t *p, size_t n)
{
    char sev[16];
    const char *v = error_field(p, n, 'V', sev, sizeof(sev));
    if (!v)
        v = error_field(p, n, 'S', sev, sizeof(sev));
    return v && (strcmp(v, "FATAL") == 0 || strcmp(v, "PANIC") == 0);
}

static int on_head(struct stream *st, uint8_t type, size_t total, const uint8_t *p, size_t n)
{
    struct server *s = st->owner;
    if (type == 'N' && st->peer) {
        /* "there is already / no transaction in progress": in a pooled app the usual
         * cause is two processes or threads interleaving on one client connection. */
        size_t want = LG_MIN(total, (size_t)256);
        if (n < want && n < st->in.cap)
            return 0;
        char state[6];
        const char *code = error_sqlstate(p, LG_MIN(n, total), state);
        if (code && (strcmp(code, "25001") == 0 || strcmp(code, "25P01") == 0))
            pool_note_tx_warning(s, code, st->peer);
    }
    if (type == 'E') {
        if (s->ps && ps_front_is(s->ps, PS_OWED_GUARD) && n < total && total <= st->in.cap)
            return 0; /* server_ps.c replaces it whole */
        /* Count it by class for /metrics; the SQLSTATE is within the first fields. */
        size_t want = LG_MIN(total, (size_t)256);
        if (n < want && n < st->in.cap)
            return 0;
        char state[6];
        const char *code = error_sqlstate(p, LG_MIN(n, total), state);
        pool_count_error(s->pool, code);
        snprintf(s->last_err, sizeof(s->last_err), "%s", code ? code : "");
        s->last_err_fatal = error_is_fatal(p, LG_MIN(n, total));
    }
    if (!s->ps || (ps_owes_nothing(s->ps) && type != 'E'))
        return 1; /* an error with nothing owed still means: skipping to the Sync */
    return server_ps_on_head(s, st, type, total, p, n);
}

static void close_with(struct server *s, const struct lg_err *err, const char *reason)
{
    if (s->state == SERVER_CLOSING)
        return;
    bool during_login = !s->logged_in;
    /* PostgreSQL ended the session with a FATAL ErrorResponse (pg_terminate_backend,
     * idle_in_transaction_session_timeout, shutdown) and that message has already gone
     * to the linked client: the client sees what a direct connection shows, that error
     * and then the close, not a second error of ours (drivers report each one). */
    bool told_client =
            !during_login && !err && s->last_err_fatal && s->st.peer && stream_is_drained(&s->st);
    log_info("S-%llu %s/%s@%s:%d closing because: %s", (unsigned long long)s->id,
             pool_db_name(s->pool), s->target->user, s->host, s->target->port, reason);
    evloop_timer_cancel(s->ev, &s->timer);
    if (s->scram) {
        scram_client_wipe(s->scram);
        lg_free(s->scram);
        s->scram = NULL;
    }
    /* Polite goodbye if the connection is healthy enough to take it. */
    if (s->logged_in && !s->st.closed && !s->st.err && !s->st.peer &&
        pgproto_put_terminate(&s->st.out) == 0)
        stream_flush(&s->st);
    stream_close(&s->st);
    server_exec_fn *fn = s->exec_fn;
    s->exec_fn = NULL;
    server_set_state(s, SERVER_CLOSING);
    if (fn)
        fn(s->exec_arg, s, NULL, NULL, true);
    struct lg_err e;
    if (!err && strcmp(s->last_err, "08P01") == 0) {
        /* PostgreSQL found the client's bytes malformed and hung up: the usual cause is
         * two processes writing into one inherited connection. */
        memcpy(e.sqlstate, "08P01", 6);
        snprintf(e.msg, sizeof(e.msg),
                 "PostgreSQL rejected this connection's messages as malformed and closed it "
                 "(two processes sharing one connection?)");
        err = &e;
    } else if (!err && told_client) {
        e.sqlstate[0] = '\0'; /* on_lost: close without an ErrorResponse of ours */
        snprintf(e.msg, sizeof(e.msg), "server ended the session (FATAL %s, relayed): %s",
                 s->last_err, reason);
        err = &e;
    } else if (!err) {
        memcpy(e.sqlstate, "08006", 6);
        snprintf(e.msg, sizeof(e.msg), "server connection lost: %s", reason);
        err = &e;
    }
    pool_on_server_closed(s->pool, s, err, during_login);
    if (evloop_defer(s->ev, free_server, s) < 0)
        log_error("S-%llu: cannot schedule free (out of memory); leaking it",
                  (unsigned long long)s->id);
}

void server_close(struct server *s, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    close_with(s, NULL, reason);
}

static void on_timer(struct evloop *ev, void *arg)
{
    (void)ev;
    struct server *s = arg;
    if (!s->logged_in)
        server_close(s, "connect timeout: no login within server_connect_timeout");
    else
        server_close(s, "statement timed out (server_connect_timeout)");
}

static void on_close(struct stream *st, int err)
{
    struct server *s = st->owner;
    if (err == 0)
        server_close(s, "server closed the connection");
    else if (err == -EMSGSIZE)
        server_close(s, "message from server larger than max_packet_size or the buffer");
    else if (err == -EPROTO)
        server_close(s, "protocol violation from server (%s)", strerror(-err));
    else if (!s->logged_in)
        server_close(s, "connect failed: %s", strerror(-err)); /* PgBouncer's words */
    else
        server_close(s, "%s", strerror(-err));
}

struct server *server_connect(struct pool *pool, struct server_target *t,
                              const struct paramset *startup, struct evloop *ev,
                              const struct config *cfg, struct lg_err *err)
{
    struct server *s = lg_calloc(1, sizeof(*s));
    if (s && startup && startup->n && !(s->startup = paramset_get(startup->p, startup->n))) {
        lg_free(s);
        s = NULL;
    }
    if (!s) {
        memcpy(err->sqlstate, "53200", 6);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return NULL;
    }
    s->pool = pool;
    s->target = t;
    s->ev = ev;
    s->id = next_server_id++;
    s->tx_status = 'I';
    s->op_timeout_us = cfg->server_connect_timeout_us;
    s->max_prepared = cfg->max_prepared_statements > 0 ? (size_t)cfg->max_prepared_statements : 1;
    s->log_connections = cfg->log_connections;
    list_init(&s->node);
    evloop_timer_init(&s->timer, on_timer, s);
    net_pick_host(t->host, t->host_next++, s->host, sizeof(s->host));
    struct net_tcp_opts topts;
    server_tcp_opts(cfg, &topts);
    int fd = net_connect(s->host, t->port, &topts);
    if (fd < 0) {
        /* 53000 insufficient_resources: our own shortage, not the server's failure. */
        bool local = fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM;
        memcpy(err->sqlstate, local ? "53000" : "08006", 6);
        snprintf(err->msg, sizeof(err->msg), "could not connect to server %.120s:%d: %s", s->host,
                 t->port, strerror(-fd));
        paramset_put(s->startup);
        lg_free(s);
        return NULL;
    }
    size_t bufsz = (size_t)LG_MAX(cfg->pkt_buf, 16384);
    int rc = stream_init(&s->st, ev, fd, bufsz, &server_ops, s);
    s->st.max_msg = (uint32_t)cfg->max_packet_size;
    s->st.keep_buffers = true;
    if (rc == 0 && g_tls && s->host[0] != '/') {
        /* SSLRequest first; the startup packet follows in TLS (or in the clear after
         * 'N' when server_tls_sslmode = prefer). */
        static const uint8_t ssl_request[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
        rc = buf_append(&s->st.out, ssl_request, sizeof(ssl_request));
        s->awaiting_ssl = true;
        s->st.raw = true;
    } else if (rc == 0) {
        rc = put_startup(s);
    }
    if (rc == 0)
        rc = evloop_timer_set(ev, &s->timer, clock_now_us() + s->op_timeout_us);
    if (rc < 0) {
        if (s->st.closed)
            close(fd); /* stream_init failed: the fd is still ours */
        else
            stream_close(&s->st);
        memcpy(err->sqlstate, "53200", 6);
        snprintf(err->msg, sizeof(err->msg), "could not start server connection: %s",
                 strerror(-rc));
        paramset_put(s->startup);
        lg_free(s);
        return NULL;
    }
    s->state = SERVER_CONNECTING;
    list_append(pool_server_list(pool, SERVER_CONNECTING), &s->node);
    s->connected_at_us = clock_now_us();
    log_debug("S-%llu %s/%s@%s:%d connecting", (unsigned long long)s->id, t->dbname, t->user,
              s->host, t->port);
    /* The startup packet goes out when the connect completes (first writability). */
    return s;
}

/* ---- login ---- */

void server_fail_login(struct server *s, const char *sqlstate, const char *msg)
{
    struct lg_err e;
    memcpy(e.sqlstate, sqlstate, 6);
    snprintf(e.msg, sizeof(e.msg), "%s", msg);
    close_with(s, &e, msg);
}

/* Logged in (and connect_query done): the server joins the pool's idle servers. */
static void login_complete(struct server *s)
{
    /* What a fresh connection sees: a client that did not ask for a value of its own
     * gets these, whatever other clients later SET here (out of memory: none kept,
     * and the current value stands in). After connect_query, which may have SET some. */
    for (size_t i = 0; i < s->n_params; i++)
        s->params[i].login_value = lg_strdup(s->params[i].value);
    server_set_state(s, SERVER_IDLE);
    pool_on_server_login(s->pool, s);
}

static void connect_query_done(void *arg, struct server *s, const struct pgproto_error *err,
                               const char *value, bool closed)
{
    (void)arg;
    (void)value;
    if (closed)
        return; /* server_close logged why; the pool saw it as a failed connection */
    if (err || s->tx_status != 'I') {
        /* Part of the login for the pool: a failed connect (backoff, waiters keep
         * waiting and then learn the reason as the last connect error). */
        s->logged_in = false;
        server_close(s, "connect_query failed: %s (%s)",
                     err ? err->message : "left a transaction open", err ? err->sqlstate : "25001");
        return;
    }
    login_complete(s);
}

static int on_login_message(struct server *s, uint8_t type, const uint8_t *p, uint32_t len)
{
    switch (type) {
    case 'R':
        return server_login_auth(s, p, len);
    case 'S': {
        const char *n, *v;
        if (pgproto_parse_param_status(p, len, &n, &v) < 0 || server_set_param(s, n, v) < 0) {
            server_close(s, "bad ParameterStatus during login");
            return -1;
        }
        return STREAM_CONSUMED;
    }
    case 'K':
        if (len != 8) {
            server_close(s, "bad BackendKeyData");
            return -1;
        }
        s->be_pid = pgproto_get_u32(p);
        s->be_key = pgproto_get_u32(p + 4);
        return STREAM_CONSUMED;
    case 'N':
        return STREAM_CONSUMED;
    case 'E': {
        struct pgproto_error e;
        struct lg_err le;
        if (pgproto_parse_error(p, len, &e) < 0) {
            server_close(s, "malformed ErrorResponse during login");
            return -1;
        }
        memcpy(le.sqlstate, e.sqlstate[0] ? e.sqlstate : "08006", 6);
        snprintf(le.msg, sizeof(le.msg), "%s", e.message);
        char reason[320];
        snprintf(reason, sizeof(reason), "login failed: %s (%s)", e.message, e.sqlstate);
        close_with(s, &le, reason);
        return -1;
    }
    case 'Z':
        if (len != 1) {
            server_close(s, "bad ReadyForQuery");
            return -1;
        }
        s->tx_status = (char)p[0];
        s->logged_in = true;
        evloop_timer_cancel(s->ev, &s->timer);
        if (s->log_connections)
            log_info("S-%llu %s/%s@%s:%d new connection to server (backend pid %u)",
                     (unsigned long long)s->id, pool_db_name(s->pool), s->target->user, s->host,
                     s->target->port, s->be_pid);
        stream_intercept(&s->st, 'Z', true);
        stream_intercept(&s->st, 'S', true);
        stream_intercept(&s->st, 'G', true); /* COPY FROM STDIN: pool_on_copy_in() */
        stream_observe(&s->st, 'E');
        stream_count(&s->st, 'Z');
        if (s->target->connect_query) {
            /* Before any client: the pool counts the server only once it succeeded. */
            server_set_state(s, SERVER_ACTIVE);
            if (server_exec(s, s->target->connect_query, NULL, 0, connect_query_done, NULL) < 0) {
                server_close(s, "could not start connect_query");
                return -1;
            }
            return STREAM_STOP;
        }
        login_complete(s);
        return STREAM_STOP;
    default:
        server_close(s, "unexpected message '%c' during login", type);
        return -1;
    }
}

/* ---- lifeguard's own statements ---- */

int server_exec(struct server *s, const char *sql, const char *const *params, size_t n_params,
                server_exec_fn *fn, void *arg)
{
    if (s->exec_fn || s->st.peer || s->state != SERVER_ACTIVE)
        return -EBUSY;
    int rc = n_params ? pgproto_put_extended_query(&s->st.out, sql, params, n_params)
                      : pgproto_put_query(&s->st.out, sql);
    if (rc < 0)
        return rc;
    if (s->ps) /* either form replaces the server's unnamed statement */
        ps_server_set_unnamed(s->ps, 0);
    rc = evloop_timer_set(s->ev, &s->timer, clock_now_us() + s->op_timeout_us);
    if (rc < 0)
        return rc;
    s->exec_fn = fn;
    s->exec_arg = arg;
    s->exec_has_err = s->exec_has_row = false;
    lg_free(s->exec_value);
    s->exec_value = NULL;
    stream_flush(&s->st);
    stream_kick(&s->st);
    return 0;
}

static int on_exec_message(struct server *s, uint8_t type, const uint8_t *p, uint32_t len)
{
    switch (type) {
    case 'D':
        if (!s->exec_has_row) {
            const uint8_t *v;
            int32_t vlen;
            s->exec_has_row = true;
            int rc = pgproto_datarow_col(p, len, 1, &v, &vlen);
            if (rc == -ERANGE)
                rc = pgproto_datarow_col(p, len, 0, &v, &vlen);
            if (rc < 0) {
                server_close(s, "malformed DataRow");
                return -1;
            }
            if (vlen >= 0) {
                s->exec_value = lg_strndup((const char *)v, (size_t)vlen);
                if (!s->exec_value) {
                    server_close(s, "out of memory");
                    return -1;
                }
            }
        }
        return STREAM_CONSUMED;
    case 'E':
        if (!s->exec_has_err) {
            if (pgproto_parse_error(p, len, &s->exec_err) < 0) {
                server_close(s, "malformed ErrorResponse");
                return -1;
            }
            s->exec_has_err = true;
        }
        return STREAM_CONSUMED;
    case 'Z': {
        s->tx_status = len == 1 ? (char)p[0] : '?';
        evloop_timer_cancel(s->ev, &s->timer);
        server_exec_fn *fn = s->exec_fn;
        s->exec_fn = NULL;
        fn(s->exec_arg, s, s->exec_has_err ? &s->exec_err : NULL, s->exec_value, false);
        return STREAM_CONSUMED;
    }
    case 'T':
    case 'C':
    case '1':
    case '2':
    case '3':
    case 'n':
    case 'I':
    case 's':
    case 'N':
    case 't':
    case 'A': /* NotificationResponse may come at any time (a LISTEN a client left behind):
                 it is nobody's to read now, and no reason to fail this statement */
        return STREAM_CONSUMED;
    default:
        server_close(s, "unexpected message '%c' during lifeguard's statement", type);
        return -1;
    }
}

static int on_message(struct stream *st, uint8_t type, const uint8_t *p, uint32_t len)
{
    struct server *s = st->owner;
    if (!s->logged_in)
        return on_login_message(s, type, p, len);
    if (type == 'S') {
        const char *n, *v;
        if (pgproto_parse_param_status(p, len, &n, &v) < 0 || server_set_param(s, n, v) < 0) {
            server_close(s, "bad ParameterStatus");
            return -1;
        }
        if (st->peer)
            pool_on_param(s, n, v);
        return STREAM_FORWARD;
    }
    if (st->peer) {
        if (type == 'G') {
            uint64_t ignored = pool_on_copy_in(s);
            if (s->ps)
                ps_drop_syncs(s->ps, ignored);
        }
        if (type == 'Z') {
            if (s->ps)
                server_ps_on_ready(s); /* before the pool may release the server */
            s->tx_status = len == 1 ? (char)p[0] : '?';
            pool_on_ready_for_query(s);
        }
        return STREAM_FORWARD;
    }
    if (s->exec_fn)
        return on_exec_message(s, type, p, len);
    if (type == 'N')
        return STREAM_CONSUMED;
    if (type == 'E') {
        struct pgproto_error e;
        if (pgproto_parse_error(p, len, &e) == 0) {
            server_close(s, "server error while idle: %s (%s)", e.message, e.sqlstate);
            return -1;
        }
    }
    server_close(s, "unexpected message '%c' from an idle server", type);
    return -1;
}
