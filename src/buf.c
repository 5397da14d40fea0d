/* SPDX-License-Identifier: MIT */
/*
 * buf.c: the bounded buffer. No I/O here: streams read into and write from it.
 */
#include "buf.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"

void buf_init(struct buf *b, size_t cap)
{
    b->data = NULL;
    b->cap = cap;
    b->sent = b->scan = b->end = 0;
}

void buf_fini(struct buf *b)
{
    lg_free(b->data);
    b->data = NULL;
    b->sent = b->scan = b->end = 0;
}

int buf_ensure(struct buf *b)
{
    if (b->data)
        return 0;
    b->data = lg_malloc(b->cap);
    return b->data ? 0 : -ENOMEM;
}

void buf_release_if_empty(struct buf *b)
{
    if (b->data && b->end == b->sent) {
        lg_free(b->data);
        b->data = NULL;
        b->sent = b->scan = b->end = 0;
    }
}

void buf_compact(struct buf *b)
{
    if (b->sent == 0)
        return;
    if (b->sent == b->end) {
        b->sent = b->scan = b->end = 0;
        return;
    }
    size_t live = b->end - b->sent;
    memmove(b->data, b->data + b->sent, live);
    b->scan -= b->sent;
    b->end = live;
    b->sent = 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    int rc = buf_ensure(b);
    if (rc < 0)
        return rc;
    if (buf_space(b) < n)
        buf_compact(b);
    if (buf_space(b) < n)
        return -ENOSPC;
    /* Appended bytes are ready to send: keep scan == end so nothing re-examines them. */
    LG_ASSERT(b->scan == b->end);
    memcpy(b->data + b->end, p, n);
    b->end += n;
    b->scan = b->end;
    return 0;
}
