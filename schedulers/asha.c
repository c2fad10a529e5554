/*
 * asha.c - asynchronous successive halving (ASHA, Li et al., "A System for
 * Massively Parallel Hyperparameter Tuning", MLSys 2020, Algorithm 2, the
 * promotion variant) and asynchronous Hyperband (several ASHA ladders, new
 * configurations dealt to them with Hyperband's weights; async-adaptive also
 * leaves out the ladders whose first budget misleads).
 *
 * DESIGN
 * A ladder is the list of rungs of one plan bracket k: rung i runs at that
 * bracket's stage-i budget (asha: k = 0, rungs min_budget * eta^i up to
 * max_budget; async-hyperband: one ladder per k = 0 .. s_max, ladder k
 * starting at budget max_budget / eta^(s_max - k)). Results are ranked by
 * (completed first, loss, config id), the order the synchronous schedulers
 * use (fresh__cmp_finished).
 *
 * next() (Algorithm 2, get_job): from the top rung down, the first rung i
 * whose best unpromoted result is among the top floor(n_i / eta) of its n_i
 * results (failed ones, loss +inf, never are) promotes that configuration
 * to rung i + 1, to continue from rung i's budget; with several ladders the
 * promotion to the highest budget wins (ties: the lower ladder). Otherwise a
 * new configuration starts at the bottom rung of a ladder. Promotions are
 * never undone. fresh's departure (unless paper_promotions): a rung
 * promotes only while fewer than floor(n_i / eta) of its results were
 * promoted. As published, a late result that ranks above earlier promotions
 * is promoted as well, and when a model's proposals improve, every new good
 * one does: the rung promotes far more than 1/eta (56 % of budget 1's
 * results on branin_mf with BOHB, async-hyperband, 16 simulated workers),
 * and the bottom rung, where new configurations are tried, starves. With
 * the cap a late good result waits for the rung to grow, as in a
 * synchronous stage.
 *
 * A rung keeps its unpromoted finite results in a binary heap and its
 * promoted ones sorted. Everything that ranks before
 * the best unpromoted result is promoted, so that result's rank is the
 * number of promoted results before it, a binary search: a result costs
 * O(log n_i), the test O(log n_i), a promotion O(log n_i) plus moving the
 * promoted results that rank after it (few: late arrivals).
 *
 * Brackets. The synchronous schedulers' unit of work is the bracket, and
 * the study counts brackets (max_brackets, fresh_study_bracket_finished,
 * dups, early-stopping tables). Here a bracket is a group of new
 * configurations: the first stage size n_0 of the ladder's plan bracket
 * (81 for 1..81, eta 3), numbered in the order opened, so max_brackets = m
 * starts as many configurations as m synchronous brackets would. Promotions
 * rank every result of a rung, whatever its group; a job carries its
 * configuration's group as its bracket and its rung as its stage. A group
 * is finished when all n_0 of its configurations have reached their ladder's
 * top rung or failed: nothing of it can run again. With open_new = 0 (the
 * study's max_brackets reached) the scheduler still promotes and fills the
 * groups it opened, and answers FRESH_WAIT while jobs run (FRESH_DONE once
 * none does). With open_new = 1 it never waits.
 *
 * Early stopping: a job's quota and stage_size are those of the synchronous
 * stage (n_{i+1} and n_i of the ladder's plan bracket), so the study's
 * early-stopping table for (group, rung) stops a job beaten by n_{i+1}
 * others of its group at the same step, as it would in a Hyperband stage.
 *
 * Async Hyperband: the j-th new configuration goes to the ladder that a
 * smooth weighted round robin (nginx's) picks with weights n_0 of the plan
 * brackets: every sum(n_0) draws give ladder k exactly n_0(k) configurations,
 * interleaved, with no randomness, so a replay rebuilds the same state.
 * slot is the scheduler's own index of the configuration.
 *
 * Async adaptive: async Hyperband whose round robin leaves out ladder k <
 * s_max while the adaptive rule (fidelity.h) finds its first rung
 * unreliable: its counter stands still, the others share the draws. The
 * pairs come from jobs that ran from scratch to a ladder's first budget and
 * reported at lower rungs, as for the adaptive scheduler.
 *
 * Paused configurations (set_options, the study's max_paused). ASHA as
 * published may promote any unpromoted result later, so every paused
 * configuration's checkpoint is needed until the study ends: unbounded disk
 * for `fresh run`. With a limit n a rung keeps at most n unpromoted results
 * eligible; when a new one makes n + 1, the last of them in rank order is
 * retired: its configuration is final (config_final). A group still ends
 * only when all its configurations reached the top rung or failed, so that
 * a group ends only in a job of its own (the study marks the job's
 * bracket when n_finished grows). A retired result stays counted in n_i and
 * ranks below every eligible one, so the eligible ones are promoted exactly
 * as without the limit; a retired one could have been promoted only after all n
 * eligible ones above it, i.e. after at least eta * n more results. The
 * heap holds at most n + 1 results, so the last one is found among its
 * leaves in O(n).
 */
