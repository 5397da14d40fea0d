/* SPDX-License-Identifier: MIT */
/*
 * md5.h: PostgreSQL's MD5 password scheme (pure, no I/O).
 * Stored form: "md5" + hex(md5(password || user)) (35 chars).
 * Wire response: "md5" + hex(md5(hex_part_of_stored || salt[4])).
 * If OpenSSL fails (out of memory) or @secret is malformed, the functions below write
 * "" to @out, which matches no secret and no client response.
 */
#ifndef LG_MD5_H
#define LG_MD5_H

#include <stdbool.h>
#include <stdint.h>

#define MD5_PASSWD_LEN 35 /* "md5" + 32 hex digits, without the NUL */

/* True if @s looks like a stored md5 secret ("md5" + 32 lowercase hex). */
bool md5_is_secret(const char *s);
/* out = "md5" + hex(md5(password || user)), NUL-terminated. */
void md5_password_hash(const char *password, const char *user, char out[MD5_PASSWD_LEN + 1]);
/* out = "md5" + hex(md5(secret[3..] || salt)): what a client sends for
 * AuthenticationMD5Password. @secret is a stored md5 secret. */
void md5_salted_response(const char *secret, const uint8_t salt[4], char out[MD5_PASSWD_LEN + 1]);

#endif
