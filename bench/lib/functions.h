/*
 * functions.h - the benchmark suite of fresh: four multi-fidelity synthetic
 * functions (counting_ones, branin_mf, hartmann6_mf, lc_mixed) with
 * counter-based noise, defined exactly in docs/benchmarks-spec.md so that a
 * peer harness in another language reproduces the same numbers.
 *
 * Every benchmark is minimised and offers two evaluations:
 *   observed(x, b, seed, key)  the noisy loss an optimiser sees at budget b;
 *   truth(x)                   the noise-free max-budget value, on which
 *                              regret = truth(x_incumbent) - f_opt is scored.
 * observed() is a pure function of (seed, key, x, b): the same arguments give
 * the same value whatever the evaluation order, and evaluating one key at
 * several budgets models resuming one training run.
 *
 * Configurations are in fresh value space (see fresh/space.h): float value,
 * int value, categorical INDEX, NaN for an inactive parameter, in the order
 * build_space() adds the parameters.
 *
 * This is a support library for the CLI, the bench programs and the tests;
 * it is not installed and not part of libfresh's public API.
 */
#ifndef FRESH_BENCH_FUNCTIONS_H
#define FRESH_BENCH_FUNCTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "fresh/space.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The noise stream of the Gaussian noise (2^32 - 1, not all-ones 64-bit). */
#define FRESH_BENCH_STREAM_NOISE UINT64_C(0x00000000FFFFFFFF)

typedef struct fresh_benchmark {
    const char *name;            /* "counting_ones", "branin_mf", "hartmann6_mf", "lc_mixed" */
    const char *description;     /* one line */
    double min_budget, max_budget; /* integer budgets, max / min = 81 */
    long eta;                    /* 3 for every benchmark */
    double f_opt;                /* known minimum of truth() */
    size_t dim;                  /* number of parameters of the space */
    int report_every_epoch;      /* lc_mixed: 1 (peers report after every epoch);
                                    others 0 (peers report at rung budgets) */
    /* Adds the parameters (and conditions) to an empty space, in the order x
     * uses. Returns FRESH_OK or the status of the failing fresh_space call. */
    int (*build_space)(fresh_space *space);
    /* The noisy loss at budget `budget`, rounded to the nearest integer.
     * Returns NaN for an invalid x (NaN where a value is needed, a category
     * index out of range) or a budget that is not finite or rounds below 1. */
    double (*observed)(const double *x, double budget, uint64_t seed, uint64_t key);
    /* The noise-free max-budget value; NaN for an invalid x. */
    double (*truth)(const double *x);
} fresh_benchmark;

/* Number of benchmarks in the suite (4). Thread safety: any thread. */
size_t fresh_bench_count(void);

/* Benchmark i (i < count), or NULL. The table is static and immutable.
 * Thread safety: any thread. */
const fresh_benchmark *fresh_bench_at(size_t i);

/* The benchmark called `name`, or NULL if unknown (or name is NULL).
 * Thread safety: any thread. */
const fresh_benchmark *fresh_bench_find(const char *name);

/* One SplitMix64 step applied to x (spec 1.2): z = x + GAMMA, then two
 * xor-shift-multiply rounds and a final xor-shift, modulo 2^64.
 * Thread safety: any thread. */
uint64_t fresh_bench_sm64(uint64_t x);

/* sm64(sm64(sm64(sm64(seed) ^ key) ^ stream) ^ index).
 * Thread safety: any thread. */
uint64_t fresh_bench_hash4(uint64_t seed, uint64_t key, uint64_t stream, uint64_t index);

/* (hash4(...) >> 11) * 2^-53: a double in [0, 1). Thread safety: any thread. */
double fresh_bench_U(uint64_t seed, uint64_t key, uint64_t stream, uint64_t index);

/* A standard normal by Box-Muller from U at indices 2*index and 2*index + 1:
 * sqrt(-2 ln(1 - U(2i))) * cos(2 pi U(2i + 1)). Thread safety: any thread. */
double fresh_bench_N(uint64_t seed, uint64_t key, uint64_t stream, uint64_t index);

#ifdef __cplusplus
}
#endif
#endif /* FRESH_BENCH_FUNCTIONS_H */
