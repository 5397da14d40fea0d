/* SPDX-License-Identifier: MIT */
/*
 * test_scram.c: unit tests for scram.c: the RFC 7677 SCRAM-SHA-256 vector in both roles,
 * a secret made by PostgreSQL 15, whole in-memory exchanges (password and pass-through
 * mode), and malformed, truncated or out-of-order messages.
 * Not a test against a live server (the integration tests do that).
 * Invariant: expected constants come from the RFC, PostgreSQL or Python, not from scram.c.
 */
#include "scram.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base.h"

/* RFC 7677 section 3: user "user", password "pencil". */
#define RFC_CLIENT_NONCE      "rOprNGfwEbeRWgbNEkqO"
#define RFC_SERVER_NONCE      "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_CLIENT_FIRST_BARE "n=user,r=" RFC_CLIENT_NONCE
#define RFC_CLIENT_FIRST      "n,," RFC_CLIENT_FIRST_BARE
#define RFC_SERVER_FIRST      "r=" RFC_CLIENT_NONCE RFC_SERVER_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_CLIENT_FINAL                                                                           \
    "c=biws,r=" RFC_CLIENT_NONCE RFC_SERVER_NONCE ",p=dHzbZapWIk4jUhN+"                            \
    "Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
/* The RFC's StoredKey and ServerKey, computed with Python's hashlib/hmac. */
#define RFC_SECRET                                                                                 \
    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"    \
    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="

static const uint8_t rfc_salt[16] = {0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e,
                                     0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81};
/* ClientKey for "pencil" with the RFC salt (Python). */
static const uint8_t rfc_client_key[SCRAM_KEY_LEN] = {
        0xa6, 0x0f, 0xc9, 0x23, 0xd6, 0x7e, 0x86, 0x44, 0xa9, 0x2d, 0x16,
        0xb9, 0x6e, 0xda, 0x5e, 0xf4, 0x65, 0x6b, 0x0c, 0x72, 0x5c, 0x48,
        0x43, 0x74, 0xbe, 0x25, 0x53, 0x55, 0x76, 0x99, 0x6e, 0x8b};

/* PostgreSQL 15: SET password_encryption = 'scram-sha-256';
 * CREATE ROLE x LOGIN PASSWORD 'secret pw'; SELECT rolpassword FROM pg_authid ... */
#define PG_PASSWORD "secret pw"
#define PG_SECRET                                                                                  \
    "SCRAM-SHA-256$4096:521SqC+U0ZiDWxP2F+EijQ==$C5lBLpQkbcht+zXHGhyLsOhDLQ940VnESfeq9qV5a58=:"    \
    "wcUtvyeOSUB4ZSjL/UZujrLjhRahN2QAWFJKYNAGiQU="
static const uint8_t pg_salt[16] = {0xe7, 0x6d, 0x52, 0xa8, 0x2f, 0x94, 0xd1, 0x98,
                                    0x83, 0x5b, 0x13, 0xf6, 0x17, 0xe1, 0x22, 0x8d};

/* Random inputs and their base64 (Python), the nonces they must become. */
static const uint8_t rnd_a[SCRAM_NONCE_RAW] = {0, 1,  2,  3,  4,  5,  6,  7,  8,
                                               9, 10, 11, 12, 13, 14, 15, 16, 17};
static const uint8_t rnd_b[SCRAM_NONCE_RAW] = {100, 101, 102, 103, 104, 105, 106, 107, 108,
                                               109, 110, 111, 112, 113, 114, 115, 116, 117};
#define NONCE_A "AAECAwQFBgcICQoLDA0ODxAR"
#define NONCE_B "ZGVmZ2hpamtsbW5vcHFyc3R1"

static struct scram_secret parsed(const char *text)
{
    struct scram_secret sec;
    assert_int_equal(scram_parse_secret(text, &sec), 0);
    return sec;
}

static void assert_same_secret(const struct scram_secret *a, const struct scram_secret *b)
{
    assert_int_equal(a->iterations, b->iterations);
    assert_int_equal(a->salt_len, b->salt_len);
    assert_memory_equal(a->salt, b->salt, a->salt_len);
    assert_memory_equal(a->stored_key, b->stored_key, SCRAM_KEY_LEN);
    assert_memory_equal(a->server_key, b->server_key, SCRAM_KEY_LEN);
}

static int srv_first(struct scram_server *s, const char *msg, char *out)
{
    return scram_server_first(s, msg, strlen(msg), out, SCRAM_MAX_MSG);
}

static int srv_final(struct scram_server *s, const char *msg, char *out)
{
    return scram_server_final(s, msg, strlen(msg), out, SCRAM_MAX_MSG);
}

static int cli_final(struct scram_client *c, const char *msg, char *out)
{
    return scram_client_final(c, msg, strlen(msg), out, SCRAM_MAX_MSG);
}

/* The four messages of one exchange, for tests that replay or damage them. */
struct transcript {
    char client_first[SCRAM_MAX_MSG];
    char server_first[SCRAM_MAX_MSG];
    char client_final[SCRAM_MAX_MSG];
    char server_final[SCRAM_MAX_MSG];
};

/* Run an exchange in memory until a step fails. Returns 0 or that step's error, with
 * *step = 1 client-first, 2 server-first, 3 client-final, 4 server-final, 5 verify. */
