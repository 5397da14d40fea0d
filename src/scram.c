/* SPDX-License-Identifier: MIT */
/*
 * scram.c: SCRAM-SHA-256 (RFC 5802/7677) message parsing, building and key math,
 * for both the server role (verify a client) and the client role (log in to PostgreSQL).
 * Pure: no sockets, clock, globals or RNG; the caller supplies the random bytes.
 * It does not choose the auth method or move bytes to peers (auth.c does).
 * Invariant: every message read or built is shorter than SCRAM_MAX_MSG, is parsed through
 * a bounded cursor, and any error leaves the exchange in *_FAILED for good.
 */
/* SHA256_Init/Update/Final: deprecated in OpenSSL 3 in favour of EVP, whose one-shot HMAC
 * and digest calls fetch the algorithm, take a lock and allocate on every call (~23
 * allocations and 48k of the 124k instructions of a login, callgrind). The low-level
 * calls are still there, use the same assembly, and need no state but the stack. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "scram.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

#include "base.h"

#define B64_LEN(n)       (((n) + 2) / 3 * 4)
#define AUTH_MSG_MAX     (3 * SCRAM_MAX_MSG) /* client-first-bare, server-first, final */
#define SERVER_NONCE_MAX 64                  /* our half of the nonce, in characters */
#define GS2_HEADER_LEN   3                   /* "n,," or "y,," */

static const char secret_prefix[] = "SCRAM-SHA-256$";

/* ---- base64 (RFC 4648 standard alphabet, always padded) ---- */

static const char b64_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encode @len bytes into @out, NUL-terminated. Returns the length or -EMSGSIZE. */
static int b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    size_t need = B64_LEN(len);
    size_t o = 0;

    if (need >= cap || need > INT_MAX)
        return -EMSGSIZE;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return (int)o;
}

/* Base64 digit values plus one (0: not a digit): one table look per character (a login
 * decodes a stored secret's salt and keys and the client's proof). */
static const uint8_t b64_plus1[256] = {
        ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,
        ['H'] = 8,  ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
        ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
        ['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28,
        ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35,
        ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
        ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
        ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
        ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63,
        ['/'] = 64,
};

static int b64_digit(char ch)
{
    return (int)b64_plus1[(uint8_t)ch] - 1;
}

static int b64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    size_t o = 0;

    if (len % 4 != 0)
        return -EPROTO;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        uint32_t v = 0;
        size_t pad = 0;
        for (size_t k = 0; k < 4; k++) {
            char ch = in[i + k];
            int d = 0;
            if (ch == '=' && last && k >= 2) {
                pad++;
            } else {
                d = b64_digit(ch);
                if (d < 0 || pad > 0)
                    return -EPROTO;
            }
            v = v << 6 | (uint32_t)d;
        }
        size_t n = 3 - pad;
        if (n > cap - o)
            return -EPROTO;
        out[o++] = (uint8_t)(v >> 16);
        if (n > 1)
            out[o++] = (uint8_t)(v >> 8);
        if (n > 2)
            out[o++] = (uint8_t)v;
    }
    return (int)o;
}

/* ---- bounded string builder: never overflows, remembers that it wanted to ---- */

struct strb {
    char *p;
    size_t cap; /* bytes at p, including room for the NUL */
    size_t len;
    bool overflow;
};

static void strb_init(struct strb *b, char *p, size_t cap)
{
    b->p = p;
    b->cap = cap;
    b->len = 0;
    b->overflow = cap == 0;
    if (cap > 0)
        p[0] = '\0';
}

