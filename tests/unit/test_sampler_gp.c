/* The GP sampler (gp/sampler_gp.c) and "auto": lookup, errors, the model
 * is used and finds an optimum random search does not, determinism,
 * pending configurations (fantasies), no duplicates, exact integers,
 * inactive dimensions that do not take their default into the model, the
 * training-set cap and which rows it keeps, the auto rule, and the bounds
 * that leave out variances changing no proposal. Fixed seeds throughout. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fresh/rng.h"
#include "fresh/sampler.h"
#include "fresh/space.h"
#include "internal.h"
#include "sampler_fixtures.h"
#include "sampler_gp_internal.h"

static void observe(void *st, uint64_t id, const double *x, double budget, double loss)
{
    fresh_observation o = {id, x, budget, loss, 0.0};
    cr_assert_eq(fresh_sampler_gp->observe(st, &o), FRESH_OK);
}

/* a narrow quadratic bowl at (0.8, 0.3) */
static double bowl(const double *x)
{
    return (x[0] - 0.8) * (x[0] - 0.8) + (x[1] - 0.3) * (x[1] - 0.3);
}

static gsl_rng *rng_at(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    cr_assert_not_null(r);
    gsl_rng_set(r, seed);
    return r;
}

Test(sampler_gp, lookup_and_errors)
{
    cr_assert_eq(fresh_sampler_find("gp"), fresh_sampler_gp);
    cr_assert_eq(fresh_sampler_find("GP"), fresh_sampler_gp);
    cr_assert_eq(fresh_sampler_find("auto"), fresh_sampler_auto);
    fresh_space *sp = unit_cube(2);
    fresh_sampler_params p;
    fresh_sampler_params_default(&p);
    p.random_fraction = 2.0;
    void *st = calloc(1, fresh_sampler_gp->state_size);
    char err[FRESH__ERRMSG_LEN] = "";
    cr_assert_eq(fresh_sampler_gp->init(st, sp, &p, 1, err), FRESH_EINVAL);
    cr_assert(strstr(err, "sampler 'gp'") && strstr(err, "random_fraction"), "%s", err);
    cr_assert_eq(fresh_sampler_gp->init(st, NULL, NULL, 1, err), FRESH_EINVAL);
    fresh_sampler_gp->destroy(st); /* after a failed init: a no-op */
    free(st);
    fresh_space *empty = fresh_space_create();
    st = calloc(1, fresh_sampler_auto->state_size);
    cr_assert_eq(fresh_sampler_auto->init(st, empty, NULL, 1, err), FRESH_EINVAL);
    cr_assert(strstr(err, "sampler 'auto'"), "%s", err);
    free(st);
    fresh_space_destroy(empty);
    fresh_space_destroy(sp);
}

/* Sequential BO on the bowl: 10 random points, then 20 GP proposals. The
 * GP gets within 1e-3 of the optimum (random search with 30 points: about
 * 1e-2 on average), every proposal after the start is model-based, and the
 * model reports its budget and its fits. */
Test(sampler_gp, model_finds_the_bowl)
{
    fresh_space *sp = unit_cube(2);
    fresh_sampler_params p;
    fresh_sampler_params_default(&p);
    p.random_fraction = 0.0;
    void *st = make_sampler(fresh_sampler_gp, sp, &p);
    gsl_rng *r = rng_at(7);
    double x[2], best = INFINITY, best_random = INFINITY;
    uint64_t id = 0;
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(fresh_space_sample(sp, r, x), FRESH_OK);
        observe(st, id++, x, 1.0, bowl(x));
        best_random = fmin(best_random, bowl(x));
    }
    for (int i = 0; i < 20; i++) {
        int mb = -1;
        cr_assert_eq(fresh_sampler_gp->propose(st, NULL, r, x, &mb), FRESH_OK);
        cr_assert_eq(mb, FRESH_PROPOSAL_MODEL, "proposal %d not model-based", i);
        observe(st, id++, x, 1.0, bowl(x));
        best = fmin(best, bowl(x));
    }
    cr_assert(best < 1e-3, "GP best %g (random start %g)", best, best_random);
    fresh__gp_model info;
    cr_assert_eq(fresh__gp_inspect(st, NULL, &info), FRESH_OK);
    cr_assert_eq(info.available, 1);
    cr_assert_eq(info.budget, 1.0);
    cr_assert_eq(info.n_obs, 30);
    cr_assert(info.n_refits >= 10);
    /* the posterior at the optimum is near 0, its mean in loss units */
    double opt[2] = {0.8, 0.3}, m, sd;
    cr_assert_eq(fresh__gp_predict_x(st, opt, &m, &sd), FRESH_OK);
    cr_assert(fabs(m) < 0.02, "mean at the optimum %g", m);
    gsl_rng_free(r);
    free_sampler(fresh_sampler_gp, st);
    fresh_space_destroy(sp);
}

