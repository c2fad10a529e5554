/*
 * runner.h - runs one tuning study on a benchmark problem: a synthetic
 * function of functions.h or the digits MLP; shared by `fresh bench`, the
 * demo, the tests and the comparison scripts.
 */
#ifndef FRESH_BENCH_RUNNER_H
#define FRESH_BENCH_RUNNER_H

#include <stdio.h>

#include "fresh/study.h"
#include "functions.h"

/* A problem: a space, an objective and its budgets; truth/f_opt when the
 * true loss is known (synthetic functions). */
typedef struct fresh_bench_problem {
    const char *name;
    double min_budget, max_budget;
    long eta;
    int (*build_space)(fresh_space *space);
    fresh_objective objective;
    void *user;
    double (*truth)(const double *x); /* NULL: unknown */
    double f_opt;
    const char *loss_name;            /* "loss", "validation error" */
} fresh_bench_problem;

typedef struct fresh_bench_opts {
    const char *sampler;    /* "random", "bohb", "tpe" */
    const char *scheduler;  /* "adaptive", "hyperband", "sh", "none" */
    double budget_mbe;      /* total budget in max-budget equivalents; 0 = off */
    long brackets;          /* brackets to complete; 0 = off */
    size_t workers;         /* 0 = online CPUs */
    uint64_t seed;
    double sleep_per_budget;/* seconds of sleep per unit of budget run (0 = none) */
    int early_stopping;
    size_t max_paused;      /* fresh_study_params.max_paused (0 = no limit) */
    size_t max_open_brackets; /* fresh_study_params.max_open_brackets (0 = no limit) */
    int paper_promotions;   /* fresh_study_params.paper_promotions */
    fresh_bracket_formula bracket_formula; /* default FRESH_BRACKETS_PAPER */
    fresh_job_callback on_job; /* called after each finished job (progress), or NULL */
    void *on_job_user;
    const char *trajectory; /* CSV path or NULL */
    fresh_sampler_params sp;/* model settings (fresh_sampler_params_default) */
    const char *storage;    /* study file or NULL */
    int resume;
    const char *warm_start; /* earlier study file or NULL */
    /* called with the study just before optimize and with NULL just after
     * (the CLI's Ctrl-C handler stops the study it is given); may be NULL */
    void (*watch)(fresh_study *study);
    /* the driver: NULL runs fresh_study_optimize; `fresh bench --mpi` sets
     * one that runs the study over MPI (ctx: optimize_ctx) */
    int (*optimize)(fresh_study *study, fresh_objective objective, void *user, void *ctx);
    void *optimize_ctx;
} fresh_bench_opts;

typedef struct fresh_bench_result {
    int status;             /* the optimize() return */
    int has_incumbent, has_truth;
    double inc_loss, inc_budget, inc_true, regret;
    uint64_t inc_config;
    char inc_params[1024];
    char inc_json[2048];
    double used_mbe, wall_s, overhead_s, utilization;
    size_t evaluations, configs, failed, stopped, model_based, random_based;
    size_t hedged; /* of random_based: random by the BOHB hedge */
    long brackets;
    size_t replayed, requeued, workers;
    size_t interrupted; /* jobs a stop request cut short: they run again on resume */
} fresh_bench_result;

void fresh_bench_opts_default(fresh_bench_opts *o);

/* The problem of a synthetic benchmark function (reports at every rung
 * budget, every epoch for lc_mixed; the noise key is the config id).
 * sleep_per_budget: seconds slept per unit of budget. The problem points
 * into *storage, which must outlive it. FRESH_OK or FRESH_ENOMEM. */
typedef struct fresh_bench_fn_ctx {
    const fresh_benchmark *b;
    double rungs[FRESH_PLAN_MAX_STAGES]; /* the plan's rung budgets, ascending */
    int n_rungs;
    double sleep_per_budget;
} fresh_bench_fn_ctx;
int fresh_bench_function_problem(const fresh_benchmark *b, double sleep_per_budget,
                                 fresh_bench_fn_ctx *storage, fresh_bench_problem *out);

/* Runs the study; fills *res. Returns FRESH_OK or a negative status, with a
 * message in err (512 bytes). */
int fresh_bench_run(const fresh_bench_problem *pb, const fresh_bench_opts *o,
                    fresh_bench_result *res, char *err);

#endif
