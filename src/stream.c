/* SPDX-License-Identifier: MIT */
/*
 * stream.c: framing and zero-copy relaying between two sockets.
 * One run of a stream: flush what it owes its socket, read what its socket has,
 * examine the new bytes (header only unless intercepted), push them to the peer,
 * and repeat while anything moves, within a bound per turn for fairness.
 */
#include "stream.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "evloop.h"
#include "log.h"
#include "net.h"
#include "pgproto.h"
#include "tls.h"

#define RUN_ROUNDS 16 /* rounds per run before yielding to other connections */

static void run(struct stream *s);

int stream_init(struct stream *s, struct evloop *ev, int fd, size_t buf_bytes,
                const struct stream_ops *ops, void *owner)
{
    memset(s, 0, sizeof(*s));
    memset(s->tflags, STREAM_T_PLAIN, sizeof(s->tflags)); /* nothing intercepted yet */
    s->fd = fd;
    s->ev = ev;
    s->ops = ops;
    s->owner = owner;
    buf_init(&s->in, buf_bytes);
    buf_init(&s->out, buf_bytes);
    s->buf_cap = s->in.cap;
    int rc = evloop_add(ev, fd, stream_on_io, s);
    if (rc < 0) {
        s->fd = -1;
        s->closed = true;
    }
    return rc;
}

void stream_close(struct stream *s)
{
    if (s->closed)
        return;
    s->closed = true;
    stream_unlink(s);
    if (s->send_busy) {
        /* Before the fd number is released. What s->out holds (an error explaining the
         * close, built while the send was in flight) follows it if it went out. */
        size_t n = buf_ready(&s->out);
        evloop_send_forget(s->ev, s->send_handle, n ? s->out.data + s->out.sent : NULL, n);
        s->send_busy = false;
    }
    if (s->fd >= 0) {
        evloop_del(s->ev, s->fd);
        /* Closing with unread input makes the kernel send RST, and the peer may then
         * lose what we just wrote (an ErrorResponse explaining the close). Read what is
         * waiting first, within a bound, so the close is a FIN. */
        uint8_t scratch[4096];
        for (int i = 0; i < 16 && net_read(s->fd, scratch, sizeof(scratch)) > 0; i++)
            ;
        close(s->fd);
        s->fd = -1;
    }
    if (s->in.cap != s->buf_cap)
        buf_shrink(&s->in, s->buf_cap); /* grown storage is not the spare cache's size */
    if (s->out.cap != s->buf_cap)
        buf_shrink(&s->out, s->buf_cap);
    buf_fini(&s->in);
    buf_fini(&s->out);
    tls_conn_free(s->tls);
    s->tls = NULL;
}

/* Advance the TLS handshake. Returns true when application data may flow. */
static bool tls_step(struct stream *s)
{
    unsigned want = 0;
    int rc = tls_handshake(s->tls, &want);
    if (rc == 0) {
        s->tls_handshaking = false;
        return true;
    }
    if (rc == -EAGAIN) {
        if (want & TLS_WANT_READ)
            s->can_read = false;
        if (want & TLS_WANT_WRITE)
            s->can_write = false;
        return false;
    }
    s->ops->on_close(s, -ECONNABORTED);
    return false;
}

static ssize_t sock_read(struct stream *s, void *p, size_t n)
{
    if (!s->tls)
        return net_read(s->fd, p, n);
    unsigned want;
    ssize_t r = tls_read(s->tls, p, n, &want);
    if (r == -EAGAIN && (want & TLS_WANT_WRITE))
        s->can_write = false;
    return r;
}

static ssize_t sock_write(struct stream *s, const void *p, size_t n)
{
    if (!s->tls)
        return net_write(s->fd, p, n);
    unsigned want;
    ssize_t r = tls_write(s->tls, p, n, &want);
    if (r == -EAGAIN && (want & TLS_WANT_READ))
        s->can_read = false;
    return r;
}

/* The STREAM_T_* flags of message @type (none outside the protocol's range). */
static inline unsigned type_flags(const struct stream *s, uint8_t type)
{
    unsigned i = (unsigned)type - STREAM_TYPE_BASE;
    return i < STREAM_NTYPES ? s->tflags[i] : 0;
}

