/* SPDX-License-Identifier: MIT */
/*
 * base.h: macros every module may use: attributes, container_of, ARRAY_SIZE,
 * assertions, and the shared error carrier struct lg_err.
 * No functions, no state. Poisons unsafe string functions after the libc headers.
 */
#ifndef LG_BASE_H
#define LG_BASE_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LG_MUSTCHECK                    __attribute__((warn_unused_result))
#define LG_PRINTF(f, a)                 __attribute__((format(printf, f, a)))
#define LG_NORETURN                     __attribute__((noreturn))
#define LG_UNUSED                       __attribute__((unused))
#define LG_NOINLINE                     __attribute__((noinline))
#define LG_LIKELY(x)                    __builtin_expect(!!(x), 1)
#define LG_UNLIKELY(x)                  __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a)                   (sizeof(a) / sizeof((a)[0]))
#define LG_MIN(a, b)                    ((a) < (b) ? (a) : (b))
#define LG_MAX(a, b)                    ((a) > (b) ? (a) : (b))
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* LG_ASSERT aborts in debug and test builds; NDEBUG (release) compiles it out. */
#ifndef NDEBUG
#define LG_ASSERT(x)                                                                               \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #x);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)
/* ALWAYS/NEVER: "impossible" conditions. Abort in debug; in release evaluate to the
 * condition so the caller closes only the connection concerned. */
#define ALWAYS(x) ((x) ? 1 : (LG_ASSERT(0 && #x), 0))
#define NEVER(x)  ((x) ? (LG_ASSERT(0 && #x), 1) : 0)
#else
#define LG_ASSERT(x) ((void)0)
#define ALWAYS(x)    (!!(x))
#define NEVER(x)     (!!(x))
#endif

/* What a client must be told when something fails: SQLSTATE plus message. */
struct lg_err {
    char sqlstate[6];
    char msg[256];
};

#undef strcpy
#undef strcat
#undef sprintf
#undef strtok
#pragma GCC poison strcpy strcat sprintf strtok

#endif
