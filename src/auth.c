/* SPDX-License-Identifier: MIT */
/*
 * auth.c: client authentication exchanges: cleartext (only when configured), md5,
 * and SCRAM-SHA-256 (also chosen under auth_type=md5 when the stored secret is a
 * SCRAM secret, as PgBouncer does). Never logs a password or secret (invariant 7).
 */
#include "auth.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <sys/random.h>

#include "alloc.h"
#include "cfg.h"
#include "md5.h"
#include "pgproto.h"
#include "scram.h"

static void set_err(struct lg_err *err, const char *state, const char *fmt, ...) LG_PRINTF(3, 4);
static void set_err(struct lg_err *err, const char *state, const char *fmt, ...)
{
    memcpy(err->sqlstate, state, 6);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

/* PostgreSQL's words, after PgBouncer's for a failed SCRAM exchange ("SASL authentication
 * failed", which log-based alerts and PgBouncer's own tests look for). */
static int fail_password(struct auth_exchange *a, struct lg_err *err)
{
    set_err(err, "28P01", "%spassword authentication failed for user \"%s\"",
            a->method == AUTH_TYPE_SCRAM ? "SASL authentication failed: " : "", a->user);
    return -EACCES;
}

static bool random_bytes(void *p, size_t n)
{
    return getrandom(p, n, 0) == (ssize_t)n;
}

/* SCRAM secrets derived from plaintext auth_file passwords, so that a login does not
 * cost a 4096-round PBKDF2 on the event loop each time (NullPool apps log in per
 * request). Keyed by user and SHA-256 of the password; a changed password misses. */
#define SECRET_CACHE 128
struct cached_secret {
    char user[64];
    uint8_t pw_sha[32];
    bool used;
    struct scram_secret sec;
};
static struct cached_secret secret_cache[SECRET_CACHE];

static int derive_cached(const char *user, const char *password, struct scram_secret *out)
{
    uint8_t sha[32];
    unsigned int shalen = 0;
    if (EVP_Digest(password, strlen(password), sha, &shalen, EVP_sha256(), NULL) != 1 ||
        shalen != sizeof(sha))
        return -EIO;
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = user; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    struct cached_secret *e = &secret_cache[(h ^ sha[0] ^ ((uint64_t)sha[1] << 8)) % SECRET_CACHE];
    bool user_fits = strlen(user) < sizeof(e->user);
    if (e->used && user_fits && strcmp(e->user, user) == 0 &&
        memcmp(e->pw_sha, sha, sizeof(sha)) == 0) {
        *out = e->sec;
        return 0;
    }
    uint8_t salt[16];
    if (!random_bytes(salt, sizeof(salt)) ||
        scram_secret_from_password(password, salt, sizeof(salt), SCRAM_DEFAULT_ITER, out) < 0)
        return -EINVAL;
    if (user_fits) {
        snprintf(e->user, sizeof(e->user), "%s", user);
        memcpy(e->pw_sha, sha, sizeof(sha));
        e->sec = *out;
        e->used = true;
    }
    return 0;
}

static int start_scram(struct auth_exchange *a, struct buf *out, struct lg_err *err)
{
    struct scram_secret sec;
    uint8_t rnd[SCRAM_NONCE_RAW];
    if (!random_bytes(rnd, sizeof(rnd))) {
        set_err(err, "58000", "%s", "random number generator failed");
        return -EIO;
    }
    if (!a->fake && a->secret && scram_parse_secret(a->secret, &sec) == 0) {
        /* a stored verifier (parsed once: scram_is_secret would parse it again) */
    } else if (!a->fake && a->secret && !md5_is_secret(a->secret)) {
        if (derive_cached(a->user, a->secret, &sec) < 0)
            a->fake = true;
    } else {
        a->fake = true;
    }
    if (a->fake) {
        /* Unknown user or unusable secret: a random secret nobody can match, so the
         * exchange looks like any other and fails at the proof. */
        memset(&sec, 0, sizeof(sec));
        sec.iterations = SCRAM_DEFAULT_ITER;
        sec.salt_len = 16;
        if (!random_bytes(sec.salt, 16) || !random_bytes(sec.stored_key, SCRAM_KEY_LEN) ||
            !random_bytes(sec.server_key, SCRAM_KEY_LEN)) {
            set_err(err, "58000", "%s", "random number generator failed");
            return -EIO;
        }
    }
    a->scram = lg_calloc(1, sizeof(*a->scram));
    if (!a->scram) {
        set_err(err, "53200", "%s", "out of memory");
        return -ENOMEM;
    }
    scram_server_init(a->scram, &sec, rnd);
    explicit_bzero(&sec, sizeof(sec));
    a->method = AUTH_TYPE_SCRAM;
    static const char mechs[] = "SCRAM-SHA-256\0";
    if (pgproto_put_auth(out, PGPROTO_AUTH_SASL, mechs, sizeof(mechs)) < 0) {
        set_err(err, "53200", "%s", "out of buffer space");
        return -ENOSPC;
    }
    return AUTH_CONTINUE;
}

int auth_begin(struct auth_exchange *a, int auth_type, const char *user, const char *secret,
               struct buf *out, struct lg_err *err)
{
    memset(a, 0, sizeof(*a));
    a->user = user;
    a->secret = secret;
    a->method = auth_type;
    a->fake = secret == NULL;
    switch (auth_type) {
    case AUTH_TYPE_TRUST:
    case AUTH_TYPE_CERT: /* the certificate was checked before the exchange */
        return AUTH_OK;
    case AUTH_TYPE_PLAIN:
        if (pgproto_put_auth(out, PGPROTO_AUTH_CLEARTEXT, NULL, 0) < 0)
            goto nospace;
        return AUTH_CONTINUE;
    case AUTH_TYPE_MD5:
        if (secret && scram_is_secret(secret))
            return start_scram(a, out, err);
        if (!random_bytes(a->md5_salt, sizeof(a->md5_salt))) {
            set_err(err, "58000", "%s", "random number generator failed");
            return -EIO;
        }
        if (pgproto_put_auth(out, PGPROTO_AUTH_MD5, a->md5_salt, 4) < 0)
            goto nospace;
        return AUTH_CONTINUE;
    case AUTH_TYPE_SCRAM:
    default:
        return start_scram(a, out, err);
    }
nospace:
    set_err(err, "53200", "%s", "out of buffer space");
    return -ENOSPC;
}

static int check_cleartext(struct auth_exchange *a, const char *pw, struct lg_err *err)
{
    if (a->fake || !a->secret)
        return fail_password(a, err);
    if (scram_is_secret(a->secret)) {
        struct scram_secret stored, mine;
        if (scram_parse_secret(a->secret, &stored) < 0 ||
            scram_secret_from_password(pw, stored.salt, stored.salt_len, stored.iterations, &mine) <
                    0 ||
            memcmp(stored.stored_key, mine.stored_key, SCRAM_KEY_LEN) != 0)
            return fail_password(a, err);
        return AUTH_OK;
    }
    if (md5_is_secret(a->secret)) {
        char h[MD5_PASSWD_LEN + 1];
        md5_password_hash(pw, a->user, h);
        return strcmp(h, a->secret) == 0 ? AUTH_OK : fail_password(a, err);
    }
    return strcmp(pw, a->secret) == 0 ? AUTH_OK : fail_password(a, err);
}

int auth_step(struct auth_exchange *a, uint8_t type, const uint8_t *payload, size_t len,
              struct buf *out, struct lg_err *err)
{
    if (type != 'p') {
        set_err(err, "08P01", "expected a password message during authentication, got '%c'", type);
        return -EPROTO;
    }
    if (a->method == AUTH_TYPE_PLAIN || a->method == AUTH_TYPE_MD5) {
        const char *pw;
        if (pgproto_parse_cstring(payload, len, &pw) < 0) {
            set_err(err, "08P01", "%s", "malformed password message");
            return -EPROTO;
        }
        if (a->method == AUTH_TYPE_PLAIN)
            return check_cleartext(a, pw, err);
        if (a->fake || !a->secret)
            return fail_password(a, err);
        char secret[MD5_PASSWD_LEN + 1], expect[MD5_PASSWD_LEN + 1];
        if (md5_is_secret(a->secret))
            snprintf(secret, sizeof(secret), "%s", a->secret);
        else
            md5_password_hash(a->secret, a->user, secret);
        md5_salted_response(secret, a->md5_salt, expect);
        return strcmp(pw, expect) == 0 ? AUTH_OK : fail_password(a, err);
    }
    /* SCRAM */
    char msg[SCRAM_MAX_MSG];
    int n;
    if (!a->scram_first_done) {
        const char *mech;
        const uint8_t *data;
        size_t dlen;
        if (pgproto_parse_sasl_initial(payload, len, &mech, &data, &dlen) < 0 || !data) {
            set_err(err, "08P01", "%s", "malformed SASLInitialResponse");
            return -EPROTO;
        }
        if (strcmp(mech, "SCRAM-SHA-256") != 0) {
            set_err(err, "08P01", "client selected an invalid SASL authentication mechanism: %s",
                    mech);
            return -EPROTO;
        }
        n = scram_server_first(a->scram, (const char *)data, dlen, msg, sizeof(msg));
        if (n < 0) {
            set_err(err, "08P01", "%s",
                    n == -EOPNOTSUPP ? "SCRAM channel binding is not supported"
                                     : "malformed SCRAM message");
            return -EPROTO;
        }
        a->scram_first_done = true;
        if (pgproto_put_auth(out, PGPROTO_AUTH_SASL_CONTINUE, msg, (size_t)n) < 0) {
            set_err(err, "53200", "%s", "out of buffer space");
            return -ENOSPC;
        }
        return AUTH_CONTINUE;
    }
    n = scram_server_final(a->scram, (const char *)payload, len, msg, sizeof(msg));
    if (n == -EACCES || (n >= 0 && a->fake))
        return fail_password(a, err);
    if (n < 0) {
        set_err(err, "08P01", "%s", "malformed SCRAM message");
        return -EPROTO;
    }
    if (a->scram->have_client_key) {
        memcpy(a->client_key, a->scram->client_key, sizeof(a->client_key));
        a->have_client_key = true;
    }
    if (pgproto_put_auth(out, PGPROTO_AUTH_SASL_FINAL, msg, (size_t)n) < 0) {
        set_err(err, "53200", "%s", "out of buffer space");
        return -ENOSPC;
    }
    return AUTH_OK;
}

void auth_fini(struct auth_exchange *a)
{
    if (a->scram) {
        scram_server_wipe(a->scram);
        lg_free(a->scram);
        a->scram = NULL;
    }
    explicit_bzero(a->client_key, sizeof(a->client_key));
    a->have_client_key = false;
}
