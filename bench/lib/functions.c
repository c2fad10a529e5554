/*
 * functions.c - the four multi-fidelity benchmark functions of fresh and
 * their counter-based noise, implemented exactly as specified in
 * docs/benchmarks-spec.md (section numbers below refer to it).
 *
 * DESIGN
 * All noise is a pure function of (seed, key, stream, index) through a
 * four-fold SplitMix64 hash (spec 1.2), so observations do not depend on the
 * evaluation order, on threads, or on resume versus restart. Floating-point
 * expressions follow the spec's operation order, because a peer harness in
 * Python must reproduce the test vectors to a relative error of 1e-12; the
 * only expected differences come from libm rounding of exp, log, cos and pow.
 *
 * Sources: counting_ones from Falkner, Klein & Hutter, "BOHB", ICML 2018,
 * Sec. 5.1; branin_mf from Kandasamy et al., "Multi-fidelity Bayesian
 * optimisation with continuous approximations" (BOCA), ICML 2017; hartmann6_mf
 * from mf-prior-bench (Mallik et al., "PriorBand", NeurIPS 2023); lc_mixed is
 * fresh's own synthetic learning-curve benchmark (spec 2.4).
 */
#include "functions.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fresh/status.h"

/* M_PI is not in C11; _POSIX_C_SOURCE does not promise it either. */
static const double PI = 3.14159265358979323846;

#define GAMMA UINT64_C(0x9E3779B97F4A7C15)
#define M1 UINT64_C(0xBF58476D1CE4E5B9)
#define M2 UINT64_C(0x94D049BB133111EB)

/* ---- counter-based random numbers (spec 1.2) ---- */

uint64_t fresh_bench_sm64(uint64_t x)
{
    uint64_t z = x + GAMMA;
    z = (z ^ (z >> 30)) * M1;
    z = (z ^ (z >> 27)) * M2;
    return z ^ (z >> 31);
}

uint64_t fresh_bench_hash4(uint64_t seed, uint64_t key, uint64_t stream, uint64_t index)
{
    uint64_t h = fresh_bench_sm64(seed);
    h = fresh_bench_sm64(h ^ key);
    h = fresh_bench_sm64(h ^ stream);
    return fresh_bench_sm64(h ^ index);
}

double fresh_bench_U(uint64_t seed, uint64_t key, uint64_t stream, uint64_t index)
{
    /* 2^-53 is exact; the 53-bit integer converts to double exactly. */
    return (double)(fresh_bench_hash4(seed, key, stream, index) >> 11) * 0x1.0p-53;
}

double fresh_bench_N(uint64_t seed, uint64_t key, uint64_t stream, uint64_t index)
{
    double u1 = fresh_bench_U(seed, key, stream, 2 * index);
    double u2 = fresh_bench_U(seed, key, stream, 2 * index + 1);
    /* 1 - u1 lies in (0, 1], so the logarithm is finite. */
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * PI * u2);
}

/* ---- shared helpers ---- */

/* Budgets are integers (spec 1.1): rounds to the nearest one. Returns 0 for
 * a budget that is not finite or rounds outside [1, 2^53] (an invalid call). */
static uint64_t integer_budget(double budget)
{
    if (!isfinite(budget))
        return 0;
    double r = round(budget);
    if (r < 1.0 || r > 0x1.0p53)
        return 0;
    return (uint64_t)r;
}

/* Normalised fidelity on a log scale: s(b) = ln(b / b_min) / ln(b_max / b_min). */
static double fidelity(double b, double b_min, double b_max)
{
    return log(b / b_min) / log(b_max / b_min);
}

/* A categorical value as its index, or -1 if it is NaN or not in [0, n). */
static long category(double v, long n)
{
    if (isnan(v))
        return -1;
    double r = round(v);
    if (r < 0.0 || r >= (double)n)
        return -1;
    return (long)r;
}

/* ---- counting_ones (spec 2.1) ---- */

#define CO_NCAT 8
#define CO_NCONT 8

static int co_build(fresh_space *space)
{
    static const char *const binary[2] = {"0", "1"};
    char name[16];
    int rc;
    for (int i = 0; i < CO_NCAT; i++) {
        snprintf(name, sizeof name, "c_%d", i);
        if ((rc = fresh_space_add_categorical(space, name, 2, binary)) != FRESH_OK)
            return rc;
    }
    for (int i = 0; i < CO_NCONT; i++) {
        snprintf(name, sizeof name, "x_%d", i);
        if ((rc = fresh_space_add_float(space, name, 0.0, 1.0, 0)) != FRESH_OK)
            return rc;
    }
    return FRESH_OK;
}

/* The integer sum of the categoricals, or -1 if one is invalid. */
static long co_cat_sum(const double *x)
{
    long sum = 0;
    for (int i = 0; i < CO_NCAT; i++) {
        long c = category(x[i], 2);
        if (c < 0)
            return -1;
        sum += c;
    }
    return sum;
}

