/*
 * sim.c - the simulated cluster of sim.h: a discrete-event loop around
 * fresh_study_ask / fresh_study_tell.
 *
 * DESIGN. Each busy worker holds one running job and that job's next event
 * (its next report, its end, or its failure) in a binary min-heap keyed by
 * (simulated time, job id), so at most `workers` events are pending and the
 * order of ties is fixed. Free workers wait in a second min-heap of worker
 * indices, so the lowest-numbered free worker asks first. The loop takes
 * the earliest instant, processes every event at that instant (reports go
 * to fresh_trial_report, ends to fresh_study_tell), then lets the free
 * workers ask until the study answers FRESH_WAIT or a stopping reason.
 * Nothing here depends on the real clock except the measured cost of ask
 * and tell, so a run is a deterministic function of the study's seed and
 * the simulator's options.
 */
#define _POSIX_C_SOURCE 200809L
#include "sim.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "functions.h"

/* the simulator's random streams (beside the benchmark noise, 2^32 - 1) */
#define STREAM_SPEED UINT64_C(0x53494D01)
#define STREAM_FAIL UINT64_C(0x53494D02)

void fresh_sim_opts_default(fresh_sim_opts *o)
{
    memset(o, 0, sizeof *o);
    o->unit_time = 1;
}

void fresh_sim_result_free(fresh_sim_result *res)
{
    if (!res)
        return;
    free(res->traj);
    free(res->jobs_log);
    res->traj = NULL;
    res->jobs_log = NULL;
    res->n_traj = res->n_jobs_log = 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A job on a worker. */
typedef struct run_slot {
    fresh_trial *t;
    uint64_t job_id, config_id;
    double start, per_unit;  /* simulated start; seconds per unit of budget */
    double from, budget;
    double fail_at;          /* simulated time of the failure, INFINITY if none */
    double step;             /* the next report step (NaN: none left) */
    double ev_time;          /* the next event's time */
    size_t log;              /* index in the job log */
} run_slot;

typedef struct sim {
    const fresh_sim_opts *o;
    fresh_study *study;
    fresh_sim_result *res;
    run_slot *slot;          /* [workers] */
    size_t *ev, n_ev;        /* heap of busy workers by (ev_time, job_id) */
    size_t *fr, n_fr;        /* heap of free worker indices */
    double *ask_t, *tell_t;  /* real seconds per call */
    size_t n_ask, n_tell, cap_ask, cap_tell;
    size_t cap_traj, cap_log;
    int has_inc;
    uint64_t inc_cid;
    double inc_loss;
    char *err;
    size_t errlen;
} sim;

static int fail(sim *s, int rc, const char *fmt, ...)
{
    if (s->err && s->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->err, s->errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* ---- the two heaps ---- */

static int ev_less(const sim *s, size_t a, size_t b)
{
    const run_slot *x = &s->slot[a], *y = &s->slot[b];
    return x->ev_time < y->ev_time || (x->ev_time == y->ev_time && x->job_id < y->job_id);
}

static int fr_less(const sim *s, size_t a, size_t b)
{
    (void)s;
    return a < b;
}

static void heap_push(sim *s, size_t *h, size_t *n, size_t v,
                      int (*less)(const sim *, size_t, size_t))
{
    size_t i = (*n)++;
    h[i] = v;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!less(s, h[i], h[p]))
            break;
        size_t tmp = h[i];
        h[i] = h[p];
        h[p] = tmp;
        i = p;
    }
}

static size_t heap_pop(sim *s, size_t *h, size_t *n, int (*less)(const sim *, size_t, size_t))
{
    size_t top = h[0];
    h[0] = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < *n && less(s, h[l], h[m]))
            m = l;
        if (r < *n && less(s, h[r], h[m]))
            m = r;
        if (m == i)
            break;
        size_t tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
    return top;
}

/* ---- jobs ---- */

/* The report step after `step` (NaN when none is left): the next rung, or
 * the next integer step up to the budget (as bench/lib/runner.c reports). */
static double next_step(const sim *s, const run_slot *r, double step)
{
    if (!s->o->report_every_unit)
        return fresh_trial_next_rung(r->t, step);
    double e = floor(step + 1e-9) + 1;
    return e <= r->budget * (1 + 1e-12) ? e : NAN;
}

