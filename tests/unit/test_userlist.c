/* SPDX-License-Identifier: MIT */
/*
 * test_userlist.c: unit tests for userlist.c: PgBouncer's auth_file format, quoting,
 * comments, malformed lines with file:line, duplicates, many users, loading from a file,
 * and allocation failures. Secrets must never appear in diagnostics.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "cfg.h"
#include "userlist.h"

static struct userlist *parse(const char *text, struct cfg_diag *d)
{
    cfg_diag_init(d);
    return userlist_parse(text, strlen(text), "userlist.txt", d);
}

static bool has_line(const struct cfg_diag *d, const char *want)
{
    size_t n = strlen(want);
    for (const char *p = d->text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len == n && memcmp(p, want, n) == 0)
            return true;
        p += len + (nl ? 1 : 0);
    }
    return false;
}

#define assert_line(d, want)                                                                       \
    do {                                                                                           \
        if (!has_line(d, want))                                                                    \
            fail_msg("missing line \"%s\" in:\n%s", want, (d)->text ? (d)->text : "");             \
    } while (0)

static const char sample[] =
        "\xEF\xBB\xBF\"alice\" \"md5e3b6f2d3b3d8b5b4b1c1f1a1e1d1c1b1\"\n"
        "; a comment\n"
        "# another comment\n"
        "\n"
        "   \"bob\"\t\"SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy\" \"extra\" ignored\r\n"
        "\"we\"\"ird\" \"pa\"\"ss\"\"\"\n"
        "\"empty\" \"\"\n"
        "\"spaced user\"   \"p w\"";

static void test_parse(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct userlist *ul = parse(sample, &d);
    assert_non_null(ul);
    assert_int_equal(d.errors + d.warnings, 0);
    assert_int_equal(userlist_count(ul), 5);
    assert_string_equal(userlist_lookup(ul, "alice"), "md5e3b6f2d3b3d8b5b4b1c1f1a1e1d1c1b1");
    assert_string_equal(userlist_lookup(ul, "bob"),
                        "SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy");
    assert_string_equal(userlist_lookup(ul, "we\"ird"), "pa\"ss\"");
    assert_string_equal(userlist_lookup(ul, "empty"), "");
    assert_string_equal(userlist_lookup(ul, "spaced user"), "p w");
    assert_null(userlist_lookup(ul, "carol"));
    assert_null(userlist_lookup(ul, ""));
    assert_null(userlist_lookup(ul, "Alice"));
    assert_null(userlist_lookup(ul, NULL));
    userlist_free(ul);
    cfg_diag_fini(&d);

    ul = parse("", &d);
    assert_non_null(ul);
    assert_int_equal(userlist_count(ul), 0);
    assert_null(userlist_lookup(ul, "alice"));
    userlist_free(ul);
    cfg_diag_fini(&d);

    assert_int_equal(userlist_count(NULL), 0);
    assert_null(userlist_lookup(NULL, "a"));
    userlist_free(NULL);
}

static void test_malformed(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct userlist *ul = parse("alice \"topsecret1\"\n"
                                "\"bob\" \"topsecret2\n"
                                "\"carol\"\n"
                                "\"dave\" topsecret3\n"
                                "\"\" \"topsecret4\"\n"
                                "\"erin\" \"ok\"\n"
                                "\"frank\n",
                                &d);
    assert_non_null(ul);
    assert_int_equal(d.errors, 6);
    assert_line(&d, "userlist.txt:1: error: malformed line: expected \"user\" \"password\"");
    assert_line(&d, "userlist.txt:2: error: malformed line: expected \"user\" \"password\"");
    assert_line(&d, "userlist.txt:3: error: malformed line: expected \"user\" \"password\"");
    assert_line(&d, "userlist.txt:4: error: malformed line: expected \"user\" \"password\"");
    assert_line(&d, "userlist.txt:5: error: user name is empty; line ignored");
    assert_line(&d, "userlist.txt:7: error: malformed line: expected \"user\" \"password\"");
    assert_null(strstr(d.text, "topsecret"));
    /* the good line still counts */
    assert_int_equal(userlist_count(ul), 1);
    assert_string_equal(userlist_lookup(ul, "erin"), "ok");
    userlist_free(ul);
    cfg_diag_fini(&d);

    char name[200], line[400];
    memset(name, 'u', 128);
    name[128] = '\0';
    snprintf(line, sizeof(line), "\"%s\" \"x\"\n\"%.127s\" \"y\"\n", name, name);
    ul = parse(line, &d);
    assert_line(&d, "userlist.txt:1: error: user name longer than 127 bytes; line ignored");
    assert_int_equal(userlist_count(ul), 1);
    userlist_free(ul);
    cfg_diag_fini(&d);

    char *big = malloc(2100);
    assert_non_null(big);
    memcpy(big, "\"u\" \"", 5);
    memset(big + 5, 's', 2048);
    memcpy(big + 5 + 2048, "\"\n", 3);
    ul = parse(big, &d);
    assert_line(&d, "userlist.txt:1: error: password longer than 2047 bytes; line ignored");
    assert_int_equal(userlist_count(ul), 0);
    userlist_free(ul);
    cfg_diag_fini(&d);
    free(big);

    /* a NUL inside a field; input that is not NUL-terminated */
    const char nul[] = "\"a\0b\" \"x\"\n\"c\" \"yz\"";
    cfg_diag_init(&d);
    ul = userlist_parse(nul, sizeof(nul) - 1, NULL, &d);
    assert_line(&d, "auth_file:1: error: NUL byte in line; line ignored");
    assert_int_equal(userlist_count(ul), 1);
    userlist_free(ul);
    cfg_diag_fini(&d);
    cfg_diag_init(&d);
    ul = userlist_parse(nul, sizeof(nul) - 3, NULL, &d); /* cut inside "yz" */
    assert_line(&d, "auth_file:2: error: malformed line: expected \"user\" \"password\"");
    assert_int_equal(userlist_count(ul), 0);
    userlist_free(ul);
    cfg_diag_fini(&d);
}