static void note_work(struct stream *s, uint8_t type, bool counted)
{
    if (counted)
        s->pending_work = false;
    else if (!(type_flags(s, type) & STREAM_T_NEUTRAL))
        s->pending_work = true;
}

static void kick_cb(struct evloop *ev, void *arg)
{
    (void)ev;
    struct stream *s = arg;
    s->kick_queued = false;
    if (!s->closed)
        run(s);
}

void stream_kick(struct stream *s)
{
    if (s->closed || s->kick_queued)
        return;
    /* A run of this stream, or of its peer, is in progress: it handles both sides each
     * round, so one more round does what a deferred run would (without a loop turn and
     * a run that finds nothing to do). */
    if (s->running) {
        s->rerun = true;
        return;
    }
    if (s->peer && s->peer->running && (!s->peer->rerun_peer || s->peer->rerun_peer == s)) {
        s->peer->rerun = true;
        s->peer->rerun_peer = s;
        return;
    }
    if (evloop_defer(s->ev, kick_cb, s) == 0)
        s->kick_queued = true;
    else
        run(s); /* out of memory for the defer list: run now rather than stall */
}

void stream_link(struct stream *a, struct stream *b)
{
    LG_ASSERT(!a->peer && !b->peer && a != b);
    a->peer = b;
    b->peer = a;
    a->paused = b->paused = false;
    stream_kick(a);
    stream_kick(b);
}

void stream_unlink(struct stream *s)
{
    if (s->peer) {
        struct stream *p = s->peer;
        p->peer = NULL;
        s->peer = NULL;
    }
}

bool stream_is_drained(const struct stream *s)
{
    return buf_empty(&s->in) && buf_empty(&s->out) && s->msg_left == 0;
}

/* Mark @n bytes of @b as sent. */
static inline void advance_sent(struct buf *b, size_t n)
{
    b->sent += (uint32_t)n;
    if (b->sent == b->end)
        b->sent = b->scan = b->end = 0;
}

/* An empty buffer of @s gives its storage back: grown storage (for one long message) to
 * the system, the usual storage to the spare cache unless @s keeps its buffers (servers). */
static inline void release_empty(struct stream *s, struct buf *b)
{
    if (b->cap != s->buf_cap) {
        if (buf_empty(b))
            buf_shrink(b, s->buf_cap);
    } else if (!s->keep_buffers) {
        buf_release_if_empty(b);
    }
}

void stream_keep_buffers(struct stream *s, bool keep)
{
    if (s->keep_buffers == keep)
        return; /* (most releases: the client's server was not parked) */
    s->keep_buffers = keep;
    if (!keep && !s->closed) {
        release_empty(s, &s->in);
        release_empty(s, &s->out);
    }
}

static void sent_cb(struct evloop *ev, void *arg, int res)
{
    (void)ev;
    struct stream *s = arg;
    s->send_busy = false;
    if (res < 0)
        s->err = res;
    else if (!buf_ready(&s->out) && !(s->peer && buf_ready(&s->peer->in)))
        return; /* nothing waited for this send */
    run(s);
}

/* io_uring: copy s->out, then the peer's examined bytes, into one staging area and
 * queue its send; the buffers are free at once (memory stays bounded: one send in
 * flight per socket). False if nothing was queued (nothing to send, or no staging
 * area: the caller writes synchronously). */
static bool send_async(struct stream *s)
{
    struct buf *pin = s->peer ? &s->peer->in : NULL;
    size_t n1 = buf_ready(&s->out), n2 = pin ? buf_ready(pin) : 0;
    size_t n = LG_MIN(n1 + n2, (size_t)EVLOOP_SEND_MAX);
    if (n == 0)
        return false;
    uint8_t *area = evloop_send_area(s->ev, n);
    if (!area)
        return false;
    size_t a = LG_MIN(n1, n);
    if (a) /* s->out may have no storage (NULL + 0 is undefined) */
        memcpy(area, s->out.data + s->out.sent, a);
    if (a < n)
        memcpy(area + a, pin->data + pin->sent, n - a);
    int h = evloop_send(s->ev, s->fd, n, sent_cb, s);
    if (h < 0)
        return false;
    if (a)
        advance_sent(&s->out, a);
    if (a < n)
        advance_sent(pin, n - a);
    s->bytes_out += n;
    s->send_busy = true;
    s->send_handle = h;
    return true;
}

