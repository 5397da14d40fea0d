/* SPDX-License-Identifier: MIT */
/*
 * cfg.c: reads PgBouncer-style ini text into a struct config: sections, key = value
 * lines, [databases]/[users] connection strings and the cross-key checks, collecting
 * every diagnostic with file:line; also copies (cfg_dup), SET and the RELOAD key diff.
 * Not here: what each key means (cfg_keys.c, cfg_value.c), files, %include and the
 * environment (cfg_load.c). Pure: no I/O, no globals, no clock.
 * Invariant: a config is returned only if no error was seen.
 */
#include "cfg.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <strings.h>

#include "alloc.h"
#include "base.h"
#include "cfg_internal.h"
#include "cfg_keys.h"

void cfg_ctx_oom(struct cfg_parse_ctx *ctx, const char *file, int line)
{
    if (!ctx->oom)
        cfg_diag_add(ctx->diag, true, file, line, "out of memory");
    ctx->oom = true;
}

#define PGB_RESERVE_POOL_TIMEOUT_US 5000000u /* PgBouncer's reserve_pool_timeout default */

static bool is_space(char c)
{
    return isspace((unsigned char)c) != 0;
}

char *cfg_skip_space(char *p)
{
    while (is_space(*p))
        p++;
    return p;
}

void cfg_trim_end(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        s[--n] = '\0';
}

/* Lower-case @s into @buf (at most @size - 1 bytes); false if it does not fit. */
bool cfg_lower_copy(const char *s, char *buf, size_t size)
{
    size_t n = strlen(s);
    if (n >= size)
        return false;
    for (size_t i = 0; i <= n; i++)
        buf[i] = (char)tolower((unsigned char)s[i]);
    return true;
}

/* ---- [lifeguard] keys ---------------------------------------------------------------- */

static void set_main(struct cfg_parse_ctx *ctx, const char *key, const char *val, const char *file,
                     int line)
{
    char lk[64];
    const struct cfg_key *k =
            cfg_lower_copy(key, lk, sizeof(lk)) ? cfg_key_find(cfg_keys, lk) : NULL;
    if (!k) {
        const char *hint =
                cfg_lower_copy(key, lk, sizeof(lk)) ? cfg_key_suggest(cfg_keys, lk) : NULL;
        cfg_diag_add(ctx->diag, true, file, line, "unknown setting \"%.64s\"%s%s%s", key,
                     hint ? " (did you mean " : "", hint ? hint : "", hint ? "?)" : "");
        return;
    }
    size_t idx = (size_t)(k - cfg_keys);
    if (k->type == CFG_T_PGBOUNCER) {
        if (!ctx->locs[idx].line)
            cfg_diag_add(ctx->diag, false, file, line,
                         "pgbouncer setting %s is not implemented by lifeguard; ignored", k->name);
        ctx->locs[idx] = (struct cfg_loc){file, line};
        return;
    }
    if (strcmp(lk, "reserve_pool_size") == 0)
        ctx->pgb_reserve = true;
    k = cfg_key_resolve(cfg_keys, k);
    int rc = cfg_value_set(ctx->cfg, k, lk, val, ctx->diag, file, line);
    if (rc == -ENOMEM)
        cfg_ctx_oom(ctx, file, line);
    else if (rc == 0)
        ctx->locs[k - cfg_keys] = (struct cfg_loc){file, line};
}

/* ---- [databases] and [users]: libpq-style "key=value key='quoted value'" ------------- */

/* Parse the pairs in @s (modified in place) into @base via @table. @what names the entry
 * in messages ("database \"app\""). False on a syntax error or out of memory. */
