/* SPDX-License-Identifier: MIT */
/*
 * server_param.c: parameters PostgreSQL does not report (search_path, work_mem, ...)
 * that lifeguard set on a server with set_config() for one client in transaction or
 * statement pooling (pool_handoff.c): no ParameterStatus tells what the server holds,
 * so the server remembers their names, and a later client that did not ask for them
 * gets them reset to the server's own values, as on a fresh connection.
 * Also the reported parameters (ParameterStatus): their login and current values, and
 * whether a client's wanted values were found equal since the last change.
 * Not here: the SETs (pool_handoff.c), reading ParameterStatus off the wire (server.c).
 */
#include "server_int.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "log.h"
#include "paramset.h"

void server_note_unreported(struct server *s, const char *name)
{
    for (size_t i = 0; i < s->n_unreported; i++)
        if (param_name_eq(s->unreported[i], name))
            return;
    char *n = s->n_unreported < SERVER_MAX_UNREPORTED ? lg_strdup(name) : NULL;
    if (!n) {
        log_warn("S-%llu: cannot track parameter \"%s\" (%zu tracked): the next client "
                 "on this server may see its value",
                 (unsigned long long)s->id, name, s->n_unreported);
        return;
    }
    s->unreported[s->n_unreported++] = n;
}

size_t server_unreported_count(const struct server *s)
{
    return s->n_unreported;
}

const char *server_unreported_at(const struct server *s, size_t i)
{
    return s->unreported[i];
}

void server_forget_unreported(struct server *s, size_t i)
{
    lg_free(s->unreported[i]);
    s->unreported[i] = s->unreported[--s->n_unreported];
}

void server_unnote_since(struct server *s, size_t n)
{
    while (s->n_unreported > n)
        server_forget_unreported(s, s->n_unreported - 1);
}

void server_free_unreported(struct server *s)
{
    while (s->n_unreported)
        server_forget_unreported(s, 0);
}

size_t server_param_count(const struct server *s)
{
    return s->n_params;
}

void server_param_at(const struct server *s, size_t i, const char **name, const char **value)
{
    *name = s->params[i].name;
    *value = s->params[i].value;
}

const char *server_param_login_at(const struct server *s, size_t i)
{
    return s->params[i].login_value;
}

const struct paramset *server_startup(const struct server *s)
{
    return s->startup;
}

/* Index of reported parameter @name (case-insensitive, as PostgreSQL's), or n_params. */
static size_t find_param(const struct server *s, const char *name)
{
    size_t i = 0;
    while (i < s->n_params && !param_name_eq(s->params[i].name, name))
        i++;
    return i;
}

const char *server_param_login(const struct server *s, const char *name)
{
    size_t i = find_param(s, name);
    return i < s->n_params ? s->params[i].login_value : NULL;
}

const char *server_param(const struct server *s, const char *name)
{
    size_t i = find_param(s, name);
    return i < s->n_params ? s->params[i].value : NULL;
}

bool server_params_synced(const struct server *s, uint64_t want_hash)
{
    return want_hash && s->synced_hash == want_hash && s->synced_gen == s->param_gen;
}

void server_mark_synced(struct server *s, uint64_t want_hash)
{
    s->synced_hash = want_hash;
    s->synced_gen = s->param_gen;
}

int server_set_param(struct server *s, const char *name, const char *value)
{
    s->param_gen++;
    for (size_t i = 0; i < s->n_params; i++) {
        if (strcmp(s->params[i].name, name) == 0) {
            char *v = lg_strdup(value);
            if (!v)
                return -ENOMEM;
            lg_free(s->params[i].value);
            s->params[i].value = v;
            return 0;
        }
    }
    if (s->n_params == MAX_PARAMS)
        return 0; /* more than PostgreSQL reports: ignore the rest */
    char *n = lg_strdup(name), *v = lg_strdup(value);
    if (!n || !v) {
        lg_free(n);
        lg_free(v);
        return -ENOMEM;
    }
    s->params[s->n_params].name = n;
    s->params[s->n_params].value = v;
    s->n_params++;
    return 0;
}
