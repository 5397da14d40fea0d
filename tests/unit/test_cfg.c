/* SPDX-License-Identifier: MIT */
/*
 * test_cfg.c: unit tests for cfg.c and its cfg_*.c companions: defaults, aliases, types
 * and ranges with their exact file:line messages, sections, [databases]/[users] strings,
 * environment overrides, %include, SHOW CONFIG, the generated doc, and allocation failures.
 * Not tested here: how other modules use the values.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "cfg.h"
#include "cfg_keys.h"
#include "log.h"

/* ---- helpers ------------------------------------------------------------------------ */

static struct config *parse(const char *text, struct cfg_diag *d)
{
    cfg_diag_init(d);
    return cfg_parse(text, strlen(text), "t.ini", d);
}

/* True if @want is one whole line of the diagnostics. */
static bool has_line(const struct cfg_diag *d, const char *want)
{
    size_t n = strlen(want);
    for (const char *p = d->text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len == n && memcmp(p, want, n) == 0)
            return true;
        p += len + (nl ? 1 : 0);
    }
    return false;
}

#define assert_line(d, want)                                                                       \
    do {                                                                                           \
        if (!has_line(d, want))                                                                    \
            fail_msg("missing line \"%s\" in:\n%s", want, (d)->text ? (d)->text : "");             \
    } while (0)

/* Parse @text, expect failure with exactly the line @want among the errors. */
static void expect_error(const char *text, const char *want)
{
    struct cfg_diag d;
    struct config *c = parse(text, &d);
    assert_null(c);
    assert_true(d.errors >= 1);
    assert_line(&d, want);
    cfg_diag_fini(&d);
}

/* Parse @text, expect success; the caller frees. */
static struct config *expect_ok(const char *text, struct cfg_diag *d)
{
    struct config *c = parse(text, d);
    if (!c)
        fail_msg("parse failed:\n%s", d->text ? d->text : "");
    assert_int_equal(d->errors, 0);
    return c;
}

#define AUTH "[lifeguard]\nauth_type = trust\n"

/* ---- defaults, types, aliases --------------------------------------------------------- */

struct show_rows {
    int n;
    int mismatches;
    const struct config *c;
    char last[2048];
};

static void show_default_cb(void *arg, const char *key, const char *value,
                            const char *default_value, bool reloadable)
{
    struct show_rows *r = arg;
    const struct cfg_key *k = cfg_key_find(cfg_keys, key);
    r->n++;
    assert_non_null(k);
    assert_int_equal(reloadable, !(k->flags & CFG_RESTART));
    if (strcmp(value, default_value) != 0) {
        r->mismatches++;
        snprintf(r->last, sizeof(r->last), "%s: %s != %s", key, value, default_value);
    }
}

static void test_defaults(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct config *c = expect_ok("", &d);
    /* the only complaint about an empty file: nobody can log in with md5 and no users */
    assert_int_equal(d.warnings, 1);
    assert_line(&d, "t.ini: warning: auth_type is not trust but neither auth_file nor auth_user "
                    "is set: no client can log in");
    assert_string_equal(c->listen_addr, "127.0.0.1");
    assert_int_equal(c->listen_port, 6432);
    assert_string_equal(c->unix_socket_dir, "/tmp");
    assert_int_equal(c->unix_socket_mode, 0777);
    assert_int_equal(c->auth_type, AUTH_TYPE_MD5);
    assert_false(c->auth_plain_allowed);
    assert_null(c->auth_file);
    assert_null(c->auth_user);
    assert_null(c->auth_dbname);
    assert_string_equal(c->auth_query, "SELECT usename, passwd FROM pg_shadow WHERE usename=$1");
    assert_int_equal(c->pool_mode, POOL_MODE_SESSION);
    assert_int_equal(c->default_pool_size, 20);
    assert_int_equal(c->min_pool_size, 0);
    assert_int_equal(c->max_overflow, 0);
    assert_int_equal(c->max_client_conn, 100);
    assert_string_equal(c->server_reset_query, "DISCARD ALL");
    assert_string_equal(c->server_check_query, "");
    assert_int_equal(c->pool_timeout_us, 120000000);
    assert_int_equal(c->server_check_delay_us, 30000000);
    assert_int_equal(c->server_lifetime_us, 3600000000ULL);
    assert_int_equal(c->server_idle_timeout_us, 600000000);
    assert_int_equal(c->server_connect_timeout_us, 15000000);
    assert_int_equal(c->server_login_retry_base_us, 1000000);
    assert_int_equal(c->server_login_retry_max_us, 30000000);
    assert_int_equal(c->overflow_idle_timeout_us, 5000000);
    assert_int_equal(c->client_login_timeout_us, 60000000);
    assert_int_equal(c->client_idle_timeout_us, 0);
    assert_int_equal(c->pkt_buf, 4096);
    assert_int_equal(c->max_packet_size, 2147483647);
    assert_true(c->tcp_keepalive);
    assert_true(c->tcp_nodelay);
    assert_true(c->log_connections);
    assert_int_equal(c->http_listen_port, 0);
    assert_string_equal(c->client_tls_sslmode, "disable");
    assert_string_equal(c->server_tls_sslmode, "disable");
    assert_int_equal(c->n_dbs, 0);
    assert_int_equal(c->n_users, 0);

    /* every key renders back to exactly its documented default */
    struct show_rows r = {0};
    cfg_show(c, show_default_cb, &r);
    assert_int_equal(r.mismatches, 0);
    int real = 0;
    for (const struct cfg_key *k = cfg_keys; k->name; k++)
        real += cfg_key_is_real(k);
    assert_int_equal(r.n, real);
    cfg_free(c);
    cfg_diag_fini(&d);
}

static void test_aliases(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct config *c = expect_ok(AUTH "pool_size = 7\nquery_wait_timeout = 2.5\n"
                                      "reserve_pool_size = 3\nreserve_pool_timeout = 1.5\n"
                                      "server_login_retry = 2\n",
                                 &d);
    assert_int_equal(c->default_pool_size, 7);
    assert_int_equal(c->pool_timeout_us, 2500000);
    assert_int_equal(c->max_overflow, 3);
    assert_int_equal(c->overflow_delay_us, 1500000);
    assert_int_equal(c->server_login_retry_base_us, 2000000);
    assert_int_equal(d.warnings, 0);
    cfg_free(c);
    cfg_diag_fini(&d);

    /* PgBouncer's reserve pool waits its reserve_pool_timeout, 5 s unless set; lifeguard's
     * own max_overflow does not (overflow_delay 0) */
    c = expect_ok(AUTH "reserve_pool_size = 3\n", &d);
    assert_int_equal(c->max_overflow, 3);
    assert_int_equal(c->overflow_delay_us, 5000000);
    cfg_free(c);
    cfg_diag_fini(&d);
    c = expect_ok(AUTH "reserve_pool_size = 3\nreserve_pool_timeout = 0\n", &d);
    assert_int_equal(c->overflow_delay_us, 0);
    cfg_free(c);
    cfg_diag_fini(&d);
    c = expect_ok(AUTH "max_overflow = 3\n[databases]\nx = reserve_pool=2\n", &d);
    assert_int_equal(c->overflow_delay_us, 5000000); /* a per-database reserve_pool too */
    cfg_free(c);
    cfg_diag_fini(&d);
    c = expect_ok(AUTH "max_overflow = 3\n", &d);
    assert_int_equal(c->overflow_delay_us, 0);
    assert_int_equal(cfg_set(c, "reserve_pool_size", "4", &d), 0); /* the console's SET */
    assert_int_equal(c->overflow_delay_us, 5000000);
    cfg_free(c);
    cfg_diag_fini(&d);
    c = expect_ok(AUTH "overflow_delay = 0.5\n", &d);
    assert_int_equal(cfg_set(c, "reserve_pool_size", "4", &d), 0);
    assert_int_equal(c->overflow_delay_us, 500000);
    cfg_free(c);
    cfg_diag_fini(&d);

    /* no two real rows share a field, and names are unique, in every table */
    const struct cfg_key *all[] = {cfg_keys, cfg_db_params, cfg_user_params};
    for (size_t t = 0; t < 3; t++)
        for (const struct cfg_key *a = all[t]; a->name; a++)
            for (const struct cfg_key *b = a + 1; b->name; b++) {
                assert_true(strcmp(a->name, b->name) != 0);
                if (cfg_key_is_real(a) && cfg_key_is_real(b))
                    assert_true(a->offset != b->offset);
            }

    /* every alias row reaches a real key in the same table */
    const struct cfg_key *tables[] = {cfg_keys, cfg_db_params, cfg_user_params};
    for (size_t t = 0; t < 3; t++)
        for (const struct cfg_key *k = tables[t]; k->name; k++)
            if (k->type == CFG_T_ALIAS)
                assert_true(cfg_key_is_real(cfg_key_resolve(tables[t], k)));
}

