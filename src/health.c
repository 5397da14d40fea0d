/* SPDX-License-Identifier: MIT */
/*
 * health.c: readiness checks through the pools. One heap object per HTTP request
 * owns its per-pool probes; a probe whose request finished (deadline) detaches and
 * frees itself when its server comes back. Never blocks; every probe has a deadline.
 */
#include "health.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "clock.h"
#include "evloop.h"
#include "log.h"
#include "pool.h"
#include "stats.h"
#include "strbuf.h"

struct health_req;

struct probe {
    struct pool_waiter w;
    struct health_req *hr; /* NULL once the request is answered */
    size_t idx;
    bool in_exec;
};

struct health_req {
    struct http_req req;
    struct evloop_timer timer;
    struct stats_health_result *res;
    struct probe **probes;
    char (*errs)[160];
    char (*states)[6];
    size_t n, pending;
    uint64_t started_us;
};

static uint64_t g_timeout_us;
static struct evloop *g_ev;

void health_init(uint64_t timeout_us)
{
    g_timeout_us = timeout_us ? timeout_us : 5000000;
}

static void finish(struct health_req *hr)
{
    evloop_timer_cancel(g_ev, &hr->timer);
    for (size_t i = 0; i < hr->n; i++) {
        struct probe *pr = hr->probes[i];
        if (!pr)
            continue;
        pr->hr = NULL;
        if (!pr->in_exec) {
            pool_cancel_wait(&pr->w);
            lg_free(pr);
        }
    }
    struct strbuf sb;
    strbuf_init(&sb, 1u << 20);
    int status = stats_render_health_json(&sb, hr->res, hr->n);
    if (status < 0)
        (void)http_respond(hr->req, 500, "text/plain", "out of memory\n", 14);
    else
        (void)http_respond(hr->req, status, "application/json", sb.data, sb.len);
    strbuf_fini(&sb);
    lg_free(hr->res);
    lg_free(hr->probes);
    lg_free(hr->errs);
    lg_free(hr->states);
    lg_free(hr);
}

static void settle(struct health_req *hr, size_t i, bool ok, const char *sqlstate,
                   const char *error)
{
    struct stats_health_result *r = &hr->res[i];
    hr->probes[i] = NULL;
    r->ok = ok;
    r->latency_us = clock_now_us() - hr->started_us;
    struct pool *p = pool_find(r->database, r->user);
    if (p)
        pool_counts(p, &r->servers_idle, &r->servers_active, &r->clients_waiting);
    if (!ok) {
        snprintf(hr->states[i], sizeof(hr->states[i]), "%s", sqlstate ? sqlstate : "XX000");
        snprintf(hr->errs[i], sizeof(hr->errs[i]), "%s", error ? error : "failed");
        r->sqlstate = hr->states[i];
        r->error = hr->errs[i];
    }
    if (--hr->pending == 0)
        finish(hr);
}

static void probe_done(void *arg, struct server *s, const struct pgproto_error *err,
                       const char *value, bool closed)
{
    (void)value;
    struct probe *pr = arg;
    struct health_req *hr = pr->hr;
    size_t i = pr->idx;
    lg_free(pr);
    if (!closed)
        pool_release_unlinked(s);
    if (!hr)
        return;
    if (closed)
        settle(hr, i, false, "08006", "server connection lost during SELECT 1");
    else if (err)
        settle(hr, i, false, err->sqlstate, err->message);
    else
        settle(hr, i, true, NULL, NULL);
}

static void probe_ready(struct pool_waiter *w, struct server *s)
{
    struct probe *pr = container_of(w, struct probe, w);
    if (!pr->hr) {
        pool_release_unlinked(s);
        lg_free(pr);
        return;
    }
    if (pool_exec(s, "SELECT 1", NULL, 0, probe_done, pr) < 0) {
        struct health_req *hr = pr->hr;
        size_t i = pr->idx;
        lg_free(pr);
        pool_release_unlinked(s);
        settle(hr, i, false, "53200", "could not run SELECT 1");
        return;
    }
    pr->in_exec = true;
}

