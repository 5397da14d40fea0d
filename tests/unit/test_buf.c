/* SPDX-License-Identifier: MIT */
/*
 * test_buf.c: unit tests for buf.c, the bounded buffer: lazy allocation, appending up
 * to exactly full capacity and then -ENOSPC, compaction, the three cursors, releasing
 * idle storage, growing for one long message and shrinking back, and allocation failure
 * (alloc_fail_after) leaving the buffer usable.
 * Not a test of the stream I/O that fills and drains buffers (stream.c).
 * Invariant: every test ends with alloc_live_count() back at its starting value.
 */
#include "buf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "alloc.h"
#include "base.h"

/* Drop cached spare storage, then check that nothing allocated since @base is live. */
static void assert_no_leak(int64_t base)
{
    buf_cache_flush();
    assert_int_equal(alloc_live_count(), base);
}

/* Simulate a read() of @n bytes into the unscanned region. */
static void receive(struct buf *b, const void *p, size_t n)
{
    assert_int_equal(buf_ensure(b), 0);
    assert_true(buf_space(b) >= n);
    memcpy(b->data + b->end, p, n);
    b->end += n;
}

static void assert_pending_bytes(const struct buf *b, const char *expect)
{
    size_t n = strlen(expect);
    assert_int_equal(buf_pending(b), n);
    assert_memory_equal(b->data + b->sent, expect, n);
}

static void test_init_allocates_nothing(void **state)
{
    (void)state;
    buf_cache_flush();
    int64_t base = alloc_live_count();
    uint64_t calls = alloc_total_count();
    struct buf b;

    buf_init(&b, 32);
    assert_null(b.data);
    assert_int_equal(b.cap, 32);
    assert_int_equal(buf_pending(&b), 0);
    assert_int_equal(buf_ready(&b), 0);
    assert_int_equal(buf_unscanned(&b), 0);
    assert_int_equal(buf_space(&b), 32);
    assert_true(buf_empty(&b));
    assert_int_equal(alloc_total_count(), calls);
    /* fini and release on a never-used buffer are no-ops */
    buf_release_if_empty(&b);
    buf_fini(&b);
    assert_null(b.data);
    assert_int_equal(alloc_total_count(), calls);
    assert_no_leak(base);
}

static void test_ensure_allocates_once(void **state)
{
    (void)state;
    buf_cache_flush();
    int64_t base = alloc_live_count();
    struct buf b;

    buf_init(&b, 32);
    assert_int_equal(buf_ensure(&b), 0);
    assert_non_null(b.data);
    assert_int_equal(alloc_live_count(), base + 1);
    uint8_t *first = b.data;
    uint64_t calls = alloc_total_count();
    assert_int_equal(buf_ensure(&b), 0);
    assert_ptr_equal(b.data, first);
    assert_int_equal(alloc_total_count(), calls);
    assert_int_equal(buf_space(&b), 32);
    buf_fini(&b);
    assert_null(b.data);
    assert_no_leak(base);
}

static void test_append_allocates_lazily(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct buf b;

    buf_init(&b, 16);
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    assert_non_null(b.data);
    assert_pending_bytes(&b, "abc");
    /* appended bytes are already scanned: ready to send */
    assert_int_equal(buf_ready(&b), 3);
    assert_int_equal(buf_unscanned(&b), 0);
    assert_false(buf_empty(&b));
    buf_fini(&b);
    assert_no_leak(base);
}

