/*
 * fresh/study.h - a tuning study: Hyperband brackets decide budgets, a
 * sampler decides configurations, a thread pool runs the objective.
 *
 * Two ways to drive it, built on the same code:
 *  - fresh_study_optimize(): runs the objective on a pthread pool until a
 *    stopping criterion holds;
 *  - fresh_study_ask() / fresh_study_tell(): the caller runs jobs itself
 *    (its own workers, another process, another machine). optimize() is ask
 *    and tell around a pool, so with one worker both give the same results.
 *
 * Reproducibility: every random draw comes from a stream derived from
 * (seed, config id, purpose) (fresh/rng.h); with one worker and a fixed seed
 * two runs give bit-identical results.
 *
 * Threads: the study (scheduler, sampler, RNG, bookkeeping) lives on its
 * owner thread. Workers run the objective only. fresh_study_force_stop() may
 * be called from any thread and from a signal handler. An objective may use
 * its trial and fresh_study_force_stop() only: any other fresh_study_* call
 * made from inside the study's own objective is refused with FRESH_ESTATE
 * (fresh_study_destroy does nothing), and fresh_study_errmsg() called on
 * that thread gives the reason, leaving the owner's message alone.
 */
#ifndef FRESH_STUDY_H
#define FRESH_STUDY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fresh/export.h"
#include "fresh/plan.h"
#include "fresh/sampler.h"
#include "fresh/scheduler.h"
#include "fresh/space.h"
#include "fresh/status.h"
#include "fresh/trial.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fresh_study fresh_study;
struct fresh_job_info;

/* Called once per finished job (progress display, logging), on the owner
 * thread: inside fresh_study_tell() for ask/tell, on the thread that called
 * fresh_study_optimize() otherwise, after the job is recorded (and committed
 * to the study file) and before the next job is asked for. It never runs on a
 * worker thread and never overlaps the objective of the job it reports, but
 * with several workers the objectives of other jobs run meanwhile: it needs
 * no lock to read the study, yet the time it takes delays new jobs, so keep
 * it short. It may call the owner-thread readers (fresh_study_incumbent,
 * fresh_study_best_any_budget, fresh_study_job, fresh_study_get_stats, ...)
 * and fresh_study_force_stop(); it must not call functions that change the
 * study (ask, tell, optimize, warm start, destroy). No library lock is held
 * while it runs. Jobs replayed from the study file on resume are not
 * reported. */
typedef void (*fresh_job_callback)(const fresh_study *study, const struct fresh_job_info *job,
                                   void *user);

