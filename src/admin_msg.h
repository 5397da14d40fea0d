/* SPDX-License-Identifier: MIT */
/*
 * admin_msg.h: internal to the admin module: the console's PostgreSQL messages and
 * DataRow building, appended to a strbuf (sticky errors: check strbuf_status()).
 */
#ifndef LG_ADMIN_MSG_H
#define LG_ADMIN_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define OID_INT4    23u
#define OID_TEXT    25u
#define OID_NUMERIC 1700u
#define OID_INT8    20u
#define OID_BYTEA   17u

/* A result column: name and type OID. */
struct col {
    const char *name;
    uint32_t oid;
};

/* A DataRow under construction. */
struct row {
    struct strbuf *sb;
    size_t at;
};

/* RowDescription for @n columns (text format). */
void admin_row_desc(struct strbuf *sb, const struct col *cols, size_t n);
/* A DataRow of @ncols values: admin_row_text/i64/u64/time/ptr each, then admin_row_end. */
struct row admin_row_begin(struct strbuf *sb, size_t ncols);
void admin_row_text(struct row *r, const char *s); /* NULL: SQL NULL */
void admin_row_i64(struct row *r, int64_t v);
void admin_row_u64(struct row *r, uint64_t v);
/* "2026-11-26 17:14:39 UTC", PgBouncer's format; "" when unknown (0). */
void admin_row_time(struct row *r, uint64_t unix_us);
void admin_row_ptr(struct row *r, const void *p); /* "0x..."; "" for NULL */
void admin_row_end(struct row *r);
/* CommandComplete "SHOW" and ReadyForQuery. */
void admin_show_done(struct strbuf *sb);

/* CommandComplete @tag. */
void admin_msg_complete(struct strbuf *sb, const char *tag);
/* ReadyForQuery, idle. */
void admin_msg_ready(struct strbuf *sb);
/* @type 'N' (NoticeResponse) or 'E' (ErrorResponse) with severity, SQLSTATE, message and
 * an optional (NULL) detail. */
void admin_msg_notice(struct strbuf *sb, char type, const char *severity, const char *sqlstate,
                      const char *msg, const char *detail);
/* ErrorResponse (ERROR) then ReadyForQuery. */
void admin_msg_error_ready(struct strbuf *sb, const char *sqlstate, const char *msg);
/* EmptyQueryResponse then ReadyForQuery. */
void admin_msg_empty_query(struct strbuf *sb);

#endif
