/* The study: parameters, failed jobs, early stopping, stopping criteria,
 * checkpoints and budget accounting, incumbent, determinism, ask/tell ==
 * optimize, export. One worker everywhere: results are deterministic. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "study_fixtures.h"

static fresh_study *make(fresh_space *sp, fresh_study_params *p)
{
    int rc;
    char err[512];
    fresh_study *s = fresh_study_create(sp, p, &rc, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(rc, FRESH_OK);
    return s;
}

/* ---- parameters ---- */

struct bad {
    char field[24];
    char needle[24];
};

static void expect_bad(fresh_study_params *p, const char *needle)
{
    fresh_space *sp = fx_space();
    int rc = 0;
    char err[512] = "";
    fresh_study *s = fresh_study_create(sp, p, &rc, err, sizeof err);
    cr_assert_null(s);
    cr_assert_eq(rc, FRESH_EINVAL, "%s: rc %d", needle, rc);
    cr_assert(strstr(err, needle), "message '%s' lacks '%s'", err, needle);
    fresh_space_destroy(sp);
}

Test(study, invalid_params)
{
    fresh_study_params p = fx_params();
    p.eta = 1;
    expect_bad(&p, "eta: must be an integer >= 2, got 1");
    p = fx_params();
    p.min_budget = 10;
    expect_bad(&p, "max_budget");
    p = fx_params();
    p.target_loss = INFINITY;
    expect_bad(&p, "target_loss");
    p = fx_params();
    p.max_total_budget = NAN;
    expect_bad(&p, "max_total_budget");
    p = fx_params();
    p.sampler_params.random_fraction = 2;
    expect_bad(&p, "random_fraction");
    p = fx_params();
    p.sampler = NULL;
    expect_bad(&p, "sampler");
    p = fx_params();
    p.job_time_limit = -1;
    expect_bad(&p, "job_time_limit");

    int rc;
    char err[128];
    cr_assert_null(fresh_study_create(NULL, NULL, &rc, err, sizeof err));
    cr_assert_eq(rc, FRESH_EINVAL);
    fresh_space *empty = fresh_space_create();
    cr_assert_null(fresh_study_create(empty, NULL, &rc, err, sizeof err));
    cr_assert(strstr(err, "no parameters"));
    fresh_space_destroy(empty);
    fresh_study_destroy(NULL);
}

/* ---- failed jobs ---- */

static int fx_faulty(fresh_trial *t, void *user)
{
    (void)user;
    uint64_t id = fresh_trial_config_id(t);
    switch (id % 6) {
    case 0: return -3;                                   /* error return */
    case 1: fresh_trial_set_loss(t, NAN); return 0;      /* NaN loss */
    case 2: fresh_trial_report(t, fresh_trial_budget(t), INFINITY); return 0; /* inf report */
    case 3: return 0;                                    /* no loss at all */
    case 4: fresh_trial_fail(t, "custom failure"); return 0;
    default: return fx_curve(t, user);
    }
}

Test(study, failed_jobs_are_recorded_and_study_goes_on)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 3;
    fresh_study *s = make(sp, &p);
    int rc = fresh_study_optimize(s, fx_faulty, NULL);
    cr_assert_eq(rc, FRESH_BRACKETS_DONE, "%d %s", rc, fresh_study_errmsg(s));
    int seen[6] = {0};
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        cr_assert_eq(fresh_study_job(s, i, &ji), FRESH_OK);
        int kind = (int)(ji.config_id % 6);
        seen[kind]++;
        if (kind < 5) {
            cr_assert_eq(ji.status, FRESH_JOB_FAILED, "config %llu", (unsigned long long)ji.config_id);
            cr_assert_eq(ji.error, FRESH_EOBJECTIVE);
            cr_assert(isinf(ji.loss));
            cr_assert_eq(ji.stage, 0, "failed jobs are never promoted");
        }
        const char *want[] = {"objective returned -3", "loss is NaN", "loss is infinite",
                              "no loss", "custom failure"};
        if (kind < 5)
            cr_assert(strstr(ji.message, want[kind]), "'%s' lacks '%s'", ji.message, want[kind]);
        else
            cr_assert(ji.status == FRESH_JOB_COMPLETED || ji.status == FRESH_JOB_STOPPED);
    }
    for (int k = 0; k < 6; k++)
        cr_assert_gt(seen[k], 0, "kind %d never happened", k);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    cr_assert_gt(st.jobs_failed, 0);
    cr_assert_gt(st.jobs_completed, 0);
    cr_assert_eq(fresh_study_incumbent(s, NULL, NULL, NULL, NULL), FRESH_OK);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

