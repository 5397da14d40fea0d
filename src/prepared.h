/* SPDX-License-Identifier: MIT */
/*
 * prepared.h: bookkeeping for named prepared statements in transaction pooling,
 * pure (no I/O). A client's statement "foo" becomes an instance with a global id;
 * on any server it is prepared as "lg_<id>", on demand. A server remembers which
 * instances it holds (bounded, least recently used evicted) and the order of the
 * responses it owes (so lifeguard can swallow the ParseComplete/CloseComplete of
 * messages it injected itself). Names from clients are never sent to a server.
 */
#ifndef LG_PREPARED_H
#define LG_PREPARED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

#define PS_NAME_MAX  64   /* bytes of a server-side name "lg_<hex id>" incl. NUL */
#define PS_QUEUE_MAX 4096 /* runs of owed responses one server may have (ps_owe) */

/* One client statement: its Parse body after the name (query, parameter types). */
struct ps_entry {
    char *name;
    uint64_t id;
    uint8_t *body;
    size_t body_len;
};

struct ps_client;
struct ps_server;

struct ps_client *ps_client_new(void);
void ps_client_free(struct ps_client *pc);
/* Remember @name -> (@id, @body). Replaces an existing entry of that name. 0 or -ENOMEM. */
int ps_client_put(struct ps_client *pc, const char *name, uint64_t id, const uint8_t *body,
                  size_t len) LG_MUSTCHECK;
/* @pc may be NULL (no statements yet) in get, del, clear and count. */
const struct ps_entry *ps_client_get(const struct ps_client *pc, const char *name);
void ps_client_del(struct ps_client *pc, const char *name);
void ps_client_clear(struct ps_client *pc);
/* Forget the statements with an id below @bound (those prepared before a DEALLOCATE ALL
 * that the server has now run; see ps_clear_expect). */
void ps_client_clear_before(struct ps_client *pc, uint64_t bound);
size_t ps_client_count(const struct ps_client *pc);

/* The client's unnamed statement: the whole Parse message that made it, kept so that
 * it can be made again on another server (lib/pq sends Parse+Describe+Sync, then
 * Bind+Execute+Sync, and a transaction-mode client may change servers in between).
 * @id 0 (or @msg NULL) forgets it. 0 or -ENOMEM (then it is forgotten). */
int ps_client_set_unnamed(struct ps_client *pc, uint64_t id, const uint8_t *msg,
                          size_t len) LG_MUSTCHECK;
void ps_client_drop_unnamed(struct ps_client *pc); /* @pc may be NULL */
/* Its id (0: none kept), and the message in @msg/@len. @pc may be NULL. */
uint64_t ps_client_unnamed(const struct ps_client *pc, const uint8_t **msg, size_t *len);

/* "lg_<hex id>" into @out. */
void ps_server_name(uint64_t id, char out[PS_NAME_MAX]);

/* @max_stmts: bound on statements kept per server (>= 1). */
struct ps_server *ps_server_new(size_t max_stmts);
void ps_server_free(struct ps_server *ps);
/* Is @id prepared here? Marks it most recently used. */
bool ps_server_has(struct ps_server *ps, uint64_t id);
/* Record @id as prepared. If the server is full, the least recently used id is
 * removed and returned in @evicted (else 0). 0 or -ENOMEM. */
int ps_server_add(struct ps_server *ps, uint64_t id, uint64_t *evicted) LG_MUSTCHECK;
void ps_server_del(struct ps_server *ps, uint64_t id);
/* Which unnamed statement the server holds (an id as in ps_client_set_unnamed), 0 if
 * none known; every unnamed Parse and every simple Query changes it. */
uint64_t ps_server_unnamed(const struct ps_server *ps);
void ps_server_set_unnamed(struct ps_server *ps, uint64_t id);
void ps_server_clear(struct ps_server *ps);
size_t ps_server_count(const struct ps_server *ps);

/* Responses a server owes, in order. */
enum ps_owed {
    PS_OWED_PARSE,          /* a client's Parse: ParseComplete goes to the client */
    PS_OWED_PARSE_INJECTED, /* lifeguard's Parse: swallow its ParseComplete */
    PS_OWED_CLOSE,          /* a client's Close: CloseComplete goes to the client */
    PS_OWED_CLOSE_INJECTED, /* lifeguard's Close (eviction): swallow its CloseComplete */
    PS_OWED_SYNC,           /* Sync or Query: ReadyForQuery */
    PS_OWED_DESCRIBE,       /* lifeguard's Describe of a statement: swallow its
                               ParameterDescription and RowDescription/NoData, and note
                               the statement's result type (ps_on_describe) */
    PS_OWED_GUARD,          /* lifeguard's Parse that fails on purpose: its ErrorResponse
                               is replaced by 0A000 (server_ps.c) */
};
/* 0, or -ENOSPC past PS_QUEUE_MAX entries. Consecutive responses of one kind for
 * unnamed statements (id 0) share an entry. */
