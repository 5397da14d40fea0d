/* SPDX-License-Identifier: MIT */
/*
 * pool.h: server pools, one per (database, user) as the client names them.
 * A pool owns its servers (one list per server state), the FIFO queue of
 * waiters (clients or lifeguard's own lookups) with deadlines, and the policy of
 * when to open servers. Clients and servers meet here: pool_link() joins a
 * client's stream to a server's, pool_release() takes the server back (reset or
 * close). Invariant 1: a server only ever serves waiters of its own pool.
 */
#ifndef LG_POOL_H
#define LG_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "evloop.h"
#include "list.h"
#include "pgproto.h"
#include "server.h"

struct pool;
struct config;
struct paramset;
struct db_entry;
struct stream;

struct pool_waiter;
/* A server is ready for the waiter: ACTIVE, at 'I', parameters applied. The waiter now
 * holds it and must pool_link() or server_exec() + pool_release_unlinked() it. */
typedef void pool_ready_fn(struct pool_waiter *w, struct server *s);
/* The waiter will not get a server (deadline, login failure): @err says why. The
 * waiter is already off the queue. */
typedef void pool_fail_fn(struct pool_waiter *w, const struct lg_err *err);

/* The linked server died under the waiter (its connection is gone, the server closed). */
typedef void pool_lost_fn(struct pool_waiter *w, const struct lg_err *err);

/* Transaction/statement pooling: the server went back to the pool at a transaction
 * boundary; the waiter is unlinked and may queue again. */
typedef void pool_released_fn(struct pool_waiter *w);
/* The linked server reported a parameter change (ParameterStatus). */
typedef void pool_param_fn(struct pool_waiter *w, const char *name, const char *value);

/* What a kind of waiter does on each event (one static table per kind). */
struct pool_waiter_ops {
    pool_ready_fn *on_ready;
    pool_fail_fn *on_fail;
    pool_lost_fn *on_lost;         /* may be NULL; an empty sqlstate means the server's
                                      own FATAL error already reached the client */
    pool_released_fn *on_released; /* may be NULL (session-only users) */
    pool_param_fn *on_param;       /* may be NULL */
    /* The linked server ran the holder's DEALLOCATE ALL / DISCARD ALL: its statements
     * with an id below @client_bound are gone (pool_server_expect_clear). May be NULL. */
    void (*on_ps_cleared)(struct pool_waiter *w, uint64_t client_bound);
};

