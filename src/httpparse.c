/* SPDX-License-Identifier: MIT */
/*
 * httpparse.c: request-head parser after RFC 9112, strict where laxness would let a
 * proxy and lifeguard disagree about where a request ends (Transfer-Encoding,
 * conflicting Content-Length, obsolete line folding, whitespace before the colon are
 * all errors), lenient where it is harmless (bare LF line ends, blank lines before the
 * request line, no Host header). Every index is checked against n before it is read.
 */
#include "httpparse.h"

#include <errno.h>
#include <string.h>

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool ieq(const char *p, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n != m)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(p[i]) != lit[i])
            return false;
    return true;
}

bool http_str_eq(struct http_str s, const char *lit)
{
    size_t m = strlen(lit);
    return s.n == m && (m == 0 || memcmp(s.p, lit, m) == 0);
}

/* Index of the first '\n' in p[from..n), or n. */
static size_t find_lf(const char *p, size_t from, size_t n)
{
    const char *q = from < n ? memchr(p + from, '\n', n - from) : NULL;
    return q ? (size_t)(q - p) : n;
}

static enum http_method method_of(const char *p, size_t n)
{
    static const struct {
        const char *name;
        enum http_method m;
    } tab[] = {
            {"GET", HTTP_METHOD_GET},       {"HEAD", HTTP_METHOD_HEAD},
            {"POST", HTTP_METHOD_POST},     {"PUT", HTTP_METHOD_PUT},
            {"DELETE", HTTP_METHOD_DELETE}, {"OPTIONS", HTTP_METHOD_OPTIONS},
    };
    for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
        if (strlen(tab[i].name) == n && memcmp(tab[i].name, p, n) == 0)
            return tab[i].m;
    return HTTP_METHOD_OTHER;
}

/* Parse "METHOD SP target SP HTTP/x.y" in p[0..len) (line end removed). */
static int parse_request_line(const char *p, size_t len, struct http_request *out)
{
    size_t i = 0;
    while (i < len && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= len || p[i] != ' ')
        return -EPROTO;
    out->method_str.p = p;
    out->method_str.n = i;
    out->method = method_of(p, i);
    size_t t = ++i;
    while (i < len && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f)
        i++;
    if (i == t || i >= len || p[i] != ' ')
        return -EPROTO;
    size_t tlen = i - t;
    if (p[t] == '*' && tlen == 1) {
        out->path.p = p + t;
        out->path.n = 1;
    } else if (p[t] == '/') {
        const char *q = memchr(p + t, '?', tlen);
        out->path.p = p + t;
        out->path.n = q ? (size_t)(q - (p + t)) : tlen;
        if (q) {
            out->query.p = q + 1;
            out->query.n = tlen - out->path.n - 1;
        }
    } else {
        return -EPROTO; /* absolute-form and authority-form are for proxies */
    }
    const char *v = p + i + 1;
    size_t vlen = len - i - 1;
    if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
        v[7] < '0' || v[7] > '9')
        return -EPROTO;
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return -EPROTONOSUPPORT;
    out->minor_version = v[7] - '0';
    return 0;
}

/* Reject garbage before its line is complete: the method must be a token. */
static int check_partial_request_line(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == ' ')
            return 0;
        if (!is_tchar((unsigned char)p[i]))
            return -EPROTO;
    }
    return 0;
}

static int parse_content_length(const char *v, size_t n, struct http_request *out)
{
    if (n == 0 || n > 19)
        return -EPROTO;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -EPROTO;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    if (out->has_content_length && out->content_length != x)
        return -EPROTO;
    out->has_content_length = true;
    out->content_length = x;
    return 0;
}

/* Connection: comma-separated tokens. */
static void parse_connection(const char *v, size_t n, bool *close, bool *keep)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (ieq(v + s, i - s, "close"))
            *close = true;
        else if (ieq(v + s, i - s, "keep-alive"))
            *keep = true;
    }
}

