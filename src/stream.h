/* SPDX-License-Identifier: MIT */
/*
 * stream.h: one socket with a bounded input buffer, an output buffer for messages
 * lifeguard builds itself, edge-triggered readiness latches, and an optional peer.
 * When linked to a peer, bytes read from this socket are framed (only headers are
 * parsed), and forwarded to the peer's socket from the same buffer: no copy. The
 * owner sees only the message types it asked to intercept (or every message when
 * there is no peer). When the peer cannot take more, this side stops reading
 * (backpressure): memory per stream is bounded by two buffers.
 * Errors are reported to the owner through ops->on_close, never from inside a call
 * the owner made: a failed write is remembered and reported on the next event.
 */
#ifndef LG_STREAM_H
#define LG_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "buf.h"

struct evloop;
struct stream;
struct tls_ctx;

enum stream_verdict {
    STREAM_FORWARD = 0,  /* relay it to the peer (without a peer: same as CONSUMED) */
    STREAM_CONSUMED = 1, /* the owner took it: drop it from the buffer */
    STREAM_PAUSE = 2,    /* leave it in the buffer unexamined and stop; resume later */
    STREAM_STOP = 3,     /* consumed, and stop processing this stream for now */
};

#define STREAM_TYPE_BASE 0x30 /* '0': the lowest protocol message type is '1' */
#define STREAM_NTYPES    80   /* up to 0x7f */
enum {
    STREAM_T_INTERCEPT = 1, /* the owner sees it while relaying (on_message) */
    STREAM_T_COUNT = 2,     /* counted in n_counted (Query/Sync, or 'Z') */
    STREAM_T_OBSERVE = 4,   /* passed to ops->on_head */
    STREAM_T_NEUTRAL = 8,   /* neither counts nor starts work (Flush, COPY data) */
    STREAM_T_VALID = 16,    /* with check_types: a type this peer may send */
    STREAM_T_PLAIN = 32,    /* derived: passes with nothing but its length checked */
};

struct stream_ops {
    /* Startup phase (raw mode): the unexamined bytes. Return bytes consumed (>0), 0 to
     * wait for more, or <0 after the owner closed the stream. */
    int (*on_raw)(struct stream *s, const uint8_t *p, size_t n);
    /* A complete message: @type, @payload after the 5-byte header, @len payload bytes.
     * Return an enum stream_verdict, or <0 after the owner closed the stream. */
    int (*on_message)(struct stream *s, uint8_t type, const uint8_t *payload, uint32_t len);
    /* The socket failed or reached EOF (@err: 0 EOF, -errno otherwise), or a message
     * could not be framed (-EPROTO, -EMSGSIZE). The owner must close the stream. */
    void (*on_close)(struct stream *s, int err);
    /* Optional: after stream_want_drained(), every examined byte of this stream's input
     * has been written to the peer. Runs from the stream's own run, never from inside a
     * call the owner made. */
    void (*on_drained)(struct stream *s);
    /* Optional, with hold_unlinked: bytes arrived while no peer is linked. @p/@n are the
     * unexamined bytes (maybe a partial message). The stream pauses; the owner links a
     * peer later (which resumes it) or closes. Return 0, or <0 after closing. */
    int (*on_hold)(struct stream *s, const uint8_t *p, size_t n);
    /* Optional, for types set with stream_observe(): a message's header was reached,
     * before any of it is examined. @total is its full size (type byte included), @p/@n
     * the bytes available from its start (n may be < total). The owner may insert bytes
     * before it (stream_insert) or rewrite its first bytes (stream_replace_prefix).
     * Return >0 to go on, 0 to wait for more bytes (at most the buffer's capacity), or
     * <0 after closing. Called once per message. */
    int (*on_head)(struct stream *s, uint8_t type, size_t total, const uint8_t *p, size_t n);
    /* Optional, after stream_want_out_space(): s->out was emptied (more can be built). */
    void (*on_out_space)(struct stream *s);
    /* Optional: write a short label for logs ("C-12 db/user@addr") into @buf. */
    void (*describe)(const struct stream *s, char *buf, size_t n);
};