static double co_observed(const double *x, double budget, uint64_t seed, uint64_t key)
{
    uint64_t b = integer_budget(budget);
    long csum = co_cat_sum(x);
    if (b == 0 || csum < 0)
        return NAN;
    const double *xc = x + CO_NCAT;
    double acc = 0.0;
    for (int i = 0; i < CO_NCONT; i++) {
        if (isnan(xc[i]))
            return NAN;
        uint64_t count = 0;
        for (uint64_t k = 0; k < b; k++)
            if (fresh_bench_U(seed, key, (uint64_t)i, k) < xc[i])
                count++;
        acc += (double)count / (double)b;
    }
    acc += (double)csum;
    return -acc;
}

static double co_truth(const double *x)
{
    long csum = co_cat_sum(x);
    if (csum < 0)
        return NAN;
    double sx = 0.0;
    for (int i = 0; i < CO_NCONT; i++)
        sx += x[CO_NCAT + i];   /* NaN propagates */
    return -((double)csum + sx);
}

/* ---- branin_mf (spec 2.2) ---- */

#define BR_BMIN 1.0
#define BR_BMAX 81.0

static int br_build(fresh_space *space)
{
    int rc = fresh_space_add_float(space, "x1", -5.0, 10.0, 0);
    if (rc == FRESH_OK)
        rc = fresh_space_add_float(space, "x2", 0.0, 15.0, 0);
    return rc;
}

/* g(x, s): the BOCA Branin with all three fidelity coordinates equal to s. */
static double br_g(const double *x, double s)
{
    double x1 = x[0], x2 = x[1];
    double B = 5.1 / (4.0 * (PI * PI)) - 0.01 * (1.0 - s);
    double C = 5.0 / PI - 0.1 * (1.0 - s);
    double T = 1.0 / (8.0 * PI) + 0.005 * (1.0 - s);
    double t = x2 - B * (x1 * x1) + C * x1 - 6.0;
    return t * t + 10.0 * (1.0 - T) * cos(x1) + 10.0;
}

static double br_observed(const double *x, double budget, uint64_t seed, uint64_t key)
{
    uint64_t b = integer_budget(budget);
    if (b == 0)
        return NAN;
    double s = fidelity((double)b, BR_BMIN, BR_BMAX);
    return br_g(x, s) + 0.5 * (1.0 - s) * fresh_bench_N(seed, key, FRESH_BENCH_STREAM_NOISE, b);
}

static double br_truth(const double *x)
{
    return br_g(x, 1.0);
}

/* ---- hartmann6_mf (spec 2.3) ---- */

#define H6_BMIN 1.0
#define H6_BMAX 81.0
#define H6_BETA 0.5
#define H6_SIGMA 0.1

static const double H6_ALPHA[4] = {1.0, 1.2, 3.0, 3.2};
static const double H6_A[4][6] = {
    {10, 3, 17, 3.5, 1.7, 8},
    {0.05, 10, 17, 0.1, 8, 14},
    {3, 3.5, 1.7, 10, 17, 8},
    {17, 8, 0.05, 10, 0.1, 14},
};
static const double H6_P[4][6] = {
    {1312, 1696, 5569, 124, 8283, 5886},
    {2329, 4135, 8307, 3736, 1004, 9991},
    {2348, 1451, 3522, 2883, 3047, 6650},
    {4047, 8828, 8732, 5743, 1091, 381},
};

static int h6_build(fresh_space *space)
{
    char name[16];
    for (int j = 0; j < 6; j++) {
        snprintf(name, sizeof name, "x_%d", j);
        int rc = fresh_space_add_float(space, name, 0.0, 1.0, 0);
        if (rc != FRESH_OK)
            return rc;
    }
    return FRESH_OK;
}

static double h6_h(const double *x, double s)
{
    double sum = 0.0;
    for (int i = 0; i < 4; i++) {
        double inner = 0.0;
        for (int j = 0; j < 6; j++) {
            double d = x[j] - 1e-4 * H6_P[i][j];
            inner += H6_A[i][j] * (d * d);
        }
        double alpha = H6_ALPHA[i] - H6_BETA * (1.0 - s);
        sum += alpha * exp(-inner);
    }
    return -sum;
}

static double h6_observed(const double *x, double budget, uint64_t seed, uint64_t key)
{
    uint64_t b = integer_budget(budget);
    if (b == 0)
        return NAN;
    double s = fidelity((double)b, H6_BMIN, H6_BMAX);
    return h6_h(x, s) +
           H6_SIGMA * (1.0 - s) * fabs(fresh_bench_N(seed, key, FRESH_BENCH_STREAM_NOISE, b));
}

static double h6_truth(const double *x)
{
    return h6_h(x, 1.0);
}

/* ---- lc_mixed (spec 2.4) ---- */

enum { LC_ADAM = 0, LC_SGD = 1, LC_RMSPROP = 2, LC_NOPT = 3 };
#define LC_EMAX 81.0

