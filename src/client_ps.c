/* SPDX-License-Identifier: MIT */
/*
 * client_ps.c: named prepared statements in transaction and statement pooling. A
 * client's statement name is translated to lifeguard's per-server name (prepared.h),
 * and its Parse is inserted ahead of a Bind/Describe on a server that lacks it. Only
 * message prefixes are rewritten; the rest streams through.
 * Not here: session mode (nothing is translated), the bookkeeping tables (prepared.c).
 * Invariant: every message the server will answer with ParseComplete, CloseComplete or
 * ReadyForQuery is recorded with ps_owe() before it is forwarded, in order.
 */
#include "client_int.h"

#include <errno.h>
#include <strings.h>

#include "alloc.h"
#include "buf.h"
#include "cfg.h"
#include "log.h"
#include "prepared.h"
#include "ps_sql.h"

static uint64_t next_stmt_id = 1;

/* Room the stream can make at its cursor (after compaction). */
static size_t room(const struct stream *st)
{
    return st->in.cap - (st->in.end - st->in.sent);
}

/* Append a message header for @type with a payload of @payload_len bytes. */
static uint8_t *put_header(uint8_t *d, uint8_t type, size_t payload_len)
{
    uint32_t len = (uint32_t)payload_len + 4;
    d[0] = type;
    d[1] = (uint8_t)(len >> 24);
    d[2] = (uint8_t)(len >> 16);
    d[3] = (uint8_t)(len >> 8);
    d[4] = (uint8_t)len;
    return d + PGPROTO_HEADER;
}

/* Bytes of a Parse for entry @e under its server name. */
static size_t parse_size(const struct ps_entry *e)
{
    char name[PS_NAME_MAX];
    ps_server_name(e->id, name);
    return PGPROTO_HEADER + strlen(name) + 1 + e->body_len;
}

static void build_parse(uint8_t *d, const struct ps_entry *e)
{
    char name[PS_NAME_MAX];
    ps_server_name(e->id, name);
    size_t nl = strlen(name) + 1;
    d = put_header(d, 'P', nl + e->body_len);
    memcpy(d, name, nl);
    memcpy(d + nl, e->body, e->body_len);
}

#define CLOSE_SIZE (PGPROTO_HEADER + 1 + PS_NAME_MAX)

static size_t build_close(uint8_t *d, uint64_t id)
{
    char name[PS_NAME_MAX];
    ps_server_name(id, name);
    size_t nl = strlen(name) + 1;
    uint8_t *q = put_header(d, 'C', 1 + nl);
    q[0] = 'S';
    memcpy(q + 1, name, nl);
    return PGPROTO_HEADER + 1 + nl;
}

#define DESCRIBE_SIZE CLOSE_SIZE
#define FLUSH_SIZE    PGPROTO_HEADER

/* Describe 'S' of lifeguard's statement @id: its answer tells the statement's result
 * type (prepared.h), and is swallowed (server_ps.c). */
static size_t build_describe(uint8_t *d, uint64_t id)
{
    size_t n = build_close(d, id);
    d[0] = 'D';
    return n;
}

/* An unnamed Parse that PostgreSQL refuses (42703: a column with no table), sent ahead of
 * a Bind of a statement whose result type changed: the server then skips the client's
 * messages to its Sync and fails the transaction as directly, and server_ps.c turns its
 * error into the 0A000 PostgreSQL gives for a changed result type. */
static const char GUARD_SQL[] = "SELECT \"lifeguard: result type changed\"";
#define GUARD_SIZE (PGPROTO_HEADER + 1 + sizeof(GUARD_SQL) + 2)

static void build_guard(uint8_t *d)
{
    d = put_header(d, 'P', GUARD_SIZE - PGPROTO_HEADER);
    d[0] = '\0';
    memcpy(d + 1, GUARD_SQL, sizeof(GUARD_SQL));
    d[1 + sizeof(GUARD_SQL)] = 0;
    d[2 + sizeof(GUARD_SQL)] = 0;
}

static int ps_fail(struct client *c, const char *sqlstate, const char *msg)
{
    client_close(c, sqlstate, "%s", msg);
    return -1;
}

