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
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "alloc.h"

struct tls_ctx {
    SSL_CTX *ctx;
};

struct tls_conn {
    SSL *ssl;
};

struct tls_ctx *tls_ctx_new(const char *cert_file, const char *key_file, char *err,
                            size_t errlen)
{
    struct tls_ctx *c = lg_calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->ctx = SSL_CTX_new(TLS_server_method());
    if (!c->ctx)
        goto fail;
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION);
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

struct tls_ctx *tls_client_ctx_new(const char *ca_file, bool verify, char *err, size_t errlen)
{
    struct tls_ctx *c = lg_calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx)
        goto fail;
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
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

int tls_ctx_require_client_cert(struct tls_ctx *c, const char *ca_file, char *err,
                                size_t errlen)
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