static void strb_put(struct strb *b, const void *data, size_t n)
{
    if (b->overflow || n >= b->cap - b->len) {
        b->overflow = true;
        return;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void strb_str(struct strb *b, const char *s)
{
    strb_put(b, s, strlen(s));
}

static void strb_b64(struct strb *b, const uint8_t *data, size_t n)
{
    if (b->overflow)
        return;
    int r = b64_encode(data, n, b->p + b->len, b->cap - b->len);
    if (r < 0)
        b->overflow = true;
    else
        b->len += (size_t)r;
}

/* Result of a build into a caller's buffer: its length, or -EMSGSIZE. */
static int strb_result(const struct strb *b)
{
    return b->overflow || b->len > INT_MAX ? -EMSGSIZE : (int)b->len;
}

/* ---- attribute parsing: "a=value,b=value", all reads bounded by the cursor ---- */

struct cursor {
    const char *p;
    const char *end;
};

struct span {
    const char *s;
    size_t len;
};

static bool cursor_at_end(const struct cursor *c)
{
    return c->p == c->end;
}

static int cursor_expect(struct cursor *c, char ch)
{
    if (c->p == c->end || *c->p != ch)
        return -EPROTO;
    c->p++;
    return 0;
}

/* Read "<letter>=<value>"; the value runs to the next ',' or the end, neither consumed. */
static int read_any_attr(struct cursor *c, char *attr, struct span *val)
{
    if (c->end - c->p < 2 || c->p[1] != '=')
        return -EPROTO;
    char a = c->p[0];
    if (!((a >= 'a' && a <= 'z') || (a >= 'A' && a <= 'Z')))
        return -EPROTO;
    *attr = a;
    c->p += 2;
    val->s = c->p;
    const char *comma = memchr(c->p, ',', (size_t)(c->end - c->p));
    c->p = comma ? comma : c->end;
    val->len = (size_t)(c->p - val->s);
    return 0;
}

static int read_attr(struct cursor *c, char want, struct span *val)
{
    char attr = 0;
    if (read_any_attr(c, &attr, val) < 0 || attr != want)
        return -EPROTO;
    return 0;
}

/* A nonce is one or more printable ASCII characters other than ',' (RFC 5802). */
static bool nonce_ok(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
            return false;
    }
    return true;
}

/* Positive decimal int: digits only, 1..INT_MAX. */
static int parse_iterations(const char *s, size_t len, int *out)
{
    long long v = 0;

    if (len == 0 || len > 10)
        return -EPROTO;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EPROTO;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > INT_MAX)
        return -EPROTO;
    *out = (int)v;
    return 0;
}

/* A message we accept: 1..SCRAM_MAX_MSG-1 bytes without NUL, so it fits our copies. */
static int check_msg(const char *msg, size_t len)
{
    if (msg == NULL || len == 0 || len >= SCRAM_MAX_MSG || memchr(msg, '\0', len) != NULL)
        return -EPROTO;
    return 0;
}

/* ---- key math ---- */

static int sha256(const uint8_t *data, size_t len, uint8_t out[SCRAM_KEY_LEN])
{
    SHA256_CTX ctx;
    int ok = SHA256_Init(&ctx) && SHA256_Update(&ctx, data, len) && SHA256_Final(out, &ctx);
    explicit_bzero(&ctx, sizeof(ctx));
    return ok ? 0 : -ENOMEM;
}

/* HMAC-SHA-256 (RFC 2104): H((K ^ opad) || H((K ^ ipad) || data)), K padded to the
 * 64-byte block (hashed first if longer). */
