/* SPDX-License-Identifier: MIT */
/*
 * intern.c: a hash table (htab.h) of refcounted strings, keyed by their bytes.
 */
#include "intern.h"

#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "htab.h"

struct entry {
    struct htab_node node; /* first: entries are found through their node */
    uint32_t refs;
    size_t len;
    char s[]; /* NUL-terminated */
};

static struct htab table;

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return h;
}

static struct entry *entry_of(const char *s)
{
    return (struct entry *)(void *)(s - offsetof(struct entry, s));
}

const char *intern_getn(const char *s, size_t n)
{
    uint64_t h = hash_bytes(s, n);
    for (struct htab_node *x = htab_chain(&table, h); x; x = x->next) {
        struct entry *e = (struct entry *)x;
        if (x->hash == h && e->len == n && memcmp(e->s, s, n) == 0) {
            if (e->refs == UINT32_MAX)
                return NULL;
            e->refs++;
            return e->s;
        }
    }
    struct entry *e = lg_malloc(sizeof(*e) + n + 1);
    if (!e)
        return NULL;
    memcpy(e->s, s, n);
    e->s[n] = '\0';
    e->node.hash = h;
    e->refs = 1;
    e->len = n;
    if (!htab_add(&table, &e->node)) {
        lg_free(e);
        return NULL;
    }
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
    htab_del(&table, &e->node);
    lg_free(e);
}

size_t intern_count(void)
{
    return table.n;
}
