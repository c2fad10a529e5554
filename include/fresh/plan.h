/*
 * fresh/plan.h - Hyperband bracket arithmetic (Li et al., JMLR 2018,
 * Algorithm 1), computed exactly with integers.
 *
 * R = max_budget / min_budget, s_max = the largest s with
 * min_budget * eta^s <= max_budget (counted with integer steps, so 1..243 with
 * eta = 3 gives s_max = 5, six stages, where floating-point log gives 4).
 * Bracket s (s = s_max .. 0) has s + 1 stages; stage i runs n_i
 * configurations at budget r_i = max_budget / eta^(s - i), and
 *   paper formula (default):  n = ceil((s_max + 1) eta^s / (s + 1))
 *   floor formula (HpBandSter, DEHB): n = floor((s_max + 1) / (s + 1)) eta^s
 *   n_i = floor(n / eta^i)   (integer division)
 * Brackets are indexed k = 0 .. s_max in the order they run: k = 0 is
 * s = s_max, the most exploratory one.
 */
#ifndef FRESH_PLAN_H
#define FRESH_PLAN_H

#include <stddef.h>

#include "fresh/export.h"
#include "fresh/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fresh_bracket_formula {
    FRESH_BRACKETS_PAPER = 0, /* Li et al.: n = ceil(...) */
    FRESH_BRACKETS_FLOOR = 1  /* HpBandSter / DEHB: n = floor(...) * eta^s */
} fresh_bracket_formula;

/* The most stages fresh plans (eta >= 2 and R < 2^40). */
#define FRESH_PLAN_MAX_STAGES 41

typedef struct fresh_plan fresh_plan;

/* A new, empty plan. NULL when out of memory. Thread safety: any thread. */
FRESH_API fresh_plan *fresh_plan_create(void);

/* Frees the plan; NULL is a no-op. Thread safety: owner thread. */
FRESH_API void fresh_plan_destroy(fresh_plan *plan);

/* Computes the brackets. eta must be an integer >= 2; 0 < min_budget <=
 * max_budget, both finite; max/min < 2^40. On error (FRESH_EINVAL) the plan
 * is unchanged and fresh_plan_errmsg names the argument and value.
 * Thread safety: owner thread. */
FRESH_API int fresh_plan_compute(fresh_plan *plan, double min_budget, double max_budget,
                                 double eta, fresh_bracket_formula formula);

/* Message of the last failed call ("" if none). Thread safety: owner thread. */
FRESH_API const char *fresh_plan_errmsg(const fresh_plan *plan);

/* s_max of a computed plan (-1 before compute). The number of brackets is
 * s_max + 1. Thread safety: any thread (computed plan). */
FRESH_API int fresh_plan_s_max(const fresh_plan *plan);
FRESH_API double fresh_plan_eta(const fresh_plan *plan);
FRESH_API double fresh_plan_min_budget(const fresh_plan *plan);
FRESH_API double fresh_plan_max_budget(const fresh_plan *plan);

/* Bracket k (0 .. s_max, in running order): its s, stage count (s + 1), and
 * stage i's configuration count and budget. FRESH_EINVAL for indices out of
 * range. Thread safety: any thread (computed plan). */
FRESH_API int fresh_plan_bracket_s(const fresh_plan *plan, int k);
FRESH_API int fresh_plan_stage(const fresh_plan *plan, int k, int i, long *n, double *budget);

/* Total budget of bracket k (sum of n_i r_i, restart semantics: every
 * evaluation charged its full budget) and of one Hyperband iteration (all
 * brackets). Thread safety: any thread. */
FRESH_API double fresh_plan_bracket_budget(const fresh_plan *plan, int k);
FRESH_API double fresh_plan_iteration_budget(const fresh_plan *plan);

/* The distinct budgets r = max_budget / eta^j, j = s_max .. 0, ascending,
 * written to budgets[0 .. s_max] (caller provides s_max + 1 doubles).
 * Thread safety: any thread. */
FRESH_API int fresh_plan_rungs(const fresh_plan *plan, double *budgets);

/* The plan as JSON: {"eta":3,"min_budget":1,"max_budget":81,"brackets":
 * [{"s":4,"stages":[{"n":81,"budget":1},...],"budget":405},...],
 * "iteration_budget":...}. New string, freed by the caller with free().
 * FRESH_OK or FRESH_ENOMEM. Thread safety: any thread. */
FRESH_API int fresh_plan_to_json(const fresh_plan *plan, char **out);

#ifdef __cplusplus
}
#endif
#endif
