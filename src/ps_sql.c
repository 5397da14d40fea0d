/* SPDX-License-Identifier: MIT */
/*
 * ps_sql.c: the heads of SQL texts that change a client's prepared statements or cannot
 * work in transaction pooling: DEALLOCATE [PREPARE] name, DEALLOCATE ALL, DISCARD ALL,
 * SQL-level PREPARE, LISTEN. Pure functions over a byte range (no NUL needed); only the
 * statement's first words are looked at, as client_ps.c sees only a message's first bytes.
 * Not here: what is done about them (client_ps.c).
 */
#include "ps_sql.h"

#include <string.h>
#include <strings.h>

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static bool is_ident(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           (ch >= '0' && ch <= '9');
}

const char *ps_sql_skip_space(const char *s, const char *end)
{
    while (s < end && is_space(*s))
        s++;
    return s;
}

/* Case-insensitive "word" at @s (after spaces), followed by a non-identifier byte. */
const char *ps_sql_word(const char *s, const char *end, const char *w)
{
    s = ps_sql_skip_space(s, end);
    size_t n = strlen(w);
    if ((size_t)(end - s) < n || strncasecmp(s, w, n) != 0)
        return NULL;
    s += n;
    if (s < end && is_ident(*s))
        return NULL;
    return s;
}

/* "DEALLOCATE [PREPARE] name [;]" and nothing else in @q..@end: the statement name in
 * @name (an unquoted one folded to lower case, as PostgreSQL does). False otherwise, and
 * for ALL. */
bool ps_sql_deallocate_one(const char *q, const char *end, char *name, size_t cap)
{
    const char *r = ps_sql_word(q, end, "DEALLOCATE");
    if (!r)
        return false;
    const char *r2 = ps_sql_word(r, end, "PREPARE");
    if (r2)
        r = r2;
    if (ps_sql_word(r, end, "ALL"))
        return false;
    r = ps_sql_skip_space(r, end);
    size_t n = 0;
    if (r < end && *r == '"') {
        for (r++;; r++) {
            if (r >= end)
                return false;
            if (*r == '"') {
                if (r + 1 < end && r[1] == '"')
                    r++;
                else
                    break;
            }
            if (n + 1 >= cap || *r == '\0') /* no NUL in a name (a C string) */
                return false;
            name[n++] = *r;
        }
        r++;
    } else {
        for (; r < end && (is_ident(*r) || *r == '$'); r++) {
            if (n + 1 >= cap)
                return false;
            name[n++] = (*r >= 'A' && *r <= 'Z') ? (char)(*r + 'a' - 'A') : *r;
        }
    }
    if (n == 0)
        return false;
    name[n] = '\0';
    while (r < end && (is_space(*r) || *r == ';'))
        r++;
    return r == end;
}

/* DISCARD ALL or DEALLOCATE [PREPARE] ALL at the start of @q: every statement is gone,
 * on the server and for the client. */
bool ps_sql_drops_all(const char *q, const char *end)
{
    const char *r;
    if ((r = ps_sql_word(q, end, "DISCARD")))
        return ps_sql_word(r, end, "ALL") != NULL;
    if ((r = ps_sql_word(q, end, "DEALLOCATE"))) {
        const char *r2 = ps_sql_word(r, end, "PREPARE");
        return ps_sql_word(r2 ? r2 : r, end, "ALL") != NULL;
    }
    return false;
}

/* A multi-statement query with a DEALLOCATE ALL (or DISCARD ALL, which PostgreSQL refuses
 * there, 25001) after its first statement, in [@q, @end): the start of each statement after
 * a ';' is looked at (a ';' inside a literal only costs a false alarm, which the
 * CommandComplete tag then settles). */
bool ps_sql_later_drops_all(const char *q, const char *end)
{
    const char *semi = memchr(q, ';', (size_t)(end - q));
    while (semi) {
        const char *s = ps_sql_skip_space(semi + 1, end);
        if (s == end)
            return false; /* the usual query: one statement, maybe ending in ';' */
        if ((*s | 0x20) == 'd' && ps_sql_drops_all(s, end))
            return true;
        semi = memchr(s, ';', (size_t)(end - s));
    }
    return false;
}

/* Is query text @q (@n bytes, or up to a NUL) DEALLOCATE ALL or DISCARD ALL? */
bool ps_sql_text_drops_all(const uint8_t *q, size_t n)
{
    const char *s = (const char *)q, *end = s + n;
    const char *first = ps_sql_skip_space(s, end);
    if (first == end || (*first | 0x20) != 'd')
        return false;
    const char *z = memchr(s, '\0', n);
    return ps_sql_drops_all(s, z ? z : end);
}

/* SQL-level "PREPARE name AS ...": a statement that lives on one server. Not "PREPARE
 * TRANSACTION 'gid'" (two-phase commit): that ends the transaction, and the prepared
 * transaction is the cluster's, finished by COMMIT PREPARED from any server. */
bool ps_sql_prepare(const char *q, const char *end)
{
    const char *r = ps_sql_word(q, end, "PREPARE");
    return r && !ps_sql_word(r, end, "TRANSACTION");
}
