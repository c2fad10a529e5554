/*
 * bench-scaling.c - worker scaling with a CPU-bound objective (the CLI's
 * `fresh bench --sleep-per-budget` measures scaling with a sleeping one).
 *
 *   bench-scaling [--workers W] [--budget MBE] [--ms-per-budget MS] [--seed S]
 *                 [--sampler bohb|random] [--scheduler adaptive|hyperband|sh|none]
 *                 [--iters-per-budget N] [--calibrate-only]
 *
 * Runs a fresh_study on hartmann6_mf (reports at every rung budget, noise key =
 * config id) whose objective also burns a fixed amount of floating-point work
 * per unit of budget: about MS milliseconds of one core (calibrated once at
 * start, single-threaded, before the study), so W workers can at best run W
 * times faster when W cores are free. --iters-per-budget fixes the work instead
 * (so that runs at several W do exactly the same work whatever the load during
 * calibration); --calibrate-only prints the calibrated iterations per unit of
 * budget and exits. Prints one JSON line: workers, wall_s,
 * busy_s, overhead_s, utilization (busy / (workers x wall)), used_mbe, jobs,
 * regret.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fresh/plan.h"
#include "fresh/sampler.h"
#include "fresh/scheduler.h"
#include "fresh/status.h"
#include "fresh/study.h"
#include "fresh/trial.h"
#include "functions.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A dependent chain of multiply-adds that the compiler cannot remove:
 * returns a finite value in (0, 2). */
static double burn(long iters, double seed)
{
    double a = 0.5 + 0.25 * fabs(sin(seed)), b = 0.0;
    for (long i = 0; i < iters; i++) {
        a = a * 0.999999 + 1e-6;
        b = b * 0.5 + a;
    }
    return a + b * 1e-12;
}

typedef struct ctx {
    const fresh_benchmark *b;
    double rungs[16];
    int n_rungs;
    long iters_per_budget;
} ctx;

static int objective(fresh_trial *t, void *user)
{
    const ctx *c = user;
    const double *x = fresh_trial_values(t);
    double budget = fresh_trial_budget(t), from = fresh_trial_resume_from(t), prev = from;
    uint64_t key = fresh_trial_config_id(t), seed = fresh_trial_seed(t);
    for (int k = 0; k < c->n_rungs; k++) {
        double r = c->rungs[k];
        if (r <= from || r > budget * (1 + 1e-12))
            continue;
        double w = burn((long)((r - prev) * (double)c->iters_per_budget), x[0]);
        prev = r;
        /* w * 0.0 keeps the work alive without changing the loss */
        if (!fresh_trial_report(t, r, c->b->observed(x, r, seed, key) + w * 0.0))
            return 0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t workers = 1;
    double budget = 100, ms_per_budget = 2.0;
    unsigned long long seed = 0;
    const char *sampler = "bohb", *scheduler = "hyperband";
    long fixed_iters = 0;
    int calibrate_only = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--calibrate-only") == 0) {
            calibrate_only = 1;
            continue;
        }
        if (i + 1 >= argc)
            goto usage;
        if (strcmp(a, "--workers") == 0)
            workers = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--budget") == 0)
            budget = atof(argv[++i]);
        else if (strcmp(a, "--ms-per-budget") == 0)
            ms_per_budget = atof(argv[++i]);
        else if (strcmp(a, "--seed") == 0)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--iters-per-budget") == 0)
            fixed_iters = strtol(argv[++i], NULL, 10);
        else if (strcmp(a, "--sampler") == 0)
            sampler = argv[++i];
        else if (strcmp(a, "--scheduler") == 0)
            scheduler = argv[++i];
        else
            goto usage;
    }
    if (workers < 1 || !(budget > 0) || !(ms_per_budget >= 0))
        goto usage;

    /* calibrate: iterations per millisecond on one core */
    long probe = 1000000;
    double t0 = now(), sink = burn(probe, 1.0), dt = now() - t0;
    while (dt < 0.2) {
        probe *= 2;
        t0 = now();
        sink += burn(probe, 1.0);
        dt = now() - t0;
    }
    ctx c = {.b = fresh_bench_find("hartmann6_mf")};
    c.iters_per_budget = (long)((double)probe / (dt * 1e3) * ms_per_budget);
    if (fixed_iters > 0)
        c.iters_per_budget = fixed_iters;
    if (calibrate_only) {
        printf("%ld\n", c.iters_per_budget);
        return sink > 0 ? 0 : 1;
    }

    fresh_space *space = fresh_space_create();
    if (!space || !c.b || c.b->build_space(space) != FRESH_OK) {
        fprintf(stderr, "bench-scaling: cannot build the space\n");
        return 1;
    }
    fresh_study_params p;
    fresh_study_params_default(&p);
    p.min_budget = c.b->min_budget;
    p.max_budget = c.b->max_budget;
    p.eta = (double)c.b->eta;
    p.sampler = fresh_sampler_find(sampler);
    p.scheduler = fresh_scheduler_find(scheduler);
    if (!p.sampler || !p.scheduler) {
        fprintf(stderr, "bench-scaling: unknown sampler or scheduler\n");
        return 2;
    }
    p.workers = workers;
    p.seed = seed;
    p.max_total_budget = budget;
    int rc;
    char msg[512];
    fresh_study *study = fresh_study_create(space, &p, &rc, msg, sizeof msg);
    if (!study) {
        fprintf(stderr, "bench-scaling: %s\n", msg);
        return 1;
    }
    c.n_rungs = fresh_plan_s_max(fresh_study_plan(study)) + 1;
    fresh_plan_rungs(fresh_study_plan(study), c.rungs);
    rc = fresh_study_optimize(study, objective, &c);
    if (rc < 0) {
        fprintf(stderr, "bench-scaling: optimize: %s\n", fresh_study_errmsg(study));
        return 1;
    }
    fresh_study_stats st;
    fresh_study_get_stats(study, &st);
    const double *xi = NULL;
    double regret = NAN;
    if (fresh_study_incumbent(study, NULL, NULL, NULL, &xi) == FRESH_OK && xi)
        regret = c.b->truth(xi) - c.b->f_opt;
    printf("{\"workers\":%zu,\"ms_per_budget\":%g,\"budget_mbe\":%g,\"used_mbe\":%.4f,"
           "\"jobs\":%zu,\"wall_s\":%.4f,\"busy_s\":%.4f,\"overhead_s\":%.4f,"
           "\"utilization\":%.4f,\"regret\":%.6g,\"iters_per_budget\":%ld,"
           "\"calibration_sink\":%.3f}\n",
           workers, ms_per_budget, budget, st.used_mbe, st.jobs_finished, st.wall_time,
           st.busy_time, st.overhead_time, st.utilization, regret, c.iters_per_budget,
           sink > 0 ? 1.0 : 0.0);
    fresh_study_destroy(study);
    fresh_space_destroy(space);
    return 0;

usage:
    fprintf(stderr, "usage: bench-scaling [--workers W] [--budget MBE] [--ms-per-budget MS] "
                    "[--seed S] [--sampler bohb|random] "
                    "[--scheduler adaptive|hyperband|sh|none] [--iters-per-budget N] "
                    "[--calibrate-only]\n");
    return 2;
}
