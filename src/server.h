/* SPDX-License-Identifier: MIT */
/*
 * server.h: one connection lifeguard opened to PostgreSQL, as a state machine:
 * CONNECTING (TCP/Unix connect + startup + authentication) -> IDLE (in its pool)
 * -> ACTIVE (checked out: relaying for a client, or running lifeguard's own
 * statement) -> back to IDLE, or CLOSING. The state is the pool list it is on.
 * A server that misbehaves is closed, never reused (invariant 3).
 */
#ifndef LG_SERVER_H
#define LG_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "pgproto.h"

struct server;
struct pool;
struct stream;
struct evloop;
struct config;
struct paramset;
struct list_node;

enum server_state {
    SERVER_CONNECTING = 0,
    SERVER_IDLE,
    SERVER_ACTIVE,
    SERVER_CLOSING,
    SERVER_NSTATES,
};

/* Where and as whom to log in. Owned by the pool; must outlive its servers. */
struct server_target {
    char *host; /* IP, host name, or Unix socket directory ("/...") */
    int port;
    char *dbname;
    char *user;
    char *password;         /* plaintext, "md5..." or "SCRAM-SHA-256$...", or NULL */
    uint8_t client_key[32]; /* SCRAM pass-through key, valid if have_client_key */
    bool have_client_key;
    char *application_name; /* NULL: not sent */
    char *client_encoding;  /* [databases] client_encoding, datestyle, timezone: NULL: */
    char *datestyle;        /* not sent */
    char *timezone;
    char *connect_query; /* [databases] connect_query: run once after login; NULL: none */
    unsigned host_next;  /* host=a,b,...: the list entry the next connection uses */
};

enum server_tls_mode {
    SERVER_TLS_DISABLE = 0,
    SERVER_TLS_PREFER,      /* allow and prefer: TLS if the server offers it */
    SERVER_TLS_REQUIRE,     /* TLS, certificate not checked */
    SERVER_TLS_VERIFY_CA,   /* certificate chain checked against server_tls_ca_file */
    SERVER_TLS_VERIFY_FULL, /* and the host name matches */
};
struct tls_ctx;
/* TLS towards PostgreSQL for TCP servers (Unix sockets never use TLS). */
void server_set_tls(struct tls_ctx *ctx, int mode);
struct net_tcp_opts;
/* The TCP options @cfg asks for (tcp_nodelay, tcp_keepalive and its tuning,
 * tcp_user_timeout, tcp_socket_buffer), for server and client connections alike. */
void server_tcp_opts(const struct config *cfg, struct net_tcp_opts *o);

/* Open a connection and start logging in. The server is on its pool's CONNECTING list;
 * the pool hears the outcome through pool_on_server_login() or pool_on_server_closed().
 * @startup (NULL: none): parameters for its StartupMessage besides user, database and
 * the target's application_name (session mode: a client's); the server keeps its own
 * reference. NULL with @err filled if it could not even start (socket error, out of
 * memory). */
struct server *server_connect(struct pool *pool, struct server_target *t,
                              const struct paramset *startup, struct evloop *ev,
                              const struct config *cfg, struct lg_err *err);

/* Log why (once), close the socket, tell the pool, free at the end of the turn.
 * Idempotent. */
void server_close(struct server *s, const char *fmt, ...) LG_PRINTF(2, 3);

/* Called with the outcome of server_exec(): @err is the server's ErrorResponse or NULL;
 * @value is column 1 of the first DataRow (NUL-terminated copy, NULL if none or NULL),
 * valid only during the call. The server is still ACTIVE and held by the caller unless
 * @closed (it failed and was closed: do not touch it). */
typedef void server_exec_fn(void *arg, struct server *s, const struct pgproto_error *err,
                            const char *value, bool closed);

/* Run @sql on an ACTIVE, unlinked server at ReadyForQuery (any transaction status): simple protocol
 * if @n_params is 0, else extended with text parameters. @fn runs once at ReadyForQuery, or on
 * failure (timeout after server_connect_timeout, EOF). 0, or -EBUSY/-ENOSPC (not started). */