static int run_exchange(struct scram_server *s, struct scram_client *c, struct transcript *t,
                        int *step)
{
    int n;

    *step = 1;
    n = scram_client_first(c, t->client_first, sizeof(t->client_first));
    if (n < 0)
        return n;
    *step = 2;
    n = scram_server_first(s, t->client_first, (size_t)n, t->server_first, sizeof(t->server_first));
    if (n < 0)
        return n;
    *step = 3;
    n = scram_client_final(c, t->server_first, (size_t)n, t->client_final, sizeof(t->client_final));
    if (n < 0)
        return n;
    *step = 4;
    n = scram_server_final(s, t->client_final, (size_t)n, t->server_final, sizeof(t->server_final));
    if (n < 0)
        return n;
    *step = 5;
    return scram_client_verify(c, t->server_final, (size_t)n);
}

/* ---- RFC 7677 ---- */

static void test_rfc7677_secret_from_password(void **state)
{
    (void)state;
    struct scram_secret want = parsed(RFC_SECRET), got;

    assert_int_equal(scram_secret_from_password("pencil", rfc_salt, sizeof(rfc_salt), 4096, &got),
                     0);
    assert_same_secret(&got, &want);
}

static void test_rfc7677_server_role(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(RFC_SECRET);
    struct scram_server s;
    char out[SCRAM_MAX_MSG];

    assert_int_equal(scram_server_init_nonce(&s, &sec, RFC_SERVER_NONCE), 0);
    assert_int_equal(srv_first(&s, RFC_CLIENT_FIRST, out), (int)strlen(RFC_SERVER_FIRST));
    assert_string_equal(out, RFC_SERVER_FIRST);
    assert_int_equal(s.state, SCRAM_SERVER_FIRST_SENT);
    assert_int_equal(srv_final(&s, RFC_CLIENT_FINAL, out), (int)strlen(RFC_SERVER_FINAL));
    assert_string_equal(out, RFC_SERVER_FINAL);
    assert_int_equal(s.state, SCRAM_SERVER_DONE);
    assert_true(s.have_client_key);
    assert_memory_equal(s.client_key, rfc_client_key, SCRAM_KEY_LEN);
    scram_server_wipe(&s);
}

/* The RFC's client sends "n=user"; ours sends "n=" as libpq does. The AuthMessage covers
 * client-first-bare, so replaying the vector means putting the RFC's bare message and nonce
 * in place of ours after scram_client_first(). */
static void use_rfc_client_first(struct scram_client *c)
{
    char out[SCRAM_MAX_MSG];

    assert_true(scram_client_first(c, out, sizeof(out)) > 0);
    snprintf(c->client_nonce, sizeof(c->client_nonce), "%s", RFC_CLIENT_NONCE);
    snprintf(c->client_first_bare, sizeof(c->client_first_bare), "%s", RFC_CLIENT_FIRST_BARE);
}

static void test_rfc7677_client_role_password(void **state)
{
    (void)state;
    struct scram_client c;
    char out[SCRAM_MAX_MSG];

    assert_int_equal(scram_client_init_password(&c, "pencil", rnd_a), 0);
    use_rfc_client_first(&c);
    assert_int_equal(cli_final(&c, RFC_SERVER_FIRST, out), (int)strlen(RFC_CLIENT_FINAL));
    assert_string_equal(out, RFC_CLIENT_FINAL);
    assert_int_equal(c.state, SCRAM_CLIENT_FINAL_SENT);
    assert_int_equal(scram_client_verify(&c, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)), 0);
    assert_int_equal(c.state, SCRAM_CLIENT_DONE);
    scram_client_wipe(&c);
}

static void test_rfc7677_client_role_passthrough(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(RFC_SECRET);
    struct scram_client c;
    char out[SCRAM_MAX_MSG];

    scram_client_init_passthrough(&c, rfc_client_key, &sec, rnd_a);
    use_rfc_client_first(&c);
    assert_int_equal(cli_final(&c, RFC_SERVER_FIRST, out), (int)strlen(RFC_CLIENT_FINAL));
    assert_string_equal(out, RFC_CLIENT_FINAL);
    assert_int_equal(scram_client_verify(&c, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)), 0);
    scram_client_wipe(&c);
}

/* ---- message shapes ---- */

static void test_nonces_are_base64_of_random(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(PG_SECRET);
    struct scram_client c;
    struct scram_server s;
    char m1[SCRAM_MAX_MSG], m2[SCRAM_MAX_MSG];

    assert_int_equal(scram_client_init_password(&c, PG_PASSWORD, rnd_a), 0);
    assert_int_equal(scram_client_first(&c, m1, sizeof(m1)), (int)strlen("n,,n=,r=" NONCE_A));
    assert_string_equal(m1, "n,,n=,r=" NONCE_A);
    scram_server_init(&s, &sec, rnd_b);
    assert_true(srv_first(&s, m1, m2) > 0);
    assert_string_equal(m2, "r=" NONCE_A NONCE_B ",s=521SqC+U0ZiDWxP2F+EijQ==,i=4096");
}

/* ---- PostgreSQL's own secret ---- */

static void test_pg_secret_parses(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(PG_SECRET);

    assert_true(scram_is_secret(PG_SECRET));
    assert_int_equal(sec.iterations, 4096);
    assert_int_equal(sec.salt_len, sizeof(pg_salt));
    assert_memory_equal(sec.salt, pg_salt, sizeof(pg_salt));
}

