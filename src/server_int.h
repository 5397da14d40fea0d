/* SPDX-License-Identifier: MIT */
/*
 * server_int.h: internal to the server module (server.c, server_auth.c): struct server
 * and the few functions those files share. Other modules use server.h.
 */
#ifndef LG_SERVER_INT_H
#define LG_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "list.h"
#include "pgproto.h"
#include "server.h"
#include "stream.h"

#define MAX_PARAMS            64
#define SERVER_MAX_UNREPORTED 16 /* unreported parameters tracked (server_param.c) */

struct server {
    struct list_node node; /* on pool list of its state */
    struct pool *pool;
    const struct server_target *target;
    char host[256]; /* this connection's host (one entry of a host=a,b list) */
    struct stream st;
    struct evloop *ev;
    enum server_state state;
    uint64_t id;
    uint64_t connected_at_us;
    struct evloop_timer timer; /* login or statement deadline */
    uint64_t op_timeout_us;    /* server_connect_timeout */
    uint32_t be_pid, be_key;
    char tx_status; /* last ReadyForQuery status */
    bool logged_in;
    bool describes_watched;     /* server_watch_describes() until the owed queue empties */
    bool clears_watched;        /* server_expect_clear() until no clear is expected */
    struct scram_client *scram; /* during SCRAM login only */
    struct {
        char *name, *value;
        char *login_value; /* value when the login completed; NULL if first reported later */
    } params[MAX_PARAMS];
    size_t n_params;
    /* lifeguard's own statement in flight */
    server_exec_fn *exec_fn;
    void *exec_arg;
    bool exec_has_err, exec_has_row;
    struct pgproto_error exec_err;
    char *exec_value;
    void *holder;                            /* pool.c: the waiter this server is linked for */
    struct ps_server *ps;                    /* prepared statements held here (transaction mode) */
    size_t max_prepared;                     /* max_prepared_statements */
    bool log_connections;                    /* log_connections when it was opened */
    uint64_t idle_since_us;                  /* when it last became IDLE, or was parked */
    struct list_node park_node;              /* pool_park.c: on its pool's parked list */
    bool parked;                             /* ... while on it (state ACTIVE, unlinked) */
    char last_err[6];                        /* SQLSTATE of the last ErrorResponse relayed */
    bool last_err_fatal;                     /* ... and it was FATAL or PANIC: PostgreSQL's own
                                                goodbye, the connection ends after it */
    bool awaiting_ssl;                       /* SSLRequest sent, waiting for 'S' or 'N' */
    uint64_t param_gen;                      /* bumped whenever a reported parameter changes */
    uint64_t synced_hash;                    /* want-list hash last found equal to our parameters */
    uint64_t synced_gen;                     /* param_gen at that moment */
    bool tls;                                /* the connection uses TLS */
    const struct paramset *startup;          /* client startup parameters sent at login (a
                                                reference, paramset.h), NULL for none */
    char *unreported[SERVER_MAX_UNREPORTED]; /* set for a client (server_param.c) */
    size_t n_unreported;
};

/* server.c: the login failed for a reason PostgreSQL gave or lifeguard found (@sqlstate). */
void server_fail_login(struct server *s, const char *sqlstate, const char *msg);

/* server_auth.c: an AuthenticationRequest ('R') during login: answer it, or fail the
 * login. STREAM_CONSUMED, or -1 with @s closed. */
int server_login_auth(struct server *s, const uint8_t *p, uint32_t len);

/* server_param.c: free the names of unreported parameters set here. */
void server_free_unreported(struct server *s);
/* server_param.c: a ParameterStatus: note @name's current value (the values at the end of
 * the login become the login values). 0, or -ENOMEM. */
int server_set_param(struct server *s, const char *name, const char *value) LG_MUSTCHECK;

/* server_ps.c: a response observed while the server owes responses to prepared-statement
 * messages (s->ps): swallow, note or replace it (on_head's contract: >0, 0 wait, <0
 * closed). */
int server_ps_on_head(struct server *s, struct stream *st, uint8_t type, size_t total,
                      const uint8_t *p, size_t n);
/* ReadyForQuery while it owes some: settle them, wake a client waiting on a check. */
void server_ps_on_ready(struct server *s);

#endif