static int fx_slow(fresh_trial *t, void *user)
{
    (void)user;
    if (fresh_trial_config_id(t) == 1) {
        /* ignores its budget, polls the stop flag: the time limit ends it */
        while (!fresh_trial_should_stop(t)) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
        return 0;
    }
    return fx_curve(t, user);
}

Test(study, time_limit)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 1;
    p.job_time_limit = 0.05;
    fresh_study *s = make(sp, &p);
    cr_assert_eq(fresh_study_optimize(s, fx_slow, NULL), FRESH_BRACKETS_DONE);
    fresh_job_info ji;
    fresh_study_job(s, 1, &ji);
    cr_assert_eq(ji.config_id, 1);
    cr_assert_eq(ji.status, FRESH_JOB_FAILED);
    cr_assert_eq(ji.error, FRESH_ETIMEDOUT);
    cr_assert(strstr(ji.message, "time limit"), "%s", ji.message);
    fresh_study_job(s, 0, &ji);
    cr_assert_eq(ji.status, FRESH_JOB_COMPLETED);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- early stopping ---- */

/* Config 0 is good, others worse or better by id: loss = level(id) + 1/step */
static int fx_levels(fresh_trial *t, void *user)
{
    const double *level = user;
    double b = fresh_trial_budget(t);
    uint64_t id = fresh_trial_config_id(t);
    for (double e = fresh_trial_resume_from(t) + 1; e <= b; e += 1)
        if (!fresh_trial_report(t, e, level[id] + 1.0 / e))
            break;
    return 0;
}

Test(study, early_stopping_fires_on_hopeless_not_on_promising)
{
    /* one bracket of sh on 1..9: 9@1, 3@3, 1@9. Every curve is level + 1/step,
     * so stage 1 (3 jobs from 1 to 3, quota 1) starts with the best (config
     * 0, which reports first) and the two others are worse at step 2: they
     * stop there. */
    double level[16];
    for (int i = 0; i < 16; i++)
        level[i] = 1.0 + i;
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.scheduler = fresh_scheduler_sh;
    p.sampler = fresh_sampler_random;
    p.max_brackets = 1;
    fresh_study *s = make(sp, &p);
    cr_assert_eq(fresh_study_optimize(s, fx_levels, level), FRESH_BRACKETS_DONE);
    int stage1 = 0;
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        if (ji.stage != 1)
            continue;
        stage1++;
        if (ji.config_id == 0) {
            cr_assert_eq(ji.status, FRESH_JOB_COMPLETED, "the promising job runs on");
            cr_assert_eq(ji.reached, 3.0);
            cr_assert_eq(ji.cost, 2.0);
        } else {
            cr_assert_eq(ji.status, FRESH_JOB_STOPPED, "config %llu is hopeless",
                         (unsigned long long)ji.config_id);
            cr_assert_eq(ji.reached, 2.0, "stopped at the first shared step");
            cr_assert_eq(ji.cost, 1.0, "a stopped job costs the steps it ran");
        }
    }
    cr_assert_eq(stage1, 3);
    fresh_study_destroy(s);

    /* and with early stopping off nothing is stopped */
    p.early_stopping = 0;
    s = make(sp, &p);
    cr_assert_eq(fresh_study_optimize(s, fx_levels, level), FRESH_BRACKETS_DONE);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    cr_assert_eq(st.jobs_stopped, 0);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

