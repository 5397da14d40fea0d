/* SPDX-License-Identifier: MIT */
/* test_hba.c: pg_hba.conf parsing and first-match evaluation (src/hba.c). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hba.h"

static struct hba *parse(const char *text, struct cfg_diag *d)
{
    cfg_diag_init(d);
    return hba_parse(text, strlen(text), "h.conf", d);
}

static struct sockaddr_storage v4(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &in->sin_addr);
    return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, ip, &in6->sin6_addr);
    return ss;
}

static void test_first_match(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct hba *h = parse("# comment\n"
                          "local all postgres peer\n"
                          "host db1,db2 alice 10.0.0.0/8 scram-sha-256\n"
                          "hostssl all all 192.168.1.0 255.255.255.0 md5\n"
                          "host sameuser all ::1/128 trust\n"
                          "host all bob all reject\n"
                          "host all all all password  # trailing comment\n",
                          &d);
    assert_non_null(h);
    assert_int_equal(hba_count(h), 6);
    int line;
    assert_int_equal(hba_match(h, NULL, false, "x", "postgres", &line), HBA_PEER);
    assert_int_equal(line, 2);
    assert_int_equal(hba_match(h, NULL, false, "x", "alice", &line), HBA_REJECT);
    assert_int_equal(line, 0); /* no local rule for alice: rejected, no line */
    struct sockaddr_storage a = v4("10.1.2.3");
    assert_int_equal(hba_match(h, (struct sockaddr *)&a, false, "db2", "alice", &line), HBA_SCRAM);
    assert_int_equal(hba_match(h, (struct sockaddr *)&a, false, "db3", "alice", &line),
                     HBA_PASSWORD);
    struct sockaddr_storage b = v4("192.168.1.77");
    assert_int_equal(hba_match(h, (struct sockaddr *)&b, true, "x", "carol", &line), HBA_MD5);
    assert_int_equal(hba_match(h, (struct sockaddr *)&b, false, "x", "carol", &line),
                     HBA_PASSWORD); /* hostssl needs TLS */
    struct sockaddr_storage c6 = v6("::1");
    assert_int_equal(hba_match(h, (struct sockaddr *)&c6, false, "dave", "dave", &line), HBA_TRUST);
    assert_int_equal(hba_match(h, (struct sockaddr *)&c6, false, "other", "bob", &line),
                     HBA_REJECT);
    assert_int_equal(line, 6);
    /* an IPv4 rule matches an IPv4-mapped IPv6 peer */
    struct sockaddr_storage m = v6("::ffff:10.9.9.9");
    assert_int_equal(hba_match(h, (struct sockaddr *)&m, false, "db1", "alice", &line), HBA_SCRAM);
    hba_free(h);
    cfg_diag_fini(&d);
}

static void test_errors_have_file_and_line(void **state)
{
    (void)state;
    struct cfg_diag d;
    assert_null(parse("host all all 10.0.0.1/33 trust\n"
                      "bogus all all md5\n"
                      "host all all 10.0.0.1 trust\n"
                      "host all all all trust clientcert=1\n"
                      "local all all\n"
                      "host all all host.example.com md5\n"
                      "local @file all trust\n"
                      "host all all all ldap\n",
                      &d));
    assert_int_equal(d.errors, 8);
    assert_non_null(strstr(d.text, "h.conf:1: error: invalid CIDR mask"));
    assert_non_null(strstr(d.text, "h.conf:2: error: unknown connection type"));
    assert_non_null(strstr(d.text, "h.conf:3: error: an address needs /bits or a mask"));
    assert_non_null(strstr(d.text, "h.conf:4: error: authentication options"));
    assert_non_null(strstr(d.text, "h.conf:5: error: missing fields"));
    assert_non_null(strstr(d.text, "h.conf:6: error: address"));
    assert_non_null(strstr(d.text, "h.conf:7: error: @files"));
    assert_non_null(strstr(d.text, "h.conf:8: error: unknown authentication method"));
    cfg_diag_fini(&d);
}

static void test_empty_rejects_everything(void **state)
{
    (void)state;
    struct cfg_diag d;
    struct hba *h = parse("\n# nothing\n", &d);
    assert_non_null(h);
    int line;
    assert_int_equal(hba_match(h, NULL, false, "a", "b", &line), HBA_REJECT);
    hba_free(h);
    cfg_diag_fini(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_first_match),
            cmocka_unit_test(test_errors_have_file_and_line),
            cmocka_unit_test(test_empty_rejects_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
