/* SPDX-License-Identifier: MIT */
/*
 * server_param.c: parameters PostgreSQL does not report (search_path, work_mem, ...)
 * that lifeguard set on a server with set_config() for one client in transaction or
 * statement pooling (pool_handoff.c): no ParameterStatus tells what the server holds,
 * so the server remembers their names, and a later client that did not ask for them
 * gets them reset to the server's own values, as on a fresh connection.
 * Not here: reported parameters (server.c keeps their values), the SETs (pool_handoff.c).
 */
#include "server_int.h"

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