/* The client's buffer is full (a large Bind, or a pipeline, is in it) and none of the
 * client's bytes wait ahead of the message at the cursor: what lifeguard must put
 * before or into that message can go from the server's own output buffer instead,
 * which is written before any relayed byte, so the server still sees the client's
 * order. Without this, a message that only grows by a few bytes (a Bind naming "s",
 * which becomes "lg_1234") could never be rewritten once the buffer is full. */
static bool direct_ok(const struct client *c)
{
    return c->st.peer && !buf_ready(&c->st.in);
}

/* Room for @extra more bytes at the cursor, in place or by direct_ok(). */
static bool can_grow(const struct client *c, size_t extra)
{
    return room(&c->st) >= extra || direct_ok(c);
}

/* Insert @p/@n (whole messages) before the message at the cursor: into the client's
 * buffer, or with @direct from the server's output buffer. 0 or -ENOSPC. */
static int emit(struct client *c, bool direct, const void *p, size_t n)
{
    return direct ? stream_send_ahead(&c->st, p, n) : stream_insert(&c->st, p, n);
}

/* Replace the first @old bytes of the message at the cursor with @p/@n, in place, or
 * (when the buffer has no room and direct_ok()) by sending @p/@n from the server's
 * output buffer and dropping those bytes. 0 or -ENOSPC. */
static int rewrite_prefix(struct client *c, size_t old, const void *p, size_t n)
{
    if (stream_replace_prefix(&c->st, old, p, n) == 0)
        return 0;
    if (!direct_ok(c) || stream_send_ahead(&c->st, p, n) < 0)
        return -ENOSPC;
    return stream_replace_prefix(&c->st, old, NULL, 0);
}

/* Record @id as prepared on the server; if that evicts the least recently used
 * statement, insert its Close before the current message (@direct: see emit()). 0, or -1
 * after closing. */
static int add_to_server(struct client *c, struct ps_server *ps, uint64_t id, bool direct)
{
    uint64_t evicted;
    if (ps_server_add(ps, id, &evicted) < 0)
        return ps_fail(c, "53200", "out of memory");
    if (evicted) {
        uint8_t close[CLOSE_SIZE];
        size_t n = build_close(close, evicted);
        if (ps_owe(ps, PS_OWED_CLOSE_INJECTED, evicted) < 0 || emit(c, direct, close, n) < 0)
            return ps_fail(c, "54000", "too many messages in flight");
    }
    return 0;
}

/* @e was prepared again here and its result type is not the one the client knows: the
 * server's copy goes (Close), and the guard Parse fails the client's message in its
 * place. >0 done, 0 wait for room, <0 closed. */
static int changed_type(struct client *c, struct ps_server *ps, const struct ps_entry *e)
{
    uint8_t msg[CLOSE_SIZE + GUARD_SIZE];
    if (!can_grow(c, sizeof(msg)))
        return 0;
    bool direct = room(&c->st) < sizeof(msg);
    size_t n = build_close(msg, e->id);
    build_guard(msg + n);
    ps_server_del(ps, e->id);
    ps_server_set_unnamed(ps, next_stmt_id++); /* the guard's Parse drops the server's */
    if (ps_owe(ps, PS_OWED_CLOSE_INJECTED, e->id) < 0 || ps_owe(ps, PS_OWED_GUARD, 0) < 0 ||
        emit(c, direct, msg, n + GUARD_SIZE) < 0)
        return ps_fail(c, "54000", "too many messages in flight");
    log_info("C-%llu %s/%s: prepared statement \"%s\" has another result type on this "
             "server than when the client prepared it (the table changed): 0A000",
             (unsigned long long)c->id, c->dbname, c->user, e->name);
    return 1;
}

/* Make sure @e is prepared on the server before the current message: put its Parse
 * (and the Close of an evicted statement) ahead of it if needed. With @check (a Bind or
 * Describe will use it), a statement whose result type is known is described too, and
 * the message waits for the answer (server_ps.c wakes it): a table changed since the
 * client prepared it must not silently give rows of another type (prepared.h).
 * @extra: room the caller needs afterwards. >0 done, 0 wait, <0 closed. */
