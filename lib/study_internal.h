/*
 * study_internal.h - the structures shared by study.c and trial.c.
 */
#ifndef FRESH_STUDY_INTERNAL_H
#define FRESH_STUDY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "fresh/study.h"
#include "internal.h"
#include "pool.h"

/* Stop flags of a trial (atomic bit set). */
#define STOP_EARLY 1u   /* cannot reach its stage's promotion quota */
#define STOP_TIMEOUT 2u /* per-job time limit */
#define STOP_STUDY 4u   /* the study is stopping */
#define STOP_FAILED 8u  /* NaN/inf report or out of memory: job failed */

/* Early stopping table of one stage, shared by the workers running the
 * stage's jobs: for each step reported so far, the `quota` best losses. */
typedef struct stage_table {
    pthread_mutex_t mu;
    long bracket;
    int stage;
    long quota;
    size_t n_steps, cap_steps;
    double *steps;  /* ascending */
    double *best;   /* n_steps x quota, each row ascending */
    long *n_best;   /* per step: how many of its row are set */
} stage_table;

/* Stop decision for a report made in a process without the study (mpi/):
 * returns the STOP_* bits to set, 0 to go on. */
typedef unsigned (*fresh__remote_report)(fresh_trial *t, double step, double loss, void *ctx);

struct fresh_trial {
    fresh_study *study;
    const fresh_space *space;
    size_t job_index;
    uint64_t job_id, config_id, seed;
    const double *x;
    double budget, resume_from;
    const double *rungs;    /* the study's rung budgets, ascending (immutable) */
    size_t n_rungs;
    const void *ckpt_in;
    size_t ckpt_in_len;
    void *ckpt_out;
    size_t ckpt_out_len;
    int ckpt_saved;
    double *rep_steps, *rep_losses;
    size_t n_rep, cap_rep;
    double loss;
    int has_loss;
    int failed;             /* fresh_trial_fail, NaN loss, out of memory */
    char message[256];
    int rc;                 /* objective's return value */
    atomic_uint stop;       /* STOP_* */
    atomic_int *study_stop; /* the study's force-stop flag */
    double job_time_limit;
    double deadline;        /* absolute fresh__now() time, 0 = none */
    stage_table *table;     /* NULL: no early stopping for this job */
    fresh_objective fn;
    void *user;
    fresh_pool_job pjob;
    int requeued;           /* replayed ask without a tell, or interrupted: run again */
    int retries;            /* times it was handed out again (retry events) */
    int interrupts;         /* runs cut short by a stop request (not deaths) */
    int suspect;            /* requeued after a death of the process: runs alone */
    int submitted;          /* in optimize's pool now (owner's view) */
    int abandoned;          /* left running past its deadline: the pool's zombie */
    size_t n_tabled;        /* leading reports given to the stage table */
    double owner_deadline;  /* optimize abandons it after this fresh__now() time */
    int has_times;          /* replayed tell: start/end/worker below */
    double r_start, r_end;
    int r_worker;
    fresh__remote_report remote; /* set on a trial run away from its study (mpi/) */
    void *remote_ctx;
};

/* trial.c */
int fresh__trial_init(fresh_trial *t);
/* Appends (step, loss) to t's reports: FRESH_OK or FRESH_ENOMEM. */
int fresh__trial_append_report(fresh_trial *t, double step, double loss);
stage_table *fresh__stage_table_create(long bracket, int stage, long quota);
void fresh__stage_table_destroy(stage_table *st);
int fresh__stage_table_report(stage_table *st, double step, double loss);
/* Takes back one loss recorded at step (a report of an interrupted run that
 * will run again); nothing if it is not among the kept losses. */
void fresh__stage_table_forget(stage_table *st, double step, double loss);
/* Resets an interrupted trial to its state at ask, for a new run: drops its
 * reports (taking them back from the stage table), loss, failure, stop
 * flags and saved checkpoint. Owner thread, trial not running. */
void fresh__trial_reset(fresh_trial *t);

/* ---- evaluation in another process (libfresh_mpi, mpi/) ----
 * Exported for libfresh_mpi only; not part of the public API. The process
 * that owns the study drives it with ask/tell and these hooks; the other
 * processes build stand-alone trials (no study) whose reports ask it for
 * the stop decision. */

/* A zeroed trial from fresh__malloc (free with fresh__trial_release), or
 * NULL. Its caller fills space, x, budget, ids and `remote`. */
FRESH_API fresh_trial *fresh__trial_new(void);
FRESH_API void fresh__trial_release(fresh_trial *t);
/* Starts t's time-limit clock (deadline = now + job_time_limit). */
FRESH_API void fresh__trial_start_clock(fresh_trial *t);

/* The stop decision for a report of t at (step, loss), as
 * fresh_trial_report takes it (time limit, study stopping, the stage's
 * early-stopping table), without recording the report: STOP_* bits, 0 to
 * go on. Owner thread of t's study. */
FRESH_API unsigned fresh__trial_decide(fresh_trial *t, double step, double loss);

/* What a job run elsewhere did, copied onto the owner's trial before tell. */
typedef struct fresh__remote_outcome {
    int rc;                 /* the objective's return value */
    int failed;             /* fresh_trial_fail or a bad report there */
    const char *message;
    int has_loss;
    double loss;
    unsigned stop;          /* STOP_* bits the job saw */
    size_t n_rep;
    const double *steps, *losses;
    int ckpt_saved;
    const void *ckpt;
    size_t ckpt_len;
    double run_seconds;     /* the objective's run time, measured there */
    int worker;             /* recorded as the job's worker (the rank) */
} fresh__remote_outcome;

/* Copies *o onto t (an outstanding trial of its study; reports appended,
 * times: ends now, started run_seconds earlier). FRESH_OK or FRESH_ENOMEM
 * (t unchanged but for the reports appended so far). */
FRESH_API int fresh__trial_apply_remote(fresh_trial *t, const fresh__remote_outcome *o);

/* optimize()'s bookkeeping around a driver that is not the pool: can_run
 * checks what optimize checks (snapshot, outstanding asks, already running:
 * FRESH_ESTATE with the message); begin checks it too and starts the wall
 * clock with `workers` workers; end stops it. */
FRESH_API int fresh__study_can_run(fresh_study *s);
FRESH_API int fresh__study_run_begin(fresh_study *s, size_t workers);
FRESH_API void fresh__study_run_end(fresh_study *s);
/* The stopping criterion that holds now (FRESH_STOPPED, ..._REACHED,
 * FRESH_BRACKETS_DONE) or 0; jobs requeued by a resume that ask has not
 * handed out yet; asks every outstanding job to stop (STOP_STUDY). */
FRESH_API int fresh__study_ending(fresh_study *s);
FRESH_API size_t fresh__study_requeued(const fresh_study *s);
FRESH_API void fresh__study_stop_running(fresh_study *s);
/* The study's space; sets the study's message and returns rc. */
FRESH_API const fresh_space *fresh__study_space(const fresh_study *s);
FRESH_API int fresh__study_error(fresh_study *s, int rc, const char *msg);

#endif
