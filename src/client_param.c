/* SPDX-License-Identifier: MIT */
/*
 * client_param.c: the parameters a client wants on every server it gets: collected at
 * login from the startup packet and its "options" (-c name=value, --name=value), and
 * updated when the client runs SET (the server's ParameterStatus); and the startup packet
 * as a session-mode server is opened with it (c->startup, the key pool_session.c matches).
 * Not here: applying them on a server (pool_handoff.c builds the SET) or the login flow.
 * Invariant: every name in c->params passed pgproto_is_param_name(), so it may be spelt in
 * SQL. The set itself is shared (paramset.h): a change makes a new set, never edits one.
 */
#include "client_int.h"

#include <strings.h>

#include "cfg.h"
#include "log.h"
#include "paramset.h"

/* Parameters gathered at login before they become one shared set. Names and values
 * point into the startup packet, or into arena (option tokens, rewritten names). */
struct collect {
    struct pgproto_param p[CLIENT_MAX_WANT];
    size_t n;
    char arena[2048];
    size_t used;
};

/* Startup parameters a session-mode server is opened with, in bytes (names, values and
 * their NULs): PostgreSQL drops a startup packet over 10000 bytes without a word, which
 * would look like a server that is down. A client with more gets its parameters with
 * set_config on a server opened with none, as when session_startup_parameters is off. */
#define STARTUP_KEY_MAX_BYTES 8192

void client_param_free(struct client *c)
{
    paramset_put(c->params);
    c->params = NULL;
    paramset_put(c->startup);
    c->startup = NULL;
    c->waiter.startup = NULL;
}

/* Whether startup parameter @name goes into a session-mode server's own startup packet.
 * Not application_name: a later client on that server would get this one's as its RESET
 * value (it is applied with set_config instead). Not "_pq_." protocol options: PostgreSQL
 * answers them with NegotiateProtocolVersion, which is the client's business. */
static bool goes_in_server_startup(const char *name)
{
    return strcasecmp(name, "application_name") != 0 && strncmp(name, "_pq_.", 5) != 0;
}

/* The key a session-mode server is matched by: the startup packet's parameters as the
 * server is to get them ("options" whole), NULL for none. 0, or -1 with @c closed. */
static int collect_startup(struct client *c, const struct pgproto_startup *su)
{
    const struct config *cfg = client_cfg();
    struct pgproto_param k[CLIENT_MAX_WANT];
    size_t n = 0, bytes = 0;
    for (size_t i = 0; i < su->n_params; i++) {
        const char *name = su->params[i].name, *value = su->params[i].value;
        if (strcmp(name, "user") == 0 || strcmp(name, "database") == 0 ||
            cfg_list_contains(cfg->ignore_startup_parameters, name) ||
            !goes_in_server_startup(name) || (strcmp(name, "options") == 0 && !*value))
            continue;
        bytes += strlen(name) + strlen(value) + 2;
        if (n == CLIENT_MAX_WANT || bytes > STARTUP_KEY_MAX_BYTES) {
            log_debug("C-%llu: startup parameters too many or too long for a server's own "
                      "startup packet; applied with set_config",
                      (unsigned long long)c->id);
            return 0;
        }
        k[n].name = name;
        k[n].value = value;
        n++;
    }
    if (n == 0)
        return 0;
    c->startup = paramset_get(k, n);
    if (!c->startup) {
        client_close(c, "53200", "out of memory");
        return -1;
    }
    c->waiter.startup = c->startup;
    return 0;
}

/* Make @set the client's parameters (taking over the reference), for the next checkout. */
static void use_set(struct client *c, const struct paramset *set)
{
    paramset_put(c->params);
    c->params = set;
    c->waiter.want = set->p;
    c->waiter.n_want = set->n;
    c->waiter.want_hash = set->hash;
}

/* A later value of a name replaces the earlier one. */
static int add_param(struct client *c, struct collect *col, const char *name, const char *value)
{
    for (size_t i = 0; i < col->n; i++) {
        if (param_name_eq(col->p[i].name, name)) {
            col->p[i].value = value;
            return 0;
        }
    }
    if (col->n == CLIENT_MAX_WANT) {
        client_close(c, "08P01", "too many startup parameters");
        return -1;
    }
    col->p[col->n].name = name;
    col->p[col->n].value = value;
    col->n++;
    return 0;
}