static void test_pg_secret_reproduced_from_password(void **state)
{
    (void)state;
    struct scram_secret want = parsed(PG_SECRET), got, other;

    assert_int_equal(scram_secret_from_password(PG_PASSWORD, want.salt, want.salt_len,
                                                want.iterations, &got),
                     0);
    assert_same_secret(&got, &want);
    assert_int_equal(scram_secret_from_password("secret pW", want.salt, want.salt_len,
                                                want.iterations, &other),
                     0);
    assert_memory_not_equal(other.stored_key, want.stored_key, SCRAM_KEY_LEN);
}

/* ---- whole exchanges, lifeguard client role against lifeguard server role ---- */

static void test_exchange_password_mode(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(PG_SECRET);
    struct scram_server s;
    struct scram_client c;
    struct transcript t;
    int step;

    scram_server_init(&s, &sec, rnd_b);
    assert_int_equal(scram_client_init_password(&c, PG_PASSWORD, rnd_a), 0);
    assert_int_equal(run_exchange(&s, &c, &t, &step), 0);
    assert_int_equal(s.state, SCRAM_SERVER_DONE);
    assert_int_equal(c.state, SCRAM_CLIENT_DONE);
    assert_true(s.have_client_key);
    static const char head[] = "c=biws,r=" NONCE_A NONCE_B ",p=";
    assert_true(strncmp(t.client_final, head, sizeof(head) - 1) == 0);
    scram_server_wipe(&s);
    scram_client_wipe(&c);
}

static void test_exchange_passthrough_mode(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(PG_SECRET);
    struct scram_server front, back;
    struct scram_client app, pooler;
    struct transcript t;
    int step;

    /* The application logs in to lifeguard with the password... */
    scram_server_init(&front, &sec, rnd_b);
    assert_int_equal(scram_client_init_password(&app, PG_PASSWORD, rnd_a), 0);
    assert_int_equal(run_exchange(&front, &app, &t, &step), 0);
    assert_true(front.have_client_key);
    /* ...and lifeguard logs in to "PostgreSQL" with the ClientKey it recovered. */
    scram_server_init(&back, &sec, rnd_a);
    scram_client_init_passthrough(&pooler, front.client_key, &sec, rnd_b);
    assert_int_equal(run_exchange(&back, &pooler, &t, &step), 0);
    assert_int_equal(back.state, SCRAM_SERVER_DONE);
    assert_int_equal(pooler.state, SCRAM_CLIENT_DONE);
    assert_memory_equal(back.client_key, front.client_key, SCRAM_KEY_LEN);
    scram_server_wipe(&front);
    scram_server_wipe(&back);
    scram_client_wipe(&app);
    scram_client_wipe(&pooler);
}

static void test_exchange_wrong_password_is_eacces(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(PG_SECRET);
    struct scram_server s;
    struct scram_client c;
    struct transcript t;
    char out[SCRAM_MAX_MSG];
    int step;

    scram_server_init(&s, &sec, rnd_b);
    assert_int_equal(scram_client_init_password(&c, "secret pW", rnd_a), 0);
    assert_int_equal(run_exchange(&s, &c, &t, &step), -EACCES);
    assert_int_equal(step, 4);
    assert_int_equal(s.state, SCRAM_SERVER_FAILED);
    assert_false(s.have_client_key);
    /* A failed exchange stays failed, even when the right proof comes later. */
    assert_int_equal(srv_final(&s, t.client_final, out), -EPROTO);
}

static void test_exchange_passthrough_wrong_key_is_eacces(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(PG_SECRET);
    struct scram_server s;
    struct scram_client c;
    struct transcript t;
    uint8_t key[SCRAM_KEY_LEN];
    int step;

    memcpy(key, rfc_client_key, sizeof(key));
    scram_server_init(&s, &sec, rnd_b);
    scram_client_init_passthrough(&c, key, &sec, rnd_a);
    assert_int_equal(run_exchange(&s, &c, &t, &step), -EACCES);
    assert_int_equal(step, 4);
}

static void test_passthrough_refuses_other_salt_or_iterations(void **state)
{
    (void)state;
    struct scram_secret mine = parsed(PG_SECRET), theirs = parsed(RFC_SECRET);
    struct scram_server s;
    struct scram_client c;
    struct transcript t;
    int step;

    /* Different salt. */
    scram_server_init(&s, &theirs, rnd_b);
    scram_client_init_passthrough(&c, rfc_client_key, &mine, rnd_a);
    assert_int_equal(run_exchange(&s, &c, &t, &step), -EACCES);
    assert_int_equal(step, 3);
    assert_int_equal(c.state, SCRAM_CLIENT_FAILED);
    /* Same salt, different iteration count. */
    theirs = mine;
    theirs.iterations = 4097;
    scram_server_init(&s, &theirs, rnd_b);
    scram_client_init_passthrough(&c, rfc_client_key, &mine, rnd_a);
    assert_int_equal(run_exchange(&s, &c, &t, &step), -EACCES);
    assert_int_equal(step, 3);
}

