/* SPDX-License-Identifier: MIT */
/*
 * stats.h: what lifeguard counts and how it is shown: per-pool counters and latency
 * histograms (filled by pool/client/server code), snapshot structs that the owners of
 * the live objects fill at render time, Prometheus text exposition (0.0.4) and the
 * /health/db JSON body. Pure: no I/O, no clock, no globals; every number comes in
 * through the arguments. Invariant: counters only grow; a histogram's count equals the
 * sum of its bucket counts.
 */
#ifndef LG_STATS_H
#define LG_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

struct strbuf;

/* SQLSTATE classes counted separately (first two characters of the code); every other
 * class is counted as "other". Index with stats_sqlstate_class(). */
enum stats_err_class {
    STATS_ERR_08, /* connection exception */
    STATS_ERR_22, /* data exception */
    STATS_ERR_23, /* integrity constraint violation */
    STATS_ERR_25, /* invalid transaction state */
    STATS_ERR_28, /* invalid authorization */
    STATS_ERR_3D, /* invalid catalog name (no such database) */
    STATS_ERR_40, /* transaction rollback (serialization failure, deadlock) */
    STATS_ERR_42, /* syntax error or access rule violation */
    STATS_ERR_53, /* insufficient resources (too many connections, pool timeout) */
    STATS_ERR_54, /* program limit exceeded */
    STATS_ERR_55, /* object not in prerequisite state (lock not available) */
    STATS_ERR_57, /* operator intervention (query canceled, admin shutdown) */
    STATS_ERR_58, /* system error */
    STATS_ERR_XX, /* internal error */
    STATS_ERR_OTHER,
    STATS_ERR_N
};

/* Per pool, monotonically increasing. Times are microseconds. */
struct stats_counters {
    uint64_t xact_count;                   /* transactions completed (ReadyForQuery back to 'I') */
    uint64_t query_count;                  /* queries completed (ReadyForQuery seen) */
    uint64_t bytes_in;                     /* bytes received from clients */
    uint64_t bytes_out;                    /* bytes sent to clients */
    uint64_t xact_time_us;                 /* time linked inside transactions */
    uint64_t query_time_us;                /* time between a query and its ReadyForQuery */
    uint64_t wait_time_us;                 /* time clients waited for a server (checkout) */
    uint64_t server_connects;              /* server logins that succeeded */
    uint64_t connect_failures;             /* server connects or logins that failed */
    uint64_t pool_timeouts;                /* waiters that hit pool_timeout */
    uint64_t recycled;                     /* servers closed for server_lifetime / idle timeout */
    uint64_t ping_failures;                /* server_check_query failures */
    uint64_t client_logins;                /* clients that logged in to this pool */
    uint64_t login_failures;               /* client logins to this pool that failed */
    uint64_t errors_by_class[STATS_ERR_N]; /* ErrorResponses relayed or sent, by class */
};

/* Bucket upper bounds, microseconds: 100us .. 60s. Prometheus "le" is bound/1e6 s. */
#define STATS_HIST_BUCKETS 17
extern const uint64_t stats_hist_bounds_us[STATS_HIST_BUCKETS];

struct stats_histogram {
    uint64_t buckets[STATS_HIST_BUCKETS + 1]; /* non-cumulative; last one is > 60 s */
    uint64_t sum_us;
    uint64_t count;
};

/* Count one observation of @us microseconds. */
void stats_histogram_observe(struct stats_histogram *h, uint64_t us);
/* Index into errors_by_class for a 5-character SQLSTATE (NULL or short: OTHER). */
enum stats_err_class stats_sqlstate_class(const char *sqlstate);
/* errors_by_class[stats_sqlstate_class(@sqlstate)]++. */
void stats_count_error(struct stats_counters *c, const char *sqlstate);
/* "08", "22", ... "other": the label value of @cls. */
const char *stats_err_class_name(enum stats_err_class cls);

/* Rates over the last stats_period (SHOW STATS avg_* columns). Counts and bytes are per
 * second; times are microseconds per transaction/query (wait time per transaction,
 * as PgBouncer 1.18 computes it). */
struct stats_averages {
    uint64_t xact_count, query_count, bytes_in, bytes_out;
    uint64_t xact_time_us, query_time_us, wait_time_us;
};
/* @out from the counter deltas @cur - @prev over @period_us (0: all zero). */
void stats_averages_compute(const struct stats_counters *prev, const struct stats_counters *cur,
                            uint64_t period_us, struct stats_averages *out);

/* One pool at render time. Strings and pointers are borrowed: they must stay valid
 * until the render call they were passed to returns (no loop turn passes). */
