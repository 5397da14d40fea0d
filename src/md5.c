/* SPDX-License-Identifier: MIT */
/*
 * md5.c: PostgreSQL's MD5 password scheme on top of OpenSSL's EVP digests.
 * Pure: no I/O, no state; it only formats digests as "md5" + 32 lowercase hex.
 * It does not decide whether MD5 is allowed (auth.c and hba.c do).
 * Invariant: every output is either a full 35-char secret or "" (OpenSSL failed,
 * or the input secret was malformed); "" never equals what a client sends.
 */
#include "md5.h"

#include <openssl/evp.h>
#include <string.h>

#include "base.h"

#define MD5_DIGEST_BYTES 16

static void hex_out(const unsigned char digest[MD5_DIGEST_BYTES], char out[MD5_PASSWD_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";

    memcpy(out, "md5", 3);
    for (size_t i = 0; i < MD5_DIGEST_BYTES; i++) {
        out[3 + 2 * i] = hex[digest[i] >> 4];
        out[3 + 2 * i + 1] = hex[digest[i] & 0xf];
    }
    out[MD5_PASSWD_LEN] = '\0';
}

/* md5(a || b) into @out as a secret; "" if OpenSSL fails (out of memory). */
static void md5_two(const void *a, size_t a_len, const void *b, size_t b_len,
                    char out[MD5_PASSWD_LEN + 1])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, a, a_len) == 1 && EVP_DigestUpdate(ctx, b, b_len) == 1 &&
             EVP_DigestFinal_ex(ctx, digest, &digest_len) == 1 && digest_len == MD5_DIGEST_BYTES;

    EVP_MD_CTX_free(ctx);
    if (ok)
        hex_out(digest, out);
    else
        out[0] = '\0';
}

bool md5_is_secret(const char *s)
{
    if (s == NULL || strncmp(s, "md5", 3) != 0)
        return false;
    for (size_t i = 3; i < MD5_PASSWD_LEN; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return false;
    }
    return s[MD5_PASSWD_LEN] == '\0';
}

void md5_password_hash(const char *password, const char *user, char out[MD5_PASSWD_LEN + 1])
{
    md5_two(password, strlen(password), user, strlen(user), out);
}

void md5_salted_response(const char *secret, const uint8_t salt[4], char out[MD5_PASSWD_LEN + 1])
{
    if (!md5_is_secret(secret)) {
        out[0] = '\0';
        return;
    }
    md5_two(secret + 3, MD5_PASSWD_LEN - 3, salt, 4, out);
}