static void probe_fail(struct pool_waiter *w, const struct lg_err *err)
{
    struct probe *pr = container_of(w, struct probe, w);
    struct health_req *hr = pr->hr;
    size_t i = pr->idx;
    lg_free(pr);
    if (hr)
        settle(hr, i, false, err->sqlstate, err->msg);
}

static void deadline(struct evloop *ev, void *arg)
{
    (void)ev;
    struct health_req *hr = arg;
    for (size_t i = 0; i < hr->n; i++) {
        if (hr->probes[i] && !hr->res[i].ok && !hr->res[i].error) {
            snprintf(hr->states[i], sizeof(hr->states[i]), "57014");
            snprintf(hr->errs[i], sizeof(hr->errs[i]), "no answer within health_check_timeout");
            hr->res[i].sqlstate = hr->states[i];
            hr->res[i].error = hr->errs[i];
            hr->res[i].latency_us = clock_now_us() - hr->started_us;
        }
    }
    finish(hr);
}

static bool matches(const struct pool *p, const char *filter)
{
    if (!filter)
        return true;
    const char *slash = strchr(filter, '/');
    if (!slash)
        return strcmp(pool_db(p), filter) == 0;
    size_t dl = (size_t)(slash - filter);
    return strlen(pool_db(p)) == dl && strncmp(pool_db(p), filter, dl) == 0 &&
           strcmp(pool_user(p), slash + 1) == 0;
}

void health_db(void *arg, struct http_req req, const char *pool_filter)
{
    g_ev = arg;
    size_t n = 0;
    for (struct pool *p = pool_next(NULL); p; p = pool_next(p))
        n += matches(p, pool_filter);
    if (n == 0) {
        if (pool_filter) {
            static const char body[] = "{\"status\":\"fail\",\"error\":\"no such pool\"}\n";
            (void)http_respond(req, 404, "application/json", body, sizeof(body) - 1);
        } else {
            /* No client has used any pool yet: nothing to be unready about. */
            static const char body[] = "{\"status\":\"ok\",\"pools\":[]}\n";
            (void)http_respond(req, 200, "application/json", body, sizeof(body) - 1);
        }
        return;
    }
    struct health_req *hr = lg_calloc(1, sizeof(*hr));
    if (hr) {
        hr->res = lg_calloc(n, sizeof(*hr->res));
        hr->probes = lg_calloc(n, sizeof(*hr->probes));
        hr->errs = lg_calloc(n, sizeof(*hr->errs));
        hr->states = lg_calloc(n, sizeof(*hr->states));
    }
    if (!hr || !hr->res || !hr->probes || !hr->errs || !hr->states) {
        if (hr) {
            lg_free(hr->res);
            lg_free(hr->probes);
            lg_free(hr->errs);
            lg_free(hr->states);
        }
        lg_free(hr);
        (void)http_respond(req, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    hr->req = req;
    hr->n = n;
    hr->started_us = clock_now_us();
    evloop_timer_init(&hr->timer, deadline, hr);
    size_t i = 0;
    for (struct pool *p = pool_next(NULL); p; p = pool_next(p)) {
        if (!matches(p, pool_filter))
            continue;
        hr->res[i].database = pool_db(p);
        hr->res[i].user = pool_user(p);
        struct probe *pr = lg_calloc(1, sizeof(*pr));
        if (pr) {
            pr->hr = hr;
            pr->idx = i;
            list_init(&pr->w.node);
            static const struct pool_waiter_ops probe_ops = {.on_ready = probe_ready,
                                                             .on_fail = probe_fail};
            pr->w.ops = &probe_ops;
        }
        if (!pr || pool_checkout(p, &pr->w) < 0) {
            lg_free(pr);
            snprintf(hr->states[i], sizeof(hr->states[i]), "53200");
            snprintf(hr->errs[i], sizeof(hr->errs[i]), "out of memory");
            hr->res[i].sqlstate = hr->states[i];
            hr->res[i].error = hr->errs[i];
        } else {
            hr->probes[i] = pr;
            hr->pending++;
        }
        i++;
    }
    if (hr->pending == 0 || evloop_timer_set(g_ev, &hr->timer, hr->started_us + g_timeout_us) < 0) {
        finish(hr);
        return;
    }
}