static int ensure_prepared(struct client *c, struct ps_server *ps, const struct ps_entry *e,
                           size_t extra, bool check)
{
    switch (ps_check_state(ps, e->id)) {
    case PS_CHECK_PENDING:
        return 0;
    case PS_CHECK_CHANGED:
        ps_check_done(ps);
        return changed_type(c, ps, e);
    case PS_CHECK_SAME:
    case PS_CHECK_UNCHECKED: /* an error before it: the server skips to the Sync anyway */
        ps_check_done(ps);
        return 1;
    case PS_CHECK_NONE:
        break;
    }
    if (ps_server_has(ps, e->id))
        return 1;
    check = check && ps_shape_known(e->id) && !ps_server_erred(ps);
    size_t pn = parse_size(e);
    size_t n = pn + (check ? DESCRIBE_SIZE + FLUSH_SIZE : 0);
    bool direct = false;
    if (room(&c->st) < n + CLOSE_SIZE + extra) {
        if (!direct_ok(c))
            return 0; /* the client's bytes ahead of it go first and make room */
        /* The buffer is full of what the client pipelined after this message (asyncpg's
         * executemany: a Bind and an Execute per row, all written at once) or of a large
         * Bind. Nothing before it waits, so the Parse goes through the server's output. */
        direct = true;
    }
    uint8_t *msg = lg_malloc(n);
    if (!msg)
        return ps_fail(c, "53200", "out of memory");
    build_parse(msg, e);
    if (check) {
        n = pn + build_describe(msg + pn, e->id);
        put_header(msg + n, 'H', 0);
        n += FLUSH_SIZE;
    }
    int rc = add_to_server(c, ps, e->id, direct);
    if (rc == 0) {
        rc = ps_owe(ps, PS_OWED_PARSE_INJECTED, e->id);
        if (rc == 0 && check) {
            rc = ps_owe(ps, PS_OWED_DESCRIBE, e->id);
            pool_server_watch_describes(c->server);
        }
        if (rc == 0)
            rc = emit(c, direct, msg, n);
        if (rc < 0)
            rc = ps_fail(c, "54000", "too many messages in flight");
    }
    lg_free(msg);
    if (rc < 0)
        return -1;
    if (!check)
        return 1;
    ps_check_start(ps, e->id);
    c->st.pending_work = true; /* what went ahead waits for a Sync: keep the server */
    return 0;
}

/* An unnamed Parse went to the server: the server's unnamed statement is now this
 * client's (@msg, the whole message, kept if it fits the buffer) or, with @msg NULL,
 * one that cannot be made again. 0, or -1 after closing. */
static int note_unnamed(struct client *c, struct ps_server *ps, const uint8_t *msg, size_t len)
{
    uint64_t id = next_stmt_id++;
    ps_server_set_unnamed(ps, id);
    if (!c->ps && !msg)
        return 0;
    if (!c->ps && !(c->ps = ps_client_new()))
        return ps_fail(c, "53200", "out of memory");
    if (ps_client_set_unnamed(c->ps, id, msg, len) < 0)
        return ps_fail(c, "53200", "out of memory");
    return 0;
}

/* A simple Query or a Close of the unnamed statement destroys it (directly too). */
static void drop_unnamed(struct client *c, struct ps_server *ps)
{
    ps_server_set_unnamed(ps, 0);
    ps_client_drop_unnamed(c->ps);
}

/* A Bind or Describe of the unnamed statement: if the server holds another one (the
 * client's Parse went to the server it had before its last Sync), make the client's
 * again first. >0 done, 0 wait for room, <0 closed. */
static int ensure_unnamed(struct client *c, struct ps_server *ps)
{
    const uint8_t *msg;
    size_t len;
    uint64_t id = ps_client_unnamed(c->ps, &msg, &len);
    if (!id || ps_server_unnamed(ps) == id)
        return 1;
    bool direct = false;
    if (room(&c->st) < len) {
        if (!direct_ok(c))
            return 0;
        direct = true;
    }
    if (ps_owe(ps, PS_OWED_PARSE_INJECTED, 0) < 0 || emit(c, direct, msg, len) < 0)
        return ps_fail(c, "54000", "too many messages in flight");
    ps_server_set_unnamed(ps, id);
    return 1;
}

