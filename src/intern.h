/* SPDX-License-Identifier: MIT */
/*
 * intern.h: shared, reference-counted copies of short immutable strings. Thousands of
 * clients carry the same few parameter names and values ("TimeZone", "UTC", ...); each
 * keeps a reference instead of a copy. Single-threaded, like the rest of lifeguard.
 * Invariant: a string returned by intern_get() stays valid and unchanged until the
 * matching intern_put(); equal strings get the same pointer.
 */
#ifndef LG_INTERN_H
#define LG_INTERN_H

#include <stddef.h>

#include "base.h"

/* A reference to the shared copy of the @n bytes at @s (no NUL needed in them), or NULL
 * when out of memory. */
const char *intern_getn(const char *s, size_t n) LG_MUSTCHECK;
/* Same for the NUL-terminated @s. */
const char *intern_get(const char *s) LG_MUSTCHECK;
/* Drop a reference taken with intern_get(); NULL is ignored. */
void intern_put(const char *s);
/* Distinct strings held (for tests and SHOW MEM-style figures). */
size_t intern_count(void);

#endif