static void test_types(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct config *c = expect_ok("[LifeGuard]\nAUTH_TYPE = Trust\nPool_Mode = TRANSACTION\n"
                                 "server_lifetime = 250ms\nserver_idle_timeout = 2min\n"
                                 "client_idle_timeout = 1h\nquery_timeout = 0.000001\n"
                                 "idle_transaction_timeout = .5\n"
                                 "tcp_keepalive = off\ntcp_nodelay = No\nlog_connections = false\n"
                                 "log_disconnections = 0\nlog_pooler_errors = yes\n"
                                 "server_reset_query_always = TRUE\nauth_plain_allowed = on\n"
                                 "unix_socket_mode = 0700\nlisten_port = +7000\n"
                                 "server_reset_query =\nlogfile = /var/log/lg.log  \r\n",
                                 &d);
    assert_int_equal(c->auth_type, AUTH_TYPE_TRUST);
    assert_int_equal(c->pool_mode, POOL_MODE_TRANSACTION);
    assert_int_equal(c->server_lifetime_us, 250000);
    assert_int_equal(c->server_idle_timeout_us, 120000000);
    assert_int_equal(c->client_idle_timeout_us, 3600000000ULL);
    assert_int_equal(c->query_timeout_us, 1);
    assert_int_equal(c->idle_transaction_timeout_us, 500000);
    assert_false(c->tcp_keepalive);
    assert_false(c->tcp_nodelay);
    assert_false(c->log_connections);
    assert_false(c->log_disconnections);
    assert_true(c->log_pooler_errors);
    assert_true(c->server_reset_query_always);
    assert_true(c->auth_plain_allowed);
    assert_int_equal(c->unix_socket_mode, 0700);
    assert_int_equal(c->listen_port, 7000);
    assert_string_equal(c->server_reset_query, "");
    assert_string_equal(c->logfile, "/var/log/lg.log");
    cfg_free(c);
    cfg_diag_fini(&d);

    c = expect_ok(AUTH "auth_type = scram-sha-256\npool_mode = statement\n", &d);
    assert_int_equal(c->auth_type, AUTH_TYPE_SCRAM);
    assert_int_equal(c->pool_mode, POOL_MODE_STATEMENT);
    cfg_free(c);
    cfg_diag_fini(&d);
}

/* ---- errors and warnings with their exact text ---------------------------------------- */

static void test_range_errors(void **state)
{
    (void)state;
    expect_error(AUTH "listen_port = 0\n",
                 "t.ini:3: error: listen_port = 0: out of range (1..65535)");
    expect_error(AUTH "listen_port = 65536\n",
                 "t.ini:3: error: listen_port = 65536: out of range (1..65535)");
    expect_error(AUTH "pkt_buf = 1023\n",
                 "t.ini:3: error: pkt_buf = 1023: out of range (1024..1048576)");
    expect_error(AUTH "pkt_buf = 1048577\n",
                 "t.ini:3: error: pkt_buf = 1048577: out of range (1024..1048576)");
    expect_error(AUTH "max_packet_size = 100\n",
                 "t.ini:3: error: max_packet_size = 100: out of range (1024..2147483647)");
    expect_error(AUTH "max_packet_size = 2147483648\n",
                 "t.ini:3: error: max_packet_size = 2147483648: out of range (1024..2147483647)");
    expect_error(AUTH "default_pool_size = -1\n",
                 "t.ini:3: error: default_pool_size = -1: out of range (0..10000)");
    expect_error(AUTH "max_client_conn = 0\n",
                 "t.ini:3: error: max_client_conn = 0: out of range (1..1000000)");
    expect_error(AUTH "http_listen_port = 99999\n",
                 "t.ini:3: error: http_listen_port = 99999: out of range (0..65535)");
    expect_error(AUTH "pool_size = 12abc\n", "t.ini:3: error: pool_size = 12abc: not an integer");
    expect_error(AUTH "pool_size = 99999999999999999999\n",
                 "t.ini:3: error: pool_size = 99999999999999999999: not an integer");
    expect_error(AUTH "unix_socket_mode = 0999\n",
                 "t.ini:3: error: unix_socket_mode = 0999: not an octal mode (e.g. 0777)");
    expect_error(AUTH "unix_socket_mode = 01000\n",
                 "t.ini:3: error: unix_socket_mode = 01000: out of range (0..0777)");
    expect_error(AUTH "tcp_nodelay = maybe\n", "t.ini:3: error: tcp_nodelay = maybe: not a "
                                               "boolean (use 0/1, yes/no, on/off, true/false)");
    expect_error(AUTH "server_lifetime = -1\n", "t.ini:3: error: server_lifetime = -1: not a "
                                                "duration in seconds (e.g. 30, 0.5, 250ms)");
    expect_error(AUTH "server_lifetime = 1e3\n", "t.ini:3: error: server_lifetime = 1e3: not a "
                                                 "duration in seconds (e.g. 30, 0.5, 250ms)");
    expect_error(AUTH "server_lifetime = 31536001\n",
                 "t.ini:3: error: server_lifetime = 31536001: out of range (0..31536000 seconds)");
    expect_error(AUTH "server_lifetime = 99999999999999999999999\n",
                 "t.ini:3: error: server_lifetime = 99999999999999999999999: not a duration in "
                 "seconds (e.g. 30, 0.5, 250ms)");
    expect_error(AUTH "pool_mode = sometimes\n", "t.ini:3: error: pool_mode = sometimes: must be "
                                                 "one of: session, transaction, statement");
    expect_error(AUTH "server_login_retry_max = 0.5\n",
                 "t.ini:3: error: server_login_retry_max is smaller than server_login_retry_base");
    expect_error(AUTH "listen_addr =\nunix_socket_dir =\n",
                 "t.ini:3: error: listen_addr and unix_socket_dir are both empty: nothing to "
                 "listen on");
}

static void test_syslog_settings(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct config *c = expect_ok(AUTH "syslog = 1\nsyslog_facility = local3\n", &d);
    assert_true(c->syslog);
    assert_int_equal(c->syslog_facility, LOG_FAC_LOCAL3);
    assert_string_equal(c->syslog_ident, "lifeguard");
    cfg_free(c);
    cfg_diag_fini(&d);
    expect_error(AUTH "syslog_facility = kern\n",
                 "t.ini:3: error: syslog_facility = kern: must be one of: auth, authpriv, daemon, "
                 "user, local0, local1, local2, local3, local4, local5, local6, local7");
}

static void test_auth_types(void **state)
{
    (void)state;
    const char *refused[] = {"pam", "ldap"};
    for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
        char text[100], want[100];
        snprintf(text, sizeof(text), "[pgbouncer]\nauth_type = %s\n", refused[i]);
        snprintf(want, sizeof(want), "t.ini:2: error: auth_type = %s: not supported yet",
                 refused[i]);
        expect_error(text, want);
    }
    expect_error("[lifeguard]\nauth_type = plain\n",
                 "t.ini:2: error: auth_type = plain sends passwords in cleartext; set "
                 "auth_plain_allowed = 1 to allow it");
    struct cfg_diag d;
    struct config *c = expect_ok("[lifeguard]\nauth_type = plain\nauth_plain_allowed = 1\n"
                                 "auth_file = /etc/lifeguard/userlist.txt\n",
                                 &d);
    assert_int_equal(c->auth_type, AUTH_TYPE_PLAIN);
    assert_int_equal(d.warnings, 0);
    cfg_free(c);
    cfg_diag_fini(&d);
    /* any: no auth_file needed, so no warning about one */
    c = expect_ok("[pgbouncer]\nauth_type = any\n", &d);
    assert_int_equal(c->auth_type, AUTH_TYPE_ANY);
    assert_int_equal(d.warnings, 0);
    cfg_free(c);
    cfg_diag_fini(&d);
}

