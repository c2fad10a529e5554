/*
 * bench-suggest.c - time per suggestion of fresh's BOHB sampler
 * (fresh_sampler_bohb through the type table) after N observations.
 *
 *   bench-suggest [--space NAME[,NAME...]|both] [--n N[,N...]] [--seconds S] [--model-only]
 *                 [--sampler NAME]
 *   bench-suggest --space NAME --rss N
 *
 * For each N: init the sampler, observe N configurations (uniform random,
 * config ids 0..N-1) at one budget (81) with their losses, then time
 * proposals with an empty context (no pending, no duplicate check):
 *   us_per_suggest        one new observation + one proposal per iteration
 *                         (the study's real cycle: every proposal follows a
 *                         finished job, so the KDEs are refitted each time),
 *                         default settings (random_fraction 1/3);
 *   us_per_model_suggest  the same with random_fraction 0 (every proposal
 *                         from the model: comparable to Optuna's TPE ask);
 *   us_per_propose_cached proposals only, model fitted once (random_fraction 0).
 * Spaces: hartmann6 (6-D, fresh_bench_find("hartmann6_mf")->build_space, losses
 * observed(x, 81, seed, key)) and mixed10 (10-D: 3 floats, 2 log floats,
 * 2 ints, 1 log int, 2 categoricals, synthetic loss); mixed6 and mixed20
 * (the spaces of bench/compare/suggest_vs_optuna.py: 6-D = 2 floats, 1 log
 * float, 1 int, 1 log int, 1 categorical of 4; 20-D = 8 floats, 3 log
 * floats, 3 ints, 2 log ints, 4 categoricals of 2-5; loss = sum of squared
 * distances of the unit encoding to 0.3). "both" = hartmann6,mixed10.
 * Times are CPU time of the thread (the machine is shared), read every 8
 * iterations (the thread CPU clock is a system call). Prints one JSON
 * line per (space, N). Default N: 100,1000,5000,10000,100000.
 * --model-only times us_per_model_suggest only (the others are -1).
 * --rss N: observes N configurations, makes 10 model proposals (each after
 * one more observation) and prints the process's peak RSS (getrusage).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <gsl/gsl_rng.h>

#include "fresh/rng.h"
#include "fresh/sampler.h"
#include "fresh/space.h"
#include "fresh/status.h"
#include "functions.h"

#define BUDGET 81.0
#define SEED 12345u

/* the sampler timed: bohb unless --sampler names another (gp, auto, ...) */
static const fresh_sampler_type *sampler_type;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int build_mixed10(fresh_space *s)
{
    static const char *const act[3] = {"relu", "tanh", "gelu"};
    static const char *const opt[5] = {"adam", "sgd", "rmsprop", "adagrad", "lamb"};
    int rc = FRESH_OK;
    if (rc == FRESH_OK) rc = fresh_space_add_float(s, "f0", 0.0, 1.0, 0);
    if (rc == FRESH_OK) rc = fresh_space_add_float(s, "f1", -5.0, 5.0, 0);
    if (rc == FRESH_OK) rc = fresh_space_add_float(s, "f2", 0.0, 0.99, 0);
    if (rc == FRESH_OK) rc = fresh_space_add_float(s, "lr", 1e-5, 1.0, 1);
    if (rc == FRESH_OK) rc = fresh_space_add_float(s, "wd", 1e-8, 1e-1, 1);
    if (rc == FRESH_OK) rc = fresh_space_add_int(s, "layers", 1, 8, 0);
    if (rc == FRESH_OK) rc = fresh_space_add_int(s, "units", 16, 1024, 1);
    if (rc == FRESH_OK) rc = fresh_space_add_int(s, "batch", 8, 512, 0);
    if (rc == FRESH_OK) rc = fresh_space_add_categorical(s, "act", 3, act);
    if (rc == FRESH_OK) rc = fresh_space_add_categorical(s, "opt", 5, opt);
    return rc;
}

/* mixed6 / mixed20: the spaces of bench/compare/suggest_vs_optuna.py. */
static int build_mixed(fresh_space *s, int big)
{
    static const char *const lv[5] = {"a", "b", "c", "d", "e"};
    char name[16];
    int rc = FRESH_OK;
    int nf = big ? 8 : 2, nlf = big ? 3 : 1, ni = big ? 3 : 1, nli = big ? 2 : 1;
    int nc = big ? 4 : 1;
    for (int i = 0; rc == FRESH_OK && i < nf; i++) {
        snprintf(name, sizeof name, "f%d", i);
        rc = fresh_space_add_float(s, name, -5.0, 5.0, 0);
    }
    for (int i = 0; rc == FRESH_OK && i < nlf; i++) {
        snprintf(name, sizeof name, "lf%d", i);
        rc = fresh_space_add_float(s, name, 1e-5, 1.0, 1);
    }
    for (int i = 0; rc == FRESH_OK && i < ni; i++) {
        snprintf(name, sizeof name, "i%d", i);
        rc = fresh_space_add_int(s, name, 1, 16, 0);
    }
    for (int i = 0; rc == FRESH_OK && i < nli; i++) {
        snprintf(name, sizeof name, "li%d", i);
        rc = fresh_space_add_int(s, name, 8, 1024, 1);
    }
    for (int i = 0; rc == FRESH_OK && i < nc; i++) {
        snprintf(name, sizeof name, "c%d", i);
        rc = fresh_space_add_categorical(s, name, (size_t)(big ? 2 + i : 4), lv);
    }
    return rc;
}

