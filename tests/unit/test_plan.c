/* Hyperband bracket arithmetic: the paper's Table 1, the 1..243 trap, other
 * eta values, non-integer budgets, the floor formula and invalid inputs. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fresh/plan.h"

static fresh_plan *make(double lo, double hi, double eta, fresh_bracket_formula f)
{
    fresh_plan *p = fresh_plan_create();
    cr_assert_not_null(p);
    int rc = fresh_plan_compute(p, lo, hi, eta, f);
    cr_assert_eq(rc, FRESH_OK, "%s", fresh_plan_errmsg(p));
    return p;
}

/* expected[k] = list of (n, budget) pairs, terminated by n = 0 */
static void expect_bracket(const fresh_plan *p, int k, int s, const long *n, const double *r, int len)
{
    cr_assert_eq(fresh_plan_bracket_s(p, k), s);
    for (int i = 0; i < len; i++) {
        long gn;
        double gr;
        cr_assert_eq(fresh_plan_stage(p, k, i, &gn, &gr), FRESH_OK);
        cr_assert_eq(gn, n[i], "bracket %d stage %d: n = %ld, want %ld", k, i, gn, n[i]);
        cr_assert_eq(gr, r[i], "bracket %d stage %d: r = %.17g, want %.17g", k, i, gr, r[i]);
    }
    cr_assert_eq(fresh_plan_stage(p, k, len, NULL, NULL), FRESH_EINVAL);
}

Test(plan, paper_table_1)
{
    fresh_plan *p = make(1, 81, 3, FRESH_BRACKETS_PAPER);
    cr_assert_eq(fresh_plan_s_max(p), 4);
    expect_bracket(p, 0, 4, (long[]){81, 27, 9, 3, 1}, (double[]){1, 3, 9, 27, 81}, 5);
    expect_bracket(p, 1, 3, (long[]){34, 11, 3, 1}, (double[]){3, 9, 27, 81}, 4);
    expect_bracket(p, 2, 2, (long[]){15, 5, 1}, (double[]){9, 27, 81}, 3);
    expect_bracket(p, 3, 1, (long[]){8, 2}, (double[]){27, 81}, 2);
    expect_bracket(p, 4, 0, (long[]){5}, (double[]){81}, 1);
    cr_assert_eq(fresh_plan_bracket_s(p, 5), FRESH_EINVAL);
    /* s=4: 81+81+81+81+81 = 405 */
    cr_assert_eq(fresh_plan_bracket_budget(p, 0), 405.0);
    cr_assert_eq(fresh_plan_bracket_budget(p, 4), 405.0);
    /* s=3: 34*3 + 11*9 + 3*27 + 81 = 102 + 99 + 81 + 81 = 363 */
    cr_assert_eq(fresh_plan_bracket_budget(p, 1), 363.0);
    double rungs[5];
    cr_assert_eq(fresh_plan_rungs(p, rungs), FRESH_OK);
    cr_assert_arr_eq(rungs, ((double[]){1, 3, 9, 27, 81}), sizeof rungs);
    fresh_plan_destroy(p);
}

Test(plan, floor_formula_hpbandster)
{
    fresh_plan *p = make(1, 81, 3, FRESH_BRACKETS_FLOOR);
    long first[5];
    for (int k = 0; k <= 4; k++)
        fresh_plan_stage(p, k, 0, &first[k], NULL);
    cr_assert_arr_eq(first, ((long[]){81, 27, 9, 6, 5}), sizeof first);
    fresh_plan_destroy(p);
}

Test(plan, six_stages_for_1_to_243)
{
    fresh_plan *p = make(1, 243, 3, FRESH_BRACKETS_PAPER);
    cr_assert_eq(fresh_plan_s_max(p), 5, "log(243)/log(3) truncation trap");
    expect_bracket(p, 0, 5, (long[]){243, 81, 27, 9, 3, 1}, (double[]){1, 3, 9, 27, 81, 243}, 6);
    fresh_plan_destroy(p);
    /* (0.001, 1, eta = 10): 4 brackets, not 3 */
    p = make(0.001, 1, 10, FRESH_BRACKETS_PAPER);
    cr_assert_eq(fresh_plan_s_max(p), 3);
    double r;
    fresh_plan_stage(p, 0, 0, NULL, &r);
    cr_assert_float_eq(r, 0.001, 1e-15);
    fresh_plan_destroy(p);
}

Test(plan, eta_2_and_4)
{
    fresh_plan *p = make(1, 16, 2, FRESH_BRACKETS_PAPER);
    cr_assert_eq(fresh_plan_s_max(p), 4);
    /* n = ceil(5 * 2^s / (s+1)): s=4: 16, s=3: 10, s=2: 14/... = ceil(20/3)=7, s=1: 5, s=0: 5 */
    expect_bracket(p, 0, 4, (long[]){16, 8, 4, 2, 1}, (double[]){1, 2, 4, 8, 16}, 5);
    expect_bracket(p, 1, 3, (long[]){10, 5, 2, 1}, (double[]){2, 4, 8, 16}, 4);
    expect_bracket(p, 2, 2, (long[]){7, 3, 1}, (double[]){4, 8, 16}, 3);
    expect_bracket(p, 3, 1, (long[]){5, 2}, (double[]){8, 16}, 2);
    expect_bracket(p, 4, 0, (long[]){5}, (double[]){16}, 1);
    fresh_plan_destroy(p);

    p = make(1, 64, 4, FRESH_BRACKETS_PAPER);
    cr_assert_eq(fresh_plan_s_max(p), 3);
    /* s=3: ceil(4*64/4)=64; s=2: ceil(4*16/3)=22; s=1: ceil(4*4/2)=8; s=0: 4 */
    expect_bracket(p, 0, 3, (long[]){64, 16, 4, 1}, (double[]){1, 4, 16, 64}, 4);
    expect_bracket(p, 1, 2, (long[]){22, 5, 1}, (double[]){4, 16, 64}, 3);
    expect_bracket(p, 2, 1, (long[]){8, 2}, (double[]){16, 64}, 2);
    expect_bracket(p, 3, 0, (long[]){4}, (double[]){64}, 1);
    fresh_plan_destroy(p);
}

