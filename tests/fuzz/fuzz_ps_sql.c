/* SPDX-License-Identifier: MIT */
/* fuzz_ps_sql.c: libFuzzer target for the SQL heads of src/ps_sql.c: any bytes, whole or
 * cut, as a range (no NUL needed) and as message text (up to a NUL). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ps_sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *q = (const char *)data, *end = q + size;
    char name[64];
    memset(name, 'x', sizeof(name));
    if (ps_sql_deallocate_one(q, end, name, sizeof(name))) {
        size_t n = strnlen(name, sizeof(name));
        if (n == 0 || n >= sizeof(name))
            __builtin_trap(); /* a found name is non-empty and terminated within the cap */
    }
    const char *r = ps_sql_skip_space(q, end);
    if (r < q || r > end)
        __builtin_trap();
    r = ps_sql_word(q, end, "DEALLOCATE");
    if (r && (r < q || r > end))
        __builtin_trap();
    (void)ps_sql_drops_all(q, end);
    (void)ps_sql_text_drops_all(data, size);
    (void)ps_sql_prepare(q, end);
    return 0;
}