static bool parse_pairs(struct cfg_parse_ctx *ctx, const struct cfg_key *table, void *base,
                        const char *what, char *s, const char *file, int line)
{
    for (;;) {
        s = cfg_skip_space(s);
        if (!*s)
            return true;
        char *key = s;
        while (*s && *s != '=' && !is_space(*s))
            s++;
        char *key_end = s;
        s = cfg_skip_space(s);
        if (*s != '=' || key_end == key) {
            cfg_diag_add(ctx->diag, true, file, line, "%s: syntax error: expected key=value", what);
            return false;
        }
        *key_end = '\0';
        s = cfg_skip_space(s + 1);
        char *val;
        if (*s == '\'') {
            char *w = val = ++s;
            for (;;) {
                if (!*s) {
                    cfg_diag_add(ctx->diag, true, file, line,
                                 "%s: %.64s: unterminated quoted value", what, key);
                    return false;
                }
                if (*s == '\'' && s[1] == '\'') {
                    *w++ = '\'';
                    s += 2;
                } else if (*s == '\'') {
                    s++;
                    break;
                } else {
                    *w++ = *s++;
                }
            }
            if (*s && !is_space(*s)) {
                cfg_diag_add(ctx->diag, true, file, line,
                             "%s: %.64s: expected a space after the quoted value", what, key);
                return false;
            }
            *w = '\0'; /* w < s: the closing quote was consumed */
        } else {
            val = s;
            while (*s && !is_space(*s))
                s++;
            if (val == s) {
                cfg_diag_add(ctx->diag, true, file, line, "%s: %.64s: missing value", what, key);
                return false;
            }
            if (*s)
                *s++ = '\0';
        }
        char lk[64], shown[200];
        const struct cfg_key *k =
                cfg_lower_copy(key, lk, sizeof(lk)) ? cfg_key_find(table, lk) : NULL;
        if (!k) {
            cfg_diag_add(ctx->diag, true, file, line, "%s: unknown parameter \"%.64s\"", what, key);
            continue;
        }
        if (k->type == CFG_T_PGBOUNCER) {
            cfg_diag_add(ctx->diag, false, file, line,
                         "%s: pgbouncer parameter %s is not implemented by lifeguard; ignored",
                         what, k->name);
            continue;
        }
        if (strcmp(lk, "reserve_pool") == 0)
            ctx->pgb_reserve = true;
        k = cfg_key_resolve(table, k);
        snprintf(shown, sizeof(shown), "%s: %s", what, lk);
        if (cfg_value_set(base, k, shown, val, ctx->diag, file, line) == -ENOMEM) {
            cfg_ctx_oom(ctx, file, line);
            return false;
        }
    }
}

/* [databases] and [users] entries differ only in their parameters and unset values. Both
 * structs start with their name; the arrays grow through 4, 8, 16, ... entries. */
struct entry_kind {
    const char *what;
    const struct cfg_key *params;
    const void *unset;
    size_t size, arr_off, n_off; /* sizeof the entry; offsetof the array and count */
};
_Static_assert(offsetof(struct db_entry, name) == 0, "a db_entry starts with its name");
_Static_assert(offsetof(struct user_entry, name) == 0, "a user_entry starts with its name");

static const struct db_entry db_unset = {.port = 5432,
                                         .pool_size = -1,
                                         .min_pool_size = -1,
                                         .max_overflow = -1,
                                         .max_db_connections = -1,
                                         .server_lifetime_us = CFG_UNSET_US,
                                         .pool_mode = -1};
static const struct user_entry user_unset = {
        .pool_mode = -1, .pool_size = -1, .max_user_connections = -1};
static const struct entry_kind db_kind = {"database",
                                          cfg_db_params,
                                          &db_unset,
                                          sizeof(struct db_entry),
                                          offsetof(struct config, dbs),
                                          offsetof(struct config, n_dbs)};
static const struct entry_kind user_kind = {"user",
                                            cfg_user_params,
                                            &user_unset,
                                            sizeof(struct user_entry),
                                            offsetof(struct config, users),
                                            offsetof(struct config, n_users)};

/* The array and count of @kind in @c (memcpy: the field is a typed struct pointer). */
static char *entries(const struct entry_kind *kind, const struct config *c, size_t **n)
{
    char *arr;
    memcpy(&arr, (const char *)c + kind->arr_off, sizeof(arr));
    *n = (size_t *)((char *)c + kind->n_off);
    return arr;
}

