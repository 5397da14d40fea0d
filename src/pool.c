/* SPDX-License-Identifier: MIT */
/*
 * pool.c: server connection pools, one per (database, user) as clients name them.
 * Waiters (clients, auth lookups) queue FIFO with a pool_timeout deadline; a server
 * goes to the oldest waiter, after lifeguard SETs the waiter's startup parameters
 * that differ on that server. Servers open on demand up to pool_size (plus
 * max_overflow while clients wait and all are busy), with exponential backoff and
 * jitter after connect failures. Not here: applying parameters at hand-over
 * (pool_handoff.c), matching session-mode servers by startup parameters
 * (pool_session.c), cancel forwarding (pool_cancel.c), upkeep
 * and pre-ping (pool_janitor.c), SHOW and /metrics (pool_obs.c). Invariant: every
 * server is on exactly one list, named by its state; only server_set_state() moves it.
 */
#include "pool.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/random.h>

#include "alloc.h"
#include "cfg.h"
#include "clock.h"
#include "log.h"
#include "paramset.h"
#include "pool_int.h"
#include "prepared.h"
#include "stats.h"
#include "stream.h"

#define LOCAL_SHORTAGE_RETRY_US 250000u /* retry pace while out of descriptors/memory */

static struct evloop *g_ev;
static const struct config *g_cfg;
static struct list_node g_pools = {&g_pools, &g_pools};

static void service(struct pool *p);

static void wait_timeout_cb(struct evloop *ev, void *arg);
static int arm_wait_timer(struct pool *p);

void pool_module_init(struct evloop *ev, const struct config *cfg)
{
    g_ev = ev;
    g_cfg = cfg;
}

/* The sizes, caps and lifetime @p takes from its entries (at creation and each RELOAD). */
static void apply_entry(struct pool *p, const struct db_entry *db, const struct user_entry *ue,
                        const struct config *cfg)
{
    p->pool_size = db->pool_size >= 0           ? db->pool_size
                   : (ue && ue->pool_size >= 0) ? ue->pool_size
                                                : cfg->default_pool_size;
    p->max_overflow = db->max_overflow >= 0 ? db->max_overflow : cfg->max_overflow;
    p->min_pool_size = db->min_pool_size >= 0 ? db->min_pool_size : cfg->min_pool_size;
    p->lifetime_us = db->server_lifetime_us != CFG_UNSET_US ? db->server_lifetime_us
                                                            : cfg->server_lifetime_us;
    pool_set_caps(p, db, ue, cfg);
}

void pool_set_config(const struct config *cfg)
{
    g_cfg = cfg;
    struct list_node *n;
    list_for_each (n, &g_pools) {
        struct pool *p = container_of(n, struct pool, node);
        const struct db_entry *db = cfg_find_db(cfg, p->client_db);
        if (!db)
            continue; /* the entry is gone: the pool keeps serving whoever is connected */
        apply_entry(p, db, cfg_find_user(cfg, p->client_user), cfg);
        pool_unpark_all(p); /* sizes, caps or server_affinity may have changed */
        pool_retarget(p, db);
        /* A changed pool_timeout/query_timeout applies to those already waiting too. */
        evloop_timer_cancel(g_ev, &p->wait_timer);
        if (arm_wait_timer(p) < 0)
            log_error("pool \"%s\": cannot arm the pool_timeout timer", p->name);
        pool_schedule_service(p);
    }
}

struct evloop *pool_ev(void)
{
    return g_ev;
}

const struct config *pool_cfg(void)
{
    return g_cfg;
}

struct list_node *pool_all(void)
{
    return &g_pools;
}

static void pool_free(struct pool *p)
{
    evloop_timer_cancel(g_ev, &p->retry_timer);
    evloop_timer_cancel(g_ev, &p->wait_timer);
    evloop_timer_cancel(g_ev, &p->overflow_timer);
    list_del(&p->node);
    lg_free(p->name);
    lg_free(p->client_db);
    lg_free(p->client_user);
    lg_free(p->target.host);
    lg_free(p->target.dbname);
    lg_free(p->target.user);
    if (p->target.password) {
        explicit_bzero(p->target.password, strlen(p->target.password));
        lg_free(p->target.password);
    }
    explicit_bzero(p->target.client_key, sizeof(p->target.client_key));
    lg_free(p->target.application_name);
    lg_free(p->target.client_encoding);
    lg_free(p->target.datestyle);
    lg_free(p->target.timezone);
    lg_free(p->target.connect_query);
    paramset_put(p->recent_startup);
    lg_free(p);
}

