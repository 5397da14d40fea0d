/* SPDX-License-Identifier: MIT */
/*
 * pool_handoff.c: giving a server to a waiter. Parameters the waiter wants that differ on
 * the server are applied first with one "SELECT pg_catalog.set_config(...), ..." (values
 * quoted here, names checked by pgproto_is_param_name); then the waiter's on_ready runs.
 * A server already found equal to the waiter's want-list hash skips the comparison, and a
 * session-mode server opened with the waiter's own startup parameters skips those (they
 * are its RESET values; a SET would only make their source "session").
 * Not here: choosing the server or the waiter (pool.c), release (pool_txn.c).
 * Invariant: the waiter may leave while the SETs run (pool_handoff_detach); the server
 * then goes back to the pool, and a failed SET never reaches the waiter as a server.
 */
#include "pool.h"

#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "cfg.h"
#include "clock.h"
#include "log.h"
#include "paramset.h"
#include "pgproto.h"
#include "pool_int.h"
#include "stats.h"

/* A server being prepared (parameter SETs) for a waiter; the waiter may leave. */
struct handoff {
    struct pool_waiter *w; /* NULL if the waiter left meanwhile */
    struct server *s;
    uint64_t sync_hash;  /* mark the server synced with this on success (0: don't) */
    size_t noted_before; /* unreported names the server had noted before these SETs */
};

/* Append a string literal for @v (E'' form if it has a backslash). */
static bool append_literal(char *sql, size_t cap, size_t *len, const char *v)
{
    bool bs = strchr(v, '\\') != NULL;
    if (*len + 3 >= cap)
        return false;
    if (bs)
        sql[(*len)++] = 'E';
    sql[(*len)++] = '\'';
    for (; *v; v++) {
        if (*len + 3 >= cap)
            return false;
        if (*v == '\'' || *v == '\\')
            sql[(*len)++] = *v;
        sql[(*len)++] = *v;
    }
    sql[(*len)++] = '\'';
    return true;
}

/* Append one set_config() call to "SELECT ...": set_config parses the value the way a
 * startup packet's is parsed (a list for search_path), unlike SET ... TO 'a,b'. */
static bool append_set(char *sql, size_t cap, size_t *len, const char *name, const char *value)
{
    int n = snprintf(sql + *len, cap - *len, "%spg_catalog.set_config(", *len ? ", " : "SELECT ");
    if (n < 0 || (size_t)n >= cap - *len)
        return false;
    *len += (size_t)n;
    if (!append_literal(sql, cap, len, name) || *len + 2 >= cap)
        return false;
    sql[(*len)++] = ',';
    if (!append_literal(sql, cap, len, value))
        return false;
    n = snprintf(sql + *len, cap - *len, ", false)");
    if (n < 0 || (size_t)n >= cap - *len)
        return false;
    *len += (size_t)n;
    return true;
}

/* Append "set_config(name, NULL, false)": RESET of @name, back to the server's value. */
static bool append_reset(char *sql, size_t cap, size_t *len, const char *name)
{
    int n = snprintf(sql + *len, cap - *len, "%spg_catalog.set_config(", *len ? ", " : "SELECT ");
    if (n < 0 || (size_t)n >= cap - *len)
        return false;
    *len += (size_t)n;
    if (!append_literal(sql, cap, len, name))
        return false;
    n = snprintf(sql + *len, cap - *len, ", NULL, false)");
    if (n < 0 || (size_t)n >= cap - *len)
        return false;
    *len += (size_t)n;
    return true;
}

static bool wants(const struct pool_waiter *w, const char *name)
{
    for (size_t i = 0; i < w->n_want; i++)
        if (param_name_eq(w->want[i].name, name))
            return true;
    return false;
}

/* Transaction and statement pooling: an unreported parameter set here for an earlier
 * client (search_path from pgjdbc's currentSchema, -c work_mem) that @w did not ask for
 * goes back to the server's value (server_param.c). Session mode: server_reset_query
 * does that between clients. */
