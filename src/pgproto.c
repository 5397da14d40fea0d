/* SPDX-License-Identifier: MIT */
/*
 * pgproto.c: wire codec. Builders write straight into the destination buffer and
 * patch the length at the end, or roll back if the message does not fit.
 */
#include "pgproto.h"

#include <errno.h>
#include <string.h>

/* ---- parsing ---- */

int pgproto_parse_startup(const uint8_t *p, size_t n, struct pgproto_startup *out)
{
    if (n < 4)
        return 0;
    uint32_t len = pgproto_get_u32(p);
    if (len < 8 || len > PGPROTO_MAX_STARTUP)
        return -EMSGSIZE;
    if (n < len)
        return 0;
    uint32_t code = pgproto_get_u32(p + 4);
    out->n_params = 0;
    if (code == PGPROTO_SSL_REQUEST || code == PGPROTO_GSSENC) {
        if (len != 8)
            return -EPROTO;
        out->kind = code == PGPROTO_SSL_REQUEST ? PGPROTO_STARTUP_SSL : PGPROTO_STARTUP_GSSENC;
        return (int)len;
    }
    if (code == PGPROTO_CANCEL) {
        if (len != 16)
            return -EPROTO;
        out->kind = PGPROTO_STARTUP_CANCEL;
        out->cancel_pid = pgproto_get_u32(p + 8);
        out->cancel_key = pgproto_get_u32(p + 12);
        return (int)len;
    }
    if (code >> 16 != 3)
        return -EPROTONOSUPPORT;
    /* 3.x minor versions: we speak 3.0 (a NegotiateProtocolVersion would be polite; PG 15
     * clients only send 3.0). */
    out->kind = PGPROTO_STARTUP_V3;
    size_t pos = 8;
    bool have_user = false;
    while (pos < len) {
        if (p[pos] == '\0') {
            if (pos + 1 != len)
                return -EPROTO;
            return have_user ? (int)len : -EPROTO;
        }
        const uint8_t *nul = memchr(p + pos, '\0', len - pos);
        if (!nul)
            return -EPROTO;
        const char *name = (const char *)(p + pos);
        pos = (size_t)(nul - p) + 1;
        if (pos >= len)
            return -EPROTO;
        nul = memchr(p + pos, '\0', len - pos);
        if (!nul)
            return -EPROTO;
        const char *value = (const char *)(p + pos);
        pos = (size_t)(nul - p) + 1;
        if (out->n_params == PGPROTO_MAX_PARAMS)
            return -EPROTO;
        for (size_t i = 0; i < out->n_params; i++)
            if (strcmp(out->params[i].name, name) == 0)
                return -EPROTO; /* a repeated name would be ambiguous */
        out->params[out->n_params].name = name;
        out->params[out->n_params].value = value;
        out->n_params++;
        if (strcmp(name, "user") == 0 && value[0])
            have_user = true;
    }
    return -EPROTO; /* no terminating NUL */
}

const char *pgproto_startup_get(const struct pgproto_startup *s, const char *name)
{
    for (size_t i = 0; i < s->n_params; i++)
        if (strcmp(s->params[i].name, name) == 0)
            return s->params[i].value;
    return NULL;
}

bool pgproto_is_param_name(const char *n)
{
    if (!*n)
        return false;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
              *n == '_' || *n == '.'))
            return false;
    return true;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int pgproto_parse_error(const uint8_t *payload, size_t len, struct pgproto_error *out)
{
    out->severity[0] = out->sqlstate[0] = out->message[0] = '\0';
    size_t pos = 0;
    while (pos < len) {
        uint8_t code = payload[pos++];
        if (code == 0)
            return 0;
        const uint8_t *nul = memchr(payload + pos, '\0', len - pos);
        if (!nul)
            return -EPROTO;
        const char *v = (const char *)(payload + pos);
        if (code == 'V' || (code == 'S' && !out->severity[0]))
            copy_field(out->severity, sizeof(out->severity), v);
        else if (code == 'C')
            copy_field(out->sqlstate, sizeof(out->sqlstate), v);
        else if (code == 'M')
            copy_field(out->message, sizeof(out->message), v);
        pos = (size_t)(nul - payload) + 1;
    }
    return -EPROTO;
}

int pgproto_parse_auth(const uint8_t *payload, size_t len, uint32_t *code, const uint8_t **data,
                       size_t *data_len)
{
    if (len < 4)
        return -EPROTO;
    *code = pgproto_get_u32(payload);
    *data = payload + 4;
    *data_len = len - 4;
    return 0;
}

