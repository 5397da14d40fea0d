/* SPDX-License-Identifier: MIT */
/*
 * httpparse.h: HTTP/1.0 and 1.1 request-head parser for lifeguard's small HTTP
 * listener. Pure: no I/O, no clock, no globals; fuzzed (tests/fuzz/fuzz_http.c).
 * It reads a request line and header fields, and understands only what the listener
 * needs: method, path, query, version, Connection, Content-Length. It never accepts
 * request bodies beyond HTTP_MAX_BODY bytes and never reads past the given length.
 * Returned slices point into the caller's bytes and are not NUL-terminated.
 */
#ifndef LG_HTTPPARSE_H
#define LG_HTTPPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

#define HTTP_MAX_HEAD    8192u /* request line + headers + blank line, bytes */
#define HTTP_MAX_BODY    1024u /* a body (ignored) a GET may carry, bytes */
#define HTTP_MAX_HEADERS 64    /* header fields per request */

enum http_method {
    HTTP_METHOD_OTHER = 0,
    HTTP_METHOD_GET,
    HTTP_METHOD_HEAD,
    HTTP_METHOD_POST,
    HTTP_METHOD_PUT,
    HTTP_METHOD_DELETE,
    HTTP_METHOD_OPTIONS,
};

/* A slice of the input. */
struct http_str {
    const char *p;
    size_t n;
};

struct http_request {
    enum http_method method;
    struct http_str method_str; /* the method token as sent */
    struct http_str path;       /* origin-form path before '?', starts with '/' */
    struct http_str query;      /* after '?' (without it), n = 0 if none */
    int minor_version;          /* HTTP/1.<minor_version>: 0 or 1 */
    bool keep_alive;            /* 1.1 unless "Connection: close"; 1.0 only with keep-alive */
    bool has_content_length;
    uint64_t content_length; /* body bytes, <= HTTP_MAX_BODY when parsing succeeded */
    size_t head_len;         /* bytes of request line + headers + blank line */
    size_t n_headers;
};

/* Parse one request from @p[0..@n). Returns bytes consumed (head plus body, > 0), 0 if
 * more bytes are needed, or:
 *   -EPROTO           malformed request line or header, obsolete line folding,
 *                     Transfer-Encoding (no request bodies), bad or conflicting
 *                     Content-Length, request target not in origin form
 *   -EPROTONOSUPPORT  an HTTP version other than 1.0 or 1.1
 *   -EMSGSIZE         no end of headers within HTTP_MAX_HEAD bytes, or more than
 *                     HTTP_MAX_HEADERS header fields
 *   -EFBIG            Content-Length larger than HTTP_MAX_BODY
 * Garbage (a byte that cannot start a method) is rejected as soon as it is seen, not
 * after HTTP_MAX_HEAD bytes. @out is valid only when the return is > 0. */
int http_parse_request(const char *p, size_t n, struct http_request *out) LG_MUSTCHECK;

/* True if @s equals the NUL-terminated @lit exactly (case-sensitive). */
bool http_str_eq(struct http_str s, const char *lit);

/* Find @name in the query string @query ("a=1&pool=db%2Fuser") and percent-decode its
 * value ('+' is a space) into @out (NUL-terminated). Returns the decoded length, -ENOENT
 * if absent, -EPROTO for a bad %-escape or a decoded NUL, -ENOSPC if it does not fit in
 * @out_len bytes. */
int http_query_param(struct http_str query, const char *name, char *out,
                     size_t out_len) LG_MUSTCHECK;

#endif
