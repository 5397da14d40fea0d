/* SPDX-License-Identifier: MIT */
/*
 * test_prepared.c: unit tests for prepared.c's result-type bookkeeping: a statement's
 * row type noted from the answer to lifeguard's Describe, a check where it is prepared
 * again (same, changed, or unanswered when the server skips to the Sync), and answers
 * to the client's own Describes left alone; DEALLOCATE ALL / DISCARD ALL forgetting only
 * what was prepared before it, and only once the server ran it.
 * Invariant: every test ends with alloc_live_count() back at its starting value.
 */
#include "prepared.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"

/* A RowDescription payload of one column @name of type @oid. */
static size_t row_desc(uint8_t *p, const char *name, uint32_t oid)
{
    size_t n = 0;
    p[n++] = 0;
    p[n++] = 1;
    size_t nl = strlen(name) + 1;
    memcpy(p + n, name, nl);
    n += nl;
    memset(p + n, 0, 18);
    p[n + 0] = 0x12; /* table oid and column: not part of the type */
    p[n + 6] = (uint8_t)(oid >> 24);
    p[n + 7] = (uint8_t)(oid >> 16);
    p[n + 8] = (uint8_t)(oid >> 8);
    p[n + 9] = (uint8_t)oid;
    p[n + 12] = 0xff; /* type modifier -1 */
    p[n + 13] = 0xff;
    p[n + 14] = 0xff;
    p[n + 15] = 0xff;
    return n + 18;
}

/* The first Parse of statement @id on @ps with lifeguard's Describe, answered. */
static void first_prepare(struct ps_server *ps, uint64_t id, uint32_t oid)
{
    uint8_t rd[64];
    size_t n = row_desc(rd, "a", oid);
    uint64_t evicted;
    assert_int_equal(ps_server_add(ps, id, &evicted), 0);
    assert_int_equal(ps_owe(ps, PS_OWED_PARSE, id), 0);
    assert_int_equal(ps_shape_expect(id), 0);
    assert_int_equal(ps_owe(ps, PS_OWED_DESCRIBE, id), 0);
    assert_int_equal(ps_owe(ps, PS_OWED_SYNC, 0), 0);
    assert_false(ps_shape_known(id));
    assert_false(ps_on_complete(ps, '1')); /* the client's ParseComplete: passes */
    assert_true(ps_on_describe(ps, 't', NULL, 0));
    assert_true(ps_on_describe(ps, 'T', rd, n));
    assert_true(ps_shape_known(id));
    assert_false(ps_on_describe(ps, 'T', rd, n)); /* the client's own Describe: passes */
    ps_on_ready(ps);
    assert_true(ps_owes_nothing(ps));
}

/* Prepared again on @ps (another server), checked against an answer of type @oid. */
static enum ps_check prepare_again(struct ps_server *ps, uint64_t id, uint32_t oid)
{
    uint8_t rd[64];
    size_t n = row_desc(rd, "a", oid);
    assert_int_equal(ps_owe(ps, PS_OWED_PARSE_INJECTED, id), 0);
    assert_int_equal(ps_owe(ps, PS_OWED_DESCRIBE, id), 0);
    ps_check_start(ps, id);
    assert_int_equal(ps_check_state(ps, id), PS_CHECK_PENDING);
    assert_int_equal(ps_check_state(ps, id + 1), PS_CHECK_NONE);
    assert_true(ps_on_complete(ps, '1')); /* injected: swallowed */
    assert_false(ps_check_take_wakeup(ps));
    assert_true(ps_on_describe(ps, 't', NULL, 0));
    assert_int_equal(ps_check_state(ps, id), PS_CHECK_PENDING);
    assert_true(ps_on_describe(ps, 'T', rd, n));
    assert_true(ps_check_take_wakeup(ps));
    assert_false(ps_check_take_wakeup(ps));
    enum ps_check r = ps_check_state(ps, id);
    ps_check_done(ps);
    return r;
}

static void result_type_same_and_changed(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct ps_server *x = ps_server_new(10), *y = ps_server_new(10);
    first_prepare(x, 7, 23); /* int4 */
    assert_int_equal(prepare_again(y, 7, 23), PS_CHECK_SAME);
    assert_int_equal(prepare_again(y, 7, 20), PS_CHECK_CHANGED); /* int8 now */
    ps_shape_forget(7);
    assert_false(ps_shape_known(7));
    ps_server_free(x);
    ps_server_free(y);
    assert_int_equal(alloc_live_count(), base);
}

