/* SPDX-License-Identifier: MIT */
/*
 * test_http.c: tests for http.c over real loopback sockets and a real event loop:
 * /health with keep-alive and pipelining, HEAD, 404, 405, 400/431 followed by a close,
 * HTTP/1.0 closing, /metrics, /health/db answered later, at once, after the handler
 * deadline (504) and after the client reset the connection (stale handle, no crash),
 * and the read deadline for a stalled request (408). Not a test of the request parser
 * (test_httpparse.c) or of what the handlers compute (main.c).
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "base.h"
#include "clock.h"
#include "evloop.h"
#include "stats.h"
#include "strbuf.h"

static struct evloop *ev;
static struct http_req saved;
static int n_db_calls;
static char last_filter[64];
static bool respond_now;

static int h_metrics(void *arg, struct strbuf *body)
{
    (void)arg;
    strbuf_puts(body, "# HELP x y\n# TYPE x gauge\nx 1\n");
    return 0;
}

static void h_health_db(void *arg, struct http_req req, const char *filter)
{
    (void)arg;
    n_db_calls++;
    saved = req;
    snprintf(last_filter, sizeof(last_filter), "%s", filter ? filter : "(all)");
    if (respond_now)
        assert_int_equal(http_respond(req, 200, NULL, "{\"now\":1}", 9), 0);
}

static int setup_loop(bool uring)
{
    ev = evloop_new();
    assert_non_null(ev);
    if (uring) {
        /* The io_uring loop (readiness from multishot polls, removal by cancel) must
         * serve the same requests; a kernel without it is a failure here, not a skip:
         * lifeguard's CI machines have it. */
        char why[128];
        int rc = evloop_use_uring(ev, why, sizeof(why));
        if (rc < 0)
            fail_msg("io_uring: %s", why);
    }
    struct http_handlers h = {.metrics = h_metrics,
                              .health_db = h_health_db,
                              .handler_timeout_us = 200000,
                              .read_timeout_us = 200000};
    assert_int_equal(http_listen(ev, "127.0.0.1", 0, &h), 0);
    assert_true(http_port() > 0);
    assert_int_equal(http_listen(ev, "127.0.0.1", 0, &h), -EALREADY);
    n_db_calls = 0;
    respond_now = false;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    return setup_loop(false);
}

static int setup_uring(void **state)
{
    (void)state;
    return setup_loop(true);
}

static int teardown(void **state)
{
    (void)state;
    http_close();
    assert_int_equal(http_port(), -1);
    evloop_run_once(ev, 0); /* deferred work left by closes */
    evloop_free(ev);
    ev = NULL;
    return 0;
}

static int client(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_port())};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN) {
            evloop_run_once(ev, 1000);
            continue;
        }
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

struct resp {
    int status;
    char head[2048];
    char body[4096];
    size_t body_len;
    bool eof; /* the server closed after (or instead of) answering */
};

/* Turn the loop until one whole response (or EOF) arrived on @fd, at most @ms. Bytes
 * past it stay in @pend for the next call. */
static char pend[16384];
static size_t pend_len;

static bool take_response(struct resp *r)
{
    char *end = memmem(pend, pend_len, "\r\n\r\n", 4);
    if (!end)
        return false;
    size_t hl = (size_t)(end - pend) + 4;
    char *cl = memmem(pend, hl, "Content-Length: ", 16);
    assert_non_null(cl);
    size_t blen = strtoul(cl + 16, NULL, 10);
    bool head_only = strstr(r->head, "HEAD") != NULL;
    if (head_only)
        blen = 0;
    if (pend_len < hl + blen)
        return false;
    memcpy(r->head, pend, hl);
    r->head[hl] = '\0';
    memcpy(r->body, pend + hl, blen);
    r->body[blen] = '\0';
    r->body_len = blen;
    r->status = atoi(pend + 9);
    memmove(pend, pend + hl + blen, pend_len - hl - blen);
    pend_len -= hl + blen;
    return true;
}

