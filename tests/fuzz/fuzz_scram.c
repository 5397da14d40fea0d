/* SPDX-License-Identifier: MIT */
/*
 * fuzz_scram.c: libFuzzer target for scram.c's parsers. The first input byte picks
 * the entry point; the rest is the message, fed with its exact length (no NUL added,
 * except for scram_parse_secret, which takes a C string).
 * Not a conformance test: it checks only memory safety, the tri-state contract and
 * that every output is NUL-terminated, shorter than SCRAM_MAX_MSG and as long as claimed.
 */
#include "scram.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t rnd_a[SCRAM_NONCE_RAW] = {0, 1,  2,  3,  4,  5,  6,  7,  8,
                                               9, 10, 11, 12, 13, 14, 15, 16, 17};
static const uint8_t rnd_b[SCRAM_NONCE_RAW] = {100, 101, 102, 103, 104, 105, 106, 107, 108,
                                               109, 110, 111, 112, 113, 114, 115, 116, 117};
/* PostgreSQL 15's secret for "secret pw"; its salt and count are what the seeds use. */
static const char pg_secret[] =
        "SCRAM-SHA-256$4096:521SqC+U0ZiDWxP2F+EijQ==$C5lBLpQkbcht+zXHGhyLsOhDLQ940VnESfeq9qV5a58=:"
        "wcUtvyeOSUB4ZSjL/UZujrLjhRahN2QAWFJKYNAGiQU=";
static const uint8_t some_key[SCRAM_KEY_LEN] = {1, 2, 3};
/* Password mode runs PBKDF2 with the server's count; cap it so runs stay fast. */
#define MAX_FUZZ_ITERATIONS 64

enum {
    SEL_SERVER_FIRST,
    SEL_SERVER_FINAL,
    SEL_SERVER_BOTH,
    SEL_CLIENT_FINAL_PASSTHROUGH,
    SEL_CLIENT_FINAL_PASSWORD,
    SEL_CLIENT_VERIFY,
    SEL_PARSE_SECRET,
    SEL_COUNT
};

static void check_out(int r, const char *out)
{
    if (r > 0 && (r >= SCRAM_MAX_MSG || strlen(out) != (size_t)r))
        __builtin_trap();
    if (r == 0)
        __builtin_trap(); /* these calls never return 0 */
}

static struct scram_secret secret(void)
{
    struct scram_secret sec;
    if (scram_parse_secret(pg_secret, &sec) != 0)
        __builtin_trap();
    return sec;
}

static void server_first_sent(struct scram_server *s)
{
    struct scram_secret sec = secret();
    char out[SCRAM_MAX_MSG];
    static const char first[] = "n,,n=,r=AAECAwQFBgcICQoLDA0ODxAR";

    scram_server_init(s, &sec, rnd_b);
    if (scram_server_first(s, first, sizeof(first) - 1, out, sizeof(out)) <= 0)
        __builtin_trap();
}

static void client_first_sent(struct scram_client *c, bool passthrough)
{
    struct scram_secret sec = secret();
    char out[SCRAM_MAX_MSG];

    if (passthrough)
        scram_client_init_passthrough(c, some_key, &sec, rnd_a);
    else if (scram_client_init_password(c, "secret pw", rnd_a) != 0)
        __builtin_trap();
    if (scram_client_first(c, out, sizeof(out)) <= 0)
        __builtin_trap();
}

/* The iteration count after the last ",i=" if it is small; -1 if absent or large. */
static long small_iterations(const char *msg, size_t len)
{
    for (size_t i = len; i >= 3; i--) {
        if (memcmp(msg + i - 3, ",i=", 3) == 0) {
            long v = 0;
            for (size_t k = i; k < len && msg[k] >= '0' && msg[k] <= '9'; k++) {
                v = v * 10 + (msg[k] - '0');
                if (v > MAX_FUZZ_ITERATIONS)
                    return -1;
            }
            return v;
        }
    }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scram_server s;
    struct scram_client c;
    char out[SCRAM_MAX_MSG];
    int r;

    if (size < 1)
        return 0;
    unsigned sel = data[0] % SEL_COUNT;
    const char *msg = (const char *)data + 1;
    size_t len = size - 1;

    switch (sel) {
    case SEL_SERVER_FIRST: {
        struct scram_secret sec = secret();
        scram_server_init(&s, &sec, rnd_b);
        r = scram_server_first(&s, msg, len, out, sizeof(out));
        check_out(r, out);
        if ((r > 0) != (s.state == SCRAM_SERVER_FIRST_SENT))
            __builtin_trap();
        break;
    }
    case SEL_SERVER_FINAL:
        server_first_sent(&s);
        r = scram_server_final(&s, msg, len, out, sizeof(out));
        check_out(r, out);
        if ((r > 0) != s.have_client_key)
            __builtin_trap();
        break;
    case SEL_SERVER_BOTH: {
        /* "<client-first>\0<client-final>" against one server. */
        struct scram_secret sec = secret();
        const char *nul = memchr(msg, '\0', len);
        size_t first_len = nul ? (size_t)(nul - msg) : len;
        scram_server_init(&s, &sec, rnd_b);
        r = scram_server_first(&s, msg, first_len, out, sizeof(out));
        check_out(r, out);
        if (r > 0 && nul) {
            r = scram_server_final(&s, nul + 1, len - first_len - 1, out, sizeof(out));
            check_out(r, out);
        }
        break;
    }
    case SEL_CLIENT_FINAL_PASSTHROUGH:
        client_first_sent(&c, true);
        r = scram_client_final(&c, msg, len, out, sizeof(out));
        check_out(r, out);
        break;
    case SEL_CLIENT_FINAL_PASSWORD:
        if (small_iterations(msg, len) < 0)
            break;
        client_first_sent(&c, false);
        r = scram_client_final(&c, msg, len, out, sizeof(out));
        check_out(r, out);
        break;
    case SEL_CLIENT_VERIFY: {
        static const char first[] = "r=AAECAwQFBgcICQoLDA0ODxARZGVmZ2hpamtsbW5vcHFyc3R1,s=521SqC+"
                                    "U0ZiDWxP2F+EijQ==,i=4096";
        client_first_sent(&c, true);
        if (scram_client_final(&c, first, sizeof(first) - 1, out, sizeof(out)) <= 0)
            __builtin_trap();
        r = scram_client_verify(&c, msg, len);
        if (r != 0 && r != -EACCES && r != -EPROTO)
            __builtin_trap();
        break;
    }
    case SEL_PARSE_SECRET: {
        char *text = lg_malloc(len + 1);
        struct scram_secret sec;
        if (text == NULL)
            return 0;
        memcpy(text, msg, len);
        text[len] = '\0';
        r = scram_parse_secret(text, &sec);
        if ((r == 0) != scram_is_secret(text) || (r != 0 && r != -EINVAL))
            __builtin_trap();
        if (r == 0 && (sec.iterations < 1 || sec.salt_len < 1 || sec.salt_len > SCRAM_MAX_SALT))
            __builtin_trap();
        lg_free(text);
        break;
    }
    }
    return 0;
}
