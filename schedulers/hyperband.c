/*
 * hyperband.c - synchronous successive halving inside Hyperband brackets
 * (Li et al., JMLR 2018, Algorithm 1), with several brackets open at once as
 * in the BOHB paper (Falkner et al. 2018, Sec. 4.2).
 *
 * DESIGN
 * A bracket is a list of stages; only its current stage has entries (one per
 * job: config id, resume budget, state, loss). next() walks the open brackets
 * oldest first and hands out the first unstarted entry, so older brackets
 * have priority. When every open bracket waits at its stage barrier, a new
 * bracket is opened (if the caller allows it). When a stage's last job
 * finishes, its entries are ranked by (completed first, loss, config id):
 * the order is total, so promotions do not depend on finishing order. The
 * best n_{i+1} with a finite loss are promoted and continue from the stage's
 * budget; failed ones are never promoted, so a stage shrinks instead of
 * stalling, and a bracket whose stage has no survivor ends.
 *
 * The built-in types differ only in which bracket of the plan the j-th
 * opened bracket is: hyperband cycles k = 0..s_max, sh always k = 0 (the most
 * exploratory), none always k = s_max (every configuration at max budget),
 * adaptive cycles like hyperband but skips a bracket k < s_max whose first
 * rung has ranked configurations unlike a higher rung (Kendall's tau below
 * FRESH_ADAPTIVE_MIN_TAU over at least FRESH_ADAPTIVE_MIN_PAIRS unselected
 * pairs: configurations that ran from scratch through both rungs in one job,
 * so that no promotion chose them on the lower rung's loss).
 */
#include "fidelity.h"
#include "fresh/scheduler.h"
#include "fresh/status.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum policy { POLICY_HYPERBAND, POLICY_SH, POLICY_NONE, POLICY_ADAPTIVE };

enum entry_state { E_UNSTARTED, E_RUNNING, E_DONE };

typedef struct entry {
    uint64_t config_id;
    double resume_from;
    int state;
    int completed;
    double loss;
} entry;

typedef struct bracket {
    long number;
    int k, s, stage;      /* plan bracket, its s, current stage */
    entry *entries;       /* current stage */
    size_t n_entries, n_started, n_finished;
    int done;
} bracket;

typedef struct hb_state {
    const fresh_plan *plan;
    enum policy policy;
    bracket *brackets;    /* every bracket opened, in order */
    size_t n_brackets, cap_brackets;
    size_t first_open;    /* brackets before this index are all done */
    long n_done;
    long cycle;           /* adaptive: position in the k cycle */
    fresh__fidelity fid;  /* adaptive: unselected pairs (fidelity.h) */
    long skipped;         /* adaptive: brackets skipped */
} hb_state;

static int init_common(void *st, const fresh_plan *plan, char *errmsg, enum policy pol)
{
    hb_state *h = st;
    if (!plan || fresh_plan_s_max(plan) < 0)
        return fresh__set_err(errmsg, FRESH_EINVAL, "scheduler: plan not computed");
    h->plan = plan;
    h->policy = pol;
    return FRESH_OK;
}

static int init_hb(void *st, const fresh_plan *p, char *e) { return init_common(st, p, e, POLICY_HYPERBAND); }
static int init_sh(void *st, const fresh_plan *p, char *e) { return init_common(st, p, e, POLICY_SH); }
static int init_none(void *st, const fresh_plan *p, char *e) { return init_common(st, p, e, POLICY_NONE); }
static int init_adaptive(void *st, const fresh_plan *p, char *e)
{
    int rc = init_common(st, p, e, POLICY_ADAPTIVE);
    if (rc != FRESH_OK)
        return rc;
    hb_state *h = st;
    if (fresh__fidelity_init(&h->fid, p) != FRESH_OK)
        return fresh__set_err(e, FRESH_ENOMEM, "out of memory");
    return FRESH_OK;
}

static void destroy(void *st)
{
    hb_state *h = st;
    for (size_t i = 0; i < h->n_brackets; i++)
        fresh__free(h->brackets[i].entries);
    fresh__free(h->brackets);
    fresh__fidelity_destroy(&h->fid);
}