void pool_module_fini(void)
{
    pool_cancel_close_all();
    struct list_node *n, *t;
    list_for_each_safe (n, t, &g_pools) {
        struct pool *p = container_of(n, struct pool, node);
        for (int st = 0; st < SERVER_NSTATES; st++) {
            if (st == SERVER_CLOSING)
                continue;
            while (!list_empty(&p->servers[st]))
                server_close(server_from_node(p->servers[st].next), "lifeguard shutting down");
        }
    }
}

void pool_module_free(void)
{
    while (!list_empty(&g_pools))
        pool_free(container_of(g_pools.next, struct pool, node));
}

static void retry_cb(struct evloop *ev, void *arg)
{
    (void)ev;
    service(arg);
}

/* Has a pool of the "*" entry been made for client database @db (by another user)? */
static bool auto_db_known(const char *db)
{
    struct list_node *it;
    list_for_each (it, &g_pools) {
        const struct pool *p = container_of(it, struct pool, node);
        if (strcmp(p->client_db, db) == 0)
            return true;
    }
    return false;
}

/* *dst = a copy of @src if it is set (non-empty). False when out of memory. */
static bool copy_opt(char **dst, const char *src)
{
    return !src || !*src || (*dst = lg_strdup(src)) != NULL;
}

struct pool *pool_get(const struct db_entry *db, const char *client_db, const char *client_user,
                      struct lg_err *err)
{
    struct list_node *n;
    list_for_each (n, &g_pools) {
        struct pool *p = container_of(n, struct pool, node);
        if (strcmp(p->client_db, client_db) == 0 && strcmp(p->client_user, client_user) == 0)
            return p;
    }
    struct pool *p = lg_calloc(1, sizeof(*p));
    if (!p)
        goto oom;
    list_init(&p->node);
    list_init(&p->waiters);
    list_init(&p->parked);
    for (int i = 0; i < SERVER_NSTATES; i++)
        list_init(&p->servers[i]);
    evloop_timer_init(&p->retry_timer, retry_cb, p);
    evloop_timer_init(&p->wait_timer, wait_timeout_cb, p);
    evloop_timer_init(&p->overflow_timer, retry_cb, p);
    const struct user_entry *ue = cfg_find_user(g_cfg, client_user);
    apply_entry(p, db, ue, g_cfg);
    p->pool_mode = (ue && ue->pool_mode >= 0) ? ue->pool_mode
                   : db->pool_mode >= 0       ? db->pool_mode
                                              : g_cfg->pool_mode;
    const char *host = db->host && *db->host ? db->host : "localhost";
    const char *dbname = db->dbname && *db->dbname ? db->dbname : client_db;
    const char *user = db->user && *db->user ? db->user : client_user;
    size_t nl = strlen(client_db) + strlen(client_user) + 2;
    p->name = lg_malloc(nl);
    p->client_db = lg_strdup(client_db);
    p->client_user = lg_strdup(client_user);
    p->target.host = lg_strdup(host);
    p->target.dbname = lg_strdup(dbname);
    p->target.user = lg_strdup(user);
    p->target.port = db->port > 0 ? db->port : 5432;
    bool oom = !(copy_opt(&p->target.application_name, db->application_name) &&
                 copy_opt(&p->target.client_encoding, db->client_encoding) &&
                 copy_opt(&p->target.datestyle, db->datestyle) &&
                 copy_opt(&p->target.timezone, db->timezone) &&
                 copy_opt(&p->target.connect_query, db->connect_query));
    if (oom || !p->name || !p->client_db || !p->client_user || !p->target.host ||
        !p->target.dbname || !p->target.user) {
        list_append(&g_pools, &p->node);
        pool_free(p);
        goto oom;
    }
    snprintf(p->name, nl, "%s/%s", client_db, client_user);
    if (db->user && *db->user && db->password) {
        p->target.password = lg_strdup(db->password);
        p->password_fixed = true;
    }
    if (strcmp(db->name, "*") == 0 && !auto_db_known(client_db))
        log_info("registered new auto-database: db=%s (the \"*\" entry; server %s:%d/%s)",
                 client_db, p->target.host, p->target.port, p->target.dbname);
    list_append(&g_pools, &p->node);
    log_debug("pool \"%s\" created: server %s@%s:%d/%s, pool_size=%d", p->name, p->target.user,
              p->target.host, p->target.port, p->target.dbname, p->pool_size);
    return p;
oom:
    memcpy(err->sqlstate, "53200", 6);
    snprintf(err->msg, sizeof(err->msg), "out of memory creating pool");
    return NULL;
}

