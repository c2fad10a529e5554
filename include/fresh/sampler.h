/*
 * fresh/sampler.h - samplers decide *which configuration* runs next.
 *
 * A sampler is a type table (as gsl_multimin_fminimizer_type): a name, the
 * size of its state and function pointers. The study owns the state, feeds it
 * every observation (final results and intermediate reports at rung budgets,
 * from every budget) and asks it for new configurations. Samplers never call
 * schedulers; they run on the study's owner thread only.
 *
 * Configurations are in value space (see fresh/space.h).
 */
#ifndef FRESH_SAMPLER_H
#define FRESH_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "fresh/export.h"
#include "fresh/space.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most candidates a proposal may draw (num_samples): a study refuses more
 * (FRESH_EINVAL), since one proposal would then outlast any wall-time limit. */
#define FRESH_MAX_NUM_SAMPLES 100000

/* Settings of the model-based samplers (BOHB / TPE). Defaults as in
 * Falkner et al. 2018 except bandwidth_factor and bandwidth_floor, and the
 * hedge, which is fresh's (fresh_sampler_params_default; docs/algorithms.md
 * gives the measurements). */
typedef struct fresh_sampler_params {
    double random_fraction;     /* share of proposals drawn at random: 1/3 */
    size_t num_samples;         /* candidates drawn per proposal: 64
                                   (1..FRESH_MAX_NUM_SAMPLES) */
    double top_n_percent;       /* share of observations called good: 15 */
    double bandwidth_factor;    /* widening of the good KDE when sampling: 1
                                   (the paper's 3 predates bandwidth_floor) */
    double min_bandwidth;       /* lower bound on every bandwidth: 1e-3 */
    size_t min_points_in_model; /* 0 means d + 1 */
    double bandwidth_floor;     /* continuous bandwidths >= this / min(100, n + 1)
                                   for a KDE of n points (Optuna's "magic clip");
                                   1 by default, 0 = off (HpBandSter) */
    double hedge_tau;           /* misleading-fidelity hedge: a bracket of the
                                   upper half (first budget b with
                                   sqrt(min * max) <= b < max) gets random
                                   configurations until budget b has ranked
                                   FRESH_HEDGE_MIN_PAIRS unselected configurations
                                   like the max budget, with Kendall's tau >=
                                   hedge_tau: 0.8 by default; < -1 = off.
                                   Pairs come from reports at rung budgets: an
                                   objective that never reports keeps the upper
                                   half random */
} fresh_sampler_params;

/* Unselected (loss at b, loss at the max budget) pairs a budget b needs
 * before the hedge trusts it (see hedge_tau). */
#define FRESH_HEDGE_MIN_PAIRS 10

/* Fills *p with the defaults above. Thread safety: any thread. */
FRESH_API void fresh_sampler_params_default(fresh_sampler_params *p);

/* What a proposal was (fresh_sampler_type.propose's *model_based). */
enum fresh_proposal_kind {
    FRESH_PROPOSAL_RANDOM = 0, /* random_fraction, or no model yet */
    FRESH_PROPOSAL_MODEL = 1,  /* the model chose it */
    FRESH_PROPOSAL_HEDGE = 2   /* random: the bracket's first budget has not
                                  ranked like the max budget (hedge_tau) */
};

/* One observation: configuration x (borrowed for the call; the sampler copies
 * what it keeps) evaluated at budget with loss (+INFINITY for a failed job).
 * resume_from is the budget the job that produced it started from: 0 when
 * the job ran from scratch, so that its reports at budgets below `budget`
 * were not chosen by a promotion (the study feeds a job's reports in
 * increasing budget, then its final result, one job at a time). */
typedef struct fresh_observation {
    uint64_t config_id;
    const double *x;
    double budget;
    double loss;
    double resume_from;
} fresh_observation;

/* What the study knows when it asks for a configuration. Callers that
 * initialise it positionally and leave min_budget / max_budget at 0 turn the
 * BOHB hedge off (the budget range is unknown). */
