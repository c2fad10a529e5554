/*
 * study.c - the study: connects the scheduler (when, what budget), the
 * sampler (which configuration) and the worker pool (who runs it).
 *
 * DESIGN
 * Everything here runs on the owner thread. ask() checks the stopping
 * criteria, takes the next job from the scheduler and, for a new slot, draws
 * a configuration from the sampler with a generator re-seeded to stream
 * (seed, config id, FRESH_RNG_SAMPLE). tell() turns the trial's outcome into
 * a job record (completed, stopped early or failed; cost = budget actually
 * run), feeds the scheduler (promotions) and the sampler (the final loss and
 * every report at a rung budget, once per configuration and budget), updates
 * the incumbent and the trajectory. optimize() is ask and tell around the
 * pool: it asks only while a worker is free, so the scheduler opens a new
 * bracket only when every open one waits at its barrier and a worker would
 * otherwise idle.
 *
 * Memory: configurations, jobs and reports live until the study is
 * destroyed; trials are allocated by ask() and freed by tell(), their
 * reports moved into the job record.
 */
#include "study_internal.h"

#include <gsl/gsl_rng.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fresh/rng.h"
#include "storage.h"

typedef struct config_rec {
    double *x;
    long bracket;
    size_t slot;             /* fresh_sched_job.slot of its latest job */
    void *ckpt;
    size_t ckpt_len;
    uint64_t observed_rungs; /* bit j: observation at rung j given to the sampler */
    int model_based;
} config_rec;

/* The trajectory, compactly: one traj_rec per finished job, and the
 * incumbents (best_rec) only when they change; fresh_study_trajectory
 * assembles a fresh_traj_point from the two. */
typedef struct best_rec {
    int has_inc, has_any;
    uint64_t inc_config, any_config;
    double inc_loss, any_loss, any_budget;
} best_rec;

typedef struct traj_rec {
    uint64_t job_id;
    double used_mbe, wall_time;
    size_t best; /* index into the study's bests */
} traj_rec;

typedef struct job_rec {
    fresh_sched_job sj;
    uint64_t config_id;
    double reached, cost, loss;
    fresh_job_status status;
    int error;
    char *message;
    double *steps; /* one block: n_rep steps, then n_rep losses (job_losses) */
    double start, end;
    uint32_t n_rep; /* at most FRESH_MAX_REPORTS */
    int worker;
} job_rec;

static const double *job_losses(const job_rec *j) { return j->steps ? j->steps + j->n_rep : NULL; }

struct fresh_study {
    const fresh_space *space;
    size_t dim;
    fresh_study_params p;
    fresh_plan *plan;
    double rungs[FRESH_PLAN_MAX_STAGES];
    int n_rungs;
    void *sched;
    void *samp;
    gsl_rng *rng;

    config_rec *configs;
    size_t n_configs, cap_configs;
    job_rec *jobs;
    size_t n_jobs, cap_jobs;
    fresh_trial **out; /* outstanding trials */
    size_t n_out, cap_out;
    const double **pending; /* scratch for the sampler: x of outstanding trials */
    size_t cap_pending;
    stage_table **tables;
    size_t n_tables, cap_tables;
    uint64_t *dup;      /* open-addressing set of config ids, keyed by (bracket, x) */
    size_t cap_dup, n_dup;

    int has_inc;        /* incumbent: best completed at the maximum budget */
    uint64_t inc_config;
    double inc_loss;
    int has_any;        /* best completed at the largest budget completed so far */
    uint64_t any_config;
    double any_loss, any_budget;
    traj_rec *traj;
    size_t n_traj, cap_traj;
    best_rec *bests;
    size_t n_bests, cap_bests;

    size_t finished, completed, stopped, failed, prop_model, prop_random, prop_hedged;
    double used_budget, busy, overhead, wall, t0, run_start;
    int running; /* inside optimize */
    size_t workers;
    atomic_int force_stop;    /* a stop request (fresh_study_force_stop): see ending() */
    fresh_trial *solo;        /* a suspect of a crash running alone (optimize) */
    fresh_trial **zombies;    /* abandoned jobs whose objective has not returned */
    size_t n_zombies, cap_zombies, pool_zombies;
    fresh_pool **zpools;      /* earlier pools that still run an abandoned job */
    size_t n_zpools, cap_zpools;
    fresh_store *store;
    int broken;               /* a store write failed: no more jobs */
    int halted;               /* an error left a scheduler slot taken: no more jobs */
    int replaying;            /* rebuilding from the store: no writes */
    const double *replay_x;   /* replayed ask: the stored configuration */
    int replay_mb;
    int snapshot; /* fresh_study_open_snapshot: read-only, no store after open */
    size_t n_requeued, replayed, requeued_total, warm_obs, failed_after_crash;
    size_t n_interrupted;     /* requeued because a stop request cut them short */
    char *tag;                      /* p.tag points here; NULL = none */
    unsigned char *bracket_done;    /* bit b: bracket b finished */
    size_t cap_bracket_done;        /* bytes */
    char errmsg[FRESH__ERRMSG_LEN];
};

/* ------------------------------------------------- calls from an objective */

/* The study whose objective this thread is running (set by run_job), and
 * the message of a call it refused: the study API belongs to the owner
 * thread, and a call from inside the objective would race with it. The
 * owner's own message (s->errmsg) is left alone. */
static _Thread_local const fresh_study *tl_objective_of;
static _Thread_local char tl_errmsg[256];

static int from_objective(const fresh_study *s, const char *fn)
{
    if (!s || tl_objective_of != s)
        return 0;
    snprintf(tl_errmsg, sizeof tl_errmsg,
             "%s: called from inside the study's objective (the study belongs to its owner "
             "thread; an objective may only use its trial and fresh_study_force_stop)", fn);
    return 1;
}

/* ---------------------------------------------------------------- params */

void fresh_study_params_default(fresh_study_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->min_budget = 1;
    p->max_budget = 81;
    p->eta = 3;
    p->bracket_formula = FRESH_BRACKETS_PAPER;
    p->scheduler = fresh_scheduler_adaptive;
    p->sampler = fresh_sampler_auto; /* docs/algorithms.md, "auto" */
    fresh_sampler_params_default(&p->sampler_params);
    p->workers = 0;
    p->seed = FRESH_DEFAULT_SEED;
    p->early_stopping = 1;
    p->target_loss = NAN;
}

int fresh_study_params_preset(fresh_study_params *p, const char *name)
{
    if (!p || !name)
        return FRESH_EINVAL;
    fresh_study_params d;
    fresh_study_params_default(&d);
    if (strcasecmp(name, "bohb-reference") == 0) {
        d.sampler = fresh_sampler_bohb;
        d.scheduler = fresh_scheduler_hyperband;
        d.bracket_formula = FRESH_BRACKETS_FLOOR;
        d.early_stopping = 0;
        d.sampler_params.bandwidth_factor = 3;
        d.sampler_params.bandwidth_floor = 0;
        d.sampler_params.hedge_tau = -2;
    } else if (strcasecmp(name, "default") != 0) {
        return FRESH_ENOTFOUND;
    }
    p->sampler = d.sampler;
    p->scheduler = d.scheduler;
    p->bracket_formula = d.bracket_formula;
    p->early_stopping = d.early_stopping;
    p->sampler_params = d.sampler_params;
    return FRESH_OK;
}

static int check_params(const fresh_study_params *p, char *err)
{
    if (!p->scheduler)
        return fresh__set_err(err, FRESH_EINVAL, "scheduler: NULL");
    if (!p->sampler)
        return fresh__set_err(err, FRESH_EINVAL, "sampler: NULL");
    if (p->workers > 4096)
        return fresh__set_err(err, FRESH_EINVAL, "workers: at most 4096, got %zu", p->workers);
    if (p->max_open_brackets > 0 && p->scheduler->asynchronous)
        return fresh__set_err(err, FRESH_EINVAL,
                              "max_open_brackets: scheduler '%s' is asynchronous: its groups do "
                              "not end at a barrier (use a synchronous one)",
                              p->scheduler->name);
    if (!(p->job_time_limit >= 0) || isinf(p->job_time_limit))
        return fresh__set_err(err, FRESH_EINVAL, "job_time_limit: must be >= 0 and finite, got %g",
                              p->job_time_limit);
    if (p->max_brackets < 0)
        return fresh__set_err(err, FRESH_EINVAL, "max_brackets: must be >= 0, got %ld",
                              p->max_brackets);
    if ((p->max_paused > 0 || p->paper_promotions) && !p->scheduler->set_options)
        return fresh__set_err(err, FRESH_EINVAL,
                              "%s: scheduler '%s' does not offer it (the asynchronous "
                              "schedulers asha, async-hyperband and async-adaptive do)",
                              p->max_paused > 0 ? "max_paused" : "paper_promotions",
                              p->scheduler->name);
    if (!(p->max_total_budget >= 0) || isinf(p->max_total_budget))
        return fresh__set_err(err, FRESH_EINVAL,
                              "max_total_budget: must be >= 0 and finite, got %g",
                              p->max_total_budget);
    if (!(p->max_wall_time >= 0) || isinf(p->max_wall_time))
        return fresh__set_err(err, FRESH_EINVAL, "max_wall_time: must be >= 0 and finite, got %g",
                              p->max_wall_time);
    if (isinf(p->target_loss))
        return fresh__set_err(err, FRESH_EINVAL, "target_loss: must be finite or NaN (off), got %g",
                              p->target_loss);
    const fresh_sampler_params *sp = &p->sampler_params;
    if (!(sp->random_fraction >= 0 && sp->random_fraction <= 1))
        return fresh__set_err(err, FRESH_EINVAL, "random_fraction: must be in [0, 1], got %g",
                              sp->random_fraction);
    if (sp->num_samples < 1 || sp->num_samples > FRESH_MAX_NUM_SAMPLES)
        return fresh__set_err(err, FRESH_EINVAL,
                              "num_samples: must be in 1.." FRESH__STR(FRESH_MAX_NUM_SAMPLES)
                              ", got %zu", sp->num_samples);
    if (!(sp->top_n_percent > 0 && sp->top_n_percent < 100))
        return fresh__set_err(err, FRESH_EINVAL, "top_n_percent: must be in (0, 100), got %g",
                              sp->top_n_percent);
    if (!(sp->bandwidth_factor > 0) || isinf(sp->bandwidth_factor))
        return fresh__set_err(err, FRESH_EINVAL, "bandwidth_factor: must be > 0, got %g",
                              sp->bandwidth_factor);
    if (!(sp->min_bandwidth > 0) || isinf(sp->min_bandwidth))
        return fresh__set_err(err, FRESH_EINVAL, "min_bandwidth: must be > 0, got %g",
                              sp->min_bandwidth);
    if (!(sp->bandwidth_floor >= 0) || isinf(sp->bandwidth_floor))
        return fresh__set_err(err, FRESH_EINVAL, "bandwidth_floor: must be >= 0, got %g",
                              sp->bandwidth_floor);
    if (!(sp->hedge_tau <= 1) || isinf(sp->hedge_tau))
        return fresh__set_err(err, FRESH_EINVAL,
                              "hedge_tau: must be finite and <= 1 (< -1 turns the hedge off), got %g",
                              sp->hedge_tau);
    if (p->tag && p->tag[0]) { /* the study file keeps it as a JSON string */
        json_t *js = json_string(p->tag);
        json_decref(js);
        if (!js)
            return fresh__set_err(err, FRESH_EINVAL, "tag: not valid UTF-8");
    }
    return FRESH_OK;
}

/* -------------------------------------------------------------- creation */

static int attach_store(fresh_study *s, const char *path, int resume, char *err);

/* What ask, optimize and warm start say to a snapshot (fresh_study_open_snapshot). */
static int refuse_snapshot(fresh_study *s)
{
    return fresh__set_err(s->errmsg, FRESH_ESTATE,
                          "a snapshot of a study file is read-only: open it with "
                          "fresh_study_open() (or resume it) to continue it");
}

static size_t online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

