/* SPDX-License-Identifier: MIT */
/*
 * client.h: one application connection, as a state machine:
 * LOGIN (startup packet, SSL/GSSENC refusal, cancel requests) -> AUTH (password
 * exchange; LOOKUP while auth_query runs) -> WAITING (for a server from its pool)
 * -> ACTIVE (linked to a server) -> CLOSING. Session pooling: a client keeps its
 * server until it disconnects; transaction and statement pooling: ACTIVE -> IDLE at
 * each boundary, and IDLE -> WAITING when the next message arrives. A client that misbehaves gets
 * an ErrorResponse (08P01) and is closed; its server is reset or closed by the pool (invariant 3).
 */
#ifndef LG_CLIENT_H
#define LG_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

struct evloop;
struct config;
struct userlist;

enum client_state {
    CLIENT_LOGIN = 0,
    CLIENT_LOOKUP,
    CLIENT_AUTH,
    CLIENT_IDLE, /* transaction/statement mode: logged in, between transactions */
    CLIENT_WAITING,
    CLIENT_ACTIVE,
    CLIENT_CLOSING,
    CLIENT_NSTATES,
};

/* @ul may be NULL (no auth_file). Both must outlive every client. */
void client_module_init(struct evloop *ev, const struct config *cfg, const struct userlist *ul);
/* Take over an accepted socket @fd from @peer ("addr:port" or "unix"). Closes @fd on
 * failure. */
void client_accept(int fd, const char *peer, bool is_unix);
/* Periodic upkeep: client_idle_timeout, idle_transaction_timeout, query_timeout. */
void client_janitor(void);
struct stats_conn_snap;
typedef void stats_conn_visit_fn(void *arg, const struct stats_conn_snap *c);
/* Call @fn once per client (SHOW CLIENTS), synchronously. */
void client_visit(stats_conn_visit_fn *fn, void *arg, uint64_t wall_now_us);
/* Client connections open (any state). */
size_t client_count(void);
/* sizeof(struct client), for SHOW MEM. */
size_t client_object_size(void);
struct tls_ctx;
struct hba;
/* Rules for auth_type = hba (NULL: every connection is rejected). */
void client_set_hba(const struct hba *h);
/* TLS for TCP clients: @ctx NULL answers SSLRequest with 'N'; @required refuses
 * plaintext TCP logins (Unix-socket clients are exempt, as in PostgreSQL). */
void client_set_tls(struct tls_ctx *ctx, bool required);
/* KILL: close every (non-console) client of database @db with 57P01. Returns how many. */
int client_kill_db(const char *db);
/* A reloaded or SET configuration and auth_file (either may be the same as before). Both
 * must stay valid while clients may still refer to the old ones (main keeps them). */
void client_set_config(const struct config *cfg, const struct userlist *ul);
/* Close every client with 57P01 (shutdown). */
void client_close_all(const char *reason);

#endif
