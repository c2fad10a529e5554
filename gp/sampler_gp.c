/*
 * sampler_gp.c - Bayesian optimization with a Gaussian process inside
 * Hyperband's brackets: the samplers "gp" and "auto".
 *
 * DESIGN.
 * Observations and model budget: as the BOHB sampler (kde/sampler_bohb.c).
 * Every observation is kept per budget, from every budget; a failed job's
 * loss is +inf; the same configuration reported again at the same budget
 * replaces its loss. The model is fitted on the largest budget with at
 * least min_points_in_model observations (default d + 1) of which two are
 * finite. Every observation is also fed to an inner BOHB sampler, which
 * gives the misleading-fidelity hedge (fresh__bohb_hedge, the same rule and
 * the same hedge_tau as BOHB) and, for "auto", the KDE model.
 *
 * Training set: the model budget's rows, at most FRESH__GP_MAX_TRAIN: past
 * that size the best half by loss and the most recently created (largest
 * config ids) of the others (so a
 * proposal costs the same at 1,000 or 100,000 observations). Failed rows
 * take the worst finite loss; targets are standardized (mean 0, sd 1).
 * Encoding: the unit encoding of fresh_space_encode, ordinals rescaled to
 * index / (c - 1) in [0, 1], categoricals by Hamming distance, inactive
 * values NaN (a level of their own in the kernel, never a default).
 * Integers are continuous in the model and exact in every proposal: each
 * candidate is decoded (rounded to its grid) and re-encoded before it is
 * scored.
 *
 * Hyperparameters (gp/gp.c): MAP by BFGS from the priors' means on a fixed
 * pseudo-random subset of FRESH__GP_FIT_ROWS training rows, refitted only
 * when that subset changes; otherwise only the Cholesky factor is
 * recomputed. No warm start: the model must be a function of the set of
 * observations (rows in config-id order), so that a resumed study proposes
 * what the uninterrupted one did (see fit_model).
 *
 * Pending jobs (parallel workers): "Kriging believer" fantasies. Each
 * configuration pending in the study is added to the training set with the
 * posterior mean as its target, without refitting: the mean is unchanged,
 * the variance around a pending point collapses, and so does its EI, so
 * parallel workers are sent to different places.
 *
 * Proposal. One uniform draw decides random vs model as in BOHB (with
 * probability random_fraction, or without a model: a uniform random
 * configuration; the first proposals are this initial design). The hedge
 * may make it random. Otherwise log EI (gp.h) over the model budget's best
 * standardized loss is maximized: FRESH__GP_N_SOBOL candidates from a
 * randomly shifted Sobol sequence (gsl_qrng_sobol; Halton past 40
 * dimensions) plus FRESH__GP_N_LOCAL perturbations of each of the best
 * training rows; the FRESH__GP_N_STARTS best distinct ones are improved by
 * local search: projected gradient steps on the continuous dimensions of the
 * relaxed point (integers unrounded), then neighbour moves (every other
 * level of a categorical, +-1 for an integer or an ordinal) on the exact
 * point. Forbidden configurations and duplicates within the bracket
 * (ctx->is_duplicate) are never proposed; if no candidate survives, the
 * proposal is random.
 *
 * "auto": the same sampler, which hands a proposal to the inner BOHB
 * sampler instead when fresh__gp_auto_use_gp says so (see there).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_qrng.h>
#include <gsl/gsl_randist.h>

#include "fresh/sampler.h"
#include "fresh/space.h"
#include "fresh/status.h"
#include "gp.h"
#include "internal.h"
#include "sampler_gp_internal.h"
#include "sampler_internal.h"

enum kind { K_CONT = 0, K_INT = 1, K_CAT = 2, K_ORD = 3 };

typedef fresh__rank_item cand; /* .loss: the score, lower is better */

typedef struct gp_state {
    const fresh_space *space;
    size_t d;
    fresh_sampler_params p;
    size_t min_points;
    int is_auto;
    unsigned char *kind; /* d */
    size_t *levels;      /* d: levels of categorical / ordinal */
    void *bohb;          /* inner BOHB sampler: the observations, the hedge, the KDE for auto */
    fresh__gp *gp;
    /* the fitted model */
    int fit_valid;
    double fit_budget;
    unsigned long fit_version;
    size_t n_train;          /* training rows now */
    size_t n_fit;            /* rows the hyperparameters are fitted on */
    uint64_t fit_key;        /* hash of those rows (ids and targets) */
    uint64_t theta_key;      /* the fit_key theta was fitted for */
    int theta_valid;
    size_t fit_pending;      /* fantasies in the GP's data now */
    double y_mean, y_sd, best;
    long n_refits;
    double fit_seconds;
    /* buffers */
    double *Xt, *yt;  /* training rows (+ pending) */
    size_t cap_x, cap_y;
    double *Xf, *yf;  /* the rows theta is fitted on */
    size_t cap_xf, cap_yf;
    struct row_key *keys, *keys2;
    size_t keys_cap, keys2_cap;
    cand *rank;
    size_t rank_cap;
    double *cu, *cufull, *cmean, *cvar; /* candidates: N_CAND x d, N_CAND x d, N_CAND, N_CAND */
    cand *cscore, *corder; /* N_CAND each: the scores; the candidates by their bound */
    size_t n_screened, n_var; /* candidates screened, variances computed (fresh__gp_inspect) */
    int no_bound;             /* fresh__gp_use_bound(state, 0): every variance computed */
    double *x, *u, *ufull, *ubest, *xbest, *g1, *g2, *grad, *utry; /* d each */
    double *th_a, *th_b; /* d + 2 each */
    gsl_qrng *q;
} gp_state;

#define N_CAND (FRESH__GP_N_SOBOL + FRESH__GP_N_LOCAL * FRESH__GP_N_BEST)

/* ---- init / destroy ---- */

