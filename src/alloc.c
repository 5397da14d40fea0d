/* SPDX-License-Identifier: MIT */
/*
 * alloc.c: counting malloc wrappers with a failure-injection hook for tests.
 * Not a memory pool: object caches build on top of this.
 */
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#include "base.h"

static int64_t live_count;
static uint64_t total_count;
static uint64_t fail_at; /* total_count value at which failures start; 0 = never */

static int should_fail(void)
{
    total_count++;
    return fail_at != 0 && total_count >= fail_at;
}

void *lg_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = malloc(n ? n : 1);
    if (p)
        live_count++;
    return p;
}

void *lg_calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p)
        live_count++;
    return p;
}

void *lg_realloc(void *p, size_t n)
{
    if (!p)
        return lg_malloc(n);
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void lg_free(void *p)
{
    if (!p)
        return;
    live_count--;
    free(p);
}

char *lg_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = lg_malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *lg_strdup(const char *s)
{
    return lg_strndup(s, strlen(s));
}

int64_t alloc_live_count(void)
{
    return live_count;
}

uint64_t alloc_total_count(void)
{
    return total_count;
}

void alloc_fail_after(uint64_t n)
{
    fail_at = n ? total_count + n : 0;
}

void alloc_fail_reset(void)
{
    fail_at = 0;
}