static void test_client_verify_wrong_signature_or_error(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(RFC_SECRET);
    struct scram_client c;
    char out[SCRAM_MAX_MSG];
    static const char *const bad[] = {
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95H4=", /* one bit differs */
            "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    };

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        scram_client_init_passthrough(&c, rfc_client_key, &sec, rnd_a);
        use_rfc_client_first(&c);
        assert_true(cli_final(&c, RFC_SERVER_FIRST, out) > 0);
        assert_int_equal(scram_client_verify(&c, bad[i], strlen(bad[i])), -EACCES);
        assert_int_equal(c.state, SCRAM_CLIENT_FAILED);
    }
    scram_client_init_passthrough(&c, rfc_client_key, &sec, rnd_a);
    use_rfc_client_first(&c);
    assert_true(cli_final(&c, RFC_SERVER_FIRST, out) > 0);
    assert_int_equal(scram_client_verify(&c, "e=invalid-proof", 15), -EPROTO);
}

/* ---- server role: gs2 header and client-first ---- */

static void test_server_first_accepts(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(PG_SECRET);
    struct scram_server s;
    char out[SCRAM_MAX_MSG];
    static const char *const good[] = {
            "n,,n=,r=abc",
            "y,,n=,r=abc",
            "n,,n=someone=2Celse,r=abc",
            "n,,n=,r=abc,x=ext,y=",
    };

    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        scram_server_init(&s, &sec, rnd_b);
        assert_true(srv_first(&s, good[i], out) > 0);
        assert_true(strncmp(out, "r=abc" NONCE_B ",", 30) == 0);
    }
}

static void test_server_first_refuses_channel_binding(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(PG_SECRET);
    struct scram_server s;
    char out[SCRAM_MAX_MSG];

    scram_server_init(&s, &sec, rnd_b);
    assert_int_equal(srv_first(&s, "p=tls-server-end-point,,n=,r=abc", out), -EOPNOTSUPP);
    assert_int_equal(s.state, SCRAM_SERVER_FAILED);
}

static void test_server_first_malformed(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(PG_SECRET);
    struct scram_server s;
    char out[SCRAM_MAX_MSG];
    char nonce_too_long[200];
    static const char *const bad[] = {
            "",
            "n",
            "n,",
            "n,,",
            "n,,n",
            "n,,n=",
            "n,,n=,",
            "n,,n=,r",
            "n,,n=,r=",
            "n,,n=,r=abc,",        /* trailing comma */
            "n,,n=,r=abc,x",       /* extension without '=' */
            "n,,n=,r=abc,xyz",     /* extension without '=' */
            "n,,n:user,r=abc",     /* ':' for '=' */
            "n,,n=,r=abc,1=x",     /* attribute name not a letter */
            "n,,n=,r=a b",         /* space in nonce */
            "n,,n=,r=a\x7f",       /* DEL in nonce */
            "n,,n=,r=\xc3\xa9",    /* non-ASCII nonce */
            "x,,n=,r=abc",         /* unknown cbind flag */
            "p",                   /* flag without name */
            "n,a=user,n=,r=abc",   /* authzid */
            "n,,m=ext,n=,r=abc",   /* mandatory extension */
            "n,,r=abc",            /* no user */
            "n,,n=,s=abc",         /* no nonce */
            "n,,n=,r=abc,r=def,,", /* empty attribute */
            ",,n=,r=abc",
            "nn,,n=,r=abc",
    };

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        scram_server_init(&s, &sec, rnd_b);
        assert_int_equal(srv_first(&s, bad[i], out), -EPROTO);
        assert_int_equal(s.state, SCRAM_SERVER_FAILED);
    }
    /* A NUL inside the message. */
    scram_server_init(&s, &sec, rnd_b);
    assert_int_equal(scram_server_first(&s, "n,,n=\0,r=abc", 12, out, sizeof(out)), -EPROTO);
    /* A client nonce too long to combine with ours (128-byte field). */
    memset(nonce_too_long, 'a', sizeof(nonce_too_long));
    memcpy(nonce_too_long, "n,,n=,r=", 8);
    nonce_too_long[8 + 104] = '\0';
    scram_server_init(&s, &sec, rnd_b);
    assert_int_equal(srv_first(&s, nonce_too_long, out), -EPROTO);
    nonce_too_long[8 + 103] = '\0'; /* 103 + 24 = 127: fits */
    scram_server_init(&s, &sec, rnd_b);
    assert_true(srv_first(&s, nonce_too_long, out) > 0);
}

static void test_server_first_size_bound(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(PG_SECRET);
    struct scram_server s;
    char msg[SCRAM_MAX_MSG + 1], out[SCRAM_MAX_MSG];

    /* SCRAM_MAX_MSG - 1 bytes is the longest accepted message. */
    memset(msg, 'a', sizeof(msg));
    memcpy(msg, "n,,n=,r=abc,x=", 14);
    scram_server_init(&s, &sec, rnd_b);
    assert_true(scram_server_first(&s, msg, SCRAM_MAX_MSG - 1, out, sizeof(out)) > 0);
    scram_server_init(&s, &sec, rnd_b);
    assert_int_equal(scram_server_first(&s, msg, SCRAM_MAX_MSG, out, sizeof(out)), -EPROTO);
    /* Output buffer one byte short. */
    scram_server_init(&s, &sec, rnd_b);
    int n = srv_first(&s, "n,,n=,r=abc", out);
    assert_true(n > 0);
    scram_server_init(&s, &sec, rnd_b);
    assert_int_equal(scram_server_first(&s, "n,,n=,r=abc", 11, out, (size_t)n), -EMSGSIZE);
    assert_int_equal(s.state, SCRAM_SERVER_FAILED);
}

