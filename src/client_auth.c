/* SPDX-License-Identifier: MIT */
/*
 * client_auth.c: how a client connection is secured and which authentication method it
 * gets: starting TLS after an SSLRequest, auth_type = cert (a verified certificate's CN
 * is the user), auth_type = hba (first matching auth_hba_file rule, peer via
 * SO_PEERCRED), and what a user without a secret gets (trust: refused). Not here: the
 * password exchanges themselves (auth.c).
 * Invariant: a connection no rule allows is closed before any server is involved.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cfg.h"
#include "client.h"
#include "client_int.h"
#include "evloop.h"
#include "hba.h"
#include "log.h"
#include "net.h"
#include "stream.h"
#include "tls.h"

static struct tls_ctx *g_tls;   /* NULL: SSLRequest is answered 'N' */
static const struct hba *g_hba; /* rules for auth_type = hba */
static bool g_tls_required;     /* client_tls_sslmode = require/verify-* (TCP clients) */

bool client_tls_enabled(void)
{
    return g_tls != NULL;
}

bool client_tls_required(void)
{
    return g_tls_required;
}

void client_set_hba(const struct hba *h)
{
    g_hba = h;
}

void client_set_tls(struct tls_ctx *ctx, bool required)
{
    g_tls = ctx;
    g_tls_required = required;
}

void client_start_tls(struct evloop *ev, void *arg)
{
    (void)ev;
    struct client *c = arg;
    if (c->state == CLIENT_CLOSING)
        return;
    int rc = stream_start_tls(&c->st, g_tls);
    if (rc < 0) {
        client_close(c, rc == -EPROTO ? "08P01" : "53200", "%s",
                     rc == -EPROTO ? "received unencrypted data after SSL request"
                                   : "out of memory starting TLS");
        return;
    }
    c->tls = true;
    c->st.paused = false;
    stream_kick(&c->st);
}

/* The authentication method for this connection: auth_type, or the first matching
 * auth_hba_file rule. Returns false after closing the client (reject, no rule, peer
 * mismatch, unsupported method). */
/* auth_type = cert: a verified TLS client certificate whose CN is the user name.
 * Closes the client and returns false otherwise. */
static bool cert_ok(struct client *c)
{
    char cn[256];
    if (!c->tls || !c->st.tls || tls_peer_cn(c->st.tls, cn, sizeof(cn)) < 0) {
        client_close(c, "28000",
                     "certificate authentication failed for user \"%s\": no "
                     "verified client certificate",
                     c->user);
        return false;
    }
    if (strcmp(cn, c->user) != 0) {
        client_close(c, "28000",
                     "certificate authentication failed for user \"%s\": "
                     "the certificate is for \"%.64s\"",
                     c->user, cn);
        return false;
    }
    return true;
}

bool client_console_self(const struct client *c)
{
    return c->console && c->is_unix && strcmp(c->user, "pgbouncer") == 0 &&
           net_peer_is_self(c->st.fd);
}

bool client_no_such_user(struct client *c, bool after_query)
{
    /* auth_file (or auth_query) is the allowlist under trust: without it anyone could log
     * in to PostgreSQL as any role pg_hba.conf lets the pooler's address use. */
    bool refuse = c->auth_method == AUTH_TYPE_TRUST && c->trust_allowlist;
    if (c->auth_method == AUTH_TYPE_CERT || (c->auth_method == AUTH_TYPE_TRUST && !refuse))
        return true;
    log_info("C-%llu %s/%s@%s no such user: %s (%s; %s)", (unsigned long long)c->id, c->dbname,
             c->user, c->peer, c->user, after_query ? "auth_query found none" : "not in auth_file",
             refuse ? "trust admits no one else"
                    : "a made-up challenge follows, the login will fail");
    if (refuse)
        client_close(c, "28000", "\"trust\" authentication failed for user \"%s\"", c->user);
    return !refuse;
}

bool client_choose_method(struct client *c)
{
    c->trust_allowlist = false;
    if (client_console_self(c)) {
        c->auth_method = AUTH_TYPE_TRUST; /* as PgBouncer: the Unix user running it */
        return true;
    }
    c->auth_method = client_cfg()->auth_type;
    c->trust_allowlist = c->auth_method == AUTH_TYPE_TRUST;
    if (c->auth_method == AUTH_TYPE_ANY) {
        c->auth_method = AUTH_TYPE_TRUST; /* the user name is not checked: no exchange */
        return true;
    }
    if (client_cfg()->auth_type == AUTH_TYPE_CERT)
        return cert_ok(c);
    if (client_cfg()->auth_type != AUTH_TYPE_HBA)
        return true;
    struct sockaddr_storage ss;
    const struct sockaddr *sa = NULL;
    if (!c->is_unix && net_parse_addr(c->peer, &ss) == 0)
        sa = (const struct sockaddr *)&ss;
    int line = 0;
    enum hba_method m =
            g_hba ? hba_match(g_hba, sa, c->tls, c->dbname, c->user, &line) : HBA_REJECT;
    const char *host = c->is_unix ? "[local]" : c->peer;
    switch (m) {
    case HBA_TRUST:
        c->auth_method = AUTH_TYPE_TRUST;
        c->trust_allowlist = true;
        return true;
    case HBA_MD5:
        c->auth_method = AUTH_TYPE_MD5;
        return true;
    case HBA_SCRAM:
        c->auth_method = AUTH_TYPE_SCRAM;
        return true;
    case HBA_PASSWORD:
        c->auth_method = AUTH_TYPE_PLAIN;
        return true;
    case HBA_PEER: {
        char name[256];
        int rc = c->is_unix ? net_peer_user(c->st.fd, name, sizeof(name)) : -EINVAL;
        if (rc == 0 && strcmp(name, c->user) == 0) {
            c->auth_method = AUTH_TYPE_TRUST;
            return true;
        }
        client_close(c, "28000", "peer authentication failed for user \"%s\"", c->user);
        return false;
    }
    case HBA_CERT:
        c->auth_method = AUTH_TYPE_CERT;
        return cert_ok(c);
    case HBA_REJECT:
    default:
        if (line)
            client_close(c, "28000",
                         "pg_hba.conf rejects connection for host \"%s\", user \"%s\", "
                         "database \"%s\"%s",
                         host, c->user, c->dbname, c->tls ? ", SSL encryption" : "");
        else
            client_close(c, "28000",
                         "no pg_hba.conf entry for host \"%s\", user \"%s\", database "
                         "\"%s\"%s",
                         host, c->user, c->dbname, c->tls ? ", SSL encryption" : "");
        return false;
    }
}