static bool append_foreign_resets(struct server *s, const struct pool_waiter *w, char *sql,
                                  size_t cap, size_t *len)
{
    for (size_t i = 0; i < server_unreported_count(s); i++) {
        const char *name = server_unreported_at(s, i);
        if (!wants(w, name) && !append_reset(sql, cap, len, name))
            return false;
    }
    return true;
}

/* After the SETs succeeded: what @w did not ask for is the server's own again. */
static void forget_foreign(struct server *s, const struct pool_waiter *w)
{
    for (size_t i = server_unreported_count(s); i-- > 0;)
        if (!wants(w, server_unreported_at(s, i)))
            server_forget_unreported(s, i);
}

static void setup_done(void *arg, struct server *s, const struct pgproto_error *err,
                       const char *value, bool closed)
{
    (void)value;
    struct handoff *h = arg;
    struct pool_waiter *w = h->w;
    uint64_t sync_hash = h->sync_hash;
    size_t noted_before = h->noted_before;
    lg_free(h);
    if (w)
        w->handoff = NULL;
    if (!closed && (err || server_tx_status(s) != 'I'))
        server_unnote_since(s, noted_before); /* the statement failed: none was set (an
                                                 unknown name would else be RESET, and
                                                 fail, for every later client) */
    if (closed) {
        if (w) {
            struct lg_err e;
            memcpy(e.sqlstate, "08006", 6);
            snprintf(e.msg, sizeof(e.msg), "server connection lost while applying parameters");
            w->ops->on_fail(w, &e);
        }
        return;
    }
    if (!w) {
        pool_release_unlinked(s);
        return;
    }
    if (err || server_tx_status(s) != 'I') {
        struct lg_err e;
        memcpy(e.sqlstate, err && err->sqlstate[0] ? err->sqlstate : "08P01", 6);
        snprintf(e.msg, sizeof(e.msg), "%s", err ? err->message : "unexpected transaction state");
        pool_release_unlinked(s);
        w->ops->on_fail(w, &e);
        return;
    }
    if (sync_hash)
        server_mark_synced(s, sync_hash); /* our SETs brought the server to the wanted values */
    forget_foreign(s, w);
    w->ops->on_ready(w, s);
}

static void apply_want(struct server *s, struct pool_waiter *w);

void pool_hand_over(struct pool *p, struct server *s, struct pool_waiter *w)
{
    log_noise("pool \"%s\": checkout S-%llu", p->name, (unsigned long long)server_id(s));
    uint64_t waited = clock_now_us() - w->enqueued_us;
    waited -= LG_MIN(waited, w->carried_us); /* the welcome's wait was counted then */
    w->carried_us = 0;
    p->c.wait_time_us += waited;
    stats_histogram_observe(&p->wait_hist, waited);
    pool_dequeue(w);
    server_set_state(s, SERVER_ACTIVE);
    apply_want(s, w);
}

void pool_reapply(struct server *s, struct pool_waiter *w)
{
    apply_want(s, w);
}

/* Session mode: @s was opened with @w's startup parameters, so it holds them as its
 * RESET values (PostgreSQL's source "client"). True when there are any. */
static bool opened_for(struct server *s, const struct pool_waiter *w)
{
    return w->startup && w->keyed && pool_keyed(server_pool(s)) && pool_startup_fits(s, w);
}

/* Does server_reset_query put every setting back to its RESET value? */
static bool reset_restores_all(void)
{
    const char *q = pool_cfg()->server_reset_query;
    return q && (strcasestr(q, "DISCARD ALL") || strcasestr(q, "RESET ALL"));
}

/* @s was opened with the startup parameters @want came from: is it still at that value?
 * A reported parameter is if it kept its login value (PostgreSQL spells values its own
 * way, so the client's spelling is not compared); an unreported one if
 * server_reset_query resets everything between clients. */