static void set_entries(const struct entry_kind *kind, struct config *c, char *arr)
{
    memcpy((char *)c + kind->arr_off, &arr, sizeof(arr));
}

static void entry_clear(const struct entry_kind *kind, void *e)
{
    lg_free(*(char **)e);
    *(char **)e = NULL;
    cfg_table_free(e, kind->params);
}

static void free_entries(const struct entry_kind *kind, struct config *c)
{
    size_t *n;
    char *arr = entries(kind, c, &n);
    for (size_t i = 0; i < *n; i++)
        entry_clear(kind, arr + i * kind->size);
    lg_free(arr);
    set_entries(kind, c, NULL);
    *n = 0;
}

static void parse_entry(struct cfg_parse_ctx *ctx, const struct entry_kind *kind, const char *name,
                        char *val, const char *file, int line)
{
    union {
        struct db_entry db;
        struct user_entry user;
    } u;
    void *e = &u;
    char what[128];
    size_t *n;
    char *arr = entries(kind, ctx->cfg, &n);

    snprintf(what, sizeof(what), "%s \"%.64s\"", kind->what, name);
    if (kind == &db_kind && (!strcmp(name, "lifeguard") || !strcmp(name, "pgbouncer"))) {
        cfg_diag_add(ctx->diag, true, file, line, "%s: the name is reserved for the admin console",
                     what);
        return;
    }
    memcpy(e, kind->unset, kind->size);
    int errors = ctx->diag->errors;
    if (!parse_pairs(ctx, kind->params, e, what, val, file, line) || ctx->diag->errors != errors)
        goto drop;
    if (!(*(char **)e = lg_strdup(name)))
        goto oom;
    for (size_t i = 0; i < *n; i++) {
        char *old = arr + i * kind->size;
        if (strcmp(*(char **)old, name) == 0) {
            cfg_diag_add(ctx->diag, false, file, line,
                         "%s is defined again; this definition replaces the earlier one", what);
            entry_clear(kind, old);
            memcpy(old, e, kind->size);
            return;
        }
    }
    if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) { /* full */
        char *p = lg_realloc(arr, (*n ? *n * 2 : 4) * kind->size);
        if (!p)
            goto oom;
        set_entries(kind, ctx->cfg, arr = p);
    }
    memcpy(arr + *n * kind->size, e, kind->size);
    (*n)++;
    return;
oom:
    cfg_ctx_oom(ctx, file, line);
drop:
    entry_clear(kind, e);
}

/* Deep copy of the entries of @kind from @src into @dst, whose array is not its own yet.
 * 0 or -ENOMEM (then @dst holds only what was copied, safe to free). */
static int dup_entries(const struct entry_kind *kind, struct config *dst, const struct config *src)
{
    size_t *n, *dn;
    const char *from = entries(kind, src, &n);
    char *to;
    entries(kind, dst, &dn);
    *dn = 0;
    set_entries(kind, dst, NULL);
    if (!*n)
        return 0;
    if (!(to = lg_calloc(*n, kind->size)))
        return -ENOMEM;
    set_entries(kind, dst, to);
    for (size_t i = 0; i < *n; i++) {
        void *d = to + i * kind->size;
        const void *s = from + i * kind->size;
        memcpy(d, s, kind->size);
        *(char **)d = NULL;
        *dn = i + 1;
        if (cfg_table_dup_strings(d, s, kind->params) < 0 ||
            !(*(char **)d = lg_strdup(*(char *const *)s)))
            return -ENOMEM;
    }
    return 0;
}

/* ---- ini lines ------------------------------------------------------------------------ */

