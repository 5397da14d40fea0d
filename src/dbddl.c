/* SPDX-License-Identifier: MIT */
/*
 * dbddl.c: a small SQL tokenizer (spaces, -- and nested block comments, words, "quoted"
 * identifiers, 'string' literals, single characters) and the statement shapes of
 * dbddl.h (three database statements, three cursor ones, the temporary-object and role
 * ones). Only the first statement of a query is looked at; the text ends at a NUL byte,
 * and running out of bytes before that means the query was cut off.
 */
#include "dbddl.h"

#include <stdbool.h>
#include <string.h>

enum tok {
    T_WORD,   /* keyword or unquoted identifier, ASCII lower-cased */
    T_QUOTED, /* "identifier", as written */
    T_OTHER,  /* one character, or a whole 'string' literal */
    T_END,    /* NUL or ';': the statement ended */
    T_CUT,    /* ran out of bytes: the rest of the query was not given */
};

struct lex {
    const char *p, *end;
    char text[DBDDL_NAME_MAX]; /* the token: a word or identifier (cut at 63 bytes) */
    char ch;                   /* T_OTHER: its first character */
    bool broken;               /* the text ended (NUL) inside a comment or quotes */
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool word_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool word_char(unsigned char c)
{
    return word_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/* Skip spaces and comments. False if the bytes ran out inside (or right after) them. */
static bool skip_blank(struct lex *l)
{
    for (;;) {
        while (l->p < l->end && is_space(*l->p))
            l->p++;
        if (l->p >= l->end)
            return false;
        if (*l->p == '-' && l->p + 1 < l->end && l->p[1] == '-') {
            while (l->p < l->end && *l->p != '\n' && *l->p != '\0')
                l->p++;
            continue;
        }
        if (*l->p == '/' && l->p + 1 < l->end && l->p[1] == '*') {
            int depth = 0; /* PostgreSQL's block comments nest */
            do {
                if (l->p + 1 >= l->end)
                    return false;
                if (*l->p == '\0') {
                    l->broken = true;
                    return true; /* the text ends inside the comment: T_END follows */
                }
                if (l->p[0] == '/' && l->p[1] == '*') {
                    depth++;
                    l->p += 2;
                } else if (l->p[0] == '*' && l->p[1] == '/') {
                    depth--;
                    l->p += 2;
                } else {
                    l->p++;
                }
            } while (depth > 0);
            continue;
        }
        return true;
    }
}

static void keep(struct lex *l, size_t *len, char c)
{
    if (*len < DBDDL_NAME_MAX - 1)
        l->text[(*len)++] = c;
}

static enum tok next(struct lex *l)
{
    l->text[0] = '\0';
    if (!skip_blank(l))
        return T_CUT;
    unsigned char c = (unsigned char)*l->p;
    if (c == '\0' || c == ';')
        return T_END;
    size_t len = 0;
    if (word_start(c)) {
        while (l->p < l->end && word_char((unsigned char)*l->p)) {
            char w = *l->p++;
            keep(l, &len, w >= 'A' && w <= 'Z' ? (char)(w - 'A' + 'a') : w);
        }
        l->text[len] = '\0';
        return l->p < l->end ? T_WORD : T_CUT; /* the word may go on past the end */
    }
    if (c == '"' || c == '\'') {
        l->p++;
        for (;;) {
            if (l->p >= l->end)
                return T_CUT;
            if (*l->p == '\0') {
                l->broken = true;
                return T_END; /* unterminated: PostgreSQL will refuse the query */
            }
            if (*l->p == (char)c) {
                if (l->p + 1 >= l->end)
                    return T_CUT; /* a doubled quote may follow */
                if (l->p[1] != (char)c)
                    break;
                l->p++; /* "" inside "...": one " */
            }
            keep(l, &len, *l->p++);
        }
        l->p++;
        l->text[len] = '\0';
        l->ch = (char)c;
        return c == '"' ? T_QUOTED : T_OTHER;
    }
    l->ch = (char)c;
    l->p++;
    return T_OTHER;
}

static bool is_word(struct lex *l, const char *w)
{
    return next(l) == T_WORD && strcmp(l->text, w) == 0;
}

/* The next token as a database name into @name. */
static bool take_name(struct lex *l, enum tok t, char name[DBDDL_NAME_MAX])
{
    if ((t != T_WORD && t != T_QUOTED) || l->text[0] == '\0')
        return false;
    memcpy(name, l->text, DBDDL_NAME_MAX);
    return true;
}

static enum dbddl_kind scan_drop(struct lex *l, char name[DBDDL_NAME_MAX])
{
    enum tok t = next(l);
    if (t == T_WORD && strcmp(l->text, "if") == 0) {
        struct lex save = *l;
        if (is_word(l, "exists"))
            t = next(l);
        else
            *l = save; /* a database named "if" */
    }
    return take_name(l, t, name) ? DBDDL_DROP : DBDDL_NONE;
}

static enum dbddl_kind scan_alter(struct lex *l, char name[DBDDL_NAME_MAX])
{
    if (!take_name(l, next(l), name))
        return DBDDL_NONE;
    enum tok t = next(l);
    if (t == T_WORD && strcmp(l->text, "rename") == 0)
        return DBDDL_ALTER;
    if (t == T_WORD && strcmp(l->text, "set") == 0 && is_word(l, "tablespace"))
        return DBDDL_ALTER;
    return DBDDL_NONE;
}

static enum dbddl_kind scan_create(struct lex *l, char name[DBDDL_NAME_MAX])
{
    char created[DBDDL_NAME_MAX];
    if (!take_name(l, next(l), created))
        return DBDDL_NONE;
    for (;;) { /* [WITH] option [=] value ...: look for TEMPLATE */
        enum tok t = next(l);
        if (t == T_END || t == T_CUT)
            return DBDDL_NONE;
        if (t != T_WORD || strcmp(l->text, "template") != 0)
            continue;
        t = next(l);
        if (t == T_OTHER && l->ch == '=')
            t = next(l);
        return take_name(l, t, name) ? DBDDL_TEMPLATE : DBDDL_NONE;
    }
}

enum dbddl_kind dbddl_scan(const char *q, size_t n, char name[DBDDL_NAME_MAX])
{
    struct lex l = {.p = q, .end = q + n};
    name[0] = '\0';
    if (next(&l) != T_WORD)
        return DBDDL_NONE;
    enum dbddl_kind k = DBDDL_NONE;
    if (strcmp(l.text, "drop") == 0 && is_word(&l, "database"))
        k = scan_drop(&l, name);
    else if (strcmp(l.text, "alter") == 0 && is_word(&l, "database"))
        k = scan_alter(&l, name);
    else if (strcmp(l.text, "create") == 0 && is_word(&l, "database"))
        k = scan_create(&l, name);
    if (k == DBDDL_NONE)
        name[0] = '\0';
    return k;
}

const char *dbddl_kind_name(enum dbddl_kind k)
{
    switch (k) {
    case DBDDL_DROP:
        return "DROP DATABASE";
    case DBDDL_ALTER:
        return "ALTER DATABASE";
    case DBDDL_TEMPLATE:
        return "CREATE DATABASE ... TEMPLATE";
    case DBDDL_NONE:
    default:
        return "";
    }
}

/* After DECLARE name: [BINARY] [ASENSITIVE | INSENSITIVE] [[NO] SCROLL] CURSOR
 * [{WITH | WITHOUT} HOLD] FOR ... (the options in any order, as PostgreSQL's grammar). */
static enum dbddl_cursor scan_declare(struct lex *l)
{
    for (int words = 0; words < 6; words++) {
        if (next(l) != T_WORD)
            return DBDDL_CURSOR_NONE;
        if (strcmp(l->text, "cursor") == 0)
            break;
        if (strcmp(l->text, "binary") && strcmp(l->text, "asensitive") &&
            strcmp(l->text, "insensitive") && strcmp(l->text, "no") && strcmp(l->text, "scroll"))
            return DBDDL_CURSOR_NONE;
    }
    if (strcmp(l->text, "cursor") != 0 || !is_word(l, "with"))
        return DBDDL_CURSOR_NONE;
    return is_word(l, "hold") ? DBDDL_CURSOR_HOLD : DBDDL_CURSOR_NONE;
}

enum dbddl_cursor dbddl_scan_cursor(const char *q, size_t n, char name[DBDDL_NAME_MAX])
{
    struct lex l = {.p = q, .end = q + n};
    enum dbddl_cursor k = DBDDL_CURSOR_NONE;
    name[0] = '\0';
    if (next(&l) != T_WORD)
        return DBDDL_CURSOR_NONE;
    if (strcmp(l.text, "declare") == 0) {
        if (take_name(&l, next(&l), name))
            k = scan_declare(&l);
    } else if (strcmp(l.text, "close") == 0) {
        enum tok t = next(&l);
        if (t == T_WORD && strcmp(l.text, "all") == 0) /* CLOSE "all" closes one */
            return next(&l) == T_END ? DBDDL_CURSOR_CLOSE_ALL : DBDDL_CURSOR_NONE;
        if (take_name(&l, t, name))
            k = DBDDL_CURSOR_CLOSE;
    } else if (strcmp(l.text, "discard") == 0 && is_word(&l, "all")) {
        return next(&l) == T_END ? DBDDL_CURSOR_CLOSE_ALL : DBDDL_CURSOR_NONE;
    }
    if (k == DBDDL_CURSOR_NONE)
        name[0] = '\0';
    return k;
}

/* After the statement's last token (T_END): true if nothing but ';', blanks and whole
 * comments follow before the text's NUL, so the statement runs alone, not in an implicit
 * transaction with others (which could fail and roll it back). A comment or quote left
 * open at the NUL is a syntax error: PostgreSQL would run none of the text. */
static bool alone(struct lex *l)
{
    for (;;) {
        if (l->broken)
            return false;
        if (*l->p == '\0')
            return true;
        if (*l->p != ';')
            return false;
        l->p++;
        if (!skip_blank(l))
            return false;
    }
}

/* The rest of the statement holds ON COMMIT DROP (before its end or the cut). */
static bool on_commit_drop(struct lex *l)
{
    int seen = 0; /* words of "on commit drop" matched in a row */
    static const char *const words[] = {"on", "commit", "drop"};
    for (;;) {
        enum tok t = next(l);
        if (t == T_END || t == T_CUT)
            return false;
        if (t == T_WORD && strcmp(l->text, words[seen]) == 0) {
            if (++seen == 3)
                return true;
        } else {
            seen = t == T_WORD && strcmp(l->text, "on") == 0;
        }
    }
}

/* After CREATE: [OR REPLACE] [[GLOBAL | LOCAL] {TEMP | TEMPORARY} | UNLOGGED] [RECURSIVE]
 * {TABLE | VIEW | SEQUENCE} [IF NOT EXISTS] name, where a temporary object is either
 * declared TEMP or named pg_temp.name. */
static enum dbddl_temp scan_create_temp(struct lex *l)
{
    bool temp = false;
    enum tok t = next(l);
    if (t == T_WORD && strcmp(l->text, "or") == 0) {
        if (!is_word(l, "replace"))
            return DBDDL_TEMP_NONE;
        t = next(l);
    }
    if (t == T_WORD && (strcmp(l->text, "global") == 0 || strcmp(l->text, "local") == 0)) {
        t = next(l);
        if (t != T_WORD || (strcmp(l->text, "temp") && strcmp(l->text, "temporary")))
            return DBDDL_TEMP_NONE;
    }
    if (t == T_WORD && (strcmp(l->text, "temp") == 0 || strcmp(l->text, "temporary") == 0)) {
        temp = true;
        t = next(l);
    } else if (t == T_WORD && strcmp(l->text, "unlogged") == 0) {
        t = next(l);
    }
    if (t == T_WORD && strcmp(l->text, "recursive") == 0)
        t = next(l);
    if (t != T_WORD)
        return DBDDL_TEMP_NONE;
    enum dbddl_temp k = strcmp(l->text, "table") == 0      ? DBDDL_TEMP_TABLE
                        : strcmp(l->text, "view") == 0     ? DBDDL_TEMP_VIEW
                        : strcmp(l->text, "sequence") == 0 ? DBDDL_TEMP_SEQUENCE
                                                           : DBDDL_TEMP_NONE;
    if (k == DBDDL_TEMP_NONE)
        return DBDDL_TEMP_NONE;
    if (!temp) { /* [IF NOT EXISTS] pg_temp.name */
        t = next(l);
        if (t == T_WORD && strcmp(l->text, "if") == 0) {
            struct lex save = *l;
            if (is_word(l, "not") && is_word(l, "exists"))
                t = next(l);
            else
                *l = save; /* a table named "if" */
        }
        if ((t != T_WORD && t != T_QUOTED) || strcmp(l->text, "pg_temp") != 0)
            return DBDDL_TEMP_NONE;
        if (next(l) != T_OTHER || l->ch != '.')
            return DBDDL_TEMP_NONE;
    }
    return on_commit_drop(l) ? DBDDL_TEMP_NONE : k;
}

enum dbddl_temp dbddl_scan_temp(const char *q, size_t n)
{
    struct lex l = {.p = q, .end = q + n};
    if (next(&l) != T_WORD)
        return DBDDL_TEMP_NONE;
    if (strcmp(l.text, "create") == 0)
        return scan_create_temp(&l);
    bool rollback = strcmp(l.text, "rollback") == 0 || strcmp(l.text, "abort") == 0;
    if (rollback || strcmp(l.text, "commit") == 0) {
        enum tok t = next(&l);
        if (t == T_WORD && (strcmp(l.text, "work") == 0 || strcmp(l.text, "transaction") == 0))
            t = next(&l);
        if (t != T_END)
            return DBDDL_TEMP_NONE;
        return rollback ? DBDDL_TEMP_ROLLBACK : DBDDL_TEMP_COMMIT;
    }
    if (strcmp(l.text, "discard") != 0 || next(&l) != T_WORD)
        return DBDDL_TEMP_NONE;
    if (strcmp(l.text, "all") && strcmp(l.text, "temp") && strcmp(l.text, "temporary"))
        return DBDDL_TEMP_NONE;
    return next(&l) == T_END && alone(&l) ? DBDDL_TEMP_DISCARD : DBDDL_TEMP_NONE;
}

const char *dbddl_temp_name(enum dbddl_temp k)
{
    switch (k) {
    case DBDDL_TEMP_TABLE:
        return "temporary table";
    case DBDDL_TEMP_VIEW:
        return "temporary view";
    case DBDDL_TEMP_SEQUENCE:
        return "temporary sequence";
    case DBDDL_TEMP_DISCARD:
        return "DISCARD";
    case DBDDL_TEMP_ROLLBACK:
        return "ROLLBACK";
    case DBDDL_TEMP_COMMIT:
        return "COMMIT";
    case DBDDL_TEMP_NONE:
    default:
        return "";
    }
}

/* After the variable of SET: its value. The forms PostgreSQL's grammar takes: SET ROLE
 * name (@bare: ROLE unquoted, no TO or = needed), SET SESSION AUTHORIZATION {name | DEFAULT}
 * (@auth_keyword: no TO or = allowed), and the generic SET var {TO | =} {value | DEFAULT}
 * for var role or session_authorization. @role: the variable is role, which NONE resets
 * too. Anything else is a syntax error, which changes nothing: never a reset. */
static enum dbddl_role scan_role_value(struct lex *l, bool role, bool bare, bool auth_keyword)
{
    enum dbddl_role set = role ? DBDDL_ROLE_SET : DBDDL_ROLE_AUTH;
    enum dbddl_role reset = role ? DBDDL_ROLE_RESET : DBDDL_ROLE_AUTH_RESET;
    enum tok t = next(l);
    bool assign = (t == T_OTHER && l->ch == '=') || (t == T_WORD && strcmp(l->text, "to") == 0);
    if (assign ? auth_keyword : !auth_keyword && !bare)
        return DBDDL_ROLE_NONE;
    if (assign)
        t = next(l);
    if (t == T_CUT)
        return set; /* the value may be a role: keep the client */
    if (t == T_END)
        return DBDDL_ROLE_NONE;
    bool resets = t == T_WORD && ((role && strcmp(l->text, "none") == 0) ||
                                  ((assign || auth_keyword) && strcmp(l->text, "default") == 0));
    if (!resets)
        return set;
    return next(l) == T_END && alone(l) ? reset : DBDDL_ROLE_NONE;
}

enum dbddl_role dbddl_scan_role(const char *q, size_t n)
{
    struct lex l = {.p = q, .end = q + n};
    if (next(&l) != T_WORD)
        return DBDDL_ROLE_NONE;
    if (strcmp(l.text, "discard") == 0)
        return is_word(&l, "all") && next(&l) == T_END && alone(&l) ? DBDDL_ROLE_RESET_ALL
                                                                    : DBDDL_ROLE_NONE;
    bool reset = strcmp(l.text, "reset") == 0;
    if (!reset && strcmp(l.text, "set") != 0)
        return DBDDL_ROLE_NONE;
    enum tok t = next(&l);
    /* SESSION: SET's scope (SET SESSION ROLE, SET SESSION SESSION AUTHORIZATION), or the
     * first word of SESSION AUTHORIZATION. LOCAL (or anything else) is not ours. */
    bool auth_keyword = false;
    if (t == T_WORD && strcmp(l.text, "session") == 0) {
        t = next(&l);
        if (t == T_WORD && strcmp(l.text, "authorization") == 0)
            auth_keyword = true;
        else if (reset)
            return DBDDL_ROLE_NONE;
        else if (t == T_WORD && strcmp(l.text, "session") == 0) {
            if (!is_word(&l, "authorization"))
                return DBDDL_ROLE_NONE;
            auth_keyword = true;
        }
    }
    bool role = false, bare = false;
    if (!auth_keyword) {
        if (t != T_WORD && t != T_QUOTED)
            return DBDDL_ROLE_NONE;
        role = strcmp(l.text, "role") == 0;
        bare = role && t == T_WORD;
        if (!role && strcmp(l.text, "session_authorization") != 0)
            return DBDDL_ROLE_NONE;
    }
    if (reset) {
        if (next(&l) != T_END || !alone(&l))
            return DBDDL_ROLE_NONE;
        return role ? DBDDL_ROLE_RESET : DBDDL_ROLE_AUTH_RESET;
    }
    return scan_role_value(&l, role, bare, auth_keyword);
}

const char *dbddl_role_name(enum dbddl_role k)
{
    switch (k) {
    case DBDDL_ROLE_SET:
        return "SET ROLE";
    case DBDDL_ROLE_AUTH:
        return "SET SESSION AUTHORIZATION";
    case DBDDL_ROLE_RESET:
        return "RESET ROLE";
    case DBDDL_ROLE_AUTH_RESET:
        return "RESET SESSION AUTHORIZATION";
    case DBDDL_ROLE_RESET_ALL:
        return "DISCARD ALL";
    case DBDDL_ROLE_NONE:
    default:
        return "";
    }
}
