/* SPDX-License-Identifier: MIT */
/*
 * main.c: command line, configuration, signals, listeners and the main loop; the
 * only file that sees every module. Runs in the foreground and logs to stderr.
 * die() is allowed only before the listeners open.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "alloc.h"
#include "base.h"
#include "buf.h"
#include "cfg.h"
#include "client.h"
#include "clock.h"
#include "console.h"
#include "daemon.h"
#include "evloop.h"
#include "hba.h"
#include "health.h"
#include "http.h"
#include "log.h"
#include "net.h"
#include "pool.h"
#include "server.h"
#include "stats.h"
#include "strbuf.h"
#include "tls.h"
#include "userlist.h"

#define LIFEGUARD_VERSION "0.1.0"
#define MAX_LISTENERS     16

struct listener {
    int fd;
    bool is_unix;
    bool paused;
};

static struct listener listeners[MAX_LISTENERS];
static int n_listeners;
static struct evloop *g_ev;
static const struct config *g_cfg;
static bool stopping;
static bool draining;           /* SIGINT: wait for servers in use to come back */
static uint64_t drain_deadline; /* 0: no deadline (shutdown_timeout = 0) */
static struct evloop_timer resume_timer;
static struct evloop_timer janitor_timer;

#define JANITOR_PERIOD_US 1000000 /* idle/lifetime/min_pool_size and client timeouts */

static void janitor_cb(struct evloop *ev, void *arg)
{
    (void)arg;
    pool_janitor();
    client_janitor();
    if (evloop_timer_set(ev, &janitor_timer, clock_now_us() + JANITOR_PERIOD_US) < 0)
        log_error("cannot re-arm the janitor timer (out of memory)");
}

LG_NORETURN static void die(const char *fmt, ...) LG_PRINTF(1, 2);
static void visit_pools(void *arg, stats_pool_visit_fn *fn, void *fn_arg)
{
    (void)arg;
    pool_visit(fn, fn_arg);
}

/* Configurations and auth files replaced by RELOAD or SET stay allocated until exit:
 * clients keep pointers into the [databases] entries they logged in with. */
#define MAX_RETIRED 64
static struct config *cur_cfg;
static struct tls_ctx *cur_tls;  /* client side, NULL if client_tls_sslmode = disable */
static struct tls_ctx *cur_stls; /* server side, NULL if server_tls_sslmode = disable */
static int cur_smode;
static struct userlist *cur_ul;
static const char *cfg_path;
static struct config *retired_cfg[MAX_RETIRED];
static struct userlist *retired_ul[MAX_RETIRED];
static int n_retired;

static void apply_log_level(const struct config *cfg, int extra)
{
    int level = LOG_LEVEL_INFO + cfg->verbose + extra;
    log_set_level(level > LOG_LEVEL_NOISE ? LOG_LEVEL_NOISE : (enum log_level)level);
}

/* tcp_defer_accept changed by RELOAD or SET: as PgBouncer, retune the open TCP listeners. */
static void tune_listeners(bool defer_accept)
{
    for (int i = 0; i < n_listeners; i++) {
        int rc = listeners[i].is_unix ? 0 : net_set_defer_accept(listeners[i].fd, defer_accept);
        if (rc < 0)
            log_warn("tcp_defer_accept: cannot change TCP_DEFER_ACCEPT: %s", strerror(-rc));
    }
}

/* Make @next (and @ul) the configuration in force. Fails only if too many are retired. */
static int swap_config(struct config *next, struct userlist *ul, struct lg_err *err)
{
    if (n_retired == MAX_RETIRED) {
        memcpy(err->sqlstate, "54000", 6);
        snprintf(err->msg, sizeof(err->msg), "too many reloads in this process's life (%d)",
                 MAX_RETIRED);
        return -ENOSPC;
    }
    if ((next->tcp_defer_accept != 0) != (cur_cfg->tcp_defer_accept != 0))
        tune_listeners(next->tcp_defer_accept != 0);
    retired_cfg[n_retired] = cur_cfg;
    retired_ul[n_retired] = ul != cur_ul ? cur_ul : NULL;
    n_retired++;
    cur_cfg = next;
    cur_ul = ul;
    g_cfg = next;
    pool_set_config(next);
    client_set_config(next, ul);
    console_set_config(next);
    apply_log_level(next, 0);
    log_set_format((enum log_format)next->log_format);
    log_set_syslog(next->syslog, next->syslog_ident, (enum log_facility)next->syslog_facility);
    return 0;
}

