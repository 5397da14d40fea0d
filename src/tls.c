/* SPDX-License-Identifier: MIT */
/*
 * tls.c: OpenSSL glue. Partial writes and moving write buffers are enabled because a
 * stream's buffer may be compacted between retries. Errors are reduced to errno-style
 * codes; OpenSSL's error queue is cleared so one connection's failure never leaks
 * into another's.
 */
#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"

struct tls_ctx {
    SSL_CTX *ctx;
};

struct tls_conn {
    SSL *ssl;
};

/* OpenSSL's reason for the last failure, and clear its queue. */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "refused");
    ERR_clear_error();
    return buf;
}

static bool is_word(const char *s, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(s, words[i]) == 0)
            return true;
    return false;
}

/* Each name in the colon-separated @list is a TLS 1.3 suite that @ctx now offers; else
 * the first one that is not in @bad. OpenSSL 3 skips unknown names without an error. */
static bool tls13_all_known(SSL_CTX *ctx, const char *list, char *bad, size_t badlen)
{
    STACK_OF(SSL_CIPHER) *have = SSL_CTX_get_ciphers(ctx);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ":");
        bool found = false;
        for (int i = 0; have && i < sk_SSL_CIPHER_num(have) && !found; i++) {
            const char *name = SSL_CIPHER_standard_name(sk_SSL_CIPHER_value(have, i));
            found = name && strlen(name) == n && strncmp(name, p, n) == 0;
        }
        if (n && !found) {
            snprintf(bad, badlen, "%.*s", (int)LG_MIN(n, (size_t)64), p);
            return false;
        }
        p += n + (p[n] == ':');
    }
    return true;
}

/* PgBouncer's client_tls_dheparams: finite-field DHE for TLS <= 1.2 suites (TLS 1.3 key
 * exchange is the groups'). 0 or -EINVAL. */
static int apply_dhe(SSL_CTX *ctx, const struct tls_opts *o, char *err, size_t errlen)
{
    const char *d = o->dheparams;
    if (!d)
        return 0; /* a client-side context (towards PostgreSQL) */
    if (!*d || strcasecmp(d, "auto") == 0) {
        SSL_CTX_set_dh_auto(ctx, 1);
        return 0;
    }
    if (strcasecmp(d, "none") == 0) {
        SSL_CTX_set_dh_auto(ctx, 0);
        return 0;
    }
    if (strcasecmp(d, "legacy") == 0) {
        /* A 1024-bit group (RFC 5114's, OpenSSL's "dh_1024_160"), if OpenSSL's security
         * level allows it; at level 2 (Debian's default) it does not: say so. */
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
        EVP_PKEY *pk = NULL;
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("group", (char *)"dh_1024_160", 0),
                               OSSL_PARAM_construct_end()};
        bool ok = pc && EVP_PKEY_paramgen_init(pc) > 0 && EVP_PKEY_CTX_set_params(pc, params) > 0 &&
                  EVP_PKEY_paramgen(pc, &pk) > 0 && SSL_CTX_set0_tmp_dh_pkey(ctx, pk) == 1;
        EVP_PKEY_CTX_free(pc);
        if (!ok) {
            char why[200];
            EVP_PKEY_free(pk); /* not taken by the context on failure */
            snprintf(err, errlen,
                     "%s_dheparams = legacy: 1024-bit DH refused by OpenSSL (security level %d: "
                     "%s)",
                     o->prefix, SSL_CTX_get_security_level(ctx), ssl_reason(why, sizeof(why)));
            return -EINVAL;
        }
        return 0;
    }
    snprintf(err, errlen, "%s_dheparams = %.100s: none, auto or legacy", o->prefix, d);
    return -EINVAL;
}

/* Apply the protocol, cipher and group settings of @o to @ctx. 0 or -EINVAL (the setting
 * and OpenSSL's reason in @err). */
