/* SPDX-License-Identifier: MIT */
/*
 * cfg.h: lifeguard's configuration: a PgBouncer-compatible ini file ([databases],
 * [users], [lifeguard] with [pgbouncer] as an alias) plus LIFEGUARD_<KEY> environment
 * overrides, parsed into an immutable struct config. cfg_parse() is pure (no I/O, no
 * environment, no clock) and collects every diagnostic with file:line instead of
 * stopping at the first. One key table (cfg_keys.c) drives parsing, defaults, range
 * checks, SHOW CONFIG and docs/config.md.
 */
#ifndef LG_CFG_H
#define LG_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base.h"

enum pool_mode { POOL_MODE_SESSION = 0, POOL_MODE_TRANSACTION, POOL_MODE_STATEMENT };

enum auth_type {
    AUTH_TYPE_TRUST = 0,
    AUTH_TYPE_PLAIN, /* cleartext password over the wire: only with auth_plain_allowed = 1 */
    AUTH_TYPE_MD5,   /* md5, or SCRAM when the stored secret is a SCRAM secret (PgBouncer) */
    AUTH_TYPE_SCRAM, /* scram-sha-256 */
    AUTH_TYPE_HBA,   /* per connection, from auth_hba_file (pg_hba.conf syntax) */
    AUTH_TYPE_CERT,  /* TLS client certificate whose CN is the user name */
    AUTH_TYPE_ANY,   /* PgBouncer's "any": no authentication, every database's user= logs in */
};

/* Collected diagnostics: each entry one line "file:line: error: ..." or "...: warning: ...". */
struct cfg_diag {
    int errors;
    int warnings;
    char *text; /* NUL-terminated, lines separated by '\n'; owned, free with cfg_diag_fini */
    size_t len, cap;
    bool oom; /* a line could not be stored (out of memory); it was counted as an error */
};

/* One [databases] entry. Unset numbers are -1 (use the global default); unset strings NULL. */
#define CFG_UNSET_US UINT64_MAX /* a [databases] time left to the global setting */

struct db_entry {
    char *name;        /* the name clients connect to; "*" is the fallback entry */
    char *host;        /* host name, IP, or absolute Unix socket directory; NULL: unix_socket_dir
                          default of the server is not assumed, "localhost" is used */
    int port;          /* default 5432 */
    char *dbname;      /* database on the server; NULL: same as name (for "*": client's) */
    char *user;        /* forced server user; NULL: the client's user */
    char *password;    /* password for the forced user (plaintext, md5 or SCRAM secret) */
    char *auth_user;   /* per-database auth_user override */
    char *auth_query;  /* per-database auth_query override */
    int pool_size;     /* -1: default_pool_size */
    int min_pool_size; /* -1: global */
    int max_overflow;  /* reserve_pool / max_overflow; -1: global */
    int max_db_connections;      /* -1: global */
    uint64_t server_lifetime_us; /* CFG_UNSET_US: global */
    int pool_mode;               /* enum pool_mode, -1: global/user */
    char *connect_query;
    char *application_name; /* forwarded as startup parameter when set */
    char *client_encoding;  /* PgBouncer's: startup parameters of its servers when set */
    char *datestyle;
    char *timezone;
    char *auth_dbname; /* per-database auth_dbname override; NULL: global auth_dbname */
};

/* One [users] entry. */
struct user_entry {
    char *name;
    int pool_mode;            /* -1: not set */
    int pool_size;            /* -1: not set */
    int max_user_connections; /* -1: global */
};

