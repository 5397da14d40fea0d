/* SPDX-License-Identifier: MIT */
/* clock.c: cached monotonic clock. */
#include "clock.h"

#include <time.h>

static uint64_t now_us;

uint64_t clock_update(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    return now_us;
}

uint64_t clock_now_us(void)
{
    if (now_us == 0)
        return clock_update();
    return now_us;
}
