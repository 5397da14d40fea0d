/* SPDX-License-Identifier: MIT */
/*
 * strbuf.c: bounded growable builder. Capacity doubles (starting at 256 bytes) up to
 * max_bytes + 1 (for the NUL). No I/O; allocation only through alloc.h.
 */
#include "strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

void strbuf_init(struct strbuf *sb, size_t max_bytes)
{
    sb->data = NULL;
    sb->len = 0;
    sb->cap = 0;
    sb->max_bytes = max_bytes;
    sb->err = 0;
}

void strbuf_fini(struct strbuf *sb)
{
    lg_free(sb->data);
    sb->data = NULL;
    sb->len = 0;
    sb->cap = 0;
    sb->err = 0;
}

void strbuf_reset(struct strbuf *sb)
{
    sb->len = 0;
    sb->err = 0;
    if (sb->data)
        sb->data[0] = '\0';
}

int strbuf_reserve(struct strbuf *sb, size_t n)
{
    if (sb->err)
        return sb->err;
    if (n > sb->max_bytes - sb->len) {
        sb->err = -ENOSPC;
        return sb->err;
    }
    size_t need = sb->len + n + 1;
    if (need <= sb->cap)
        return 0;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > sb->max_bytes + 1)
        cap = sb->max_bytes + 1;
    char *d = lg_realloc(sb->data, cap);
    if (!d) {
        sb->err = -ENOMEM;
        return sb->err;
    }
    sb->data = d;
    sb->cap = cap;
    return 0;
}

void strbuf_append(struct strbuf *sb, const void *p, size_t n)
{
    if (strbuf_reserve(sb, n) < 0)
        return;
    if (n)
        memcpy(sb->data + sb->len, p, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void strbuf_puts(struct strbuf *sb, const char *s)
{
    strbuf_append(sb, s, strlen(s));
}

void strbuf_putc(struct strbuf *sb, char c)
{
    strbuf_append(sb, &c, 1);
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
    if (sb->err)
        return;
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        sb->err = -EINVAL;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        strbuf_append(sb, small, (size_t)n);
        return;
    }
    if (strbuf_reserve(sb, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void strbuf_put_u64(struct strbuf *sb, uint64_t v)
{
    char d[24];
    size_t i = sizeof(d);
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    strbuf_append(sb, d + i, sizeof(d) - i);
}

void strbuf_put_seconds(struct strbuf *sb, uint64_t us)
{
    strbuf_put_u64(sb, us / 1000000);
    uint64_t frac = us % 1000000;
    if (!frac)
        return;
    char d[8];
    d[0] = '.';
    for (int i = 6; i >= 1; i--) {
        d[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    size_t n = 7;
    while (d[n - 1] == '0')
        n--;
    strbuf_append(sb, d, n);
}

void strbuf_put_json_string(struct strbuf *sb, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    strbuf_putc(sb, '"');
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        strbuf_append(sb, run, (size_t)(s - run));
        run = s + 1;
        switch (c) {
        case '"':
            strbuf_puts(sb, "\\\"");
            break;
        case '\\':
            strbuf_puts(sb, "\\\\");
            break;
        case '\n':
            strbuf_puts(sb, "\\n");
            break;
        case '\r':
            strbuf_puts(sb, "\\r");
            break;
        case '\t':
            strbuf_puts(sb, "\\t");
            break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            strbuf_append(sb, u, sizeof(u));
        }
        }
    }
    strbuf_append(sb, run, (size_t)(s - run));
    strbuf_putc(sb, '"');
}