static int fx_improving(fresh_trial *t, void *user)
{
    (void)user;
    /* stage-1 job order is 0, 1, 2 (by stage-0 loss = id). At step 2, config
     * 1 reports a loss below config 0's: with quota 1 it is not stopped. */
    double b = fresh_trial_budget(t);
    uint64_t id = fresh_trial_config_id(t);
    for (double e = fresh_trial_resume_from(t) + 1; e <= b; e += 1) {
        double loss = e <= 1 ? (double)id : (id == 1 ? 0.1 : 5.0 + (double)id);
        if (!fresh_trial_report(t, e, loss))
            break;
    }
    return 0;
}

Test(study, early_stopping_spares_an_overtaking_job)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.scheduler = fresh_scheduler_sh;
    p.sampler = fresh_sampler_random;
    p.max_brackets = 1;
    fresh_study *s = make(sp, &p);
    cr_assert_eq(fresh_study_optimize(s, fx_improving, NULL), FRESH_BRACKETS_DONE);
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        if (ji.stage != 1)
            continue;
        if (ji.config_id == 0 || ji.config_id == 1)
            cr_assert_eq(ji.status, FRESH_JOB_COMPLETED, "config %llu", (unsigned long long)ji.config_id);
        else
            cr_assert_eq(ji.status, FRESH_JOB_STOPPED);
    }
    /* config 1 overtook and wins the last stage */
    uint64_t inc;
    double loss, budget;
    cr_assert_eq(fresh_study_incumbent(s, &inc, &loss, &budget, NULL), FRESH_OK);
    cr_assert_eq(inc, 1);
    cr_assert_eq(budget, 9.0);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- checkpoints and budget accounting ---- */

static int fx_ckpt(fresh_trial *t, void *user)
{
    int *errors = user;
    size_t len;
    const double *ck = fresh_trial_checkpoint(t, &len);
    double from = fresh_trial_resume_from(t);
    if (from == 0) {
        if (ck || len)
            (*errors)++;
    } else if (!ck || len != sizeof(double) || *ck != from) {
        (*errors)++; /* the checkpoint must hold the budget reached before */
    }
    double b = fresh_trial_budget(t);
    fresh_trial_save_checkpoint(t, &b, sizeof b);
    fresh_trial_set_loss(t, fx_base(t) + 1.0 / b);
    return 0;
}

Test(study, checkpoints_and_budget_accounting)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 3; /* one Hyperband iteration on 1..9 */
    fresh_study *s = make(sp, &p);
    int errors = 0;
    cr_assert_eq(fresh_study_optimize(s, fx_ckpt, &errors), FRESH_BRACKETS_DONE);
    cr_assert_eq(errors, 0);
    double sum = 0;
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        cr_assert_eq(ji.status, FRESH_JOB_COMPLETED);
        cr_assert_eq(ji.cost, ji.budget - ji.resume_from);
        sum += ji.cost;
    }
    /* continuation: s=2: 9*1 + 3*(3-1) + 1*(9-3) = 21; s=1: 5*3 + 1*(9-3) = 21;
     * s=0: 3*9 = 27 -> 69 */
    cr_assert_eq(sum, 69.0);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    cr_assert_eq(st.used_budget, 69.0);
    cr_assert_float_eq(st.used_mbe, 69.0 / 9.0, 1e-12);
    cr_assert_eq(st.brackets_finished, 3);
    cr_assert_eq(st.configs, 17); /* 9 + 5 + 3 */
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- stopping criteria ---- */

