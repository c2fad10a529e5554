/*
 * bench-gp-pending.c - what pending jobs cost a GP suggestion (the
 * fantasies: docs/benchmarks.md, "Suggestion time: issue 15's work on the
 * GP").
 *
 *   bench-gp-pending [--n N[,N...]] [--pending P[,P...]] [--seconds S]
 *
 * For each N and P: the GP sampler on a 6-D unit cube (loss: squared
 * distance to 0.3 in every coordinate), N observations at one budget, then
 * per iteration one new observation and one model proposal
 * (random_fraction 0) with the P most recent other configurations
 * pending. Prints one JSON line per (N, P): CPU time of the thread per
 * iteration, microseconds.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_rng.h>

#include "fresh/rng.h"
#include "fresh/sampler.h"
#include "fresh/space.h"
#include "fresh/status.h"

#define D 6
#define MAX_PENDING 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double loss_of(const double *x)
{
    double l = 0.0;
    for (int j = 0; j < D; j++)
        l += (x[j] - 0.3) * (x[j] - 0.3);
    return l;
}

/* microseconds per iteration, or -1 */
static double run(const fresh_space *sp, size_t n, size_t p, double seconds)
{
    const fresh_sampler_type *T = fresh_sampler_gp;
    fresh_sampler_params prm;
    fresh_sampler_params_default(&prm);
    prm.random_fraction = 0.0;
    void *st = calloc(1, T->state_size);
    gsl_rng *rng = fresh_rng_stream_create(1, 0, 0);
    static double pend[MAX_PENDING][D];
    const double *pp[MAX_PENDING];
    double x[D], us = -1.0;
    char err[512];
    if (!st || !rng || T->init(st, sp, &prm, 1, err) != FRESH_OK)
        goto out;
    uint64_t id = 0;
    for (; id < n; id++) {
        fresh_space_sample(sp, rng, x);
        fresh_observation o = {id, x, 1.0, loss_of(x), 0.0};
        if (T->observe(st, &o) != FRESH_OK)
            goto out_destroy;
    }
    for (size_t q = 0; q < p; q++) {
        fresh_space_sample(sp, rng, pend[q]);
        pp[q] = pend[q];
    }
    fresh_propose_ctx ctx = {.budget = 1.0, .pending = p ? pp : NULL, .n_pending = p};
    size_t k = 0;
    double t0 = now(), t = t0;
    while (k < 5 || (t - t0 < seconds && k < 2000)) {
        fresh_space_sample(sp, rng, x);
        fresh_observation o = {id++, x, 1.0, loss_of(x), 0.0};
        if (T->observe(st, &o) != FRESH_OK || T->propose(st, &ctx, rng, x, NULL) != FRESH_OK)
            goto out_destroy;
        if (p) /* the proposal is pending now, the oldest pending job done */
            memcpy(pend[k % p], x, sizeof x);
        k++;
        t = now();
    }
    us = (t - t0) / (double)k * 1e6;
out_destroy:
    T->destroy(st);
out:
    if (rng)
        gsl_rng_free(rng);
    free(st);
    return us;
}

int main(int argc, char **argv)
{
    const char *ns = "200,1000", *ps = "0,4,16";
    double seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            ns = argv[++i];
        else if (strcmp(argv[i], "--pending") == 0 && i + 1 < argc)
            ps = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench-gp-pending [--n N,..] [--pending P,..] [--seconds S]\n");
            return 2;
        }
    }
    fresh_space *sp = fresh_space_create();
    char name[8];
    for (int j = 0; sp && j < D; j++) {
        snprintf(name, sizeof name, "x%d", j);
        if (fresh_space_add_float(sp, name, 0.0, 1.0, 0) != FRESH_OK)
            return 1;
    }
    if (!sp)
        return 1;
    int rc = 0;
    for (const char *a = ns; *a;) {
        size_t n = strtoul(a, NULL, 10);
        for (const char *b = ps; *b;) {
            size_t p = strtoul(b, NULL, 10);
            if (p > MAX_PENDING)
                p = MAX_PENDING;
            double us = run(sp, n, p, seconds);
            if (us < 0)
                rc = 1;
            printf("{\"n\":%zu,\"pending\":%zu,\"us_per_suggest\":%.1f}\n", n, p, us);
            fflush(stdout);
            b = strchr(b, ',') ? strchr(b, ',') + 1 : b + strlen(b);
        }
        a = strchr(a, ',') ? strchr(a, ',') + 1 : a + strlen(a);
    }
    fresh_space_destroy(sp);
    return rc;
}
