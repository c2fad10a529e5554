/*
 * fidelity.c - unselected pairs and the adaptive rule's test (see
 * fidelity.h; docs/algorithms.md, "Adaptive bracket selection").
 */
#include "fidelity.h"
#include "fresh/status.h"
#include "internal.h"

#include <math.h>

int fresh__fidelity_init(fresh__fidelity *f, const fresh_plan *plan)
{
    int s_max = fresh_plan_s_max(plan);
    f->plan = plan;
    f->pairs = NULL;
    if (s_max > 0) {
        f->pairs = fresh__calloc((size_t)s_max * (size_t)(s_max + 1), sizeof *f->pairs);
        if (!f->pairs)
            return FRESH_ENOMEM;
    }
    return FRESH_OK;
}

void fresh__fidelity_destroy(fresh__fidelity *f)
{
    fresh__free(f->pairs);
    f->pairs = NULL;
}

int fresh__fidelity_unreliable(const fresh__fidelity *f, int k)
{
    int s_max = fresh_plan_s_max(f->plan);
    if (!f->pairs || k >= s_max)
        return 0;
    for (int t = s_max; t > k; t--) {
        const fresh__rung_pairs *rp = &f->pairs[(size_t)k * (size_t)(s_max + 1) + (size_t)t];
        if (rp->n >= FRESH_ADAPTIVE_MIN_PAIRS)
            return fresh__kendall_tau(rp->a, rp->b, rp->n) < FRESH_ADAPTIVE_MIN_TAU;
    }
    return 0;
}

void fresh__fidelity_record(fresh__fidelity *f, const fresh_sched_job *job, double loss,
                            const double *rung_losses)
{
    int s_max = fresh_plan_s_max(f->plan);
    if (!f->pairs || !rung_losses || job->resume_from != 0 || !isfinite(loss))
        return;
    int t = s_max;
    double r;
    while (t > 0 && (fresh_plan_stage(f->plan, t, 0, NULL, &r), r != job->budget))
        t--; /* rung t is where bracket k = t starts */
    for (int j = 0; j < t; j++) {
        if (!isfinite(rung_losses[j]))
            continue;
        fresh__rung_pairs *rp = &f->pairs[(size_t)j * (size_t)(s_max + 1) + (size_t)t];
        rp->a[rp->next] = rung_losses[j];
        rp->b[rp->next] = loss;
        rp->next = (rp->next + 1) % FRESH__PAIRS_KEEP;
        if (rp->n < FRESH__PAIRS_KEEP)
            rp->n++;
    }
}
