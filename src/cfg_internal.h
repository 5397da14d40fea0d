/* SPDX-License-Identifier: MIT */
/*
 * cfg_internal.h: internal to the cfg module: the parse context that cfg.c's ini parser
 * and cfg_load.c's file, %include and environment handling share, and the few text
 * helpers both use. Not a public API: other modules use cfg.h.
 * Invariant: cfg.c never reads a file itself; %include is followed only through
 * ->include, which only cfg_load() sets.
 */
#ifndef LG_CFG_INTERNAL_H
#define LG_CFG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "base.h"
#include "cfg.h"

enum cfg_section { CFG_SEC_NONE, CFG_SEC_MAIN, CFG_SEC_DATABASES, CFG_SEC_USERS, CFG_SEC_SKIP };

/* Where a [lifeguard] key was last set, for cross-key messages; file NULL: default. */
struct cfg_loc {
    const char *file;
    int line;
};

struct cfg_parse_ctx;
/* Follow "%include @arg" (@arg is modifiable) found at @file:@line, @depth includes deep:
 * read the file and feed it to cfg_ctx_parse_text() at @depth + 1. Errors go to
 * ctx->diag. */
typedef void cfg_include_fn(struct cfg_parse_ctx *ctx, char *arg, const char *file, int line,
                            int depth);

struct cfg_parse_ctx {
    struct config *cfg;
    struct cfg_diag *diag;
    struct cfg_loc *locs; /* one per cfg_keys[] row; PgBouncer rows: already warned */
    char **files;         /* names of %included files, owned; locs point into them */
    size_t n_files;
    enum cfg_section section;
    cfg_include_fn *include; /* set by cfg_load; NULL: %include is warned about and ignored */
    bool oom;
    bool unreadable;  /* cfg_load could not read the file: no follow-on messages */
    bool pgb_reserve; /* PgBouncer's reserve_pool_size / reserve_pool was given */
};

/* Zero @ctx and give it a config holding the defaults and an empty cfg_loc per key.
 * 0, or -ENOMEM (reported in @diag, ->oom set); call cfg_ctx_finish() either way. */
int cfg_ctx_init(struct cfg_parse_ctx *ctx, struct cfg_diag *diag, const char *file) LG_MUSTCHECK;
/* Parse ini @text (@len bytes, need not be NUL-terminated) named @file into ctx->cfg,
 * @depth %includes deep (0 for the top file). Every problem goes to ctx->diag. */
void cfg_ctx_parse_text(struct cfg_parse_ctx *ctx, const char *text, size_t len, const char *file,
                        int depth);
/* Run the cross-key checks and sort the entries, then free everything @ctx owns. Returns
 * the config, or NULL (and frees it) if out of memory, unreadable, or ctx->diag has more
 * errors than @errors_before. */
struct config *cfg_ctx_finish(struct cfg_parse_ctx *ctx, int errors_before, const char *file);
/* Report "out of memory" at @file:@line once and set ctx->oom. */
void cfg_ctx_oom(struct cfg_parse_ctx *ctx, const char *file, int line);

/* The rules between keys, checked once everything is set. Messages name the file:line
 * from @locs (NULL: none known) where the key was set, else @deffile. Warnings (no
 * login possible, min_pool_size too big) only when @warn. */
void cfg_validate(const struct config *c, struct cfg_diag *d, const struct cfg_loc *locs,
                  const char *deffile, bool warn);

/* Text helpers: whitespace is isspace(). */
char *cfg_skip_space(char *p);
void cfg_trim_end(char *s);
/* Lower-case @s into @buf (at most @size - 1 bytes); false if it does not fit. */
bool cfg_lower_copy(const char *s, char *buf, size_t size);

#endif
