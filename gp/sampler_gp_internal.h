/*
 * sampler_gp_internal.h - the GP sampler's settings and the hooks the unit
 * tests use to look inside it; never installed.
 */
#ifndef FRESH_SAMPLER_GP_INTERNAL_H
#define FRESH_SAMPLER_GP_INTERNAL_H

#include <stddef.h>

#include "fresh/sampler.h"
#include "fresh/space.h"
#include "gp.h"

/* Training rows at most: past this, the best half by loss and the most
 * recent others (docs/algorithms.md has the suggestion times). */
#define FRESH__GP_MAX_TRAIN 200
/* Acquisition search: Sobol candidates, perturbations of each of the best
 * training rows, starts of the local search, its gradient steps. */
#define FRESH__GP_N_SOBOL 512
#define FRESH__GP_N_LOCAL 16
#define FRESH__GP_N_BEST 5
#define FRESH__GP_N_STARTS 5
#define FRESH__GP_LOCAL_STEPS 30
/* Rows the hyperparameters are fitted on at most (a fixed pseudo-random
 * subset of the earliest rows of the model budget). */
#define FRESH__GP_FIT_ROWS 64
/* The refit schedule: the fitting rows may change at every new row up to
 * FRESH__GP_REFIT_ALL rows on the model budget, past it only when the count
 * has grown by FRESH__GP_REFIT_GROWTH (sampler_gp.c, fit_horizon). */
#define FRESH__GP_REFIT_ALL 32
#define FRESH__GP_REFIT_GROWTH 1.1
/* BFGS iterations per hyperparameter fit. */
#define FRESH__GP_FIT_ITER 30
/* "auto" takes the GP for spaces of at most this many parameters. */
#define FRESH__AUTO_MAX_DIM 20

/* The GP model a proposal with this ctx would use (it is fitted, as
 * propose would). */
typedef struct fresh__gp_model {
    int available;      /* 0: no budget has enough points (random search) */
    double budget;      /* the model budget */
    size_t n_obs;       /* observations on that budget */
    size_t n_train;     /* rows the GP was trained on (capped) */
    size_t n_pending;   /* fantasies added for pending configurations */
    long n_refits;      /* hyperparameter fits so far */
    size_t n_screened;  /* candidates screened so far (score_candidates) */
    size_t n_var;       /* of those, variances computed (the others bounded out) */
    double fit_seconds; /* time spent fitting so far */
    double y_mean, y_sd; /* the standardization of the losses */
    fresh__gp *model;   /* borrowed */
} fresh__gp_model;

int fresh__gp_inspect(void *state, const fresh_propose_ctx *ctx, fresh__gp_model *info);

/* The upper bounds on log EI that let the candidate screen and the local
 * search leave out variances that cannot change the proposal
 * (sampler_gp.c, score_candidates, acq_hi): on (1, the default) or off (0:
 * every variance computed, as before issue 15). The proposals are the same
 * either way; for the tests. */
void fresh__gp_use_bound(void *state, int on);

/* Posterior mean and sd of the loss (in loss units) at x (value space)
 * under the last fitted model; FRESH_ESTATE when there is none. */
int fresh__gp_predict_x(void *state, const double *x, double *mean, double *sd);

/* The "auto" rule: 1 if a proposal in this space, with n_obs_model
 * observations on the model budget, goes to the GP, 0 for the KDE. */
int fresh__gp_auto_use_gp(const fresh_space *space, size_t n_obs_model);

#endif