static void await(int fd, struct resp *r, int ms, bool head_only)
{
    memset(r, 0, sizeof(*r));
    if (head_only)
        snprintf(r->head, sizeof(r->head), "HEAD");
    uint64_t until = clock_update() + (uint64_t)ms * 1000;
    while (clock_update() < until) {
        if (take_response(r))
            return;
        ssize_t n = recv(fd, pend + pend_len, sizeof(pend) - pend_len, 0);
        if (n > 0) {
            pend_len += (size_t)n;
            continue;
        }
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            r->eof = true;
            return;
        }
        evloop_run_once(ev, 5000);
    }
}

static void await_eof(int fd, int ms)
{
    struct resp r;
    await(fd, &r, ms, false);
    assert_int_equal(r.status, 0);
    assert_true(r.eof);
}

static void test_health_keep_alive_and_pipelining(void **state)
{
    (void)state;
    pend_len = 0;
    int fd = client();
    struct resp r;
    const char *req = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(fd, req, strlen(req));
    await(fd, &r, 2000, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}\n");
    assert_non_null(strstr(r.head, "Connection: keep-alive\r\n"));
    assert_non_null(strstr(r.head, "Content-Type: application/json\r\n"));
    char two[256];
    snprintf(two, sizeof(two), "%sGET /nope HTTP/1.1\r\n\r\nHEAD /health HTTP/1.1\r\n\r\n", req);
    send_all(fd, two, strlen(two));
    await(fd, &r, 2000, false);
    assert_int_equal(r.status, 200);
    await(fd, &r, 2000, false);
    assert_int_equal(r.status, 404);
    await(fd, &r, 2000, true);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    assert_non_null(strstr(r.head, "Content-Length: 16\r\n"));
    close(fd);
}

