/* SPDX-License-Identifier: MIT */
/*
 * dbddl.h: spotting, in the first bytes of a query, the statements PostgreSQL runs only
 * when no other session is connected to a database: DROP DATABASE, ALTER DATABASE ...
 * RENAME TO / SET TABLESPACE, and CREATE DATABASE ... TEMPLATE (the template's
 * sessions). A pooler's idle server connections to that database would make them fail
 * ("database ... is being accessed by other users", 55006), so the client side asks the
 * pools to close them first. Also the cursor statements that make a client's session
 * state outlive its transaction (DECLARE ... WITH HOLD, CLOSE), and those that create or
 * drop temporary objects (CREATE TEMP TABLE, DISCARD TEMP), and those that change or
 * reset the session's role (SET ROLE, SET SESSION AUTHORIZATION, RESET ROLE). Pure: no
 * I/O, no globals.
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

/* Cursors that outlive their transaction (WITH HOLD) live in the server session: in
 * transaction pooling the client must keep that server while it has one open. */
enum dbddl_cursor {
    DBDDL_CURSOR_NONE,      /* none of the statements below (or cut off before the name) */
    DBDDL_CURSOR_HOLD,      /* DECLARE name [options] CURSOR WITH HOLD FOR ... */
    DBDDL_CURSOR_CLOSE,     /* CLOSE name */
    DBDDL_CURSOR_CLOSE_ALL, /* CLOSE ALL, DISCARD ALL */
};

/* Like dbddl_scan(), for the statements above; @name gets the cursor's name (as
 * PostgreSQL reads it) for DBDDL_CURSOR_HOLD and DBDDL_CURSOR_CLOSE. A DECLARE whose
 * WITH HOLD lies past the end of @q is DBDDL_CURSOR_NONE. */
enum dbddl_cursor dbddl_scan_cursor(const char *q, size_t n, char name[DBDDL_NAME_MAX]);

/* Temporary objects live in the server session, past the transaction that created them:
 * in transaction pooling the client must keep that server while they exist. */
enum dbddl_temp {
    DBDDL_TEMP_NONE,  /* none of the statements below, or ON COMMIT DROP seen */
    DBDDL_TEMP_TABLE, /* CREATE [GLOBAL|LOCAL] {TEMP|TEMPORARY} TABLE ..., CREATE [UNLOGGED]
                         TABLE [IF NOT EXISTS] pg_temp.name ... */
    DBDDL_TEMP_VIEW,  /* CREATE [OR REPLACE] {TEMP|TEMPORARY} [RECURSIVE] VIEW, or pg_temp.name */
    DBDDL_TEMP_SEQUENCE, /* CREATE {TEMP|TEMPORARY} SEQUENCE ..., or pg_temp.name */
    DBDDL_TEMP_DISCARD,  /* DISCARD {ALL | TEMP | TEMPORARY} alone in the text (only ';' and
                            blanks after it up to the NUL): it cannot be rolled back with others */
    DBDDL_TEMP_ROLLBACK, /* ROLLBACK | ABORT [WORK | TRANSACTION] (not TO SAVEPOINT, not AND
                            CHAIN): drops what its transaction block created */
    DBDDL_TEMP_COMMIT,   /* COMMIT [WORK | TRANSACTION]: in a failed block, a rollback too */
};

/* Like dbddl_scan(), for the statements above (case-insensitive, after spaces and
 * comments). A CREATE whose seen part (up to its end or the end of @q) holds ON COMMIT
 * DROP is DBDDL_TEMP_NONE: the object goes with its transaction. A CREATE cut off before it
 * shows a temporary object is DBDDL_TEMP_NONE too; one cut off after that is a match.
 * SELECT ... INTO TEMP is not looked for. */
enum dbddl_temp dbddl_scan_temp(const char *q, size_t n);

/* Words for messages ("temporary table", ...). */
const char *dbddl_temp_name(enum dbddl_temp k);

/* The current role (SET ROLE) and the session user (SET SESSION AUTHORIZATION) live in
 * the server session, past the transaction: in transaction pooling the client must keep
 * that server while it has changed them. */
enum dbddl_role {
    DBDDL_ROLE_NONE,       /* none of the statements below (or a reset not alone in its text) */
    DBDDL_ROLE_SET,        /* SET [SESSION] ROLE name, SET [SESSION] role {TO | =} value */
    DBDDL_ROLE_AUTH,       /* SET [SESSION] SESSION AUTHORIZATION name, SET [SESSION]
                              session_authorization {TO | =} value */
    DBDDL_ROLE_RESET,      /* RESET ROLE, SET [SESSION] ROLE [TO | =] NONE, SET role {TO | =}
                              DEFAULT; alone in the text, as DBDDL_TEMP_DISCARD */
    DBDDL_ROLE_AUTH_RESET, /* RESET SESSION AUTHORIZATION, SET [SESSION] SESSION AUTHORIZATION
                              DEFAULT, RESET session_authorization, SET session_authorization
                              {TO | =} DEFAULT; alone in the text */
    DBDDL_ROLE_RESET_ALL,  /* DISCARD ALL, alone in the text: both of the above */
};

/* Like dbddl_scan(), for the statements above. SET LOCAL is not one: it ends with its
 * transaction. A SET cut off before its value is a match (the value is not known to
 * reset); a reset cut off anywhere is DBDDL_ROLE_NONE. set_config('role', ...) and the
 * like are not looked for. */
enum dbddl_role dbddl_scan_role(const char *q, size_t n);

/* Words for messages ("SET ROLE", ...). */
const char *dbddl_role_name(enum dbddl_role k);

#endif
