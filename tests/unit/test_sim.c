/* The simulated cluster (bench/lib/sim.h): a hand-computed schedule, early
 * stopping replayed at simulated times, the horizon, determinism, failures,
 * waiting synchronous schedulers, bad options. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "sim.h"
#include "study_fixtures.h"

/* Loss by configuration only: config c has loss (4c mod 9), so of configs
 * 0..8 the best three are 0 (loss 0), 7 (1) and 5 (2). */
static double loss_by_id(void *user, const double *x, double step, uint64_t cid)
{
    (void)user;
    (void)x;
    (void)step;
    return (double)((cid * 4) % 9);
}

static fresh_study *make(fresh_space *sp, fresh_study_params *p)
{
    fresh_study *s = fx_study(sp, p);
    cr_assert_not_null(s);
    return s;
}

/* One successive-halving bracket of the plan 1..9, eta 3: 9 jobs at budget
 * 1, the best 3 continued to 3, the best one to 9. */
static fresh_study_params sh_params(int early_stopping)
{
    fresh_study_params p = fx_params();
    p.scheduler = fresh_scheduler_sh;
    p.sampler = fresh_sampler_random;
    p.early_stopping = early_stopping;
    p.max_brackets = 1;
    return p;
}

static fresh_sim_opts sim_opts(size_t workers)
{
    fresh_sim_opts o;
    fresh_sim_opts_default(&o);
    o.workers = workers;
    o.loss = loss_by_id;
    o.keep_jobs = 1;
    return o;
}

/* Runs the one-bracket plan of sh_params on 3 workers; the study and the
 * space are the caller's to destroy. */
static fresh_study *run_sh(int early_stopping, int every_unit, double horizon, fresh_space **sp,
                           fresh_sim_result *r)
{
    *sp = fx_space();
    fresh_study_params p = sh_params(early_stopping);
    fresh_study *s = make(*sp, &p);
    fresh_sim_opts o = sim_opts(3);
    o.report_every_unit = every_unit;
    o.horizon = horizon;
    char err[256];
    cr_assert_eq(fresh_sim_run(s, &o, r, err, sizeof err), FRESH_OK, "%s", err);
    return s;
}

static void expect_job(const fresh_sim_result *r, size_t i, uint64_t cid, size_t worker,
                       double budget, double from, double start, double end,
                       fresh_sim_job_end outcome)
{
    cr_assert_lt(i, r->n_jobs_log);
    const fresh_sim_job *j = &r->jobs_log[i];
    cr_expect_eq(j->job_id, i);
    cr_expect_eq(j->config_id, cid, "job %zu: config %llu, expected %llu", i,
                 (unsigned long long)j->config_id, (unsigned long long)cid);
    cr_expect_eq(j->worker, worker, "job %zu: worker %zu, expected %zu", i, j->worker, worker);
    cr_expect_eq(j->budget, budget, "job %zu: budget %g", i, j->budget);
    cr_expect_eq(j->resume_from, from, "job %zu: resume_from %g", i, j->resume_from);
    cr_expect_eq(j->start, start, "job %zu: start %g, expected %g", i, j->start, start);
    cr_expect_eq(j->end, end, "job %zu: end %g, expected %g", i, j->end, end);
    cr_expect_eq(j->outcome, outcome, "job %zu: outcome %d, expected %d", i, j->outcome, outcome);
}

/* 3 workers, unit time 1, no spread. t = 0, 1, 2: jobs 0-8 (config = job
 * id, budget 1) on workers 0, 1, 2. t = 3: the stage is complete; the best
 * three (configs 0, 7, 5) continue from 1 to 3 (2 s). t = 5: config 0 from 3
 * to 9 (6 s) on worker 0; workers 1 and 2 ask, get FRESH_WAIT and idle until
 * t = 11, when the bracket is done. Makespan 11, busy 9 + 3 x 2 + 6 = 21,
 * utilization 21 / 33. */
