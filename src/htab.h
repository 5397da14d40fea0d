/* SPDX-License-Identifier: MIT */
/*
 * htab.h: a chained hash table of intrusive nodes, for the interning tables (intern.c,
 * paramset.c). The owner hashes and compares; the table keeps the chains, doubles its
 * bucket array when it holds as many nodes as buckets, and frees it when the last node
 * goes (so an empty table holds no allocation, for leak checks).
 * Invariant: n_buckets is 0 or a power of two; every node is on the chain of hash & mask.
 */
#ifndef LG_HTAB_H
#define LG_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct htab_node {
    struct htab_node *next;
    uint64_t hash;
};

struct htab {
    struct htab_node **buckets;
    size_t n_buckets, n;
};

/* The chain that nodes of @hash are on (NULL: none). */
static inline struct htab_node *htab_chain(const struct htab *t, uint64_t hash)
{
    return t->n_buckets ? t->buckets[hash & (t->n_buckets - 1)] : NULL;
}
/* Add @e (e->hash set). False only when there is no bucket array and none can be made
 * (a full table that cannot grow still takes it: chains get longer). */
bool htab_add(struct htab *t, struct htab_node *e);
/* Remove @e, which must be in @t. */
void htab_del(struct htab *t, struct htab_node *e);

#endif