/* Embedded in whoever waits (a client, an auth lookup). */
struct pool_waiter {
    struct list_node node;
    struct pool *pool;
    uint64_t enqueued_us;
    const struct pgproto_param *want;  /* parameters to SET on the server first */
    uint64_t want_hash;                /* hash of want[] (0: unknown, always compare) */
    const struct pool_waiter_ops *ops; /* shared by every waiter of a kind */
    void *handoff;                     /* pool.c: set while parameters are being applied */
    /* Session mode (session_startup_parameters): the client's startup parameters, less
     * application_name, that a server must have been opened with to serve it (NULL: none).
     * Owned by the waiter's owner; pool.c and server.c take references of their own. */
    const struct paramset *startup;
    uint32_t n_want;
    /* What a welcome waited (while wait_carry, below, is set); from the first request's
     * checkout on, the part of the wait since enqueued_us that the welcome's hand-over
     * already counted in the wait statistics, so not again. */
    uint32_t carried_us;
    bool queued;
    bool keyed; /* a client: match servers by @startup in session mode (else any server) */
    /* Transaction/statement mode: keep the linked server past the end of transactions
     * (pool_waiter_pin_due); if the client leaves, the server's role is reset, its
     * cursors are closed and its temporary objects dropped before it is reused. */
    bool pinned;
    bool cursor_pin;   /* the client has a cursor WITH HOLD open there (client_ddl.c) */
    bool temp_objects; /* ... temporary objects there (pin_temp_tables) */
    /* ... it created some inside the transaction block now open: they stay if the block
     * commits (temp_objects), go if it rolls back (temp_rollback: the client's ROLLBACK
     * is what ends it). Settled at the ReadyForQuery 'I' that ends the block (pool_txn.c). */
    bool temp_pending;
    bool temp_rollback; /* ... or the role_pending changes (the same block's end) */
    /* POOL_ROLE_* bits: the client changed its role (SET ROLE) or session user (SET SESSION
     * AUTHORIZATION, or the server reported session_authorization away from its login value)
     * there (pin_role_changes): role_changed once committed, role_pending while inside the
     * transaction block now open (settled with temp_pending). */
    uint8_t role_changed;
    uint8_t role_pending;
    /* COPY FROM STDIN (pool_on_copy_in): the linked server is reading COPY data, and
     * ignores every Sync until the client's CopyDone or CopyFail (the client clears it). */
    bool copy_in;
    /* A client linked only to be welcomed (transaction mode): while this is set (the
     * client janitor counts it down: a second or two), carried_us holds how long that
     * welcome waited, and its first request's checkout counts it as already waited (for
     * overflow_delay and query_wait_timeout). Else a client that queued to log in would
     * queue as a newcomer for its first query, and hold back the overflow servers. */
    uint8_t wait_carry;
    /* Syncs the client sent since its last Query (its on_head keeps it): those after a
     * COPY's Execute are the ones a server in COPY FROM STDIN ignores. */
    uint64_t syncs_since_query;
};

enum pool_role {
    POOL_ROLE_SET = 1,  /* SET ROLE: RESET ROLE undoes it */
    POOL_ROLE_AUTH = 2, /* SET SESSION AUTHORIZATION: RESET SESSION AUTHORIZATION undoes it */
};

/* Does anything the client left in its server's session keep it there? */
static inline bool pool_waiter_pin_due(const struct pool_waiter *w)
{
    return w->cursor_pin || w->temp_objects || w->temp_pending || w->role_changed ||
           w->role_pending;
}

void pool_module_init(struct evloop *ev, const struct config *cfg);
/* A reloaded or SET configuration: pool sizes and timeouts follow it, and a changed
 * server address moves the pool (old servers close when idle); an existing pool keeps
 * its pool_mode. @cfg must stay valid while in use. */
void pool_set_config(const struct config *cfg);
/* Admin console controls for pools of database @db (NULL: all). Return how many pools
 * were affected. */
int pool_pause(const char *db, bool pause);
int pool_reconnect(const char *db);
int pool_kill(const char *db);
/* Servers of @db's pools (NULL: all) still open that RECONNECT or a moved pool marked
 * for closing (WAIT_CLOSE); -1 if @db has no pool. */
int pool_close_pending(const char *db);
/* A client of @from is about to run a statement that needs PostgreSQL database @dbname
 * without other sessions (DROP DATABASE and the like): close the idle servers that pools
 * on the same PostgreSQL (host and port) hold to it, and keep min_pool_size from opening
 * new ones for a few seconds. Servers in use are left alone. Returns the number closed. */
int pool_free_database(const struct pool *from, const char *dbname, const char *why);
/* Servers open for the pools of database @db, and whether one of them is PAUSEd. */
void pool_db_status(const char *db, int *servers, bool *paused);
/* Close every server (shutdown). */
void pool_module_fini(void);
/* Free every pool; after the event loop ran the deferred frees of the servers. */
void pool_module_free(void);

/* The pool for (@client_db, @client_user) under [databases] entry @db, created on first
 * use. NULL with 53200 in @err on out-of-memory. */
struct pool *pool_get(const struct db_entry *db, const char *client_db, const char *client_user,
                      struct lg_err *err);
/* Credentials for logging in to the server, learned by authentication. The first call
 * wins for the password; a SCRAM ClientKey is remembered once known. */
