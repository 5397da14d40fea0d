/* SPDX-License-Identifier: MIT */
/*
 * test_evloop.c: the event loop's io_uring engine over real socket pairs: readiness from
 * multishot polls, sends queued in a turn (several: through the ring; a lone one: send()
 * at the end of the turn), a send larger than the socket can take (completes only once
 * the reader drains it, bytes in order), a forgotten send (no callback, nothing leaked;
 * a pending one goes out with the bytes built after it),
 * the epoll engine refusing asynchronous sends, and timers under both. Not a test of
 * streams (the integration suite runs every test over io_uring).
 */
#include "evloop.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "clock.h"

static struct evloop *ev;
static int sv[2];

struct sent {
    int calls;
    int res;
    int order[8];
};
static int n_done;

static void on_sent(struct evloop *loop, void *arg, int res)
{
    (void)loop;
    struct sent *s = arg;
    s->calls++;
    s->res = res;
    s->order[0] = ++n_done;
}

static int reads;
static void on_io(struct evloop *loop, int fd, void *arg, unsigned events)
{
    (void)loop;
    (void)fd;
    (void)arg;
    if (events & EVLOOP_READ)
        reads++;
}

static void nonblock(int fd)
{
    assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

static int setup_uring(void **state)
{
    (void)state;
    ev = evloop_new();
    assert_non_null(ev);
    char why[128];
    if (evloop_use_uring(ev, why, sizeof(why)) < 0)
        fail_msg("io_uring: %s", why); /* lifeguard's CI machines have it */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    nonblock(sv[0]);
    nonblock(sv[1]);
    n_done = 0;
    reads = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    evloop_del(ev, sv[0]);
    evloop_del(ev, sv[1]);
    close(sv[0]);
    close(sv[1]);
    evloop_run_once(ev, 0);
    evloop_free(ev);
    ev = NULL;
    return 0;
}

static int queue(int fd, const char *text, struct sent *s)
{
    size_t n = strlen(text);
    uint8_t *area = evloop_send_area(ev, n);
    assert_non_null(area);
    memcpy(area, text, n);
    return evloop_send(ev, fd, n, on_sent, s);
}

static size_t drain(int fd, char *out, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, out + got, cap - got);
        if (n <= 0)
            return got;
        got += (size_t)n;
    }
}

/* Two sockets, one send each, in one turn: both go through the ring (one per socket at a
 * time is the contract: the kernel does not order two on one socket). */
static void test_readiness_and_batched_sends(void **state)
{
    (void)state;
    assert_true(evloop_async_send(ev));
    assert_int_equal(evloop_add(ev, sv[1], on_io, NULL), 0);
    struct sent a = {0}, b = {0};
    assert_true(queue(sv[0], "one,two", &a) >= 0);
    assert_true(queue(sv[1], "three", &b) >= 0);
    for (int i = 0; i < 20 && (reads == 0 || n_done < 2); i++)
        assert_int_equal(evloop_run_once(ev, 100000), 0);
    assert_int_equal(a.calls + b.calls, 2);
    assert_int_equal(a.res, 7);
    assert_int_equal(b.res, 5);
    assert_true(reads >= 1);
    char buf[64] = {0};
    assert_int_equal(drain(sv[1], buf, sizeof(buf) - 1), 7);
    assert_string_equal(buf, "one,two");
    memset(buf, 0, sizeof(buf));
    assert_int_equal(drain(sv[0], buf, sizeof(buf) - 1), 5);
    assert_string_equal(buf, "three");
}

static void test_lone_send_completes_in_the_turn(void **state)
{
    (void)state;
    struct sent a = {0};
    assert_true(queue(sv[0], "hello", &a) >= 0);
    assert_int_equal(evloop_run_once(ev, 0), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.res, 5);
    char buf[16] = {0};
    assert_int_equal(drain(sv[1], buf, sizeof(buf)), 5);
}