Test(plan, non_integer_budgets)
{
    /* 0.5 .. 40.5 is R = 81 */
    fresh_plan *p = make(0.5, 40.5, 3, FRESH_BRACKETS_PAPER);
    cr_assert_eq(fresh_plan_s_max(p), 4);
    expect_bracket(p, 0, 4, (long[]){81, 27, 9, 3, 1}, (double[]){0.5, 1.5, 4.5, 13.5, 40.5}, 5);
    fresh_plan_destroy(p);
    /* R = 100 is not a power of 3: s_max = 4, top budget exactly max */
    p = make(1, 100, 3, FRESH_BRACKETS_PAPER);
    cr_assert_eq(fresh_plan_s_max(p), 4);
    double r;
    fresh_plan_stage(p, 0, 4, NULL, &r);
    cr_assert_eq(r, 100.0);
    fresh_plan_stage(p, 0, 0, NULL, &r);
    cr_assert_float_eq(r, 100.0 / 81.0, 1e-15);
    fresh_plan_destroy(p);
    /* min == max: one bracket of one stage */
    p = make(5, 5, 3, FRESH_BRACKETS_PAPER);
    cr_assert_eq(fresh_plan_s_max(p), 0);
    long n;
    fresh_plan_stage(p, 0, 0, &n, &r);
    cr_assert_eq(n, 1);
    cr_assert_eq(r, 5.0);
    fresh_plan_destroy(p);
}

struct bad_case {
    double lo, hi, eta;
    int formula;
    char needle[16]; /* inline: Criterion re-executes the binary (ASLR) */
};

ParameterizedTestParameters(plan, invalid)
{
    static struct bad_case cases[] = {
        {1, 81, 1, 0, "eta"},           {1, 81, 0.5, 0, "eta"},
        {1, 81, 2.5, 0, "eta"},         {1, 81, -3, 0, "eta"},
        {81, 1, 3, 0, "max_budget"},    {0, 81, 3, 0, "min_budget"},
        {-1, 81, 3, 0, "min_budget"},   {1, 1e300, 3, 0, "2^40"},
        {1, 81, 3, 7, "formula"},
    };
    return cr_make_param_array(struct bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_case *c, plan, invalid)
{
    fresh_plan *p = make(1, 81, 3, FRESH_BRACKETS_PAPER);
    int rc = fresh_plan_compute(p, c->lo, c->hi, c->eta, (fresh_bracket_formula)c->formula);
    cr_assert_eq(rc, FRESH_EINVAL);
    cr_assert(strstr(fresh_plan_errmsg(p), c->needle), "message '%s' lacks '%s'",
              fresh_plan_errmsg(p), c->needle);
    /* unchanged */
    cr_assert_eq(fresh_plan_s_max(p), 4);
    fresh_plan_destroy(p);
}

Test(plan, nan_and_null)
{
    fresh_plan *p = fresh_plan_create();
    cr_assert_eq(fresh_plan_compute(p, NAN, 81, 3, 0), FRESH_EINVAL);
    cr_assert_eq(fresh_plan_compute(p, 1, NAN, 3, 0), FRESH_EINVAL);
    cr_assert_eq(fresh_plan_compute(p, 1, 81, NAN, 0), FRESH_EINVAL);
    cr_assert_eq(fresh_plan_compute(NULL, 1, 81, 3, 0), FRESH_EINVAL);
    cr_assert_eq(fresh_plan_s_max(p), -1);
    cr_assert_eq(fresh_plan_stage(p, 0, 0, NULL, NULL), FRESH_EINVAL);
    char *s = NULL;
    cr_assert_eq(fresh_plan_to_json(p, &s), FRESH_EINVAL);
    fresh_plan_destroy(p);
    fresh_plan_destroy(NULL);
}

Test(plan, json)
{
    fresh_plan *p = make(1, 81, 3, FRESH_BRACKETS_PAPER);
    char *s = NULL;
    cr_assert_eq(fresh_plan_to_json(p, &s), FRESH_OK);
    cr_assert(strstr(s, "{\"eta\":3,\"min_budget\":1,\"max_budget\":81,"), "%s", s);
    cr_assert(strstr(s, "\"brackets\":[{\"s\":4,\"stages\":[{\"n\":81,\"budget\":1},{\"n\":27,\"budget\":3}"), "%s", s);
    cr_assert(strstr(s, "{\"s\":0,\"stages\":[{\"n\":5,\"budget\":81}]"), "%s", s);
    free(s);
    fresh_plan_destroy(p);
}