/* Sets the job's next event: its failure, its next report, or its end. */
static void schedule(run_slot *r)
{
    double at = isnan(r->step) ? r->start + (r->budget - r->from) * r->per_unit
                               : r->start + (r->step - r->from) * r->per_unit;
    r->ev_time = r->fail_at < at ? r->fail_at : at;
}

static int start_job(sim *s, size_t w, fresh_trial *t, double now, double ask_s)
{
    const fresh_sim_opts *o = s->o;
    fresh_sim_result *res = s->res;
    run_slot *r = &s->slot[w];
    memset(r, 0, sizeof *r);
    r->t = t;
    r->job_id = fresh_trial_job_id(t);
    r->config_id = fresh_trial_config_id(t);
    r->start = now;
    r->from = fresh_trial_resume_from(t);
    r->budget = fresh_trial_budget(t);
    double z = o->spread > 0 ? fresh_bench_N(o->seed, r->config_id, STREAM_SPEED, 0) : 0;
    r->per_unit = o->unit_time * exp(o->spread * z);
    r->fail_at = INFINITY;
    if (o->failure_rate > 0 && fresh_bench_U(o->seed, r->job_id, STREAM_FAIL, 0) < o->failure_rate)
        r->fail_at = now + fresh_bench_U(o->seed, r->job_id, STREAM_FAIL, 1) *
                               (r->budget - r->from) * r->per_unit;
    r->step = next_step(s, r, r->from);
    schedule(r);
    if (grow((void **)&s->ask_t, &s->cap_ask, s->n_ask + 1, sizeof *s->ask_t))
        return fail(s, FRESH_ENOMEM, "out of memory");
    s->ask_t[s->n_ask++] = ask_s;
    if (o->keep_jobs) {
        if (grow((void **)&res->jobs_log, &s->cap_log, res->n_jobs_log + 1, sizeof *res->jobs_log))
            return fail(s, FRESH_ENOMEM, "out of memory");
        r->log = res->n_jobs_log++;
        fresh_sim_job *j = &res->jobs_log[r->log];
        j->job_id = r->job_id;
        j->config_id = r->config_id;
        j->worker = w;
        j->budget = r->budget;
        j->resume_from = r->from;
        j->start = now;
        j->end = NAN;
        j->outcome = FRESH_SIM_RUNNING;
    }
    res->jobs++;
    heap_push(s, s->ev, &s->n_ev, w, ev_less);
    return FRESH_OK;
}

/* After a tell: a new trajectory point when the incumbent changed. */
static int track_incumbent(sim *s, double now)
{
    uint64_t cid;
    double loss;
    const double *x;
    if (fresh_study_incumbent(s->study, &cid, &loss, NULL, &x) != FRESH_OK)
        return FRESH_OK;
    if (s->has_inc && cid == s->inc_cid && loss == s->inc_loss)
        return FRESH_OK;
    s->has_inc = 1;
    s->inc_cid = cid;
    s->inc_loss = loss;
    fresh_sim_result *res = s->res;
    if (grow((void **)&res->traj, &s->cap_traj, res->n_traj + 1, sizeof *res->traj))
        return fail(s, FRESH_ENOMEM, "out of memory");
    fresh_sim_point *p = &res->traj[res->n_traj++];
    p->time = now;
    p->value = s->o->truth ? s->o->truth(s->o->user, x) - s->o->f_opt : loss;
    p->config_id = cid;
    return FRESH_OK;
}

