/* SPDX-License-Identifier: MIT */
/*
 * http.h: lifeguard's small HTTP/1.1 listener on the main event loop: GET /health
 * (liveness), GET /health/db (readiness, answered asynchronously by the caller) and
 * GET /metrics. Keep-alive, one request at a time per connection, bounded request and
 * response sizes, a deadline on every wait. Not a general web server: no request bodies,
 * no chunked encoding, no TLS. Invariant: a struct http_req handle never dangles;
 * answering a connection that closed or timed out is a no-op.
 */
#ifndef LG_HTTP_H
#define LG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

struct evloop;
struct strbuf;
struct stats_process_snap;

#define HTTP_MAX_CONNS          128                   /* open HTTP connections */
#define HTTP_MAX_RESPONSE       (64u * 1024 * 1024)   /* response body bytes */
#define HTTP_READ_TIMEOUT_US    (10ull * 1000 * 1000) /* first byte -> whole request */
#define HTTP_IDLE_TIMEOUT_US    (60ull * 1000 * 1000) /* keep-alive wait for a request */
#define HTTP_WRITE_TIMEOUT_US   (30ull * 1000 * 1000) /* whole response written */
#define HTTP_HANDLER_TIMEOUT_US (30ull * 1000 * 1000) /* default wait for http_respond */
#define HTTP_LINGER_US          (2ull * 1000 * 1000)  /* drain input before close */

/* Names one request waiting for an asynchronous answer: a slot and its generation. */
struct http_req {
    uint32_t slot;
    uint32_t gen;
};

/* Callbacks supplied by main; all run on the event loop, never re-entered. */
struct http_handlers {
    void *arg;
    /* GET|HEAD /health. Write a body (JSON) into @body and return the status to send.
     * NULL: 200 {"status":"ok"}. */
    int (*health)(void *arg, struct strbuf *body);
    /* GET|HEAD /metrics. Render Prometheus text into @body (bounded at
     * HTTP_MAX_RESPONSE); 0, or <0 to answer 500. NULL: 404. */
    int (*metrics)(void *arg, struct strbuf *body);
    /* GET|HEAD /health/db[?pool=db/user]. Start the check and answer later (or at once)
     * with http_respond(@req, ...). @pool_filter is the decoded "pool" parameter or NULL
     * (all pools); it is valid only during this call. If no answer comes within
     * handler_timeout_us the client gets 504 and @req goes stale. NULL: 404. */
    void (*health_db)(void *arg, struct http_req req, const char *pool_filter);
    uint64_t handler_timeout_us; /* 0: HTTP_HANDLER_TIMEOUT_US */
    uint64_t read_timeout_us;    /* 0: HTTP_READ_TIMEOUT_US (also used by tests) */
    bool reuseport;              /* SO_REUSEPORT on the listeners (so_reuseport) */
};

/* Listen on @addr ("*" = all addresses) : @port (0 = any free port, see http_port) and
 * serve requests with @h (copied). One listener set per process: -EALREADY if already
 * listening. 0, or -errno (nothing left open). Call before the loop runs; die() on error
 * is the caller's choice. */
int http_listen(struct evloop *ev, const char *addr, int port,
                const struct http_handlers *h) LG_MUSTCHECK;
/* The bound TCP port (useful after port 0), or -1 if not listening. */
int http_port(void);

/* Answer the request @req with @status, @content_type (e.g. "application/json") and
 * @body[0..@len) (copied). Safe at any time, also from inside health_db: 0 if the answer
 * was queued; -ESTALE if the connection is gone, timed out, or was already answered
 * (nothing happens); -ENOMEM / -ENOSPC if the body could not be stored (the client gets
 * 500). */
int http_respond(struct http_req req, int status, const char *content_type, const char *body,
                 size_t len);

/* Close the listeners and every connection and free all memory (shutdown). Outstanding
 * http_req handles become stale. Safe to call when not listening. */
void http_close(void);

/* Fill the process fields of @out (CPU, memory, fds, start time) from /proc and
 * getrlimit; fields it cannot read are 0. The version and connection counts are the
 * caller's. */
void http_process_snap(struct stats_process_snap *out);

#endif