static int diag_fail(struct cfg_diag *diag, struct lg_err *err, const char *what)
{
    if (diag->len)
        log_error("%s:\n%s", what, diag->text);
    memcpy(err->sqlstate, "F0000", 6);
    snprintf(err->msg, sizeof(err->msg), "%s: %d error(s); nothing changed (see the log)", what,
             diag->errors ? diag->errors : 1);
    cfg_diag_fini(diag);
    return -EINVAL;
}

_Static_assert(CFG_TLS_1_0 == TLS_PROTO_1_0 && CFG_TLS_1_1 == TLS_PROTO_1_1 &&
                       CFG_TLS_1_2 == TLS_PROTO_1_2 && CFG_TLS_1_3 == TLS_PROTO_1_3,
               "cfg and tls number TLS versions alike");

static int server_tls_mode(const struct config *cfg)
{
    static const char *const smodes[] = {"disable", "allow",     "prefer",
                                         "require", "verify-ca", "verify-full"};
    static const int smode_map[] = {SERVER_TLS_DISABLE,   SERVER_TLS_PREFER,
                                    SERVER_TLS_PREFER,    SERVER_TLS_REQUIRE,
                                    SERVER_TLS_VERIFY_CA, SERVER_TLS_VERIFY_FULL};
    for (size_t i = 0; i < ARRAY_SIZE(smodes); i++)
        if (cfg->server_tls_sslmode && strcmp(cfg->server_tls_sslmode, smodes[i]) == 0)
            return smode_map[i];
    return SERVER_TLS_DISABLE;
}

static bool client_tls_on(const struct config *cfg)
{
    return cfg->client_tls_sslmode && strcmp(cfg->client_tls_sslmode, "disable") != 0;
}

static bool client_tls_required(const struct config *cfg)
{
    return strcmp(cfg->client_tls_sslmode, "require") == 0 ||
           strncmp(cfg->client_tls_sslmode, "verify", 6) == 0;
}

/* The protocol, cipher and certificate settings of one side of @cfg. The protocol words
 * were checked when @cfg was parsed. */
static struct tls_opts tls_opts_of(const struct config *cfg, bool server_side)
{
    const char *protocols = server_side ? cfg->server_tls_protocols : cfg->client_tls_protocols;
    unsigned mask = 0;
    char why[160];
    if (protocols && cfg_parse_tls_protocols(protocols, &mask, why, sizeof(why)) < 0)
        mask = 0; /* unreachable: cfg refused it; 0 means TLS 1.2 and 1.3 */
    if (server_side)
        return (struct tls_opts){.prefix = "server_tls",
                                 .protocols = mask,
                                 .ciphers = cfg->server_tls_ciphers,
                                 .tls13_ciphers = cfg->server_tls13_ciphers,
                                 .cert_file = cfg->server_tls_cert_file,
                                 .key_file = cfg->server_tls_key_file};
    return (struct tls_opts){.prefix = "client_tls",
                             .protocols = mask,
                             .ciphers = cfg->client_tls_ciphers,
                             .tls13_ciphers = cfg->client_tls13_ciphers,
                             .groups = cfg->client_tls_ecdhcurve,
                             .dheparams = cfg->client_tls_dheparams};
}

/* Build the TLS contexts @cfg asks for: towards clients if client_tls_sslmode is on, towards
 * servers if @smode is. A side that is off gets NULL, but its protocol, cipher and group
 * settings are still checked so a typo is reported now rather than when TLS is turned on.
 * 0, or -EINVAL with the reason (naming the setting) in @err and nothing built. */