/* ---- server role: client-final ---- */

/* A server that has sent its server-first to a password client, and what the client
 * answered. */
static void server_awaiting_final(struct scram_server *s, char *client_final)
{
    struct scram_secret sec = parsed(PG_SECRET);
    struct scram_client c;
    char m1[SCRAM_MAX_MSG], m2[SCRAM_MAX_MSG];

    scram_server_init(s, &sec, rnd_b);
    assert_int_equal(scram_client_init_password(&c, PG_PASSWORD, rnd_a), 0);
    assert_true(scram_client_first(&c, m1, sizeof(m1)) > 0);
    assert_true(srv_first(s, m1, m2) > 0);
    assert_true(cli_final(&c, m2, client_final) > 0);
    scram_client_wipe(&c);
}

static void test_server_final_truncated(void **state)
{
    (void)state;
    struct scram_server ready, s;
    char final[SCRAM_MAX_MSG], out[SCRAM_MAX_MSG];

    server_awaiting_final(&ready, final);
    size_t len = strlen(final);
    for (size_t cut = 0; cut < len; cut++) {
        s = ready;
        assert_int_equal(scram_server_final(&s, final, cut, out, sizeof(out)), -EPROTO);
        assert_false(s.have_client_key);
    }
    s = ready;
    assert_true(scram_server_final(&s, final, len, out, sizeof(out)) > 0);
}

static void test_server_final_malformed(void **state)
{
    (void)state;
    struct scram_server ready, s;
    char final[SCRAM_MAX_MSG], msg[2 * SCRAM_MAX_MSG], out[SCRAM_MAX_MSG];
    const char *proof;

    server_awaiting_final(&ready, final);
    proof = strstr(final, ",p=");
    assert_non_null(proof);
    int head = (int)(proof - final);

    /* Channel binding data for "y,," while the client said "n,,". */
    snprintf(msg, sizeof(msg), "c=eSws%s", final + 6);
    s = ready;
    assert_int_equal(srv_final(&s, msg, out), -EPROTO);
    /* Nonce changed in its last character, and nonce with one extra character. */
    snprintf(msg, sizeof(msg), "%.*sX%s", head - 1, final, proof);
    s = ready;
    assert_int_equal(srv_final(&s, msg, out), -EPROTO);
    snprintf(msg, sizeof(msg), "%.*sX%s", head, final, proof);
    s = ready;
    assert_int_equal(srv_final(&s, msg, out), -EPROTO);
    /* Anything after the proof. */
    snprintf(msg, sizeof(msg), "%s,x=1", final);
    s = ready;
    assert_int_equal(srv_final(&s, msg, out), -EPROTO);
    /* Proof of 31 bytes, of 33 bytes, not base64. */
    snprintf(msg, sizeof(msg), "%.*s,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", head, final);
    s = ready;
    assert_int_equal(srv_final(&s, msg, out), -EPROTO);
    snprintf(msg, sizeof(msg), "%.*s,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", head, final);
    s = ready;
    assert_int_equal(srv_final(&s, msg, out), -EPROTO);
    snprintf(msg, sizeof(msg), "%.*s,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=A", head, final);
    s = ready;
    assert_int_equal(srv_final(&s, msg, out), -EPROTO);
    /* Attributes out of order, and no proof at all. */
    snprintf(msg, sizeof(msg), "%s", final + 7);
    s = ready;
    assert_int_equal(srv_final(&s, msg, out), -EPROTO);
    snprintf(msg, sizeof(msg), "%.*s,x=ext", head, final);
    s = ready;
    assert_int_equal(srv_final(&s, msg, out), -EPROTO);
    /* An extension before the proof parses; the AuthMessage then differs, so the proof
     * is wrong (-EACCES, not -EPROTO). */
    snprintf(msg, sizeof(msg), "%.*s,x=ext%s", head, final, proof);
    s = ready;
    assert_int_equal(srv_final(&s, msg, out), -EACCES);
    /* A well-formed proof of the wrong key. */
    snprintf(msg, sizeof(msg), "%.*s,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", head, final);
    s = ready;
    assert_int_equal(srv_final(&s, msg, out), -EACCES);
    /* Output buffer too small: no key handed out. */
    s = ready;
    assert_int_equal(scram_server_final(&s, final, strlen(final), out, 10), -EMSGSIZE);
    assert_false(s.have_client_key);
}

static void test_server_final_y_flag_needs_eSws(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(PG_SECRET);
    struct scram_server s, ready;
    char out[SCRAM_MAX_MSG], msg[SCRAM_MAX_MSG];
    static const char proof[] = ",p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    scram_server_init(&ready, &sec, rnd_b);
    assert_true(srv_first(&ready, "y,,n=,r=abc", out) > 0);
    /* "biws" is "n,,": refused as malformed. */
    snprintf(msg, sizeof(msg), "c=biws,r=abc" NONCE_B "%s", proof);
    s = ready;
    assert_int_equal(srv_final(&s, msg, out), -EPROTO);
    /* "eSws" is "y,,": parsing passes and the (bogus) proof is what fails. */
    snprintf(msg, sizeof(msg), "c=eSws,r=abc" NONCE_B "%s", proof);
    s = ready;
    assert_int_equal(srv_final(&s, msg, out), -EACCES);
}

