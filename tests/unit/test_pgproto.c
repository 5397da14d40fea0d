/* SPDX-License-Identifier: MIT */
/*
 * test_pgproto.c: unit tests for pgproto.c, the wire codec: every parser on valid input,
 * on each truncated prefix and on each malformation it names, and every builder both
 * byte-exact (where the encoding is fixed) and round-tripped through the parsers.
 * Builders must fail whole: -ENOSPC/-ENOMEM leave the buffer's pending bytes unchanged.
 * Not a test of who sends what when (client.c, server.c, auth.c).
 */
#include "pgproto.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "alloc.h"
#include "base.h"
#include "buf.h"

/* ---- a scratch packet writer, independent of the builders under test ---- */

struct pkt {
    uint8_t d[12000];
    size_t n;
};

static void pkt_bytes(struct pkt *p, const void *s, size_t n)
{
    assert_true(n <= sizeof(p->d) - p->n);
    memcpy(p->d + p->n, s, n);
    p->n += n;
}

static void pkt_u32(struct pkt *p, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    pkt_bytes(p, x, 4);
}

static void pkt_u16(struct pkt *p, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    pkt_bytes(p, x, 2);
}

static void pkt_str(struct pkt *p, const char *s)
{
    pkt_bytes(p, s, strlen(s) + 1);
}

static void set_u32(uint8_t *d, uint32_t v)
{
    d[0] = (uint8_t)(v >> 24);
    d[1] = (uint8_t)(v >> 16);
    d[2] = (uint8_t)(v >> 8);
    d[3] = (uint8_t)v;
}

/* Start a startup-phase packet: length (patched by startup_end) and code. */
static void startup_begin(struct pkt *p, uint32_t code)
{
    p->n = 0;
    pkt_u32(p, 0);
    pkt_u32(p, code);
}

static void startup_end(struct pkt *p)
{
    set_u32(p->d, (uint32_t)p->n);
}

/* A complete startup packet: @code, then @body_len bytes of @body, correct length. */
static void startup_packet(struct pkt *p, uint32_t code, const char *body, size_t body_len)
{
    startup_begin(p, code);
    pkt_bytes(p, body, body_len);
    startup_end(p);
}

/* String literals with embedded NULs: the bytes without the implicit final NUL. */
#define BODY(s) (s), (sizeof(s) - 1)
#define LIT(s)  (const uint8_t *)(s), (sizeof(s) - 1)

static const uint8_t ssl_request[8] = {0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f};
static const uint8_t gssenc_request[8] = {0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x30};
static const uint8_t cancel_1_2[16] = {0x00, 0x00, 0x00, 0x10, 0x04, 0xd2, 0x16, 0x2e,
                                       0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02};

/* Every strict prefix of a valid packet asks for more bytes. */
static void assert_need_more_for_every_prefix(const uint8_t *p, size_t n)
{
    struct pgproto_startup s;
    for (size_t i = 0; i < n; i++) {
        int rc = pgproto_parse_startup(p, i, &s);
        if (rc != 0)
            fail_msg("prefix of %zu/%zu bytes: rc %d, want 0", i, n, rc);
    }
}

/* ---- pgproto_parse_startup ---- */

static void test_startup_v3_with_params(void **state)
{
    (void)state;
    struct pkt p;
    struct pgproto_startup s;

    startup_packet(&p, PGPROTO_V3,
                   BODY("user\0alice\0database\0db1\0application_name\0psql\0options\0"
                        "-c search_path=x\0\0"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), (int)p.n);
    assert_int_equal(s.kind, PGPROTO_STARTUP_V3);
    assert_int_equal(s.n_params, 4);
    assert_string_equal(s.params[0].name, "user");
    assert_string_equal(s.params[0].value, "alice");
    assert_string_equal(s.params[1].name, "database");
    assert_string_equal(s.params[1].value, "db1");
    assert_string_equal(s.params[2].name, "application_name");
    assert_string_equal(s.params[2].value, "psql");
    assert_string_equal(s.params[3].name, "options");
    assert_string_equal(s.params[3].value, "-c search_path=x");
    /* the strings point into the packet, not into copies */
    assert_ptr_equal(s.params[0].name, (const char *)p.d + 8);
    assert_ptr_equal(s.params[0].value, (const char *)p.d + 13);
    assert_need_more_for_every_prefix(p.d, p.n);
}

static void test_startup_consumes_only_its_own_bytes(void **state)
{
    (void)state;
    struct pkt p;
    struct pgproto_startup s;

    startup_packet(&p, PGPROTO_V3, BODY("user\0u\0\0"));
    size_t len = p.n;
    pkt_bytes(&p, ssl_request, sizeof(ssl_request)); /* pipelined garbage after it */
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), (int)len);
    assert_int_equal(s.n_params, 1);
}

static void test_startup_v3_minor_versions_are_v3(void **state)
{
    (void)state;
    struct pkt p;
    struct pgproto_startup s;

    /* 3.2 (PostgreSQL 18 clients may ask for it): we answer as 3.0 */
    startup_packet(&p, 0x00030002u, BODY("user\0u\0\0"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), (int)p.n);
    assert_int_equal(s.kind, PGPROTO_STARTUP_V3);
}

static void test_startup_ssl_request(void **state)
{
    (void)state;
    struct pgproto_startup s;

    s.n_params = 99;
    assert_int_equal(pgproto_parse_startup(ssl_request, sizeof(ssl_request), &s), 8);
    assert_int_equal(s.kind, PGPROTO_STARTUP_SSL);
    assert_int_equal(s.n_params, 0);
    assert_null(pgproto_startup_get(&s, "user"));
    assert_need_more_for_every_prefix(ssl_request, sizeof(ssl_request));
}

static void test_startup_gssenc_request(void **state)
{
    (void)state;
    struct pgproto_startup s;

    assert_int_equal(pgproto_parse_startup(gssenc_request, sizeof(gssenc_request), &s), 8);
    assert_int_equal(s.kind, PGPROTO_STARTUP_GSSENC);
    assert_int_equal(s.n_params, 0);
    assert_need_more_for_every_prefix(gssenc_request, sizeof(gssenc_request));
}

static void test_startup_cancel_request(void **state)
{
    (void)state;
    struct pkt p;
    struct pgproto_startup s;

    assert_int_equal(pgproto_parse_startup(cancel_1_2, sizeof(cancel_1_2), &s), 16);
    assert_int_equal(s.kind, PGPROTO_STARTUP_CANCEL);
    assert_int_equal(s.cancel_pid, 1);
    assert_int_equal(s.cancel_key, 2);
    assert_need_more_for_every_prefix(cancel_1_2, sizeof(cancel_1_2));

    /* all 32 bits of each, big-endian */
    startup_begin(&p, PGPROTO_CANCEL);
    pkt_u32(&p, 0x80000001u);
    pkt_u32(&p, 0xdeadbeefu);
    startup_end(&p);
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), 16);
    assert_int_equal(s.cancel_pid, 0x80000001u);
    assert_int_equal(s.cancel_key, 0xdeadbeefu);
}

