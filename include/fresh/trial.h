/*
 * fresh/trial.h - what an objective sees: one job of a study.
 *
 * The objective has the signature
 *     int objective(fresh_trial *t, void *user);
 * It reads its configuration by name, trains up to fresh_trial_budget(t)
 * (continuing from fresh_trial_resume_from(t), with the checkpoint saved by
 * the previous job of the same configuration), reports intermediate losses
 * with fresh_trial_report() and stops when that returns 0. The job's loss is
 * the one given to fresh_trial_set_loss(), else the last report. A non-zero
 * return, a NaN or infinite loss, or no loss at all records the job as
 * failed, with a message; the study goes on.
 *
 * Where to report: the study learns from reports made exactly at rung
 * budgets (the budgets of the Hyperband plan, fresh_trial_rung()). The
 * adaptive scheduler (fresh/scheduler.h) and the BOHB hedge (fresh/sampler.h)
 * judge a low budget by how the losses reported there rank against the
 * maximum budget, and the BOHB model takes every report at a rung as an
 * observation. Reports at other steps still drive early stopping, but an
 * objective that never reports at the rungs below its budget leaves the
 * adaptive scheduler without evidence (it then behaves as Hyperband) and
 * keeps the hedge's brackets random. An objective whose natural step is not
 * an epoch (samples, seconds) reports at each rung with
 *     for (double r = fresh_trial_next_rung(t, fresh_trial_resume_from(t));
 *          !isnan(r); r = fresh_trial_next_rung(t, r)) {
 *         train_up_to(r);
 *         if (!fresh_trial_report(t, r, validation_loss()))
 *             break;
 *     }
 * (reporting at more steps in between, for earlier stopping, is fine).
 *
 * A trial is owned by the study. It is valid from fresh_study_ask() (or the
 * call of the objective) until fresh_study_tell() (or the objective's return).
 * Functions marked "inside the objective" may be called from the worker
 * thread that runs it; the trial is not meant to be shared between threads,
 * except fresh_trial_should_stop() and fresh_trial_request_stop(), which are
 * atomic.
 */
#ifndef FRESH_TRIAL_H
#define FRESH_TRIAL_H

#include <stddef.h>
#include <stdint.h>

#include "fresh/export.h"
#include "fresh/space.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fresh_trial fresh_trial;

/* The objective: returns 0 on success, anything else marks the job failed. */
typedef int (*fresh_objective)(fresh_trial *trial, void *user);

/* ---- the configuration ---- */

/* Value of a float or int parameter (ints as exact doubles). NaN when the
 * name is unknown or the parameter is inactive. Thread safety: inside the
 * objective. */
FRESH_API double fresh_trial_float(const fresh_trial *t, const char *name);

/* Value of an int parameter; 0 when unknown or inactive (check with
 * fresh_trial_is_active). Thread safety: inside the objective. */
FRESH_API long fresh_trial_int(const fresh_trial *t, const char *name);

/* Label of a categorical or ordinal parameter (static for the trial's life);
 * NULL when unknown or inactive. Thread safety: inside the objective. */
FRESH_API const char *fresh_trial_categorical(const fresh_trial *t, const char *name);

/* Index of a categorical/ordinal level; FRESH_ENOTFOUND (negative) when
 * unknown or inactive. Thread safety: inside the objective. */
FRESH_API int fresh_trial_categorical_index(const fresh_trial *t, const char *name);

/* 1 if the parameter exists and is active in this configuration, else 0.
 * Thread safety: inside the objective. */
FRESH_API int fresh_trial_is_active(const fresh_trial *t, const char *name);

/* The whole configuration in value space (fresh/space.h); dim values,
 * valid for the trial's life. Thread safety: inside the objective. */
FRESH_API const double *fresh_trial_values(const fresh_trial *t);

/* ---- the job ---- */

/* Budget to train up to. Thread safety: inside the objective. */
FRESH_API double fresh_trial_budget(const fresh_trial *t);

/* Budget this configuration already reached in an earlier job (0 for a new
 * configuration): continue from here with fresh_trial_checkpoint().
 * Thread safety: inside the objective. */
FRESH_API double fresh_trial_resume_from(const fresh_trial *t);

