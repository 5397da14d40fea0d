/* SPDX-License-Identifier: MIT */
/*
 * pgproto.h: PostgreSQL wire protocol v3 codec, pure: parses bytes into typed
 * messages and builds messages into a struct buf. No sockets, no clock, no
 * globals. Parsers never read past the given length; they are fuzz targets.
 * Parsers are tri-state: >0 bytes consumed, 0 need more bytes, <0 -errno.
 */
#ifndef LG_PGPROTO_H
#define LG_PGPROTO_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "buf.h"

#define PGPROTO_V3          196608u /* 3.0 */
#define PGPROTO_SSL_REQUEST 80877103u
#define PGPROTO_GSSENC      80877104u
#define PGPROTO_CANCEL      80877102u
#define PGPROTO_MAX_STARTUP 10000u /* bytes, like PostgreSQL's MAX_STARTUP_PACKET_LENGTH */
#define PGPROTO_MAX_PARAMS  64
#define PGPROTO_HEADER      5u /* type byte + int32 length */

/* Authentication request codes (backend 'R'). */
#define PGPROTO_AUTH_OK            0u
#define PGPROTO_AUTH_CLEARTEXT     3u
#define PGPROTO_AUTH_MD5           5u
#define PGPROTO_AUTH_SASL          10u
#define PGPROTO_AUTH_SASL_CONTINUE 11u
#define PGPROTO_AUTH_SASL_FINAL    12u

enum pgproto_startup_kind {
    PGPROTO_STARTUP_V3,
    PGPROTO_STARTUP_SSL,
    PGPROTO_STARTUP_GSSENC,
    PGPROTO_STARTUP_CANCEL,
};

struct pgproto_param {
    const char *name; /* point into the parsed packet */
    const char *value;
};

struct pgproto_startup {
    enum pgproto_startup_kind kind;
    uint32_t cancel_pid, cancel_key; /* PGPROTO_STARTUP_CANCEL */
    size_t n_params;                 /* PGPROTO_STARTUP_V3 */
    struct pgproto_param params[PGPROTO_MAX_PARAMS];
};

/* Parse a startup-phase packet (no type byte) from @p[0..@n). The param pointers point
 * into @p. >0 consumed, 0 need more, -EMSGSIZE (length < 8 or > PGPROTO_MAX_STARTUP),
 * -EPROTONOSUPPORT (unknown protocol version; @out->params unset), -EPROTO (malformed
 * parameter list, too many params, missing "user"). */
int pgproto_parse_startup(const uint8_t *p, size_t n, struct pgproto_startup *out) LG_MUSTCHECK;
/* The value of @name in @s, or NULL. */
const char *pgproto_startup_get(const struct pgproto_startup *s, const char *name);

/* True if @name is usable as a run-time parameter name in SQL lifeguard builds:
 * non-empty, only letters, digits, '_' and '.' (so no quoting is ever needed). */
bool pgproto_is_param_name(const char *name);

/* Parse a regular message header. 5 if @n >= 5 (type and total length, which counts the
 * length field itself but not the type byte), 0 need more, -EPROTO if length < 4. */
static inline uint32_t pgproto_get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Inline: it runs once per relayed message. */
LG_MUSTCHECK static inline int pgproto_parse_header(const uint8_t *p, size_t n, uint8_t *type,
                                                    uint32_t *len)
{
    if (n < PGPROTO_HEADER)
        return 0;
    *type = p[0];
    *len = pgproto_get_u32(p + 1);
    if (*len < 4 || *len > 0x7fffffffu)
        return -EPROTO;
    return (int)PGPROTO_HEADER;
}

/* Fields of an ErrorResponse/NoticeResponse payload (bytes after the header). */
struct pgproto_error {
    char severity[16];
    char sqlstate[6];
    char message[256];
};
/* 0, or -EPROTO if the field list is not NUL-terminated. Missing fields are "". */
int pgproto_parse_error(const uint8_t *payload, size_t len, struct pgproto_error *out) LG_MUSTCHECK;

/* Authentication request payload: code and the remaining bytes (salt, SASL data). */
int pgproto_parse_auth(const uint8_t *payload, size_t len, uint32_t *code, const uint8_t **data,
                       size_t *data_len) LG_MUSTCHECK;
/* ParameterStatus payload: two NUL-terminated strings (pointers into @payload). */
int pgproto_parse_param_status(const uint8_t *payload, size_t len, const char **name,
                               const char **value) LG_MUSTCHECK;
/* A NUL-terminated string at the start of @payload (PasswordMessage). -EPROTO if none. */
int pgproto_parse_cstring(const uint8_t *payload, size_t len, const char **s) LG_MUSTCHECK;
/* SASLInitialResponse payload: mechanism and client-first data (NULL/0 if length -1). */
int pgproto_parse_sasl_initial(const uint8_t *payload, size_t len, const char **mech,
                               const uint8_t **data, size_t *data_len) LG_MUSTCHECK;
/* DataRow: column @col's value; *vlen = -1 for NULL. 0, -ERANGE (no such column), -EPROTO. */
int pgproto_datarow_col(const uint8_t *payload, size_t len, int col, const uint8_t **val,
                        int32_t *vlen) LG_MUSTCHECK;

/* ---- builders: append one complete message to @b; 0 or -ENOSPC/-ENOMEM (nothing
 * appended). Strings are NUL-terminated C strings. ---- */
int pgproto_put_error(struct buf *b, const char *severity, const char *sqlstate,
                      const char *msg) LG_MUSTCHECK;
int pgproto_put_auth(struct buf *b, uint32_t code, const void *data, size_t len) LG_MUSTCHECK;
int pgproto_put_param_status(struct buf *b, const char *name, const char *value) LG_MUSTCHECK;
int pgproto_put_backend_key(struct buf *b, uint32_t pid, uint32_t key) LG_MUSTCHECK;
int pgproto_put_ready(struct buf *b, char status) LG_MUSTCHECK;
int pgproto_put_query(struct buf *b, const char *sql) LG_MUSTCHECK;
/* StartupMessage v3 with @n name/value pairs. */
int pgproto_put_startup(struct buf *b, const struct pgproto_param *params, size_t n) LG_MUSTCHECK;
int pgproto_put_password(struct buf *b, const char *pw) LG_MUSTCHECK;
int pgproto_put_sasl_initial(struct buf *b, const char *mech, const void *data,
                             size_t len) LG_MUSTCHECK;
int pgproto_put_sasl_response(struct buf *b, const void *data, size_t len) LG_MUSTCHECK;
int pgproto_put_cancel(struct buf *b, uint32_t pid, uint32_t key) LG_MUSTCHECK;
int pgproto_put_terminate(struct buf *b) LG_MUSTCHECK;
/* Extended query with text parameters: Parse(unnamed) Bind(unnamed) Execute Sync. */
int pgproto_put_extended_query(struct buf *b, const char *sql, const char *const *params,
                               size_t n_params) LG_MUSTCHECK;
/* A single byte ('N' answers SSLRequest/GSSENCRequest). */
int pgproto_put_byte(struct buf *b, char c) LG_MUSTCHECK;

#endif