static fresh_study *study_create(const fresh_space *space, const fresh_study_params *params,
                                 int snapshot, int *status, char *errmsg, size_t errlen)
{
    char err[FRESH__ERRMSG_LEN] = "";
    int rc = FRESH_OK;
    fresh_study *s = NULL;
    fresh_init();
    fresh_study_params p;
    if (params)
        p = *params;
    else
        fresh_study_params_default(&p);

    if (!space) {
        rc = fresh__set_err(err, FRESH_EINVAL, "space: NULL");
        goto fail;
    }
    if (fresh_space_dim(space) == 0) {
        rc = fresh__set_err(err, FRESH_EINVAL, "space: has no parameters (did reading the space "
                            "file fail? check its return value)");
        goto fail;
    }
    rc = check_params(&p, err);
    if (rc != FRESH_OK)
        goto fail;

    s = fresh__calloc(1, sizeof *s);
    if (!s) {
        rc = fresh__set_err(err, FRESH_ENOMEM, "out of memory");
        goto fail;
    }
    s->space = space;
    s->dim = fresh_space_dim(space);
    s->p = p;
    s->p.storage = NULL; /* borrowed for create only */
    s->p.tag = NULL;
    if (p.tag && p.tag[0]) {
        s->tag = fresh__strdup(p.tag);
        if (!s->tag) {
            rc = fresh__set_err(err, FRESH_ENOMEM, "out of memory");
            goto fail;
        }
        s->p.tag = s->tag;
    }
    s->workers = p.workers ? p.workers : online_cpus();
    atomic_init(&s->force_stop, 0);
    s->plan = fresh_plan_create();
    if (!s->plan) {
        rc = fresh__set_err(err, FRESH_ENOMEM, "out of memory");
        goto fail;
    }
    rc = fresh_plan_compute(s->plan, p.min_budget, p.max_budget, p.eta, p.bracket_formula);
    if (rc != FRESH_OK) {
        fresh__set_err(err, rc, "%s", fresh_plan_errmsg(s->plan));
        goto fail;
    }
    s->n_rungs = fresh_plan_s_max(s->plan) + 1;
    fresh_plan_rungs(s->plan, s->rungs);
    s->rng = gsl_rng_alloc(gsl_rng_mt19937);
    s->sched = fresh__calloc(1, p.scheduler->state_size);
    s->samp = fresh__calloc(1, p.sampler->state_size);
    if (!s->rng || !s->sched || !s->samp) {
        rc = fresh__set_err(err, FRESH_ENOMEM, "out of memory");
        goto fail;
    }
    rc = p.scheduler->init(s->sched, s->plan, err);
    if (rc != FRESH_OK) {
        fresh__free(s->sched);
        s->sched = NULL;
        goto fail;
    }
    if (p.scheduler->set_options) {
        fresh_sched_options so = {p.max_paused, p.paper_promotions != 0};
        if ((rc = p.scheduler->set_options(s->sched, &so)) != FRESH_OK) {
            fresh__set_err(err, rc, "scheduler '%s' refused its options", p.scheduler->name);
            goto fail;
        }
    }
    rc = p.sampler->init(s->samp, space, &p.sampler_params, p.seed, err);
    if (rc != FRESH_OK) {
        fresh__free(s->samp);
        s->samp = NULL;
        goto fail;
    }
    s->t0 = fresh__now();
    s->snapshot = snapshot;
    if (p.storage) {
        rc = attach_store(s, p.storage, p.resume, err);
        if (rc != FRESH_OK)
            goto fail;
    }
    if (status)
        *status = FRESH_OK;
    return s;
fail:
    fresh_study_destroy(s);
    if (status)
        *status = rc;
    if (errmsg && errlen)
        snprintf(errmsg, errlen, "%s", err);
    return NULL;
}

fresh_study *fresh_study_create(const fresh_space *space, const fresh_study_params *params,
                                int *status, char *errmsg, size_t errlen)
{
    return study_create(space, params, 0, status, errmsg, errlen);
}

void fresh_study_destroy(fresh_study *s)
{
    if (!s || from_objective(s, "fresh_study_destroy"))
        return;
    /* abandoned jobs: wait for their objectives to return (see study.h) */
    for (size_t i = 0; i < s->n_zpools; i++)
        fresh__pool_destroy(s->zpools[i]);
    fresh__free(s->zpools);
    for (size_t i = 0; i < s->n_zombies; i++)
        fresh__trial_release(s->zombies[i]);
    fresh__free(s->zombies);
    if (s->sched)
        s->p.scheduler->destroy(s->sched);
    if (s->samp)
        s->p.sampler->destroy(s->samp);
    fresh__free(s->sched);
    fresh__free(s->samp);
    if (s->rng)
        gsl_rng_free(s->rng);
    fresh_plan_destroy(s->plan);
    for (size_t i = 0; i < s->n_configs; i++) {
        fresh__free(s->configs[i].x);
        fresh__free(s->configs[i].ckpt);
    }
    fresh__free(s->configs);
    for (size_t i = 0; i < s->n_jobs; i++) {
        fresh__free(s->jobs[i].message);
        fresh__free(s->jobs[i].steps); /* losses are in its block */
    }
    fresh__free(s->jobs);
    for (size_t i = 0; i < s->n_out; i++)
        fresh__trial_release(s->out[i]);
    fresh__free(s->out);
    fresh__free(s->pending);
    for (size_t i = 0; i < s->n_tables; i++)
        fresh__stage_table_destroy(s->tables[i]);
    fresh__free(s->tables);
    fresh__free(s->dup);
    fresh__free(s->traj);
    fresh__free(s->bests);
    fresh__store_close(s->store);
    fresh__free(s->tag);
    fresh__free(s->bracket_done);
    fresh__free(s);
}

const char *fresh_study_errmsg(const fresh_study *s)
{
    if (s && tl_objective_of == s)
        return tl_errmsg;
    return s ? s->errmsg : "";
}
const char *fresh_study_tag(const fresh_study *s) { return s && s->tag ? s->tag : ""; }

int fresh_study_bracket_finished(const fresh_study *s, long bracket)
{
    if (!s || bracket < 0 || (size_t)bracket / 8 >= s->cap_bracket_done)
        return 0;
    return (s->bracket_done[bracket / 8] >> (bracket % 8)) & 1;
}

int fresh_study_config_finished(const fresh_study *s, uint64_t config_id)
{
    if (!s || config_id >= s->n_configs)
        return 0;
    const config_rec *c = &s->configs[config_id];
    if (fresh_study_bracket_finished(s, c->bracket))
        return 1;
    if (!s->p.scheduler->config_final)
        return 0;
    fresh_sched_job sj = {0};
    sj.config_id = config_id;
    sj.bracket = c->bracket;
    sj.slot = c->slot;
    return s->p.scheduler->config_final(s->sched, &sj) == 1;
}
const fresh_plan *fresh_study_plan(const fresh_study *s) { return s ? s->plan : NULL; }

/* ------------------------------------------------------------- helpers */

static uint64_t dup_key(const fresh_study *s, long bracket, const double *x)
{
    return fresh_space_hash(s->space, x) ^ fresh_splitmix64((uint64_t)bracket + 0x51ed27u);
}

/* 1 if x is already a configuration of `bracket`. */
static int dup_find(const fresh_study *s, long bracket, const double *x)
{
    if (!s->cap_dup)
        return 0;
    size_t mask = s->cap_dup - 1;
    for (size_t i = dup_key(s, bracket, x) & mask;; i = (i + 1) & mask) {
        uint64_t id = s->dup[i];
        if (id == UINT64_MAX)
            return 0;
        const config_rec *c = &s->configs[id];
        if (c->bracket == bracket && fresh_space_equal(s->space, c->x, x))
            return 1;
    }
}

static int dup_insert(fresh_study *s, uint64_t id)
{
    if (2 * (s->n_dup + 1) > s->cap_dup) {
        size_t cap = s->cap_dup ? 2 * s->cap_dup : 64;
        uint64_t *t = fresh__malloc(cap * sizeof *t);
        if (!t)
            return FRESH_ENOMEM;
        for (size_t i = 0; i < cap; i++)
            t[i] = UINT64_MAX;
        uint64_t *old = s->dup;
        size_t oldcap = s->cap_dup;
        s->dup = t;
        s->cap_dup = cap;
        s->n_dup = 0;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i] != UINT64_MAX)
                dup_insert(s, old[i]); /* cannot fail: capacity suffices */
        fresh__free(old);
    }
    const config_rec *c = &s->configs[id];
    size_t mask = s->cap_dup - 1;
    size_t i = dup_key(s, c->bracket, c->x) & mask;
    while (s->dup[i] != UINT64_MAX)
        i = (i + 1) & mask;
    s->dup[i] = id;
    s->n_dup++;
    return FRESH_OK;
}

struct dup_ctx {
    const fresh_study *s;
    long bracket;
};

static int is_dup_cb(void *arg, const double *x)
{
    const struct dup_ctx *d = arg;
    return dup_find(d->s, d->bracket, x);
}

static int rung_index(const fresh_study *s, double budget)
{
    for (int j = 0; j < s->n_rungs; j++)
        if (fabs(s->rungs[j] - budget) <= 1e-9 * s->rungs[j])
            return j;
    return -1;
}

static stage_table *get_table(fresh_study *s, const fresh_sched_job *sj)
{
    for (size_t i = s->n_tables; i-- > 0;)
        if (s->tables[i]->bracket == sj->bracket && s->tables[i]->stage == sj->stage)
            return s->tables[i];
    if (fresh__grow((void **)&s->tables, &s->cap_tables, s->n_tables + 1, sizeof *s->tables))
        return NULL;
    stage_table *t = fresh__stage_table_create(sj->bracket, sj->stage, sj->quota);
    if (t)
        s->tables[s->n_tables++] = t;
    return t;
}

/* The ending that holds now, or 0. */
static int ending(fresh_study *s)
{
    if (atomic_load(&s->force_stop))
        return FRESH_STOPPED;

    if (!isnan(s->p.target_loss) && s->has_inc && s->inc_loss <= s->p.target_loss)
        return FRESH_TARGET_REACHED;
    if (s->p.max_wall_time > 0 && s->running && fresh__now() - s->run_start >= s->p.max_wall_time)
        return FRESH_TIME_REACHED;
    if (s->p.max_total_budget > 0 &&
        s->used_budget / s->p.max_budget >= s->p.max_total_budget * (1 - 1e-12))
        return FRESH_BUDGET_REACHED;
    if (s->p.max_brackets > 0 && s->p.scheduler->n_finished(s->sched) >= s->p.max_brackets)
        return FRESH_BRACKETS_DONE;
    return 0;
}

/* A write to the study file failed: the study stops handing out jobs (the
 * file stays consistent; reopen it to resume). */
static int store_failed(fresh_study *s, int rc)
{
    s->broken = 1;
    return fresh__set_err(s->errmsg, rc, "%s", fresh__store_errmsg(s->store));
}

/* ------------------------------------------------------------------ ask */

static int new_config(fresh_study *s, const fresh_sched_job *sj, uint64_t *id_out)
{
    int rc = fresh__grow((void **)&s->configs, &s->cap_configs, s->n_configs + 1, sizeof *s->configs);
    if (rc)
        return rc;
    rc = fresh__grow((void **)&s->pending, &s->cap_pending, s->n_out + 1, sizeof *s->pending);
    if (rc)
        return rc;
    double *x = fresh__malloc(s->dim * sizeof *x);
    if (!x)
        return FRESH_ENOMEM;
    uint64_t id = s->n_configs;
    for (size_t i = 0; i < s->n_out; i++)
        s->pending[i] = s->out[i]->x;
    struct dup_ctx dc = {s, sj->bracket};
    fresh_propose_ctx ctx = {sj->budget, s->pending, s->n_out, is_dup_cb, &dc,
                             s->p.min_budget, s->p.max_budget, s->p.scheduler->asynchronous};
    fresh_rng_stream_reset(s->rng, s->p.seed, id, FRESH_RNG_SAMPLE);
    int model_based = 0;
    if (s->replay_x) { /* the stored draw; proposing has no lasting side effect */
        memcpy(x, s->replay_x, s->dim * sizeof *x);
        model_based = s->replay_mb;
        rc = FRESH_OK;
    } else {
        rc = s->p.sampler->propose(s->samp, &ctx, s->rng, x, &model_based);
    }
    if (rc != FRESH_OK) {
        fresh__free(x);
        return fresh__set_err(s->errmsg, rc, "sampler '%s': %s", s->p.sampler->name,
                              fresh_strerror(rc));
    }
    config_rec *c = &s->configs[s->n_configs];
    memset(c, 0, sizeof *c);
    c->x = x;
    c->bracket = sj->bracket;
    /* 0 random, 1 model, 2 random by the hedge (other values: model) */
    model_based = model_based == FRESH_PROPOSAL_HEDGE ? FRESH_PROPOSAL_HEDGE
                                                      : (model_based != 0);
    c->model_based = model_based;
    s->n_configs++;
    if (dup_insert(s, id) != FRESH_OK) {
        s->n_configs--;
        fresh__free(x);
        return FRESH_ENOMEM;
    }
    if (model_based == FRESH_PROPOSAL_MODEL)
        s->prop_model++;
    else
        s->prop_random++;
    if (model_based == FRESH_PROPOSAL_HEDGE)
        s->prop_hedged++;
    *id_out = id;
    return FRESH_OK;
}

