/* SPDX-License-Identifier: MIT */
/* fuzz_dbddl.c: libFuzzer target for dbddl_scan (src/dbddl.c): any bytes, whole or cut. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dbddl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char name[DBDDL_NAME_MAX];
    enum dbddl_kind k = dbddl_scan((const char *)data, size, name);
    size_t n = strnlen(name, DBDDL_NAME_MAX);
    if (n >= DBDDL_NAME_MAX || (k == DBDDL_NONE) != (n == 0))
        __builtin_trap(); /* a name is always terminated, and given exactly on a match */
    (void)dbddl_kind_name(k);
    return 0;
}
