/* SPDX-License-Identifier: MIT */
/*
 * hba.c: pg_hba.conf parsing and first-match evaluation. Rules are kept in file order;
 * database and user lists are stored as one NUL-separated block per rule.
 * Invariant: a connection no rule matches is rejected.
 */
#include "hba.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "base.h"

enum conn_type { CT_LOCAL, CT_HOST, CT_HOSTSSL, CT_HOSTNOSSL };

struct rule {
    enum conn_type type;
    char *dbs;   /* comma-separated as written */
    char *users; /* comma-separated as written */
    bool any_addr;
    int family; /* AF_INET or AF_INET6 when !any_addr (host rules) */
    uint8_t addr[16], mask[16];
    enum hba_method method;
    int line;
};

struct hba {
    struct rule *v;
    size_t n, cap;
};

static const char *const method_names[] = {"trust",    "reject", "md5", "scram-sha-256",
                                           "password", "peer",   "cert"};

const char *hba_method_name(enum hba_method m)
{
    return method_names[m];
}

size_t hba_count(const struct hba *h)
{
    return h->n;
}

void hba_free(struct hba *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++) {
        lg_free(h->v[i].dbs);
        lg_free(h->v[i].users);
    }
    lg_free(h->v);
    lg_free(h);
}

/* Split @line into whitespace-separated tokens (quotes keep spaces); up to @max. */
static int tokenize(char *line, char **tok, int max)
{
    int n = 0;
    char *p = line;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            break;
        if (n == max)
            return -1;
        if (*p == '"') {
            tok[n++] = ++p;
            while (*p && *p != '"')
                p++;
            if (*p)
                *p++ = '\0';
        } else {
            tok[n++] = p;
            while (*p && *p != ' ' && *p != '\t' && *p != '#')
                p++;
            if (*p == '#') {
                *p = '\0';
                break;
            }
            if (*p)
                *p++ = '\0';
        }
    }
    return n;
}

static bool parse_mask_bits(int family, int bits, uint8_t *mask)
{
    int max = family == AF_INET ? 32 : 128;
    if (bits < 0 || bits > max)
        return false;
    memset(mask, 0, 16);
    for (int i = 0; i < bits; i++)
        mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
    return true;
}

static bool parse_addr(const char *s, int *family, uint8_t *out)
{
    memset(out, 0, 16);
    if (inet_pton(AF_INET, s, out) == 1) {
        *family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, out) == 1) {
        *family = AF_INET6;
        return true;
    }
    return false;
}

static int parse_method(const char *s)
{
    for (size_t i = 0; i < ARRAY_SIZE(method_names); i++)
        if (strcmp(s, method_names[i]) == 0)
            return (int)i;
    return -1;
}

static bool parse_line(struct rule *r, char *text, int lineno, const char *file, struct cfg_diag *d)
{
    char *tok[8];
    int n = tokenize(text, tok, 8);
    if (n == 0)
        return true; /* blank or comment: caller skips when r->line stays 0 */
    if (n < 0) {
        cfg_diag_add(d, true, file, lineno, "too many fields (options are not supported)");
        return false;
    }
    if (strcmp(tok[0], "local") == 0)
        r->type = CT_LOCAL;
    else if (strcmp(tok[0], "host") == 0)
        r->type = CT_HOST;
    else if (strcmp(tok[0], "hostssl") == 0)
        r->type = CT_HOSTSSL;
    else if (strcmp(tok[0], "hostnossl") == 0)
        r->type = CT_HOSTNOSSL;
    else {
        cfg_diag_add(d, true, file, lineno, "unknown connection type \"%s\"", tok[0]);
        return false;
    }
    int need = r->type == CT_LOCAL ? 4 : 5;
    if (n < need) {
        cfg_diag_add(d, true, file, lineno, "missing fields (need %d)", need);
        return false;
    }
    if (tok[1][0] == '@' || tok[2][0] == '@' || tok[2][0] == '+') {
        cfg_diag_add(d, true, file, lineno, "@files and +groups are not supported");
        return false;
    }
    int mi = 3;
    if (r->type != CT_LOCAL) {
        char *a = tok[3];
        if (strcmp(a, "all") == 0) {
            r->any_addr = true;
            mi = 4;
        } else {
            char *slash = strchr(a, '/');
            if (slash)
                *slash = '\0';
            if (!parse_addr(a, &r->family, r->addr)) {
                cfg_diag_add(d, true, file, lineno,
                             "address \"%s\" is not an IP address (host names, samehost and "
                             "samenet are not supported)",
                             a);
                return false;
            }
            if (slash) {
                char *end;
                long bits = strtol(slash + 1, &end, 10);
                if (*end || !parse_mask_bits(r->family, (int)bits, r->mask)) {
                    cfg_diag_add(d, true, file, lineno, "invalid CIDR mask \"%s\"", slash + 1);
                    return false;
                }
                mi = 4;
            } else {
                int mf;
                if (n < 6 || !parse_addr(tok[4], &mf, r->mask) || mf != r->family) {
                    cfg_diag_add(d, true, file, lineno, "an address needs /bits or a mask");
                    return false;
                }
                mi = 5;
            }
        }
    }
    if (mi >= n) {
        cfg_diag_add(d, true, file, lineno, "missing authentication method");
        return false;
    }
    if (mi + 1 < n) {
        cfg_diag_add(d, true, file, lineno, "authentication options are not supported");
        return false;
    }
    int m = parse_method(tok[mi]);
    if (m < 0) {
        cfg_diag_add(d, true, file, lineno, "unknown authentication method \"%s\"", tok[mi]);
        return false;
    }
    r->method = (enum hba_method)m;
    r->dbs = lg_strdup(tok[1]);
    r->users = lg_strdup(tok[2]);
    if (!r->dbs || !r->users) {
        lg_free(r->dbs);
        lg_free(r->users);
        d->oom = true;
        return false;
    }
    r->line = lineno;
    return true;
}

