/* SPDX-License-Identifier: MIT */
/*
 * pool_int.h: internal to the pool module (pool.c and its companions pool_cancel.c,
 * pool_janitor.c, pool_obs.c): struct pool and the few functions those files share.
 * Not a public API: other modules use pool.h and never see struct pool.
 * Invariant: every server is on exactly one of its pool's servers[] lists, the one
 * named by its state; only server_set_state() moves it.
 */
#ifndef LG_POOL_INT_H
#define LG_POOL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "evloop.h"
#include "list.h"
#include "pool.h"
#include "server.h"
#include "stats.h"

struct config;
struct db_entry;
struct user_entry;

struct pool {
    struct list_node node; /* on the list of every pool (pool_all()) */
    char *name;            /* "db/user" for messages */
    char *client_db, *client_user;
    struct server_target target;
    bool password_fixed; /* [databases] gave user= and password= */
    int pool_size, max_overflow, pool_mode, min_pool_size;
    uint64_t lifetime_us; /* server_lifetime: [databases] entry's, else the global one */
    struct list_node servers[SERVER_NSTATES];
    struct list_node waiters;   /* FIFO of struct pool_waiter */
    struct list_node parked;    /* pool_park.c: servers kept for their client, oldest first */
    uint64_t park_off_until_us; /* pool_park.c: a parked server was taken by another
                                   client (servers are scarce): no parking until then */
    size_t n_waiting;
    struct lg_err last_connect_err;
    bool have_connect_err;
    uint64_t backoff_us;      /* current backoff after connect failures, 0 = none */
    uint64_t next_connect_us; /* no connect attempts before this */
    bool local_shortage;      /* the last attempt failed for want of descriptors/memory */
    struct evloop_timer retry_timer;
    struct evloop_timer wait_timer;     /* pool_timeout of the oldest waiter (the queue's head) */
    struct evloop_timer overflow_timer; /* overflow_delay of the oldest waiter */
    bool service_queued;
    struct stats_counters c;               /* for SHOW STATS and /metrics */
    struct stats_histogram wait_hist;      /* checkout wait */
    struct stats_histogram xact_hist;      /* transaction-mode link time (one transaction) */
    bool paused;                           /* PAUSE: no hand-overs, no new servers */
    uint64_t tx_warning_logged_us;         /* last "shared connection?" warning (rate limit) */
    struct stats_counters prev;            /* counters at the start of the stats_period */
    struct stats_averages avg;             /* rates over the last stats_period */
    int max_db_connections;                /* servers over all pools of this database; 0 = no cap */
    int max_user_connections;              /* servers over all pools of this user; 0 = no cap */
    uint64_t reconnect_before_us;          /* RECONNECT: servers connected earlier are closed
                                              when they come back to the pool */
    const struct paramset *recent_startup; /* session mode: startup parameters of the last
                                              server opened for a client (a reference) */
    uint64_t no_fill_before_us;            /* min_pool_size refills wait (pool_free_database) */
};

/* Servers of @p in state @st. */
static inline size_t pool_nservers(const struct pool *p, enum server_state st)
{
    return list_count(&p->servers[st]);
}

/* ---- pool.c ---- */
/* The event loop and configuration given to pool_module_init(). */
struct evloop *pool_ev(void);
const struct config *pool_cfg(void);
/* The list of every pool (struct pool, linked by ->node), oldest first. */
struct list_node *pool_all(void);
/* Open one more server for @p, with @startup in its StartupMessage (NULL: none; see
 * server_connect). false if the attempt failed at once (backoff armed). */
bool pool_open_server(struct pool *p, const struct paramset *startup);
/* The end of one of lifeguard's own statements on a server nobody holds: true if it
 * succeeded and left the server idle; else the server is closed (or was) naming @what. */
bool pool_exec_succeeded(struct server *s, const struct pgproto_error *err, bool closed,
                         const char *what);

/* ---- pool_txn.c ---- */
/* server_fast_close: close @s (a session-mode server marked for closing) once its client
 * is between transactions; nothing if it is not due. */
void pool_fast_close_check(struct server *s);

/* ---- pool_park.c ---- */
/* At the end of @s's client's transaction (pool_on_server_drained, every release check
 * passed): keep @s for that client if nobody needs it. True if parked (unlinked, still
 * held); false: release it as usual. */
bool pool_park(struct server *s);
/* pool_checkout: no idle server at all, and @w fits the longest-parked one as it is:
 * @w gets it now (its client goes on as any idle client). False: @w must queue. */
bool pool_checkout_parked(struct pool *p, struct pool_waiter *w);
/* Give the longest-parked server of @p to the idle ones. False if none was parked. */
bool pool_unpark_one(struct pool *p);
/* Every parked server of @p back to the idle ones (waiters, PAUSE, RECONNECT, ...). */
void pool_unpark_all(struct pool *p);
/* The janitor: servers parked for a second or more go back to the idle ones. */
void pool_unpark_stale(struct pool *p, uint64_t now);
/* Take parked @s from its client, which goes on as any idle client (@s closes, or goes
 * to another client as it is: pool.c). @s stays ACTIVE and unlinked, held by nobody. */
void pool_unpark_detach(struct server *s);
/* Would @s be closed rather than kept if it went back to the pool at @now (RECONNECT,
 * server_lifetime)? */