/* ---- client role: server-first and server-final ---- */

static void client_awaiting_server_first(struct scram_client *c, bool passthrough)
{
    struct scram_secret sec = parsed(PG_SECRET);
    char out[SCRAM_MAX_MSG];

    if (passthrough)
        scram_client_init_passthrough(c, rfc_client_key, &sec, rnd_a);
    else
        assert_int_equal(scram_client_init_password(c, PG_PASSWORD, rnd_a), 0);
    assert_true(scram_client_first(c, out, sizeof(out)) > 0);
}

static void test_client_final_truncated(void **state)
{
    (void)state;
    static const char good[] = "r=" NONCE_A NONCE_B ",s=521SqC+U0ZiDWxP2F+EijQ==,i=4096";
    struct scram_client ready, c;
    char out[SCRAM_MAX_MSG];

    client_awaiting_server_first(&ready, false);
    /* Every cut before the iteration count's digits is malformed ("i=4", "i=40" are
     * valid counts, tested below with a secret that must match). */
    size_t stop = strlen(good) - 4;
    for (size_t cut = 0; cut <= stop; cut++) {
        c = ready;
        assert_int_equal(scram_client_final(&c, good, cut, out, sizeof(out)), -EPROTO);
        assert_int_equal(c.state, SCRAM_CLIENT_FAILED);
    }
    client_awaiting_server_first(&ready, true);
    for (size_t cut = stop + 1; cut < strlen(good); cut++) {
        c = ready;
        assert_int_equal(scram_client_final(&c, good, cut, out, sizeof(out)), -EACCES);
    }
    c = ready;
    assert_true(cli_final(&c, good, out) > 0);
}

static void test_client_final_malformed(void **state)
{
    (void)state;
    struct scram_client ready, c;
    char out[SCRAM_MAX_MSG];
    static const char *const bad[] = {
            "r=" NONCE_A ",s=521SqC+U0ZiDWxP2F+EijQ==,i=4096",         /* no server part */
            "r=" NONCE_B NONCE_A ",s=521SqC+U0ZiDWxP2F+EijQ==,i=4096", /* not our prefix */
            "r=X" NONCE_A "B,s=521SqC+U0ZiDWxP2F+EijQ==,i=4096",
            "r=" NONCE_A "b c,s=521SqC+U0ZiDWxP2F+EijQ==,i=4096",
            "r=" NONCE_A "B,s=521SqC+U0ZiDWxP2F+EijQ==,i=0",
            "r=" NONCE_A "B,s=521SqC+U0ZiDWxP2F+EijQ==,i=-1",
            "r=" NONCE_A "B,s=521SqC+U0ZiDWxP2F+EijQ==,i=+4096",
            "r=" NONCE_A "B,s=521SqC+U0ZiDWxP2F+EijQ==,i=2147483648",
            "r=" NONCE_A "B,s=521SqC+U0ZiDWxP2F+EijQ==,i=99999999999",
            "r=" NONCE_A "B,s=521SqC+U0ZiDWxP2F+EijQ==,i=4k",
            "r=" NONCE_A "B,s=521SqC+U0ZiDWxP2F+EijQ==,i=",
            "r=" NONCE_A "B,s=521SqC+U0ZiDWxP2F+EijQ==,i=4096,",
            "r=" NONCE_A "B,s=521SqC+U0ZiDWxP2F+EijQ==,i=4096,x=1",
            "r=" NONCE_A "B,s=521SqC+U0ZiDWxP2F+EijQ=,i=4096",  /* bad padding */
            "r=" NONCE_A "B,s=521SqC+U0ZiDWxP2F+Eij=Q=,i=4096", /* '=' inside */
            "r=" NONCE_A "B,s=521SqC+U0ZiDWxP2F+EijQ===,i=4096",
            "r=" NONCE_A "B,s=,i=4096",                         /* empty salt */
            "r=" NONCE_A "B,i=4096,s=521SqC+U0ZiDWxP2F+EijQ==", /* order */
            "r=" NONCE_A "B,i=4096",
            "m=x,r=" NONCE_A "B,s=521SqC+U0ZiDWxP2F+EijQ==,i=4096",
            "e=other-error",
    };

    client_awaiting_server_first(&ready, false);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        c = ready;
        assert_int_equal(cli_final(&c, bad[i], out), -EPROTO);
    }
    /* Salt of 65 bytes (88 base64 characters) exceeds SCRAM_MAX_SALT. */
    char msg[SCRAM_MAX_MSG];
    int n = snprintf(msg, sizeof(msg), "r=" NONCE_A "B,s=");
    memset(msg + n, 'A', 88);
    snprintf(msg + n + 88, sizeof(msg) - (size_t)n - 88, ",i=4096");
    c = ready;
    assert_int_equal(cli_final(&c, msg, out), -EPROTO);
    /* Wrong order of calls. */
    c = ready;
    assert_int_equal(scram_client_verify(&c, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)), -EPROTO);
}

