/* SPDX-License-Identifier: MIT */
/*
 * cfg_keys.c: the configuration key tables, one row per key (name, type, field offset,
 * default, range, reload/restart, doc) for [lifeguard], [databases] and [users], and
 * the lookups over them: by name, through aliases, and "did you mean" suggestions.
 * Not here: turning text into values (cfg_value.c), ini syntax (cfg.c), rendering the
 * rows for SHOW CONFIG or docs/config.md (cfg_doc.c). Pure data and lookups, no I/O.
 * Invariant: every default in a row parses and passes that row's own range check.
 */
#include "cfg_keys.h"
#include "log.h"

#include <ctype.h>
#include <limits.h>
#include <strings.h>

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

static const struct cfg_enum syslog_facilities[] = {
        {"auth", LOG_FAC_AUTH, CFG_SUPPORTED, NULL},
        {"authpriv", LOG_FAC_AUTHPRIV, CFG_SUPPORTED, NULL},
        {"daemon", LOG_FAC_DAEMON, CFG_SUPPORTED, NULL},
        {"user", LOG_FAC_USER, CFG_SUPPORTED, NULL},
        {"local0", LOG_FAC_LOCAL0, CFG_SUPPORTED, NULL},
        {"local1", LOG_FAC_LOCAL1, CFG_SUPPORTED, NULL},
        {"local2", LOG_FAC_LOCAL2, CFG_SUPPORTED, NULL},
        {"local3", LOG_FAC_LOCAL3, CFG_SUPPORTED, NULL},
        {"local4", LOG_FAC_LOCAL4, CFG_SUPPORTED, NULL},
        {"local5", LOG_FAC_LOCAL5, CFG_SUPPORTED, NULL},
        {"local6", LOG_FAC_LOCAL6, CFG_SUPPORTED, NULL},
        {"local7", LOG_FAC_LOCAL7, CFG_SUPPORTED, NULL},
        {NULL, 0, CFG_SUPPORTED, NULL},
};

static const struct cfg_enum log_formats[] = {
        {"logfmt", LOG_FORMAT_LOGFMT, CFG_SUPPORTED, NULL},
        {"json", LOG_FORMAT_JSON, CFG_SUPPORTED, NULL},
        {"text", LOG_FORMAT_TEXT, CFG_SUPPORTED, NULL},
        {NULL, 0, CFG_SUPPORTED, NULL},
};

static const struct cfg_enum auth_types[] = {
        {"trust", AUTH_TYPE_TRUST, CFG_SUPPORTED, NULL},
        {"plain", AUTH_TYPE_PLAIN, CFG_SUPPORTED, NULL},
        {"md5", AUTH_TYPE_MD5, CFG_SUPPORTED, NULL},
        {"scram-sha-256", AUTH_TYPE_SCRAM, CFG_SUPPORTED, NULL},
        {"any", AUTH_TYPE_ANY, CFG_SUPPORTED, NULL},
        {"hba", AUTH_TYPE_HBA, CFG_SUPPORTED, NULL},
        {"cert", AUTH_TYPE_CERT, CFG_SUPPORTED, NULL},
        {"pam", -1, CFG_REFUSED, "not supported yet"},
        {"ldap", -1, CFG_REFUSED, "not supported yet"},
        {NULL, 0, CFG_SUPPORTED, NULL},
};