static int parse_header(const char *p, size_t len, struct http_request *out, bool *close,
                        bool *keep)
{
    if (len && (p[0] == ' ' || p[0] == '\t'))
        return -EPROTO; /* obs-fold */
    size_t i = 0;
    while (i < len && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= len || p[i] != ':')
        return -EPROTO;
    size_t name_len = i++;
    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    size_t vs = i, ve = len;
    while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
        ve--;
    for (size_t k = vs; k < ve; k++) {
        unsigned char c = (unsigned char)p[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return -EPROTO;
    }
    if (ieq(p, name_len, "content-length"))
        return parse_content_length(p + vs, ve - vs, out);
    if (ieq(p, name_len, "transfer-encoding"))
        return -EPROTO;
    if (ieq(p, name_len, "connection"))
        parse_connection(p + vs, ve - vs, close, keep);
    return 0;
}

int http_parse_request(const char *p, size_t n, struct http_request *out)
{
    memset(out, 0, sizeof(*out));
    if (n == 0)
        return 0;
    size_t pos = 0;
    /* RFC 9112 2.2: ignore empty lines before the request line. */
    for (;;) {
        if (pos < n && p[pos] == '\n')
            pos++;
        else if (pos + 1 < n && p[pos] == '\r' && p[pos + 1] == '\n')
            pos += 2;
        else
            break;
        if (pos >= HTTP_MAX_HEAD)
            return -EMSGSIZE;
    }
    bool close = false, keep = false;
    bool first = true;
    for (;;) {
        size_t lf = find_lf(p, pos, n);
        if (lf >= HTTP_MAX_HEAD)
            return -EMSGSIZE;
        if (lf == n) {
            if (first)
                return check_partial_request_line(p + pos, n - pos);
            return 0;
        }
        size_t len = lf - pos;
        if (len && p[lf - 1] == '\r')
            len--;
        const char *line = p + pos;
        pos = lf + 1;
        int rc;
        if (first) {
            rc = parse_request_line(line, len, out);
            first = false;
        } else if (len == 0) {
            break;
        } else {
            if (++out->n_headers > HTTP_MAX_HEADERS)
                return -EMSGSIZE;
            rc = parse_header(line, len, out, &close, &keep);
        }
        if (rc < 0)
            return rc;
    }
    out->head_len = pos;
    out->keep_alive = out->minor_version == 1 ? !close : (keep && !close);
    if (out->content_length > HTTP_MAX_BODY)
        return -EFBIG;
    if (n - pos < out->content_length)
        return 0;
    return (int)(pos + out->content_length);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int http_query_param(struct http_str query, const char *name, char *out, size_t out_len)
{
    size_t name_len = strlen(name);
    if (query.n == 0)
        return -ENOENT;
    size_t i = 0;
    while (i <= query.n) {
        size_t s = i;
        while (i < query.n && query.p[i] != '&')
            i++;
        size_t e = i++; /* [s, e) is one "k=v" pair; i is past the '&' */
        const char *eq = memchr(query.p + s, '=', e - s);
        size_t klen = eq ? (size_t)(eq - (query.p + s)) : e - s;
        if (klen != name_len || memcmp(query.p + s, name, klen) != 0)
            continue;
        size_t o = 0;
        for (size_t k = eq ? (size_t)(eq - query.p) + 1 : e; k < e; k++) {
            char c = query.p[k];
            if (c == '+') {
                c = ' ';
            } else if (c == '%') {
                int hi = k + 2 < e ? hexval(query.p[k + 1]) : -1;
                int lo = hi >= 0 ? hexval(query.p[k + 2]) : -1;
                if (lo < 0 || (hi == 0 && lo == 0))
                    return -EPROTO;
                c = (char)(hi * 16 + lo);
                k += 2;
            }
            if (o + 1 >= out_len)
                return -ENOSPC;
            out[o++] = c;
        }
        if (out_len == 0)
            return -ENOSPC;
        out[o] = '\0';
        return (int)o;
    }
    return -ENOENT;
}