static void test_duplicates(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct userlist *ul = parse("\"a\" \"1\"\n\"b\" \"2\"\n\"a\" \"3\"\n\"a\" \"4\"\n", &d);
    assert_int_equal(userlist_count(ul), 2);
    assert_string_equal(userlist_lookup(ul, "a"), "4");
    assert_string_equal(userlist_lookup(ul, "b"), "2");
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 2);
    assert_line(&d,
                "userlist.txt:3: warning: user \"a\" is listed again; this line replaces line 1");
    assert_line(&d,
                "userlist.txt:4: warning: user \"a\" is listed again; this line replaces line 3");
    userlist_free(ul);
    cfg_diag_fini(&d);
}

static void test_many_users(void **state)
{
    (void)state;
    enum { N = 5000 };
    size_t cap = (size_t)N * 40, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int i = N - 1; i >= 0; i--) /* reverse order: the parser must sort */
        len += (size_t)snprintf(text + len, cap - len, "\"user%d\" \"secret%d\"\n", i, i);
    struct cfg_diag d;
    cfg_diag_init(&d);
    struct userlist *ul = userlist_parse(text, len, "big.txt", &d);
    free(text);
    assert_non_null(ul);
    assert_int_equal(userlist_count(ul), N);
    for (int i = 0; i < N; i++) {
        char u[32], s[32];
        snprintf(u, sizeof(u), "user%d", i);
        snprintf(s, sizeof(s), "secret%d", i);
        assert_string_equal(userlist_lookup(ul, u), s);
    }
    assert_null(userlist_lookup(ul, "user5000"));
    assert_null(userlist_lookup(ul, "user"));
    userlist_free(ul);
    cfg_diag_fini(&d);
}

static void test_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/lg_test_userlist.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/userlist.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("\"app\" \"md5abc\"\n\"broken\n", f);
    fclose(f);

    struct cfg_diag d;
    cfg_diag_init(&d);
    struct userlist *ul = userlist_load(path, &d);
    assert_non_null(ul);
    assert_string_equal(userlist_lookup(ul, "app"), "md5abc");
    char want[200];
    snprintf(want, sizeof(want), "%s:2: error: malformed line: expected \"user\" \"password\"",
             path);
    assert_line(&d, want);
    userlist_free(ul);
    cfg_diag_fini(&d);
    unlink(path);

    cfg_diag_init(&d);
    assert_null(userlist_load(path, &d));
    snprintf(want, sizeof(want), "%s: error: cannot read auth_file: No such file or directory",
             path);
    assert_line(&d, want);
    cfg_diag_fini(&d);

    cfg_diag_init(&d);
    assert_null(userlist_load(dir, &d));
    assert_int_equal(d.errors, 1);
    cfg_diag_fini(&d);
    rmdir(dir);
}

static bool scenario(void)
{
    struct cfg_diag d;
    cfg_diag_init(&d);
    struct userlist *ul = userlist_parse(sample, sizeof(sample) - 1, "u.txt", &d);
    bool ok = ul && userlist_count(ul) == 5 && d.errors == 0;
    userlist_free(ul);
    cfg_diag_fini(&d);

    /* with diagnostics to store: a lost warning must not look like a success */
    const char dup[] = "\"a\" \"1\"\n\"a\" \"2\"\nbroken\n";
    cfg_diag_init(&d);
    ul = userlist_parse(dup, sizeof(dup) - 1, "u.txt", &d);
    ok = ok && ul && userlist_count(ul) == 1 && d.errors == 1 && d.warnings == 1 && !d.oom;
    userlist_free(ul);
    cfg_diag_fini(&d);
    return ok;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    int64_t live = alloc_live_count();
    for (uint64_t n = 1;; n++) {
        assert_true(n < 10000);
        uint64_t before = alloc_total_count();
        alloc_fail_after(n);
        bool ok = scenario();
        alloc_fail_reset();
        assert_int_equal(alloc_live_count(), live);
        if (ok) {
            assert_true(alloc_total_count() - before < n);
            print_message("        %" PRIu64 " allocation failure points, each cleaned up\n",
                          n - 1);
            break;
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse),      cmocka_unit_test(test_malformed),
            cmocka_unit_test(test_duplicates), cmocka_unit_test(test_many_users),
            cmocka_unit_test(test_load),       cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
