/* SPDX-License-Identifier: MIT */
/*
 * net.c: sockets. All fds are non-blocking and close-on-exec. MSG_NOSIGNAL on every
 * send so a peer that vanished gives -EPIPE instead of killing the process.
 */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int set_int(int fd, int level, int name, int v)
{
    return setsockopt(fd, level, name, &v, sizeof(v)) < 0 ? -errno : 0;
}

static int listen_one(const struct addrinfo *ai, const struct net_listen_opts *o)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    /* SO_REUSEPORT before bind: the kernel lets a second socket bind the same address
     * only if both set it (and belong to the same user). */
    int rc = o->reuseport ? set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1) : 0;
    if (rc == 0 && (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, o->backlog) < 0))
        rc = -errno;
    if (rc == 0 && o->defer_accept)
        rc = net_set_defer_accept(fd, true);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int net_set_defer_accept(int fd, bool on)
{
    /* The value is seconds, turned by the kernel into SYN-ACK retransmissions; 1 as in
     * PgBouncer: a client that connects and stays silent is handed over after the first
     * retransmission instead of being held (or dropped) for longer. */
    return set_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, on ? 1 : 0);
}

int net_listen_tcp(const char *addr, int port, const struct net_listen_opts *o, int *fds, int max)
{
    struct addrinfo hints = {0}, *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_ADDRCONFIG;
    const char *node = (addr && strcmp(addr, "*") != 0) ? addr : NULL;
    int rc = getaddrinfo(node, portstr, &hints, &res);
    if (rc != 0)
        return rc == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
    int n = 0, err = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
        int fd = listen_one(ai, o);
        if (fd < 0) {
            err = fd;
            continue;
        }
        fds[n++] = fd;
    }
    freeaddrinfo(res);
    return n > 0 ? n : err;
}

static int unix_path(const char *dir, int port, struct sockaddr_un *sun)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    int len = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/.s.PGSQL.%d", dir, port);
    if (len < 0 || (size_t)len >= sizeof(sun->sun_path))
        return -ENAMETOOLONG;
    return 0;
}

long net_group_id(const char *group)
{
    struct group gr, *res = NULL;
    char buf[4096];
    if (getgrnam_r(group, &gr, buf, sizeof(buf), &res) == 0 && res)
        return (long)res->gr_gid;
    char *end;
    errno = 0;
    long v = strtol(group, &end, 10);
    if (errno || end == group || *end || v < 0 || v > INT_MAX)
        return -ENOENT;
    return v;
}

int net_listen_unix(const char *dir, int port, int mode, long gid, int backlog)
{
    struct sockaddr_un sun;
    int rc = unix_path(dir, port, &sun);
    if (rc < 0)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* A stale socket file from a crashed run: remove it only if nobody answers on it. */
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0) {
        if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
            close(probe);
            close(fd);
            return -EADDRINUSE;
        }
        close(probe);
    }
    unlink(sun.sun_path);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    /* Group and mode before listen(): nobody connects while they are still wider. */
    if ((gid >= 0 && chown(sun.sun_path, (uid_t)-1, (gid_t)gid) < 0) ||
        chmod(sun.sun_path, (mode_t)mode) < 0 || listen(fd, backlog) < 0) {
        int e = -errno;
        unlink(sun.sun_path); /* ours: bind created it */
        close(fd);
        return e;
    }
    return fd;
}

void net_unlink_unix(const char *dir, int port)
{
    struct sockaddr_un sun;
    if (unix_path(dir, port, &sun) == 0)
        unlink(sun.sun_path);
}

int net_accept(int lfd, char *peer, size_t peer_len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (peer && peer_len) {
        char host[INET6_ADDRSTRLEN] = "";
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
            snprintf(peer, peer_len, "%s:%d", host, ntohs(in->sin_port));
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
            snprintf(peer, peer_len, "[%s]:%d", host, ntohs(in6->sin6_port));
        } else {
            snprintf(peer, peer_len, "unix");
        }
    }
    return fd;
}