static int apply_opts(SSL_CTX *ctx, const struct tls_opts *o, char *err, size_t errlen)
{
    static const int versions[] = {TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION};
    static const uint64_t no_opts[] = {SSL_OP_NO_TLSv1, SSL_OP_NO_TLSv1_1, SSL_OP_NO_TLSv1_2,
                                       SSL_OP_NO_TLSv1_3};
    /* PgBouncer's words for "OpenSSL's defaults"; "all" is libtls's TLS_CIPHERS_ALL */
    static const char *const default_ciphers[] = {"default", "secure", "fast", "normal"};
    static const char *const default_groups[] = {"auto", "none"};
    char why[200];
    unsigned set = o->protocols ? o->protocols : TLS_PROTO_1_2 | TLS_PROTO_1_3;
    int lo = -1, hi = -1;
    for (int i = 0; i < 4; i++) {
        if (set & (1u << i)) {
            if (lo < 0)
                lo = i;
            hi = i;
        }
    }
    if (lo < 0 || SSL_CTX_set_min_proto_version(ctx, versions[lo]) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, versions[hi]) != 1) {
        snprintf(err, errlen, "%s_protocols: %s", o->prefix, ssl_reason(why, sizeof(why)));
        return -EINVAL;
    }
    for (int i = lo + 1; i < hi; i++) /* a gap, e.g. tlsv1.0,tlsv1.2 */
        if (!(set & (1u << i)))
            SSL_CTX_set_options(ctx, no_opts[i]);

    const char *c = o->ciphers;
    if (c && *c && !is_word(c, default_ciphers, ARRAY_SIZE(default_ciphers))) {
        const char *list = strcasecmp(c, "all") == 0 ? "ALL:!aNULL:!eNULL" : c;
        if (SSL_CTX_set_cipher_list(ctx, list) != 1) {
            snprintf(err, errlen, "%s_ciphers = %.100s: %s", o->prefix, c,
                     ssl_reason(why, sizeof(why)));
            return -EINVAL;
        }
    }
    c = o->tls13_ciphers;
    if (c && *c && !is_word(c, default_ciphers, ARRAY_SIZE(default_ciphers))) {
        if (SSL_CTX_set_ciphersuites(ctx, c) != 1) {
            snprintf(err, errlen, "%s13_ciphers = %.100s: %s", o->prefix, c,
                     ssl_reason(why, sizeof(why)));
            return -EINVAL;
        }
        if (!tls13_all_known(ctx, c, why, sizeof(why))) {
            snprintf(err, errlen, "%s13_ciphers = %.100s: unknown TLS 1.3 cipher suite \"%s\"",
                     o->prefix, c, why);
            return -EINVAL;
        }
    }
    c = o->groups;
    if (c && *c && !is_word(c, default_groups, ARRAY_SIZE(default_groups)) &&
        SSL_CTX_set1_groups_list(ctx, c) != 1) {
        snprintf(err, errlen, "%s_ecdhcurve = %.100s: unknown group (%s)", o->prefix, c,
                 ssl_reason(why, sizeof(why)));
        return -EINVAL;
    }
    return apply_dhe(ctx, o, err, errlen);
}

int tls_opts_check(const struct tls_opts *o, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (!ctx) {
        snprintf(err, errlen, "out of memory");
        ERR_clear_error();
        return -ENOMEM;
    }
    int rc = apply_opts(ctx, o, err, errlen);
    SSL_CTX_free(ctx);
    return rc;
}

struct tls_ctx *tls_ctx_new(const char *cert_file, const char *key_file, const struct tls_opts *o,
                            char *err, size_t errlen)
{
    struct tls_ctx *c = lg_calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->ctx = SSL_CTX_new(TLS_server_method());
    if (!c->ctx)
        goto fail;
    SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION);
    if (apply_opts(c->ctx, o, err, errlen) < 0) {
        tls_ctx_free(c);
        return NULL;
    }
    if (SSL_CTX_use_certificate_chain_file(c->ctx, cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(c->ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(c->ctx) != 1)
        goto fail;
    return c;
fail:;
    unsigned long e = ERR_get_error();
    char buf[200];
    ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, errlen, "TLS setup (%s, %s): %s", cert_file, key_file, buf);
    ERR_clear_error();
    tls_ctx_free(c);
    return NULL;
}

struct tls_ctx *tls_client_ctx_new(const char *ca_file, bool verify, const struct tls_opts *o,
                                   char *err, size_t errlen)
{
    const char *cert = o->cert_file && *o->cert_file ? o->cert_file : NULL;
    const char *key = o->key_file && *o->key_file ? o->key_file : NULL;
    if (!cert != !key) {
        snprintf(err, errlen, "%s_cert_file and %s_key_file go together: set both or neither",
                 o->prefix, o->prefix);
        return NULL;
    }
    struct tls_ctx *c = lg_calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx)
        goto fail;
    SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (apply_opts(c->ctx, o, err, errlen) < 0) {
        tls_ctx_free(c);
        return NULL;
    }
    if (cert && (SSL_CTX_use_certificate_chain_file(c->ctx, cert) != 1 ||
                 SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1 ||
                 SSL_CTX_check_private_key(c->ctx) != 1)) {
        char buf[200];
        snprintf(err, errlen, "%s_cert_file %s, %s_key_file %s: %s", o->prefix, cert, o->prefix,
                 key, ssl_reason(buf, sizeof(buf)));
        tls_ctx_free(c);
        return NULL;
    }
    if (verify) {
        if ((ca_file && *ca_file ? SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL)
                                 : SSL_CTX_set_default_verify_paths(c->ctx)) != 1)
            goto fail;
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    }
    return c;
