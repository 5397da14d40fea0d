/* SPDX-License-Identifier: MIT */
/*
 * server_ps.c: the server side of named prepared statements in transaction and
 * statement pooling. Responses to the messages client_ps.c injected are swallowed
 * (ParseComplete, CloseComplete, a Describe's ParameterDescription and row type), the
 * row type a statement had when first prepared is noted and, where it is prepared
 * again, compared (prepared.h), and the client waiting for that answer is woken. When
 * the type changed, client_ps.c sends a Parse that fails on purpose ahead of the
 * client's Bind, so that PostgreSQL itself skips the client's messages up to its Sync
 * and ends the transaction as it would directly; its ErrorResponse is replaced here by
 * the one PostgreSQL gives for a prepared statement whose result type changed.
 * Not here: what is injected and when (client_ps.c), the bookkeeping (prepared.c).
 */
#include "server_int.h"

#include <string.h>

#include "log.h"
#include "pool.h"
#include "prepared.h"

static uint8_t *put_field(uint8_t *d, char code, const char *v)
{
    size_t n = strlen(v) + 1;
    *d++ = (uint8_t)code;
    memcpy(d, v, n);
    return d + n;
}

/* The guard's ErrorResponse (@total bytes at the cursor, whole) becomes PostgreSQL's
 * 0A000 for a changed result type, with its routine name: pgjdbc prepares the
 * statement again only when the routine is RevalidateCachedQuery. Any other error
 * (the transaction was already aborted: 25P02) passes as it is. */
static int replace_guard_error(struct server *s, struct stream *st, size_t total, const uint8_t *p)
{
    struct pgproto_error e;
    if (pgproto_parse_error(p + PGPROTO_HEADER, total - PGPROTO_HEADER, &e) < 0 ||
        strcmp(e.sqlstate, "42703") != 0)
        return 1;
    uint8_t msg[512];
    uint8_t *d = put_field(msg + PGPROTO_HEADER, 'S', "ERROR");
    d = put_field(d, 'V', "ERROR");
    d = put_field(d, 'C', "0A000");
    d = put_field(d, 'M', "cached plan must not change result type");
    d = put_field(d, 'D',
                  "lifeguard prepared the statement again on another server connection, "
                  "where its result type is not the one it had when the client prepared it");
    d = put_field(d, 'F', "plancache.c");
    d = put_field(d, 'R', "RevalidateCachedQuery");
    *d++ = 0;
    size_t len = (size_t)(d - msg);
    msg[0] = 'E';
    msg[1] = (uint8_t)((len - 1) >> 24);
    msg[2] = (uint8_t)((len - 1) >> 16);
    msg[3] = (uint8_t)((len - 1) >> 8);
    msg[4] = (uint8_t)(len - 1);
    if (stream_replace_prefix(st, total, msg, len) < 0)
        return 1; /* no room to grow it: the client gets the guard's own error */
    log_info("S-%llu: a prepared statement's result type changed since the client prepared "
             "it: 0A000 to the client",
             (unsigned long long)s->id);
    return 1;
}

/* A CommandComplete while a DEALLOCATE ALL / DISCARD ALL is expected: if it is that
 * statement's, the statements it dropped are forgotten, here and by the client. */
static void on_command_complete(struct server *s, struct ps_server *ps, const uint8_t *tag,
                                size_t len)
{
    static const char dealloc[] = "DEALLOCATE ALL", discard[] = "DISCARD ALL";
    if (!((len == sizeof(dealloc) && memcmp(tag, dealloc, len) == 0) ||
          (len == sizeof(discard) && memcmp(tag, discard, len) == 0)))
        return;
    uint64_t client_bound;
    if (ps_on_clear(ps, &client_bound))
        pool_on_ps_cleared(s, client_bound);
}

int server_ps_on_head(struct server *s, struct stream *st, uint8_t type, size_t total,
                      const uint8_t *p, size_t n)
{
    struct ps_server *ps = s->ps;
    switch (type) {
    case '1':
    case '3':
        if (n < total)
            return 0;
        if (ps_on_complete(ps, (char)type) && stream_replace_prefix(st, total, NULL, 0) < 0) {
            server_close(s, "cannot drop an injected response");
            return -1;
        }
        break;
    case 't':
    case 'T':
    case 'n':
        if (!ps_front_is(ps, PS_OWED_DESCRIBE))
            break;
        if (n < total) {
            /* Needed whole, to note and swallow. Wider than the buffer (hundreds of
             * columns): the buffer grows for it (PostgreSQL's own message, at most some
             * hundred kB) and shrinks back once empty. */
            if (total <= st->in.cap || stream_grow_in(st, total) == 0)
                return 0;
            server_close(s, "no memory for the row description of lifeguard's Describe");
            return -1;
        }
        if (ps_on_describe(ps, (char)type, p + PGPROTO_HEADER, total - PGPROTO_HEADER) &&
            stream_replace_prefix(st, total, NULL, 0) < 0) {
            server_close(s, "cannot drop an injected response");
            return -1;
        }
        break;
    case 'C':
        if (!ps_clear_expected(ps))
            break;
        if (n < total)
            return total <= st->in.cap ? 0 : 1; /* a command tag that long is no clear */
        on_command_complete(s, ps, p + PGPROTO_HEADER, total - PGPROTO_HEADER);
        break;
    case 'E':
        if (ps_front_is(ps, PS_OWED_GUARD) && n >= total) /* server.c waited for it */
            replace_guard_error(s, st, total, p);
        ps_on_error(ps);
        break;
    default:
        break;
    }
    if (ps_check_take_wakeup(ps) && st->peer)
        stream_kick(st->peer); /* client_ps.c waits for the check's answer */
    return 1;
}

/* A Describe's answer: ParameterDescription, then RowDescription or NoData. */
static const char describe_answers[] = "tTn";

void server_watch_describes(struct server *s)
{
    if (s->describes_watched)
        return;
    s->describes_watched = true;
    for (const char *t = describe_answers; *t; t++)
        stream_observe(&s->st, (uint8_t)*t);
}

int server_expect_clear(struct server *s, uint64_t client_bound)
{
    int rc = ps_clear_expect(s->ps, client_bound);
    if (rc == 0 && !s->clears_watched) {
        s->clears_watched = true;
        stream_observe(&s->st, 'C');
    }
    return rc;
}

void server_ps_on_ready(struct server *s)
{
    ps_on_ready(s->ps);
    if (s->clears_watched && !ps_clear_expected(s->ps)) {
        s->clears_watched = false; /* CommandComplete passes untouched again */
        stream_unobserve(&s->st, 'C');
    }
    if (s->describes_watched && ps_owes_nothing(s->ps)) {
        s->describes_watched = false; /* back to relaying them untouched */
        for (const char *t = describe_answers; *t; t++)
            stream_unobserve(&s->st, (uint8_t)*t);
    }
    if (ps_check_take_wakeup(s->ps) && s->st.peer)
        stream_kick(s->st.peer);
}
