/*
 * bench/relay.c: the floor under a pooler's CPU per transaction (issue 6).
 *
 * A TCP relay that does only the socket work every pooler must do for a query and its
 * answer: each client gets its own server connection (opened at accept), and bytes are
 * copied both ways with recv() and send() as readiness comes from one epoll_wait() for
 * the whole batch. No protocol parsing, no pooling, no authentication of its own
 * (PostgreSQL authenticates the client through it), no per-transaction epoll_ctl (only
 * when a send finds the socket full). bench/run.sh measures its CPU per transaction
 * beside PgBouncer's and lifeguard's: what a pooler spends above it is the pooler's own
 * work; what it spends itself is the kernel's (loopback TCP, waking the peer), which no
 * pooler built on these calls avoids.
 *
 * Built and started by bench/run.sh only: relay LISTEN_PORT SERVER_PORT (both on
 * 127.0.0.1). Runs until killed. Bench tool: a connect that fails closes the client.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE   16384 /* bytes read from one side and not yet sent to the other */
#define MAX_FDS    65536
#define MAX_EVENTS 256

/* One socket: what was read from it and waits for room in its peer. */
struct side {
    int peer;
    size_t off, len;
    char buf[BUF_SIZE];
};

static struct side *sides[MAX_FDS];
static int epfd;

static void watch(int op, int fd, uint32_t events)
{
    struct epoll_event e = {.events = events, .data.fd = fd};
    if (epoll_ctl(epfd, op, fd, &e) < 0) {
        perror("relay: epoll_ctl");
        exit(1);
    }
}

static void close_pair(int fd)
{
    int peer = sides[fd]->peer;
    free(sides[fd]);
    free(sides[peer]);
    sides[fd] = sides[peer] = NULL;
    close(fd); /* closing drops both from the epoll set */
    close(peer);
}

static int tcp_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Send what @fd read to its peer. Returns 0 when all went, 1 when the peer is full
 * (reading @fd pauses until the peer has room), -1 when the pair must close. */
static int flush(int fd)
{
    struct side *s = sides[fd];
    while (s->off < s->len) {
        ssize_t n = send(s->peer, s->buf + s->off, s->len - s->off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0)
            return errno == EAGAIN ? 1 : -1;
        s->off += (size_t)n;
    }
    s->off = s->len = 0;
    return 0;
}

static void readable(int fd, uint32_t events)
{
    struct side *s = sides[fd];
    if (s->len) { /* paused: the peer is full */
        if (events & (EPOLLERR | EPOLLHUP))
            close_pair(fd);
        return;
    }
    ssize_t n = recv(fd, s->buf, sizeof(s->buf), MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) {
        close_pair(fd);
        return;
    }
    s->len = (size_t)n;
    int r = flush(fd);
    if (r < 0) {
        close_pair(fd);
    } else if (r > 0) {
        watch(EPOLL_CTL_MOD, fd, 0);
        watch(EPOLL_CTL_MOD, s->peer, EPOLLIN | EPOLLOUT);
    }
}

/* @fd has room: send what its peer read, then both read again. */
static void writable(int fd)
{
    int from = sides[fd]->peer;
    int r = flush(from);
    if (r < 0) {
        close_pair(fd);
    } else if (r == 0) {
        watch(EPOLL_CTL_MOD, fd, EPOLLIN);
        watch(EPOLL_CTL_MOD, from, EPOLLIN);
    }
}

static void accept_all(int lfd, const struct sockaddr_in *server)
{
    for (;;) {
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            return;
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        int s = tcp_socket();
        /* a blocking connect: on loopback it completes at once */
        if (s < 0 || s >= MAX_FDS || c >= MAX_FDS ||
            connect(s, (const struct sockaddr *)server, sizeof(*server)) < 0) {
            perror("relay: connect to the server");
            close(c);
            if (s >= 0)
                close(s);
            continue;
        }
        sides[c] = calloc(1, sizeof(struct side));
        sides[s] = calloc(1, sizeof(struct side));
        if (!sides[c] || !sides[s]) {
            fprintf(stderr, "relay: out of memory\n");
            exit(1);
        }
        sides[c]->peer = s;
        sides[s]->peer = c;
        watch(EPOLL_CTL_ADD, c, EPOLLIN);
        watch(EPOLL_CTL_ADD, s, EPOLLIN);
    }
}

/* Started in the background by a script, SIGINT comes in ignored: stop on it anyway. */
static void on_stop(int sig)
{
    (void)sig;
    _exit(0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: relay LISTEN_PORT SERVER_PORT\n");
        return 2;
    }
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    struct sockaddr_in listen_at = {.sin_family = AF_INET,
                                    .sin_port = htons((uint16_t)atoi(argv[1])),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in server = listen_at;
    server.sin_port = htons((uint16_t)atoi(argv[2]));
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (const struct sockaddr *)&listen_at, sizeof(listen_at)) < 0 ||
        listen(lfd, 4096) < 0) {
        perror("relay: listen");
        return 1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    watch(EPOLL_CTL_ADD, lfd, EPOLLIN);
    struct epoll_event ev[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(epfd, ev, MAX_EVENTS, -1);
        if (n < 0 && errno != EINTR) {
            perror("relay: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = ev[i].data.fd;
            if (fd == lfd) {
                accept_all(lfd, &server);
                continue;
            }
            if (!sides[fd])
                continue; /* closed earlier in this batch */
            if (ev[i].events & EPOLLOUT)
                writable(fd);
            if (sides[fd] && ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                readable(fd, ev[i].events);
        }
    }
}