/* A NUL-terminated string at @p[@off] within @n bytes: its length, or -1 if cut off. */
static long cstr_at(const uint8_t *p, size_t n, size_t off)
{
    if (off >= n)
        return -1;
    const uint8_t *z = memchr(p + off, '\0', n - off);
    return z ? (long)(z - (p + off)) : -1;
}

/* The query text of a Query, or of an unnamed Parse, at @qoff of the whole message at the
 * cursor: if it deallocates one of the client's named statements by its name, that name
 * means nothing to the server: make sure the server holds the statement (its Parse is
 * inserted first if not) and rewrite the text to deallocate lifeguard's name, so that the
 * client gets the same answer as directly and no other statement is touched. Called
 * before the message's own ps_owe(). >0 done (rewritten or not ours), 0 wait, <0 closed. */
static int rewrite_deallocate(struct client *c, struct ps_server *ps, uint8_t type, size_t total,
                              size_t n, size_t qoff, bool *rewritten)
{
    *rewritten = false;
    if (!c->ps || total > qoff + 512) /* none, or too long to be a lone DEALLOCATE */
        return 1;
    if (n < total)
        return total <= c->st.in.cap ? 0 : 1;
    const uint8_t *p = c->st.in.data + c->st.in.scan;
    long ql = cstr_at(p, total, qoff);
    char name[256];
    if (ql < 0 || !ps_sql_deallocate_one((const char *)p + qoff, (const char *)p + qoff + ql, name,
                                         sizeof(name)))
        return 1;
    const struct ps_entry *e = ps_client_get(c->ps, name);
    if (!e)
        return 1; /* not a protocol-level statement of this client: PostgreSQL answers */
    uint64_t id = e->id;
    char sql[16 + PS_NAME_MAX];
    char sname[PS_NAME_MAX];
    ps_server_name(id, sname);
    size_t sl = (size_t)snprintf(sql, sizeof(sql), "DEALLOCATE %s", sname);
    size_t tail = total - qoff - (size_t)ql - 1; /* a Parse's parameter types */
    size_t newlen = qoff + sl + 1 + tail;
    int rc = ensure_prepared(c, ps, e, newlen > total ? newlen - total : 0, false);
    if (rc <= 0)
        return rc;
    p = c->st.in.data + c->st.in.scan; /* ensure_prepared may have moved the message */
    uint8_t *msg = lg_malloc(newlen);
    if (!msg)
        return ps_fail(c, "53200", "out of memory");
    put_header(msg, type, newlen - PGPROTO_HEADER);
    memcpy(msg + PGPROTO_HEADER, p + PGPROTO_HEADER, qoff - PGPROTO_HEADER);
    memcpy(msg + qoff, sql, sl + 1);
    memcpy(msg + qoff + sl + 1, p + qoff + (size_t)ql + 1, tail);
    rc = rewrite_prefix(c, total, msg, newlen);
    lg_free(msg);
    if (rc < 0)
        return buf_ready(&c->st.in) ? 0 : ps_fail(c, "54000", "message too large");
    ps_server_del(ps, id);
    ps_client_del(c->ps, name);
    *rewritten = true;
    return 1;
}

/* A DEALLOCATE ALL / DISCARD ALL goes out. The server may refuse it (in a transaction
 * block, or a failed one): only its CommandComplete forgets the statements known before
 * it, the server's and the client's (ids below the next one). 0, or -1 after closing. */
static int expect_clear(struct client *c)
{
    if (pool_server_expect_clear(c->server, next_stmt_id) < 0)
        return ps_fail(c, "54000", "too many messages in flight");
    return 0;
}

void client_ps_cleared(struct pool_waiter *w, uint64_t client_bound)
{
    struct client *c = container_of(w, struct client, waiter);
    ps_client_clear_before(c->ps, client_bound);
}

/* A Parse of a name the client already holds: PostgreSQL refuses it (42P05) and keeps
 * the old statement. Let the server refuse it: send it under the old statement's server
 * name, on a server that holds that statement (the error names lifeguard's name). */