/* Write s->out, then the peer's examined bytes, to s->fd. Returns true if bytes moved. */
static bool do_write(struct stream *s)
{
    bool moved = false;
    if (s->send_busy || s->closed || s->err || !s->can_write)
        goto out; /* (busy: the next write follows the one in flight) */
    if (!s->tls && evloop_async_send(s->ev) && send_async(s)) {
        moved = true;
        goto out;
    }
    for (;;) { /* until nothing is left, or an error or EAGAIN (which break) */
        struct buf *b;
        if (buf_ready(&s->out))
            b = &s->out;
        else if (s->peer && buf_ready(&s->peer->in))
            b = &s->peer->in;
        else
            break;
        if (s->tls_handshaking)
            break;
        ssize_t n = sock_write(s, b->data + b->sent, buf_ready(b));
        if (n == -EAGAIN) {
            s->can_write = false;
            break;
        }
        if (n < 0) {
            s->err = (int)n;
            break;
        }
        moved = true;
        s->bytes_out += (uint64_t)n;
        advance_sent(b, (size_t)n);
    }
out:
    release_empty(s, &s->out);
    return moved;
}

void stream_buffer_positions(const struct stream *s, uint32_t out[7])
{
    out[0] = s->in.end;
    out[1] = s->in.scan;
    out[2] = s->msg_left;
    out[3] = s->out.sent;
    out[4] = (uint32_t)buf_ready(&s->out);
    out[5] = (uint32_t)buf_unscanned(&s->in);
    out[6] = (uint32_t)buf_ready(&s->in);
}

void stream_flush(struct stream *s)
{
    if (!s->closed)
        do_write(s);
}

/* Remove @n bytes at the examine cursor (a message the owner consumed). */
static void drop_at_scan(struct buf *b, size_t n)
{
    LG_ASSERT(b->sent <= b->scan && b->scan + n <= b->end); /* callbacks never touch it */
    if (b->sent == b->scan) {
        b->sent += n;
        b->scan += n;
        if (b->sent == b->end)
            b->sent = b->scan = b->end = 0;
        return;
    }
    memmove(b->data + b->scan, b->data + b->scan + n, b->end - b->scan - n);
    b->end -= n;
}

/* While relaying: the length of the run of complete messages at @p that need nothing but
 * passing on (not intercepted, counted or observed; valid; within max_msg), which is
 * most of a result set. Anything else is left to examine()'s full path. */
static size_t skip_plain(struct stream *s, const uint8_t *p, size_t avail)
{
    size_t done = 0;
    unsigned work = 0;
    size_t limit = s->max_msg ? s->max_msg : SIZE_MAX;
    while (avail - done >= PGPROTO_HEADER) {
        const uint8_t *m = p + done;
        unsigned tf = type_flags(s, m[0]);
        if (!(tf & STREAM_T_PLAIN))
            break;
        uint32_t len = pgproto_get_u32(m + 1);
        size_t total = (size_t)len + 1;
        /* The first test also bounds len: avail is at most a buffer's capacity. */
        if (total > avail - done || len < 4 || total > limit)
            break;
        work |= ~tf & STREAM_T_NEUTRAL; /* note_work() for each, at once */
        done += total;
    }
    if (work)
        s->pending_work = true;
    return done;
}

