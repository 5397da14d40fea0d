/* SPDX-License-Identifier: MIT */
/*
 * stream_tls.c: switching a stream's socket to TLS (as the server towards a client that
 * asked with SSLRequest, or as the client towards PostgreSQL) and naming what was agreed.
 * The handshake's steps and TLS reads and writes run in the relay loop (stream.c).
 */
#include <errno.h>

#include "buf.h"
#include "stream.h"
#include "tls.h"

int stream_start_tls(struct stream *s, struct tls_ctx *ctx)
{
    if (!buf_empty(&s->out) || buf_unscanned(&s->in) || buf_ready(&s->in))
        return -EPROTO;
    s->tls = tls_conn_new(ctx, s->fd);
    if (!s->tls)
        return -ENOMEM;
    s->tls_handshaking = true;
    s->can_read = s->can_write = true; /* let the handshake try at once */
    stream_kick(s);
    return 0;
}

int stream_start_tls_client(struct stream *s, struct tls_ctx *ctx, const char *verify_host)
{
    if (!buf_empty(&s->out) || buf_unscanned(&s->in) > 0)
        return -EPROTO;
    s->tls = tls_client_conn_new(ctx, s->fd, verify_host);
    if (!s->tls)
        return -ENOMEM;
    s->tls_handshaking = true;
    s->can_read = s->can_write = true;
    stream_kick(s);
    return 0;
}

const char *stream_tls_describe(const struct stream *s, char *buf, size_t n)
{
    if (s->tls && !s->tls_handshaking)
        return tls_describe(s->tls, buf, n);
    if (n)
        buf[0] = '\0';
    return buf;
}