static int parse_duplicate(struct client *c, struct ps_server *ps, const struct ps_entry *dup,
                           size_t total, size_t nl)
{
    char sname[PS_NAME_MAX];
    ps_server_name(dup->id, sname);
    size_t snl = strlen(sname) + 1;
    size_t body_len = total - PGPROTO_HEADER - nl - 1;
    size_t newlen = PGPROTO_HEADER + snl + body_len;
    int rc = ensure_prepared(c, ps, dup, newlen > total ? newlen - total : 0, false);
    if (rc <= 0)
        return rc;
    const uint8_t *m = c->st.in.data + c->st.in.scan; /* may have moved */
    uint8_t *msg = lg_malloc(newlen);
    if (!msg)
        return ps_fail(c, "53200", "out of memory");
    uint8_t *d = put_header(msg, 'P', snl + body_len);
    memcpy(d, sname, snl);
    memcpy(d + snl, m + PGPROTO_HEADER + nl + 1, body_len);
    /* id 0: its error must not make lifeguard forget the statement that stays. */
    rc = ps_owe(ps, PS_OWED_PARSE, 0);
    if (rc == 0)
        rc = stream_replace_prefix(&c->st, total, msg, newlen);
    lg_free(msg);
    if (rc < 0)
        return ps_fail(c, "54000", "too many messages in flight");
    return 1;
}

/* A Parse longer than the buffer, named or not, is kept whole (to be made again on
 * other servers; lib/pq binds the unnamed statement after a Sync): room grows as its
 * bytes arrive, doubling, up to its size (examine() held it to max_packet_size), so a
 * header alone never buys a large allocation. 0 (wait), or -1 after closing. */
static int grow_for_parse(struct client *c, size_t total, size_t n)
{
    if (n < total && room(&c->st) > 0)
        return 0;
    size_t cap = LG_MIN(LG_MAX((size_t)c->st.in.cap * 2, (size_t)65536), total);
    int rc = stream_grow_in(&c->st, cap);
    if (rc < 0)
        return ps_fail(c, rc == -ENOMEM ? "53200" : "54000",
                       rc == -ENOMEM ? "out of memory for a long prepared statement"
                                     : "prepared statement larger than 1 GiB");
    return 0;
}