/* No model below min_points (d + 1) observations on every budget, and the
 * largest budget with enough points is the model's. */
Test(sampler_gp, model_budget_as_bohb)
{
    fresh_space *sp = unit_cube(2);
    void *st = make_sampler(fresh_sampler_gp, sp, NULL);
    gsl_rng *r = rng_at(3);
    double x[2];
    fresh__gp_model info;
    cr_assert_eq(fresh__gp_inspect(st, NULL, &info), FRESH_OK);
    cr_assert_eq(info.available, 0);
    for (int i = 0; i < 5; i++) {
        fresh_space_sample(sp, r, x);
        observe(st, (uint64_t)i, x, 1.0, bowl(x));
    }
    for (int i = 0; i < 2; i++) {
        fresh_space_sample(sp, r, x);
        observe(st, 100 + (uint64_t)i, x, 9.0, bowl(x));
    }
    cr_assert_eq(fresh__gp_inspect(st, NULL, &info), FRESH_OK);
    cr_assert_eq(info.budget, 1.0);
    fresh_space_sample(sp, r, x);
    observe(st, 200, x, 9.0, INFINITY); /* a failed job counts, ranks worst */
    cr_assert_eq(fresh__gp_inspect(st, NULL, &info), FRESH_OK);
    cr_assert_eq(info.budget, 9.0);
    cr_assert_eq(info.n_obs, 3);
    gsl_rng_free(r);
    free_sampler(fresh_sampler_gp, st);
    fresh_space_destroy(sp);
}

/* The same observations and the same rng seed give the same proposals. */
Test(sampler_gp, deterministic)
{
    fresh_space *sp = unit_cube(3);
    double xs[2][8][3];
    for (int run = 0; run < 2; run++) {
        void *st = make_sampler(fresh_sampler_gp, sp, NULL);
        gsl_rng *r = rng_at(11);
        double x[3];
        for (int i = 0; i < 8; i++) {
            fresh_space_sample(sp, r, x);
            observe(st, (uint64_t)i, x, 1.0, bowl(x) + x[2]);
        }
        for (int i = 0; i < 8; i++) {
            cr_assert_eq(fresh_sampler_gp->propose(st, NULL, r, xs[run][i], NULL), FRESH_OK);
            observe(st, 100 + (uint64_t)i, xs[run][i], 1.0, bowl(xs[run][i]) + xs[run][i][2]);
        }
        gsl_rng_free(r);
        free_sampler(fresh_sampler_gp, st);
    }
    cr_assert_eq(memcmp(xs[0], xs[1], sizeof xs[0]), 0);
    fresh_space_destroy(sp);
}

/* Pending configurations: with the GP's favourite pending, the next
 * proposal goes elsewhere (its EI there has collapsed). */