/* Examine unexamined input. Returns false if the stream was closed by its owner. */
static bool examine(struct stream *s)
{
    struct buf *b = &s->in;
    while (!s->closed && !s->paused && buf_unscanned(b) > 0) {
        if (s->msg_left) {
            size_t take = LG_MIN((size_t)s->msg_left, buf_unscanned(b));
            b->scan += take;
            s->msg_left -= (uint32_t)take;
            if (!s->msg_left)
                s->head_done = false;
            continue;
        }
        const uint8_t *p = b->data + b->scan;
        size_t avail = buf_unscanned(b);
        if (!s->peer && s->hold_unlinked) {
            if (s->ops->on_hold(s, p, avail) < 0 || s->closed)
                return false;
            if (!s->peer) {
                s->paused = true;
                break;
            }
            continue;
        }
        if (s->raw) {
            int rc = s->ops->on_raw(s, p, avail);
            if (rc < 0 || s->closed)
                return false;
            if (rc == 0)
                break;
            drop_at_scan(b, (size_t)rc);
            continue;
        }
        if (s->peer && !s->head_done) {
            size_t hop = skip_plain(s, p, avail);
            if (hop) {
                /* (no callback ran: on with the message after them, if any) */
                b->scan += hop;
                if (hop == avail)
                    break;
                p += hop;
                avail -= hop;
            }
        }
        uint8_t type;
        uint32_t len;
        int rc = pgproto_parse_header(p, avail, &type, &len);
        if (rc < 0) {
            s->ops->on_close(s, -EPROTO);
            return false;
        }
        if (rc == 0)
            break;
        size_t total = (size_t)len + 1;
        unsigned tf = type_flags(s, type);
        if (s->check_types && !(tf & STREAM_T_VALID)) {
            s->ops->on_close(s, -EPROTO); /* not a message type at all: lost framing */
            return false;
        }
        if (s->max_msg && total > s->max_msg) {
            s->ops->on_close(s, -EMSGSIZE); /* checked before anything is buffered */
            return false;
        }
        bool counted = tf & STREAM_T_COUNT;
        if (!s->head_done && s->peer && (tf & STREAM_T_OBSERVE)) {
            int hr = s->ops->on_head(s, type, total, p, avail);
            if (hr < 0 || s->closed)
                return false;
            if (hr == 0)
                break;
            /* The owner may have inserted bytes (the message is still at the cursor) or
             * rewritten the message's start (then it is taken: count it here, and
             * stream_replace_prefix already set head_done for what is left of it). */
            if (s->replaced) {
                s->replaced = false;
                s->n_counted += counted;
                note_work(s, type, counted);
                continue;
            }
            s->head_done = true;
            if (s->paused || !s->peer)
                continue;
            /* The same message is still at the cursor (bytes inserted before it count
             * as examined): on with its header parsed. */
            p = b->data + b->scan;
            avail = buf_unscanned(b);
        }
        bool whole = !s->peer || (tf & STREAM_T_INTERCEPT);
        if (counted && !s->counted_since_us)
            s->counted_since_us = clock_now_us();
        if (!whole) {
            s->n_counted += counted;
            note_work(s, type, counted);
            size_t take = LG_MIN(total, avail);
            b->scan += take;
            s->msg_left = (uint32_t)(total - take);
            if (!s->msg_left)
                s->head_done = false;
            continue;
        }
        if (total > b->cap) {
            s->ops->on_close(s, -EMSGSIZE);
            return false;
        }
        if (total > avail)
            break;
        /* Count before the callback: it may start a link that snapshots the count and
         * clears pending work (a login message that links a server at once is not work
         * for that server). */
        s->n_counted += counted;
        bool pending = s->pending_work;
        note_work(s, type, counted);
        int v = s->ops->on_message(s, type, p + PGPROTO_HEADER, len - 4);
        if (v < 0 || s->closed)
            return false;
        if (v == STREAM_PAUSE) {
            s->n_counted -= counted; /* it will be examined again */
            s->pending_work = pending;
            s->paused = true;
            break;
        }
        s->head_done = false;
        if (v == STREAM_FORWARD && s->peer)
            b->scan += total;
        else
            drop_at_scan(b, total);
        if (v == STREAM_STOP)
            break;
    }
    return !s->closed;
}

int stream_grow_in(struct stream *s, size_t cap)
{
    if (cap <= s->in.cap)
        return 0;
    if (cap > BUF_MAX_CAP)
        return -EMSGSIZE;
    int rc = buf_grow(&s->in, cap);
    if (rc == 0)
        stream_kick(s); /* examine again: the owner waits for this room */
    return rc;
}

