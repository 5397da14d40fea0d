/* SPDX-License-Identifier: MIT */
/*
 * uring.c: the io_uring rings over raw system calls. The submission array is filled
 * once with the identity (slot i names entry i), so taking an entry is one index
 * step; the kernel reads the tail with acquire semantics, we publish with release.
 */
#include "uring.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"

/* Debian 12's headers predate these; the kernel may still have them. */
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif

struct uring {
    int fd;
    /* submission ring */
    unsigned *sq_head, *sq_tail, *sq_array;
    unsigned sq_mask, sq_entries;
    unsigned sq_local_tail; /* entries taken; published at submit */
    unsigned sq_submitted;  /* tail the kernel has been told about */
    struct io_uring_sqe *sqes;
    /* completion ring */
    unsigned *cq_head, *cq_tail;
    unsigned cq_mask;
    struct io_uring_cqe *cqes;
    void *ring_map;
    size_t ring_len;
    size_t sqes_len;
};

static int sys_setup(unsigned entries, struct io_uring_params *p)
{
    return (int)syscall(__NR_io_uring_setup, entries, p);
}

/* io_uring_enter, once or twice per loop turn. On x86-64 the system call is made inline:
 * libc's variadic syscall() costs ~35 instructions per call around it (shuffling six
 * arguments, errno). Returns like syscall(): -1 with errno set on failure. */
static int sys_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags, void *arg,
                     size_t argsz)
{
#if defined(__x86_64__)
    register long r10 __asm__("r10") = (long)flags;
    register long r8 __asm__("r8") = (long)arg;
    register long r9 __asm__("r9") = (long)argsz;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "0"((long)__NR_io_uring_enter), "D"((long)fd), "S"((long)to_submit),
                       "d"((long)min_complete), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    if (ret < 0 && ret > -4096) {
        errno = (int)-ret;
        return -1;
    }
    return (int)ret;
#else
    return (int)syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, arg, argsz);
#endif
}

struct uring *uring_new(unsigned entries, char *why, size_t why_n)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    /* Completions only when we ask for them (no task work interrupting a run), and a
     * completion ring large enough for a turn's worth of readiness and send results. */
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 8;
    int fd = sys_setup(entries, &p);
    if (fd < 0) {
        snprintf(why, why_n, "io_uring_setup: %s", strerror(errno));
        return NULL;
    }
    unsigned need = IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG;
    if ((p.features & need) != need) {
        snprintf(why, why_n, "io_uring lacks features (kernel too old)");
        close(fd);
        return NULL;
    }
    struct uring *u = lg_calloc(1, sizeof(*u));
    if (!u) {
        snprintf(why, why_n, "out of memory");
        close(fd);
        return NULL;
    }
    u->fd = fd;
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    u->ring_len = sq_len > cq_len ? sq_len : cq_len;
    u->ring_map = mmap(NULL, u->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                       IORING_OFF_SQ_RING);
    u->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
    u->sqes = mmap(NULL, u->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                   IORING_OFF_SQES);
    if (u->ring_map == MAP_FAILED || u->sqes == MAP_FAILED) {
        snprintf(why, why_n, "io_uring mmap: %s", strerror(errno));
        if (u->ring_map == MAP_FAILED)
            u->ring_map = NULL;
        if (u->sqes == MAP_FAILED)
            u->sqes = NULL;
        uring_free(u);
        return NULL;
    }
    char *r = u->ring_map;
    u->sq_head = (unsigned *)(r + p.sq_off.head);
    u->sq_tail = (unsigned *)(r + p.sq_off.tail);
    u->sq_array = (unsigned *)(r + p.sq_off.array);
    u->sq_mask = *(unsigned *)(r + p.sq_off.ring_mask);
    u->sq_entries = p.sq_entries;
    u->cq_head = (unsigned *)(r + p.cq_off.head);
    u->cq_tail = (unsigned *)(r + p.cq_off.tail);
    u->cq_mask = *(unsigned *)(r + p.cq_off.ring_mask);
    u->cqes = (struct io_uring_cqe *)(r + p.cq_off.cqes);
    for (unsigned i = 0; i < p.sq_entries; i++)
        u->sq_array[i] = i;
    u->sq_local_tail = u->sq_submitted = *u->sq_tail;
    return u;
}

void uring_free(struct uring *u)
{
    if (!u)
        return;
    if (u->sqes)
        munmap(u->sqes, u->sqes_len);
    if (u->ring_map)
        munmap(u->ring_map, u->ring_len);
    close(u->fd);
    lg_free(u);
}

/* Entries taken but not yet handed to the kernel. */
static unsigned uring_unsubmitted(const struct uring *u)
{
    return u->sq_local_tail - u->sq_submitted;
}

static int enter(struct uring *u, unsigned min_complete, unsigned flags, void *arg, size_t argsz)
{
    unsigned n = uring_unsubmitted(u);
    if (n)
        __atomic_store_n(u->sq_tail, u->sq_local_tail, __ATOMIC_RELEASE);
    int rc = sys_enter(u->fd, n, min_complete, flags, arg, argsz);
    if (rc >= 0) {
        u->sq_submitted += (unsigned)rc;
        return 0;
    }
    if (errno == EINTR || errno == ETIME) {
        /* Submission happens before the wait, so what was queued went in. */
        u->sq_submitted = u->sq_local_tail;
        return 0;
    }
    return -errno; /* EAGAIN, EBUSY: short of memory or room; take completions */
}

int uring_submit(struct uring *u)
{
    if (!uring_unsubmitted(u))
        return 0;
    return enter(u, 0, 0, NULL, 0);
}

int uring_wait(struct uring *u, unsigned min, uint64_t timeout_us)
{
    struct __kernel_timespec ts = {
            .tv_sec = (long long)(timeout_us / 1000000),
            .tv_nsec = (long long)(timeout_us % 1000000) * 1000,
    };
    struct io_uring_getevents_arg arg;
    memset(&arg, 0, sizeof(arg));
    arg.ts = (uint64_t)(uintptr_t)&ts;
    return enter(u, min, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
}

struct io_uring_sqe *uring_sqe(struct uring *u)
{
    unsigned head = __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
    if (u->sq_local_tail - head >= u->sq_entries) {
        if (uring_submit(u) < 0)
            return NULL;
        head = __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
        if (u->sq_local_tail - head >= u->sq_entries)
            return NULL;
    }
    struct io_uring_sqe *sqe = &u->sqes[u->sq_local_tail & u->sq_mask];
    u->sq_local_tail++;
    memset(sqe, 0, sizeof(*sqe));
    return sqe;
}

unsigned uring_cq_head(const struct uring *u)
{
    return *u->cq_head;
}

unsigned uring_cq_tail(const struct uring *u)
{
    return __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE);
}

const struct io_uring_cqe *uring_cqe(const struct uring *u, unsigned i)
{
    return &u->cqes[i & u->cq_mask];
}

void uring_seen(struct uring *u, unsigned head)
{
    __atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE);
}

bool uring_cq_find(const struct uring *u, uint64_t user_data, int *res)
{
    unsigned tail = uring_cq_tail(u);
    for (unsigned i = *u->cq_head; i != tail; i++) {
        const struct io_uring_cqe *c = &u->cqes[i & u->cq_mask];
        if (c->user_data == user_data) {
            *res = c->res;
            return true;
        }
    }
    return false;
}