Test(study, budget_and_target_criteria)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_total_budget = 10; /* MBE */
    fresh_study *s = make(sp, &p);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BUDGET_REACHED);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    cr_assert_geq(st.used_mbe, 10.0);
    /* the last job started below the budget: with one worker, at most one
     * job's cost (9 budget units = 1 MBE) beyond it */
    cr_assert_lt(st.used_mbe, 11.0 + 1e-9);
    /* the trajectory is monotone in spent budget */
    double prev = 0;
    for (size_t i = 0; i < fresh_study_n_trajectory(s); i++) {
        fresh_traj_point pt;
        fresh_study_trajectory(s, i, &pt);
        cr_assert_geq(pt.used_mbe, prev);
        prev = pt.used_mbe;
    }
    cr_assert_eq(fresh_study_n_trajectory(s), st.jobs_finished);
    /* asking again returns the ending */
    fresh_trial *t;
    cr_assert_eq(fresh_study_ask(s, &t), FRESH_BUDGET_REACHED);
    fresh_study_destroy(s);

    p = fx_params();
    p.target_loss = 0.5;
    s = make(sp, &p);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_TARGET_REACHED);
    double loss;
    cr_assert_eq(fresh_study_incumbent(s, NULL, &loss, NULL, NULL), FRESH_OK);
    cr_assert_leq(loss, 0.5);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

Test(study, incumbent_is_best_at_largest_budget)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 3;
    fresh_study *s = make(sp, &p);
    cr_assert_eq(fresh_study_incumbent(s, NULL, NULL, NULL, NULL), FRESH_ENOTFOUND);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    uint64_t id;
    double loss, budget;
    const double *x;
    cr_assert_eq(fresh_study_incumbent(s, &id, &loss, &budget, &x), FRESH_OK);
    cr_assert_eq(budget, 9.0);
    double best = INFINITY;
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        if (ji.budget == 9.0 && ji.status == FRESH_JOB_COMPLETED && ji.loss < best)
            best = ji.loss;
    }
    cr_assert_eq(loss, best);
    cr_assert_eq(x, fresh_study_config(s, id));
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- determinism and ask/tell ---- */

static void run_record(const fresh_study_params *p, int use_ask_tell, double *out, size_t *n)
{
    fresh_space *sp = fx_space();
    fresh_study *s = make(sp, (fresh_study_params *)p);
    if (use_ask_tell) {
        fresh_trial *t;
        int rc;
        while ((rc = fresh_study_ask(s, &t)) == FRESH_OK) {
            fx_curve(t, NULL);
            cr_assert_eq(fresh_study_tell(s, t), FRESH_OK);
        }
        cr_assert_eq(rc, FRESH_BRACKETS_DONE);
    } else {
        cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    }
    *n = 0;
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        const double *x = fresh_study_config(s, ji.config_id);
        out[(*n)++] = (double)ji.config_id;
        out[(*n)++] = ji.budget;
        out[(*n)++] = x[0];
        out[(*n)++] = x[1];
        out[(*n)++] = ji.loss;
        out[(*n)++] = (double)ji.status;
    }
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

Test(study, deterministic_and_ask_tell_equals_optimize)
{
    static double a[20000], b[20000], c[20000];
    size_t na, nb, nc;
    fresh_study_params p = fx_params();
    p.max_brackets = 6; /* two iterations: the BOHB model gets data */
    run_record(&p, 0, a, &na);
    run_record(&p, 0, b, &nb);
    run_record(&p, 1, c, &nc);
    cr_assert_gt(na, 100);
    cr_assert_eq(na, nb);
    cr_assert_eq(memcmp(a, b, na * sizeof *a), 0, "two runs differ");
    cr_assert_eq(na, nc);
    cr_assert_eq(memcmp(a, c, na * sizeof *a), 0, "ask/tell differs from optimize");
    /* another seed gives other configurations */
    p.seed = 43;
    run_record(&p, 0, b, &nb);
    cr_assert_neq(memcmp(a, b, (na < nb ? na : nb) * sizeof *a), 0);
}

