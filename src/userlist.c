/* SPDX-License-Identifier: MIT */
/*
 * userlist.c: PgBouncer's auth_file ("user" "secret" per line) parsed into a sorted
 * array, so a lookup is a binary search even with many thousands of users.
 * Pure except userlist_load(), which only reads the file. Never puts a secret into a
 * diagnostic. Invariant: names are unique and sorted; a later line for the same user
 * replaces an earlier one, as in PgBouncer.
 */
#include "userlist.h"

#include <errno.h>

#include "alloc.h"
#include "base.h"

#define MAX_NAME_BYTES   127  /* PgBouncer's MAX_USERNAME - 1; PostgreSQL's is 63 */
#define MAX_SECRET_BYTES 2047 /* PgBouncer's MAX_PASSWORD - 1; SCRAM secrets are ~140 */
#define MAX_FILE_BYTES   (64u << 20)

struct ul_entry {
    char *name;
    char *secret;
    int line; /* for the "listed again" warning */
};

struct userlist {
    struct ul_entry *v; /* sorted by name once parsing is done */
    size_t n, cap;
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Scan a quoted field whose opening quote was just before @p. Returns the position after
 * the closing quote, or NULL if the line ends first. *@n: the unquoted length. */
static const char *scan_quoted(const char *p, const char *end, size_t *n, bool *has_nul)
{
    size_t k = 0;
    while (p < end) {
        if (*p == '"') {
            if (p + 1 < end && p[1] == '"') {
                k++;
                p += 2;
                continue;
            }
            *n = k;
            return p + 1;
        }
        if (*p == '\0')
            *has_nul = true;
        k++;
        p++;
    }
    return NULL;
}

/* Copy the @n unquoted bytes of the field starting at @p ("" becomes "). */
static char *copy_quoted(const char *p, size_t n)
{
    char *s = lg_malloc(n + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        s[i] = *p;
        p += (*p == '"') ? 2 : 1;
    }
    s[n] = '\0';
    return s;
}

/* One line [@p, @end). 0 (also for a reported malformed line) or -ENOMEM. */
static int parse_line(struct userlist *ul, const char *p, const char *end, const char *file,
                      int line, struct cfg_diag *diag)
{
    const char *name_at, *secret_at;
    size_t name_n = 0, secret_n = 0;
    bool has_nul = false;

    while (p < end && is_blank(*p))
        p++;
    if (p == end || *p == ';' || *p == '#')
        return 0;
    if (*p != '"')
        goto malformed;
    name_at = ++p;
    if (!(p = scan_quoted(p, end, &name_n, &has_nul)))
        goto malformed;
    while (p < end && is_blank(*p))
        p++;
    if (p == end || *p != '"')
        goto malformed;
    secret_at = ++p;
    if (!scan_quoted(p, end, &secret_n, &has_nul))
        goto malformed;
    /* Anything after the second field is ignored, like PgBouncer. */

    if (has_nul) {
        cfg_diag_add(diag, true, file, line, "NUL byte in line; line ignored");
        return 0;
    }
    if (name_n == 0 || name_n > MAX_NAME_BYTES) {
        cfg_diag_add(diag, true, file, line, "user name %s; line ignored",
                     name_n ? "longer than 127 bytes" : "is empty");
        return 0;
    }
    if (secret_n > MAX_SECRET_BYTES) {
        cfg_diag_add(diag, true, file, line, "password longer than %d bytes; line ignored",
                     MAX_SECRET_BYTES);
        return 0;
    }
    if (ul->n == ul->cap) {
        size_t cap = ul->cap ? ul->cap * 2 : 16;
        struct ul_entry *v = lg_realloc(ul->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        ul->v = v;
        ul->cap = cap;
    }
    struct ul_entry e = {copy_quoted(name_at, name_n), copy_quoted(secret_at, secret_n), line};
    if (!e.name || !e.secret) {
        lg_free(e.name);
        lg_free(e.secret);
        return -ENOMEM;
    }
    ul->v[ul->n++] = e;
    return 0;

malformed:
    cfg_diag_add(diag, true, file, line, "malformed line: expected \"user\" \"password\"");
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct ul_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Sort by name, then line; of each run of one name keep the last line. */
static void sort_dedupe(struct userlist *ul, const char *file, struct cfg_diag *diag)
{
    size_t w = 0;
    if (!ul->n)
        return;
    qsort(ul->v, ul->n, sizeof(*ul->v), cmp_entry);
    for (size_t i = 0; i < ul->n; i++) {
        if (i + 1 < ul->n && strcmp(ul->v[i].name, ul->v[i + 1].name) == 0) {
            cfg_diag_add(diag, false, file, ul->v[i + 1].line,
                         "user \"%.64s\" is listed again; this line replaces line %d",
                         ul->v[i].name, ul->v[i].line);
            lg_free(ul->v[i].name);
            lg_free(ul->v[i].secret);
            continue;
        }
        ul->v[w++] = ul->v[i];
    }
    ul->n = w;
}

struct userlist *userlist_parse(const char *text, size_t len, const char *file,
                                struct cfg_diag *diag)
{
    struct userlist *ul = lg_calloc(1, sizeof(*ul));
    size_t pos = 0;
    bool was_oom = diag->oom;
    if (!file)
        file = "auth_file";
    if (!ul)
        goto oom;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) /* UTF-8 byte order mark */
        pos = 3;
    for (int line = 1; pos < len; line++) {
        const char *p = text + pos;
        const char *nl = memchr(p, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - p) : len - pos;
        pos += n + 1;
        if (parse_line(ul, p, p + n, file, line, diag) < 0)
            goto oom;
    }
    sort_dedupe(ul, file, diag);
    if (diag->oom && !was_oom) /* a diagnostic was lost: do not pretend all is well */
        goto oom;
    return ul;
oom:
    cfg_diag_add(diag, true, file, 0, "out of memory");
    userlist_free(ul);
    return NULL;
}

struct userlist *userlist_load(const char *path, struct cfg_diag *diag)
{
    char *text;
    size_t len;
    int rc = cfg_read_file(path, MAX_FILE_BYTES, &text, &len);
    if (rc < 0) {
        cfg_diag_add(diag, true, path, 0, "cannot read auth_file: %s", strerror(-rc));
        return NULL;
    }
    struct userlist *ul = userlist_parse(text, len, path, diag);
    lg_free(text);
    return ul;
}

void userlist_free(struct userlist *ul)
{
    if (!ul)
        return;
    for (size_t i = 0; i < ul->n; i++) {
        lg_free(ul->v[i].name);
        lg_free(ul->v[i].secret);
    }
    lg_free(ul->v);
    lg_free(ul);
}

static int cmp_name(const void *key, const void *elem)
{
    return strcmp(key, ((const struct ul_entry *)elem)->name);
}

const char *userlist_lookup(const struct userlist *ul, const char *user)
{
    if (!ul || !ul->n || !user)
        return NULL;
    const struct ul_entry *e = bsearch(user, ul->v, ul->n, sizeof(*ul->v), cmp_name);
    return e ? e->secret : NULL;
}

size_t userlist_count(const struct userlist *ul)
{
    return ul ? ul->n : 0;
}