int pgproto_parse_param_status(const uint8_t *payload, size_t len, const char **name,
                               const char **value)
{
    const uint8_t *nul = memchr(payload, '\0', len);
    if (!nul)
        return -EPROTO;
    size_t pos = (size_t)(nul - payload) + 1;
    const uint8_t *nul2 = pos < len ? memchr(payload + pos, '\0', len - pos) : NULL;
    if (!nul2 || (size_t)(nul2 - payload) + 1 != len)
        return -EPROTO;
    *name = (const char *)payload;
    *value = (const char *)(payload + pos);
    return 0;
}

int pgproto_parse_cstring(const uint8_t *payload, size_t len, const char **s)
{
    const uint8_t *nul = memchr(payload, '\0', len);
    if (!nul || (size_t)(nul - payload) + 1 != len)
        return -EPROTO;
    *s = (const char *)payload;
    return 0;
}

int pgproto_parse_sasl_initial(const uint8_t *payload, size_t len, const char **mech,
                               const uint8_t **data, size_t *data_len)
{
    const uint8_t *nul = memchr(payload, '\0', len);
    if (!nul)
        return -EPROTO;
    size_t pos = (size_t)(nul - payload) + 1;
    if (len - pos < 4)
        return -EPROTO;
    int32_t n = (int32_t)pgproto_get_u32(payload + pos);
    pos += 4;
    *mech = (const char *)payload;
    if (n == -1) {
        if (pos != len)
            return -EPROTO;
        *data = NULL;
        *data_len = 0;
        return 0;
    }
    if (n < 0 || (size_t)n != len - pos)
        return -EPROTO;
    *data = payload + pos;
    *data_len = (size_t)n;
    return 0;
}

int pgproto_datarow_col(const uint8_t *payload, size_t len, int col, const uint8_t **val,
                        int32_t *vlen)
{
    if (len < 2)
        return -EPROTO;
    int ncols = (payload[0] << 8) | payload[1];
    if (col < 0 || col >= ncols)
        return -ERANGE;
    size_t pos = 2;
    for (int i = 0; i <= col; i++) {
        if (len - pos < 4)
            return -EPROTO;
        int32_t n = (int32_t)pgproto_get_u32(payload + pos);
        pos += 4;
        if (n < -1 || (n > 0 && (size_t)n > len - pos))
            return -EPROTO;
        if (i == col) {
            *vlen = n;
            *val = n >= 0 ? payload + pos : NULL;
            return 0;
        }
        if (n > 0)
            pos += (size_t)n;
    }
    return -EPROTO;
}

/* ---- building ---- */

struct w {
    struct buf *b;
    size_t start; /* where the message starts */
    size_t pos;
    int err;
};

static void w_begin(struct w *w, struct buf *b, uint8_t type)
{
    w->b = b;
    w->err = buf_ensure(b);
    if (w->err)
        return;
    LG_ASSERT(b->scan == b->end);
    buf_compact(b); /* the message may need the room before the unsent bytes */
    w->start = w->pos = b->end;
    if (type) {
        if (buf_space(b) < 1) {
            w->err = -ENOSPC;
            return;
        }
        b->data[w->pos++] = type;
    }
    w->pos += 4; /* length, patched in w_end */
    if (w->pos > b->cap)
        w->err = -ENOSPC;
}

static void w_bytes(struct w *w, const void *p, size_t n)
{
    if (w->err || n == 0)
        return;
    if (w->b->cap - w->pos < n) {
        w->err = -ENOSPC;
        return;
    }
    memcpy(w->b->data + w->pos, p, n);
    w->pos += n;
}

static void w_u32(struct w *w, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    w_bytes(w, x, 4);
}

static void w_u16(struct w *w, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    w_bytes(w, x, 2);
}

static void w_str(struct w *w, const char *s)
{
    w_bytes(w, s, strlen(s) + 1);
}

static int w_end(struct w *w, bool typed)
{
    if (w->err)
        return w->err;
    size_t lenpos = w->start + (typed ? 1 : 0);
    uint32_t len = (uint32_t)(w->pos - lenpos);
    uint8_t *d = w->b->data + lenpos;
    d[0] = (uint8_t)(len >> 24);
    d[1] = (uint8_t)(len >> 16);
    d[2] = (uint8_t)(len >> 8);
    d[3] = (uint8_t)len;
    w->b->end = w->b->scan = w->pos;
    return 0;
}

