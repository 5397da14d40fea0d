/* SPDX-License-Identifier: MIT */
/*
 * admin.c: the console's command parser and dispatcher, and the admin_result that holds
 * a rendered answer until the stream drains it. SHOW renderers and message building
 * live in admin_show.c. The grammar is PgBouncer's: SHOW <word>, SET key = value,
 * control words with an optional database; anything else is 42601.
 */
#include "admin.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "admin_show.h"
#include "buf.h"

#define MAX_WORD  256 /* identifier / key bytes */
#define MAX_VALUE 1024

/* ---- parsing ---- */

struct lexer {
    const char *p;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void skip_space(struct lexer *lx)
{
    while (is_space(*lx->p))
        lx->p++;
}

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == '$' || (unsigned char)c >= 0x80;
}

/* A bare word or a "quoted identifier" ("" escapes a quote) into @out. 1 found, 0 none,
 * -1 malformed or too long. */
static int lex_word(struct lexer *lx, char *out, size_t cap)
{
    skip_space(lx);
    size_t n = 0;
    if (*lx->p == '"') {
        const char *s = lx->p + 1;
        for (;;) {
            if (*s == '\0')
                return -1;
            if (*s == '"') {
                if (s[1] != '"')
                    break;
                s++;
            }
            if (n + 1 >= cap)
                return -1;
            out[n++] = *s++;
        }
        lx->p = s + 1;
        out[n] = '\0';
        return n ? 1 : -1;
    }
    while (is_word_char(*lx->p)) {
        if (n + 1 >= cap)
            return -1;
        out[n++] = *lx->p++;
    }
    out[n] = '\0';
    return n ? 1 : 0;
}

/* A SET value: 'string' ('' escapes), "string", or a bare run up to space/';'. */
static int lex_value(struct lexer *lx, char *out, size_t cap)
{
    skip_space(lx);
    size_t n = 0;
    char q = *lx->p;
    if (q == '\'' || q == '"') {
        const char *s = lx->p + 1;
        for (;;) {
            if (*s == '\0')
                return -1;
            if (*s == q) {
                if (s[1] != q)
                    break;
                s++;
            }
            if (n + 1 >= cap)
                return -1;
            out[n++] = *s++;
        }
        lx->p = s + 1;
        out[n] = '\0';
        return 1;
    }
    while (*lx->p && !is_space(*lx->p) && *lx->p != ';') {
        if (n + 1 >= cap)
            return -1;
        out[n++] = *lx->p++;
    }
    out[n] = '\0';
    return n ? 1 : 0;
}

/* At the end of the statement: spaces, at most one ';', spaces, NUL. */
static bool at_end(struct lexer *lx)
{
    skip_space(lx);
    if (*lx->p == ';') {
        lx->p++;
        skip_space(lx);
    }
    return *lx->p == '\0';
}

static bool word_is(const char *w, const char *kw)
{
    return strcasecmp(w, kw) == 0;
}

/* ---- commands ---- */

static void invalid(struct strbuf *sb, const char *sql)
{
    char msg[300];
    snprintf(msg, sizeof(msg), "invalid command '%.200s', use SHOW HELP;", sql);
    admin_msg_error_ready(sb, "42601", msg);
}

static void control_result(struct admin_result *res, int rc, const char *tag,
                           const struct lg_err *err)
{
    struct strbuf *sb = &res->out;
    if (rc == 0) {
        admin_msg_complete(sb, tag);
        admin_msg_ready(sb);
    } else {
        admin_msg_error_ready(sb, err->sqlstate[0] ? err->sqlstate : "XX000",
                              err->msg[0] ? err->msg : "command failed");
    }
}

/* Session parameters drivers set on connect: accepted and ignored, as PgBouncer does. */
static bool is_session_param(const char *key)
{
    static const char *const keys[] = {"client_encoding",    "datestyle",
                                       "timezone",           "standard_conforming_strings",
                                       "extra_float_digits", "application_name"};
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (word_is(key, keys[i]))
            return true;
    return false;
}

typedef int control_fn(void *arg, const char *db, struct lg_err *err);