static void parse_section(struct cfg_parse_ctx *ctx, char *p, const char *file, int line)
{
    char *end = strchr(p, ']');
    if (!end) {
        cfg_diag_add(ctx->diag, true, file, line, "section header without ']'");
        ctx->section = CFG_SEC_SKIP;
        return;
    }
    *end = '\0';
    char *rest = cfg_skip_space(end + 1);
    if (*rest && *rest != ';' && *rest != '#')
        cfg_diag_add(ctx->diag, true, file, line, "unexpected text after [%.64s]", p + 1);
    char *name = cfg_skip_space(p + 1);
    cfg_trim_end(name);
    if (!strcasecmp(name, "lifeguard") || !strcasecmp(name, "pgbouncer")) {
        ctx->section = CFG_SEC_MAIN;
    } else if (!strcasecmp(name, "databases")) {
        ctx->section = CFG_SEC_DATABASES;
    } else if (!strcasecmp(name, "users")) {
        ctx->section = CFG_SEC_USERS;
    } else if (!strcasecmp(name, "peers")) {
        cfg_diag_add(ctx->diag, false, file, line,
                     "[peers] is not supported by lifeguard; section ignored");
        ctx->section = CFG_SEC_SKIP;
    } else {
        cfg_diag_add(ctx->diag, true, file, line,
                     "unknown section [%.64s] (expected lifeguard, pgbouncer, databases, users)",
                     name);
        ctx->section = CFG_SEC_SKIP;
    }
}

/* %include: cfg_load follows it through ctx->include; cfg_parse stays pure. */
static void include(struct cfg_parse_ctx *ctx, char *arg, const char *file, int line, int depth)
{
    if (!ctx->include) {
        cfg_diag_add(ctx->diag, false, file, line, "%%include is not followed here; ignored");
        return;
    }
    ctx->include(ctx, arg, file, line, depth);
}

static bool is_key_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-' || c == '*';
}

static void parse_line(struct cfg_parse_ctx *ctx, char *p, const char *file, int line, int depth)
{
    cfg_trim_end(p);
    p = cfg_skip_space(p);
    if (!*p || *p == ';' || *p == '#')
        return;
    if (*p == '[') {
        parse_section(ctx, p, file, line);
        return;
    }
    if (*p == '%') {
        if (strncmp(p, "%include", 8) == 0 && (!p[8] || is_space(p[8])))
            include(ctx, cfg_skip_space(p + 8), file, line, depth);
        else
            cfg_diag_add(ctx->diag, true, file, line, "unknown directive %.64s", p);
        return;
    }
    /* key: PgBouncer's characters, or a double-quoted name ("" is a quote) */
    char *key = p, *key_end;
    if (*p == '"') {
        char *w = key = ++p;
        for (;;) {
            if (!*p) {
                cfg_diag_add(ctx->diag, true, file, line, "unterminated quoted name");
                return;
            }
            if (*p == '"' && p[1] == '"') {
                *w++ = '"';
                p += 2;
            } else if (*p == '"') {
                p++;
                break;
            } else {
                *w++ = *p++;
            }
        }
        key_end = w;
    } else {
        while (is_key_char(*p))
            p++;
        key_end = p;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '=' || key_end == key) {
        cfg_diag_add(ctx->diag, true, file, line, "syntax error: expected key = value");
        return;
    }
    *key_end = '\0';
    char *val = cfg_skip_space(p + 1);

    switch (ctx->section) {
    case CFG_SEC_NONE:
        cfg_diag_add(ctx->diag, true, file, line,
                     "\"%.64s\" is outside any section (start with [lifeguard])", key);
        break;
    case CFG_SEC_MAIN:
        set_main(ctx, key, val, file, line);
        break;
    case CFG_SEC_DATABASES:
        parse_entry(ctx, &db_kind, key, val, file, line);
        break;
    case CFG_SEC_USERS:
        parse_entry(ctx, &user_kind, key, val, file, line);
        break;
    case CFG_SEC_SKIP:
        break;
    }
}