static int tls_build(const struct config *cfg, int smode, struct tls_ctx **cl, struct tls_ctx **sv,
                     char *err, size_t errlen)
{
    *cl = *sv = NULL;
    struct tls_opts co = tls_opts_of(cfg, false), so = tls_opts_of(cfg, true);
    if (client_tls_on(cfg)) {
        *cl = tls_ctx_new(cfg->client_tls_cert_file, cfg->client_tls_key_file, &co, err, errlen);
        if (*cl && strncmp(cfg->client_tls_sslmode, "verify", 6) == 0 &&
            tls_ctx_require_client_cert(*cl, cfg->client_tls_ca_file, err, errlen) < 0) {
            tls_ctx_free(*cl);
            *cl = NULL;
        }
        if (!*cl)
            return -EINVAL;
    } else if (tls_opts_check(&co, err, errlen) < 0) {
        return -EINVAL;
    }
    if (smode != SERVER_TLS_DISABLE)
        *sv = tls_client_ctx_new(cfg->server_tls_ca_file, smode >= SERVER_TLS_VERIFY_CA, &so, err,
                                 errlen);
    if (smode != SERVER_TLS_DISABLE ? !*sv : tls_opts_check(&so, err, errlen) < 0) {
        tls_ctx_free(*cl);
        *cl = NULL;
        return -EINVAL;
    }
    return 0;
}

/* Make the contexts from tls_build() the ones new connections use; connections already
 * in TLS keep theirs (OpenSSL reference-counts contexts). */
static void tls_install(const struct config *cfg, struct tls_ctx *cl, struct tls_ctx *sv)
{
    if (cl) {
        client_set_tls(cl, client_tls_required(cfg));
        tls_ctx_free(cur_tls);
        cur_tls = cl;
    }
    if (sv) {
        server_set_tls(sv, cur_smode);
        tls_ctx_free(cur_stls);
        cur_stls = sv;
    }
}

static int do_reload(struct lg_err *err)
{
    struct cfg_diag diag;
    cfg_diag_init(&diag);
    struct config *next = cfg_load(cfg_path, &diag);
    if (!next)
        return diag_fail(&diag, err, "RELOAD failed");
    if (cfg_keep_restart_keys(next, cur_cfg, &diag) < 0) {
        cfg_free(next);
        return diag_fail(&diag, err, "RELOAD failed");
    }
    struct userlist *ul = NULL;
    if (next->auth_file && *next->auth_file) {
        ul = userlist_load(next->auth_file, &diag);
        if (!ul) {
            cfg_free(next);
            return diag_fail(&diag, err, "RELOAD failed (auth_file)");
        }
    }
    /* Certificates are read again (renewed files take effect for new connections;
     * connections already in TLS keep theirs), and protocols and ciphers applied again.
     * sslmode itself needs a restart (cfg_keep_restart_keys put the running one back). */
    struct tls_ctx *ntls = NULL, *nstls = NULL;
    char terr[512];
    if (tls_build(next, cur_smode, &ntls, &nstls, terr, sizeof(terr)) < 0) {
        cfg_diag_add(&diag, true, cfg_path, 0, "%s", terr);
        userlist_free(ul);
        cfg_free(next);
        return diag_fail(&diag, err, "RELOAD failed (TLS)");
    }
    if (diag.len)
        log_warn("RELOAD:\n%s", diag.text);
    cfg_diag_fini(&diag);
    int rc = swap_config(next, ul, err);
    if (rc < 0) {
        tls_ctx_free(ntls);
        tls_ctx_free(nstls);
        cfg_free(next);
        userlist_free(ul);
        return rc;
    }
    tls_install(next, ntls, nstls);
    log_info("configuration reloaded from %s", cfg_path);
    return 0;
}

