/* SPDX-License-Identifier: MIT */
/*
 * client_admin.c: clients as the admin console sees them: a connection to the virtual
 * "lifeguard"/"pgbouncer" database, once authenticated, is a console session whose
 * simple queries admin.c answers; and SHOW CLIENTS walks every client (client_visit).
 * Not here: parsing or rendering the commands (admin.c, admin_show.c).
 * Invariant: a console session runs one query at a time; the next waits (paused)
 * until the previous answer has all gone out.
 */
#include "client_int.h"

#include <errno.h>
#include <string.h>

#include "admin.h"
#include "alloc.h"
#include "cfg.h"
#include "clock.h"
#include "console.h"
#include "log.h"
#include "stats.h"

void client_admin_welcome(struct client *c)
{
    const struct config *cfg = client_cfg();
    bool admin = cfg_list_contains(cfg->admin_users, c->user) || client_console_self(c);
    if (!admin && !cfg_list_contains(cfg->stats_users, c->user)) {
        client_close(c, "28000",
                     "user \"%s\" is not allowed to use the admin console "
                     "(admin_users, stats_users)",
                     c->user);
        return;
    }
    c->console_admin = admin;
    c->ares = lg_calloc(1, sizeof(*c->ares));
    if (!c->ares) {
        client_close(c, "53200", "out of memory");
        return;
    }
    admin_result_init(c->ares);
    client_auth_done(c);
    struct buf *out = &c->st.out;
    static const char *const params[][2] = {{"server_version", "15.0 (lifeguard 0.1.0)"},
                                            {"server_encoding", "UTF8"},
                                            {"client_encoding", "UTF8"},
                                            {"DateStyle", "ISO, MDY"},
                                            {"integer_datetimes", "on"},
                                            {"standard_conforming_strings", "on"},
                                            {"TimeZone", "UTC"}};
    int rc = pgproto_put_auth(out, PGPROTO_AUTH_OK, NULL, 0);
    for (size_t i = 0; i < ARRAY_SIZE(params) && rc == 0; i++)
        rc = pgproto_put_param_status(out, params[i][0], params[i][1]);
    if (rc == 0)
        rc = pgproto_put_backend_key(out, 0, 0);
    if (rc == 0)
        rc = pgproto_put_ready(out, 'I');
    if (rc < 0) {
        client_close(c, "53200", "out of buffer space");
        return;
    }
    client_set_state(c, CLIENT_ACTIVE);
    stream_flush(&c->st);
}

static void console_pump(struct client *c)
{
    int n;
    while ((n = admin_result_drain(c->ares, &c->st.out)) > 0)
        stream_flush(&c->st);
    if (n < 0) {
        client_close(c, "53200", "out of memory");
        return;
    }
    stream_flush(&c->st);
    if (admin_result_done(c->ares)) {
        if (c->st.paused) {
            c->st.paused = false;
            stream_kick(&c->st);
        }
    } else {
        stream_want_out_space(&c->st);
    }
}

/* ---- WAIT_CLOSE: console sessions whose answer waits for servers to close ---- */

#define WAIT_CLOSE_POLL_US 100000u /* how often they are checked */

struct close_wait {
    struct list_node node;
    struct client *c;
    uint64_t deadline_us; /* 0: none */
};

static struct list_node g_waits = {&g_waits, &g_waits};
static struct evloop_timer g_wait_timer;

static void wait_tick(struct evloop *ev, void *arg)
{
    (void)arg;
    uint64_t now = clock_now_us();
    struct list_node *n, *t;
    list_for_each_safe (n, t, &g_waits) {
        struct close_wait *w = container_of(n, struct close_wait, node);
        struct client *c = w->c;
        if (c->state == CLIENT_CLOSING)
            continue; /* client_admin_forget() at its free */
        const char *db = c->ares->pending_db[0] ? c->ares->pending_db : NULL;
        int left = pool_close_pending(db);
        if (left > 0 && !(w->deadline_us && now >= w->deadline_us))
            continue;
        struct lg_err err;
        if (left > 0) {
            memcpy(err.sqlstate, "57014", 6);
            snprintf(err.msg, sizeof(err.msg),
                     "WAIT_CLOSE: %d server connection(s) still open after query_wait_timeout",
                     left);
        }
        admin_result_complete(c->ares, left > 0 ? &err : NULL);
        list_del(&w->node);
        lg_free(w);
        console_pump(c);
    }
    if (!list_empty(&g_waits) && evloop_timer_set(ev, &g_wait_timer, now + WAIT_CLOSE_POLL_US) < 0)
        log_error("WAIT_CLOSE: cannot arm its timer");
}