void cfg_ctx_parse_text(struct cfg_parse_ctx *ctx, const char *text, size_t len, const char *file,
                        int depth)
{
    char *buf = lg_malloc(len + 1);
    if (!buf) {
        cfg_ctx_oom(ctx, file, 0);
        return;
    }
    if (len) /* text may be NULL when len is 0 */
        memcpy(buf, text, len);
    buf[len] = '\0';
    size_t pos = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) /* UTF-8 byte order mark */
        pos = 3;
    for (int line = 1; pos < len && !ctx->oom; line++) {
        char *p = buf + pos;
        char *nl = memchr(p, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - p) : len - pos;
        p[n] = '\0';
        pos += n + 1;
        if (strlen(p) != n)
            cfg_diag_add(ctx->diag, true, file, line, "NUL byte in line");
        else
            parse_line(ctx, p, file, line, depth);
    }
    lg_free(buf);
}

/* ---- validation and entry points ---------------------------------------------------- */

static struct cfg_loc loc_of(const struct cfg_loc *locs, const char *key, const char *deffile)
{
    const struct cfg_key *k = cfg_key_find(cfg_keys, key);
    if (locs && k && locs[k - cfg_keys].file)
        return locs[k - cfg_keys];
    return (struct cfg_loc){deffile, 0};
}

/* Rules between keys, checked once everything is set. Warnings only when @warn. */
void cfg_validate(const struct config *c, struct cfg_diag *d, const struct cfg_loc *locs,
                  const char *deffile, bool warn)
{
    struct cfg_loc l;
    if (c->auth_type == AUTH_TYPE_PLAIN && !c->auth_plain_allowed) {
        l = loc_of(locs, "auth_type", deffile);
        cfg_diag_add(d, true, l.file, l.line,
                     "auth_type = plain sends passwords in cleartext; "
                     "set auth_plain_allowed = 1 to allow it");
    }
    if (c->server_login_retry_max_us < c->server_login_retry_base_us) {
        l = loc_of(locs, "server_login_retry_max", deffile);
        cfg_diag_add(d, true, l.file, l.line,
                     "server_login_retry_max is smaller than server_login_retry_base");
    }
    if ((!c->listen_addr || !*c->listen_addr) && (!c->unix_socket_dir || !*c->unix_socket_dir)) {
        l = loc_of(locs, "listen_addr", deffile);
        cfg_diag_add(d, true, l.file, l.line,
                     "listen_addr and unix_socket_dir are both empty: nothing to listen on");
    }
    if (c->client_tls_sslmode && strncmp(c->client_tls_sslmode, "verify", 6) == 0 &&
        (!c->client_tls_ca_file || !*c->client_tls_ca_file)) {
        l = loc_of(locs, "client_tls_sslmode", deffile);
        cfg_diag_add(d, true, l.file, l.line, "client_tls_sslmode = %s needs client_tls_ca_file",
                     c->client_tls_sslmode);
    }
    if (c->auth_type == AUTH_TYPE_CERT &&
        (!c->client_tls_sslmode || strncmp(c->client_tls_sslmode, "verify", 6) != 0)) {
        l = loc_of(locs, "auth_type", deffile);
        cfg_diag_add(d, true, l.file, l.line,
                     "auth_type = cert needs client_tls_sslmode = verify-ca or verify-full");
    }
    if (c->auth_type == AUTH_TYPE_HBA && (!c->auth_hba_file || !*c->auth_hba_file)) {
        l = loc_of(locs, "auth_type", deffile);
        cfg_diag_add(d, true, l.file, l.line, "auth_type = hba needs auth_hba_file");
    }
    if (c->client_tls_sslmode && strcmp(c->client_tls_sslmode, "disable") != 0 &&
        (!c->client_tls_cert_file || !*c->client_tls_cert_file || !c->client_tls_key_file ||
         !*c->client_tls_key_file)) {
        l = loc_of(locs, "client_tls_sslmode", deffile);
        cfg_diag_add(d, true, l.file, l.line,
                     "client_tls_sslmode = %s needs client_tls_cert_file and client_tls_key_file",
                     c->client_tls_sslmode);
    }
    if (!warn)
        return;
    if (c->auth_type != AUTH_TYPE_TRUST && c->auth_type != AUTH_TYPE_ANY && !c->auth_file &&
        !c->auth_user) {
        l = loc_of(locs, "auth_type", deffile);
        cfg_diag_add(d, false, l.file, l.line,
                     "auth_type is not trust but neither auth_file nor auth_user is set: "
                     "no client can log in");
    }
    if (c->min_pool_size > c->default_pool_size) {
        l = loc_of(locs, "min_pool_size", deffile);
        cfg_diag_add(d, false, l.file, l.line, "min_pool_size (%d) exceeds default_pool_size (%d)",
                     c->min_pool_size, c->default_pool_size);
    }
}

