/* SPDX-License-Identifier: MIT */
/*
 * test_paramset.c: unit tests for paramset.c, the shared parameter lists: equal lists
 * (by content, whatever the caller's pointers) are one set with one hash, order and
 * values matter, the last reference frees everything (and the interned strings), lookup
 * folds case, and allocation failure returns NULL without leaking.
 * Invariant: every test ends with alloc_live_count() back at its starting value.
 */
#include "paramset.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "intern.h"

static void equal_content_is_one_set(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    char n1[] = "TimeZone", v1[] = "UTC", n2[] = "TimeZone", v2[] = "UTC";
    struct pgproto_param a[] = {{n1, v1}, {"application_name", "web"}};
    struct pgproto_param b[] = {{n2, v2}, {"application_name", "web"}};
    const struct paramset *x = paramset_get(a, 2), *y = paramset_get(b, 2);
    assert_non_null(x);
    assert_ptr_equal(x, y);
    assert_int_equal(x->n, 2);
    assert_string_equal(x->p[0].value, "UTC");
    assert_ptr_not_equal(x->p[0].value, v1); /* copied, not borrowed */
    assert_int_equal(paramset_count(), 1);
    struct pgproto_param swapped[] = {b[1], b[0]};
    const struct paramset *z = paramset_get(swapped, 2); /* order matters: SET order */
    assert_ptr_not_equal(x, z);
    assert_int_not_equal(x->hash, z->hash);
    struct pgproto_param other[] = {{"TimeZone", "UTC"}, {"application_name", "worker"}};
    const struct paramset *w = paramset_get(other, 2);
    assert_ptr_not_equal(x, w);
    assert_int_equal(paramset_count(), 3);
    paramset_put(x);
    paramset_put(y);
    paramset_put(z);
    paramset_put(w);
    paramset_put(NULL);
    assert_int_equal(paramset_count(), 0);
    assert_int_equal(intern_count(), 0);
    assert_int_equal(alloc_live_count(), base);
}

static void empty_set_and_lookup(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    const struct paramset *e = paramset_get(NULL, 0);
    assert_non_null(e);
    assert_int_equal(e->n, 0);
    assert_int_not_equal(e->hash, 0);
    assert_int_equal(paramset_find(e, "TimeZone"), -1);
    assert_int_equal(paramset_find(NULL, "TimeZone"), -1);
    struct pgproto_param a[] = {{"DateStyle", "ISO, MDY"}, {"TimeZone", "UTC"}};
    const struct paramset *s = paramset_get(a, 2);
    assert_int_equal(paramset_find(s, "timezone"), 1);
    assert_int_equal(paramset_find(s, "DATESTYLE"), 0);
    paramset_put(e);
    paramset_put(s);
    assert_int_equal(alloc_live_count(), base);
}

/* paramset_same: what pool.c matches a session-mode server's startup parameters with. */
static void same_compares_content_and_null_is_empty(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    const struct paramset *e = paramset_get(NULL, 0);
    assert_true(paramset_same(NULL, NULL));
    assert_true(paramset_same(NULL, e)); /* no parameters: one key, however spelt */
    assert_true(paramset_same(e, NULL));
    struct pgproto_param a[] = {{"DateStyle", "Postgres, MDY"}, {"TimeZone", "PST8PDT"}};
    struct pgproto_param b[] = {{"DateStyle", "Postgres, MDY"}, {"TimeZone", "UTC"}};
    const struct paramset *x = paramset_get(a, 2), *y = paramset_get(b, 2);
    const struct paramset *x1 = paramset_get(a, 1);
    assert_true(paramset_same(x, x));
    assert_false(paramset_same(x, y));
    assert_false(paramset_same(x, NULL));
    assert_false(paramset_same(e, x));
    assert_false(paramset_same(x, x1)); /* a prefix is not the same list */
    /* A set whose count saturated gets a twin: a different object, the same list. */
    struct paramset *xm = (struct paramset *)(uintptr_t)x;
    uint32_t refs = xm->refs;
    xm->refs = UINT32_MAX;
    const struct paramset *twin = paramset_get(a, 2);
    xm->refs = refs;
    assert_non_null(twin);
    assert_ptr_not_equal(twin, x);
    assert_true(paramset_same(x, twin));
    assert_true(paramset_same(twin, x));
    paramset_put(twin);
    paramset_put(x);
    paramset_put(x1);
    paramset_put(y);
    paramset_put(e);
    assert_int_equal(paramset_count(), 0);
    assert_int_equal(alloc_live_count(), base);
}

static void many_sets_grow_the_table(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    enum { N = 300 };
    static const struct paramset *sets[N];
    char v[32];
    for (int i = 0; i < N; i++) {
        snprintf(v, sizeof(v), "app-%d", i);
        struct pgproto_param p[] = {{"application_name", v}};
        sets[i] = paramset_get(p, 1);
        assert_non_null(sets[i]);
    }
    for (int i = 0; i < N; i++) {
        snprintf(v, sizeof(v), "app-%d", i);
        struct pgproto_param p[] = {{"application_name", v}};
        const struct paramset *again = paramset_get(p, 1);
        assert_ptr_equal(again, sets[i]);
        paramset_put(again);
    }
    for (int i = 0; i < N; i++)
        paramset_put(sets[i]);
    assert_int_equal(paramset_count(), 0);
    assert_int_equal(alloc_live_count(), base);
}

static void allocation_failures_leak_nothing(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct pgproto_param p[] = {{"a", "1"}, {"b", "2"}};
    /* Each allocation in turn: the strings and their table, the set and its table. */
    for (uint64_t k = 1; k <= 8; k++) {
        alloc_fail_after(k);
        const struct paramset *s = paramset_get(p, 2);
        alloc_fail_reset();
        paramset_put(s); /* NULL when that allocation failed */
        assert_int_equal(alloc_live_count(), base);
    }
    struct pgproto_param big[PARAMSET_MAX + 1];
    for (size_t i = 0; i <= PARAMSET_MAX; i++)
        big[i] = p[0];
    assert_null(paramset_get(big, PARAMSET_MAX + 1));
    assert_int_equal(alloc_live_count(), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(equal_content_is_one_set),
            cmocka_unit_test(empty_set_and_lookup),
            cmocka_unit_test(same_compares_content_and_null_is_empty),
            cmocka_unit_test(many_sets_grow_the_table),
            cmocka_unit_test(allocation_failures_leak_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
