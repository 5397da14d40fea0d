/* SPDX-License-Identifier: MIT */
/*
 * buf.c: the bounded buffer. No I/O here: streams read into and write from it.
 */
#include "buf.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"

/* Recently released storage, reused by the next buf_ensure of the same capacity: a busy
 * connection releases and re-takes its buffer every transaction, and this keeps that off
 * malloc. Bounded, so idle memory is returned once traffic calms. */
#define CACHE_MAX 256
static void *cache[CACHE_MAX];
static size_t cache_len;
static size_t cache_cap; /* the capacity the cached chunks have */

static size_t live_chunks; /* storage held by buffers (not the cache) */
static size_t last_cap;    /* the capacity last handed out */

void buf_storage_stats(size_t *live, size_t *cached, size_t *chunk)
{
    *live = live_chunks;
    *cached = cache_len;
    *chunk = cache_len ? cache_cap : last_cap;
}

static void storage_free(void *p, size_t cap)
{
    live_chunks--;
    if (cache_len == 0)
        cache_cap = cap;
    if (cap == cache_cap && cache_len < CACHE_MAX) {
        cache[cache_len++] = p;
        return;
    }
    lg_free(p);
}

static void *storage_get(size_t cap)
{
    live_chunks++;
    if (cache_len && cap == cache_cap)
        return cache[--cache_len];
    void *p = lg_malloc(cap);
    if (p)
        last_cap = cap;
    else
        live_chunks--;
    return p;
}

void buf_cache_flush(void)
{
    while (cache_len)
        lg_free(cache[--cache_len]);
}

void buf_init(struct buf *b, size_t cap)
{
    LG_ASSERT(cap <= BUF_MAX_CAP);
    b->data = NULL;
    b->cap = (uint32_t)LG_MIN(cap, BUF_MAX_CAP);
    b->sent = b->scan = b->end = 0;
}

void buf_fini(struct buf *b)
{
    if (b->data)
        storage_free(b->data, b->cap);
    b->data = NULL;
    b->sent = b->scan = b->end = 0;
}

int buf_ensure(struct buf *b)
{
    if (b->data)
        return 0;
    b->data = storage_get(b->cap);
    return b->data ? 0 : -ENOMEM;
}

void buf_release(struct buf *b)
{
    LG_ASSERT(b->end == b->sent);
    storage_free(b->data, b->cap);
    b->data = NULL;
    b->sent = b->scan = b->end = 0;
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

int buf_grow(struct buf *b, size_t cap)
{
    LG_ASSERT(cap > b->cap && cap <= BUF_MAX_CAP);
    uint8_t *d = lg_malloc(cap);
    if (!d)
        return -ENOMEM;
    live_chunks++;
    size_t live = 0;
    if (b->data) {
        live = b->end - b->sent;
        if (live)
            memcpy(d, b->data + b->sent, live);
        storage_free(b->data, b->cap);
    }
    b->scan -= b->sent;
    b->end = (uint32_t)live;
    b->sent = 0;
    b->data = d;
    b->cap = (uint32_t)cap;
    return 0;
}

void buf_shrink(struct buf *b, size_t cap)
{
    LG_ASSERT(cap <= BUF_MAX_CAP);
    if (b->data) {
        lg_free(b->data);
        live_chunks--;
    }
    b->data = NULL;
    b->cap = (uint32_t)cap;
    b->sent = b->scan = b->end = 0;
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
    if (n)
        memcpy(b->data + b->end, p, n);
    b->end += n;
    b->scan = b->end;
    return 0;
}
