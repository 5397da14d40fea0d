/* SPDX-License-Identifier: MIT */
/*
 * cfg_keys.c: the configuration key tables (one row per key: name, type, field offset,
 * default, range, reload/restart, doc) and the typed value parsers and renderers they
 * drive, plus cfg_show() and cfg_write_doc(), which walk the same rows.
 * No ini syntax here (cfg.c) and no I/O except writing the doc to a caller's FILE.
 * Invariant: a value is only stored after it parsed and passed its range check.
 */
#include "cfg_keys.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <strings.h>

#include "alloc.h"
#include "base.h"

#define SEC            INT64_C(1000000)
#define MAX_TIME_S     INT64_C(31536000) /* one year: any longer timeout is a typo */
#define MAX_POOL       10000
#define MAX_CONN       1000000
#define DEFAULT_AUTH_Q "SELECT usename, passwd FROM pg_shadow WHERE usename=$1"

#define ROW(n, t, f, d, lo, hi, fl, en, doc)                                                       \
    {                                                                                              \
        n, t, offsetof(struct config, f), d, lo, hi, fl, en, doc, NULL                             \
    }
#define STR(n, f, d, fl, doc)         ROW(n, CFG_T_STR, f, d, 0, 0, fl, NULL, doc)
#define LIST(n, f, d, fl, doc)        ROW(n, CFG_T_LIST, f, d, 0, 0, fl, NULL, doc)
#define INT(n, f, d, lo, hi, fl, doc) ROW(n, CFG_T_INT, f, d, lo, hi, fl, NULL, doc)
#define BOOL(n, f, d, fl, doc)        ROW(n, CFG_T_BOOL, f, d, 0, 1, fl, NULL, doc)
#define ENUM(n, f, d, en, fl, doc)    ROW(n, CFG_T_ENUM, f, d, 0, 0, fl, en, doc)
#define SENUM(n, f, d, en, fl, doc)   ROW(n, CFG_T_STRENUM, f, d, 0, 0, fl, en, doc)
#define USEC(n, f, d, fl, doc)        ROW(n, CFG_T_USEC, f, d, 0, MAX_TIME_S *SEC, fl, NULL, doc)
#define ALIAS(n, target)                                                                           \
    {                                                                                              \
        n, CFG_T_ALIAS, 0, NULL, 0, 0, 0, NULL, NULL, target                                       \
    }
#define PGB(n, doc)                                                                                \
    {                                                                                              \
        n, CFG_T_PGBOUNCER, 0, NULL, 0, 0, 0, NULL, doc, NULL                                      \
    }

static const struct cfg_enum pool_modes[] = {
        {"session", POOL_MODE_SESSION, CFG_SUPPORTED, NULL},
        {"transaction", POOL_MODE_TRANSACTION, CFG_SUPPORTED, NULL},
        {"statement", POOL_MODE_STATEMENT, CFG_SUPPORTED, NULL},
        {NULL, 0, CFG_SUPPORTED, NULL},
};

static const struct cfg_enum auth_types[] = {
        {"trust", AUTH_TYPE_TRUST, CFG_SUPPORTED, NULL},
        {"plain", AUTH_TYPE_PLAIN, CFG_SUPPORTED, NULL},
        {"md5", AUTH_TYPE_MD5, CFG_SUPPORTED, NULL},
        {"scram-sha-256", AUTH_TYPE_SCRAM, CFG_SUPPORTED, NULL},
        {"any", -1, CFG_REFUSED, "not supported yet"},
        {"hba", -1, CFG_REFUSED, "not supported yet"},
        {"cert", -1, CFG_REFUSED, "not supported yet"},
        {"pam", -1, CFG_REFUSED, "not supported yet"},
        {"ldap", -1, CFG_REFUSED, "not supported yet"},
        {NULL, 0, CFG_SUPPORTED, NULL},
};

static const struct cfg_enum sslmodes[] = {
        {"disable", 0, CFG_SUPPORTED, NULL},
        {"allow", 1, CFG_DEGRADED, "TLS is not implemented yet; connections will not use TLS"},
        {"prefer", 2, CFG_DEGRADED, "TLS is not implemented yet; connections will not use TLS"},
        {"require", 3, CFG_REFUSED, "not supported yet: TLS is not implemented yet"},
        {"verify-ca", 4, CFG_REFUSED, "not supported yet: TLS is not implemented yet"},
        {"verify-full", 5, CFG_REFUSED, "not supported yet: TLS is not implemented yet"},
        {NULL, 0, CFG_SUPPORTED, NULL},
};