typedef struct fresh_propose_ctx {
    double budget;                /* budget the configuration first runs at */
    const double *const *pending; /* configurations queued or running now */
    size_t n_pending;
    /* 1 if x is already in the current bracket (do not propose it again) */
    int (*is_duplicate)(void *arg, const double *x);
    void *dup_arg;
    double min_budget, max_budget; /* the study's budget range */
    /* 1 when the scheduler promotes asynchronously
     * (fresh_scheduler_type.asynchronous: asha, async-hyperband,
     * async-adaptive). A budget above a configuration's first then holds
     * only configurations promoted to it, the best of the budgets below,
     * while the rest are held back there; a model of such a budget must
     * count the held-back configurations among its bad ones, or its "bad"
     * set is the good region and it steers proposals away from it. BOHB
     * adds a sample of them to its bad density (docs/algorithms.md,
     * "BOHB under asynchronous promotions"). 0 (the synchronous schedulers,
     * and initialisers that stop at max_budget): off. */
    int async_promotions;
} fresh_propose_ctx;

typedef struct fresh_sampler_type {
    const char *name;
    size_t state_size;
    /* Prepares zeroed state (state_size bytes). space is borrowed and outlives
     * the state. On error returns a negative status and writes a message into
     * errmsg (512 bytes). */
    int (*init)(void *state, const fresh_space *space, const fresh_sampler_params *p,
                uint64_t seed, char *errmsg);
    /* Frees what init and later calls allocated (not the state block). */
    void (*destroy)(void *state);
    /* Takes one observation into account. FRESH_OK or FRESH_ENOMEM. */
    int (*observe)(void *state, const fresh_observation *obs);
    /* Writes a new configuration into x (dim values, conditions applied, not
     * forbidden). *model_based = FRESH_PROPOSAL_MODEL (1) if the model chose
     * it, FRESH_PROPOSAL_RANDOM (0) if random, FRESH_PROPOSAL_HEDGE (2) if
     * random because of the BOHB hedge (the study counts any other nonzero
     * value as MODEL). FRESH_OK, FRESH_ENOSAMPLE or FRESH_ENOMEM. */
    int (*propose)(void *state, const fresh_propose_ctx *ctx, gsl_rng *rng,
                   double *x, int *model_based);
} fresh_sampler_type;

/* Uniform random sampling (respects conditions and forbidden clauses; avoids
 * duplicates within the bracket). */
FRESH_API extern const fresh_sampler_type *const fresh_sampler_random;
/* The BOHB model: a TPE over per-budget mixed-type KDEs (kde/). */
FRESH_API extern const fresh_sampler_type *const fresh_sampler_bohb;

/* Bayesian optimization with a Gaussian process (gp/): Matern 5/2 ARD
 * kernel, MAP hyperparameters, log Expected Improvement, on the same
 * per-budget observations as BOHB and with the same random_fraction,
 * min_points_in_model and hedge_tau (docs/algorithms.md). */
FRESH_API extern const fresh_sampler_type *const fresh_sampler_gp;
/* Chooses per proposal between the GP and BOHB's KDE by the space
 * (docs/algorithms.md, "auto"). */
FRESH_API extern const fresh_sampler_type *const fresh_sampler_auto;

/* Looks a sampler up by name ("random", "bohb", "tpe" = bohb, "gp",
 * "auto"); NULL if unknown.
 * Thread safety: any thread. */
FRESH_API const fresh_sampler_type *fresh_sampler_find(const char *name);

/* The i-th name fresh_sampler_find accepts (i = 0, 1, ...; "tpe" is listed
 * as the alias it is), NULL past the last: for listing the valid names in a
 * message or a help text. Static strings. Thread safety: any thread. */
FRESH_API const char *fresh_sampler_name(size_t i);

#ifdef __cplusplus
}
#endif
#endif
