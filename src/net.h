/* SPDX-License-Identifier: MIT */
/*
 * net.h: socket plumbing: listeners (TCP, Unix), accept, non-blocking connect,
 * socket options, and peer address text. Functions return fds or -errno; they
 * never log and never block (except name resolution in net_connect, see there).
 */
#ifndef LG_NET_H
#define LG_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base.h"

/* How a TCP listener is opened. */
struct net_listen_opts {
    int backlog;       /* listen(2) backlog */
    bool reuseport;    /* SO_REUSEPORT: share the port with other sockets that set it */
    bool defer_accept; /* TCP_DEFER_ACCEPT, see net_set_defer_accept */
};

/* Options for a TCP connection; a zero field leaves the system's default. */
struct net_tcp_opts {
    bool nodelay;        /* TCP_NODELAY */
    bool keepalive;      /* SO_KEEPALIVE; the three below only apply with it */
    int keepidle_s;      /* TCP_KEEPIDLE */
    int keepintvl_s;     /* TCP_KEEPINTVL */
    int keepcnt;         /* TCP_KEEPCNT */
    int user_timeout_ms; /* TCP_USER_TIMEOUT */
    int buffer_bytes;    /* SO_SNDBUF and SO_RCVBUF */
};

/* Listen on TCP @addr ("*" = all IPv4 and IPv6, or a literal/host name) : @port with @o.
 * Writes up to @max fds into @fds; returns how many (>0) or -errno (-EADDRINUSE: another
 * socket listens there without SO_REUSEPORT on both). */
int net_listen_tcp(const char *addr, int port, const struct net_listen_opts *o, int *fds,
                   int max) LG_MUSTCHECK;
/* Turn TCP_DEFER_ACCEPT on or off on TCP listener @fd: when on, the kernel hands over a
 * connection only once data arrived on it (or, for a silent client, after one SYN-ACK
 * retransmission, about a second). 0 or -errno. */
int net_set_defer_accept(int fd, bool on) LG_MUSTCHECK;
/* Listen on "@dir/.s.PGSQL.@port" with file mode @mode and group @gid (-1: leave it)
 * (stale socket file removed). Returns the fd or -errno. */
int net_listen_unix(const char *dir, int port, int mode, long gid, int backlog) LG_MUSTCHECK;
/* The group id of @group, a group name or a number: >= 0, or -ENOENT. */
long net_group_id(const char *group);
/* Accept one connection, non-blocking and close-on-exec. fd, or -errno (-EAGAIN: none). */
int net_accept(int lfd, char *peer, size_t peer_len) LG_MUSTCHECK;
/* Start a non-blocking connect to @host:@port; a @host starting with '/' is a Unix
 * socket directory. A TCP socket gets @o (NULL: none) before connect(), so buffer sizes
 * count in the window scale; an option the kernel refuses fails the connect. Name
 * resolution is synchronous (getaddrinfo): use IP literals or /etc/hosts names for
 * servers. Returns the fd (connect may still be in progress) or -errno. */
int net_connect(const char *host, int port, const struct net_tcp_opts *o) LG_MUSTCHECK;
/* Entry @idx (mod their number) of the comma-separated @hosts (PgBouncer's host=a,b
 * lists, tried round robin by the caller), trimmed, into @out; a single host as is. */
void net_pick_host(const char *hosts, unsigned idx, char *out, size_t n);
/* After writability on a connecting fd: 0 if connected, else -errno (SO_ERROR). */
int net_connect_result(int fd);
/* Apply @o to TCP socket @fd (not for Unix sockets). 0, or the -errno of the first
 * option the kernel refused (the ones before it are set). */
int net_set_tcp_options(int fd, const struct net_tcp_opts *o) LG_MUSTCHECK;
/* Remove the Unix socket file created by net_listen_unix. */
void net_unlink_unix(const char *dir, int port);

struct sockaddr_storage;
/* Parse "a.b.c.d:port" or "[v6]:port" (as net_accept writes it). 0 or -EINVAL. */
int net_parse_addr(const char *text, struct sockaddr_storage *out);
/* The user name of the process at the other end of a Unix socket (SO_PEERCRED). */
int net_peer_user(int fd, char *name, size_t len);
/* Is the process at the other end of Unix socket @fd running as this process's user? */
bool net_peer_is_self(int fd);

/* Read/write wrappers: bytes (>0), 0 on EOF (read), -EAGAIN, or -errno. */
ssize_t net_read(int fd, void *p, size_t n);
ssize_t net_write(int fd, const void *p, size_t n);

#endif
