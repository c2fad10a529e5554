/*
 * fresh/scheduler.h - schedulers decide *when* and *at what budget*.
 *
 * A scheduler is a type table (as gsl_multimin_fminimizer_type). It owns the
 * bracket and stage state and knows configurations only by id; the study
 * draws new configurations from the sampler when the scheduler asks for one.
 * Schedulers never call samplers. Everything runs on the owner thread.
 *
 * Built in (all on the Hyperband plan of fresh/plan.h):
 *   hyperband  brackets k = 0, 1, ..., s_max, 0, 1, ... (Li et al. 2018)
 *   sh         successive halving: every bracket is the most exploratory one
 *   none       every configuration runs once at the maximum budget (s = 0
 *              brackets): plain sampler, full-budget Bayesian optimization
 *   adaptive   Hyperband that skips brackets whose first budget has proven
 *              unreliable: before opening bracket k < s_max it measures
 *              Kendall's tau between the losses at that bracket's first rung
 *              and at the maximum budget, over configurations that ran from
 *              scratch to the maximum budget and reported at the rung
 *              (unselected pairs) and that the sampler drew at random
 *              (model-chosen ones are a biased sample: concentrated, they
 *              differ by little more than the noise); with at least FRESH_ADAPTIVE_MIN_PAIRS
 *              pairs and tau below FRESH_ADAPTIVE_MIN_TAU the bracket is
 *              skipped. With benign fidelities it is Hyperband; with
 *              misleading ones it moves toward full-budget search.
 *   asha       asynchronous successive halving (Li et al., MLSys 2020,
 *              promotion variant): rungs min_budget * eta^i up to
 *              max_budget; a free worker promotes, from the top rung
 *              down, the best configuration of a rung that is among the
 *              top floor(n / eta) of the n results there and not promoted
 *              yet, while fewer than floor(n / eta) were promoted from the
 *              rung (fresh's cap; fresh_sched_options.paper_promotions
 *              drops it) (it continues from its checkpoint at that rung's
 *              budget), else starts a new configuration at the bottom
 *              rung. Never FRESH_WAIT while it may open brackets.
 *   async-hyperband
 *              one ASHA ladder per Hyperband bracket (ladder k starts at
 *              bracket k's first budget); new configurations are dealt to
 *              the ladders by a smooth weighted round robin with weights
 *              n_0 of the brackets, the synchronous plan's proportions.
 *   async-adaptive
 *              async-hyperband whose round robin leaves out ladder k <
 *              s_max while its first rung is unreliable by the adaptive
 *              rule above (unselected pairs from the ladders' jobs that
 *              ran from scratch and reported at lower rungs).
 *
 * The asynchronous schedulers count "brackets" as groups of new
 * configurations, each as large as the first stage of its ladder's
 * synchronous bracket (n_0), numbered in the order opened: job.bracket is
 * the configuration's group, job.stage its rung on its ladder, job.slot the
 * scheduler's index of the configuration, quota and stage_size those of the
 * synchronous stage (so the study's early stopping acts per group and rung
 * as in a Hyperband stage). A group is finished when each of its n_0
 * configurations reached its ladder's top rung or failed. With open_new = 0
 * they go on promoting and filling open groups; they answer FRESH_WAIT while
 * jobs run and nothing can start, FRESH_DONE once none runs. Promotions rank
 * all results of a rung, whatever their group; they are never undone.
 */
#ifndef FRESH_SCHEDULER_H
#define FRESH_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include "fresh/export.h"
#include "fresh/plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The adaptive scheduler's rule (see the top of this file): pairs needed
 * before a bracket can be skipped, and the Kendall's tau below which it is.
 * Pairs come from reports at rung budgets (fresh/trial.h). */
#define FRESH_ADAPTIVE_MIN_PAIRS 10
#define FRESH_ADAPTIVE_MIN_TAU 0.8

/* config_id of a job whose configuration the study must draw anew. */
#define FRESH_SCHED_NEW UINT64_MAX

typedef struct fresh_sched_job {
    uint64_t config_id;  /* FRESH_SCHED_NEW, or the configuration promoted */
    long bracket;        /* bracket number, 0, 1, ... in the order opened */
    int stage;           /* stage within the bracket */
    size_t slot;         /* position within the stage */
    double budget;       /* budget to train up to */
    double resume_from;  /* budget this configuration already reached (0 if new) */
    long quota;          /* how many of this stage are promoted (0: last stage) */
    long stage_size;     /* how many jobs the stage has */
} fresh_sched_job;

/* Options of the asynchronous schedulers (fresh_scheduler_type.set_options;
 * the study passes its max_paused and paper_promotions). */