/* The requeued job to hand out next: a suspect of a crash first (it runs
 * alone, see optimize), then the others in job order. NULL if none. */
static fresh_trial *next_requeued(const fresh_study *s)
{
    fresh_trial *best = NULL;
    for (size_t i = 0; i < s->n_out; i++) {
        fresh_trial *t = s->out[i];
        if (t->requeued && (!best || t->suspect > best->suspect ||
                            (t->suspect == best->suspect && t->job_id < best->job_id)))
            best = t;
    }
    return best;
}

int fresh_study_ask(fresh_study *s, fresh_trial **trial_out)
{
    if (!s)
        return FRESH_EINVAL;
    if (from_objective(s, "fresh_study_ask"))
        return FRESH_ESTATE;
    if (!trial_out)
        return fresh__set_err(s->errmsg, FRESH_EINVAL, "trial: NULL");
    *trial_out = NULL;
    if (s->snapshot && !s->replaying)
        return refuse_snapshot(s);
    double t_in = fresh__now();
    if (s->broken)
        return fresh__set_err(s->errmsg, FRESH_ESTORE,
                              "the study file could not be written: reopen the study to resume");
    if (s->halted)
        return fresh__set_err(s->errmsg, FRESH_ESTATE,
                              "an earlier error (%s) left a scheduler slot taken: the study "
                              "cannot go on (a study file can be resumed)",
                              fresh_strerror(s->halted));
    int rc;
    if (!s->replaying && atomic_load(&s->force_stop)) {
        /* outside optimize, a stop request ends once no trial is out */
        if (!s->running && s->n_out == s->n_requeued)
            atomic_store(&s->force_stop, 0);
        return FRESH_STOPPED;
    }
    if (s->n_requeued > 0 && !s->replaying) {
        /* a job that was running when the last process died, or that a stop
         * request cut short: run it again (the run is recorded first, so
         * that a death during it is counted against it) */
        fresh_trial *t = next_requeued(s);
        if (s->store && (rc = fresh__store_retry(s->store, t->job_id)) != FRESH_OK)
            return store_failed(s, rc);
        t->retries++;
        t->requeued = 0;
        s->n_requeued--;
        if (!t->suspect)
            s->n_interrupted--;
        s->jobs[t->job_index].start = fresh__now() - s->t0;
        fresh__trial_start_clock(t);
        *trial_out = t;
        return FRESH_OK;
    }
    rc = s->replaying ? 0 : ending(s);
    if (rc)
        return rc;
    /* reserve every buffer before the scheduler commits a slot */
    if (fresh__grow((void **)&s->jobs, &s->cap_jobs, s->n_jobs + 1, sizeof *s->jobs) ||
        fresh__grow((void **)&s->out, &s->cap_out, s->n_out + 1, sizeof *s->out))
        return fresh__set_err(s->errmsg, FRESH_ENOMEM, "out of memory");
    fresh_trial *t = fresh__malloc(sizeof *t);
    if (!t)
        return fresh__set_err(s->errmsg, FRESH_ENOMEM, "out of memory");
    fresh__trial_init(t);

    /* replaying, the recorded asks say when brackets opened: the stored
     * max_brackets may be an earlier run's, smaller than a resumed one's */
    long opened = s->p.scheduler->n_opened(s->sched);
    int open_new = s->replaying ||
                   ((s->p.max_brackets == 0 || opened < s->p.max_brackets) &&
                    (s->p.max_open_brackets == 0 ||
                     opened - s->p.scheduler->n_finished(s->sched) <
                         (long)s->p.max_open_brackets));
    fresh_sched_job sj;
    rc = s->p.scheduler->next(s->sched, open_new, &sj);
    if (rc != FRESH_OK) {
        fresh__free(t);
        if (rc == FRESH_DONE)
            return FRESH_BRACKETS_DONE;
        if (rc < 0)
            fresh__set_err(s->errmsg, rc, "scheduler '%s': %s", s->p.scheduler->name,
                           fresh_strerror(rc));
        return rc;
    }
    int is_new = sj.config_id == FRESH_SCHED_NEW;
    if (is_new) {
        uint64_t id = 0;
        rc = new_config(s, &sj, &id);
        if (rc == FRESH_OK)
            rc = s->p.scheduler->bind(s->sched, &sj, id);
        if (rc != FRESH_OK) {
            /* the slot stays taken: the study cannot continue consistently */
            fresh__free(t);
            s->halted = rc;
            return rc;
        }
        sj.config_id = id;
    }
    stage_table *table = NULL;
    if (s->p.early_stopping && sj.quota > 0 && sj.quota < sj.stage_size) {
        table = get_table(s, &sj);
        if (!table) {
            fresh__free(t);
            s->halted = FRESH_ENOMEM;
            return fresh__set_err(s->errmsg, FRESH_ENOMEM, "out of memory");
        }
    }
    config_rec *c = &s->configs[sj.config_id];
    c->slot = sj.slot;
    job_rec *j = &s->jobs[s->n_jobs];
    memset(j, 0, sizeof *j);
    j->sj = sj;
    j->config_id = sj.config_id;
    j->status = FRESH_JOB_PENDING;
    j->worker = -1;
    j->loss = NAN;

    t->study = s;
    t->space = s->space;
    t->job_index = s->n_jobs;
    t->job_id = s->n_jobs;
    t->config_id = sj.config_id;
    t->seed = s->p.seed;
    t->x = c->x;
    t->budget = sj.budget;
    t->resume_from = sj.resume_from;
    t->rungs = s->rungs;
    t->n_rungs = (size_t)s->n_rungs;
    t->ckpt_in = c->ckpt;
    t->ckpt_in_len = c->ckpt_len;
    t->study_stop = &s->force_stop;
    t->job_time_limit = s->p.job_time_limit;
    t->table = table;
    s->n_jobs++;
    s->out[s->n_out++] = t;
    j->start = fresh__now() - s->t0;
    if (s->store && !s->replaying) {
        fresh__job_row row = {t->job_id, sj.config_id, sj.bracket, sj.stage, sj.slot,
                              sj.budget, sj.resume_from};
        rc = fresh__store_ask(s->store, &row, is_new ? c->x : NULL, s->dim, c->model_based);
        if (rc != FRESH_OK) /* the job was not recorded: never hand it out */
            return store_failed(s, rc);
    }
    if (fresh__crash_hook && !s->replaying)
        fresh__crash_hook("ask:recorded", t->job_id);
    fresh__trial_start_clock(t);
    *trial_out = t;
    s->overhead += fresh__now() - t_in;
    return FRESH_OK;
}

/* ----------------------------------------------------------------- tell */

static int observe(fresh_study *s, uint64_t cid, double budget, double loss, double from)
{
    int r = rung_index(s, budget);
    config_rec *c = &s->configs[cid];
    if (r >= 0) {
        if (c->observed_rungs & (1ull << r))
            return FRESH_OK;
        c->observed_rungs |= 1ull << r;
    }
    fresh_observation o = {cid, c->x, budget, loss, from};
    return s->p.sampler->observe(s->samp, &o);
}

/* 1 if a stop request cut t short: the study is stopping on request, t
 * was asked to stop and has no result at its budget. Such a job is not
 * recorded but run again (interrupt_job). */
static int cut_short(fresh_study *s, const fresh_trial *t)
{
    if (s->replaying || !atomic_load(&s->force_stop) || !(atomic_load(&t->stop) & STOP_STUDY))
        return 0;
    if (t->has_loss && t->rc == 0 && !t->failed)
        return 0; /* a final result all the same */
    double last = t->n_rep ? t->rep_steps[t->n_rep - 1] : t->resume_from;
    return last < t->budget;
}

/* Records that a stop request cut t short and requeues it: the next
 * optimize (or ask), here or after a resume, runs it again from its start,
 * and the interrupted run does not count as a death of the process. */
static int interrupt_job(fresh_study *s, fresh_trial *t)
{
    if (s->store) {
        int rc = fresh__store_interrupt(s->store, t->job_id);
        if (rc != FRESH_OK)
            return store_failed(s, rc);
    }
    if (t->pjob.work)
        s->busy += t->pjob.end_time - t->pjob.start_time;
    fresh__trial_reset(t);
    t->interrupts++;
    t->suspect = 0;
    t->requeued = 1;
    s->n_requeued++;
    s->n_interrupted++;
    return FRESH_OK;
}

