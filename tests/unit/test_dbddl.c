/* SPDX-License-Identifier: MIT */
/*
 * test_dbddl.c: unit tests for dbddl.c, the scan of a query's first statement for
 * DROP DATABASE, ALTER DATABASE ... RENAME / SET TABLESPACE and CREATE DATABASE ...
 * TEMPLATE: names folded as PostgreSQL folds them, comments and IF EXISTS skipped,
 * everything else (other statements, cut-off text, a second statement) left alone.
 * And the cursor statements: DECLARE ... WITH HOLD, CLOSE name, CLOSE ALL, DISCARD ALL.
 */
#include "dbddl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* Scan @sql as a whole query (its NUL included, as in a Query message). */
static enum dbddl_kind scan(const char *sql, char name[DBDDL_NAME_MAX])
{
    return dbddl_scan(sql, strlen(sql) + 1, name);
}

static void drop_database_forms(void **state)
{
    (void)state;
    char name[DBDDL_NAME_MAX];
    assert_int_equal(scan("DROP DATABASE test_app", name), DBDDL_DROP);
    assert_string_equal(name, "test_app");
    assert_int_equal(scan("  drop\n\tdatabase IF EXISTS Test_App;", name), DBDDL_DROP);
    assert_string_equal(name, "test_app"); /* unquoted: lower-cased */
    assert_int_equal(scan("DROP DATABASE \"Test \"\"X\"\"\" WITH (FORCE)", name), DBDDL_DROP);
    assert_string_equal(name, "Test \"X\""); /* quoted: as written, "" is one " */
    assert_int_equal(scan("-- Django\n/* a /* nested */ comment */ DROP DATABASE t1", name),
                     DBDDL_DROP);
    assert_string_equal(name, "t1");
    assert_int_equal(scan("DROP DATABASE if", name), DBDDL_DROP); /* a database named if */
    assert_string_equal(name, "if");
    assert_int_equal(scan("DROP DATABASE IF EXISTS", name), DBDDL_NONE);
    assert_string_equal(name, "");
}

static void alter_and_template(void **state)
{
    (void)state;
    char name[DBDDL_NAME_MAX];
    assert_int_equal(scan("ALTER DATABASE old RENAME TO new", name), DBDDL_ALTER);
    assert_string_equal(name, "old");
    assert_int_equal(scan("alter database d set tablespace fast", name), DBDDL_ALTER);
    assert_string_equal(name, "d");
    assert_int_equal(scan("ALTER DATABASE d SET work_mem = '64MB'", name), DBDDL_NONE);
    assert_int_equal(scan("ALTER DATABASE d OWNER TO bob", name), DBDDL_NONE);
    assert_int_equal(scan("CREATE DATABASE test_x_1 WITH TEMPLATE test_x", name), DBDDL_TEMPLATE);
    assert_string_equal(name, "test_x");
    assert_int_equal(
            scan("CREATE DATABASE c OWNER = 'bob' ENCODING 'UTF8' TEMPLATE = \"Src\"", name),
            DBDDL_TEMPLATE);
    assert_string_equal(name, "Src");
    assert_int_equal(scan("CREATE DATABASE c", name), DBDDL_NONE); /* template1: not ours */
    assert_int_equal(scan("CREATE DATABASE c; DROP DATABASE d", name), DBDDL_NONE);
    assert_string_equal(dbddl_kind_name(DBDDL_TEMPLATE), "CREATE DATABASE ... TEMPLATE");
}

