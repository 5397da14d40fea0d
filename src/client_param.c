/* SPDX-License-Identifier: MIT */
/*
 * client_param.c: the parameters a client wants on every server it gets: collected at
 * login from the startup packet and its "options" (-c name=value, --name=value), and
 * updated when the client runs SET (the server's ParameterStatus).
 * Not here: applying them on a server (pool.c builds the SET) or the login flow.
 * Invariant: every name in want[] passed pgproto_is_param_name(), so it may be spelt in SQL.
 */
#include "client_int.h"

#include <strings.h>

#include "alloc.h"
#include "cfg.h"
#include "intern.h"
#include "log.h"

void client_param_free(struct client *c)
{
    for (size_t i = 0; i < c->n_want; i++) {
        if (c->interned & (1u << i)) {
            intern_put(c->want[i].name);
            intern_put(c->want[i].value);
        }
    }
    lg_free(c->want);
    c->want = NULL;
    c->interned = 0;
    c->n_want = c->cap_want = 0;
}

/* Room for @extra more entries in want[]: most clients carry a handful of parameters,
 * so the array is sized to fit. 0, or -1 (too many, or out of memory; @c stays open). */
static int want_reserve(struct client *c, size_t extra)
{
    size_t need = (size_t)c->n_want + extra;
    if (need > CLIENT_MAX_WANT)
        return -1;
    if (need > c->cap_want) {
        size_t cap = LG_MAX(need, LG_MIN((size_t)c->cap_want * 2, (size_t)CLIENT_MAX_WANT));
        struct pgproto_param *w = lg_realloc(c->want, cap * sizeof(*w));
        if (!w)
            return -1;
        c->want = w;
        c->waiter.want = w; /* it may be queued or linked with the old array */
        c->cap_want = (uint8_t)cap;
    }
    return 0;
}

/* Set want[@i] (@i <= n_want) to interned references @n and @v, dropping what it held. */
static void want_set(struct client *c, size_t i, const char *n, const char *v)
{
    if (i < c->n_want && (c->interned & (1u << i))) {
        intern_put(c->want[i].name);
        intern_put(c->want[i].value);
    }
    c->want[i].name = n;
    c->want[i].value = v;
    c->interned |= 1u << i;
    c->want_dirty = true;
    if (i == c->n_want)
        c->n_want++;
    c->waiter.n_want = c->n_want;
}

/* Add an owned name=value to the parameters applied on servers. */
static int add_owned_param(struct client *c, const char *name, size_t nlen, const char *value,
                           size_t vlen)
{
    if (c->n_want == CLIENT_MAX_WANT) {
        client_close(c, "08P01", "too many startup parameters");
        return -1;
    }
    if (want_reserve(c, 1) < 0) {
        client_close(c, "53200", "out of memory");
        return -1;
    }
    char tmp[256];
    if (nlen >= sizeof(tmp)) {
        client_close(c, "08P01", "invalid parameter name in options: %.64s", name);
        return -1;
    }
    memcpy(tmp, name, nlen);
    tmp[nlen] = '\0';
    for (char *q = tmp; *q; q++)
        if (*q == '-')
            *q = '_'; /* --work-mem=... spells work_mem, as in PostgreSQL */
    if (!pgproto_is_param_name(tmp)) {
        client_close(c, "08P01", "invalid parameter name in options: %.64s", tmp);
        return -1;
    }
    const char *n = intern_getn(tmp, nlen), *v = intern_getn(value, vlen);
    if (!n || !v) {
        intern_put(n);
        intern_put(v);
        client_close(c, "53200", "out of memory");
        return -1;
    }
    want_set(c, c->n_want, n, v);
    return 0;
}

/* The "options" startup parameter (PGOPTIONS): "-c name=value" and "--name=value" are
 * applied like other parameters; other command-line switches are refused. Tokens are
 * separated by whitespace; a backslash escapes the next character (as in PostgreSQL). */
static int parse_options(struct client *c, const char *opts)
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
        if (add_owned_param(c, kv, (size_t)(eq - kv), eq + 1, strlen(eq + 1)) < 0)
            return -1;
    }
    if (expect_c_value) {
        client_close(c, "08P01", "options: -c without a value");
        return -1;
    }
    return 0;
}

/* The parameters of the startup packet, less user, database, ignore_startup_parameters
 * and "options" (which is parsed into parameters). Refuses replication connections. */
int client_param_collect(struct client *c, const struct pgproto_startup *su)
{
    const struct config *cfg = client_cfg();
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
        if (strcmp(name, "options") == 0) {
            if (parse_options(c, su->params[i].value) < 0)
                return -1;
            continue;
        }
        if (!pgproto_is_param_name(name)) {
            client_close(c, "08P01", "unsupported startup parameter: %.64s", name);
            return -1;
        }
        if (c->n_want == CLIENT_MAX_WANT) {
            client_close(c, "08P01", "too many startup parameters");
            return -1;
        }
        if (want_reserve(c, LG_MAX(su->n_params - i, (size_t)1)) < 0 && want_reserve(c, 1) < 0) {
            client_close(c, "53200", "out of memory");
            return -1;
        }
        c->want[c->n_want++] = su->params[i];
        c->want_dirty = true;
    }
    return 0;
}

static bool is_tracked_param(const char *name)
{
    static const char *const tracked[] = {"client_encoding",
                                          "DateStyle",
                                          "IntervalStyle",
                                          "TimeZone",
                                          "standard_conforming_strings",
                                          "application_name"};
    for (size_t i = 0; i < ARRAY_SIZE(tracked); i++)
        if (strcasecmp(tracked[i], name) == 0)
            return true;
    return cfg_list_contains(client_cfg()->track_extra_parameters, name);
}

/* The server told us a parameter changed (the client ran SET): remember the client's
 * value, so that its next server gets it too. */
void client_param_changed(struct pool_waiter *w, const char *name, const char *value)
{
    struct client *c = container_of(w, struct client, waiter);
    size_t i;
    for (i = 0; i < c->n_want; i++)
        if (strcasecmp(c->want[i].name, name) == 0)
            break;
    if (i == c->n_want && (!is_tracked_param(name) || c->n_want == CLIENT_MAX_WANT))
        return;
    if (i < c->n_want && strcmp(c->want[i].value, value) == 0)
        return;
    const char *n = intern_get(name), *v = intern_get(value);
    if (!n || !v || want_reserve(c, i == c->n_want) < 0) {
        intern_put(n);
        intern_put(v);
        log_warn("C-%llu: out of memory tracking parameter %s", (unsigned long long)c->id, name);
        return;
    }
    want_set(c, i, n, v);
}

void client_param_welcome(struct client *c, struct server *s)
{
    size_t n = server_param_count(s), tracked = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name, *value;
        server_param_at(s, i, &name, &value);
        tracked += is_tracked_param(name);
    }
    /* One growth to fit them (a few may already be there: a little slack, no copies). */
    (void)want_reserve(c, LG_MIN(tracked, (size_t)(CLIENT_MAX_WANT - c->n_want)));
    for (size_t i = 0; i < n; i++) {
        const char *name, *value;
        server_param_at(s, i, &name, &value);
        client_param_changed(&c->waiter, name, value);
    }
}
