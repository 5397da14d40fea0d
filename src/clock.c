/* SPDX-License-Identifier: MIT */
/* clock.c: cached monotonic clock. */
#include "clock.h"

#include <time.h>

uint64_t clock_cached_us;

uint64_t clock_update(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    clock_cached_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    return clock_cached_us;
}