Test(sim, hand_computed_schedule)
{
    fresh_space *sp;
    fresh_sim_result r;
    fresh_study *s = run_sh(0, 0, 0, &sp, &r);
    cr_assert_eq(r.status, FRESH_BRACKETS_DONE);
    cr_assert_eq(r.jobs, 13);
    cr_assert_eq(r.n_jobs_log, 13);
    for (size_t j = 0; j < 9; j++)
        expect_job(&r, j, j, j % 3, 1, 0, (double)(j / 3), (double)(j / 3 + 1), FRESH_SIM_COMPLETED);
    expect_job(&r, 9, 0, 0, 3, 1, 3, 5, FRESH_SIM_COMPLETED);
    expect_job(&r, 10, 7, 1, 3, 1, 3, 5, FRESH_SIM_COMPLETED);
    expect_job(&r, 11, 5, 2, 3, 1, 3, 5, FRESH_SIM_COMPLETED);
    expect_job(&r, 12, 0, 0, 9, 3, 5, 11, FRESH_SIM_COMPLETED);
    cr_expect_eq(r.makespan, 11);
    cr_expect_eq(r.busy, 21);
    cr_expect_float_eq(r.utilization, 21.0 / 33.0, 1e-12);
    cr_expect_eq(r.waits, 1); /* at t = 5, workers 1 and 2: one FRESH_WAIT ends the round */
    cr_expect_eq(r.completed, 13);
    cr_expect_eq(r.stopped + r.failed + r.running, 0);
    cr_expect_float_eq(r.mean_job_time, 21.0 / 13.0, 1e-12);
    /* the incumbent appears with the one max-budget result, at t = 11 */
    cr_assert_eq(r.n_traj, 1);
    cr_expect_eq(r.traj[0].time, 11);
    cr_expect_eq(r.traj[0].config_id, 0);
    cr_expect_eq(r.traj[0].value, 0); /* no truth: the observed loss */
    cr_expect_gt(r.ask_mean, 0);
    /* the study agrees: the same jobs, costs and statuses */
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    cr_expect_eq(st.jobs_finished, 13);
    cr_expect_float_eq(st.used_budget, 21.0, 1e-12);
    fresh_sim_result_free(&r);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* Early stopping sees the reports that have arrived. With reports at every
 * unit step, the stage 1 jobs (configs 0, 7, 5; quota 1) report at step 2
 * at t = 4, in job id order: config 0's loss 0 arrives first, so configs 7
 * (loss 1) and 5 (loss 2) are told to stop there and free their workers at
 * t = 4, not 5. Config 0 goes on to 3 (t = 5) and then to 9 (t = 11). */
Test(sim, early_stopping_at_simulated_report_times)
{
    fresh_space *sp;
    fresh_sim_result r;
    fresh_study *s = run_sh(1, 1, 0, &sp, &r);
    cr_assert_eq(r.jobs, 13);
    expect_job(&r, 9, 0, 0, 3, 1, 3, 5, FRESH_SIM_COMPLETED);
    expect_job(&r, 10, 7, 1, 3, 1, 3, 4, FRESH_SIM_STOPPED);
    expect_job(&r, 11, 5, 2, 3, 1, 3, 4, FRESH_SIM_STOPPED);
    expect_job(&r, 12, 0, 0, 9, 3, 5, 11, FRESH_SIM_COMPLETED);
    cr_expect_eq(r.stopped, 2);
    cr_expect_eq(r.busy, 9 + 2 + 1 + 1 + 6);
    cr_expect_eq(r.makespan, 11);
    /* the study recorded the stopped jobs at step 2, costing 1 each */
    fresh_job_info ji;
    cr_assert_eq(fresh_study_job(s, 10, &ji), FRESH_OK);
    cr_expect_eq(ji.status, FRESH_JOB_STOPPED);
    cr_expect_eq(ji.reached, 2);
    cr_expect_eq(ji.n_reports, 1);
    fresh_sim_result_free(&r);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* A horizon of 4.5 s cuts the same schedule in stage 1: the three jobs
 * started at t = 3 are still running; busy 9 + 3 x 1.5 = 13.5 of 3 x 4.5. */
Test(sim, horizon)
{
    fresh_space *sp;
    fresh_sim_result r;
    fresh_study *s = run_sh(0, 0, 4.5, &sp, &r);
    cr_expect_eq(r.status, FRESH_TIME_REACHED);
    cr_expect_eq(r.makespan, 4.5);
    cr_expect_eq(r.jobs, 12);
    cr_expect_eq(r.running, 3);
    cr_expect_eq(r.completed, 9);
    cr_expect_eq(r.busy, 13.5);
    cr_expect_eq(r.utilization, 1.0);
    cr_expect_eq(r.jobs_log[11].outcome, FRESH_SIM_RUNNING);
    cr_expect_eq(r.jobs_log[11].end, 4.5);
    cr_expect_eq(r.n_traj, 0);
    fresh_sim_result_free(&r);
    fresh_study_destroy(s); /* frees the three outstanding trials */
    fresh_space_destroy(sp);
}

/* A smooth loss for the model-based runs below: the fixture's bowl plus a
 * budget term. */
static double bowl(void *user, const double *x, double step, uint64_t cid)
{
    (void)user;
    (void)cid;
    return (x[0] - 0.3) * (x[0] - 0.3) + (x[1] - 0.7) * (x[1] - 0.7) + 1.0 / step;
}

static double bowl_truth(void *user, const double *x)
{
    return bowl(user, x, INFINITY, 0);
}

static void run_spread(uint64_t sim_seed, double failure_rate, fresh_sim_result *r,
                       fresh_study_stats *st, size_t *failed_msgs)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.scheduler = fresh_scheduler_hyperband;
    p.max_total_budget = 30;
    fresh_study *s = make(sp, &p);
    fresh_sim_opts o = sim_opts(8);
    o.loss = bowl;
    o.truth = bowl_truth;
    o.spread = 0.5;
    o.failure_rate = failure_rate;
    o.seed = sim_seed;
    o.report_every_unit = 1;
    char err[256];
    cr_assert_eq(fresh_sim_run(s, &o, r, err, sizeof err), FRESH_OK, "%s", err);
    fresh_study_get_stats(s, st);
    *failed_msgs = 0;
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        if (ji.status == FRESH_JOB_FAILED && strcmp(ji.message, "simulated failure") == 0)
            (*failed_msgs)++;
    }
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

static int same_schedule(const fresh_sim_result *a, const fresh_sim_result *b)
{
    if (a->n_jobs_log != b->n_jobs_log || a->n_traj != b->n_traj || a->makespan != b->makespan)
        return 0;
    for (size_t i = 0; i < a->n_jobs_log; i++) {
        const fresh_sim_job *x = &a->jobs_log[i], *y = &b->jobs_log[i];
        if (x->config_id != y->config_id || x->worker != y->worker || x->start != y->start ||
            x->end != y->end || x->outcome != y->outcome || x->budget != y->budget)
            return 0;
    }
    for (size_t i = 0; i < a->n_traj; i++)
        if (a->traj[i].time != b->traj[i].time || a->traj[i].value != b->traj[i].value)
            return 0;
    return 1;
}

/* With a spread, jobs end out of order; a fixed seed still gives the same
 * schedule and trajectory, and another simulator seed another schedule. */
Test(sim, deterministic_with_spread)
{
    fresh_sim_result a, b, c;
    fresh_study_stats st;
    size_t m;
    run_spread(7, 0, &a, &st, &m);
    run_spread(7, 0, &b, &st, &m);
    run_spread(8, 0, &c, &st, &m);
    cr_expect(same_schedule(&a, &b), "same seed, different schedule");
    cr_expect(!same_schedule(&a, &c), "another seed gave the same schedule");
    /* out of order: some job ends before an earlier-started one */
    int out_of_order = 0;
    for (size_t i = 1; i < a.n_jobs_log && !out_of_order; i++)
        out_of_order = a.jobs_log[i].end < a.jobs_log[i - 1].end;
    cr_expect(out_of_order);
    cr_expect_gt(a.n_traj, 0);
    /* the spread makes some configurations slow: jobs of equal cost differ */
    double lo = INFINITY, hi = 0;
    for (size_t i = 0; i < a.n_jobs_log; i++)
        if (a.jobs_log[i].budget == 1 && a.jobs_log[i].outcome == FRESH_SIM_COMPLETED) {
            double d = a.jobs_log[i].end - a.jobs_log[i].start;
            lo = fmin(lo, d);
            hi = fmax(hi, d);
        }
    cr_expect_gt(hi / lo, 2.0);
    fresh_sim_result_free(&a);
    fresh_sim_result_free(&b);
    fresh_sim_result_free(&c);
}

/* Failures are told as failed jobs, end within their run, and are counted
 * alike by the simulator and the study. */
Test(sim, failures_recorded)
{
    fresh_sim_result r;
    fresh_study_stats st;
    size_t msgs;
    run_spread(3, 0.3, &r, &st, &msgs);
    cr_expect_gt(r.failed, 5);
    cr_expect_eq(st.jobs_failed, r.failed);
    cr_expect_eq(msgs, r.failed);
    size_t n = 0;
    for (size_t i = 0; i < r.n_jobs_log; i++) {
        const fresh_sim_job *j = &r.jobs_log[i];
        if (j->outcome != FRESH_SIM_FAILED)
            continue;
        n++;
        cr_expect_geq(j->end, j->start);
    }
    cr_expect_eq(n, r.failed);
    cr_expect_eq(r.jobs, r.completed + r.stopped + r.failed);
    fresh_sim_result_free(&r);
}

/* Synchronous Hyperband on more workers than a bracket has jobs: workers
 * wait (FRESH_WAIT) until the next event instead of spinning or hanging,
 * and the run ends when the brackets are done. */
Test(sim, waiting_scheduler_does_not_hang)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.scheduler = fresh_scheduler_hyperband;
    p.max_brackets = 2;
    fresh_study *s = make(sp, &p);
    fresh_sim_opts o = sim_opts(50);
    fresh_sim_result r;
    char err[256];
    cr_assert_eq(fresh_sim_run(s, &o, &r, err, sizeof err), FRESH_OK, "%s", err);
    cr_expect_eq(r.status, FRESH_BRACKETS_DONE);
    cr_expect_gt(r.waits, 0);
    cr_expect_lt(r.utilization, 0.5);
    cr_expect_eq(r.running, 0);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    cr_expect_eq(st.brackets_finished, 2);
    cr_expect_eq(st.jobs_finished, r.jobs);
    fresh_sim_result_free(&r);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

Test(sim, bad_options)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = sh_params(0);
    fresh_study *s = make(sp, &p);
    fresh_sim_result r;
    char err[256];
    fresh_sim_opts o = sim_opts(0);
    cr_expect_eq(fresh_sim_run(s, &o, &r, err, sizeof err), FRESH_EINVAL);
    cr_expect(strstr(err, "workers") != NULL, "%s", err);
    o = sim_opts(2);
    o.spread = -1;
    cr_expect_eq(fresh_sim_run(s, &o, &r, err, sizeof err), FRESH_EINVAL);
    cr_expect(strstr(err, "spread") != NULL, "%s", err);
    o = sim_opts(2);
    o.failure_rate = 1;
    cr_expect_eq(fresh_sim_run(s, &o, &r, err, sizeof err), FRESH_EINVAL);
    o = sim_opts(2);
    o.unit_time = 0;
    cr_expect_eq(fresh_sim_run(s, &o, &r, err, sizeof err), FRESH_EINVAL);
    o = sim_opts(2);
    o.loss = NULL;
    cr_expect_eq(fresh_sim_run(s, &o, &r, err, sizeof err), FRESH_EINVAL);
    cr_expect_eq(fresh_sim_run(NULL, &o, &r, err, sizeof err), FRESH_EINVAL);
    cr_expect_eq(fresh_study_n_jobs(s), 0); /* nothing was asked */
    fresh_study_destroy(s);
    /* no stopping criterion and no horizon: refused rather than endless */
    p.max_brackets = 0;
    s = make(sp, &p);
    o = sim_opts(2);
    cr_expect_eq(fresh_sim_run(s, &o, &r, err, sizeof err), FRESH_EINVAL);
    cr_expect(strstr(err, "stopping criterion") != NULL, "%s", err);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* max_open_brackets = 1 is textbook Hyperband: a bracket opens only when
 * the last one is done, so its jobs start after every job of the earlier
 * brackets ended, and the workers idle at the barriers; without the limit
 * the study opens brackets instead and never idles. */
static double run_open_limit(size_t limit, int *overlap)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params(); /* 1..9, eta 3 */
    p.scheduler = fresh_scheduler_hyperband;
    p.max_open_brackets = limit;
    fresh_study *s = make(sp, &p);
    fresh_sim_opts o = sim_opts(8);
    o.horizon = 200;
    fresh_sim_result r;
    char err[256];
    cr_assert_eq(fresh_sim_run(s, &o, &r, err, sizeof err), FRESH_OK, "%s", err);
    *overlap = 0;
    double end_before = 0; /* the latest end of the brackets below b */
    long b = 0;
    for (;;) {
        double first_start = INFINITY, last_end = 0;
        int any = 0;
        for (size_t i = 0; i < r.n_jobs_log; i++) {
            fresh_job_info ji;
            cr_assert_eq(fresh_study_job(s, i, &ji), FRESH_OK);
            cr_assert_eq(ji.job_id, r.jobs_log[i].job_id);
            if (ji.bracket != b)
                continue;
            any = 1;
            first_start = fmin(first_start, r.jobs_log[i].start);
            last_end = fmax(last_end, r.jobs_log[i].end);
        }
        if (!any)
            break;
        *overlap += first_start < end_before;
        end_before = fmax(end_before, last_end);
        b++;
    }
    cr_assert_gt(b, 3);
    double u = r.utilization;
    cr_expect_eq(limit ? r.waits > 0 : r.waits == 0, 1);
    fresh_sim_result_free(&r);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
    return u;
}

Test(sim, max_open_brackets_one_is_textbook_hyperband)
{
    int overlap = 0;
    double u = run_open_limit(1, &overlap);
    cr_expect_eq(overlap, 0);
    cr_expect_lt(u, 0.7);
    u = run_open_limit(0, &overlap);
    cr_expect_gt(overlap, 0);
    cr_expect_eq(u, 1.0);

    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.scheduler = fresh_scheduler_asha;
    p.max_open_brackets = 1;
    cr_expect(fx_refused(sp, &p, FRESH_EINVAL,
                         "max_open_brackets: scheduler 'asha' is asynchronous"));
    fresh_space_destroy(sp);
}