/* "TLSv1.3/TLS_AES_256_GCM_SHA384" for a stream with TLS, "" otherwise. Returns @buf. */
const char *stream_tls_describe(const struct stream *s, char *buf, size_t n);
/* The label of @s for logs (ops->describe), or "?" without one. Returns @buf. */
const char *stream_describe(const struct stream *s, char *buf, size_t n);

struct stream {
    struct buf in;             /* bytes read from fd: examined ones go to peer */
    struct buf out;            /* messages lifeguard built for fd; sent before relayed bytes */
    struct stream *peer;       /* relay partner (symmetric), or NULL */
    struct stream *rerun_peer; /* the peer whose kick was absorbed (it may be unlinked) */
    struct tls_conn *tls;      /* TLS on this socket, or NULL */
    const struct stream_ops *ops;
    void *owner;
    struct evloop *ev;
    uint64_t n_counted;           /* messages of counted types examined (Query/Sync, or 'Z') */
    uint64_t link_base;           /* n_counted when the current link began (pool.c) */
    uint64_t bytes_in, bytes_out; /* counters */
    uint64_t acct_in, acct_out;   /* pool.c: counters already accounted */
    uint64_t link_at_us;          /* pool.c: when the current link began */
    uint64_t counted_since_us;    /* when a counted message was examined with none before it
                                     outstanding (0: none); the owner clears it (pool.c:
                                     query time from request to ReadyForQuery) */
    int fd;
    int err;           /* remembered write error, reported on next run */
    int send_handle;   /* with send_busy: the evloop's handle of the send in flight */
    uint32_t msg_left; /* bytes of a passing message not yet examined */
    uint32_t max_msg;  /* max_packet_size: larger messages are refused (0: none) */
    uint32_t buf_cap;  /* both buffers' own capacity (one grows for a while for a long
                          message: stream_grow_in, stream_send_ahead) */
    /* Per message type ('0'..'\x7f'; no protocol type lies outside), STREAM_T_* flags:
     * what the owner intercepts, counts, observes, treats as neutral, accepts. */
    uint8_t tflags[STREAM_NTYPES];
    bool raw;                 /* startup phase: frames have no type byte */
    bool can_read, can_write; /* edge-triggered readiness latches */
    bool send_busy;           /* an asynchronous send (io_uring) is in flight: the
                                 next waits for its completion, keeping their order */
    bool hup;                 /* the peer hung up or errored: read until EOF */
    bool closed;
    bool paused; /* owner asked to stop examining (STREAM_PAUSE) */
    bool kick_queued;
    bool keep_buffers;    /* keep empty buffers' storage (servers: few and busy; a
                             release and re-take per transaction costs more) */
    bool running;         /* inside run(): a kick of it (or of its peer) is absorbed */
    bool rerun;           /* a kick was absorbed: run one more round */
    bool want_drained;    /* call ops->on_drained once examined input is all sent */
    bool hold_unlinked;   /* without a peer, hold input for on_hold, whatever its size */
    bool want_out_space;  /* call ops->on_out_space once s->out is empty */
    bool tls_handshaking; /* handshake not finished: no application data yet */
    bool head_done;       /* on_head already ran for the message at the cursor */
    bool replaced;        /* on_head rewrote the current message's start */
    bool check_types;
    bool pending_work; /* a message other than counted/neutral came after the last
                          counted one (e.g. Parse/Bind without Sync yet) */
};

/* Set up @s over connected non-blocking @fd and register it with @ev. 0 or -errno; on
 * failure the fd is not closed (the caller owns it). */
int stream_init(struct stream *s, struct evloop *ev, int fd, size_t buf_bytes,
                const struct stream_ops *ops, void *owner) LG_MUSTCHECK;
/* Unregister and close the fd, unlink the peer, free buffers. Idempotent. */
void stream_close(struct stream *s);

/* Link @a and @b for relaying and schedule a run of both (bytes may be waiting). */
void stream_link(struct stream *a, struct stream *b);
/* Undo the link of @s (and of its peer). Unforwarded examined bytes stay in the buffer. */
void stream_unlink(struct stream *s);