static void test_append_to_exactly_full_then_enospc(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct buf b;

    buf_init(&b, 16);
    assert_int_equal(buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(buf_append(&b, "abcdef", 6), 0);
    assert_int_equal(buf_space(&b), 0);
    assert_pending_bytes(&b, "0123456789abcdef");
    assert_int_equal(buf_append(&b, "x", 1), -ENOSPC);
    assert_pending_bytes(&b, "0123456789abcdef");
    assert_int_equal(buf_ready(&b), 16);
    /* zero bytes always fit, even when full */
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_pending_bytes(&b, "0123456789abcdef");
    buf_fini(&b);
    assert_no_leak(base);
}

static void test_append_larger_than_capacity_writes_nothing(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct buf b;

    buf_init(&b, 8);
    assert_int_equal(buf_append(&b, "123456789", 9), -ENOSPC);
    assert_true(buf_empty(&b));
    assert_int_equal(buf_space(&b), 8);
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    assert_int_equal(buf_append(&b, "defghi", 6), -ENOSPC);
    assert_pending_bytes(&b, "abc");
    assert_int_equal(buf_append(&b, "defgh", 5), 0);
    assert_pending_bytes(&b, "abcdefgh");
    buf_fini(&b);
    assert_no_leak(base);
}

static void test_append_compacts_to_make_room(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct buf b;

    buf_init(&b, 16);
    assert_int_equal(buf_append(&b, "0123456789AB", 12), 0);
    b.sent = 8; /* the first 8 bytes went out */
    assert_int_equal(buf_space(&b), 4);
    /* 8 more do not fit at the end but do after moving "89AB" to the front */
    assert_int_equal(buf_append(&b, "cdefghij", 8), 0);
    assert_int_equal(b.sent, 0);
    assert_int_equal(b.end, 12);
    assert_int_equal(b.scan, 12);
    assert_pending_bytes(&b, "89ABcdefghij");
    /* exactly full after compaction too: 4 free, sent 0 */
    b.sent = 4;
    assert_int_equal(buf_append(&b, "klmnopqr", 8), 0);
    assert_int_equal(buf_space(&b), 0);
    assert_pending_bytes(&b, "cdefghijklmnopqr");
    b.sent = 15;
    assert_int_equal(buf_append(&b, "0123456789abcdefg", 17), -ENOSPC);
    assert_pending_bytes(&b, "r");
    buf_fini(&b);
    assert_no_leak(base);
}

static void test_compact_moves_live_bytes_and_keeps_cursors(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct buf b;

    buf_init(&b, 16);
    receive(&b, "0123456789", 10);
    b.scan = 7; /* examined 7 */
    b.sent = 4; /* sent 4 */
    buf_compact(&b);
    assert_int_equal(b.sent, 0);
    assert_int_equal(b.scan, 3);
    assert_int_equal(b.end, 6);
    assert_pending_bytes(&b, "456789");
    assert_int_equal(buf_ready(&b), 3);
    assert_int_equal(buf_unscanned(&b), 3);
    assert_int_equal(buf_space(&b), 10);

    /* sent == 0: nothing to do */
    uint8_t *data = b.data;
    buf_compact(&b);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.end, 6);
    assert_pending_bytes(&b, "456789");

    /* everything sent: cursors reset, storage kept */
    b.scan = b.sent = b.end;
    buf_compact(&b);
    assert_int_equal(b.sent, 0);
    assert_int_equal(b.scan, 0);
    assert_int_equal(b.end, 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(buf_space(&b), 16);
    buf_fini(&b);
    assert_no_leak(base);
}

static void test_cursors_track_receive_scan_send(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct buf b;

    buf_init(&b, 32);
    receive(&b, "hello world", 11);
    assert_int_equal(buf_pending(&b), 11);
    assert_int_equal(buf_unscanned(&b), 11);
    assert_int_equal(buf_ready(&b), 0);
    assert_int_equal(buf_space(&b), 21);

    b.scan += 5; /* "hello" examined */
    assert_int_equal(buf_unscanned(&b), 6);
    assert_int_equal(buf_ready(&b), 5);

    b.sent += 3; /* "hel" written */
    assert_int_equal(buf_pending(&b), 8);
    assert_int_equal(buf_ready(&b), 2);
    assert_int_equal(buf_unscanned(&b), 6);
    assert_false(buf_empty(&b));
    /* space counts only the tail; compaction is what recovers the head */
    assert_int_equal(buf_space(&b), 21);

    b.scan = b.end;
    b.sent = b.end;
    assert_true(buf_empty(&b));
    assert_int_equal(buf_pending(&b), 0);
    buf_fini(&b);
    assert_no_leak(base);
}

static void test_release_if_empty(void **state)
{
    (void)state;
    buf_cache_flush();
    int64_t base = alloc_live_count();
    struct buf b;

    buf_init(&b, 16);
    assert_int_equal(buf_append(&b, "abcd", 4), 0);
    /* holds bytes: kept */
    buf_release_if_empty(&b);
    assert_non_null(b.data);
    assert_pending_bytes(&b, "abcd");
    /* partly sent: still kept */
    b.sent = 2;
    buf_release_if_empty(&b);
    assert_non_null(b.data);
    assert_pending_bytes(&b, "cd");
    /* all sent: storage dropped, cursors reset, capacity kept */
    b.sent = b.end;
    buf_release_if_empty(&b);
    assert_null(b.data);
    assert_int_equal(b.sent, 0);
    assert_int_equal(b.scan, 0);
    assert_int_equal(b.end, 0);
    assert_int_equal(b.cap, 16);
    assert_int_equal(buf_space(&b), 16);
    /* storage may sit in the spare cache, but nothing is live once that is flushed */
    assert_no_leak(base);
    /* and the buffer works again, reallocating lazily */
    assert_int_equal(buf_append(&b, "0123456789abcdef", 16), 0);
    assert_non_null(b.data);
    assert_pending_bytes(&b, "0123456789abcdef");
    buf_fini(&b);
    assert_no_leak(base);
}

static void test_fini_then_reuse(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct buf b;

    buf_init(&b, 8);
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    buf_fini(&b); /* frees even with bytes pending */
    assert_null(b.data);
    assert_true(buf_empty(&b));
    assert_int_equal(b.cap, 8);
    assert_int_equal(buf_append(&b, "12345678", 8), 0);
    assert_pending_bytes(&b, "12345678");
    buf_fini(&b);
    buf_fini(&b); /* twice is harmless */
    assert_no_leak(base);
}

static void test_many_buffers_are_all_returned(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct buf bufs[300]; /* more than any spare cache should hold */

    for (size_t i = 0; i < ARRAY_SIZE(bufs); i++) {
        buf_init(&bufs[i], 64);
        assert_int_equal(buf_append(&bufs[i], &i, sizeof(i)), 0);
    }
    for (size_t i = 0; i < ARRAY_SIZE(bufs); i++) {
        size_t v;
        memcpy(&v, bufs[i].data, sizeof(v));
        assert_int_equal(v, i);
        if (i % 2)
            buf_fini(&bufs[i]);
        else {
            bufs[i].sent = bufs[i].end;
            buf_release_if_empty(&bufs[i]);
        }
    }
    assert_no_leak(base);
}

static void test_ensure_enomem_leaves_buffer_usable(void **state)
{
    (void)state;
    buf_cache_flush(); /* otherwise a spare chunk could satisfy buf_ensure without malloc */
    int64_t base = alloc_live_count();
    struct buf b;

    buf_init(&b, 16);
    alloc_fail_after(1);
    assert_int_equal(buf_ensure(&b), -ENOMEM);
    assert_null(b.data);
    assert_true(buf_empty(&b));
    assert_int_equal(buf_space(&b), 16);
    assert_int_equal(buf_append(&b, "abc", 3), -ENOMEM);
    assert_null(b.data);
    assert_true(buf_empty(&b));
    buf_release_if_empty(&b);
    buf_fini(&b);
    alloc_fail_reset();
    assert_int_equal(alloc_live_count(), base);

    assert_int_equal(buf_ensure(&b), 0);
    assert_non_null(b.data);
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    assert_pending_bytes(&b, "abc");
    buf_fini(&b);
    assert_no_leak(base);
}

static void test_enomem_after_release_then_recover(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct buf b;

    buf_init(&b, 16);
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    b.sent = b.end;
    buf_release_if_empty(&b);
    buf_cache_flush();
    alloc_fail_after(1);
    assert_int_equal(buf_append(&b, "def", 3), -ENOMEM);
    assert_null(b.data);
    assert_true(buf_empty(&b));
    alloc_fail_reset();
    assert_int_equal(buf_append(&b, "def", 3), 0);
    assert_pending_bytes(&b, "def");
    buf_fini(&b);
    assert_no_leak(base);
}

static void test_grow_keeps_live_bytes_at_the_front_and_shrink_frees(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    size_t live, cached, chunk;
    struct buf b;

    buf_init(&b, 16);
    receive(&b, "0123456789abcdef", 16);
    b.scan = 10; /* examined up to 'a' */
    b.sent = 4;  /* "0123" gone out */
    assert_int_equal(buf_grow(&b, 64), 0);
    assert_int_equal(b.cap, 64);
    assert_int_equal(b.sent, 0);
    assert_int_equal(b.scan, 6);
    assert_int_equal(b.end, 12);
    assert_pending_bytes(&b, "456789abcdef");
    assert_int_equal(buf_space(&b), 52);
    receive(&b, "ghij", 4);
    assert_pending_bytes(&b, "456789abcdefghij");
    buf_storage_stats(&live, &cached, &chunk);
    assert_int_equal(live, 1); /* the old chunk went to the spare cache */
    assert_int_equal(cached, 1);
    buf_shrink(&b, 16);
    assert_null(b.data);
    assert_int_equal(b.cap, 16);
    assert_true(buf_empty(&b));
    buf_storage_stats(&live, &cached, &chunk);
    assert_int_equal(live, 0);
    assert_int_equal(chunk, 16); /* the grown size never became the cache's */
    assert_int_equal(buf_append(&b, "xyz", 3), 0);
    assert_pending_bytes(&b, "xyz");
    buf_fini(&b);
    assert_no_leak(base);
}

static void test_grow_of_an_unused_buffer_and_enomem(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct buf b;

    buf_init(&b, 16);
    alloc_fail_after(1);
    assert_int_equal(buf_grow(&b, 32), -ENOMEM);
    alloc_fail_reset();
    assert_null(b.data);
    assert_int_equal(b.cap, 16);
    assert_int_equal(buf_grow(&b, 32), 0);
    assert_non_null(b.data);
    assert_true(buf_empty(&b));
    assert_int_equal(buf_space(&b), 32);
    buf_shrink(&b, 16);
    buf_fini(&b);
    assert_no_leak(base);
}

static int teardown(void **state)
{
    (void)state;
    alloc_fail_reset();
    buf_cache_flush();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_init_allocates_nothing),
            cmocka_unit_test(test_ensure_allocates_once),
            cmocka_unit_test(test_append_allocates_lazily),
            cmocka_unit_test(test_append_to_exactly_full_then_enospc),
            cmocka_unit_test(test_append_larger_than_capacity_writes_nothing),
            cmocka_unit_test(test_append_compacts_to_make_room),
            cmocka_unit_test(test_compact_moves_live_bytes_and_keeps_cursors),
            cmocka_unit_test(test_cursors_track_receive_scan_send),
            cmocka_unit_test(test_release_if_empty),
            cmocka_unit_test(test_fini_then_reuse),
            cmocka_unit_test(test_many_buffers_are_all_returned),
            cmocka_unit_test(test_ensure_enomem_leaves_buffer_usable),
            cmocka_unit_test(test_enomem_after_release_then_recover),
            cmocka_unit_test(test_grow_keeps_live_bytes_at_the_front_and_shrink_frees),
            cmocka_unit_test(test_grow_of_an_unused_buffer_and_enomem),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