typedef struct fresh_study_params {
    /* Hyperband */
    double min_budget, max_budget;   /* default 1, 81 */
    double eta;                      /* integer >= 2; default 3 */
    fresh_bracket_formula bracket_formula;   /* default FRESH_BRACKETS_PAPER */
    const fresh_scheduler_type *scheduler;   /* default fresh_scheduler_adaptive; also
                                                hyperband, sh, none, and the asynchronous
                                                asha, async_hyperband and async_adaptive
                                                (fresh/scheduler.h) */
    const fresh_sampler_type *sampler;       /* default fresh_sampler_auto */
    fresh_sampler_params sampler_params;     /* fresh_sampler_params_default() */
    size_t workers;                  /* 0: number of online CPUs (default) */
    size_t max_open_brackets;        /* synchronous schedulers: open a new bracket
                                        only while fewer than this many are open
                                        (opened, not finished); 1 is textbook
                                        Hyperband, whose workers wait at a stage
                                        barrier. 0 = no limit (default): fresh
                                        opens the next bracket rather than leave
                                        a worker idle (docs/algorithms.md,
                                        section 2). Not stored: like workers it
                                        may change on resume. FRESH_EINVAL with
                                        an asynchronous scheduler */
    uint64_t seed;                   /* default FRESH_DEFAULT_SEED */
    int early_stopping;              /* stop hopeless jobs inside a stage; default 1 */
    double job_time_limit;           /* seconds per job, 0 = none (default); see
                                        "Time limits" below */
    size_t max_paused;               /* asynchronous schedulers only: at most this
                                        many unpromoted configurations per rung
                                        stay eligible for promotion; one that
                                        falls below as many better ones is
                                        retired and never runs again
                                        (fresh_study_config_finished), which
                                        bounds the checkpoints to keep. 0 = no
                                        limit, ASHA as published (default).
                                        FRESH_EINVAL with a scheduler that does
                                        not offer it (fresh/scheduler.h,
                                        set_options) */
    int paper_promotions;            /* asynchronous schedulers only: 1 = ASHA's
                                        promotion rule as published (a rung may
                                        promote more than 1/eta of its results);
                                        0 (default) = fresh's: at most
                                        floor(n_i / eta) promotions from a rung
                                        of n_i results (fresh/scheduler.h,
                                        fresh_sched_options). Stored in the
                                        study file */
    /* stopping criteria, any combination; 0 (NaN for target) = off */
    long max_brackets;               /* brackets to complete (asynchronous schedulers:
                                        groups of new configurations as large as
                                        their bracket's first stage; the study ends
                                        when those and their promotions are done) */
    double max_total_budget;         /* in max-budget equivalents (MBE) */
    double max_wall_time;            /* seconds */
    double target_loss;              /* stop once the incumbent (max budget,
                                        fresh_study_incumbent) is <= this;
                                        NaN = off */
    fresh_job_callback on_job;       /* optional, NULL by default */
    void *on_job_user;
    /* storage: NULL (default) keeps the study in memory. A path records
     * every job in a SQLite study file (docs/storage.md), committed before
     * the study acts on it. An existing study file is an error unless
     * resume is 1: the study is then rebuilt from the file (same space and
     * parameters required) and jobs that were running are run again. Those
     * that were running when the process died are suspects: optimize runs
     * each alone, nothing beside it, so that only a job that kills the
     * process on its own is blamed; one that died FRESH_MAX_RETRIES + 1
     * times is recorded as failed instead (it is the cause). Jobs cut short
     * by a stop request (fresh_study_force_stop, Ctrl-C) are not suspects:
     * their interrupted run does not count as a death. The file must be a
     * regular file (FRESH_EIO for a directory, FIFO, socket or device). */
    const char *storage;             /* borrowed during create only */
    int resume;
    /* What the study runs, in the application's words (NULL or "" = none;
     * valid UTF-8; copied). `fresh run` stores its command line here. It is
     * recorded in the study file with the parameters, and resuming with
     * another tag is FRESH_EMISMATCH (fresh_study_tag reads it back). */
    const char *tag;
} fresh_study_params;

/* Fills *p with the defaults above. Thread safety: any thread. */
FRESH_API void fresh_study_params_default(fresh_study_params *p);

/* Applies a named preset of the algorithm settings to *p: sampler,
 * scheduler, bracket_formula, early_stopping and sampler_params. Budgets,
 * eta, stopping criteria, workers, seed, on_job and storage are left as they
 * are, so call it after fresh_study_params_default and set those before or
 * after. Presets (docs/algorithms.md, "Presets"):
 *   "default"         fresh's defaults (the sampler "auto": the GP or BOHB
 *                     by the space, BOHB with the bandwidth floor and
 *                     factor 1, the hedge, adaptive Hyperband, early stopping)
 *   "bohb-reference"  BOHB as published and as HpBandSter runs it (Falkner et
 *                     al. 2018): fresh_sampler_bohb, plain Hyperband (fresh_scheduler_hyperband)
 *                     with HpBandSter's bracket sizes (FRESH_BRACKETS_FLOOR),
 *                     no early stopping inside a stage, bandwidth_factor 3,
 *                     bandwidth_floor 0 (off), hedge off (hedge_tau -2), the
 *                     other model settings at the paper's values (random
 *                     fraction 1/3, 64 samples, top 15 %, min_bandwidth
 *                     1e-3, d + 1 points). fresh's corrections of the
 *                     reference code (docs/algorithms.md, "fix") and its
 *                     continuation accounting stay.
 * Names are ASCII case-insensitive. FRESH_OK, FRESH_EINVAL (p or name NULL),
 * FRESH_ENOTFOUND (unknown name; *p unchanged). Thread safety: any thread. */