/* Documentation order, grouped like struct config. SHOW CONFIG lists the real rows. */
const struct cfg_key cfg_keys[] = {
        LIST("listen_addr", listen_addr, "127.0.0.1", CFG_RESTART,
             "TCP addresses to listen on, comma-separated; `*` = all, empty = no TCP"),
        INT("listen_port", listen_port, "6432", 1, 65535, CFG_RESTART,
            "TCP port, also names the Unix socket `.s.PGSQL.<port>`"),
        INT("listen_backlog", listen_backlog, "128", 1, 65535, CFG_RESTART, "listen(2) backlog"),
        STR("unix_socket_dir", unix_socket_dir, "/tmp", CFG_RESTART,
            "directory for the Unix socket; empty = no Unix socket"),
        ROW("unix_socket_mode", CFG_T_OCTAL, unix_socket_mode, "0777", 0, 0777, CFG_RESTART, NULL,
            "file mode of the Unix socket (octal)"),
        ENUM("auth_type", auth_type, "md5", auth_types, CFG_RELOAD,
             "client authentication: trust, plain, md5 or scram-sha-256"),
        BOOL("auth_plain_allowed", auth_plain_allowed, "0", CFG_RELOAD,
             "allow `auth_type = plain` (cleartext passwords over the wire)"),
        STR("auth_file", auth_file, NULL, CFG_RELOAD,
            "userlist.txt with `\"user\" \"secret\"` lines"),
        STR("auth_user", auth_user, NULL, CFG_RELOAD,
            "user that runs auth_query for users not in auth_file"),
        STR("auth_query", auth_query, DEFAULT_AUTH_Q, CFG_RELOAD,
            "query returning (user, secret) for $1"),
        STR("auth_dbname", auth_dbname, NULL, CFG_RELOAD,
            "database auth_query runs in; unset = the client's database"),
        LIST("admin_users", admin_users, "", CFG_RELOAD,
             "users allowed to run every admin console command"),
        LIST("stats_users", stats_users, "", CFG_RELOAD,
             "users allowed read-only SHOW commands on the admin console"),
        ENUM("pool_mode", pool_mode, "session", pool_modes, CFG_RELOAD,
             "when a server returns to the pool: session, transaction or statement"),
        INT("default_pool_size", default_pool_size, "20", 0, MAX_POOL, CFG_RELOAD,
            "servers kept per (database, user) pool"),
        INT("min_pool_size", min_pool_size, "0", 0, MAX_POOL, CFG_RELOAD,
            "servers kept open per pool even when idle"),
        INT("max_overflow", max_overflow, "0", 0, MAX_POOL, CFG_RELOAD,
            "extra servers a pool may open under pressure"),
        INT("max_client_conn", max_client_conn, "100", 1, MAX_CONN, CFG_RELOAD,
            "client connections accepted in total"),
        INT("max_db_connections", max_db_connections, "0", 0, MAX_CONN, CFG_RELOAD,
            "servers per database over all users; 0 = unlimited"),
        INT("max_user_connections", max_user_connections, "0", 0, MAX_CONN, CFG_RELOAD,
            "servers per user over all databases; 0 = unlimited"),
        STR("server_reset_query", server_reset_query, "DISCARD ALL", CFG_RELOAD,
            "run when a server returns to the pool in session mode; empty = none"),
        BOOL("server_reset_query_always", server_reset_query_always, "0", CFG_RELOAD,
             "also run server_reset_query in transaction and statement mode"),
        STR("server_check_query", server_check_query, "", CFG_RELOAD,
            "pre-ping query for idle servers; empty = an empty query"),
        USEC("server_check_delay", server_check_delay_us, "30", CFG_RELOAD,
             "seconds a server may sit idle before it is pinged at checkout"),
        LIST("ignore_startup_parameters", ignore_startup_parameters, "", CFG_RELOAD,
             "client startup parameters that are accepted and not forwarded"),
        USEC("pool_timeout", pool_timeout_us, "120", CFG_RELOAD,
             "seconds a client waits for a server before an error; 0 = forever"),
        USEC("server_lifetime", server_lifetime_us, "3600", CFG_RELOAD,
             "seconds after which a server is closed at its next checkin; 0 = never"),
        USEC("server_idle_timeout", server_idle_timeout_us, "600", CFG_RELOAD,
             "seconds after which an idle server is closed; 0 = never"),
        USEC("server_connect_timeout", server_connect_timeout_us, "15", CFG_RELOAD,
             "seconds to connect and log in to PostgreSQL"),
        USEC("server_login_retry_base", server_login_retry_base_us, "1", CFG_RELOAD,
             "first wait after a failed server login; doubles with jitter"),
        USEC("server_login_retry_max", server_login_retry_max_us, "30", CFG_RELOAD,
             "cap of the server login retry backoff"),
        USEC("overflow_idle_timeout", overflow_idle_timeout_us, "5", CFG_RELOAD,
             "seconds an overflow server may sit idle before it is closed"),
        USEC("client_login_timeout", client_login_timeout_us, "60", CFG_RELOAD,
             "seconds a client has to log in; 0 = forever"),
        USEC("client_idle_timeout", client_idle_timeout_us, "0", CFG_RELOAD,
             "seconds after which an idle client is closed; 0 = never"),
        USEC("idle_transaction_timeout", idle_transaction_timeout_us, "0", CFG_RELOAD,
             "seconds a client may stay idle inside a transaction; 0 = forever"),
        USEC("query_timeout", query_timeout_us, "0", CFG_RELOAD,
             "seconds a query may run before it is cancelled; 0 = forever"),
        USEC("shutdown_timeout", shutdown_timeout_us, "0", CFG_RELOAD,
             "seconds SIGINT waits for clients to finish; 0 = forever"),
        INT("pkt_buf", pkt_buf, "4096", 1024, 1048576, CFG_RESTART,
            "bytes of each connection buffer"),
        INT("max_packet_size", max_packet_size, "2147483647", 1024, INT_MAX, CFG_RELOAD,
            "largest protocol message accepted, in bytes"),
        INT("sbuf_loopcnt", sbuf_loopcnt, "5", 0, 1000000, CFG_RELOAD,
            "accepted for PgBouncer compatibility"),
        BOOL("tcp_keepalive", tcp_keepalive, "1", CFG_RELOAD, "enable TCP keepalive"),
        BOOL("tcp_nodelay", tcp_nodelay, "1", CFG_RELOAD, "set TCP_NODELAY on every socket"),
        STR("logfile", logfile, "", CFG_RELOAD, "also append the log to this file"),
        STR("pidfile", pidfile, "", CFG_RESTART, "write the process id to this file"),
        INT("verbose", verbose, "0", 0, 5, CFG_RELOAD, "0 = info, 1 = debug, 2 or more = noise"),
        BOOL("log_connections", log_connections, "1", CFG_RELOAD, "log each client login"),
        BOOL("log_disconnections", log_disconnections, "1", CFG_RELOAD,
             "log each client disconnection with its reason"),
        BOOL("log_pooler_errors", log_pooler_errors, "1", CFG_RELOAD,
             "log the errors lifeguard sends to clients"),
        STR("application_name_add_host", application_name_add_host, "0", CFG_NOOP,
            "accepted for PgBouncer compatibility; no effect"),
        STR("http_listen_addr", http_listen_addr, "127.0.0.1", CFG_RESTART,
            "address of the HTTP listener (/health, /metrics); empty = off"),
        INT("http_listen_port", http_listen_port, "0", 0, 65535, CFG_RESTART,
            "port of the HTTP listener; 0 = off"),
        SENUM("client_tls_sslmode", client_tls_sslmode, "disable", sslmodes, CFG_RELOAD,
              "TLS towards clients; only `disable` is implemented"),
        SENUM("server_tls_sslmode", server_tls_sslmode, "disable", sslmodes, CFG_RELOAD,
              "TLS towards PostgreSQL; only `disable` is implemented"),

        ALIAS("pool_size", "default_pool_size"),
        ALIAS("query_wait_timeout", "pool_timeout"),
        ALIAS("reserve_pool_size", "max_overflow"),
        ALIAS("reserve_pool_timeout", "overflow_idle_timeout"),
        ALIAS("server_login_retry", "server_login_retry_base"),

        PGB("auth_hba_file", "HBA rules (planned with hardening)"),
        PGB("auth_ident_file", "ident maps"),
        PGB("auth_ldap_options", "LDAP authentication"),
        PGB("autodb_idle_timeout", "automatically created databases"),
        PGB("cancel_wait_timeout", "cancel request deadline"),
        PGB("client_tls13_ciphers", "TLS (planned)"),
        PGB("client_tls_ca_file", "TLS (planned)"),
        PGB("client_tls_cert_file", "TLS (planned)"),
        PGB("client_tls_ciphers", "TLS (planned)"),
        PGB("client_tls_dheparams", "TLS (planned)"),
        PGB("client_tls_ecdhcurve", "TLS (planned)"),
        PGB("client_tls_key_file", "TLS (planned)"),
        PGB("client_tls_protocols", "TLS (planned)"),
        PGB("conffile", "path of the config file"),
        PGB("disable_pqexec", "refusing the simple query protocol"),
        PGB("dns_max_ttl", "DNS cache"),
        PGB("dns_nxdomain_ttl", "DNS cache"),
        PGB("dns_zone_check_period", "DNS zone checks"),
        PGB("job_name", "service name"),
        PGB("log_stats", "periodic statistics log line (see /metrics)"),
        PGB("max_db_client_connections", "client limit per database"),
        PGB("max_prepared_statements", "prepared statements in transaction mode (planned)"),
        PGB("max_user_client_connections", "client limit per user"),
        PGB("peer_id", "peering"),
        PGB("query_wait_notify", "notice to waiting clients"),
        PGB("resolv_conf", "DNS resolver"),
        PGB("scram_iterations", "SCRAM secret generation"),
        PGB("server_fast_close", "closing servers during PAUSE"),
        PGB("server_round_robin", "server selection order"),
        PGB("server_tls13_ciphers", "TLS (planned)"),
        PGB("server_tls_ca_file", "TLS (planned)"),
        PGB("server_tls_cert_file", "TLS (planned)"),
        PGB("server_tls_ciphers", "TLS (planned)"),
        PGB("server_tls_key_file", "TLS (planned)"),
        PGB("server_tls_protocols", "TLS (planned)"),
        PGB("service_name", "Windows service name"),
        PGB("so_reuseport", "SO_REUSEPORT"),
        PGB("stats_period", "statistics averaging period (see /metrics)"),
        PGB("suspend_timeout", "online restart"),
        PGB("syslog", "syslog"),
        PGB("syslog_facility", "syslog"),
        PGB("syslog_ident", "syslog"),
        PGB("tcp_defer_accept", "TCP_DEFER_ACCEPT"),
        PGB("tcp_keepcnt", "keepalive tuning"),
        PGB("tcp_keepidle", "keepalive tuning"),
        PGB("tcp_keepintvl", "keepalive tuning"),
        PGB("tcp_socket_buffer", "socket buffer size"),
        PGB("tcp_user_timeout", "TCP_USER_TIMEOUT"),
        PGB("track_extra_parameters", "tracking extra startup parameters"),
        PGB("transaction_timeout", "transaction deadline"),
        PGB("unix_socket_group", "group of the Unix socket"),
        PGB("user", "switching to another Unix user"),
        {NULL, CFG_T_STR, 0, NULL, 0, 0, 0, NULL, NULL, NULL},
};