int ps_owe(struct ps_server *ps, enum ps_owed what, uint64_t id) LG_MUSTCHECK;
/* Nothing owed, and no clear expected (ps_clear_expect). */
bool ps_owes_nothing(const struct ps_server *ps);
/* A ParseComplete ('1') or CloseComplete ('3') arrived: true if lifeguard injected the
 * message it answers (swallow it). */
bool ps_on_complete(struct ps_server *ps, char type);
/* An ErrorResponse: the server skips to the next Sync, so Parses owed before it never
 * created their statements: they are forgotten. */
void ps_on_error(struct ps_server *ps);
/* ReadyForQuery: everything up to and including the first Sync is settled. */
void ps_on_ready(struct ps_server *ps);
/* The server will answer none of the @n oldest Syncs owed (it ignores Sync in COPY FROM
 * STDIN): forget them, so that later answers meet what they answer. */
void ps_drop_syncs(struct ps_server *ps, uint64_t n);

/* DEALLOCATE ALL and DISCARD ALL (a simple Query, or the Bind of a statement of that
 * text). The server drops its statements only if it runs them, and only those it holds
 * then: not when it refuses them (inside a transaction block, or a failed one), and not
 * the statements a pipeline prepares after them. So nothing is forgotten when the
 * statement goes out; its CommandComplete forgets what was known before it. */
/* One is on its way, before the Sync or Query owed next: its CommandComplete will clear
 * the statements this server holds now, and the client's with an id below
 * @client_bound. 0, -ENOSPC (past PS_QUEUE_MAX) or -ENOMEM. */
int ps_clear_expect(struct ps_server *ps, uint64_t client_bound) LG_MUSTCHECK;
/* Its CommandComplete ("DEALLOCATE ALL", "DISCARD ALL") arrived: forget what it dropped
 * here, and true with the client's bound in @client_bound if one was expected (an
 * ErrorResponse or ReadyForQuery forgets the ones its Sync skipped). */
bool ps_on_clear(struct ps_server *ps, uint64_t *client_bound);
/* A clear is on its way that will drop the client's statement @id. */
bool ps_clear_covers(const struct ps_server *ps, uint64_t id);
bool ps_clear_expected(const struct ps_server *ps);

/* Result types. PostgreSQL refuses to run a prepared statement whose result type
 * changed since its Parse (0A000 "cached plan must not change result type"), and
 * drivers that cache the row description (pgjdbc) rely on it. A statement prepared
 * again on another server after ALTER TABLE would silently return the new type, so
 * lifeguard notes each statement's result type (a fingerprint of its RowDescription:
 * column names, types, type modifiers) when it is first prepared, and checks it where
 * the statement is prepared again. Statement ids are global, so the table is too;
 * an id is forgotten when its client entry goes. */
/* The result type of @id is to be noted (its Describe is owed). 0 or -ENOMEM. */
int ps_shape_expect(uint64_t id) LG_MUSTCHECK;
bool ps_shape_known(uint64_t id);
void ps_shape_forget(uint64_t id);
/* A message arrived while the server owes a Describe (ps_owe PS_OWED_DESCRIBE): true if
 * it answers it (swallow it). 't' is swallowed; 'T' (@payload/@len, whole) or 'n' notes
 * or checks the result type of the statement described and settles the Describe. */
bool ps_on_describe(struct ps_server *ps, char type, const uint8_t *payload, size_t len);
/* True if the next owed response is of kind @what. */
bool ps_front_is(const struct ps_server *ps, enum ps_owed what);

/* Checking a statement prepared again here (client side waits for the answer). */
enum ps_check {
    PS_CHECK_NONE,     /* no check of this statement in progress here */
    PS_CHECK_PENDING,  /* its Describe is on the way */
    PS_CHECK_SAME,     /* same result type as when first prepared */
    PS_CHECK_CHANGED,  /* another result type: the client must get 0A000 */
    PS_CHECK_UNCHECKED /* the server skipped it (an error before it): go on */
};
/* Start checking @id (its Parse and Describe are owed). */
void ps_check_start(struct ps_server *ps, uint64_t id);
enum ps_check ps_check_state(const struct ps_server *ps, uint64_t id);
void ps_check_done(struct ps_server *ps);
/* True once after a check stopped being pending (the waiting client must be woken). */
bool ps_check_take_wakeup(struct ps_server *ps);
/* True from an ErrorResponse to the next ReadyForQuery: the server skips what it gets
 * until the next Sync, so nothing sent now is answered before it. */
bool ps_server_erred(const struct ps_server *ps);

#endif