static int do_set(const char *key, const char *value, struct lg_err *err)
{
    struct cfg_diag diag;
    cfg_diag_init(&diag);
    struct config *next = cfg_dup(cur_cfg);
    if (!next) {
        memcpy(err->sqlstate, "53200", 6);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        cfg_diag_fini(&diag);
        return -ENOMEM;
    }
    int rc = cfg_set(next, key, value, &diag);
    if (rc == -ENOTSUP) { /* a PgBouncer key lifeguard ignores: the console says so */
        cfg_free(next);
        cfg_diag_fini(&diag);
        memcpy(err->sqlstate, "01000", 6);
        snprintf(err->msg, sizeof(err->msg),
                 "SET %.48s: a PgBouncer setting lifeguard does not implement; ignored", key);
        log_warn("%s", err->msg);
        return rc;
    }
    if (rc < 0) {
        cfg_free(next);
        memcpy(err->sqlstate, rc == -ENOENT ? "42704" : rc == -EPERM ? "55P02" : "22023", 6);
        snprintf(err->msg, sizeof(err->msg), "SET %s: %s", key,
                 rc == -ENOENT  ? "unknown setting"
                 : rc == -EPERM ? "takes effect only at restart"
                                : "invalid value");
        cfg_diag_fini(&diag);
        return rc;
    }
    cfg_diag_fini(&diag);
    /* A TLS setting takes effect for new connections now, like on RELOAD; one OpenSSL
     * refuses fails the SET. */
    struct tls_ctx *ntls = NULL, *nstls = NULL;
    bool tls_key =
            strncasecmp(key, "client_tls", 10) == 0 || strncasecmp(key, "server_tls", 10) == 0;
    char terr[512];
    if (tls_key && tls_build(next, cur_smode, &ntls, &nstls, terr, sizeof(terr)) < 0) {
        cfg_free(next);
        memcpy(err->sqlstate, "22023", 6);
        snprintf(err->msg, sizeof(err->msg), "SET %.48s: %.200s", key, terr);
        log_error("SET %s = %s refused: %s", key, value, terr);
        return -EINVAL;
    }
    rc = swap_config(next, cur_ul, err);
    if (rc < 0) {
        tls_ctx_free(ntls);
        tls_ctx_free(nstls);
        cfg_free(next);
        return rc;
    }
    tls_install(next, ntls, nstls);
    log_info("SET %s = %s", key, value);
    return 0;
}

static void request_shutdown(void)
{
    log_info("SHUTDOWN from the admin console");
    stopping = true;
}

static int metrics(void *arg, struct strbuf *body)
{
    (void)arg;
    struct stats_process_snap proc;
    http_process_snap(&proc);
    proc.version = LIFEGUARD_VERSION;
    proc.alloc_live = alloc_live_count();
    proc.client_connections = client_count();
    proc.server_connections = pool_server_count();
    proc.max_client_conn = (uint64_t)g_cfg->max_client_conn;
    return stats_render_prometheus_from(body, visit_pools, NULL, &proc);
}

static void die(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_error("%s", msg);
    exit(1);
}

static void usage(FILE *out)
{
    fprintf(out,
            "lifeguard %s: a PostgreSQL connection pooler\n\n"
            "Usage: lifeguard [OPTIONS] FILE.ini\n\n"
            "Runs in the foreground and logs to stderr (and logfile). SIGINT or SIGTERM stop\n"
            "it; with -d it runs in the background (pidfile and logfile required).\n"
            "The ini file uses PgBouncer's format: [databases], [users], and [lifeguard]\n"
            "(or [pgbouncer]). Settings can be overridden with LIFEGUARD_<KEY> variables.\n\n"
            "Options:\n"
            "  -d, --daemon       run in the background; exits 0 once serving, 1 if it\n"
            "                     could not start\n"
            "  -v, --verbose      more logging (repeat for more)\n"
            "  -q, --quiet        only warnings and errors\n"
            "  -V, --version      print the version and exit\n"
            "  -h, --help         print this help and exit\n"
            "      --check        validate FILE.ini and exit\n"
            "      --config-doc   print the configuration reference (Markdown) and exit\n",
            LIFEGUARD_VERSION);
}

