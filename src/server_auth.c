/* SPDX-License-Identifier: MIT */
/*
 * server_auth.c: answering PostgreSQL's authentication requests while a server logs in:
 * cleartext and md5 with the pool's password, SCRAM-SHA-256 with the password or by
 * pass-through of the client's ClientKey (when lifeguard holds only the SCRAM secret),
 * checking the server's final signature. Not here: the login state machine around it
 * (server.c).
 */
#include "server_int.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "alloc.h"
#include "log.h"
#include "md5.h"
#include "pgproto.h"
#include "pool.h"
#include "scram.h"
#include "stream.h"

static int send_or_fail(struct server *s, int rc)
{
    if (rc < 0) {
        server_close(s, "cannot build login message: %s", strerror(-rc));
        return -1;
    }
    stream_flush(&s->st);
    return STREAM_CONSUMED;
}

int server_login_auth(struct server *s, const uint8_t *p, uint32_t len)
{
    uint32_t code;
    const uint8_t *data;
    size_t dlen;
    if (pgproto_parse_auth(p, len, &code, &data, &dlen) < 0) {
        server_close(s, "malformed authentication request");
        return -1;
    }
    const char *pw = s->target->password;
    bool pw_is_scram = pw && scram_is_secret(pw);
    bool pw_is_md5 = pw && md5_is_secret(pw);
    char tmp[SCRAM_MAX_MSG];
    switch (code) {
    case PGPROTO_AUTH_OK:
        return STREAM_CONSUMED;
    case PGPROTO_AUTH_CLEARTEXT:
        if (!pw || pw_is_scram || pw_is_md5) {
            server_fail_login(s, "28P01",
                              "server asks for a cleartext password, and lifeguard has none "
                              "for this user");
            return -1;
        }
        return send_or_fail(s, pgproto_put_password(&s->st.out, pw));
    case PGPROTO_AUTH_MD5: {
        if (dlen != 4 || !pw || pw_is_scram) {
            server_fail_login(s, "28P01",
                              "server asks for md5 authentication, and lifeguard has no "
                              "password or md5 secret for this user");
            return -1;
        }
        char secret[MD5_PASSWD_LEN + 1], resp[MD5_PASSWD_LEN + 1];
        if (pw_is_md5)
            snprintf(secret, sizeof(secret), "%s", pw);
        else
            md5_password_hash(pw, s->target->user, secret);
        md5_salted_response(secret, data, resp);
        return send_or_fail(s, pgproto_put_password(&s->st.out, resp));
    }
    case PGPROTO_AUTH_SASL: {
        bool found = false;
        for (size_t i = 0; i < dlen && data[i];) {
            const uint8_t *nul = memchr(data + i, '\0', dlen - i);
            if (!nul)
                break;
            if (strcmp((const char *)data + i, "SCRAM-SHA-256") == 0)
                found = true;
            i = (size_t)(nul - data) + 1;
        }
        if (!found) {
            server_fail_login(s, "28000", "server offers no SASL mechanism lifeguard supports");
            return -1;
        }
        uint8_t rnd[SCRAM_NONCE_RAW];
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
            server_close(s, "getrandom failed");
            return -1;
        }
        s->scram = lg_calloc(1, sizeof(*s->scram));
        if (!s->scram) {
            server_close(s, "out of memory");
            return -1;
        }
        if (pw && !pw_is_scram && !pw_is_md5) {
            if (scram_client_init_password(s->scram, pw, rnd) < 0) {
                server_fail_login(s, "28P01", "password too long for SCRAM");
                return -1;
            }
        } else if (pw_is_scram && s->target->have_client_key) {
            struct scram_secret sec;
            if (scram_parse_secret(pw, &sec) < 0) {
                server_fail_login(s, "28P01", "malformed SCRAM secret for this user");
                return -1;
            }
            scram_client_init_passthrough(s->scram, s->target->client_key, &sec, rnd);
        } else {
            server_fail_login(s, "28P01",
                              pw_is_scram
                                      ? "server asks for SCRAM and lifeguard holds only a SCRAM "
                                        "secret: the client must log in with SCRAM first "
                                        "(pass-through)"
                                      : "server asks for SCRAM, and lifeguard has no password for "
                                        "this user");
            return -1;
        }
        int n = scram_client_first(s->scram, tmp, sizeof(tmp));
        if (n < 0) {
            server_close(s, "SCRAM: cannot build first message");
            return -1;
        }
        return send_or_fail(s,
                            pgproto_put_sasl_initial(&s->st.out, "SCRAM-SHA-256", tmp, (size_t)n));
    }
    case PGPROTO_AUTH_SASL_CONTINUE: {
        if (!s->scram) {
            server_close(s, "unexpected SASLContinue");
            return -1;
        }
        int n = scram_client_final(s->scram, (const char *)data, dlen, tmp, sizeof(tmp));
        if (n < 0) {
            server_fail_login(s, "28P01",
                              n == -EACCES ? "SCRAM pass-through: the server's salt or "
                                             "iterations differ from the stored secret"
                                           : "malformed SCRAM message from server");
            return -1;
        }
        return send_or_fail(s, pgproto_put_sasl_response(&s->st.out, tmp, (size_t)n));
    }
    case PGPROTO_AUTH_SASL_FINAL: {
        int rc = s->scram ? scram_client_verify(s->scram, (const char *)data, dlen) : -EPROTO;
        if (s->scram) {
            scram_client_wipe(s->scram);
            lg_free(s->scram);
            s->scram = NULL;
        }
        if (rc < 0) {
            server_fail_login(s, "28P01",
                              "server's SCRAM signature is wrong: not the server we trust");
            return -1;
        }
        return STREAM_CONSUMED;
    }
    default: {
        char msg[128];
        snprintf(msg, sizeof(msg), "server asks for unsupported authentication method %u", code);
        server_fail_login(s, "28000", msg);
        return -1;
    }
    }
}