void pool_set_password(struct pool *p, const char *secret);
void pool_set_client_key(struct pool *p, const uint8_t key[32]);
bool pool_has_password(const struct pool *p);
const char *pool_name(const struct pool *p); /* "db/user" */
/* The database name clients connect with (the [databases] entry's, or theirs for "*"). */
const char *pool_db_name(const struct pool *p);
int pool_mode_of(const struct pool *p); /* enum pool_mode */

/* Ask for a server. Always asynchronous: @w->on_ready or @w->on_fail runs later (never
 * inside this call). -ENOMEM if it could not be queued. */
int pool_checkout(struct pool *p, struct pool_waiter *w) LG_MUSTCHECK;
/* @w, just handed @s (in its on_ready, not linked), changed its want list: apply it on
 * @s as at checkout, then on_ready runs again (or on_fail; the waiter may leave meanwhile,
 * as during a checkout). */
void pool_reapply(struct server *s, struct pool_waiter *w);
/* Withdraw a queued waiter (its owner is closing). Safe if not queued. */
void pool_cancel_wait(struct pool_waiter *w);

/* Relay between @client (a client's stream) and ACTIVE server @s, held by @w: if the
 * server dies while linked, @w->on_lost runs. */
void pool_link(struct server *s, struct stream *client, struct pool_waiter *w);
/* Run lifeguard's own statement on a held, unlinked server (see server_exec). */
int pool_exec(struct server *s, const char *sql, const char *const *params, size_t n,
              server_exec_fn *fn, void *arg) LG_MUSTCHECK;
/* The client is done with @s (it disconnected). Reuse needs: every Query/Sync the
 * client sent answered, status 'I', nothing buffered; then server_reset_query runs
 * and the server goes IDLE. Otherwise the server is closed. */
void pool_release(struct server *s, struct stream *client);
/* Lifeguard's own use of @s is over (after server_exec; may be called from its callback). */
void pool_release_unlinked(struct server *s);
struct pool_cancel;
/* Called when the forwarded cancel is done (PostgreSQL read it and closed, or it failed
 * or timed out): the requester may now close its own connection. */
typedef void pool_cancel_done_fn(void *arg);
/* Forward a CancelRequest for whatever @s is running, on a new connection. The
 * requester's connection should stay open until @done runs: libpq takes its close as
 * "delivered", and a cancel still in flight could hit the client's next query.
 * Returns a handle, or NULL if it failed at once (@done is not called). */
struct pool_cancel *pool_send_cancel(struct server *s, pool_cancel_done_fn *done, void *arg);
/* The requester went away first: @done will not be called. */
void pool_cancel_detach(struct pool_cancel *c);

/* The linked server's prepared-statement bookkeeping (see prepared.h), or NULL. */
struct ps_server *pool_server_ps(struct server *s);
/* A Describe of lifeguard's own is owed by @s (server_watch_describes). */
void pool_server_watch_describes(struct server *s);
/* A DEALLOCATE ALL / DISCARD ALL goes to @s (server_expect_clear). */
int pool_server_expect_clear(struct server *s, uint64_t client_bound) LG_MUSTCHECK;
/* Transaction/statement mode, server_affinity (pool_park.c): @s is parked for @w's
 * client (kept between its transactions, unlinked). pool_resume relinks it to @client
 * for the client's next transaction and returns 1; or, when it may not be used as it is
 * (needs a pre-ping, is due for closing, someone waits), gives it to the pool (the
 * waiter's on_released runs) and returns 0: the client checks out as usual. */
bool pool_parked(const struct server *s);
int pool_resume(struct server *s, struct stream *client, struct pool_waiter *w);
/* Give parked @s to the pool now (its waiter's on_released runs). */
void pool_unpark(struct server *s);
/* Transaction/statement mode: give the server back now if the link is at a boundary
 * (every request answered, idle, nothing half-sent). Used right after linking. */
