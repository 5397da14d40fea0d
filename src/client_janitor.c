/* SPDX-License-Identifier: MIT */
/*
 * client_janitor.c: periodic upkeep of clients (main.c calls client_janitor() about once
 * a second): client_idle_timeout, idle_transaction_timeout, and query_timeout, which
 * cancels the running query rather than closing the client; the buffers of a client
 * quiet for a second go back (client.c keeps them between transactions).
 * Not here: server-side recycling (pool_janitor.c) or the login deadline (a timer).
 * Invariant: idle time runs from the last look at which bytes had moved either way, so
 * each timeout is exact to one janitor period, and applies only in the link status it
 * names ('I'; 'T' or 'E'; a request in flight).
 */
#include "client_int.h"

#include "cfg.h"
#include "clock.h"
#include "log.h"

static void janitor_one(struct client *c, uint64_t now)
{
    const struct config *cfg = client_cfg();
    if (c->st.bytes_in != c->seen_in || c->st.bytes_out != c->seen_out) {
        c->seen_in = c->st.bytes_in;
        c->seen_out = c->st.bytes_out;
        c->active_at_us = now;
    }
    uint64_t idle = now - c->active_at_us;
    if (c->waiter.wait_carry)
        c->waiter.wait_carry--; /* (pool.h: a welcome's wait, for the first request) */
    if (c->state == CLIENT_IDLE && idle >= CLIENT_KEEP_BUFFERS_US)
        stream_keep_buffers(&c->st, false); /* quiet: give back what server_released kept */
    char status =
            c->state == CLIENT_ACTIVE && c->server ? pool_link_status(c->server, &c->st) : 'I';
    if (status != 'Q') {
        c->query_since_us = 0;
        c->query_cancelled = false;
    }
    if (status == 'I' && cfg->client_idle_timeout_us && idle > cfg->client_idle_timeout_us) {
        client_close(c, "57P05", "client_idle_timeout: connection idle for %.0fs",
                     (double)idle / 1e6);
    } else if ((status == 'T' || status == 'E') && cfg->idle_transaction_timeout_us &&
               idle > cfg->idle_transaction_timeout_us) {
        client_close(c, "25P03", "idle_transaction_timeout: idle in transaction for %.0fs",
                     (double)idle / 1e6);
    } else if (status == 'Q' && cfg->query_timeout_us) {
        if (!c->query_since_us) {
            c->query_since_us = now;
        } else if (!c->query_cancelled && now - c->query_since_us > cfg->query_timeout_us) {
            /* PostgreSQL answers the cancel with 57014 on the client's own query. */
            log_warn("C-%llu %s/%s: query_timeout (%.0fs): cancelling the query",
                     (unsigned long long)c->id, c->dbname, c->user,
                     (double)cfg->query_timeout_us / 1e6);
            c->query_cancelled = true;
            (void)pool_send_cancel(c->server, NULL, NULL);
        }
    }
}

void client_janitor(void)
{
    uint64_t now = clock_now_us();
    static const enum client_state states[] = {CLIENT_IDLE, CLIENT_ACTIVE};
    for (size_t k = 0; k < ARRAY_SIZE(states); k++) {
        struct list_node *head = client_list(states[k]), *n, *t;
        list_for_each_safe (n, t, head) {
            janitor_one(container_of(n, struct client, node), now);
        }
    }
}