static void test_client_verify_malformed(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(RFC_SECRET);
    struct scram_client ready, c;
    char out[SCRAM_MAX_MSG];
    static const char *const bad[] = {
            RFC_SERVER_FINAL ",x=1",
            RFC_SERVER_FINAL ",",
            "V=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4",
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=AAAA",
            ("x=1," RFC_SERVER_FINAL),
    };

    scram_client_init_passthrough(&ready, rfc_client_key, &sec, rnd_a);
    use_rfc_client_first(&ready);
    assert_true(cli_final(&ready, RFC_SERVER_FIRST, out) > 0);
    for (size_t cut = 0; cut < strlen(RFC_SERVER_FINAL); cut++) {
        c = ready;
        assert_int_equal(scram_client_verify(&c, RFC_SERVER_FINAL, cut), -EPROTO);
    }
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        c = ready;
        assert_int_equal(scram_client_verify(&c, bad[i], strlen(bad[i])), -EPROTO);
    }
    c = ready;
    assert_int_equal(scram_client_verify(&c, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)), 0);
    /* Verifying twice is out of order. */
    assert_int_equal(scram_client_verify(&c, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)), -EPROTO);
}

/* ---- secrets and setup ---- */

static void test_parse_secret_malformed(void **state)
{
    (void)state;
    struct scram_secret sec;
    char buf[256];
    static const char *const bad[] = {
            "",
            "md5871c429757b7a0bf1654fad112b77bd4",
            "SCRAM-SHA-1$4096:521SqC+U0ZiDWxP2F+EijQ==$C5lBLpQkbcht+zXHGhyLsOhDLQ940VnESfeq9qV5a58="
            ":wcUtvyeOSUB4ZSjL/UZujrLjhRahN2QAWFJKYNAGiQU=",
            "SCRAM-SHA-256$0:521SqC+U0ZiDWxP2F+EijQ==$C5lBLpQkbcht+zXHGhyLsOhDLQ940VnESfeq9qV5a58="
            ":wcUtvyeOSUB4ZSjL/UZujrLjhRahN2QAWFJKYNAGiQU=",
            "SCRAM-SHA-256$-1:521SqC+U0ZiDWxP2F+EijQ==$C5lBLpQkbcht+zXHGhyLsOhDLQ940VnESfeq9qV5a58="
            ":wcUtvyeOSUB4ZSjL/UZujrLjhRahN2QAWFJKYNAGiQU=",
            "SCRAM-SHA-256$4096x:521SqC+U0ZiDWxP2F+EijQ==$C5lBLpQkbcht+"
            "zXHGhyLsOhDLQ940VnESfeq9qV5a58="
            ":wcUtvyeOSUB4ZSjL/UZujrLjhRahN2QAWFJKYNAGiQU=",
            /* salt bad padding, salt empty */
            "SCRAM-SHA-256$4096:521SqC+U0ZiDWxP2F+EijQ=$C5lBLpQkbcht+"
            "zXHGhyLsOhDLQ940VnESfeq9qV5a58="
            ":wcUtvyeOSUB4ZSjL/UZujrLjhRahN2QAWFJKYNAGiQU=",
            "SCRAM-SHA-256$4096:$C5lBLpQkbcht+zXHGhyLsOhDLQ940VnESfeq9qV5a58="
            ":wcUtvyeOSUB4ZSjL/UZujrLjhRahN2QAWFJKYNAGiQU=",
            /* StoredKey of 33 bytes; ServerKey with trailing junk */
            "SCRAM-SHA-256$4096:521SqC+U0ZiDWxP2F+EijQ==$C5lBLpQkbcht+"
            "zXHGhyLsOhDLQ940VnESfeq9qV5a58A"
            ":wcUtvyeOSUB4ZSjL/UZujrLjhRahN2QAWFJKYNAGiQU=",
            PG_SECRET "$",
            PG_SECRET ":",
            PG_SECRET " ",
    };

    assert_int_equal(scram_parse_secret(NULL, &sec), -EINVAL);
    assert_false(scram_is_secret(NULL));
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(scram_parse_secret(bad[i], &sec), -EINVAL);
        assert_false(scram_is_secret(bad[i]));
    }
    /* Every proper prefix of a real secret. */
    for (size_t cut = 0; cut < strlen(PG_SECRET); cut++) {
        snprintf(buf, sizeof(buf), "%.*s", (int)cut, PG_SECRET);
        assert_int_equal(scram_parse_secret(buf, &sec), -EINVAL);
    }
}

static void test_secret_from_password_bad_args(void **state)
{
    (void)state;
    struct scram_secret sec;
    uint8_t salt[SCRAM_MAX_SALT + 1] = {0};

    assert_int_equal(scram_secret_from_password("pw", salt, 16, 0, &sec), -EINVAL);
    assert_int_equal(scram_secret_from_password("pw", salt, 0, 4096, &sec), -EINVAL);
    assert_int_equal(scram_secret_from_password("pw", salt, SCRAM_MAX_SALT + 1, 1, &sec), -EINVAL);
    assert_int_equal(scram_secret_from_password("pw", salt, SCRAM_MAX_SALT, 1, &sec), 0);
    assert_int_equal(sec.salt_len, SCRAM_MAX_SALT);
}

