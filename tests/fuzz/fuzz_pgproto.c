/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pgproto.c: libFuzzer target for pgproto.c's parsers. The first input byte picks the
 * mode: even = one startup-phase packet (pgproto_parse_startup), odd = a stream of typed
 * messages framed with pgproto_parse_header, each payload handed to its parser
 * ('E'/'N' error, 'R' auth, 'S' parameter status, 'D' columns 0..3, 'p' SASL initial
 * response and C string). Each payload is copied to an allocation of exactly its length,
 * so ASan catches any read past it. Besides memory safety it checks the tri-state
 * contract, that results point inside the input, and that the builders re-encode what
 * was parsed (byte for byte where the encoding is unique).
 */
#include "pgproto.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

static bool inside(const void *p, size_t n, const uint8_t *base, size_t len)
{
    const uint8_t *q = p;
    return q >= base && q <= base + len && n <= (size_t)(base + len - q);
}

/* A C string that starts and ends inside [base, base + len). */
static bool cstring_inside(const char *s, const uint8_t *base, size_t len)
{
    return inside(s, 0, base, len) && memchr(s, '\0', (size_t)(base + len - (const uint8_t *)s));
}

/* Build with @fn's result already in @b and compare to @want[0..@n). */
static void check_encoding(struct buf *b, int rc, const uint8_t *want, size_t n)
{
    CHECK(rc == 0);
    CHECK(buf_pending(b) == n);
    CHECK(memcmp(b->data + b->sent, want, n) == 0);
}

static void fuzz_startup(const uint8_t *p, size_t n)
{
    struct pgproto_startup s;
    int r = pgproto_parse_startup(p, n, &s);

    if (r == 0) {
        /* need more: fewer than 4 bytes, or fewer than a valid length says */
        if (n >= 4) {
            uint32_t len = pgproto_get_u32(p);
            CHECK(len >= 8 && len <= PGPROTO_MAX_STARTUP && n < len);
        }
        return;
    }
    if (r < 0) {
        CHECK(r == -EMSGSIZE || r == -EPROTO || r == -EPROTONOSUPPORT);
        uint32_t len = pgproto_get_u32(p);
        CHECK((r == -EMSGSIZE) == (len < 8 || len > PGPROTO_MAX_STARTUP));
        return;
    }
    size_t len = (size_t)r;
    CHECK(len >= 8 && len <= n && len <= PGPROTO_MAX_STARTUP && pgproto_get_u32(p) == len);
    /* one byte less is always "need more" */
    CHECK(pgproto_parse_startup(p, len - 1, &s) == 0);
    CHECK(pgproto_parse_startup(p, n, &s) == r);

    struct buf b;
    buf_init(&b, len);
    switch (s.kind) {
    case PGPROTO_STARTUP_SSL:
    case PGPROTO_STARTUP_GSSENC:
        CHECK(len == 8 && s.n_params == 0);
        break;
    case PGPROTO_STARTUP_CANCEL:
        CHECK(len == 16);
        check_encoding(&b, pgproto_put_cancel(&b, s.cancel_pid, s.cancel_key), p, len);
        break;
    case PGPROTO_STARTUP_V3: {
        CHECK(s.n_params >= 1 && s.n_params <= PGPROTO_MAX_PARAMS);
        for (size_t i = 0; i < s.n_params; i++) {
            CHECK(cstring_inside(s.params[i].name, p + 8, len - 8));
            CHECK(cstring_inside(s.params[i].value, p + 8, len - 8));
        }
        const char *user = pgproto_startup_get(&s, "user");
        CHECK(user && user[0]);
        /* the builder writes 3.0; everything else must come out identical */
        CHECK(pgproto_put_startup(&b, s.params, s.n_params) == 0);
        CHECK(buf_pending(&b) == len);
        CHECK(memcmp(b.data, p, 4) == 0 && pgproto_get_u32(b.data + 4) == PGPROTO_V3);
        CHECK(memcmp(b.data + 8, p + 8, len - 8) == 0);
        break;
    }
    default:
        CHECK(0);
    }
    buf_fini(&b);
}

static void fuzz_error(const uint8_t *pl, size_t plen)
{
    struct pgproto_error e, e2;
    int r = pgproto_parse_error(pl, plen, &e);

    CHECK(r == 0 || r == -EPROTO);
    CHECK(memchr(e.severity, '\0', sizeof(e.severity)) && memchr(e.sqlstate, '\0', 6) &&
          memchr(e.message, '\0', sizeof(e.message)));
    if (r != 0)
        return;
    struct buf b;
    buf_init(&b, 512);
    CHECK(pgproto_put_error(&b, e.severity, e.sqlstate, e.message) == 0);
    uint8_t type;
    uint32_t len;
    CHECK(pgproto_parse_header(b.data, b.end, &type, &len) == 5 && type == 'E');
    CHECK(len - 4 == b.end - 5);
    CHECK(pgproto_parse_error(b.data + 5, len - 4, &e2) == 0);
    CHECK(strcmp(e.severity, e2.severity) == 0 && strcmp(e.sqlstate, e2.sqlstate) == 0 &&
          strcmp(e.message, e2.message) == 0);
    buf_fini(&b);
}