#undef ROW
#define ROW(n, t, f, d, lo, hi, en, doc)                                                           \
    {                                                                                              \
        n, t, offsetof(struct db_entry, f), d, lo, hi, 0, en, doc, NULL                            \
    }

const struct cfg_key cfg_db_params[] = {
        ROW("dbname", CFG_T_STR, dbname, NULL, 0, 0, NULL,
            "database name on the server; unset: the entry's name (for `*`: the client's)"),
        ROW("host", CFG_T_STR, host, NULL, 0, 0, NULL,
            "host name, address, or Unix socket directory (starts with `/`); unset: localhost"),
        ROW("port", CFG_T_INT, port, "5432", 1, 65535, NULL, "server port"),
        ROW("user", CFG_T_STR, user, NULL, 0, 0, NULL,
            "log in to the server as this user whoever the client is; unset: the client's user"),
        ROW("password", CFG_T_STR, password, NULL, 0, 0, NULL, "password for `user`"),
        ROW("auth_user", CFG_T_STR, auth_user, NULL, 0, 0, NULL, "overrides auth_user"),
        ROW("auth_query", CFG_T_STR, auth_query, NULL, 0, 0, NULL, "overrides auth_query"),
        ROW("auth_dbname", CFG_T_STR, auth_dbname, NULL, 0, 0, NULL, "overrides auth_dbname"),
        ROW("pool_size", CFG_T_INT, pool_size, NULL, 0, MAX_POOL, NULL,
            "overrides default_pool_size"),
        ROW("min_pool_size", CFG_T_INT, min_pool_size, NULL, 0, MAX_POOL, NULL,
            "overrides min_pool_size"),
        ROW("max_overflow", CFG_T_INT, max_overflow, NULL, 0, MAX_POOL, NULL,
            "overrides max_overflow"),
        ROW("max_db_connections", CFG_T_INT, max_db_connections, NULL, 0, MAX_CONN, NULL,
            "overrides max_db_connections"),
        ROW("pool_mode", CFG_T_ENUM, pool_mode, NULL, 0, 0, pool_modes, "overrides pool_mode"),
        ROW("connect_query", CFG_T_STR, connect_query, NULL, 0, 0, NULL,
            "run on every new server connection"),
        ROW("application_name", CFG_T_STR, application_name, NULL, 0, 0, NULL,
            "application_name sent to the server"),
        ALIAS("reserve_pool", "max_overflow"),
        PGB("client_encoding", "startup parameter"),
        PGB("datestyle", "startup parameter"),
        PGB("timezone", "startup parameter"),
        PGB("max_db_client_connections", "client limit per database"),
        PGB("server_lifetime", "per-database server_lifetime"),
        PGB("load_balance_hosts", "several hosts"),
        PGB("target_session_attrs", "primary/standby selection"),
        {NULL, CFG_T_STR, 0, NULL, 0, 0, 0, NULL, NULL, NULL},
};

