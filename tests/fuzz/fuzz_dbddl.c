/* SPDX-License-Identifier: MIT */
/* fuzz_dbddl.c: libFuzzer target for dbddl_scan, dbddl_scan_cursor, dbddl_scan_temp and
 * dbddl_scan_role (src/dbddl.c): any bytes, whole or cut. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dbddl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool role_reset(enum dbddl_role k)
{
    return k == DBDDL_ROLE_RESET || k == DBDDL_ROLE_AUTH_RESET || k == DBDDL_ROLE_RESET_ALL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char name[DBDDL_NAME_MAX];
    enum dbddl_kind k = dbddl_scan((const char *)data, size, name);
    size_t n = strnlen(name, DBDDL_NAME_MAX);
    if (n >= DBDDL_NAME_MAX || (k == DBDDL_NONE) != (n == 0))
        __builtin_trap(); /* a name is always terminated, and given exactly on a match */
    (void)dbddl_kind_name(k);
    enum dbddl_cursor kc = dbddl_scan_cursor((const char *)data, size, name);
    n = strnlen(name, DBDDL_NAME_MAX);
    bool named = kc == DBDDL_CURSOR_HOLD || kc == DBDDL_CURSOR_CLOSE;
    if (n >= DBDDL_NAME_MAX || named != (n > 0))
        __builtin_trap();
    enum dbddl_temp kt = dbddl_scan_temp((const char *)data, size);
    if ((kt == DBDDL_TEMP_NONE) != (dbddl_temp_name(kt)[0] == '\0'))
        __builtin_trap(); /* the result is one of the enum's values */
    /* A DISCARD is only trusted when the text is seen to its NUL: cut just before that NUL,
     * it is no longer one. */
    const uint8_t *nul = memchr(data, '\0', size);
    if (kt == DBDDL_TEMP_DISCARD &&
        (!nul || dbddl_scan_temp((const char *)data, (size_t)(nul - data)) != DBDDL_TEMP_NONE))
        __builtin_trap();
    /* Role resets too: seen to the NUL, or not trusted (cut, a SET may still pin). */
    enum dbddl_role kr = dbddl_scan_role((const char *)data, size);
    if ((kr == DBDDL_ROLE_NONE) != (dbddl_role_name(kr)[0] == '\0'))
        __builtin_trap();
    if (role_reset(kr) &&
        (!nul || role_reset(dbddl_scan_role((const char *)data, (size_t)(nul - data)))))
        __builtin_trap();
    return 0;
}