typedef struct fresh_sched_options {
    /* At most this many unpromoted results per rung stay eligible for
     * promotion; when a result makes it max_paused + 1, the one that ranks
     * last of them is retired: its configuration can run no more. The
     * eligible ones are promoted exactly as without the limit (retired
     * results rank below them, so no rank changes). A group still ends only
     * when each of its configurations reached the top rung or failed.
     * 0 = no limit. */
    size_t max_paused;
    /* 0 (fresh's rule): a rung promotes its best unpromoted result when it
     * is among the top floor(n_i / eta) of the rung's n_i results and fewer
     * than floor(n_i / eta) were promoted from the rung. 1: the rule of Li
     * et al. as published, without the second condition: a result that
     * arrives late and ranks above earlier promotions is promoted too, so a
     * rung may promote many more than 1/eta of its results (it does when a
     * model's proposals improve; docs/algorithms.md). */
    int paper_promotions;
} fresh_sched_options;

typedef struct fresh_scheduler_type {
    const char *name;
    size_t state_size;
    /* Prepares zeroed state. plan is borrowed and outlives the state. */
    int (*init)(void *state, const fresh_plan *plan, char *errmsg);
    void (*destroy)(void *state);
    /* The next job: FRESH_OK (job filled), or FRESH_WAIT when every open
     * bracket waits at a stage barrier and open_new is 0 (FRESH_DONE when no
     * bracket is open either). With open_new = 1 a new bracket is opened
     * rather than waiting. FRESH_ENOMEM. */
    int (*next)(void *state, int open_new, fresh_sched_job *job);
    /* Binds the configuration drawn for a FRESH_SCHED_NEW job. */
    int (*bind)(void *state, const fresh_sched_job *job, uint64_t config_id);
    /* A job ended. loss: +INFINITY for failed; completed: 1 if it reached its
     * budget, 0 if stopped early (it then ranks after every completed job).
     * rung_losses (may be NULL): the job's reported loss at each rung budget
     * of the plan (fresh_plan_rungs order, NaN where none), the final loss
     * included; the study passes them only for configurations the sampler
     * drew at random (not chosen by its model), so that the adaptive
     * policy measures the fidelity on an unbiased sample. When a stage is complete its best (completed, loss, config
     * id) are promoted; failed ones never are, so a stage may shrink. */
    int (*finish)(void *state, const fresh_sched_job *job, double loss, int completed,
                  const double *rung_losses);
    /* Brackets opened so far and brackets finished. */
    long (*n_opened)(const void *state);
    long (*n_finished)(const void *state);
    /* 1 if promotions do not wait for a stage to complete (asha,
     * async-hyperband, async-adaptive): the study then tells the sampler
     * (fresh_propose_ctx.async_promotions). 0 for the synchronous ones;
     * initialisers that stop at n_finished leave it 0. */
    int asynchronous;
    /* Optional (NULL: no options; the asynchronous schedulers offer it).
     * The study calls it once, after init and before the first next(), with
     * its max_paused and paper_promotions (fresh_sched_options; the
     * defaults, all 0, are those of a state that was never given options).
     * options is borrowed for the call. FRESH_OK; FRESH_EINVAL for NULL or
     * after the first next(). */
    int (*set_options)(void *state, const fresh_sched_options *options);
    /* Optional (NULL: the study knows only finished brackets). 1 if the
     * configuration of `job` (its latest job; config_id, bracket and slot
     * are read) is not running and can run no more: it reached its
     * ladder's top rung, failed, or was retired; 0 otherwise, and for a
     * job this scheduler does not know. */
    int (*config_final)(const void *state, const fresh_sched_job *job);
} fresh_scheduler_type;

FRESH_API extern const fresh_scheduler_type *const fresh_scheduler_hyperband;
FRESH_API extern const fresh_scheduler_type *const fresh_scheduler_sh;
FRESH_API extern const fresh_scheduler_type *const fresh_scheduler_none;
FRESH_API extern const fresh_scheduler_type *const fresh_scheduler_adaptive;
FRESH_API extern const fresh_scheduler_type *const fresh_scheduler_asha;
FRESH_API extern const fresh_scheduler_type *const fresh_scheduler_async_hyperband;
FRESH_API extern const fresh_scheduler_type *const fresh_scheduler_async_adaptive;

/* By name: "adaptive", "hyperband", "sh" (or "successive_halving"),
 * "none", "asha", "async-hyperband", "async-adaptive"; NULL if unknown. Thread safety: any thread. */
FRESH_API const fresh_scheduler_type *fresh_scheduler_find(const char *name);

/* The i-th name fresh_scheduler_find accepts (i = 0, 1, ...; aliases
 * included), NULL past the last: for listing the valid names in a message
 * or a help text. Static strings. Thread safety: any thread. */
FRESH_API const char *fresh_scheduler_name(size_t i);

#ifdef __cplusplus
}
#endif
#endif
