/*
 * sim.h - a simulated cluster: a discrete-event clock drives a real study
 * (its real scheduler and sampler) through fresh_study_ask/fresh_study_tell,
 * so that schedulers can be measured at 16 to 1,024 workers in seconds of
 * real time (`fresh bench NAME --simulate-workers N`, docs/benchmarks.md).
 *
 * The model of the cluster (docs/benchmarks.md, "Simulated cluster"):
 *  - N identical workers. Whenever workers are free, the lowest-numbered
 *    free worker asks the study for a job first; FRESH_WAIT leaves it (and
 *    the other free ones) idle until the next event; a positive ending stops
 *    the asking for good, and the running jobs are drained.
 *  - A job of configuration c runs from resume_from to its budget in
 *    (budget - resume_from) x unit_time x f(c) simulated seconds, where the
 *    speed factor f(c) = exp(spread x z(seed, c)) is lognormal with median 1
 *    (z a standard normal drawn from the simulator's seed and the config id,
 *    so a configuration is equally slow in every job and every run).
 *  - The job reports its loss at each rung budget in (resume_from, budget]
 *    (or each integer step with report_every_unit, as lc_mixed does), each
 *    at the simulated moment training reaches that step. The report goes to
 *    fresh_trial_report() at that moment, so in-stage early stopping sees
 *    only the reports of other jobs that have arrived by then, as on a real
 *    cluster; a job told to stop ends (and frees its worker) at that report.
 *    The study learns the job's losses when it is told, at its end.
 *  - With failure_rate p, a job fails with probability p (drawn from the
 *    seed and the job id) at a uniformly drawn point of its run: the
 *    reports before that point are made, then it is told as failed.
 *  - Events are processed in simulated time order, ties by job id; all
 *    events of one instant are processed before free workers ask, so the
 *    scheduler sees every result of that instant. ask and tell take no
 *    simulated time: their real cost is measured and reported instead
 *    (it must stay far below a job's duration for the result to hold).
 *
 * A support library for the CLI, the bench scripts and the tests; not part
 * of libfresh's public API. Thread safety: owner thread of the study.
 */
#ifndef FRESH_BENCH_SIM_H
#define FRESH_BENCH_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "fresh/study.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fresh_sim_opts {
    size_t workers;          /* simulated workers, 1 .. 1,048,576 */
    double unit_time;        /* simulated seconds per unit of budget, > 0 (default 1) */
    double spread;           /* sigma of the log speed factor, >= 0 (default 0) */
    double failure_rate;     /* probability that a job fails, in [0, 1) (default 0) */
    uint64_t seed;           /* speed factors and failures */
    double horizon;          /* simulated seconds: no job starts at or after it and
                                no event after it is processed; jobs still running
                                are left outstanding (fresh_study_destroy frees them).
                                0 = run until the study ends (it must have a
                                stopping criterion) and drain the running jobs */
    int report_every_unit;   /* 1: report at every integer step; 0: at the rungs */
    /* The loss configuration x (id config_id) reports at `step`. Required. */
    double (*loss)(void *user, const double *x, double step, uint64_t config_id);
    /* The noise-free value of x scored for the trajectory (regret = truth -
     * f_opt); NULL: the trajectory records the incumbent's observed loss. */
    double (*truth)(void *user, const double *x);
    double f_opt;
    void *user;
    int keep_jobs;           /* 1: fill fresh_sim_result.jobs (the schedule) */
} fresh_sim_opts;

/* Defaults: unit_time 1, everything else 0/NULL. */
void fresh_sim_opts_default(fresh_sim_opts *o);

typedef enum fresh_sim_job_end {
    FRESH_SIM_COMPLETED = 0, /* reached its budget */
    FRESH_SIM_STOPPED,       /* told to stop at a report (early stopping) */
    FRESH_SIM_FAILED,        /* simulated failure */
    FRESH_SIM_RUNNING        /* still running at the horizon */
} fresh_sim_job_end;

/* One job of the simulated schedule. */
typedef struct fresh_sim_job {
    uint64_t job_id, config_id;
    size_t worker;
    double budget, resume_from;
    double start, end;       /* simulated seconds (end: the horizon if RUNNING) */
    fresh_sim_job_end outcome;
} fresh_sim_job;

/* A point of the incumbent trajectory: when the incumbent changed. */
typedef struct fresh_sim_point {
    double time;             /* simulated seconds */
    double value;            /* regret (truth - f_opt), or the observed loss */
    uint64_t config_id;
} fresh_sim_point;

typedef struct fresh_sim_result {
    int status;              /* the study's ending (FRESH_BUDGET_REACHED, ...) or
                                FRESH_TIME_REACHED at the horizon */
    double makespan;         /* simulated: the horizon, or the last job's end */
    double busy;             /* simulated worker-seconds spent running jobs
                                (up to the horizon) */
    double utilization;      /* busy / (workers x makespan) */
    size_t jobs, completed, stopped, failed, running;
    size_t waits;            /* asks answered FRESH_WAIT */
    double mean_job_time;    /* simulated seconds per finished job */
    /* real (wall-clock) seconds the owner spent in fresh_study_ask (calls
     * that gave a job) and fresh_study_tell: mean and 99th percentile */
    double ask_mean, ask_p99, tell_mean, tell_p99;
    double owner_time;       /* all real seconds in ask and tell */
    double real_time;        /* real seconds the whole simulation took */
    fresh_sim_point *traj;   /* owned; n_traj points */
    size_t n_traj;
    fresh_sim_job *jobs_log; /* owned; with keep_jobs, one per job in job id order */
    size_t n_jobs_log;
} fresh_sim_result;

/* Runs the simulation on `study` (created by the caller, no job asked yet;
 * its stopping criteria apply, except max_wall_time, which is real time:
 * leave it 0). Fills *res (free it with fresh_sim_result_free, also after
 * an error). Returns FRESH_OK; FRESH_EINVAL (bad option, message in err);
 * FRESH_ESTATE (the study waits with no job running: it would never
 * continue); FRESH_ENOMEM; or a negative status of ask/tell (message from
 * fresh_study_errmsg in err). err: errlen bytes, may be NULL.
 * Thread safety: owner thread of the study. */
int fresh_sim_run(fresh_study *study, const fresh_sim_opts *o, fresh_sim_result *res,
                  char *err, size_t errlen);

/* Frees what fresh_sim_run allocated in *res; NULL is a no-op. */
void fresh_sim_result_free(fresh_sim_result *res);

#ifdef __cplusplus
}
#endif
#endif
