/* SPDX-License-Identifier: MIT */
/*
 * client_ddl.c: a client's DROP DATABASE, ALTER DATABASE ... RENAME / SET TABLESPACE or
 * CREATE DATABASE ... TEMPLATE (dbddl.h) needs the database free of other sessions, and
 * PostgreSQL waits only 5 s for them to go. The pools' idle server connections to it
 * would never go (a test runner's "DROP DATABASE test_app" after its tests fails with
 * 55006 through a pooler that keeps them), so they are closed before the statement is
 * forwarded. Simple Query and Parse are looked at (the first 256 bytes of the SQL);
 * other statements cost a look at their first character.
 * Also here, in transaction and statement mode: a cursor declared WITH HOLD lives in
 * its server's session, past the transaction (Django's QuerySet.iterator() in autocommit
 * mode: DECLARE ... WITH HOLD, then a FETCH per transaction, then CLOSE). Its client keeps
 * that server (pinned) until it closes it, CLOSE ALL or DISCARD ALL; a client that leaves
 * with one open has its server's cursors closed before the server is reused (pool.c).
 * Temporary tables, views and sequences (CREATE TEMP ..., pg_temp.name; not ON COMMIT
 * DROP) pin a client the same way (pin_temp_tables), until a DISCARD TEMP or DISCARD ALL
 * sent alone as a simple query while its server is idle (one inside a transaction may be
 * rolled back); a client that leaves with them has DISCARD TEMP run on its server first.
 * A changed role (SET ROLE, SET SESSION AUTHORIZATION; not SET LOCAL) pins a client too
 * (pin_role_changes): the next client would run with its privileges. It stays pinned
 * until it undoes each change (RESET ROLE / RESET SESSION AUTHORIZATION, or DISCARD ALL)
 * alone as a simple query while its server is idle; a client that leaves with one has
 * SET SESSION AUTHORIZATION DEFAULT; RESET ROLE run on its server first (pool_txn.c).
 * Only the first statement of a query is looked at.
 * Not here: the scan itself (dbddl.c), closing the servers (pool_ctl.c), keeping a
 * pinned server (pool_txn.c).
 */
#include "client_int.h"

#include <string.h>

#include "alloc.h"
#include "cfg.h"
#include "dbddl.h"
#include "log.h"

#define HELD_MAX 8 /* names tracked; past that the client stays pinned until CLOSE ALL */

struct held_cursors {
    unsigned n;
    bool overflow; /* more were declared than tracked */
    char name[HELD_MAX][DBDDL_NAME_MAX];
};

#define DDL_LOOK 256 /* bytes of SQL enough for the statements' heads */

const bool client_ddl_first[256] = {
        ['A'] = true,  ['a'] = true,  ['C'] = true,  ['c'] = true,  ['D'] = true, ['d'] = true,
        ['R'] = true,  ['r'] = true,  ['S'] = true,  ['s'] = true,  [' '] = true, ['\t'] = true,
        ['\n'] = true, ['\r'] = true, ['\f'] = true, ['\v'] = true, ['-'] = true, ['/'] = true};

