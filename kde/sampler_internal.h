/*
 * sampler_internal.h - what the samplers in kde/ share, and the hooks the
 * unit tests use to look inside the BOHB sampler; never installed.
 */
#ifndef FRESH_SAMPLER_INTERNAL_H
#define FRESH_SAMPLER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "fresh/sampler.h"

/* Tries to find a configuration that is not a duplicate: up to
 * FRESH__DUPLICATE_TRIES uniform draws (fresh_space_sample), stopping at the
 * first that ctx->is_duplicate rejects not (ctx or is_duplicate may be NULL).
 * When every draw is a duplicate the last one is kept: the space is then
 * nearly exhausted within the bracket, and re-running a configuration is
 * better than stopping the study. FRESH_OK, or fresh_space_sample's error. */
#define FRESH__DUPLICATE_TRIES 100
int fresh__sampler_random_draw(const fresh_space *space, const fresh_propose_ctx *ctx,
                               gsl_rng *rng, double *x);

/* Rows of the good set, and of the bad set, that the BOHB sampler's KDEs
 * hold at most: a larger set is thinned to this many evenly spaced ranks
 * (the best row always among them), which bounds the work per proposal
 * (sampler_bohb.c, docs/algorithms.md "Cost"). */
#ifndef FRESH__BOHB_MAX_ROWS /* -D for experiments with other bounds */
#define FRESH__BOHB_MAX_ROWS 256
#endif
#ifndef FRESH__BOHB_MAX_BAD_ROWS /* the bad set's own bound */
#define FRESH__BOHB_MAX_BAD_ROWS FRESH__BOHB_MAX_ROWS
#endif

/* Under asynchronous promotions (fresh_propose_ctx.async_promotions) a
 * budget above the lowest carries the model only with at least this many
 * times min_points observations (sampler_bohb.c, "Asynchronous
 * promotions"). */
#ifndef FRESH__BOHB_ASYNC_POINTS_FACTOR
#define FRESH__BOHB_ASYNC_POINTS_FACTOR 5
#endif

/* The BOHB good/bad split (see sampler_bohb.c): with N observations on one
 * budget, returns 1 and the set sizes when the budget can carry a model
 * (N >= min_points; the sets overlap while N < n_good + min_points), else 0
 * and zero sizes. */
int fresh__bohb_split(size_t n_obs, double top_n_percent, size_t min_points, size_t *n_good,
                      size_t *n_bad);

/* The model the BOHB sampler would use for a proposal with this ctx (it is
 * fitted, as propose would): test and diagnostics hook. */
typedef struct fresh__bohb_model {
    int available;        /* 0: no budget has enough points (random search) */
    double budget;        /* the model budget */
    size_t n_obs;         /* observations on that budget */
    size_t n_good, n_bad; /* split; n_bad excludes the pending points */
    size_t good_rows, bad_rows; /* rows of each set in its KDE: all of them up to
                                   FRESH__BOHB_MAX_ROWS, then evenly spaced ranks */
    size_t n_pending;     /* constant-liar points added to the bad KDE */
    size_t n_held;        /* held-back configurations added to the bad KDE
                             (fresh_propose_ctx.async_promotions) */
    double good_max_loss; /* worst loss in the good set */
    double bad_min_loss;  /* best loss in the bad set */
    double bad_max_loss;  /* worst loss in the bad set (+inf if one failed) */
    double last_score;    /* log l - log g of the last model-based proposal (NaN if none) */
    size_t min_points;    /* min_points_in_model in force */
} fresh__bohb_model;

int fresh__bohb_inspect(void *state, const fresh_propose_ctx *ctx, fresh__bohb_model *info);

/* Observations stored at this budget (0 if the budget is unknown). */
size_t fresh__bohb_count(const void *state, double budget);

/* The BOHB hedge for a proposal with this ctx: *hedge = 1 if it would be
 * random, with the unselected pairs (budget ctx->budget against
 * ctx->max_budget) and their Kendall tau (NaN when not computed). FRESH_OK,
 * FRESH_EINVAL or FRESH_ENOMEM. */
int fresh__bohb_hedge(void *state, const fresh_propose_ctx *ctx, int *hedge, size_t *n_pairs,
                      double *tau);

/* Test hook: with on = 0 the sampler scores every candidate exactly
 * (fresh__kde_use_screen(k, 0) on both KDEs) instead of screening them in
 * single precision first; proposals must not change. FRESH_OK or
 * FRESH_EINVAL. */
int fresh__bohb_use_screen(void *state, int on);

/* The observations the BOHB sampler keeps at its i-th budget (ascending,
 * i < fresh__bohb_n_budgets): rows in the unit encoding (n x d), losses
 * (+inf for failed jobs), and a version that changes whenever the rows do.
 * Borrowed until the next observe. FRESH_OK or FRESH_EINVAL. The GP
 * sampler fits its model on these. */
typedef struct fresh__bohb_rows {
    double budget;
    size_t n;
    const double *u;
    const double *loss;
    const uint64_t *id; /* configuration ids (one row per id) */
    unsigned long version;
} fresh__bohb_rows;
size_t fresh__bohb_n_budgets(const void *state);
int fresh__bohb_rows_at(const void *state, size_t i, fresh__bohb_rows *rows);

/* The good (l) and bad (g) densities at x (value space) of the model the
 * last inspect or propose fitted. FRESH_ESTATE when there is none. */
int fresh__bohb_densities(void *state, const double *x, double *log_l, double *log_g);

#endif