static void test_init_bad_args(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(PG_SECRET), empty;
    struct scram_server s;
    struct scram_client c;
    char pw[300], nonce[80];

    memset(pw, 'p', sizeof(pw));
    pw[256] = '\0';
    assert_int_equal(scram_client_init_password(&c, pw, rnd_a), -EINVAL);
    pw[255] = '\0';
    assert_int_equal(scram_client_init_password(&c, pw, rnd_a), 0);

    assert_int_equal(scram_server_init_nonce(&s, &sec, ""), -EINVAL);
    assert_int_equal(scram_server_init_nonce(&s, &sec, "a,b"), -EINVAL);
    assert_int_equal(scram_server_init_nonce(&s, &sec, "a b"), -EINVAL);
    memset(nonce, 'n', sizeof(nonce));
    nonce[65] = '\0';
    assert_int_equal(scram_server_init_nonce(&s, &sec, nonce), -EINVAL);
    assert_int_equal(s.state, SCRAM_SERVER_FAILED);
    nonce[64] = '\0';
    assert_int_equal(scram_server_init_nonce(&s, &sec, nonce), 0);
    memset(&empty, 0, sizeof(empty));
    assert_int_equal(scram_server_init_nonce(&s, &empty, "abc"), -EINVAL);

    /* A pass-through client with an unusable secret never sends anything. */
    scram_client_init_passthrough(&c, rfc_client_key, &empty, rnd_a);
    assert_int_equal(scram_client_first(&c, nonce, sizeof(nonce)), -EPROTO);
}

static void test_out_of_order_and_wipe(void **state)
{
    (void)state;
    struct scram_secret sec = parsed(PG_SECRET);
    struct scram_server s;
    struct scram_client c;
    char out[SCRAM_MAX_MSG];

    /* Server: final before first; first twice. */
    scram_server_init(&s, &sec, rnd_b);
    assert_int_equal(srv_final(&s, "c=biws,r=abc,p=AAAA", out), -EPROTO);
    scram_server_init(&s, &sec, rnd_b);
    assert_true(srv_first(&s, "n,,n=,r=abc", out) > 0);
    assert_int_equal(srv_first(&s, "n,,n=,r=abc", out), -EPROTO);
    /* Client: final before first; first twice; first with a small buffer. */
    assert_int_equal(scram_client_init_password(&c, PG_PASSWORD, rnd_a), 0);
    assert_int_equal(cli_final(&c, "r=" NONCE_A "B,s=AAAA,i=1", out), -EPROTO);
    assert_int_equal(scram_client_init_password(&c, PG_PASSWORD, rnd_a), 0);
    assert_true(scram_client_first(&c, out, sizeof(out)) > 0);
    assert_int_equal(scram_client_first(&c, out, sizeof(out)), -EPROTO);
    assert_int_equal(scram_client_init_password(&c, PG_PASSWORD, rnd_a), 0);
    assert_int_equal(scram_client_first(&c, out, 32), -EMSGSIZE);

    /* Wiped exchanges are dead and hold no secrets. */
    scram_server_init(&s, &sec, rnd_b);
    scram_server_wipe(&s);
    assert_int_equal(s.state, SCRAM_SERVER_FAILED);
    assert_int_equal(s.secret.iterations, 0);
    assert_int_equal(srv_first(&s, "n,,n=,r=abc", out), -EPROTO);
    assert_int_equal(scram_client_init_password(&c, PG_PASSWORD, rnd_a), 0);
    scram_client_wipe(&c);
    assert_int_equal(c.state, SCRAM_CLIENT_FAILED);
    assert_string_equal(c.password, "");
    assert_int_equal(scram_client_first(&c, out, sizeof(out)), -EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rfc7677_secret_from_password),
            cmocka_unit_test(test_rfc7677_server_role),
            cmocka_unit_test(test_rfc7677_client_role_password),
            cmocka_unit_test(test_rfc7677_client_role_passthrough),
            cmocka_unit_test(test_nonces_are_base64_of_random),
            cmocka_unit_test(test_pg_secret_parses),
            cmocka_unit_test(test_pg_secret_reproduced_from_password),
            cmocka_unit_test(test_exchange_password_mode),
            cmocka_unit_test(test_exchange_passthrough_mode),
            cmocka_unit_test(test_exchange_wrong_password_is_eacces),
            cmocka_unit_test(test_exchange_passthrough_wrong_key_is_eacces),
            cmocka_unit_test(test_passthrough_refuses_other_salt_or_iterations),
            cmocka_unit_test(test_client_verify_wrong_signature_or_error),
            cmocka_unit_test(test_server_first_accepts),
            cmocka_unit_test(test_server_first_refuses_channel_binding),
            cmocka_unit_test(test_server_first_malformed),
            cmocka_unit_test(test_server_first_size_bound),
            cmocka_unit_test(test_server_final_truncated),
            cmocka_unit_test(test_server_final_malformed),
            cmocka_unit_test(test_server_final_y_flag_needs_eSws),
            cmocka_unit_test(test_client_final_truncated),
            cmocka_unit_test(test_client_final_malformed),
            cmocka_unit_test(test_client_verify_malformed),
            cmocka_unit_test(test_parse_secret_malformed),
            cmocka_unit_test(test_secret_from_password_bad_args),
            cmocka_unit_test(test_init_bad_args),
            cmocka_unit_test(test_out_of_order_and_wipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