void pool_check_release(struct server *s);

/* Periodic upkeep (janitor.c): close servers idle past server_idle_timeout or older
 * than server_lifetime, close idle overflow servers after overflow_idle_timeout, and
 * open servers up to min_pool_size. */
void pool_janitor(void);
/* What the client's linked server is doing: 'Q' a request is in flight, else its
 * transaction status ('I', 'T', 'E'). */
char pool_link_status(struct server *s, const struct stream *client);

/* server_lifetime for @s: up to 20% shorter, different per server (a hash of its id),
 * so a pool opened at once does not recycle all at once. 0 if disabled. */
uint64_t pool_server_lifetime_us(const struct server *s);

/* ---- observation ---- */
struct stats_pool_snap;
struct stats_conn_snap;
typedef void stats_pool_visit_fn(void *arg, const struct stats_pool_snap *p);
typedef void stats_conn_visit_fn(void *arg, const struct stats_conn_snap *c);
/* Call @fn once per pool / server, synchronously (snapshots live only for the call).
 * @wall_now_us: wall clock now, to turn monotonic times into timestamps. */
void pool_visit(stats_pool_visit_fn *fn, void *arg);
void pool_visit_servers(stats_conn_visit_fn *fn, void *arg, uint64_t wall_now_us);
/* Open server connections over all pools. */
size_t pool_server_count(void);
/* SHOW MEM: sizes of a pool and a server, and how many pools there are. */
void pool_mem_usage(size_t *pool_size, size_t *n_pools, size_t *server_size);
/* Servers checked out (linked to a client, or running lifeguard's own statement). */
size_t pool_active_count(void);
/* Iterate pools: pool_next(NULL) is the first, NULL after the last. */
struct pool *pool_next(struct pool *p);
struct pool *pool_find(const char *db, const char *user);
const char *pool_db(const struct pool *p);
const char *pool_user(const struct pool *p);
void pool_counts(const struct pool *p, int *idle, int *active, int *waiting);

/* ---- for server.c ---- */
/* A linked server sent ReadyForQuery (status already recorded). */
void pool_on_ready_for_query(struct server *s);
/* A linked server sent CopyInResponse: it now ignores Sync until CopyDone/CopyFail, so
 * the Syncs its client sent after an extended-protocol COPY (libpq sends one right
 * after Execute) get no ReadyForQuery. Counts them as answered; returns how many (the
 * caller forgets them in what it owes too). */
uint64_t pool_on_copy_in(struct server *s);
/* For the client: a Sync sent while its server is in COPY FROM STDIN (w->copy_in) will
 * get no ReadyForQuery: count it as answered. */
void pool_sync_ignored(struct server *s);
/* A linked server's examined output has all reached the client. */
void pool_on_server_drained(struct server *s);
/* A client logged in to @p (for lifeguard_pool_client_logins_total). */
void pool_count_login(struct pool *p);
/* A linked server relayed an ErrorResponse with @sqlstate (NULL: unknown). */
void pool_count_error(struct pool *p, const char *sqlstate);
struct stream;
/* A linked server warned "transaction already/not in progress" (25001/25P01) while
 * relaying for @client: count it and log it with the client (rate-limited per pool). */
void pool_note_tx_warning(struct server *s, const char *sqlstate, const struct stream *client);
/* A linked server sent ParameterStatus. */
void pool_on_param(struct server *s, const char *name, const char *value);
/* A linked server ran a DEALLOCATE ALL / DISCARD ALL its holder expected. */
void pool_on_ps_cleared(struct server *s, uint64_t client_bound);
struct list_node *pool_server_list(struct pool *p, enum server_state st);
void pool_on_server_login(struct pool *p, struct server *s);
/* @s closed; @err is the reason (a server's FATAL during login is passed on to waiters). */
void pool_on_server_closed(struct pool *p, struct server *s, const struct lg_err *err,
                           bool during_login);

#endif