static void check_unanswered_after_an_error_before_it(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct ps_server *x = ps_server_new(10), *y = ps_server_new(10);
    first_prepare(x, 9, 25);
    /* An earlier Sync is still owed: its ReadyForQuery does not settle the check. */
    assert_int_equal(ps_owe(y, PS_OWED_SYNC, 0), 0);
    assert_int_equal(ps_owe(y, PS_OWED_PARSE_INJECTED, 9), 0);
    assert_int_equal(ps_owe(y, PS_OWED_DESCRIBE, 9), 0);
    ps_check_start(y, 9);
    ps_on_ready(y);
    assert_int_equal(ps_check_state(y, 9), PS_CHECK_PENDING);
    assert_false(ps_check_take_wakeup(y));
    assert_false(ps_server_erred(y));
    /* An error before the Describe: the server skips it. */
    ps_on_error(y);
    assert_true(ps_server_erred(y));
    assert_int_equal(ps_check_state(y, 9), PS_CHECK_UNCHECKED);
    assert_true(ps_check_take_wakeup(y));
    assert_false(ps_server_has(y, 9)); /* its Parse was skipped too */
    ps_check_done(y);
    ps_on_ready(y);
    assert_false(ps_server_erred(y));
    ps_shape_forget(9);
    ps_server_free(x);
    ps_server_free(y);
    assert_int_equal(alloc_live_count(), base);
}

static void guard_parse_is_swallowed_and_known(void **state)
{
    (void)state;
    struct ps_server *ps = ps_server_new(4);
    assert_int_equal(ps_owe(ps, PS_OWED_GUARD, 0), 0);
    assert_true(ps_front_is(ps, PS_OWED_GUARD));
    assert_false(ps_on_describe(ps, 'T', NULL, 0)); /* not a Describe's answer */
    ps_on_error(ps);
    assert_true(ps_owes_nothing(ps));
    ps_server_free(ps);
}

static void add(struct ps_server *ps, uint64_t id)
{
    uint64_t evicted;
    assert_int_equal(ps_server_add(ps, id, &evicted), 0);
    assert_int_equal(evicted, 0);
}

static void clear_forgets_only_what_came_before_it(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct ps_server *ps = ps_server_new(10);
    struct ps_client *pc = ps_client_new();
    assert_int_equal(ps_client_put(pc, "a", 1, (const uint8_t *)"x", 1), 0);
    assert_int_equal(ps_client_put(pc, "b", 2, (const uint8_t *)"x", 1), 0);
    add(ps, 1);
    add(ps, 2);
    /* Parse/Bind/Execute "DEALLOCATE ALL", then a Parse of "c" (id 3), then Sync. */
    assert_int_equal(ps_clear_expect(ps, 3), 0);
    assert_true(ps_clear_covers(ps, 2));
    assert_false(ps_clear_covers(ps, 3));
    assert_false(ps_owes_nothing(ps));
    assert_int_equal(ps_client_put(pc, "c", 3, (const uint8_t *)"x", 1), 0);
    add(ps, 3);
    assert_int_equal(ps_owe(ps, PS_OWED_PARSE, 3), 0);
    assert_int_equal(ps_owe(ps, PS_OWED_SYNC, 0), 0);
    uint64_t bound = 0;
    assert_true(ps_on_clear(ps, &bound));
    assert_int_equal(bound, 3);
    ps_client_clear_before(pc, bound);
    assert_false(ps_server_has(ps, 1));
    assert_false(ps_server_has(ps, 2));
    assert_true(ps_server_has(ps, 3));
    assert_null(ps_client_get(pc, "a"));
    assert_null(ps_client_get(pc, "b"));
    assert_non_null(ps_client_get(pc, "c"));
    assert_false(ps_on_clear(ps, &bound)); /* another one: not expected */
    assert_false(ps_on_complete(ps, '1'));
    ps_on_ready(ps);
    assert_true(ps_owes_nothing(ps));
    ps_client_free(pc);
    ps_server_free(ps);
    assert_int_equal(alloc_live_count(), base);
}

static void refused_clear_forgets_nothing(void **state)
{
    (void)state;
    struct ps_server *ps = ps_server_new(10);
    add(ps, 1);
    /* DISCARD ALL in a transaction block: an error (25001), then ReadyForQuery. */
    assert_int_equal(ps_clear_expect(ps, 2), 0);
    assert_int_equal(ps_owe(ps, PS_OWED_SYNC, 0), 0);
    ps_on_error(ps);
    assert_false(ps_clear_covers(ps, 1));
    ps_on_ready(ps);
    assert_true(ps_owes_nothing(ps));
    assert_true(ps_server_has(ps, 1));
    /* In a later Sync of a pipeline: an error before it (its Sync) leaves it expected;
     * its Sync's ReadyForQuery without its CommandComplete (skipped) forgets it. */
    assert_int_equal(ps_owe(ps, PS_OWED_SYNC, 0), 0);
    assert_int_equal(ps_clear_expect(ps, 2), 0);
    assert_int_equal(ps_owe(ps, PS_OWED_SYNC, 0), 0);
    ps_on_error(ps);
    assert_true(ps_clear_covers(ps, 1));
    ps_on_ready(ps);
    uint64_t bound;
    assert_true(ps_clear_covers(ps, 1));
    ps_on_ready(ps);
    assert_false(ps_clear_covers(ps, 1));
    assert_false(ps_on_clear(ps, &bound));
    assert_true(ps_owes_nothing(ps));
    assert_true(ps_server_has(ps, 1));
    ps_server_free(ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(result_type_same_and_changed),
            cmocka_unit_test(check_unanswered_after_an_error_before_it),
            cmocka_unit_test(guard_parse_is_swallowed_and_known),
            cmocka_unit_test(clear_forgets_only_what_came_before_it),
            cmocka_unit_test(refused_clear_forgets_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