void pool_set_password(struct pool *p, const char *secret)
{
    if (p->password_fixed || !secret)
        return;
    if (p->target.password && strcmp(p->target.password, secret) == 0)
        return;
    char *d = lg_strdup(secret);
    if (!d)
        return;
    if (p->target.password) {
        explicit_bzero(p->target.password, strlen(p->target.password));
        lg_free(p->target.password);
    }
    p->target.password = d;
    p->target.have_client_key = false;
}

void pool_set_client_key(struct pool *p, const uint8_t key[32])
{
    memcpy(p->target.client_key, key, 32);
    p->target.have_client_key = true;
}

bool pool_has_password(const struct pool *p)
{
    return p->target.password != NULL;
}

const char *pool_db_name(const struct pool *p)
{
    return p->client_db;
}

const char *pool_name(const struct pool *p)
{
    return p->name;
}

int pool_mode_of(const struct pool *p)
{
    return p->pool_mode;
}

struct list_node *pool_server_list(struct pool *p, enum server_state st)
{
    return &p->servers[st];
}

/* ---- waiting ---- */

static void service_cb(struct evloop *ev, void *arg)
{
    (void)ev;
    struct pool *p = arg;
    p->service_queued = false;
    service(p);
}

void pool_schedule_service(struct pool *p)
{
    /* service() only hands out and opens servers for waiters: with none it would do
     * nothing (a server going idle between transactions, most of the time). */
    if (p->service_queued || list_empty(&p->waiters))
        return;
    if (evloop_defer(g_ev, service_cb, p) == 0)
        p->service_queued = true;
}

void pool_dequeue(struct pool_waiter *w)
{
    if (!w->queued)
        return;
    list_del(&w->node);
    w->queued = false;
    w->pool->n_waiting--;
    /* The pool's wait timer stays: when it fires it looks at whoever is first then. */
}

static void fail_waiter(struct pool_waiter *w, const struct lg_err *err)
{
    pool_dequeue(w);
    w->ops->on_fail(w, err);
}

/* How long a waiter may wait: pool_timeout, or query_timeout if that is shorter (as in
 * PgBouncer, query_timeout bounds a query from its arrival, waiting included). 0 = no
 * limit. */
static uint64_t wait_limit_us(void)
{
    uint64_t pt = g_cfg->pool_timeout_us, qt = g_cfg->query_timeout_us;
    return qt && (!pt || qt < pt) ? qt : pt;
}

static void waiter_timeout(struct pool_waiter *w)
{
    struct pool *p = w->pool;
    bool query = wait_limit_us() != g_cfg->pool_timeout_us;
    struct lg_err e;
    memcpy(e.sqlstate, query ? "57014" : "53300", 6);
    int n = snprintf(e.msg, sizeof(e.msg),
                     "pool \"%s\" %s: no server within %.0fs (pool_size=%d, max_overflow=%d, "
                     "%zu waiting)",
                     p->name, query ? "query_timeout" : "timeout", (double)wait_limit_us() / 1e6,
                     p->pool_size, p->max_overflow, p->n_waiting);
    if (p->have_connect_err && n > 0 && (size_t)n < sizeof(e.msg))
        snprintf(e.msg + n, sizeof(e.msg) - (size_t)n, "; last connect error: %.150s",
                 p->last_connect_err.msg);
    log_warn("%s", e.msg);
    p->c.pool_timeouts++;
    fail_waiter(w, &e);
}

/* Arm the pool's wait timer for its oldest waiter, unless it is armed no later already.
 * One timer per pool, not one per waiter: the queue is FIFO and every waiter has the same
 * pool_timeout, so the head's deadline is the earliest, and a hand-over (which takes
 * the head, mostly) costs no timer-heap work. Returns 0 or -ENOMEM. */
static int arm_wait_timer(struct pool *p)
{
    uint64_t limit = wait_limit_us();
    if (!limit || list_empty(&p->waiters))
        return 0;
    const struct pool_waiter *head = container_of(p->waiters.next, struct pool_waiter, node);
    uint64_t when = head->enqueued_us + limit;
    if (evloop_timer_armed(&p->wait_timer) && p->wait_timer.when_us <= when)
        return 0;
    return evloop_timer_set(g_ev, &p->wait_timer, when);
}