Test(study, ask_tell_errors)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    fresh_study *s = make(sp, &p);
    fresh_trial *t1, *t2;
    cr_assert_eq(fresh_study_ask(s, &t1), FRESH_OK);
    cr_assert_eq(fresh_study_ask(s, &t2), FRESH_OK);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_ESTATE);
    cr_assert(strstr(fresh_study_errmsg(s), "not told"));
    cr_assert_eq(fresh_study_ask(s, NULL), FRESH_EINVAL);
    fresh_trial_set_loss(t1, 1.0);
    cr_assert_eq(fresh_study_tell(s, t1), FRESH_OK);
    cr_assert_eq(fresh_study_tell(s, t1), FRESH_EINVAL, "told twice");
    cr_assert_eq(fresh_study_tell(s, NULL), FRESH_EINVAL);
    cr_assert_eq(fresh_study_optimize(s, NULL, NULL), FRESH_EINVAL);
    /* t2 is freed with the study */
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- export ---- */

static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

Test(study, export_csv_and_jsonl)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 1;
    fresh_study *s = make(sp, &p);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    char csv[] = "/tmp/fresh-test-XXXXXX";
    int fd = mkstemp(csv);
    close(fd);
    cr_assert_eq(fresh_study_export(s, csv, FRESH_EXPORT_CSV), FRESH_OK);
    cr_assert_eq(count_lines(csv), fresh_study_n_jobs(s) + 1);
    cr_assert_eq(fresh_study_export(s, csv, FRESH_EXPORT_JSONL), FRESH_OK);
    cr_assert_eq(count_lines(csv), fresh_study_n_jobs(s));
    FILE *f = fopen(csv, "r");
    char line[4096];
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert(strstr(line, "\"params\":{\"x\":"), "%s", line);
    cr_assert(strstr(line, "\"reports\":[[1"), "%s", line);
    fclose(f);
    unlink(csv);
    cr_assert_eq(fresh_study_export(s, "/nonexistent/dir/x.csv", FRESH_EXPORT_CSV), FRESH_EIO);
    cr_assert(strstr(fresh_study_errmsg(s), "/nonexistent/dir/x.csv"));
    cr_assert_eq(fresh_study_export(s, csv, (fresh_export_format)9), FRESH_EINVAL);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

static int fx_nan_step(fresh_trial *t, void *user)
{
    int go = fresh_trial_report(t, NAN, 1.0);
    *(int *)user += go; /* must be 0 */
    return 0;
}

Test(study, non_finite_step_fails_the_job)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 1;
    fresh_study *s = make(sp, &p);
    int went_on = 0;
    cr_assert_eq(fresh_study_optimize(s, fx_nan_step, &went_on), FRESH_BRACKETS_DONE);
    cr_assert_eq(went_on, 0, "a NaN step must stop the job");
    fresh_job_info ji;
    fresh_study_job(s, 0, &ji);
    cr_assert_eq(ji.status, FRESH_JOB_FAILED);
    cr_assert(strstr(ji.message, "step that is not a finite number"), "%s", ji.message);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- what the sampler is told ---- */

/* A sampler that draws at random and records what the study tells it. */
static struct {
    size_t n_obs, n_ctx;
    double obs_budget[512], obs_from[512];
    uint64_t obs_id[512];
    double ctx_budget[128], ctx_min[128], ctx_max[128];
    int ctx_async[128];
} spy;

static int spy_init(void *st, const fresh_space *sp, const fresh_sampler_params *p, uint64_t seed,
                    char *err)
{
    (void)st, (void)sp, (void)p, (void)seed, (void)err;
    memset(&spy, 0, sizeof spy);
    return FRESH_OK;
}

static void spy_destroy(void *st) { (void)st; }

static int spy_observe(void *st, const fresh_observation *o)
{
    (void)st;
    cr_assert(spy.n_obs < 512);
    spy.obs_id[spy.n_obs] = o->config_id;
    spy.obs_budget[spy.n_obs] = o->budget;
    spy.obs_from[spy.n_obs] = o->resume_from;
    spy.n_obs++;
    return FRESH_OK;
}

