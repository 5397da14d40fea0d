/* SPDX-License-Identifier: MIT */
/*
 * client_int.h: internal to the client module (client.c and its companions
 * client_param.c, client_ps.c, client_admin.c, client_janitor.c): struct client and the
 * few functions those files share. Not a public API: other modules use client.h and
 * never see struct client.
 * Invariant: only client_set_state() moves a client between the state lists, and
 * client_close() is the one teardown.
 */
#ifndef LG_CLIENT_INT_H
#define LG_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "base.h"
#include "client.h"
#include "evloop.h"
#include "list.h"
#include "paramset.h"
#include "pgproto.h"
#include "pool.h"
#include "stream.h"

struct admin_result;
struct auth_lookup;
struct config;
struct db_entry;
struct pool;
struct ps_client;
struct held_cursors;
struct server;

/* Parameters a client may want applied on servers (startup + tracked): 32 is well above
 * what drivers send (psql 2, pgjdbc 6, psycopg 1-3) and keeps idle clients small. */
#define CLIENT_MAX_WANT        PARAMSET_MAX
/* client_janitor.c: an idle client quiet for a janitor period gives its buffers back */
#define CLIENT_KEEP_BUFFERS_US 500000ull

struct client {
    struct list_node node;      /* on the list of its state (client_list()) */
    struct list_node hash_node; /* on cancel_hash[cancel_pid % CANCEL_BUCKETS] */
    uint64_t id;
    char peer[48]; /* "addr:port" ("[v6]:port" fits), or "unix" */
    struct stream st;
    struct evloop_timer login_timer; /* client_login_timeout */
    const char *user, *dbname;       /* intern.h references */
    const struct paramset *params;   /* parameters to SET on the server (shared, paramset.h) */
    const struct paramset *startup;  /* startup packet as a session-mode server gets it */
    struct ps_client *ps;            /* named prepared statements (transaction mode) */
    struct held_cursors *held;       /* cursors WITH HOLD open (transaction mode; client_ddl.c) */
    uint64_t seen_in, seen_out;      /* byte counters at the last janitor look */
    uint64_t active_at_us;           /* when bytes last moved */
    uint64_t query_since_us;         /* a request has been in flight since (0: none) */
    struct admin_result *ares;       /* console answer being sent */
    uint64_t connected_at_us;
    const struct db_entry *db;
    struct pool *pool;
    struct pool_waiter waiter;
    struct auth_exchange *auth; /* during the password exchange only */
    char *secret;               /* stored password/secret for this user, or NULL */
    struct server *server;      /* linked server (opaque here), or NULL */
    struct auth_lookup *lookup; /* auth_query in flight */
    struct pool_cancel *cancel; /* this connection is a CancelRequest being forwarded */
    uint32_t cancel_pid, cancel_key;
    enum client_state state;
    int auth_method;      /* enum auth_type chosen for this connection */
    bool trust_allowlist; /* trust from auth_type or an hba rule: only a user in auth_file
                           * or found by auth_query gets in (client_no_such_user()) */
    bool welcomed;        /* ParameterStatus/BackendKeyData/ReadyForQuery sent */
    bool request_held;    /* checkout asked for by a request held in st.in (on_hold) */
    bool ps_on;           /* translate named statements (transaction mode) */
    bool query_cancelled; /* query_timeout already sent a cancel */
    bool temp_logged;     /* "keeps its server: temporary ..." was logged (once a client) */
    bool role_logged;     /* "SET ROLE pins the client ..." was logged (once a client) */
    bool is_unix;         /* came in over the Unix socket */
    bool tls;             /* TLS established */
    bool console;         /* connected to the admin console database */
    bool console_admin;   /* in admin_users (else stats_users: SHOW only) */
    bool ssl_answered, gss_answered;
};

/* ---- client.c ---- */
/* The configuration given to client_module_init(). */
const struct config *client_cfg(void);
struct evloop *client_ev(void);
const struct userlist *client_userlist(void); /* auth_file; NULL if none */
/* Start the password exchange with c->secret (client.c). */
void client_begin_exchange(struct client *c);
/* auth_query (client_lookup.c): fetch the client's secret as @auth_user, then
 * client_begin_exchange(); detach when the client goes first. */
void client_start_lookup(struct client *c, const char *auth_user);
void client_detach_lookup(struct client *c);
/* The list of clients in state @st (struct client, linked by ->node). */
struct list_node *client_list(enum client_state st);
/* Move @c to the list of state @st. */
void client_set_state(struct client *c, enum client_state st);
/* The one teardown: log once, send a FATAL ErrorResponse with @sqlstate (NULL: none,
 * a normal disconnect), give the server back, close the socket, set CLOSING and free
 * @c at the end of the loop turn. Does nothing if @c is already CLOSING. */
void client_close(struct client *c, const char *sqlstate, const char *fmt, ...) LG_PRINTF(3, 4);

