/* SPDX-License-Identifier: MIT */
/* fuzz_hba.c: libFuzzer target for hba_parse and hba_match (src/hba.c). */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hba.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg_diag d;
    cfg_diag_init(&d);
    struct hba *h = hba_parse((const char *)data, size, "fuzz", &d);
    if (h) {
        struct sockaddr_in in;
        memset(&in, 0, sizeof(in));
        in.sin_family = AF_INET;
        in.sin_addr.s_addr = htonl(0x0a000001);
        int line;
        (void)hba_match(h, NULL, false, "db", "user", &line);
        (void)hba_match(h, (struct sockaddr *)&in, true, "db", "db", &line);
        hba_free(h);
    }
    cfg_diag_fini(&d);
    return 0;
}