int fresh_study_tell(fresh_study *s, fresh_trial *t)
{
    if (!s)
        return FRESH_EINVAL;
    if (from_objective(s, "fresh_study_tell"))
        return FRESH_ESTATE;
    if (!t)
        return fresh__set_err(s->errmsg, FRESH_EINVAL, "trial: NULL");
    size_t k = 0;
    while (k < s->n_out && s->out[k] != t)
        k++;
    if (k == s->n_out)
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "trial: not an outstanding trial of this study");
    double t_in = fresh__now();
    if (t->requeued)
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "trial: requeued after resume and not handed out by ask yet");
    if (!s->replaying && !t->has_times && !t->pjob.work && t->deadline > 0 &&
        fresh__now() > t->deadline) /* a caller-run job told after its time limit */
        atomic_fetch_or(&t->stop, STOP_TIMEOUT);
    if (cut_short(s, t))
        return interrupt_job(s, t);
    size_t had = s->cap_bracket_done;
    if (fresh__grow((void **)&s->traj, &s->cap_traj, s->n_traj + 1, sizeof *s->traj) ||
        fresh__grow((void **)&s->bests, &s->cap_bests, s->n_bests + 1, sizeof *s->bests) ||
        fresh__grow((void **)&s->bracket_done, &s->cap_bracket_done,
                    (size_t)s->jobs[t->job_index].sj.bracket / 8 + 1, 1))
        return fresh__set_err(s->errmsg, FRESH_ENOMEM, "out of memory");
    memset(s->bracket_done + had, 0, s->cap_bracket_done - had);
    if (!t->has_times) { /* the pool's clock, or ask to tell for callers' own workers */
        t->has_times = 1;
        t->r_start = t->pjob.work ? t->pjob.start_time - s->t0 : s->jobs[t->job_index].start;
        t->r_end = (t->pjob.work ? t->pjob.end_time : fresh__now()) - s->t0;
        t->r_worker = t->pjob.work ? t->pjob.worker : -1;
    }
    job_rec *j = &s->jobs[t->job_index];
    const fresh_sched_job *sj = &j->sj;
    unsigned flags = atomic_load(&t->stop);
    double last_step = t->n_rep ? t->rep_steps[t->n_rep - 1] : sj->resume_from;
    double last_loss = t->n_rep ? t->rep_losses[t->n_rep - 1] : NAN;
    char msg[300] = "";
    int error = 0;
    fresh_job_status st;
    double loss;

    if (t->rc != 0) {
        error = FRESH_EOBJECTIVE;
        snprintf(msg, sizeof msg, "objective returned %d%s%s", t->rc, t->failed ? ": " : "",
                 t->failed ? t->message : "");
    } else if (t->failed) {
        error = FRESH_EOBJECTIVE;
        snprintf(msg, sizeof msg, "%s", t->message);
    } else if (flags & STOP_TIMEOUT) {
        error = FRESH_ETIMEDOUT;
        if (t->message[0]) /* abandoned: why */
            snprintf(msg, sizeof msg, "%s", t->message);
        else
            snprintf(msg, sizeof msg, "job exceeded its time limit of %g s", s->p.job_time_limit);
    }
    loss = t->has_loss ? t->loss : last_loss;
    if (!error) {
        if (t->has_loss ? !isfinite(t->loss) : t->n_rep == 0 && !(flags & STOP_STUDY)) {
            error = FRESH_EOBJECTIVE;
            if (!t->has_loss)
                snprintf(msg, sizeof msg, "objective gave no loss (no report, no set_loss)");
            else
                snprintf(msg, sizeof msg, "loss is %s", isnan(t->loss) ? "NaN" : "infinite");
        }
    }
    int early = (flags & (STOP_EARLY | STOP_STUDY)) && last_step < sj->budget && !t->has_loss;
    if (error) {
        st = FRESH_JOB_FAILED;
        loss = INFINITY;
        j->reached = last_step;
        j->cost = t->n_rep ? fmax(0, last_step - sj->resume_from) : sj->budget - sj->resume_from;
    } else if (early) {
        st = FRESH_JOB_STOPPED;
        if (!t->n_rep)
            loss = INFINITY; /* stopped by the study before any report */
        j->reached = last_step;
        j->cost = fmax(0, last_step - sj->resume_from);
    } else {
        st = FRESH_JOB_COMPLETED;
        j->reached = sj->budget;
        j->cost = sj->budget - sj->resume_from;
    }
    j->status = st;
    j->error = error;
    j->loss = loss;
    j->start = t->r_start;
    j->end = t->r_end;
    j->worker = t->r_worker;
    fresh__free(j->message); /* a tell retried after an error */
    j->message = NULL;
    if (msg[0]) {
        j->message = fresh__strdup(msg);
        if (!j->message)
            return fresh__set_err(s->errmsg, FRESH_ENOMEM, "out of memory");
    }
    /* the job record keeps the reports in one block of their exact size (the
     * trial's arrays grow by doubling: most of them would be slack) */
    double *rep = NULL;
    if (t->n_rep && !(rep = fresh__malloc(2 * t->n_rep * sizeof *rep)))
        return fresh__set_err(s->errmsg, FRESH_ENOMEM, "out of memory");
    /* recorded in the study file before the study acts on it; everything
     * that can fail without a trace in the file has failed by now */
    if (s->store && !s->replaying) {
        fresh__outcome_row o = {t->job_id, t->rc, t->failed, t->message, t->has_loss, t->loss,
                                atomic_load(&t->stop), t->n_rep, t->rep_steps, t->rep_losses,
                                t->ckpt_saved, t->ckpt_out, t->ckpt_out_len,
                                t->r_start, t->r_end, t->r_worker};
        int src = fresh__store_tell(s->store, &o);
        if (src != FRESH_OK) { /* not recorded: the study must not act on it */
            fresh__free(rep);
            return store_failed(s, src);
        }
    }
    if (fresh__crash_hook && !s->replaying)
        fresh__crash_hook("tell:recorded", t->job_id);
    if (!s->replaying) /* busy time of this process only */
        s->busy += t->r_end - t->r_start;
    /* reports move into the job record */
    if (t->n_rep) {
        memcpy(rep, t->rep_steps, t->n_rep * sizeof *rep);
        memcpy(rep + t->n_rep, t->rep_losses, t->n_rep * sizeof *rep);
    }
    fresh__free(j->steps);
    j->steps = rep;
    j->n_rep = (uint32_t)t->n_rep;
    const double *j_losses = job_losses(j);

    config_rec *c = &s->configs[j->config_id];
    if (t->ckpt_saved) {
        fresh__free(c->ckpt);
        c->ckpt = t->ckpt_out;
        c->ckpt_len = t->ckpt_out_len;
        t->ckpt_out = NULL;
    }
    double rung_losses[FRESH_PLAN_MAX_STAGES];
    for (int r = 0; r < s->n_rungs; r++)
        rung_losses[r] = NAN;
    for (size_t i = 0; i < j->n_rep; i++) {
        int r = rung_index(s, j->steps[i]);
        if (r >= 0 && j->steps[i] > sj->resume_from)
            rung_losses[r] = j_losses[i];
    }
    if (st == FRESH_JOB_COMPLETED)
        rung_losses[rung_index(s, sj->budget)] = loss;
    long brackets_done = s->p.scheduler->n_finished(s->sched);
    /* The adaptive scheduler's fidelity check gets the rung losses of
     * configurations drawn at random only (an unbiased sample): the model's
     * own picks concentrate where the max-budget losses differ by little
     * more than the noise, and their tau would condemn low budgets that rank
     * faithfully (docs/algorithms.md, "Adaptive bracket selection"). */
    const double *unbiased = c->model_based == FRESH_PROPOSAL_MODEL ? NULL : rung_losses;
    int rc = s->p.scheduler->finish(s->sched, sj, loss, st == FRESH_JOB_COMPLETED, unbiased);
    /* only a job of its own can finish a bracket */
    if (s->p.scheduler->n_finished(s->sched) > brackets_done)
        s->bracket_done[sj->bracket / 8] |= (unsigned char)(1u << (sj->bracket % 8));
    /* the sampler learns from every finite report at a rung budget below the
     * job's budget, and from the final result */
    for (size_t i = 0; rc == FRESH_OK && i < j->n_rep; i++)
        if (j->steps[i] > sj->resume_from && j->steps[i] < sj->budget &&
            isfinite(j_losses[i]) && rung_index(s, j->steps[i]) >= 0)
            rc = observe(s, j->config_id, j->steps[i], j_losses[i], sj->resume_from);
    if (rc == FRESH_OK && st != FRESH_JOB_STOPPED)
        rc = observe(s, j->config_id, sj->budget, loss, sj->resume_from);
    if (rc != FRESH_OK)
        fresh__set_err(s->errmsg, rc, "recording job %zu: %s", t->job_index, fresh_strerror(rc));

    s->finished++;
    if (st == FRESH_JOB_COMPLETED) {
        s->completed++;
        if (!s->has_any || sj->budget > s->any_budget ||
            (sj->budget == s->any_budget && loss < s->any_loss)) {
            s->has_any = 1;
            s->any_budget = sj->budget;
            s->any_loss = loss;
            s->any_config = j->config_id;
        }
        if (rung_index(s, sj->budget) == s->n_rungs - 1 && (!s->has_inc || loss < s->inc_loss)) {
            s->has_inc = 1;
            s->inc_loss = loss;
            s->inc_config = j->config_id;
        }
    } else if (st == FRESH_JOB_STOPPED) {
        s->stopped++;
    } else {
        s->failed++;
    }
    s->used_budget += j->cost;
    best_rec b = {s->has_inc, s->has_any, s->inc_config, s->any_config,
                  s->has_inc ? s->inc_loss : NAN, s->has_any ? s->any_loss : NAN,
                  s->has_any ? s->any_budget : NAN};
    const best_rec *last = s->n_bests ? &s->bests[s->n_bests - 1] : NULL;
    if (!last || last->has_inc != b.has_inc || last->has_any != b.has_any ||
        last->inc_config != b.inc_config || last->any_config != b.any_config ||
        memcmp(&last->inc_loss, &b.inc_loss, 3 * sizeof(double)) != 0)
        s->bests[s->n_bests++] = b; /* room made above */
    traj_rec *pt = &s->traj[s->n_traj++];
    pt->job_id = t->job_id;
    pt->used_mbe = s->used_budget / s->p.max_budget;
    pt->wall_time = j->end;
    pt->best = s->n_bests - 1;

    if (fresh__crash_hook && !s->replaying)
        fresh__crash_hook("tell:done", t->job_id);
    s->out[k] = s->out[--s->n_out];
    size_t job_index = t->job_index;
    fresh__trial_release(t);
    s->overhead += fresh__now() - t_in;
    if (s->p.on_job && !s->replaying) {
        fresh_job_info info;
        fresh_study_job(s, job_index, &info);
        s->p.on_job(s, &info, s->p.on_job_user);
    }
    return rc;
}

void fresh_study_force_stop(fresh_study *s)
{
    /* one lock-free atomic store: async-signal-safe. optimize notices it
     * within POLL_S; objectives see it at their next report */
    if (s)
        atomic_store(&s->force_stop, 1);
}

int fresh_study_get_params(const fresh_study *s, fresh_study_params *p)
{
    if (!s || !p)
        return FRESH_EINVAL;
    *p = s->p;
    p->storage = NULL;
    return FRESH_OK;
}

int fresh_study_set_run_options(fresh_study *s, const fresh_study_params *p)
{
    if (!s)
        return FRESH_EINVAL;
    if (from_objective(s, "fresh_study_set_run_options"))
        return FRESH_ESTATE;
    if (!p)
        return fresh__set_err(s->errmsg, FRESH_EINVAL, "params: NULL");
    if (s->snapshot)
        return refuse_snapshot(s);
    if (s->running)
        return fresh__set_err(s->errmsg, FRESH_ESTATE, "optimize is running");
    if (s->broken)
        return fresh__set_err(s->errmsg, FRESH_ESTATE,
                              "a write to the study file failed: reopen it to continue");
    fresh_study_params q = s->p;
    q.max_brackets = p->max_brackets;
    q.max_total_budget = p->max_total_budget;
    q.max_wall_time = p->max_wall_time;
    q.target_loss = p->target_loss;
    q.workers = p->workers;
    q.on_job = p->on_job;
    q.on_job_user = p->on_job_user;
    int rc = check_params(&q, s->errmsg);
    if (rc != FRESH_OK)
        return rc;
    s->p = q;
    s->workers = q.workers ? q.workers : online_cpus();
    return FRESH_OK;
}

/* ------------------------------------------------------------- optimize */

/* How often optimize looks at the clock and at stop requests while it waits
 * for a job (a stop request from a signal handler cannot wake it). */
#define POLL_S 0.05

/* How long a job may go on after its time limit, or after the study asked
 * it to stop, before optimize abandons it (see fresh_study_params). */
static double grace(double limit) { return fmax(1.0, 0.1 * limit); }

static void run_job(fresh_pool_job *pj)
{
    fresh_trial *t = pj->data;
    fresh__trial_start_clock(t);
    tl_objective_of = t->study;
    t->rc = t->fn(t, t->user);
    tl_objective_of = NULL;
    if (t->deadline > 0 && fresh__now() > t->deadline) /* returned late */
        atomic_fetch_or(&t->stop, STOP_TIMEOUT);
}

/* Asks every running job to stop; each must be back within `g` seconds or
 * it is abandoned. */
static void stop_running(fresh_study *s, double g)
{
    double by = fresh__now() + g;
    for (size_t i = 0; i < s->n_out; i++) {
        fresh_trial *t = s->out[i];
        if (t->requeued)
            continue; /* not running: it must start afresh when handed out */
        atomic_fetch_or(&t->stop, STOP_STUDY);
        if (t->submitted && (t->owner_deadline == 0 || t->owner_deadline > by))
            t->owner_deadline = by;
    }
}

/* The job t (running in the pool) is past its deadline: optimize stops
 * waiting for it. Its objective keeps its thread (a thread cannot be
 * killed safely) and its trial (now a zombie, freed when it returns or at
 * destroy); a copy g takes its place in the study and is either requeued
 * (a stop request: it runs again) or recorded as failed, FRESH_ETIMEDOUT,
 * without the reports the objective is still writing. */