#include "fidelity.h"
#include "fresh/scheduler.h"
#include "fresh/status.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct result {
    double loss;
    uint64_t config_id;
    size_t slot;        /* the configuration's record */
    int completed;
} result;

typedef struct rung {
    result *open;       /* unpromoted results with a finite loss: a min-heap */
    size_t n_open, cap_open;
    result *up;         /* promoted results, in rank order */
    size_t n_up, cap_up;
    size_t n;           /* results received, failed ones included */
} rung;

typedef struct ladder {
    int k;              /* plan bracket whose stages are the rungs */
    int n_rungs;        /* s + 1 */
    long group_size;    /* n_0 of plan bracket k */
    long group;         /* group being filled, -1 before the first */
    long fill;          /* configurations started in it */
    long weight, current; /* smooth weighted round robin */
    rung *rungs;
} ladder;

typedef struct rec {
    uint64_t config_id; /* FRESH_SCHED_NEW until bound */
    int ladder;
    int rung;           /* rung it runs or last ran at */
    int running;
    long group;
    int final;          /* can run no more: top rung reached, failed or retired */
} rec;

typedef struct asha_state {
    const fresh_plan *plan;
    size_t eta;
    ladder *ladders;
    int n_ladders;
    rec *recs;
    size_t n_recs, cap_recs;
    long *group_final;  /* [group]: its configurations that can run no more */
    size_t n_groups, cap_groups;
    long n_finished;
    size_t n_running;
    size_t max_paused;      /* eligible unpromoted results per rung, 0 = no limit */
    int paper;              /* Li et al.'s promotion rule, without the cap */
    int adaptive;           /* async-adaptive: skip ladders whose first rung misleads */
    fresh__fidelity fid;
} asha_state;

static int init_common(void *st, const fresh_plan *plan, char *errmsg, int n_ladders)
{
    asha_state *a = st;
    if (!plan || fresh_plan_s_max(plan) < 0)
        return fresh__set_err(errmsg, FRESH_EINVAL, "scheduler: plan not computed");
    int s_max = fresh_plan_s_max(plan);
    if (n_ladders == 0)
        n_ladders = s_max + 1;
    a->plan = plan;
    a->eta = (size_t)fresh_plan_eta(plan);
    a->ladders = fresh__calloc((size_t)n_ladders, sizeof *a->ladders);
    if (!a->ladders)
        return fresh__set_err(errmsg, FRESH_ENOMEM, "out of memory");
    a->n_ladders = n_ladders;
    for (int k = 0; k < n_ladders; k++) {
        ladder *l = &a->ladders[k];
        l->k = k;
        l->n_rungs = fresh_plan_bracket_s(plan, k) + 1;
        fresh_plan_stage(plan, k, 0, &l->group_size, NULL);
        l->weight = l->group_size;
        l->group = -1;
        l->rungs = fresh__calloc((size_t)l->n_rungs, sizeof *l->rungs);
        if (!l->rungs)
            return fresh__set_err(errmsg, FRESH_ENOMEM, "out of memory");
    }
    return FRESH_OK;
}