static double mixed_loss(const fresh_space *s, const double *x)
{
    double u[32];
    fresh_space_encode(s, x, u);
    double l = 0.0;
    for (size_t i = 0; i < fresh_space_dim(s); i++)
        l += (u[i] - 0.3) * (u[i] - 0.3);
    return l;
}

/* A smooth synthetic loss over the encoded [0, 1]^10 vector. */
static double mixed10_loss(const fresh_space *s, const double *x)
{
    double u[16];
    fresh_space_encode(s, x, u);
    double l = 0.0;
    for (int i = 0; i < 8; i++) {
        double d = u[i] - 0.3 - 0.05 * i;
        l += d * d;
    }
    l += (x[8] == 2.0 ? 0.0 : 0.2) + (x[9] == 0.0 ? 0.0 : 0.1 * x[9]);
    return l;
}

typedef struct setup {
    const char *name;
    fresh_space *space;
    const fresh_benchmark *bench; /* NULL: mixed10 / mixed6 / mixed20 */
    int mixed;                    /* 1: mixed6 / mixed20's loss */
} setup;

static double loss_of(const setup *st, const double *x, uint64_t key)
{
    if (st->bench)
        return st->bench->observed(x, BUDGET, SEED, key);
    return st->mixed ? mixed_loss(st->space, x) : mixed10_loss(st->space, x);
}

/* mode 0: observe+propose (default params); 1: observe+propose (rf 0);
 * 2: propose only (rf 0); 3: as 1, exactly 10 iterations. Returns
 * microseconds per iteration, or -1. */
static double time_mode(const setup *st, size_t n, int mode, double seconds, size_t *iters)
{
    const fresh_sampler_type *T = sampler_type;
    fresh_sampler_params p;
    fresh_sampler_params_default(&p);
    if (mode != 0)
        p.random_fraction = 0.0;
    size_t dim = fresh_space_dim(st->space);
    void *state = calloc(1, T->state_size);
    double *x = malloc(dim * sizeof *x);
    gsl_rng *rng = fresh_rng_stream_create(SEED, 0, 0);
    char err[512];
    double us = -1.0;
    if (!state || !x || !rng)
        goto out;
    if (T->init(state, st->space, &p, SEED, err) != FRESH_OK) {
        fprintf(stderr, "bench-suggest: init: %s\n", err);
        goto out;
    }
    uint64_t id = 0;
    for (; id < n; id++) {
        fresh_space_sample(st->space, rng, x);
        fresh_observation o = {id, x, BUDGET, loss_of(st, x, id), 0.0};
        if (T->observe(state, &o) != FRESH_OK)
            goto out_destroy;
    }
    fresh_propose_ctx ctx = {BUDGET, NULL, 0, NULL, NULL, 0.0, 0.0, 0};
    int mb = 0;
    if (mode == 2 && T->propose(state, &ctx, rng, x, &mb) != FRESH_OK)  /* fit once */
        goto out_destroy;
    size_t k = 0;
    double t0 = now(), t = t0;
    while (mode == 3 ? k < 10 : (k < 5 || (t - t0 < seconds && k < 2000))) {
        if (mode != 2) {
            fresh_space_sample(st->space, rng, x);
            fresh_observation o = {id, x, BUDGET, loss_of(st, x, id), 0.0};
            id++;
            if (T->observe(state, &o) != FRESH_OK)
                goto out_destroy;
        }
        if (T->propose(state, &ctx, rng, x, &mb) != FRESH_OK)
            goto out_destroy;
        k++;
        if (mode == 3 || k % 8 == 0) /* the clock is a system call: not every time */
            t = now();
    }
    t = now();
    us = (t - t0) / (double)k * 1e6;
    *iters = k;
out_destroy:
    T->destroy(state);
out:
    if (rng)
        gsl_rng_free(rng);
    free(x);
    free(state);
    return us;
}

/* Observes n configurations, then 10 times one more observation and a model
 * proposal (time_mode's mode 3); prints the peak RSS. 0 or 1 (error). */