Test(sampler_gp, pending_fantasies_spread_proposals)
{
    fresh_space *sp = unit_cube(2);
    fresh_sampler_params p;
    fresh_sampler_params_default(&p);
    p.random_fraction = 0.0;
    void *st = make_sampler(fresh_sampler_gp, sp, &p);
    gsl_rng *r = rng_at(5);
    double x[2];
    for (int i = 0; i < 12; i++) {
        fresh_space_sample(sp, r, x);
        observe(st, (uint64_t)i, x, 1.0, bowl(x));
    }
    double first[2], again[2], other[2];
    gsl_rng_set(r, 99);
    cr_assert_eq(fresh_sampler_gp->propose(st, NULL, r, first, NULL), FRESH_OK);
    gsl_rng_set(r, 99);
    cr_assert_eq(fresh_sampler_gp->propose(st, NULL, r, again, NULL), FRESH_OK);
    cr_assert_eq(memcmp(first, again, sizeof first), 0);
    const double *pend[1] = {first};
    fresh_propose_ctx ctx = {1.0, pend, 1, NULL, NULL, 0, 0, 0};
    gsl_rng_set(r, 99);
    cr_assert_eq(fresh_sampler_gp->propose(st, &ctx, r, other, NULL), FRESH_OK);
    double dist = hypot(other[0] - first[0], other[1] - first[1]);
    cr_assert(dist > 0.02, "with the first proposal pending the next is %g away", dist);
    fresh__gp_model info;
    cr_assert_eq(fresh__gp_inspect(st, &ctx, &info), FRESH_OK);
    cr_assert_eq(info.n_pending, 1);
    cr_assert_eq(fresh__gp_inspect(st, NULL, &info), FRESH_OK);
    cr_assert_eq(info.n_pending, 0);
    gsl_rng_free(r);
    free_sampler(fresh_sampler_gp, st);
    fresh_space_destroy(sp);
}

/* A discrete space of 3 x 3 configurations: with each proposal marked as a
 * duplicate afterwards, 9 proposals are the 9 configurations. */
typedef struct seen {
    double x[16][2];
    int n;
} seen;

static int is_dup(void *arg, const double *x)
{
    seen *s = arg;
    for (int i = 0; i < s->n; i++)
        if (s->x[i][0] == x[0] && s->x[i][1] == x[1])
            return 1;
    return 0;
}

Test(sampler_gp, no_duplicates)
{
    fresh_space *sp = fresh_space_create();
    const char *lv[3] = {"a", "b", "c"};
    cr_assert_eq(fresh_space_add_categorical(sp, "p", 3, lv), FRESH_OK);
    cr_assert_eq(fresh_space_add_categorical(sp, "q", 3, lv), FRESH_OK);
    fresh_sampler_params p;
    fresh_sampler_params_default(&p);
    p.random_fraction = 0.0;
    void *st = make_sampler(fresh_sampler_gp, sp, &p);
    gsl_rng *r = rng_at(2);
    double x[2] = {0, 0};
    observe(st, 1000, x, 1.0, 0.0);
    x[0] = 1;
    observe(st, 1001, x, 1.0, 1.0);
    x[1] = 2;
    observe(st, 1002, x, 1.0, 2.0);
    seen s = {.n = 0};
    fresh_propose_ctx ctx = {1.0, NULL, 0, is_dup, &s, 0, 0, 0};
    int model = 0;
    for (int i = 0; i < 9; i++) {
        int mb;
        cr_assert_eq(fresh_sampler_gp->propose(st, &ctx, r, x, &mb), FRESH_OK);
        cr_assert_not(is_dup(&s, x), "proposal %d (%g, %g) repeats one", i, x[0], x[1]);
        model += mb == FRESH_PROPOSAL_MODEL;
        s.x[s.n][0] = x[0];
        s.x[s.n][1] = x[1];
        s.n++;
    }
    cr_assert(model >= 8, "model-based proposals: %d", model);
    gsl_rng_free(r);
    free_sampler(fresh_sampler_gp, st);
    fresh_space_destroy(sp);
}

/* Integers come out on their grid, ordinals as levels, every proposal valid;
 * the model steers an integer towards its optimum. */
