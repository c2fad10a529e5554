/* The public API's promises to an outside client (issue 17): the incumbent
 * is the best loss at the maximum budget (the any-budget best is a separate
 * call), the target stops on the incumbent only, the trajectory says which is
 * which; an objective can learn the rung budgets and report exactly there;
 * fresh_trial_checkpoint(t, NULL) is allowed; on_job is not called for
 * replayed jobs. One worker or ask/tell: deterministic. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <unistd.h>

#include "study_fixtures.h"

static fresh_study *make(fresh_space *sp, fresh_study_params *p)
{
    int rc;
    char err[512];
    fresh_study *s = fresh_study_create(sp, p, &rc, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    return s;
}

/* Low budgets look excellent (loss 0.01 / budget), the maximum budget tells
 * the truth (1 + base): a low-budget loss must never be the incumbent. */
static int fx_misleading(fresh_trial *t, void *user)
{
    (void)user;
    double b = fresh_trial_budget(t);
    fresh_trial_set_loss(t, b == 9.0 ? 1 + fx_base(t) : 0.01 / b);
    return 0;
}

Test(study_api, incumbent_is_max_budget_only)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 3;
    p.scheduler = fresh_scheduler_hyperband;
    fresh_study *s = make(sp, &p);
    cr_assert_eq(fresh_study_best_any_budget(s, NULL, NULL, NULL, NULL), FRESH_ENOTFOUND);
    fresh_trial *t;
    int rc, seen_low_only = 0, seen_max = 0;
    double best_max = INFINITY;
    while ((rc = fresh_study_ask(s, &t)) == FRESH_OK) {
        double b = fresh_trial_budget(t);
        fx_misleading(t, NULL);
        double l = b == 9.0 ? 1 + fx_base(t) : 0.01 / b;
        cr_assert_eq(fresh_study_tell(s, t), FRESH_OK);
        if (b == 9.0 && l < best_max)
            best_max = l;
        uint64_t id;
        double loss, budget;
        const double *x;
        if (isinf(best_max)) {
            /* only lower budgets so far: no incumbent, but progress */
            cr_assert_eq(fresh_study_incumbent(s, &id, &loss, &budget, &x), FRESH_ENOTFOUND);
            cr_assert_eq(fresh_study_best_any_budget(s, &id, &loss, &budget, &x), FRESH_OK);
            cr_assert_lt(budget, 9.0);
            cr_assert_lt(loss, 0.02);
            cr_assert_eq(x, fresh_study_config(s, id));
            seen_low_only++;
        } else {
            cr_assert_eq(fresh_study_incumbent(s, &id, &loss, &budget, &x), FRESH_OK);
            cr_assert_eq(budget, 9.0);
            cr_assert_eq(loss, best_max);
            cr_assert_eq(x, fresh_study_config(s, id));
            /* once a job completed at the maximum, both agree */
            double l2, b2;
            uint64_t id2;
            cr_assert_eq(fresh_study_best_any_budget(s, &id2, &l2, &b2, NULL), FRESH_OK);
            cr_assert_eq(id2, id);
            cr_assert_eq(l2, loss);
            cr_assert_eq(b2, 9.0);
            seen_max++;
        }
        fresh_traj_point pt;
        cr_assert_eq(fresh_study_trajectory(s, fresh_study_n_trajectory(s) - 1, &pt), FRESH_OK);
        cr_assert_eq(pt.has_incumbent, !isinf(best_max));
        cr_assert_eq(pt.has_best_any, 1);
        if (pt.has_incumbent) {
            cr_assert_eq(pt.loss, best_max);
            cr_assert_eq(pt.budget, 9.0);
        } else {
            cr_assert(isnan(pt.loss) && isnan(pt.budget));
            cr_assert_lt(pt.best_any_budget, 9.0);
        }
    }
    cr_assert_eq(rc, FRESH_BRACKETS_DONE);
    cr_assert_gt(seen_low_only, 5);
    cr_assert_gt(seen_max, 0);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

Test(study_api, target_needs_the_max_budget)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 3;
    p.target_loss = 0.5; /* every low budget beats it, no max-budget loss does */
    fresh_study *s = make(sp, &p);
    cr_assert_eq(fresh_study_optimize(s, fx_misleading, NULL), FRESH_BRACKETS_DONE);
    double loss;
    cr_assert_eq(fresh_study_incumbent(s, NULL, &loss, NULL, NULL), FRESH_OK);
    cr_assert_geq(loss, 1.0);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

Test(study_api, stopped_before_max_budget_has_no_incumbent)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_total_budget = 1; /* 9 budget units: the first stage of bracket 0 */
    p.scheduler = fresh_scheduler_hyperband;
    fresh_study *s = make(sp, &p);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BUDGET_REACHED);
    cr_assert_eq(fresh_study_incumbent(s, NULL, NULL, NULL, NULL), FRESH_ENOTFOUND);
    double budget;
    cr_assert_eq(fresh_study_best_any_budget(s, NULL, NULL, &budget, NULL), FRESH_OK);
    cr_assert_eq(budget, 1.0);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
    cr_assert_eq(fresh_study_incumbent(NULL, NULL, NULL, NULL, NULL), FRESH_ENOTFOUND);
    cr_assert_eq(fresh_study_best_any_budget(NULL, NULL, NULL, NULL, NULL), FRESH_ENOTFOUND);
}