FRESH_API int fresh_study_params_preset(fresh_study_params *p, const char *name);

/* Creates a study over `space` (borrowed: it must outlive the study) with a
 * copy of *params (NULL = defaults). Invalid parameters (eta <= 1, min budget
 * > max budget, infinite target, ...) are reported through *status and, when
 * errmsg is not NULL, a message of up to errlen bytes naming the parameter;
 * the result is then NULL. Statuses: FRESH_OK, FRESH_EINVAL, FRESH_ENOMEM.
 * Thread safety: any thread. */
FRESH_API fresh_study *fresh_study_create(const fresh_space *space,
                                          const fresh_study_params *params,
                                          int *status, char *errmsg, size_t errlen);

/* Opens an existing study file for inspection: rebuilds its space (*space,
 * owned by the caller, destroyed after the study) and the study with its
 * stored parameters, replaying every recorded job. The study can be read
 * (incumbent, jobs, stats, export) or continued. Statuses as for create,
 * plus FRESH_ESTORE/FRESH_EBUSY/FRESH_EIO from the file and FRESH_EPARSE for
 * unreadable stored parameters. Thread safety: any thread. */
FRESH_API fresh_study *fresh_study_open(const char *path, fresh_space **space, int *status,
                                        char *errmsg, size_t errlen);

/* Opens a study file read-only, as a snapshot of what was committed when it
 * is opened, whether or not another process is running the study (it takes
 * no lock and never writes the file). As fresh_study_open otherwise, except
 * that the study can only be read: ask, optimize and warm start fail with
 * FRESH_ESTATE, and the jobs recorded as asked but not told are left as
 * they are (running in the other process, or cut short by a crash:
 * fresh_study_file_in_use says which), counted in stats.jobs_running.
 * Statuses as for fresh_study_open, plus FRESH_ENOTFOUND for a file that
 * holds no study. Thread safety: any thread. */
FRESH_API fresh_study *fresh_study_open_snapshot(const char *path, fresh_space **space,
                                                 int *status, char *errmsg, size_t errlen);

/* 1 if a process has the study file open for writing (a study running on
 * it), 0 if not; FRESH_EINVAL for a NULL or empty path, FRESH_EIO if the
 * lock file exists but cannot be opened, FRESH_ENOMEM. Thread safety: any
 * thread. */
FRESH_API int fresh_study_file_in_use(const char *path);

/* Warm start: feeds the finished results of an earlier study file (same
 * space) into this study's sampler, without running them again and without
 * changing the scheduler. Call before the first ask. Warm-start data is not
 * recorded in this study's own file: repeat the call when resuming. The
 * earlier file is read as a snapshot (fresh_study_open_snapshot): it may be
 * in use by a study that is still running, and it is never written.
 * FRESH_OK, FRESH_ESTATE (jobs already asked), FRESH_EMISMATCH (different
 * space), storage errors (FRESH_EIO for a missing file, FRESH_ENOTFOUND for
 * a file without a study). Thread safety: owner thread. */
FRESH_API int fresh_study_warm_start(fresh_study *study, const char *path);

/* Frees the study and everything it owns; NULL is a no-op. Must not run
 * while optimize() runs. Thread safety: owner thread. */
FRESH_API void fresh_study_destroy(fresh_study *study);

/* The study's tag (fresh_study_params.tag; for a study opened from a file,
 * the stored one), "" if none. Owned by the study, valid until it is
 * destroyed. Thread safety: owner thread. */
FRESH_API const char *fresh_study_tag(const fresh_study *study);

/* 1 if bracket number `bracket` (fresh_job_info.bracket) has finished: its
 * last stage ended, or a stage had nothing left to promote (asha,
 * async-hyperband: every configuration of the group reached the top rung or
 * failed; until then a late promotion may still continue any of them). No job of a
 * finished bracket will run again, so none of its configurations gets
 * another job (what an objective saved for them may be discarded). 0 for a
 * bracket still open, not opened yet, a negative number or a NULL study.
 * Thread safety: owner thread (e.g. inside the on_job callback). */