fail:;
    char buf[200];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    snprintf(err, errlen, "TLS client setup (%s): %s", ca_file ? ca_file : "system CAs", buf);
    ERR_clear_error();
    tls_ctx_free(c);
    return NULL;
}

int tls_ctx_require_client_cert(struct tls_ctx *c, const char *ca_file, char *err, size_t errlen)
{
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca_file);
    if (SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1 || !names) {
        char buf[200];
        ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
        snprintf(err, errlen, "client_tls_ca_file %s: %s", ca_file, buf);
        ERR_clear_error();
        if (names)
            sk_X509_NAME_pop_free(names, X509_NAME_free);
        return -EINVAL;
    }
    SSL_CTX_set_client_CA_list(c->ctx, names);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return 0;
}

int tls_peer_cn(const struct tls_conn *t, char *cn, size_t len)
{
    X509 *cert = SSL_get1_peer_certificate(t->ssl);
    if (!cert)
        return -ENOENT;
    int rc = -ENOENT;
    if (SSL_get_verify_result(t->ssl) == X509_V_OK &&
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, (int)len) > 0)
        rc = 0;
    X509_free(cert);
    return rc;
}

void tls_ctx_free(struct tls_ctx *c)
{
    if (!c)
        return;
    SSL_CTX_free(c->ctx);
    lg_free(c);
}

struct tls_conn *tls_conn_new(struct tls_ctx *ctx, int fd)
{
    struct tls_conn *t = lg_calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ssl = SSL_new(ctx->ctx);
    if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1) {
        ERR_clear_error();
        tls_conn_free(t);
        return NULL;
    }
    SSL_set_accept_state(t->ssl);
    return t;
}

struct tls_conn *tls_client_conn_new(struct tls_ctx *ctx, int fd, const char *verify_host)
{
    struct tls_conn *t = lg_calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ssl = SSL_new(ctx->ctx);
    if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1 ||
        (verify_host && SSL_set1_host(t->ssl, verify_host) != 1)) {
        ERR_clear_error();
        tls_conn_free(t);
        return NULL;
    }
    if (verify_host)
        SSL_set_tlsext_host_name(t->ssl, verify_host);
    SSL_set_connect_state(t->ssl);
    return t;
}

void tls_conn_free(struct tls_conn *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    lg_free(t);
}

/* Map an SSL_get_error result: -EAGAIN with *want, or a failure. */
static int map_error(struct tls_conn *t, int rc, unsigned *want)
{
    int e = SSL_get_error(t->ssl, rc);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *want = TLS_WANT_READ;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        *want = TLS_WANT_WRITE;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL: {
        int en = errno;
        ERR_clear_error();
        return en ? -en : -ECONNRESET;
    }
    default:
        ERR_clear_error();
        return -EPROTO;
    }
}

int tls_handshake(struct tls_conn *t, unsigned *want)
{
    *want = 0;
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1)
        return 0;
    int m = map_error(t, rc, want);
    return m == 0 ? -EPROTO : m;
}

ssize_t tls_read(struct tls_conn *t, void *p, size_t n, unsigned *want)
{
    *want = 0;
    size_t got = 0;
    int rc = SSL_read_ex(t->ssl, p, n, &got);
    if (rc == 1)
        return (ssize_t)got;
    return map_error(t, rc, want);
}

ssize_t tls_write(struct tls_conn *t, const void *p, size_t n, unsigned *want)
{
    *want = 0;
    size_t put = 0;
    int rc = SSL_write_ex(t->ssl, p, n, &put);
    if (rc == 1)
        return (ssize_t)put;
    int m = map_error(t, rc, want);
    return m == 0 ? -EPIPE : m;
}

bool tls_pending(const struct tls_conn *t)
{
    return SSL_pending(t->ssl) > 0;
}

const char *tls_describe(const struct tls_conn *t, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl));
    return buf;
}
