/* SPDX-License-Identifier: MIT */
/*
 * test_ps_sql.c: unit tests for ps_sql.c, the heads of SQL texts that change prepared
 * statements: DEALLOCATE [PREPARE] name alone (names folded as PostgreSQL folds them,
 * quoted ones kept), DEALLOCATE ALL and DISCARD ALL, SQL-level PREPARE but not PREPARE
 * TRANSACTION; keywords only as whole words, text cut off or followed by more left alone.
 */
#include "ps_sql.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static bool dealloc(const char *sql, char *name, size_t cap)
{
    return ps_sql_deallocate_one(sql, sql + strlen(sql), name, cap);
}

static void deallocate_one_names(void **state)
{
    (void)state;
    char name[64];
    assert_true(dealloc("DEALLOCATE s1", name, sizeof(name)));
    assert_string_equal(name, "s1");
    assert_true(dealloc("  deallocate\tPREPARE My_Stmt ;", name, sizeof(name)));
    assert_string_equal(name, "my_stmt"); /* unquoted: lower-cased */
    assert_true(dealloc("DEALLOCATE \"Q \"\"1\"\"\"", name, sizeof(name)));
    assert_string_equal(name, "Q \"1\""); /* quoted: as written, "" is one " */
    assert_true(dealloc("DEALLOCATE __asyncpg_stmt_1$", name, sizeof(name)));
    assert_string_equal(name, "__asyncpg_stmt_1$");
}

static void deallocate_one_refuses(void **state)
{
    (void)state;
    char name[8];
    assert_false(dealloc("DEALLOCATE ALL", name, sizeof(name)));
    assert_false(dealloc("DEALLOCATE PREPARE all;", name, sizeof(name)));
    assert_false(dealloc("DEALLOCATE s1; SELECT 1", name, sizeof(name))); /* not alone */
    assert_false(dealloc("DEALLOCATE", name, sizeof(name)));
    assert_false(dealloc("DEALLOCATEs1", name, sizeof(name))); /* not a word */
    assert_false(dealloc("DEALLOCATE \"open", name, sizeof(name)));
    assert_false(dealloc("DEALLOCATE a_name_too_long", name, sizeof(name))); /* cap 8 */
    assert_false(dealloc("SELECT 1", name, sizeof(name)));
}

static bool drops(const char *sql)
{
    return ps_sql_drops_all(sql, sql + strlen(sql));
}

static void drops_all_forms(void **state)
{
    (void)state;
    assert_true(drops("DISCARD ALL"));
    assert_true(drops(" discard all;"));
    assert_true(drops("DEALLOCATE ALL"));
    assert_true(drops("DEALLOCATE PREPARE ALL"));
    assert_false(drops("DISCARD TEMP"));
    assert_false(drops("DISCARD ALLX"));
    assert_false(drops("DEALLOCATE s1"));
    assert_false(drops("SELECT 'DISCARD ALL'"));
    /* In a message: up to the NUL, even with bytes after it (a Parse's parameter types). */
    static const uint8_t msg[] = "DISCARD ALL\0\x01\x02";
    assert_true(ps_sql_text_drops_all(msg, sizeof(msg) - 1));
    static const uint8_t other[] = "SELECT 1\0DISCARD ALL";
    assert_false(ps_sql_text_drops_all(other, sizeof(other) - 1));
}

static bool later(const char *sql)
{
    return ps_sql_later_drops_all(sql, sql + strlen(sql));
}

static void later_drops_all_forms(void **state)
{
    (void)state;
    assert_true(later("SELECT 1; DEALLOCATE ALL"));
    assert_true(later("SELECT 1;deallocate prepare all;"));
    assert_true(later("SET x = 1; SELECT 2;\n  DISCARD ALL"));
    assert_false(later("DEALLOCATE ALL")); /* the first statement: head_query's own check */
    assert_false(later("SELECT 1;"));
    assert_false(later("SELECT 1; DEALLOCATE s1"));
    assert_false(later("SELECT 1; DEALLOCATE A")); /* cut off, or another name */
    assert_false(later(""));
    /* A ';' inside a literal: a false alarm at worst (the CommandComplete tag decides). */
    assert_true(later("SELECT ';DEALLOCATE ALL'"));
}

static bool prepare(const char *sql)
{
    return ps_sql_prepare(sql, sql + strlen(sql));
}

static void sql_prepare_forms(void **state)
{
    (void)state;
    assert_true(prepare("PREPARE q1 AS SELECT 1"));
    assert_true(prepare("  prepare q1 (int) AS SELECT $1"));
    assert_false(prepare("PREPARE TRANSACTION 'gid'"));
    assert_false(prepare("PREPAREX"));
    assert_false(prepare("SELECT 1"));
    const char *w = "LISTEN chan";
    assert_non_null(ps_sql_word(w, w + strlen(w), "LISTEN"));
    assert_null(ps_sql_word(w, w + 3, "LISTEN")); /* cut off */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(deallocate_one_names), cmocka_unit_test(deallocate_one_refuses),
            cmocka_unit_test(drops_all_forms),      cmocka_unit_test(later_drops_all_forms),
            cmocka_unit_test(sql_prepare_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