/* An options "-c name=value": the name with '-' spelt '_' (--work-mem=... is work_mem,
 * as in PostgreSQL), both copied into the arena (the token buffer is reused). */
static int add_option(struct client *c, struct collect *col, const char *name, size_t nlen,
                      const char *value)
{
    size_t vlen = strlen(value);
    if (nlen + vlen + 2 > sizeof(col->arena) - col->used) {
        client_close(c, "08P01", "options startup parameter too long");
        return -1;
    }
    char *n = col->arena + col->used;
    memcpy(n, name, nlen);
    n[nlen] = '\0';
    for (char *q = n; *q; q++)
        if (*q == '-')
            *q = '_';
    if (!pgproto_is_param_name(n)) {
        client_close(c, "08P01", "invalid parameter name in options: %.64s", n);
        return -1;
    }
    char *v = n + nlen + 1;
    memcpy(v, value, vlen + 1);
    col->used += nlen + vlen + 2;
    return add_param(c, col, n, v);
}

/* The "options" startup parameter (PGOPTIONS): "-c name=value" and "--name=value" are
 * applied like other parameters; other command-line switches are refused. Tokens are
 * separated by whitespace; a backslash escapes the next character (as in PostgreSQL). */
static int parse_options(struct client *c, struct collect *col, const char *opts)
{
    char tok[1024];
    bool expect_c_value = false;
    const char *p = opts;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        size_t n = 0;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            if (*p == '\\' && p[1])
                p++;
            if (n + 1 >= sizeof(tok)) {
                client_close(c, "08P01", "options startup parameter too long");
                return -1;
            }
            tok[n++] = *p++;
        }
        tok[n] = '\0';
        const char *kv = NULL;
        if (expect_c_value) {
            kv = tok;
            expect_c_value = false;
        } else if (strcmp(tok, "-c") == 0) {
            expect_c_value = true;
            continue;
        } else if (strncmp(tok, "-c", 2) == 0) {
            kv = tok + 2;
        } else if (strncmp(tok, "--", 2) == 0) {
            kv = tok + 2;
        }
        const char *eq = kv ? strchr(kv, '=') : NULL;
        if (!eq || eq == kv) {
            client_close(c, "08P01",
                         "unsupported startup parameter: options \"%.64s\" (only -c name=value "
                         "and --name=value are supported)",
                         tok);
            return -1;
        }
        if (add_option(c, col, kv, (size_t)(eq - kv), eq + 1) < 0)
            return -1;
    }
    if (expect_c_value) {
        client_close(c, "08P01", "options: -c without a value");
        return -1;
    }
    return 0;
}

/* The parameters of the startup packet, less user, database, ignore_startup_parameters
 * and "options" (which is parsed into parameters). Refuses replication connections.
 * As in PostgreSQL, a parameter given on its own wins over the same one in "options",
 * wherever each stands in the packet (lib/pq's order is its map's). */
int client_param_collect(struct client *c, const struct pgproto_startup *su)
{
    const struct config *cfg = client_cfg();
    struct collect col;
    col.n = col.used = 0;
    for (size_t i = 0; i < su->n_params; i++) {
        if (strcmp(su->params[i].name, "options") == 0 &&
            !cfg_list_contains(cfg->ignore_startup_parameters, "options") &&
            parse_options(c, &col, su->params[i].value) < 0)
            return -1;
    }
    for (size_t i = 0; i < su->n_params; i++) {
        const char *name = su->params[i].name;
        if (strcmp(name, "user") == 0 || strcmp(name, "database") == 0)
            continue;
        if (cfg_list_contains(cfg->ignore_startup_parameters, name))
            continue;
        if (strcmp(name, "replication") == 0) {
            client_close(c, "08P01", "replication connections are not supported by lifeguard");
            return -1;
        }
        if (strcmp(name, "options") == 0)
            continue; /* done above */
        if (!pgproto_is_param_name(name)) {
            client_close(c, "08P01", "unsupported startup parameter: %.64s", name);
            return -1;
        }
        if (add_param(c, &col, name, su->params[i].value) < 0)
            return -1;
    }
    const struct paramset *set = paramset_get(col.p, col.n);
    if (!set) {
        client_close(c, "53200", "out of memory");
        return -1;
    }
    use_set(c, set);
    c->waiter.keyed = true;
    return collect_startup(c, su);
}

