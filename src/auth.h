/* SPDX-License-Identifier: MIT */
/*
 * auth.h: the client side of authentication: given the method (auth_type) and the
 * stored secret for a user (plaintext, md5 or SCRAM, or none for an unknown user),
 * run the exchange over AuthenticationRequest/PasswordMessage messages. An unknown
 * user goes through the same exchange and fails at the end with the same error as a
 * wrong password (no user enumeration). No I/O: messages go into a buffer.
 */
#ifndef LG_AUTH_H
#define LG_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "buf.h"

struct scram_server;

enum auth_result { AUTH_CONTINUE = 0, AUTH_OK = 1 };

struct auth_exchange {
    int method;         /* enum auth_type actually used */
    bool fake;          /* no usable secret: fail at the end */
    const char *user;   /* borrowed */
    const char *secret; /* borrowed; NULL if unknown */
    uint8_t md5_salt[4];
    struct scram_server *scram;
    bool scram_first_done;
    uint8_t client_key[32]; /* SCRAM ClientKey, valid if have_client_key */
    bool have_client_key;
};

/* Start: for @auth_type and @secret write the first request into @out. Returns AUTH_OK
 * (trust: nothing to do), AUTH_CONTINUE, or -ENOMEM/-ENOSPC/-EIO (with @err filled). */
int auth_begin(struct auth_exchange *a, int auth_type, const char *user, const char *secret,
               struct buf *out, struct lg_err *err) LG_MUSTCHECK;
/* A client message of @type with @payload. AUTH_CONTINUE (next request written to @out),
 * AUTH_OK, or <0 with @err: 28P01 wrong password/unknown user, 08P01 protocol error. */
int auth_step(struct auth_exchange *a, uint8_t type, const uint8_t *payload, size_t len,
              struct buf *out, struct lg_err *err) LG_MUSTCHECK;
/* Release exchange state (wipes secrets). */
void auth_fini(struct auth_exchange *a);

#endif
