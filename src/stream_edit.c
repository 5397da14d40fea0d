/* SPDX-License-Identifier: MIT */
/*
 * stream_edit.c: rewriting the message at a stream's examine cursor, from an on_head
 * callback (client_ps.c translates prepared-statement names this way): insert whole
 * messages before it, or replace its first bytes, or (no room in the input buffer) send
 * them ahead through the peer's output buffer. The relay loop itself is in stream.c.
 */
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "pgproto.h"
#include "stream.h"

/* Make @n bytes of room at the examine cursor (compacting first if needed). */
static int open_gap(struct buf *b, size_t n)
{
    if (buf_space(b) < n)
        buf_compact(b);
    if (buf_space(b) < n)
        return -ENOSPC;
    memmove(b->data + b->scan + n, b->data + b->scan, b->end - b->scan);
    b->end += n;
    return 0;
}

int stream_insert(struct stream *s, const void *p, size_t n)
{
    struct buf *b = &s->in;
    int rc = open_gap(b, n);
    if (rc < 0)
        return rc;
    memcpy(b->data + b->scan, p, n);
    b->scan += n;
    return 0;
}

int stream_send_ahead(struct stream *s, const void *p, size_t n)
{
    if (!s->peer || buf_ready(&s->in))
        return -EAGAIN;
    struct buf *o = &s->peer->out;
    size_t need = buf_pending(o) + n;
    if (need > o->cap) {
        /* Larger than the buffer: a long statement the client sent earlier (so within
         * max_packet_size), prepared again here. Back to its size once sent (stream.c). */
        if (need > BUF_MAX_CAP)
            return -ENOSPC;
        int rc = buf_grow(o, need);
        if (rc < 0)
            return rc;
    }
    return buf_append(o, p, n);
}

int stream_replace_prefix(struct stream *s, size_t old, const void *p, size_t n)
{
    struct buf *b = &s->in;
    LG_ASSERT(old >= PGPROTO_HEADER && old <= buf_unscanned(b));
    uint32_t len = pgproto_get_u32(b->data + b->scan + 1);
    size_t rest = (size_t)len + 1 - old; /* of the message, after the replaced prefix */
    if (n > old) {
        int rc = open_gap(b, n - old);
        if (rc < 0)
            return rc;
    } else if (n < old) {
        memmove(b->data + b->scan + n, b->data + b->scan + old, b->end - b->scan - old);
        b->end -= old - n;
    }
    if (n)
        memcpy(b->data + b->scan, p, n);
    b->scan += n;
    s->msg_left = (uint32_t)rest;
    s->replaced = true;
    s->head_done = rest != 0;
    return 0;
}
