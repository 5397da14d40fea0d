/* SPDX-License-Identifier: MIT */
/*
 * health.h: GET /health/db: for every pool (or the one named db/user), check out a
 * server (or open one) and run SELECT 1, all within health_check_timeout; answer
 * JSON with 200 if every check passed, else 503. The checks run concurrently and
 * share the pools' queues with clients (a saturated pool is not ready).
 */
#ifndef LG_HEALTH_H
#define LG_HEALTH_H

#include <stdint.h>

#include "http.h"

/* @timeout_us bounds the whole check. */
void health_init(uint64_t timeout_us);
/* The http_handlers.health_db callback. */
void health_db(void *arg, struct http_req req, const char *pool_filter);

#endif
