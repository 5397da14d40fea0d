/* SPDX-License-Identifier: MIT */
/*
 * cfg_load.c: where a config comes from besides the ini text: reading files
 * (cfg_read_file), following %include, LIFEGUARD_<KEY> environment overrides
 * (cfg_apply_env) and cfg_load(), which joins them around cfg.c's parser.
 * Not here: ini syntax or what keys mean; this is the only cfg file that does I/O
 * or reads the environment.
 * Invariant: a file is read whole and bounded (MAX_FILE_BYTES) before it is parsed.
 */
#include "cfg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "base.h"
#include "cfg_internal.h"
#include "cfg_keys.h"

#define MAX_INCLUDE_DEPTH 8
#define MAX_FILE_BYTES    (64u << 20) /* a config or userlist larger than this is a mistake */
#define ENV_FILE          "environment"

/* ---- %include ------------------------------------------------------------------------- */

/* cfg_load()'s cfg_include_fn: resolve @arg against @file's directory, read, parse. */
static void follow_include(struct cfg_parse_ctx *ctx, char *arg, const char *file, int line,
                           int depth)
{
    if (!*arg) {
        cfg_diag_add(ctx->diag, true, file, line, "%%include: missing file name");
        return;
    }
    if (depth >= MAX_INCLUDE_DEPTH) {
        cfg_diag_add(ctx->diag, true, file, line,
                     "%%include %.200s: nested more than %d deep (a loop?)", arg,
                     MAX_INCLUDE_DEPTH);
        return;
    }
    /* A relative path is relative to the directory of the including file. */
    const char *slash = strrchr(file, '/');
    size_t dir = (arg[0] != '/' && slash) ? (size_t)(slash - file) + 1 : 0;
    size_t n = dir + strlen(arg) + 1;
    char *path = lg_malloc(n);
    char **files = path ? lg_realloc(ctx->files, (ctx->n_files + 1) * sizeof(char *)) : NULL;
    if (!files) {
        lg_free(path);
        cfg_ctx_oom(ctx, file, line);
        return;
    }
    ctx->files = files;
    memcpy(path, file, dir);
    memcpy(path + dir, arg, n - dir);
    ctx->files[ctx->n_files++] = path;

    char *text;
    size_t len;
    int rc = cfg_read_file(path, MAX_FILE_BYTES, &text, &len);
    if (rc == -ENOMEM) {
        cfg_ctx_oom(ctx, file, line);
        return;
    }
    if (rc < 0) {
        cfg_diag_add(ctx->diag, true, file, line, "%%include %.200s: %s", path, strerror(-rc));
        return;
    }
    cfg_ctx_parse_text(ctx, text, len, path, depth + 1);
    lg_free(text);
}

/* ---- environment ---------------------------------------------------------------------- */

/* One override: @var is the variable's name (for messages), @name the key. */
static int env_set(struct config *cfg, struct cfg_loc *locs, const char *var, const char *name,
                   const char *val, struct cfg_diag *d)
{
    char lk[64];
    const struct cfg_key *k =
            cfg_lower_copy(name, lk, sizeof(lk)) ? cfg_key_find(cfg_keys, lk) : NULL;
    if (!k) {
        cfg_diag_add(d, false, ENV_FILE, 0, "%.64s is not a lifeguard setting; ignored", var);
        return 0;
    }
    if (k->type == CFG_T_PGBOUNCER) {
        cfg_diag_add(d, false, ENV_FILE, 0,
                     "%.64s: pgbouncer setting %s is not implemented by lifeguard; ignored", var,
                     k->name);
        return 0;
    }
    k = cfg_key_resolve(cfg_keys, k);
    char *v = lg_strdup(val);
    if (!v)
        return -ENOMEM;
    cfg_trim_end(v);
    int rc = cfg_value_set(cfg, k, var, cfg_skip_space(v), d, ENV_FILE, 0);
    lg_free(v);
    if (rc == 0 && locs)
        locs[k - cfg_keys] = (struct cfg_loc){ENV_FILE, 0};
    return rc;
}

