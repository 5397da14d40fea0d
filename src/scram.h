/* SPDX-License-Identifier: MIT */
/*
 * scram.h: SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL speaks it, both roles, pure:
 * no sockets, no clock, no global state; random nonces are passed in by the caller.
 * Server role: lifeguard authenticates a client against a stored secret and, on
 * success, recovers the client's ClientKey (for SCRAM pass-through to PostgreSQL).
 * Client role: lifeguard authenticates to PostgreSQL with a password, or with a
 * ClientKey + the secret (pass-through) when it has no plaintext password.
 * Channel binding is not offered (gs2 "n,,"; "y,," accepted, "p=" refused).
 */
#ifndef LG_SCRAM_H
#define LG_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCRAM_KEY_LEN      32
#define SCRAM_NONCE_RAW    18 /* random bytes the caller supplies per exchange */
#define SCRAM_MAX_SALT     64
#define SCRAM_MAX_MSG      1024 /* bound on every SCRAM message we build or accept */
#define SCRAM_DEFAULT_ITER 4096

/* A stored verifier: "SCRAM-SHA-256$<iter>:<salt b64>$<StoredKey b64>:<ServerKey b64>" */
struct scram_secret {
    int iterations;
    uint8_t salt[SCRAM_MAX_SALT];
    size_t salt_len;
    uint8_t stored_key[SCRAM_KEY_LEN];
    uint8_t server_key[SCRAM_KEY_LEN];
};

/* True if @s has the shape of a stored SCRAM-SHA-256 secret. */
bool scram_is_secret(const char *s);
/* Parse a stored secret. 0, or -EINVAL if malformed. */
int scram_parse_secret(const char *s, struct scram_secret *out);
/* Derive a secret from a plaintext password (SASLprep for ASCII is identity; other
 * input is used as is, like PostgreSQL does when SASLprep fails). 0 or -EINVAL/-ENOMEM. */
int scram_secret_from_password(const char *password, const uint8_t *salt, size_t salt_len,
                               int iterations, struct scram_secret *out);

/* ---- server role: lifeguard verifies a client ---- */
enum scram_server_state {
    SCRAM_SERVER_INIT,
    SCRAM_SERVER_FIRST_SENT,
    SCRAM_SERVER_DONE,
    SCRAM_SERVER_FAILED
};

struct scram_server {
    enum scram_server_state state;
    struct scram_secret secret;
    char nonce[128]; /* server nonce until the first step, then client nonce +
                        server nonce; NUL-terminated */
    char client_first_bare[SCRAM_MAX_MSG];
    char server_first[SCRAM_MAX_MSG];
    char gs2_header[64];
    uint8_t client_key[SCRAM_KEY_LEN]; /* valid after a successful final step */
    bool have_client_key;
};

/* Start an exchange against @secret. @random: SCRAM_NONCE_RAW random bytes. */
void scram_server_init(struct scram_server *s, const struct scram_secret *secret,
                       const uint8_t random[SCRAM_NONCE_RAW]);
/* Like scram_server_init() with the server's half of the nonce given as text (what
 * scram_server_init() does with base64(@random); tests use it to replay RFC 7677).
 * 0, or -EINVAL if @server_nonce is empty, longer than 64 characters or not printable
 * ASCII without ',', or @secret has no salt or iterations < 1 (@s is then FAILED). */
int scram_server_init_nonce(struct scram_server *s, const struct scram_secret *secret,
                            const char *server_nonce);
/* Consume the client-first-message (the SASLInitialResponse payload, @len bytes, not
 * NUL-terminated) and write the server-first-message into @out (NUL-terminated).
 * Returns its length (>0), -EPROTO on a malformed message, -EOPNOTSUPP for channel
 * binding "p=", -EMSGSIZE if @cap is too small. */
int scram_server_first(struct scram_server *s, const char *msg, size_t len, char *out, size_t cap);
/* Consume the client-final-message; on a valid proof write the server-final-message
 * ("v=...") into @out and return its length, and set client_key/have_client_key.
 * -EACCES: wrong proof (wrong password). -EPROTO: malformed or nonce mismatch.
 * -EMSGSIZE: @cap too small. -ENOMEM: OpenSSL failed. Any error leaves @s FAILED. */
int scram_server_final(struct scram_server *s, const char *msg, size_t len, char *out, size_t cap);

/* ---- client role: lifeguard logs in to PostgreSQL ---- */
enum scram_client_state {
    SCRAM_CLIENT_INIT,
    SCRAM_CLIENT_FIRST_SENT,
    SCRAM_CLIENT_FINAL_SENT,
    SCRAM_CLIENT_DONE,
    SCRAM_CLIENT_FAILED
};

struct scram_client {
    enum scram_client_state state;
    char password[256]; /* plaintext, or "" in pass-through mode */
    bool passthrough;   /* use client_key + secret instead of password */
    uint8_t client_key[SCRAM_KEY_LEN];
    struct scram_secret secret; /* pass-through: the secret whose salt/iter must match */
    char client_nonce[64];
    char client_first_bare[SCRAM_MAX_MSG];
    char server_first[SCRAM_MAX_MSG];
    uint8_t server_signature[SCRAM_KEY_LEN]; /* expected, computed at the final step */
};

/* Password mode. @password NUL-terminated; 0 or -EINVAL (too long). */
int scram_client_init_password(struct scram_client *c, const char *password,
                               const uint8_t random[SCRAM_NONCE_RAW]);
/* Pass-through mode: @client_key recovered by scram_server_final() and the @secret it
 * was checked against. */
void scram_client_init_passthrough(struct scram_client *c, const uint8_t client_key[SCRAM_KEY_LEN],
                                   const struct scram_secret *secret,
                                   const uint8_t random[SCRAM_NONCE_RAW]);
/* Write the client-first-message ("n,,n=,r=<nonce>") into @out; returns length or -EMSGSIZE. */
int scram_client_first(struct scram_client *c, char *out, size_t cap);
/* Consume the server-first-message (AuthenticationSASLContinue payload) and write the
 * client-final-message. Returns its length, -EPROTO (malformed, nonce not extending
 * ours, iterations < 1), -EACCES (pass-through and the server's salt/iterations differ
 * from the secret's), -EMSGSIZE, -ENOMEM (OpenSSL failed). */
int scram_client_final(struct scram_client *c, const char *msg, size_t len, char *out, size_t cap);
/* Check the server-final-message (AuthenticationSASLFinal payload). 0, -EACCES on a
 * wrong server signature, -EPROTO if malformed or it carries "e=<error>". */
int scram_client_verify(struct scram_client *c, const char *msg, size_t len);

/* Wipe secrets in a finished exchange (explicit_bzero). */
void scram_server_wipe(struct scram_server *s);
void scram_client_wipe(struct scram_client *c);

#endif