/* Per-optimiser constants (u_opt, F0, R0, A0). */
static const double LC_CONST[LC_NOPT][4] = {
    {-3.0, 0.10, 1.0, 0.6},  /* adam */
    {-1.0, 0.05, 0.8, 1.2},  /* sgd */
    {-2.5, 0.09, 0.8, 0.8},  /* rmsprop */
};

static int lc_build(fresh_space *space)
{
    static const char *const optimizers[LC_NOPT] = {"adam", "sgd", "rmsprop"};
    static const double sgd = LC_SGD;
    int rc;
    if ((rc = fresh_space_add_float(space, "lr", 1e-4, 1.0, 1)) != FRESH_OK)
        return rc;
    if ((rc = fresh_space_add_int(space, "layers", 1, 8, 0)) != FRESH_OK)
        return rc;
    if ((rc = fresh_space_add_categorical(space, "optimizer", LC_NOPT, optimizers)) != FRESH_OK)
        return rc;
    if ((rc = fresh_space_add_float(space, "momentum", 0.0, 0.99, 0)) != FRESH_OK)
        return rc;
    return fresh_space_add_condition(space, "momentum", "optimizer", 1, &sgd, 0);
}

/* curve(x, e) = final + amp * e^-rate; NaN for an invalid x. */
static double lc_curve(const double *x, double e)
{
    double lr = x[0];
    long opt = category(x[2], LC_NOPT);
    if (isnan(lr) || isnan(x[1]) || opt < 0)
        return NAN;
    double L = round(x[1]);
    double u = log10(lr);    /* the effective log-lr */
    if (opt == LC_SGD) {
        if (isnan(x[3]))
            return NAN;
        u -= log10(1.0 - x[3]);
    }
    const double *k = LC_CONST[opt];
    double d = u - k[0];
    double final = k[1] + 0.1 * (d * d) + 0.01 * ((L - 6.0) * (L - 6.0));
    double rate = k[2] * exp(0.5 * d) * (1.0 - 0.04 * (L - 1.0));
    if (rate < 0.05)
        rate = 0.05;
    if (rate > 3.0)
        rate = 3.0;
    double amp = k[3] * exp(-0.3 * d) * (0.6 + 0.05 * L);
    return final + amp * pow(e, -rate);
}

static double lc_observed(const double *x, double budget, uint64_t seed, uint64_t key)
{
    uint64_t e = integer_budget(budget);
    if (e == 0)
        return NAN;
    double ed = (double)e;
    return lc_curve(x, ed) +
           (0.02 / sqrt(ed)) * fresh_bench_N(seed, key, FRESH_BENCH_STREAM_NOISE, e);
}

static double lc_truth(const double *x)
{
    return lc_curve(x, LC_EMAX);
}

/* ---- the table ---- */

static const fresh_benchmark BENCHMARKS[] = {
    {
        .name = "counting_ones",
        .description = "8 binary + 8 continuous; budget = Bernoulli samples (BOHB, ICML 2018)",
        .min_budget = 9, .max_budget = 729, .eta = 3,
        .f_opt = -16.0, .dim = CO_NCAT + CO_NCONT, .report_every_epoch = 0,
        .build_space = co_build, .observed = co_observed, .truth = co_truth,
    },
    {
        .name = "branin_mf",
        .description = "2-d Branin with BOCA fidelity shifts and additive Gaussian noise",
        .min_budget = BR_BMIN, .max_budget = BR_BMAX, .eta = 3,
        .f_opt = 0.39788735772973816, .dim = 2, .report_every_epoch = 0,
        .build_space = br_build, .observed = br_observed, .truth = br_truth,
    },
    {
        .name = "hartmann6_mf",
        .description = "6-d Hartmann with mf-prior-bench alpha bias and half-normal noise",
        .min_budget = H6_BMIN, .max_budget = H6_BMAX, .eta = 3,
        .f_opt = -3.322368011415515, .dim = 6, .report_every_epoch = 0,
        .build_space = h6_build, .observed = h6_observed, .truth = h6_truth,
    },
    {
        .name = "lc_mixed",
        .description = "synthetic learning curves, mixed conditional space, crossing curves",
        .min_budget = 1, .max_budget = LC_EMAX, .eta = 3,
        .f_opt = 0.09634202723878377, .dim = 4, .report_every_epoch = 1,
        .build_space = lc_build, .observed = lc_observed, .truth = lc_truth,
    },
};

#define N_BENCHMARKS (sizeof BENCHMARKS / sizeof BENCHMARKS[0])

size_t fresh_bench_count(void)
{
    return N_BENCHMARKS;
}

const fresh_benchmark *fresh_bench_at(size_t i)
{
    return i < N_BENCHMARKS ? &BENCHMARKS[i] : NULL;
}

const fresh_benchmark *fresh_bench_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < N_BENCHMARKS; i++)
        if (strcmp(BENCHMARKS[i].name, name) == 0)
            return &BENCHMARKS[i];
    return NULL;
}