static int head_parse(struct client *c, struct ps_server *ps, size_t total, const uint8_t *p,
                      size_t n)
{
    long nl = cstr_at(p, n, PGPROTO_HEADER);
    if (total > c->st.in.cap)
        return grow_for_parse(c, total, n);
    if (nl == 0) { /* unnamed: nothing to translate, but its ParseComplete is owed */
        if (n < total)
            return 0; /* whole, to be kept (note_unnamed) */
        /* Drivers send their statement maintenance this way too (psycopg 3 runs
         * "DEALLOCATE name" and, at every rollback, "DEALLOCATE ALL" with the extended
         * protocol): the server's statements are shared, so translate or follow them. */
        bool rewritten;
        int rc = rewrite_deallocate(c, ps, 'P', total, n, PGPROTO_HEADER + 1, &rewritten);
        if (rc <= 0)
            return rc;
        if (ps_owe(ps, PS_OWED_PARSE, 0) < 0)
            return ps_fail(c, "54000", "too many messages in flight");
        return note_unnamed(c, ps, rewritten ? NULL : p, total) < 0 ? -1 : 1;
    }
    if (n < total)
        return 0;
    if (nl < 0)
        return ps_fail(c, "08P01", "malformed Parse message");
    const char *name = (const char *)p + PGPROTO_HEADER;
    const struct ps_entry *dup = ps_client_get(c->ps, name);
    /* A name the client holds, unless a DEALLOCATE ALL sent before will have dropped it
     * (a pipeline that starts over): then this Parse prepares it anew, as directly. */
    if (dup && !ps_clear_covers(ps, dup->id))
        return parse_duplicate(c, ps, dup, total, (size_t)nl);
    const uint8_t *body = p + PGPROTO_HEADER + nl + 1;
    size_t body_len = total - PGPROTO_HEADER - (size_t)nl - 1;
    struct ps_entry e = {.id = next_stmt_id, .body = (uint8_t *)body, .body_len = body_len};
    size_t newlen = parse_size(&e);
    size_t parse_len = newlen;
    newlen += DESCRIBE_SIZE; /* at most: the statement's result type is noted */
    bool direct = false;
    if (room(&c->st) + total < newlen + CLOSE_SIZE) {
        if (!direct_ok(c))
            return 0; /* the client's bytes ahead of it go first and make room */
        direct = true;
    }
    uint64_t id = next_stmt_id++;
    if (!c->ps && !(c->ps = ps_client_new()))
        return ps_fail(c, "53200", "out of memory");
    if (ps_client_put(c->ps, name, id, body, body_len) < 0)
        return ps_fail(c, "53200", "out of memory");
    const struct ps_entry *stored = ps_client_get(c->ps, name);
    if (add_to_server(c, ps, id, direct) < 0)
        return -1;
    uint8_t *msg = lg_malloc(newlen);
    if (!msg)
        return ps_fail(c, "53200", "out of memory");
    build_parse(msg, stored);
    newlen = parse_len + build_describe(msg + parse_len, id);
    int rc = ps_owe(ps, PS_OWED_PARSE, id);
    if (rc == 0)
        rc = ps_shape_expect(id);
    if (rc == 0) {
        rc = ps_owe(ps, PS_OWED_DESCRIBE, id);
        pool_server_watch_describes(c->server);
    }
    if (rc < 0) {
        lg_free(msg);
        return ps_fail(c, "54000", "too many messages in flight");
    }
    /* In place, or (direct) the new Parse from the server's buffer and the client's
     * dropped: the whole message is here, so nothing of it is left to pass through. */
    rc = direct ? emit(c, true, msg, newlen) : stream_replace_prefix(&c->st, total, msg, newlen);
    if (rc == 0 && direct)
        rc = stream_replace_prefix(&c->st, total, NULL, 0);
    lg_free(msg);
    if (rc < 0)
        return ps_fail(c, "54000", "prepared statement too large");
    return 1;
}

/* Bind: portal name, statement name, then parameters (maybe large: only the prefix is
 * rewritten, the rest streams through). */
static int head_bind(struct client *c, struct ps_server *ps, size_t total, const uint8_t *p,
                     size_t n)
{
    long pl = cstr_at(p, n, PGPROTO_HEADER);
    long sl = pl < 0 ? -1 : cstr_at(p, n, PGPROTO_HEADER + (size_t)pl + 1);
    if (sl < 0) {
        if (n < total && n < c->st.in.cap)
            return 0;
        return ps_fail(c, "08P01", "malformed Bind message");
    }
    if (sl == 0) {
        int rc = ensure_unnamed(c, ps);
        const uint8_t *um;
        size_t ul;
        if (rc > 0 && ps_client_unnamed(c->ps, &um, &ul) &&
            ps_sql_text_drops_all(um + PGPROTO_HEADER + 1, ul - PGPROTO_HEADER - 1) &&
            expect_clear(c) < 0)
            return -1;
        return rc;
    }
    const char *name = (const char *)p + PGPROTO_HEADER + pl + 1;
    const struct ps_entry *e = ps_client_get(c->ps, name);
    if (!e)
        return 1; /* unknown to us: PostgreSQL answers as it would directly */
    size_t old = PGPROTO_HEADER + (size_t)pl + 1 + (size_t)sl + 1;
    char sname[PS_NAME_MAX];
    ps_server_name(e->id, sname);
    size_t snl = strlen(sname) + 1;
    size_t newp = PGPROTO_HEADER + (size_t)pl + 1 + snl;
    int rc = ensure_prepared(c, ps, e, newp > old ? newp - old : 0, true);
    if (rc <= 0)
        return rc;
    /* ensure_prepared may have moved the message: find it again at the cursor. */
    const uint8_t *m = c->st.in.data + c->st.in.scan;
    uint8_t prefix[PGPROTO_HEADER + 2 * 256 + PS_NAME_MAX];
    if ((size_t)pl + 1 > 256)
        return ps_fail(c, "08P01", "portal name too long");
    uint8_t *d = put_header(prefix, 'B', total - old + newp - PGPROTO_HEADER);
    memcpy(d, m + PGPROTO_HEADER, (size_t)pl + 1);
    memcpy(d + pl + 1, sname, snl);
    /* pgjdbc prepares plain Statements by name too, "DEALLOCATE ALL" included. */
    bool clear = ps_sql_text_drops_all(e->body, e->body_len);
    if (rewrite_prefix(c, old, prefix, newp) < 0)
        return buf_ready(&c->st.in) ? 0 : ps_fail(c, "54000", "Bind too large");
    return clear && expect_clear(c) < 0 ? -1 : 1;
}