static int abandon(fresh_study *s, fresh_trial *t)
{
    if (fresh__grow((void **)&s->zombies, &s->cap_zombies, s->n_zombies + 1, sizeof *s->zombies))
        return FRESH_ENOMEM;
    fresh_trial *g = fresh__malloc(sizeof *g);
    if (!g)
        return FRESH_ENOMEM;
    fresh__trial_init(g);
    /* only the fields the owner wrote: the worker writes the others */
    g->study = t->study;
    g->space = t->space;
    g->job_index = t->job_index;
    g->job_id = t->job_id;
    g->config_id = t->config_id;
    g->seed = t->seed;
    g->x = t->x;
    g->budget = t->budget;
    g->resume_from = t->resume_from;
    g->ckpt_in = t->ckpt_in;
    g->ckpt_in_len = t->ckpt_in_len;
    g->study_stop = t->study_stop;
    g->job_time_limit = t->job_time_limit;
    g->table = t->table;
    g->retries = t->retries;
    g->interrupts = t->interrupts;
    for (size_t i = 0; i < s->n_out; i++)
        if (s->out[i] == t)
            s->out[i] = g;
    t->abandoned = 2; /* a zombie of the current pool */
    t->submitted = 0;
    s->zombies[s->n_zombies++] = t;
    s->pool_zombies++;
    if (s->solo == t)
        s->solo = NULL;
    if (atomic_load(&s->force_stop)) {
        atomic_store(&g->stop, STOP_STUDY);
        return interrupt_job(s, g);
    }
    double now = fresh__now();
    atomic_store(&g->stop, STOP_TIMEOUT);
    if (s->p.job_time_limit > 0 && now - (s->jobs[g->job_index].start + s->t0) > s->p.job_time_limit)
        snprintf(g->message, sizeof g->message,
                 "job did not return within %g s of its time limit of %g s: abandoned, "
                 "its thread left running", grace(s->p.job_time_limit), s->p.job_time_limit);
    else
        snprintf(g->message, sizeof g->message,
                 "job did not return within %g s of the study's stop (wall time or target): "
                 "abandoned, its thread left running", grace(s->p.max_wall_time));
    g->has_times = 1;
    g->r_start = s->jobs[g->job_index].start;
    g->r_end = now - s->t0;
    g->r_worker = -1;
    return fresh_study_tell(s, g);
}

/* A zombie's objective returned: its trial can go. */
static void bury(fresh_study *s, fresh_trial *t)
{
    for (size_t i = 0; i < s->n_zombies; i++)
        if (s->zombies[i] == t) {
            s->zombies[i] = s->zombies[--s->n_zombies];
            break;
        }
    s->pool_zombies--;
    fresh__trial_release(t);
}

/* Abandons the running jobs past their deadline. Negative: an error of the
 * study (the tell of the copy). */
static int reap(fresh_study *s)
{
    double now = fresh__now();
    for (size_t i = 0; i < s->n_out; i++) {
        fresh_trial *t = s->out[i];
        if (t->submitted && t->owner_deadline > 0 && now > t->owner_deadline) {
            int rc = abandon(s, t);
            if (rc != FRESH_OK)
                return rc;
            i = (size_t)-1; /* s->out changed: scan again */
        }
    }
    return FRESH_OK;
}

/* Keeps the pool in the study while a zombie runs in it (destroy waits for
 * it), else destroys it. */
static void retire_pool(fresh_study *s, fresh_pool *pool)
{
    if (s->pool_zombies > 0 &&
        fresh__grow((void **)&s->zpools, &s->cap_zpools, s->n_zpools + 1, sizeof *s->zpools) ==
            FRESH_OK) {
        fresh__pool_cancel_all(pool);
        fresh__pool_shutdown(pool);
        s->zpools[s->n_zpools++] = pool;
    } else {
        fresh__pool_destroy(pool); /* out of memory: waits for the zombies */
        for (size_t i = s->n_zombies; i-- > 0;)
            if (s->zombies[i]->abandoned == 2) /* of this pool */
                bury(s, s->zombies[i]);
    }
    s->pool_zombies = 0;
    for (size_t i = 0; i < s->n_zombies; i++)
        s->zombies[i]->abandoned = 1; /* of an earlier pool from now on */
}

static int stops_jobs(int end) { return end && end != FRESH_BUDGET_REACHED && end != FRESH_BRACKETS_DONE; }

/* Hands out jobs while a worker is free. A requeued suspect of a crash runs
 * alone: it waits for the pool to drain, and nothing starts beside it, so
 * that a death during its run convicts it and nobody else. Jobs requeued
 * at a resume also run when a budget or bracket criterion already holds
 * (the uninterrupted run finished them). */
static void fill(fresh_study *s, fresh_pool *pool, fresh_objective objective, void *user, int *end)
{
    for (;;) {
        size_t busy = fresh__pool_outstanding(pool);
        if (busy >= s->workers || s->solo)
            return;
        if (*end && (stops_jobs(*end) || s->n_requeued == 0))
            return;
        if (s->n_requeued > 0 && next_requeued(s)->suspect && busy > s->pool_zombies)
            return;
        fresh_trial *t = NULL;
        int r = fresh_study_ask(s, &t);
        if (r == FRESH_WAIT)
            return;
        if (r != FRESH_OK) {
            *end = r;
            if (stops_jobs(r))
                stop_running(s, grace(0));
            return;
        }
        t->fn = objective;
        t->user = user;
        t->pjob.work = run_job;
        t->pjob.data = t;
        t->owner_deadline =
            s->p.job_time_limit > 0
                ? fresh__now() + s->p.job_time_limit + grace(s->p.job_time_limit) : 0;
        r = fresh__pool_submit(pool, &t->pjob);
        if (r != FRESH_OK) { /* cannot happen with a live pool; record as failed */
            t->rc = -1;
            t->pjob.work = NULL;
            fresh_study_tell(s, t);
            *end = r;
            return;
        }
        t->submitted = 1;
        if (t->suspect)
            s->solo = t;
    }
}

/* What optimize and other drivers (mpi/) refuse before they start. */
static int can_run(fresh_study *s)
{
    if (s->snapshot)
        return refuse_snapshot(s);
    if (s->n_out > s->n_requeued)
        return fresh__set_err(s->errmsg, FRESH_ESTATE,
                              "%zu jobs from fresh_study_ask() are not told yet",
                              s->n_out - s->n_requeued);
    if (s->running)
        return fresh__set_err(s->errmsg, FRESH_ESTATE, "optimize is already running");
    return FRESH_OK;
}

int fresh_study_optimize(fresh_study *s, fresh_objective objective, void *user)
{
    if (!s)
        return FRESH_EINVAL;
    if (from_objective(s, "fresh_study_optimize"))
        return FRESH_ESTATE;
    if (!objective)
        return fresh__set_err(s->errmsg, FRESH_EINVAL, "objective: NULL");
    int rc = can_run(s);
    if (rc != FRESH_OK)
        return rc;
    fresh_pool *pool = NULL;
    rc = fresh__pool_create(&pool, s->workers);
    if (rc != FRESH_OK)
        return fresh__set_err(s->errmsg, rc, "worker pool: %s", fresh_strerror(rc));
    s->running = 1;
    s->run_start = fresh__now();
    s->pool_zombies = 0;
    s->solo = NULL;
    int end = 0;
    for (;;) {
        if (!end && (end = ending(s)) != 0 && stops_jobs(end)) /* wall time, target, stop */
            stop_running(s, grace(end == FRESH_TIME_REACHED ? s->p.max_wall_time : 0));
        fill(s, pool, objective, user, &end);
        if (fresh__pool_outstanding(pool) == s->pool_zombies) {
            if (end || s->pool_zombies == 0)
                break;
            /* every job left runs in a thread of its own that will not come
             * back: go on with a new pool */
            fresh_pool *fresh_one = NULL;
            if ((rc = fresh__pool_create(&fresh_one, s->workers)) != FRESH_OK) {
                end = fresh__set_err(s->errmsg, rc, "worker pool: %s", fresh_strerror(rc));
                break;
            }
            retire_pool(s, pool);
            pool = fresh_one;
            continue;
        }
        double timeout = POLL_S;
        if (s->p.max_wall_time > 0 && !end)
            timeout = fmin(timeout, fmax(0.001, s->p.max_wall_time - (fresh__now() - s->run_start)));
        fresh_pool_job *done = NULL;
        /* FRESH_WAIT: the loop checks the criteria and the deadlines */
        if (fresh__pool_next(pool, timeout, &done) == FRESH_OK) {
            fresh_trial *t = done->data;
            if (t->abandoned) {
                bury(s, t);
                continue;
            }
            t->submitted = 0;
            if (s->solo == t)
                s->solo = NULL;
            int tr = fresh_study_tell(s, t);
            if (tr < 0 && !end) {
                end = tr;
                stop_running(s, grace(0));
            }
        }
        int rr = reap(s);
        if (rr < 0 && !end) {
            end = rr;
            stop_running(s, grace(0));
        }
    }
    s->wall += fresh__now() - s->run_start;
    retire_pool(s, pool);
    s->running = 0;
    s->solo = NULL;
    atomic_store(&s->force_stop, 0); /* the request is done: optimize may run again */
    if (!end)
        end = FRESH_BRACKETS_DONE;
    if (end < 0 && !s->errmsg[0])
        fresh__set_err(s->errmsg, end, "%s", fresh_strerror(end));
    return end;
}

/* ------------------------------------ drivers in other processes (mpi/) */

int fresh__study_can_run(fresh_study *s) { return can_run(s); }

int fresh__study_run_begin(fresh_study *s, size_t workers)
{
    if (!s || workers == 0)
        return FRESH_EINVAL;
    int rc = can_run(s);
    if (rc != FRESH_OK)
        return rc;
    s->workers = workers;
    s->running = 1;
    s->run_start = fresh__now();
    return FRESH_OK;
}

void fresh__study_run_end(fresh_study *s)
{
    if (!s || !s->running)
        return;
    s->wall += fresh__now() - s->run_start;
    s->running = 0;
    atomic_store(&s->force_stop, 0); /* as optimize: the request is done */
}

int fresh__study_ending(fresh_study *s) { return ending(s); }
size_t fresh__study_requeued(const fresh_study *s) { return s->n_requeued; }
void fresh__study_stop_running(fresh_study *s) { stop_running(s, grace(0)); }
const fresh_space *fresh__study_space(const fresh_study *s) { return s->space; }

int fresh__study_error(fresh_study *s, int rc, const char *msg)
{
    return fresh__set_err(s->errmsg, rc, "%s", msg);
}

int fresh__trial_apply_remote(fresh_trial *t, const fresh__remote_outcome *o)
{
    for (size_t i = 0; i < o->n_rep; i++)
        if (fresh__trial_append_report(t, o->steps[i], o->losses[i]) != FRESH_OK)
            return FRESH_ENOMEM;
    if (o->ckpt_saved && fresh_trial_save_checkpoint(t, o->ckpt, o->ckpt_len) != FRESH_OK)
        return FRESH_ENOMEM;
    if (o->failed)
        fresh_trial_fail(t, o->message);
    if (o->has_loss)
        fresh_trial_set_loss(t, o->loss);
    atomic_fetch_or(&t->stop, o->stop);
    t->rc = o->rc;
    t->has_times = 1;
    t->r_end = fresh__now() - t->study->t0;
    t->r_start = t->r_end - o->run_seconds;
    t->r_worker = o->worker;
    return FRESH_OK;
}

/* -------------------------------------------------------------- results */

static int best_of(const fresh_study *s, int has, uint64_t id, double l, double b,
                   uint64_t *config_id, double *loss, double *budget, const double **x)
{
    if (!has)
        return FRESH_ENOTFOUND;
    if (config_id)
        *config_id = id;
    if (loss)
        *loss = l;
    if (budget)
        *budget = b;
    if (x)
        *x = s->configs[id].x;
    return FRESH_OK;
}

int fresh_study_incumbent(const fresh_study *s, uint64_t *config_id, double *loss, double *budget,
                          const double **x)
{
    if (!s)
        return FRESH_ENOTFOUND;
    return best_of(s, s->has_inc, s->inc_config, s->inc_loss, s->p.max_budget, config_id, loss,
                   budget, x);
}

int fresh_study_best_any_budget(const fresh_study *s, uint64_t *config_id, double *loss,
                                double *budget, const double **x)
{
    if (!s)
        return FRESH_ENOTFOUND;
    return best_of(s, s->has_any, s->any_config, s->any_loss, s->any_budget, config_id, loss,
                   budget, x);
}

size_t fresh_study_n_jobs(const fresh_study *s) { return s ? s->n_jobs : 0; }

