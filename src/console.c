/* SPDX-License-Identifier: MIT */
/*
 * console.c: struct admin_source over the live daemon. Visitors walk the pool and
 * client lists synchronously; nothing here keeps pointers past a call.
 */
#include "console.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "cfg.h"

#include "alloc.h"
#include "buf.h"
#include "client.h"
#include "log.h"
#include "pool.h"

static const struct config *g_cfg;
static struct console_hooks g_hooks;
static struct admin_source g_src;
/* DISABLE'd database names (few; a linear list) */
static char **g_disabled;
static size_t g_n_disabled;

static uint64_t wall_now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static const struct config *src_config(void *arg)
{
    (void)arg;
    return g_cfg;
}

static void src_pools(void *arg, stats_pool_visit_fn *fn, void *fn_arg)
{
    (void)arg;
    pool_visit(fn, fn_arg);
}

static void src_servers(void *arg, stats_conn_visit_fn *fn, void *fn_arg)
{
    (void)arg;
    pool_visit_servers(fn, fn_arg, wall_now_us());
}

static void src_clients(void *arg, stats_conn_visit_fn *fn, void *fn_arg)
{
    (void)arg;
    client_visit(fn, fn_arg, wall_now_us());
}

static void src_mem(void *arg, admin_mem_visit_fn *fn, void *fn_arg)
{
    (void)arg;
    size_t pool_sz, n_pools, server_sz, live, cached, chunk;
    pool_mem_usage(&pool_sz, &n_pools, &server_sz);
    buf_storage_stats(&live, &cached, &chunk);
    const struct admin_mem_row rows[] = {
            {"client", client_object_size(), client_count(), 0},
            {"server", server_sz, pool_server_count(), 0},
            {"pool", pool_sz, n_pools, 0},
            {"iobuf", chunk, live, cached},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
        fn(fn_arg, &rows[i]);
}

static int src_shutdown(void *arg, struct lg_err *err)
{
    (void)arg;
    (void)err;
    g_hooks.shutdown();
    return 0;
}

static int no_such_db(const char *db, struct lg_err *err)
{
    memcpy(err->sqlstate, "3D000", 6);
    snprintf(err->msg, sizeof(err->msg), "no pool for database \"%s\"", db);
    return -ENOENT;
}

static int src_pause(void *arg, const char *db, struct lg_err *err)
{
    (void)arg;
    return pool_pause(db, true) || !db ? 0 : no_such_db(db, err);
}

static int src_resume(void *arg, const char *db, struct lg_err *err)
{
    (void)arg;
    return pool_pause(db, false) || !db ? 0 : no_such_db(db, err);
}

static int src_reconnect(void *arg, const char *db, struct lg_err *err)
{
    (void)arg;
    return pool_reconnect(db) || !db ? 0 : no_such_db(db, err);
}

static int src_wait_close(void *arg, const char *db, struct lg_err *err)
{
    (void)arg;
    int left = pool_close_pending(db);
    if (left < 0)
        return db && !cfg_find_db(g_cfg, db) ? no_such_db(db, err) : 0;
    return left ? -EINPROGRESS : 0;
}

static int src_kill(void *arg, const char *db, struct lg_err *err)
{
    (void)arg;
    int n = client_kill_db(db) + pool_kill(db);
    return n || cfg_find_db(g_cfg, db) ? 0 : no_such_db(db, err);
}

bool console_db_disabled(const char *db)
{
    for (size_t i = 0; i < g_n_disabled; i++)
        if (strcmp(g_disabled[i], db) == 0)
            return true;
    return false;
}

static int src_disable(void *arg, const char *db, struct lg_err *err)
{
    (void)arg;
    if (!cfg_find_db(g_cfg, db))
        return no_such_db(db, err);
    if (!console_db_disabled(db)) {
        char **v = lg_realloc(g_disabled, (g_n_disabled + 1) * sizeof(*v));
        char *name = lg_strdup(db);
        if (v)
            g_disabled = v;
        if (!v || !name) {
            lg_free(name);
            memcpy(err->sqlstate, "53200", 6);
            snprintf(err->msg, sizeof(err->msg), "out of memory");
            return -ENOMEM;
        }
        g_disabled[g_n_disabled++] = name;
    }
    log_info("DISABLE %s: new client logins refused", db);
    return 0;
}

static int src_enable(void *arg, const char *db, struct lg_err *err)
{
    (void)arg;
    for (size_t i = 0; i < g_n_disabled; i++) {
        if (strcmp(g_disabled[i], db) == 0) {
            lg_free(g_disabled[i]);
            g_disabled[i] = g_disabled[--g_n_disabled];
            log_info("ENABLE %s: client logins allowed", db);
            return 0;
        }
    }
    return cfg_find_db(g_cfg, db) ? 0 : no_such_db(db, err);
}

static void src_db_status(void *arg, const char *name, struct admin_db_status *out)
{
    (void)arg;
    pool_db_status(name, &out->current_connections, &out->paused);
    out->disabled = console_db_disabled(name);
}

void console_free(void)
{
    for (size_t i = 0; i < g_n_disabled; i++)
        lg_free(g_disabled[i]);
    lg_free(g_disabled);
    g_disabled = NULL;
    g_n_disabled = 0;
}

static int src_reload(void *arg, struct lg_err *err)
{
    (void)arg;
    return g_hooks.reload(err);
}

static int src_set(void *arg, const char *key, const char *value, struct lg_err *err)
{
    (void)arg;
    return g_hooks.set(key, value, err);
}

void console_set_config(const struct config *cfg)
{
    g_cfg = cfg;
}

void console_init(const struct config *cfg, const struct console_hooks *hooks)
{
    g_cfg = cfg;
    g_hooks = *hooks;
    g_src.pause = src_pause;
    g_src.resume = src_resume;
    g_src.reconnect = src_reconnect;
    g_src.kill = src_kill;
    g_src.disable = src_disable;
    g_src.enable = src_enable;
    g_src.wait_close = src_wait_close;
    g_src.db_status = src_db_status;
    g_src.reload = src_reload;
    g_src.set = src_set;
    g_src.arg = NULL;
    g_src.version = "lifeguard 0.1.0";
    g_src.config = src_config;
    g_src.pools = src_pools;
    g_src.servers = src_servers;
    g_src.clients = src_clients;
    g_src.shutdown = src_shutdown;
    g_src.mem = src_mem;
}

const struct admin_source *console_source(void)
{
    return &g_src;
}