/* ---- rung budgets for the objective ---- */

typedef struct rung_check {
    int errors;
    size_t jobs;
    char why[256];
} rung_check;

static void bad(rung_check *c, const char *why)
{
    if (!c->errors++)
        snprintf(c->why, sizeof c->why, "%s", why);
}

/* Budgets 0.5 .. 40.5, eta 3: rungs 0.5 1.5 4.5 13.5 40.5, none an integer
 * step. Reports only at the rungs, found with fresh_trial_next_rung. */
static int fx_rungs(fresh_trial *t, void *user)
{
    rung_check *c = user;
    c->jobs++;
    static const double want[] = {0.5, 1.5, 4.5, 13.5, 40.5};
    if (fresh_trial_n_rungs(t) != 5)
        bad(c, "n_rungs");
    for (size_t i = 0; i < 5; i++)
        if (fresh_trial_rung(t, i) != want[i])
            bad(c, "rung value");
    if (!isnan(fresh_trial_rung(t, 5)))
        bad(c, "rung out of range");
    double b = fresh_trial_budget(t), last = NAN;
    int budget_is_rung = 0;
    for (size_t i = 0; i < 5; i++)
        budget_is_rung |= want[i] == b;
    if (!budget_is_rung)
        bad(c, "budget is not a rung");
    for (double r = fresh_trial_next_rung(t, fresh_trial_resume_from(t)); !isnan(r);
         r = fresh_trial_next_rung(t, r)) {
        if (r <= fresh_trial_resume_from(t) || r > b)
            bad(c, "next rung out of the job's range");
        last = r;
        if (!fresh_trial_report(t, r, fx_base(t) + 1.0 / r))
            return 0;
    }
    if (last != b)
        bad(c, "the rungs did not end at the budget");
    if (!isnan(fresh_trial_next_rung(t, b)) || !isnan(fresh_trial_next_rung(t, NAN)))
        bad(c, "next rung past the budget");
    /* a step within rounding of a rung counts as that rung */
    if (b > 0.5 && fresh_trial_next_rung(t, 0.5 * (1 + 1e-12)) != 1.5)
        bad(c, "rounding");
    if (fresh_trial_next_rung(t, 0.49) != 0.5)
        bad(c, "below the first rung");
    return 0;
}

Test(study_api, objective_reports_at_rungs)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.min_budget = 0.5;
    p.max_budget = 40.5;
    p.max_brackets = 5;
    p.scheduler = fresh_scheduler_hyperband;
    fresh_study *s = make(sp, &p);
    rung_check c = {0};
    cr_assert_eq(fresh_study_optimize(s, fx_rungs, &c), FRESH_BRACKETS_DONE);
    cr_assert_eq(c.errors, 0, "%d errors, first: %s", c.errors, c.why);
    cr_assert_eq(c.jobs, fresh_study_n_jobs(s));
    /* every job reported at each rung in (resume_from, reached] and nowhere else */
    size_t continued = 0;
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        continued += ji.resume_from > 0;
        double prev = ji.resume_from;
        for (size_t k = 0; k < ji.n_reports; k++) {
            cr_assert_gt(ji.report_steps[k], prev);
            double r = ji.report_steps[k];
            cr_assert(r == 0.5 || r == 1.5 || r == 4.5 || r == 13.5 || r == 40.5, "step %g", r);
            prev = r;
        }
        if (ji.status == FRESH_JOB_COMPLETED)
            cr_assert_eq(ji.report_steps[ji.n_reports - 1], ji.budget);
    }
    cr_assert_gt(continued, 0, "promoted jobs continue from a rung");
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
    cr_assert_eq(fresh_trial_n_rungs(NULL), 0);
    cr_assert(isnan(fresh_trial_rung(NULL, 0)));
    cr_assert(isnan(fresh_trial_next_rung(NULL, 0)));
}

/* ---- checkpoint with a NULL length ---- */

static int fx_ckpt_nolen(fresh_trial *t, void *user)
{
    int *errors = user;
    const double *ck = fresh_trial_checkpoint(t, NULL);
    double from = fresh_trial_resume_from(t);
    if (from == 0 ? ck != NULL : (!ck || *ck != from))
        (*errors)++;
    double b = fresh_trial_budget(t);
    fresh_trial_save_checkpoint(t, &b, sizeof b);
    fresh_trial_set_loss(t, fx_base(t) + 1.0 / b);
    return 0;
}