static int init_asha(void *st, const fresh_plan *p, char *e) { return init_common(st, p, e, 1); }
static int init_ahb(void *st, const fresh_plan *p, char *e) { return init_common(st, p, e, 0); }
static int init_aad(void *st, const fresh_plan *p, char *e)
{
    int rc = init_common(st, p, e, 0);
    if (rc != FRESH_OK)
        return rc;
    asha_state *a = st;
    a->adaptive = 1;
    if (fresh__fidelity_init(&a->fid, p) != FRESH_OK)
        return fresh__set_err(e, FRESH_ENOMEM, "out of memory");
    return FRESH_OK;
}

static void destroy(void *st)
{
    asha_state *a = st;
    for (int k = 0; a->ladders && k < a->n_ladders; k++) {
        for (int i = 0; a->ladders[k].rungs && i < a->ladders[k].n_rungs; i++) {
            fresh__free(a->ladders[k].rungs[i].open);
            fresh__free(a->ladders[k].rungs[i].up);
        }
        fresh__free(a->ladders[k].rungs);
    }
    fresh__free(a->ladders);
    fresh__free(a->recs);
    fresh__free(a->group_final);
    fresh__fidelity_destroy(&a->fid);
}

static void fill_job(const asha_state *a, size_t slot, fresh_sched_job *job)
{
    const rec *c = &a->recs[slot];
    const ladder *l = &a->ladders[c->ladder];
    long n = 0, q = 0;
    double r = 0, from = 0;
    fresh_plan_stage(a->plan, l->k, c->rung, &n, &r);
    if (c->rung > 0)
        fresh_plan_stage(a->plan, l->k, c->rung - 1, NULL, &from);
    if (c->rung + 1 < l->n_rungs)
        fresh_plan_stage(a->plan, l->k, c->rung + 1, &q, NULL);
    job->config_id = c->config_id;
    job->bracket = c->group;
    job->stage = c->rung;
    job->slot = slot;
    job->budget = r;
    job->resume_from = from;
    job->quota = q;
    job->stage_size = n;
}

static int before(const result *x, const result *y)
{
    return fresh__cmp_finished(x->completed, x->loss, x->config_id, y->completed, y->loss,
                               y->config_id) < 0;
}

