/* SPDX-License-Identifier: MIT */
/*
 * paramset.c: a chained hash set of refcounted parameter lists, keyed by content. The
 * table doubles as the number of sets reaches its size and is freed when the last set
 * goes (no allocation left behind for leak checks).
 */
#include "paramset.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "intern.h"

static struct paramset **buckets;
static size_t n_buckets, n_sets;

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

static uint64_t hash_pairs(const struct pgproto_param *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h = fnv(h, p[i].name);
        h = (h ^ '=') * 0x100000001b3ull;
        h = fnv(h, p[i].value);
        h = (h ^ ';') * 0x100000001b3ull;
    }
    return h ? h : 1;
}

static void free_table(void)
{
    lg_free(buckets);
    buckets = NULL;
    n_buckets = 0;
}

static bool grow(void)
{
    size_t nb = n_buckets ? n_buckets * 2 : 64;
    struct paramset **t = lg_calloc(nb, sizeof(*t));
    if (!t)
        return false;
    for (size_t i = 0; i < n_buckets; i++) {
        struct paramset *s = buckets[i];
        while (s) {
            struct paramset *next = s->next;
            s->next = t[s->hash & (nb - 1)];
            t[s->hash & (nb - 1)] = s;
            s = next;
        }
    }
    lg_free(buckets);
    buckets = t;
    n_buckets = nb;
    return true;
}

static void put_strings(struct pgproto_param *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        intern_put(p[i].name);
        intern_put(p[i].value);
    }
}

const struct paramset *paramset_get(const struct pgproto_param *p, size_t n)
{
    if (n > PARAMSET_MAX)
        return NULL;
    struct pgproto_param q[PARAMSET_MAX];
    for (size_t i = 0; i < n; i++) {
        q[i].name = intern_get(p[i].name);
        q[i].value = intern_get(p[i].value);
        if (!q[i].name || !q[i].value) {
            intern_put(q[i].name);
            intern_put(q[i].value);
            put_strings(q, i);
            return NULL;
        }
    }
    uint64_t h = hash_pairs(q, n);
    if (n_buckets) {
        for (struct paramset *s = buckets[h & (n_buckets - 1)]; s; s = s->next) {
            if (s->hash != h || s->n != n || s->refs == UINT32_MAX)
                continue;
            if (n && memcmp(s->p, q, n * sizeof(q[0])) != 0)
                continue;
            put_strings(q, n); /* the set holds its own references */
            s->refs++;
            return s;
        }
    }
    if (n_sets >= n_buckets && !grow() && !n_buckets) {
        put_strings(q, n);
        return NULL;
    }
    struct paramset *s = lg_malloc(sizeof(*s) + n * sizeof(q[0]));
    if (!s) {
        put_strings(q, n);
        if (n_sets == 0)
            free_table();
        return NULL;
    }
    s->hash = h;
    s->refs = 1;
    s->n = (uint32_t)n;
    if (n)
        memcpy(s->p, q, n * sizeof(q[0]));
    s->next = buckets[h & (n_buckets - 1)];
    buckets[h & (n_buckets - 1)] = s;
    n_sets++;
    return s;
}

void paramset_put(const struct paramset *cs)
{
    if (!cs)
        return;
    struct paramset *s = (struct paramset *)(uintptr_t)cs; /* we own it: cast off const */
    LG_ASSERT(s->refs > 0);
    if (--s->refs)
        return;
    struct paramset **pp = &buckets[s->hash & (n_buckets - 1)];
    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
    put_strings(s->p, s->n);
    lg_free(s);
    if (--n_sets == 0)
        free_table();
}

int paramset_find(const struct paramset *s, const char *name)
{
    for (uint32_t i = 0; s && i < s->n; i++)
        if (strcasecmp(s->p[i].name, name) == 0)
            return (int)i;
    return -1;
}

size_t paramset_count(void)
{
    return n_sets;
}
