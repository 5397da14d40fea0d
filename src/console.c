/* SPDX-License-Identifier: MIT */
/*
 * console.c: struct admin_source over the live daemon. Visitors walk the pool and
 * client lists synchronously; nothing here keeps pointers past a call.
 */
#include "console.h"

#include <sys/time.h>

#include "client.h"
#include "pool.h"

static const struct config *g_cfg;
static void (*g_shutdown)(void);
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
    if (g_shutdown)
        g_shutdown();
    return 0;
}

void console_init(const struct config *cfg, void (*shutdown)(void))
{
    g_cfg = cfg;
    g_shutdown = shutdown;
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