static int plan_k(hb_state *h, long number)
{
    int s_max = fresh_plan_s_max(h->plan);
    switch (h->policy) {
    case POLICY_SH: return 0;
    case POLICY_NONE: return s_max;
    case POLICY_ADAPTIVE:
        for (;;) { /* the k = s_max bracket is never skipped: this ends */
            int k = (int)(h->cycle++ % (s_max + 1));
            if (!fresh__fidelity_unreliable(&h->fid, k))
                return k;
            h->skipped++;
        }
    default: return (int)(number % (s_max + 1));
    }
}

static long stage_n(const hb_state *h, const bracket *b, int stage)
{
    long n = 0;
    fresh_plan_stage(h->plan, b->k, stage, &n, NULL);
    return n;
}

static double stage_budget(const hb_state *h, const bracket *b, int stage)
{
    double r = 0;
    fresh_plan_stage(h->plan, b->k, stage, NULL, &r);
    return r;
}

static int open_bracket(hb_state *h)
{
    if (h->n_brackets == h->cap_brackets) {
        size_t cap = h->cap_brackets ? 2 * h->cap_brackets : 8;
        bracket *nb = fresh__realloc(h->brackets, cap * sizeof *nb);
        if (!nb)
            return FRESH_ENOMEM;
        h->brackets = nb;
        h->cap_brackets = cap;
    }
    bracket b = {0};
    b.number = (long)h->n_brackets;
    b.k = plan_k(h, b.number);
    b.s = fresh_plan_bracket_s(h->plan, b.k);
    long n = stage_n(h, &b, 0);
    b.entries = fresh__calloc((size_t)n, sizeof *b.entries);
    if (!b.entries)
        return FRESH_ENOMEM;
    b.n_entries = (size_t)n;
    for (size_t i = 0; i < b.n_entries; i++)
        b.entries[i].config_id = FRESH_SCHED_NEW;
    h->brackets[h->n_brackets++] = b;
    return FRESH_OK;
}

static void fill_job(const hb_state *h, const bracket *b, size_t slot, fresh_sched_job *job)
{
    job->config_id = b->entries[slot].config_id;
    job->bracket = b->number;
    job->stage = b->stage;
    job->slot = slot;
    job->budget = stage_budget(h, b, b->stage);
    job->resume_from = b->entries[slot].resume_from;
    job->quota = b->stage < b->s ? stage_n(h, b, b->stage + 1) : 0;
    job->stage_size = (long)b->n_entries;
}

static int next(void *st, int open_new, fresh_sched_job *job)
{
    hb_state *h = st;
    int any_open = 0;
    for (size_t i = h->first_open; i < h->n_brackets; i++) {
        bracket *b = &h->brackets[i];
        if (b->done)
            continue;
        any_open = 1;
        if (b->n_started < b->n_entries) {
            /* entries start in slot order */
            size_t slot = b->n_started++;
            b->entries[slot].state = E_RUNNING;
            fill_job(h, b, slot, job);
            return FRESH_OK;
        }
    }
    if (!open_new)
        return any_open ? FRESH_WAIT : FRESH_DONE;
    int rc = open_bracket(h);
    if (rc != FRESH_OK)
        return rc;
    bracket *b = &h->brackets[h->n_brackets - 1];
    b->n_started = 1;
    b->entries[0].state = E_RUNNING;
    fill_job(h, b, 0, job);
    return FRESH_OK;
}

static bracket *find(hb_state *h, const fresh_sched_job *job)
{
    if (job->bracket < 0 || (size_t)job->bracket >= h->n_brackets)
        return NULL;
    bracket *b = &h->brackets[job->bracket];
    if (b->done || job->stage != b->stage || job->slot >= b->n_entries)
        return NULL;
    return b;
}

static int bind(void *st, const fresh_sched_job *job, uint64_t id)
{
    bracket *b = find(st, job);
    if (!b || b->entries[job->slot].config_id != FRESH_SCHED_NEW)
        return FRESH_EINVAL;
    b->entries[job->slot].config_id = id;
    return FRESH_OK;
}

