/*
 * trial.c - the objective-side API (fresh/trial.h) and in-stage early
 * stopping.
 *
 * Early stopping rule (docs/algorithms.md): a stage of n jobs promotes its
 * best q = n_{i+1}. When a job reports loss l at step s, and q other jobs of
 * the same stage have already reported a loss strictly below l at the same
 * step s, the job cannot be among the q best at s: it is told to stop. The
 * shared per-stage table keeps, for each step, the q best losses reported so
 * far, under the table's mutex (held for O(q + log steps), never while user
 * code runs). With one worker the decisions are deterministic, since every
 * earlier job of the stage has finished.
 */
#include "study_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- configuration getters ---- */

static int param_index(const fresh_trial *t, const char *name)
{
    if (!t || !name)
        return -1;
    int i = fresh_space_index(t->space, name);
    return i < 0 ? -1 : i;
}

double fresh_trial_float(const fresh_trial *t, const char *name)
{
    int i = param_index(t, name);
    return i < 0 ? NAN : t->x[i];
}

long fresh_trial_int(const fresh_trial *t, const char *name)
{
    int i = param_index(t, name);
    if (i < 0 || isnan(t->x[i]))
        return 0;
    return (long)t->x[i];
}

const char *fresh_trial_categorical(const fresh_trial *t, const char *name)
{
    int i = param_index(t, name);
    if (i < 0 || isnan(t->x[i]))
        return NULL;
    fresh_param_info info;
    if (fresh_space_param(t->space, (size_t)i, &info) != FRESH_OK || !info.labels)
        return NULL;
    size_t k = (size_t)t->x[i];
    return k < info.n_levels ? info.labels[k] : NULL;
}

int fresh_trial_categorical_index(const fresh_trial *t, const char *name)
{
    int i = param_index(t, name);
    if (i < 0 || isnan(t->x[i]))
        return FRESH_ENOTFOUND;
    fresh_param_info info;
    if (fresh_space_param(t->space, (size_t)i, &info) != FRESH_OK || info.n_levels == 0)
        return FRESH_ENOTFOUND;
    return (int)t->x[i];
}

int fresh_trial_is_active(const fresh_trial *t, const char *name)
{
    int i = param_index(t, name);
    return i >= 0 && !isnan(t->x[i]);
}

const double *fresh_trial_values(const fresh_trial *t) { return t ? t->x : NULL; }
double fresh_trial_budget(const fresh_trial *t) { return t ? t->budget : 0; }
double fresh_trial_resume_from(const fresh_trial *t) { return t ? t->resume_from : 0; }
size_t fresh_trial_n_rungs(const fresh_trial *t) { return t ? t->n_rungs : 0; }

double fresh_trial_rung(const fresh_trial *t, size_t i)
{
    return t && i < t->n_rungs ? t->rungs[i] : NAN;
}

double fresh_trial_next_rung(const fresh_trial *t, double step)
{
    if (!t || isnan(step))
        return NAN;
    for (size_t i = 0; i < t->n_rungs; i++) {
        double r = t->rungs[i];
        if (r > t->budget * (1 + 1e-9))
            break;
        if (r > step && !(fabs(r - step) <= 1e-9 * r))
            return r;
    }
    return NAN;
}

uint64_t fresh_trial_config_id(const fresh_trial *t) { return t ? t->config_id : 0; }
uint64_t fresh_trial_job_id(const fresh_trial *t) { return t ? t->job_id : 0; }
uint64_t fresh_trial_seed(const fresh_trial *t) { return t ? t->seed : 0; }
int fresh_trial_worker(const fresh_trial *t) { return t && t->pjob.work ? t->pjob.worker : -1; }

/* ---- stop flags ---- */

static unsigned check_clock(fresh_trial *t)
{
    unsigned f = atomic_load(&t->stop);
    if (t->deadline > 0 && !(f & STOP_TIMEOUT) && fresh__now() > t->deadline)
        f = atomic_fetch_or(&t->stop, STOP_TIMEOUT) | STOP_TIMEOUT;
    if (t->study_stop && atomic_load(t->study_stop) && !(f & STOP_STUDY))
        f = atomic_fetch_or(&t->stop, STOP_STUDY) | STOP_STUDY;
    return f;
}

int fresh_trial_should_stop(const fresh_trial *t)
{
    if (!t)
        return 1;
    return check_clock((fresh_trial *)t) != 0;
}

void fresh__trial_start_clock(fresh_trial *t)
{
    if (t->job_time_limit > 0)
        t->deadline = fresh__now() + t->job_time_limit;
}

/* ---- early stopping table ---- */

stage_table *fresh__stage_table_create(long bracket, int stage, long quota)
{
    stage_table *st = fresh__calloc(1, sizeof *st);
    if (!st)
        return NULL;
    if (pthread_mutex_init(&st->mu, NULL) != 0) {
        fresh__free(st);
        return NULL;
    }
    st->bracket = bracket;
    st->stage = stage;
    st->quota = quota;
    return st;
}