static int cmp_db(const void *a, const void *b)
{
    return strcmp(((const struct db_entry *)a)->name, ((const struct db_entry *)b)->name);
}

static int cmp_user(const void *a, const void *b)
{
    return strcmp(((const struct user_entry *)a)->name, ((const struct user_entry *)b)->name);
}

int cfg_ctx_init(struct cfg_parse_ctx *ctx, struct cfg_diag *diag, const char *file)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->diag = diag;
    ctx->section = CFG_SEC_NONE;
    ctx->cfg = lg_calloc(1, sizeof(*ctx->cfg));
    ctx->locs = lg_calloc(cfg_keys_count(), sizeof(*ctx->locs));
    if (!ctx->cfg || !ctx->locs || cfg_table_defaults(ctx->cfg, cfg_keys) < 0) {
        cfg_ctx_oom(ctx, file, 0);
        return -ENOMEM;
    }
    return 0;
}

/* Check, sort, and hand over the config, or free it if anything went wrong. */
struct config *cfg_ctx_finish(struct cfg_parse_ctx *ctx, int errors_before, const char *file)
{
    struct config *c = ctx->cfg;
    if (c && !ctx->oom && !ctx->unreadable) {
        /* A PgBouncer ini's reserve pool waits reserve_pool_timeout, 5 s unless set, before
         * it is used; lifeguard's own max_overflow is used at once (overflow_delay 0). */
        const struct cfg_key *delay = cfg_key_find(cfg_keys, "overflow_delay");
        c->overflow_delay_given = delay && ctx->locs[delay - cfg_keys].file;
        if (ctx->pgb_reserve && !c->overflow_delay_given)
            c->overflow_delay_us = PGB_RESERVE_POOL_TIMEOUT_US;
        cfg_validate(c, ctx->diag, ctx->locs, file, true);
        if (c->n_dbs) /* qsort(NULL, 0, ...) is undefined */
            qsort(c->dbs, c->n_dbs, sizeof(*c->dbs), cmp_db);
        if (c->n_users)
            qsort(c->users, c->n_users, sizeof(*c->users), cmp_user);
    }
    if (ctx->oom || ctx->diag->errors != errors_before) { /* a lost line counts as an error */
        cfg_free(c);
        c = NULL;
    }
    for (size_t i = 0; i < ctx->n_files; i++)
        lg_free(ctx->files[i]);
    lg_free(ctx->files);
    lg_free(ctx->locs);
    return c;
}

struct config *cfg_parse(const char *text, size_t len, const char *file, struct cfg_diag *diag)
{
    struct cfg_parse_ctx ctx;
    int errors = diag->errors;
    if (!file)
        file = "config";
    if (cfg_ctx_init(&ctx, diag, file) == 0)
        cfg_ctx_parse_text(&ctx, text, len, file, 0);
    return cfg_ctx_finish(&ctx, errors, file);
}

void cfg_free(struct config *cfg)
{
    if (!cfg)
        return;
    free_entries(&db_kind, cfg);
    free_entries(&user_kind, cfg);
    cfg_table_free(cfg, cfg_keys);
    lg_free(cfg);
}

struct config *cfg_dup(const struct config *cfg)
{
    struct config *c = lg_malloc(sizeof(*c));
    if (!c)
        return NULL;
    *c = *cfg;
    /* Each step makes its part of @c its own (or NULL) even when it fails, so all three
     * must run before @c may be freed. */
    int dbs = dup_entries(&db_kind, c, cfg);
    int users = dup_entries(&user_kind, c, cfg);
    int strings = cfg_table_dup_strings(c, cfg, cfg_keys);
    if (dbs < 0 || users < 0 || strings < 0) {
        cfg_free(c);
        return NULL;
    }
    return c;
}

