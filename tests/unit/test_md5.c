/* SPDX-License-Identifier: MIT */
/*
 * test_md5.c: unit tests for md5.c against values PostgreSQL 15 stored and values
 * computed independently with Python's hashlib.
 * Not a test of the login flow (auth.c) or of the wire format around the response.
 * Invariant: every expected constant comes from outside lifeguard.
 */
#include "md5.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base.h"

/* PostgreSQL 15: SET password_encryption = 'md5'; CREATE ROLE "user" PASSWORD 'pw'. */
static const char pg_secret_pw_user[] = "md5871c429757b7a0bf1654fad112b77bd4";

static void test_password_hash_matches_postgresql(void **state)
{
    (void)state;
    char out[MD5_PASSWD_LEN + 1];

    md5_password_hash("pw", "user", out);
    assert_string_equal(out, pg_secret_pw_user);
    assert_true(md5_is_secret(out));
}

static void test_password_hash_is_password_then_user(void **state)
{
    (void)state;
    char a[MD5_PASSWD_LEN + 1], b[MD5_PASSWD_LEN + 1];

    /* md5("pwuser") either way round the split point, but not swapped. */
    md5_password_hash("pwu", "ser", a);
    assert_string_equal(a, pg_secret_pw_user);
    md5_password_hash("user", "pw", b);
    assert_string_not_equal(b, pg_secret_pw_user);
}

static void test_salted_response_matches_hashlib(void **state)
{
    (void)state;
    /* python3: 'md5' + md5(b'871c...7bd4' + bytes([0xde,0xad,0xbe,0xef])).hexdigest() */
    static const uint8_t salt[4] = {0xde, 0xad, 0xbe, 0xef};
    char out[MD5_PASSWD_LEN + 1];

    md5_salted_response(pg_secret_pw_user, salt, out);
    assert_string_equal(out, "md5885a46cda98eac97743609b146dbc73f");
}

static void test_salted_response_depends_on_salt(void **state)
{
    (void)state;
    static const uint8_t salt1[4] = {0xde, 0xad, 0xbe, 0xef};
    static const uint8_t salt2[4] = {0xde, 0xad, 0xbe, 0xee};
    char a[MD5_PASSWD_LEN + 1], b[MD5_PASSWD_LEN + 1];

    md5_salted_response(pg_secret_pw_user, salt1, a);
    md5_salted_response(pg_secret_pw_user, salt2, b);
    assert_string_not_equal(a, b);
    assert_true(md5_is_secret(b));
}

static void test_salted_response_with_malformed_secret_is_empty(void **state)
{
    (void)state;
    static const uint8_t salt[4] = {1, 2, 3, 4};
    char out[MD5_PASSWD_LEN + 1];

    memset(out, 'x', sizeof(out));
    md5_salted_response("md5short", salt, out);
    assert_string_equal(out, "");
    md5_salted_response("SCRAM-SHA-256$4096:abc", salt, out);
    assert_string_equal(out, "");
}

static void test_is_secret(void **state)
{
    (void)state;
    assert_true(md5_is_secret(pg_secret_pw_user));
    assert_false(md5_is_secret(NULL));
    assert_false(md5_is_secret(""));
    assert_false(md5_is_secret("md5"));
    /* 31 hex digits, 33 hex digits */
    assert_false(md5_is_secret("md5871c429757b7a0bf1654fad112b77bd"));
    assert_false(md5_is_secret("md5871c429757b7a0bf1654fad112b77bd44"));
    /* uppercase hex, non-hex, wrong prefix */
    assert_false(md5_is_secret("md5871C429757B7A0BF1654FAD112B77BD4"));
    assert_false(md5_is_secret("md5871c429757b7a0bf1654fad112b77bdg"));
    assert_false(md5_is_secret("MD5871c429757b7a0bf1654fad112b77bd4"));
    assert_false(md5_is_secret("pw"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_password_hash_matches_postgresql),
            cmocka_unit_test(test_password_hash_is_password_then_user),
            cmocka_unit_test(test_salted_response_matches_hashlib),
            cmocka_unit_test(test_salted_response_depends_on_salt),
            cmocka_unit_test(test_salted_response_with_malformed_secret_is_empty),
            cmocka_unit_test(test_is_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
