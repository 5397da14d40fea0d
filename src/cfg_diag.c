/* SPDX-License-Identifier: MIT */
/*
 * cfg_diag.c: collects configuration diagnostics, one "file:line: error: ..." or
 * "...: warning: ..." line each, so that every problem in a file is reported rather
 * than only the first (cfg.c, cfg_value.c, cfg_load.c and userlist.c all add to it).
 * Not here: deciding what is wrong, or printing the text (the caller does).
 * Invariant: a line that could not be stored still counts as an error (->oom is set).
 */
#include "cfg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

void cfg_diag_init(struct cfg_diag *d)
{
    memset(d, 0, sizeof(*d));
}

void cfg_diag_fini(struct cfg_diag *d)
{
    lg_free(d->text);
    memset(d, 0, sizeof(*d));
}

void cfg_diag_add(struct cfg_diag *d, bool is_error, const char *file, int line, const char *fmt,
                  ...)
{
    char head[300];
    int hn;
    const char *kind = is_error ? "error" : "warning";
    if (!file)
        file = "config";
    if (line > 0)
        hn = snprintf(head, sizeof(head), "%s:%d: %s: ", file, line, kind);
    else
        hn = snprintf(head, sizeof(head), "%s: %s: ", file, kind);
    if (hn < 0)
        hn = 0;
    if ((size_t)hn >= sizeof(head))
        hn = sizeof(head) - 1;

    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int mn = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (mn < 0)
        mn = 0;

    if (is_error)
        d->errors++;
    else
        d->warnings++;
    size_t need = d->len + (size_t)hn + (size_t)mn + 2;
    if (need > d->cap) {
        size_t cap = d->cap ? d->cap : 256;
        while (cap < need)
            cap *= 2;
        char *t = lg_realloc(d->text, cap);
        if (!t) {
            /* The message is lost: make sure nobody mistakes the result for a success. */
            if (!is_error)
                d->errors++;
            d->oom = true;
            va_end(ap2);
            return;
        }
        d->text = t;
        d->cap = cap;
    }
    memcpy(d->text + d->len, head, (size_t)hn);
    d->len += (size_t)hn;
    vsnprintf(d->text + d->len, (size_t)mn + 1, fmt, ap2);
    va_end(ap2);
    d->len += (size_t)mn;
    d->text[d->len++] = '\n';
    d->text[d->len] = '\0';
}