Test(sampler_gp, integers_and_ordinals_exact)
{
    fresh_space *sp = fresh_space_create();
    cr_assert_eq(fresh_space_add_int(sp, "n", 1, 64, 1), FRESH_OK);
    const double lv[5] = {1, 2, 4, 8, 16};
    cr_assert_eq(fresh_space_add_ordinal(sp, "o", 5, lv), FRESH_OK);
    cr_assert_eq(fresh_space_add_float(sp, "f", 0, 1, 0), FRESH_OK);
    fresh_sampler_params p;
    fresh_sampler_params_default(&p);
    p.random_fraction = 0.0;
    void *st = make_sampler(fresh_sampler_gp, sp, &p);
    gsl_rng *r = rng_at(4);
    double x[3];
    uint64_t id = 0;
    double best = INFINITY;
#define LOSS(x) (fabs(log((x)[0] / 12.0)) + fabs((x)[1] - 3.0) * 0.3 + ((x)[2] - 0.5) * ((x)[2] - 0.5))
    for (int i = 0; i < 8; i++) {
        fresh_space_sample(sp, r, x);
        observe(st, id++, x, 1.0, LOSS(x));
    }
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(fresh_sampler_gp->propose(st, NULL, r, x, NULL), FRESH_OK);
        char msg[256];
        cr_assert_eq(fresh_space_check(sp, x, msg, sizeof msg), FRESH_OK, "%s", msg);
        observe(st, id++, x, 1.0, LOSS(x));
        best = fmin(best, LOSS(x));
    }
    cr_assert(best < 0.15, "best %g", best);
#undef LOSS
    gsl_rng_free(r);
    free_sampler(fresh_sampler_gp, st);
    fresh_space_destroy(sp);
}

/* A conditional parameter: its default never enters the model. Two spaces
 * differ only in the default of the child "m"; the same observations
 * (half of them with m inactive) give exactly the same posterior. */
