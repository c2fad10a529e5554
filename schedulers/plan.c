/*
 * plan.c - Hyperband bracket arithmetic with integers (Li et al., JMLR 2018,
 * Algorithm 1; see fresh/plan.h for the formulas).
 *
 * Every count is an integer computed with integer operations: s_max by
 * repeated multiplication (min * eta^s <= max * (1 + 1e-9)), n by exact
 * ceiling or floor division, n_i by integer division. The only floating-point
 * operation is r_i = max_budget / eta^(s - i), a division by an exact power.
 */
#include "fresh/plan.h"
#include "internal.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fresh_plan {
    int s_max;
    double eta, min_budget, max_budget;
    fresh_bracket_formula formula;
    long n[FRESH_PLAN_MAX_STAGES][FRESH_PLAN_MAX_STAGES]; /* [k][i] */
    double r[FRESH_PLAN_MAX_STAGES];                      /* budget max/eta^j, j = s_max..0 ascending */
    char errmsg[FRESH__ERRMSG_LEN];
};

fresh_plan *fresh_plan_create(void)
{
    fresh_plan *p = fresh__calloc(1, sizeof *p);
    if (p)
        p->s_max = -1;
    return p;
}

void fresh_plan_destroy(fresh_plan *plan) { fresh__free(plan); }

const char *fresh_plan_errmsg(const fresh_plan *plan) { return plan ? plan->errmsg : ""; }

int fresh_plan_compute(fresh_plan *plan, double min_budget, double max_budget, double eta,
                       fresh_bracket_formula formula)
{
    if (!plan)
        return FRESH_EINVAL;
    if (!isfinite(eta) || eta < 2 || eta != floor(eta) || eta > 1e6)
        return fresh__set_err(plan->errmsg, FRESH_EINVAL,
                              "eta: must be an integer >= 2, got %g", eta);
    if (!isfinite(min_budget) || min_budget <= 0)
        return fresh__set_err(plan->errmsg, FRESH_EINVAL,
                              "min_budget: must be finite and > 0, got %g", min_budget);
    if (!isfinite(max_budget) || max_budget < min_budget)
        return fresh__set_err(plan->errmsg, FRESH_EINVAL,
                              "max_budget: must be finite and >= min_budget (%g), got %g",
                              min_budget, max_budget);
    if (formula != FRESH_BRACKETS_PAPER && formula != FRESH_BRACKETS_FLOOR)
        return fresh__set_err(plan->errmsg, FRESH_EINVAL, "formula: unknown value %d",
                              (int)formula);
    if (max_budget / min_budget >= 1099511627776.0) /* 2^40 */
        return fresh__set_err(plan->errmsg, FRESH_EINVAL,
                              "max_budget / min_budget: must be < 2^40, got %g",
                              max_budget / min_budget);

    int64_t e = (int64_t)eta;
    /* s_max: largest s with min * eta^s <= max (relative slack 1e-9) */
    int s_max = 0;
    double b = min_budget;
    while (b * (double)e <= max_budget * (1.0 + 1e-9)) {
        b *= (double)e;
        s_max++;
    }
    int64_t pw[FRESH_PLAN_MAX_STAGES];
    pw[0] = 1;
    for (int s = 1; s <= s_max; s++)
        pw[s] = pw[s - 1] * e; /* e^s <= 2^40: no overflow */

    plan->s_max = s_max;
    plan->eta = eta;
    plan->min_budget = min_budget;
    plan->max_budget = max_budget;
    plan->formula = formula;
    memset(plan->n, 0, sizeof plan->n);
    for (int k = 0; k <= s_max; k++) {
        int s = s_max - k;
        int64_t n;
        if (formula == FRESH_BRACKETS_PAPER) /* ceil((s_max+1) e^s / (s+1)) */
            n = ((int64_t)(s_max + 1) * pw[s] + s) / (s + 1);
        else
            n = ((int64_t)(s_max + 1) / (s + 1)) * pw[s];
        for (int i = 0; i <= s; i++)
            plan->n[k][i] = (long)(n / pw[i]);
    }
    for (int j = 0; j <= s_max; j++) /* ascending: j = 0 is the smallest budget */
        plan->r[j] = max_budget / (double)pw[s_max - j];
    plan->errmsg[0] = '\0';
    return FRESH_OK;
}

