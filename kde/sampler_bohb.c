/*
 * sampler_bohb.c - the BOHB sampler ("bohb", also found as "tpe"): a
 * tree-structured Parzen estimator over per-budget mixed-type KDEs
 * (Falkner, Klein & Hutter, "BOHB: Robust and Efficient Hyperparameter
 * Optimization at Scale", ICML 2018, Algorithm 2; Bergstra et al. 2011 for
 * TPE), with the faults of HpBandSter's implementation removed.
 *
 * DESIGN.
 * Observations. Every observation is kept, per budget, from every budget,
 * whatever budgets already have models (HpBandSter drops results on smaller
 * budgets once a larger one has a model). A non-finite loss (a failed job:
 * +inf, NaN, or -inf) is stored as +inf, so it ranks worst and lands in the
 * bad set. The same configuration (id and value) observed again at the same
 * budget replaces its loss: the last report wins.
 *
 * Model budget and split (fresh__bohb_split). With m = min_points_in_model
 * (default d + 1) and N observations on a budget, a budget can carry a model
 * when N >= m, and
 *     n_good = min(N, max(m, floor(top_n_percent/100 * N)))
 *     n_bad  = min(N, max(m, floor((100 - top_n_percent)/100 * N)))
 * good = the best n_good, bad = the worst n_bad: both sets have at least
 * m > d rows. The rows the good set borrows to reach m are not good at the
 * top_n_percent quantile, so they stay in the bad set: the sets overlap
 * while top_n_percent/100 * N < m (as HpBandSter's), and at most one middle
 * row is in neither. The model used is the one of the largest budget
 * that qualifies; smaller budgets are the fallback. A model at m points
 * (rather than at 2m with disjoint sets) moves to the larger, less
 * misleading budgets one Hyperband iteration sooner: with the hedge below,
 * lc_mixed under the adaptive scheduler, 40 seeds, 200 MBE, median regret
 * 0.0028 -> 0.0003 (docs/algorithms.md has the other benchmarks). Ties in
 * loss are broken by arrival order (stable, reproducible).
 *
 * Hedge (fresh's; hedge_tau). Hyperband's brackets that start at large
 * budgets are its insurance against a misleading low fidelity; a model
 * learned on the low budgets that mislead takes that insurance away (on
 * lc_mixed the low budgets rank Adam first and SGD wins at the max budget,
 * and BOHB lost to random search). So a proposal for a bracket of the upper
 * half, first budget b with sqrt(min * max) <= b < max, is drawn at random
 * until budget b has been seen to rank configurations like the max budget:
 * Kendall's tau >= hedge_tau over the latest FRESH_HEDGE_MIN_PAIRS or more
 * (at most PAIRS_KEEP) unselected pairs, configurations whose from-scratch
 * job reported at b and ended at max (observation.resume_from == 0 for
 * both: no promotion chose them on their loss at b). The bracket that starts
 * at the max budget and the aggressive lower half always use the model.
 *
 * Proposal. With probability random_fraction, or when no budget qualifies,
 * a uniform random configuration (fresh__sampler_random_draw). Otherwise
 * num_samples candidates are drawn from the good KDE with its continuous
 * bandwidths times bandwidth_factor, each decoded to value space
 * (fresh_space_decode: ints rounded to their grid, levels to indices,
 * conditions applied) and re-encoded, so that the candidate is scored as the
 * configuration that would really run; forbidden candidates and those that
 * ctx->is_duplicate rejects are skipped. The candidate that maximises
 * log l(x) - log g(x) wins (the expected-improvement argument of TPE), the
 * first one on a tie. If no candidate survives, the proposal falls back to
 * random (*model_based = 0).
 *
 * Screening. The candidates are first scored in single precision with an
 * error bound (fresh__kde_logpdf_screen: AVX2 and FMA, eight rows per
 * vector); a candidate whose g alone shows that it cannot reach the best
 * so far is dropped before g's exponentials, and the exact score (double,
 * fresh__kde_logpdf) is computed only for candidates whose bounds overlap
 * the best one (pick_exact; usually one or two of 64). The winner is the
 * one exact scoring of every candidate gives, bit for bit (tested against
 * the sampler with the screen off, on mirrored near-ties).
 *
 * Asynchronous promotions (ctx->async_promotions, set by the study for
 * asha, async-hyperband and async-adaptive). Under ASHA a budget above
 * the first holds only configurations promoted to it, the best of those
 * below, and the model budget's "bad" rows are good ones: g peaks on the
 * good region and l/g sends proposals away from it, to places that fail at
 * the first rung and so never reach the model budget to correct it (issue
 * 14: on branin_mf, 16 simulated workers, the model's proposals had a
 * median true loss of 61-71 against about 25 for random search; under
 * synchronous Hyperband, whose brackets that start at a budget bring
 * unselected configurations to it, 0.5). So the configurations held back
 * below the model budget (their highest budget lower) join the bad KDE, as
 * they would rank below every configuration at the budget (Optuna's TPE
 * treats pruned trials so): an evenly spaced sample by rank of each lower
 * budget's set, about FRESH__BOHB_MAX_BAD_ROWS rows in all, shared in
 * proportion to the sets' sizes. And a budget above the lowest carries the
 * model only with FRESH__BOHB_ASYNC_POINTS_FACTOR (5) times min_points
 * observations: the top rungs fill slowly, and a model on a handful of
 * promoted configurations has a good set of d + 1 rows spread over the
 * optima (issue 14: with fresh's promotion cap, BOHB's median final regret
 * at 16 / 64 / 256 simulated workers, 10 / 10 / 5 seeds, async-hyperband on
 * branin_mf 6.0e-3 -> 2.8e-3 / 7.6e-3 -> 2.7e-4 / 5.1e-3 -> 1.9e-3). The synchronous
 * schedulers are unchanged.
 *
 * Constant liar. The pending configurations of ctx (queued or running) are
 * added to the bad set for this proposal, so that parallel workers do not
 * all receive the same mode of l/g (the remedy for HpBandSter issues 20/41).
 *
 * Costs. Each budget keeps its rows in rank order as they come (a binary
 * search and a memmove) and finds a repeated report's row by a config-id
 * hash table. Both KDEs are refitted only when the model budget's
 * observations change (g also when pending points come or go), from at most
 * FRESH__BOHB_MAX_ROWS rows each (a larger set is thinned to evenly spaced
 * ranks): O(FRESH__BOHB_MAX_ROWS d). One proposal is O(num_samples (good rows
 * + bad rows + n_pending) d), bounded whatever N is, with no allocation in
 * the candidate loop: candidate buffers are allocated in init, observation
 * buffers grow geometrically, KDE buffers only grow (docs/algorithms.md,
 * "Cost").
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fresh/sampler.h"
#include "fresh/space.h"
#include "fresh/status.h"
#include "internal.h"
#include "kde.h"
#include "sampler_internal.h"

/* Observations at one budget. */
typedef struct obs_set {
    double budget;
    size_t n, cap;
    double *u;         /* n x d, unit encoding */
    double *loss;      /* n; failed = +inf */
    uint64_t *id;      /* n */
    unsigned char *scratch; /* n: 1 if observed in a job that ran from scratch */
    uint32_t *order;   /* n: row indices by (loss, index), kept sorted as rows come */
    uint32_t *hrow;    /* hcap: open-addressing table config id -> latest row + 1
                        * (0: empty slot); the key is id[row] */
    size_t hcap;       /* 0 or a power of two >= 2 (n + 1) */
    unsigned long version; /* the state's change counter at the last change */
    /* the hedge's cache: tau against the max budget's set (see update_pairs) */
    unsigned long pair_version, pair_max_version;
    size_t n_pairs;
    double pair_tau;
} obs_set;