/* Promoted results of g that rank before r. */
static size_t up_before(const rung *g, const result *r)
{
    size_t lo = 0, hi = g->n_up;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (before(&g->up[mid], r))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* 1 if rung i of l promotes its best unpromoted result now: that result's
 * rank (the promoted ones before it) is below floor(n_i / eta), and (unless
 * a->paper) fewer than floor(n_i / eta) results were promoted from it. */
static int promotable(const asha_state *a, const ladder *l, int i)
{
    const rung *g = &l->rungs[i];
    size_t quota = g->n / a->eta;
    return i + 1 < l->n_rungs && g->n_open > 0 && up_before(g, &g->open[0]) < quota &&
           (a->paper || g->n_up < quota);
}

/* Takes the best result off g's heap and files it with the promoted ones
 * (room reserved by the caller). Its configuration's record slot. */
static size_t take_best(rung *g)
{
    result best = g->open[0], last = g->open[--g->n_open];
    size_t i = 0;
    for (;;) { /* sift `last` down from the root */
        size_t c = 2 * i + 1;
        if (c >= g->n_open)
            break;
        if (c + 1 < g->n_open && before(&g->open[c + 1], &g->open[c]))
            c++;
        if (!before(&g->open[c], &last))
            break;
        g->open[i] = g->open[c];
        i = c;
    }
    if (g->n_open > 0)
        g->open[i] = last;
    size_t at = up_before(g, &best);
    memmove(g->up + at + 1, g->up + at, (g->n_up - at) * sizeof *g->up);
    g->up[at] = best;
    g->n_up++;
    return best.slot;
}

/* With a limit on paused results: retires the result of g's heap that
 * ranks last while the heap holds more than a->max_paused. */
static void retire_excess(asha_state *a, rung *g)
{
    while (a->max_paused && g->n_open > a->max_paused) {
        size_t w = g->n_open / 2; /* the last in rank order is a leaf */
        for (size_t i = w + 1; i < g->n_open; i++)
            if (before(&g->open[w], &g->open[i]))
                w = i;
        rec *c = &a->recs[g->open[w].slot];
        result last = g->open[--g->n_open];
        if (w < g->n_open) { /* put the heap's last leaf in its place, sift up */
            size_t i = w;
            while (i > 0 && before(&last, &g->open[(i - 1) / 2])) {
                g->open[i] = g->open[(i - 1) / 2];
                i = (i - 1) / 2;
            }
            g->open[i] = last;
        }
        c->final = 1; /* its group's end stays "top rung or failed" (see the top) */
    }
}

/* 1 if the round robin leaves ladder k out now (async-adaptive: its first
 * rung has ranked configurations unlike a higher one). */
static int left_out(const asha_state *a, int k)
{
    return a->adaptive && fresh__fidelity_unreliable(&a->fid, a->ladders[k].k);
}

/* Smooth weighted round robin over the ladders not left out: the ladder
 * the next draw picks (commit applies it). Ties go to the lower ladder. The
 * last ladder (maximum budget only) is never left out. */
static int pick_ladder(const asha_state *a, const int *out)
{
    int best = a->n_ladders - 1;
    for (int k = a->n_ladders - 2; k >= 0; k--)
        if (!out[k] && a->ladders[k].current + a->ladders[k].weight >=
                           a->ladders[best].current + a->ladders[best].weight)
            best = k;
    return best;
}

static void commit_pick(asha_state *a, const int *out, int pick)
{
    long total = 0;
    for (int k = 0; k < a->n_ladders; k++)
        if (!out[k]) {
            a->ladders[k].current += a->ladders[k].weight;
            total += a->ladders[k].weight;
        }
    a->ladders[pick].current -= total;
}

/* Finds the configuration record of a running job; NULL if the job is not
 * one this scheduler handed out and has not finished. */
static rec *find(asha_state *a, const fresh_sched_job *job)
{
    if (job->slot >= a->n_recs)
        return NULL;
    rec *c = &a->recs[job->slot];
    if (!c->running || c->rung != job->stage || c->group != job->bracket)
        return NULL;
    return c;
}

static int next(void *st, int open_new, fresh_sched_job *job)
{
    asha_state *a = st;
    /* promotions first: the highest target budget, then the lower ladder */
    int best_l = -1, best_i = -1;
    double best_r = 0;
    for (int k = 0; k < a->n_ladders; k++) {
        const ladder *l = &a->ladders[k];
        for (int i = l->n_rungs - 2; i >= 0; i--) {
            if (!promotable(a, l, i))
                continue;
            double r = 0;
            fresh_plan_stage(a->plan, l->k, i + 1, NULL, &r);
            if (best_l < 0 || r > best_r) {
                best_l = k;
                best_i = i;
                best_r = r;
            }
            break; /* this ladder's highest */
        }
    }
    if (best_l >= 0) {
        rung *g = &a->ladders[best_l].rungs[best_i];
        if (fresh__grow((void **)&g->up, &g->cap_up, g->n_up + 1, sizeof *g->up))
            return FRESH_ENOMEM;
        size_t slot = take_best(g);
        rec *c = &a->recs[slot];
        c->rung = best_i + 1;
        c->running = 1;
        a->n_running++;
        fill_job(a, slot, job);
        return FRESH_OK;
    }

    /* a new configuration at the bottom of the ladder the round robin picks */
    int out[FRESH_PLAN_MAX_STAGES] = {0};
    for (int i = 0; i + 1 < a->n_ladders; i++)
        out[i] = left_out(a, i);
    int k = a->n_ladders > 1 ? pick_ladder(a, out) : 0;
    ladder *l = &a->ladders[k];
    int new_group = l->group < 0 || l->fill >= l->group_size;
    if (new_group && !open_new)
        return a->n_running > 0 ? FRESH_WAIT : FRESH_DONE;
    if (fresh__grow((void **)&a->recs, &a->cap_recs, a->n_recs + 1, sizeof *a->recs))
        return FRESH_ENOMEM;
    if (new_group) {
        if (fresh__grow((void **)&a->group_final, &a->cap_groups, a->n_groups + 1,
                        sizeof *a->group_final))
            return FRESH_ENOMEM;
        a->group_final[a->n_groups] = 0;
        l->group = (long)a->n_groups++;
        l->fill = 0;
    }
    if (a->n_ladders > 1)
        commit_pick(a, out, k);
    l->fill++;
    size_t slot = a->n_recs++;
    a->recs[slot] = (rec){FRESH_SCHED_NEW, k, 0, 1, l->group, 0};
    a->n_running++;
    fill_job(a, slot, job);
    return FRESH_OK;
}

static int bind(void *st, const fresh_sched_job *job, uint64_t id)
{
    asha_state *a = st;
    rec *c = find(a, job);
    if (!c || c->config_id != FRESH_SCHED_NEW || job->stage != 0 || id == FRESH_SCHED_NEW)
        return FRESH_EINVAL;
    c->config_id = id;
    return FRESH_OK;
}

static int finish(void *st, const fresh_sched_job *job, double loss, int completed,
                  const double *rung_losses)
{
    asha_state *a = st;
    rec *c = find(a, job);
    if (!c || c->config_id == FRESH_SCHED_NEW)
        return FRESH_EINVAL;
    ladder *l = &a->ladders[c->ladder];
    rung *g = &l->rungs[c->rung];
    result res = {isnan(loss) ? INFINITY : loss, c->config_id, job->slot, 0};
    res.completed = completed && isfinite(res.loss);
    if (isfinite(res.loss)) { /* failed ones only count */
        if (fresh__grow((void **)&g->open, &g->cap_open, g->n_open + 1, sizeof *g->open))
            return FRESH_ENOMEM;
        size_t i = g->n_open++;
        while (i > 0 && before(&res, &g->open[(i - 1) / 2])) { /* sift up */
            g->open[i] = g->open[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        g->open[i] = res;
    }
    g->n++;
    if (a->adaptive && res.completed)
        fresh__fidelity_record(&a->fid, job, res.loss, rung_losses);
    c->running = 0;
    a->n_running--;
    if (!isfinite(res.loss) || c->rung + 1 == l->n_rungs) { /* can run no more */
        c->final = 1;
        if (++a->group_final[c->group] == l->group_size)
            a->n_finished++;
    } else {
        retire_excess(a, g);
    }
    return FRESH_OK;
}

static int set_options(void *st, const fresh_sched_options *o)
{
    asha_state *a = st;
    if (!o || a->n_recs > 0)
        return FRESH_EINVAL;
    a->max_paused = o->max_paused;
    a->paper = o->paper_promotions != 0;
    return FRESH_OK;
}

static int config_final(const void *st, const fresh_sched_job *job)
{
    const asha_state *a = st;
    if (!job || job->slot >= a->n_recs)
        return 0;
    const rec *c = &a->recs[job->slot];
    return c->config_id == job->config_id && c->group == job->bracket && !c->running && c->final;
}

static long n_opened(const void *st) { return (long)((const asha_state *)st)->n_groups; }
static long n_finished(const void *st) { return ((const asha_state *)st)->n_finished; }

static const fresh_scheduler_type asha_type = {
    "asha", sizeof(asha_state), init_asha, destroy, next, bind, finish, n_opened, n_finished, 1,
    set_options, config_final};
static const fresh_scheduler_type aad_type = {
    "async-adaptive", sizeof(asha_state), init_aad, destroy, next, bind, finish, n_opened,
    n_finished, 1, set_options, config_final};
static const fresh_scheduler_type ahb_type = {
    "async-hyperband", sizeof(asha_state), init_ahb, destroy, next, bind, finish, n_opened,
    n_finished, 1, set_options, config_final};

const fresh_scheduler_type *const fresh_scheduler_asha = &asha_type;
const fresh_scheduler_type *const fresh_scheduler_async_hyperband = &ahb_type;
const fresh_scheduler_type *const fresh_scheduler_async_adaptive = &aad_type;
