/* SPDX-License-Identifier: MIT */
/*
 * paramset.h: shared, immutable lists of (name, value) parameters: what a client wants
 * set on every server it gets. Clients of one application carry the same list ("UTF8",
 * "ISO, MDY", "UTC", the app's name...), so equal lists are one refcounted object, and
 * its hash (which pool.c compares with a server's synced hash) is computed once.
 * Invariant: a set never changes once made; names and values are intern.h references,
 * so two sets are equal exactly when their pointers are pairwise equal.
 */
#ifndef LG_PARAMSET_H
#define LG_PARAMSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "htab.h"
#include "pgproto.h"

#include <strings.h>

/* Parameter names compare without regard to case (PostgreSQL's GUC names). Most compared
 * pairs differ in their first letter, and interned names are often the same pointer: both
 * are answered before strcasecmp. */
static inline bool param_name_eq(const char *a, const char *b)
{
    if (a == b)
        return true;
    if ((a[0] | 0x20) != (b[0] | 0x20)) /* case-folded letters; for other bytes a coarser */
        return false;                   /* test, so only ever a "no" strcasecmp agrees with */
    return strcasecmp(a, b) == 0;
}

#define PARAMSET_MAX 32 /* parameters per set */

struct paramset {
    struct htab_node node; /* first: paramset.c's table (node.hash == hash) */
    uint64_t hash;         /* FNV-1a over "name=value;" ..., never 0 */
    uint32_t refs;
    uint32_t n;
    struct pgproto_param p[]; /* n entries, in the order given */
};

/* A reference to the set equal to the @n (<= PARAMSET_MAX) pairs at @p (copied: they
 * need not outlive the call). NULL when out of memory. @n = 0 gives the empty set. */
const struct paramset *paramset_get(const struct pgproto_param *p, size_t n) LG_MUSTCHECK;
/* Drop a reference; NULL is ignored. */
void paramset_put(const struct paramset *s);
/* Index of @name in @s (ASCII case-insensitive, as PostgreSQL folds GUC names), or -1. */
int paramset_find(const struct paramset *s, const char *name);
/* True if @a and @b hold the same pairs in the same order. NULL is the empty set. Equal
 * hashes are only a hint: the pairs are compared (two equal sets are usually one object,
 * but not always: a set whose reference count saturated gets a twin). */
bool paramset_same(const struct paramset *a, const struct paramset *b);
/* Distinct sets held (tests). */
size_t paramset_count(void);

#endif