/* Candidates screened per block (bohb_propose). */
#define CAND_BLOCK 64

/* Unselected pairs the hedge's tau uses at most (the latest ones). */
#define PAIRS_KEEP 128

typedef struct id_item {
    uint64_t id;
    size_t idx;
} id_item;

typedef struct bohb_state {
    const fresh_space *space;
    size_t d;
    fresh_sampler_params p;
    size_t min_points;
    obs_set *sets; /* ascending budget */
    size_t n_sets, cap_sets;
    unsigned long changes;
    fresh__kde *good, *bad;
    /* the fitted model */
    int fit_valid;
    double fit_budget;
    unsigned long fit_version;
    size_t fit_pending; /* pending rows in the bad KDE */
    size_t fit_held;    /* held-back rows in the bad KDE (async_promotions) */
    size_t n_good, n_bad;     /* the split */
    size_t good_rows, bad_rows; /* rows of the split in the KDEs (thin_pos) */
    /* the good KDE's fit: the rows (indices into the model budget's set)
     * it was fitted on, so that a refit of the same rows is skipped */
    int good_valid;
    double good_budget;
    size_t *good_idx, good_idx_cap;
    double last_score;
    /* scratch */
    double *rows; /* staging for fits */
    size_t rows_cap; /* in rows */
    double *u_cand, *x_best, *u_obs; /* d each */
    /* a block of screened candidates (see bohb_propose) */
    double *blk_u, *blk_x; /* CAND_BLOCK x d */
    double *blk_f, *blk_e; /* CAND_BLOCK: screened score, its error bound */
    /* the hedge's scratch */
    id_item *max_ids; /* (config id, row) of the max set's scratch rows, by id */
    size_t max_ids_n, max_ids_cap;
    unsigned long max_ids_version; /* the max set's version they were taken at */
    double pair_a[PAIRS_KEEP], pair_b[PAIRS_KEEP];
} bohb_state;

/* ---- the split rule ---- */

int fresh__bohb_split(size_t n_obs, double top_n_percent, size_t min_points, size_t *n_good,
                      size_t *n_bad)
{
    size_t g = 0, b = 0;
    int ok = min_points > 0 && n_obs >= min_points;
    if (ok) {
        /* the 1e-9 keeps 15% of 100 at 15 despite rounding */
        double want = floor(top_n_percent / 100.0 * (double)n_obs + 1e-9);
        g = want < (double)min_points ? min_points : (size_t)want;
        if (g > n_obs)
            g = n_obs;
        double rest = floor((100.0 - top_n_percent) / 100.0 * (double)n_obs + 1e-9);
        b = rest < (double)min_points ? min_points : (size_t)rest;
        if (b > n_obs)
            b = n_obs;
    }
    if (n_good)
        *n_good = g;
    if (n_bad)
        *n_bad = b;
    return ok;
}

/* ---- init / destroy ---- */

static void bohb_destroy(void *state)
{
    bohb_state *s = state;
    if (!s)
        return;
    for (size_t i = 0; i < s->n_sets; i++) {
        fresh__free(s->sets[i].u);
        fresh__free(s->sets[i].loss);
        fresh__free(s->sets[i].id);
        fresh__free(s->sets[i].scratch);
        fresh__free(s->sets[i].order);
        fresh__free(s->sets[i].hrow);
    }
    fresh__free(s->sets);
    fresh__free(s->max_ids);
    fresh__kde_destroy(s->good);
    fresh__kde_destroy(s->bad);
    fresh__free(s->rows);
    fresh__free(s->good_idx);
    fresh__free(s->u_cand);
    fresh__free(s->x_best);
    fresh__free(s->blk_u);
    fresh__free(s->blk_x);
    fresh__free(s->blk_f);
    fresh__free(s->blk_e);
    fresh__free(s->u_obs);
    memset(s, 0, sizeof *s);
}