/* Parse and run one statement into res->out. 1 = pending. */
static int run(const char *sql, struct admin_result *res, const struct admin_source *src,
               bool is_admin)
{
    struct strbuf *sb = &res->out;
    struct lexer lx = {sql};
    char cmd[MAX_WORD], arg[MAX_WORD];
    int w = lex_word(&lx, cmd, sizeof(cmd));
    if (w == 0 && at_end(&lx)) {
        admin_msg_empty_query(sb); /* as PostgreSQL answers "" */
        return 0;
    }
    if (w <= 0) {
        invalid(sb, sql);
        return 0;
    }
    if (word_is(cmd, "show")) {
        if (lex_word(&lx, arg, sizeof(arg)) != 1 || !at_end(&lx)) {
            invalid(sb, sql);
            return 0;
        }
        if (word_is(arg, "fds") && !is_admin) { /* cancel keys of every connection */
            admin_msg_error_ready(sb, "42501", "admin access needed");
            return 0;
        }
        int rc = admin_show(sb, arg, src);
        if (rc == 1)
            invalid(sb, sql);
        return rc < 0 ? rc : 0;
    }
    if (word_is(cmd, "set")) {
        char value[MAX_VALUE];
        if (lex_word(&lx, arg, sizeof(arg)) != 1) {
            invalid(sb, sql);
            return 0;
        }
        skip_space(&lx);
        if (*lx.p == '=') {
            lx.p++;
        } else {
            char to[4];
            if (lex_word(&lx, to, sizeof(to)) != 1 || !word_is(to, "to")) {
                invalid(sb, sql);
                return 0;
            }
        }
        if (lex_value(&lx, value, sizeof(value)) < 0 || !at_end(&lx)) {
            invalid(sb, sql);
            return 0;
        }
        if (is_session_param(arg)) {
            admin_msg_notice(sb, 'N', "NOTICE", "00000", "SET ignored", NULL);
            admin_msg_complete(sb, "SET");
            admin_msg_ready(sb);
            return 0;
        }
        if (!is_admin) {
            admin_msg_error_ready(sb, "42501", "admin access needed");
            return 0;
        }
        if (!src->set) {
            admin_msg_error_ready(sb, "0A000", "SET is not supported");
            return 0;
        }
        struct lg_err err = {"", ""};
        int rc = src->set(src->arg, arg, value, &err);
        char tag[MAX_WORD + 72];
        snprintf(tag, sizeof(tag), "SET %s=%.60s", arg, value);
        if (rc == -EINPROGRESS) {
            res->pending = true;
            snprintf(res->pending_tag, sizeof(res->pending_tag), "SET");
            return 1;
        }
        if (rc == -ENOTSUP) { /* ignored PgBouncer key: a warning, not an error */
            admin_msg_notice(sb, 'N', "WARNING", "01000", err.msg, NULL);
            admin_msg_complete(sb, "SET");
            admin_msg_ready(sb);
            return 0;
        }
        control_result(res, rc, tag, &err);
        return 0;
    }
    static const struct {
        const char *name;
        int arg; /* 0 none, 1 optional db, 2 required db */
    } cmds[] = {{"pause", 1},    {"resume", 1},  {"reconnect", 1}, {"kill", 2},      {"reload", 0},
                {"shutdown", 0}, {"disable", 2}, {"enable", 2},    {"wait_close", 1}};
    size_t k = 0;
    while (k < ARRAY_SIZE(cmds) && !word_is(cmd, cmds[k].name))
        k++;
    if (k == ARRAY_SIZE(cmds)) {
        invalid(sb, sql);
        return 0;
    }
    int has_db = cmds[k].arg ? lex_word(&lx, arg, sizeof(arg)) : 0;
    if (has_db < 0 || !at_end(&lx) || (cmds[k].arg == 2 && has_db != 1)) {
        invalid(sb, sql);
        return 0;
    }
    if (!is_admin) {
        admin_msg_error_ready(sb, "42501", "admin access needed");
        return 0;
    }
    char tag[32];
    size_t i;
    for (i = 0; cmds[k].name[i] && i + 1 < sizeof(tag); i++)
        tag[i] = cmds[k].name[i] == '_' ? '_' : (char)(cmds[k].name[i] - 'a' + 'A');
    tag[i] = '\0';
    struct lg_err err = {"", ""};
    const char *db = has_db == 1 ? arg : NULL;
    int rc;
    /* in cmds[] order; RELOAD and SHUTDOWN take no database */
    control_fn *const by_db[] = {src->pause, src->resume,  src->reconnect, src->kill,      NULL,
                                 NULL,       src->disable, src->enable,    src->wait_close};
    control_fn *fn = by_db[k];
    if (k != 4 && k != 5) {
        if (!fn)
            goto unsupported;
        rc = fn(src->arg, db, &err);
    } else if (k == 4) {
        if (!src->reload)
            goto unsupported;
        rc = src->reload(src->arg, &err);
    } else {
        if (!src->shutdown)
            goto unsupported;
        rc = src->shutdown(src->arg, &err);
    }
    if (rc == -EINPROGRESS) {
        res->pending = true;
        snprintf(res->pending_tag, sizeof(res->pending_tag), "%s", tag);
        snprintf(res->pending_db, sizeof(res->pending_db), "%s", db ? db : "");
        return 1;
    }
    control_result(res, rc, tag, &err);
    return 0;
unsupported:;
    char msg[64];
    snprintf(msg, sizeof(msg), "%s is not supported", tag);
    admin_msg_error_ready(sb, "0A000", msg);
    return 0;
}