static void test_errors_close_the_connection(void **state)
{
    (void)state;
    static const struct {
        const char *req;
        int status;
    } cases[] = {
            {"POST /health HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 405},
            {"G\x01T / HTTP/1.1\r\n\r\n", 400},
            {"GET / HTTP/3.0\r\n\r\n", 505},
            {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
            {"GET / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", 413},
            {"GET /health HTTP/1.0\r\n\r\n", 200},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        pend_len = 0;
        int fd = client();
        send_all(fd, cases[i].req, strlen(cases[i].req));
        struct resp r;
        await(fd, &r, 2000, false);
        assert_int_equal(r.status, cases[i].status);
        assert_non_null(strstr(r.head, "Connection: close\r\n"));
        if (cases[i].status == 405)
            assert_non_null(strstr(r.head, "Allow: GET, HEAD\r\n"));
        await_eof(fd, 2000);
        close(fd);
    }
    /* A 9000-byte header. */
    pend_len = 0;
    int fd = client();
    static char big[9100];
    int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: ");
    memset(big + n, 'a', 9000);
    memcpy(big + n + 9000, "\r\n\r\n", 4);
    send_all(fd, big, (size_t)n + 9004);
    struct resp r;
    await(fd, &r, 2000, false);
    assert_int_equal(r.status, 431);
    await_eof(fd, 2000);
    close(fd);
}

static void test_metrics(void **state)
{
    (void)state;
    pend_len = 0;
    int fd = client();
    const char *req = "GET /metrics HTTP/1.1\r\n\r\n";
    send_all(fd, req, strlen(req));
    struct resp r;
    await(fd, &r, 2000, false);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    assert_string_equal(r.body, "# HELP x y\n# TYPE x gauge\nx 1\n");
    close(fd);
}

static void test_health_db_answered_later_and_at_once(void **state)
{
    (void)state;
    pend_len = 0;
    int fd = client();
    const char *req = "GET /health/db?pool=app%2Falice HTTP/1.1\r\n\r\n";
    send_all(fd, req, strlen(req));
    struct resp r;
    await(fd, &r, 50, false); /* nothing yet: the handler has not answered */
    assert_int_equal(r.status, 0);
    assert_int_equal(n_db_calls, 1);
    assert_string_equal(last_filter, "app/alice");
    assert_int_equal(http_respond(saved, 503, "application/json", "{\"status\":\"fail\"}", 17), 0);
    assert_int_equal(http_respond(saved, 200, NULL, "x", 1), -ESTALE); /* used up */
    await(fd, &r, 2000, false);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "{\"status\":\"fail\"}");
    respond_now = true;
    const char *all = "GET /health/db HTTP/1.1\r\n\r\n";
    send_all(fd, all, strlen(all));
    await(fd, &r, 2000, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"now\":1}");
    assert_string_equal(last_filter, "(all)");
    const char *bad = "GET /health/db?pool=%zz HTTP/1.1\r\n\r\n";
    send_all(fd, bad, strlen(bad));
    await(fd, &r, 2000, false);
    assert_int_equal(r.status, 400);
    close(fd);
}

static void test_health_db_deadline_and_reset(void **state)
{
    (void)state;
    pend_len = 0;
    int fd = client();
    const char *req = "GET /health/db HTTP/1.1\r\n\r\n";
    send_all(fd, req, strlen(req));
    struct resp r;
    await(fd, &r, 2000, false); /* handler_timeout_us = 200 ms */
    assert_int_equal(r.status, 504);
    assert_int_equal(http_respond(saved, 200, NULL, "late", 4), -ESTALE);
    await_eof(fd, 2000);
    close(fd);

    /* The client resets the connection while the check runs. */
    pend_len = 0;
    fd = client();
    send_all(fd, req, strlen(req));
    uint64_t until = clock_update() + 2000000;
    int calls = n_db_calls;
    while (n_db_calls == calls && clock_update() < until)
        evloop_run_once(ev, 5000);
    assert_int_equal(n_db_calls, calls + 1);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd); /* RST */
    for (int i = 0; i < 20; i++)
        evloop_run_once(ev, 1000);
    assert_int_equal(http_respond(saved, 200, NULL, "gone", 4), -ESTALE);
    for (int i = 0; i < 5; i++)
        evloop_run_once(ev, 1000);
}

static void test_stalled_request_gets_408(void **state)
{
    (void)state;
    pend_len = 0;
    int fd = client();
    send_all(fd, "GET /hea", 8);
    struct resp r;
    await(fd, &r, 2000, false); /* read_timeout_us = 200 ms */
    assert_int_equal(r.status, 408);
    await_eof(fd, 2000);
    close(fd);
}

static void test_process_snap(void **state)
{
    (void)state;
    struct stats_process_snap s = {0};
    http_process_snap(&s);
    assert_true(s.open_fds >= 3);
    assert_true(s.max_fds >= s.open_fds);
    assert_true(s.resident_bytes > 0);
    assert_true(s.virtual_bytes >= s.resident_bytes);
    assert_true(s.start_time_unix_us > 1600000000ull * 1000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_health_keep_alive_and_pipelining, setup, teardown),
            cmocka_unit_test_setup_teardown(test_errors_close_the_connection, setup, teardown),
            cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
            cmocka_unit_test_setup_teardown(test_health_db_answered_later_and_at_once, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_health_db_deadline_and_reset, setup, teardown),
            cmocka_unit_test_setup_teardown(test_stalled_request_gets_408, setup, teardown),
            cmocka_unit_test(test_process_snap),
            cmocka_unit_test_setup_teardown(test_health_keep_alive_and_pipelining, setup_uring,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_errors_close_the_connection, setup_uring,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_metrics, setup_uring, teardown),
            cmocka_unit_test_setup_teardown(test_health_db_answered_later_and_at_once, setup_uring,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_health_db_deadline_and_reset, setup_uring,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_stalled_request_gets_408, setup_uring, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    return rc || alloc_live_count() != 0;
}