static void on_listener(struct evloop *ev, int fd, void *arg, unsigned events);

static void set_listeners(bool on)
{
    for (int i = 0; i < n_listeners; i++) {
        struct listener *l = &listeners[i];
        if (l->paused == !on)
            continue;
        if (evloop_listener_enable(g_ev, l->fd, on, on_listener, l) < 0)
            log_error("cannot %s listener", on ? "resume" : "pause");
        l->paused = !on;
    }
}

static void resume_cb(struct evloop *ev, void *arg)
{
    (void)ev;
    (void)arg;
    if (!stopping)
        set_listeners(true);
}

static void on_listener(struct evloop *ev, int fd, void *arg, unsigned events)
{
    (void)ev;
    (void)events;
    struct listener *l = arg;
    /* Level-triggered: take a bounded batch, the rest on the next turn. */
    for (int i = 0; i < 64; i++) {
        char peer[64];
        int cfd = net_accept(fd, peer, sizeof(peer));
        if (cfd == -EAGAIN || cfd == -EINTR || cfd == -ECONNABORTED)
            return;
        if (cfd == -EMFILE || cfd == -ENFILE || cfd == -ENOBUFS || cfd == -ENOMEM) {
            /* Out of descriptors: stop accepting briefly instead of spinning on a
             * listener that stays readable; existing clients are untouched. */
            log_error("accept failed: %s; pausing accepts for 1s", strerror(-cfd));
            set_listeners(false);
            if (evloop_timer_set(g_ev, &resume_timer, clock_now_us() + 1000000) < 0)
                set_listeners(true);
            return;
        }
        if (cfd < 0) {
            log_warn("accept failed: %s", strerror(-cfd));
            return;
        }
        if (!l->is_unix) {
            struct net_tcp_opts o;
            server_tcp_opts(g_cfg, &o);
            int rc = net_set_tcp_options(cfd, &o);
            static bool warned; /* the same refusal would repeat for every client */
            if (rc < 0 && !warned)
                log_warn("client %s: cannot set TCP options: %s", peer, strerror(-rc));
            warned |= rc < 0;
        }
        client_accept(cfd, l->is_unix ? "unix" : peer, l->is_unix);
    }
}

static void open_listeners(const struct config *cfg)
{
    if (cfg->listen_addr && *cfg->listen_addr) {
        char *addrs = lg_strdup(cfg->listen_addr);
        if (!addrs)
            die("out of memory");
        char *save = NULL;
        struct net_listen_opts o = {cfg->listen_backlog, cfg->so_reuseport,
                                    cfg->tcp_defer_accept != 0};
        for (char *a = strtok_r(addrs, ", ", &save); a; a = strtok_r(NULL, ", ", &save)) {
            int fds[MAX_LISTENERS];
            int n = net_listen_tcp(a, cfg->listen_port, &o, fds, MAX_LISTENERS - n_listeners);
            if (n == -EADDRINUSE)
                die("cannot listen on %s:%d: %s (another process listens there; two "
                    "lifeguards share a port only if both have so_reuseport = 1)",
                    a, cfg->listen_port, strerror(-n));
            if (n < 0)
                die("cannot listen on %s:%d: %s", a, cfg->listen_port, strerror(-n));
            for (int i = 0; i < n; i++)
                listeners[n_listeners++] = (struct listener){fds[i], false, true};
            log_info("listening on %s:%d%s", a, cfg->listen_port,
                     cfg->so_reuseport ? " (so_reuseport)" : "");
        }
        lg_free(addrs);
    }
    if (cfg->unix_socket_dir && *cfg->unix_socket_dir) {
        if (n_listeners >= MAX_LISTENERS)
            die("too many listeners");
        long gid = -1;
        if (cfg->unix_socket_group && *cfg->unix_socket_group &&
            (gid = net_group_id(cfg->unix_socket_group)) < 0)
            die("unix_socket_group %s: no such group", cfg->unix_socket_group);
        int fd = net_listen_unix(cfg->unix_socket_dir, cfg->listen_port, cfg->unix_socket_mode, gid,
                                 cfg->listen_backlog);
        if (fd == -EPERM && gid >= 0)
            die("unix_socket_group %s: cannot give the Unix socket to it: %s (lifeguard must "
                "run as a member of the group, or as root)",
                cfg->unix_socket_group, strerror(-fd));
        if (fd < 0)
            die("cannot listen on unix socket %s/.s.PGSQL.%d: %s", cfg->unix_socket_dir,
                cfg->listen_port, strerror(-fd));
        listeners[n_listeners++] = (struct listener){fd, true, true};
        log_info("listening on unix socket %s/.s.PGSQL.%d", cfg->unix_socket_dir, cfg->listen_port);
    }
    if (n_listeners == 0)
        die("nothing to listen on: set listen_addr or unix_socket_dir");
    set_listeners(true);
}

