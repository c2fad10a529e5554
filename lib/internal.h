/*
 * internal.h - helpers shared inside libfresh; never installed.
 *
 * Allocation: every allocation in the library goes through fresh__malloc and
 * friends, so that tests can make the N-th allocation fail (SQLite's
 * pluggable allocator idea) and check that each failure path returns
 * FRESH_ENOMEM and leaks nothing.
 *
 * Error messages: each object embeds a char errmsg[FRESH__ERRMSG_LEN] and sets
 * it with fresh__set_err (printf-style, always NUL-terminated, truncated).
 */
#ifndef FRESH_INTERNAL_H
#define FRESH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fresh/export.h"

#define FRESH__ERRMSG_LEN 512

/* The text of a macro's value: FRESH__STR(FRESH_MAX_REPORTS) is "100000". */
#define FRESH__STR_(x) #x
#define FRESH__STR(x) FRESH__STR_(x)

#ifndef FRESH_VERSION_STRING
#define FRESH_VERSION_STRING "0.0.0"
#endif

#if defined(__GNUC__)
#define FRESH__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FRESH__PRINTF(a, b)
#endif

/* Writes a formatted message into buf (FRESH__ERRMSG_LEN bytes) and returns
 * status, so that `return fresh__set_err(s->errmsg, FRESH_EINVAL, "...")`
 * reads in one line. */
int fresh__set_err(char *buf, int status, const char *fmt, ...) FRESH__PRINTF(3, 4);

/* Allocation wrappers (see the top comment). */
void *fresh__malloc(size_t n);
void *fresh__calloc(size_t n, size_t size);
void *fresh__realloc(void *p, size_t n);
void fresh__free(void *p);
char *fresh__strdup(const char *s);

/* Test hook: after `countdown` more successful allocations, every allocation
 * fails until the hook is reset with a negative countdown (the default, no
 * failures). Returns how many allocations were made since the last call.
 * Exported for the test suite only; not part of the public API. */
FRESH_API long fresh__alloc_fail_after(long countdown);

/* Test hook for crash injection: when set, called at named points of
 * ask/tell ("ask:recorded", "tell:recorded", "tell:done"); a test kills the
 * process there. NULL (never set) outside the test suite. */
extern void (*fresh__crash_hook)(const char *point, uint64_t job_id);

/* Maps a GSL status code to a fresh status. */
int fresh__map_gsl(int gsl_status);

/* Monotonic clock in seconds. */
double fresh__now(void);

/* Grows *arr (elements of elem bytes, capacity *cap) to hold need
 * elements, doubling from 16; the content is kept. FRESH_OK or
 * FRESH_ENOMEM (nothing changed). */
int fresh__grow(void **arr, size_t *cap, size_t need, size_t elem);

/* A loss and the index of its row; fresh__cmp_rank (qsort) orders by loss,
 * then index, so that ties keep arrival order (the BOHB split, the GP's
 * training set and candidates). */
typedef struct fresh__rank_item {
    double loss;
    size_t idx;
} fresh__rank_item;
int fresh__cmp_rank(const void *a, const void *b);

/* The schedulers' order of finished jobs (hyperband.c, asha.c): completed
 * before stopped early, then lower loss, then lower configuration id. Total,
 * so that promotions never depend on the order jobs finished. Negative,
 * zero or positive as a sorts before, with or after b. */
int fresh__cmp_finished(int completed_a, double loss_a, uint64_t id_a, int completed_b,
                        double loss_b, uint64_t id_b);

/* Kendall's tau-b of the n pairs (a[i], b[i]), O(n^2); 0 when every pair
 * is tied. Used by the adaptive scheduler and the BOHB hedge. */
double fresh__kendall_tau(const double *a, const double *b, size_t n);

#endif
