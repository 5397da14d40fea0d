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

#include "client.h"
#include "pool.h"

static const struct config *g_cfg;
static struct console_hooks g_hooks;
static struct admin_source g_src;

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

static int src_kill(void *arg, const char *db, struct lg_err *err)
{
    (void)arg;
    int n = client_kill_db(db) + pool_kill(db);
    return n || cfg_find_db(g_cfg, db) ? 0 : no_such_db(db, err);
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
    g_src.reload = src_reload;
    g_src.set = src_set;
    g_src.arg = NULL;
    g_src.version = "lifeguard 0.1.0";
    g_src.config = src_config;
    g_src.pools = src_pools;
    g_src.servers = src_servers;
    g_src.clients = src_clients;
    g_src.shutdown = src_shutdown;
}

const struct admin_source *console_source(void)
{
    return &g_src;
}