static void close_listeners(const struct config *cfg)
{
    for (int i = 0; i < n_listeners; i++) {
        if (!listeners[i].paused)
            evloop_del(g_ev, listeners[i].fd);
        close(listeners[i].fd);
        if (listeners[i].is_unix)
            net_unlink_unix(cfg->unix_socket_dir, cfg->listen_port);
    }
    n_listeners = 0;
}

static void on_signal(struct evloop *ev, int fd, void *arg, unsigned events)
{
    (void)ev;
    (void)arg;
    (void)events;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGINT && !draining) {
            /* Safe shutdown: accept nothing new, start no new transactions, let the ones
             * in progress finish (up to shutdown_timeout), then close everyone. */
            draining = true;
            close_listeners(g_cfg);
            pool_pause(NULL, true);
            if (g_cfg->shutdown_timeout_us)
                drain_deadline = clock_now_us() + g_cfg->shutdown_timeout_us;
            log_info("got SIGINT: waiting for %zu server(s) in use%s (SIGTERM or another "
                     "SIGINT: stop now)",
                     pool_active_count(),
                     g_cfg->shutdown_timeout_us ? ", up to shutdown_timeout" : "");
        } else if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
            log_info("got %s, shutting down", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
            stopping = true;
        } else if (si.ssi_signo == SIGHUP) {
            struct lg_err err;
            log_info("got SIGHUP, reloading %s", cfg_path);
            if (do_reload(&err) < 0)
                log_error("%s", err.msg);
        }
    }
}

