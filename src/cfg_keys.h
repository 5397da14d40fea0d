/* SPDX-License-Identifier: MIT */
/*
 * cfg_keys.h: internal to the cfg module (its cfg_*.c files, and tests): the key tables
 * (cfg_keys.c) that drive parsing, defaults, range checks, SHOW CONFIG and the generated
 * reference, plus the typed values they describe (cfg_value.c). Not a public API: other
 * modules use cfg.h.
 * Invariant: every configurable field of struct config has exactly one canonical row in
 * cfg_keys[]; aliases and PgBouncer-only names are rows of their own kinds that never
 * touch a field.
 */
#ifndef LG_CFG_KEYS_H
#define LG_CFG_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

enum cfg_type {
    CFG_T_STR,       /* char *, raw text to the end of the line */
    CFG_T_LIST,      /* char *, comma-separated list (cfg_list_contains) */
    CFG_T_INT,       /* int, decimal, in [min, max] */
    CFG_T_BOOL,      /* bool: 0/1, yes/no, on/off, true/false */
    CFG_T_ENUM,      /* int, one of ->enums */
    CFG_T_STRENUM,   /* char *, one of ->enums, stored as its canonical name */
    CFG_T_USEC,      /* uint64_t microseconds; the ini gives seconds ("0.5", "250ms") */
    CFG_T_OCTAL,     /* int, octal file mode */
    CFG_T_ALIAS,     /* another name for the row named ->alias_of */
    CFG_T_PGBOUNCER, /* a PgBouncer setting lifeguard does not implement: warned, ignored */
};

/* Row flags. */
#define CFG_RELOAD  0u /* RELOAD and SET can change it */
#define CFG_RESTART 1u /* only read at start; RELOAD keeps the old value and warns */
#define CFG_NOOP    2u /* accepted for compatibility, no effect: warn unless the default */

enum cfg_support { CFG_SUPPORTED = 0, CFG_DEGRADED, CFG_REFUSED };

struct cfg_enum {
    const char *name;
    int value;
    enum cfg_support support; /* DEGRADED: accepted with a warning; REFUSED: an error */
    const char *note;         /* the warning or error text for DEGRADED/REFUSED */
};

struct cfg_key {
    const char *name; /* lower case; lookups are case-insensitive */
    enum cfg_type type;
    size_t offset;                /* offsetof() into the struct the table describes */
    const char *def;              /* default as ini text; NULL: unset (NULL string / "global") */
    int64_t min, max;             /* INT, OCTAL: the value; USEC: microseconds */
    unsigned flags;               /* CFG_RESTART, CFG_NOOP */
    const struct cfg_enum *enums; /* ENUM, STRENUM; NULL-name terminated */
    const char *doc;              /* one line for docs/config.md */
    const char *alias_of;         /* ALIAS rows only */
};

/* The [lifeguard] keys; the [databases] and [users] connection-string parameters (their
 * offsets are into struct db_entry / struct user_entry, and their ->def is only shown
 * in the docs: unset numbers are -1 and unset strings NULL). NULL-name terminated. */
extern const struct cfg_key cfg_keys[];
extern const struct cfg_key cfg_db_params[];
extern const struct cfg_key cfg_user_params[];
/* Rows in cfg_keys[], terminator excluded. */
size_t cfg_keys_count(void);

/* The row named @name (case-insensitive) in @table, aliases as themselves; NULL if none. */
const struct cfg_key *cfg_key_find(const struct cfg_key *table, const char *name);
/* The row an ALIAS row stands for (same table); any other row is returned unchanged. */
const struct cfg_key *cfg_key_resolve(const struct cfg_key *table, const struct cfg_key *k);
/* True for rows that own a field (not ALIAS or PGBOUNCER). */
bool cfg_key_is_real(const struct cfg_key *k);
/* The closest key name in @table to @name (edit distance <= 2), for "did you mean", or NULL. */
const char *cfg_key_suggest(const struct cfg_key *table, const char *name);

/* Parse @val into the field of @base that @k (a real row) describes. Messages go to @d
 * as "@file:@line: @shown = @val: ...". 0 (maybe with a warning), -EINVAL (reported,
 * field untouched), -ENOMEM (not reported, field untouched). */
int cfg_value_set(void *base, const struct cfg_key *k, const char *shown, const char *val,
                  struct cfg_diag *d, const char *file, int line) LG_MUSTCHECK;
/* Render the field as ini text into @buf (or return a constant / the stored string). */
const char *cfg_value_render(const void *base, const struct cfg_key *k, char *buf, size_t size);
/* Whether the field is equal in @a and @b. */
bool cfg_value_equal(const void *a, const void *b, const struct cfg_key *k);
/* Copy the field from @src to @dst (strings duplicated). 0 or -ENOMEM (@dst untouched). */
int cfg_value_copy(void *dst, const void *src, const struct cfg_key *k) LG_MUSTCHECK;

/* Set every real row of @table in @base to its default. 0 or -ENOMEM. */
int cfg_table_defaults(void *base, const struct cfg_key *table) LG_MUSTCHECK;
/* After a bytewise copy of a struct, make its strings its own: NULL them all, then
 * duplicate from @src. 0 or -ENOMEM (the NULLed/duplicated strings are safe to free). */
int cfg_table_dup_strings(void *dst, const void *src, const struct cfg_key *table) LG_MUSTCHECK;
/* Free every string field of @table in @base and NULL it. */
void cfg_table_free(void *base, const struct cfg_key *table);

/* The typed parsers behind cfg_value_set(). 0 or -EINVAL. */
int cfg_parse_int(const char *s, int64_t *out) LG_MUSTCHECK;
int cfg_parse_bool(const char *s, bool *out) LG_MUSTCHECK;
/* Seconds with an optional fraction and unit (us, ms, s, min, h, d), into microseconds. */
int cfg_parse_usec(const char *s, uint64_t *out) LG_MUSTCHECK;
/* Render @us as seconds ("120", "0.5", "0.000001"). */
const char *cfg_render_usec(uint64_t us, char *buf, size_t size);

#endif