static void test_sslmode(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct config *c = expect_ok(AUTH "client_tls_sslmode = prefer\nclient_tls_cert_file = /c.pem\n"
                                      "client_tls_key_file = /k.pem\nserver_tls_sslmode = ALLOW\n",
                                 &d);
    assert_int_equal(d.warnings, 0);
    assert_string_equal(c->client_tls_sslmode, "prefer");
    assert_string_equal(c->server_tls_sslmode, "allow");
    cfg_free(c);
    cfg_diag_fini(&d);
    expect_error(AUTH "client_tls_sslmode = require\n",
                 "t.ini:3: error: client_tls_sslmode = require needs client_tls_cert_file and "
                 "client_tls_key_file");
    expect_error(AUTH "client_tls_sslmode = verify-full\nclient_tls_cert_file = /c\n"
                      "client_tls_key_file = /k\n",
                 "t.ini:3: error: client_tls_sslmode = verify-full needs client_tls_ca_file");
    expect_error(
            AUTH "server_tls_sslmode = sure\n",
            "t.ini:3: error: server_tls_sslmode = sure: must be one of: disable, allow, prefer, "
            "require, verify-ca, verify-full");
}

static unsigned protocols(const char *s)
{
    unsigned mask = 0xdead;
    char why[160];
    if (cfg_parse_tls_protocols(s, &mask, why, sizeof(why)) < 0)
        fail_msg("%s: %s", s, why);
    return mask;
}

static void expect_bad_protocols(const char *s, const char *want)
{
    unsigned mask = 0xdead;
    char why[160];
    assert_int_equal(cfg_parse_tls_protocols(s, &mask, why, sizeof(why)), -EINVAL);
    assert_int_equal(mask, 0xdead);
    assert_string_equal(why, want);
}

static void test_tls_protocols(void **state)
{
    (void)state;
    assert_int_equal(protocols("secure"), CFG_TLS_1_2 | CFG_TLS_1_3);
    assert_int_equal(protocols("default"), CFG_TLS_1_2 | CFG_TLS_1_3);
    assert_int_equal(protocols("all"), CFG_TLS_ALL);
    assert_int_equal(protocols("legacy"), CFG_TLS_ALL);
    assert_int_equal(protocols("tlsv1"), CFG_TLS_ALL);
    assert_int_equal(protocols("TLSv1.3"), CFG_TLS_1_3);
    assert_int_equal(protocols("tlsv1.0, tlsv1.2"), CFG_TLS_1_0 | CFG_TLS_1_2);
    assert_int_equal(protocols("tlsv1.1:tlsv1.2 tlsv1.3"), CFG_TLS_1_1 | CFG_TLS_1_2 | CFG_TLS_1_3);
    /* "!" first starts from all four; later it removes from what is there */
    assert_int_equal(protocols("!tlsv1.0,!tlsv1.1"), CFG_TLS_1_2 | CFG_TLS_1_3);
    assert_int_equal(protocols("secure,!tlsv1.2"), CFG_TLS_1_3);
    assert_int_equal(protocols("all,!tlsv1.3"), CFG_TLS_1_0 | CFG_TLS_1_1 | CFG_TLS_1_2);
    expect_bad_protocols("tlsv1.2,tlsv1.4",
                         "unknown TLS protocol \"tlsv1.4\" (use tlsv1.0, tlsv1.1, tlsv1.2, "
                         "tlsv1.3, secure, all or legacy)");
    expect_bad_protocols("normal", "unknown TLS protocol \"normal\" (use tlsv1.0, tlsv1.1, "
                                   "tlsv1.2, tlsv1.3, secure, all or legacy)");
    expect_bad_protocols("!", "unknown TLS protocol \"!\" (use tlsv1.0, tlsv1.1, tlsv1.2, "
                              "tlsv1.3, secure, all or legacy)");
    expect_bad_protocols("", "no TLS protocol left");
    expect_bad_protocols(" , ", "no TLS protocol left");
    expect_bad_protocols("!all", "no TLS protocol left");
    expect_bad_protocols("tlsv1.3,!tlsv1.3", "no TLS protocol left");
}