int fresh_study_job(const fresh_study *s, size_t i, fresh_job_info *info)
{
    if (!s || !info || i >= s->n_jobs)
        return FRESH_EINVAL;
    const job_rec *j = &s->jobs[i];
    memset(info, 0, sizeof *info);
    info->job_id = i;
    info->config_id = j->config_id;
    info->bracket = j->sj.bracket;
    info->stage = j->sj.stage;
    info->budget = j->sj.budget;
    info->resume_from = j->sj.resume_from;
    info->reached = j->reached;
    info->cost = j->cost;
    info->loss = j->loss;
    info->status = j->status;
    info->error = j->error;
    info->message = j->message ? j->message : "";
    info->n_reports = j->n_rep;
    info->report_steps = j->steps;
    info->report_losses = job_losses(j);
    info->start_time = j->start;
    info->end_time = j->end;
    info->worker = j->worker;
    info->model_based = j->sj.stage == 0 && j->sj.resume_from == 0 &&
                        s->configs[j->config_id].model_based == FRESH_PROPOSAL_MODEL;
    return FRESH_OK;
}

size_t fresh_study_n_configs(const fresh_study *s) { return s ? s->n_configs : 0; }

const double *fresh_study_config(const fresh_study *s, uint64_t id)
{
    return (s && id < s->n_configs) ? s->configs[id].x : NULL;
}

void fresh_study_get_stats(const fresh_study *s, fresh_study_stats *st)
{
    if (!s || !st)
        return;
    memset(st, 0, sizeof *st);
    st->jobs_finished = s->finished;
    st->jobs_completed = s->completed;
    st->jobs_stopped = s->stopped;
    st->jobs_failed = s->failed;
    st->configs = s->n_configs;
    st->proposals_model = s->prop_model;
    st->proposals_random = s->prop_random;
    st->proposals_hedged = s->prop_hedged;
    st->jobs_running = s->n_out;
    st->brackets_opened = s->p.scheduler->n_opened(s->sched);
    st->brackets_finished = s->p.scheduler->n_finished(s->sched);
    st->used_budget = s->used_budget;
    st->used_mbe = s->used_budget / s->p.max_budget;
    st->wall_time = s->wall + (s->running ? fresh__now() - s->run_start : 0);
    st->busy_time = s->busy;
    st->overhead_time = s->overhead;
    st->workers = s->workers;
    st->jobs_replayed = s->replayed;
    st->jobs_requeued = s->requeued_total;
    st->warm_start_observations = s->warm_obs;
    st->jobs_failed_after_crash = s->failed_after_crash;
    st->jobs_interrupted = s->n_interrupted;
    st->utilization = st->wall_time > 0 ? s->busy / ((double)s->workers * st->wall_time) : 0;
}

size_t fresh_study_n_trajectory(const fresh_study *s) { return s ? s->n_traj : 0; }

int fresh_study_trajectory(const fresh_study *s, size_t i, fresh_traj_point *pt)
{
    if (!s || !pt || i >= s->n_traj)
        return FRESH_EINVAL;
    const traj_rec *r = &s->traj[i];
    const best_rec *b = &s->bests[r->best];
    memset(pt, 0, sizeof *pt);
    pt->job_id = r->job_id;
    pt->used_mbe = r->used_mbe;
    pt->wall_time = r->wall_time;
    pt->has_incumbent = b->has_inc;
    pt->config_id = b->inc_config;
    pt->loss = b->inc_loss;
    pt->budget = b->has_inc ? s->p.max_budget : NAN;
    pt->has_best_any = b->has_any;
    pt->best_any_config_id = b->any_config;
    pt->best_any_loss = b->any_loss;
    pt->best_any_budget = b->any_budget;
    return FRESH_OK;
}

/* --------------------------------------------------------------- export */

static const char *status_word(fresh_job_status st)
{
    switch (st) {
    case FRESH_JOB_COMPLETED: return "completed";
    case FRESH_JOB_STOPPED: return "stopped";
    case FRESH_JOB_FAILED: return "failed";
    default: return "pending";
    }
}

static int export_to(const fresh_study *s, FILE *f, fresh_export_format format,
                     const char *name);

static void csv_string(FILE *f, const char *str)
{
    fputc('"', f);
    for (; *str; str++) {
        if (*str == '"')
            fputc('"', f);
        fputc(*str, f);
    }
    fputc('"', f);
}

static void csv_value(FILE *f, const fresh_space *space, size_t i, double v)
{
    if (isnan(v))
        return; /* inactive: empty field */
    fresh_param_info info;
    fresh_space_param(space, i, &info);
    if (info.labels && info.type == FRESH_PARAM_CATEGORICAL)
        csv_string(f, info.labels[(size_t)v]);
    else if (info.type == FRESH_PARAM_ORDINAL && info.ordinal_values)
        fprintf(f, "%.17g", info.ordinal_values[(size_t)v]);
    else if (info.type == FRESH_PARAM_ORDINAL && info.labels)
        csv_string(f, info.labels[(size_t)v]);
    else
        fprintf(f, "%.17g", v);
}

int fresh_study_export(const fresh_study *s, const char *path, fresh_export_format format)
{
    if (!s)
        return FRESH_EINVAL;
    fresh_study *ms = (fresh_study *)s; /* errmsg only */
    if (from_objective(s, "fresh_study_export"))
        return FRESH_ESTATE;
    if (!path)
        return fresh__set_err(ms->errmsg, FRESH_EINVAL, "path: NULL");
    if (format != FRESH_EXPORT_CSV && format != FRESH_EXPORT_JSONL)
        return fresh__set_err(ms->errmsg, FRESH_EINVAL, "format: unknown value %d", (int)format);
    FILE *f = fopen(path, "w");
    if (!f)
        return fresh__set_err(ms->errmsg, FRESH_EIO, "cannot write '%s': %s", path,
                              strerror(errno));
    errno = 0;
    int rc = export_to(s, f, format, "the file");
    int werr = rc == FRESH_EIO ? (errno ? errno : EIO) : 0;
    if (fclose(f) != 0 && rc == FRESH_OK) {
        werr = errno ? errno : EIO;
        rc = FRESH_EIO;
    }
    if (rc == FRESH_EIO) /* the reason: ENOSPC, EIO, EDQUOT, ... */
        rc = fresh__set_err(ms->errmsg, FRESH_EIO, "error writing '%s': %s", path,
                            strerror(werr ? werr : EIO));
    return rc;
}

int fresh_study_export_stream(const fresh_study *s, FILE *f, fresh_export_format format)
{
    if (!s)
        return FRESH_EINVAL;
    fresh_study *ms = (fresh_study *)s; /* errmsg only */
    if (from_objective(s, "fresh_study_export_stream"))
        return FRESH_ESTATE;
    if (!f)
        return fresh__set_err(ms->errmsg, FRESH_EINVAL, "stream: NULL");
    if (format != FRESH_EXPORT_CSV && format != FRESH_EXPORT_JSONL)
        return fresh__set_err(ms->errmsg, FRESH_EINVAL, "format: unknown value %d", (int)format);
    int rc = export_to(s, f, format, "the stream");
    if (fflush(f) != 0 && rc == FRESH_OK)
        rc = fresh__set_err(ms->errmsg, FRESH_EIO, "error writing the stream");
    return rc;
}

/* Writes the jobs to f (the caller opens and closes it); `name` names it in
 * messages. */
static int export_to(const fresh_study *s, FILE *f, fresh_export_format format, const char *name)
{
    fresh_study *ms = (fresh_study *)s; /* errmsg only */
    int rc = FRESH_OK;
    if (format == FRESH_EXPORT_CSV) {
        fprintf(f, "job,config_id,bracket,stage,budget,resume_from,reached,cost,loss,status,"
                   "message,start_s,end_s,worker,model_based");
        for (size_t i = 0; i < s->dim; i++) {
            fresh_param_info info;
            fresh_space_param(s->space, i, &info);
            fputc(',', f);
            csv_string(f, info.name);
        }
        fputc('\n', f);
        for (size_t n = 0; n < s->n_jobs; n++) {
            fresh_job_info ji;
            fresh_study_job(s, n, &ji);
            fprintf(f, "%" PRIu64 ",%" PRIu64 ",%ld,%d,%.17g,%.17g,%.17g,%.17g,%.17g,%s,", ji.job_id,
                    ji.config_id, ji.bracket, ji.stage, ji.budget, ji.resume_from, ji.reached,
                    ji.cost, ji.loss, status_word(ji.status));
            csv_string(f, ji.message);
            fprintf(f, ",%.6f,%.6f,%d,%d", ji.start_time, ji.end_time, ji.worker, ji.model_based);
            const double *x = s->configs[ji.config_id].x;
            for (size_t i = 0; i < s->dim; i++) {
                fputc(',', f);
                csv_value(f, s->space, i, x[i]);
            }
            fputc('\n', f);
        }
    } else {
        for (size_t n = 0; n < s->n_jobs && rc == FRESH_OK; n++) {
            fresh_job_info ji;
            fresh_study_job(s, n, &ji);
            char *cfg = NULL;
            if (fresh_space_config_to_json(s->space, s->configs[ji.config_id].x, &cfg) != FRESH_OK) {
                rc = FRESH_ENOMEM;
                break;
            }
            json_t *params = json_loads(cfg, 0, NULL);
            free(cfg);
            json_t *reps = json_array();
            for (size_t r = 0; r < ji.n_reports; r++)
                json_array_append_new(reps, json_pack("[f,o]", ji.report_steps[r],
                                                      isfinite(ji.report_losses[r]) ? json_real(ji.report_losses[r]) : json_null()));
            json_t *o = json_pack("{s:I,s:I,s:I,s:i,s:f,s:f,s:f,s:f,s:o,s:s,s:s,s:f,s:f,s:i,s:b,s:o,s:o}",
                                  "job", (json_int_t)ji.job_id, "config_id", (json_int_t)ji.config_id,
                                  "bracket", (json_int_t)ji.bracket, "stage", ji.stage,
                                  "budget", ji.budget, "resume_from", ji.resume_from,
                                  "reached", ji.reached, "cost", ji.cost,
                                  "loss", isfinite(ji.loss) ? json_real(ji.loss) : json_null(),
                                  "status", status_word(ji.status), "message", ji.message,
                                  "start_s", ji.start_time, "end_s", ji.end_time,
                                  "worker", ji.worker, "model_based", ji.model_based,
                                  "params", params ? params : json_object(), "reports", reps);
            char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
            if (!line)
                rc = FRESH_ENOMEM;
            else
                fprintf(f, "%s\n", line);
            free(line);
            json_decref(o);
        }
    }
    if (rc == FRESH_ENOMEM)
        fresh__set_err(ms->errmsg, rc, "out of memory while exporting");
    else if (ferror(f))
        rc = fresh__set_err(ms->errmsg, FRESH_EIO, "error writing %s", name);
    return rc;
}

/* ------------------------------------------------------ study files */

static json_t *params_json_core(const fresh_study_params *p);

/* The parameters that define a study's results (stored in the file; a
 * resumed study must have the same). Stopping criteria and workers may
 * change between runs. */
static json_t *params_json(const fresh_study_params *p)
{
    json_t *j = params_json_core(p);
    if (j && p->tag && p->tag[0] && json_object_set_new(j, "tag", json_string(p->tag))) {
        json_decref(j);
        return NULL;
    }
    /* only when set, so that files without them read (and compare) as
     * before: a file of an asynchronous study without "promotion_cap" was
     * written when the paper's rule was the only one */
    if (j && p->max_paused > 0 &&
        json_object_set_new(j, "max_paused", json_integer((json_int_t)p->max_paused))) {
        json_decref(j);
        return NULL;
    }
    if (j && p->scheduler->asynchronous && !p->paper_promotions &&
        json_object_set_new(j, "promotion_cap", json_true())) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *params_json_core(const fresh_study_params *p)
{
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, p->seed);
    const fresh_sampler_params *sp = &p->sampler_params;
    return json_pack("{s:f,s:f,s:f,s:s,s:s,s:s,s:s,s:b,s:f,"
                     "s:{s:f,s:I,s:f,s:f,s:f,s:I,s:f,s:f},"
                     "s:{s:I,s:f,s:f,s:o}}",
                     "min_budget", p->min_budget, "max_budget", p->max_budget, "eta", p->eta,
                     "bracket_formula", p->bracket_formula == FRESH_BRACKETS_FLOOR ? "floor" : "paper",
                     "scheduler", p->scheduler->name, "sampler", p->sampler->name, "seed", seed,
                     "early_stopping", p->early_stopping, "job_time_limit", p->job_time_limit,
                     "sampler_params", "random_fraction", sp->random_fraction, "num_samples",
                     (json_int_t)sp->num_samples, "top_n_percent", sp->top_n_percent,
                     "bandwidth_factor", sp->bandwidth_factor, "min_bandwidth", sp->min_bandwidth,
                     "min_points_in_model", (json_int_t)sp->min_points_in_model,
                     "bandwidth_floor", sp->bandwidth_floor, "hedge_tau", sp->hedge_tau,
                     "stopping", "max_brackets", (json_int_t)p->max_brackets, "max_total_budget",
                     p->max_total_budget, "max_wall_time", p->max_wall_time, "target_loss",
                     isnan(p->target_loss) ? json_null() : json_real(p->target_loss));
}