/* The job on worker w ends now: tell the study, free the worker. */
static int end_job(sim *s, size_t w, double now)
{
    run_slot *r = &s->slot[w];
    fresh_sim_result *res = s->res;
    double t0 = now_s();
    int rc = fresh_study_tell(s->study, r->t);
    double dt = now_s() - t0;
    res->owner_time += dt;
    if (rc != FRESH_OK)
        return fail(s, rc, "tell: %s", fresh_study_errmsg(s->study));
    if (grow((void **)&s->tell_t, &s->cap_tell, s->n_tell + 1, sizeof *s->tell_t))
        return fail(s, FRESH_ENOMEM, "out of memory");
    s->tell_t[s->n_tell++] = dt;
    r->t = NULL;
    res->busy += now - r->start;
    fresh_job_info ji;
    fresh_sim_job_end out = FRESH_SIM_COMPLETED;
    if (fresh_study_job(s->study, (size_t)r->job_id, &ji) == FRESH_OK)
        out = ji.status == FRESH_JOB_FAILED    ? FRESH_SIM_FAILED
              : ji.status == FRESH_JOB_STOPPED ? FRESH_SIM_STOPPED
                                               : FRESH_SIM_COMPLETED;
    if (out == FRESH_SIM_FAILED)
        res->failed++;
    else if (out == FRESH_SIM_STOPPED)
        res->stopped++;
    else
        res->completed++;
    if (s->o->keep_jobs) {
        res->jobs_log[r->log].end = now;
        res->jobs_log[r->log].outcome = out;
    }
    heap_push(s, s->fr, &s->n_fr, w, fr_less);
    return track_incumbent(s, now);
}

/* The event of the job on worker w, at its ev_time. */
static int process(sim *s, size_t w)
{
    run_slot *r = &s->slot[w];
    double now = r->ev_time;
    if (r->fail_at <= now) {
        fresh_trial_fail(r->t, "simulated failure");
        return end_job(s, w, now);
    }
    if (isnan(r->step)) /* no report at all: told without a loss (failed) */
        return end_job(s, w, now);
    const double *x = fresh_trial_values(r->t);
    double loss = s->o->loss(s->o->user, x, r->step, r->config_id);
    if (!fresh_trial_report(r->t, r->step, loss))
        return end_job(s, w, now);
    r->step = next_step(s, r, r->step);
    if (isnan(r->step))
        return end_job(s, w, now);
    schedule(r);
    heap_push(s, s->ev, &s->n_ev, w, ev_less);
    return FRESH_OK;
}

/* Free workers ask for jobs at `now`. Returns FRESH_OK, a positive ending
 * (the study stopped handing out jobs) or a negative error. */
static int fill(sim *s, double now)
{
    while (s->n_fr > 0) {
        fresh_trial *t = NULL;
        double t0 = now_s();
        int rc = fresh_study_ask(s->study, &t);
        double dt = now_s() - t0;
        s->res->owner_time += dt;
        if (rc == FRESH_WAIT) {
            s->res->waits++;
            return FRESH_OK;
        }
        if (rc > 0)
            return rc;
        if (rc < 0)
            return fail(s, rc, "ask: %s", fresh_study_errmsg(s->study));
        size_t w = heap_pop(s, s->fr, &s->n_fr, fr_less);
        rc = start_job(s, w, t, now, dt);
        if (rc != FRESH_OK)
            return rc;
    }
    return FRESH_OK;
}

