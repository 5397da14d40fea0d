/* SPDX-License-Identifier: MIT */
/*
 * dbddl.h: spotting, in the first bytes of a query, the statements PostgreSQL runs only
 * when no other session is connected to a database: DROP DATABASE, ALTER DATABASE ...
 * RENAME TO / SET TABLESPACE, and CREATE DATABASE ... TEMPLATE (the template's
 * sessions). A pooler's idle server connections to that database would make them fail
 * ("database ... is being accessed by other users", 55006), so the client side asks the
 * pools to close them first. Pure: no I/O, no globals.
 */
#ifndef LG_DBDDL_H
#define LG_DBDDL_H

#include <stddef.h>

#define DBDDL_NAME_MAX 64 /* PostgreSQL's NAMEDATALEN: 63 bytes and the NUL */

enum dbddl_kind {
    DBDDL_NONE,     /* none of the statements below (or cut off before the name) */
    DBDDL_DROP,     /* DROP DATABASE [IF EXISTS] name */
    DBDDL_ALTER,    /* ALTER DATABASE name RENAME TO ... | SET TABLESPACE ... */
    DBDDL_TEMPLATE, /* CREATE DATABASE ... TEMPLATE [=] name */
};

/* Scan the SQL text @q (@n bytes, perhaps only the start of a longer query, not
 * NUL-terminated) for one of the statements above as its first statement, after
 * spaces and comments. On a match, @name gets the database name as PostgreSQL reads
 * it (unquoted: ASCII lower-cased; "quoted": as written, "" for "; both cut at 63
 * bytes). Anything else, or a name cut off by the end of @q, is DBDDL_NONE. */
enum dbddl_kind dbddl_scan(const char *q, size_t n, char name[DBDDL_NAME_MAX]);

/* The statement's words for messages ("DROP DATABASE", ...). */
const char *dbddl_kind_name(enum dbddl_kind k);

#endif
