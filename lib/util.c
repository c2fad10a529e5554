/*
 * util.c - error messages, the allocation hook, the clock, array growth and
 * Kendall's tau.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "fresh/status.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
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

int fresh__grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return FRESH_OK;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return FRESH_ENOMEM;
        c *= 2;
    }
    if (elem && c > SIZE_MAX / elem)
        return FRESH_ENOMEM;
    void *n = fresh__realloc(*arr, c * elem);
    if (!n)
        return FRESH_ENOMEM;
    *arr = n;
    *cap = c;
    return FRESH_OK;
}

int fresh__cmp_rank(const void *a, const void *b)
{
    const fresh__rank_item *x = a, *y = b;
    if (x->loss < y->loss)
        return -1;
    if (x->loss > y->loss)
        return 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

int fresh__cmp_finished(int completed_a, double loss_a, uint64_t id_a, int completed_b,
                        double loss_b, uint64_t id_b)
{
    if (completed_a != completed_b)
        return completed_a ? -1 : 1;
    if (loss_a < loss_b)
        return -1;
    if (loss_a > loss_b)
        return 1;
    return (id_a > id_b) - (id_a < id_b);
}

double fresh__kendall_tau(const double *a, const double *b, size_t n)
{
    double conc = 0, disc = 0, ta = 0, tb = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double da = a[i] - a[j], db = b[i] - b[j];
            if (da == 0 && db == 0)
                continue;
            if (da == 0)
                ta++;
            else if (db == 0)
                tb++;
            else if ((da > 0) == (db > 0))
                conc++;
            else
                disc++;
        }
    double den = sqrt((conc + disc + ta) * (conc + disc + tb));
    return den > 0 ? (conc - disc) / den : 0;
}
