/* The asynchronous schedulers inside a study: promoted jobs continue from
 * their configuration's checkpoint at the rung they left, budget is charged
 * for the continuation only, max_brackets counts groups of new
 * configurations, early stopping acts inside a rung, and the BOHB sampler
 * gets its observations. One worker: results are deterministic. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fresh/scheduler.h"
#include "study_fixtures.h"

static fresh_study *make(fresh_space *sp, fresh_study_params *p)
{
    fresh_study *s = fx_study(sp, p);
    cr_assert_not_null(s);
    return s;
}

/* Per configuration: the budget its last job reached (0: none yet). */
typedef struct reached {
    double at[256];
    int errors;
} reached;

/* A promoted job must get its own configuration's checkpoint, saved at the
 * budget it resumes from, which its last job reached. */
static int pause_continue(fresh_trial *t, void *user)
{
    reached *r = user;
    uint64_t id = fresh_trial_config_id(t);
    size_t len = 0;
    const double *ck = fresh_trial_checkpoint(t, &len);
    double from = fresh_trial_resume_from(t), b = fresh_trial_budget(t);
    if (id >= 256 || from != r->at[id])
        r->errors++;
    else if (from > 0 && (!ck || len != sizeof(double) || *ck != from))
        r->errors++;
    else if (from == 0 && ck)
        r->errors++;
    if (id < 256)
        r->at[id] = b;
    fresh_trial_save_checkpoint(t, &b, sizeof b);
    fresh_trial_set_loss(t, fx_base(t) + 1.0 / b);
    return 0;
}

static void checkpoints(const fresh_scheduler_type *type, long brackets, size_t want_configs)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params(); /* 1..9, eta 3 */
    p.scheduler = type;
    p.max_brackets = brackets;
    fresh_study *s = make(sp, &p);
    reached r = {{0}, 0};
    cr_assert_eq(fresh_study_optimize(s, pause_continue, &r), FRESH_BRACKETS_DONE, "%s",
                 fresh_study_errmsg(s));
    cr_assert_eq(r.errors, 0, "%s: a continued job lacked its checkpoint", type->name);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    cr_assert_eq(st.configs, want_configs, "%s: %zu configurations", type->name, st.configs);
    cr_assert_eq(st.brackets_opened, brackets);
    double sum = 0;
    size_t continued = 0, to_top = 0;
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        cr_assert_eq(ji.status, FRESH_JOB_COMPLETED);
        cr_assert_eq(ji.cost, ji.budget - ji.resume_from);
        sum += ji.cost;
        continued += ji.resume_from > 0;
        to_top += ji.resume_from > 0 && ji.budget == 9;
    }
    cr_assert_eq(st.used_budget, sum);
    cr_assert_geq(continued, 3, "%s: %zu promotions", type->name, continued);
    cr_assert_geq(to_top, 1);
    uint64_t inc;
    double budget;
    cr_assert_eq(fresh_study_incumbent(s, &inc, NULL, &budget, NULL), FRESH_OK);
    cr_assert_eq(budget, 9.0);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

Test(study_asha, promoted_jobs_continue_from_their_checkpoint)
{
    /* two groups of 9 new configurations */
    checkpoints(fresh_scheduler_asha, 2, 18);
    /* three groups: ladders 0, 1, 2 (9 + 5 + 3), one Hyperband iteration's
     * configurations; the round robin's 18th draw needs a fourth group */
    checkpoints(fresh_scheduler_async_hyperband, 3, 17);
}

/* Early stopping inside a rung: a promoted job (1 -> 3, reports at 2 and
 * 3) is stopped when the quota of its group's rung beat it at a step. */
static size_t stopped_with(int early_stopping)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.scheduler = fresh_scheduler_asha;
    p.max_brackets = 6;
    p.early_stopping = early_stopping;
    fresh_study *s = make(sp, &p);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE, "%s",
                 fresh_study_errmsg(s));
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    size_t stopped = 0;
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        if (ji.status == FRESH_JOB_STOPPED) {
            stopped++;
            cr_assert_gt(ji.resume_from, 0); /* bottom-rung jobs report at their budget only */
            cr_assert_lt(ji.reached, ji.budget);
        }
    }
    cr_assert_eq(stopped, st.jobs_stopped);
    cr_assert_eq(st.jobs_failed, 0);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
    return stopped;
}