/* Read what fits, examine it. Returns true if bytes moved. */
static bool do_read(struct stream *s)
{
    bool moved = false;
    if (s->tls_handshaking) {
        if (!tls_step(s))
            return false;
        moved = true; /* handshake done: what waited in s->out can go now */
    }
    while (!s->closed && s->can_read && !s->paused) {
        struct buf *b = &s->in;
        if (buf_ensure(b) < 0) {
            s->ops->on_close(s, -ENOMEM);
            return moved;
        }
        if (buf_space(b) == 0)
            buf_compact(b);
        if (buf_space(b) == 0)
            break; /* backpressure: the peer has not taken what we hold */
        ssize_t n = sock_read(s, b->data + b->end, buf_space(b));
        if (n == -EAGAIN) {
            s->can_read = false;
            break;
        }
        if (n <= 0) {
            s->ops->on_close(s, (int)n);
            return moved;
        }
        moved = true;
        s->bytes_in += (uint64_t)n;
        /* A short read emptied the socket: with edge-triggered epoll, more data will
         * raise a new edge, so skip the recv that would only say EAGAIN. Not after a
         * hang-up: the FIN came with this edge and raises no other. */
        if ((size_t)n < buf_space(b) && !s->hup && !s->tls)
            s->can_read = false; /* with TLS only EAGAIN says the socket is drained */
        b->end += (size_t)n;
        if (!examine(s))
            return moved;
        if (s->peer)
            do_write(s->peer);
    }
    /* Bytes may wait unexamined after a pause was lifted or a mode changed. */
    if (!s->closed && !s->paused && buf_unscanned(&s->in) && examine(s) && s->peer)
        do_write(s->peer);
    if (!s->closed)
        release_empty(s, &s->in);
    return moved;
}

static bool report_errors(struct stream *s)
{
    if (s->closed)
        return true;
    if (s->err) {
        int e = s->err;
        s->err = 0;
        s->ops->on_close(s, e);
        return true;
    }
    return false;
}

void stream_want_drained(struct stream *s)
{
    s->want_drained = true;
    stream_kick(s);
}

void stream_want_out_space(struct stream *s)
{
    s->want_out_space = true;
    stream_kick(s);
}

static bool check_out_space(struct stream *s)
{
    if (!s || s->closed || !s->want_out_space || !buf_empty(&s->out))
        return false;
    s->want_out_space = false;
    s->ops->on_out_space(s);
    return true;
}

/* Returns true if the callback ran. */
static bool check_drained(struct stream *s)
{
    if (!s || s->closed || !s->want_drained || buf_ready(&s->in))
        return false;
    s->want_drained = false;
    s->ops->on_drained(s);
    return true;
}

/* Could do_write(@s) do anything (write, or give back an empty buffer)? Most calls in a
 * run's rounds find nothing, so run() asks this first. */
static inline bool may_write(const struct stream *s)
{
    /* Bytes to send first: most calls find none, and that needs no flag looked at. */
    if (buf_ready(&s->out) || (s->peer && buf_ready(&s->peer->in)))
        return !s->closed && !s->err && s->can_write && !s->send_busy;
    return !s->keep_buffers && s->out.data && buf_empty(&s->out) && !s->closed && !s->err;
}

/* Could do_read(@s) do anything (read, examine waiting bytes, give back a buffer)? */
static inline bool may_read(const struct stream *s)
{
    if (s->closed)
        return false;
    if (s->tls_handshaking || (!s->paused && (s->can_read || buf_unscanned(&s->in))))
        return true;
    return !s->keep_buffers && s->in.data && buf_empty(&s->in);
}

/* Would the checks at the end of a round (or report_errors) call anything for @s? */
static inline bool callback_due(const struct stream *s)
{
    if (s->closed)
        return false;
    return s->err || (s->want_drained && !buf_ready(&s->in)) ||
           (s->want_out_space && buf_empty(&s->out));
}

/* End of a round: consume absorbed kicks. True if another round is due. A peer kicked
 * during the round that is no longer linked to @s gets its own (deferred) run. */
static bool take_reruns(struct stream *s)
{
    bool again = s->rerun;
    struct stream *p = s->rerun_peer;
    s->rerun = false;
    s->rerun_peer = NULL;
    if (p && p != s->peer)
        stream_kick(p);
    return again;
}

