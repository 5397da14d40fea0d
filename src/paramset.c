/* SPDX-License-Identifier: MIT */
/*
 * paramset.c: a hash table (htab.h) of refcounted parameter lists, keyed by content.
 */
#include "paramset.h"

#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "htab.h"
#include "intern.h"

static struct htab table;

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
    for (struct htab_node *x = htab_chain(&table, h); x; x = x->next) {
        struct paramset *s = (struct paramset *)x;
        if (x->hash != h || s->n != n || s->refs == UINT32_MAX)
            continue;
        if (n && memcmp(s->p, q, n * sizeof(q[0])) != 0)
            continue;
        put_strings(q, n); /* the set holds its own references */
        s->refs++;
        return s;
    }
    struct paramset *s = lg_malloc(sizeof(*s) + n * sizeof(q[0]));
    if (!s) {
        put_strings(q, n);
        return NULL;
    }
    s->node.hash = h;
    s->hash = h;
    s->refs = 1;
    s->n = (uint32_t)n;
    if (n)
        memcpy(s->p, q, n * sizeof(q[0]));
    if (!htab_add(&table, &s->node)) {
        put_strings(s->p, n);
        lg_free(s);
        return NULL;
    }
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
    htab_del(&table, &s->node);
    put_strings(s->p, s->n);
    lg_free(s);
}

int paramset_find(const struct paramset *s, const char *name)
{
    for (uint32_t i = 0; s && i < s->n; i++)
        if (param_name_eq(s->p[i].name, name))
            return (int)i;
    return -1;
}

bool paramset_same(const struct paramset *a, const struct paramset *b)
{
    uint32_t na = a ? a->n : 0, nb = b ? b->n : 0;
    if (a == b || (na == 0 && nb == 0))
        return true;
    if (na != nb || a->hash != b->hash)
        return false;
    /* Interned strings: equal text is the same pointer. */
    return memcmp(a->p, b->p, na * sizeof(a->p[0])) == 0;
}

size_t paramset_count(void)
{
    return table.n;
}