Test(study_api, checkpoint_with_null_length)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 3;
    fresh_study *s = make(sp, &p);
    int errors = 0;
    cr_assert_eq(fresh_study_optimize(s, fx_ckpt_nolen, &errors), FRESH_BRACKETS_DONE);
    cr_assert_eq(errors, 0);
    cr_assert_null(fresh_trial_checkpoint(NULL, NULL));
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- on_job and resume ---- */

static void count_jobs(const fresh_study *s, const fresh_job_info *job, void *user)
{
    (void)s;
    size_t *n = user;
    cr_assert_neq(job->status, FRESH_JOB_PENDING);
    (*n)++;
}

Test(study_api, on_job_not_called_for_replayed_jobs)
{
    char path[] = "/tmp/fresh-study-api-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    unlink(path);
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 1;
    p.storage = path;
    size_t n = 0;
    p.on_job = count_jobs;
    p.on_job_user = &n;
    fresh_study *s = make(sp, &p);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    size_t jobs = fresh_study_n_jobs(s);
    cr_assert_eq(n, jobs);
    fresh_study_destroy(s);
    n = 0;
    p.resume = 1;
    p.max_brackets = 2;
    s = make(sp, &p);
    cr_assert_eq(n, 0, "on_job ran %zu times while replaying", n);
    cr_assert_eq(fresh_study_n_jobs(s), jobs);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    cr_assert_eq(n, fresh_study_n_jobs(s) - jobs);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
    char side[sizeof path + 8];
    unlink(path);
    const char *ext[] = {"-wal", "-shm", ".lock"};
    for (int i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", path, ext[i]);
        unlink(side);
    }
}

/* ---- presets ---- */

Test(study_api, preset_bohb_reference)
{
    fresh_study_params p = fx_params();
    p.max_total_budget = 7;
    p.workers = 3;
    fresh_study_params before = p;
    cr_assert_eq(fresh_study_params_preset(&p, "no-such-preset"), FRESH_ENOTFOUND);
    cr_assert_eq(memcmp(&p, &before, sizeof p), 0, "an unknown preset changed *p");
    cr_assert_eq(fresh_study_params_preset(NULL, "default"), FRESH_EINVAL);
    cr_assert_eq(fresh_study_params_preset(&p, NULL), FRESH_EINVAL);

    cr_assert_eq(fresh_study_params_preset(&p, "BOHB-Reference"), FRESH_OK);
    cr_assert_eq(p.sampler, fresh_sampler_bohb);
    cr_assert_eq(p.scheduler, fresh_scheduler_hyperband);
    cr_assert_eq(p.bracket_formula, FRESH_BRACKETS_FLOOR);
    cr_assert_eq(p.early_stopping, 0);
    cr_assert_eq(p.sampler_params.bandwidth_factor, 3.0);
    cr_assert_eq(p.sampler_params.bandwidth_floor, 0.0);
    cr_assert_lt(p.sampler_params.hedge_tau, -1.0);
    cr_assert_float_eq(p.sampler_params.random_fraction, 1.0 / 3.0, 1e-15);
    cr_assert_eq(p.sampler_params.num_samples, 64);
    cr_assert_eq(p.sampler_params.top_n_percent, 15.0);
    cr_assert_eq(p.sampler_params.min_bandwidth, 1e-3);
    cr_assert_eq(p.sampler_params.min_points_in_model, 0);
    /* budgets, criteria, workers and seed are the caller's */
    cr_assert_eq(p.min_budget, 1.0);
    cr_assert_eq(p.max_budget, 9.0);
    cr_assert_eq(p.max_total_budget, 7.0);
    cr_assert_eq(p.workers, 3);
    cr_assert_eq(p.seed, 42);

    /* back to the defaults */
    cr_assert_eq(fresh_study_params_preset(&p, "default"), FRESH_OK);
    fresh_study_params d;
    fresh_study_params_default(&d);
    cr_assert_eq(p.scheduler, d.scheduler);
    cr_assert_eq(p.bracket_formula, d.bracket_formula);
    cr_assert_eq(p.early_stopping, d.early_stopping);
    cr_assert_eq(memcmp(&p.sampler_params, &d.sampler_params, sizeof d.sampler_params), 0);
}

Test(study_api, preset_bohb_reference_runs_like_hpbandster)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.min_budget = 1;
    p.max_budget = 81;
    p.max_brackets = 5; /* one Hyperband iteration */
    cr_assert_eq(fresh_study_params_preset(&p, "bohb-reference"), FRESH_OK);
    fresh_study *s = make(sp, &p);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    /* HpBandSter's bracket sizes for 1..81, eta 3 (`fresh plan --floor`):
     * 81, 27, 9, 6, 5 configurations (the paper's formula: 81, 34, 15, 8, 5) */
    cr_assert_eq(st.configs, 81 + 27 + 9 + 6 + 5);
    cr_assert_eq(st.jobs_stopped, 0, "no early stopping inside a stage");
    cr_assert_eq(st.proposals_hedged, 0, "no hedge");
    cr_assert_gt(st.proposals_model, 0);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}