static int hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
                       uint8_t out[SCRAM_KEY_LEN])
{
    enum { BLOCK = 64 };
    uint8_t k[BLOCK] = {0}, pad[BLOCK], inner[SCRAM_KEY_LEN];
    SHA256_CTX ctx;
    int ok = 1;
    if (key_len > BLOCK)
        ok = sha256(key, key_len, k) == 0;
    else if (key_len)
        memcpy(k, key, key_len);
    for (size_t i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    ok = ok && SHA256_Init(&ctx) && SHA256_Update(&ctx, pad, BLOCK) &&
         SHA256_Update(&ctx, data, len) && SHA256_Final(inner, &ctx);
    for (size_t i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    ok = ok && SHA256_Init(&ctx) && SHA256_Update(&ctx, pad, BLOCK) &&
         SHA256_Update(&ctx, inner, sizeof(inner)) && SHA256_Final(out, &ctx);
    explicit_bzero(k, sizeof(k));
    explicit_bzero(pad, sizeof(pad));
    explicit_bzero(inner, sizeof(inner));
    explicit_bzero(&ctx, sizeof(ctx));
    return ok ? 0 : -ENOMEM;
}

/* SaltedPassword = PBKDF2(password, salt, i); ClientKey and ServerKey from it. */
static int derive_keys(const char *password, const uint8_t *salt, size_t salt_len, int iterations,
                       uint8_t client_key[SCRAM_KEY_LEN], uint8_t server_key[SCRAM_KEY_LEN])
{
    static const char ck_label[] = "Client Key";
    static const char sk_label[] = "Server Key";
    uint8_t salted[SCRAM_KEY_LEN];
    size_t pw_len = strlen(password);
    int r = -ENOMEM;

    if (pw_len > INT_MAX || salt_len > INT_MAX || iterations < 1)
        return -EINVAL;
    if (PKCS5_PBKDF2_HMAC(password, (int)pw_len, salt, (int)salt_len, iterations, EVP_sha256(),
                          SCRAM_KEY_LEN, salted) == 1 &&
        hmac_sha256(salted, sizeof(salted), ck_label, sizeof(ck_label) - 1, client_key) == 0 &&
        hmac_sha256(salted, sizeof(salted), sk_label, sizeof(sk_label) - 1, server_key) == 0)
        r = 0;
    explicit_bzero(salted, sizeof(salted));
    return r;
}

/* HMAC(@key, AuthMessage) where AuthMessage = client-first-bare "," server-first ","
 * client-final-without-proof. */
static int auth_hmac(const uint8_t key[SCRAM_KEY_LEN], const char *first_bare,
                     const char *server_first, const char *final_wo_proof, size_t final_len,
                     uint8_t out[SCRAM_KEY_LEN])
{
    char msg[AUTH_MSG_MAX];
    struct strb b;

    strb_init(&b, msg, sizeof(msg));
    strb_str(&b, first_bare);
    strb_put(&b, ",", 1);
    strb_str(&b, server_first);
    strb_put(&b, ",", 1);
    strb_put(&b, final_wo_proof, final_len);
    if (b.overflow)
        return -EMSGSIZE;
    return hmac_sha256(key, SCRAM_KEY_LEN, msg, b.len, out);
}

static void xor_keys(const uint8_t a[SCRAM_KEY_LEN], const uint8_t b[SCRAM_KEY_LEN],
                     uint8_t out[SCRAM_KEY_LEN])
{
    for (size_t i = 0; i < SCRAM_KEY_LEN; i++)
        out[i] = a[i] ^ b[i];
}

static bool secret_ok(const struct scram_secret *secret)
{
    return secret->iterations >= 1 && secret->salt_len >= 1 && secret->salt_len <= SCRAM_MAX_SALT;
}

/* ---- stored secrets ---- */

/* Cut @c at the next @sep: @out gets what lies before it, and the cursor moves past it. */
static int take_until(struct cursor *c, char sep, struct span *out)
{
    const char *at = memchr(c->p, sep, (size_t)(c->end - c->p));
    if (at == NULL)
        return -EINVAL;
    out->s = c->p;
    out->len = (size_t)(at - c->p);
    c->p = at + 1;
    return 0;
}

int scram_parse_secret(const char *s, struct scram_secret *out)
{
    const size_t prefix_len = sizeof(secret_prefix) - 1;
    struct scram_secret sec;
    struct span iter, salt, stored, server;
    struct cursor c;
    int n, r = -EINVAL;

    if (s == NULL || strncmp(s, secret_prefix, prefix_len) != 0)
        return -EINVAL;
    memset(&sec, 0, sizeof(sec));
    c.p = s + prefix_len;
    c.end = c.p + strlen(c.p);
    if (take_until(&c, ':', &iter) < 0 || take_until(&c, '$', &salt) < 0 ||
        take_until(&c, ':', &stored) < 0)
        goto out;
    server.s = c.p;
    server.len = (size_t)(c.end - c.p);
    if (parse_iterations(iter.s, iter.len, &sec.iterations) < 0)
        goto out;
    n = b64_decode(salt.s, salt.len, sec.salt, sizeof(sec.salt));
    if (n < 1)
        goto out;
    sec.salt_len = (size_t)n;
    if (b64_decode(stored.s, stored.len, sec.stored_key, SCRAM_KEY_LEN) != SCRAM_KEY_LEN ||
        b64_decode(server.s, server.len, sec.server_key, SCRAM_KEY_LEN) != SCRAM_KEY_LEN)
        goto out;
    *out = sec;
    r = 0;
out:
    explicit_bzero(&sec, sizeof(sec));
    return r;
}

bool scram_is_secret(const char *s)
{
    struct scram_secret sec;
    bool ok = scram_parse_secret(s, &sec) == 0;

    explicit_bzero(&sec, sizeof(sec));
    return ok;
}

int scram_secret_from_password(const char *password, const uint8_t *salt, size_t salt_len,
                               int iterations, struct scram_secret *out)
{
    struct scram_secret sec;
    uint8_t client_key[SCRAM_KEY_LEN];
    int r;

    if (password == NULL || salt == NULL || salt_len < 1 || salt_len > SCRAM_MAX_SALT ||
        iterations < 1)
        return -EINVAL;
    memset(&sec, 0, sizeof(sec));
    sec.iterations = iterations;
    memcpy(sec.salt, salt, salt_len);
    sec.salt_len = salt_len;
    r = derive_keys(password, salt, salt_len, iterations, client_key, sec.server_key);
    if (r == 0)
        r = sha256(client_key, SCRAM_KEY_LEN, sec.stored_key);
    if (r == 0)
        *out = sec;
    explicit_bzero(client_key, sizeof(client_key));
    explicit_bzero(&sec, sizeof(sec));
    return r;
}

/* ---- server role ---- */

static int server_fail(struct scram_server *s, int err)
{
    s->state = SCRAM_SERVER_FAILED;
    return err;
}

int scram_server_init_nonce(struct scram_server *s, const struct scram_secret *secret,
                            const char *server_nonce)
{
    size_t len = server_nonce ? strnlen(server_nonce, SERVER_NONCE_MAX + 1) : 0;

    memset(s, 0, sizeof(*s));
    if (len > SERVER_NONCE_MAX || !nonce_ok(server_nonce, len) || !secret_ok(secret))
        return server_fail(s, -EINVAL);
    s->secret = *secret;
    memcpy(s->nonce, server_nonce, len);
    s->nonce[len] = '\0';
    s->state = SCRAM_SERVER_INIT;
    return 0;
}

void scram_server_init(struct scram_server *s, const struct scram_secret *secret,
                       const uint8_t random[SCRAM_NONCE_RAW])
{
    char nonce[B64_LEN(SCRAM_NONCE_RAW) + 1];
    int r = b64_encode(random, SCRAM_NONCE_RAW, nonce, sizeof(nonce));

    if (r > 0)
        r = scram_server_init_nonce(s, secret, nonce);
    LG_ASSERT(r == 0); /* only a corrupt @secret can fail; the exchange is then FAILED */
    (void)r;
}

int scram_server_first(struct scram_server *s, const char *msg, size_t len, char *out, size_t cap)
{
    struct cursor c;
    struct span user, cnonce;
    struct strb b;
    char attr;

    if (s->state != SCRAM_SERVER_INIT || check_msg(msg, len) < 0)
        return server_fail(s, -EPROTO);
    c.p = msg;
    c.end = msg + len;

    /* gs2-header: cbind-flag "," [authzid] "," */
    if (*c.p == 'p')
        return server_fail(s, len > 1 && c.p[1] == '=' ? -EOPNOTSUPP : -EPROTO);
    if (*c.p != 'n' && *c.p != 'y')
        return server_fail(s, -EPROTO);
    c.p++;
    /* An authzid ("a=") is refused: the user comes from the startup packet. */
    if (cursor_expect(&c, ',') < 0 || cursor_expect(&c, ',') < 0)
        return server_fail(s, -EPROTO);
    memcpy(s->gs2_header, msg, GS2_HEADER_LEN);
    s->gs2_header[GS2_HEADER_LEN] = '\0';

    /* client-first-message-bare: n=<user>,r=<nonce>[,ext...]; "m=" fails the n= read.
     * The user name is ignored, as PostgreSQL does. */
    const char *bare = c.p;
    if (read_attr(&c, 'n', &user) < 0 || cursor_expect(&c, ',') < 0 ||
        read_attr(&c, 'r', &cnonce) < 0 || !nonce_ok(cnonce.s, cnonce.len))
        return server_fail(s, -EPROTO);
    while (!cursor_at_end(&c)) {
        struct span ext;
        if (cursor_expect(&c, ',') < 0 || read_any_attr(&c, &attr, &ext) < 0)
            return server_fail(s, -EPROTO);
    }

    size_t snonce_len = strlen(s->nonce);
    if (cnonce.len >= sizeof(s->nonce) - snonce_len)
        return server_fail(s, -EPROTO);
    memmove(s->nonce + cnonce.len, s->nonce, snonce_len + 1);
    memcpy(s->nonce, cnonce.s, cnonce.len);
    memcpy(s->client_first_bare, bare, (size_t)(c.end - bare));
    s->client_first_bare[c.end - bare] = '\0';

    char iter[16];
    snprintf(iter, sizeof(iter), "%d", s->secret.iterations);
    strb_init(&b, s->server_first, sizeof(s->server_first));
    strb_str(&b, "r=");
    strb_str(&b, s->nonce);
    strb_str(&b, ",s=");
    strb_b64(&b, s->secret.salt, s->secret.salt_len);
    strb_str(&b, ",i=");
    strb_str(&b, iter);
    if (b.overflow || b.len >= cap)
        return server_fail(s, -EMSGSIZE);
    memcpy(out, s->server_first, b.len + 1);
    s->state = SCRAM_SERVER_FIRST_SENT;
    return (int)b.len;
}

int scram_server_final(struct scram_server *s, const char *msg, size_t len, char *out, size_t cap)
{
    struct cursor c;
    struct span cbind, nonce, proof_b64;
    char expect_cbind[16];
    uint8_t proof[SCRAM_KEY_LEN], sig[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN];
    uint8_t stored[SCRAM_KEY_LEN];
    const char *proof_at = NULL;
    char attr = 0;
    struct strb b;
    int r;

    if (s->state != SCRAM_SERVER_FIRST_SENT || check_msg(msg, len) < 0)
        return server_fail(s, -EPROTO);
    c.p = msg;
    c.end = msg + len;

    /* c= must be the base64 of our gs2 header exactly ("biws" or "eSws"). */
    r = b64_encode((const uint8_t *)s->gs2_header, strlen(s->gs2_header), expect_cbind,
                   sizeof(expect_cbind));
    if (r < 0 || read_attr(&c, 'c', &cbind) < 0 || cbind.len != (size_t)r ||
        memcmp(cbind.s, expect_cbind, cbind.len) != 0)
        return server_fail(s, -EPROTO);
    if (cursor_expect(&c, ',') < 0 || read_attr(&c, 'r', &nonce) < 0 ||
        nonce.len != strlen(s->nonce) || memcmp(nonce.s, s->nonce, nonce.len) != 0)
        return server_fail(s, -EPROTO);
    /* Skip extensions up to the proof, which must come last. */
    while (attr != 'p') {
        if (cursor_expect(&c, ',') < 0)
            return server_fail(s, -EPROTO);
        proof_at = c.p;
        if (read_any_attr(&c, &attr, &proof_b64) < 0)
            return server_fail(s, -EPROTO);
    }
    if (!cursor_at_end(&c) ||
        b64_decode(proof_b64.s, proof_b64.len, proof, sizeof(proof)) != SCRAM_KEY_LEN)
        return server_fail(s, -EPROTO);

    /* ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) == StoredKey. */
    size_t wo_proof_len = (size_t)(proof_at - 1 - msg);
    r = auth_hmac(s->secret.stored_key, s->client_first_bare, s->server_first, msg, wo_proof_len,
                  sig);
    if (r == 0) {
        xor_keys(proof, sig, client_key);
        r = sha256(client_key, SCRAM_KEY_LEN, stored);
    }
    if (r == 0 && CRYPTO_memcmp(stored, s->secret.stored_key, SCRAM_KEY_LEN) != 0)
        r = -EACCES;
    if (r == 0)
        r = auth_hmac(s->secret.server_key, s->client_first_bare, s->server_first, msg,
                      wo_proof_len, sig);
    if (r == 0) {
        strb_init(&b, out, cap);
        strb_str(&b, "v=");
        strb_b64(&b, sig, SCRAM_KEY_LEN);
        r = strb_result(&b);
    }
    if (r > 0) {
        memcpy(s->client_key, client_key, SCRAM_KEY_LEN);
        s->have_client_key = true;
        s->state = SCRAM_SERVER_DONE;
    } else {
        s->state = SCRAM_SERVER_FAILED;
    }
    explicit_bzero(client_key, sizeof(client_key));
    explicit_bzero(stored, sizeof(stored));
    explicit_bzero(proof, sizeof(proof));
    explicit_bzero(sig, sizeof(sig));
    return r;
}

/* ---- client role ---- */

static int client_fail(struct scram_client *c, int err)
{
    c->state = SCRAM_CLIENT_FAILED;
    return err;
}

static void client_init_nonce(struct scram_client *c, const uint8_t random[SCRAM_NONCE_RAW])
{
    int r = b64_encode(random, SCRAM_NONCE_RAW, c->client_nonce, sizeof(c->client_nonce));
    LG_ASSERT(r > 0); /* 24 characters always fit */
    (void)r;
}

int scram_client_init_password(struct scram_client *c, const char *password,
                               const uint8_t random[SCRAM_NONCE_RAW])
{
    size_t len = strnlen(password, sizeof(c->password));

    memset(c, 0, sizeof(*c));
    if (len >= sizeof(c->password))
        return client_fail(c, -EINVAL);
    memcpy(c->password, password, len + 1);
    client_init_nonce(c, random);
    c->state = SCRAM_CLIENT_INIT;
    return 0;
}

void scram_client_init_passthrough(struct scram_client *c, const uint8_t client_key[SCRAM_KEY_LEN],
                                   const struct scram_secret *secret,
                                   const uint8_t random[SCRAM_NONCE_RAW])
{
    memset(c, 0, sizeof(*c));
    c->passthrough = true;
    memcpy(c->client_key, client_key, SCRAM_KEY_LEN);
    c->secret = *secret;
    client_init_nonce(c, random);
    c->state = secret_ok(secret) ? SCRAM_CLIENT_INIT : SCRAM_CLIENT_FAILED;
}

int scram_client_first(struct scram_client *c, char *out, size_t cap)
{
    struct strb b;

    if (c->state != SCRAM_CLIENT_INIT)
        return client_fail(c, -EPROTO);
    strb_init(&b, c->client_first_bare, sizeof(c->client_first_bare));
    strb_str(&b, "n=,r=");
    strb_str(&b, c->client_nonce);
    if (b.overflow)
        return client_fail(c, -EMSGSIZE);
    strb_init(&b, out, cap);
    strb_str(&b, "n,,");
    strb_str(&b, c->client_first_bare);
    if (b.overflow)
        return client_fail(c, -EMSGSIZE);
    c->state = SCRAM_CLIENT_FIRST_SENT;
    return (int)b.len;
}

int scram_client_final(struct scram_client *c, const char *msg, size_t len, char *out, size_t cap)
{
    struct cursor cur;
    struct span nonce, salt_b64, iter_s;
    uint8_t salt[SCRAM_MAX_SALT];
    uint8_t client_key[SCRAM_KEY_LEN], server_key[SCRAM_KEY_LEN], stored_key[SCRAM_KEY_LEN];
    uint8_t sig[SCRAM_KEY_LEN], proof[SCRAM_KEY_LEN];
    char wo_proof[SCRAM_MAX_MSG];
    int iterations = 0, salt_len, r;
    struct strb b;

    if (c->state != SCRAM_CLIENT_FIRST_SENT || check_msg(msg, len) < 0)
        return client_fail(c, -EPROTO);
    cur.p = msg;
    cur.end = msg + len;

    /* r=<our nonce + theirs>,s=<salt>,i=<iterations>, nothing else. */
    size_t cn_len = strlen(c->client_nonce);
    if (read_attr(&cur, 'r', &nonce) < 0 || !nonce_ok(nonce.s, nonce.len) || nonce.len <= cn_len ||
        memcmp(nonce.s, c->client_nonce, cn_len) != 0)
        return client_fail(c, -EPROTO);
    if (cursor_expect(&cur, ',') < 0 || read_attr(&cur, 's', &salt_b64) < 0 ||
        cursor_expect(&cur, ',') < 0 || read_attr(&cur, 'i', &iter_s) < 0 || !cursor_at_end(&cur) ||
        parse_iterations(iter_s.s, iter_s.len, &iterations) < 0)
        return client_fail(c, -EPROTO);
    salt_len = b64_decode(salt_b64.s, salt_b64.len, salt, sizeof(salt));
    if (salt_len < 1)
        return client_fail(c, -EPROTO);

    if (c->passthrough) {
        /* Our ClientKey only works with the salt and iterations it was made with. */
        if ((size_t)salt_len != c->secret.salt_len ||
            memcmp(salt, c->secret.salt, c->secret.salt_len) != 0 ||
            iterations != c->secret.iterations)
            return client_fail(c, -EACCES);
        memcpy(client_key, c->client_key, SCRAM_KEY_LEN);
        memcpy(server_key, c->secret.server_key, SCRAM_KEY_LEN);
        memcpy(stored_key, c->secret.stored_key, SCRAM_KEY_LEN);
        r = 0;
    } else {
        r = derive_keys(c->password, salt, (size_t)salt_len, iterations, client_key, server_key);
        if (r == 0)
            r = sha256(client_key, SCRAM_KEY_LEN, stored_key);
    }

    memcpy(c->server_first, msg, len);
    c->server_first[len] = '\0';
    strb_init(&b, wo_proof, sizeof(wo_proof));
    strb_str(&b, "c=biws,r=");
    strb_put(&b, nonce.s, nonce.len);
    if (r == 0 && b.overflow)
        r = -EMSGSIZE;
    /* ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage). */
    if (r == 0)
        r = auth_hmac(stored_key, c->client_first_bare, c->server_first, wo_proof, b.len, sig);
    if (r == 0) {
        xor_keys(client_key, sig, proof);
        r = auth_hmac(server_key, c->client_first_bare, c->server_first, wo_proof, b.len,
                      c->server_signature);
    }
    if (r == 0) {
        strb_init(&b, out, cap);
        strb_str(&b, wo_proof);
        strb_str(&b, ",p=");
        strb_b64(&b, proof, SCRAM_KEY_LEN);
        r = strb_result(&b);
    }
    c->state = r > 0 ? SCRAM_CLIENT_FINAL_SENT : SCRAM_CLIENT_FAILED;
    explicit_bzero(client_key, sizeof(client_key));
    explicit_bzero(server_key, sizeof(server_key));
    explicit_bzero(stored_key, sizeof(stored_key));
    explicit_bzero(sig, sizeof(sig));
    explicit_bzero(proof, sizeof(proof));
    return r;
}

int scram_client_verify(struct scram_client *c, const char *msg, size_t len)
{
    struct cursor cur;
    struct span v;
    uint8_t sig[SCRAM_KEY_LEN];

    if (c->state != SCRAM_CLIENT_FINAL_SENT || check_msg(msg, len) < 0)
        return client_fail(c, -EPROTO);
    cur.p = msg;
    cur.end = msg + len;
    /* "e=<server-error>" also fails the v= read. */
    if (read_attr(&cur, 'v', &v) < 0 || !cursor_at_end(&cur) ||
        b64_decode(v.s, v.len, sig, sizeof(sig)) != SCRAM_KEY_LEN)
        return client_fail(c, -EPROTO);
    if (CRYPTO_memcmp(sig, c->server_signature, SCRAM_KEY_LEN) != 0)
        return client_fail(c, -EACCES);
    c->state = SCRAM_CLIENT_DONE;
    return 0;
}

void scram_server_wipe(struct scram_server *s)
{
    explicit_bzero(s, sizeof(*s));
    s->state = SCRAM_SERVER_FAILED;
}

void scram_client_wipe(struct scram_client *c)
{
    explicit_bzero(c, sizeof(*c));
    c->state = SCRAM_CLIENT_FAILED;
}