FRESH_API int fresh_study_bracket_finished(const fresh_study *study, long bracket);

/* 1 if no job of configuration config_id will run again: its bracket has
 * finished (fresh_study_bracket_finished), or, with an asynchronous
 * scheduler, it is not running and reached its ladder's top rung, failed,
 * or was retired under max_paused. What an objective saved for it may then
 * be discarded (`fresh run` removes its trial directory). 0 while a job of
 * it may still run (with ASHA and max_paused = 0, a paused configuration
 * stays promotable until the study ends), for an unknown id and a NULL
 * study. Thread safety: owner thread (e.g. inside the on_job callback). */
FRESH_API int fresh_study_config_finished(const fresh_study *study, uint64_t config_id);

/* Message of the last failed call ("" if none). Thread safety: owner. */
FRESH_API const char *fresh_study_errmsg(const fresh_study *study);

/* The study's plan (brackets). Thread safety: owner thread. */
FRESH_API const fresh_plan *fresh_study_plan(const fresh_study *study);

/* ---- driving ---- */

/* Runs objective(trial, user) on the worker pool until a stopping criterion
 * holds, then waits for running jobs (asked to stop when the criterion is
 * wall time, target or force_stop). Returns the positive reason
 * (FRESH_BUDGET_REACHED, FRESH_BRACKETS_DONE, FRESH_TIME_REACHED,
 * FRESH_TARGET_REACHED, FRESH_STOPPED) or a negative error (FRESH_ETHREAD,
 * FRESH_ENOMEM, FRESH_ENOSAMPLE, FRESH_ESTATE if jobs from ask() are still
 * out or when called from inside the objective). Failed jobs do not stop
 * the study. May be called again to continue with new criteria: jobs a
 * stop request cut short run first, from their start.
 *
 * Time limits. A job whose objective returns after job_time_limit seconds
 * is recorded as failed with FRESH_ETIMEDOUT, whatever it reported; a
 * reporting objective learns of the limit from fresh_trial_report()
 * returning 0. A thread cannot be killed safely, so an objective that does
 * not return is abandoned: once it has run max(1 s, 10% of the limit)
 * past job_time_limit, or past the moment the study asked it to stop (1 s
 * for a target or a stop request, max(1 s, 10% of max_wall_time) for the
 * wall time), optimize records the job as failed (FRESH_ETIMEDOUT, "abandoned";
 * after a stop request it is requeued instead) and goes on or returns
 * without it. The objective keeps its thread and its trial until it
 * returns; fresh_study_destroy() waits for it. A process that cannot wait
 * may exit() without destroying the study: the study file already holds
 * every result, and a child process (`fresh run`) can be killed outright.
 * Thread safety: owner thread. */
FRESH_API int fresh_study_optimize(fresh_study *study, fresh_objective objective, void *user);

/* Next job for a caller-run worker: FRESH_OK and *trial (owned by the study,
 * valid until tell), FRESH_WAIT when nothing can start until a running job
 * is told, a positive ending when a stopping criterion holds (no new job),
 * or a negative error. Thread safety: owner thread. */
FRESH_API int fresh_study_ask(fresh_study *study, fresh_trial **trial);

/* Records the outcome of a trial from ask() (its loss, reports, failure) and
 * hands the trial back: it is invalid afterwards. FRESH_OK, FRESH_EINVAL
 * (not an outstanding trial of this study), FRESH_ENOMEM.
 * Thread safety: owner thread. */
FRESH_API int fresh_study_tell(fresh_study *study, fresh_trial *trial);

/* Asks optimize() to stop: no new jobs; running ones are asked to stop
 * (fresh_trial_report() returns 0). A job it cuts short, one without a
 * result at its budget, is not recorded: it is requeued (and, with a study
 * file, recorded as interrupted), and runs again from its start in the next
 * optimize or after a resume (stats.jobs_interrupted counts them). The
 * request ends when the optimize it stops returns FRESH_STOPPED (made
 * outside optimize, it stops the next one at once); outside optimize, ask
 * returns FRESH_STOPPED until no trial is out, then the request ends. So a
 * study can be stopped and continued any number of times.
 * Thread safety: any thread, and async-signal-safe (one lock-free atomic
 * store; optimize notices it within 50 ms): a SIGINT handler may call it. */