static double mean(const double *v, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    return n ? sum / (double)n : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The 99th percentile (nearest rank); sorts v. */
static double p99(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    size_t k = (size_t)ceil(0.99 * (double)n);
    return v[k > 0 ? k - 1 : 0];
}

static int check_opts(sim *s, fresh_study *study, const fresh_sim_opts *o)
{
    if (!study || !o)
        return fail(s, FRESH_EINVAL, "simulate: NULL study or options");
    if (o->workers < 1 || o->workers > (size_t)1 << 20)
        return fail(s, FRESH_EINVAL, "simulate: workers must be in 1..1048576, got %zu", o->workers);
    if (!(o->unit_time > 0) || !isfinite(o->unit_time))
        return fail(s, FRESH_EINVAL, "simulate: unit time must be > 0, got %g", o->unit_time);
    if (!(o->spread >= 0) || !isfinite(o->spread))
        return fail(s, FRESH_EINVAL, "simulate: spread must be >= 0, got %g", o->spread);
    if (!(o->failure_rate >= 0 && o->failure_rate < 1))
        return fail(s, FRESH_EINVAL, "simulate: failure rate must be in [0, 1), got %g",
                    o->failure_rate);
    if (!(o->horizon >= 0) || !isfinite(o->horizon))
        return fail(s, FRESH_EINVAL, "simulate: horizon must be >= 0, got %g", o->horizon);
    if (!o->loss)
        return fail(s, FRESH_EINVAL, "simulate: no loss function");
    fresh_study_params p;
    if (fresh_study_get_params(study, &p) != FRESH_OK)
        return fail(s, FRESH_EINVAL, "simulate: cannot read the study's parameters");
    if (p.max_wall_time > 0)
        return fail(s, FRESH_EINVAL, "simulate: the study's max_wall_time is real time; "
                                     "give a simulated horizon instead");
    if (o->horizon == 0 && !(p.max_total_budget > 0) && p.max_brackets <= 0)
        return fail(s, FRESH_EINVAL, "simulate: no stopping criterion: give a horizon, or a "
                                     "total budget or a number of brackets to the study");
    return FRESH_OK;
}

int fresh_sim_run(fresh_study *study, const fresh_sim_opts *o, fresh_sim_result *res,
                  char *err, size_t errlen)
{
    if (!res)
        return FRESH_EINVAL;
    memset(res, 0, sizeof *res);
    sim s;
    memset(&s, 0, sizeof s);
    s.o = o;
    s.study = study;
    s.res = res;
    s.err = err;
    s.errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
    int rc = check_opts(&s, study, o);
    if (rc != FRESH_OK)
        return rc;
    double real0 = now_s();
    size_t n = o->workers;
    s.slot = calloc(n, sizeof *s.slot);
    s.ev = malloc(n * sizeof *s.ev);
    s.fr = malloc(n * sizeof *s.fr);
    if (!s.slot || !s.ev || !s.fr) {
        rc = fail(&s, FRESH_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t w = 0; w < n; w++)
        s.fr[s.n_fr++] = w; /* ascending: already a heap */

    double now = 0, horizon = o->horizon;
    int ended = 0, cut = 0;
    rc = fill(&s, now);
    if (rc > 0) {
        ended = rc;
        rc = FRESH_OK;
    }
    while (rc == FRESH_OK) {
        if (s.n_ev == 0) {
            if (!ended) /* nothing runs, and the study waits for a result */
                rc = fail(&s, FRESH_ESTATE, "simulate: the study waits (FRESH_WAIT) with no job "
                                            "running: it would never continue");
            break;
        }
        double t = s.slot[s.ev[0]].ev_time;
        if (horizon > 0 && t > horizon) {
            cut = 1;
            break;
        }
        now = t;
        while (rc == FRESH_OK && s.n_ev > 0 && s.slot[s.ev[0]].ev_time == now)
            rc = process(&s, heap_pop(&s, s.ev, &s.n_ev, ev_less));
        if (rc == FRESH_OK && !ended && (horizon == 0 || now < horizon)) {
            rc = fill(&s, now);
            if (rc > 0) {
                ended = rc;
                rc = FRESH_OK;
            }
        }
        if (rc == FRESH_OK && !ended && horizon > 0 && now >= horizon && s.n_ev == 0)
            cut = 1; /* nothing runs past the horizon */
        if (cut)
            break;
    }
    if (rc == FRESH_OK) {
        if (cut || (!ended && horizon > 0)) {
            res->status = FRESH_TIME_REACHED;
            res->makespan = horizon;
            for (size_t i = 0; i < s.n_ev; i++) { /* running at the horizon */
                run_slot *r = &s.slot[s.ev[i]];
                res->busy += horizon - r->start;
                res->running++;
                if (o->keep_jobs)
                    res->jobs_log[r->log].end = horizon;
            }
        } else {
            res->status = ended;
            res->makespan = now;
        }
        res->utilization = res->makespan > 0 ? res->busy / ((double)n * res->makespan) : 0;
        size_t fin = res->completed + res->stopped + res->failed;
        double busy_fin = res->busy;
        if (cut) /* the running jobs' partial time is not a finished job's */
            for (size_t i = 0; i < s.n_ev; i++)
                busy_fin -= horizon - s.slot[s.ev[i]].start;
        res->mean_job_time = fin ? busy_fin / (double)fin : 0;
        res->ask_mean = mean(s.ask_t, s.n_ask);
        res->tell_mean = mean(s.tell_t, s.n_tell);
        res->ask_p99 = p99(s.ask_t, s.n_ask);
        res->tell_p99 = p99(s.tell_t, s.n_tell);
    }
done:
    res->real_time = now_s() - real0;
    free(s.slot);
    free(s.ev);
    free(s.fr);
    free(s.ask_t);
    free(s.tell_t);
    return rc;
}
