/* SPDX-License-Identifier: MIT */
/*
 * http.c: the HTTP listener. Each connection lives in one of HTTP_MAX_CONNS slots that
 * are allocated on first use and reused, never freed while the listener is open, so a
 * late answer or event can always look at its slot and see the generation moved on.
 * A connection reads one request (bounded by HTTP_MAX_HEAD + HTTP_MAX_BODY), answers
 * it, and then reads the next (keep-alive) or half-closes and drains (lingering close,
 * so the client sees the answer rather than a reset). Buffers of closed connections
 * are released at the end of the loop turn, never under the caller's feet.
 */
#include "http.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "evloop.h"
#include "httpparse.h"
#include "log.h"
#include "net.h"
#include "stats.h"
#include "strbuf.h"

#define IN_BYTES        (HTTP_MAX_HEAD + HTTP_MAX_BODY)
#define MAX_LISTENERS   8
#define ACCEPT_BATCH    32
#define ACCEPT_RETRY_US (100ull * 1000)

enum conn_state {
    CONN_FREE = 0, /* slot unused */
    CONN_READING,  /* waiting for (the rest of) a request */
    CONN_HANDLING, /* health_db running; waiting for http_respond */
    CONN_WRITING,  /* sending head + body */
    CONN_LINGER,   /* answer sent, write side shut: discard input until EOF */
    CONN_CLOSED,   /* fd closed, buffers released at end of turn */
};

struct http_conn {
    enum conn_state state;
    uint32_t slot, gen;
    int fd;
    bool can_read, can_write;
    bool peer_eof;    /* read returned 0 */
    bool keep_alive;  /* of the request being answered */
    bool head_only;   /* HEAD: send no body */
    bool req_started; /* bytes of the next request have arrived (read deadline armed) */
    bool in_dispatch; /* a handler is running on this connection */
    char *in;         /* IN_BYTES, allocated at accept */
    size_t in_len;
    char head[512]; /* status line and headers of the answer */
    size_t head_len, head_off;
    struct strbuf body; /* bounded at HTTP_MAX_RESPONSE */
    size_t body_off;
    struct evloop_timer timer; /* the one deadline of the current state */
};

static struct {
    struct evloop *ev;
    struct http_handlers h;
    int lfds[MAX_LISTENERS];
    int n_lfds;
    int port;
    bool listening, accept_paused, reap_queued;
    struct evloop_timer accept_retry;
    struct http_conn *slots[HTTP_MAX_CONNS];
} M = {.port = -1};

static void conn_run(struct http_conn *c);
static void on_accept(struct evloop *ev, int fd, void *arg, unsigned events);

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Status";
    }
}

/* ---- teardown ---- */

static void reap(struct evloop *ev, void *arg)
{
    (void)ev;
    (void)arg;
    M.reap_queued = false;
    for (size_t i = 0; i < HTTP_MAX_CONNS; i++) {
        struct http_conn *c = M.slots[i];
        if (!c || c->state != CONN_CLOSED)
            continue;
        lg_free(c->in);
        c->in = NULL;
        strbuf_fini(&c->body);
        c->state = CONN_FREE;
    }
}

static void conn_close(struct http_conn *c)
{
    if (c->state == CONN_FREE || c->state == CONN_CLOSED)
        return;
    evloop_timer_cancel(M.ev, &c->timer);
    evloop_del(M.ev, c->fd);
    close(c->fd);
    c->fd = -1;
    c->gen++;
    c->state = CONN_CLOSED;
    if (!M.reap_queued && evloop_defer(M.ev, reap, NULL) == 0)
        M.reap_queued = true;
    /* If defer failed, the next accept reaps (it runs outside every connection). */
}

static void arm(struct http_conn *c, uint64_t after_us)
{
    if (evloop_timer_set(M.ev, &c->timer, clock_now_us() + after_us) < 0)
        conn_close(c); /* no deadline possible: do not keep the connection */
}

static uint64_t read_timeout(void)
{
    return M.h.read_timeout_us ? M.h.read_timeout_us : HTTP_READ_TIMEOUT_US;
}