struct config {
    /* listening */
    char *listen_addr;       /* "*", "" (no TCP), or comma-separated addresses */
    int listen_port;         /* 6432 */
    char *unix_socket_dir;   /* "" disables; default "/tmp" */
    int unix_socket_mode;    /* octal, default 0777 */
    char *unix_socket_group; /* group name or number of the socket file; NULL/"" = unchanged */
    int listen_backlog;
    bool so_reuseport;    /* SO_REUSEPORT on the TCP listeners (restart) */
    int tcp_defer_accept; /* nonzero: TCP_DEFER_ACCEPT on TCP listeners; default 1 (reload) */
    /* auth */
    int auth_type;           /* enum auth_type */
    bool auth_plain_allowed; /* lifeguard key: allow auth_type = plain */
    char *auth_file;         /* userlist.txt path, NULL if unset */
    char *auth_hba_file;     /* pg_hba.conf-style rules for auth_type = hba */
    char *auth_user;         /* NULL if unset */
    char *auth_query;        /* default: PgBouncer's pg_shadow query */
    char *auth_dbname;       /* database for auth_query; NULL: the client's database */
    char *admin_users;       /* comma-separated */
    char *stats_users;
    /* pool policy */
    int pool_mode;            /* enum pool_mode, default session */
    int default_pool_size;    /* alias pool_size; default 20 */
    int min_pool_size;        /* 0 */
    bool server_affinity;     /* transaction mode: park a server for its client; 1 */
    int max_overflow;         /* alias reserve_pool_size; 0 */
    int max_client_conn;      /* 100 */
    int max_db_connections;   /* 0 = unlimited */
    int max_user_connections; /* 0 = unlimited */
    char *server_reset_query; /* "DISCARD ALL"; "" disables */
    bool server_reset_query_always;
    bool pin_temp_tables;      /* transaction mode: temporary objects pin their client; 1 */
    bool pin_role_changes;     /* transaction mode: SET ROLE / SESSION AUTHORIZATION pins; 1 */
    bool server_fast_close;    /* session mode: close marked servers between transactions */
    bool disable_pqexec;       /* a client's Query message closes it (08P01); 0 */
    bool overflow_delay_given; /* overflow_delay (reserve_pool_timeout) was set, not defaulted */
    bool session_startup_parameters; /* session mode: servers opened with the client's
                                        startup parameters; default 1 */
    char *server_check_query;        /* "" = empty query (default), like PgBouncer's "select 1" */
    char *ignore_startup_parameters; /* comma-separated */
    /* times, all microseconds; 0 = disabled where that makes sense. The ini gives
     * seconds (fractions allowed, like PgBouncer), lifeguard keys with _ms give ms. */
    uint64_t pool_timeout_us;             /* alias query_wait_timeout; 120 s */
    uint64_t server_check_delay_us;       /* 30 s */
    uint64_t server_lifetime_us;          /* 3600 s */
    uint64_t server_idle_timeout_us;      /* 600 s */
    uint64_t server_connect_timeout_us;   /* 15 s */
    int server_connect_parallel;          /* servers a pool logs in at once; 0 = no limit */
    uint64_t server_login_retry_base_us;  /* alias server_login_retry; 1 s (PgBouncer: 15) */
    uint64_t server_login_retry_max_us;   /* 30 s */
    uint64_t overflow_idle_timeout_us;    /* 5 s */
    uint64_t overflow_delay_us;           /* alias reserve_pool_timeout; 0 */
    uint64_t client_login_timeout_us;     /* 60 s */
    uint64_t client_idle_timeout_us;      /* 0 */
    uint64_t idle_transaction_timeout_us; /* 0 */
    uint64_t query_timeout_us;            /* 0 */
    uint64_t shutdown_timeout_us;         /* lifeguard: max wait for clients on SIGINT; 0 */
    /* limits */
    int pkt_buf;         /* bytes, 4096 (min 1024) */
    int max_packet_size; /* bytes, 2147483647 like PgBouncer (min 1024) */
    int sbuf_loopcnt;    /* accepted for compatibility */
    /* tcp */
    bool tcp_keepalive;
    bool io_uring;
    bool tcp_nodelay;      /* lifeguard: default 1 */
    int tcp_keepidle;      /* seconds, with tcp_keepalive; 0 = system default */
    int tcp_keepintvl;     /* seconds, with tcp_keepalive; 0 = system default */
    int tcp_keepcnt;       /* probes, with tcp_keepalive; 0 = system default */
    int tcp_user_timeout;  /* milliseconds (TCP_USER_TIMEOUT); 0 = system default */
    int tcp_socket_buffer; /* bytes (SO_SNDBUF and SO_RCVBUF); 0 = system default */
    /* logging / process */
    char *logfile;
    char *pidfile;
    char *unix_user; /* PgBouncer's user: the Unix user to become after start-up */
    int verbose;     /* 0 = info, 1 = debug, 2 = noise */
    bool log_connections;
    bool log_disconnections;
    bool log_pooler_errors;
    char *application_name_add_host; /* accepted, ignored */
    /* http (observability issue) */
    char *http_listen_addr; /* NULL/"" = off */
    int http_listen_port;   /* 0 = off */
    /* tls: client side disable|allow|prefer|require; server side disable only for now */
    char *client_tls_sslmode;
    char *client_tls_cert_file;
    char *client_tls_key_file;
    char *client_tls_ca_file;
    char *server_tls_sslmode;
    char *server_tls_ca_file;
    /* PgBouncer's names and value syntax. Protocols: cfg_parse_tls_protocols() words;
     * ciphers: an OpenSSL cipher list for TLS <= 1.2, or default/secure/fast/normal
     * (OpenSSL's defaults) or all; tls13_ciphers: TLS 1.3 suites, "" = OpenSSL's;
     * ecdhcurve: auto/none (OpenSSL's groups) or group names for SSL_CTX_set1_groups_list;
     * dheparams: none, auto (2048-bit) or legacy (1024-bit) finite-field DHE for TLS <= 1.2 */
    char *client_tls_protocols;
    char *client_tls_ciphers;
    char *client_tls13_ciphers;
    char *client_tls_ecdhcurve;
    char *client_tls_dheparams;
    char *server_tls_protocols;
    char *server_tls_ciphers;
    char *server_tls13_ciphers;
    char *server_tls_cert_file; /* certificate lifeguard presents to PostgreSQL; NULL/"": none */
    char *server_tls_key_file;