static int spy_propose(void *st, const fresh_propose_ctx *ctx, gsl_rng *rng, double *x, int *mb)
{
    (void)st;
    cr_assert(spy.n_ctx < 128);
    spy.ctx_budget[spy.n_ctx] = ctx->budget;
    spy.ctx_min[spy.n_ctx] = ctx->min_budget;
    spy.ctx_max[spy.n_ctx] = ctx->max_budget;
    spy.ctx_async[spy.n_ctx] = ctx->async_promotions;
    spy.n_ctx++;
    *mb = 0;
    x[0] = gsl_rng_uniform(rng);
    x[1] = gsl_rng_uniform(rng);
    return FRESH_OK;
}

static const fresh_sampler_type spy_type = {"spy", 1, spy_init, spy_destroy, spy_observe,
                                             spy_propose};

Test(study, sampler_sees_job_origins_and_budget_range)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.sampler = &spy_type;
    p.scheduler = fresh_scheduler_hyperband;
    p.early_stopping = 0;
    p.max_brackets = 3; /* one iteration on 1..9: brackets start at 1, 3, 9 */
    fresh_study *s = make(sp, &p);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    cr_assert_eq(spy.n_ctx, 17); /* 9 + 5 + 3 */
    for (size_t i = 0; i < spy.n_ctx; i++) {
        cr_assert_eq(spy.ctx_min[i], 1.0);
        cr_assert_eq(spy.ctx_max[i], 9.0);
        cr_assert_eq(spy.ctx_async[i], 0); /* synchronous promotions */
        double want = i < 9 ? 1.0 : (i < 14 ? 3.0 : 9.0);
        cr_assert_eq(spy.ctx_budget[i], want, "proposal %zu: budget %g", i, spy.ctx_budget[i]);
    }
    /* from-scratch jobs: their rung reports and final result say 0; promoted
     * jobs say the budget they resumed from; a job's reports come before its
     * result, in increasing budget */
    size_t scratch_at_9 = 0, promoted_to_3 = 0, promoted_to_9 = 0;
    for (size_t i = 0; i < spy.n_obs; i++) {
        cr_assert(spy.obs_from[i] < spy.obs_budget[i]);
        if (spy.obs_budget[i] == 9.0 && spy.obs_from[i] == 0.0)
            scratch_at_9++;
        if (spy.obs_budget[i] == 3.0 && spy.obs_from[i] == 1.0)
            promoted_to_3++;
        if (spy.obs_budget[i] == 9.0 && spy.obs_from[i] == 3.0)
            promoted_to_9++;
        if (spy.obs_budget[i] == 9.0 && spy.obs_from[i] == 0.0) {
            /* the s = 0 bracket's job reported at 1 and 3 just before */
            cr_assert(i >= 2);
            cr_assert_eq(spy.obs_id[i - 1], spy.obs_id[i]);
            cr_assert_eq(spy.obs_id[i - 2], spy.obs_id[i]);
            cr_assert_eq(spy.obs_budget[i - 2], 1.0);
            cr_assert_eq(spy.obs_budget[i - 1], 3.0);
            cr_assert_eq(spy.obs_from[i - 1], 0.0);
            cr_assert_eq(spy.obs_from[i - 2], 0.0);
        }
    }
    cr_assert_eq(scratch_at_9, 3);  /* bracket s = 0: 3 configurations at 9 */
    cr_assert_eq(promoted_to_3, 3); /* bracket s = 2: 9 at 1, 3 promoted to 3 */
    cr_assert_eq(promoted_to_9, 2); /* s = 2: 1 from 3 to 9; s = 1: 1 from 3 to 9 */
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* The asynchronous schedulers tell the sampler that their promotions do not
 * wait (fresh_propose_ctx.async_promotions), the synchronous ones do not. */