/* Describe 'S' and Close 'S' name their statement: translate. */
static int head_describe_close(struct client *c, struct ps_server *ps, uint8_t type, size_t total,
                               const uint8_t *p, size_t n)
{
    if (n < total)
        return total <= c->st.in.cap ? 0 : ps_fail(c, "08P01", "malformed message");
    long nl = cstr_at(p, n, PGPROTO_HEADER + 1);
    if (total < PGPROTO_HEADER + 2 || nl < 0)
        return ps_fail(c, "08P01", "malformed Describe/Close message");
    if (p[PGPROTO_HEADER] != 'S')
        return 1;
    if (nl == 0) {
        if (type == 'D')
            return ensure_unnamed(c, ps);
        drop_unnamed(c, ps);
        return 1;
    }
    const char *name = (const char *)p + PGPROTO_HEADER + 1;
    const struct ps_entry *e =
            p[PGPROTO_HEADER] == 'S' && nl > 0 ? ps_client_get(c->ps, name) : NULL;
    char sname[PS_NAME_MAX];
    size_t newlen = 0;
    if (e) {
        ps_server_name(e->id, sname);
        newlen = PGPROTO_HEADER + 1 + strlen(sname) + 1;
        /* Any wait comes before anything is recorded: this runs again from the start. */
        if (newlen > total && !can_grow(c, newlen - total))
            return 0;
    }
    if (type == 'C' && ps_owe(ps, PS_OWED_CLOSE, 0) < 0)
        return ps_fail(c, "54000", "too many messages in flight");
    if (!e)
        return 1;
    uint64_t id = e->id;
    if (type == 'D') {
        int rc = ensure_prepared(c, ps, e, PS_NAME_MAX, true);
        if (rc <= 0)
            return rc;
    }
    uint8_t msg[PGPROTO_HEADER + 1 + PS_NAME_MAX];
    uint8_t *d = put_header(msg, type, newlen - PGPROTO_HEADER);
    d[0] = 'S';
    memcpy(d + 1, sname, newlen - PGPROTO_HEADER - 1);
    if (type == 'C') {
        /* Closing a statement this server does not hold is not an error in PostgreSQL,
         * so the client gets its CloseComplete either way. (@name is in the buffer the
         * rewrite below overwrites.) */
        ps_server_del(ps, id);
        ps_client_del(c->ps, name);
    }
    if (rewrite_prefix(c, total, msg, newlen) < 0)
        return ps_fail(c, "54000", "message too large");
    return 1;
}

/* Simple Query: watch for statements that change prepared statements or cannot work
 * in transaction pooling. Only the first bytes are looked at. */
