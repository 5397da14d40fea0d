/* SPDX-License-Identifier: MIT */
/*
 * tls.h: TLS for client connections with OpenSSL 3, non-blocking: a context built
 * from the certificate and key files, and per-connection handshake, read and write
 * that report "try again when readable/writable" instead of blocking. No protocol
 * knowledge here: the stream decides when to start TLS.
 */
#ifndef LG_TLS_H
#define LG_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base.h"

struct tls_ctx;
struct tls_conn;

#define TLS_WANT_READ  1u
#define TLS_WANT_WRITE 2u

/* TLS versions, as a set. */
#define TLS_PROTO_1_0 1u
#define TLS_PROTO_1_1 2u
#define TLS_PROTO_1_2 4u
#define TLS_PROTO_1_3 8u

/* What one side's context allows, with PgBouncer's setting names in messages. NULL or ""
 * strings leave OpenSSL's defaults. */
struct tls_opts {
    const char *prefix;        /* "client_tls" or "server_tls": names the keys in messages */
    unsigned protocols;        /* TLS_PROTO_* set; 0 = TLS 1.2 and 1.3 */
    const char *ciphers;       /* OpenSSL cipher list (TLS <= 1.2), or PgBouncer's words
                                  default/secure/fast/normal (OpenSSL's defaults) and all */
    const char *tls13_ciphers; /* TLS 1.3 suites, colon-separated */
    const char *groups;        /* key exchange groups, colon-separated; auto/none = default */
    const char *dheparams;     /* server side: none, auto or legacy (NULL = auto) */
    const char *cert_file;     /* client side only: certificate to present, with key_file */
    const char *key_file;
};

/* A server-side context (lifeguard is the TLS server to its clients). NULL with a reason
 * in @err on failure (unreadable files, key not matching the certificate, a protocol,
 * cipher or group setting OpenSSL refuses: the message names the setting). */
struct tls_ctx *tls_ctx_new(const char *cert_file, const char *key_file, const struct tls_opts *o,
                            char *err, size_t errlen);
/* Check @o (protocols, ciphers, groups; not files) as a context would apply it, for a side
 * that has TLS off. 0 or -EINVAL (reason in @err). */
int tls_opts_check(const struct tls_opts *o, char *err, size_t errlen);
/* Require client certificates chaining to @ca_file on connections of @ctx. 0 or -EINVAL
 * (reason in @err). */
int tls_ctx_require_client_cert(struct tls_ctx *ctx, const char *ca_file, char *err, size_t errlen);
/* The verified client certificate's common name into @cn. 0, or -ENOENT if there is no
 * verified certificate. */
int tls_peer_cn(const struct tls_conn *t, char *cn, size_t len);
void tls_ctx_free(struct tls_ctx *ctx);
/* A client-side context (lifeguard connecting to PostgreSQL). @verify: check the
 * server's certificate against @ca_file (the system store if NULL); @o->cert_file and
 * key_file, if set, are the certificate lifeguard presents. NULL on failure. */
struct tls_ctx *tls_client_ctx_new(const char *ca_file, bool verify, const struct tls_opts *o,
                                   char *err, size_t errlen);

/* TLS over connected non-blocking @fd. NULL on out-of-memory. */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, int fd);
/* Client side over @fd; @verify_host (may be NULL) must match the certificate. */
struct tls_conn *tls_client_conn_new(struct tls_ctx *ctx, int fd, const char *verify_host);
void tls_conn_free(struct tls_conn *t);

/* Drive the handshake: 0 done; -EAGAIN with *@want set; -EPROTO failed. */
int tls_handshake(struct tls_conn *t, unsigned *want) LG_MUSTCHECK;
/* Plaintext bytes (>0), 0 on a clean close, -EAGAIN (with *@want), or -errno. */
ssize_t tls_read(struct tls_conn *t, void *p, size_t n, unsigned *want);
ssize_t tls_write(struct tls_conn *t, const void *p, size_t n, unsigned *want);
/* Decrypted bytes OpenSSL holds that the socket will not signal again. */
bool tls_pending(const struct tls_conn *t);
/* "TLSv1.3/TLS_AES_256_GCM_SHA384" for logs and SHOW CLIENTS. */
const char *tls_describe(const struct tls_conn *t, char *buf, size_t len);

#endif
