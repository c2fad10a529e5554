/* The adaptive scheduler's fidelity check measures on an unbiased sample
 * (lib/study.c passes rung losses of random proposals only).
 *
 * A scripted study: one parameter x in [0, 1], budgets 1..27 (eta 3), the
 * max-budget loss is x, and the lower budgets rank faithfully everywhere
 * except in the region where the model concentrates, x < 0.1, where they
 * are reversed (0.1 - x): low budgets that rank a random sample almost
 * perfectly (tau about 0.98) and the model's own picks backwards. The model
 * (BOHB, trained at the max budget) sends two thirds of the brackets'
 * configurations into x < 0.1. Measured on its picks, tau falls far below
 * FRESH_ADAPTIVE_MIN_TAU and the scheduler used to drop the low brackets;
 * measured on the random proposals, the low budgets are trusted and every
 * Hyperband iteration keeps its aggressive bracket. Fixed seed, one worker. */
#include <criterion/criterion.h>
#include <math.h>

#include "fresh/scheduler.h"
#include "fresh/study.h"
#include "fresh/trial.h"
#include "internal.h"
#include "study_fixtures.h"

static double rung_loss(double x, double b) { return b >= 27.0 || x >= 0.1 ? x : 0.1 - x; }

static int objective(fresh_trial *t, void *user)
{
    (void)user;
    double x = fresh_trial_float(t, "x");
    for (double r = fresh_trial_next_rung(t, fresh_trial_resume_from(t)); !isnan(r);
         r = fresh_trial_next_rung(t, r))
        if (!fresh_trial_report(t, r, rung_loss(x, r)))
            break;
    return 0;
}

/* Kendall's tau of (loss at budget 1, loss at 27) over the jobs of the
 * brackets that start at 27 (from scratch: no promotion chose them), for
 * model-chosen (model = 1) or random (model = 0) configurations. */
static double tau_of(const fresh_study *s, int model, size_t *n_pairs)
{
    double a[512], b[512];
    size_t n = 0;
    for (size_t i = 0; i < fresh_study_n_jobs(s) && n < 512; i++) {
        fresh_job_info ji;
        cr_assert_eq(fresh_study_job(s, i, &ji), FRESH_OK);
        if (ji.stage != 0 || ji.budget != 27.0 || ji.status != FRESH_JOB_COMPLETED ||
            (ji.model_based != 0) != model)
            continue;
        for (size_t r = 0; r < ji.n_reports; r++)
            if (ji.report_steps[r] == 1.0) {
                a[n] = ji.report_losses[r];
                b[n] = ji.loss;
                n++;
            }
    }
    *n_pairs = n;
    return fresh__kendall_tau(a, b, n);
}

Test(adaptive_fidelity, random_pairs_decide_not_the_model_s)
{
    fresh_space *sp = fresh_space_create();
    cr_assert_eq(fresh_space_add_float(sp, "x", 0.0, 1.0, 0), FRESH_OK);
    fresh_study_params p = fx_params(); /* one worker */
    p.max_budget = 27;
    p.seed = 5;
    p.scheduler = fresh_scheduler_adaptive;
    p.sampler = fresh_sampler_bohb;
    p.early_stopping = 0;
    p.max_brackets = 4 * 15; /* 15 Hyperband iterations if nothing is skipped */
    fresh_study *s = fx_study(sp, &p);
    cr_assert_not_null(s);
    int rc;
    rc = fresh_study_optimize(s, objective, NULL);
    cr_assert(rc >= 0, "optimize: %s", fresh_study_errmsg(s));

    /* the model's picks disagree, the random ones agree */
    size_t n_model, n_random;
    double tau_model = tau_of(s, 1, &n_model), tau_random = tau_of(s, 0, &n_random);
    cr_assert(n_model >= FRESH_ADAPTIVE_MIN_PAIRS && tau_model < FRESH_ADAPTIVE_MIN_TAU,
              "model-chosen pairs: %zu, tau %g", n_model, tau_model);
    cr_assert(n_random >= FRESH_ADAPTIVE_MIN_PAIRS && tau_random >= FRESH_ADAPTIVE_MIN_TAU,
              "random pairs: %zu, tau %g", n_random, tau_random);

    /* so no bracket is skipped: every Hyperband iteration (one bracket
     * at each first budget 1, 3, 9, 27) is whole */
    double start[64];
    for (int k = 0; k < 64; k++)
        start[k] = NAN;
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        cr_assert_eq(fresh_study_job(s, i, &ji), FRESH_OK);
        if (ji.stage == 0 && ji.bracket >= 0 && ji.bracket < 64)
            start[ji.bracket] = ji.budget;
    }
    int at_1 = 0, at_27 = 0;
    for (int k = 0; k < 64; k++) {
        at_1 += start[k] == 1.0;
        at_27 += start[k] == 27.0;
    }
    cr_assert_eq(at_1, 15, "brackets starting at budget 1: %d (at 27: %d)", at_1, at_27);
    cr_assert_eq(at_27, 15);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}