static void gp_destroy(void *state)
{
    gp_state *s = state;
    if (!s)
        return;
    if (s->bohb) {
        fresh_sampler_bohb->destroy(s->bohb);
        fresh__free(s->bohb);
    }
    fresh__gp_destroy(s->gp);
    fresh__free(s->kind);
    fresh__free(s->levels);
    fresh__free(s->Xt);
    fresh__free(s->yt);
    fresh__free(s->Xf);
    fresh__free(s->yf);
    fresh__free(s->keys);
    fresh__free(s->keys2);
    fresh__free(s->rank);
    fresh__free(s->cu);
    fresh__free(s->cufull);
    fresh__free(s->cmean);
    fresh__free(s->cvar);
    fresh__free(s->cscore);
    fresh__free(s->corder);
    double **v[] = {&s->x, &s->u, &s->ufull, &s->ubest, &s->xbest, &s->g1, &s->g2, &s->grad, &s->utry};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        fresh__free(*v[i]);
    fresh__free(s->th_a);
    fresh__free(s->th_b);
    if (s->q)
        gsl_qrng_free(s->q);
    memset(s, 0, sizeof *s);
}

static int init_common(void *state, const fresh_space *space, const fresh_sampler_params *p,
                       uint64_t seed, char *errmsg, int is_auto)
{
    const char *name = is_auto ? "auto" : "gp";
    gp_state *s = state;
    if (!s || !space) {
        if (errmsg)
            fresh__set_err(errmsg, FRESH_EINVAL, "sampler '%s': %s is NULL", name,
                           s ? "space" : "state");
        return FRESH_EINVAL;
    }
    memset(s, 0, sizeof *s);
    fresh_sampler_params def;
    fresh_sampler_params_default(&def);
    if (!p)
        p = &def;
    /* the inner BOHB sampler validates the shared parameters */
    int rc = FRESH_ENOMEM;
    s->bohb = fresh__calloc(1, fresh_sampler_bohb->state_size);
    if (!s->bohb)
        goto fail;
    rc = fresh_sampler_bohb->init(s->bohb, space, p, seed, errmsg);
    if (rc != FRESH_OK) {
        fresh__free(s->bohb);
        s->bohb = NULL;
        gp_destroy(s);
        if (errmsg) {
            char inner[FRESH__ERRMSG_LEN];
            memcpy(inner, errmsg, sizeof inner);
            inner[sizeof inner - 1] = '\0';
            const char *msg = strncmp(inner, "sampler 'bohb': ", 16) ? inner : inner + 16;
            fresh__set_err(errmsg, rc, "sampler '%s': %s", name, msg);
        }
        return rc;
    }
    size_t d = fresh_space_dim(space);
    s->space = space;
    s->d = d;
    s->p = *p;
    s->is_auto = is_auto;
    s->min_points = p->min_points_in_model ? p->min_points_in_model : d + 1;
    if (s->min_points < 2)
        s->min_points = 2;
    rc = FRESH_ENOMEM;
    s->kind = fresh__calloc(d, 1);
    s->levels = fresh__calloc(d, sizeof *s->levels);
    unsigned char *is_cat = fresh__calloc(d, 1);
    if (!s->kind || !s->levels || !is_cat) {
        fresh__free(is_cat);
        goto fail;
    }
    for (size_t j = 0; j < d; j++) {
        fresh_param_info info;
        if (fresh_space_param(space, j, &info) != FRESH_OK) {
            fresh__free(is_cat);
            rc = FRESH_EINVAL;
            goto fail;
        }
        s->kind[j] = info.type == FRESH_PARAM_CATEGORICAL ? K_CAT
                     : info.type == FRESH_PARAM_ORDINAL   ? K_ORD
                     : info.type == FRESH_PARAM_INT       ? K_INT
                                                          : K_CONT;
        s->levels[j] = info.n_levels;
        is_cat[j] = s->kind[j] == K_CAT;
    }
    rc = fresh__gp_create(d, is_cat, &s->gp);
    fresh__free(is_cat);
    if (rc != FRESH_OK)
        goto fail;
    rc = FRESH_ENOMEM;
    s->cu = fresh__malloc(N_CAND * d * sizeof(double));
    s->cufull = fresh__malloc(N_CAND * d * sizeof(double));
    s->cmean = fresh__malloc(N_CAND * sizeof(double));
    s->cvar = fresh__malloc(N_CAND * sizeof(double));
    s->cscore = fresh__malloc(N_CAND * sizeof(cand));
    s->corder = fresh__malloc(N_CAND * sizeof(cand));
    if (!s->cu || !s->cufull || !s->cmean || !s->cvar || !s->cscore || !s->corder)
        goto fail;
    double **v[] = {&s->x, &s->u, &s->ufull, &s->ubest, &s->xbest, &s->g1, &s->g2, &s->grad, &s->utry};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (!(*v[i] = fresh__malloc(d * sizeof(double))))
            goto fail;
    s->th_a = fresh__malloc((d + 2) * sizeof(double));
    s->th_b = fresh__malloc((d + 2) * sizeof(double));
    if (!s->th_a || !s->th_b)
        goto fail;
    s->q = gsl_qrng_alloc(d <= 40 ? gsl_qrng_sobol : gsl_qrng_halton, (unsigned)d);
    if (!s->q)
        goto fail;
    s->y_sd = 1.0;
    return FRESH_OK;
fail:
    gp_destroy(s);
    if (errmsg)
        fresh__set_err(errmsg, rc, "sampler '%s': %s", name,
                       rc == FRESH_ENOMEM ? "out of memory" : "cannot read the space");
    return rc;
}

static int gp_init(void *state, const fresh_space *space, const fresh_sampler_params *p,
                   uint64_t seed, char *errmsg)
{
    return init_common(state, space, p, seed, errmsg, 0);
}

static int auto_init(void *state, const fresh_space *space, const fresh_sampler_params *p,
                     uint64_t seed, char *errmsg)
{
    return init_common(state, space, p, seed, errmsg, 1);
}

/* ---- encoding ---- */