Test(study_asha, early_stopping_inside_a_rung)
{
    cr_assert_gt(stopped_with(1), 0);
    cr_assert_eq(stopped_with(0), 0);
}

/* The study draws from the BOHB model once it has observations at the
 * ladders' first budgets. */
Test(study_asha, bohb_model_is_used)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.scheduler = fresh_scheduler_async_hyperband;
    p.sampler = fresh_sampler_bohb;
    p.max_brackets = 12;
    fresh_study *s = make(sp, &p);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    cr_assert_gt(st.proposals_model, 0, "the model never proposed");
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* max_paused in a study: a configuration the study calls finished never
 * gets another job, and with the limit every configuration but at most
 * max_paused per rung below the top ends finished; without it the paused
 * ones stay promotable to the end. */
typedef struct fin_watch {
    unsigned char finished[512];
    int errors;       /* a configuration finished, then not */
    int ran_after;    /* a finished configuration got a job */
    reached r;
} fin_watch;

static void watch_finished(const fresh_study *s, const fresh_job_info *job, void *user)
{
    (void)job;
    fin_watch *w = user;
    size_t n = fresh_study_n_configs(s);
    for (uint64_t c = 0; c < n && c < 512; c++) {
        int f = fresh_study_config_finished(s, c);
        if (w->finished[c] && !f)
            w->errors++;
        w->finished[c] = (unsigned char)f;
    }
}

static int never_after_finished(fresh_trial *t, void *user)
{
    fin_watch *w = user;
    uint64_t id = fresh_trial_config_id(t);
    if (id < 512 && w->finished[id])
        w->ran_after++;
    return pause_continue(t, &w->r);
}

static size_t unfinished_with(const fresh_scheduler_type *type, size_t max_paused)
{
    fin_watch w;
    memset(&w, 0, sizeof w);
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params(); /* 1..9, eta 3: rungs 1, 3, 9 */
    p.scheduler = type;
    p.max_brackets = 12;
    p.max_paused = max_paused;
    p.on_job = watch_finished;
    p.on_job_user = &w;
    fresh_study *s = make(sp, &p);
    cr_assert_eq(fresh_study_optimize(s, never_after_finished, &w), FRESH_BRACKETS_DONE, "%s",
                 fresh_study_errmsg(s));
    cr_assert_eq(w.errors, 0, "%s: a finished configuration became unfinished", type->name);
    cr_assert_eq(w.ran_after, 0, "%s: a finished configuration ran again", type->name);
    cr_assert_eq(w.r.errors, 0, "%s: a continued job lacked its checkpoint", type->name);
    size_t open = 0, n = fresh_study_n_configs(s);
    for (uint64_t c = 0; c < n; c++)
        open += !fresh_study_config_finished(s, c);
    cr_assert_eq(fresh_study_config_finished(s, n), 0);
    cr_assert_eq(fresh_study_config_finished(NULL, 0), 0);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
    return open;
}
Test(study_asha, max_paused_bounds_the_paused_configurations)
{
    /* asha: 108 configurations; rungs 1 and 3 keep at most 2 each */
    cr_assert_leq(unfinished_with(fresh_scheduler_asha, 2), 4);
    cr_assert_gt(unfinished_with(fresh_scheduler_asha, 0), 20);
    /* async-hyperband: ladders 0 and 1 have rungs below the top */
    cr_assert_leq(unfinished_with(fresh_scheduler_async_hyperband, 2), 2 * 3);

    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.scheduler = fresh_scheduler_hyperband;
    p.max_paused = 2;
    cr_assert(fx_refused(sp, &p, FRESH_EINVAL,
                         "max_paused: scheduler 'hyperband' does not offer it"));
    fresh_space_destroy(sp);
}
