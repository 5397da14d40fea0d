/* SPDX-License-Identifier: MIT */
/*
 * admin.h: the admin console's protocol side. Given one simple-query string from a
 * client of the virtual database (lifeguard / pgbouncer), it parses the command, gets
 * the data from a table of callbacks (struct admin_source) and renders the complete
 * answer (RowDescription, DataRows, CommandComplete or ErrorResponse, ReadyForQuery)
 * into a struct admin_result, which the caller drains into its stream's out buffer as
 * room appears. Column names, order and types are PgBouncer 1.18's. It does no I/O and
 * holds no state between calls; the callbacks own every live object.
 * Invariant: every call leaves exactly one answer ending in ReadyForQuery (or, for a
 * pending control command, one after admin_result_complete).
 */
#ifndef LG_ADMIN_H
#define LG_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "stats.h"
#include "strbuf.h"

struct buf;
struct config;

/* Bound on one rendered answer; beyond it the answer is replaced by an ErrorResponse
 * (54000). 64 MiB holds SHOW CLIENTS for ~250k clients. */
#define ADMIN_MAX_RESULT_BYTES (64u * 1024 * 1024)

/* Live state of one [databases] entry, for SHOW DATABASES. */
struct admin_db_status {
    int current_connections; /* server connections open for this entry */
    bool paused, disabled;
};

/* Object counts for SHOW LISTS. */
struct admin_counts {
    int used_clients;  /* client connections open (any state, admin console included) */
    int login_clients; /* of those, still logging in */
    int used_servers;  /* server connections open */
};

/* One SHOW MEM row: a kind of object, its size, how many are in use and spare. */
struct admin_mem_row {
    const char *name;
    uint64_t size, used, free;
};
typedef void admin_mem_visit_fn(void *arg, const struct admin_mem_row *r);

/* What the console shows and controls. Everything is called synchronously from inside
 * admin_handle_query(); pointers handed to the visitor functions need to stay valid
 * only during that visitor call. Any callback may be NULL: list callbacks then give no
 * rows, control callbacks answer 0A000 "not supported". */
struct admin_source {
    void *arg;
    const char *version; /* SHOW VERSION, e.g. "lifeguard 0.1.0" */
    /* The configuration in force (SHOW CONFIG, DATABASES, USERS, LISTS). */
    const struct config *(*config)(void *arg);
    /* Call @fn once per pool / client / server (admin console clients included). */
    void (*pools)(void *arg, stats_pool_visit_fn *fn, void *fn_arg);
    void (*clients)(void *arg, stats_conn_visit_fn *fn, void *fn_arg);
    void (*servers)(void *arg, stats_conn_visit_fn *fn, void *fn_arg);
    /* Fill @out for the [databases] entry @name (zeros if unknown). */
    void (*db_status)(void *arg, const char *name, struct admin_db_status *out);
    /* SHOW MEM: call @fn once per kind of object (NULL: no rows). */
    void (*mem)(void *arg, admin_mem_visit_fn *fn, void *fn_arg);
    /* Fill @out; NULL: used_clients/used_servers are summed from the pools. */
    void (*counts)(void *arg, struct admin_counts *out);
    /* Control commands, admin_users only. @db is NULL for "all databases". Return 0 when
     * done, -EINPROGRESS to answer later with admin_result_complete(), or <0 with @err
     * filled (an empty sqlstate becomes XX000). */
    int (*pause)(void *arg, const char *db, struct lg_err *err);
    int (*resume)(void *arg, const char *db, struct lg_err *err);
    int (*reconnect)(void *arg, const char *db, struct lg_err *err);
    int (*kill)(void *arg, const char *db, struct lg_err *err); /* @db never NULL */
    /* DISABLE / ENABLE @db (never NULL): refuse / allow new client logins to it. */
    int (*disable)(void *arg, const char *db, struct lg_err *err);
    int (*enable)(void *arg, const char *db, struct lg_err *err);
    /* WAIT_CLOSE [db]: 0 if no server of @db (NULL: any) is marked for closing by
     * RECONNECT or a moved pool, else -EINPROGRESS (the caller polls; the result's
     * pending_db names the database). */
    int (*wait_close)(void *arg, const char *db, struct lg_err *err);
    int (*reload)(void *arg, struct lg_err *err);
    /* Answered before the process goes down: shut down after this turn, not inside. */
    int (*shutdown)(void *arg, struct lg_err *err);
    /* SET @key = @value (value unquoted). */
    int (*set)(void *arg, const char *key, const char *value, struct lg_err *err);
};

/* Rendered protocol bytes waiting to be sent. Embed one per console client. */
struct admin_result {
    struct strbuf out; /* bytes rendered, [sent, out.len) still to go */
    size_t sent;
    bool pending; /* a control command awaits admin_result_complete() */
    char pending_tag[32];
    char pending_db[256]; /* its database argument ("" = all) */
};

void admin_result_init(struct admin_result *r);
void admin_result_fini(struct admin_result *r);

/* Answer one simple query @sql (NUL-terminated Query payload). Keywords are
 * case-insensitive; one trailing ';' is allowed. @is_admin: the user is in admin_users
 * (otherwise a stats_users member: SHOW only, control commands get 42501). Appends to
 * @r (earlier undrained bytes stay ahead). Returns 0 (a whole answer was appended),
 * 1 (pending: a control callback said -EINPROGRESS; call admin_result_complete), or
 * -ENOMEM (not even an error answer could be stored: close the client with 53200).
 * Unknown commands get 42601. Must not be called while @r is pending. */
int admin_handle_query(const char *sql, struct admin_result *r, const struct admin_source *src,
                       bool is_admin) LG_MUSTCHECK;

/* Finish a pending command: CommandComplete (@err NULL) or ErrorResponse, then
 * ReadyForQuery. No-op if nothing is pending. */
void admin_result_complete(struct admin_result *r, const struct lg_err *err);

/* Copy as many rendered bytes as fit into @out (a stream's out buffer). Returns bytes
 * copied (0 if @out is full or nothing is waiting), or -ENOMEM (@out had no storage).
 * Frees the rendering once all of it went out. */
int admin_result_drain(struct admin_result *r, struct buf *out) LG_MUSTCHECK;

/* Nothing left to send and nothing pending. */
bool admin_result_done(const struct admin_result *r);

#endif
