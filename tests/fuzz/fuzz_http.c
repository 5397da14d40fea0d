/* SPDX-License-Identifier: MIT */
/*
 * fuzz_http.c: libFuzzer target for httpparse.c. The input is copied to an allocation of
 * exactly its size (reads past it are ASan errors) and parsed as a stream of pipelined
 * requests. Checks the tri-state contract: only the documented -errno values; a success
 * consumes at most the input and at least the head; need-more only below the size
 * bounds; every prefix of a parsed request needs more; slices lie inside the input;
 * the query parameter decoder stays inside its output.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpparse.h"

static void check_slice(struct http_str s, const char *p, size_t n)
{
    if (s.n == 0)
        return;
    if (s.p < p || s.p + s.n > p + n)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    if (size)
        memcpy(p, data, size);
    size_t off = 0;
    for (int k = 0; k < 16 && off < size; k++) {
        struct http_request r;
        int rc = http_parse_request(p + off, size - off, &r);
        if (rc == 0) {
            if (size - off > HTTP_MAX_HEAD + HTTP_MAX_BODY)
                abort(); /* need-more is bounded */
            break;
        }
        if (rc < 0) {
            if (rc != -EPROTO && rc != -EPROTONOSUPPORT && rc != -EMSGSIZE && rc != -EFBIG)
                abort();
            break;
        }
        size_t used = (size_t)rc;
        if (used > size - off || r.head_len > used || r.head_len > HTTP_MAX_HEAD ||
            used - r.head_len != r.content_length || r.content_length > HTTP_MAX_BODY ||
            (r.minor_version != 0 && r.minor_version != 1))
            abort();
        check_slice(r.path, p + off, used);
        check_slice(r.query, p + off, used);
        check_slice(r.method_str, p + off, used);
        if (r.path.n == 0 || (r.path.p[0] != '/' && r.path.p[0] != '*'))
            abort();
        /* A strict prefix of a parsed request is incomplete, never different. */
        struct http_request r2;
        if (http_parse_request(p + off, used - 1, &r2) != 0)
            abort();
        char out[64];
        int q = http_query_param(r.query, "pool", out, sizeof(out));
        if (q >= 0 && ((size_t)q >= sizeof(out) || out[q] != '\0' || strlen(out) != (size_t)q))
            abort();
        if (q < 0 && q != -ENOENT && q != -EPROTO && q != -ENOSPC)
            abort();
        off += used;
    }
    free(p);
    return 0;
}
