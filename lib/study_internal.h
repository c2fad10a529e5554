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
};

/* trial.c */
int fresh__trial_init(fresh_trial *t);
void fresh__trial_release(fresh_trial *t);
void fresh__trial_start_clock(fresh_trial *t);
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

#endif