#undef ROW
#define ROW(n, t, f, d, lo, hi, en, doc)                                                           \
    {                                                                                              \
        n, t, offsetof(struct user_entry, f), d, lo, hi, 0, en, doc, NULL                          \
    }

const struct cfg_key cfg_user_params[] = {
        ROW("pool_mode", CFG_T_ENUM, pool_mode, NULL, 0, 0, pool_modes,
            "pool mode for this user's pools"),
        ROW("pool_size", CFG_T_INT, pool_size, NULL, 0, MAX_POOL, NULL,
            "pool size for this user's pools"),
        ROW("max_user_connections", CFG_T_INT, max_user_connections, NULL, 0, MAX_CONN, NULL,
            "overrides max_user_connections"),
        PGB("client_idle_timeout", "per-user client_idle_timeout"),
        PGB("max_user_client_connections", "client limit per user"),
        {NULL, CFG_T_STR, 0, NULL, 0, 0, 0, NULL, NULL, NULL},
};

size_t cfg_keys_count(void)
{
    return ARRAY_SIZE(cfg_keys) - 1;
}

const struct cfg_key *cfg_key_find(const struct cfg_key *table, const char *name)
{
    for (const struct cfg_key *k = table; k->name; k++)
        if (strcasecmp(k->name, name) == 0)
            return k;
    return NULL;
}