/* The rung budgets of the study's plan: fresh_trial_n_rungs() of them
 * (s_max + 1, fresh/plan.h), fresh_trial_rung(t, i) ascending, from the
 * minimum to the maximum budget; NaN for i out of range. Every job's budget
 * is one of them. Reports at these budgets are the ones the scheduler and
 * the sampler learn from (see the top of this file). Thread safety: inside
 * the objective. */
FRESH_API size_t fresh_trial_n_rungs(const fresh_trial *t);
FRESH_API double fresh_trial_rung(const fresh_trial *t, size_t i);

/* The next rung budget after `step` that this job reaches: the smallest
 * rung r with step < r <= fresh_trial_budget(t) (a rung within a relative
 * 1e-9 of step counts as step itself), or NaN when there is none (step is
 * at or past the job's budget, or NaN). Start from
 * fresh_trial_resume_from(t). Thread safety: inside the objective. */
FRESH_API double fresh_trial_next_rung(const fresh_trial *t, double step);

/* Identifiers: configuration id (0, 1, ... in creation order) and job id.
 * Thread safety: inside the objective. */
FRESH_API uint64_t fresh_trial_config_id(const fresh_trial *t);
FRESH_API uint64_t fresh_trial_job_id(const fresh_trial *t);

/* The worker slot running this job in fresh_study_optimize(): 0 ..
 * workers-1, each slot running one job at a time (so per-slot resources,
 * such as one GPU per slot, are never shared by two running jobs); -1 for a
 * trial from fresh_study_ask() run by the caller. Thread safety: inside the
 * objective. */
FRESH_API int fresh_trial_worker(const fresh_trial *t);

/* The study's seed, for objectives that need their own randomness
 * (combine it with the config id for a reproducible stream).
 * Thread safety: inside the objective. */
FRESH_API uint64_t fresh_trial_seed(const fresh_trial *t);

/* ---- reporting ---- */

/* Most reports one job may make; the next one fails the job (a study file
 * stores 16 bytes per report). */
#define FRESH_MAX_REPORTS 100000

/* Records the loss reached at `step` (a budget between resume_from and
 * budget, e.g. the epoch) and returns 1 to go on or 0 to stop: the job was
 * stopped early (it cannot reach its stage's promotion quota), hit its time
 * limit, or the study is stopping. Steps must increase from one report to
 * the next and lie in resume_from..budget; a step out of order or out of
 * that range, a NaN or infinite loss or step, or a report beyond
 * FRESH_MAX_REPORTS marks the job failed (with a message naming the step)
 * and returns 0. Returns 0 also on out-of-memory (job failed).
 * Thread safety: inside the objective. */
FRESH_API int fresh_trial_report(fresh_trial *t, double step, double loss);

/* 1 if the job has been asked to stop (early stopping, time limit, study
 * stopping). Atomic. Thread safety: any thread. */
FRESH_API int fresh_trial_should_stop(const fresh_trial *t);

/* Sets the job's final loss (overrides the last report). NaN or infinite
 * marks it failed. Thread safety: inside the objective. */
FRESH_API void fresh_trial_set_loss(fresh_trial *t, double loss);

/* Marks the job failed with a message (copied, truncated to 255 bytes).
 * Thread safety: inside the objective. */
FRESH_API void fresh_trial_fail(fresh_trial *t, const char *message);

/* ---- checkpoints ---- */

/* Largest checkpoint, in bytes (512 MiB): SQLite stores at most about
 * 1 GB in one value, and a study file must be able to store every
 * checkpoint it accepts. */
#define FRESH_MAX_CHECKPOINT_BYTES ((size_t)512 * 1024 * 1024)

/* Stores an opaque blob (copied) for this configuration, replacing any
 * earlier one when the job ends; the next job of the configuration reads it
 * back with fresh_trial_checkpoint(). FRESH_OK, FRESH_EINVAL (NULL with
 * len > 0, or len > FRESH_MAX_CHECKPOINT_BYTES: nothing is saved, the job
 * goes on; keep larger state in a file of your own and checkpoint its
 * name), FRESH_ENOMEM. Thread safety: inside the objective. */
FRESH_API int fresh_trial_save_checkpoint(fresh_trial *t, const void *buf, size_t len);

/* The checkpoint saved by the previous job of this configuration, or NULL
 * (and *len = 0) if none. len may be NULL when the caller does not need the
 * length (a blob that records its own size). Owned by the study; valid for
 * the trial's life. Thread safety: inside the objective. */
FRESH_API const void *fresh_trial_checkpoint(const fresh_trial *t, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
