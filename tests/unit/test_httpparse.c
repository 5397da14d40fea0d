/* SPDX-License-Identifier: MIT */
/*
 * test_httpparse.c: unit tests for httpparse.c: a valid GET and every prefix of it
 * (need more, never an error), exact consumption with pipelining and bodies, the
 * keep-alive rules of 1.0 and 1.1, each rejection the header names (malformed line,
 * version, Transfer-Encoding, conflicting Content-Length, obs-fold, oversize head at
 * exactly the bound, too many headers, early garbage), and query parameter decoding.
 * Not a test of the listener that feeds it (http.c).
 */
#include "httpparse.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base.h"

static int parse(const char *s, struct http_request *r)
{
    return http_parse_request(s, strlen(s), r);
}

static int parse_err(const char *s)
{
    struct http_request r;
    return parse(s, &r);
}

static void test_simple_get(void **state)
{
    (void)state;
    const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n";
    struct http_request r;
    assert_int_equal(parse(req, &r), (int)strlen(req));
    assert_int_equal(r.method, HTTP_METHOD_GET);
    assert_true(http_str_eq(r.method_str, "GET"));
    assert_true(http_str_eq(r.path, "/metrics"));
    assert_int_equal(r.query.n, 0);
    assert_int_equal(r.minor_version, 1);
    assert_true(r.keep_alive);
    assert_false(r.has_content_length);
    assert_int_equal(r.n_headers, 2);
    assert_int_equal(r.head_len, strlen(req));
}

static void test_every_prefix_needs_more(void **state)
{
    (void)state;
    const char *req = "GET /health/db?pool=a%2Fb HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                      "\r\nabc";
    size_t n = strlen(req);
    struct http_request r;
    for (size_t i = 0; i < n; i++) {
        char *copy = malloc(i + 1); /* exact-size copy so valgrind sees overreads */
        memcpy(copy, req, i);
        assert_int_equal(http_parse_request(copy, i, &r), 0);
        free(copy);
    }
    assert_int_equal(http_parse_request(req, n, &r), (int)n);
    assert_true(http_str_eq(r.path, "/health/db"));
    assert_true(http_str_eq(r.query, "pool=a%2Fb"));
    assert_int_equal(r.content_length, 3);
    assert_int_equal(r.head_len, n - 3);
}

static void test_pipelined_consumes_one(void **state)
{
    (void)state;
    const char *one = "GET /a HTTP/1.1\r\n\r\n";
    char two[128];
    snprintf(two, sizeof(two), "%sGET /b HTTP/1.1\r\n\r\n", one);
    struct http_request r;
    int rc = parse(two, &r);
    assert_int_equal(rc, (int)strlen(one));
    assert_true(http_str_eq(r.path, "/a"));
    assert_int_equal(parse(two + rc, &r), (int)strlen(one));
    assert_true(http_str_eq(r.path, "/b"));
}

static void test_keep_alive_rules(void **state)
{
    (void)state;
    struct http_request r;
    assert_true(parse("GET / HTTP/1.0\r\n\r\n", &r) > 0);
    assert_false(r.keep_alive);
    assert_int_equal(r.minor_version, 0);
    assert_true(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r) > 0);
    assert_true(r.keep_alive);
    assert_true(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &r) > 0);
    assert_false(r.keep_alive);
    assert_true(parse("GET / HTTP/1.1\r\nConnection: foo, CLOSE\r\n\r\n", &r) > 0);
    assert_false(r.keep_alive);
    assert_true(parse("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", &r) > 0);
    assert_true(r.keep_alive);
}

static void test_lenient_forms(void **state)
{
    (void)state;
    struct http_request r;
    const char *lf = "GET /x HTTP/1.1\nHost: y\n\n";
    assert_int_equal(parse(lf, &r), (int)strlen(lf));
    const char *lead = "\r\n\r\nGET /x HTTP/1.1\r\n\r\n";
    assert_int_equal(parse(lead, &r), (int)strlen(lead));
    assert_true(http_str_eq(r.path, "/x"));
    assert_true(parse("POST /x HTTP/1.1\r\n\r\n", &r) > 0);
    assert_int_equal(r.method, HTTP_METHOD_POST);
    assert_true(parse("BREW /x HTTP/1.1\r\n\r\n", &r) > 0);
    assert_int_equal(r.method, HTTP_METHOD_OTHER);
    assert_true(http_str_eq(r.method_str, "BREW"));
    assert_true(parse("OPTIONS * HTTP/1.1\r\n\r\n", &r) > 0);
    assert_true(http_str_eq(r.path, "*"));
    assert_true(parse("GET / HTTP/1.1\r\nX-Empty:\r\nX-Sp:   v  \t\r\n\r\n", &r) > 0);
    assert_true(parse("GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", &r) > 0);
}

static void test_rejections(void **state)
{
    (void)state;
    assert_int_equal(parse_err("GET  / HTTP/1.1\r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET / HTTP/1.1 \r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET /\r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET / HTTP/1.x\r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET / http/1.1\r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET / HTTP/2.0\r\n\r\n"), -EPROTONOSUPPORT);
    assert_int_equal(parse_err("GET / HTTP/1.2\r\n\r\n"), -EPROTONOSUPPORT);
    assert_int_equal(parse_err("GET / HTTP/0.9\r\n\r\n"), -EPROTONOSUPPORT);
    assert_int_equal(parse_err("GET http://h/ HTTP/1.1\r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET /a\x01 HTTP/1.1\r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nName : x\r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nNoColon\r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
                     -EPROTO);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n"), -EPROTO);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"),
                     -EPROTO);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n"), -EFBIG);
    /* A NUL inside a header value. */
    const char nul[] = "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n";
    struct http_request r;
    assert_int_equal(http_parse_request(nul, sizeof(nul) - 1, &r), -EPROTO);
}

