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
#include "log.h"

void client_param_free(struct client *c)
{
    if (c->owned)
        for (size_t i = 0; i < 2u * c->cap_want; i++)
            lg_free(c->owned[i]);
    lg_free(c->owned);
    lg_free(c->want);
    c->owned = NULL;
    c->want = NULL;
    c->n_want = c->cap_want = 0;
}

/* Room for @extra more entries in want[] (and in owned[] if @own). Most clients carry a
 * handful of parameters and own none of them, so both arrays are sized to fit. 0, or -1
 * (too many: @c is not closed; out of memory). */
static int want_reserve(struct client *c, size_t extra, bool own)
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
        if (c->owned) {
            char **o = lg_realloc(c->owned, 2 * cap * sizeof(*o));
            if (!o)
                return -1;
            memset(o + 2 * c->cap_want, 0, 2 * (cap - c->cap_want) * sizeof(*o));
            c->owned = o;
        }
        c->cap_want = (uint8_t)cap;
    }
    if (own && !c->owned) {
        c->owned = lg_calloc(2 * (size_t)c->cap_want, sizeof(*c->owned));
        if (!c->owned)
            return -1;
    }
    return 0;
}

/* Add an owned name=value to the parameters applied on servers. */
static int add_owned_param(struct client *c, const char *name, size_t nlen, const char *value,
                           size_t vlen)
{
    if (c->n_want == CLIENT_MAX_WANT) {
        client_close(c, "08P01", "too many startup parameters");
        return -1;
    }
    if (want_reserve(c, 1, true) < 0) {
        client_close(c, "53200", "out of memory");
        return -1;
    }
    size_t i = c->n_want;
    char *n = lg_strndup(name, nlen), *v = lg_strndup(value, vlen);
    if (!n || !v) {
        lg_free(n);
        lg_free(v);
        client_close(c, "53200", "out of memory");
        return -1;
    }
    for (char *q = n; *q; q++)
        if (*q == '-')
            *q = '_'; /* --work-mem=... spells work_mem, as in PostgreSQL */
    if (!pgproto_is_param_name(n)) {
        client_close(c, "08P01", "invalid parameter name in options: %.64s", n);
        lg_free(n);
        lg_free(v);
        return -1;
    }
    c->owned[2 * i] = n;
    c->owned[2 * i + 1] = v;
    c->want[i].name = n;
    c->want[i].value = v;
    c->n_want++;
    c->want_dirty = true;
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
        if (want_reserve(c, LG_MAX(su->n_params - i, (size_t)1), false) < 0 &&
            want_reserve(c, 1, false) < 0) {
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
    char *n = lg_strdup(name), *v = lg_strdup(value);
    if (!n || !v || want_reserve(c, i == c->n_want, true) < 0) {
        lg_free(n);
        lg_free(v);
        log_warn("C-%llu: out of memory tracking parameter %s", (unsigned long long)c->id, name);
        return;
    }
    lg_free(c->owned[2 * i]);
    lg_free(c->owned[2 * i + 1]);
    c->owned[2 * i] = n;
    c->owned[2 * i + 1] = v;
    c->want[i].name = n;
    c->want[i].value = v;
    c->want_dirty = true;
    if (i == c->n_want)
        c->n_want++;
    c->waiter.n_want = c->n_want;
}