static const struct cfg_enum sslmodes[] = {
        {"disable", 0, CFG_SUPPORTED, NULL},   {"allow", 1, CFG_SUPPORTED, NULL},
        {"prefer", 2, CFG_SUPPORTED, NULL},    {"require", 3, CFG_SUPPORTED, NULL},
        {"verify-ca", 4, CFG_SUPPORTED, NULL}, {"verify-full", 5, CFG_SUPPORTED, NULL},
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
        STR("unix_socket_group", unix_socket_group, "", CFG_RESTART,
            "group (name or number) of the Unix socket file, so that with unix_socket_mode "
            "(e.g. 0770) only that group's members may connect; lifeguard must run as a "
            "member of it (or as root); empty = the group lifeguard runs as"),
        BOOL("so_reuseport", so_reuseport, "0", CFG_RESTART,
             "set SO_REUSEPORT on the TCP listeners (the PostgreSQL and the HTTP ones), so "
             "several lifeguard processes of the same user listen on one port and the kernel "
             "spreads new connections over them (more cores, or a rolling restart: start the "
             "new process, then SIGINT the old one); each needs its own unix_socket_dir (or "
             "none) and pidfile. 0 = a second process on the port refuses to start"),
        INT("tcp_defer_accept", tcp_defer_accept, "1", 0, INT_MAX, CFG_RELOAD,
            "nonzero: set TCP_DEFER_ACCEPT on the TCP listeners, so a connection is accepted "
            "only once its first bytes arrive (a silent one about a second later); a boolean "
            "as in PgBouncer, where older ini files gave seconds (45): any nonzero value "
            "turns it on. RELOAD applies it to the open listeners"),
        ENUM("auth_type", auth_type, "md5", auth_types, CFG_RELOAD,
             "client authentication: trust (no password, but as in PgBouncer the user must be "
             "in auth_file or, with auth_user, found by auth_query: anyone else is refused, "
             "28000), plain, md5, scram-sha-256, hba, cert, or any (no "
             "authentication and the user name ignored: each database logs in as its user=, "
             "and a database without one refuses clients; admin_users and stats_users reach "
             "the admin console without a password)"),
        BOOL("auth_plain_allowed", auth_plain_allowed, "0", CFG_RELOAD,
             "allow `auth_type = plain` (cleartext passwords over the wire)"),
        STR("auth_file", auth_file, NULL, CFG_RELOAD,
            "userlist.txt with `\"user\" \"secret\"` lines"),
        STR("auth_hba_file", auth_hba_file, NULL, CFG_RESTART,
            "pg_hba.conf-style rules used when auth_type = hba"),
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
        BOOL("server_affinity", server_affinity, "1", CFG_RELOAD,
             "transaction and statement mode: the server a client's transaction ends on waits "
             "(parked) for that client's next transaction while no other client needs it; any "
             "client that finds no idle server takes it at once, and it returns to the idle "
             "servers after a second. Once a client had to take another's parked server (more "
             "clients at work than servers), the pool parks nothing for a second. Saves the "
             "release and checkout per transaction and keeps a client's prepared statements on "
             "one server. 0 = every server returns to the pool at once"),
        INT("max_overflow", max_overflow, "0", 0, MAX_POOL, CFG_RELOAD,
            "extra servers a pool may open under pressure"),
        INT("max_client_conn", max_client_conn, "100", 1, MAX_CONN, CFG_RELOAD,
            "client connections accepted in total"),
        INT("max_db_connections", max_db_connections, "0", 0, MAX_CONN, CFG_RELOAD,
            "servers per database over all users; 0 = unlimited"),
        INT("max_user_connections", max_user_connections, "0", 0, MAX_CONN, CFG_RELOAD,
            "servers per user over all databases; 0 = unlimited"),
        INT("max_prepared_statements", max_prepared_statements, "200", 0, 100000, CFG_RELOAD,
            "named prepared statements kept per server in transaction mode (least recently "
            "used closed first); 0 = pass names through untranslated"),
        LIST("track_extra_parameters", track_extra_parameters, "", CFG_RELOAD,
             "more reported (GUC_REPORT) parameters to carry from server to server per client "
             "in transaction mode, beyond client_encoding, DateStyle, IntervalStyle, TimeZone, "
             "standard_conforming_strings, application_name, default_transaction_read_only"),
        STR("server_reset_query", server_reset_query, "DISCARD ALL", CFG_RELOAD,
            "run when a server returns to the pool in session mode; empty = none"),
        BOOL("disable_pqexec", disable_pqexec, "0", CFG_RELOAD,
             "refuse the simple query protocol (a Query message closes the client with 08P01 "
             "\"PQexec disallowed\"), as PgBouncer: one statement per message, no injected "
             "\"; ...\"; the admin console keeps it"),
        BOOL("server_fast_close", server_fast_close, "0", CFG_RELOAD,
             "session mode: a server that RECONNECT or a changed server address marks for "
             "closing is closed (and its client with it) as soon as it is between "
             "transactions, instead of when the client leaves"),
        BOOL("server_reset_query_always", server_reset_query_always, "0", CFG_RELOAD,
             "also run server_reset_query in transaction and statement mode"),
        BOOL("pin_temp_tables", pin_temp_tables, "1", CFG_RELOAD,
             "transaction and statement mode: a client that creates a temporary table, view or "
             "sequence (CREATE TEMP ..., or in schema pg_temp; not ON COMMIT DROP) keeps its "
             "server until it disconnects or runs DISCARD TEMP / DISCARD ALL, and DISCARD TEMP "
             "runs before that server serves another client. 0 = PgBouncer's behaviour: the "
             "objects stay on the server for its next client"),
        BOOL("pin_role_changes", pin_role_changes, "1", CFG_RELOAD,
             "transaction and statement mode: a client that changes its role (SET [SESSION] "
             "ROLE, SET [SESSION] SESSION AUTHORIZATION, or a session_authorization reported "
             "changed; not SET LOCAL) keeps its server until it disconnects or undoes the "
             "change (RESET ROLE / RESET SESSION AUTHORIZATION / DISCARD ALL alone, outside a "
             "transaction), and SET SESSION AUTHORIZATION DEFAULT; RESET ROLE runs before that "
             "server serves another client. 0 = PgBouncer's behaviour: the next client on that "
             "server runs with the changed role"),
        BOOL("session_startup_parameters", session_startup_parameters, "1", CFG_RELOAD,
             "session mode: open each server with its client's startup parameters (DateStyle, "
             "TimeZone, options, ...; not application_name) so RESET returns to them as on a "
             "direct connection; a client only gets a server opened with the same ones, and an "
             "idle server opened with others is closed to make room when the pool is full. 0 = "
             "any server, parameters applied with set_config (RESET gives the server default)"),
        STR("server_check_query", server_check_query, "", CFG_RELOAD,
            "pre-ping query for idle servers; empty = an empty query"),
        USEC("server_check_delay", server_check_delay_us, "30", CFG_RELOAD,
             "seconds a server may sit idle before it is pinged at checkout"),
        LIST("ignore_startup_parameters", ignore_startup_parameters, "", CFG_RELOAD,
             "client startup parameters that are accepted and not forwarded"),
        USEC("pool_timeout", pool_timeout_us, "120", CFG_RELOAD,
             "seconds a client waits for a server before an error; 0 = forever. A client "
             "that waited to log in counts that wait in its first query's"),
        USEC("server_lifetime", server_lifetime_us, "3600", CFG_RELOAD,
             "seconds after which a server is closed at its next checkin; 0 = never"),
        USEC("server_idle_timeout", server_idle_timeout_us, "600", CFG_RELOAD,
             "seconds after which an idle server is closed; 0 = never"),
        USEC("server_connect_timeout", server_connect_timeout_us, "15", CFG_RELOAD,
             "seconds to connect and log in to PostgreSQL"),
        INT("server_connect_parallel", server_connect_parallel, "0", 0, MAX_POOL, CFG_RELOAD,
            "servers a pool may be connecting and logging in at once; 0 = one per waiting "
            "client. 1 is PgBouncer's way: a burst of clients is served by the servers that "
            "free up while one logs in, and the pool grows one server at a time while clients "
            "still wait"),
        USEC("server_login_retry_base", server_login_retry_base_us, "1", CFG_RELOAD,
             "first wait after a failed server login; doubles with jitter"),
        USEC("server_login_retry_max", server_login_retry_max_us, "30", CFG_RELOAD,
             "cap of the server login retry backoff"),
        USEC("overflow_idle_timeout", overflow_idle_timeout_us, "5", CFG_RELOAD,
             "seconds an overflow server may sit idle before it is closed"),
        USEC("overflow_delay", overflow_delay_us, "0", CFG_RELOAD,
             "seconds the oldest waiting client must have waited before an overflow server "
             "is opened; 0 = as soon as all pool_size servers are busy (SQLAlchemy's "
             "max_overflow). PgBouncer's reserve_pool_timeout: when the ini names the reserve "
             "pool PgBouncer's way (reserve_pool_size, or reserve_pool= in [databases]) and "
             "sets neither key, 5 as in PgBouncer. A client that waited to log in (its welcome "
             "needs a server) goes on waiting from then for its first query"),
        USEC("client_login_timeout", client_login_timeout_us, "60", CFG_RELOAD,
             "seconds a client has to log in; 0 = forever"),
        USEC("client_idle_timeout", client_idle_timeout_us, "0", CFG_RELOAD,
             "seconds after which an idle client is closed; 0 = never"),
        USEC("idle_transaction_timeout", idle_transaction_timeout_us, "0", CFG_RELOAD,
             "seconds a client may stay idle inside a transaction; 0 = forever"),
        USEC("query_timeout", query_timeout_us, "0", CFG_RELOAD,
             "seconds a query may take, waiting for a server included (as in PgBouncer), "
             "before it is cancelled, or its client told 57014 if it is still waiting; "
             "0 = forever"),
        USEC("stats_period", stats_period_us, "60", CFG_RELOAD,
             "seconds over which SHOW STATS averages are computed and the stats line logged"),
        BOOL("log_stats", log_stats, "1", CFG_RELOAD,
             "log one line per pool with its averages every stats_period"),
        ENUM("log_format", log_format, "logfmt", log_formats, CFG_RELOAD,
             "log line format: logfmt (ts=... level=... msg=\"...\"), json, or text"),
        BOOL("syslog", syslog, "0", CFG_RELOAD,
             "also send every log message to syslog (/dev/log), as PgBouncer"),
        STR("syslog_ident", syslog_ident, "lifeguard", CFG_RELOAD, "the syslog program name"),
        ENUM("syslog_facility", syslog_facility, "daemon", syslog_facilities, CFG_RELOAD,
             "syslog facility: auth, authpriv, daemon, user or local0-7"),
        USEC("health_check_timeout", health_check_timeout_us, "5", CFG_RELOAD,
             "seconds GET /health/db may take over all its pool checks before answering 503"),
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
        INT("tcp_keepidle", tcp_keepidle, "0", 0, 32767, CFG_RELOAD,
            "seconds a TCP connection (client or server) is idle before the first keepalive "
            "probe, with tcp_keepalive = 1 (TCP_KEEPIDLE); 0 = system default (Linux: 7200); "
            "RELOAD: new connections"),
        INT("tcp_keepintvl", tcp_keepintvl, "0", 0, 32767, CFG_RELOAD,
            "seconds between keepalive probes, with tcp_keepalive = 1 (TCP_KEEPINTVL); "
            "0 = system default (Linux: 75)"),
        INT("tcp_keepcnt", tcp_keepcnt, "0", 0, 127, CFG_RELOAD,
            "unanswered keepalive probes before the connection is dropped, with tcp_keepalive "
            "= 1 (TCP_KEEPCNT); 0 = system default (Linux: 9)"),
        INT("tcp_user_timeout", tcp_user_timeout, "0", 0, INT_MAX, CFG_RELOAD,
            "milliseconds sent data may stay unacknowledged before a TCP connection (client or "
            "server) is dropped (TCP_USER_TIMEOUT); 0 = system default"),
        INT("tcp_socket_buffer", tcp_socket_buffer, "0", 0, INT_MAX, CFG_RELOAD,
            "bytes asked for each TCP connection's kernel send and receive buffers (SO_SNDBUF, "
            "SO_RCVBUF: Linux doubles it and caps it at net.core.wmem_max/rmem_max, and stops "
            "tuning it by itself); 0 = system default (autotuned)"),
        BOOL("io_uring", io_uring, "1", CFG_RESTART,
             "batch socket writes and readiness into one io_uring system call per loop turn "
             "(Linux 6.1+); epoll and write() when off or when the kernel refuses"),
        STR("logfile", logfile, "", CFG_RELOAD, "also append the log to this file"),
        STR("pidfile", pidfile, "", CFG_RESTART, "write the process id to this file"),
        STR("user", unix_user, "", CFG_RESTART,
            "started as root: become this Unix user (and its groups) once the listeners are "
            "open and the pidfile is written, as PgBouncer; empty = stay who we are. Started "
            "as another user: only that user itself is accepted"),
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
        SENUM("client_tls_sslmode", client_tls_sslmode, "disable", sslmodes, CFG_RESTART,
              "TLS towards clients: disable, allow/prefer (TLS if the client asks), require, "
              "verify-ca/verify-full (and a client certificate from client_tls_ca_file)"),
        STR("client_tls_cert_file", client_tls_cert_file, NULL, CFG_RELOAD,
            "PEM certificate (chain) lifeguard presents to clients"),
        STR("client_tls_key_file", client_tls_key_file, NULL, CFG_RELOAD,
            "PEM private key for client_tls_cert_file"),
        STR("client_tls_ca_file", client_tls_ca_file, NULL, CFG_RESTART,
            "PEM CA bundle that client certificates must chain to (verify-ca, verify-full)"),
        STR("client_tls_protocols", client_tls_protocols, "secure", CFG_RELOAD,
            "TLS versions clients may use: tlsv1.0, tlsv1.1, tlsv1.2, tlsv1.3 (comma-separated, "
            "`!` removes one), secure = tlsv1.2,tlsv1.3, all or legacy = all four"),
        STR("client_tls_ciphers", client_tls_ciphers, "default", CFG_RELOAD,
            "OpenSSL cipher list for TLS 1.2 and older towards clients; default, secure, fast, "
            "normal = OpenSSL's defaults, all = `ALL:!aNULL:!eNULL`"),
        STR("client_tls13_ciphers", client_tls13_ciphers, "", CFG_RELOAD,
            "TLS 1.3 cipher suites towards clients, colon-separated (e.g. "
            "`TLS_AES_256_GCM_SHA384`); empty = OpenSSL's defaults"),
        STR("client_tls_ecdhcurve", client_tls_ecdhcurve, "auto", CFG_RELOAD,
            "key exchange groups offered to clients, colon-separated (e.g. `prime256v1`, "
            "`X25519:secp384r1`); auto (or none) = OpenSSL's defaults"),
        STR("client_tls_dheparams", client_tls_dheparams, "auto", CFG_RELOAD,
            "finite-field Diffie-Hellman (DHE cipher suites, TLS 1.2 and older) towards "
            "clients: auto = 2048-bit or larger, matched to the certificate key (OpenSSL's "
            "built-in groups), none = no DHE suites, legacy = 1024-bit (OpenSSL refuses it "
            "at its default security level 2, so lifeguard does too)"),
        SENUM("server_tls_sslmode", server_tls_sslmode, "disable", sslmodes, CFG_RESTART,
              "TLS towards PostgreSQL (TCP only): disable, allow/prefer (TLS if the server "
              "offers it), require, verify-ca, verify-full (checks the host name)"),
        STR("server_tls_ca_file", server_tls_ca_file, NULL, CFG_RELOAD,
            "PEM CA bundle for verify-ca/verify-full; unset = the system's CAs"),
        STR("server_tls_protocols", server_tls_protocols, "secure", CFG_RELOAD,
            "TLS versions used towards PostgreSQL; same words as client_tls_protocols"),
        STR("server_tls_ciphers", server_tls_ciphers, "default", CFG_RELOAD,
            "OpenSSL cipher list for TLS 1.2 and older towards PostgreSQL; same words as "
            "client_tls_ciphers"),
        STR("server_tls13_ciphers", server_tls13_ciphers, "", CFG_RELOAD,
            "TLS 1.3 cipher suites towards PostgreSQL; empty = OpenSSL's defaults"),
        STR("server_tls_cert_file", server_tls_cert_file, NULL, CFG_RELOAD,
            "PEM client certificate (chain) lifeguard presents to PostgreSQL (for `cert` "
            "authentication or clientcert=verify-*); needs server_tls_key_file"),
        STR("server_tls_key_file", server_tls_key_file, NULL, CFG_RELOAD,
            "PEM private key for server_tls_cert_file"),

        ALIAS("pool_size", "default_pool_size"),
        ALIAS("query_wait_timeout", "pool_timeout"),
        ALIAS("reserve_pool_size", "max_overflow"),
        ALIAS("reserve_pool_timeout", "overflow_delay"),
        ALIAS("server_login_retry", "server_login_retry_base"),

        PGB("auth_ident_file", "ident maps"),
        PGB("auth_ldap_options", "LDAP authentication"),
        PGB("autodb_idle_timeout", "automatically created databases"),
        PGB("cancel_wait_timeout", "cancel request deadline"),
        PGB("conffile", "path of the config file"),
        PGB("dns_max_ttl", "DNS cache"),
        PGB("dns_nxdomain_ttl", "DNS cache"),
        PGB("dns_zone_check_period", "DNS zone checks"),
        PGB("job_name", "service name"),
        PGB("max_db_client_connections", "client limit per database"),
        PGB("max_user_client_connections", "client limit per user"),
        PGB("peer_id", "peering"),
        PGB("query_wait_notify", "notice to waiting clients"),
        PGB("resolv_conf", "DNS resolver"),
        PGB("scram_iterations", "SCRAM secret generation"),
        PGB("server_round_robin", "server selection order"),
        PGB("service_name", "Windows service name"),
        PGB("suspend_timeout", "online restart"),
        PGB("transaction_timeout", "transaction deadline"),
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
            "host name, address, or Unix socket directory (starts with `/`); unset: localhost; "
            "a comma-separated list (`a,b`) is used round robin, one entry per new connection"),
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
            "run once on every new server connection, before any client gets it (if it "
            "fails the connection is closed and retried with backoff); as in PgBouncer, "
            "session mode's server_reset_query (DISCARD ALL) undoes its SETs for later "
            "clients"),
        ROW("application_name", CFG_T_STR, application_name, NULL, 0, 0, NULL,
            "application_name sent to the server"),
        ALIAS("reserve_pool", "max_overflow"),
        ROW("client_encoding", CFG_T_STR, client_encoding, NULL, 0, 0, NULL,
            "client_encoding its servers log in with (a client that sends its own gets its "
            "own, as for any parameter; as for application_name, a RELOAD that changes it "
            "reaches pools made after it)"),
        ROW("datestyle", CFG_T_STR, datestyle, NULL, 0, 0, NULL,
            "DateStyle its servers log in with (the same)"),
        ROW("timezone", CFG_T_STR, timezone, NULL, 0, 0, NULL,
            "TimeZone its servers log in with (the same)"),
        PGB("max_db_client_connections", "client limit per database"),
        ROW("server_lifetime", CFG_T_USEC, server_lifetime_us, NULL, 0, MAX_TIME_S *SEC, NULL,
            "overrides server_lifetime for this database's servers"),
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