/* Wipe and free the password exchange state (idempotent). */
void client_auth_done(struct client *c);

/* ---- client_param.c ---- */
/* Drop the client's parameter set. */
void client_param_free(struct client *c);
/* At the welcome: the tracked parameters as the client is to see them on @s: its own
 * values (as @s reports them) and, for the rest, @s's values at its login. True if @s now
 * holds other values (another client SET them): they must be set back first. */
bool client_param_welcome(struct client *c, struct server *s);
/* The client's value of tracked or startup parameter @name, or NULL. */
const char *client_param_value(const struct client *c, const char *name);
/* Collect the parameters to apply on servers from the startup packet (and its
 * "options"). 0, or -1 with @c closed. */
int client_param_collect(struct client *c, const struct pgproto_startup *su);

/* client_auth.c */
bool client_tls_enabled(void);
bool client_tls_required(void);
/* evloop_defer callback (arg: the client) that switches it to TLS after 'S'. */
void client_start_tls(struct evloop *ev, void *arg);
/* Pick the authentication method (auth_type, cert, or the hba rule); false after
 * closing the client. */
bool client_choose_method(struct client *c);
/* The admin console's user "pgbouncer" over the Unix socket from a process of the Unix
 * user lifeguard runs as: let in as an admin without a password, as PgBouncer does. */
bool client_console_self(const struct client *c);
/* The user has no secret: not in auth_file (@after_query false) or, after that, not found
 * by auth_query (true). Under trust (c->trust_allowlist) that refuses the login, as in
 * PgBouncer: logs "no such user", closes @c with 28000 and returns false. Otherwise
 * returns true: with a password method it logs "no such user" and a made-up challenge
 * follows; cert, peer and auth_type = any look nobody up. */
bool client_no_such_user(struct client *c, bool after_query);
/* pool_param_fn: the linked server reported a parameter change. */
void client_param_changed(struct pool_waiter *w, const char *name, const char *value);

/* ---- client_ps.c ---- */
/* stream_ops.on_head: translate named prepared statements in transaction mode. */
int client_ps_on_head(struct stream *st, uint8_t type, size_t total, const uint8_t *p, size_t n);
/* pool_waiter_ops.on_ps_cleared: the client's DEALLOCATE ALL / DISCARD ALL ran. */
void client_ps_cleared(struct pool_waiter *w, uint64_t client_bound);

/* ---- client_ddl.c ---- */
/* A Query or Parse at the head of @c's input (@n bytes of a @total-byte message at @p):
 * before a DROP DATABASE or the like is forwarded, the pools' idle servers to that
 * database close; in transaction and statement mode, a cursor WITH HOLD pins @c to its
 * server until it is closed, and a temporary table, view or sequence (pin_temp_tables)
 * until DISCARD TEMP / DISCARD ALL, and a SET ROLE or SET SESSION AUTHORIZATION
 * (pin_role_changes) until it is reset (c->waiter.pinned). 1 to go on, 0 to wait for more. */
int client_ddl_on_head(struct client *c, uint8_t type, size_t total, const uint8_t *p, size_t n);
/* Bytes a statement of client_ddl_on_head's may start with (or spaces and comments before
 * one): true for few (A, C, D, R, S), so most queries cost one table look; SELECT a
 * second (SET has a T where SELECT has an L). */
extern const bool client_ddl_first[256];
/* Could the Query or Parse at @p be one of those? */
static inline bool client_ddl_maybe(uint8_t type, const uint8_t *p, size_t n)
{
    size_t at = PGPROTO_HEADER;
    if (type != 'Q') {
        if (type != 'P')
            return false;
        if (n <= at || p[at] != '\0')
            return true; /* a named statement: client_ddl_on_head finds the SQL */
        at++;
    }
    if (n <= at || !client_ddl_first[p[at]])
        return n <= at;
    return (p[at] | 0x20) != 's' || n <= at + 2 || (p[at + 2] | 0x20) == 't';
}
/* Log once for @c that its role change @what ("SET ROLE", ...) pins it. */
void client_ddl_role_log(struct client *c, const char *what);
/* Forget the client's held cursors (freeing them) and unpin it. */
void client_ddl_free(struct client *c);

/* ---- client_admin.c ---- */
/* @c (connected to the admin console database) authenticated: check admin_users and
 * stats_users, then send the welcome. Closes @c on failure. */
void client_admin_welcome(struct client *c);
/* A message on a console connection (stream_ops.on_message result). */
int client_admin_message(struct client *c, uint8_t type, const uint8_t *p, uint32_t len);
/* stream_ops.on_out_space: send more of a console answer. */
void client_admin_on_out_space(struct stream *st);
/* A console client is freed: drop its pending WAIT_CLOSE, if any. */
void client_admin_forget(struct client *c);

#endif
