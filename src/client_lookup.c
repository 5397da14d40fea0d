/* SPDX-License-Identifier: MIT */
/*
 * client_lookup.c: auth_query: a client whose user is not in auth_file waits while
 * lifeguard asks PostgreSQL for its secret (on a server of the auth_user pool), then the
 * password exchange begins with that secret (under trust: the user is let in, found).
 * Not here: the exchange itself (client.c, auth.c).
 * Invariant: the lookup outlives a client that leaves during it (lk->c = NULL); whoever
 * finishes last frees it.
 */
#include "client_int.h"

#include "alloc.h"
#include "cfg.h"
#include "log.h"
#include "pool.h"
#include "userlist.h"

struct auth_lookup {
    struct pool_waiter w;
    struct client *c; /* NULL once the client left */
    bool in_exec;
};

void client_detach_lookup(struct client *c)
{
    struct auth_lookup *lk = c->lookup;
    if (!lk)
        return;
    c->lookup = NULL;
    lk->c = NULL;
    if (!lk->in_exec) {
        pool_cancel_wait(&lk->w);
        lg_free(lk);
    }
}

static void lookup_done(void *arg, struct server *s, const struct pgproto_error *err,
                        const char *value, bool closed)
{
    struct auth_lookup *lk = arg;
    struct client *c = lk->c;
    lg_free(lk);
    if (!closed)
        pool_release_unlinked(s);
    if (!c)
        return;
    c->lookup = NULL;
    if (closed) {
        client_close(c, "08006", "auth_query: server connection lost");
        return;
    }
    if (err) {
        log_warn("C-%llu auth_query failed: %s (%s)", (unsigned long long)c->id, err->message,
                 err->sqlstate);
        client_close(c, "28000", "authentication lookup failed (auth_query)");
        return;
    }
    if (value) {
        c->secret = lg_strdup(value);
        if (!c->secret) {
            client_close(c, "53200", "out of memory");
            return;
        }
    } else if (!client_no_such_user(c, true)) {
        return;
    }
    client_begin_exchange(c);
}

static void lookup_ready(struct pool_waiter *w, struct server *s)
{
    struct auth_lookup *lk = container_of(w, struct auth_lookup, w);
    if (!lk->c) {
        pool_release_unlinked(s);
        lg_free(lk);
        return;
    }
    const char *params[1] = {lk->c->user};
    const char *q = lk->c->db->auth_query ? lk->c->db->auth_query : client_cfg()->auth_query;
    if (pool_exec(s, q, params, 1, lookup_done, lk) < 0) {
        struct client *c = lk->c;
        c->lookup = NULL;
        lg_free(lk);
        pool_release_unlinked(s);
        client_close(c, "53200", "could not run auth_query");
        return;
    }
    lk->in_exec = true;
}

static void lookup_fail(struct pool_waiter *w, const struct lg_err *err)
{
    struct auth_lookup *lk = container_of(w, struct auth_lookup, w);
    struct client *c = lk->c;
    lg_free(lk);
    if (!c)
        return;
    c->lookup = NULL;
    client_close(c, err->sqlstate, "authentication lookup failed: %s", err->msg);
}

void client_start_lookup(struct client *c, const char *auth_user)
{
    struct lg_err err;
    const char *auth_db = client_cfg()->auth_dbname && *client_cfg()->auth_dbname
                                  ? client_cfg()->auth_dbname
                                  : c->dbname;
    const struct db_entry *adb = cfg_find_db(client_cfg(), auth_db);
    if (!adb)
        adb = c->db;
    struct pool *ap = pool_get(adb, auth_db, auth_user, &err);
    if (!ap) {
        client_close(c, err.sqlstate, "%s", err.msg);
        return;
    }
    if (!pool_has_password(ap) && client_userlist()) {
        const char *pw = userlist_lookup(client_userlist(), auth_user);
        if (pw)
            pool_set_password(ap, pw);
    }
    struct auth_lookup *lk = lg_calloc(1, sizeof(*lk));
    if (!lk) {
        client_close(c, "53200", "out of memory");
        return;
    }
    lk->c = c;
    list_init(&lk->w.node);
    static const struct pool_waiter_ops lookup_ops = {.on_ready = lookup_ready,
                                                      .on_fail = lookup_fail};
    lk->w.ops = &lookup_ops;
    if (pool_checkout(ap, &lk->w) < 0) {
        lg_free(lk);
        client_close(c, "53200", "out of memory");
        return;
    }
    c->lookup = lk;
    client_set_state(c, CLIENT_LOOKUP);
}