const struct cfg_key *cfg_key_resolve(const struct cfg_key *table, const struct cfg_key *k)
{
    if (k->type != CFG_T_ALIAS)
        return k;
    const struct cfg_key *t = cfg_key_find(table, k->alias_of);
    LG_ASSERT(t && cfg_key_is_real(t));
    return t;
}

bool cfg_key_is_real(const struct cfg_key *k)
{
    return k->type != CFG_T_ALIAS && k->type != CFG_T_PGBOUNCER;
}

/* Levenshtein distance, capped: names longer than 40 bytes are never suggested. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[41];
    if (la > 40 || lb > 40)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) == b[j - 1] ? 0 : 1;
            size_t best = LG_MIN(row[j - 1] + 1, up + 1);
            row[j] = LG_MIN(best, diag + cost);
            diag = up;
        }
    }
    return row[lb];
}

const char *cfg_key_suggest(const struct cfg_key *table, const char *name)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (const struct cfg_key *k = table; k->name; k++) {
        size_t d = edit_distance(name, k->name);
        if (d < best_d) {
            best_d = d;
            best = k->name;
        }
    }
    return best;
}

int cfg_parse_int(const char *s, int64_t *out)
{
    char *end;
    if (!isdigit((unsigned char)*s) && !((*s == '-' || *s == '+') && isdigit((unsigned char)s[1])))
        return -EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *out = v;
    return 0;
}

int cfg_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "yes", "on", "true"};
    static const char *const no[] = {"0", "no", "off", "false"};
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

int cfg_parse_usec(const char *s, uint64_t *out)
{
    static const struct {
        const char *name;
        uint64_t us;
    } units[] = {{"", 1000000},
                 {"s", 1000000},
                 {"us", 1},
                 {"ms", 1000},
                 {"min", 60000000},
                 {"h", UINT64_C(3600000000)},
                 {"d", UINT64_C(86400000000)}};
    uint64_t whole = 0, frac = 0, scale = 1;
    const char *p = s;
    if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
        return -EINVAL;
    for (; isdigit((unsigned char)*p); p++) {
        if (whole > UINT64_C(1000000000000)) /* far above any range; stop before overflow */
            return -EINVAL;
        whole = whole * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++) {
            if (scale < UINT64_C(1000000)) { /* six digits: finer than 1 us is noise */
                frac = frac * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
        }
    }
    while (*p == ' ' || *p == '\t')
        p++;
    for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
        if (strcasecmp(p, units[i].name) != 0)
            continue;
        /* frac < scale <= 1e6 and a unit is at most 8.64e10 us: frac * us fits; the
         * check leaves room for the fraction, which adds less than one unit. */
        if (whole >= UINT64_MAX / units[i].us)
            return -EINVAL;
        *out = whole * units[i].us + frac * units[i].us / scale;
        return 0;
    }
    return -EINVAL;
}

const char *cfg_render_usec(uint64_t us, char *buf, size_t size)
{
    uint64_t frac = us % 1000000;
    if (!frac) {
        snprintf(buf, size, "%" PRIu64, us / 1000000);
        return buf;
    }
    int n = snprintf(buf, size, "%" PRIu64 ".%06" PRIu64, us / 1000000, frac);
    if (n > 0 && (size_t)n < size) {
        while (buf[n - 1] == '0')
            buf[--n] = '\0';
    }
    return buf;
}

static const struct cfg_enum *enum_find(const struct cfg_enum *e, const char *s)
{
    for (; e->name; e++)
        if (strcasecmp(e->name, s) == 0)
            return e;
    return NULL;
}

static const char *enum_name(const struct cfg_enum *e, int v)
{
    for (; e->name; e++)
        if (e->value == v && e->support == CFG_SUPPORTED)
            return e->name;
    return "?";
}