Test(study, sampler_told_of_async_promotions)
{
    const fresh_scheduler_type *types[] = {fresh_scheduler_asha, fresh_scheduler_async_hyperband,
                                           fresh_scheduler_async_adaptive,
                                           fresh_scheduler_adaptive, fresh_scheduler_sh};
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        fresh_space *sp = fx_space();
        fresh_study_params p = fx_params();
        p.sampler = &spy_type;
        p.scheduler = types[k];
        p.max_brackets = 2;
        fresh_study *s = make(sp, &p);
        cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
        cr_assert_gt(spy.n_ctx, 0);
        for (size_t i = 0; i < spy.n_ctx; i++)
            cr_assert_eq(spy.ctx_async[i], k < 3, "%s: proposal %zu", types[k]->name, i);
        cr_assert_eq(types[k]->asynchronous, k < 3);
        fresh_study_destroy(s);
        fresh_space_destroy(sp);
    }
}

/* ---- the BOHB hedge, end to end ---- */

/* Reports at every integer step: f(x) at the max budget 9, and below it
 * either f + 1/step (ranks like the max budget) or 1 - f (reversed). */
static int fx_fidelity(fresh_trial *t, void *user)
{
    int reversed = *(const int *)user;
    double b = fresh_trial_budget(t);
    for (double e = fresh_trial_resume_from(t) + 1; e <= b; e += 1) {
        double f = fx_base(t);
        double v = e >= 9 ? f : (reversed ? 1.0 - f : f + 1.0 / e);
        if (!fresh_trial_report(t, e, v))
            break;
    }
    return 0;
}

Test(study, bohb_hedge_counts)
{
    /* 1..9, eta 3: brackets start at 1 (9 configurations), 3 (5, the upper
     * half: sqrt(1 * 9) = 3) and 9 (3, from scratch, reporting at 1 and 3:
     * three unselected (3, 9) pairs per iteration). 8 iterations. */
    for (int reversed = 0; reversed < 2; reversed++) {
        fresh_space *sp = fx_space();
        fresh_study_params p = fx_params();
        p.sampler = fresh_sampler_bohb;
        p.scheduler = fresh_scheduler_hyperband;
        p.early_stopping = 0;
        p.max_brackets = 24;
        char db[64];
        snprintf(db, sizeof db, "/tmp/fresh-test-hedge-%ld.db", (long)getpid());
        unlink(db);
        if (reversed)
            p.storage = db; /* the counts must survive the study file */
        fresh_study *s = make(sp, &p);
        cr_assert_eq(fresh_study_optimize(s, fx_fidelity, &reversed), FRESH_BRACKETS_DONE);
        fresh_study_stats st;
        fresh_study_get_stats(s, &st);
        cr_assert_eq(st.configs, 8 * 17);
        if (reversed) /* tau -1: every proposal of the upper half, always */
            cr_assert_eq(st.proposals_hedged, 8 * 5);
        else /* tau 1 once 10 pairs exist: 3, 6, 9 before iterations 2-4, 12 before 5 */
            cr_assert_eq(st.proposals_hedged, 4 * 5);
        cr_assert(st.proposals_model > 0);
        cr_assert_eq(st.proposals_model + st.proposals_random, st.configs);
        /* the export says model_based 0 for hedged configurations */
        size_t mb = 0;
        for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
            fresh_job_info ji;
            fresh_study_job(s, i, &ji);
            mb += (size_t)ji.model_based;
        }
        cr_assert_eq(mb, st.proposals_model);
        fresh_study_destroy(s);
        if (reversed) {
            fresh_space *sp2 = NULL;
            int rc;
            char err[512];
            s = fresh_study_open(db, &sp2, &rc, err, sizeof err);
            cr_assert_not_null(s, "%s", err);
            fresh_study_stats st2;
            fresh_study_get_stats(s, &st2);
            cr_assert_eq(st2.proposals_hedged, st.proposals_hedged);
            cr_assert_eq(st2.proposals_model, st.proposals_model);
            cr_assert_eq(st2.proposals_random, st.proposals_random);
            fresh_study_destroy(s);
            fresh_space_destroy(sp2);
            unlink(db);
        }
        fresh_space_destroy(sp);
    }
}