bool pool_server_retiring(struct server *s, uint64_t now);
/* Servers of @p parked now (counted as idle by SHOW and /metrics, not as active). */
size_t pool_nparked(const struct pool *p);

/* ---- pool_caps.c ---- */
/* Set @p's max_db_connections / max_user_connections from its entries (-1: global). */
void pool_set_caps(struct pool *p, const struct db_entry *db, const struct user_entry *ue,
                   const struct config *cfg);
/* Servers of @p connecting, idle or active (what counts against pool_size). */
size_t pool_open_count(const struct pool *p);
/* Room under max_db_connections / max_user_connections for one more server of @p (may
 * close an idle server of another pool to make it). */
bool pool_under_caps(struct pool *p);
/* Room under those caps for one more server of @p without evicting anyone's (what
 * min_pool_size may take: PgBouncer's test suite counts the evictions). */
bool pool_caps_room(struct pool *p);
/* A server of @p closed or went idle: wake pools waiting under a shared cap. */
void pool_wake_siblings_capped(struct pool *p);
static inline void pool_wake_siblings(struct pool *p)
{
    if (p->max_db_connections > 0 || p->max_user_connections > 0)
        pool_wake_siblings_capped(p);
}
/* True if a connect attempt may start now; else the retry timer is armed (backoff). */
bool pool_connect_allowed(struct pool *p);
/* An attempt failed at once: come back when the backoff ends. */
void pool_arm_retry(struct pool *p);
/* Overflow servers @p may open now: max_overflow once the oldest waiter has waited
 * overflow_delay (else 0, and a timer brings service back then). */
size_t pool_overflow_now(struct pool *p);
/* Close @p's idle servers now and the others at their release (connected before @now). */
void pool_reconnect_one(struct pool *p, uint64_t now, const char *why);
/* RELOAD: point @p at its entry's (possibly changed) server address. */
void pool_retarget(struct pool *p, const struct db_entry *db);
/* Servers of @p are matched to clients by startup parameters (session mode with
 * session_startup_parameters). */
bool pool_keyed(const struct pool *p);
/* Hand idle servers to waiters and open servers for them, at the end of this turn. */
void pool_schedule_service(struct pool *p);
/* Take @w off its pool's wait queue; nothing if not queued. */
void pool_dequeue(struct pool_waiter *w);

/* ---- pool_session.c ---- */
/* @s was opened with @w's startup parameters (NULL and none are the same). */
bool pool_startup_fits(const struct server *s, const struct pool_waiter *w);
/* May idle server @s of @p go to waiter @w? Always outside session mode; in it, only if
 * @s was opened with @w's startup parameters (or @w is not a client). */
static inline bool pool_server_fits(const struct pool *p, const struct server *s,
                                    const struct pool_waiter *w)
{
    return !w->keyed || !pool_keyed(p) || pool_startup_fits(s, w);
}
/* Hand idle servers to waiters and open servers for them when pool_keyed(@p). */
void pool_session_service(struct pool *p);

/* ---- pool_handoff.c ---- */
/* Give server @s (idle, of @p) to waiter @w (queued): SET what differs, then on_ready,
 * or on_fail with the server back in the pool (or closed). */
void pool_hand_over(struct pool *p, struct server *s, struct pool_waiter *w);
/* @w leaves while its server's SETs run: the server goes back to the pool when done. */
void pool_handoff_detach(struct pool_waiter *w);

/* ---- pool_janitor.c ---- */
/* Pre-ping: true if idle server @s should run server_check_query before hand-over. */
bool pool_janitor_needs_ping(struct server *s);
/* Run server_check_query on idle server @s (ACTIVE meanwhile): it goes back IDLE and
 * the pool is serviced again, or it is closed. */
void pool_janitor_ping(struct server *s);

/* ---- pool_cancel.c ---- */
/* Finish every cancel still being forwarded (shutdown): their done callbacks run. */
void pool_cancel_close_all(void);
/* A cancel for @s is on its way to PostgreSQL: @s must not serve another client yet. */
bool pool_cancel_pending(const struct server *s);
/* @s is closing: cancels on their way to it no longer hold anything. */
void pool_cancel_forget(const struct server *s);

/* pool.c: a server coming back (checks lifetime, RECONNECT), the session reset, and the
 * byte accounting of a link that ends; used by pool_txn.c. */
void pool_to_idle(struct server *s);
void pool_run_reset(struct server *s);
void pool_account_unlink(struct server *s);
/* What a departed pinned client may have left in its server's session (pool_reset_left). */
enum pool_left {
    POOL_LEFT_CLEAN = 0,
    POOL_LEFT_CURSORS = 1, /* cursors WITH HOLD: CLOSE ALL */
    POOL_LEFT_TEMP = 2,    /* temporary objects: DISCARD TEMP */
    POOL_LEFT_ROLE = 4,    /* a changed role or session user: RESET both */
};
/* What the client holding @w left on its server: POOL_LEFT_* bits (transaction and
 * statement mode; session mode has server_reset_query). */
unsigned pool_left_of(const struct server *s, const struct pool_waiter *w);
/* pool_txn.c: a server its client left, idle: pool_run_reset(), after the role reset,
 * CLOSE ALL and/or DISCARD TEMP as @left (POOL_LEFT_* bits) asks. Closes the server if
 * one fails. */
void pool_reset_left(struct server *s, unsigned left);

#endif