/* The unit encoding of u in place -> the model's (ordinals rescaled). */
static void rescale_ordinals(const gp_state *s, double *u)
{
    for (size_t j = 0; j < s->d; j++)
        if (s->kind[j] == K_ORD && !isnan(u[j]))
            u[j] = s->levels[j] > 1 ? u[j] / (double)(s->levels[j] - 1) : 0.0;
}

/* The model's encoding of configuration x (value space). */
static void to_model(const gp_state *s, const double *x, double *u)
{
    fresh_space_encode(s->space, x, u);
    rescale_ordinals(s, u);
}

/* ufull (unit encoding with a value in every dimension) -> the exact
 * configuration x and its model encoding u. */
static void exact(const gp_state *s, const double *ufull, double *x, double *u)
{
    fresh_space_decode(s->space, ufull, x);
    to_model(s, x, u);
}

/* ufull -> the relaxed model encoding: continuous values unrounded,
 * inactive dimensions (as the exact point decides) NaN. */
static void relaxed(const gp_state *s, const double *ufull, double *x, double *u)
{
    exact(s, ufull, x, u);
    for (size_t j = 0; j < s->d; j++)
        if ((s->kind[j] == K_CONT || s->kind[j] == K_INT) && !isnan(u[j]))
            u[j] = ufull[j];
}

/* ---- observations ---- */