static void other_statements_and_cut_text(void **state)
{
    (void)state;
    char name[DBDDL_NAME_MAX];
    const char *none[] = {"SELECT 1",
                          "",
                          "DROP TABLE database",
                          "DROPDATABASE x",
                          "DELETE FROM database",
                          "create table t (database int)",
                          "SELECT 'DROP DATABASE x'",
                          "/* unterminated comment DROP DATABASE x",
                          "DROP DATABASE \"unterminated",
                          "DROP DATABASE \"\"",
                          "COMMIT; DROP DATABASE x"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        assert_int_equal(scan(none[i], name), DBDDL_NONE);
        assert_string_equal(name, "");
    }
    /* Cut off (no NUL): a name that may go on is not taken. */
    const char *cut = "DROP DATABASE test_ap";
    assert_int_equal(dbddl_scan(cut, strlen(cut), name), DBDDL_NONE);
    assert_int_equal(dbddl_scan(cut, 9, name), DBDDL_NONE);
    cut = "DROP DATABASE test_app WITH (FORCE)";
    assert_int_equal(dbddl_scan(cut, 23, name), DBDDL_DROP); /* a space after the name */
    assert_string_equal(name, "test_app");
    assert_int_equal(dbddl_scan("DROP", 0, name), DBDDL_NONE);
}

static void long_names_are_cut_as_postgresql_does(void **state)
{
    (void)state;
    char name[DBDDL_NAME_MAX], sql[200];
    char longname[101];
    memset(longname, 'a', 100);
    longname[100] = '\0';
    snprintf(sql, sizeof(sql), "DROP DATABASE %s", longname);
    assert_int_equal(scan(sql, name), DBDDL_DROP);
    assert_int_equal(strlen(name), 63);
    snprintf(sql, sizeof(sql), "DROP DATABASE \"%s\"", longname);
    assert_int_equal(scan(sql, name), DBDDL_DROP);
    assert_int_equal(strlen(name), 63);
}

/* Scan @sql as a whole query for the cursor statements. */
static enum dbddl_cursor scan_cursor(const char *sql, char name[DBDDL_NAME_MAX])
{
    return dbddl_scan_cursor(sql, strlen(sql) + 1, name);
}

static void held_cursors(void **state)
{
    (void)state;
    char name[DBDDL_NAME_MAX];
    /* psycopg2's named cursor in autocommit mode (Django's QuerySet.iterator()) */
    assert_int_equal(scan_cursor("DECLARE \"_django_curs_1_sync_1\" NO SCROLL CURSOR WITH HOLD "
                                 "FOR SELECT 1",
                                 name),
                     DBDDL_CURSOR_HOLD);
    assert_string_equal(name, "_django_curs_1_sync_1");
    /* psycopg 3's ServerCursor */
    assert_int_equal(scan_cursor("DECLARE \"c\" BINARY CURSOR WITH HOLD FOR SELECT 1", name),
                     DBDDL_CURSOR_HOLD);
    assert_int_equal(scan_cursor("/* x */ declare Cur insensitive scroll cursor with hold for "
                                 "select 1",
                                 name),
                     DBDDL_CURSOR_HOLD);
    assert_string_equal(name, "cur");
    assert_int_equal(scan_cursor("DECLARE c NO SCROLL CURSOR WITHOUT HOLD FOR SELECT 1", name),
                     DBDDL_CURSOR_NONE);
    assert_string_equal(name, "");
    assert_int_equal(scan_cursor("DECLARE c CURSOR FOR SELECT 1", name), DBDDL_CURSOR_NONE);
    assert_int_equal(scan_cursor("DECLARE c CURSOR WITH", name), DBDDL_CURSOR_NONE);
    /* cut before WITH HOLD: not known to be held */
    assert_int_equal(dbddl_scan_cursor("DECLARE c CURSOR WITH HO", 24, name), DBDDL_CURSOR_NONE);
    assert_int_equal(scan_cursor("DECLARE c SCROLL SCROLL SCROLL SCROLL SCROLL SCROLL CURSOR WITH "
                                 "HOLD FOR SELECT 1",
                                 name),
                     DBDDL_CURSOR_NONE); /* not a statement PostgreSQL runs */
}