static void fuzz_auth(const uint8_t *msg, const uint8_t *pl, size_t plen)
{
    uint32_t code;
    const uint8_t *d;
    size_t dlen;
    int r = pgproto_parse_auth(pl, plen, &code, &d, &dlen);

    CHECK(r == 0 || r == -EPROTO);
    CHECK((r == 0) == (plen >= 4));
    if (r != 0)
        return;
    CHECK(d == pl + 4 && dlen == plen - 4);
    struct buf b;
    buf_init(&b, 5 + plen);
    check_encoding(&b, pgproto_put_auth(&b, code, d, dlen), msg, 5 + plen);
    buf_fini(&b);
}

static void fuzz_param_status(const uint8_t *msg, const uint8_t *pl, size_t plen)
{
    const char *name, *value;
    int r = pgproto_parse_param_status(pl, plen, &name, &value);

    CHECK(r == 0 || r == -EPROTO);
    if (r != 0)
        return;
    CHECK(name == (const char *)pl);
    CHECK(cstring_inside(value, pl, plen));
    CHECK(strlen(name) + 1 + strlen(value) + 1 == plen);
    struct buf b;
    buf_init(&b, 5 + plen);
    check_encoding(&b, pgproto_put_param_status(&b, name, value), msg, 5 + plen);
    buf_fini(&b);
}

static void fuzz_datarow(const uint8_t *pl, size_t plen)
{
    for (int col = -1; col <= 3; col++) {
        const uint8_t *val = NULL;
        int32_t vlen = 0;
        int r = pgproto_datarow_col(pl, plen, col, &val, &vlen);
        CHECK(r == 0 || r == -ERANGE || r == -EPROTO);
        if (col < 0 || (plen >= 2 && col >= ((pl[0] << 8) | pl[1])))
            CHECK(r == -ERANGE || plen < 2);
        if (r != 0)
            continue;
        CHECK(vlen >= -1);
        CHECK((vlen == -1) == (val == NULL));
        if (val)
            CHECK(inside(val, (size_t)vlen, pl, plen));
    }
}

static void fuzz_password(const uint8_t *msg, const uint8_t *pl, size_t plen)
{
    const char *mech, *s;
    const uint8_t *d;
    size_t dlen;
    struct buf b;
    int r = pgproto_parse_sasl_initial(pl, plen, &mech, &d, &dlen);

    CHECK(r == 0 || r == -EPROTO);
    if (r == 0) {
        CHECK(mech == (const char *)pl);
        size_t mlen = strlen(mech);
        CHECK(mlen + 5 <= plen);
        if (d) {
            CHECK(d == pl + mlen + 5 && dlen == plen - mlen - 5);
            buf_init(&b, 5 + plen);
            check_encoding(&b, pgproto_put_sasl_initial(&b, mech, d, dlen), msg, 5 + plen);
            buf_fini(&b);
        } else {
            CHECK(dlen == 0);
        }
    }

    r = pgproto_parse_cstring(pl, plen, &s);
    CHECK(r == 0 || r == -EPROTO);
    /* exactly one string filling the payload, as PostgreSQL requires of a password */
    const uint8_t *nul = memchr(pl, '\0', plen);
    CHECK((r == 0) == (nul != NULL && (size_t)(nul - pl) + 1 == plen));
    if (r == 0 && strlen(s) + 1 == plen) {
        CHECK(s == (const char *)pl);
        buf_init(&b, 5 + plen);
        check_encoding(&b, pgproto_put_password(&b, s), msg, 5 + plen);
        buf_fini(&b);
    }
}

static void fuzz_messages(const uint8_t *p, size_t n)
{
    size_t pos = 0;

    while (pos < n) {
        uint8_t type = 0;
        uint32_t len = 0;
        int r = pgproto_parse_header(p + pos, n - pos, &type, &len);
        if (r == 0) {
            CHECK(n - pos < PGPROTO_HEADER);
            return;
        }
        if (r < 0) {
            CHECK(r == -EPROTO && (len < 4 || len > 0x7fffffffu));
            return;
        }
        CHECK(r == (int)PGPROTO_HEADER && type == p[pos] && len >= 4);
        size_t plen = len - 4;
        if (plen > n - pos - PGPROTO_HEADER)
            return; /* the rest of the message has not arrived */

        /* Header and payload in an exact-size copy: reading past the end is an ASan error. */
        uint8_t *msg = malloc(PGPROTO_HEADER + plen);
        if (!msg)
            return;
        memcpy(msg, p + pos, PGPROTO_HEADER + plen);
        const uint8_t *pl = msg + PGPROTO_HEADER;
        switch (type) {
        case 'E':
        case 'N':
            fuzz_error(pl, plen);
            break;
        case 'R':
            fuzz_auth(msg, pl, plen);
            break;
        case 'S':
            fuzz_param_status(msg, pl, plen);
            break;
        case 'D':
            fuzz_datarow(pl, plen);
            break;
        case 'p':
            fuzz_password(msg, pl, plen);
            break;
        default:
            break;
        }
        free(msg);
        pos += PGPROTO_HEADER + plen;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* data + 1 ends where libFuzzer's exact-size buffer ends, so over-reads are caught. */
    if (data[0] % 2 == 0)
        fuzz_startup(data + 1, size - 1);
    else
        fuzz_messages(data + 1, size - 1);
    buf_cache_flush();
    return 0;
}