static void test_startup_special_codes_with_wrong_length(void **state)
{
    (void)state;
    struct pkt p;
    struct pgproto_startup s;

    /* CancelRequest must be exactly 16 bytes */
    startup_packet(&p, PGPROTO_CANCEL, BODY("\1\2\3\4"));
    assert_int_equal(p.n, 12);
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
    startup_packet(&p, PGPROTO_CANCEL, BODY("\0\0\0\1\0\0\0\2\0\0\0\3"));
    assert_int_equal(p.n, 20);
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
    startup_packet(&p, PGPROTO_CANCEL, "", 0);
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
    /* 16 bytes on the wire but a length field of 12: the cancel is malformed */
    memcpy(p.d, cancel_1_2, sizeof(cancel_1_2));
    set_u32(p.d, 12);
    assert_int_equal(pgproto_parse_startup(p.d, 16, &s), -EPROTO);
    /* SSLRequest/GSSENCRequest must be exactly 8 */
    startup_packet(&p, PGPROTO_SSL_REQUEST, BODY("\0\0\0\0\0\0\0\0"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
    startup_packet(&p, PGPROTO_GSSENC, BODY("\0\0\0\0"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
}

static void test_startup_length_below_8_is_emsgsize(void **state)
{
    (void)state;
    struct pgproto_startup s;
    uint8_t d[8] = {0, 0, 0, 0, 0x00, 0x03, 0x00, 0x00};

    for (uint32_t len = 0; len < 8; len++) {
        set_u32(d, len);
        /* known as soon as the length field is in */
        assert_int_equal(pgproto_parse_startup(d, 4, &s), -EMSGSIZE);
        assert_int_equal(pgproto_parse_startup(d, sizeof(d), &s), -EMSGSIZE);
        for (size_t i = 0; i < 4; i++)
            assert_int_equal(pgproto_parse_startup(d, i, &s), 0);
    }
}

static void test_startup_length_above_max_is_emsgsize(void **state)
{
    (void)state;
    struct pgproto_startup s;
    uint8_t d[8] = {0, 0, 0, 0, 0x00, 0x03, 0x00, 0x00};
    static const uint32_t lens[] = {PGPROTO_MAX_STARTUP + 1, 65536, 0x7fffffffu, 0x80000000u,
                                    0xffffffffu};

    for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
        set_u32(d, lens[i]);
        assert_int_equal(pgproto_parse_startup(d, 4, &s), -EMSGSIZE);
        assert_int_equal(pgproto_parse_startup(d, sizeof(d), &s), -EMSGSIZE);
    }
}

/* A well-formed startup packet of exactly @total bytes: user=u, padding=x...x. */
static void startup_of_size(struct pkt *p, size_t total)
{
    startup_begin(p, PGPROTO_V3);
    pkt_str(p, "user");
    pkt_str(p, "u");
    pkt_str(p, "padding");
    size_t pad = total - p->n - 2; /* value NUL and final NUL */
    assert_true(pad < sizeof(p->d) - p->n);
    memset(p->d + p->n, 'x', pad);
    p->n += pad;
    pkt_bytes(p, "\0\0", 2);
    startup_end(p);
    assert_int_equal(p->n, total);
}

static void test_startup_length_exactly_max_is_accepted(void **state)
{
    (void)state;
    static struct pkt p;
    struct pgproto_startup s;

    startup_of_size(&p, PGPROTO_MAX_STARTUP);
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), (int)PGPROTO_MAX_STARTUP);
    assert_int_equal(s.n_params, 2);
    assert_string_equal(pgproto_startup_get(&s, "user"), "u");
    assert_int_equal(strlen(pgproto_startup_get(&s, "padding")), PGPROTO_MAX_STARTUP - 25);
    assert_need_more_for_every_prefix(p.d, p.n);

    /* one byte more is refused before the body arrives */
    startup_of_size(&p, PGPROTO_MAX_STARTUP + 1);
    assert_int_equal(pgproto_parse_startup(p.d, 4, &s), -EMSGSIZE);
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EMSGSIZE);
}

static void test_startup_unknown_version(void **state)
{
    (void)state;
    struct pkt p;
    struct pgproto_startup s;
    static const uint32_t codes[] = {0x00040000u /* 4.0 */, 0x00020000u /* 2.0 */, 0x00000000u,
                                     0x04d21631u /* 1234.5681 */, 0xffffffffu};

    for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
        startup_packet(&p, codes[i], BODY("user\0u\0\0"));
        assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTONOSUPPORT);
        /* still need-more until the whole packet is in */
        assert_int_equal(pgproto_parse_startup(p.d, p.n - 1, &s), 0);
    }
    /* 4.0 of the minimum size, no body at all */
    startup_packet(&p, 0x00040000u, "", 0);
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTONOSUPPORT);
}