/* "session, transaction, statement": the accepted names, for messages. */
static const char *enum_choices(const struct cfg_enum *e, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (; e->name; e++) {
        if (e->support == CFG_REFUSED)
            continue;
        int w = snprintf(buf + n, size - n, "%s%s", n ? ", " : "", e->name);
        if (w < 0 || (size_t)w >= size - n)
            break;
        n += (size_t)w;
    }
    return buf;
}

static const char *range_text(const struct cfg_key *k, char *buf, size_t size)
{
    char a[32], b[32];
    if (k->type == CFG_T_USEC)
        snprintf(buf, size, "%s..%s seconds", cfg_render_usec((uint64_t)k->min, a, sizeof(a)),
                 cfg_render_usec((uint64_t)k->max, b, sizeof(b)));
    else if (k->type == CFG_T_OCTAL)
        snprintf(buf, size, "%#" PRIo64 "..%#" PRIo64, k->min, k->max);
    else
        snprintf(buf, size, "%" PRId64 "..%" PRId64, k->min, k->max);
    return buf;
}

static int set_string(char **field, const char *val)
{
    char *s = lg_strdup(val);
    if (!s)
        return -ENOMEM;
    lg_free(*field);
    *field = s;
    return 0;
}

int cfg_value_set(void *base, const struct cfg_key *k, const char *shown, const char *val,
                  struct cfg_diag *d, const char *file, int line)
{
    void *field = (char *)base + k->offset;
    char buf[160];
    int64_t v = 0;
    uint64_t us = 0;
    bool b = false;
    const struct cfg_enum *e;

    switch (k->type) {
    case CFG_T_STR:
    case CFG_T_LIST:
        if ((k->flags & CFG_NOOP) && k->def && strcmp(val, k->def) != 0)
            cfg_diag_add(d, false, file, line, "%s = %.64s: accepted but has no effect", shown,
                         val);
        return set_string(field, val);
    case CFG_T_INT:
    case CFG_T_OCTAL:
        if (k->type == CFG_T_INT
                    ? cfg_parse_int(val, &v) < 0
                    : (!*val || strspn(val, "01234567") != strlen(val) || strlen(val) > 8)) {
            cfg_diag_add(d, true, file, line, "%s = %.64s: %s", shown, val,
                         k->type == CFG_T_INT ? "not an integer" : "not an octal mode (e.g. 0777)");
            return -EINVAL;
        }
        if (k->type == CFG_T_OCTAL)
            v = strtoll(val, NULL, 8);
        if (v < k->min || v > k->max) {
            cfg_diag_add(d, true, file, line, "%s = %.64s: out of range (%s)", shown, val,
                         range_text(k, buf, sizeof(buf)));
            return -EINVAL;
        }
        *(int *)field = (int)v;
        return 0;
    case CFG_T_BOOL:
        if (cfg_parse_bool(val, &b) < 0) {
            cfg_diag_add(d, true, file, line,
                         "%s = %.64s: not a boolean (use 0/1, yes/no, on/off, true/false)", shown,
                         val);
            return -EINVAL;
        }
        *(bool *)field = b;
        return 0;
    case CFG_T_USEC:
        if (cfg_parse_usec(val, &us) < 0) {
            cfg_diag_add(d, true, file, line,
                         "%s = %.64s: not a duration in seconds (e.g. 30, 0.5, 250ms)", shown, val);
            return -EINVAL;
        }
        if (us < (uint64_t)k->min || us > (uint64_t)k->max) {
            cfg_diag_add(d, true, file, line, "%s = %.64s: out of range (%s)", shown, val,
                         range_text(k, buf, sizeof(buf)));
            return -EINVAL;
        }
        *(uint64_t *)field = us;
        return 0;
    case CFG_T_ENUM:
    case CFG_T_STRENUM:
        e = enum_find(k->enums, val);
        if (!e) {
            cfg_diag_add(d, true, file, line, "%s = %.64s: must be one of: %s", shown, val,
                         enum_choices(k->enums, buf, sizeof(buf)));
            return -EINVAL;
        }
        if (e->support == CFG_REFUSED) {
            cfg_diag_add(d, true, file, line, "%s = %s: %s", shown, e->name, e->note);
            return -EINVAL;
        }
        if (k->type == CFG_T_STRENUM && set_string(field, e->name) < 0)
            return -ENOMEM;
        if (e->support == CFG_DEGRADED)
            cfg_diag_add(d, false, file, line, "%s = %s: %s", shown, e->name, e->note);
        if (k->type == CFG_T_ENUM)
            *(int *)field = e->value;
        return 0;
    case CFG_T_ALIAS:
    case CFG_T_PGBOUNCER:
        break;
    }
    LG_ASSERT(0 && "cfg_value_set on a row without a field");
    return -EINVAL;
}