static int init_err(char *errmsg, int status, const char *what, double value)
{
    if (errmsg)
        fresh__set_err(errmsg, status, "sampler 'bohb': %s, got %g", what, value);
    return status;
}

static int bohb_init(void *state, const fresh_space *space, const fresh_sampler_params *p,
                     uint64_t seed, char *errmsg)
{
    (void)seed; /* every random draw comes from the rng handed to propose */
    bohb_state *s = state;
    fresh_sampler_params def;
    fresh_sampler_params_default(&def);
    if (!p)
        p = &def;
    if (!s || !space) {
        if (errmsg)
            fresh__set_err(errmsg, FRESH_EINVAL, "sampler 'bohb': %s is NULL",
                           s ? "space" : "state");
        return FRESH_EINVAL;
    }
    size_t d = fresh_space_dim(space);
    if (d == 0) {
        if (errmsg)
            fresh__set_err(errmsg, FRESH_EINVAL, "sampler 'bohb': the space has no parameters");
        return FRESH_EINVAL;
    }
    if (!(p->random_fraction >= 0.0 && p->random_fraction <= 1.0))
        return init_err(errmsg, FRESH_EINVAL, "random_fraction must lie in [0, 1]",
                        p->random_fraction);
    if (p->num_samples == 0)
        return init_err(errmsg, FRESH_EINVAL, "num_samples must be >= 1", 0.0);
    if (!(p->top_n_percent > 0.0 && p->top_n_percent < 100.0))
        return init_err(errmsg, FRESH_EINVAL, "top_n_percent must lie in (0, 100)",
                        p->top_n_percent);
    if (!(p->bandwidth_factor > 0.0) || !isfinite(p->bandwidth_factor))
        return init_err(errmsg, FRESH_EINVAL, "bandwidth_factor must be finite and > 0",
                        p->bandwidth_factor);
    if (!(p->min_bandwidth > 0.0) || !isfinite(p->min_bandwidth))
        return init_err(errmsg, FRESH_EINVAL, "min_bandwidth must be finite and > 0",
                        p->min_bandwidth);
    if (!(p->bandwidth_floor >= 0.0) || !isfinite(p->bandwidth_floor))
        return init_err(errmsg, FRESH_EINVAL, "bandwidth_floor must be finite and >= 0",
                        p->bandwidth_floor);
    if (!(p->hedge_tau <= 1.0) || !isfinite(p->hedge_tau))
        return init_err(errmsg, FRESH_EINVAL, "hedge_tau must be finite and <= 1",
                        p->hedge_tau);

    memset(s, 0, sizeof *s);
    s->space = space;
    s->d = d;
    s->p = *p;
    s->min_points = p->min_points_in_model ? p->min_points_in_model : d + 1;
    s->last_score = NAN;

    int rc = FRESH_ENOMEM;
    fresh__kde_dim *dims = fresh__malloc(d * sizeof *dims);
    if (!dims)
        goto fail;
    for (size_t j = 0; j < d; j++) {
        fresh_param_info info;
        if (fresh_space_param(space, j, &info) != FRESH_OK) {
            rc = FRESH_EINVAL;
            goto fail;
        }
        switch (info.type) {
        case FRESH_PARAM_CATEGORICAL:
            dims[j].kind = FRESH__KDE_CAT;
            dims[j].n_levels = info.n_levels;
            break;
        case FRESH_PARAM_ORDINAL:
            dims[j].kind = FRESH__KDE_ORD;
            dims[j].n_levels = info.n_levels;
            break;
        default: /* float, int: continuous in [0, 1] */
            dims[j].kind = FRESH__KDE_CONT;
            dims[j].n_levels = 0;
            break;
        }
    }
    if ((rc = fresh__kde_create(d, dims, &s->good)) != FRESH_OK ||
        (rc = fresh__kde_create(d, dims, &s->bad)) != FRESH_OK)
        goto fail;
    rc = FRESH_ENOMEM;
    s->u_cand = fresh__malloc(d * sizeof(double));
    s->x_best = fresh__malloc(d * sizeof(double));
    s->u_obs = fresh__malloc(d * sizeof(double));
    s->blk_u = fresh__malloc(CAND_BLOCK * d * sizeof(double));
    s->blk_x = fresh__malloc(CAND_BLOCK * d * sizeof(double));
    s->blk_f = fresh__malloc(CAND_BLOCK * sizeof(double));
    s->blk_e = fresh__malloc(CAND_BLOCK * sizeof(double));
    if (!s->u_cand || !s->x_best || !s->u_obs || !s->blk_u || !s->blk_x ||
        !s->blk_f || !s->blk_e)
        goto fail;
    fresh__free(dims);
    return FRESH_OK;

fail:
    fresh__free(dims);
    bohb_destroy(s);
    if (errmsg)
        fresh__set_err(errmsg, rc, "sampler 'bohb': %s",
                       rc == FRESH_ENOMEM ? "out of memory" : "cannot read the space");
    return rc;
}

/* ---- observations ---- */