FRESH_API void fresh_study_force_stop(fresh_study *study);

/* Copies the study's parameters into *p (the ones given to create, or the
 * stored ones of an opened file, with any later set_run_options applied;
 * p->storage is NULL). FRESH_OK or FRESH_EINVAL (NULL argument).
 * Thread safety: owner thread. */
FRESH_API int fresh_study_get_params(const fresh_study *study, fresh_study_params *p);

/* Sets what may change between runs of a study, from *p (other fields are
 * ignored): the stopping criteria (max_brackets, max_total_budget,
 * max_wall_time, target_loss), workers and on_job / on_job_user. They apply
 * from the next ask() or optimize(); max_total_budget and max_brackets count
 * the whole study (replayed jobs included), max_wall_time each optimize()
 * call. A pending stop request (fresh_study_force_stop) is left as it is.
 * FRESH_OK; FRESH_EINVAL (a bad value, named in the errmsg; nothing
 * changes); FRESH_ESTATE while optimize() runs, from inside the objective,
 * for a snapshot, or after a failed write to the study file (reopen it).
 * Thread safety: owner thread. */
FRESH_API int fresh_study_set_run_options(fresh_study *study, const fresh_study_params *p);

/* ---- results ---- */

/* The incumbent, the configuration to use: the best loss among jobs that
 * completed at the maximum budget (as BOHB's final result and the
 * benchmarks' regret define it; a loss at a lower budget is not comparable).
 * FRESH_OK, or FRESH_ENOTFOUND until a job has completed at the maximum
 * budget (early in a study, or when it stopped before any did: use
 * fresh_study_best_any_budget to show progress). *budget is then the
 * maximum budget. Any pointer may be NULL; *x stays valid until the study is
 * destroyed. Thread safety: owner thread. */
FRESH_API int fresh_study_incumbent(const fresh_study *study, uint64_t *config_id,
                                    double *loss, double *budget, const double **x);

/* For progress display only: the best loss among completed jobs at the
 * largest budget any job has completed so far (below the maximum budget
 * early in a study; the incumbent once a job completed at the maximum
 * budget). FRESH_OK, or FRESH_ENOTFOUND before any job completed. Pointers
 * as for fresh_study_incumbent. Thread safety: owner thread. */
FRESH_API int fresh_study_best_any_budget(const fresh_study *study, uint64_t *config_id,
                                          double *loss, double *budget, const double **x);

typedef enum fresh_job_status {
    FRESH_JOB_PENDING = 0,  /* queued or running */
    FRESH_JOB_COMPLETED,    /* reached its budget */
    FRESH_JOB_STOPPED,      /* stopped early (early stopping or study stop) */
    FRESH_JOB_FAILED        /* error, NaN/inf loss, no loss, time limit */
} fresh_job_status;

typedef struct fresh_job_info {
    uint64_t job_id, config_id;
    long bracket;
    int stage;
    double budget, resume_from;
    double reached;         /* budget actually reached */
    double cost;            /* reached - resume_from (full budget - resume for a
                               failure without reports) */
    double loss;            /* final loss (+inf when failed) */
    fresh_job_status status;
    int error;              /* for FAILED: FRESH_EOBJECTIVE or FRESH_ETIMEDOUT */
    const char *message;    /* for FAILED: why; "" otherwise */
    size_t n_reports;
    const double *report_steps, *report_losses;
    double start_time, end_time; /* seconds since the study was created */
    int worker;             /* worker index; -1 for ask/tell */
    int model_based;        /* config chosen by the model (first job of a config) */
} fresh_job_info;

/* Number of jobs created so far, and job i (i < count, in creation order).
 * Pointers in *info stay valid until the study changes. FRESH_EINVAL for i
 * out of range. Thread safety: owner thread. */
FRESH_API size_t fresh_study_n_jobs(const fresh_study *study);
FRESH_API int fresh_study_job(const fresh_study *study, size_t i, fresh_job_info *info);