static void closing_cursors(void **state)
{
    (void)state;
    char name[DBDDL_NAME_MAX];
    assert_int_equal(scan_cursor("CLOSE \"_django_curs_1_sync_1\"", name), DBDDL_CURSOR_CLOSE);
    assert_string_equal(name, "_django_curs_1_sync_1");
    assert_int_equal(scan_cursor("close Cur;", name), DBDDL_CURSOR_CLOSE);
    assert_string_equal(name, "cur");
    assert_int_equal(scan_cursor("CLOSE ALL", name), DBDDL_CURSOR_CLOSE_ALL);
    assert_string_equal(name, "");
    assert_int_equal(scan_cursor("close all ; ", name), DBDDL_CURSOR_CLOSE_ALL);
    assert_int_equal(scan_cursor("CLOSE \"all\"", name), DBDDL_CURSOR_CLOSE); /* one cursor */
    assert_string_equal(name, "all");
    assert_int_equal(scan_cursor("DISCARD ALL", name), DBDDL_CURSOR_CLOSE_ALL);
    assert_int_equal(scan_cursor("DISCARD PLANS", name), DBDDL_CURSOR_NONE);
    assert_int_equal(scan_cursor("CLOSE ALL junk", name), DBDDL_CURSOR_NONE);     /* refused */
    assert_int_equal(dbddl_scan_cursor("CLOSE ALL", 9, name), DBDDL_CURSOR_NONE); /* cut */
    assert_int_equal(scan_cursor("SELECT 'CLOSE ALL'", name), DBDDL_CURSOR_NONE);
}

/* Scan @sql as a whole query (with its NUL) for the temporary-object statements. */
static enum dbddl_temp scan_temp(const char *sql)
{
    return dbddl_scan_temp(sql, strlen(sql) + 1);
}