int pgproto_put_error(struct buf *b, const char *severity, const char *sqlstate, const char *msg)
{
    struct w w;
    w_begin(&w, b, 'E');
    uint8_t c = 'S';
    w_bytes(&w, &c, 1);
    w_str(&w, severity);
    c = 'V';
    w_bytes(&w, &c, 1);
    w_str(&w, severity);
    c = 'C';
    w_bytes(&w, &c, 1);
    w_str(&w, sqlstate);
    c = 'M';
    w_bytes(&w, &c, 1);
    w_str(&w, msg);
    c = 0;
    w_bytes(&w, &c, 1);
    return w_end(&w, true);
}

int pgproto_put_auth(struct buf *b, uint32_t code, const void *data, size_t len)
{
    struct w w;
    w_begin(&w, b, 'R');
    w_u32(&w, code);
    if (len)
        w_bytes(&w, data, len);
    return w_end(&w, true);
}

int pgproto_put_param_status(struct buf *b, const char *name, const char *value)
{
    struct w w;
    w_begin(&w, b, 'S');
    w_str(&w, name);
    w_str(&w, value);
    return w_end(&w, true);
}

int pgproto_put_backend_key(struct buf *b, uint32_t pid, uint32_t key)
{
    struct w w;
    w_begin(&w, b, 'K');
    w_u32(&w, pid);
    w_u32(&w, key);
    return w_end(&w, true);
}

int pgproto_put_ready(struct buf *b, char status)
{
    struct w w;
    w_begin(&w, b, 'Z');
    w_bytes(&w, &status, 1);
    return w_end(&w, true);
}

int pgproto_put_query(struct buf *b, const char *sql)
{
    struct w w;
    w_begin(&w, b, 'Q');
    w_str(&w, sql);
    return w_end(&w, true);
}

int pgproto_put_startup(struct buf *b, const struct pgproto_param *params, size_t n)
{
    struct w w;
    w_begin(&w, b, 0);
    w_u32(&w, PGPROTO_V3);
    for (size_t i = 0; i < n; i++) {
        w_str(&w, params[i].name);
        w_str(&w, params[i].value);
    }
    uint8_t z = 0;
    w_bytes(&w, &z, 1);
    return w_end(&w, false);
}

int pgproto_put_password(struct buf *b, const char *pw)
{
    struct w w;
    w_begin(&w, b, 'p');
    w_str(&w, pw);
    return w_end(&w, true);
}

int pgproto_put_sasl_initial(struct buf *b, const char *mech, const void *data, size_t len)
{
    struct w w;
    w_begin(&w, b, 'p');
    w_str(&w, mech);
    w_u32(&w, (uint32_t)len);
    w_bytes(&w, data, len);
    return w_end(&w, true);
}

int pgproto_put_sasl_response(struct buf *b, const void *data, size_t len)
{
    struct w w;
    w_begin(&w, b, 'p');
    w_bytes(&w, data, len);
    return w_end(&w, true);
}

int pgproto_put_cancel(struct buf *b, uint32_t pid, uint32_t key)
{
    struct w w;
    w_begin(&w, b, 0);
    w_u32(&w, PGPROTO_CANCEL);
    w_u32(&w, pid);
    w_u32(&w, key);
    return w_end(&w, false);
}

int pgproto_put_terminate(struct buf *b)
{
    struct w w;
    w_begin(&w, b, 'X');
    return w_end(&w, true);
}

int pgproto_put_extended_query(struct buf *b, const char *sql, const char *const *params,
                               size_t n_params)
{
    if (n_params > 65535)
        return -EINVAL;
    int rc = buf_ensure(b);
    if (rc < 0)
        return rc;
    /* Compact once up front so later w_begin calls cannot move data under old_end. */
    buf_compact(b);
    size_t old_end = b->end;
    struct w w;
    w_begin(&w, b, 'P');
    w_str(&w, "");
    w_str(&w, sql);
    w_u16(&w, 0);
    rc = w_end(&w, true);
    if (rc == 0) {
        w_begin(&w, b, 'B');
        w_str(&w, "");
        w_str(&w, "");
        w_u16(&w, 0); /* all parameters text */
        w_u16(&w, (uint16_t)n_params);
        for (size_t i = 0; i < n_params; i++) {
            size_t l = strlen(params[i]);
            w_u32(&w, (uint32_t)l);
            w_bytes(&w, params[i], l);
        }
        w_u16(&w, 0); /* all results text */
        rc = w_end(&w, true);
    }
    if (rc == 0) {
        w_begin(&w, b, 'E');
        w_str(&w, "");
        w_u32(&w, 0);
        rc = w_end(&w, true);
    }
    if (rc == 0) {
        w_begin(&w, b, 'S');
        rc = w_end(&w, true);
    }
    if (rc != 0)
        b->end = b->scan = old_end;
    return rc;
}

int pgproto_put_byte(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}