static bool still_at_startup(struct server *s, const char *name, bool reported)
{
    if (strcasecmp(name, "application_name") == 0 || strncmp(name, "_pq_.", 5) == 0)
        return false; /* never in a server's startup packet (client_param.c) */
    if (!reported)
        return reset_restores_all();
    const char *login = server_param_login(s, name);
    const char *have = server_param(s, name);
    return login && strcmp(login, have) == 0;
}

static void apply_want_slow(struct server *s, struct pool_waiter *w);

/* SET what @w wants and @s lacks, then @w's on_ready (at once if nothing differs). The
 * steady state of transaction pooling first: the server already matches @w's want-list
 * and holds no parameter an earlier client set unseen, so there is nothing to compare or
 * reset (and no statement buffer to set up). */
static void apply_want(struct server *s, struct pool_waiter *w)
{
    if (server_params_synced(s, w->want_hash) && server_unreported_count(s) == 0) {
        w->ops->on_ready(w, s);
        return;
    }
    apply_want_slow(s, w);
}

static LG_NOINLINE void apply_want_slow(struct server *s, struct pool_waiter *w)
{
    char sql[4096];
    size_t len = 0;
    bool ok = true;
    bool all_reported = true; /* else some value cannot be seen: never skip the check */
    /* Clients configured alike share a want-list hash: a server already found equal to
     * it, with no parameter change since, needs no comparison at all. */
    size_t n_check = server_params_synced(s, w->want_hash) ? 0 : w->n_want;
    size_t noted_before = server_unreported_count(s);
    bool own = n_check && opened_for(s, w);
    for (size_t i = 0; i < n_check && ok; i++) {
        const char *have = server_param(s, w->want[i].name);
        if (!have)
            all_reported = false;
        if (have && strcmp(have, w->want[i].value) == 0)
            continue;
        if (own && still_at_startup(s, w->want[i].name, have != NULL))
            continue; /* set at login from this very startup packet: SET would only make
                         its source "session" */
        if (!pgproto_is_param_name(w->want[i].name))
            continue; /* client.c refuses such names; never build SQL from one */
        ok = append_set(sql, sizeof(sql), &len, w->want[i].name, w->want[i].value);
        if (ok && !have && server_pool(s)->pool_mode != POOL_MODE_SESSION)
            server_note_unreported(s, w->want[i].name);
    }
    if (ok)
        ok = append_foreign_resets(s, w, sql, sizeof(sql), &len);
    if (!ok) {
        server_unnote_since(s, noted_before);
        struct lg_err e;
        memcpy(e.sqlstate, "08P01", 6);
        snprintf(e.msg, sizeof(e.msg), "startup parameters too long");
        pool_release_unlinked(s);
        w->ops->on_fail(w, &e);
        return;
    }
    uint64_t sync_hash = n_check && all_reported ? w->want_hash : 0;
    if (len == 0) {
        /* nothing to SET: nothing was noted either (a noted name has a SET) */
        if (sync_hash)
            server_mark_synced(s, sync_hash);
        w->ops->on_ready(w, s);
        return;
    }
    struct handoff *h = lg_malloc(sizeof(*h));
    if (!h || server_exec(s, sql, NULL, 0, setup_done, h) < 0) {
        lg_free(h);
        server_unnote_since(s, noted_before);
        struct lg_err e;
        memcpy(e.sqlstate, "53200", 6);
        snprintf(e.msg, sizeof(e.msg), "out of memory applying parameters");
        server_close(s, "could not apply parameters");
        w->ops->on_fail(w, &e);
        return;
    }
    h->w = w;
    h->s = s;
    h->sync_hash = sync_hash;
    h->noted_before = noted_before;
    w->handoff = h; /* pool_cancel_wait() detaches the waiter if it leaves meanwhile */
}

void pool_handoff_detach(struct pool_waiter *w)
{
    if (w->handoff) {
        ((struct handoff *)w->handoff)->w = NULL;
        w->handoff = NULL;
    }
}