/* Number of configurations and configuration id's values (dim doubles).
 * NULL for an unknown id. Thread safety: owner thread. */
FRESH_API size_t fresh_study_n_configs(const fresh_study *study);
FRESH_API const double *fresh_study_config(const fresh_study *study, uint64_t config_id);

typedef struct fresh_study_stats {
    size_t jobs_finished, jobs_completed, jobs_stopped, jobs_failed;
    size_t configs, proposals_model, proposals_random;
    long brackets_opened, brackets_finished;
    double used_budget;      /* sum of job costs, in budget units */
    double used_mbe;         /* used_budget / max_budget */
    double wall_time;        /* seconds in optimize() (or since the first ask) */
    double busy_time;        /* sum over jobs of their run time */
    double overhead_time;    /* owner-thread time in ask/tell (sampler, scheduler) */
    double utilization;      /* busy / (workers x wall time) in optimize() */
    size_t workers;
    size_t jobs_replayed;    /* jobs rebuilt from the study file on resume */
    size_t jobs_requeued;    /* of those, running at the crash: run again */
    size_t warm_start_observations;
    size_t jobs_failed_after_crash; /* running at FRESH_MAX_RETRIES + 1 crashes: failed */
    size_t jobs_running;     /* asked and not told yet (a snapshot: running in the
                                process that holds the file, or cut short) */
    size_t proposals_hedged; /* of proposals_random, those the BOHB hedge made random:
                                their bracket's first budget had not ranked like
                                the max budget (docs/algorithms.md) */
    size_t jobs_interrupted; /* cut short by a stop request, waiting to run again
                                (included in jobs_running) */
} fresh_study_stats;

/* A job that was running each time the process died is run again at most
 * this many times (alone, after the first death), then recorded as failed
 * (it is the cause). */
#define FRESH_MAX_RETRIES 2

/* Fills *stats. Thread safety: owner thread. */
FRESH_API void fresh_study_get_stats(const fresh_study *study, fresh_study_stats *stats);

/* One point of the incumbent trajectory, recorded after each finished job. */
typedef struct fresh_traj_point {
    uint64_t job_id;
    double used_mbe, wall_time;
    int has_incumbent;      /* 1 once a job completed at the maximum budget */
    uint64_t config_id;     /* the incumbent (fresh_study_incumbent) then */
    double loss, budget;    /* its loss and the maximum budget (NaN before) */
    int has_best_any;       /* 1 once any job completed */
    uint64_t best_any_config_id; /* fresh_study_best_any_budget then */
    double best_any_loss, best_any_budget; /* (NaN before) */
} fresh_traj_point;

/* Trajectory length and point i. Thread safety: owner thread. */
FRESH_API size_t fresh_study_n_trajectory(const fresh_study *study);
FRESH_API int fresh_study_trajectory(const fresh_study *study, size_t i, fresh_traj_point *pt);

typedef enum fresh_export_format { FRESH_EXPORT_CSV = 0, FRESH_EXPORT_JSONL = 1 } fresh_export_format;

/* Writes every job (id, config id, params, bracket, stage, budget,
 * resume_from, reached, cost, loss, status, message, reports, times, worker)
 * to path as CSV or JSON Lines. FRESH_OK, FRESH_EIO (message names the
 * file), FRESH_EINVAL, FRESH_ENOMEM. Thread safety: owner thread. */
FRESH_API int fresh_study_export(const fresh_study *study, const char *path,
                                 fresh_export_format format);

/* As fresh_study_export, to an open stream (borrowed: neither closed nor
 * repositioned; flushed at the end), e.g. stdout: appending and shell
 * redirections keep what the stream already holds, and pipes and sockets
 * work. FRESH_OK, FRESH_EIO (a write or the flush failed), FRESH_EINVAL,
 * FRESH_ENOMEM. Thread safety: owner thread. */
FRESH_API int fresh_study_export_stream(const fresh_study *study, FILE *stream,
                                        fresh_export_format format);

#ifdef __cplusplus
}
#endif
#endif