static char *dumps(const json_t *j)
{
    return j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : NULL;
}

/* Names the first differing field of two parameter objects (the stopping
 * criteria excepted). 0 if equal. */
static int params_differ(json_t *stored, json_t *now, char *msg, size_t len)
{
    const char *key;
    json_t *v;
    json_object_foreach(now, key, v) {
        if (!strcmp(key, "stopping"))
            continue;
        json_t *o = json_object_get(stored, key);
        if (json_is_object(v) && json_is_object(o)) {
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2) {
                json_t *o2 = json_object_get(o, k2);
                if (!o2 || !json_equal(o2, v2)) {
                    char *a = o2 ? json_dumps(o2, JSON_ENCODE_ANY) : NULL;
                    char *b = json_dumps(v2, JSON_ENCODE_ANY);
                    snprintf(msg, len, "%s.%s: stored %s, requested %s", key, k2, a ? a : "none",
                             b ? b : "?");
                    free(a);
                    free(b);
                    return 1;
                }
            }
        } else if (!o || !json_equal(o, v)) {
            char *a = o ? json_dumps(o, JSON_ENCODE_ANY) : NULL;
            char *b = json_dumps(v, JSON_ENCODE_ANY);
            snprintf(msg, len, "%s: stored %s, requested %s%s", key, a ? a : "none", b ? b : "?",
                     !strcmp(key, "promotion_cap") && !o
                         ? " (the study ran ASHA's rule as published: resume it with "
                           "paper_promotions = 1, fresh run --paper-promotions)"
                         : "");
            free(a);
            free(b);
            return 1;
        }
    }
    /* keys written only when set, and the parameter that unsets each */
    static const struct {
        const char *key, *hint;
    } optional[] = {{"max_paused", ""}, {"promotion_cap", " (paper_promotions)"}};
    for (size_t i = 0; i < sizeof optional / sizeof *optional; i++) {
        json_t *o = json_object_get(stored, optional[i].key);
        if (o && !json_object_get(now, optional[i].key)) {
            char *a = json_dumps(o, JSON_ENCODE_ANY);
            snprintf(msg, len, "%s: stored %s, requested none%s", optional[i].key, a ? a : "?",
                     optional[i].hint);
            free(a);
            return 1;
        }
    }
    return 0;
}

static int replay_ask(void *user, const fresh__job_row *row, const double *x, size_t dim,
                      int model_based)
{
    fresh_study *s = user;
    for (size_t i = 0; i < s->n_out; i++)
        if (s->out[i]->job_id == row->job_id) { /* a retry after an earlier crash */
            s->out[i]->retries++;
            return FRESH_OK;
        }
    if (x && dim != s->dim)
        return fresh__set_err(s->errmsg, FRESH_EMISMATCH,
                              "job %" PRIu64 ": stored configuration has %zu values, space has %zu",
                              row->job_id, dim, s->dim);
    s->replay_x = x;
    s->replay_mb = model_based;
    fresh_trial *t = NULL;
    int rc = fresh_study_ask(s, &t);
    s->replay_x = NULL;
    if (rc != FRESH_OK || !t)
        return fresh__set_err(s->errmsg, rc < 0 ? rc : FRESH_EMISMATCH,
                              "replaying job %" PRIu64 ": the study gave no job (%s)",
                              row->job_id, fresh_strerror(rc));
    if (t->job_id != row->job_id || t->config_id != row->config_id ||
        t->budget != row->budget || t->resume_from != row->resume_from ||
        s->jobs[t->job_index].sj.bracket != row->bracket ||
        s->jobs[t->job_index].sj.stage != row->stage || (x && !fresh_space_equal(s->space, x, t->x)))
        return fresh__set_err(s->errmsg, FRESH_EMISMATCH,
                              "replaying job %" PRIu64 ": stored config %" PRIu64
                              " at budget %g, the study now gives config %" PRIu64 " at budget %g",
                              row->job_id, row->config_id, row->budget, t->config_id, t->budget);
    s->replayed++;
    return FRESH_OK;
}

static int replay_tell(void *user, const fresh__outcome_row *o)
{
    fresh_study *s = user;
    fresh_trial *t = NULL;
    for (size_t i = 0; i < s->n_out && !t; i++)
        if (s->out[i]->job_id == o->job_id)
            t = s->out[i];
    if (!t)
        return fresh__set_err(s->errmsg, FRESH_EMISMATCH,
                              "stored result of job %" PRIu64 " that is not running", o->job_id);
    t->rc = o->rc;
    t->failed = o->failed;
    snprintf(t->message, sizeof t->message, "%s", o->message ? o->message : "");
    t->has_loss = o->has_loss;
    t->loss = o->loss;
    atomic_store(&t->stop, o->stop_flags);
    if (o->n_reports) {
        t->rep_steps = fresh__malloc(o->n_reports * sizeof *t->rep_steps);
        t->rep_losses = fresh__malloc(o->n_reports * sizeof *t->rep_losses);
        if (!t->rep_steps || !t->rep_losses)
            return fresh__set_err(s->errmsg, FRESH_ENOMEM, "out of memory");
        memcpy(t->rep_steps, o->steps, o->n_reports * sizeof *t->rep_steps);
        memcpy(t->rep_losses, o->losses, o->n_reports * sizeof *t->rep_losses);
        t->n_rep = t->cap_rep = o->n_reports;
        /* the early-stopping table learns what the workers reported */
        for (size_t i = 0; t->table && i < o->n_reports; i++)
            if (isfinite(o->losses[i]) && o->steps[i] < t->budget &&
                fresh__stage_table_report(t->table, o->steps[i], o->losses[i]) < 0)
                return fresh__set_err(s->errmsg, FRESH_ENOMEM, "out of memory");
    }
    if (o->ckpt_saved && o->ckpt) /* NULL: replaced by a later job, skip */
        if (fresh_trial_save_checkpoint(t, o->ckpt, o->ckpt_len) != FRESH_OK)
            return fresh__set_err(s->errmsg, FRESH_ENOMEM, "out of memory");
    t->has_times = 1;
    t->r_start = o->start;
    t->r_end = o->end;
    t->r_worker = o->worker;
    return fresh_study_tell(s, t);
}

/* The stored parameters as JSON, with what files written before a
 * parameter existed lack filled in with its default (hedge_tau). NULL if
 * the text does not parse (je, when given, says why). */
static json_t *load_params(const char *text, json_error_t *je)
{
    json_t *root = json_loads(text, 0, je);
    json_t *sp = root ? json_object_get(root, "sampler_params") : NULL;
    if (json_is_object(sp) && !json_object_get(sp, "hedge_tau")) {
        fresh_sampler_params def;
        fresh_sampler_params_default(&def);
        json_object_set_new(sp, "hedge_tau", json_real(def.hedge_tau));
    }
    return root;
}

/* fresh__store_interrupts: job_id's runs cut short by a stop request. */
static int count_interrupts(void *user, uint64_t job_id, long n)
{
    fresh_study *s = user;
    for (size_t i = 0; i < s->n_out; i++)
        if (s->out[i]->job_id == job_id)
            s->out[i]->interrupts = (int)n;
    return FRESH_OK;
}

/* Opens the study file of s->p.storage: records a new study, or rebuilds a
 * stored one (resume). */
static int attach_store(fresh_study *s, const char *path, int resume, char *err)
{
    int rc = s->snapshot ? fresh__store_open_snapshot(&s->store, path, err)
                         : fresh__store_open(&s->store, path, err);
    if (rc != FRESH_OK)
        return rc;
    json_t *now = params_json(&s->p);
    char *now_text = dumps(now), *space_text = NULL;
    char *stored_params = NULL, *stored_space = NULL;
    if (!now_text || fresh_space_write_json(s->space, &space_text) != FRESH_OK) {
        rc = fresh__set_err(err, FRESH_ENOMEM, "out of memory");
        goto done;
    }
    rc = fresh__store_get_meta(s->store, &stored_params, &stored_space);
    if (rc == FRESH_ENOTFOUND) {
        rc = fresh__store_set_meta(s->store, now_text, space_text);
        if (rc != FRESH_OK)
            fresh__set_err(err, rc, "%s", fresh__store_errmsg(s->store));
        goto done;
    }
    if (rc != FRESH_OK) {
        fresh__set_err(err, rc, "%s", fresh__store_errmsg(s->store));
        goto done;
    }
    if (!resume) {
        rc = fresh__set_err(err, FRESH_ESTATE,
                            "study file '%s' already holds a study: resume it or use another file",
                            path);
        goto done;
    }
    if (strcmp(stored_space, space_text) != 0) {
        rc = fresh__set_err(err, FRESH_EMISMATCH,
                            "study file '%s' was made with another search space: stored %.200s",
                            path, stored_space);
        goto done;
    }
    json_t *stored = load_params(stored_params, NULL);
    char diff[300];
    int differs = !stored || params_differ(stored, now, diff, sizeof diff);
    json_decref(stored);
    if (differs) {
        rc = fresh__set_err(err, FRESH_EMISMATCH, "study file '%s' has other parameters: %s", path,
                            stored ? diff : "unreadable");
        goto done;
    }
    s->replaying = 1;
    rc = fresh__store_replay(s->store, replay_ask, replay_tell, s);
    s->replaying = 0;
    if (rc != FRESH_OK) {
        fresh__set_err(err, rc, "resuming '%s': %s", path,
                       s->errmsg[0] ? s->errmsg : fresh__store_errmsg(s->store));
        goto done;
    }
    if (s->snapshot) { /* jobs not told are running elsewhere, or were cut short */
        fresh__store_close(s->store);
        s->store = NULL;
        s->errmsg[0] = '\0';
        goto done;
    }
    if ((rc = fresh__store_interrupts(s->store, count_interrupts, s)) != FRESH_OK) {
        fresh__set_err(err, rc, "%s", fresh__store_errmsg(s->store));
        goto done;
    }
    /* Jobs asked and not told run again. Each run of a job ended with a
     * tell, an interrupt (a stop request) or a death of the process, so a
     * job not told has died 1 + retries - interrupts times. One that died
     * is a suspect: it runs alone (optimize), so that a death during that
     * run convicts it and not the jobs beside it. At FRESH_MAX_RETRIES + 1
     * deaths it is recorded as failed: the likely killer (a crash or an
     * out-of-memory in the objective). */
    for (size_t i = s->n_out; i-- > 0;) {
        fresh_trial *t = s->out[i];
        long deaths = 1 + (long)t->retries - (long)t->interrupts;
        if (deaths > FRESH_MAX_RETRIES) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "the process died each of the %ld times this job ran, alone after the "
                     "first (a crash in the objective?)", deaths);
            fresh_trial_fail(t, msg);
            atomic_fetch_or(&t->stop, STOP_FAILED);
            if ((rc = fresh_study_tell(s, t)) != FRESH_OK) {
                fresh__set_err(err, rc, "%s", s->errmsg);
                goto done;
            }
            s->failed_after_crash++;
            continue;
        }
        t->suspect = deaths > 0;
        if (!t->suspect)
            s->n_interrupted++;
        t->requeued = 1;
        s->n_requeued++;
    }
    s->requeued_total = s->n_requeued;
    s->errmsg[0] = '\0';