static int head_query(struct client *c, struct ps_server *ps, size_t total, const uint8_t *p,
                      size_t n)
{
    size_t want = LG_MIN(total, (size_t)256);
    if (n < want && n < c->st.in.cap)
        return 0;
    bool rewritten = false;
    if (c->ps) { /* else the client has no statement a DEALLOCATE could name */
        int rc = rewrite_deallocate(c, ps, 'Q', total, n, PGPROTO_HEADER, &rewritten);
        if (rc <= 0)
            return rc;
    }
    const char *q = (const char *)p + PGPROTO_HEADER; /* (moved if rewritten) */
    const char *end = (const char *)p + LG_MIN(n, total) - (n >= total ? 1 : 0);
    const char *first = rewritten ? end : ps_sql_skip_space(q, end);
    /* Most queries start with none of D, L, P: skip the keyword checks for them. */
    char f0 = first < end ? (char)(*first | 0x20) : 0;
    bool clear = f0 == 'd' && ps_sql_drops_all(q, end);
    /* "SELECT ...; DEALLOCATE ALL": only the buffered part of a long query is looked at,
     * and only when there is a named statement it could drop (the client's, or one
     * lifeguard prepared on this server for anyone). */
    bool later = !clear && !rewritten && (c->ps || ps_server_count(ps)) &&
                 ps_sql_later_drops_all(first, end);
    if ((clear || later) && expect_clear(c) < 0) /* answered before the ReadyForQuery */
        return -1;
    if (ps_owe(ps, PS_OWED_SYNC, 0) < 0)
        return ps_fail(c, "54000", "too many messages in flight");
    drop_unnamed(c, ps);
    if (clear || (f0 != 'd' && f0 != 'l' && f0 != 'p'))
        return 1;
    if (ps_sql_word(q, end, "DEALLOCATE")) {
        log_debug("C-%llu %s/%s: DEALLOCATE passed through (not one of the client's "
                  "protocol-level statements, or not alone in its query)",
                  (unsigned long long)c->id, c->dbname, c->user);
    } else if (ps_sql_word(q, end, "LISTEN") || ps_sql_prepare(q, end)) {
        log_warn("C-%llu %s/%s: %.*s in %s pooling mode does not outlive the transaction "
                 "(see docs/pooling-modes.md)",
                 (unsigned long long)c->id, c->dbname, c->user,
                 ps_sql_word(q, end, "LISTEN") ? 6 : 7,
                 ps_sql_word(q, end, "LISTEN") ? "LISTEN" : "PREPARE",
                 pool_mode_of(c->pool) == POOL_MODE_STATEMENT ? "statement" : "transaction");
    }
    return 1;
}

/* Every pool mode: a server in COPY FROM STDIN reads CopyData until CopyDone/CopyFail and
 * ignores any Sync meanwhile, so it sends no ReadyForQuery for the Sync that libpq writes
 * right after an extended-protocol COPY's Execute (pool_on_copy_in() settles that one).
 * Keep what it needs to know, and settle a Sync sent during the COPY. True if @type was
 * such a Sync: nothing is owed for it. */
static bool copy_on_head(struct client *c, uint8_t type)
{
    switch (type) {
    case 'Q':
        c->waiter.syncs_since_query = 0;
        return false;
    case 'S':
        if (c->waiter.copy_in && c->server) {
            pool_sync_ignored(c->server);
            return true;
        }
        c->waiter.syncs_since_query++;
        return false;
    case 'c':
    case 'f':
        c->waiter.copy_in = false;
        return false;
    default:
        return false;
    }
}

int client_ps_on_head(struct stream *st, uint8_t type, size_t total, const uint8_t *p, size_t n)
{
    struct client *c = st->owner;
    if (type == 'Q' && client_cfg()->disable_pqexec) { /* (the console is never linked) */
        client_close(c, "08P01",
                     "PQexec disallowed: disable_pqexec = 1 takes the extended "
                     "query protocol only");
        return -1;
    }
    if (client_ddl_maybe(type, p, n)) { /* DROP DATABASE and the like, in every mode */
        int rc = client_ddl_on_head(c, type, total, p, n);
        if (rc <= 0)
            return rc;
    }
    if (copy_on_head(c, type))
        return 1;
    if (!c->ps_on || !c->server)
        return 1;
    struct ps_server *ps = pool_server_ps(c->server);
    if (!ps)
        return ps_fail(c, "53200", "out of memory");
    switch (type) {
    case 'S':
    case 'F':
        if (ps_owe(ps, PS_OWED_SYNC, 0) < 0)
            return ps_fail(c, "54000", "too many messages in flight");
        return 1;
    case 'Q':
        return head_query(c, ps, total, p, n);
    case 'P':
        return head_parse(c, ps, total, p, n);
    case 'B':
        return head_bind(c, ps, total, p, n);
    case 'D':
    case 'C':
        return head_describe_close(c, ps, type, total, p, n);
    default:
        return 1;
    }
}