int net_connect(const char *host, int port, const struct net_tcp_opts *o)
{
    if (host && host[0] == '/') {
        struct sockaddr_un sun;
        int rc = unix_path(host, port, &sun);
        if (rc < 0)
            return rc;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 && errno != EINPROGRESS &&
            errno != EAGAIN) {
            int e = -errno;
            close(fd);
            return e;
        }
        return fd;
    }
    struct addrinfo hints = {0}, *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host && *host ? host : "localhost", portstr, &hints, &res);
    if (rc != 0)
        return rc == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
    int err = -EHOSTUNREACH;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        if (o && (err = net_set_tcp_options(fd, o)) < 0) {
            close(fd);
            break;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            freeaddrinfo(res);
            return fd;
        }
        err = -errno;
        close(fd);
    }
    freeaddrinfo(res);
    return err;
}

int net_connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return -err;
}

int net_set_tcp_options(int fd, const struct net_tcp_opts *o)
{
    int rc = set_int(fd, IPPROTO_TCP, TCP_NODELAY, o->nodelay);
    if (rc == 0)
        rc = set_int(fd, SOL_SOCKET, SO_KEEPALIVE, o->keepalive);
    if (rc == 0 && o->keepalive && o->keepidle_s > 0)
        rc = set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, o->keepidle_s);
    if (rc == 0 && o->keepalive && o->keepintvl_s > 0)
        rc = set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, o->keepintvl_s);
    if (rc == 0 && o->keepalive && o->keepcnt > 0)
        rc = set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, o->keepcnt);
    if (rc == 0 && o->user_timeout_ms > 0)
        rc = set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, o->user_timeout_ms);
    if (rc == 0 && o->buffer_bytes > 0)
        rc = set_int(fd, SOL_SOCKET, SO_SNDBUF, o->buffer_bytes);
    if (rc == 0 && o->buffer_bytes > 0)
        rc = set_int(fd, SOL_SOCKET, SO_RCVBUF, o->buffer_bytes);
    return rc;
}

ssize_t net_read(int fd, void *p, size_t n)
{
    for (;;) {
        ssize_t r = recv(fd, p, n, 0);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

ssize_t net_write(int fd, const void *p, size_t n)
{
    for (;;) {
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

int net_parse_addr(const char *text, struct sockaddr_storage *out)
{
    char host[INET6_ADDRSTRLEN + 2];
    memset(out, 0, sizeof(*out));
    const char *colon = strrchr(text, ':');
    if (!colon)
        return -EINVAL;
    size_t n = (size_t)(colon - text);
    if (text[0] == '[') {
        if (n < 2 || text[n - 1] != ']' || n - 2 >= sizeof(host))
            return -EINVAL;
        memcpy(host, text + 1, n - 2);
        host[n - 2] = '\0';
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
        in6->sin6_family = AF_INET6;
        return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1 ? 0 : -EINVAL;
    }
    if (n >= sizeof(host))
        return -EINVAL;
    memcpy(host, text, n);
    host[n] = '\0';
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    in->sin_family = AF_INET;
    return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 : -EINVAL;
}

bool net_peer_is_self(int fd)
{
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cred.uid == geteuid();
}

int net_peer_user(int fd, char *name, size_t len)
{
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
        return -errno;
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
        return -ENOENT;
    snprintf(name, len, "%s", pw.pw_name);
    return 0;
}

void net_pick_host(const char *hosts, unsigned idx, char *out, size_t n)
{
    const char *h = hosts;
    if (!strchr(h, ',')) {
        snprintf(out, n, "%s", h);
        return;
    }
    unsigned count = 1;
    for (const char *q = h; *q; q++)
        count += *q == ',';
    unsigned want = idx % count;
    for (unsigned i = 0; i < want; i++)
        h = strchr(h, ',') + 1;
    const char *end = strchr(h, ',');
    size_t len = end ? (size_t)(end - h) : strlen(h);
    while (len && (*h == ' ' || *h == '\t')) {
        h++;
        len--;
    }
    while (len && (h[len - 1] == ' ' || h[len - 1] == '\t'))
        len--;
    snprintf(out, n, "%.*s", (int)LG_MIN(len, n - 1), h);
}