/* ---- answers ---- */

/* Queue an answer in c->head (+ c->body, already filled) and switch to WRITING. */
static void start_answer(struct http_conn *c, int status, const char *content_type,
                         const char *extra_headers)
{
    if (strbuf_status(&c->body) < 0) {
        log_warn("http: response body failed (%d), answering 500", strbuf_status(&c->body));
        strbuf_reset(&c->body);
        strbuf_puts(&c->body, "response too large\n");
        status = 500;
        content_type = "text/plain; charset=utf-8";
    }
    int n = snprintf(c->head, sizeof(c->head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: %s\r\n%s\r\n",
                     status, reason(status), content_type, c->body.len,
                     c->keep_alive ? "keep-alive" : "close", extra_headers ? extra_headers : "");
    c->head_len = (n > 0 && (size_t)n < sizeof(c->head)) ? (size_t)n : 0;
    c->head_off = 0;
    c->body_off = 0;
    if (c->head_only || !c->head_len)
        c->body.len = 0;
    if (!c->head_len) {
        conn_close(c);
        return;
    }
    c->state = CONN_WRITING;
    arm(c, HTTP_WRITE_TIMEOUT_US);
}

static void answer_text(struct http_conn *c, int status, const char *text, const char *extra)
{
    strbuf_reset(&c->body);
    strbuf_puts(&c->body, text);
    start_answer(c, status, "text/plain; charset=utf-8", extra);
}

static struct http_conn *lookup(struct http_req req)
{
    if (req.slot >= HTTP_MAX_CONNS || !M.slots[req.slot])
        return NULL;
    struct http_conn *c = M.slots[req.slot];
    return c->gen == req.gen ? c : NULL;
}

int http_respond(struct http_req req, int status, const char *content_type, const char *body,
                 size_t len)
{
    struct http_conn *c = lookup(req);
    if (!c || c->state != CONN_HANDLING)
        return -ESTALE;
    c->gen++; /* this handle is used up */
    strbuf_reset(&c->body);
    strbuf_append(&c->body, body, len);
    int rc = strbuf_status(&c->body);
    start_answer(c, status, content_type ? content_type : "application/json", NULL);
    if (!c->in_dispatch)
        conn_run(c);
    return rc;
}

/* ---- requests ---- */

static void dispatch(struct http_conn *c, const struct http_request *r)
{
    c->keep_alive = r->keep_alive && !c->peer_eof;
    c->head_only = r->method == HTTP_METHOD_HEAD;
    c->req_started = false;
    strbuf_reset(&c->body);
    if (r->method != HTTP_METHOD_GET && r->method != HTTP_METHOD_HEAD) {
        answer_text(c, 405, "method not allowed\n", "Allow: GET, HEAD\r\n");
        return;
    }
    if (http_str_eq(r->path, "/health")) {
        int status = 200;
        if (M.h.health)
            status = M.h.health(M.h.arg, &c->body);
        else
            strbuf_puts(&c->body, "{\"status\":\"ok\"}\n");
        start_answer(c, status, "application/json", NULL);
    } else if (http_str_eq(r->path, "/metrics") && M.h.metrics) {
        int rc = M.h.metrics(M.h.arg, &c->body);
        if (rc < 0) {
            log_warn("http: /metrics failed: %s", strerror(-rc));
            answer_text(c, 500, "metrics unavailable\n", NULL);
        } else {
            start_answer(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL);
        }
    } else if (http_str_eq(r->path, "/health/db") && M.h.health_db) {
        char pool[256];
        int rc = http_query_param(r->query, "pool", pool, sizeof(pool));
        if (rc < 0 && rc != -ENOENT) {
            answer_text(c, 400, "bad pool parameter\n", NULL);
            return;
        }
        c->state = CONN_HANDLING;
        arm(c, M.h.handler_timeout_us ? M.h.handler_timeout_us : HTTP_HANDLER_TIMEOUT_US);
        if (c->state != CONN_HANDLING)
            return;
        struct http_req req = {.slot = c->slot, .gen = c->gen};
        c->in_dispatch = true;
        M.h.health_db(M.h.arg, req, rc >= 0 ? pool : NULL);
        c->in_dispatch = false;
    } else {
        answer_text(c, 404, "not found\n", NULL);
    }
}

static void parse_error(struct http_conn *c, int rc)
{
    c->keep_alive = false;
    c->head_only = false;
    switch (rc) {
    case -EPROTONOSUPPORT:
        answer_text(c, 505, "HTTP version not supported\n", NULL);
        break;
    case -EMSGSIZE:
        answer_text(c, 431, "request header too large\n", NULL);
        break;
    case -EFBIG:
        answer_text(c, 413, "request body too large\n", NULL);
        break;
    default:
        answer_text(c, 400, "bad request\n", NULL);
    }
}

/* Read what is available into c->in. 1 read something, 0 nothing more now, -1 closed. */
static int fill(struct http_conn *c)
{
    if (!c->can_read || c->peer_eof || c->in_len == IN_BYTES)
        return 0;
    ssize_t r = net_read(c->fd, c->in + c->in_len, IN_BYTES - c->in_len);
    if (r > 0) {
        c->in_len += (size_t)r;
        return 1;
    }
    if (r == 0) {
        c->peer_eof = true;
        return 1;
    }
    if (r == -EAGAIN) {
        c->can_read = false;
        return 0;
    }
    conn_close(c); /* reset by peer or another socket error: nobody to answer */
    return -1;
}

static void consume(struct http_conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

/* Write head then body. 1 all sent, 0 would block, -1 closed. */
static int flush(struct http_conn *c)
{
    while (c->can_write) {
        const char *p;
        size_t left;
        if (c->head_off < c->head_len) {
            p = c->head + c->head_off;
            left = c->head_len - c->head_off;
        } else if (c->body_off < c->body.len) {
            p = c->body.data + c->body_off;
            left = c->body.len - c->body_off;
        } else {
            return 1;
        }
        ssize_t w = net_write(c->fd, p, left);
        if (w == -EAGAIN) {
            c->can_write = false;
            return 0;
        }
        if (w <= 0) {
            conn_close(c);
            return -1;
        }
        if (c->head_off < c->head_len)
            c->head_off += (size_t)w;
        else
            c->body_off += (size_t)w;
    }
    return 0;
}

static void conn_run(struct http_conn *c)
{
    int linger_reads = 0;
    for (;;) {
        switch (c->state) {
        case CONN_READING: {
            if (c->in_len) {
                struct http_request r;
                int rc = http_parse_request(c->in, c->in_len, &r);
                if (rc < 0) {
                    parse_error(c, rc);
                    continue;
                }
                if (rc > 0) {
                    dispatch(c, &r);
                    /* The request's slices are dead now; handlers copied what they kept. */
                    consume(c, (size_t)rc);
                    continue;
                }
            }
            if (c->peer_eof) {
                conn_close(c); /* EOF between requests, or in the middle of one */
                return;
            }
            size_t before = c->in_len;
            int f = fill(c);
            if (f <= 0)
                return;
            if (before == 0 && c->in_len > 0 && !c->req_started) {
                c->req_started = true; /* the request must be complete within the deadline */
                arm(c, read_timeout());
            }
            continue;
        }
        case CONN_HANDLING: {
            /* Keep reading (pipelined bytes are kept) only to notice a reset. */
            int f = fill(c);
            if (f <= 0)
                return;
            continue;
        }
        case CONN_WRITING: {
            int f = flush(c);
            if (f <= 0)
                return;
            strbuf_fini(&c->body); /* a /metrics body can be megabytes: give it back */
            if (c->keep_alive && !c->peer_eof) {
                c->state = CONN_READING;
                arm(c, c->in_len ? read_timeout() : HTTP_IDLE_TIMEOUT_US);
                c->req_started = c->in_len > 0;
            } else {
                shutdown(c->fd, SHUT_WR);
                c->state = CONN_LINGER;
                c->in_len = 0;
                arm(c, HTTP_LINGER_US);
            }
            continue;
        }
        case CONN_LINGER: {
            /* Discard, but a client streaming at us must not hold the loop: after 64
             * reads in one go the linger deadline decides. */
            if (++linger_reads > 64)
                return;
            c->in_len = 0;
            int f = fill(c);
            if (f < 0)
                return;
            if (c->peer_eof) {
                conn_close(c);
                return;
            }
            if (f == 0)
                return;
            continue;
        }
        default:
            return;
        }
    }
}

static void on_io(struct evloop *ev, int fd, void *arg, unsigned events)
{
    (void)ev;
    (void)fd;
    struct http_conn *c = arg;
    if (events & EVLOOP_READ)
        c->can_read = true;
    if (events & EVLOOP_WRITE)
        c->can_write = true;
    conn_run(c);
}

static void on_timer(struct evloop *ev, void *arg)
{
    (void)ev;
    struct http_conn *c = arg;
    if (c->state == CONN_HANDLING) {
        c->gen++; /* a late http_respond is now a no-op */
        c->keep_alive = false;
        strbuf_reset(&c->body);
        strbuf_puts(&c->body, "{\"status\":\"fail\",\"error\":\"timeout\"}\n");
        start_answer(c, 504, "application/json", NULL);
        conn_run(c);
        return;
    }
    if (c->state == CONN_READING && c->req_started) {
        /* A slow or stalled request: say so, then close. */
        c->keep_alive = false;
        c->head_only = false;
        answer_text(c, 408, "request timeout\n", NULL);
        conn_run(c);
        return;
    }
    conn_close(c); /* idle keep-alive, stalled write, linger over */
}

/* ---- accepting ---- */

static struct http_conn *slot_get(void)
{
    for (uint32_t i = 0; i < HTTP_MAX_CONNS; i++) {
        struct http_conn *c = M.slots[i];
        if (c && c->state == CONN_CLOSED && !M.reap_queued)
            reap(M.ev, NULL); /* a failed defer left buffers behind */
        if (!c) {
            c = lg_calloc(1, sizeof(*c));
            if (!c)
                return NULL;
            c->slot = i;
            c->fd = -1;
            evloop_timer_init(&c->timer, on_timer, c);
            strbuf_init(&c->body, HTTP_MAX_RESPONSE);
            M.slots[i] = c;
        }
        if (c->state == CONN_FREE)
            return c;
    }
    return NULL;
}

static void accept_resume(struct evloop *ev, void *arg)
{
    (void)arg;
    for (int i = 0; i < M.n_lfds; i++)
        if (evloop_listener_enable(ev, M.lfds[i], true, on_accept, NULL) < 0)
            log_warn("http: cannot resume accepting on fd %d", M.lfds[i]);
    M.accept_paused = false;
}

static void accept_pause(int err)
{
    log_warn("http: accept failed (%s); pausing the listener for %llu ms", strerror(-err),
             (unsigned long long)(ACCEPT_RETRY_US / 1000));
    for (int i = 0; i < M.n_lfds; i++)
        (void)evloop_listener_enable(M.ev, M.lfds[i], false, on_accept, NULL);
    M.accept_paused = true;
    if (evloop_timer_set(M.ev, &M.accept_retry, clock_now_us() + ACCEPT_RETRY_US) < 0)
        accept_resume(M.ev, NULL);
}

static void on_accept(struct evloop *ev, int lfd, void *arg, unsigned events)
{
    (void)arg;
    (void)events;
    for (int k = 0; k < ACCEPT_BATCH && !M.accept_paused; k++) {
        char peer[128];
        int fd = net_accept(lfd, peer, sizeof(peer));
        if (fd == -EAGAIN || fd == -ECONNABORTED || fd == -EINTR)
            return;
        if (fd < 0) {
            accept_pause(fd); /* EMFILE and friends: retry later, do not spin */
            return;
        }
        struct http_conn *c = slot_get();
        if (!c) {
            log_warn("http: %d connections open, refusing %s", HTTP_MAX_CONNS, peer);
            close(fd);
            continue;
        }
        c->in = lg_malloc(IN_BYTES);
        if (!c->in || evloop_add(ev, fd, on_io, c) < 0) {
            log_warn("http: out of memory accepting %s", peer);
            lg_free(c->in);
            c->in = NULL;
            close(fd);
            continue;
        }
        c->fd = fd;
        c->state = CONN_READING;
        c->in_len = 0;
        c->can_read = c->can_write = false;
        c->peer_eof = c->keep_alive = c->head_only = c->in_dispatch = false;
        c->req_started = false;
        strbuf_reset(&c->body);
        arm(c, read_timeout());
    }
}

int http_listen(struct evloop *ev, const char *addr, int port, const struct http_handlers *h)
{
    if (M.listening)
        return -EALREADY;
    struct net_listen_opts o = {.backlog = 128, .reuseport = h->reuseport};
    int n = net_listen_tcp(addr, port, &o, M.lfds, MAX_LISTENERS);
    if (n < 0)
        return n;
    M.n_lfds = n;
    M.ev = ev;
    M.h = *h;
    evloop_timer_init(&M.accept_retry, accept_resume, NULL);
    for (int i = 0; i < n; i++) {
        int rc = evloop_add_listener(ev, M.lfds[i], on_accept, NULL);
        if (rc < 0) {
            for (int j = 0; j < n; j++) {
                if (j < i)
                    evloop_del(ev, M.lfds[j]);
                close(M.lfds[j]);
            }
            M.n_lfds = 0;
            return rc;
        }
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    M.port = port;
    if (getsockname(M.lfds[0], (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            M.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            M.port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    M.listening = true;
    return 0;
}

int http_port(void)
{
    return M.listening ? M.port : -1;
}

void http_close(void)
{
    if (!M.listening)
        return;
    for (int i = 0; i < M.n_lfds; i++) {
        if (!M.accept_paused)
            evloop_del(M.ev, M.lfds[i]);
        close(M.lfds[i]);
    }
    evloop_timer_cancel(M.ev, &M.accept_retry);
    for (size_t i = 0; i < HTTP_MAX_CONNS; i++) {
        struct http_conn *c = M.slots[i];
        if (!c)
            continue;
        conn_close(c);
        lg_free(c->in);
        strbuf_fini(&c->body);
        lg_free(c);
        M.slots[i] = NULL;
    }
    /* A reap may still be queued on the loop: it finds no slots and does nothing. */
    M.n_lfds = 0;
    M.listening = false;
    M.accept_paused = false;
    M.port = -1;
}

/* ---- process numbers for /metrics ---- */

static uint64_t start_time_unix_us(unsigned long long start_ticks, long hz)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long long btime = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "btime %llu", &btime) == 1)
            break;
    fclose(f);
    if (!btime || hz <= 0)
        return 0;
    return btime * 1000000ull + start_ticks * 1000000ull / (unsigned long long)hz;
}

void http_process_snap(struct stats_process_snap *out)
{
    long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/stat", "r");
    if (f) {
        char buf[1024];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* Fields after the command name, which may hold spaces and parentheses. */
        char *p = strrchr(buf, ')');
        unsigned long long utime, stime, start, vsize, rss;
        if (p && hz > 0 &&
            sscanf(p + 2,
                   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
                   "%*d %llu %llu %llu",
                   &utime, &stime, &start, &vsize, &rss) == 5) {
            out->cpu_us = (utime + stime) * 1000000ull / (unsigned long long)hz;
            out->virtual_bytes = vsize;
            out->resident_bytes = rss * (unsigned long long)(page > 0 ? page : 4096);
            static uint64_t start_us; /* constant for the process: read /proc/stat once */
            if (!start_us)
                start_us = start_time_unix_us(start, hz);
            out->start_time_unix_us = start_us;
        }
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        uint64_t k = 0;
        for (struct dirent *e; (e = readdir(d));)
            if (e->d_name[0] != '.')
                k++;
        closedir(d);
        out->open_fds = k ? k - 1 : 0; /* minus the directory's own fd */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        out->max_fds = rl.rlim_cur == RLIM_INFINITY ? 0 : (uint64_t)rl.rlim_cur;
}