done:
    json_decref(now);
    free(now_text);
    free(space_text);
    free(stored_params);
    free(stored_space);
    return rc;
}

/* Fills *p from the stored parameters; *tag (caller frees) gets the stored
 * tag or NULL, and p->tag points to it. */
static int params_from_json(const char *text, fresh_study_params *p, char **tag, char *err)
{
    json_error_t je;
    json_t *root = load_params(text, &je);
    fresh_study_params_default(p);
    if (!root)
        return fresh__set_err(err, FRESH_EPARSE, "stored parameters: %s", je.text);
    const char *formula = NULL, *sched = NULL, *samp = NULL, *seed = NULL;
    json_t *tl = NULL;
    json_int_t ns = 0, mp = 0, mb = 0;
    int es = 1;
    fresh_sampler_params *sp = &p->sampler_params;
    int bad = json_unpack_ex(root, &je, 0,
                             "{s:F,s:F,s:F,s:s,s:s,s:s,s:s,s:b,s:F,"
                             "s:{s:F,s:I,s:F,s:F,s:F,s:I,s:F,s:F},"
                             "s:{s:I,s:F,s:F,s:o}}",
                             "min_budget", &p->min_budget, "max_budget", &p->max_budget, "eta",
                             &p->eta, "bracket_formula", &formula, "scheduler", &sched, "sampler",
                             &samp, "seed", &seed, "early_stopping", &es, "job_time_limit",
                             &p->job_time_limit, "sampler_params", "random_fraction",
                             &sp->random_fraction, "num_samples", &ns, "top_n_percent",
                             &sp->top_n_percent, "bandwidth_factor", &sp->bandwidth_factor,
                             "min_bandwidth", &sp->min_bandwidth, "min_points_in_model", &mp,
                             "bandwidth_floor", &sp->bandwidth_floor, "hedge_tau",
                             &sp->hedge_tau, "stopping", "max_brackets",
                             &mb, "max_total_budget", &p->max_total_budget, "max_wall_time",
                             &p->max_wall_time, "target_loss", &tl);
    int rc = FRESH_OK;
    if (bad)
        rc = fresh__set_err(err, FRESH_EPARSE, "stored parameters: %s", je.text);
    else {
        p->bracket_formula = !strcmp(formula, "floor") ? FRESH_BRACKETS_FLOOR : FRESH_BRACKETS_PAPER;
        p->scheduler = fresh_scheduler_find(sched);
        p->sampler = fresh_sampler_find(samp);
        p->seed = strtoull(seed, NULL, 10);
        p->early_stopping = es;
        sp->num_samples = (size_t)ns;
        sp->min_points_in_model = (size_t)mp;
        p->max_brackets = (long)mb;
        json_t *mpz = json_object_get(root, "max_paused"); /* absent: 0 (older files too) */
        if (mpz && !(json_is_integer(mpz) && json_integer_value(mpz) > 0))
            rc = fresh__set_err(err, FRESH_EPARSE, "stored parameters: bad max_paused");
        p->max_paused = mpz && rc == FRESH_OK ? (size_t)json_integer_value(mpz) : 0;
        /* an asynchronous study stored without the cap ran the paper's rule */
        p->paper_promotions = p->scheduler && p->scheduler->asynchronous &&
                              !json_is_true(json_object_get(root, "promotion_cap"));
        p->target_loss = json_is_number(tl) ? json_number_value(tl) : NAN;
        if (!p->scheduler || !p->sampler)
            rc = fresh__set_err(err, FRESH_EPARSE, "stored parameters: unknown %s '%s'",
                                p->scheduler ? "sampler" : "scheduler", p->scheduler ? samp : sched);
        const char *stored_tag = json_string_value(json_object_get(root, "tag"));
        if (rc == FRESH_OK && stored_tag && stored_tag[0]) {
            *tag = fresh__strdup(stored_tag);
            if (!*tag)
                rc = fresh__set_err(err, FRESH_ENOMEM, "out of memory");
            p->tag = *tag;
        }
    }
    json_decref(root);
    return rc;
}

static fresh_study *open_file(const char *path, fresh_space **space_out, int snapshot,
                              int *status, char *errmsg, size_t errlen)
{
    char err[FRESH__ERRMSG_LEN] = "";
    int rc;
    fresh_store *st = NULL;
    fresh_space *space = NULL;
    fresh_study *s = NULL;
    char *pj = NULL, *sj = NULL;
    fresh_init();
    if (!path || !space_out) {
        rc = fresh__set_err(err, FRESH_EINVAL, "%s: NULL", path ? "space" : "path");
        goto fail;
    }
    *space_out = NULL;
    if (access(path, F_OK) != 0) {
        rc = fresh__set_err(err, FRESH_EIO, "no study file '%s'", path);
        goto fail;
    }
    rc = snapshot ? fresh__store_open_snapshot(&st, path, err) : fresh__store_open(&st, path, err);
    if (rc != FRESH_OK)
        goto fail;
    rc = fresh__store_get_meta(st, &pj, &sj);
    if (rc != FRESH_OK) {
        fresh__set_err(err, rc, "%s", rc == FRESH_ENOTFOUND ? "the study file holds no study"
                                                             : fresh__store_errmsg(st));
        goto fail;
    }
    fresh__store_close(st); /* released for the study to take */
    st = NULL;
    space = fresh_space_create();
    if (!space) {
        rc = fresh__set_err(err, FRESH_ENOMEM, "out of memory");
        goto fail;
    }
    rc = fresh_space_read_json_string(space, sj, path);
    if (rc != FRESH_OK) {
        fresh__set_err(err, rc, "stored space: %s", fresh_space_errmsg(space));
        goto fail;
    }
    fresh_study_params p;
    char *tag = NULL;
    rc = params_from_json(pj, &p, &tag, err);
    if (rc != FRESH_OK) {
        fresh__free(tag);
        goto fail;
    }
    p.storage = path;
    p.resume = 1;
    s = study_create(space, &p, snapshot, &rc, err, sizeof err);
    fresh__free(tag);
    if (!s)
        goto fail;
    free(pj);
    free(sj);
    *space_out = space;
    if (status)
        *status = FRESH_OK;
    return s;
fail:
    fresh__store_close(st);
    fresh_space_destroy(space);
    free(pj);
    free(sj);
    if (status)
        *status = rc;
    if (errmsg && errlen)
        snprintf(errmsg, errlen, "%s", err);
    return NULL;
}

fresh_study *fresh_study_open(const char *path, fresh_space **space_out, int *status, char *errmsg,
                              size_t errlen)
{
    return open_file(path, space_out, 0, status, errmsg, errlen);
}

fresh_study *fresh_study_open_snapshot(const char *path, fresh_space **space_out, int *status,
                                       char *errmsg, size_t errlen)
{
    return open_file(path, space_out, 1, status, errmsg, errlen);
}

int fresh_study_file_in_use(const char *path)
{
    if (!path || !*path)
        return FRESH_EINVAL;
    return fresh__store_in_use(path);
}

/* ------------------------------------------------------- warm start */

typedef struct warm_ctx {
    fresh_study *s;
    double **x;        /* by the other study's config id */
    size_t n_x, cap_x;
    fresh__job_row *jobs; /* by job id */
    size_t n_jobs, cap_jobs;
} warm_ctx;

static int warm_ask(void *user, const fresh__job_row *row, const double *x, size_t dim, int mb)
{
    (void)mb;
    warm_ctx *w = user;
    if (fresh__grow((void **)&w->jobs, &w->cap_jobs, row->job_id + 1, sizeof *w->jobs))
        return FRESH_ENOMEM;
    if (row->job_id >= w->n_jobs)
        w->n_jobs = row->job_id + 1;
    w->jobs[row->job_id] = *row;
    if (x) {
        if (dim != w->s->dim)
            return FRESH_EMISMATCH;
        if (fresh__grow((void **)&w->x, &w->cap_x, row->config_id + 1, sizeof *w->x))
            return FRESH_ENOMEM;
        while (w->n_x <= row->config_id)
            w->x[w->n_x++] = NULL;
        w->x[row->config_id] = fresh__malloc(dim * sizeof(double));
        if (!w->x[row->config_id])
            return FRESH_ENOMEM;
        memcpy(w->x[row->config_id], x, dim * sizeof(double));
    }
    return FRESH_OK;
}

static int warm_tell(void *user, const fresh__outcome_row *o)
{
    warm_ctx *w = user;
    fresh_study *s = w->s;
    if (o->job_id >= w->n_jobs)
        return FRESH_EMISMATCH;
    const fresh__job_row *row = &w->jobs[o->job_id];
    if (row->config_id >= w->n_x || !w->x[row->config_id])
        return FRESH_EMISMATCH;
    const double *x = w->x[row->config_id];
    uint64_t id = (UINT64_C(1) << 62) + row->config_id; /* apart from this study's ids */
    int rc = FRESH_OK;
    for (size_t i = 0; i < o->n_reports && rc == FRESH_OK; i++)
        if (o->steps[i] > row->resume_from && o->steps[i] < row->budget &&
            isfinite(o->losses[i]) && rung_index(s, o->steps[i]) >= 0) {
            fresh_observation ob = {id, x, o->steps[i], o->losses[i], row->resume_from};
            rc = s->p.sampler->observe(s->samp, &ob);
            s->warm_obs++;
        }
    double last_step = o->n_reports ? o->steps[o->n_reports - 1] : row->resume_from;
    double loss = o->has_loss ? o->loss : (o->n_reports ? o->losses[o->n_reports - 1] : NAN);
    int stopped = (o->stop_flags & (STOP_EARLY | STOP_STUDY)) && last_step < row->budget && !o->has_loss;
    int failed = o->rc != 0 || o->failed || (o->stop_flags & STOP_TIMEOUT) || !isfinite(loss);
    if (rc == FRESH_OK && !stopped && rung_index(s, row->budget) >= 0) {
        fresh_observation ob = {id, x, row->budget, failed ? INFINITY : loss, row->resume_from};
        rc = s->p.sampler->observe(s->samp, &ob);
        s->warm_obs++;
    }
    return rc;
}

int fresh_study_warm_start(fresh_study *s, const char *path)
{
    if (!s)
        return FRESH_EINVAL;
    if (from_objective(s, "fresh_study_warm_start"))
        return FRESH_ESTATE;
    if (!path)
        return fresh__set_err(s->errmsg, FRESH_EINVAL, "path: NULL");
    if (s->n_jobs > 0)
        return fresh__set_err(s->errmsg, FRESH_ESTATE,
                              "warm start: call it before the first job is asked");
    if (s->snapshot)
        return refuse_snapshot(s);
    char err[FRESH__ERRMSG_LEN];
    fresh_store *st = NULL;
    char *pj = NULL, *sj = NULL, *mine = NULL;
    warm_ctx w = {.s = s};
    /* a snapshot: the earlier study may still be running elsewhere */
    int rc = fresh__store_open_snapshot(&st, path, err);
    if (rc != FRESH_OK)
        return fresh__set_err(s->errmsg, rc, "warm start: %s", err);
    rc = fresh__store_get_meta(st, &pj, &sj);
    if (rc != FRESH_OK) {
        fresh__set_err(s->errmsg, rc, "warm start: %s", fresh__store_errmsg(st));
        goto done;
    }
    if (fresh_space_write_json(s->space, &mine) != FRESH_OK) {
        rc = fresh__set_err(s->errmsg, FRESH_ENOMEM, "out of memory");
        goto done;
    }
    if (strcmp(mine, sj) != 0) {
        rc = fresh__set_err(s->errmsg, FRESH_EMISMATCH,
                            "warm start: '%s' was made with another search space", path);
        goto done;
    }
    rc = fresh__store_replay(st, warm_ask, warm_tell, &w);
    if (rc != FRESH_OK)
        fresh__set_err(s->errmsg, rc, "warm start from '%s': %s", path,
                       rc == FRESH_EMISMATCH ? "inconsistent study file" : fresh_strerror(rc));
done:
    for (size_t i = 0; i < w.n_x; i++)
        fresh__free(w.x[i]);
    fresh__free(w.x);
    fresh__free(w.jobs);
    free(pj);
    free(sj);
    free(mine);
    fresh__store_close(st);
    return rc;
}