void stream_intercept(struct stream *s, uint8_t type, bool on);
/* Count messages of @type passing through (header only, no interception). */
void stream_count(struct stream *s, uint8_t type);
/* Call ops->on_head for messages of @type (stream_unobserve: no longer). */
void stream_observe(struct stream *s, uint8_t type);
void stream_unobserve(struct stream *s, uint8_t type);
/* From on_head only: insert @n bytes (complete messages) before the current message;
 * they count as examined. 0, or -ENOSPC if the buffer has no room (wait and retry). */
int stream_insert(struct stream *s, const void *p, size_t n) LG_MUSTCHECK;
/* From on_head only: the same as stream_insert, for when @s->in has no room (a client's
 * pipeline fills it): append @n bytes (complete messages) to the peer's s->out, which is
 * sent before relayed bytes, so they reach the peer just ahead of the current message.
 * Only while nothing examined before it still waits to go out. The peer's s->out grows
 * for a message larger than it (a long statement prepared again), until it is empty.
 * 0, -EAGAIN (examined bytes wait, or no peer), -ENOSPC (over BUF_MAX_CAP), -ENOMEM. */
int stream_send_ahead(struct stream *s, const void *p, size_t n) LG_MUSTCHECK;
/* From on_head only: replace the current message's first @old bytes (which must be
 * available) with @n new bytes (a new header and fields; the length field must already
 * account for it). The rest of the message then passes through unexamined. @n = 0 and
 * @old = total drops the message. 0 or -ENOSPC. */
int stream_replace_prefix(struct stream *s, size_t old, const void *p, size_t n) LG_MUSTCHECK;
/* From on_head only: let s->in hold @cap bytes (more than its capacity, within
 * BUF_MAX_CAP) until it is next empty, for a message the owner must see whole; the
 * message stays at the cursor. 0, -EMSGSIZE or -ENOMEM. A run follows, so the owner may
 * return 0 (wait) and is asked again when the room is there. */
int stream_grow_in(struct stream *s, size_t cap) LG_MUSTCHECK;
/* Accept only message types in @types (NUL-terminated list); anything else is a framing
 * error (-EPROTO): the byte stream has lost its message boundaries. */
void stream_valid_types(struct stream *s, const char *types);
/* Messages of @type leave pending_work as it is. */
void stream_neutral(struct stream *s, uint8_t type);

/* Send what the owner appended to s->out (and anything relayed) now if possible.
 * Write errors are remembered and reported later via on_close. */
void stream_flush(struct stream *s);
/* SHOW SOCKETS' buffer columns for @s, PgBouncer's names: bytes received into the input
 * buffer (recv_pos), examined so far (pkt_pos), of the current message still to come
 * (pkt_remain), sent from the output buffer (send_pos), waiting there (send_remain),
 * received and not yet examined (pkt_avail), examined and not yet passed on (send_avail). */
void stream_buffer_positions(const struct stream *s, uint32_t out[7]);
/* Ask for ops->on_drained once everything examined so far has gone to the peer. */
void stream_want_drained(struct stream *s);
/* Switch the socket to TLS (server side) after lifeguard answered an SSLRequest with
 * 'S'. Nothing may be waiting in either buffer (a client that sent bytes after its
 * SSLRequest is refused: they were not protected). 0, -EPROTO (bytes waiting), -ENOMEM. */
int stream_start_tls(struct stream *s, struct tls_ctx *ctx) LG_MUSTCHECK;
/* The same as the TLS client (towards PostgreSQL); @verify_host may be NULL. */
int stream_start_tls_client(struct stream *s, struct tls_ctx *ctx,
                            const char *verify_host) LG_MUSTCHECK;
/* Ask for ops->on_out_space once everything in s->out has been written. */
void stream_want_out_space(struct stream *s);
/* Resume examining after STREAM_PAUSE or after a mode change; runs at end of turn. */
void stream_kick(struct stream *s);

/* Keep empty buffers' storage (@keep), or give it back now and whenever they empty. */
void stream_keep_buffers(struct stream *s, bool keep);

/* True if nothing is waiting in either buffer. */
bool stream_is_drained(const struct stream *s);

/* evloop callback for the stream's fd (arg = stream). */
void stream_on_io(struct evloop *ev, int fd, void *arg, unsigned events);

#endif
