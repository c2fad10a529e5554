/*
 * fidelity.h - the adaptive rule's measurement of a fidelity (internal to
 * the schedulers): unselected (rung loss, higher-rung loss) pairs and
 * Kendall's tau between rungs (docs/algorithms.md, "Adaptive bracket
 * selection"). Used by the adaptive scheduler (hyperband.c) and the
 * async-adaptive one (asha.c).
 */
#ifndef FRESH_SCHED_FIDELITY_H
#define FRESH_SCHED_FIDELITY_H

#include <stddef.h>

#include "fresh/plan.h"
#include "fresh/scheduler.h"

/* Pairs kept per (rung j, rung t > j): the most recent ones. */
#define FRESH__PAIRS_KEEP 128

typedef struct fresh__rung_pairs {
    double a[FRESH__PAIRS_KEEP], b[FRESH__PAIRS_KEEP];
    size_t n, next;
} fresh__rung_pairs;

typedef struct fresh__fidelity {
    const fresh_plan *plan;
    fresh__rung_pairs *pairs; /* [j * (s_max + 1) + t]; NULL: nothing measured */
} fresh__fidelity;

/* Prepares f for plan (pairs allocated when s_max > 0). FRESH_OK or
 * FRESH_ENOMEM. */
int fresh__fidelity_init(fresh__fidelity *f, const fresh_plan *plan);
void fresh__fidelity_destroy(fresh__fidelity *f);

/* A finished job: if it ran from scratch (resume_from 0: not selected on
 * its earlier losses) to the first budget of a plan bracket t and completed
 * with a finite loss, each lower rung j it reported at gives one pair. */
void fresh__fidelity_record(fresh__fidelity *f, const fresh_sched_job *job, double loss,
                            const double *rung_losses);

/* 1 if rung k (the first of plan bracket k < s_max) has proven to rank
 * configurations unlike higher budgets: Kendall's tau between rung k and the
 * highest rung t > k with at least FRESH_ADAPTIVE_MIN_PAIRS pairs is below
 * FRESH_ADAPTIVE_MIN_TAU. */
int fresh__fidelity_unreliable(const fresh__fidelity *f, int k);

#endif
