/* SPDX-License-Identifier: MIT */
/*
 * buf.h: bounded byte buffer with three cursors: [0, sent) consumed, [sent, scan)
 * examined and ready to go out, [scan, end) received but not yet examined.
 * Capacity is set at buf_init; only buf_grow raises it, for one message its owner must
 * hold whole, within a bound the owner enforces (invariant 4: every buffer has a bound),
 * and buf_shrink gives that storage back. Storage is allocated lazily and can be
 * released when empty.
 */
#ifndef LG_BUF_H
#define LG_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

/* Offsets are 32-bit (buffers are at most BUF_MAX_CAP): one per connection direction
 * adds up over thousands of idle clients. */
#define BUF_MAX_CAP ((size_t)1 << 30)
struct buf {
    uint8_t *data; /* NULL until first use */
    uint32_t cap;  /* bytes */
    uint32_t sent; /* start of unconsumed data */
    uint32_t scan; /* end of examined data */
    uint32_t end;  /* end of valid data */
};

void buf_init(struct buf *b, size_t cap);
/* Free cached spare storage (at exit, and in tests before leak checks). */
void buf_cache_flush(void);
/* SHOW MEM: buffers holding storage now, spare chunks cached, and the chunk size (the
 * cached chunks', else the last one handed out; 0 before any). */
void buf_storage_stats(size_t *live, size_t *cached, size_t *chunk);
/* Free storage. The buffer can be used again (it reallocates lazily). */
void buf_fini(struct buf *b);
/* Make sure storage exists. 0 or -ENOMEM. */
int buf_ensure(struct buf *b) LG_MUSTCHECK;
/* Drop the storage (to the spare cache); the buffer must hold no unsent bytes. */
void buf_release(struct buf *b);
/* Move live bytes to the front when that makes room; resets cursors when empty. */
void buf_compact(struct buf *b);
/* Raise the capacity to @cap (more than now, at most BUF_MAX_CAP): new storage holds the
 * live bytes at the front. Not from the spare cache. 0 or -ENOMEM (nothing changed). */
int buf_grow(struct buf *b, size_t cap) LG_MUSTCHECK;
/* Free storage grown by buf_grow (bypassing the spare cache: its size is not the
 * cache's) and set the capacity back to @cap. Any bytes held are dropped. */
void buf_shrink(struct buf *b, size_t cap);

static inline size_t buf_pending(const struct buf *b)
{
    return b->end - b->sent;
}
static inline size_t buf_unscanned(const struct buf *b)
{
    return b->end - b->scan;
}
static inline size_t buf_ready(const struct buf *b)
{
    return b->scan - b->sent;
}
static inline size_t buf_space(const struct buf *b)
{
    return b->cap - b->end;
}
static inline bool buf_empty(const struct buf *b)
{
    return b->end == b->sent;
}

/* Append @n bytes. 0 or -ENOSPC/-ENOMEM (nothing written). Appended bytes are marked
 * scanned (ready to send): used for messages lifeguard builds itself. */
int buf_append(struct buf *b, const void *p, size_t n) LG_MUSTCHECK;

/* Drop storage if the buffer holds no bytes (memory for idle connections). Inline: the
 * relay asks after every read and write. */
static inline void buf_release_if_empty(struct buf *b)
{
    if (b->data && b->end == b->sent)
        buf_release(b);
}

#endif
