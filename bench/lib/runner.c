/*
 * runner.c - one study on a benchmark function (docs/benchmarks-spec.md harness rules):
 * the configuration's key is its id, the run seed seeds both the noise and
 * the optimizer, reports at every rung budget (every epoch for lc_mixed),
 * resume semantics (a continued job costs budget - resume_from), the BOHB
 * incumbent (best observed loss at the maximum budget) scored by its true
 * loss.
 */
#define _POSIX_C_SOURCE 200809L
#include "runner.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fresh/rng.h"


void fresh_bench_opts_default(fresh_bench_opts *o)
{
    memset(o, 0, sizeof *o);
    fresh_study_params p; /* the library's defaults */
    fresh_study_params_default(&p);
    o->sampler = p.sampler->name;
    o->scheduler = p.scheduler->name;
    o->budget_mbe = 100;
    o->seed = 0;
    o->early_stopping = 1;
    o->bracket_formula = FRESH_BRACKETS_PAPER;
    fresh_sampler_params_default(&o->sp);
}

static void nap(double seconds)
{
    if (seconds <= 0)
        return;
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int objective(fresh_trial *t, void *user)
{
    const fresh_bench_fn_ctx *c = user;
    const double *x = fresh_trial_values(t);
    double budget = fresh_trial_budget(t), from = fresh_trial_resume_from(t);
    uint64_t key = fresh_trial_config_id(t), seed = fresh_trial_seed(t);
    double prev = from;
    if (c->b->report_every_epoch) {
        for (double e = floor(from) + 1; e <= budget + 1e-9; e += 1) {
            nap((e - prev) * c->sleep_per_budget);
            prev = e;
            if (!fresh_trial_report(t, e, c->b->observed(x, e, seed, key)))
                return 0;
        }
    } else {
        for (int k = 0; k < c->n_rungs; k++) {
            double r = c->rungs[k];
            if (r <= from || r > budget * (1 + 1e-12))
                continue;
            nap((r - prev) * c->sleep_per_budget);
            prev = r;
            if (!fresh_trial_report(t, r, c->b->observed(x, r, seed, key)))
                return 0;
        }
    }
    return 0;
}

int fresh_bench_function_problem(const fresh_benchmark *b, double sleep_per_budget,
                                 fresh_bench_fn_ctx *c, fresh_bench_problem *pb)
{
    memset(c, 0, sizeof *c);
    c->b = b;
    c->sleep_per_budget = sleep_per_budget;
    /* the rungs are the study's: the same plan */
    fresh_plan *plan = fresh_plan_create();
    if (!plan)
        return FRESH_ENOMEM;
    int rc = fresh_plan_compute(plan, b->min_budget, b->max_budget, (double)b->eta,
                                FRESH_BRACKETS_PAPER);
    if (rc == FRESH_OK) {
        c->n_rungs = fresh_plan_s_max(plan) + 1;
        fresh_plan_rungs(plan, c->rungs);
    }
    fresh_plan_destroy(plan);
    if (rc != FRESH_OK)
        return rc;
    memset(pb, 0, sizeof *pb);
    pb->name = b->name;
    pb->min_budget = b->min_budget;
    pb->max_budget = b->max_budget;
    pb->eta = b->eta;
    pb->build_space = b->build_space;
    pb->objective = objective;
    pb->user = c;
    pb->truth = b->truth;
    pb->f_opt = b->f_opt;
    pb->loss_name = "loss";
    return FRESH_OK;
}

int fresh_bench_run(const fresh_bench_problem *b, const fresh_bench_opts *o,
                    fresh_bench_result *res, char *err)
{
    memset(res, 0, sizeof *res);
    int rc;
    fresh_space *space = fresh_space_create();
    fresh_study *study = NULL;
    FILE *traj = NULL;
    if (!space) {
        snprintf(err, 512, "out of memory");
        return FRESH_ENOMEM;
    }
    rc = b->build_space(space);
    if (rc != FRESH_OK) {
        snprintf(err, 512, "space of %s: %s", b->name, fresh_space_errmsg(space));
        goto done;
    }
    fresh_study_params p;
    fresh_study_params_default(&p);
    p.min_budget = b->min_budget;
    p.max_budget = b->max_budget;
    p.eta = (double)b->eta;
    p.sampler = fresh_sampler_find(o->sampler);
    p.scheduler = fresh_scheduler_find(o->scheduler);
    if (!p.sampler || !p.scheduler) {
        rc = FRESH_EINVAL;
        snprintf(err, 512, "unknown %s '%s'", p.sampler ? "scheduler" : "sampler",
                 p.sampler ? o->scheduler : o->sampler);
        goto done;
    }
    p.workers = o->workers;
    p.seed = o->seed;
    p.max_total_budget = o->budget_mbe;
    p.max_brackets = o->brackets;
    p.early_stopping = o->early_stopping;
    p.max_paused = o->max_paused;
    p.max_open_brackets = o->max_open_brackets;
    p.paper_promotions = o->paper_promotions;
    p.bracket_formula = o->bracket_formula;
    p.sampler_params = o->sp;
    p.storage = o->storage;
    p.resume = o->resume;
    p.on_job = o->on_job;
    p.on_job_user = o->on_job_user;
    char msg[512];
    study = fresh_study_create(space, &p, &rc, msg, sizeof msg);
    if (!study) {
        snprintf(err, 512, "%s", msg);
        goto done;
    }
    if (o->warm_start) {
        rc = fresh_study_warm_start(study, o->warm_start);
        if (rc != FRESH_OK) {
            snprintf(err, 512, "%s", fresh_study_errmsg(study));
            goto done;
        }
    }
    if (o->watch)
        o->watch(study);
    res->status = o->optimize ? o->optimize(study, b->objective, b->user, o->optimize_ctx)
                              : fresh_study_optimize(study, b->objective, b->user);
    if (o->watch)
        o->watch(NULL);
    if (res->status < 0) {
        rc = res->status;
        snprintf(err, 512, "%s", fresh_study_errmsg(study));
        goto done;
    }
    const double *x;
    if (fresh_study_incumbent(study, &res->inc_config, &res->inc_loss, &res->inc_budget, &x) ==
        FRESH_OK) {
        res->has_incumbent = 1;
        res->has_truth = b->truth != NULL;
        res->inc_true = b->truth ? b->truth(x) : NAN;
        res->regret = res->inc_true - b->f_opt;
        fresh_space_format(space, x, res->inc_params, sizeof res->inc_params);
        char *js = NULL;
        if (fresh_space_config_to_json(space, x, &js) == FRESH_OK) {
            snprintf(res->inc_json, sizeof res->inc_json, "%s", js);
            free(js);
        }
    }
    fresh_study_stats st;
    fresh_study_get_stats(study, &st);
    res->used_mbe = st.used_mbe;
    res->wall_s = st.wall_time;
    res->overhead_s = st.overhead_time;
    res->utilization = st.utilization;
    res->evaluations = st.jobs_finished;
    res->configs = st.configs;
    res->failed = st.jobs_failed;
    res->stopped = st.jobs_stopped;
    res->model_based = st.proposals_model;
    res->random_based = st.proposals_random;
    res->hedged = st.proposals_hedged;
    res->brackets = st.brackets_finished;
    res->replayed = st.jobs_replayed;
    res->workers = st.workers;
    res->requeued = st.jobs_requeued;
    res->interrupted = st.jobs_interrupted;

    if (o->trajectory) {
        traj = fopen(o->trajectory, "w");
        if (!traj) {
            rc = FRESH_EIO;
            snprintf(err, 512, "cannot write '%s': %s", o->trajectory, strerror(errno));
            goto done;
        }
        fprintf(traj, "job,config_id,budget,resume_from,cum_mbe,loss,true_loss,%s,wall_s\n",
                b->truth ? "incumbent_regret" : "incumbent_loss");
        size_t n = fresh_study_n_trajectory(study);
        for (size_t i = 0; i < n; i++) {
            fresh_traj_point pt;
            fresh_job_info ji;
            fresh_study_trajectory(study, i, &pt);
            fresh_study_job(study, (size_t)pt.job_id, &ji);
            const double *cx = fresh_study_config(study, ji.config_id);
            fprintf(traj, "%llu,%llu,%.17g,%.17g,%.17g,%.17g,", (unsigned long long)ji.job_id,
                    (unsigned long long)ji.config_id, ji.budget, ji.resume_from, pt.used_mbe,
                    ji.loss);
            if (b->truth)
                fprintf(traj, "%.17g", b->truth(cx));
            fputc(',', traj);
            /* docs/benchmarks-spec.md 4: no incumbent before a result at the maximum
             * budget (fresh_study_incumbent's definition) */
            if (pt.has_incumbent)
                fprintf(traj, "%.17g", b->truth ? b->truth(fresh_study_config(study, pt.config_id)) - b->f_opt : pt.loss);
            fprintf(traj, ",%.6f\n", pt.wall_time);
        }
        errno = 0;
        int werr = fflush(traj) != 0 || ferror(traj) ? (errno ? errno : EIO) : 0;
        if (fclose(traj) != 0 && !werr)
            werr = errno;
        traj = NULL;
        if (werr) {
            rc = FRESH_EIO;
            snprintf(err, 512, "error writing '%s': %s", o->trajectory, strerror(werr));
            goto done;
        }
    }
    rc = FRESH_OK;
done:
    fresh_study_destroy(study);
    fresh_space_destroy(space);
    return rc;
}