/* Fail the waiters whose pool_timeout has passed (oldest first), then re-arm for the
 * next. Fires early only after a hand-over took the head: it just re-arms then. */
static void wait_timeout_cb(struct evloop *ev, void *arg)
{
    (void)ev;
    struct pool *p = arg;
    uint64_t now = clock_now_us();
    uint64_t limit = wait_limit_us();
    while (!list_empty(&p->waiters) && limit) {
        struct pool_waiter *w = container_of(p->waiters.next, struct pool_waiter, node);
        if (w->enqueued_us + limit > now)
            break;
        waiter_timeout(w);
    }
    if (arm_wait_timer(p) < 0)
        log_error("pool \"%s\": cannot arm the pool_timeout timer", p->name);
}

/* The steady state of transaction pooling: nobody waits and the most recently used idle
 * server already has this client's parameters. Hand it over now, not from a deferred
 * service run: the caller's run then relays the waiting request in the same turn. */
static bool checkout_now(struct pool *p, struct pool_waiter *w)
{
    struct list_node *idle = &p->servers[SERVER_IDLE];
    if (p->paused || !list_empty(&p->waiters) || list_empty(idle) || !w->want_hash)
        return false;
    struct server *s = server_from_node(idle->prev);
    if (!server_params_synced(s, w->want_hash) || pool_janitor_needs_ping(s) ||
        !pool_server_fits(p, s, w))
        return false;
    w->queued = false;       /* never in the queue: nobody is ahead of it */
    pool_hand_over(p, s, w); /* synced: no SET to run, so it links at once (on_ready) */
    return true;
}

int pool_checkout(struct pool *p, struct pool_waiter *w)
{
    w->pool = p;
    w->queued = true;
    uint64_t now = clock_now_us();
    /* (with wait_carry, carried_us holds what its welcome waited: counted as waited) */
    uint32_t carried = w->wait_carry ? (uint32_t)LG_MIN((uint64_t)w->carried_us, now) : 0;
    w->enqueued_us = now - carried;
    w->carried_us = carried;
    w->wait_carry = 0;
    if (checkout_now(p, w) || pool_checkout_parked(p, w))
        return 0;
    list_append(&p->waiters, &w->node);
    p->n_waiting++;
    int rc = arm_wait_timer(p);
    if (rc < 0) {
        pool_dequeue(w);
        return rc;
    }
    pool_schedule_service(p);
    return 0;
}

void pool_cancel_wait(struct pool_waiter *w)
{
    pool_dequeue(w);
    pool_handoff_detach(w);
}

static uint64_t jitter(uint64_t us)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
        r = 0;
    /* +-25% */
    return us - us / 4 + (us / 2 ? (uint64_t)r % (us / 2 + 1) : 0);
}

/* A connect or login attempt failed in a way retrying may fix: back off. */
static void connect_failed(struct pool *p, const struct lg_err *err)
{
    p->c.connect_failures++;
    p->last_connect_err = *err;
    p->have_connect_err = true;
    uint64_t base = g_cfg->server_login_retry_base_us;
    p->backoff_us =
            p->backoff_us ? LG_MIN(p->backoff_us * 2, g_cfg->server_login_retry_max_us) : base;
    p->next_connect_us = clock_now_us() + jitter(p->backoff_us);
    log_warn("pool \"%s\": server connection failed (%s); retrying in about %.1fs", p->name,
             err->msg, (double)p->backoff_us / 1e6);
}

bool pool_keyed(const struct pool *p)
{
    return p->pool_mode == POOL_MODE_SESSION && g_cfg->session_startup_parameters;
}

/* Returns false if the attempt failed at once (backoff armed). */
bool pool_open_server(struct pool *p, const struct paramset *startup)
{
    struct lg_err err;
    struct server *s = server_connect(p, &p->target, startup, g_ev, g_cfg, &err);
    if (!s) {
        if (strncmp(err.sqlstate, "53", 2) == 0) {
            /* Out of descriptors or memory here, not PostgreSQL failing: retry soon at a
             * fixed pace (no backoff growth), logged once until a connect succeeds. */
            if (!p->local_shortage)
                log_warn("pool \"%s\": cannot open a server connection: %s; retrying every "
                         "%.1fs",
                         p->name, err.msg, LOCAL_SHORTAGE_RETRY_US / 1e6);
            p->local_shortage = true;
            p->last_connect_err = err;
            p->have_connect_err = true;
            p->next_connect_us = clock_now_us() + LOCAL_SHORTAGE_RETRY_US;
            return false;
        }
        connect_failed(p, &err);
        return false;
    }
    return true;
}