static void temporary_objects(void **state)
{
    (void)state;
    assert_int_equal(scan_temp("CREATE TEMP TABLE t (id int)"), DBDDL_TEMP_TABLE);
    assert_int_equal(scan_temp("create temporary table t as select 1"), DBDDL_TEMP_TABLE);
    assert_int_equal(scan_temp("  -- psycopg2's tests\n/* a /* nested */ one */ Create Global "
                               "Temporary Table t (x int)"),
                     DBDDL_TEMP_TABLE);
    assert_int_equal(scan_temp("CREATE LOCAL TEMP TABLE IF NOT EXISTS t (x int)"),
                     DBDDL_TEMP_TABLE);
    assert_int_equal(scan_temp("CREATE TABLE pg_temp.t (x int)"), DBDDL_TEMP_TABLE);
    assert_int_equal(scan_temp("create unlogged table PG_TEMP . t (x int)"), DBDDL_TEMP_TABLE);
    assert_int_equal(scan_temp("CREATE TABLE IF NOT EXISTS \"pg_temp\".t (x int)"),
                     DBDDL_TEMP_TABLE);
    assert_int_equal(scan_temp("CREATE TEMP VIEW v AS SELECT 1"), DBDDL_TEMP_VIEW);
    assert_int_equal(scan_temp("CREATE OR REPLACE TEMPORARY RECURSIVE VIEW v (n) AS SELECT 1"),
                     DBDDL_TEMP_VIEW);
    assert_int_equal(scan_temp("CREATE VIEW pg_temp.v AS SELECT 1"), DBDDL_TEMP_VIEW);
    assert_int_equal(scan_temp("CREATE TEMP SEQUENCE s"), DBDDL_TEMP_SEQUENCE);
    assert_string_equal(dbddl_temp_name(DBDDL_TEMP_TABLE), "temporary table");
    /* cut after TEMP TABLE, before any ON COMMIT DROP could be seen: kept */
    assert_int_equal(dbddl_scan_temp("CREATE TEMP TABLE t (a int, b int", 33), DBDDL_TEMP_TABLE);
    /* cut before it is known to be temporary */
    assert_int_equal(dbddl_scan_temp("CREATE TEMP", 11), DBDDL_TEMP_NONE);
    assert_int_equal(dbddl_scan_temp("CREATE TABLE pg_te", 18), DBDDL_TEMP_NONE);
    /* dropped with their transaction: no pin */
    assert_int_equal(scan_temp("CREATE TEMP TABLE t (x int) ON COMMIT DROP"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("create temp table t on commit drop as select 1"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("CREATE TABLE pg_temp.t (x int) ON /* c */ COMMIT\nDROP"),
                     DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("CREATE TEMP TABLE t (x int) ON COMMIT DELETE ROWS"),
                     DBDDL_TEMP_TABLE);
    assert_int_equal(scan_temp("CREATE TEMP TABLE t (x int) ON COMMIT PRESERVE ROWS"),
                     DBDDL_TEMP_TABLE);
    /* ON COMMIT DROP in a string, or in the next statement, does not count */
    assert_int_equal(scan_temp("CREATE TEMP TABLE t AS SELECT 'on commit drop' AS x"),
                     DBDDL_TEMP_TABLE);
    assert_int_equal(scan_temp("CREATE TEMP TABLE t (x int); CREATE TEMP TABLE u (x int) ON "
                               "COMMIT DROP"),
                     DBDDL_TEMP_TABLE);
    /* not temporary */
    assert_int_equal(scan_temp("CREATE TABLE t (x int)"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("CREATE UNLOGGED TABLE t (x int)"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("CREATE TABLE public.t (x int)"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("CREATE TABLE pg_temp (x int)"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("CREATE TABLE \"pg_temp.t\" (x int)"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("CREATE TEMP FUNCTION f()"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("CREATE GLOBAL TABLE t (x int)"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("SELECT 1 INTO TEMP t"), DBDDL_TEMP_NONE); /* out of scope */
    assert_int_equal(scan_temp("SELECT 'CREATE TEMP TABLE t'"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("CREATE DATABASE d TEMPLATE x"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp(""), DBDDL_TEMP_NONE);
}

static void discarding_temporary_objects(void **state)
{
    (void)state;
    assert_int_equal(scan_temp("DISCARD ALL"), DBDDL_TEMP_DISCARD);
    assert_int_equal(scan_temp("discard temp;"), DBDDL_TEMP_DISCARD);
    assert_int_equal(scan_temp(" DISCARD TEMPORARY ; ;\n-- done\n"), DBDDL_TEMP_DISCARD);
    assert_int_equal(scan_temp("DISCARD PLANS"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("DISCARD SEQUENCES"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("DISCARD TEMP junk"), DBDDL_TEMP_NONE);
    /* with other statements, it runs in their implicit transaction and may be undone */
    assert_int_equal(scan_temp("DISCARD TEMP; SELECT 1"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("DISCARD TEMP; /* done */"), DBDDL_TEMP_DISCARD);
    /* a syntax error after it: PostgreSQL runs none of the text */
    assert_int_equal(scan_temp("DISCARD TEMP; /* unclosed"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("DISCARD TEMP /* unclosed"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("DISCARD TEMP 'unclosed"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("DISCARD TEMP; 'unclosed"), DBDDL_TEMP_NONE);
    /* cut: what follows is unknown */
    assert_int_equal(dbddl_scan_temp("DISCARD TEMP", 12), DBDDL_TEMP_NONE);
    assert_int_equal(dbddl_scan_temp("DISCARD TEMP;", 13), DBDDL_TEMP_NONE);
    assert_string_equal(dbddl_temp_name(DBDDL_TEMP_DISCARD), "DISCARD");
    /* the ends of a transaction block that may have created some */
    assert_int_equal(scan_temp("ROLLBACK"), DBDDL_TEMP_ROLLBACK);
    assert_int_equal(scan_temp("abort work;"), DBDDL_TEMP_ROLLBACK);
    assert_int_equal(scan_temp("Rollback Transaction; BEGIN"), DBDDL_TEMP_ROLLBACK);
    assert_int_equal(scan_temp("ROLLBACK TO SAVEPOINT s"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("ROLLBACK TO s"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("ROLLBACK AND CHAIN"), DBDDL_TEMP_NONE);
    assert_int_equal(scan_temp("ROLLBACK PREPARED 'x'"), DBDDL_TEMP_NONE);
    assert_int_equal(dbddl_scan_temp("ROLLBACK", 8), DBDDL_TEMP_NONE); /* cut */
    assert_int_equal(scan_temp("COMMIT"), DBDDL_TEMP_COMMIT);
    assert_int_equal(scan_temp("commit work"), DBDDL_TEMP_COMMIT);
    assert_int_equal(scan_temp("COMMIT PREPARED 'x'"), DBDDL_TEMP_NONE);
    assert_string_equal(dbddl_temp_name(DBDDL_TEMP_ROLLBACK), "ROLLBACK");
    assert_string_equal(dbddl_temp_name(DBDDL_TEMP_NONE), "");
}

/* Scan @sql as a whole query (with its NUL) for the role statements. */
static enum dbddl_role scan_role(const char *sql)
{
    return dbddl_scan_role(sql, strlen(sql) + 1);
}

static void role_changes(void **state)
{
    (void)state;
    assert_int_equal(scan_role("SET ROLE app_reader"), DBDDL_ROLE_SET);
    assert_int_equal(scan_role("  /* tenant */ set session role \"Tenant 1\"; SELECT 1"),
                     DBDDL_ROLE_SET);
    assert_int_equal(scan_role("SET role TO 'r'"), DBDDL_ROLE_SET);
    assert_int_equal(scan_role("SET \"role\" = r"), DBDDL_ROLE_SET);
    assert_int_equal(scan_role("SET ROLE 'none'"), DBDDL_ROLE_SET); /* kept: harmless */
    assert_int_equal(scan_role("SET SESSION AUTHORIZATION bob"), DBDDL_ROLE_AUTH);
    assert_int_equal(scan_role("set session session authorization 'bob'"), DBDDL_ROLE_AUTH);
    assert_int_equal(scan_role("SET session_authorization = bob"), DBDDL_ROLE_AUTH);
    assert_int_equal(scan_role("SET SESSION session_authorization TO none"), DBDDL_ROLE_AUTH);
    assert_string_equal(dbddl_role_name(DBDDL_ROLE_SET), "SET ROLE");
    assert_string_equal(dbddl_role_name(DBDDL_ROLE_AUTH), "SET SESSION AUTHORIZATION");
    /* cut before the value: it may be a role */
    assert_int_equal(dbddl_scan_role("SET ROLE", 8), DBDDL_ROLE_NONE); /* "role" may go on */
    assert_int_equal(dbddl_scan_role("SET ROLE ", 9), DBDDL_ROLE_SET);
    assert_int_equal(dbddl_scan_role("SET ROLE no", 11), DBDDL_ROLE_SET);
    /* not ours: gone with the transaction, or no role change at all */
    assert_int_equal(scan_role("SET LOCAL ROLE r"), DBDDL_ROLE_NONE);
    assert_int_equal(scan_role("SET LOCAL SESSION AUTHORIZATION bob"), DBDDL_ROLE_NONE);
    assert_int_equal(scan_role("SET rolex = 1"), DBDDL_ROLE_NONE);
    assert_int_equal(scan_role("SET search_path TO role"), DBDDL_ROLE_NONE);
    assert_int_equal(scan_role("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"),
                     DBDDL_ROLE_NONE);
    assert_int_equal(scan_role("SELECT 'SET ROLE r'"), DBDDL_ROLE_NONE);
    assert_int_equal(scan_role("SELECT 1; SET ROLE r"), DBDDL_ROLE_NONE); /* first only */
    /* syntax errors change nothing */
    assert_int_equal(scan_role("SET ROLE"), DBDDL_ROLE_NONE);
    assert_int_equal(scan_role("SET session_authorization bob"), DBDDL_ROLE_NONE);
    assert_int_equal(scan_role("SET SESSION AUTHORIZATION = bob"), DBDDL_ROLE_NONE);
    assert_int_equal(scan_role("SET SESSION SESSION ROLE r"), DBDDL_ROLE_NONE);
}

static void role_resets(void **state)
{
    (void)state;
    assert_int_equal(scan_role("RESET ROLE"), DBDDL_ROLE_RESET);
    assert_int_equal(scan_role("reset role; -- done"), DBDDL_ROLE_RESET);
    assert_int_equal(scan_role("SET ROLE NONE"), DBDDL_ROLE_RESET);
    assert_int_equal(scan_role("SET SESSION role = none"), DBDDL_ROLE_RESET);
    assert_int_equal(scan_role("SET role TO DEFAULT"), DBDDL_ROLE_RESET);
    assert_int_equal(scan_role("RESET SESSION AUTHORIZATION"), DBDDL_ROLE_AUTH_RESET);
    assert_int_equal(scan_role("RESET session_authorization;"), DBDDL_ROLE_AUTH_RESET);
    assert_int_equal(scan_role("SET SESSION AUTHORIZATION DEFAULT"), DBDDL_ROLE_AUTH_RESET);
    assert_int_equal(scan_role("SET session_authorization TO DEFAULT"), DBDDL_ROLE_AUTH_RESET);
    assert_int_equal(scan_role("DISCARD ALL"), DBDDL_ROLE_RESET_ALL);
    assert_string_equal(dbddl_role_name(DBDDL_ROLE_RESET_ALL), "DISCARD ALL");
    assert_string_equal(dbddl_role_name(DBDDL_ROLE_NONE), "");
    /* trusted only alone in the text: with others, a failure may roll it back */
    assert_int_equal(scan_role("RESET ROLE; SELECT 1"), DBDDL_ROLE_NONE);
    assert_int_equal(scan_role("SET ROLE NONE; SELECT 1/0"), DBDDL_ROLE_NONE);
    assert_int_equal(scan_role("DISCARD ALL; SELECT 1"), DBDDL_ROLE_NONE);
    assert_int_equal(scan_role("RESET ROLE /* unclosed"), DBDDL_ROLE_NONE);
    assert_int_equal(dbddl_scan_role("RESET ROLE", 10), DBDDL_ROLE_NONE); /* cut */
    assert_int_equal(dbddl_scan_role("RESET ROLE;", 11), DBDDL_ROLE_NONE);
    /* syntax errors, or not resets */
    assert_int_equal(scan_role("SET ROLE DEFAULT"), DBDDL_ROLE_SET);   /* an error: kept */
    assert_int_equal(scan_role("SET \"role\" NONE"), DBDDL_ROLE_NONE); /* an error */
    assert_int_equal(scan_role("SET SESSION AUTHORIZATION NONE"), DBDDL_ROLE_AUTH);
    assert_int_equal(scan_role("RESET SESSION ROLE"), DBDDL_ROLE_NONE);
    assert_int_equal(scan_role("RESET ALL"), DBDDL_ROLE_NONE); /* leaves both alone */
    assert_int_equal(scan_role("DISCARD TEMP"), DBDDL_ROLE_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(drop_database_forms),
            cmocka_unit_test(alter_and_template),
            cmocka_unit_test(other_statements_and_cut_text),
            cmocka_unit_test(long_names_are_cut_as_postgresql_does),
            cmocka_unit_test(held_cursors),
            cmocka_unit_test(closing_cursors),
            cmocka_unit_test(temporary_objects),
            cmocka_unit_test(discarding_temporary_objects),
            cmocka_unit_test(role_changes),
            cmocka_unit_test(role_resets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