/* A send bigger than the socket takes completes once the reader makes room. */
static void test_send_waits_for_room_and_arrives_whole(void **state)
{
    (void)state;
    int small = 4096;
    assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    size_t n = EVLOOP_SEND_MAX;
    uint8_t *area = evloop_send_area(ev, n);
    assert_non_null(area);
    for (size_t i = 0; i < n; i++)
        area[i] = (uint8_t)(i * 7);
    struct sent a = {0};
    assert_true(evloop_send(ev, sv[0], n, on_sent, &a) >= 0);
    assert_int_equal(evloop_run_once(ev, 0), 0);
    assert_int_equal(a.calls, 0); /* the socket is full: the ring waits for room */
    static uint8_t got[EVLOOP_SEND_MAX];
    size_t have = 0;
    for (int i = 0; i < 2000 && (a.calls == 0 || have < n); i++) {
        have += drain(sv[1], (char *)got + have, n - have);
        assert_int_equal(evloop_run_once(ev, 1000), 0);
    }
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.res, (int)n);
    assert_int_equal(have, n);
    for (size_t i = 0; i < n; i++)
        if (got[i] != (uint8_t)(i * 7))
            fail_msg("byte %zu differs", i);
}

/* The sender closes: no callback, the staging area is freed (teardown counts leaks). */
static void test_forgotten_sends_call_nothing(void **state)
{
    (void)state;
    int small = 4096;
    assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    struct sent a = {0}, b = {0};
    size_t n = EVLOOP_SEND_MAX;
    uint8_t *area = evloop_send_area(ev, n);
    memset(area, 'x', n);
    int ha = evloop_send(ev, sv[0], n, on_sent, &a);
    assert_true(ha >= 0);
    assert_int_equal(evloop_run_once(ev, 0), 0); /* in the ring, waiting for room */
    int hb = queue(sv[1], "pending", &b);        /* still pending: not in the ring */
    assert_true(hb >= 0);
    evloop_send_forget(ev, hb, NULL, 0);
    evloop_send_forget(ev, ha, NULL, 0);
    for (int i = 0; i < 5; i++) {
        drain(sv[1], (char[4096]){0}, 4096);
        assert_int_equal(evloop_run_once(ev, 1000), 0);
    }
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 0);
}

/* A sender closing with a send not yet handed to the kernel: the send goes out at once,
 * then what the sender built since (an error explaining the close), in that order. */
static void test_forget_writes_the_send_then_the_tail(void **state)
{
    (void)state;
    struct sent a = {0}, b = {0};
    int ha = queue(sv[0], "relayed,", &a);
    assert_true(ha >= 0);
    assert_true(queue(sv[1], "other", &b) >= 0); /* two pending: neither goes at once */
    evloop_send_forget(ev, ha, "FATAL", 5);
    char buf[32] = {0};
    assert_int_equal(drain(sv[1], buf, sizeof(buf) - 1), 13);
    assert_string_equal(buf, "relayed,FATAL");
    for (int i = 0; i < 5 && b.calls == 0; i++)
        assert_int_equal(evloop_run_once(ev, 1000), 0);
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 1);
}

static int fired;
static void on_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    (void)arg;
    fired++;
}

static void test_timer_fires_with_nothing_else(void **state)
{
    (void)state;
    struct evloop_timer t;
    evloop_timer_init(&t, on_timer, NULL);
    fired = 0;
    uint64_t start = clock_update();
    assert_int_equal(evloop_timer_set(ev, &t, start + 20000), 0);
    for (int i = 0; i < 50 && !fired; i++)
        assert_int_equal(evloop_run_once(ev, 1000000), 0);
    assert_int_equal(fired, 1);
    assert_true(clock_update() - start >= 20000);
}

static void test_epoll_engine_sends_synchronously(void **state)
{
    (void)state;
    struct evloop *e = evloop_new();
    assert_non_null(e);
    assert_false(evloop_async_send(e));
    assert_null(evloop_send_area(e, 10));
    struct evloop *saved = ev;
    ev = e;
    test_timer_fires_with_nothing_else(state);
    ev = saved;
    evloop_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_readiness_and_batched_sends, setup_uring,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_lone_send_completes_in_the_turn, setup_uring,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_send_waits_for_room_and_arrives_whole, setup_uring,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_forgotten_sends_call_nothing, setup_uring,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_forget_writes_the_send_then_the_tail, setup_uring,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_timer_fires_with_nothing_else, setup_uring,
                                            teardown),
            cmocka_unit_test(test_epoll_engine_sends_synchronously),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    return rc || alloc_live_count() != 0;
}