static int same_budget(double a, double b)
{
    return a == b || fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

static int gp_observe(void *state, const fresh_observation *obs)
{
    gp_state *s = state;
    if (!s || !s->space)
        return FRESH_EINVAL;
    return fresh_sampler_bohb->observe(s->bohb, obs);
}

/* ---- the model ---- */

/* The model budget's rows: the largest budget with min_points rows, two of
 * them finite. 0 if none. */
static int model_set(gp_state *s, fresh__bohb_rows *o)
{
    for (size_t i = fresh__bohb_n_budgets(s->bohb); i-- > 0;) {
        if (fresh__bohb_rows_at(s->bohb, i, o) != FRESH_OK || o->n < s->min_points)
            continue;
        size_t k = 0;
        for (size_t r = 0; r < o->n && k < 2; r++)
            k += isfinite(o->loss[r]) != 0;
        if (k >= 2)
            return 1;
    }
    return 0;
}

static int grow_train(gp_state *s, size_t n)
{
    if (fresh__grow((void **)&s->Xt, &s->cap_x, n, s->d * sizeof *s->Xt) != FRESH_OK ||
        fresh__grow((void **)&s->yt, &s->cap_y, n, sizeof *s->yt) != FRESH_OK)
        return FRESH_ENOMEM;
    return FRESH_OK;
}

/* A row of the model budget: its loss (+inf if failed), config id, index. */
typedef struct row_key {
    double loss;
    uint64_t id, key;
    size_t row;
} row_key;

/* by (loss, id): the best first */
static int cmp_loss(const void *a, const void *b)
{
    const row_key *x = a, *y = b;
    if (x->loss != y->loss)
        return x->loss < y->loss ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* by key, descending */
static int cmp_key_desc(const void *a, const void *b)
{
    const row_key *x = a, *y = b;
    return (x->key < y->key) - (x->key > y->key);
}

/* by id, ascending: the canonical order of training rows */
static int cmp_id(const void *a, const void *b)
{
    const row_key *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* splitmix64: a fixed pseudo-random key per configuration id */
static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void swap_keys(row_key *a, row_key *b)
{
    row_key t = *a;
    *a = *b;
    *b = t;
}

/* Moves the `take` first of k[0..n) under cmp (a strict total order: the
 * comparators above never tie on distinct rows) into k[0..take), in no
 * particular order: quickselect (Lomuto partitions, median-of-three
 * pivots), O(n) on average, where sorting was O(n log n). The set taken is
 * the one a sort would give, so the rows chosen are unchanged. */
static void select_first(row_key *k, size_t n, size_t take,
                         int (*cmp)(const void *, const void *))
{
    size_t lo = 0, hi = n;
    while (take > lo && take < hi) {
        size_t mid = lo + (hi - lo) / 2, last = hi - 1;
        /* the median of k[lo], k[mid], k[last] to k[last] */
        if (cmp(&k[mid], &k[lo]) < 0)
            swap_keys(&k[mid], &k[lo]);
        if (cmp(&k[last], &k[lo]) < 0)
            swap_keys(&k[last], &k[lo]);
        if (cmp(&k[mid], &k[last]) < 0)
            swap_keys(&k[mid], &k[last]);
        size_t store = lo;
        for (size_t i = lo; i < last; i++)
            if (cmp(&k[i], &k[last]) < 0)
                swap_keys(&k[i], &k[store++]);
        swap_keys(&k[store], &k[last]); /* the pivot, at its rank */
        if (store == take)
            return;
        if (store < take)
            lo = store + 1;
        else
            hi = store;
    }
}

/* Keeps the best `keep / 2` of k[0..n) and, of the others, the keep - keep/2
 * with the largest key; returns the count kept (in k[0..)), sorted by id. */
static size_t select_rows(row_key *k, size_t n, size_t keep)
{
    if (n > keep) {
        size_t best = keep / 2;
        select_first(k, n, best, cmp_loss);
        select_first(k + best, n - best, keep - best, cmp_key_desc);
        n = keep;
    }
    qsort(k, n, sizeof *k, cmp_id);
    return n;
}

/* The number of rows the hyperparameters may see with n rows on the model
 * budget: n itself up to FRESH__GP_REFIT_ALL, past it the largest
 * floor(FRESH__GP_REFIT_ALL * FRESH__GP_REFIT_GROWTH^k) <= n. A function of
 * the count alone, so the fitting rows (fit_rows) change only at these
 * steps and the hyperparameters are refitted about
 * log(n / 32) / log(1.1) times past 32 rows instead of at every new row. */
static size_t fit_horizon(size_t n)
{
    if (n <= FRESH__GP_REFIT_ALL)
        return n;
    double t = FRESH__GP_REFIT_ALL;
    size_t h = FRESH__GP_REFIT_ALL;
    for (;;) {
        t *= FRESH__GP_REFIT_GROWTH;
        if ((size_t)t > n)
            return h;
        if ((size_t)t > h)
            h = (size_t)t;
    }
}

/* The rows the hyperparameters are fitted on, into s->Xf/yf (targets
 * standardized over them, a failed row at their worst finite loss): of the
 * fit_horizon(n) earliest created rows of the model budget (smallest config
 * ids), all up to FRESH__GP_FIT_ROWS, else a fixed pseudo-random subset (the
 * largest keys mix64(id)). A function of the set of rows, not of their
 * arrival order; it changes when the horizon steps or, rarely, when a row
 * with an older id arrives late (a promotion, a parallel worker).
 * s->fit_key hashes the rows' ids and losses. */
static int fit_rows(gp_state *s, const fresh__bohb_rows *o)
{
    size_t d = s->d, n = o->n;
    if (fresh__grow((void **)&s->Xf, &s->cap_xf, FRESH__GP_FIT_ROWS, d * sizeof *s->Xf) != FRESH_OK ||
        fresh__grow((void **)&s->yf, &s->cap_yf, FRESH__GP_FIT_ROWS, sizeof *s->yf) != FRESH_OK ||
        fresh__grow((void **)&s->keys2, &s->keys2_cap, n, sizeof *s->keys2) != FRESH_OK)
        return FRESH_ENOMEM;
    row_key *f = s->keys2;
    for (size_t r = 0; r < n; r++) {
        f[r].loss = o->loss[r];
        f[r].id = o->id[r];
        f[r].key = mix64(o->id[r]);
        f[r].row = r;
    }
    size_t nf = fit_horizon(n);
    select_first(f, n, nf, cmp_id); /* the nf earliest */
    if (nf > FRESH__GP_FIT_ROWS) { /* of those, the rows with the largest keys */
        select_first(f, nf, FRESH__GP_FIT_ROWS, cmp_key_desc);
        nf = FRESH__GP_FIT_ROWS;
    }
    qsort(f, nf, sizeof *f, cmp_id);
    double worst = -INFINITY, sum = 0.0, sq = 0.0;
    size_t n_fin = 0;
    for (size_t i = 0; i < nf; i++)
        if (isfinite(f[i].loss) && f[i].loss > worst)
            worst = f[i].loss;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < nf; i++) {
        memcpy(s->Xf + i * d, o->u + f[i].row * d, d * sizeof(double));
        rescale_ordinals(s, s->Xf + i * d);
        double y = isfinite(f[i].loss) ? f[i].loss : worst;
        n_fin += isfinite(f[i].loss) != 0;
        s->yf[i] = y;
        sum += y;
        uint64_t bits;
        memcpy(&bits, &y, sizeof bits);
        h = mix64(h ^ f[i].id) ^ bits;
    }
    if (n_fin < 2) /* too few to fit: fit on the training rows (never empty) */
        nf = 0;
    double mean = nf ? sum / (double)nf : 0.0;
    for (size_t i = 0; i < nf; i++)
        sq += (s->yf[i] - mean) * (s->yf[i] - mean);
    double sd = nf ? sqrt(sq / (double)nf) : 1.0;
    if (!(sd > 0.0) || !isfinite(sd))
        sd = 1.0;
    for (size_t i = 0; i < nf; i++)
        s->yf[i] = (s->yf[i] - mean) / sd;
    s->n_fit = nf;
    s->fit_key = mix64(h ^ nf);
    return FRESH_OK;
}

/* Builds the training set of o into Xt/yt (standardized): every row, or
 * past FRESH__GP_MAX_TRAIN the best half and the most recently created
 * configurations (largest ids) of the others; rows in id order. Then the
 * rows the hyperparameters are fitted on (fit_rows). Everything here is a
 * function of the set of rows, not of their arrival order. */
static int build_train(gp_state *s, const fresh__bohb_rows *o)
{
    size_t d = s->d, n = o->n;
    if (fresh__grow((void **)&s->keys, &s->keys_cap, n, sizeof *s->keys) != FRESH_OK)
        return FRESH_ENOMEM;
    double worst = -INFINITY;
    for (size_t r = 0; r < n; r++)
        if (isfinite(o->loss[r]) && o->loss[r] > worst)
            worst = o->loss[r];
    if (!isfinite(worst))
        return FRESH_ENOSAMPLE;
    row_key *k = s->keys;
    for (size_t r = 0; r < n; r++) {
        k[r].loss = isfinite(o->loss[r]) ? o->loss[r] : INFINITY;
        k[r].id = k[r].key = o->id[r];
        k[r].row = r;
    }
    size_t m = select_rows(k, n, FRESH__GP_MAX_TRAIN);
    int rc = grow_train(s, m + s->p.num_samples + 1);
    if (rc != FRESH_OK)
        return rc;
    double sum = 0.0, sq = 0.0;
    for (size_t i = 0; i < m; i++) {
        size_t r = k[i].row;
        double *row = s->Xt + i * d;
        memcpy(row, o->u + r * d, d * sizeof(double));
        rescale_ordinals(s, row);
        s->yt[i] = isfinite(o->loss[r]) ? o->loss[r] : worst;
        sum += s->yt[i];
    }
    double mean = sum / (double)m;
    for (size_t i = 0; i < m; i++)
        sq += (s->yt[i] - mean) * (s->yt[i] - mean);
    double sd = sqrt(sq / (double)m);
    if (!(sd > 0.0) || !isfinite(sd))
        sd = 1.0;
    double best = INFINITY;
    for (size_t i = 0; i < m; i++) {
        s->yt[i] = (s->yt[i] - mean) / sd;
        if (s->yt[i] < best)
            best = s->yt[i];
    }
    s->y_mean = mean;
    s->y_sd = sd;
    s->best = best;
    s->n_train = m;
    /* the fitting rows (fit_rows) */
    int rc2 = fit_rows(s, o);
    if (rc2 != FRESH_OK)
        return rc2;
    return FRESH_OK;
}

/* Fits the GP to o: MAP hyperparameters from the priors' means on the
 * fitting rows when they changed, then the factor of every training row.
 * The model is a function of the set of observations alone, not of their
 * order or of when proposals were asked for, so a resumed study proposes
 * what the uninterrupted one did (tests/unit/test_crash.c). */
static int fit_model(gp_state *s, const fresh__bohb_rows *o)
{
    double t0 = fresh__now();
    int rc = build_train(s, o);
    if (rc == FRESH_OK && !(s->theta_valid && s->theta_key == s->fit_key)) {
        size_t k = fresh__gp_n_theta(s->gp), d = s->d;
        for (size_t i = 0; i < k; i++)
            s->th_b[i] = i < d ? FRESH__GP_PRIOR_LOG_L
                         : i == d ? FRESH__GP_PRIOR_LOG_SF2 : FRESH__GP_PRIOR_LOG_SN2;
        s->theta_valid = 0;
        if ((rc = fresh__gp_set_data(s->gp, NULL, NULL, 0)) == FRESH_OK &&
            (rc = fresh__gp_set_theta(s->gp, s->th_b)) == FRESH_OK &&
            (rc = s->n_fit ? fresh__gp_set_data(s->gp, s->Xf, s->yf, s->n_fit)
                           : fresh__gp_set_data(s->gp, s->Xt, s->yt, s->n_train)) == FRESH_OK &&
            (rc = fresh__gp_fit(s->gp, FRESH__GP_FIT_ITER)) == FRESH_OK) {
            s->theta_valid = 1;
            s->theta_key = s->fit_key;
            s->n_refits++;
        }
    }
    if (rc == FRESH_OK)
        rc = fresh__gp_set_data(s->gp, s->Xt, s->yt, s->n_train);
    s->fit_seconds += fresh__now() - t0;
    s->fit_pending = 0;
    return rc;
}

/* Makes sure the GP fits o and the pending points of ctx (fantasies). */
static int prepare(gp_state *s, const fresh__bohb_rows *o, const fresh_propose_ctx *ctx)
{
    int rc;
    size_t n_pending = ctx && ctx->pending ? ctx->n_pending : 0;
    if (n_pending > s->p.num_samples)
        n_pending = s->p.num_samples; /* the most recent are last; keep the first ones */
    if (!(s->fit_valid && same_budget(s->fit_budget, o->budget) && s->fit_version == o->version)) {
        s->fit_valid = 0;
        if ((rc = fit_model(s, o)) != FRESH_OK)
            return rc;
        s->fit_valid = 1;
        s->fit_budget = o->budget;
        s->fit_version = o->version;
    }
    if (n_pending == 0 && s->fit_pending == 0)
        return FRESH_OK;
    size_t d = s->d, m = s->n_train;
    if (s->fit_pending) { /* back to the real rows */
        if ((rc = fresh__gp_set_data(s->gp, s->Xt, s->yt, m)) != FRESH_OK)
            return rc;
        s->fit_pending = 0;
    }
    if (n_pending == 0)
        return FRESH_OK;
    if ((rc = grow_train(s, m + n_pending)) != FRESH_OK)
        return rc;
    for (size_t q = 0; q < n_pending; q++) {
        double *row = s->Xt + (m + q) * d;
        to_model(s, ctx->pending[q], row);
        fresh__gp_predict_mean(s->gp, row, &s->yt[m + q], NULL); /* the mean alone */
    }
    if ((rc = fresh__gp_set_data(s->gp, s->Xt, s->yt, m + n_pending)) != FRESH_OK)
        return rc;
    s->fit_pending = n_pending;
    return FRESH_OK;
}

/* ---- acquisition ---- */

static double acq(const gp_state *s, double mean, double var)
{
    return fresh__gp_log_ei(mean, sqrt(var), s->best, NULL, NULL);
}

static double acq_at(gp_state *s, const double *u)
{
    double mean, var;
    fresh__gp_predict(s->gp, u, &mean, &var, NULL, NULL);
    return acq(s, mean, var);
}

/* An upper bound on log EI at a point of this mean whose variance is at
 * most var_hi (the bound from the nearest training row, gp.h): log EI grows
 * with sigma. var_hi is widened against rounding, by 1e-3 relative plus
 * 1e-6 sf2: the variance computed from the factor would have to be that
 * far off for the bound to fail. */
static double acq_hi(const gp_state *s, double mean, double var_hi)
{
    if (s->no_bound)
        return INFINITY;
    double sf2 = exp(fresh__gp_theta(s->gp)[s->d]);
    return acq(s, mean, fmin(sf2, var_hi * (1.0 + 1e-3) + 1e-6 * sf2));
}

/* 1 if a score bounded by hi cannot exceed t (with a margin of 1e-6
 * relative, far above the rounding of log EI). */
static int below(double hi, double t) { return hi < t - 1e-6 * (1.0 + fabs(t)); }

/* log EI at u if it may exceed t, else -inf: the variance (O(n^2)) only
 * when the bound from the mean and the nearest row does not settle it. The
 * value, when computed, is acq_at's, bit for bit. */
static double acq_above(gp_state *s, const double *u, double t)
{
    double mean, var_hi;
    fresh__gp_predict_mean(s->gp, u, &mean, &var_hi);
    if (below(acq_hi(s, mean, var_hi), t))
        return -INFINITY;
    return acq(s, mean, fresh__gp_predict_var(s->gp));
}

/* Equal model encodings (NaN equal to NaN). */
static int same_row(const double *a, const double *b, size_t d)
{
    size_t j = 0;
    while (j < d && (a[j] == b[j] || (isnan(a[j]) && isnan(b[j]))))
        j++;
    return j == d;
}

/* 1 if x may be proposed. */
static int admissible(const gp_state *s, const fresh_propose_ctx *ctx, const double *x)
{
    if (fresh_space_is_forbidden(s->space, x))
        return 0;
    return !(ctx && ctx->is_duplicate && ctx->is_duplicate(ctx->dup_arg, x));
}

/* Gradient steps on the continuous dimensions of the relaxed point, from
 * ufull (updated in place): a step along the normalized gradient of log EI,
 * 1.5 times longer after a success, half as long after a failure. A trial
 * point costs its mean and the nearest-row bound (O(n d)); its variance (a
 * triangular solve) only when the bound does not already reject the step
 * (acq_hi); the gradients (a second solve) only when the step is taken. */
static void gradient_steps(gp_state *s, double *ufull)
{
    size_t d = s->d;
    double *u = s->u, *x = s->x, *g = s->grad, *dm = s->g1, *dv = s->g2, *ut = s->utry;
    double step = 0.05;
    relaxed(s, ufull, x, u);
    double mean, var, dmu, dsig;
    fresh__gp_predict(s->gp, u, &mean, &var, dm, dv);
    double sig = sqrt(var), f = fresh__gp_log_ei(mean, sig, s->best, &dmu, &dsig);
    int fresh_g = 1; /* g is to be recomputed from dm, dv */
    double norm = 0.0;
    for (int it = 0; it < FRESH__GP_LOCAL_STEPS && step > 1e-4; it++) {
        if (fresh_g) {
            norm = 0.0;
            for (size_t j = 0; j < d; j++) {
                g[j] = 0.0;
                if ((s->kind[j] == K_CONT || s->kind[j] == K_INT) && !isnan(u[j]))
                    g[j] = dmu * dm[j] + dsig * dv[j] / (2.0 * sig);
                norm += g[j] * g[j];
            }
            norm = sqrt(norm);
            fresh_g = 0;
        }
        if (!(norm > 0.0) || !isfinite(norm))
            break;
        memcpy(ut, ufull, d * sizeof *ut);
        for (size_t j = 0; j < d; j++)
            if (g[j] != 0.0)
                ut[j] = fmin(1.0, fmax(0.0, ut[j] + step * g[j] / norm));
        relaxed(s, ut, x, u);
        double m2, v2;
        fresh__gp_predict_mean(s->gp, u, &m2, &v2);
        if (below(acq_hi(s, m2, v2), f)) { /* cannot be taken: no variance needed */
            step *= 0.5;
            continue;
        }
        v2 = fresh__gp_predict_var(s->gp);
        double s2 = sqrt(v2), d_mu2, d_sig2, f2 = fresh__gp_log_ei(m2, s2, s->best, &d_mu2, &d_sig2);
        if (f2 > f) {
            fresh__gp_predict_grad(s->gp, u, dm, dv);
            memcpy(ufull, ut, d * sizeof *ut);
            f = f2;
            sig = s2;
            dmu = d_mu2;
            dsig = d_sig2;
            fresh_g = 1;
            step *= 1.5;
        } else {
            step *= 0.5;
        }
    }
}

/* Neighbour moves on the exact point of ufull (updated in place): every
 * other level of an active categorical, +-1 of an active integer or
 * ordinal; the best admissible improvement each round. Returns the exact
 * point's score (-inf if it is not admissible and no neighbour is). */
static double neighbour_moves(gp_state *s, const fresh_propose_ctx *ctx, double *ufull)
{
    size_t d = s->d;
    double *x = s->x, *u = s->u, *ut = s->utry;
    exact(s, ufull, x, u);
    double f = admissible(s, ctx, x) ? acq_at(s, u) : -INFINITY;
    for (int round = 0; round < 3; round++) {
        double best = f;
        size_t bj = d;
        double bval = 0.0;
        double *xc = s->xbest; /* scratch: the exact point of ufull */
        fresh_space_decode(s->space, ufull, xc);
        for (size_t j = 0; j < d; j++) {
            if (isnan(xc[j]) || s->kind[j] == K_CONT)
                continue;
            size_t nl = s->kind[j] == K_CAT ? s->levels[j] : 2;
            for (size_t l = 0; l < nl; l++) {
                memcpy(ut, ufull, d * sizeof *ut);
                double val;
                if (s->kind[j] == K_CAT) {
                    if ((double)l == xc[j])
                        continue;
                    val = (double)l;
                } else {
                    /* +-1 in value space, re-encoded */
                    fresh_param_info info;
                    fresh_space_param(s->space, j, &info);
                    double step = l == 0 ? -1.0 : 1.0;
                    double v = xc[j] + step;
                    if (v < info.low || v > info.high)
                        continue;
                    memcpy(x, xc, d * sizeof *x);
                    x[j] = v;
                    fresh_space_encode(s->space, x, u);
                    val = u[j];
                }
                ut[j] = val;
                exact(s, ut, x, u);
                if (!admissible(s, ctx, x))
                    continue;
                double f2 = acq_above(s, u, best);
                if (f2 > best) {
                    best = f2;
                    bj = j;
                    bval = val;
                }
            }
        }
        if (bj == d)
            break;
        ufull[bj] = bval;
        f = best;
    }
    return f;
}

/* Candidate i's full unit point: a shifted Sobol point, or a perturbation
 * of one of the best training rows. */
static void make_candidates(gp_state *s, gsl_rng *rng, size_t *n_out)
{
    size_t d = s->d;
    double *shift = s->g1, *qp = s->g2;
    for (size_t j = 0; j < d; j++)
        shift[j] = gsl_rng_uniform(rng);
    gsl_qrng_init(s->q);
    size_t n = 0;
    for (size_t i = 0; i < FRESH__GP_N_SOBOL; i++, n++) {
        gsl_qrng_get(s->q, qp);
        double *uf = s->cufull + n * d;
        for (size_t j = 0; j < d; j++) {
            double v = qp[j] + shift[j];
            v -= floor(v);
            if (s->kind[j] == K_CAT || s->kind[j] == K_ORD) {
                double c = (double)(s->levels[j] ? s->levels[j] : 1);
                v = fmin(floor(v * c), c - 1.0);
            }
            uf[j] = v;
        }
    }
    /* the best training rows (real ones only), perturbed */
    size_t m = s->n_train, nb = m < FRESH__GP_N_BEST ? m : FRESH__GP_N_BEST;
    if (fresh__grow((void **)&s->rank, &s->rank_cap, m, sizeof *s->rank) == FRESH_OK) {
        for (size_t k = 0; k < m; k++) {
            s->rank[k].loss = s->yt[k];
            s->rank[k].idx = k;
        }
        qsort(s->rank, m, sizeof *s->rank, fresh__cmp_rank);
    } else {
        nb = 0;
    }
    for (size_t b = 0; b < nb; b++) {
        const double *row = s->Xt + s->rank[b].idx * d;
        for (size_t k = 0; k < FRESH__GP_N_LOCAL; k++, n++) {
            double *uf = s->cufull + n * d;
            double sd = k < FRESH__GP_N_LOCAL / 2 ? 0.02 : 0.1;
            for (size_t j = 0; j < d; j++) {
                double v = row[j];
                switch (s->kind[j]) {
                case K_CAT:
                case K_ORD: {
                    double c = (double)(s->levels[j] ? s->levels[j] : 1);
                    if (isnan(v) || gsl_rng_uniform(rng) < 1.0 / (double)d)
                        v = floor(gsl_rng_uniform(rng) * c);
                    else if (s->kind[j] == K_ORD)
                        v = floor(v * (c - 1.0) + 0.5);
                    v = fmin(v, c - 1.0);
                    break;
                }
                default:
                    if (isnan(v))
                        v = gsl_rng_uniform(rng);
                    else
                        v = fmin(1.0, fmax(0.0, v + sd * gsl_ran_gaussian_ziggurat(rng, 1.0)));
                }
                uf[j] = v;
            }
        }
    }
    *n_out = n;
}

/* Inserts score v into top[0..*nt) (distinct values, best first, at most
 * FRESH__GP_N_STARTS). */
static void keep_top(double *top, size_t *nt, double v)
{
    size_t k = 0;
    while (k < *nt && top[k] > v)
        k++;
    if (!(v == v) || k == FRESH__GP_N_STARTS || (k < *nt && top[k] == v))
        return;
    size_t last = *nt < FRESH__GP_N_STARTS ? *nt : FRESH__GP_N_STARTS - 1;
    memmove(top + k + 1, top + k, (last - k) * sizeof *top);
    top[k] = v;
    if (*nt < FRESH__GP_N_STARTS)
        (*nt)++;
}

/* Scores the ok candidates s->cu into s->cscore (loss = -log EI, best
 * first), as if every one were predicted (fresh__gp_predict_many) and
 * sorted, but computing a variance (O(n^2), most of the screen's cost) only
 * where it can matter: only the best candidates, up to FRESH__GP_N_STARTS
 * distinct ones, are used (propose_gp's starts). log EI grows with sigma,
 * and the variance given every training row is at most the variance given
 * the nearest one alone (var_hi, fresh__gp_mean_many, O(n d) with the
 * mean): log EI(mean, sqrt(var_hi)) bounds a candidate's score from
 * above. Candidates go through fresh__gp_var_some in decreasing order of
 * that bound, FRESH__GP_BLOCK at a time; once FRESH__GP_N_STARTS distinct
 * scores are known, the first candidate whose bound is below the least of
 * them ends the screen: it and every later one score below the starts.
 * The bound is widened against rounding (acq_hi, below). The scores
 * computed are the same, bit for bit, as predict_many's; those left out get
 * +inf (they sort last, by index, and are never reached). */
static int score_candidates(gp_state *s, size_t ok)
{
    int rc = fresh__gp_mean_many(s->gp, s->cu, ok, s->cmean, s->cvar);
    if (rc != FRESH_OK)
        return rc;
    cand *order = s->corder;
    for (size_t i = 0; i < ok; i++) {
        order[i].loss = -acq_hi(s, s->cmean[i], s->cvar[i]);
        order[i].idx = i;
        s->cscore[i].loss = INFINITY;
        s->cscore[i].idx = i;
    }
    qsort(order, ok, sizeof *order, fresh__cmp_rank);
    double top[FRESH__GP_N_STARTS];
    size_t nt = 0, idx[FRESH__GP_BLOCK];
    for (size_t done = 0; done < ok;) {
        if (nt == FRESH__GP_N_STARTS && below(-order[done].loss, top[nt - 1]))
            break;
        size_t cnt = ok - done < FRESH__GP_BLOCK ? ok - done : FRESH__GP_BLOCK;
        for (size_t j = 0; j < cnt; j++)
            idx[j] = order[done + j].idx;
        fresh__gp_var_some(s->gp, idx, cnt, s->cvar);
        for (size_t j = 0; j < cnt; j++) {
            double v = acq(s, s->cmean[idx[j]], s->cvar[idx[j]]);
            s->cscore[idx[j]].loss = -v; /* ascending = best first */
            keep_top(top, &nt, v);
        }
        done += cnt;
        s->n_var += cnt;
    }
    s->n_screened += ok;
    qsort(s->cscore, ok, sizeof *s->cscore, fresh__cmp_rank);
    return FRESH_OK;
}

static int propose_gp(gp_state *s, const fresh_propose_ctx *ctx, gsl_rng *rng, double *x)
{
    size_t d = s->d, n;
    make_candidates(s, rng, &n);
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        exact(s, s->cufull + i * d, s->x, s->cu + ok * d);
        if (!admissible(s, ctx, s->x))
            continue;
        if (ok != i)
            memcpy(s->cufull + ok * d, s->cufull + i * d, d * sizeof(double));
        ok++;
    }
    if (ok == 0)
        return FRESH_ENOSAMPLE;
    int rc = score_candidates(s, ok);
    if (rc != FRESH_OK)
        return rc;
    double best = -INFINITY;
    size_t starts = 0;
    for (size_t k = 0; k < ok && starts < FRESH__GP_N_STARTS; k++) {
        size_t i = s->cscore[k].idx;
        /* distinct starts only */
        int dup = 0;
        for (size_t k2 = 0; k2 < k && !dup; k2++)
            dup = s->cscore[k2].loss == s->cscore[k].loss &&
                  same_row(s->cu + s->cscore[k2].idx * d, s->cu + i * d, d);
        if (dup)
            continue;
        starts++;
        memcpy(s->ufull, s->cufull + i * d, d * sizeof(double));
        gradient_steps(s, s->ufull);
        double f = neighbour_moves(s, ctx, s->ufull);
        if (!(f > -INFINITY)) { /* the local search left the admissible set: keep the start */
            memcpy(s->ufull, s->cufull + i * d, d * sizeof(double));
            f = -s->cscore[k].loss;
        }
        if (f > best) {
            best = f;
            memcpy(s->ubest, s->ufull, d * sizeof(double));
        }
    }
    if (!(best > -INFINITY))
        return FRESH_ENOSAMPLE;
    fresh_space_decode(s->space, s->ubest, x);
    return FRESH_OK;
}

/* ---- auto ---- */

int fresh__gp_auto_use_gp(const fresh_space *space, size_t n_obs_model)
{
    size_t d = fresh_space_dim(space), n_cat = 0, n_cond = 0;
    for (size_t j = 0; j < d; j++) {
        fresh_param_info info;
        if (fresh_space_param(space, j, &info) != FRESH_OK)
            return 0;
        n_cat += info.type == FRESH_PARAM_CATEGORICAL;
        n_cond += info.has_condition != 0;
    }
    (void)n_obs_model;
    return d <= FRESH__AUTO_MAX_DIM && 2 * (n_cat + n_cond) <= d;
}

/* ---- proposals ---- */

static int gp_propose(void *state, const fresh_propose_ctx *ctx, gsl_rng *rng, double *x,
                      int *model_based)
{
    gp_state *s = state;
    if (model_based)
        *model_based = 0;
    if (!s || !s->space || !rng || !x)
        return FRESH_EINVAL;
    fresh__bohb_rows rows, *o = model_set(s, &rows) ? &rows : NULL;
    if (s->is_auto && !fresh__gp_auto_use_gp(s->space, o ? o->n : 0))
        return fresh_sampler_bohb->propose(s->bohb, ctx, rng, x, model_based);
    double coin = gsl_rng_uniform(rng); /* as BOHB: one draw, model or not */
    int hedge;
    size_t n_pairs;
    double tau;
    int rc = fresh__bohb_hedge(s->bohb, ctx, &hedge, &n_pairs, &tau);
    if (rc != FRESH_OK)
        return rc;
    if (hedge) {
        rc = fresh__sampler_random_draw(s->space, ctx, rng, x);
        if (rc == FRESH_OK && model_based)
            *model_based = FRESH_PROPOSAL_HEDGE;
        return rc;
    }
    if (!o || coin < s->p.random_fraction)
        return fresh__sampler_random_draw(s->space, ctx, rng, x);
    rc = prepare(s, o, ctx);
    if (rc == FRESH_EGSL) { /* no usable factor: random, and refit next time */
        s->fit_valid = 0;
        return fresh__sampler_random_draw(s->space, ctx, rng, x);
    }
    if (rc != FRESH_OK)
        return rc;
    rc = propose_gp(s, ctx, rng, x);
    if (rc == FRESH_ENOSAMPLE)
        return fresh__sampler_random_draw(s->space, ctx, rng, x);
    if (rc == FRESH_OK && model_based)
        *model_based = FRESH_PROPOSAL_MODEL;
    return rc;
}

int fresh__gp_inspect(void *state, const fresh_propose_ctx *ctx, fresh__gp_model *info)
{
    gp_state *s = state;
    if (!s || !s->space || !info)
        return FRESH_EINVAL;
    memset(info, 0, sizeof *info);
    info->n_refits = s->n_refits;
    info->fit_seconds = s->fit_seconds;
    fresh__bohb_rows rows, *o = model_set(s, &rows) ? &rows : NULL;
    if (!o)
        return FRESH_OK;
    int rc = prepare(s, o, ctx);
    if (rc != FRESH_OK)
        return rc;
    info->available = 1;
    info->budget = o->budget;
    info->n_obs = o->n;
    info->n_train = s->n_train;
    info->n_pending = s->fit_pending;
    info->n_refits = s->n_refits;
    info->fit_seconds = s->fit_seconds;
    info->n_screened = s->n_screened;
    info->n_var = s->n_var;
    info->y_mean = s->y_mean;
    info->y_sd = s->y_sd;
    info->model = s->gp;
    return FRESH_OK;
}

void fresh__gp_use_bound(void *state, int on)
{
    gp_state *s = state;
    if (s)
        s->no_bound = !on;
}

int fresh__gp_predict_x(void *state, const double *x, double *mean, double *sd)
{
    gp_state *s = state;
    if (!s || !s->space || !x || !mean || !sd)
        return FRESH_EINVAL;
    if (!s->fit_valid)
        return FRESH_ESTATE;
    double var;
    to_model(s, x, s->u);
    fresh__gp_predict(s->gp, s->u, mean, &var, NULL, NULL);
    *mean = s->y_mean + s->y_sd * *mean;
    *sd = s->y_sd * sqrt(var);
    return FRESH_OK;
}

static const fresh_sampler_type gp_type = {
    "gp", sizeof(gp_state), gp_init, gp_destroy, gp_observe, gp_propose,
};
static const fresh_sampler_type auto_type = {
    "auto", sizeof(gp_state), auto_init, gp_destroy, gp_observe, gp_propose,
};

const fresh_sampler_type *const fresh_sampler_gp = &gp_type;
const fresh_sampler_type *const fresh_sampler_auto = &auto_type;