static int rss_run(const setup *st, size_t n)
{
    size_t k;
    if (time_mode(st, n, 3, 0.0, &k) < 0)
        return 1;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"space\":\"%s\",\"dim\":%zu,\"n\":%zu,\"max_rss_kb\":%ld}\n", st->name,
           fresh_space_dim(st->space), n, ru.ru_maxrss);
    return 0;
}

int main(int argc, char **argv)
{
    const char *which = "both";
    size_t ns[16] = {100, 1000, 5000, 10000, 100000};
    size_t n_ns = 5;
    double seconds = 0.5;
    int model_only = 0;
    size_t rss_n = 0;
    sampler_type = fresh_sampler_bohb;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--space") == 0 && i + 1 < argc) {
            which = argv[++i];
        } else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc) {
            n_ns = 0;
            char *s = argv[++i];
            while (*s && n_ns < 16) {
                char *end;
                ns[n_ns++] = (size_t)strtoull(s, &end, 10);
                s = *end == ',' ? end + 1 : end;
                if (end == s && *s) break;
            }
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--model-only") == 0) {
            model_only = 1;
        } else if (strcmp(argv[i], "--rss") == 0 && i + 1 < argc) {
            rss_n = (size_t)strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--sampler") == 0 && i + 1 < argc &&
                   fresh_sampler_find(argv[i + 1])) {
            sampler_type = fresh_sampler_find(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench-suggest [--space NAME[,NAME...]|both] "
                            "[--n N[,N...]] [--seconds S] [--model-only] [--rss N]\n"
                            "                     [--sampler NAME]\n"
                            "spaces: hartmann6 mixed10 mixed6 mixed20\n");
            return 2;
        }
    }
    setup sets[4];
    size_t n_sets = 0;
    if (strcmp(which, "both") == 0)
        which = "hartmann6,mixed10";
    for (const char *w = which; *w;) {
        size_t len = strcspn(w, ",");
        fresh_space *sp = fresh_space_create();
        setup st = {NULL, sp, NULL, 0};
        int brc = sp ? FRESH_OK : FRESH_ENOMEM;
        if (brc == FRESH_OK && len == 9 && strncmp(w, "hartmann6", len) == 0) {
            st.name = "hartmann6";
            st.bench = fresh_bench_find("hartmann6_mf");
            brc = st.bench ? st.bench->build_space(sp) : FRESH_EINVAL;
        } else if (brc == FRESH_OK && len == 7 && strncmp(w, "mixed10", len) == 0) {
            st.name = "mixed10";
            brc = build_mixed10(sp);
        } else if (brc == FRESH_OK && len == 6 && strncmp(w, "mixed6", len) == 0) {
            st.name = "mixed6";
            st.mixed = 1;
            brc = build_mixed(sp, 0);
        } else if (brc == FRESH_OK && len == 7 && strncmp(w, "mixed20", len) == 0) {
            st.name = "mixed20";
            st.mixed = 1;
            brc = build_mixed(sp, 1);
        } else {
            brc = FRESH_EINVAL;
        }
        if (brc != FRESH_OK || n_sets == 4) {
            fprintf(stderr, "bench-suggest: unknown space '%.*s'\n", (int)len, w);
            fresh_space_destroy(sp);
            return 2;
        }
        sets[n_sets++] = st;
        w += len;
        if (*w == ',')
            w++;
    }
    if (n_sets == 0) {
        fprintf(stderr, "bench-suggest: unknown space '%s'\n", which);
        return 2;
    }
    int rc = 0;
    if (rss_n > 0) {
        rc = rss_run(&sets[0], rss_n);
        for (size_t si = 0; si < n_sets; si++)
            fresh_space_destroy(sets[si].space);
        return rc;
    }
    for (size_t si = 0; si < n_sets; si++) {
        for (size_t i = 0; i < n_ns; i++) {
            size_t k0 = 0, k1 = 0, k2 = 0;
            double a = model_only ? -1.0 : time_mode(&sets[si], ns[i], 0, seconds, &k0);
            double b = time_mode(&sets[si], ns[i], 1, seconds, &k1);
            double c = model_only ? -1.0 : time_mode(&sets[si], ns[i], 2, seconds, &k2);
            if ((!model_only && (a < 0 || c < 0)) || b < 0) {
                fprintf(stderr, "bench-suggest: sampler error at n = %zu\n", ns[i]);
                rc = 1;
                continue;
            }
            printf("{\"sampler\":\"%s\",\"space\":\"%s\",\"dim\":%zu,\"n\":%zu,\"us_per_suggest\":%.3f,"
                   "\"us_per_model_suggest\":%.3f,\"us_per_propose_cached\":%.3f,"
                   "\"iterations\":[%zu,%zu,%zu]}\n",
                   sampler_type->name, sets[si].name, fresh_space_dim(sets[si].space), ns[i], a, b,
                   c, k0, k1, k2);
            fflush(stdout);
        }
        fresh_space_destroy(sets[si].space);
    }
    return rc;
}