static bool is_blank(uint8_t ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

void client_ddl_free(struct client *c)
{
    lg_free(c->held);
    c->held = NULL;
    c->waiter.cursor_pin = false;
    c->waiter.temp_objects = false;
    c->waiter.temp_pending = false;
    c->waiter.temp_rollback = false;
    c->waiter.role_changed = 0;
    c->waiter.role_pending = 0;
    c->waiter.pinned = false;
}

static int held_find(const struct held_cursors *h, const char *name)
{
    for (unsigned i = 0; i < h->n; i++)
        if (strcmp(h->name[i], name) == 0)
            return (int)i;
    return -1;
}

/* Track the cursor statement (if any) at the start of @q and pin or unpin @c. */
static void track_cursors(struct client *c, const char *q, size_t n)
{
    char name[DBDDL_NAME_MAX];
    enum dbddl_cursor k = dbddl_scan_cursor(q, n, name);
    if (k == DBDDL_CURSOR_NONE || (k != DBDDL_CURSOR_HOLD && !c->held))
        return;
    if (!c->held && !(c->held = lg_calloc(1, sizeof(*c->held)))) {
        c->waiter.cursor_pin = true; /* cannot track it: keep the server until the client goes */
        c->waiter.pinned = true;
        return;
    }
    struct held_cursors *h = c->held;
    int i = k == DBDDL_CURSOR_CLOSE_ALL ? -1 : held_find(h, name);
    if (k == DBDDL_CURSOR_HOLD && i < 0) {
        if (h->n < HELD_MAX)
            memcpy(h->name[h->n++], name, DBDDL_NAME_MAX);
        else
            h->overflow = true;
    } else if (k == DBDDL_CURSOR_CLOSE && i >= 0) {
        if ((unsigned)i != --h->n)
            memcpy(h->name[i], h->name[h->n], DBDDL_NAME_MAX);
    } else if (k == DBDDL_CURSOR_CLOSE_ALL) {
        h->n = 0;
        h->overflow = false;
    }
    bool pin = h->n > 0 || h->overflow;
    if (pin != c->waiter.cursor_pin)
        log_debug("C-%llu %s/%s: %s its server (%u cursor(s) WITH HOLD open%s)",
                  (unsigned long long)c->id, c->dbname, c->user,
                  pin || c->waiter.temp_objects || c->waiter.temp_pending ? "keeps" : "releases",
                  h->n, h->overflow ? ", and more" : "");
    c->waiter.cursor_pin = pin;
    c->waiter.pinned = pool_waiter_pin_due(&c->waiter);
}

/* Track the temporary objects (pin_temp_tables) that the statement at the start of @q
 * (a Query if @type is 'Q', else a Parse of statement @stmt) creates or drops, and pin or
 * unpin @c. What the linked server is doing (pool_link_status: 'Q' something is in
 * flight, else its transaction status) tells when the statement will run. */
static void track_temp(struct client *c, uint8_t type, const char *stmt, const char *q, size_t n)
{
    struct pool_waiter *w = &c->waiter;
    enum dbddl_temp k = dbddl_scan_temp(q, n);
    if (k == DBDDL_TEMP_NONE)
        return;
    char st = c->server ? pool_link_status(c->server, &c->st) : 'I';
    switch (k) {
    case DBDDL_TEMP_DISCARD:
        /* Trusted only where it cannot be undone: a simple query (a Parse may never be
         * executed) sent while nothing is in flight and the server is outside a
         * transaction block (alone in its text, dbddl_scan_temp checked), so it runs in a
         * transaction of its own. Else the client stays pinned: that costs a server, a
         * wrong unpin would show its tables to the next client. */
        if (!w->temp_objects || type != 'Q' || !c->server || st != 'I')
            return;
        w->temp_objects = false;
        w->pinned = pool_waiter_pin_due(w);
        log_debug("C-%llu %s/%s: DISCARD drops its temporary objects%s", (unsigned long long)c->id,
                  c->dbname, c->user, w->pinned ? "" : ": releases its server");
        return;
    case DBDDL_TEMP_ROLLBACK:
    case DBDDL_TEMP_COMMIT:
        /* Ends the open block that created some (nothing else in flight, so the next
         * ReadyForQuery is its own): a rollback drops them. A named statement may be
         * executed later, or again: not trusted. */
        if ((w->temp_pending || w->role_pending) && (st == 'T' || st == 'E') &&
            (type == 'Q' || !*stmt))
            w->temp_rollback = k == DBDDL_TEMP_ROLLBACK || st == 'E';
        return;
    default:
        break;
    }
    if (!client_cfg()->pin_temp_tables)
        return;
    /* Inside a known open block, it lasts only if the block commits; with requests in
     * flight the block is unknown: kept for good. */
    if (st == 'T' || st == 'E')
        w->temp_pending = true;
    else
        w->temp_objects = true;
    w->temp_rollback = false;
    w->pinned = true;
    if (!c->temp_logged) {
        c->temp_logged = true;
        log_info("C-%llu %s/%s: keeps its server: %s created (pin_temp_tables)",
                 (unsigned long long)c->id, c->dbname, c->user, dbddl_temp_name(k));
    }
}

void client_ddl_role_log(struct client *c, const char *what)
{
    if (c->role_logged)
        return;
    c->role_logged = true;
    log_info("C-%llu %s/%s: %s pins the client to its server until it leaves (pin_role_changes)",
             (unsigned long long)c->id, c->dbname, c->user, what);
}

/* Track the role changes (pin_role_changes) that the statement at the start of @q (a
 * Query if @type is 'Q', else a Parse) makes or undoes, and pin or unpin @c, as
 * track_temp() does for temporary objects. */
static void track_role(struct client *c, uint8_t type, const char *q, size_t n)
{
    struct pool_waiter *w = &c->waiter;
    enum dbddl_role k = dbddl_scan_role(q, n);
    if (k == DBDDL_ROLE_NONE)
        return;
    char st = c->server ? pool_link_status(c->server, &c->st) : 'I';
    if (k == DBDDL_ROLE_RESET || k == DBDDL_ROLE_AUTH_RESET || k == DBDDL_ROLE_RESET_ALL) {
        /* Trusted only alone in a simple query with nothing in flight, outside a
         * transaction block (as DISCARD TEMP): it runs, and commits, on its own. */
        if (!w->role_changed || type != 'Q' || !c->server || st != 'I')
            return;
        w->role_changed &= k == DBDDL_ROLE_RESET_ALL ? 0
                           : k == DBDDL_ROLE_RESET   ? (uint8_t)~POOL_ROLE_SET
                                                     : (uint8_t)~POOL_ROLE_AUTH;
        w->pinned = pool_waiter_pin_due(w);
        log_debug("C-%llu %s/%s: %s undoes its role change%s", (unsigned long long)c->id, c->dbname,
                  c->user, dbddl_role_name(k),
                  w->role_changed ? " in part"
                  : w->pinned     ? ""
                                  : ": releases its server");
        return;
    }
    if (!client_cfg()->pin_role_changes)
        return;
    uint8_t bit = k == DBDDL_ROLE_SET ? POOL_ROLE_SET : POOL_ROLE_AUTH;
    if (bit == POOL_ROLE_AUTH &&
        cfg_list_contains(client_cfg()->track_extra_parameters, "session_authorization"))
        return; /* reported and tracked: it follows its client from server to server */
    /* Inside a known open block, it lasts only if the block commits; with requests in
     * flight the block is unknown: kept for good. */
    if (st == 'T' || st == 'E')
        w->role_pending |= bit;
    else
        w->role_changed |= bit;
    w->temp_rollback = false;
    w->pinned = true;
    client_ddl_role_log(c, dbddl_role_name(k));
}

int client_ddl_on_head(struct client *c, uint8_t type, size_t total, const uint8_t *p, size_t n)
{
    size_t have = LG_MIN(n, total);
    bool more = n < total && n < c->st.in.cap; /* waiting could bring more of it */
    size_t off = PGPROTO_HEADER;
    if (!c->pool)
        return 1;
    if (type == 'P') { /* statement name, then the SQL */
        const uint8_t *z = have > off ? memchr(p + off, '\0', have - off) : NULL;
        if (!z)
            return more ? 0 : 1;
        off = (size_t)(z - p) + 1;
    }
    size_t i = off;
    while (i < have && is_blank(p[i]))
        i++;
    if (i >= have)
        return more ? 0 : 1;
    if (!client_ddl_first[p[i]]) /* past the blanks: A, C, D, R, S or a comment */
        return 1;
    if (have < LG_MIN(total, off + DDL_LOOK) && more)
        return 0;
    char name[DBDDL_NAME_MAX];
    size_t len = LG_MIN(have, off + DDL_LOOK) - off;
    enum dbddl_kind k = dbddl_scan((const char *)p + off, len, name);
    if (k == DBDDL_NONE) {
        if (pool_mode_of(c->pool) != POOL_MODE_SESSION) {
            track_cursors(c, (const char *)p + off, len);
            track_temp(c, type, (const char *)p + PGPROTO_HEADER, (const char *)p + off, len);
            track_role(c, type, (const char *)p + off, len);
        }
        return 1;
    }
    char why[DBDDL_NAME_MAX + 80];
    snprintf(why, sizeof(why), "%s \"%s\" from C-%llu", dbddl_kind_name(k), name,
             (unsigned long long)c->id);
    int closed = pool_free_database(c->pool, name, why);
    if (closed > 0)
        log_info("C-%llu %s/%s: %s \"%s\": closed %d idle server connection(s) to it first",
                 (unsigned long long)c->id, c->dbname, c->user, dbddl_kind_name(k), name, closed);
    return 1;
}