/* @c's answer is pending (WAIT_CLOSE): check it every WAIT_CLOSE_POLL_US. */
static int wait_for_close(struct client *c)
{
    struct close_wait *w = lg_calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->c = c;
    uint64_t limit = client_cfg()->pool_timeout_us; /* query_wait_timeout */
    w->deadline_us = limit ? clock_now_us() + limit : 0;
    list_append(&g_waits, &w->node);
    if (!g_wait_timer.fn) /* zero-initialized: not armed, but heap_idx 0 says it is */
        evloop_timer_init(&g_wait_timer, wait_tick, NULL);
    if (!evloop_timer_armed(&g_wait_timer)) {
        if (evloop_timer_set(client_ev(), &g_wait_timer, clock_now_us() + WAIT_CLOSE_POLL_US) < 0)
            return -ENOMEM; /* @w stays listed: freed with the client */
    }
    return 0;
}

void client_admin_forget(struct client *c)
{
    struct list_node *n, *t;
    list_for_each_safe (n, t, &g_waits) {
        struct close_wait *w = container_of(n, struct close_wait, node);
        if (w->c == c) {
            list_del(&w->node);
            lg_free(w);
        }
    }
    if (list_empty(&g_waits) && g_wait_timer.fn && evloop_timer_armed(&g_wait_timer))
        evloop_timer_cancel(client_ev(), &g_wait_timer);
}

void client_admin_on_out_space(struct stream *st)
{
    struct client *c = st->owner;
    if (c->ares && c->state != CLIENT_CLOSING)
        console_pump(c);
}

int client_admin_message(struct client *c, uint8_t type, const uint8_t *p, uint32_t len)
{
    if (type == 'X') {
        client_close(c, NULL, "client disconnected");
        return -1;
    }
    if (!admin_result_done(c->ares))
        return STREAM_PAUSE; /* the previous answer is still going out */
    if (type != 'Q' || len == 0 || p[len - 1] != '\0') {
        client_close(c, "08P01", "the admin console takes simple queries only");
        return -1;
    }
    int rc = admin_handle_query((const char *)p, c->ares, console_source(), c->console_admin);
    if (rc == 1 && wait_for_close(c) < 0)
        rc = -ENOMEM;
    if (rc < 0) {
        client_close(c, "53200", "out of memory");
        return -1;
    }
    console_pump(c);
    return c->state == CLIENT_CLOSING ? -1 : STREAM_CONSUMED;
}

void client_visit(stats_conn_visit_fn *fn, void *arg, uint64_t wall_now_us)
{
    uint64_t now = clock_now_us();
    for (int st = 0; st < CLIENT_NSTATES; st++) {
        if (st == CLIENT_CLOSING)
            continue;
        struct list_node *head = client_list((enum client_state)st), *n;
        list_for_each (n, head) {
            struct client *c = container_of(n, struct client, node);
            struct stats_conn_snap snap = {0};
            char addr[64];
            snprintf(addr, sizeof(addr), "%s", c->peer);
            char *colon = strrchr(addr, ':');
            int port = 0;
            if (colon && strcmp(addr, "unix") != 0) {
                port = atoi(colon + 1);
                *colon = '\0';
            }
            snap.user = c->user;
            snap.database = c->dbname;
            snap.state = st == CLIENT_WAITING || st == CLIENT_LOOKUP ? "waiting" : "active";
            snap.addr = addr;
            snap.port = port;
            snap.connect_time_unix_us = wall_now_us - (now - c->connected_at_us);
            snap.request_time_unix_us = wall_now_us - (now - c->active_at_us);
            snap.wait_us = st == CLIENT_WAITING ? now - c->waiter.enqueued_us : 0;
            snap.ptr = c;
            snap.link = c->server && !pool_parked(c->server) ? c->server : NULL;
            char tls[96];
            snap.tls = stream_tls_describe(&c->st, tls, sizeof(tls));
            int i = paramset_find(c->params, "application_name");
            if (i >= 0)
                snap.application_name = c->params->p[i].value;
            snap.fd = c->st.fd;
            snap.link_fd = c->st.peer ? c->st.peer->fd : -1;
            stream_buffer_positions(&c->st, snap.buf_pos);
            snap.cancel_key = c->cancel_key;
            snap.client_encoding = client_param_value(c, "client_encoding");
            snap.std_strings = client_param_value(c, "standard_conforming_strings");
            snap.datestyle = client_param_value(c, "DateStyle");
            snap.timezone = client_param_value(c, "TimeZone");
            fn(arg, &snap);
        }
    }
}
