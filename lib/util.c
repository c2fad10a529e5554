/*
 * util.c - error messages, the allocation hook and the clock.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void (*fresh__crash_hook)(const char *point, uint64_t job_id) = NULL;

int fresh__set_err(char *buf, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, FRESH__ERRMSG_LEN, fmt, ap);
    va_end(ap);
    return status;
}

/* -1: never fail. Otherwise the number of allocations still allowed. */
static _Atomic long alloc_countdown = -1;
static _Atomic long alloc_count = 0;

static int alloc_should_fail(void)
{
    atomic_fetch_add(&alloc_count, 1);
    long c = atomic_load(&alloc_countdown);
    if (c < 0)
        return 0;
    if (c == 0)
        return 1;
    atomic_fetch_sub(&alloc_countdown, 1);
    return 0;
}

long fresh__alloc_fail_after(long countdown)
{
    long n = atomic_exchange(&alloc_count, 0);
    atomic_store(&alloc_countdown, countdown);
    return n;
}

void *fresh__malloc(size_t n)
{
    if (alloc_should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *fresh__calloc(size_t n, size_t size)
{
    if (alloc_should_fail())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *fresh__realloc(void *p, size_t n)
{
    if (alloc_should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void fresh__free(void *p) { free(p); }

char *fresh__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = fresh__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

double fresh__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