static void run_rounds(struct stream *s);

/* Anything a round would do for @s or its peer (a read, a write, a callback or an error
 * report)? Kicks absorbed so far are answered by this look (as at the end of a round). */
static inline bool round_due(struct stream *s)
{
    struct stream *p = s->peer;
    return may_write(s) || may_read(s) || callback_due(s) ||
           (p && (may_write(p) || may_read(p) || callback_due(p)));
}

/* The usual run: bytes arrived on a linked stream that owes nothing else. Read, examine
 * and relay them (do_read), give the drained callback its turn (a transaction's end),
 * and stop there if no round is due, without run_rounds' look at every duty of both
 * streams before and after. False: run_rounds must go on (it repeats what is due). */
static bool run_fast(struct stream *s)
{
    struct stream *p = s->peer;
    if (p ? p->err : !s->hold_unlinked) /* (unlinked and held: a transaction's start) */
        return false;
    if (s->err || !s->can_read || s->paused || s->tls_handshaking || buf_ready(&s->out) ||
        s->closed)
        return false;
    do_read(s);
    if (!s->closed)
        check_drained(s);
    if (s->closed)
        return true;
    if (round_due(s))
        return false;
    take_reruns(s); /* the kicks absorbed so far are answered by that look */
    return true;
}

static void run(struct stream *s)
{
    if (s->running) {
        s->rerun = true; /* re-entered (out-of-memory fallback): the outer run goes on */
        return;
    }
    s->running = true;
    if (!run_fast(s))
        run_rounds(s);
    s->running = false;
    /* Kicks absorbed after the last round (or by a run that stopped early) still run. */
    if (s->rerun || s->rerun_peer) {
        struct stream *p = s->rerun_peer;
        bool self = s->rerun;
        s->rerun = false;
        s->rerun_peer = NULL;
        if (p)
            stream_kick(p);
        if (self)
            stream_kick(s);
    }
}

static void run_rounds(struct stream *s)
{
    for (int round = 0; round < RUN_ROUNDS; round++) {
        if (report_errors(s))
            return;
        struct stream *p = s->peer;
        if (p && report_errors(p))
            return;
        bool moved = may_write(s) && do_write(s);
        moved |= may_read(s) && do_read(s);
        if (s->closed)
            return;
        p = s->peer;
        if (p) {
            moved |= may_write(p) && do_write(p);
            moved |= may_read(p) && do_read(p);
        }
        if (s->closed)
            return;
        p = s->peer;
        bool called = check_drained(s);
        called |= check_drained(p);
        if (!s->closed)
            called |= check_out_space(s);
        if (s->closed)
            return;
        /* The peer's own callbacks too: its kicks may have been absorbed into this run. */
        p = s->peer;
        if (p && !p->closed)
            called |= check_out_space(p);
        if (s->closed)
            return;
        moved |= take_reruns(s);
        if (!moved && !called)
            break;
        /* Bytes moved, a kick came or a callback ran: another round is due only if it
         * would find something to do, which most of the time it would not. Ask just that:
         * a read or write, or a callback or error report now due (a callback may have
         * asked for one, or failed a write). */
        if (!round_due(s))
            break;
        if (round == RUN_ROUNDS - 1) {
            stream_kick(s); /* more to do: continue next turn, after others had theirs */
            return;
        }
    }
    if (!s->closed)
        report_errors(s);
    if (!s->closed && s->peer)
        report_errors(s->peer);
}

void stream_on_io(struct evloop *ev, int fd, void *arg, unsigned events)
{
    (void)ev;
    (void)fd;
    struct stream *s = arg;
    if (s->closed)
        return;
    if (events & EVLOOP_READ)
        s->can_read = true;
    if (events & EVLOOP_WRITE)
        s->can_write = true;
    if (events & EVLOOP_ERROR)
        s->hup = true; /* EOF may sit behind the data: no short-read shortcut */
    run(s);
}

const char *stream_describe(const struct stream *s, char *buf, size_t n)
{
    if (s && s->ops && s->ops->describe)
        s->ops->describe(s, buf, n);
    else
        snprintf(buf, n, "?");
    return buf;
}