static void write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot write pidfile %s: %s", path, strerror(errno));
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
            {"daemon", no_argument, NULL, 'd'},
            {"reboot", no_argument, NULL, 'R'},
            {"verbose", no_argument, NULL, 'v'},
            {"quiet", no_argument, NULL, 'q'},
            {"version", no_argument, NULL, 'V'},
            {"help", no_argument, NULL, 'h'},
            {"check", no_argument, NULL, 'c'},
            {"config-doc", no_argument, NULL, 'D'},
            {NULL, 0, NULL, 0},
    };
    int verbose = 0, quiet = 0, check = 0, daemonize = 0, c;
    while ((c = getopt_long(argc, argv, "dRvqVh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            daemonize = 1;
            break;
        case 'R':
            fprintf(stderr, "lifeguard: online restart (-R, --reboot) is not supported: stop "
                            "the running process (SIGINT lets clients finish) and start a new "
                            "one\n");
            return 2;
        case 'v':
            verbose++;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'V':
            printf("lifeguard %s\n", LIFEGUARD_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case 'c':
            check = 1;
            break;
        case 'D':
            cfg_write_doc(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    struct cfg_diag diag;
    cfg_diag_init(&diag);
    struct config *cfg = cfg_load(path, &diag);
    if (diag.len)
        fputs(diag.text, stderr);
    if (!cfg) {
        fprintf(stderr, "lifeguard: %d error(s) in configuration; not starting\n", diag.errors);
        cfg_diag_fini(&diag);
        return 1;
    }
    cfg_diag_fini(&diag);
    g_cfg = cfg;
    struct userlist *ul = NULL;
    if (cfg->auth_file && *cfg->auth_file) {
        cfg_diag_init(&diag);
        ul = userlist_load(cfg->auth_file, &diag);
        if (diag.len)
            fputs(diag.text, stderr);
        cfg_diag_fini(&diag);
        if (!ul) {
            fprintf(stderr, "lifeguard: cannot read auth_file %s\n", cfg->auth_file);
            cfg_free(cfg);
            return 1;
        }
    }
    if (check) {
        /* certificates, protocols and ciphers as OpenSSL will take them at start */
        struct tls_ctx *ct, *st;
        char terr[512];
        if (tls_build(cfg, server_tls_mode(cfg), &ct, &st, terr, sizeof(terr)) < 0) {
            fprintf(stderr, "lifeguard: %s\n", terr);
            userlist_free(ul);
            cfg_free(cfg);
            return 1;
        }
        tls_ctx_free(ct);
        tls_ctx_free(st);
        printf("configuration OK\n");
        userlist_free(ul);
        cfg_free(cfg);
        return 0;
    }
    int level = LOG_LEVEL_INFO + cfg->verbose + verbose;
    if (quiet)
        level = LOG_LEVEL_WARNING;
    log_set_level(level > LOG_LEVEL_NOISE ? LOG_LEVEL_NOISE : (enum log_level)level);
    log_set_format((enum log_format)cfg->log_format);
    log_set_syslog(cfg->syslog, cfg->syslog_ident, (enum log_facility)cfg->syslog_facility);
    if (cfg->logfile && *cfg->logfile && log_set_file(cfg->logfile) < 0)
        die("cannot open logfile %s", cfg->logfile);
    int ready_fd = -1;
    if (daemonize) {
        /* As PgBouncer: in the background the pidfile is how one stops it, and the
         * logfile the only place its log goes. */
        if (!cfg->pidfile || !*cfg->pidfile)
            die("-d (daemon) needs pidfile set");
        if (!cfg->logfile || !*cfg->logfile)
            die("-d (daemon) needs logfile set");
        char derr[128];
        ready_fd = daemon_start(derr, sizeof(derr)); /* before io_uring: tied to its task */
        if (ready_fd < 0)
            die("cannot run in the background: %s", derr);
    }

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0)
        die("signalfd: %s", strerror(errno));

    g_ev = evloop_new();
    if (!g_ev)
        die("cannot create event loop");
    if (cfg->io_uring) {
        char why[128];
        if (evloop_use_uring(g_ev, why, sizeof(why)) < 0)
            log_warn("io_uring unavailable (%s): using epoll and write()", why);
        else
            log_info("io_uring: sends and readiness batched per loop turn");
    }
    evloop_timer_init(&resume_timer, resume_cb, NULL);
    evloop_timer_init(&janitor_timer, janitor_cb, NULL);
    if (evloop_timer_set(g_ev, &janitor_timer, clock_now_us() + JANITOR_PERIOD_US) < 0)
        die("out of memory");
    if (evloop_add_listener(g_ev, sfd, on_signal, NULL) < 0)
        die("cannot watch signals");
    struct hba *hba = NULL;
    if (cfg->auth_type == AUTH_TYPE_HBA) {
        cfg_diag_init(&diag);
        hba = hba_load(cfg->auth_hba_file, &diag);
        if (diag.len)
            fputs(diag.text, stderr);
        cfg_diag_fini(&diag);
        if (!hba)
            die("cannot use auth_hba_file %s", cfg->auth_hba_file);
        log_info("auth_hba_file %s: %zu rule(s)", cfg->auth_hba_file, hba_count(hba));
    }
    struct tls_ctx *tls = NULL, *stls = NULL;
    int smode = server_tls_mode(cfg);
    char terr[512];
    if (tls_build(cfg, smode, &tls, &stls, terr, sizeof(terr)) < 0)
        die("%s", terr);
    if (tls)
        log_info("TLS for clients: %s (protocols %s)", cfg->client_tls_sslmode,
                 cfg->client_tls_protocols);
    if (stls)
        log_info("TLS to servers: %s (protocols %s)", cfg->server_tls_sslmode,
                 cfg->server_tls_protocols);
    server_set_tls(stls, smode);
    cur_stls = stls;
    cur_smode = smode;
    pool_module_init(g_ev, cfg);
    client_module_init(g_ev, cfg, ul);
    client_set_tls(tls, tls && client_tls_required(cfg));
    cur_tls = tls;
    client_set_hba(hba);
    struct console_hooks hooks = {request_shutdown, do_reload, do_set};
    cur_cfg = cfg;
    cur_ul = ul;
    cfg_path = path;
    console_init(cfg, &hooks);
    open_listeners(cfg);
    if (cfg->http_listen_port > 0) {
        struct http_handlers h = {0};
        h.arg = g_ev;
        h.metrics = metrics;
        h.health_db = health_db;
        h.reuseport = cfg->so_reuseport;
        uint64_t hct = cfg->health_check_timeout_us ? cfg->health_check_timeout_us : 5000000;
        health_init(hct);
        h.handler_timeout_us = hct + 1000000;
        const char *addr = cfg->http_listen_addr && *cfg->http_listen_addr ? cfg->http_listen_addr
                                                                           : "127.0.0.1";
        int rc = http_listen(g_ev, addr, cfg->http_listen_port, &h);
        if (rc < 0)
            die("cannot listen for HTTP on %s:%d: %s", addr, cfg->http_listen_port, strerror(-rc));
        log_info("HTTP (/health, /health/db, /metrics) on %s:%d", addr, cfg->http_listen_port);
    }
    if (cfg->pidfile && *cfg->pidfile)
        write_pidfile(cfg->pidfile);
    char uerr[256];
    if (daemon_switch_user(cfg->unix_user, uerr, sizeof(uerr)) < 0)
        die("%s", uerr);
    log_info("lifeguard %s started (pid %d, uid %d)", LIFEGUARD_VERSION, (int)getpid(),
             (int)geteuid());
    if (ready_fd >= 0)
        daemon_ready(ready_fd);

    while (!stopping) {
        int rc = evloop_run_once(g_ev, draining ? 100000 : 1000000);
        if (rc < 0) {
            log_error("event loop: %s", strerror(-rc));
            break;
        }
        if (draining &&
            (pool_active_count() == 0 || (drain_deadline && clock_now_us() >= drain_deadline))) {
            log_info("shutting down: %zu server(s) still in use", pool_active_count());
            stopping = true;
        }
    }
    close_listeners(cfg);
    http_close();
    client_close_all("lifeguard is shutting down");
    pool_module_fini();
    /* Let deferred frees and the goodbyes run. */
    for (int i = 0; i < 3; i++)
        evloop_run_once(g_ev, 0);
    pool_module_free();
    console_free();
    evloop_timer_cancel(g_ev, &resume_timer);
    evloop_timer_cancel(g_ev, &janitor_timer);
    evloop_del(g_ev, sfd);
    close(sfd);
    evloop_free(g_ev);
    if (cfg->pidfile && *cfg->pidfile)
        unlink(cfg->pidfile);
    userlist_free(cur_ul);
    cfg_free(cur_cfg);
    for (int i = 0; i < n_retired; i++) {
        userlist_free(retired_ul[i]);
        cfg_free(retired_cfg[i]);
    }
    tls_ctx_free(cur_tls);
    tls_ctx_free(cur_stls);
    hba_free(hba);
    buf_cache_flush();
    log_info("lifeguard stopped");
    return 0;
}