struct stats_pool_snap {
    const char *database, *user; /* as the clients name them */
    const char *pool_mode;       /* "session", "transaction", "statement" */
    int pool_size, max_overflow, min_pool_size;
    int cl_active, cl_waiting, cl_active_cancel_req, cl_waiting_cancel_req;
    int sv_active, sv_active_cancel, sv_being_canceled, sv_idle, sv_used, sv_tested, sv_login;
    int overflow_in_use;                     /* servers open beyond pool_size */
    uint64_t maxwait_us;                     /* age of the oldest waiter, 0 if none */
    const struct stats_counters *c;          /* required */
    const struct stats_histogram *wait_hist; /* checkout wait; NULL: not shown */
    const struct stats_histogram *xact_hist; /* transaction time; NULL: not shown */
    const struct stats_averages *avg;        /* last stats_period; NULL: zeros */
};
typedef void stats_pool_visit_fn(void *arg, const struct stats_pool_snap *p);

/* One client or server connection (SHOW CLIENTS / SHOW SERVERS, which share PgBouncer's
 * column layout). Strings may be NULL (shown as empty, or NULL where PgBouncer does). */
struct stats_conn_snap {
    const char *user, *database;
    const char *state; /* PgBouncer's words. Clients: active, idle, waiting,
                          active_cancel_req, waiting_cancel_req. Servers: active, idle,
                          used, tested, new, active_cancel, being_canceled */
    const char *addr;  /* peer address text ("unix" for Unix sockets) */
    int port;
    const char *local_addr;
    int local_port;
    uint64_t connect_time_unix_us; /* wall clock; 0 unknown */
    uint64_t request_time_unix_us; /* wall clock of the latest request; 0 unknown */
    uint64_t wait_us;              /* clients: how long it has been waiting now; servers: 0 */
    bool close_needed;             /* servers: will be closed at release (RECONNECT, reload) */
    const void *ptr;               /* identity shown as hex */
    const void *link;              /* linked peer's identity, NULL if none */
    int remote_pid;                /* servers: backend pid; clients: 0 */
    const char *tls;               /* "" without TLS */
    const char *application_name;
    /* SHOW SOCKETS / FDS (PgBouncer's low-level columns) */
    int fd, link_fd;     /* link_fd: the linked peer's socket, -1 if none */
    uint32_t buf_pos[7]; /* recv_pos, pkt_pos, pkt_remain, send_pos, send_remain,
                            pkt_avail, send_avail: stream_buffer_positions() */
    uint32_t cancel_key; /* clients: lifeguard's key; servers: PostgreSQL's */
    const char *client_encoding, *std_strings, *datestyle, *timezone; /* NULL unknown */
};
typedef void stats_conn_visit_fn(void *arg, const struct stats_conn_snap *c);

/* Process-wide numbers for /metrics, filled by the caller (see http_process_snap). */
struct stats_process_snap {
    const char *version;         /* "0.1.0" */
    uint64_t start_time_unix_us; /* wall clock at start */
    uint64_t cpu_us;             /* user + system CPU time */
    uint64_t resident_bytes, virtual_bytes;
    uint64_t open_fds, max_fds;
    int64_t alloc_live;          /* alloc_live_count() */
    uint64_t client_connections; /* every client socket, admin console included */
    uint64_t server_connections;
    uint64_t max_client_conn;
};

/* Render Prometheus text exposition format 0.0.4 for @n pools and @proc (NULL: process
 * metrics left out) into @out. Every family has # HELP and # TYPE, samples of a family
 * are contiguous, labels are escaped. 0, or the strbuf's -ENOSPC/-ENOMEM (@out then
 * holds a truncated document: do not serve it). */
int stats_render_prometheus(struct strbuf *out, const struct stats_pool_snap *pools, size_t n,
                            const struct stats_process_snap *proc) LG_MUSTCHECK;

/* Same, with the pools enumerated by @visit(@visit_arg, fn, fn_arg), which must call fn
 * once per pool, synchronously, with snaps whose pointers stay valid until this call
 * returns. The snaps are copied into a temporary array. 0, -ENOMEM, -ENOSPC. */
int stats_render_prometheus_from(
        struct strbuf *out, void (*visit)(void *visit_arg, stats_pool_visit_fn *fn, void *fn_arg),
        void *visit_arg, const struct stats_process_snap *proc) LG_MUSTCHECK;

/* One pool's readiness check (GET /health/db). */
struct stats_health_result {
    const char *database, *user;
    bool ok;
    uint64_t latency_us; /* checkout + SELECT 1 round trip */
    int servers_idle, servers_active, clients_waiting;
    const char *sqlstate; /* when !ok: the failure's SQLSTATE, or NULL */
    const char *error;    /* when !ok: the reason, or NULL */
};
/* Render {"status":"ok"|"fail","pools":[...]} into @out. Returns the HTTP status to send:
 * 200 if every result is ok, 503 if any failed or @n is 0; or a strbuf error (<0). */
int stats_render_health_json(struct strbuf *out, const struct stats_health_result *r,
                             size_t n) LG_MUSTCHECK;

#endif