/* ---- results ---- */

void admin_result_init(struct admin_result *r)
{
    strbuf_init(&r->out, ADMIN_MAX_RESULT_BYTES);
    r->sent = 0;
    r->pending = false;
    r->pending_tag[0] = '\0';
}

void admin_result_fini(struct admin_result *r)
{
    strbuf_fini(&r->out);
    r->sent = 0;
    r->pending = false;
}

int admin_handle_query(const char *sql, struct admin_result *r, const struct admin_source *src,
                       bool is_admin)
{
    LG_ASSERT(!r->pending);
    size_t mark = r->out.len;
    int rc = run(sql, r, src, is_admin);
    if (rc >= 0 && strbuf_status(&r->out) == 0)
        return rc;
    /* Too large or out of memory: drop this answer, keep earlier ones, say why. */
    int err = rc < 0 ? rc : strbuf_status(&r->out);
    r->out.err = 0;
    r->out.len = mark;
    if (r->out.data)
        r->out.data[mark] = '\0';
    r->pending = false;
    if (err == -ENOSPC)
        admin_msg_error_ready(&r->out, "54000", "result too large for the admin console");
    else
        admin_msg_error_ready(&r->out, "53200", "out of memory");
    if (strbuf_status(&r->out) < 0) {
        r->out.err = 0;
        r->out.len = mark;
        if (r->out.data)
            r->out.data[mark] = '\0';
        return -ENOMEM;
    }
    return 0;
}

void admin_result_complete(struct admin_result *r, const struct lg_err *err)
{
    if (!r->pending)
        return;
    r->pending = false;
    if (err)
        admin_msg_error_ready(&r->out, err->sqlstate[0] ? err->sqlstate : "XX000",
                              err->msg[0] ? err->msg : "command failed");
    else {
        admin_msg_complete(&r->out, r->pending_tag);
        admin_msg_ready(&r->out);
    }
}

int admin_result_drain(struct admin_result *r, struct buf *out)
{
    size_t left = r->out.len - r->sent;
    if (!left)
        return 0;
    if (buf_ensure(out) < 0)
        return -ENOMEM;
    if (buf_space(out) < left)
        buf_compact(out);
    size_t n = LG_MIN(left, buf_space(out));
    if (!n)
        return 0;
    if (buf_append(out, r->out.data + r->sent, n) < 0)
        return -ENOMEM;
    r->sent += n;
    if (r->sent == r->out.len) {
        strbuf_fini(&r->out); /* a big SHOW can be megabytes: do not keep it */
        r->sent = 0;
    }
    return (int)n;
}

bool admin_result_done(const struct admin_result *r)
{
    return !r->pending && r->sent == r->out.len;
}