const char *cfg_value_render(const void *base, const struct cfg_key *k, char *buf, size_t size)
{
    const void *field = (const char *)base + k->offset;
    const char *s;
    switch (k->type) {
    case CFG_T_STR:
    case CFG_T_LIST:
    case CFG_T_STRENUM:
        s = *(char *const *)field;
        return s ? s : "";
    case CFG_T_INT:
        snprintf(buf, size, "%d", *(const int *)field);
        return buf;
    case CFG_T_OCTAL:
        snprintf(buf, size, "0%o", (unsigned)*(const int *)field);
        return buf;
    case CFG_T_BOOL:
        return *(const bool *)field ? "1" : "0";
    case CFG_T_ENUM:
        return enum_name(k->enums, *(const int *)field);
    case CFG_T_USEC:
        return cfg_render_usec(*(const uint64_t *)field, buf, size);
    case CFG_T_ALIAS:
    case CFG_T_PGBOUNCER:
        break;
    }
    return "";
}

static bool is_string(const struct cfg_key *k)
{
    return k->type == CFG_T_STR || k->type == CFG_T_LIST || k->type == CFG_T_STRENUM;
}

bool cfg_value_equal(const void *a, const void *b, const struct cfg_key *k)
{
    const void *fa = (const char *)a + k->offset, *fb = (const char *)b + k->offset;
    if (is_string(k)) {
        const char *sa = *(char *const *)fa, *sb = *(char *const *)fb;
        return sa == sb || (sa && sb && strcmp(sa, sb) == 0);
    }
    switch (k->type) {
    case CFG_T_BOOL:
        return *(const bool *)fa == *(const bool *)fb;
    case CFG_T_USEC:
        return *(const uint64_t *)fa == *(const uint64_t *)fb;
    default:
        return *(const int *)fa == *(const int *)fb;
    }
}

int cfg_value_copy(void *dst, const void *src, const struct cfg_key *k)
{
    void *fd = (char *)dst + k->offset;
    const void *fs = (const char *)src + k->offset;
    if (is_string(k)) {
        const char *s = *(char *const *)fs;
        char *c = NULL;
        if (s && !(c = lg_strdup(s)))
            return -ENOMEM;
        lg_free(*(char **)fd);
        *(char **)fd = c;
        return 0;
    }
    size_t n = k->type == CFG_T_BOOL   ? sizeof(bool)
               : k->type == CFG_T_USEC ? sizeof(uint64_t)
                                       : sizeof(int);
    memcpy(fd, fs, n);
    return 0;
}

int cfg_table_defaults(void *base, const struct cfg_key *table)
{
    struct cfg_diag d;
    cfg_diag_init(&d);
    int rc = 0;
    for (const struct cfg_key *k = table; k->name && rc == 0; k++) {
        if (!cfg_key_is_real(k))
            continue;
        if (!k->def) {
            if (is_string(k)) {
                lg_free(*(char **)((char *)base + k->offset));
                *(char **)((char *)base + k->offset) = NULL;
            }
            continue;
        }
        rc = cfg_value_set(base, k, k->name, k->def, &d, "defaults", 0);
    }
    /* A default that does not parse is a bug in the table above, not a user error. */
    LG_ASSERT(rc == -ENOMEM || d.errors == 0);
    cfg_diag_fini(&d);
    return rc;
}

int cfg_table_dup_strings(void *dst, const void *src, const struct cfg_key *table)
{
    for (const struct cfg_key *k = table; k->name; k++)
        if (cfg_key_is_real(k) && is_string(k))
            *(char **)((char *)dst + k->offset) = NULL;
    for (const struct cfg_key *k = table; k->name; k++)
        if (cfg_key_is_real(k) && is_string(k) && cfg_value_copy(dst, src, k) < 0)
            return -ENOMEM;
    return 0;
}

void cfg_table_free(void *base, const struct cfg_key *table)
{
    for (const struct cfg_key *k = table; k->name; k++) {
        if (cfg_key_is_real(k) && is_string(k)) {
            char **f = (char **)((char *)base + k->offset);
            lg_free(*f);
            *f = NULL;
        }
    }
}

void cfg_show(const struct config *cfg, cfg_show_fn *fn, void *arg)
{
    char buf[64];
    for (const struct cfg_key *k = cfg_keys; k->name; k++) {
        if (!cfg_key_is_real(k))
            continue;
        fn(arg, k->name, cfg_value_render(cfg, k, buf, sizeof(buf)), k->def ? k->def : "",
           !(k->flags & CFG_RESTART));
    }
}

static void doc_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else
            fputc(*s, out);
    }
}

static void doc_default(FILE *out, const struct cfg_key *k)
{
    if (!k->def)
        fputs("(unset)", out);
    else if (!*k->def)
        fputs("(empty)", out);
    else {
        fputc('`', out);
        doc_cell(out, k->def);
        fputc('`', out);
    }
}