int fresh_plan_s_max(const fresh_plan *plan) { return plan ? plan->s_max : -1; }
double fresh_plan_eta(const fresh_plan *plan) { return plan ? plan->eta : 0; }
double fresh_plan_min_budget(const fresh_plan *plan) { return plan ? plan->min_budget : 0; }
double fresh_plan_max_budget(const fresh_plan *plan) { return plan ? plan->max_budget : 0; }

static int bad_k(const fresh_plan *plan, int k)
{
    return !plan || plan->s_max < 0 || k < 0 || k > plan->s_max;
}

int fresh_plan_bracket_s(const fresh_plan *plan, int k)
{
    if (bad_k(plan, k))
        return FRESH_EINVAL;
    return plan->s_max - k;
}

int fresh_plan_stage(const fresh_plan *plan, int k, int i, long *n, double *budget)
{
    if (bad_k(plan, k))
        return FRESH_EINVAL;
    int s = plan->s_max - k;
    if (i < 0 || i > s)
        return FRESH_EINVAL;
    if (n)
        *n = plan->n[k][i];
    if (budget) /* stage i of bracket s runs at max / eta^(s - i) = r[s_max - s + i] */
        *budget = plan->r[plan->s_max - s + i];
    return FRESH_OK;
}

double fresh_plan_bracket_budget(const fresh_plan *plan, int k)
{
    if (bad_k(plan, k))
        return 0;
    double t = 0;
    int s = plan->s_max - k;
    for (int i = 0; i <= s; i++)
        t += (double)plan->n[k][i] * plan->r[plan->s_max - s + i];
    return t;
}

double fresh_plan_iteration_budget(const fresh_plan *plan)
{
    double t = 0;
    if (!plan || plan->s_max < 0)
        return 0;
    for (int k = 0; k <= plan->s_max; k++)
        t += fresh_plan_bracket_budget(plan, k);
    return t;
}

int fresh_plan_rungs(const fresh_plan *plan, double *budgets)
{
    if (!plan || plan->s_max < 0 || !budgets)
        return FRESH_EINVAL;
    memcpy(budgets, plan->r, (size_t)(plan->s_max + 1) * sizeof *budgets);
    return FRESH_OK;
}

/* Integral values print as integers ("budget":1, not 1.0). */
static json_t *json_num(double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

int fresh_plan_to_json(const fresh_plan *plan, char **out)
{
    if (!plan || plan->s_max < 0 || !out)
        return FRESH_EINVAL;
    int rc = FRESH_ENOMEM;
    json_t *root = json_object(), *brackets = json_array();
    if (!root || !brackets)
        goto fail;
    json_object_set_new(root, "eta", json_integer((json_int_t)plan->eta));
    json_object_set_new(root, "min_budget", json_num(plan->min_budget));
    json_object_set_new(root, "max_budget", json_num(plan->max_budget));
    json_object_set_new(root, "formula",
                        json_string(plan->formula == FRESH_BRACKETS_PAPER ? "paper" : "floor"));
    for (int k = 0; k <= plan->s_max; k++) {
        json_t *br = json_object(), *stages = json_array();
        if (!br || !stages) {
            json_decref(br);
            json_decref(stages);
            goto fail;
        }
        for (int i = 0; i <= plan->s_max - k; i++) {
            long n = 0;
            double r = 0;
            fresh_plan_stage(plan, k, i, &n, &r);
            json_t *st = json_pack("{s:I,s:o}", "n", (json_int_t)n, "budget", json_num(r));
            if (!st || json_array_append_new(stages, st)) {
                json_decref(br);
                json_decref(stages);
                goto fail;
            }
        }
        json_object_set_new(br, "s", json_integer(plan->s_max - k));
        json_object_set_new(br, "stages", stages);
        json_object_set_new(br, "budget", json_num(fresh_plan_bracket_budget(plan, k)));
        if (json_array_append_new(brackets, br))
            goto fail;
    }
    json_object_set_new(root, "brackets", brackets);
    brackets = NULL;
    json_object_set_new(root, "iteration_budget", json_num(fresh_plan_iteration_budget(plan)));
    /* JSON_REAL_PRECISION(17) round-trips doubles; integral budgets print as 1.0 */
    char *text = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!text)
        goto fail;
    *out = text;
    rc = FRESH_OK;
fail:
    json_decref(brackets);
    json_decref(root);
    return rc;
}