static void test_body_bound_exact(void **state)
{
    (void)state;
    char req[2048];
    int h = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nContent-Length: %u\r\n\r\n",
                     HTTP_MAX_BODY);
    memset(req + h, 'b', HTTP_MAX_BODY);
    struct http_request r;
    assert_int_equal(http_parse_request(req, (size_t)h + HTTP_MAX_BODY - 1, &r), 0);
    assert_int_equal(http_parse_request(req, (size_t)h + HTTP_MAX_BODY, &r), h + HTTP_MAX_BODY);
}

static void test_garbage_rejected_early(void **state)
{
    (void)state;
    static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
    struct http_request r;
    assert_int_equal(http_parse_request(tls, sizeof(tls) - 1, &r), -EPROTO);
    assert_int_equal(parse_err("G\x01"), -EPROTO);
    assert_int_equal(parse_err("GE"), 0);
    assert_int_equal(parse_err("GET /partial"), 0);
    assert_int_equal(http_parse_request("", 0, &r), 0);
}

/* A head of exactly HTTP_MAX_HEAD bytes parses; one byte more is -EMSGSIZE. */
static void test_head_size_bound(void **state)
{
    (void)state;
    static char req[HTTP_MAX_HEAD + 64];
    const char *start = "GET / HTTP/1.1\r\nX: ";
    size_t s = strlen(start);
    for (int extra = 0; extra <= 1; extra++) {
        size_t total = HTTP_MAX_HEAD + (size_t)extra;
        memcpy(req, start, s);
        memset(req + s, 'v', total - s - 4);
        memcpy(req + total - 4, "\r\n\r\n", 4);
        struct http_request r;
        int rc = http_parse_request(req, total, &r);
        if (extra)
            assert_int_equal(rc, -EMSGSIZE);
        else
            assert_int_equal(rc, (int)total);
    }
    /* No line end at all within the bound. */
    memcpy(req, "GET /", 5);
    memset(req + 5, 'a', HTTP_MAX_HEAD);
    struct http_request r;
    assert_int_equal(http_parse_request(req, HTTP_MAX_HEAD + 5, &r), -EMSGSIZE);
    assert_int_equal(http_parse_request(req, HTTP_MAX_HEAD - 1, &r), 0);
}

static void test_header_count_bound(void **state)
{
    (void)state;
    static char req[4096];
    for (int n = HTTP_MAX_HEADERS; n <= HTTP_MAX_HEADERS + 1; n++) {
        size_t o = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n");
        for (int i = 0; i < n; i++)
            o += (size_t)snprintf(req + o, sizeof(req) - o, "H%d: v\r\n", i);
        o += (size_t)snprintf(req + o, sizeof(req) - o, "\r\n");
        struct http_request r;
        int rc = http_parse_request(req, o, &r);
        if (n > HTTP_MAX_HEADERS)
            assert_int_equal(rc, -EMSGSIZE);
        else
            assert_int_equal(rc, (int)o);
    }
}

static void test_query_param(void **state)
{
    (void)state;
    char out[32];
    struct http_str q = {"a=1&pool=db%2Fuser&b&pool=second", 32};
    assert_int_equal(http_query_param(q, "pool", out, sizeof(out)), 7);
    assert_string_equal(out, "db/user");
    assert_int_equal(http_query_param(q, "a", out, sizeof(out)), 1);
    assert_string_equal(out, "1");
    assert_int_equal(http_query_param(q, "b", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(http_query_param(q, "c", out, sizeof(out)), -ENOENT);
    assert_int_equal(http_query_param(q, "poo", out, sizeof(out)), -ENOENT);
    struct http_str plus = {"x=a+b%20c", 9};
    assert_int_equal(http_query_param(plus, "x", out, sizeof(out)), 5);
    assert_string_equal(out, "a b c");
    struct http_str bad = {"x=%zz", 5};
    assert_int_equal(http_query_param(bad, "x", out, sizeof(out)), -EPROTO);
    struct http_str cut = {"x=%2", 4};
    assert_int_equal(http_query_param(cut, "x", out, sizeof(out)), -EPROTO);
    struct http_str nul = {"x=%00", 5};
    assert_int_equal(http_query_param(nul, "x", out, sizeof(out)), -EPROTO);
    struct http_str lng = {"x=0123456789", 12};
    assert_int_equal(http_query_param(lng, "x", out, 10), -ENOSPC);
    assert_int_equal(http_query_param(lng, "x", out, 11), 10);
    struct http_str empty = {NULL, 0};
    assert_int_equal(http_query_param(empty, "x", out, sizeof(out)), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_simple_get),
            cmocka_unit_test(test_every_prefix_needs_more),
            cmocka_unit_test(test_pipelined_consumes_one),
            cmocka_unit_test(test_keep_alive_rules),
            cmocka_unit_test(test_lenient_forms),
            cmocka_unit_test(test_rejections),
            cmocka_unit_test(test_body_bound_exact),
            cmocka_unit_test(test_garbage_rejected_early),
            cmocka_unit_test(test_head_size_bound),
            cmocka_unit_test(test_header_count_bound),
            cmocka_unit_test(test_query_param),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
