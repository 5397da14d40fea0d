/* SPDX-License-Identifier: MIT */
/*
 * test_intern.c: unit tests for intern.c, the shared refcounted strings: equal strings
 * share one copy, references count, the last put frees, lengths (not NULs) delimit,
 * the table grows past its first size, and allocation failure returns NULL cleanly.
 * Invariant: every test ends with alloc_live_count() back at its starting value.
 */
#include "intern.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"

static void equal_strings_share_one_copy(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    char a[] = "TimeZone", b[] = "TimeZone";
    const char *x = intern_get(a), *y = intern_get(b);
    assert_non_null(x);
    assert_ptr_equal(x, y);
    assert_ptr_not_equal(x, a);
    assert_string_equal(x, "TimeZone");
    assert_int_equal(intern_count(), 1);
    const char *z = intern_get("UTC");
    assert_ptr_not_equal(x, z);
    assert_int_equal(intern_count(), 2);
    intern_put(x);
    assert_int_equal(intern_count(), 2); /* y still holds it */
    assert_string_equal(y, "TimeZone");
    intern_put(y);
    intern_put(z);
    assert_int_equal(intern_count(), 0);
    intern_put(NULL);
    assert_int_equal(alloc_live_count(), base);
}

static void length_not_nul_delimits(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    const char *ab = intern_getn("abc", 2);
    const char *abc = intern_get("abc");
    const char *with_nul = intern_getn("ab\0c", 4);
    assert_string_equal(ab, "ab");
    assert_ptr_not_equal(ab, abc);
    assert_ptr_not_equal(ab, with_nul); /* same C string, different bytes */
    assert_ptr_equal(intern_getn("abcdef", 2), ab);
    intern_put(ab);
    intern_put(ab);
    intern_put(abc);
    intern_put(with_nul);
    assert_int_equal(intern_count(), 0);
    assert_int_equal(alloc_live_count(), base);
}

static void grows_and_finds_everything(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    enum { N = 1000 };
    static const char *refs[N];
    char tmp[32];
    for (int i = 0; i < N; i++) {
        snprintf(tmp, sizeof(tmp), "value-%d", i);
        refs[i] = intern_get(tmp);
        assert_non_null(refs[i]);
    }
    assert_int_equal(intern_count(), N);
    for (int i = 0; i < N; i++) {
        snprintf(tmp, sizeof(tmp), "value-%d", i);
        const char *again = intern_get(tmp);
        assert_ptr_equal(again, refs[i]);
        intern_put(again);
    }
    for (int i = N - 1; i >= 0; i--)
        intern_put(refs[i]);
    assert_int_equal(intern_count(), 0);
    assert_int_equal(alloc_live_count(), base);
}

static void allocation_failure_returns_null(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    alloc_fail_after(1); /* the entry cannot be made */
    assert_null(intern_get("x"));
    alloc_fail_reset();
    alloc_fail_after(2); /* the entry, but not the table */
    assert_null(intern_get("x"));
    alloc_fail_reset();
    assert_int_equal(alloc_live_count(), base); /* no empty table left behind */
    assert_int_equal(intern_count(), 0);
    const char *x = intern_get("x");
    assert_non_null(x);
    intern_put(x);
    assert_int_equal(alloc_live_count(), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(equal_strings_share_one_copy),
            cmocka_unit_test(length_not_nul_delimits),
            cmocka_unit_test(grows_and_finds_everything),
            cmocka_unit_test(allocation_failure_returns_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