bool pool_connect_allowed(struct pool *p)
{
    if (clock_now_us() >= p->next_connect_us)
        return true;
    if (!evloop_timer_armed(&p->retry_timer) &&
        evloop_timer_set(g_ev, &p->retry_timer, p->next_connect_us) < 0)
        log_error("pool \"%s\": cannot arm retry timer", p->name);
    return false;
}

size_t pool_overflow_now(struct pool *p)
{
    uint64_t delay = g_cfg->overflow_delay_us;
    if (!p->max_overflow || !delay || list_empty(&p->waiters))
        return (size_t)(p->max_overflow > 0 ? p->max_overflow : 0);
    const struct pool_waiter *head = container_of(p->waiters.next, struct pool_waiter, node);
    uint64_t due = head->enqueued_us + delay;
    if (clock_now_us() >= due)
        return (size_t)p->max_overflow;
    /* Come back when the oldest waiter has waited overflow_delay (if still waiting). */
    if ((!evloop_timer_armed(&p->overflow_timer) || p->overflow_timer.when_us > due) &&
        evloop_timer_set(g_ev, &p->overflow_timer, due) < 0)
        log_error("pool \"%s\": cannot arm the overflow_delay timer", p->name);
    return 0;
}

void pool_arm_retry(struct pool *p)
{
    if (evloop_timer_set(g_ev, &p->retry_timer, p->next_connect_us) < 0)
        log_error("pool \"%s\": cannot arm retry timer", p->name);
}

static void service(struct pool *p)
{
    if (p->paused)
        return; /* PAUSE: waiters wait (pool_timeout still applies) */
    if (pool_keyed(p)) {
        pool_session_service(p);
        return;
    }
    while (!list_empty(&p->waiters)) {
        struct list_node *idle = &p->servers[SERVER_IDLE];
        if (list_empty(idle) && !pool_unpark_one(p)) /* nobody waits while one is parked */
            break;
        if (list_empty(idle))
            continue; /* the unparked one was due for closing */
        /* Most recently used first: warm caches, and the rest can age out. */
        struct server *s = server_from_node(idle->prev);
        if (pool_janitor_needs_ping(s)) {
            pool_janitor_ping(s); /* it rejoins the idle list, or is closed, and we come back */
            continue;
        }
        struct pool_waiter *w = container_of(p->waiters.next, struct pool_waiter, node);
        pool_hand_over(p, s, w);
    }
    if (list_empty(&p->waiters))
        return;
    size_t connecting = pool_nservers(p, SERVER_CONNECTING);
    size_t total = connecting + pool_nservers(p, SERVER_IDLE) + pool_nservers(p, SERVER_ACTIVE);
    size_t limit = (size_t)p->pool_size;
    if (total >= limit)
        limit += pool_overflow_now(p); /* all pool_size busy and clients wait */
    if (!pool_connect_allowed(p))
        return;
    size_t parallel =
            g_cfg->server_connect_parallel ? (size_t)g_cfg->server_connect_parallel : SIZE_MAX;
    while (connecting < p->n_waiting && connecting < parallel && total < limit) {
        if (!pool_under_caps(p))
            break; /* pool_wake_siblings() brings us back when a server frees up */
        if (!pool_open_server(p, NULL)) {
            pool_arm_retry(p);
            break;
        }
        if (total >= (size_t)p->pool_size) /* PgBouncer's words for an overflow server */
            log_info("pool \"%s\": taking connection from reserve_pool (max_overflow %d; %zu "
                     "waiting)",
                     p->name, p->max_overflow, p->n_waiting);
        connecting++;
        total++;
    }
}

void pool_on_server_login(struct pool *p, struct server *s)
{
    p->c.server_connects++;
    p->local_shortage = false;
    p->backoff_us = 0;
    p->next_connect_us = 0;
    p->have_connect_err = false;
    pool_schedule_service(p);
    /* Connecting when RECONNECT (or a RELOAD that moved the pool) came: it may have gone
     * to the old address; never hand it out. */
    if (server_connected_at_us(s) < p->reconnect_before_us)
        server_close(s, "RECONNECT (was connecting when it came)");
}