    /* transaction pooling */
    int max_prepared_statements;      /* named statements kept per server; 0 = no tracking */
    char *track_extra_parameters;     /* comma-separated reported parameters to track too */
    uint64_t health_check_timeout_us; /* /health/db deadline; 5 s */
    uint64_t stats_period_us;         /* averaging period of SHOW STATS avg_* and the stats line */
    bool log_stats;                   /* log one stats line per pool every stats_period */
    int log_format;                   /* enum log_format */
    bool syslog;                      /* also to syslog(3); 0 */
    char *syslog_ident;               /* "lifeguard" */
    int syslog_facility;              /* enum log_facility; daemon */

    /* sections */
    struct db_entry *dbs;
    size_t n_dbs;
    struct user_entry *users;
    size_t n_users;
};

void cfg_diag_init(struct cfg_diag *d);
void cfg_diag_fini(struct cfg_diag *d);
/* Append one diagnostic line. */
void cfg_diag_add(struct cfg_diag *d, bool is_error, const char *file, int line, const char *fmt,
                  ...) LG_PRINTF(5, 6);

/* Parse ini @text (@len bytes, need not be NUL-terminated) named @file (for messages).
 * Pure. Returns a new config with defaults filled, or NULL if any error was found
 * (all of them are in @diag, warnings too). %include is not followed here (see cfg_load). */
struct config *cfg_parse(const char *text, size_t len, const char *file, struct cfg_diag *diag);

/* Apply LIFEGUARD_<UPPER_KEY>=value overrides (and DB_POOL_SIZE, DB_MAX_OVERFLOW aliases)
 * from @envp (NULL-terminated "K=V" array) onto @cfg. Pure. Invalid values are errors in
 * @diag (file "environment"). 0 or -EINVAL. */
int cfg_apply_env(struct config *cfg, char *const *envp, struct cfg_diag *diag) LG_MUSTCHECK;

/* Read @path (following %include), cfg_parse it, apply the process environment and
 * validate. NULL on any error (all in @diag). */
struct config *cfg_load(const char *path, struct cfg_diag *diag);

void cfg_free(struct config *cfg);

/* The [databases] entry for @dbname: exact match, else the "*" entry, else NULL. */
const struct db_entry *cfg_find_db(const struct config *cfg, const char *dbname);
/* The [users] entry for @user or NULL. */
const struct user_entry *cfg_find_user(const struct config *cfg, const char *user);
/* TLS protocol versions as a set of bits. */
#define CFG_TLS_1_0 1u
#define CFG_TLS_1_1 2u
#define CFG_TLS_1_2 4u
#define CFG_TLS_1_3 8u
#define CFG_TLS_ALL 15u
/* PgBouncer's client_tls_protocols/server_tls_protocols syntax: words separated by commas,
 * colons or blanks, case-insensitive: tlsv1.0, tlsv1.1, tlsv1.2, tlsv1.3, tlsv1 (all four),
 * all and legacy (all four), secure and default (tlsv1.2 and tlsv1.3); "!" before a word
 * removes it (from all four when it comes first). Pure. 0 with the set in *@mask, or
 * -EINVAL with the first bad word (or the reason) in @why. */
int cfg_parse_tls_protocols(const char *s, unsigned *mask, char *why, size_t whylen) LG_MUSTCHECK;

/* True if @name is in the comma-separated list @list (whitespace around items ignored). */
bool cfg_list_contains(const char *list, const char *name);

/* SHOW CONFIG support: call @fn for every key, in table order, with its current value
 * rendered as text, its default, and whether RELOAD can change it. */
typedef void cfg_show_fn(void *arg, const char *key, const char *value, const char *default_value,
                         bool reloadable);
void cfg_show(const struct config *cfg, cfg_show_fn *fn, void *arg);

/* Write docs/config.md (Markdown reference generated from the key table) to @out. */
void cfg_write_doc(FILE *out);

/* Deep copy of @cfg, e.g. to apply SET to a private copy before swapping it in.
 * NULL on out-of-memory. */
struct config *cfg_dup(const struct config *cfg);

/* Set one [lifeguard] key (any alias, case-insensitive) on @cfg, which must be a private
 * copy (cfg_dup), then re-check the cross-key rules. Messages go to @diag as
 * "SET: error: ...". 0; -ENOENT unknown key; -ENOTSUP a PgBouncer key lifeguard does not
 * implement (nothing changed, a warning); -EPERM a CFG_RESTART key; -EINVAL bad value or a
 * cross-key rule broken
 * (@cfg may then hold the bad value: free it); -ENOMEM. */
int cfg_set(struct config *cfg, const char *key, const char *value,
            struct cfg_diag *diag) LG_MUSTCHECK;

/* RELOAD support: every CFG_RESTART key whose value differs between @next and @cur gets
 * @cur's value back in @next, with a warning in @diag naming both values. Returns the
 * number of keys kept, or -ENOMEM (@next then unchanged for that key: free it). */
int cfg_keep_restart_keys(struct config *next, const struct config *cur,
                          struct cfg_diag *diag) LG_MUSTCHECK;

/* Read the file @path into a new NUL-terminated buffer (*@text, free with lg_free) of
 * *@len bytes. 0, -errno, or -EFBIG if it is larger than @max_bytes. */
int cfg_read_file(const char *path, size_t max_bytes, char **text, size_t *len) LG_MUSTCHECK;

#endif
