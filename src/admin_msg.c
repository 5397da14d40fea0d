/* SPDX-License-Identifier: MIT */
/*
 * admin_msg.c: the PostgreSQL messages the admin console sends (RowDescription, DataRow,
 * CommandComplete, Notice/Error, ReadyForQuery), built straight into a strbuf: pgproto's
 * builders write into a fixed struct buf, and a large SHOW would not fit one. Part of the
 * admin module (admin.c and the SHOW renderers call it).
 */
#include "admin_msg.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

/* ---- message building ---- */

static void put_u16(struct strbuf *sb, uint16_t v)
{
    char b[2] = {(char)(v >> 8), (char)v};
    strbuf_append(sb, b, 2);
}

static void put_u32(struct strbuf *sb, uint32_t v)
{
    char b[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v};
    strbuf_append(sb, b, 4);
}

/* Start a message: type byte and a length placeholder; returns where the length goes. */
static size_t msg_begin(struct strbuf *sb, char type)
{
    strbuf_putc(sb, type);
    size_t at = sb->len;
    put_u32(sb, 0);
    return at;
}

static void msg_end(struct strbuf *sb, size_t at)
{
    if (strbuf_status(sb) < 0)
        return;
    uint32_t len = (uint32_t)(sb->len - at);
    unsigned char *p = (unsigned char *)sb->data + at;
    p[0] = (unsigned char)(len >> 24);
    p[1] = (unsigned char)(len >> 16);
    p[2] = (unsigned char)(len >> 8);
    p[3] = (unsigned char)len;
}

static void put_cstr(struct strbuf *sb, const char *s)
{
    strbuf_append(sb, s, strlen(s) + 1);
}

void admin_row_desc(struct strbuf *sb, const struct col *cols, size_t n)
{
    size_t at = msg_begin(sb, 'T');
    put_u16(sb, (uint16_t)n);
    for (size_t i = 0; i < n; i++) {
        put_cstr(sb, cols[i].name);
        put_u32(sb, 0); /* table oid */
        put_u16(sb, 0); /* attnum */
        put_u32(sb, cols[i].oid);
        put_u16(sb, cols[i].oid == OID_INT4   ? 4
                    : cols[i].oid == OID_INT8 ? 8
                                              : 0xffff); /* typlen */
        put_u32(sb, 0xffffffffu);                        /* typmod */
        put_u16(sb, 0);                                  /* text format */
    }
    msg_end(sb, at);
}

struct row admin_row_begin(struct strbuf *sb, size_t ncols)
{
    struct row r = {sb, msg_begin(sb, 'D')};
    put_u16(sb, (uint16_t)ncols);
    return r;
}

void admin_row_text(struct row *r, const char *s)
{
    if (!s) {
        put_u32(r->sb, 0xffffffffu); /* NULL */
        return;
    }
    size_t n = strlen(s);
    put_u32(r->sb, (uint32_t)n);
    strbuf_append(r->sb, s, n);
}

void admin_row_i64(struct row *r, int64_t v)
{
    char b[24];
    snprintf(b, sizeof(b), "%" PRId64, v);
    admin_row_text(r, b);
}

void admin_row_u64(struct row *r, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof(b), "%" PRIu64, v);
    admin_row_text(r, b);
}

void admin_row_end(struct row *r)
{
    msg_end(r->sb, r->at);
}

void admin_msg_complete(struct strbuf *sb, const char *tag)
{
    size_t at = msg_begin(sb, 'C');
    put_cstr(sb, tag);
    msg_end(sb, at);
}

void admin_msg_ready(struct strbuf *sb)
{
    size_t at = msg_begin(sb, 'Z');
    strbuf_putc(sb, 'I');
    msg_end(sb, at);
}

/* ErrorResponse or NoticeResponse with severity, code, message and optional detail. */
void admin_msg_notice(struct strbuf *sb, char type, const char *severity, const char *sqlstate,
                      const char *msg, const char *detail)
{
    size_t at = msg_begin(sb, type);
    strbuf_putc(sb, 'S');
    put_cstr(sb, severity);
    strbuf_putc(sb, 'V');
    put_cstr(sb, severity);
    strbuf_putc(sb, 'C');
    put_cstr(sb, sqlstate);
    strbuf_putc(sb, 'M');
    put_cstr(sb, msg);
    if (detail) {
        strbuf_putc(sb, 'D');
        put_cstr(sb, detail);
    }
    strbuf_putc(sb, '\0');
    msg_end(sb, at);
}

void admin_msg_error_ready(struct strbuf *sb, const char *sqlstate, const char *msg)
{
    admin_msg_notice(sb, 'E', "ERROR", sqlstate, msg, NULL);
    admin_msg_ready(sb);
}

void admin_show_done(struct strbuf *sb)
{
    admin_msg_complete(sb, "SHOW");
    admin_msg_ready(sb);
}

/* "2026-11-26 17:14:39 UTC", PgBouncer's format; "" when unknown. */
void admin_row_time(struct row *r, uint64_t unix_us)
{
    char b[40] = "";
    if (unix_us) {
        time_t t = (time_t)(unix_us / 1000000);
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S UTC", &tm);
    }
    admin_row_text(r, b);
}

void admin_row_ptr(struct row *r, const void *p)
{
    char b[32] = "";
    if (p)
        snprintf(b, sizeof(b), "%p", p);
    admin_row_text(r, b);
}

void admin_msg_empty_query(struct strbuf *sb)
{
    size_t at = msg_begin(sb, 'I');
    msg_end(sb, at);
    admin_msg_ready(sb);
}
