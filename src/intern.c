/* SPDX-License-Identifier: MIT */
/*
 * intern.c: a chained hash set of refcounted strings; the table doubles when it gets as
 * full as it has buckets and never shrinks (its size follows the peak number of
 * distinct strings, which the callers bound).
 */
#include "intern.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"

struct entry {
    struct entry *next;
    uint32_t hash;
    uint32_t refs;
    size_t len;
    char s[]; /* NUL-terminated */
};

static struct entry **buckets;
static size_t n_buckets, n_entries;

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static struct entry *entry_of(const char *s)
{
    return (struct entry *)(void *)(s - offsetof(struct entry, s));
}

static void free_table(void)
{
    lg_free(buckets);
    buckets = NULL;
    n_buckets = 0;
}

/* Double the table (or create it); false when out of memory (the old one stays). */
static bool grow(void)
{
    size_t nb = n_buckets ? n_buckets * 2 : 64;
    struct entry **t = lg_calloc(nb, sizeof(*t));
    if (!t)
        return false;
    for (size_t i = 0; i < n_buckets; i++) {
        struct entry *e = buckets[i];
        while (e) {
            struct entry *next = e->next;
            e->next = t[e->hash & (nb - 1)];
            t[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    lg_free(buckets);
    buckets = t;
    n_buckets = nb;
    return true;
}

const char *intern_getn(const char *s, size_t n)
{
    uint32_t h = hash_bytes(s, n);
    if (n_buckets) {
        for (struct entry *e = buckets[h & (n_buckets - 1)]; e; e = e->next) {
            if (e->hash == h && e->len == n && memcmp(e->s, s, n) == 0) {
                if (e->refs == UINT32_MAX)
                    return NULL;
                e->refs++;
                return e->s;
            }
        }
    }
    if (n_entries >= n_buckets && !grow() && !n_buckets)
        return NULL; /* a full table still works, only its chains get longer */
    struct entry *e = lg_malloc(sizeof(*e) + n + 1);
    if (!e) {
        if (n_entries == 0)
            free_table();
        return NULL;
    }
    memcpy(e->s, s, n);
    e->s[n] = '\0';
    e->hash = h;
    e->refs = 1;
    e->len = n;
    e->next = buckets[h & (n_buckets - 1)];
    buckets[h & (n_buckets - 1)] = e;
    n_entries++;
    return e->s;
}

const char *intern_get(const char *s)
{
    return intern_getn(s, strlen(s));
}

void intern_put(const char *s)
{
    if (!s)
        return;
    struct entry *e = entry_of(s);
    LG_ASSERT(e->refs > 0);
    if (--e->refs)
        return;
    struct entry **pp = &buckets[e->hash & (n_buckets - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    n_entries--;
    lg_free(e);
    if (n_entries == 0)
        free_table(); /* nothing held: leave no allocation behind (leak checks) */
}

size_t intern_count(void)
{
    return n_entries;
}