static int same_budget(double a, double b)
{
    return a == b || fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

/* Index of the set with this budget, or where it would be inserted (*found 0). */
static size_t find_set(const bohb_state *s, double budget, int *found)
{
    size_t i = 0;
    for (; i < s->n_sets; i++) {
        if (same_budget(s->sets[i].budget, budget)) {
            *found = 1;
            return i;
        }
        if (s->sets[i].budget > budget)
            break;
    }
    *found = 0;
    return i;
}

/* Equal encodings, NaN (inactive) equal to NaN. */
static int unit_equal(const double *a, const double *b, size_t d)
{
    for (size_t j = 0; j < d; j++)
        if (!(a[j] == b[j] || (isnan(a[j]) && isnan(b[j]))))
            return 0;
    return 1;
}

static int grow_set(obs_set *o, size_t d)
{
    if (o->n < o->cap)
        return FRESH_OK;
    size_t cap = o->cap ? 2 * o->cap : 16;
    double *u = fresh__realloc(o->u, cap * d * sizeof *u);
    if (!u)
        return FRESH_ENOMEM;
    o->u = u;
    double *loss = fresh__realloc(o->loss, cap * sizeof *loss);
    if (!loss)
        return FRESH_ENOMEM;
    o->loss = loss;
    uint64_t *id = fresh__realloc(o->id, cap * sizeof *id);
    if (!id)
        return FRESH_ENOMEM;
    o->id = id;
    unsigned char *sc = fresh__realloc(o->scratch, cap * sizeof *sc);
    if (!sc)
        return FRESH_ENOMEM;
    o->scratch = sc;
    if (cap > (size_t)UINT32_MAX) /* rows are 32-bit indices */
        return FRESH_ENOMEM;
    uint32_t *order = fresh__realloc(o->order, cap * sizeof *order);
    if (!order)
        return FRESH_ENOMEM;
    o->order = order;
    o->cap = cap;
    return FRESH_OK;
}

/* ---- config id -> row (a repeated report finds its row in O(1)) ---- */

static size_t id_slot(uint64_t id, size_t cap)
{
    id ^= id >> 33; /* MurmurHash3's finaliser */
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    id *= 0xc4ceb9fe1a85ec53ULL;
    id ^= id >> 33;
    return (size_t)id & (cap - 1);
}

/* The latest row of o with this config id, or SIZE_MAX. */
static size_t id_find(const obs_set *o, uint64_t id)
{
    if (!o->hcap)
        return SIZE_MAX;
    for (size_t h = id_slot(id, o->hcap);; h = (h + 1) & (o->hcap - 1)) {
        if (o->hrow[h] == 0)
            return SIZE_MAX;
        if (o->id[o->hrow[h] - 1] == id)
            return o->hrow[h] - 1;
    }
}

static void id_put(obs_set *o, uint64_t id, size_t row)
{
    size_t h = id_slot(id, o->hcap);
    while (o->hrow[h] != 0 && o->id[o->hrow[h] - 1] != id)
        h = (h + 1) & (o->hcap - 1);
    o->hrow[h] = (uint32_t)(row + 1);
}

/* Makes room in the table for row o->n (rebuilding it larger from the rows
 * when it would be more than half full). FRESH_OK or FRESH_ENOMEM (the
 * table unchanged). */
static int id_reserve(obs_set *o)
{
    if (2 * (o->n + 1) <= o->hcap)
        return FRESH_OK;
    size_t cap = o->hcap ? 2 * o->hcap : 64;
    while (2 * (o->n + 1) > cap)
        cap *= 2;
    uint32_t *row = fresh__calloc(cap, sizeof *row); /* all slots empty */
    if (!row)
        return FRESH_ENOMEM;
    fresh__free(o->hrow);
    o->hrow = row;
    o->hcap = cap;
    for (size_t r = 0; r < o->n; r++) /* in arrival order: the latest row wins */
        id_put(o, o->id[r], r);
    return FRESH_OK;
}

/* The number of the first m entries of o->order that rank before row r with
 * this loss: lower loss, ties by arrival (the model's rank order, see the
 * top). Where r goes in the order, or where it is. */
static size_t order_slot(const obs_set *o, size_t m, size_t r, double loss)
{
    size_t lo = 0, hi = m;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, q = o->order[mid];
        if (o->loss[q] < loss || (o->loss[q] == loss && q < r))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Puts row r (loss already set) into the first m entries of o->order. */
static void order_insert(obs_set *o, size_t m, size_t r)
{
    size_t p = order_slot(o, m, r, o->loss[r]);
    memmove(o->order + p + 1, o->order + p, (m - p) * sizeof *o->order);
    o->order[p] = (uint32_t)r;
}

static int bohb_observe(void *state, const fresh_observation *obs)
{
    bohb_state *s = state;
    if (!s || !s->space || !obs || !obs->x || !isfinite(obs->budget))
        return FRESH_EINVAL;
    size_t d = s->d;
    double loss = isfinite(obs->loss) ? obs->loss : INFINITY;
    fresh_space_encode(s->space, obs->x, s->u_obs);

    int found;
    size_t i = find_set(s, obs->budget, &found);
    if (found) {
        obs_set *o = &s->sets[i];
        size_t latest = id_find(o, obs->config_id), r = SIZE_MAX;
        /* one row per (id, value): the latest row of the id is it, or a scan
         * finds it (the same id with other values: rare) */
        if (latest != SIZE_MAX && unit_equal(o->u + latest * d, s->u_obs, d))
            r = latest;
        for (size_t q = 0; latest != SIZE_MAX && r == SIZE_MAX && q < o->n; q++)
            if (o->id[q] == obs->config_id && unit_equal(o->u + q * d, s->u_obs, d))
                r = q;
        if (r != SIZE_MAX) {
            /* a repeated report: the last one wins */
            size_t p = order_slot(o, o->n, r, o->loss[r]);
            memmove(o->order + p, o->order + p + 1, (o->n - p - 1) * sizeof *o->order);
            o->loss[r] = loss;
            order_insert(o, o->n - 1, r);
            o->scratch[r] = obs->resume_from == 0.0;
            o->version = ++s->changes;
            return FRESH_OK;
        }
    } else {
        if (s->n_sets == s->cap_sets) {
            size_t cap = s->cap_sets ? 2 * s->cap_sets : 8;
            obs_set *p = fresh__realloc(s->sets, cap * sizeof *p);
            if (!p)
                return FRESH_ENOMEM;
            s->sets = p;
            s->cap_sets = cap;
        }
        obs_set fresh_set;
        memset(&fresh_set, 0, sizeof fresh_set);
        fresh_set.budget = obs->budget;
        if (grow_set(&fresh_set, d) != FRESH_OK) {
            fresh__free(fresh_set.u);
            fresh__free(fresh_set.loss);
            fresh__free(fresh_set.id);
            fresh__free(fresh_set.scratch);
            fresh__free(fresh_set.order);
            fresh__free(fresh_set.hrow);
            return FRESH_ENOMEM;
        }
        memmove(s->sets + i + 1, s->sets + i, (s->n_sets - i) * sizeof *s->sets);
        s->sets[i] = fresh_set;
        s->n_sets++;
    }
    obs_set *o = &s->sets[i];
    if (grow_set(o, d) != FRESH_OK || id_reserve(o) != FRESH_OK)
        return FRESH_ENOMEM;
    id_put(o, obs->config_id, o->n);
    memcpy(o->u + o->n * d, s->u_obs, d * sizeof(double));
    o->loss[o->n] = loss;
    o->id[o->n] = obs->config_id;
    o->scratch[o->n] = obs->resume_from == 0.0;
    order_insert(o, o->n, o->n);
    o->n++;
    o->version = ++s->changes;
    return FRESH_OK;
}

size_t fresh__bohb_count(const void *state, double budget)
{
    const bohb_state *s = state;
    if (!s)
        return 0;
    int found;
    size_t i = find_set(s, budget, &found);
    return found ? s->sets[i].n : 0;
}

size_t fresh__bohb_n_budgets(const void *state)
{
    const bohb_state *s = state;
    return s ? s->n_sets : 0;
}

int fresh__bohb_rows_at(const void *state, size_t i, fresh__bohb_rows *rows)
{
    const bohb_state *s = state;
    if (!s || !rows || i >= s->n_sets)
        return FRESH_EINVAL;
    const obs_set *o = &s->sets[i];
    rows->budget = o->budget;
    rows->n = o->n;
    rows->u = o->u;
    rows->loss = o->loss;
    rows->id = o->id;
    rows->version = o->version;
    return FRESH_OK;
}

/* ---- the model ---- */

static int grow_rows(bohb_state *s, size_t n)
{
    return fresh__grow((void **)&s->rows, &s->rows_cap, n, s->d * sizeof *s->rows);
}

/* The floor of continuous bandwidths for a KDE of n points: Optuna's "magic
 * clip" (range / min(100, n + 1), here in the unit cube), scaled by
 * bandwidth_floor. It keeps a good set that has collapsed onto one basin
 * wide enough to move towards better points (docs/algorithms.md). */
static double bw_floor(const bohb_state *s, size_t n)
{
    return s->p.bandwidth_floor / fmin(100.0, (double)n + 1.0);
}

/* The rank of the i-th of k rows taken from a set of m ranked rows (k <= m):
 * every rank when k = m, else evenly spaced ranks from the best on. */
static size_t thin_pos(size_t i, size_t m, size_t k)
{
    return k == m ? i : (size_t)((double)i * (double)m / (double)k);
}

/* 1 if configuration id has a row in a set above set j, up to set i. */
static int seen_above(const bohb_state *s, size_t j, size_t i, uint64_t id)
{
    for (size_t k = j + 1; k <= i; k++)
        if (id_find(&s->sets[k], id) != SIZE_MAX)
            return 1;
    return 0;
}

/* Writes into out (room for cap rows of d) the held-back configurations
 * below set i (see the top: asynchronous promotions): those whose highest
 * budget is below set i's, from an evenly spaced sample by rank of each
 * lower set, at most cap in all, shared in proportion to the sets' sizes.
 * Returns the rows written. */
static size_t held_back(const bohb_state *s, size_t i, size_t cap, double *out)
{
    size_t d = s->d, total = 0, n = 0;
    for (size_t j = 0; j < i; j++)
        total += s->sets[j].n;
    for (size_t j = 0; j < i && total > 0; j++) {
        const obs_set *lo = &s->sets[j];
        size_t k = total <= cap ? lo->n
                                : (size_t)((double)lo->n * (double)cap / (double)total);
        for (size_t r = 0; r < k; r++) {
            size_t row = lo->order[thin_pos(r, lo->n, k)];
            if (seen_above(s, j, i, lo->id[row]))
                continue;
            memcpy(out + n * d, lo->u + row * d, d * sizeof(double));
            n++;
        }
    }
    return n;
}

/* Refits the bad KDE from the ranked set, the pending points and (with
 * ctx->async_promotions) the held-back configurations. */
static int fit_bad(bohb_state *s, const obs_set *o, const fresh_propose_ctx *ctx)
{
    size_t d = s->d, n_pending = ctx ? ctx->n_pending : 0, n_held = 0;
    if (n_pending && !ctx->pending)
        return FRESH_EINVAL;
    size_t nb = s->bad_rows, first = o->n - s->n_bad;
    int rc = grow_rows(s, nb + n_pending);
    if (rc != FRESH_OK)
        return rc;
    for (size_t r = 0; r < nb; r++)
        memcpy(s->rows + r * d, o->u + o->order[first + thin_pos(r, s->n_bad, nb)] * d,
               d * sizeof(double));
    for (size_t q = 0; q < n_pending; q++)
        fresh_space_encode(s->space, ctx->pending[q], s->rows + (nb + q) * d);
    if (ctx && ctx->async_promotions) {
        if ((rc = grow_rows(s, nb + n_pending + FRESH__BOHB_MAX_BAD_ROWS)) != FRESH_OK)
            return rc;
        n_held = held_back(s, (size_t)(o - s->sets), FRESH__BOHB_MAX_BAD_ROWS,
                           s->rows + (nb + n_pending) * d);
    }
    rc = fresh__kde_fit(s->bad, s->rows, nb + n_pending + n_held, s->p.min_bandwidth,
                        bw_floor(s, nb + n_pending + n_held));
    if (rc != FRESH_OK)
        return rc;
    s->fit_pending = n_pending;
    s->fit_held = n_held;
    return FRESH_OK;
}

/* The model budget's set: the largest budget with enough observations for
 * a model (and its split), or NULL. Under asynchronous promotions (ctx) a
 * budget above the lowest needs FRESH__BOHB_ASYNC_POINTS_FACTOR times as
 * many (see the top). */
static const obs_set *model_set(const bohb_state *s, const fresh_propose_ctx *ctx,
                                size_t *n_good, size_t *n_bad)
{
    size_t need = ctx && ctx->async_promotions
                      ? s->min_points * FRESH__BOHB_ASYNC_POINTS_FACTOR
                      : s->min_points;
    for (size_t i = s->n_sets; i-- > 0;)
        if ((i == 0 || s->sets[i].n >= need) &&
            fresh__bohb_split(s->sets[i].n, s->p.top_n_percent, s->min_points, n_good, n_bad))
            return &s->sets[i];
    return NULL;
}

/* Refits the good KDE on the first n_good ranks of o, unless it holds the
 * same rows already (a new observation that ranks below the good set and
 * leaves its size alone: most of them). A row index always holds the same
 * encoded configuration, so the same indices are the same fit. */
static int fit_good(bohb_state *s, const obs_set *o)
{
    size_t d = s->d, ng = s->good_rows;
    int rc = fresh__grow((void **)&s->good_idx, &s->good_idx_cap, ng + 1, sizeof *s->good_idx);
    if (rc != FRESH_OK)
        return rc;
    int same = s->good_valid && s->good_budget == o->budget && fresh__kde_n(s->good) == ng;
    for (size_t r = 0; r < ng; r++) {
        size_t idx = o->order[thin_pos(r, s->n_good, ng)];
        same = same && s->good_idx[r] == idx;
        s->good_idx[r] = idx;
    }
    if (same)
        return FRESH_OK;
    s->good_valid = 0;
    if ((rc = grow_rows(s, ng)) != FRESH_OK)
        return rc;
    for (size_t r = 0; r < ng; r++)
        memcpy(s->rows + r * d, o->u + s->good_idx[r] * d, d * sizeof(double));
    if ((rc = fresh__kde_fit(s->good, s->rows, ng, s->p.min_bandwidth, bw_floor(s, ng))) !=
        FRESH_OK)
        return rc;
    s->good_valid = 1;
    s->good_budget = o->budget;
    return FRESH_OK;
}

/* Makes sure both KDEs fit the model budget's set o (with this split) and
 * the pending points of ctx. */
static int fit_model(bohb_state *s, const fresh_propose_ctx *ctx, const obs_set *o,
                     size_t n_good, size_t n_bad)
{
    size_t n_pending = ctx ? ctx->n_pending : 0;
    int rc;
    if (!(s->fit_valid && s->fit_budget == o->budget && s->fit_version == o->version)) {
        s->fit_valid = 0;
        /* o->order is kept sorted: the good set is its first n_good rows,
         * the bad set its last n_bad */
        s->n_good = n_good;
        s->n_bad = n_bad;
        s->good_rows = n_good < FRESH__BOHB_MAX_ROWS ? n_good : FRESH__BOHB_MAX_ROWS;
        s->bad_rows = n_bad < FRESH__BOHB_MAX_BAD_ROWS ? n_bad : FRESH__BOHB_MAX_BAD_ROWS;
        if ((rc = fit_good(s, o)) != FRESH_OK)
            return rc;
        if ((rc = fit_bad(s, o, ctx)) != FRESH_OK)
            return rc;
        s->fit_valid = 1;
        s->fit_budget = o->budget;
        s->fit_version = o->version;
    } else if (n_pending > 0 || s->fit_pending > 0 || s->fit_held > 0 ||
               (ctx && ctx->async_promotions)) {
        /* pending points come and go; held-back rows change with every
         * observation below the model budget */
        if ((rc = fit_bad(s, o, ctx)) != FRESH_OK) {
            s->fit_valid = 0;
            return rc;
        }
    }
    return FRESH_OK;
}

/* Chooses the model budget and makes sure both KDEs fit it (and the pending
 * points of ctx). *model = NULL when no budget has enough points. */
static int prepare(bohb_state *s, const fresh_propose_ctx *ctx, const obs_set **model)
{
    size_t n_good = 0, n_bad = 0;
    *model = NULL;
    const obs_set *o = model_set(s, ctx, &n_good, &n_bad);
    if (!o)
        return FRESH_OK;
    int rc = fit_model(s, ctx, o, n_good, n_bad);
    if (rc == FRESH_OK)
        *model = o;
    return rc;
}

int fresh__bohb_inspect(void *state, const fresh_propose_ctx *ctx, fresh__bohb_model *info)
{
    bohb_state *s = state;
    if (!s || !s->space || !info)
        return FRESH_EINVAL;
    memset(info, 0, sizeof *info);
    info->min_points = s->min_points;
    info->last_score = s->last_score;
    const obs_set *o;
    int rc = prepare(s, ctx, &o);
    if (rc != FRESH_OK || !o)
        return rc;
    info->available = 1;
    info->budget = o->budget;
    info->n_obs = o->n;
    info->n_good = s->n_good;
    info->n_bad = s->n_bad;
    info->n_pending = s->fit_pending;
    info->n_held = s->fit_held;
    info->good_rows = s->good_rows;
    info->bad_rows = s->bad_rows;
    info->good_max_loss = o->loss[o->order[s->n_good - 1]];
    info->bad_min_loss = o->loss[o->order[o->n - s->n_bad]];
    info->bad_max_loss = o->loss[o->order[o->n - 1]];
    return FRESH_OK;
}

int fresh__bohb_densities(void *state, const double *x, double *log_l, double *log_g)
{
    bohb_state *s = state;
    if (!s || !s->space || !x || !log_l || !log_g)
        return FRESH_EINVAL;
    if (!s->fit_valid)
        return FRESH_ESTATE;
    fresh_space_encode(s->space, x, s->u_cand);
    *log_l = fresh__kde_logpdf(s->good, s->u_cand);
    *log_g = fresh__kde_logpdf(s->bad, s->u_cand);
    return FRESH_OK;
}

/* ---- the hedge ---- */

static int cmp_id(const void *a, const void *b)
{
    const id_item *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Updates o's unselected pairs against mx (the max budget's set) if either
 * changed: configurations with a finite from-scratch loss on both, the
 * latest PAIRS_KEEP of o. */
static int update_pairs(bohb_state *s, obs_set *o, const obs_set *mx)
{
    /* versions come from one counter: equal versions mean the same set,
     * unchanged */
    if (o->pair_version == o->version && o->pair_max_version == mx->version)
        return FRESH_OK;
    if (s->max_ids_version != mx->version) { /* sorted once per change of mx */
        if (fresh__grow((void **)&s->max_ids, &s->max_ids_cap, mx->n, sizeof *s->max_ids) !=
            FRESH_OK)
            return FRESH_ENOMEM;
        size_t m = 0;
        for (size_t r = 0; r < mx->n; r++)
            if (mx->scratch[r] && isfinite(mx->loss[r])) {
                s->max_ids[m].id = mx->id[r];
                s->max_ids[m].idx = r;
                m++;
            }
        qsort(s->max_ids, m, sizeof *s->max_ids, cmp_id);
        s->max_ids_n = m;
        s->max_ids_version = mx->version;
    }
    size_t m = s->max_ids_n, n = 0;
    for (size_t r = o->n; r-- > 0 && n < PAIRS_KEEP;) {
        if (!o->scratch[r] || !isfinite(o->loss[r]))
            continue;
        id_item key = {o->id[r], 0};
        const id_item *hit = bsearch(&key, s->max_ids, m, sizeof *s->max_ids, cmp_id);
        if (!hit)
            continue;
        s->pair_a[n] = o->loss[r];
        s->pair_b[n] = mx->loss[hit->idx];
        n++;
    }
    o->n_pairs = n;
    o->pair_tau = n >= 2 ? fresh__kendall_tau(s->pair_a, s->pair_b, n) : NAN;
    o->pair_version = o->version;
    o->pair_max_version = mx->version;
    return FRESH_OK;
}

/* *hedge = 1 if a proposal for ctx must be random (see the top). Also gives
 * the pairs and tau behind the decision (0 and NaN when none apply). */
static int hedge_check(bohb_state *s, const fresh_propose_ctx *ctx, int *hedge, size_t *n_pairs,
                       double *tau)
{
    *hedge = 0;
    *n_pairs = 0;
    *tau = NAN;
    if (!ctx || s->p.hedge_tau < -1.0 || !(ctx->min_budget > 0.0) ||
        !(ctx->max_budget > ctx->min_budget) || !isfinite(ctx->max_budget))
        return FRESH_OK;
    double b = ctx->budget, mid = sqrt(ctx->min_budget * ctx->max_budget);
    if (!(b >= mid * (1.0 - 1e-9)) || same_budget(b, ctx->max_budget) || b > ctx->max_budget)
        return FRESH_OK;
    *hedge = 1;
    int found_b, found_max;
    size_t ib = find_set(s, b, &found_b);
    size_t imax = find_set(s, ctx->max_budget, &found_max);
    if (!found_b || !found_max)
        return FRESH_OK;
    int rc = update_pairs(s, &s->sets[ib], &s->sets[imax]);
    if (rc != FRESH_OK)
        return rc;
    *n_pairs = s->sets[ib].n_pairs;
    *tau = s->sets[ib].pair_tau;
    if (*n_pairs >= FRESH_HEDGE_MIN_PAIRS && *tau >= s->p.hedge_tau)
        *hedge = 0;
    return FRESH_OK;
}

int fresh__bohb_use_screen(void *state, int on)
{
    bohb_state *s = state;
    if (!s || !s->good || !s->bad)
        return FRESH_EINVAL;
    fresh__kde_use_screen(s->good, on);
    fresh__kde_use_screen(s->bad, on);
    return FRESH_OK;
}

int fresh__bohb_hedge(void *state, const fresh_propose_ctx *ctx, int *hedge, size_t *n_pairs,
                      double *tau)
{
    bohb_state *s = state;
    if (!s || !s->space || !hedge || !n_pairs || !tau)
        return FRESH_EINVAL;
    return hedge_check(s, ctx, hedge, n_pairs, tau);
}

/* ---- proposals ---- */

/* The exact choice among a block of nb screened candidates, in their order:
 * a candidate's score is log l(x) - log g(x) (fresh__kde_logpdf); the
 * first with the highest score wins over the block and the earlier ones
 * (*found, *best, s->x_best), NaN scores never do. A screened score f with
 * bound e (|f - score| <= e; e = 0: f is exact) whose f + e lies below
 * floor cannot win: floor is the best exact score so far or the largest f
 * - e of the block, whichever is higher (bohb_propose keeps it as the
 * candidates come). So the exact score is computed only for the others
 * (usually one or two of 64); bohb_propose has already dropped the
 * candidates whose g alone shows that they cannot win. The choice is the
 * one scoring every candidate exactly would make, bit for bit. */
static void pick_exact(bohb_state *s, size_t nb, double floor, int *found, double *best)
{
    for (size_t i = 0; i < nb; i++) {
        double score = s->blk_f[i], e = s->blk_e[i];
        if (e > 0.0) {
            if (score + e < floor)
                continue;
            const double *u = s->blk_u + i * s->d;
            score = fresh__kde_logpdf(s->good, u) - fresh__kde_logpdf(s->bad, u);
        }
        if (isnan(score))
            continue;
        if (!*found || score > *best) {
            *found = 1;
            *best = score;
            memcpy(s->x_best, s->blk_x + i * s->d, s->d * sizeof(double));
        }
    }
}

static int bohb_propose(void *state, const fresh_propose_ctx *ctx, gsl_rng *rng, double *x,
                        int *model_based)
{
    bohb_state *s = state;
    if (model_based)
        *model_based = 0;
    if (!s || !s->space || !rng || !x)
        return FRESH_EINVAL;
    /* one draw decides random vs model, whether or not a model exists, so
     * that the stream is consumed the same way in both cases */
    double coin = gsl_rng_uniform(rng);
    int hedge;
    size_t n_pairs;
    double tau;
    int rc = hedge_check(s, ctx, &hedge, &n_pairs, &tau);
    if (rc != FRESH_OK)
        return rc;
    if (hedge) {
        rc = fresh__sampler_random_draw(s->space, ctx, rng, x);
        if (rc == FRESH_OK && model_based)
            *model_based = FRESH_PROPOSAL_HEDGE;
        return rc;
    }
    /* a random proposal leaves the model alone: the KDEs are refitted when
     * a model proposal needs them (a fit is a function of the rows and
     * the pending points, so fitting later fits the same) */
    size_t n_good = 0, n_bad = 0;
    const obs_set *o = model_set(s, ctx, &n_good, &n_bad);
    if (!o || coin < s->p.random_fraction)
        return fresh__sampler_random_draw(s->space, ctx, rng, x);
    if ((rc = fit_model(s, ctx, o, n_good, n_bad)) != FRESH_OK)
        return rc;

    size_t d = s->d, nb = 0;
    int found = 0;
    /* floor: no candidate whose score lies below it can win (the best
     * exact score so far, or a screened score minus its bound) */
    double best = -INFINITY, floor = -INFINITY;
    for (size_t c = 0; c < s->p.num_samples; c++) {
        double *u = s->blk_u + nb * d, *xc = s->blk_x + nb * d;
        rc = fresh__kde_sample(s->good, rng, s->p.bandwidth_factor, u);
        if (rc != FRESH_OK)
            return rc;
        fresh_space_decode(s->space, u, xc);
        if (fresh_space_is_forbidden(s->space, xc))
            continue;
        if (ctx && ctx->is_duplicate && ctx->is_duplicate(ctx->dup_arg, xc))
            continue;
        fresh_space_encode(s->space, xc, u);
        /* score = log l - log g < floor, so that the candidate cannot win,
         * once log g > log l + its error - floor */
        double el, eg, ll = fresh__kde_logpdf_screen(s->good, u, INFINITY, &el);
        double above = ll + el - floor;
        double lg = fresh__kde_logpdf_screen(s->bad, u, isnan(above) ? INFINITY : above, &eg);
        if (isinf(eg))
            continue; /* log g > above: dropped */
        s->blk_f[nb] = ll - lg;
        s->blk_e[nb] = el + eg;
        if (s->blk_f[nb] - s->blk_e[nb] > floor) /* false for NaN */
            floor = s->blk_f[nb] - s->blk_e[nb];
        if (++nb == CAND_BLOCK) {
            pick_exact(s, nb, floor, &found, &best);
            nb = 0;
            floor = best;
        }
    }
    pick_exact(s, nb, floor, &found, &best);
    if (!found)
        return fresh__sampler_random_draw(s->space, ctx, rng, x);
    memcpy(x, s->x_best, d * sizeof(double));
    s->last_score = best;
    if (model_based)
        *model_based = 1;
    return FRESH_OK;
}

static const fresh_sampler_type bohb_type = {
    "bohb", sizeof(bohb_state), bohb_init, bohb_destroy, bohb_observe, bohb_propose,
};

const fresh_sampler_type *const fresh_sampler_bohb = &bohb_type;