int cfg_set(struct config *cfg, const char *key, const char *value, struct cfg_diag *diag)
{
    char lk[64];
    int errors = diag->errors;
    const struct cfg_key *k =
            cfg_lower_copy(key, lk, sizeof(lk)) ? cfg_key_find(cfg_keys, lk) : NULL;
    if (!k) {
        cfg_diag_add(diag, true, "SET", 0, "unknown setting \"%.64s\"", key);
        return -ENOENT;
    }
    if (k->type == CFG_T_PGBOUNCER) { /* accepted and ignored, as in the ini file */
        cfg_diag_add(diag, false, "SET", 0, "lifeguard does not implement \"%.64s\"", key);
        return -ENOTSUP;
    }
    k = cfg_key_resolve(cfg_keys, k);
    if (k->flags & CFG_RESTART) {
        cfg_diag_add(diag, true, "SET", 0, "%s can only be changed by a restart", k->name);
        return -EPERM;
    }
    int rc = cfg_value_set(cfg, k, lk, value, diag, "SET", 0);
    if (rc < 0)
        return rc;
    if (strcmp(k->name, "overflow_delay") == 0)
        cfg->overflow_delay_given = true;
    else if (strcmp(lk, "reserve_pool_size") == 0 && !cfg->overflow_delay_given)
        cfg->overflow_delay_us = PGB_RESERVE_POOL_TIMEOUT_US; /* as in the ini file */
    cfg_validate(cfg, diag, NULL, "SET", false);
    return diag->errors != errors ? -EINVAL : 0;
}

int cfg_keep_restart_keys(struct config *next, const struct config *cur, struct cfg_diag *diag)
{
    int kept = 0;
    for (const struct cfg_key *k = cfg_keys; k->name; k++) {
        if (!cfg_key_is_real(k) || !(k->flags & CFG_RESTART) || cfg_value_equal(next, cur, k))
            continue;
        char a[64], b[64];
        const char *was = cfg_value_render(cur, k, a, sizeof(a));
        const char *now = cfg_value_render(next, k, b, sizeof(b));
        cfg_diag_add(
                diag, false, "reload", 0,
                "%s changed from \"%.100s\" to \"%.100s\": needs a restart, keeping \"%.100s\"",
                k->name, was, now, was);
        if (cfg_value_copy(next, cur, k) < 0)
            return -ENOMEM;
        kept++;
    }
    return kept;
}

const struct db_entry *cfg_find_db(const struct config *cfg, const char *dbname)
{
    struct db_entry key = {.name = (char *)dbname};
    const struct db_entry *e;
    if (!cfg->n_dbs)
        return NULL;
    e = bsearch(&key, cfg->dbs, cfg->n_dbs, sizeof(*cfg->dbs), cmp_db);
    if (!e) {
        key.name = (char *)"*";
        e = bsearch(&key, cfg->dbs, cfg->n_dbs, sizeof(*cfg->dbs), cmp_db);
    }
    return e;
}

const struct user_entry *cfg_find_user(const struct config *cfg, const char *user)
{
    struct user_entry key = {.name = (char *)user};
    if (!cfg->n_users)
        return NULL;
    return bsearch(&key, cfg->users, cfg->n_users, sizeof(*cfg->users), cmp_user);
}

bool cfg_list_contains(const char *list, const char *name)
{
    size_t n = strlen(name);
    if (!list)
        return false;
    while (*list) {
        while (*list == ',' || is_space(*list))
            list++;
        const char *start = list;
        while (*list && *list != ',')
            list++;
        const char *end = list;
        while (end > start && is_space(end[-1]))
            end--;
        if (end > start && (size_t)(end - start) == n && memcmp(start, name, n) == 0)
            return true;
    }
    return false;
}
