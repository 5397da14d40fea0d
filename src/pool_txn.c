/* SPDX-License-Identifier: MIT */
/*
 * pool_txn.c: transaction and statement pooling: when a linked server may go back to
 * the pool (every request answered, nothing half-forwarded, output delivered), the
 * statement-mode refusal of transaction blocks, and parameter changes reported by a
 * linked server (a session_authorization changed away from its login value pins the
 * client), and resetting the role, closing the cursors WITH HOLD and dropping the
 * temporary objects a pinned client left behind.
 * Not here: session release and reset (pool.c).
 * Invariant: a server is released only at ReadyForQuery 'I' at a message boundary.
 */
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "pool.h"
#include "pool_int.h"
#include "stats.h"
#include "stream.h"

/* ---- transaction and statement pooling ---- */

/* True if the client/server pair is between transactions: every Query/Sync answered,
 * no Parse/Bind/... waiting for a Sync, nothing half-forwarded either way. */
static bool link_at_boundary(struct server *s)
{
    struct stream *ss = server_stream(s);
    struct stream *cs = ss->peer;
    if (!cs)
        return false;
    uint64_t sent = cs->n_counted - cs->link_base;
    uint64_t answered = ss->n_counted - ss->link_base;
    return sent == answered && !cs->pending_work && cs->msg_left == 0 && !buf_ready(&cs->in) &&
           ss->msg_left == 0;
}

/* server_fast_close: a session-mode server marked for closing (RECONNECT, or a RELOAD
 * that moved its pool) whose client is between transactions with nothing in flight. */
static bool fast_close_due(struct server *s)
{
    struct pool *p = server_pool(s);
    return pool_cfg()->server_fast_close && p->pool_mode == POOL_MODE_SESSION && server_holder(s) &&
           server_connected_at_us(s) < p->reconnect_before_us && server_tx_status(s) == 'I' &&
           link_at_boundary(s);
}

void pool_fast_close_check(struct server *s)
{
    if (fast_close_due(s))
        stream_want_drained(server_stream(s)); /* what the client is owed goes out first */
}

uint64_t pool_on_copy_in(struct server *s)
{
    struct pool_waiter *w = server_holder(s);
    struct stream *ss = server_stream(s), *cs = ss->peer;
    if (!w || !cs)
        return 0;
    /* The requests answered so far all came before the COPY (answers keep order): what
     * is left is its own Query (simple protocol) or the Syncs after its Execute. */
    uint64_t unanswered = (cs->n_counted - cs->link_base) - (ss->n_counted - ss->link_base);
    uint64_t ignored = LG_MIN(unanswered, w->syncs_since_query);
    ss->n_counted += ignored;
    w->copy_in = true;
    return ignored;
}

void pool_sync_ignored(struct server *s)
{
    server_stream(s)->n_counted++;
}

void pool_on_ready_for_query(struct server *s)
{
    struct pool *p = server_pool(s);
    struct pool_waiter *w = server_holder(s);
    if (w)
        w->copy_in = false; /* out of COPY mode, whatever ended it */
    p->c.query_count++;
    if (server_tx_status(s) == 'I')
        p->c.xact_count++;
    struct stream *ss = server_stream(s), *cs = ss->peer;
    if (cs && cs->counted_since_us) {
        /* Query time: from the oldest unanswered request to this answer. Pipelined
         * requests still outstanding start their clock now. */
        uint64_t now = clock_now_us();
        p->c.query_time_us += now - cs->counted_since_us;
        bool more = cs->n_counted - cs->link_base > ss->n_counted - ss->link_base;
        cs->counted_since_us = more ? now : 0;
    }
    if (!w || p->pool_mode == POOL_MODE_SESSION) {
        pool_fast_close_check(s);
        return;
    }
    if ((w->temp_pending || w->role_pending) && server_tx_status(s) == 'I') {
        /* The block that created temporary objects or changed the role ended: committed
         * unless the client's ROLLBACK (the only request in flight when it was seen) ended it. */
        w->temp_objects |= w->temp_pending && !w->temp_rollback;
        w->role_changed |= w->temp_rollback ? 0 : w->role_pending;
        w->temp_pending = false;
        w->role_pending = 0;
        w->pinned = pool_waiter_pin_due(w);
    }
    w->temp_rollback = false; /* it ended the block, or did not (ROLLBACK; BEGIN): forget it */
    if (p->pool_mode == POOL_MODE_STATEMENT && server_tx_status(s) != 'I' && link_at_boundary(s)) {
        /* Statement mode: a transaction block would pin the server; refuse it. */
        struct lg_err e;
        memcpy(e.sqlstate, "0A000", 6);
        snprintf(e.msg, sizeof(e.msg),
                 "pool \"%s\": transaction blocks are not allowed in statement pooling mode",
                 p->name);
        pool_release(s, cs); /* rolls back, cleans up after a pinned client, keeps the
                                server if it can (the holder tells it what to clean) */
        if (w->ops->on_lost)
            w->ops->on_lost(w, &e);
        return;
    }
    if (server_tx_status(s) == 'I' && !w->pinned && link_at_boundary(s))
        stream_want_drained(server_stream(s));
}

struct ps_server *pool_server_ps(struct server *s)
{
    return server_ps(s);
}

void pool_server_watch_describes(struct server *s)
{
    server_watch_describes(s);
}

int pool_server_expect_clear(struct server *s, uint64_t client_bound)
{
    return server_expect_clear(s, client_bound);
}

