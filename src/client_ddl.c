/* SPDX-License-Identifier: MIT */
/*
 * client_ddl.c: a client's DROP DATABASE, ALTER DATABASE ... RENAME / SET TABLESPACE or
 * CREATE DATABASE ... TEMPLATE (dbddl.h) needs the database free of other sessions, and
 * PostgreSQL waits only 5 s for them to go. The pools' idle server connections to it
 * would never go (a test runner's "DROP DATABASE test_app" after its tests fails with
 * 55006 through a pooler that keeps them), so they are closed before the statement is
 * forwarded. Simple Query and Parse are looked at (the first 256 bytes of the SQL);
 * other statements cost a look at their first character.
 * Not here: the scan itself (dbddl.c), closing the servers (pool_ctl.c).
 */
#include "client_int.h"

#include <string.h>

#include "dbddl.h"
#include "log.h"

#define DDL_LOOK 256 /* bytes of SQL enough for the statements' heads */

const bool client_ddl_first[256] = {
        ['A'] = true,  ['a'] = true,  ['C'] = true,  ['c'] = true,  ['D'] = true,
        ['d'] = true,  [' '] = true,  ['\t'] = true, ['\n'] = true, ['\r'] = true,
        ['\f'] = true, ['\v'] = true, ['-'] = true,  ['/'] = true,  ['('] = false};

/* First characters of the statements (or of a comment before them). */
static bool may_start_ddl(char ch)
{
    return client_ddl_first[(unsigned char)ch] && ch != ' ' && ch != '\t' && ch != '\n' &&
           ch != '\r' && ch != '\f' && ch != '\v';
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
    while (i < have && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    if (i >= have)
        return more ? 0 : 1;
    if (!may_start_ddl((char)p[i]))
        return 1;
    if (have < LG_MIN(total, off + DDL_LOOK) && more)
        return 0;
    char name[DBDDL_NAME_MAX];
    enum dbddl_kind k = dbddl_scan((const char *)p + off, LG_MIN(have, off + DDL_LOOK) - off, name);
    if (k == DBDDL_NONE)
        return 1;
    char why[DBDDL_NAME_MAX + 80];
    snprintf(why, sizeof(why), "%s \"%s\" from C-%llu", dbddl_kind_name(k), name,
             (unsigned long long)c->id);
    int closed = pool_free_database(c->pool, name, why);
    if (closed > 0)
        log_info("C-%llu %s/%s: %s \"%s\": closed %d idle server connection(s) to it first",
                 (unsigned long long)c->id, c->dbname, c->user, dbddl_kind_name(k), name, closed);
    return 1;
}
