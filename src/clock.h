/* SPDX-License-Identifier: MIT */
/*
 * clock.h: monotonic time in microseconds, read once per event-loop turn
 * (clock_update) so every decision in one turn sees the same "now".
 */
#ifndef LG_CLOCK_H
#define LG_CLOCK_H

#include <stdint.h>

/* Re-read CLOCK_MONOTONIC; returns the new cached value. */
uint64_t clock_update(void);
/* The cache itself: read it through clock_now_us(). */
extern uint64_t clock_cached_us;
/* The value cached by the last clock_update() (inline: asked many times per turn). */
static inline uint64_t clock_now_us(void)
{
    return clock_cached_us ? clock_cached_us : clock_update();
}

#endif