/* Total order: completed before stopped, then lower loss, then lower id. */
static int cmp_entry(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    return fresh__cmp_finished(a->completed, a->loss, a->config_id, b->completed, b->loss,
                               b->config_id);
}

static void close_bracket(hb_state *h, bracket *b)
{
    b->done = 1;
    h->n_done++;
    while (h->first_open < h->n_brackets && h->brackets[h->first_open].done)
        h->first_open++;
}

static int promote(hb_state *h, bracket *b)
{
    if (b->stage >= b->s) {
        close_bracket(h, b);
        return FRESH_OK;
    }
    qsort(b->entries, b->n_entries, sizeof *b->entries, cmp_entry);
    size_t want = (size_t)stage_n(h, b, b->stage + 1), keep = 0;
    while (keep < want && keep < b->n_entries && isfinite(b->entries[keep].loss))
        keep++;
    if (keep == 0) {
        close_bracket(h, b);
        return FRESH_OK;
    }
    double from = stage_budget(h, b, b->stage);
    entry *ne = fresh__calloc(keep, sizeof *ne);
    if (!ne)
        return FRESH_ENOMEM;
    for (size_t i = 0; i < keep; i++) {
        ne[i].config_id = b->entries[i].config_id;
        ne[i].resume_from = from;
    }
    fresh__free(b->entries);
    b->entries = ne;
    b->n_entries = keep;
    b->n_started = b->n_finished = 0;
    b->stage++;
    return FRESH_OK;
}

static int finish(void *st, const fresh_sched_job *job, double loss, int completed,
                  const double *rung_losses)
{
    hb_state *h = st;
    bracket *b = find(h, job);
    if (!b || b->entries[job->slot].state != E_RUNNING)
        return FRESH_EINVAL;
    entry *e = &b->entries[job->slot];
    e->state = E_DONE;
    e->loss = isnan(loss) ? INFINITY : loss;
    e->completed = completed && isfinite(e->loss);
    if (e->completed)
        fresh__fidelity_record(&h->fid, job, e->loss, rung_losses);
    if (++b->n_finished == b->n_entries)
        return promote(h, b);
    return FRESH_OK;
}

static long n_opened(const void *st) { return (long)((const hb_state *)st)->n_brackets; }
static long n_finished(const void *st) { return ((const hb_state *)st)->n_done; }

#define HB_TYPE(var, nm, initfn)                                                         \
    static const fresh_scheduler_type var##_type = {nm,   sizeof(hb_state), initfn, destroy, \
                                                    next, bind, finish, n_opened, n_finished, 0, NULL, NULL}; \
    const fresh_scheduler_type *const var = &var##_type;

HB_TYPE(fresh_scheduler_hyperband, "hyperband", init_hb)
HB_TYPE(fresh_scheduler_sh, "sh", init_sh)
HB_TYPE(fresh_scheduler_none, "none", init_none)
HB_TYPE(fresh_scheduler_adaptive, "adaptive", init_adaptive)

/* Every name fresh_scheduler_find knows, in the order fresh_scheduler_name
 * lists them. */
static const struct {
    const char *name;
    const fresh_scheduler_type *const *type;
} schedulers[] = {{"adaptive", &fresh_scheduler_adaptive},
                  {"hyperband", &fresh_scheduler_hyperband},
                  {"sh", &fresh_scheduler_sh},
                  {"successive_halving", &fresh_scheduler_sh},
                  {"none", &fresh_scheduler_none},
                  {"asha", &fresh_scheduler_asha},
                  {"async-hyperband", &fresh_scheduler_async_hyperband},
                  {"async-adaptive", &fresh_scheduler_async_adaptive}};

const fresh_scheduler_type *fresh_scheduler_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof schedulers / sizeof schedulers[0]; i++)
        if (!strcmp(schedulers[i].name, name))
            return *schedulers[i].type;
    return NULL;
}

const char *fresh_scheduler_name(size_t i)
{
    return i < sizeof schedulers / sizeof schedulers[0] ? schedulers[i].name : NULL;
}