static int apply_env(struct config *cfg, char *const *envp, struct cfg_diag *d,
                     struct cfg_loc *locs)
{
    static const struct {
        const char *var, *key;
    } compat[] = {{"DB_POOL_SIZE", "default_pool_size"}, {"DB_MAX_OVERFLOW", "max_overflow"}};
    static const char prefix[] = "LIFEGUARD_";
    int errors = d->errors;
    bool oom = false;
    if (!envp)
        return 0;
    /* Two passes so that LIFEGUARD_ names win over the DB_ aliases in any order. */
    for (int pass = 0; pass < 2 && !oom; pass++) {
        for (char *const *e = envp; *e && !oom; e++) {
            const char *eq = strchr(*e, '=');
            char var[80];
            if (!eq || (size_t)(eq - *e) >= sizeof(var))
                continue;
            memcpy(var, *e, (size_t)(eq - *e));
            var[eq - *e] = '\0';
            int rc = 0;
            if (pass == 0) {
                for (size_t i = 0; i < ARRAY_SIZE(compat); i++)
                    if (strcmp(var, compat[i].var) == 0)
                        rc = env_set(cfg, locs, var, compat[i].key, eq + 1, d);
            } else if (strncmp(var, prefix, sizeof(prefix) - 1) == 0 && var[sizeof(prefix) - 1]) {
                rc = env_set(cfg, locs, var, var + sizeof(prefix) - 1, eq + 1, d);
            }
            oom = rc == -ENOMEM;
        }
    }
    if (oom)
        return -ENOMEM;
    return d->errors != errors ? -EINVAL : 0;
}

int cfg_apply_env(struct config *cfg, char *const *envp, struct cfg_diag *diag)
{
    int errors = diag->errors;
    int rc = apply_env(cfg, envp, diag, NULL);
    if (rc == -ENOMEM)
        return rc;
    cfg_validate(cfg, diag, NULL, ENV_FILE, false);
    return diag->errors != errors ? -EINVAL : 0;
}

/* ---- files ---------------------------------------------------------------------------- */

struct config *cfg_load(const char *path, struct cfg_diag *diag)
{
    extern char **environ;
    struct cfg_parse_ctx ctx;
    int errors = diag->errors;
    char *text = NULL;
    size_t len;
    if (cfg_ctx_init(&ctx, diag, path) == 0) {
        ctx.include = follow_include;
        int rc = cfg_read_file(path, MAX_FILE_BYTES, &text, &len);
        if (rc == -ENOMEM)
            cfg_ctx_oom(&ctx, path, 0);
        else if (rc < 0)
            cfg_diag_add(diag, true, path, 0, "cannot read: %s", strerror(-rc));
        else
            cfg_ctx_parse_text(&ctx, text, len, path, 0);
        lg_free(text);
        ctx.unreadable = rc < 0;
        if (!ctx.oom && !ctx.unreadable && apply_env(ctx.cfg, environ, diag, ctx.locs) == -ENOMEM)
            cfg_ctx_oom(&ctx, ENV_FILE, 0);
    }
    return cfg_ctx_finish(&ctx, errors, path);
}

int cfg_read_file(const char *path, size_t max_bytes, char **text, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
        goto out;
    }
    if (st.st_size > 0 && (uint64_t)st.st_size > max_bytes) {
        rc = -EFBIG;
        goto out;
    }
    /* st_size is a hint (it is 0 for /proc files and pipes); read to EOF regardless. */
    cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    for (;;) {
        if (n + 1 >= cap || !buf) {
            if (buf)
                cap *= 2;
            char *b = lg_realloc(buf, cap);
            if (!b) {
                rc = -ENOMEM;
                goto out;
            }
            buf = b;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max_bytes) {
            rc = -EFBIG;
            goto out;
        }
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    buf = NULL;
out:
    lg_free(buf);
    close(fd);
    return rc;
}