int server_exec(struct server *s, const char *sql, const char *const *params, size_t n_params,
                server_exec_fn *fn, void *arg) LG_MUSTCHECK;

void server_set_state(struct server *s, enum server_state st);
enum server_state server_state(const struct server *s);
struct stream *server_stream(struct server *s);
/* sizeof(struct server), for SHOW MEM. */
size_t server_object_size(void);
struct pool *server_pool(const struct server *s);
/* The startup parameters @s was opened with (see server_connect), NULL for none. */
const struct paramset *server_startup(const struct server *s);
/* The value reported parameter @name had when @s's login completed, or NULL. */
const char *server_param_login(const struct server *s, const char *name);
/* The value of reported parameter @name, or NULL. */
const char *server_param(const struct server *s, const char *name);
/* True if this server's reported parameters were found equal to a want list with hash
 * @want_hash and none changed since (then no comparison is needed at checkout). */
bool server_params_synced(const struct server *s, uint64_t want_hash);
void server_mark_synced(struct server *s, uint64_t want_hash);
/* Unreported parameters (search_path, work_mem, ...) lifeguard set here with
 * set_config() for a client, by name (server_param.c): a later client that did not ask
 * for them gets them reset. Up to 16 are tracked (a warning past that). */
void server_note_unreported(struct server *s, const char *name);
size_t server_unreported_count(const struct server *s);
const char *server_unreported_at(const struct server *s, size_t i);
void server_forget_unreported(struct server *s, size_t i);
/* Forget the names noted after the first @n (their SET failed or was never sent). */
void server_unnote_since(struct server *s, size_t n);
/* Reported parameters, for the client's welcome. */
size_t server_param_count(const struct server *s);
void server_param_at(const struct server *s, size_t i, const char **name, const char **value);
/* The value parameter @i had when the server's login completed, or NULL if it was first
 * reported later (or memory ran out). */
const char *server_param_login_at(const struct server *s, size_t i);
/* Transaction status from the last ReadyForQuery: 'I', 'T' or 'E'. */
char server_tx_status(const struct server *s);
/* PostgreSQL's BackendKeyData for this connection, for forwarding cancels. */
void server_backend_key(const struct server *s, uint32_t *pid, uint32_t *key);
const struct server_target *server_target(const struct server *s);
/* The host this connection went to (one entry of a host=a,b list). */
const char *server_host(const struct server *s);
uint64_t server_id(const struct server *s);
uint64_t server_connected_at_us(const struct server *s);
/* TLS protocol/cipher of the connection to PostgreSQL, "" without TLS. Returns @buf. */
const char *server_tls_describe(const struct server *s, char *buf, size_t n);
/* When the server last became IDLE (monotonic µs). */
uint64_t server_idle_since_us(const struct server *s);
void server_set_idle_since_us(struct server *s, uint64_t t);
/* pool_park.c: a parked server (kept for its client's next transaction) is on @list
 * through its own node, apart from its state's list; its idle time starts now. */
void server_park(struct server *s, struct list_node *list);
void server_unpark(struct server *s);
bool server_parked(const struct server *s);
struct server *server_from_park_node(struct list_node *n);
struct ps_server;
/* The server's prepared-statement bookkeeping (created on first use; NULL on OOM). */
struct ps_server *server_ps(struct server *s);
/* lifeguard's own Describe is owed: look at row descriptions (server_ps.c) until nothing
 * is owed any more. Between, RowDescription passes like any relayed message. */
void server_watch_describes(struct server *s);
/* A DEALLOCATE ALL or DISCARD ALL is on its way (ps_clear_expect; @client_bound: the
 * client's statements below it go): look at CommandComplete until it is settled, and
 * tell the holder when it ran (pool_on_ps_cleared). 0 or -ENOSPC/-ENOMEM. */
int server_expect_clear(struct server *s, uint64_t client_bound) LG_MUSTCHECK;
/* Opaque pointer to whoever holds this ACTIVE server linked (pool.c's business). */
void server_set_holder(struct server *s, void *holder);
void *server_holder(const struct server *s);
/* Intrusive list node used by the pool for its per-state lists. */
struct list_node *server_node(struct server *s);
struct server *server_from_node(struct list_node *n);

#endif