struct hba *hba_parse(const char *text, size_t len, const char *file, struct cfg_diag *diag)
{
    struct hba *h = lg_calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    bool ok = true;
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        char buf[1024];
        if (l >= sizeof(buf)) {
            cfg_diag_add(diag, true, file, lineno, "line too long");
            ok = false;
        } else {
            memcpy(buf, text + pos, l);
            buf[l] = '\0';
            if (l && buf[l - 1] == '\r')
                buf[l - 1] = '\0';
            if (memchr(text + pos, '\0', l)) {
                cfg_diag_add(diag, true, file, lineno, "NUL byte in line");
                ok = false;
            } else {
                struct rule r = {0};
                if (!parse_line(&r, buf, lineno, file, diag)) {
                    ok = false;
                } else if (r.line) {
                    if (h->n == h->cap) {
                        size_t cap = h->cap ? h->cap * 2 : 16;
                        struct rule *v = lg_realloc(h->v, cap * sizeof(*v));
                        if (!v) {
                            lg_free(r.dbs);
                            lg_free(r.users);
                            diag->oom = true;
                            ok = false;
                            break;
                        }
                        h->v = v;
                        h->cap = cap;
                    }
                    h->v[h->n++] = r;
                }
            }
        }
        pos += l + 1;
    }
    if (!ok || diag->oom) {
        hba_free(h);
        return NULL;
    }
    return h;
}

struct hba *hba_load(const char *path, struct cfg_diag *diag)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cfg_diag_add(diag, true, path, 0, "cannot read: %s", strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = lg_malloc(cap);
    if (!text) {
        fclose(f);
        return NULL;
    }
    size_t n;
    while ((n = fread(text + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cfg_diag_add(diag, true, path, 0, "file larger than 64 KiB");
            fclose(f);
            lg_free(text);
            return NULL;
        }
    }
    fclose(f);
    struct hba *h = hba_parse(text, len, path, diag);
    lg_free(text);
    return h;
}

static bool list_has(const char *list, const char *name, const char *user, bool is_db)
{
    const char *p = list;
    size_t nl = strlen(name);
    while (*p) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if ((l == 3 && strncmp(p, "all", 3) == 0) || (l == nl && strncmp(p, name, l) == 0) ||
            (is_db && l == 8 && strncmp(p, "sameuser", 8) == 0 && strcmp(name, user) == 0))
            return true;
        if (!c)
            break;
        p = c + 1;
    }
    return false;
}

static bool addr_matches(const struct rule *r, const struct sockaddr *sa)
{
    if (r->any_addr)
        return true;
    const uint8_t *a;
    int nbytes;
    uint8_t mapped[4];
    if (sa->sa_family == AF_INET) {
        a = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
        nbytes = 4;
    } else if (sa->sa_family == AF_INET6) {
        a = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        nbytes = 16;
        static const uint8_t v4prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (r->family == AF_INET && memcmp(a, v4prefix, 12) == 0) {
            memcpy(mapped, a + 12, 4);
            a = mapped;
            nbytes = 4;
        }
    } else {
        return false;
    }
    if ((r->family == AF_INET) != (nbytes == 4))
        return false;
    for (int i = 0; i < nbytes; i++)
        if ((a[i] & r->mask[i]) != (r->addr[i] & r->mask[i]))
            return false;
    return true;
}

enum hba_method hba_match(const struct hba *h, const struct sockaddr *addr, bool ssl,
                          const char *db, const char *user, int *line)
{
    *line = 0;
    for (size_t i = 0; i < h->n; i++) {
        const struct rule *r = &h->v[i];
        if (r->type == CT_LOCAL) {
            if (addr)
                continue;
        } else {
            if (!addr || (r->type == CT_HOSTSSL && !ssl) || (r->type == CT_HOSTNOSSL && ssl) ||
                !addr_matches(r, addr))
                continue;
        }
        if (!list_has(r->dbs, db, user, true) || !list_has(r->users, user, user, false))
            continue;
        *line = r->line;
        return r->method;
    }
    return HBA_REJECT;
}
