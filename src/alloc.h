/* SPDX-License-Identifier: MIT */
/*
 * alloc.h: the one allocator. Every heap allocation in lifeguard goes through
 * these wrappers so /metrics can report bytes and counts and tests can inject
 * failures (alloc_fail_after). They return NULL on failure; callers must cope.
 */
#ifndef LG_ALLOC_H
#define LG_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *lg_malloc(size_t n);
void *lg_calloc(size_t count, size_t size);
void *lg_realloc(void *p, size_t n);
/* Free @p (NULL is fine). */
void lg_free(void *p);
char *lg_strdup(const char *s);
char *lg_strndup(const char *s, size_t n);

/* Live allocations and total allocation calls, for metrics and leak checks. */
int64_t alloc_live_count(void);
uint64_t alloc_total_count(void);

/* Test hook: allocation number @n from now (1 = next) and every later one fails,
 * until alloc_fail_reset(). n = 0 disables. */
void alloc_fail_after(uint64_t n);
void alloc_fail_reset(void);

#endif