/* The reported parameters a client may SET, tracked per client. PostgreSQL 14+ reports
 * default_transaction_read_only too: psycopg2's set_session(readonly=True) in autocommit
 * mode SETs it, and untracked it stayed on the server for the next client (read-only
 * transactions for someone who never asked). session_authorization is not here: lifeguard
 * would then SET SESSION AUTHORIZATION for clients, which needs its own review. */
static bool is_tracked_param(const char *name)
{
    static const char *const tracked[] = {"client_encoding",
                                          "DateStyle",
                                          "IntervalStyle",
                                          "TimeZone",
                                          "standard_conforming_strings",
                                          "application_name",
                                          "default_transaction_read_only"};
    for (size_t i = 0; i < ARRAY_SIZE(tracked); i++)
        if (param_name_eq(tracked[i], name))
            return true;
    return cfg_list_contains(client_cfg()->track_extra_parameters, name);
}

/* Apply @n changes (name, value) to @c's parameters: a value replaces the entry of that
 * name, or is appended if the name is tracked. Out of memory keeps the old set (logged). */
static void apply_changes(struct client *c, const struct pgproto_param *chg, size_t n)
{
    const struct paramset *cur = c->params;
    struct pgproto_param p[CLIENT_MAX_WANT];
    size_t np = cur ? cur->n : 0;
    if (np)
        memcpy(p, cur->p, np * sizeof(p[0]));
    bool changed = false;
    for (size_t k = 0; k < n; k++) {
        size_t i;
        for (i = 0; i < np; i++)
            if (param_name_eq(p[i].name, chg[k].name))
                break;
        if (i == np && (!is_tracked_param(chg[k].name) || np == CLIENT_MAX_WANT))
            continue;
        if (i < np && strcmp(p[i].value, chg[k].value) == 0)
            continue;
        if (i == np)
            p[np++].name = chg[k].name;
        p[i].value = chg[k].value;
        changed = true;
    }
    if (!changed)
        return;
    const struct paramset *set = paramset_get(p, np);
    if (!set) {
        log_warn("C-%llu: out of memory tracking parameter %s", (unsigned long long)c->id,
                 chg[0].name);
        return;
    }
    use_set(c, set);
}

/* The server told us a parameter changed (the client ran SET): remember the client's
 * value, so that its next server gets it too. */
void client_param_changed(struct pool_waiter *w, const char *name, const char *value)
{
    struct client *c = container_of(w, struct client, waiter);
    if ((w->role_pending & POOL_ROLE_AUTH) && strcmp(name, "session_authorization") == 0)
        client_ddl_role_log(c, "a change of session_authorization"); /* pool_on_param */
    struct pgproto_param chg = {name, value};
    apply_changes(c, &chg, 1);
}

const char *client_param_value(const struct client *c, const char *name)
{
    int i = paramset_find(c->params, name);
    return i < 0 ? NULL : c->params->p[i].value;
}

bool client_param_welcome(struct client *c, struct server *s)
{
    struct pgproto_param chg[CLIENT_MAX_WANT];
    size_t n = 0;
    for (size_t i = 0; i < server_param_count(s) && n < CLIENT_MAX_WANT; i++) {
        const char *name, *value;
        server_param_at(s, i, &name, &value);
        if (!is_tracked_param(name))
            continue;
        /* What the client asked for is on the server now (the checkout applied it, and
         * the server spelt it its way); anything else is what a fresh connection gets,
         * not what another client SET here before. */
        const char *login = server_param_login_at(s, i);
        if (login && !client_param_value(c, name))
            value = login;
        chg[n].name = name;
        chg[n].value = value;
        n++;
    }
    apply_changes(c, chg, n); /* one new set for them all */
    for (size_t i = 0; i < n; i++) {
        const char *have = server_param(s, chg[i].name);
        if (have && strcmp(have, client_param_value(c, chg[i].name)) != 0)
            return true;
    }
    return false;
}