static fresh_space *cond_space(double m_default)
{
    fresh_space *sp = fresh_space_create();
    const char *opts[2] = {"adam", "sgd"};
    cr_assert_eq(fresh_space_add_categorical(sp, "opt", 2, opts), FRESH_OK);
    cr_assert_eq(fresh_space_add_float(sp, "m", 0, 1, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_float(sp, "lr", 0, 1, 0), FRESH_OK);
    double sgd = 1;
    cr_assert_eq(fresh_space_add_condition(sp, "m", "opt", 1, &sgd, 0), FRESH_OK);
    cr_assert_eq(fresh_space_set_default(sp, "m", m_default), FRESH_OK);
    return sp;
}

Test(sampler_gp, inactive_default_does_not_leak)
{
    fresh_space *a = cond_space(0.05), *b = cond_space(0.95);
    void *sa = make_sampler(fresh_sampler_gp, a, NULL), *sb = make_sampler(fresh_sampler_gp, b, NULL);
    gsl_rng *r = rng_at(8);
    double x[3];
    for (uint64_t i = 0; i < 12; i++) {
        cr_assert_eq(fresh_space_sample(a, r, x), FRESH_OK);
        double loss = x[0] == 1 ? x[1] + x[2] : 0.5 + x[2];
        observe(sa, i, x, 1.0, loss);
        observe(sb, i, x, 1.0, loss);
    }
    fresh__gp_model ia, ib;
    cr_assert_eq(fresh__gp_inspect(sa, NULL, &ia), FRESH_OK);
    cr_assert_eq(fresh__gp_inspect(sb, NULL, &ib), FRESH_OK);
    const double q[3][3] = {{0, NAN, 0.3}, {1, 0.05, 0.3}, {1, 0.95, 0.7}};
    for (int i = 0; i < 3; i++) {
        double ma, sda, mb, sdb;
        cr_assert_eq(fresh__gp_predict_x(sa, q[i], &ma, &sda), FRESH_OK);
        cr_assert_eq(fresh__gp_predict_x(sb, q[i], &mb, &sdb), FRESH_OK);
        cr_assert_eq(ma, mb, "query %d: %.17g vs %.17g", i, ma, mb);
        cr_assert_eq(sda, sdb);
    }
    /* and an inactive m is not the default: (adam, m inactive) is predicted
     * unlike an sgd configuration with m at its default */
    double m_in, sd_in, m_def, sd_def;
    const double inactive[3] = {0, NAN, 0.3}, at_default[3] = {0, 0.05, 0.3};
    cr_assert_eq(fresh__gp_predict_x(sa, inactive, &m_in, &sd_in), FRESH_OK);
    cr_assert_eq(fresh__gp_predict_x(sa, at_default, &m_def, &sd_def), FRESH_OK);
    cr_assert_neq(m_in, m_def);
    gsl_rng_free(r);
    free_sampler(fresh_sampler_gp, sa);
    free_sampler(fresh_sampler_gp, sb);
    fresh_space_destroy(a);
    fresh_space_destroy(b);
}

/* Past FRESH__GP_MAX_TRAIN observations the GP trains on that many rows,
 * the best observation among them. */
Test(sampler_gp, training_set_is_capped)
{
    fresh_space *sp = unit_cube(2);
    void *st = make_sampler(fresh_sampler_gp, sp, NULL);
    gsl_rng *r = rng_at(9);
    double x[2];
    for (uint64_t i = 0; i < 3 * FRESH__GP_MAX_TRAIN; i++) {
        fresh_space_sample(sp, r, x);
        observe(st, i, x, 1.0, bowl(x));
    }
    fresh__gp_model info;
    cr_assert_eq(fresh__gp_inspect(st, NULL, &info), FRESH_OK);
    cr_assert_eq(info.n_obs, 3 * FRESH__GP_MAX_TRAIN);
    cr_assert_eq(info.n_train, FRESH__GP_MAX_TRAIN);
    cr_assert_eq(fresh_sampler_gp->propose(st, NULL, r, x, NULL), FRESH_OK);
    gsl_rng_free(r);
    free_sampler(fresh_sampler_gp, st);
    fresh_space_destroy(sp);
}

/* by loss, then id */
static int cmp_loss_id(const void *a, const void *b)
{
    const double *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

static int cmp_id_desc(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return (x[1] < y[1]) - (x[1] > y[1]);
}

static int cmp_id_asc(const void *a, const void *b) { return -cmp_id_desc(a, b); }

/* The capped training set is the best half by loss and the most recently
 * created (largest ids) of the others, in id order, whatever the order of
 * arrival: the model's predictions are those of a GP given exactly those
 * rows (chosen here by sorting), bit for bit. */
#define CAP_N (3 * FRESH__GP_MAX_TRAIN + 17)
Test(sampler_gp, training_set_is_the_best_half_and_the_newest)
{
    fresh_space *sp = unit_cube(2);
    void *st = make_sampler(fresh_sampler_gp, sp, NULL);
    gsl_rng *r = rng_at(11);
    static double xs[CAP_N][2], rows[CAP_N][3]; /* (loss, id, index) */
    for (size_t i = 0; i < CAP_N; i++) {
        fresh_space_sample(sp, r, xs[i]);
        /* ids arrive shuffled: i * 7 mod CAP_N (CAP_N is not a multiple of 7) */
        uint64_t id = (uint64_t)(i * 7 % CAP_N);
        double loss = bowl(xs[i]);
        observe(st, id, xs[i], 1.0, loss);
        rows[i][0] = loss;
        rows[i][1] = (double)id;
        rows[i][2] = (double)i;
    }
    fresh__gp_model info;
    cr_assert_eq(fresh__gp_inspect(st, NULL, &info), FRESH_OK);
    cr_assert_eq(info.n_train, FRESH__GP_MAX_TRAIN);
    size_t m = FRESH__GP_MAX_TRAIN, half = m / 2;
    qsort(rows, CAP_N, sizeof rows[0], cmp_loss_id);
    qsort(rows + half, CAP_N - half, sizeof rows[0], cmp_id_desc);
    qsort(rows, m, sizeof rows[0], cmp_id_asc);
    static double X[FRESH__GP_MAX_TRAIN * 2], y[FRESH__GP_MAX_TRAIN];
    double sum = 0.0, sq = 0.0;
    for (size_t i = 0; i < m; i++) {
        fresh_space_encode(sp, xs[(size_t)rows[i][2]], X + 2 * i);
        y[i] = rows[i][0];
        sum += y[i];
    }
    double mean = sum / (double)m;
    for (size_t i = 0; i < m; i++)
        sq += (y[i] - mean) * (y[i] - mean);
    double sd = sqrt(sq / (double)m);
    cr_assert(info.y_mean == mean && info.y_sd == sd, "standardization %.17g %.17g vs %.17g %.17g",
              info.y_mean, info.y_sd, mean, sd);
    for (size_t i = 0; i < m; i++)
        y[i] = (y[i] - mean) / sd;
    fresh__gp *ref = NULL;
    cr_assert_eq(fresh__gp_create(2, NULL, &ref), FRESH_OK);
    cr_assert_eq(fresh__gp_set_theta(ref, fresh__gp_theta(info.model)), FRESH_OK);
    cr_assert_eq(fresh__gp_set_data(ref, X, y, m), FRESH_OK);
    for (int k = 0; k < 5; k++) {
        double q[2] = {0.1 + 0.2 * k, 0.9 - 0.15 * k}, m1, v1, m2, v2;
        fresh__gp_predict(info.model, q, &m1, &v1, NULL, NULL);
        fresh__gp_predict(ref, q, &m2, &v2, NULL, NULL);
        cr_assert(m1 == m2 && v1 == v2, "at %g %g: %.17g %.17g vs %.17g %.17g", q[0], q[1], m1, v1,
                  m2, v2);
    }
    fresh__gp_destroy(ref);
    gsl_rng_free(r);
    free_sampler(fresh_sampler_gp, st);
    fresh_space_destroy(sp);
}

/* "auto": the GP on small continuous spaces, the KDE on large or mostly
 * categorical / conditional ones; a KDE proposal is BOHB's. */
Test(sampler_gp, auto_rule)
{
    fresh_space *small = unit_cube(2), *big = unit_cube(FRESH__AUTO_MAX_DIM + 1);
    cr_assert_eq(fresh__gp_auto_use_gp(small, 10), 1);
    cr_assert_eq(fresh__gp_auto_use_gp(big, 10), 0);
    fresh_space *cats = fresh_space_create();
    const char *lv[2] = {"0", "1"};
    for (int j = 0; j < 4; j++) {
        char name[8];
        snprintf(name, sizeof name, "c%d", j);
        cr_assert_eq(fresh_space_add_categorical(cats, name, 2, lv), FRESH_OK);
    }
    cr_assert_eq(fresh_space_add_float(cats, "x", 0, 1, 0), FRESH_OK);
    cr_assert_eq(fresh__gp_auto_use_gp(cats, 10), 0);
    /* the big space's proposals are BOHB's, draw for draw */
    fresh_sampler_params p;
    fresh_sampler_params_default(&p);
    void *sa = make_sampler(fresh_sampler_auto, big, &p), *sb = make_sampler(fresh_sampler_bohb, big, &p);
    gsl_rng *r = rng_at(1);
    double x[32], xa[32], xb[32];
    for (uint64_t i = 0; i < 30; i++) {
        fresh_space_sample(big, r, x);
        fresh_observation o = {i, x, 1.0, bowl(x), 0.0};
        cr_assert_eq(fresh_sampler_auto->observe(sa, &o), FRESH_OK);
        cr_assert_eq(fresh_sampler_bohb->observe(sb, &o), FRESH_OK);
    }
    gsl_rng *ra = rng_at(21), *rb = rng_at(21);
    for (int i = 0; i < 5; i++) {
        int ma, mb;
        cr_assert_eq(fresh_sampler_auto->propose(sa, NULL, ra, xa, &ma), FRESH_OK);
        cr_assert_eq(fresh_sampler_bohb->propose(sb, NULL, rb, xb, &mb), FRESH_OK);
        cr_assert_eq(memcmp(xa, xb, (FRESH__AUTO_MAX_DIM + 1) * sizeof(double)), 0);
        cr_assert_eq(ma, mb);
    }
    gsl_rng_free(r);
    gsl_rng_free(ra);
    gsl_rng_free(rb);
    free_sampler(fresh_sampler_auto, sa);
    free_sampler(fresh_sampler_bohb, sb);
    fresh_space_destroy(small);
    fresh_space_destroy(big);
    fresh_space_destroy(cats);
}

/* The bounds that leave out variances (score_candidates, the local search)
 * change no proposal: a sampler with them and one without, fed the same
 * observations on a mixed space (continuous, integer, categorical), propose
 * the same configurations, bit for bit, with pending jobs too, while most
 * candidates' variances are left out. */
Test(sampler_gp, bounds_change_no_proposal)
{
    fresh_space *sp = fresh_space_create();
    cr_assert_not_null(sp);
    cr_assert_eq(fresh_space_add_float(sp, "a", 0.0, 1.0, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_float(sp, "b", 0.0, 1.0, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(sp, "c", 0, 9, 0), FRESH_OK);
    const char *lv[3] = {"x", "y", "z"};
    cr_assert_eq(fresh_space_add_categorical(sp, "d", 3, lv), FRESH_OK);
    fresh_sampler_params p;
    fresh_sampler_params_default(&p);
    p.random_fraction = 0.0;
    void *on = make_sampler(fresh_sampler_gp, sp, &p), *off = make_sampler(fresh_sampler_gp, sp, &p);
    fresh__gp_use_bound(off, 0);
    gsl_rng *r = rng_at(5), *r_on = rng_at(6), *r_off = rng_at(6);
    double x[4], y_on[4], y_off[4], pend[2][4];
    const double *pp[2] = {pend[0], pend[1]};
    uint64_t id = 0;
    for (int k = 0; k < 40; k++, id++) {
        fresh_space_sample(sp, r, x);
        double loss = bowl(x) + 0.01 * x[2] + (x[3] == 1.0 ? 0.0 : 0.2);
        fresh_observation o = {id, x, 1.0, loss, 0.0};
        cr_assert_eq(fresh_sampler_gp->observe(on, &o), FRESH_OK);
        cr_assert_eq(fresh_sampler_gp->observe(off, &o), FRESH_OK);
    }
    for (int k = 0; k < 30; k++, id++) {
        fresh_propose_ctx ctx = {1.0, NULL, 0, NULL, NULL, 0.0, 0.0, 0};
        if (k % 3 == 2) { /* two pending jobs: fantasies */
            fresh_space_sample(sp, r, pend[0]);
            fresh_space_sample(sp, r, pend[1]);
            ctx.pending = pp;
            ctx.n_pending = 2;
        }
        cr_assert_eq(fresh_sampler_gp->propose(on, &ctx, r_on, y_on, NULL), FRESH_OK);
        cr_assert_eq(fresh_sampler_gp->propose(off, &ctx, r_off, y_off, NULL), FRESH_OK);
        cr_assert(memcmp(y_on, y_off, sizeof y_on) == 0, "proposal %d: (%.17g %.17g %g %g) vs (%.17g %.17g %g %g)",
                  k, y_on[0], y_on[1], y_on[2], y_on[3], y_off[0], y_off[1], y_off[2], y_off[3]);
        double loss = bowl(y_on) + 0.01 * y_on[2] + (y_on[3] == 1.0 ? 0.0 : 0.2);
        fresh_observation o = {id, y_on, 1.0, loss, 0.0};
        cr_assert_eq(fresh_sampler_gp->observe(on, &o), FRESH_OK);
        cr_assert_eq(fresh_sampler_gp->observe(off, &o), FRESH_OK);
    }
    fresh__gp_model a, b;
    cr_assert_eq(fresh__gp_inspect(on, NULL, &a), FRESH_OK);
    cr_assert_eq(fresh__gp_inspect(off, NULL, &b), FRESH_OK);
    cr_assert(b.n_screened > 0 && b.n_var == b.n_screened, "off: %zu of %zu", b.n_var, b.n_screened);
    cr_assert(a.n_screened == b.n_screened && 2 * a.n_var < a.n_screened,
              "on: %zu variances of %zu candidates", a.n_var, a.n_screened);
    gsl_rng_free(r);
    gsl_rng_free(r_on);
    gsl_rng_free(r_off);
    free_sampler(fresh_sampler_gp, on);
    free_sampler(fresh_sampler_gp, off);
    fresh_space_destroy(sp);
}
