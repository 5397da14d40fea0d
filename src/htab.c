/* SPDX-License-Identifier: MIT */
/* htab.c: see htab.h. */
#include "htab.h"

#include "alloc.h"
#include "base.h"

static bool grow(struct htab *t)
{
    size_t nb = t->n_buckets ? t->n_buckets * 2 : 64;
    struct htab_node **b = lg_calloc(nb, sizeof(*b));
    if (!b)
        return false;
    for (size_t i = 0; i < t->n_buckets; i++) {
        struct htab_node *e = t->buckets[i];
        while (e) {
            struct htab_node *next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    lg_free(t->buckets);
    t->buckets = b;
    t->n_buckets = nb;
    return true;
}

bool htab_add(struct htab *t, struct htab_node *e)
{
    if (t->n >= t->n_buckets && !grow(t) && !t->n_buckets)
        return false;
    struct htab_node **chain = &t->buckets[e->hash & (t->n_buckets - 1)];
    e->next = *chain;
    *chain = e;
    t->n++;
    return true;
}

void htab_del(struct htab *t, struct htab_node *e)
{
    LG_ASSERT(t->n_buckets && t->n);
    struct htab_node **pp = &t->buckets[e->hash & (t->n_buckets - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    if (--t->n == 0) {
        lg_free(t->buckets);
        t->buckets = NULL;
        t->n_buckets = 0;
    }
}
