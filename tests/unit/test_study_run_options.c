/* fresh_study_get_params / fresh_study_set_run_options: what may change
 * between runs of a study (criteria, workers, on_job), validation with
 * nothing changed on error, continuing after force_stop, and refusal for
 * snapshots. One worker: deterministic. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "study_fixtures.h"

static int n_cb;
static void count_job(const fresh_study *s, const fresh_job_info *j, void *user)
{
    (void)s;
    (void)j;
    *(int *)user += 1;
}

Test(study_run_options, get_set_and_continue)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.workers = 1;
    p.max_total_budget = 2;
    int rc;
    char err[512];
    fresh_study *s = fresh_study_create(sp, &p, &rc, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    fresh_study_params q;
    cr_assert_eq(fresh_study_get_params(s, &q), FRESH_OK);
    cr_assert_eq(q.max_total_budget, 2);
    cr_assert_eq(q.seed, p.seed);
    cr_assert_null(q.storage);
    cr_assert_eq(fresh_study_get_params(NULL, &q), FRESH_EINVAL);

    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BUDGET_REACHED);
    size_t n1 = fresh_study_n_jobs(s);

    /* a bad value changes nothing */
    q.max_total_budget = -1;
    cr_assert_eq(fresh_study_set_run_options(s, &q), FRESH_EINVAL);
    cr_assert(strstr(fresh_study_errmsg(s), "max_total_budget"), "%s", fresh_study_errmsg(s));
    fresh_study_params r;
    fresh_study_get_params(s, &r);
    cr_assert_eq(r.max_total_budget, 2);

    /* a larger total budget continues the study, with the callback */
    n_cb = 0;
    q.max_total_budget = 4;
    q.on_job = count_job;
    q.on_job_user = &n_cb;
    q.eta = 99; /* not a run option: ignored */
    cr_assert_eq(fresh_study_set_run_options(s, &q), FRESH_OK);
    fresh_study_get_params(s, &r);
    cr_assert_eq(r.eta, p.eta);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BUDGET_REACHED);
    size_t n2 = fresh_study_n_jobs(s);
    cr_assert_gt(n2, n1);
    cr_assert_eq((size_t)n_cb, n2 - n1);

    /* a stop request made between runs survives setting the options: it
     * stops the next optimize, which ends it; the one after goes on */
    fresh_study_force_stop(s);
    q.max_total_budget = 6;
    cr_assert_eq(fresh_study_set_run_options(s, &q), FRESH_OK);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_STOPPED);
    cr_assert_eq(fresh_study_n_jobs(s), n2);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BUDGET_REACHED);
    cr_assert_gt(fresh_study_n_jobs(s), n2);

    cr_assert_eq(fresh_study_set_run_options(s, NULL), FRESH_EINVAL);
    cr_assert_eq(fresh_study_set_run_options(NULL, &q), FRESH_EINVAL);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

Test(study_run_options, same_results_as_one_run)
{
    /* 2 MBE then 4 MBE gives the jobs of one 4-MBE run */
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.workers = 1;
    p.max_total_budget = 4;
    int rc;
    char err[512];
    fresh_study *one = fresh_study_create(sp, &p, &rc, err, sizeof err);
    p.max_total_budget = 2;
    fresh_study *two = fresh_study_create(sp, &p, &rc, err, sizeof err);
    cr_assert(one && two);
    fresh_study_optimize(one, fx_curve, NULL);
    fresh_study_optimize(two, fx_curve, NULL);
    p.max_total_budget = 4;
    cr_assert_eq(fresh_study_set_run_options(two, &p), FRESH_OK);
    fresh_study_optimize(two, fx_curve, NULL);
    cr_assert_eq(fresh_study_n_jobs(one), fresh_study_n_jobs(two));
    for (size_t i = 0; i < fresh_study_n_jobs(one); i++) {
        fresh_job_info a, b;
        fresh_study_job(one, i, &a);
        fresh_study_job(two, i, &b);
        cr_assert_eq(a.config_id, b.config_id);
        cr_assert_eq(a.budget, b.budget);
        cr_assert(a.loss == b.loss || (isinf(a.loss) && isinf(b.loss)));
    }
    fresh_study_destroy(one);
    fresh_study_destroy(two);
    fresh_space_destroy(sp);
}
