/* SPDX-License-Identifier: MIT */
/*
 * fuzz_cfg.c: libFuzzer target for the pure config parsers: cfg_parse() (then SHOW CONFIG,
 * lookups, dup, SET, reload and env on the result) and userlist_parse(), on the same bytes.
 * No files, no process environment. Invariants checked: a config comes back exactly when
 * no error was reported, every diagnostic is one line, and every database is findable.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cfg.h"
#include "userlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void show_cb(void *arg, const char *key, const char *value, const char *default_value,
                    bool reloadable)
{
    size_t *total = arg;
    *total += strlen(key) + strlen(value) + strlen(default_value) + reloadable;
}

static size_t count_lines(const struct cfg_diag *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->len; i++)
        n += d->text[i] == '\n';
    return n;
}

static void check_diag(const struct cfg_diag *d)
{
    if (!d->oom && count_lines(d) != (size_t)(d->errors + d->warnings))
        abort();
}

static void exercise(struct config *c, struct cfg_diag *d)
{
    size_t total = 0;
    cfg_show(c, show_cb, &total);
    for (size_t i = 0; i < c->n_dbs; i++)
        if (cfg_find_db(c, c->dbs[i].name) != &c->dbs[i])
            abort();
    for (size_t i = 0; i < c->n_users; i++)
        if (cfg_find_user(c, c->users[i].name) != &c->users[i])
            abort();
    (void)cfg_list_contains(c->admin_users, "admin");
    struct config *n = cfg_dup(c);
    if (!n)
        return;
    char *env[] = {"DB_POOL_SIZE=7", "LIFEGUARD_SERVER_LIFETIME=0.25", NULL};
    int rc = cfg_apply_env(n, env, d);
    rc = cfg_set(n, "query_wait_timeout", "1.5", d);
    n->listen_port = c->listen_port == 1 ? 2 : 1;
    rc = cfg_keep_restart_keys(n, c, d);
    if (rc != 1 || n->listen_port != c->listen_port)
        abort();
    cfg_free(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg_diag d;
    cfg_diag_init(&d);
    struct config *c = cfg_parse((const char *)data, size, "fuzz.ini", &d);
    check_diag(&d);
    if ((c != NULL) != (d.errors == 0))
        abort();
    if (c)
        exercise(c, &d);
    cfg_free(c);
    cfg_diag_fini(&d);

    cfg_diag_init(&d);
    struct userlist *ul = userlist_parse((const char *)data, size, "userlist.txt", &d);
    check_diag(&d);
    if (!ul)
        abort(); /* only out of memory may fail */
    (void)userlist_lookup(ul, "postgres");
    (void)userlist_count(ul);
    userlist_free(ul);
    cfg_diag_fini(&d);
    return 0;
}