static void test_startup_missing_user_is_eproto(void **state)
{
    (void)state;
    struct pkt p;
    struct pgproto_startup s;

    startup_packet(&p, PGPROTO_V3, BODY("database\0db\0\0"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
    /* only the terminator */
    startup_packet(&p, PGPROTO_V3, BODY("\0"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
    /* an empty user is no user */
    startup_packet(&p, PGPROTO_V3, BODY("user\0\0database\0db\0\0"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
    /* names are case-sensitive */
    startup_packet(&p, PGPROTO_V3, BODY("User\0alice\0\0"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
    /* "user" as a value does not count */
    startup_packet(&p, PGPROTO_V3, BODY("database\0user\0\0"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
    /* no body: length 8, version 3.0 */
    startup_packet(&p, PGPROTO_V3, "", 0);
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
}

static void test_startup_repeated_user_agrees_with_get(void **state)
{
    (void)state;
    /* XXX: found by fuzz_pgproto. The parser accepts this because *some* "user" is
     * non-empty, but pgproto_startup_get() returns the first, "", and client.c logs in
     * with it. Either refusing repeated names or judging the first "user" would do.
     * Fixed; kept as a regression test. */
    struct pkt p;
    struct pgproto_startup s;

    startup_packet(&p, PGPROTO_V3, BODY("user\0\0database\0db\0user\0alice\0\0"));
    int rc = pgproto_parse_startup(p.d, p.n, &s);
    if (rc > 0) {
        const char *user = pgproto_startup_get(&s, "user");
        assert_non_null(user);
        assert_true(user[0] != '\0');
    } else {
        assert_int_equal(rc, -EPROTO);
    }
}

static void test_startup_missing_terminator_is_eproto(void **state)
{
    (void)state;
    struct pkt p;
    struct pgproto_startup s;

    /* complete pairs but no final NUL */
    startup_packet(&p, PGPROTO_V3, BODY("user\0alice\0"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
    /* a name without a value */
    startup_packet(&p, PGPROTO_V3, BODY("user\0alice\0database\0"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
    /* a name that never ends */
    startup_packet(&p, PGPROTO_V3, BODY("user\0alice\0datab"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
    /* a value that never ends */
    startup_packet(&p, PGPROTO_V3, BODY("user\0ali"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
    /* bytes after the terminator, inside the declared length */
    startup_packet(&p, PGPROTO_V3, BODY("user\0alice\0\0x"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
    startup_packet(&p, PGPROTO_V3, BODY("user\0alice\0\0\0"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
}

static void test_startup_params_limit(void **state)
{
    (void)state;
    struct pkt p;
    struct pgproto_startup s;
    char name[16];

    /* exactly PGPROTO_MAX_PARAMS: accepted */
    startup_begin(&p, PGPROTO_V3);
    pkt_str(&p, "user");
    pkt_str(&p, "alice");
    for (int i = 1; i < PGPROTO_MAX_PARAMS; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        pkt_str(&p, name);
        pkt_str(&p, "v");
    }
    size_t before_end = p.n;
    pkt_bytes(&p, "", 1);
    startup_end(&p);
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), (int)p.n);
    assert_int_equal(s.n_params, PGPROTO_MAX_PARAMS);
    assert_string_equal(pgproto_startup_get(&s, "p63"), "v");

    /* one more: refused */
    p.n = before_end;
    pkt_str(&p, "p64");
    pkt_str(&p, "v");
    pkt_bytes(&p, "", 1);
    startup_end(&p);
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO);
}

/* ---- pgproto_startup_get ---- */

static void test_startup_get(void **state)
{
    (void)state;
    struct pkt p;
    struct pgproto_startup s;

    startup_packet(&p, PGPROTO_V3, BODY("user\0alice\0database\0\0user\0bob\0\0"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), -EPROTO); /* repeated name */
    startup_packet(&p, PGPROTO_V3, BODY("user\0alice\0database\0\0\0"));
    assert_int_equal(pgproto_parse_startup(p.d, p.n, &s), (int)p.n);
    assert_string_equal(pgproto_startup_get(&s, "user"), "alice");
    assert_string_equal(pgproto_startup_get(&s, "database"), ""); /* present but empty */
    assert_null(pgproto_startup_get(&s, "options"));
    assert_null(pgproto_startup_get(&s, "USER"));
    assert_null(pgproto_startup_get(&s, "use"));
    assert_null(pgproto_startup_get(&s, ""));

    struct pgproto_startup empty = {.kind = PGPROTO_STARTUP_V3, .n_params = 0};
    assert_null(pgproto_startup_get(&empty, "user"));
}

/* ---- pgproto_parse_header ---- */

static void test_parse_header(void **state)
{
    (void)state;
    static const uint8_t query[] = {'Q', 0, 0, 0, 9, 'S', 'E', 'L', ' ', 0};
    uint8_t type = 0;
    uint32_t len = 0;

    for (size_t i = 0; i < PGPROTO_HEADER; i++)
        assert_int_equal(pgproto_parse_header(query, i, &type, &len), 0);
    assert_int_equal(pgproto_parse_header(query, 5, &type, &len), 5);
    assert_int_equal(type, 'Q');
    assert_int_equal(len, 9);
    assert_int_equal(pgproto_parse_header(query, sizeof(query), &type, &len), 5);
    assert_int_equal(len, 9);
}

static void test_parse_header_lengths(void **state)
{
    (void)state;
    uint8_t h[5] = {'X', 0, 0, 0, 0};
    uint8_t type;
    uint32_t len;

    /* 4 = no payload (Terminate, Sync) */
    set_u32(h + 1, 4);
    assert_int_equal(pgproto_parse_header(h, 5, &type, &len), 5);
    assert_int_equal(len, 4);
    /* below 4 the length cannot even cover itself */
    for (uint32_t l = 0; l < 4; l++) {
        set_u32(h + 1, l);
        assert_int_equal(pgproto_parse_header(h, 5, &type, &len), -EPROTO);
    }
    /* int32 on the wire: the top bit set is a negative length */
    set_u32(h + 1, 0x7fffffffu);
    assert_int_equal(pgproto_parse_header(h, 5, &type, &len), 5);
    set_u32(h + 1, 0x80000000u);
    assert_int_equal(pgproto_parse_header(h, 5, &type, &len), -EPROTO);
    set_u32(h + 1, 0xffffffffu);
    assert_int_equal(pgproto_parse_header(h, 5, &type, &len), -EPROTO);
}

/* ---- pgproto_parse_error ---- */

static void test_parse_error_postgresql_fatal(void **state)
{
    (void)state;
    /* What PostgreSQL 15 sends for a wrong password (localized S, unlocalized V). */
    static const char payload[] = "SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for "
                                  "user \"alice\"\0Fauth.c\0L"
                                  "326\0Rauth_failed\0\0";
    struct pgproto_error e;

    assert_int_equal(pgproto_parse_error(LIT(payload), &e), 0);
    assert_string_equal(e.severity, "FATAL");
    assert_string_equal(e.sqlstate, "28P01");
    assert_string_equal(e.message, "password authentication failed for user \"alice\"");
}

static void test_parse_error_prefers_unlocalized_severity(void **state)
{
    (void)state;
    static const char v_last[] = "SERREUR\0VERROR\0C42P01\0Mla relation n'existe pas\0\0";
    static const char v_first[] = "VERROR\0SERREUR\0C42P01\0Mx\0\0";
    static const char s_only[] = "SWARNUNG\0C01000\0Mx\0\0"; /* pre-9.6 servers: no V */
    struct pgproto_error e;

    assert_int_equal(pgproto_parse_error(LIT(v_last), &e), 0);
    assert_string_equal(e.severity, "ERROR");
    assert_string_equal(e.sqlstate, "42P01");
    assert_string_equal(e.message, "la relation n'existe pas");
    assert_int_equal(pgproto_parse_error(LIT(v_first), &e), 0);
    assert_string_equal(e.severity, "ERROR");
    assert_int_equal(pgproto_parse_error(LIT(s_only), &e), 0);
    assert_string_equal(e.severity, "WARNUNG");
}

static void test_parse_error_missing_fields_are_empty(void **state)
{
    (void)state;
    static const char only_msg[] = "Mhello\0\0";
    static const char none[] = "\0";
    struct pgproto_error e;

    memset(&e, 'x', sizeof(e));
    assert_int_equal(pgproto_parse_error(LIT(only_msg), &e), 0);
    assert_string_equal(e.severity, "");
    assert_string_equal(e.sqlstate, "");
    assert_string_equal(e.message, "hello");
    memset(&e, 'x', sizeof(e));
    assert_int_equal(pgproto_parse_error((const uint8_t *)none, 1, &e), 0);
    assert_string_equal(e.severity, "");
    assert_string_equal(e.sqlstate, "");
    assert_string_equal(e.message, "");
}

static void test_parse_error_truncates_long_fields(void **state)
{
    (void)state;
    struct pkt p = {.n = 0};
    struct pgproto_error e;
    char longmsg[400];

    memset(longmsg, 'm', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    pkt_bytes(&p, "V", 1);
    pkt_str(&p, "A_SEVERITY_LONGER_THAN_16");
    pkt_bytes(&p, "C", 1);
    pkt_str(&p, "1234567");
    pkt_bytes(&p, "M", 1);
    pkt_str(&p, longmsg);
    pkt_bytes(&p, "", 1);
    assert_int_equal(pgproto_parse_error(p.d, p.n, &e), 0);
    assert_string_equal(e.severity, "A_SEVERITY_LONG");
    assert_string_equal(e.sqlstate, "12345");
    assert_int_equal(strlen(e.message), sizeof(e.message) - 1);
    assert_memory_equal(e.message, longmsg, sizeof(e.message) - 1);
}

static void test_parse_error_unterminated_is_eproto(void **state)
{
    (void)state;
    static const char no_final[] = "SFATAL\0C28P01\0";
    static const char no_nul[] = "SFATAL\0C28P0";
    static const char code_only[] = "SFATAL\0C";
    struct pgproto_error e;

    assert_int_equal(pgproto_parse_error((const uint8_t *)"", 0, &e), -EPROTO);
    assert_int_equal(pgproto_parse_error(LIT(no_final), &e), -EPROTO);
    assert_int_equal(pgproto_parse_error(LIT(no_nul), &e), -EPROTO);
    assert_int_equal(pgproto_parse_error(LIT(code_only), &e), -EPROTO);
}

/* ---- pgproto_parse_auth ---- */

static void test_parse_auth(void **state)
{
    (void)state;
    static const uint8_t ok[] = {0, 0, 0, 0};
    static const uint8_t md5[] = {0, 0, 0, 5, 0xde, 0xad, 0xbe, 0xef};
    static const char sasl[] = "\0\0\0\x0aSCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0";
    uint32_t code = 99;
    const uint8_t *data = NULL;
    size_t data_len = 99;

    assert_int_equal(pgproto_parse_auth(ok, sizeof(ok), &code, &data, &data_len), 0);
    assert_int_equal(code, PGPROTO_AUTH_OK);
    assert_int_equal(data_len, 0);
    assert_int_equal(pgproto_parse_auth(md5, sizeof(md5), &code, &data, &data_len), 0);
    assert_int_equal(code, PGPROTO_AUTH_MD5);
    assert_ptr_equal(data, md5 + 4);
    assert_int_equal(data_len, 4);
    assert_int_equal(pgproto_parse_auth(LIT(sasl), &code, &data, &data_len), 0);
    assert_int_equal(code, PGPROTO_AUTH_SASL);
    assert_int_equal(data_len, sizeof(sasl) - 1 - 4);
    assert_string_equal((const char *)data, "SCRAM-SHA-256-PLUS");
    for (size_t n = 0; n < 4; n++)
        assert_int_equal(pgproto_parse_auth(md5, n, &code, &data, &data_len), -EPROTO);
}

/* ---- pgproto_parse_param_status ---- */

static void test_parse_param_status(void **state)
{
    (void)state;
    static const char ok[] = "server_version\0"
                             "15.5\0";
    static const char empty_value[] = "application_name\0";
    const char *name = NULL, *value = NULL;

    assert_int_equal(pgproto_parse_param_status(LIT(ok), &name, &value), 0);
    assert_ptr_equal(name, ok);
    assert_string_equal(name, "server_version");
    assert_string_equal(value, "15.5");
    /* sizeof counts the literal's implicit NUL: that is the value "" */
    assert_int_equal(pgproto_parse_param_status((const uint8_t *)empty_value, sizeof(empty_value),
                                                &name, &value),
                     0);
    assert_string_equal(name, "application_name");
    assert_string_equal(value, "");
}

static void test_parse_param_status_needs_exactly_two_strings(void **state)
{
    (void)state;
    static const char one[] = "server_version\0";
    static const char unterminated_value[] = "server_version\0"
                                             "15";
    static const char three[] = "a\0b\0c\0";
    static const char trailing[] = "a\0b\0x";
    const char *name, *value;

    assert_int_equal(pgproto_parse_param_status((const uint8_t *)"", 0, &name, &value), -EPROTO);
    assert_int_equal(pgproto_parse_param_status((const uint8_t *)"abc", 3, &name, &value), -EPROTO);
    assert_int_equal(pgproto_parse_param_status(LIT(one), &name, &value), -EPROTO);
    assert_int_equal(pgproto_parse_param_status(LIT(unterminated_value), &name, &value), -EPROTO);
    assert_int_equal(pgproto_parse_param_status(LIT(three), &name, &value), -EPROTO);
    assert_int_equal(pgproto_parse_param_status(LIT(trailing), &name, &value), -EPROTO);
}

/* ---- pgproto_parse_cstring ---- */

static void test_parse_cstring(void **state)
{
    (void)state;
    static const char pw[] = "secret";
    const char *s = NULL;

    assert_int_equal(pgproto_parse_cstring((const uint8_t *)pw, sizeof(pw), &s), 0);
    assert_ptr_equal(s, pw);
    assert_int_equal(pgproto_parse_cstring((const uint8_t *)"", 1, &s), 0);
    assert_string_equal(s, "");
    /* no NUL inside the given length */
    assert_int_equal(pgproto_parse_cstring(LIT(pw), &s), -EPROTO);
    assert_int_equal(pgproto_parse_cstring((const uint8_t *)pw, 0, &s), -EPROTO);
}

/* ---- pgproto_parse_sasl_initial ---- */

static void test_parse_sasl_initial(void **state)
{
    (void)state;
    static const char msg[] = "SCRAM-SHA-256\0\0\0\0\x20n,,n=,r=rOprNGfwEbeRWgbNEkqO%hvY";
    const char *mech = NULL;
    const uint8_t *data = NULL;
    size_t data_len = 0;

    assert_int_equal(sizeof(msg) - 1, 14 + 4 + 32);
    assert_int_equal(pgproto_parse_sasl_initial(LIT(msg), &mech, &data, &data_len), 0);
    assert_string_equal(mech, "SCRAM-SHA-256");
    assert_ptr_equal(data, (const uint8_t *)msg + 18);
    assert_int_equal(data_len, 32);
    assert_memory_equal(data, "n,,n=,r=rOprNGfwEbeRWgbNEkqO%hvY", 32);
}

static void test_parse_sasl_initial_length_minus_one(void **state)
{
    (void)state;
    static const char msg[] = "SCRAM-SHA-256\0\xff\xff\xff\xff";
    const char *mech = NULL;
    const uint8_t *data = (const uint8_t *)"x";
    size_t data_len = 7;

    assert_int_equal(pgproto_parse_sasl_initial(LIT(msg), &mech, &data, &data_len), 0);
    assert_string_equal(mech, "SCRAM-SHA-256");
    assert_null(data);
    assert_int_equal(data_len, 0);
}

static void test_parse_sasl_initial_zero_length(void **state)
{
    (void)state;
    static const char msg[] = "SCRAM-SHA-256\0\0\0\0";
    const char *mech;
    const uint8_t *data = NULL;
    size_t data_len = 7;

    assert_int_equal(
            pgproto_parse_sasl_initial((const uint8_t *)msg, sizeof(msg), &mech, &data, &data_len),
            0);
    assert_non_null(data);
    assert_int_equal(data_len, 0);
}

static void test_parse_sasl_initial_malformed(void **state)
{
    (void)state;
    static const char too_long[] = "M\0\0\0\0\5abcd";  /* says 5, has 4 */
    static const char too_short[] = "M\0\0\0\0\3abcd"; /* says 3, has 4 */
    static const char minus_two[] = "M\0\xff\xff\xff\xfe";
    static const char no_len[] = "M\0\0\0\0";
    static const char no_nul[] = "SCRAM-SHA-256";
    const char *mech;
    const uint8_t *data;
    size_t data_len;

    assert_int_equal(pgproto_parse_sasl_initial(LIT(too_long), &mech, &data, &data_len), -EPROTO);
    assert_int_equal(pgproto_parse_sasl_initial(LIT(too_short), &mech, &data, &data_len), -EPROTO);
    assert_int_equal(pgproto_parse_sasl_initial(LIT(minus_two), &mech, &data, &data_len), -EPROTO);
    /* 3 of the 4 length bytes */
    assert_int_equal(pgproto_parse_sasl_initial(LIT(no_len), &mech, &data, &data_len), -EPROTO);
    assert_int_equal(pgproto_parse_sasl_initial(LIT(no_nul), &mech, &data, &data_len), -EPROTO);
    assert_int_equal(pgproto_parse_sasl_initial((const uint8_t *)"", 0, &mech, &data, &data_len),
                     -EPROTO);
}

static void test_parse_sasl_initial_minus_one_with_trailing_bytes(void **state)
{
    (void)state;
    /* XXX: pgproto_parse_sasl_initial accepts bytes after a -1 length; PostgreSQL's
     * pq_getmsgend() rejects them. Fixed; kept as a regression test. */
    static const char msg[] = "M\0\xff\xff\xff\xffjunk";
    const char *mech;
    const uint8_t *data;
    size_t data_len;

    assert_int_equal(pgproto_parse_sasl_initial(LIT(msg), &mech, &data, &data_len), -EPROTO);
}

/* ---- pgproto_datarow_col ---- */

/* DataRow payload: 3 columns "42", NULL, "". */
static void datarow_3(struct pkt *p)
{
    p->n = 0;
    pkt_u16(p, 3);
    pkt_u32(p, 2);
    pkt_bytes(p, "42", 2);
    pkt_u32(p, 0xffffffffu);
    pkt_u32(p, 0);
}

static void test_datarow_col(void **state)
{
    (void)state;
    struct pkt p;
    const uint8_t *val = NULL;
    int32_t vlen = 99;

    datarow_3(&p);
    assert_int_equal(pgproto_datarow_col(p.d, p.n, 0, &val, &vlen), 0);
    assert_int_equal(vlen, 2);
    assert_ptr_equal(val, p.d + 6);
    assert_memory_equal(val, "42", 2);
    assert_int_equal(pgproto_datarow_col(p.d, p.n, 1, &val, &vlen), 0);
    assert_int_equal(vlen, -1);
    assert_null(val);
    assert_int_equal(pgproto_datarow_col(p.d, p.n, 2, &val, &vlen), 0);
    assert_int_equal(vlen, 0);
    assert_ptr_equal(val, p.d + p.n);
}

static void test_datarow_col_out_of_range(void **state)
{
    (void)state;
    struct pkt p;
    const uint8_t *val;
    int32_t vlen;

    datarow_3(&p);
    assert_int_equal(pgproto_datarow_col(p.d, p.n, 3, &val, &vlen), -ERANGE);
    assert_int_equal(pgproto_datarow_col(p.d, p.n, 1000, &val, &vlen), -ERANGE);
    assert_int_equal(pgproto_datarow_col(p.d, p.n, -1, &val, &vlen), -ERANGE);
    /* zero columns */
    assert_int_equal(pgproto_datarow_col((const uint8_t *)"\0\0", 2, 0, &val, &vlen), -ERANGE);
}

static void test_datarow_col_truncated(void **state)
{
    (void)state;
    struct pkt p;
    const uint8_t *val;
    int32_t vlen;

    datarow_3(&p);
    /* every strict prefix: the last column cannot be read */
    for (size_t n = 0; n < p.n; n++) {
        int rc = pgproto_datarow_col(p.d, n, 2, &val, &vlen);
        if (rc != -EPROTO)
            fail_msg("prefix %zu/%zu: rc %d, want -EPROTO", n, p.n, rc);
    }
    /* a column longer than what is left */
    p.n = 0;
    pkt_u16(&p, 1);
    pkt_u32(&p, 3);
    pkt_bytes(&p, "ab", 2);
    assert_int_equal(pgproto_datarow_col(p.d, p.n, 0, &val, &vlen), -EPROTO);
    /* a bad earlier column hides a later one */
    p.n = 0;
    pkt_u16(&p, 2);
    pkt_u32(&p, 100);
    pkt_bytes(&p, "ab", 2);
    pkt_u32(&p, 0);
    assert_int_equal(pgproto_datarow_col(p.d, p.n, 1, &val, &vlen), -EPROTO);
    /* lengths below -1 */
    p.n = 0;
    pkt_u16(&p, 1);
    pkt_u32(&p, 0xfffffffeu);
    assert_int_equal(pgproto_datarow_col(p.d, p.n, 0, &val, &vlen), -EPROTO);
    p.n = 0;
    pkt_u16(&p, 1);
    pkt_u32(&p, 0x80000000u);
    assert_int_equal(pgproto_datarow_col(p.d, p.n, 0, &val, &vlen), -EPROTO);
}

/* ---- builders ---- */

/* One message of @b's pending bytes at *@off: check its type, return its payload. */
static const uint8_t *next_msg(const struct buf *b, size_t *off, uint8_t want_type, size_t *plen)
{
    const uint8_t *p = b->data + b->sent + *off;
    size_t avail = buf_pending(b) - *off;
    uint8_t type;
    uint32_t len;

    assert_int_equal(pgproto_parse_header(p, avail, &type, &len), 5);
    assert_int_equal(type, want_type);
    assert_true(len - 4 <= avail - 5);
    *plen = len - 4;
    *off += 1 + len;
    return p + 5;
}

static void assert_bytes(const struct buf *b, const void *want, size_t n)
{
    assert_int_equal(buf_pending(b), n);
    assert_int_equal(buf_ready(b), n); /* built bytes are ready to send */
    assert_memory_equal(b->data + b->sent, want, n);
}

static void test_put_ready_bytes(void **state)
{
    (void)state;
    static const uint8_t want[] = {0x5a, 0x00, 0x00, 0x00, 0x05, 0x49};
    struct buf b;

    buf_init(&b, 64);
    assert_int_equal(pgproto_put_ready(&b, 'I'), 0);
    assert_bytes(&b, want, sizeof(want));
    buf_fini(&b);
}

static void test_put_terminate_bytes(void **state)
{
    (void)state;
    static const uint8_t want[] = {0x58, 0x00, 0x00, 0x00, 0x04};
    struct buf b;

    buf_init(&b, 64);
    assert_int_equal(pgproto_put_terminate(&b), 0);
    assert_bytes(&b, want, sizeof(want));
    buf_fini(&b);
}

static void test_put_cancel_bytes_and_round_trip(void **state)
{
    (void)state;
    struct buf b;
    struct pgproto_startup s;

    buf_init(&b, 64);
    assert_int_equal(pgproto_put_cancel(&b, 1, 2), 0);
    assert_bytes(&b, cancel_1_2, sizeof(cancel_1_2));
    assert_int_equal(pgproto_parse_startup(b.data, b.end, &s), 16);
    assert_int_equal(s.kind, PGPROTO_STARTUP_CANCEL);
    assert_int_equal(s.cancel_pid, 1);
    assert_int_equal(s.cancel_key, 2);
    buf_fini(&b);
}

static void test_put_byte(void **state)
{
    (void)state;
    struct buf b;

    buf_init(&b, 1);
    assert_int_equal(pgproto_put_byte(&b, 'N'), 0);
    assert_bytes(&b, "N", 1);
    assert_int_equal(pgproto_put_byte(&b, 'S'), -ENOSPC);
    assert_bytes(&b, "N", 1);
    buf_fini(&b);
}

static void test_put_error_round_trip(void **state)
{
    (void)state;
    struct buf b;
    struct pgproto_error e;
    size_t off = 0, plen;

    buf_init(&b, 512);
    assert_int_equal(pgproto_put_error(&b, "FATAL", "53300", "too many clients"), 0);
    const uint8_t *pl = next_msg(&b, &off, 'E', &plen);
    assert_int_equal(off, buf_pending(&b));
    assert_int_equal(pgproto_parse_error(pl, plen, &e), 0);
    assert_string_equal(e.severity, "FATAL");
    assert_string_equal(e.sqlstate, "53300");
    assert_string_equal(e.message, "too many clients");
    /* both S and V, as PostgreSQL >= 9.6 sends them */
    static const char want[] = "SFATAL\0VFATAL\0C53300\0Mtoo many clients\0";
    assert_int_equal(plen, sizeof(want));
    assert_memory_equal(pl, want, sizeof(want));
    buf_fini(&b);
}

static void test_put_auth_round_trip(void **state)
{
    (void)state;
    static const uint8_t salt[4] = {0xde, 0xad, 0xbe, 0xef};
    static const uint8_t want_ok[] = {'R', 0, 0, 0, 8, 0, 0, 0, 0};
    struct buf b;
    uint32_t code;
    const uint8_t *data;
    size_t data_len, off = 0, plen;

    buf_init(&b, 128);
    assert_int_equal(pgproto_put_auth(&b, PGPROTO_AUTH_OK, NULL, 0), 0);
    assert_bytes(&b, want_ok, sizeof(want_ok));
    assert_int_equal(pgproto_put_auth(&b, PGPROTO_AUTH_MD5, salt, sizeof(salt)), 0);
    const uint8_t *pl = next_msg(&b, &off, 'R', &plen);
    assert_int_equal(pgproto_parse_auth(pl, plen, &code, &data, &data_len), 0);
    assert_int_equal(code, PGPROTO_AUTH_OK);
    assert_int_equal(data_len, 0);
    pl = next_msg(&b, &off, 'R', &plen);
    assert_int_equal(pgproto_parse_auth(pl, plen, &code, &data, &data_len), 0);
    assert_int_equal(code, PGPROTO_AUTH_MD5);
    assert_int_equal(data_len, 4);
    assert_memory_equal(data, salt, 4);
    assert_int_equal(off, buf_pending(&b));
    buf_fini(&b);
}

static void test_put_param_status_round_trip(void **state)
{
    (void)state;
    struct buf b;
    const char *name, *value;
    size_t off = 0, plen;

    buf_init(&b, 128);
    assert_int_equal(pgproto_put_param_status(&b, "client_encoding", "UTF8"), 0);
    assert_int_equal(pgproto_put_param_status(&b, "application_name", ""), 0);
    const uint8_t *pl = next_msg(&b, &off, 'S', &plen);
    assert_int_equal(pgproto_parse_param_status(pl, plen, &name, &value), 0);
    assert_string_equal(name, "client_encoding");
    assert_string_equal(value, "UTF8");
    pl = next_msg(&b, &off, 'S', &plen);
    assert_int_equal(pgproto_parse_param_status(pl, plen, &name, &value), 0);
    assert_string_equal(name, "application_name");
    assert_string_equal(value, "");
    assert_int_equal(off, buf_pending(&b));
    buf_fini(&b);
}

static void test_put_backend_key_bytes(void **state)
{
    (void)state;
    static const uint8_t want[] = {'K',  0,    0,    0,    12,   0x00, 0x00,
                                   0x30, 0x39, 0xde, 0xad, 0xbe, 0xef};
    struct buf b;

    buf_init(&b, 64);
    assert_int_equal(pgproto_put_backend_key(&b, 12345, 0xdeadbeefu), 0);
    assert_bytes(&b, want, sizeof(want));
    buf_fini(&b);
}

static void test_put_query_and_password_round_trip(void **state)
{
    (void)state;
    struct buf b;
    const char *s;
    size_t off = 0, plen;

    buf_init(&b, 128);
    assert_int_equal(pgproto_put_query(&b, "SELECT 1"), 0);
    assert_int_equal(pgproto_put_password(&b, "md5885a46cda98eac97743609b146dbc73f"), 0);
    const uint8_t *pl = next_msg(&b, &off, 'Q', &plen);
    assert_int_equal(plen, 9);
    assert_int_equal(pgproto_parse_cstring(pl, plen, &s), 0);
    assert_string_equal(s, "SELECT 1");
    pl = next_msg(&b, &off, 'p', &plen);
    assert_int_equal(plen, 36);
    assert_int_equal(pgproto_parse_cstring(pl, plen, &s), 0);
    assert_string_equal(s, "md5885a46cda98eac97743609b146dbc73f");
    assert_int_equal(off, buf_pending(&b));
    buf_fini(&b);
}

static void test_put_startup_round_trip(void **state)
{
    (void)state;
    static const struct pgproto_param params[] = {
            {"user", "alice"},
            {"database", "db1"},
            {"application_name", ""},
            {"options", "-c statement_timeout=5s"},
    };
    struct buf b;
    struct pgproto_startup s;

    buf_init(&b, 256);
    assert_int_equal(pgproto_put_startup(&b, params, ARRAY_SIZE(params)), 0);
    assert_int_equal(pgproto_parse_startup(b.data, b.end, &s), (int)b.end);
    assert_int_equal(pgproto_get_u32(b.data + 4), PGPROTO_V3);
    assert_int_equal(s.kind, PGPROTO_STARTUP_V3);
    assert_int_equal(s.n_params, ARRAY_SIZE(params));
    for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
        assert_string_equal(s.params[i].name, params[i].name);
        assert_string_equal(s.params[i].value, params[i].value);
    }
    buf_fini(&b);
}

static void test_put_sasl_round_trip(void **state)
{
    (void)state;
    static const char first[] = "n,,n=,r=rOprNGfwEbeRWgbNEkqO";
    static const char final[] = "c=biws,r=rOprNGfwEbeRWgbNEkqO,p=xyz";
    struct buf b;
    const char *mech;
    const uint8_t *data;
    size_t data_len, off = 0, plen;

    buf_init(&b, 256);
    assert_int_equal(pgproto_put_sasl_initial(&b, "SCRAM-SHA-256", first, strlen(first)), 0);
    assert_int_equal(pgproto_put_sasl_response(&b, final, strlen(final)), 0);
    const uint8_t *pl = next_msg(&b, &off, 'p', &plen);
    assert_int_equal(pgproto_parse_sasl_initial(pl, plen, &mech, &data, &data_len), 0);
    assert_string_equal(mech, "SCRAM-SHA-256");
    assert_int_equal(data_len, strlen(first));
    assert_memory_equal(data, first, data_len);
    pl = next_msg(&b, &off, 'p', &plen);
    assert_int_equal(plen, strlen(final)); /* raw bytes, no NUL, no length */
    assert_memory_equal(pl, final, plen);
    assert_int_equal(off, buf_pending(&b));
    buf_fini(&b);
}

static void test_put_sasl_empty_data(void **state)
{
    (void)state;
    struct buf b;
    const char *mech;
    const uint8_t *data;
    size_t data_len, off = 0, plen;

    buf_init(&b, 64);
    /* a non-NULL pointer with length 0 */
    assert_int_equal(pgproto_put_sasl_initial(&b, "SCRAM-SHA-256", "", 0), 0);
    assert_int_equal(pgproto_put_sasl_response(&b, "", 0), 0);
    const uint8_t *pl = next_msg(&b, &off, 'p', &plen);
    assert_int_equal(pgproto_parse_sasl_initial(pl, plen, &mech, &data, &data_len), 0);
    assert_int_equal(data_len, 0);
    next_msg(&b, &off, 'p', &plen);
    assert_int_equal(plen, 0);
    buf_fini(&b);
}

static void test_put_sasl_null_data_with_zero_length(void **state)
{
    (void)state;
    /* XXX: w_bytes() calls memcpy(dst, NULL, 0), undefined behaviour that UBSan reports
     * (BUILD=asan aborts). pgproto_put_auth guards it with if (len); the SASL builders
     * do not. Fixed; kept as a regression test. */
    struct buf b;

    buf_init(&b, 64);
    assert_int_equal(pgproto_put_sasl_initial(&b, "SCRAM-SHA-256", NULL, 0), 0);
    assert_int_equal(pgproto_put_sasl_response(&b, NULL, 0), 0);
    buf_fini(&b);
}

/* Decode the 4 messages of an extended query and check each field. */
static void check_extended_query(const struct buf *b, const char *sql, const char *const *params,
                                 size_t n_params)
{
    size_t off = 0, plen;
    struct pkt want;

    const uint8_t *pl = next_msg(b, &off, 'P', &plen);
    want.n = 0;
    pkt_str(&want, "");
    pkt_str(&want, sql);
    pkt_u16(&want, 0);
    assert_int_equal(plen, want.n);
    assert_memory_equal(pl, want.d, want.n);

    pl = next_msg(b, &off, 'B', &plen);
    want.n = 0;
    pkt_str(&want, "");
    pkt_str(&want, "");
    pkt_u16(&want, 0);
    pkt_u16(&want, (uint16_t)n_params);
    for (size_t i = 0; i < n_params; i++) {
        pkt_u32(&want, (uint32_t)strlen(params[i]));
        pkt_bytes(&want, params[i], strlen(params[i]));
    }
    pkt_u16(&want, 0);
    assert_int_equal(plen, want.n);
    assert_memory_equal(pl, want.d, want.n);

    pl = next_msg(b, &off, 'E', &plen);
    static const uint8_t execute[] = {0, 0, 0, 0, 0};
    assert_int_equal(plen, sizeof(execute));
    assert_memory_equal(pl, execute, sizeof(execute));

    next_msg(b, &off, 'S', &plen);
    assert_int_equal(plen, 0);
    assert_int_equal(off, buf_pending(b));
}

static void test_put_extended_query(void **state)
{
    (void)state;
    static const char *const params[] = {"42", "", "hello world"};
    struct buf b;

    buf_init(&b, 256);
    assert_int_equal(pgproto_put_extended_query(&b, "SELECT $1, $2, $3", params, 3), 0);
    check_extended_query(&b, "SELECT $1, $2, $3", params, 3);
    buf_fini(&b);

    buf_init(&b, 256);
    assert_int_equal(pgproto_put_extended_query(&b, "SELECT 1", NULL, 0), 0);
    check_extended_query(&b, "SELECT 1", NULL, 0);
    buf_fini(&b);
}

static void test_put_extended_query_after_partly_sent_bytes(void **state)
{
    (void)state;
    static const char *const params[] = {"1"};
    struct buf b;

    buf_init(&b, 64);
    assert_int_equal(buf_append(&b, "0123456789", 10), 0);
    b.sent = 8; /* "89" still to go; the query only fits after compaction */
    assert_int_equal(pgproto_put_extended_query(&b, "SELECT $1", params, 1), 0);
    assert_int_equal(b.sent, 0);
    assert_memory_equal(b.data, "89", 2);
    b.sent = 2;
    check_extended_query(&b, "SELECT $1", params, 1);
    buf_fini(&b);
}

/* ---- every builder: exact fit, one byte short, and allocation failure ---- */

static const char *const xq_params[] = {"a", "bc"};
static const struct pgproto_param startup_params[] = {{"user", "u"}, {"database", "d"}};

static int build_error(struct buf *b)
{
    /* longer than 64 bytes: see test_builders_fit_after_compaction */
    return pgproto_put_error(b, "ERROR", "23505",
                             "duplicate key value violates unique constraint \"users_pkey\"");
}
static int build_auth(struct buf *b)
{
    return pgproto_put_auth(b, PGPROTO_AUTH_MD5, "salt", 4);
}
static int build_auth_ok(struct buf *b)
{
    return pgproto_put_auth(b, PGPROTO_AUTH_OK, NULL, 0);
}
static int build_param_status(struct buf *b)
{
    return pgproto_put_param_status(b, "TimeZone", "UTC");
}
static int build_backend_key(struct buf *b)
{
    return pgproto_put_backend_key(b, 7, 8);
}
static int build_ready(struct buf *b)
{
    return pgproto_put_ready(b, 'T');
}
static int build_query(struct buf *b)
{
    return pgproto_put_query(b, "SELECT 1");
}
static int build_startup(struct buf *b)
{
    return pgproto_put_startup(b, startup_params, ARRAY_SIZE(startup_params));
}
static int build_password(struct buf *b)
{
    return pgproto_put_password(b, "pw");
}
static int build_sasl_initial(struct buf *b)
{
    return pgproto_put_sasl_initial(b, "SCRAM-SHA-256", "n,,n=,r=abc", 11);
}
static int build_sasl_response(struct buf *b)
{
    return pgproto_put_sasl_response(b, "c=biws", 6);
}
static int build_cancel(struct buf *b)
{
    return pgproto_put_cancel(b, 1, 2);
}
static int build_terminate(struct buf *b)
{
    return pgproto_put_terminate(b);
}
static int build_extended_query(struct buf *b)
{
    return pgproto_put_extended_query(b, "SELECT $1, $2", xq_params, ARRAY_SIZE(xq_params));
}
static int build_byte(struct buf *b)
{
    return pgproto_put_byte(b, 'N');
}

static const struct {
    const char *name;
    int (*fn)(struct buf *b);
} builders[] = {
        {"error", build_error},
        {"auth", build_auth},
        {"auth_ok", build_auth_ok},
        {"param_status", build_param_status},
        {"backend_key", build_backend_key},
        {"ready", build_ready},
        {"query", build_query},
        {"startup", build_startup},
        {"password", build_password},
        {"sasl_initial", build_sasl_initial},
        {"sasl_response", build_sasl_response},
        {"cancel", build_cancel},
        {"terminate", build_terminate},
        {"extended_query", build_extended_query},
        {"byte", build_byte},
};

/* The reference encoding of builder @i, built into a roomy buffer. */
static size_t reference(size_t i, uint8_t *out, size_t cap)
{
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(builders[i].fn(&b), 0);
    size_t n = buf_pending(&b);
    assert_true(n > 0 && n <= cap);
    memcpy(out, b.data + b.sent, n);
    buf_fini(&b);
    return n;
}

static void test_builders_fit_exactly_or_append_nothing(void **state)
{
    (void)state;
    uint8_t ref[512];

    for (size_t i = 0; i < ARRAY_SIZE(builders); i++) {
        size_t size = reference(i, ref, sizeof(ref));
        for (size_t cap = 0; cap <= size; cap++) {
            struct buf b;
            buf_init(&b, cap);
            int rc = builders[i].fn(&b);
            int want = cap < size ? -ENOSPC : 0;
            if (rc != want)
                fail_msg("%s (%zu bytes) into cap %zu: rc %d, want %d", builders[i].name, size, cap,
                         rc, want);
            if (rc == 0)
                assert_bytes(&b, ref, size);
            else if (b.end != 0 || b.scan != 0 || b.sent != 0)
                fail_msg("%s into cap %zu: cursors moved on -ENOSPC", builders[i].name, cap);
            buf_fini(&b);
        }
    }
}

static void test_builders_enospc_keep_earlier_bytes(void **state)
{
    (void)state;
    uint8_t ref[512], want[520];

    for (size_t i = 0; i < ARRAY_SIZE(builders); i++) {
        size_t size = reference(i, ref, sizeof(ref));
        /* 3 bytes already queued; room for the message only at cap 3 + size */
        for (size_t cap = 3; cap <= 3 + size; cap++) {
            struct buf b;
            buf_init(&b, cap);
            assert_int_equal(buf_append(&b, "xyz", 3), 0);
            int rc = builders[i].fn(&b);
            if (cap < 3 + size) {
                if (rc != -ENOSPC)
                    fail_msg("%s after 3 bytes, cap %zu: rc %d", builders[i].name, cap, rc);
                assert_bytes(&b, "xyz", 3);
                assert_int_equal(b.sent, 0);
            } else {
                assert_int_equal(rc, 0);
                memcpy(want, "xyz", 3);
                memcpy(want + 3, ref, size);
                assert_bytes(&b, want, 3 + size);
            }
            buf_fini(&b);
        }
        /* 6 queued, 4 of them already sent: "56" must survive a failed build */
        for (size_t cap = 6; cap < 2 + size; cap++) {
            struct buf b;
            buf_init(&b, cap);
            assert_int_equal(buf_append(&b, "123456", 6), 0);
            b.sent = 4;
            int rc = builders[i].fn(&b);
            if (rc != -ENOSPC)
                fail_msg("%s after 2 pending bytes, cap %zu: rc %d", builders[i].name, cap, rc);
            assert_bytes(&b, "56", 2);
            buf_fini(&b);
        }
    }
}

static void test_builders_enomem_leave_buffer_usable(void **state)
{
    (void)state;
    buf_cache_flush();
    int64_t base = alloc_live_count();
    uint8_t ref[512];

    for (size_t i = 0; i < ARRAY_SIZE(builders); i++) {
        size_t size = reference(i, ref, sizeof(ref));
        struct buf b;
        buf_init(&b, 256);
        buf_cache_flush(); /* a spare chunk would let buf_ensure succeed without malloc */
        alloc_fail_after(1);
        int rc = builders[i].fn(&b);
        alloc_fail_reset();
        if (rc != -ENOMEM)
            fail_msg("%s with malloc failing: rc %d, want -ENOMEM", builders[i].name, rc);
        assert_null(b.data);
        assert_true(buf_empty(&b));
        assert_int_equal(builders[i].fn(&b), 0);
        assert_bytes(&b, ref, size);
        buf_fini(&b);
    }
    buf_cache_flush();
    assert_int_equal(alloc_live_count(), base);
}

static void test_builders_fit_after_compaction(void **state)
{
    (void)state;
    /* XXX: w_begin() compacts only when fewer than 64 bytes are free at the tail, so a
     * message longer than the tail but shorter than the free space after compaction
     * fails with -ENOSPC (buf_append compacts whenever it must). Reported to the lead;
     * fixed; kept as a regression test. */
    uint8_t ref[512], want[520];
    static const uint8_t sent_bytes[200] = {0};

    for (size_t i = 0; i < ARRAY_SIZE(builders); i++) {
        size_t size = reference(i, ref, sizeof(ref));
        struct buf b;
        /* 200 bytes queued and all sent but one: size bytes fit only after compaction */
        buf_init(&b, 200 + size - 1);
        assert_int_equal(buf_append(&b, sent_bytes, sizeof(sent_bytes)), 0);
        b.sent = 199;
        int rc = builders[i].fn(&b);
        if (rc != 0)
            fail_msg("%s (%zu bytes), 1 pending, %zu free after compaction: rc %d",
                     builders[i].name, size, size + 198, rc);
        want[0] = 0;
        memcpy(want + 1, ref, size);
        assert_bytes(&b, want, 1 + size);
        buf_fini(&b);
    }
}

static void test_builders_append_in_order(void **state)
{
    (void)state;
    uint8_t ref[512], all[4096];
    size_t total = 0;
    struct buf b;

    for (size_t i = 0; i < ARRAY_SIZE(builders); i++) {
        size_t size = reference(i, ref, sizeof(ref));
        memcpy(all + total, ref, size);
        total += size;
    }
    buf_init(&b, total);
    for (size_t i = 0; i < ARRAY_SIZE(builders); i++)
        assert_int_equal(builders[i].fn(&b), 0);
    assert_bytes(&b, all, total);
    assert_int_equal(buf_space(&b), 0);
    buf_fini(&b);
}

static int teardown(void **state)
{
    (void)state;
    alloc_fail_reset();
    buf_cache_flush();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_startup_v3_with_params),
            cmocka_unit_test(test_startup_consumes_only_its_own_bytes),
            cmocka_unit_test(test_startup_v3_minor_versions_are_v3),
            cmocka_unit_test(test_startup_ssl_request),
            cmocka_unit_test(test_startup_gssenc_request),
            cmocka_unit_test(test_startup_cancel_request),
            cmocka_unit_test(test_startup_special_codes_with_wrong_length),
            cmocka_unit_test(test_startup_length_below_8_is_emsgsize),
            cmocka_unit_test(test_startup_length_above_max_is_emsgsize),
            cmocka_unit_test(test_startup_length_exactly_max_is_accepted),
            cmocka_unit_test(test_startup_unknown_version),
            cmocka_unit_test(test_startup_missing_user_is_eproto),
            cmocka_unit_test(test_startup_repeated_user_agrees_with_get),
            cmocka_unit_test(test_startup_missing_terminator_is_eproto),
            cmocka_unit_test(test_startup_params_limit),
            cmocka_unit_test(test_startup_get),
            cmocka_unit_test(test_parse_header),
            cmocka_unit_test(test_parse_header_lengths),
            cmocka_unit_test(test_parse_error_postgresql_fatal),
            cmocka_unit_test(test_parse_error_prefers_unlocalized_severity),
            cmocka_unit_test(test_parse_error_missing_fields_are_empty),
            cmocka_unit_test(test_parse_error_truncates_long_fields),
            cmocka_unit_test(test_parse_error_unterminated_is_eproto),
            cmocka_unit_test(test_parse_auth),
            cmocka_unit_test(test_parse_param_status),
            cmocka_unit_test(test_parse_param_status_needs_exactly_two_strings),
            cmocka_unit_test(test_parse_cstring),
            cmocka_unit_test(test_parse_sasl_initial),
            cmocka_unit_test(test_parse_sasl_initial_length_minus_one),
            cmocka_unit_test(test_parse_sasl_initial_zero_length),
            cmocka_unit_test(test_parse_sasl_initial_malformed),
            cmocka_unit_test(test_parse_sasl_initial_minus_one_with_trailing_bytes),
            cmocka_unit_test(test_datarow_col),
            cmocka_unit_test(test_datarow_col_out_of_range),
            cmocka_unit_test(test_datarow_col_truncated),
            cmocka_unit_test(test_put_ready_bytes),
            cmocka_unit_test(test_put_terminate_bytes),
            cmocka_unit_test(test_put_cancel_bytes_and_round_trip),
            cmocka_unit_test(test_put_byte),
            cmocka_unit_test(test_put_error_round_trip),
            cmocka_unit_test(test_put_auth_round_trip),
            cmocka_unit_test(test_put_param_status_round_trip),
            cmocka_unit_test(test_put_backend_key_bytes),
            cmocka_unit_test(test_put_query_and_password_round_trip),
            cmocka_unit_test(test_put_startup_round_trip),
            cmocka_unit_test(test_put_sasl_round_trip),
            cmocka_unit_test(test_put_sasl_empty_data),
            cmocka_unit_test(test_put_sasl_null_data_with_zero_length),
            cmocka_unit_test(test_put_extended_query),
            cmocka_unit_test(test_put_extended_query_after_partly_sent_bytes),
            cmocka_unit_test(test_builders_fit_exactly_or_append_nothing),
            cmocka_unit_test(test_builders_enospc_keep_earlier_bytes),
            cmocka_unit_test(test_builders_enomem_leave_buffer_usable),
            cmocka_unit_test(test_builders_fit_after_compaction),
            cmocka_unit_test(test_builders_append_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