static void test_tls_settings(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct config *c = expect_ok(AUTH, &d);
    assert_string_equal(c->client_tls_protocols, "secure");
    assert_string_equal(c->server_tls_protocols, "secure");
    assert_string_equal(c->client_tls_ciphers, "default");
    assert_string_equal(c->server_tls_ciphers, "default");
    assert_string_equal(c->client_tls13_ciphers, "");
    assert_string_equal(c->server_tls13_ciphers, "");
    assert_string_equal(c->client_tls_ecdhcurve, "auto");
    assert_null(c->server_tls_cert_file);
    assert_null(c->server_tls_key_file);
    cfg_free(c);
    cfg_diag_fini(&d);

    /* PgBouncer's names are settings now, not "not implemented" warnings */
    c = expect_ok(AUTH "client_tls_protocols = tlsv1.3\nserver_tls_protocols = all\n"
                       "client_tls_ciphers = ECDHE-RSA-AES128-GCM-SHA256\n"
                       "client_tls13_ciphers = TLS_AES_256_GCM_SHA384\n"
                       "client_tls_ecdhcurve = prime256v1\nserver_tls_ciphers = fast\n"
                       "server_tls13_ciphers = TLS_AES_128_GCM_SHA256\n"
                       "server_tls_cert_file = /c.pem\nserver_tls_key_file = /k.pem\n",
                  &d);
    assert_int_equal(d.warnings, 0);
    assert_string_equal(c->client_tls_protocols, "tlsv1.3");
    assert_string_equal(c->server_tls_protocols, "all");
    assert_string_equal(c->client_tls_ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
    assert_string_equal(c->client_tls13_ciphers, "TLS_AES_256_GCM_SHA384");
    assert_string_equal(c->client_tls_ecdhcurve, "prime256v1");
    assert_string_equal(c->server_tls_ciphers, "fast");
    assert_string_equal(c->server_tls13_ciphers, "TLS_AES_128_GCM_SHA256");
    assert_string_equal(c->server_tls_cert_file, "/c.pem");
    assert_string_equal(c->server_tls_key_file, "/k.pem");

    /* RELOAD and SET may change them; a bad protocol word is refused by SET too */
    const struct cfg_key *k = cfg_key_find(cfg_keys, "client_tls_protocols");
    assert_non_null(k);
    assert_false(k->flags & CFG_RESTART);
    cfg_diag_fini(&d);
    cfg_diag_init(&d);
    assert_int_equal(cfg_set(c, "server_tls_protocols", "tlsv1.2", &d), 0);
    assert_string_equal(c->server_tls_protocols, "tlsv1.2");
    assert_int_equal(cfg_set(c, "client_tls_protocols", "tls1.2", &d), -EINVAL);
    assert_string_equal(c->client_tls_protocols, "tlsv1.3");
    cfg_free(c);
    cfg_diag_fini(&d);

    expect_error(AUTH "client_tls_protocols = tlsv1.2 tlsv1.4\n",
                 "t.ini:3: error: client_tls_protocols = tlsv1.2 tlsv1.4: unknown TLS protocol "
                 "\"tlsv1.4\" (use tlsv1.0, tlsv1.1, tlsv1.2, tlsv1.3, secure, all or legacy)");
    expect_error(AUTH "server_tls_protocols = !all\n",
                 "t.ini:3: error: server_tls_protocols = !all: no TLS protocol left");

    /* the environment is checked alike */
    c = expect_ok(AUTH, &d);
    cfg_diag_fini(&d);
    cfg_diag_init(&d);
    char *env[] = {"LIFEGUARD_SERVER_TLS_PROTOCOLS=sslv3", NULL};
    assert_int_equal(cfg_apply_env(c, env, &d), -EINVAL);
    assert_int_equal(d.errors, 1);
    assert_line(&d, "environment: error: LIFEGUARD_SERVER_TLS_PROTOCOLS = sslv3: unknown TLS "
                    "protocol \"sslv3\" (use tlsv1.0, tlsv1.1, tlsv1.2, tlsv1.3, secure, all or "
                    "legacy)");
    cfg_free(c);
    cfg_diag_fini(&d);
}

static void test_errors_collected(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct config *c = parse("; a comment\n"
                             "[lifeguard]\n"
                             "listen_port = 0\n"
                             "pool_size = many\n"
                             "bogus_key = 1\n"
                             "# fine\n"
                             "tcp_nodelay = 2\n"
                             "[databases]\n"
                             "app = port=x\n",
                             &d);
    assert_null(c);
    assert_int_equal(d.errors, 5);
    assert_line(&d, "t.ini:3: error: listen_port = 0: out of range (1..65535)");
    assert_line(&d, "t.ini:4: error: pool_size = many: not an integer");
    assert_line(&d, "t.ini:5: error: unknown setting \"bogus_key\"");
    assert_line(&d, "t.ini:7: error: tcp_nodelay = 2: not a boolean (use 0/1, yes/no, on/off, "
                    "true/false)");
    assert_line(&d, "t.ini:9: error: database \"app\": port = x: not an integer");
    cfg_diag_fini(&d);
}

/* PgBouncer's socket settings: its defaults, its ranges (the kernel's), any nonzero
 * tcp_defer_accept (old ini files give seconds) meaning on. */
static void test_socket_keys(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct config *c = expect_ok(AUTH, &d);
    assert_int_equal(c->tcp_defer_accept, 1); /* PgBouncer's default on Linux */
    assert_false(c->so_reuseport);
    assert_string_equal(c->unix_socket_group, "");
    assert_int_equal(c->tcp_keepidle + c->tcp_keepintvl + c->tcp_keepcnt, 0);
    assert_int_equal(c->tcp_user_timeout + c->tcp_socket_buffer, 0);
    cfg_free(c);
    cfg_diag_fini(&d);

    c = expect_ok(AUTH "tcp_keepidle = 600\ntcp_keepintvl = 30\ntcp_keepcnt = 5\n"
                       "tcp_user_timeout = 15000\ntcp_socket_buffer = 262144\n"
                       "tcp_defer_accept = 45\nso_reuseport = 1\nunix_socket_group = postgres\n",
                  &d);
    assert_int_equal(d.warnings, 0);
    assert_int_equal(c->tcp_keepidle, 600);
    assert_int_equal(c->tcp_keepintvl, 30);
    assert_int_equal(c->tcp_keepcnt, 5);
    assert_int_equal(c->tcp_user_timeout, 15000);
    assert_int_equal(c->tcp_socket_buffer, 262144);
    assert_int_equal(c->tcp_defer_accept, 45);
    assert_true(c->so_reuseport);
    assert_string_equal(c->unix_socket_group, "postgres");
    cfg_free(c);
    cfg_diag_fini(&d);

    expect_error(AUTH "tcp_keepcnt = 128\n", "t.ini:3: error: tcp_keepcnt = 128: out of range "
                                             "(0..127)");
    expect_error(AUTH "tcp_keepidle = 32768\n",
                 "t.ini:3: error: tcp_keepidle = 32768: out of range (0..32767)");
    expect_error(AUTH "tcp_user_timeout = -1\n",
                 "t.ini:3: error: tcp_user_timeout = -1: out of range (0..2147483647)");
    expect_error(AUTH "so_reuseport = maybe\n",
                 "t.ini:3: error: so_reuseport = maybe: not a boolean (use 0/1, yes/no, on/off, "
                 "true/false)");
}

static void test_unknown_and_pgbouncer_keys(void **state)
{
    (void)state;
    expect_error(
            AUTH "max_client_con = 10\n",
            "t.ini:3: error: unknown setting \"max_client_con\" (did you mean max_client_conn?)");
    expect_error(AUTH "x = 1\n", "t.ini:3: error: unknown setting \"x\"");

    struct cfg_diag d;
    struct config *c = expect_ok(AUTH "server_round_robin = 1\ndns_max_ttl = 15\n"
                                      "SERVER_ROUND_ROBIN = 0\npeer_id = 1\njob_name = \n",
                                 &d);
    /* each PgBouncer-only key is warned about once */
    assert_int_equal(d.warnings, 4);
    assert_line(&d, "t.ini:3: warning: pgbouncer setting server_round_robin is not implemented "
                    "by lifeguard; ignored");
    assert_line(&d, "t.ini:4: warning: pgbouncer setting dns_max_ttl is not implemented by "
                    "lifeguard; ignored");
    assert_line(&d, "t.ini:6: warning: pgbouncer setting peer_id is not implemented by "
                    "lifeguard; ignored");
    cfg_free(c);
    cfg_diag_fini(&d);

    c = expect_ok(AUTH "application_name_add_host = 1\n", &d);
    assert_line(&d, "t.ini:3: warning: application_name_add_host = 1: accepted but has no effect");
    cfg_free(c);
    cfg_diag_fini(&d);
}

static void test_sections_and_syntax(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct config *c = expect_ok("\xEF\xBB\xBF[pgbouncer]\r\nauth_type = trust\r\n"
                                 "[ PEERS ]\n1 = host=10.0.0.1\n[Lifeguard] ; trailing comment\n"
                                 "listen_port=7001\n",
                                 &d);
    assert_int_equal(c->listen_port, 7001);
    assert_int_equal(d.warnings, 1);
    assert_line(&d, "t.ini:3: warning: [peers] is not supported by lifeguard; section ignored");
    cfg_free(c);
    cfg_diag_fini(&d);

    expect_error("listen_port = 1\n",
                 "t.ini:1: error: \"listen_port\" is outside any section (start with [lifeguard])");
    expect_error(AUTH "[extra]\nfoo = 1\n", "t.ini:3: error: unknown section [extra] (expected "
                                            "lifeguard, pgbouncer, databases, users)");
    expect_error(AUTH "[databases\n", "t.ini:3: error: section header without ']'");
    expect_error(AUTH "[users] x\n", "t.ini:3: error: unexpected text after [users]");
    expect_error(AUTH "just words\n", "t.ini:3: error: syntax error: expected key = value");
    expect_error(AUTH "= 5\n", "t.ini:3: error: syntax error: expected key = value");
    expect_error(AUTH "%define x\n", "t.ini:3: error: unknown directive %define x");

    /* NUL bytes; text that is not NUL-terminated */
    const char nul[] = "[lifeguard]\nauth_type = trust\nlisten_port = 7\0 00\n";
    c = cfg_parse(nul, sizeof(nul) - 1, "t.ini", &d);
    assert_null(c);
    assert_line(&d, "t.ini:3: error: NUL byte in line");
    cfg_diag_fini(&d);
    const char cut[] = AUTH "listen_port = 70001";
    cfg_diag_init(&d);
    c = cfg_parse(cut, sizeof(cut) - 3, "t.ini", &d); /* "listen_port = 700" */
    assert_non_null(c);
    assert_int_equal(c->listen_port, 700);
    cfg_free(c);
    cfg_diag_fini(&d);

    /* cfg_parse is pure: %include is reported, not followed */
    c = expect_ok(AUTH "%include /etc/passwd\n", &d);
    assert_line(&d, "t.ini:3: warning: %include is not followed here; ignored");
    cfg_free(c);
    cfg_diag_fini(&d);
}

/* ---- [databases] and [users] ---------------------------------------------------------- */

static void test_databases(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct config *c = expect_ok(
            AUTH "[databases]\n"
                 "app = host=db1 port=5433 dbname=appdb user=svc password='p w''d' "
                 "pool_size=5 min_pool_size=1 reserve_pool=2 max_db_connections=9 "
                 "pool_mode=transaction connect_query='SELECT ''a'', 1' application_name=web "
                 "auth_user=auth auth_query='SELECT 1' auth_dbname=authdb\n"
                 "* = host=/var/run/postgresql\n"
                 "\"odd name\" = dbname=x  max_overflow = 4 \n"
                 "empty =\n",
            &d);
    assert_int_equal(c->n_dbs, 4);
    const struct db_entry *e = cfg_find_db(c, "app");
    assert_non_null(e);
    assert_string_equal(e->name, "app");
    assert_string_equal(e->host, "db1");
    assert_int_equal(e->port, 5433);
    assert_string_equal(e->dbname, "appdb");
    assert_string_equal(e->user, "svc");
    assert_string_equal(e->password, "p w'd");
    assert_int_equal(e->pool_size, 5);
    assert_int_equal(e->min_pool_size, 1);
    assert_int_equal(e->max_overflow, 2);
    assert_int_equal(e->max_db_connections, 9);
    assert_int_equal(e->pool_mode, POOL_MODE_TRANSACTION);
    assert_string_equal(e->connect_query, "SELECT 'a', 1");
    assert_string_equal(e->application_name, "web");
    assert_string_equal(e->auth_user, "auth");
    assert_string_equal(e->auth_query, "SELECT 1");
    assert_string_equal(e->auth_dbname, "authdb");

    e = cfg_find_db(c, "odd name");
    assert_non_null(e);
    assert_string_equal(e->dbname, "x");
    assert_int_equal(e->max_overflow, 4);

    e = cfg_find_db(c, "empty"); /* all unset */
    assert_non_null(e);
    assert_null(e->host);
    assert_null(e->dbname);
    assert_null(e->password);
    assert_int_equal(e->port, 5432);
    assert_int_equal(e->pool_size, -1);
    assert_int_equal(e->min_pool_size, -1);
    assert_int_equal(e->max_overflow, -1);
    assert_int_equal(e->max_db_connections, -1);
    assert_int_equal(e->pool_mode, -1);

    /* unknown names fall back to "*" */
    e = cfg_find_db(c, "anything");
    assert_non_null(e);
    assert_string_equal(e->name, "*");
    assert_string_equal(e->host, "/var/run/postgresql");
    cfg_free(c);
    cfg_diag_fini(&d);

    /* without "*" there is no fallback; an empty config has no databases at all */
    c = expect_ok(AUTH "[databases]\napp = dbname=a\napp = dbname=b\n", &d);
    assert_line(&d, "t.ini:5: warning: database \"app\" is defined again; this definition "
                    "replaces the earlier one");
    assert_int_equal(c->n_dbs, 1);
    assert_string_equal(cfg_find_db(c, "app")->dbname, "b");
    assert_null(cfg_find_db(c, "other"));
    cfg_free(c);
    cfg_diag_fini(&d);
    c = expect_ok(AUTH, &d);
    assert_null(cfg_find_db(c, "app"));
    assert_null(cfg_find_user(c, "bob"));
    cfg_free(c);
    cfg_diag_fini(&d);

    c = expect_ok(AUTH "[databases]\napp = client_encoding=UTF8 timezone=UTC "
                       "datestyle='SQL, DMY' server_lifetime=5\nother = port=5433\n",
                  &d);
    assert_int_equal(cfg_find_db(c, "app")->server_lifetime_us, 5000000);
    assert_true(cfg_find_db(c, "other")->server_lifetime_us == CFG_UNSET_US);
    assert_int_equal(d.warnings, 0); /* PgBouncer's server startup parameters: lifeguard's too */
    assert_string_equal(cfg_find_db(c, "app")->client_encoding, "UTF8");
    assert_string_equal(cfg_find_db(c, "app")->timezone, "UTC");
    assert_string_equal(cfg_find_db(c, "app")->datestyle, "SQL, DMY");
    cfg_free(c);
    cfg_diag_fini(&d);

    expect_error(AUTH "[databases]\napp = hots=x\n",
                 "t.ini:4: error: database \"app\": unknown parameter \"hots\"");
    expect_error(AUTH "[databases]\napp = port=0\n",
                 "t.ini:4: error: database \"app\": port = 0: out of range (1..65535)");
    expect_error(AUTH "[databases]\napp = pool_mode=sometimes\n",
                 "t.ini:4: error: database \"app\": pool_mode = sometimes: must be one of: "
                 "session, transaction, statement");
    expect_error(AUTH "[databases]\napp = password='secret\n",
                 "t.ini:4: error: database \"app\": password: unterminated quoted value");
    expect_error(AUTH "[databases]\napp = password='a'b\n",
                 "t.ini:4: error: database \"app\": password: expected a space after the quoted "
                 "value");
    expect_error(AUTH "[databases]\napp = host=\n", "t.ini:4: error: database \"app\": host: "
                                                    "missing value");
    expect_error(AUTH "[databases]\napp = host\n", "t.ini:4: error: database \"app\": syntax "
                                                   "error: expected key=value");
    expect_error(AUTH "[databases]\npgbouncer = host=x\n",
                 "t.ini:4: error: database \"pgbouncer\": the name is reserved for the admin "
                 "console");
    expect_error(AUTH "[databases]\n\"a = x\n", "t.ini:4: error: unterminated quoted name");
}

static void test_users(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct config *c = expect_ok(AUTH "[users]\nbob = pool_mode=statement pool_size=3 "
                                      "max_user_connections=10\nalice =\n"
                                      "carol = client_idle_timeout=5\n",
                                 &d);
    assert_int_equal(c->n_users, 3);
    const struct user_entry *u = cfg_find_user(c, "bob");
    assert_non_null(u);
    assert_int_equal(u->pool_mode, POOL_MODE_STATEMENT);
    assert_int_equal(u->pool_size, 3);
    assert_int_equal(u->max_user_connections, 10);
    u = cfg_find_user(c, "alice");
    assert_non_null(u);
    assert_int_equal(u->pool_mode, -1);
    assert_int_equal(u->pool_size, -1);
    assert_int_equal(u->max_user_connections, -1);
    assert_null(cfg_find_user(c, "dave"));
    assert_line(&d, "t.ini:6: warning: user \"carol\": pgbouncer parameter client_idle_timeout "
                    "is not implemented by lifeguard; ignored");
    cfg_free(c);
    cfg_diag_fini(&d);
    expect_error(AUTH "[users]\nbob = pool_size=-2\n",
                 "t.ini:4: error: user \"bob\": pool_size = -2: out of range (0..10000)");
    expect_error(AUTH "[users]\nbob = host=x\n",
                 "t.ini:4: error: user \"bob\": unknown parameter \"host\"");
}

static void test_list_contains(void **state)
{
    (void)state;
    assert_true(cfg_list_contains("a,b , c", "b"));
    assert_true(cfg_list_contains(" a", "a"));
    assert_true(cfg_list_contains("a,b , c", "c"));
    assert_false(cfg_list_contains("a,b , c", "ab"));
    assert_false(cfg_list_contains("abc", "a"));
    assert_false(cfg_list_contains("", "a"));
    assert_false(cfg_list_contains(",,", ""));
    assert_false(cfg_list_contains(NULL, "a"));
}

/* ---- real PgBouncer configs ----------------------------------------------------------- */

static void test_debian_pgbouncer_ini(void **state)
{
    (void)state;
    /* Debian 12's /etc/pgbouncer/pgbouncer.ini without its comments */
    struct cfg_diag d;
    struct config *c = expect_ok("[databases]\n\n[users]\n\n[pgbouncer]\n"
                                 "logfile = /var/log/postgresql/pgbouncer.log\n"
                                 "pidfile = /var/run/postgresql/pgbouncer.pid\n"
                                 "listen_addr = localhost\nlisten_port = 6432\n"
                                 "unix_socket_dir = /var/run/postgresql\nauth_type = md5\n"
                                 "auth_file = /etc/pgbouncer/userlist.txt\n",
                                 &d);
    assert_int_equal(d.warnings, 0);
    assert_string_equal(c->listen_addr, "localhost");
    assert_string_equal(c->auth_file, "/etc/pgbouncer/userlist.txt");
    assert_string_equal(c->pidfile, "/var/run/postgresql/pgbouncer.pid");
    cfg_free(c);
    cfg_diag_fini(&d);
}

static const char real_world_ini[] =
        "[databases]\n"
        "foodb = host=127.0.0.1 dbname=bazdb\n"
        "bardb = host=localhost dbname=bazdb\n"
        "forcedb = host=localhost port=300 user=baz password=foo client_encoding=UNICODE "
        "datestyle=ISO connect_query='SELECT 1'\n"
        "nondefaultdb = pool_size=50 reserve_pool=10\n"
        "* = host=testserver\n"
        "[users]\n"
        "user1 = pool_mode=transaction max_user_connections=10\n"
        "[pgbouncer]\n"
        "logfile = /var/log/postgresql/pgbouncer.log\n"
        "pidfile = /var/run/postgresql/pgbouncer.pid\n"
        "listen_addr = *\nlisten_port = 6432\nunix_socket_dir = /var/run/postgresql\n"
        "unix_socket_mode = 0777\nunix_socket_group =\n"
        "auth_type = md5\nauth_file = /etc/pgbouncer/userlist.txt\n"
        "auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename=$1\n"
        "admin_users = postgres\nstats_users = stats, postgres\n"
        "pool_mode = transaction\nserver_reset_query = DISCARD ALL\n"
        "server_reset_query_always = 0\nignore_startup_parameters = extra_float_digits\n"
        "server_check_query = select 1\nserver_check_delay = 30\n"
        "application_name_add_host = 0\nmax_client_conn = 1000\ndefault_pool_size = 20\n"
        "min_pool_size = 0\nreserve_pool_size = 5\nreserve_pool_timeout = 3\n"
        "max_db_connections = 0\nmax_user_connections = 0\nserver_round_robin = 0\n"
        "syslog = 0\nsyslog_facility = daemon\nsyslog_ident = pgbouncer\n"
        "log_connections = 1\nlog_disconnections = 1\nlog_pooler_errors = 1\n"
        "stats_period = 60\nverbose = 0\nserver_lifetime = 3600\nserver_idle_timeout = 600\n"
        "server_connect_timeout = 15\nserver_login_retry = 15\nquery_timeout = 0\n"
        "query_wait_timeout = 120\nclient_idle_timeout = 0\nclient_login_timeout = 60\n"
        "autodb_idle_timeout = 3600\nsuspend_timeout = 10\nidle_transaction_timeout = 0\n"
        "pkt_buf = 4096\nlisten_backlog = 128\nsbuf_loopcnt = 5\nmax_packet_size = 2147483647\n"
        "tcp_defer_accept = 0\ntcp_socket_buffer = 0\ntcp_keepalive = 1\ntcp_keepcnt = 0\n"
        "tcp_keepidle = 0\ntcp_keepintvl = 0\ndns_max_ttl = 15\ndns_zone_check_period = 0\n"
        "dns_nxdomain_ttl = 15\nclient_tls_sslmode = disable\nserver_tls_sslmode = disable\n"
        "server_tls_protocols = secure\nserver_tls_ciphers = fast\n";

static void test_real_world_pgbouncer_ini(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct config *c = parse(real_world_ini, &d);
    if (!c)
        fail_msg("%s", d.text);
    assert_int_equal(d.errors, 0);
    /* 6 settings: warned, never silently dropped */
    assert_int_equal(d.warnings, 6);
    assert_false(c->syslog); /* PgBouncer's syslog settings are lifeguard's too */
    assert_string_equal(c->syslog_ident, "pgbouncer");
    assert_int_equal(c->syslog_facility, LOG_FAC_DAEMON);
    assert_string_equal(c->server_tls_protocols, "secure");
    assert_string_equal(c->server_tls_ciphers, "fast");
    assert_string_equal(cfg_find_db(c, "forcedb")->datestyle, "ISO");
    assert_string_equal(cfg_find_db(c, "forcedb")->client_encoding, "UNICODE");
    assert_line(&d, "t.ini:36: warning: pgbouncer setting server_round_robin is not implemented "
                    "by lifeguard; ignored");
    /* PgBouncer's socket settings are lifeguard's too */
    assert_string_equal(c->unix_socket_group, "");
    assert_int_equal(c->tcp_defer_accept, 0);
    assert_int_equal(c->tcp_socket_buffer, 0);
    assert_int_equal(c->tcp_keepidle, 0);
    assert_int_equal(c->pool_mode, POOL_MODE_TRANSACTION);
    assert_int_equal(c->max_overflow, 5);
    assert_int_equal(c->overflow_delay_us, 3000000); /* reserve_pool_timeout */
    assert_int_equal(c->server_login_retry_base_us, 15000000);
    assert_true(cfg_list_contains(c->stats_users, "postgres"));
    assert_int_equal(cfg_find_db(c, "nondefaultdb")->max_overflow, 10);
    assert_string_equal(cfg_find_db(c, "nosuchdb")->host, "testserver");
    assert_int_equal(cfg_find_user(c, "user1")->max_user_connections, 10);
    cfg_free(c);
    cfg_diag_fini(&d);
}

/* ---- environment --------------------------------------------------------------------- */

static void test_env(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct config *c = expect_ok(AUTH "pool_size = 5\nlisten_port = 7000\n", &d);
    cfg_diag_fini(&d);
    char *env[] = {"PATH=/bin",
                   "DB_POOL_SIZE=33",
                   "DB_MAX_OVERFLOW=4",
                   "LIFEGUARD_QUERY_WAIT_TIMEOUT=7.5",
                   "LIFEGUARD_pool_mode=transaction",
                   "LIFEGUARD_SERVER_CHECK_QUERY=SELECT 1",
                   "LIFEGUARD_SO_REUSEPORT=1",
                   "LIFEGUARD_DNS_MAX_TTL=1",
                   "LIFEGUARD_NO_SUCH_THING=1",
                   "LIFEGUARD_=x",
                   "LIFEGUARD_LISTEN_PORT= 7100 ",
                   "NOEQUALS",
                   NULL};
    cfg_diag_init(&d);
    assert_int_equal(cfg_apply_env(c, env, &d), 0);
    assert_int_equal(c->default_pool_size, 33);
    assert_int_equal(c->max_overflow, 4);
    assert_int_equal(c->pool_timeout_us, 7500000);
    assert_int_equal(c->pool_mode, POOL_MODE_TRANSACTION);
    assert_string_equal(c->server_check_query, "SELECT 1");
    assert_int_equal(c->listen_port, 7100);
    assert_int_equal(d.errors, 0);
    assert_true(c->so_reuseport);
    assert_int_equal(d.warnings, 2);
    assert_line(&d, "environment: warning: LIFEGUARD_DNS_MAX_TTL: pgbouncer setting dns_max_ttl "
                    "is not implemented by lifeguard; ignored");
    assert_line(&d, "environment: warning: LIFEGUARD_NO_SUCH_THING is not a lifeguard setting; "
                    "ignored");
    cfg_diag_fini(&d);

    /* LIFEGUARD_ beats DB_ whatever the order */
    char *env2[] = {"LIFEGUARD_DEFAULT_POOL_SIZE=9", "DB_POOL_SIZE=5", NULL};
    char *env3[] = {"DB_POOL_SIZE=5", "LIFEGUARD_POOL_SIZE=11", NULL};
    cfg_diag_init(&d);
    assert_int_equal(cfg_apply_env(c, env2, &d), 0);
    assert_int_equal(c->default_pool_size, 9);
    assert_int_equal(cfg_apply_env(c, env3, &d), 0);
    assert_int_equal(c->default_pool_size, 11);
    assert_int_equal(cfg_apply_env(c, NULL, &d), 0);
    cfg_diag_fini(&d);

    char *bad[] = {"LIFEGUARD_LISTEN_PORT=0", "DB_POOL_SIZE=lots", "LIFEGUARD_AUTH_TYPE=plain",
                   NULL};
    cfg_diag_init(&d);
    assert_int_equal(cfg_apply_env(c, bad, &d), -EINVAL);
    assert_int_equal(d.errors, 3);
    assert_line(&d, "environment: error: LIFEGUARD_LISTEN_PORT = 0: out of range (1..65535)");
    assert_line(&d, "environment: error: DB_POOL_SIZE = lots: not an integer");
    assert_line(&d, "environment: error: auth_type = plain sends passwords in cleartext; set "
                    "auth_plain_allowed = 1 to allow it");
    cfg_diag_fini(&d);
    cfg_free(c);

    /* every key of the table can be set from the environment, to its default */
    c = expect_ok(AUTH, &d);
    cfg_diag_fini(&d);
    char vars[200][160];
    char *all[201];
    size_t n = 0;
    for (const struct cfg_key *k = cfg_keys; k->name && n < 200; k++) {
        const struct cfg_key *r = cfg_key_resolve(cfg_keys, k);
        if (k->type == CFG_T_PGBOUNCER || !r->def)
            continue;
        int w = snprintf(vars[n], sizeof(vars[n]), "LIFEGUARD_");
        for (const char *p = k->name; *p; p++)
            vars[n][w++] = (char)toupper((unsigned char)*p);
        snprintf(vars[n] + w, sizeof(vars[n]) - (size_t)w, "=%s", r->def);
        all[n] = vars[n];
        n++;
    }
    all[n] = NULL;
    cfg_diag_init(&d);
    assert_int_equal(cfg_apply_env(c, all, &d), 0);
    assert_int_equal(d.errors + d.warnings, 0);
    assert_int_equal(c->auth_type, AUTH_TYPE_MD5);
    cfg_diag_fini(&d);
    cfg_free(c);
}

/* ---- cfg_load: files, %include, the process environment ------------------------------ */

static char tmpdir[64];
static char load_path[256];

typedef bool scenario_fn(void);
static void run_with_each_alloc_failure(scenario_fn *fn);

static bool scen_load(void)
{
    struct cfg_diag d;
    cfg_diag_init(&d);
    struct config *c = cfg_load(load_path, &d);
    bool ok = c && c->default_pool_size == 3 && cfg_find_db(c, "app");
    cfg_free(c);
    cfg_diag_fini(&d);
    return ok;
}

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_load(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/lg_test_cfg.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    char path[256], sub[256];
    snprintf(sub, sizeof(sub), "%s/conf.d", tmpdir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file("main.ini", "[lifeguard]\nauth_type = trust\n%include conf.d/pool.ini\n"
                           "listen_port = 7002\n");
    write_file("conf.d/pool.ini", "pool_size = 3\n%include ../dbs.ini\n");
    write_file("dbs.ini", "[databases]\napp = dbname=x\n[lifeguard]\n");
    write_file("loop.ini", "[lifeguard]\n%include loop.ini\n");
    write_file("missing.ini", "[lifeguard]\n%include nothere.ini\n");
    write_file("bad.ini", "[lifeguard]\nauth_type = trust\npool_size = -3\n");

    struct cfg_diag d;
    cfg_diag_init(&d);
    snprintf(path, sizeof(path), "%s/main.ini", tmpdir);
    assert_int_equal(setenv("LIFEGUARD_LISTEN_PORT", "7003", 1), 0);
    assert_int_equal(setenv("DB_MAX_OVERFLOW", "6", 1), 0);
    struct config *c = cfg_load(path, &d);
    unsetenv("LIFEGUARD_LISTEN_PORT");
    unsetenv("DB_MAX_OVERFLOW");
    if (!c)
        fail_msg("%s", d.text);
    assert_int_equal(c->default_pool_size, 3);
    assert_int_equal(c->listen_port, 7003); /* the environment wins over the file */
    assert_int_equal(c->max_overflow, 6);
    assert_non_null(cfg_find_db(c, "app"));
    cfg_free(c);
    cfg_diag_fini(&d);
    snprintf(load_path, sizeof(load_path), "%s", path); /* with both %includes */
    run_with_each_alloc_failure(scen_load);

    char want[400];
    cfg_diag_init(&d);
    snprintf(path, sizeof(path), "%s/loop.ini", tmpdir);
    assert_null(cfg_load(path, &d));
    snprintf(want, sizeof(want),
             "%s/loop.ini:2: error: %%include loop.ini: nested more than 8 deep (a loop?)", tmpdir);
    assert_line(&d, want);
    cfg_diag_fini(&d);

    cfg_diag_init(&d);
    snprintf(path, sizeof(path), "%s/missing.ini", tmpdir);
    assert_null(cfg_load(path, &d));
    snprintf(want, sizeof(want),
             "%s/missing.ini:2: error: %%include %s/nothere.ini: No such file or directory", tmpdir,
             tmpdir);
    assert_line(&d, want);
    cfg_diag_fini(&d);

    cfg_diag_init(&d);
    snprintf(path, sizeof(path), "%s/bad.ini", tmpdir);
    assert_null(cfg_load(path, &d));
    snprintf(want, sizeof(want), "%s/bad.ini:3: error: pool_size = -3: out of range (0..10000)",
             tmpdir);
    assert_line(&d, want);
    cfg_diag_fini(&d);

    cfg_diag_init(&d);
    snprintf(path, sizeof(path), "%s/none.ini", tmpdir);
    assert_null(cfg_load(path, &d));
    snprintf(want, sizeof(want), "%s/none.ini: error: cannot read: No such file or directory",
             tmpdir);
    assert_line(&d, want);
    assert_int_equal(d.errors + d.warnings, 1); /* nothing else about a file never read */
    cfg_diag_fini(&d);

    cfg_diag_init(&d);
    assert_null(cfg_load(tmpdir, &d));
    cfg_diag_fini(&d);

    const char *names[] = {"main.ini", "conf.d/pool.ini", "dbs.ini",
                           "loop.ini", "missing.ini",     "bad.ini"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(sub);
    rmdir(tmpdir);
}

/* ---- SHOW CONFIG, SET, RELOAD, docs --------------------------------------------------- */

struct show_find {
    const char *key;
    char value[256];
    bool reloadable;
};

static void show_find_cb(void *arg, const char *key, const char *value, const char *default_value,
                         bool reloadable)
{
    struct show_find *f = arg;
    (void)default_value;
    if (strcmp(key, f->key) == 0) {
        snprintf(f->value, sizeof(f->value), "%s", value);
        f->reloadable = reloadable;
    }
}

static const char *show(const struct config *c, const char *key, struct show_find *f)
{
    memset(f, 0, sizeof(*f));
    f->key = key;
    cfg_show(c, show_find_cb, f);
    return f->value;
}

static void test_show_set_reload(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct show_find f;
    struct config *c = expect_ok(AUTH "query_wait_timeout = 0.5\nunix_socket_mode = 0700\n"
                                      "auth_type = scram-sha-256\nserver_lifetime = 0.000001\n",
                                 &d);
    cfg_diag_fini(&d);
    assert_string_equal(show(c, "pool_timeout", &f), "0.5");
    assert_true(f.reloadable);
    assert_string_equal(show(c, "server_lifetime", &f), "0.000001");
    assert_string_equal(show(c, "unix_socket_mode", &f), "0700");
    assert_string_equal(show(c, "listen_port", &f), "6432");
    assert_false(f.reloadable);
    assert_string_equal(show(c, "auth_type", &f), "scram-sha-256");
    assert_string_equal(show(c, "auth_file", &f), "");
    assert_string_equal(show(c, "tcp_nodelay", &f), "1");
    assert_string_equal(show(c, "query_wait_timeout", &f), ""); /* aliases are not listed */

    struct config *n = cfg_dup(c);
    assert_non_null(n);
    cfg_diag_init(&d);
    assert_int_equal(cfg_set(n, "POOL_SIZE", "8", &d), 0);
    assert_int_equal(n->default_pool_size, 8);
    assert_int_equal(cfg_set(n, "listen_port", "1", &d), -EPERM);
    assert_int_equal(cfg_set(n, "nope", "1", &d), -ENOENT);
    assert_int_equal(cfg_set(n, "dns_max_ttl", "1", &d), -ENOTSUP);
    assert_int_equal(cfg_set(n, "so_reuseport", "1", &d), -EPERM);
    assert_int_equal(cfg_set(n, "unix_socket_group", "x", &d), -EPERM);
    assert_int_equal(cfg_set(n, "tcp_keepidle", "30", &d), 0); /* new connections get it */
    assert_int_equal(n->tcp_keepidle, 30);
    assert_int_equal(cfg_set(n, "tcp_defer_accept", "0", &d), 0); /* listeners retuned */
    assert_int_equal(cfg_set(n, "pool_size", "x", &d), -EINVAL);
    assert_line(&d, "SET: error: listen_port can only be changed by a restart");
    assert_line(&d, "SET: error: unknown setting \"nope\"");
    assert_line(&d, "SET: warning: lifeguard does not implement \"dns_max_ttl\"");
    assert_line(&d, "SET: error: so_reuseport can only be changed by a restart");
    assert_line(&d, "SET: error: pool_size = x: not an integer");
    cfg_diag_fini(&d);
    cfg_diag_init(&d);
    assert_int_equal(cfg_set(n, "auth_type", "plain", &d), -EINVAL);
    cfg_diag_fini(&d);
    cfg_free(n);

    /* reload: a restart key keeps its old value, with a warning */
    n = expect_ok(AUTH "listen_port = 7000\npool_size = 4\nunix_socket_dir = /run\n", &d);
    cfg_diag_fini(&d);
    cfg_diag_init(&d);
    assert_int_equal(cfg_keep_restart_keys(n, c, &d), 3); /* and unix_socket_mode */
    assert_int_equal(n->listen_port, 6432);
    assert_int_equal(n->unix_socket_mode, 0700);
    assert_string_equal(n->unix_socket_dir, "/tmp");
    assert_int_equal(n->default_pool_size, 4);
    assert_line(&d, "reload: warning: listen_port changed from \"6432\" to \"7000\": needs a "
                    "restart, keeping \"6432\"");
    assert_int_equal(cfg_keep_restart_keys(n, c, &d), 0);
    cfg_diag_fini(&d);
    cfg_free(n);
    cfg_free(c);

    /* a config with sections survives cfg_dup */
    c = expect_ok(real_world_ini, &d);
    cfg_diag_fini(&d);
    n = cfg_dup(c);
    assert_non_null(n);
    assert_int_equal(n->n_dbs, c->n_dbs);
    assert_string_equal(cfg_find_db(n, "forcedb")->password, "foo");
    assert_string_equal(cfg_find_user(n, "user1")->name, "user1");
    assert_string_equal(n->auth_file, c->auth_file);
    assert_ptr_not_equal(n->auth_file, c->auth_file);
    cfg_free(n);
    cfg_free(c);
}

static void test_doc_and_diag(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    cfg_write_doc(f);
    fclose(f);
    assert_non_null(strstr(buf, "# lifeguard configuration reference\n"));
    assert_non_null(strstr(buf, "| `listen_port` | `6432` | restart | TCP port"));
    assert_non_null(strstr(buf, "| `pool_size` | `default_pool_size` |"));
    assert_non_null(strstr(buf, "| `so_reuseport` |"));
    assert_non_null(strstr(buf, "## [databases]"));
    assert_non_null(strstr(buf, "`reserve_pool` is accepted as another name for `max_overflow`"));
    assert_non_null(strstr(buf, "DB_POOL_SIZE"));
    for (const struct cfg_key *k = cfg_keys; k->name; k++) {
        char want[80];
        snprintf(want, sizeof(want), "`%s`", k->name);
        assert_non_null(strstr(buf, want));
    }
    free(buf);

    struct cfg_diag d;
    cfg_diag_init(&d);
    cfg_diag_add(&d, true, NULL, 0, "plain %d", 1);
    cfg_diag_add(&d, false, "f.ini", 12, "warned");
    cfg_diag_add(&d, true, "env", -1, "x");
    assert_string_equal(d.text, "config: error: plain 1\nf.ini:12: warning: warned\n"
                                "env: error: x\n");
    assert_int_equal(d.errors, 2);
    assert_int_equal(d.warnings, 1);
    cfg_diag_fini(&d);
}

/* ---- allocation failures -------------------------------------------------------------- */

static bool scen_parse(void)
{
    struct cfg_diag d;
    cfg_diag_init(&d);
    struct config *c = cfg_parse(real_world_ini, strlen(real_world_ini), "t.ini", &d);
    bool ok = c != NULL;
    if (c) {
        struct config *n = cfg_dup(c);
        ok = n != NULL;
        if (n) {
            char *env[] = {"DB_POOL_SIZE=3", "LIFEGUARD_AUTH_QUERY=SELECT 2", NULL};
            ok = cfg_apply_env(n, env, &d) == 0 && cfg_set(n, "server_check_query", "x", &d) == 0;
            n->listen_port = 1;
            ok = ok && cfg_keep_restart_keys(n, c, &d) == 1;
        }
        cfg_free(n);
    }
    cfg_free(c);
    cfg_diag_fini(&d);
    return ok;
}

static bool scen_errors(void)
{
    struct cfg_diag d;
    const char *text = AUTH "listen_port = 0\nfoo = 1\n[databases]\na = x=1\n";
    cfg_diag_init(&d);
    struct config *c = cfg_parse(text, strlen(text), "t.ini", &d);
    bool ok = c == NULL && d.errors == 3 && !d.oom;
    cfg_free(c);
    cfg_diag_fini(&d);
    return ok;
}

/* Fail allocation 1, 2, 3, ... until @fn succeeds: each failing run must clean up after
 * itself (valgrind checks the rest), and success must not come from a failed allocation. */
static void run_with_each_alloc_failure(scenario_fn *fn)
{
    int64_t live = alloc_live_count();
    for (uint64_t n = 1;; n++) {
        assert_true(n < 100000);
        uint64_t before = alloc_total_count();
        alloc_fail_after(n);
        bool ok = fn();
        alloc_fail_reset();
        assert_int_equal(alloc_live_count(), live);
        if (ok) {
            assert_true(alloc_total_count() - before < n);
            print_message("        %" PRIu64 " allocation failure points, each cleaned up\n",
                          n - 1);
            break;
        }
    }
}

static void test_alloc_failures(void **state)
{
    (void)state;
    run_with_each_alloc_failure(scen_parse);
    run_with_each_alloc_failure(scen_errors);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_defaults),
            cmocka_unit_test(test_aliases),
            cmocka_unit_test(test_types),
            cmocka_unit_test(test_range_errors),
            cmocka_unit_test(test_auth_types),
            cmocka_unit_test(test_syslog_settings),
            cmocka_unit_test(test_sslmode),
            cmocka_unit_test(test_tls_protocols),
            cmocka_unit_test(test_tls_settings),
            cmocka_unit_test(test_errors_collected),
            cmocka_unit_test(test_socket_keys),
            cmocka_unit_test(test_unknown_and_pgbouncer_keys),
            cmocka_unit_test(test_sections_and_syntax),
            cmocka_unit_test(test_databases),
            cmocka_unit_test(test_users),
            cmocka_unit_test(test_list_contains),
            cmocka_unit_test(test_debian_pgbouncer_ini),
            cmocka_unit_test(test_real_world_pgbouncer_ini),
            cmocka_unit_test(test_env),
            cmocka_unit_test(test_load),
            cmocka_unit_test(test_show_set_reload),
            cmocka_unit_test(test_doc_and_diag),
            cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
