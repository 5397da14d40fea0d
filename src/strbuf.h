/* SPDX-License-Identifier: MIT */
/*
 * strbuf.h: a growable text/byte builder with a hard size bound, for responses that
 * lifeguard renders whole (/metrics, admin console results, JSON). Not a stream buffer:
 * nothing is ever consumed from the front (see buf.h for that).
 * Errors are sticky: the first failed append (-ENOSPC past max_bytes, -ENOMEM) is kept
 * in ->err and every later append is a no-op, so a renderer appends freely and checks
 * strbuf_status() once at the end. Invariant: data[len] == '\0' whenever data != NULL.
 */
#ifndef LG_STRBUF_H
#define LG_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

struct strbuf {
    char *data;       /* NULL until the first append; NUL-terminated after it */
    size_t len;       /* bytes, not counting the terminating NUL */
    size_t cap;       /* bytes allocated */
    size_t max_bytes; /* bound on len: appends past it fail with -ENOSPC */
    int err;          /* 0, or the first -errno an append hit (sticky) */
};

/* Empty builder bounded at @max_bytes (len never exceeds it). Allocates nothing. */
void strbuf_init(struct strbuf *sb, size_t max_bytes);
/* Free the storage; the builder is empty (err cleared) and can be used again. */
void strbuf_fini(struct strbuf *sb);
/* Empty it and clear err, keeping the storage. */
void strbuf_reset(struct strbuf *sb);
/* 0, or the sticky error (-ENOSPC / -ENOMEM) of the first failed append. */
static inline int strbuf_status(const struct strbuf *sb)
{
    return sb->err;
}

/* Append @n bytes (may contain NULs). On failure nothing is appended and err is set. */
void strbuf_append(struct strbuf *sb, const void *p, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_putc(struct strbuf *sb, char c);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) LG_PRINTF(2, 3);
/* Decimal unsigned integer. */
void strbuf_put_u64(struct strbuf *sb, uint64_t v);
/* @us microseconds as exact decimal seconds: 1500000 -> "1.5", 100 -> "0.0001", 0 -> "0". */
void strbuf_put_seconds(struct strbuf *sb, uint64_t us);
/* @s as a JSON string literal, with quotes; control characters as \u00XX. */
void strbuf_put_json_string(struct strbuf *sb, const char *s);
/* Make room for @n more bytes without appending (capacity only). 0 or -ENOSPC/-ENOMEM
 * (also set as the sticky error). */
int strbuf_reserve(struct strbuf *sb, size_t n);

#endif