static bool is_connect_failure(const struct lg_err *err)
{
    return strncmp(err->sqlstate, "08", 2) == 0 || strcmp(err->sqlstate, "57P03") == 0 ||
           strcmp(err->sqlstate, "53300") == 0;
}

/* The first client waiting for a server opened with @startup, or NULL. */
static struct pool_waiter *first_with_startup(struct pool *p, const struct paramset *startup)
{
    struct list_node *n;
    list_for_each (n, &p->waiters) {
        struct pool_waiter *w = container_of(n, struct pool_waiter, node);
        if (w->keyed && paramset_same(w->startup, startup))
            return w;
    }
    return NULL;
}

void pool_on_server_closed(struct pool *p, struct server *s, const struct lg_err *err,
                           bool during_login)
{
    pool_cancel_forget(s);
    pool_wake_siblings(p);
    if (server_parked(s))
        pool_unpark_detach(s); /* its client was between transactions: it goes on */
    struct pool_waiter *holder = server_holder(s);
    if (holder) {
        server_set_holder(s, NULL);
        if (holder->ops->on_lost)
            holder->ops->on_lost(holder, err);
    }
    if (during_login) {
        const struct paramset *startup = server_startup(s);
        if (startup && !is_connect_failure(err)) {
            /* Opened with a client's startup parameters, and PostgreSQL refused the login
             * for a reason of its own (an invalid value, an unknown parameter, or one that
             * would refuse anyone, in which case every other login fails the same way).
             * Only the waiters that would send the same parameters get the error: a client
             * must not be able to fail other clients, nor put the pool into backoff. */
            struct pool_waiter *w;
            while ((w = first_with_startup(p, startup)))
                fail_waiter(w, err); /* from the head again: on_fail may close others */
            pool_schedule_service(p);
            return;
        }
        if (!is_connect_failure(err)) {
            /* The server refused us for a reason that retrying will not fix (no such
             * database, authentication): every waiter gets that error now. */
            p->last_connect_err = *err;
            p->have_connect_err = true;
            p->c.connect_failures++;
            while (!list_empty(&p->waiters))
                fail_waiter(container_of(p->waiters.next, struct pool_waiter, node), err);
            return;
        }
        connect_failed(p, err);
    }
    pool_schedule_service(p);
}

/* ---- linking and release ---- */

int pool_exec(struct server *s, const char *sql, const char *const *params, size_t n,
              server_exec_fn *fn, void *arg)
{
    return server_exec(s, sql, params, n, fn, arg);
}

/* Account the bytes and time of a link that ends now. */
void pool_account_unlink(struct server *s)
{
    struct pool *p = server_pool(s);
    struct stream *ss = server_stream(s);
    p->c.bytes_in += ss->bytes_out - ss->acct_out;
    p->c.bytes_out += ss->bytes_in - ss->acct_in;
    ss->acct_out = ss->bytes_out;
    ss->acct_in = ss->bytes_in;
}

void pool_link(struct server *s, struct stream *client, struct pool_waiter *w)
{
    server_set_holder(s, w);
    w->copy_in = false;
    server_stream(s)->acct_out = server_stream(s)->bytes_out;
    server_stream(s)->acct_in = server_stream(s)->bytes_in;
    server_stream(s)->link_at_us = clock_now_us();
    struct stream *ss = server_stream(s);
    client->link_base = client->n_counted;
    ss->link_base = ss->n_counted;
    /* Whatever the client sent before the link (login, a held first message not yet
     * examined) is not work in flight on this server. */
    client->pending_work = false;
    stream_link(client, ss);
}

void pool_to_idle(struct server *s)
{
    struct pool *p = server_pool(s);
    uint64_t age = clock_now_us() - server_connected_at_us(s);
    if (server_connected_at_us(s) < p->reconnect_before_us) {
        server_close(s, "RECONNECT");
        pool_schedule_service(p);
        return;
    }
    uint64_t lifetime = pool_server_lifetime_us(s);
    if (lifetime && age > lifetime) {
        server_close(s, "server_lifetime reached (recycled)");
        pool_schedule_service(p);
        return;
    }
    /* Bytes after this ReadyForQuery would be examined next as an idle server's
     * messages, and anything unexpected closes it (invariant 2). */
    log_noise("pool \"%s\": checkin S-%llu", p->name, (unsigned long long)server_id(s));
    server_set_state(s, SERVER_IDLE);
    pool_schedule_service(p);
    pool_wake_siblings(p);
}