void pool_check_release(struct server *s)
{
    struct pool *p = server_pool(s);
    struct pool_waiter *w = server_holder(s);
    if (p->pool_mode != POOL_MODE_SESSION && server_tx_status(s) == 'I' && !(w && w->pinned) &&
        link_at_boundary(s))
        stream_want_drained(server_stream(s));
}

void pool_on_server_drained(struct server *s)
{
    struct pool_waiter *w = server_holder(s);
    struct pool *p = server_pool(s);
    if (p->pool_mode == POOL_MODE_SESSION) {
        /* Only server_fast_close asks a session-mode server for this. The client is
         * closed with it (08006): it must notice that its session ended. */
        if (fast_close_due(s))
            server_close(s, "RECONNECT (server_fast_close)");
        return;
    }
    /* The client may have sent more meanwhile: then the transaction goes on here. A
     * cancel still on its way keeps the server too: pool_cancel.c asks again. A client
     * with a cursor WITH HOLD open keeps its server (client_ddl.c). */
    if (!w || w->pinned || server_tx_status(s) != 'I' || !link_at_boundary(s) ||
        pool_cancel_pending(s))
        return;
    struct stream *ss = server_stream(s);
    uint64_t took = clock_now_us() - ss->link_at_us;
    p->c.xact_time_us += took;
    stats_histogram_observe(&p->xact_hist, took);
    pool_account_unlink(s);
    if (pool_park(s))
        return; /* kept for this client's next transaction (pool_park.c) */
    server_set_holder(s, NULL);
    stream_unlink(ss);
    if (w->ops->on_released)
        w->ops->on_released(w);
    if (pool_cfg()->server_reset_query_always)
        pool_run_reset(s);
    else
        pool_to_idle(s);
}

unsigned pool_left_of(const struct server *s, const struct pool_waiter *w)
{
    if (!w || !w->pinned || server_pool(s)->pool_mode == POOL_MODE_SESSION)
        return POOL_LEFT_CLEAN;
    return (w->cursor_pin ? POOL_LEFT_CURSORS : 0) |
           (w->temp_objects || w->temp_pending ? POOL_LEFT_TEMP : 0) |
           (w->role_changed || w->role_pending ? POOL_LEFT_ROLE : 0);
}

static void reset_role_done(void *arg, struct server *s, const struct pgproto_error *err,
                            const char *value, bool closed)
{
    (void)value;
    if (pool_exec_succeeded(s, err, closed, "RESET ROLE of the departed client"))
        pool_reset_left(s, (unsigned)(uintptr_t)arg);
}

static void close_all_done(void *arg, struct server *s, const struct pgproto_error *err,
                           const char *value, bool closed)
{
    (void)value;
    if (pool_exec_succeeded(s, err, closed, "CLOSE ALL of the departed client's cursors"))
        pool_reset_left(s, (unsigned)(uintptr_t)arg);
}

static void discard_temp_done(void *arg, struct server *s, const struct pgproto_error *err,
                              const char *value, bool closed)
{
    (void)value;
    if (pool_exec_succeeded(s, err, closed, "DISCARD TEMP of the departed client's objects"))
        pool_reset_left(s, (unsigned)(uintptr_t)arg);
}

void pool_reset_left(struct server *s, unsigned left)
{
    /* One statement at a time: each must succeed on its own, and DISCARD TEMP goes last so
     * nothing after it can roll it back. The login identity comes back first, before
     * anything else runs as the departed client's role. */
    if (left & POOL_LEFT_ROLE) {
        left &= ~(unsigned)POOL_LEFT_ROLE;
        if (server_exec(s, "SET SESSION AUTHORIZATION DEFAULT; RESET ROLE", NULL, 0,
                        reset_role_done, (void *)(uintptr_t)left) < 0)
            server_close(s, "client left with its role changed");
    } else if (left & POOL_LEFT_CURSORS) {
        left &= ~(unsigned)POOL_LEFT_CURSORS;
        if (server_exec(s, "CLOSE ALL", NULL, 0, close_all_done, (void *)(uintptr_t)left) < 0)
            server_close(s, "client left with cursors WITH HOLD open");
    } else if (left & POOL_LEFT_TEMP) {
        left &= ~(unsigned)POOL_LEFT_TEMP;
        if (server_exec(s, "DISCARD TEMP", NULL, 0, discard_temp_done, (void *)(uintptr_t)left) < 0)
            server_close(s, "client left with temporary objects");
    } else {
        pool_run_reset(s);
    }
}

void pool_on_ps_cleared(struct server *s, uint64_t client_bound)
{
    struct pool_waiter *w = server_holder(s);
    if (w && w->ops->on_ps_cleared)
        w->ops->on_ps_cleared(w, client_bound);
}

void pool_on_param(struct server *s, const char *name, const char *value)
{
    struct pool_waiter *w = server_holder(s);
    if (w && strcmp(name, "session_authorization") == 0 && pool_cfg()->pin_role_changes &&
        server_pool(s)->pool_mode != POOL_MODE_SESSION &&
        !cfg_list_contains(pool_cfg()->track_extra_parameters, name)) {
        /* SET SESSION AUTHORIZATION (or set_config) by the holder: in effect only if its
         * transaction commits (settled at ReadyForQuery 'I', as for a SET ROLE seen).
         * Tracked (track_extra_parameters), it follows its client instead. */
        const char *login = server_param_login(s, name);
        if (!login || strcmp(login, value) != 0) {
            w->role_pending |= POOL_ROLE_AUTH;
            w->pinned = true;
        }
    }
    if (w && w->ops->on_param)
        w->ops->on_param(w, name, value);
}