void fresh__stage_table_destroy(stage_table *st)
{
    if (!st)
        return;
    pthread_mutex_destroy(&st->mu);
    fresh__free(st->steps);
    fresh__free(st->best);
    fresh__free(st->n_best);
    fresh__free(st);
}

/* Index of the first step >= step. Lock held. */
static size_t lower_step(const stage_table *st, double step)
{
    size_t lo = 0, hi = st->n_steps;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (st->steps[mid] < step)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void fresh__stage_table_forget(stage_table *st, double step, double loss)
{
    pthread_mutex_lock(&st->mu);
    size_t lo = lower_step(st, step);
    if (lo < st->n_steps && st->steps[lo] == step) {
        double *row = st->best + lo * (size_t)st->quota;
        long n = st->n_best[lo];
        for (long i = 0; i < n; i++)
            if (row[i] == loss) {
                memmove(row + i, row + i + 1, (size_t)(n - i - 1) * sizeof *row);
                st->n_best[lo] = n - 1;
                break;
            }
    }
    pthread_mutex_unlock(&st->mu);
}

/* Row of `step`, inserting it if new; -1 when out of memory. Lock held. */
static long table_row(stage_table *st, double step)
{
    size_t lo = lower_step(st, step);
    if (lo < st->n_steps && st->steps[lo] == step)
        return (long)lo;
    if (st->n_steps == st->cap_steps) {
        size_t cap = st->cap_steps ? 2 * st->cap_steps : 16;
        double *s = fresh__realloc(st->steps, cap * sizeof *s);
        if (!s)
            return -1;
        st->steps = s;
        double *b = fresh__realloc(st->best, cap * (size_t)st->quota * sizeof *b);
        if (!b)
            return -1;
        st->best = b;
        long *nb = fresh__realloc(st->n_best, cap * sizeof *nb);
        if (!nb)
            return -1;
        st->n_best = nb;
        st->cap_steps = cap;
    }
    size_t q = (size_t)st->quota, tail = st->n_steps - lo;
    memmove(st->steps + lo + 1, st->steps + lo, tail * sizeof *st->steps);
    memmove(st->best + (lo + 1) * q, st->best + lo * q, tail * q * sizeof *st->best);
    memmove(st->n_best + lo + 1, st->n_best + lo, tail * sizeof *st->n_best);
    st->steps[lo] = step;
    st->n_best[lo] = 0;
    st->n_steps++;
    return (long)lo;
}

/* Returns 1 if `loss` at `step` is beaten by quota earlier reports, and
 * records it; -1 on out of memory. The rows keep the quota best losses of
 * each step, a set that does not depend on the order of the reports. */
int fresh__stage_table_report(stage_table *st, double step, double loss)
{
    int stop = 0;
    pthread_mutex_lock(&st->mu);
    long r = table_row(st, step);
    if (r < 0) {
        pthread_mutex_unlock(&st->mu);
        return -1;
    }
    double *row = st->best + (size_t)r * (size_t)st->quota;
    long n = st->n_best[r];
    if (n == st->quota && row[n - 1] < loss)
        stop = 1;
    /* insert into the sorted row of the q best */
    if (n < st->quota || loss < row[n - 1]) {
        long i = n < st->quota ? n : n - 1;
        while (i > 0 && row[i - 1] > loss) {
            row[i] = row[i - 1];
            i--;
        }
        row[i] = loss;
        if (n < st->quota)
            st->n_best[r] = n + 1;
    }
    pthread_mutex_unlock(&st->mu);
    return stop;
}

/* ---- reporting ---- */

static void set_failed(fresh_trial *t, const char *msg)
{
    if (!t->failed) {
        t->failed = 1;
        snprintf(t->message, sizeof t->message, "%s", msg);
    }
    atomic_fetch_or(&t->stop, STOP_FAILED);
}

int fresh__trial_append_report(fresh_trial *t, double step, double loss)
{
    if (t->n_rep == t->cap_rep) {
        size_t cap = t->cap_rep ? 2 * t->cap_rep : 16;
        double *s = fresh__realloc(t->rep_steps, cap * sizeof *s);
        if (s)
            t->rep_steps = s;
        double *l = s ? fresh__realloc(t->rep_losses, cap * sizeof *l) : NULL;
        if (l)
            t->rep_losses = l;
        if (!s || !l)
            return FRESH_ENOMEM;
        t->cap_rep = cap;
    }
    t->rep_steps[t->n_rep] = step;
    t->rep_losses[t->n_rep] = loss;
    t->n_rep++;
    return FRESH_OK;
}

int fresh_trial_report(fresh_trial *t, double step, double loss)
{
    if (!t)
        return 0;
    if (t->n_rep >= FRESH_MAX_REPORTS) {
        set_failed(t, "more than " FRESH__STR(FRESH_MAX_REPORTS) " reports in one job");
        return 0;
    }
    if (fresh__trial_append_report(t, step, loss) != FRESH_OK) {
        set_failed(t, "out of memory while recording a report");
        return 0;
    }
    if (!isfinite(step)) {
        set_failed(t, "report with a step that is not a finite number");
        return 0;
    }
    char msg[160];
    double prev = t->n_rep > 1 ? t->rep_steps[t->n_rep - 2] : NAN;
    if (step < t->resume_from || step > t->budget * (1 + 1e-12)) {
        snprintf(msg, sizeof msg, "report at step %.17g: outside the job's range %g..%g "
                 "(resume_from..budget)", step, t->resume_from, t->budget);
        set_failed(t, msg);
        return 0;
    }
    if (step <= prev) {
        snprintf(msg, sizeof msg, "report at step %.17g after step %.17g: steps must increase",
                 step, prev);
        set_failed(t, msg);
        return 0;
    }
    if (!isfinite(loss)) {
        snprintf(msg, sizeof msg, "report at step %g: loss is %s", step,
                 isnan(loss) ? "NaN" : "infinite");
        set_failed(t, msg);
        return 0;
    }
    unsigned f;
    if (t->remote) { /* the process that owns the study decides (mpi/) */
        f = check_clock(t);
        if (!f)
            f = t->remote(t, step, loss, t->remote_ctx);
    } else {
        f = fresh__trial_decide(t, step, loss);
    }
    if (f)
        atomic_fetch_or(&t->stop, f);
    return f == 0;
}

/* The stop decision for a report: the clock (time limit, study stopping),
 * then the stage's early-stopping table. */
unsigned fresh__trial_decide(fresh_trial *t, double step, double loss)
{
    unsigned f = check_clock(t);
    if (f)
        return f;
    if (t->table && step < t->budget) {
        int r = fresh__stage_table_report(t->table, step, loss);
        if (r < 0) {
            set_failed(t, "out of memory in early stopping");
            return STOP_FAILED;
        }
        t->n_tabled = t->n_rep; /* every earlier report below the budget went in too */
        if (r) {
            atomic_fetch_or(&t->stop, STOP_EARLY);
            return STOP_EARLY;
        }
    }
    return 0;
}

void fresh_trial_set_loss(fresh_trial *t, double loss)
{
    if (!t)
        return;
    t->loss = loss;
    t->has_loss = 1;
}

void fresh_trial_fail(fresh_trial *t, const char *message)
{
    if (t)
        set_failed(t, message ? message : "failed by the objective");
}

int fresh_trial_save_checkpoint(fresh_trial *t, const void *buf, size_t len)
{
    if (!t || (!buf && len > 0) || len > FRESH_MAX_CHECKPOINT_BYTES)
        return FRESH_EINVAL;
    void *copy = NULL;
    if (len > 0) {
        copy = fresh__malloc(len);
        if (!copy)
            return FRESH_ENOMEM;
        memcpy(copy, buf, len);
    }
    fresh__free(t->ckpt_out);
    t->ckpt_out = copy;
    t->ckpt_out_len = len;
    t->ckpt_saved = 1;
    return FRESH_OK;
}

const void *fresh_trial_checkpoint(const fresh_trial *t, size_t *len)
{
    if (len)
        *len = t ? t->ckpt_in_len : 0;
    return t ? t->ckpt_in : NULL;
}

int fresh__trial_init(fresh_trial *t)
{
    memset(t, 0, sizeof *t);
    atomic_init(&t->stop, 0);
    return FRESH_OK;
}

void fresh__trial_reset(fresh_trial *t)
{
    /* the stage table forgets what this run told it (a loss it kept may
     * have pushed out another one for good: a rare, small difference) */
    for (size_t i = 0; t->table && i < t->n_tabled; i++)
        if (t->rep_steps[i] < t->budget)
            fresh__stage_table_forget(t->table, t->rep_steps[i], t->rep_losses[i]);
    fresh__free(t->rep_steps);
    fresh__free(t->rep_losses);
    fresh__free(t->ckpt_out);
    t->rep_steps = t->rep_losses = NULL;
    t->n_rep = t->cap_rep = t->n_tabled = 0;
    t->ckpt_out = NULL;
    t->ckpt_out_len = 0;
    t->ckpt_saved = 0;
    t->loss = 0;
    t->has_loss = t->failed = t->rc = 0;
    t->message[0] = '\0';
    atomic_store(&t->stop, 0);
    t->deadline = 0;
    t->has_times = 0;
    t->submitted = 0;
    memset(&t->pjob, 0, sizeof t->pjob);
}

fresh_trial *fresh__trial_new(void)
{
    fresh_trial *t = fresh__malloc(sizeof *t);
    if (t)
        fresh__trial_init(t);
    return t;
}

void fresh__trial_release(fresh_trial *t)
{
    if (!t)
        return;
    fresh__free(t->rep_steps);
    fresh__free(t->rep_losses);
    fresh__free(t->ckpt_out);
    fresh__free(t);
}