static void reset_done(void *arg, struct server *s, const struct pgproto_error *err,
                       const char *value, bool closed)
{
    (void)arg;
    (void)value;
    if (closed)
        return;
    if (err) {
        server_close(s, "server_reset_query failed: %s (%s)", err->message, err->sqlstate);
        return;
    }
    if (server_tx_status(s) != 'I') {
        server_close(s, "server not idle after server_reset_query");
        return;
    }
    const char *q = g_cfg->server_reset_query;
    if (server_pool(s)->pool_mode != POOL_MODE_SESSION && q &&
        (strcasestr(q, "DISCARD ALL") || strcasestr(q, "DEALLOCATE ALL"))) {
        struct ps_server *ps = server_ps(s);
        if (ps)
            ps_server_clear(ps); /* the reset dropped every prepared statement */
    }
    pool_to_idle(s);
}

void pool_run_reset(struct server *s)
{
    const char *q = g_cfg->server_reset_query;
    /* In transaction and statement mode the session is shared anyway: reset only if
     * server_reset_query_always says so (PgBouncer's rule). */
    bool want = server_pool(s)->pool_mode == POOL_MODE_SESSION || g_cfg->server_reset_query_always;
    if (want && q && *q) {
        if (server_exec(s, q, NULL, 0, reset_done, NULL) < 0)
            server_close(s, "could not start server_reset_query");
        return;
    }
    pool_to_idle(s);
}

bool pool_exec_succeeded(struct server *s, const struct pgproto_error *err, bool closed,
                         const char *what)
{
    if (closed)
        return false;
    if (err || server_tx_status(s) != 'I') {
        server_close(s, "%s failed", what);
        return false;
    }
    return true;
}

static void rollback_done(void *arg, struct server *s, const struct pgproto_error *err,
                          const char *value, bool closed)
{
    (void)value;
    if (pool_exec_succeeded(s, err, closed, "ROLLBACK of the departed client's transaction"))
        pool_reset_left(s, (unsigned)(uintptr_t)arg);
}

void pool_release(struct server *s, struct stream *client)
{
    struct stream *ss = server_stream(s);
    struct pool_waiter *w = server_holder(s);
    if (server_parked(s))
        server_unpark(s); /* and released below, as at the end of a transaction */
    unsigned left = pool_left_of(s, w);
    server_set_holder(s, NULL);
    pool_account_unlink(s);
    uint64_t sent = client->n_counted - client->link_base;
    uint64_t answered = ss->n_counted - ss->link_base;
    /* Parse/Bind/Execute... without their Sync: the server is still working on them and
     * will answer to whoever holds it next (or its ReadyForQuery lies): close it. */
    bool unsynced = client->pending_work;
    /* The client left in the middle of a message (a CopyData streaming through), or with
     * examined bytes not yet written to the server: the server may have read the start of
     * a message whose rest never comes, and would take the next client's bytes for it. */
    bool half = client->msg_left != 0 || buf_ready(&client->in) != 0;
    stream_unlink(client);
    if (sent != answered || unsynced || half || !stream_is_drained(ss) || pool_cancel_pending(s)) {
        server_close(s, "client left with %s",
                     sent != answered         ? "a query in flight"
                     : unsynced               ? "extended-protocol messages not yet synced"
                     : half                   ? "a message half forwarded"
                     : pool_cancel_pending(s) ? "a cancel request in flight"
                                              : "unsent data");
        return;
    }
    if (server_tx_status(s) != 'I') {
        /* The client left inside a transaction (a driver closing without commit):
         * roll it back rather than pay for a new connection. */
        if (server_exec(s, "ROLLBACK", NULL, 0, rollback_done, (void *)(uintptr_t)left) < 0)
            server_close(s, "client left with a transaction open");
        return;
    }
    pool_reset_left(s, left);
}

void pool_release_unlinked(struct server *s)
{
    /* Called from the ReadyForQuery callback itself: that message is still in the
     * buffer, so "drained" cannot be asked here. Anything after it is examined as an
     * idle server's input, and unexpected bytes close the server. */
    if (server_tx_status(s) != 'I') {
        server_close(s, "not idle after lifeguard's statement");
        return;
    }
    pool_to_idle(s);
}