static void doc_params(FILE *out, const struct cfg_key *table, const char *deflt)
{
    fputs("| parameter | default | meaning |\n| --- | --- | --- |\n", out);
    for (const struct cfg_key *k = table; k->name; k++) {
        if (!cfg_key_is_real(k))
            continue;
        fprintf(out, "| `%s` | ", k->name);
        if (k->def)
            doc_default(out, k);
        else if (k->type != CFG_T_STR || strncmp(k->doc, "overrides", 9) == 0)
            fputs(deflt, out); /* falls back to the [lifeguard] setting */
        else
            fputs("(unset)", out);
        fputs(" | ", out);
        doc_cell(out, k->doc);
        fputs(" |\n", out);
    }
    for (const struct cfg_key *k = table; k->name; k++)
        if (k->type == CFG_T_ALIAS)
            fprintf(out, "\n`%s` is accepted as another name for `%s`.\n", k->name, k->alias_of);
    fputs("\nPgBouncer parameters accepted with a warning and ignored:", out);
    const char *sep = " ";
    for (const struct cfg_key *k = table; k->name; k++) {
        if (k->type == CFG_T_PGBOUNCER) {
            fprintf(out, "%s`%s`", sep, k->name);
            sep = ", ";
        }
    }
    fputs(". Any other parameter is an error.\n", out);
}

void cfg_write_doc(FILE *out)
{
    fputs("# lifeguard configuration reference\n\n"
          "<!-- Generated from src/cfg_keys.c by `make docs`; edit the table there. -->\n\n"
          "lifeguard reads a PgBouncer-style ini file: `[lifeguard]` (or `[pgbouncer]`, so an\n"
          "existing pgbouncer.ini works unchanged) holds the settings below, `[databases]` maps\n"
          "the database names clients use to servers, and `[users]` holds per-user overrides.\n"
          "`[peers]` is accepted with a warning and ignored. Lines starting with `;` or `#`\n"
          "are comments, key names are case-insensitive, and `%include path` reads another\n"
          "file (relative to the including one) in place. An unknown setting is an error\n"
          "with its file:line; a PgBouncer setting lifeguard does not implement is a warning.\n"
          "Every error in the file is reported, not only the first.\n\n"
          "Times are seconds and may have a fraction (`0.5`) or a unit (`250ms`, `2min`, `1h`);\n"
          "booleans accept `0/1`, `yes/no`, `on/off`, `true/false`.\n\n"
          "Every setting can be overridden from the environment as\n"
          "`LIFEGUARD_<UPPER_CASE_NAME>=value` (aliases too); `DB_POOL_SIZE` and\n"
          "`DB_MAX_OVERFLOW` set `default_pool_size` and `max_overflow`. The environment wins\n"
          "over the file, and `LIFEGUARD_` names win over the `DB_` ones.\n\n"
          "`restart` settings are read once at start: RELOAD keeps their old value and warns.\n\n"
          "## [lifeguard] settings\n\n"
          "| key | default | change | meaning |\n| --- | --- | --- | --- |\n",
          out);
    for (const struct cfg_key *k = cfg_keys; k->name; k++) {
        if (!cfg_key_is_real(k))
            continue;
        fprintf(out, "| `%s` | ", k->name);
        doc_default(out, k);
        fprintf(out, " | %s | ", k->flags & CFG_RESTART ? "restart" : "reload");
        doc_cell(out, k->doc);
        if (k->type == CFG_T_INT)
            fprintf(out, " (%" PRId64 "..%" PRId64 ")", k->min, k->max);
        fputs(" |\n", out);
    }
    fputs("\n## Aliases\n\n| alias | setting |\n| --- | --- |\n", out);
    for (const struct cfg_key *k = cfg_keys; k->name; k++)
        if (k->type == CFG_T_ALIAS)
            fprintf(out, "| `%s` | `%s` |\n", k->name, k->alias_of);
    fputs("\n## [databases]\n\n"
          "`name = key=value ...` in libpq style; a value may be single-quoted, with `''` for\n"
          "a quote inside. The entry named `*` is used for any database not listed.\n"
          "`lifeguard` and `pgbouncer` are reserved for the admin console.\n\n",
          out);
    doc_params(out, cfg_db_params, "global");
    fputs("\n## [users]\n\n`name = key=value ...`, same syntax as [databases].\n\n", out);
    doc_params(out, cfg_user_params, "global");
    fputs("\n## PgBouncer settings lifeguard does not implement\n\n"
          "These are accepted in [lifeguard]/[pgbouncer] with a warning and ignored.\n\n"
          "| key | what it does in PgBouncer |\n| --- | --- |\n",
          out);
    for (const struct cfg_key *k = cfg_keys; k->name; k++)
        if (k->type == CFG_T_PGBOUNCER)
            fprintf(out, "| `%s` | %s |\n", k->name, k->doc);
}
