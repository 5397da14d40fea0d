/* SPDX-License-Identifier: MIT */
/*
 * uring.h: a minimal io_uring (raw system calls, no liburing): set up the shared
 * rings, hand out submission entries, submit and wait with a timeout, walk the
 * completions. Only evloop.c uses it. One thread submits (SINGLE_ISSUER), and
 * completion work runs only when we wait (DEFER_TASKRUN) where the kernel has them.
 */
#ifndef LG_URING_H
#define LG_URING_H

#include <linux/io_uring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

struct uring;

/* A ring with @entries submission slots (a power of two). NULL with @why filled if the
 * kernel refuses (no io_uring, disabled by sysctl or seccomp, too old). */
struct uring *uring_new(unsigned entries, char *why, size_t why_n);
void uring_free(struct uring *u);

/* A zeroed submission entry, or NULL if the ring is full and could not be submitted. */
struct io_uring_sqe *uring_sqe(struct uring *u);
/* Hand queued entries to the kernel without waiting. 0 or -errno. */
int uring_submit(struct uring *u) LG_MUSTCHECK;
/* Submit, then wait until @min completions are ready (counting those not yet seen) or
 * @timeout_us passes (@min 0: do not wait). 0 or -errno (-EINTR, -ETIME are 0). */
int uring_wait(struct uring *u, unsigned min, uint64_t timeout_us) LG_MUSTCHECK;

/* Completions: [*head, tail) of the ring; entry i is uring_cqe(u, i). Call uring_seen()
 * with the new head when done with them. */
unsigned uring_cq_head(const struct uring *u);
unsigned uring_cq_tail(const struct uring *u);
const struct io_uring_cqe *uring_cqe(const struct uring *u, unsigned i);
void uring_seen(struct uring *u, unsigned head);
/* Is a completion for @user_data waiting (not yet seen)? Its result in @res. */
bool uring_cq_find(const struct uring *u, uint64_t user_data, int *res);

#endif
