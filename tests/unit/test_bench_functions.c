/* Benchmark functions (bench/lib/functions.c): the RNG and evaluation test
 * vectors of docs/benchmarks-spec.md section 5 (relative error <= 1e-12),
 * the known optima, the search spaces, the noise-free max budget,
 * determinism and the lookup table. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "fresh/space.h"
#include "functions.h"

#define REL_TOL 1e-12
#define PI_ 3.14159265358979323846

static int rel_close(double got, double want, double tol)
{
    if (isnan(got) || isnan(want))
        return 0;
    double scale = fabs(want) > 1.0 ? fabs(want) : 1.0;
    if (want != 0.0)
        scale = fabs(want);
    return fabs(got - want) <= tol * scale;
}

static const fresh_benchmark *bench(const char *name)
{
    const fresh_benchmark *b = fresh_bench_find(name);
    cr_assert_not_null(b, "benchmark %s missing", name);
    return b;
}

/* ---- RNG (spec 1.2 and 5) ---- */

Test(bench_functions, rng_vectors)
{
    cr_assert_eq(fresh_bench_sm64(0), UINT64_C(0xe220a8397b1dcdaf));
    cr_assert_eq(fresh_bench_hash4(1, 2, 3, 4), UINT64_C(0xd55ccd4aeb3ccafb));
    double u = fresh_bench_U(1, 2, 3, 4);
    cr_assert(rel_close(u, 0.8334472949893438, REL_TOL), "U = %.17g", u);
    double n = fresh_bench_N(1, 2, 0xFFFFFFFF, 9);
    cr_assert(rel_close(n, -0.1757125725361458, REL_TOL), "N = %.17g", n);
    cr_assert_eq(FRESH_BENCH_STREAM_NOISE, UINT64_C(0xFFFFFFFF));
}

Test(bench_functions, rng_hash_is_composed_sm64)
{
    uint64_t s = 123456789, k = 42, st = 7, i = 99;
    uint64_t want = fresh_bench_sm64(
        fresh_bench_sm64(fresh_bench_sm64(fresh_bench_sm64(s) ^ k) ^ st) ^ i);
    cr_assert_eq(fresh_bench_hash4(s, k, st, i), want);
    /* U uses the top 53 bits: exactly representable, in [0, 1). */
    for (uint64_t j = 0; j < 1000; j++) {
        double v = fresh_bench_U(s, k, st, j);
        cr_assert(v >= 0.0 && v < 1.0);
        cr_assert_eq(v, (double)(fresh_bench_hash4(s, k, st, j) >> 11) / 9007199254740992.0);
    }
}

Test(bench_functions, rng_normal_moments)
{
    /* A loose sanity check of Box-Muller: mean ~ 0, variance ~ 1. */
    const int n = 20000;
    double sum = 0.0, sq = 0.0;
    for (int i = 0; i < n; i++) {
        double z = fresh_bench_N(5, 6, FRESH_BENCH_STREAM_NOISE, (uint64_t)i);
        cr_assert(isfinite(z));
        sum += z;
        sq += z * z;
    }
    double mean = sum / n, var = sq / n - mean * mean;
    cr_assert(fabs(mean) < 0.05, "mean %g", mean);
    cr_assert(fabs(var - 1.0) < 0.05, "variance %g", var);
}

/* ---- evaluation vectors (spec 5, seed 7, key 3) ---- */

typedef struct vector_case {
    const char *bench;
    double x[16];
    double budget;
    double observed;
    double truth;
} vector_case;

#define CO_X {0, 1, 0, 1, 0, 1, 0, 1, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}
#define H6_X {0.2, 0.15, 0.45, 0.3, 0.3, 0.65}
#define LC_ADAM_X {0.003, 4, 0, NAN}
#define LC_SGD_X {0.05, 6, 1, 0.9}
#define LC_RMS_X {0.001, 8, 2, NAN}

static const vector_case VECTORS[] = {
    {"counting_ones", CO_X, 9, -7.888888888888888, -7.6},
    {"counting_ones", CO_X, 81, -7.382716049382716, -7.6},
    {"counting_ones", CO_X, 729, -7.635116598079561, -7.6},
    {"branin_mf", {3.0, 2.0}, 1, 1.4183863491425623, 0.6445340694734334},
    {"branin_mf", {3.0, 2.0}, 9, 1.088411199054123, 0.6445340694734334},
    {"branin_mf", {3.0, 2.0}, 81, 0.6445340694734334, 0.6445340694734334},
    {"branin_mf", {-2.0, 11.0}, 1, 8.91430841429754, 7.694535290476077},
    {"branin_mf", {-2.0, 11.0}, 3, 7.96479958254667, 7.694535290476077},
    {"branin_mf", {-2.0, 11.0}, 27, 8.070436116175596, 7.694535290476077},
    {"hartmann6_mf", H6_X, 1, -2.5196723052409182, -3.2915966185560794},
    {"hartmann6_mf", H6_X, 9, -2.8920392639492736, -3.2915966185560794},
    {"hartmann6_mf", H6_X, 81, -3.2915966185560794, -3.2915966185560794},
    {"lc_mixed", LC_ADAM_X, 1, 0.5994411875279555, 0.16583439593525356},
    {"lc_mixed", LC_ADAM_X, 10, 0.19786664416501556, 0.16583439593525356},
    {"lc_mixed", LC_ADAM_X, 81, 0.16322011598990913, 0.16583439593525356},
    {"lc_mixed", LC_SGD_X, 1, 0.9952489409065268, 0.11507237441975889},
    {"lc_mixed", LC_SGD_X, 10, 0.2104882510953831, 0.11507237441975889},
    {"lc_mixed", LC_SGD_X, 81, 0.11245809447441445, 0.11507237441975889},
    {"lc_mixed", LC_RMS_X, 1, 1.105158893911936, 0.28445185974414855},
    {"lc_mixed", LC_RMS_X, 10, 0.48919482276061693, 0.28445185974414855},
    {"lc_mixed", LC_RMS_X, 81, 0.2818375797988041, 0.28445185974414855},
};

Test(bench_functions, evaluation_vectors)
{
    size_t n = sizeof VECTORS / sizeof VECTORS[0];
    for (size_t i = 0; i < n; i++) {
        const vector_case *v = &VECTORS[i];
        const fresh_benchmark *b = bench(v->bench);
        double obs = b->observed(v->x, v->budget, 7, 3);
        double tru = b->truth(v->x);
        cr_assert(rel_close(obs, v->observed, REL_TOL), "%s row %zu b=%g: observed %.17g, want %.17g",
                  v->bench, i, v->budget, obs, v->observed);
        cr_assert(rel_close(tru, v->truth, REL_TOL), "%s row %zu: true %.17g, want %.17g", v->bench,
                  i, tru, v->truth);
    }
}

/* ---- optima ---- */

Test(bench_functions, optima)
{
    const fresh_benchmark *co = bench("counting_ones");
    double ones[16];
    for (int i = 0; i < 16; i++)
        ones[i] = 1.0;
    cr_assert_eq(co->truth(ones), -16.0);
    cr_assert_eq(co->f_opt, -16.0);
    /* every sample is 1: observed is exactly -16 at every rung */
    for (double b = 9; b <= 729; b *= 3)
        cr_assert_eq(co->observed(ones, b, 11, 5), -16.0, "budget %g", b);

    const fresh_benchmark *br = bench("branin_mf");
    const double br_opt[3][2] = {{-PI_, 12.275}, {PI_, 2.275}, {9.42478, 2.475}};
    for (int i = 0; i < 3; i++)
        cr_assert(fabs(br->truth(br_opt[i]) - br->f_opt) <= 1e-6, "branin optimum %d: %.17g", i,
                  br->truth(br_opt[i]));
    cr_assert(fabs(br->f_opt - 10.0 / (8.0 * PI_)) <= 1e-12);

    const fresh_benchmark *h6 = bench("hartmann6_mf");
    const double h6_opt[6] = {0.20168951, 0.15001069, 0.47687398,
                              0.27533243, 0.31165162, 0.65730053};
    cr_assert(fabs(h6->truth(h6_opt) - h6->f_opt) <= 1e-6, "hartmann %.17g", h6->truth(h6_opt));

    const fresh_benchmark *lc = bench("lc_mixed");
    const double lc_opt[4] = {0.21945324492, 6, 1, 0.0};
    cr_assert(fabs(lc->truth(lc_opt) - lc->f_opt) <= 1e-6, "lc_mixed %.17g", lc->truth(lc_opt));
    /* only lr / (1 - m) matters for sgd */
    const double lc_opt_m[4] = {0.21945324492 * 0.5, 6, 1, 0.5};
    cr_assert(fabs(lc->truth(lc_opt_m) - lc->f_opt) <= 1e-6);
    /* the per-optimiser bests of spec 2.4, and they are worse than sgd's */
    const double adam[4] = {0.0013557, 6, 0, NAN};
    const double rms[4] = {0.0057290, 6, 2, NAN};
    cr_assert(fabs(lc->truth(adam) - 0.1138829913354772) <= 1e-6, "adam %.17g", lc->truth(adam));
    cr_assert(fabs(lc->truth(rms) - 0.12382759713804739) <= 1e-6, "rmsprop %.17g", lc->truth(rms));
}

Test(bench_functions, optimum_is_a_lower_bound)
{
    /* no point of a coarse grid beats the known optimum */
    for (size_t k = 0; k < fresh_bench_count(); k++) {
        const fresh_benchmark *b = fresh_bench_at(k);
        double x[16];
        for (int g = 0; g < 2000; g++) {
            for (size_t i = 0; i < b->dim; i++)
                x[i] = fresh_bench_U(99, (uint64_t)g, i, k);
            if (strcmp(b->name, "counting_ones") == 0) {
                for (int i = 0; i < 8; i++)
                    x[i] = x[i] < 0.5 ? 0 : 1;
            } else if (strcmp(b->name, "branin_mf") == 0) {
                x[0] = -5.0 + 15.0 * x[0];
                x[1] = 15.0 * x[1];
            } else if (strcmp(b->name, "lc_mixed") == 0) {
                x[0] = pow(10.0, -4.0 + 4.0 * x[0]);
                x[1] = floor(1.0 + 8.0 * x[1]);
                x[2] = floor(3.0 * x[2]);
                x[3] = x[2] == 1 ? 0.99 * x[3] : NAN;
            }
            cr_assert(b->truth(x) >= b->f_opt - 1e-9, "%s point %d: %.17g < f_opt", b->name, g,
                      b->truth(x));
        }
    }
}

/* ---- fidelity ---- */

Test(bench_functions, noise_free_at_max_budget)
{
    const char *names[2] = {"branin_mf", "hartmann6_mf"};
    for (int n = 0; n < 2; n++) {
        const fresh_benchmark *b = bench(names[n]);
        double x[6];
        for (int g = 0; g < 200; g++) {
            for (size_t i = 0; i < b->dim; i++)
                x[i] = fresh_bench_U(3, (uint64_t)g, i, 0);
            if (n == 0) {
                x[0] = -5.0 + 15.0 * x[0];
                x[1] = 15.0 * x[1];
            }
            cr_assert_eq(b->observed(x, b->max_budget, (uint64_t)g, 17), b->truth(x), "%s %d",
                         b->name, g);
        }
    }
}

Test(bench_functions, noise_model)
{
    /* observed - noise term is the same for every key (the noise-free value
     * at that fidelity); the noise scale shrinks to 0 at b_max; Hartmann's
     * noise is half-normal, so it only ever adds */
    const char *names[3] = {"branin_mf", "hartmann6_mf", "lc_mixed"};
    const double xs[3][6] = {{3.0, 2.0}, H6_X, LC_SGD_X};
    for (int n = 0; n < 3; n++) {
        const fresh_benchmark *b = bench(names[n]);
        for (double bud = b->min_budget; bud < b->max_budget; bud *= 3) {
            double s = log(bud / b->min_budget) / log(b->max_budget / b->min_budget);
            double base = NAN;
            for (uint64_t key = 0; key < 200; key++) {
                double z = fresh_bench_N(5, key, FRESH_BENCH_STREAM_NOISE, (uint64_t)bud);
                double noise = n == 0   ? 0.5 * (1.0 - s) * z
                               : n == 1 ? 0.1 * (1.0 - s) * fabs(z)
                                        : 0.02 / sqrt(bud) * z;
                double o = b->observed(xs[n], bud, 5, key);
                if (key == 0)
                    base = o - noise;
                else
                    cr_assert(fabs(o - noise - base) <= 1e-13, "%s b=%g key %d", b->name, bud,
                              (int)key);
            }
        }
    }
}

Test(bench_functions, budgets_are_rounded_and_checked)
{
    for (size_t k = 0; k < fresh_bench_count(); k++) {
        const fresh_benchmark *b = fresh_bench_at(k);
        double x[16];
        for (int i = 0; i < 16; i++)
            x[i] = 0.5;
        if (strcmp(b->name, "counting_ones") == 0)
            for (int i = 0; i < 8; i++)
                x[i] = 1;
        if (strcmp(b->name, "lc_mixed") == 0) {
            x[0] = 0.01; x[1] = 3; x[2] = 1; x[3] = 0.5;
        }
        double mid = b->min_budget * 3;
        cr_assert_eq(b->observed(x, mid + 0.3, 1, 2), b->observed(x, mid, 1, 2), "%s", b->name);
        cr_assert_eq(b->observed(x, mid - 0.3, 1, 2), b->observed(x, mid, 1, 2), "%s", b->name);
        cr_assert(isnan(b->observed(x, 0.0, 1, 2)), "%s", b->name);
        cr_assert(isnan(b->observed(x, -3.0, 1, 2)), "%s", b->name);
        cr_assert(isnan(b->observed(x, NAN, 1, 2)), "%s", b->name);
        cr_assert(isnan(b->observed(x, INFINITY, 1, 2)), "%s", b->name);
    }
}

Test(bench_functions, invalid_configurations_give_nan)
{
    const fresh_benchmark *co = bench("counting_ones");
    double x[16] = CO_X;
    x[2] = 2;   /* categorical index out of range */
    cr_assert(isnan(co->observed(x, 9, 1, 1)));
    cr_assert(isnan(co->truth(x)));
    x[2] = NAN;
    cr_assert(isnan(co->truth(x)));

    const fresh_benchmark *lc = bench("lc_mixed");
    double sgd_no_m[4] = {0.05, 6, 1, NAN};
    cr_assert(isnan(lc->truth(sgd_no_m)));
    cr_assert(isnan(lc->observed(sgd_no_m, 3, 1, 1)));
    double bad_opt[4] = {0.05, 6, 3, NAN};
    cr_assert(isnan(lc->truth(bad_opt)));
    /* momentum is ignored (may be anything) when the optimizer is not sgd */
    double adam_a[4] = {0.003, 4, 0, NAN};
    double adam_b[4] = {0.003, 4, 0, 0.7};
    cr_assert_eq(lc->truth(adam_a), lc->truth(adam_b));
    cr_assert_eq(lc->observed(adam_a, 5, 2, 9), lc->observed(adam_b, 5, 2, 9));
}

Test(bench_functions, deterministic_and_order_free)
{
    /* the same (seed, key, x, b) gives the same value, whatever was evaluated
     * in between; different keys or seeds give different noise */
    for (size_t k = 0; k < fresh_bench_count(); k++) {
        const fresh_benchmark *b = fresh_bench_at(k);
        const vector_case *v = NULL;
        for (size_t i = 0; i < sizeof VECTORS / sizeof VECTORS[0]; i++)
            if (strcmp(VECTORS[i].bench, b->name) == 0) {
                v = &VECTORS[i];
                break;
            }
        cr_assert_not_null(v);
        double first[5], again[5];
        double budgets[5];
        for (int r = 0; r < 5; r++)
            budgets[r] = b->min_budget * pow(3.0, r);
        for (int r = 0; r < 5; r++)
            first[r] = b->observed(v->x, budgets[r], 7, 3);
        for (int r = 4; r >= 0; r--) {
            (void)b->observed(v->x, budgets[r], 8, 4);
            again[r] = b->observed(v->x, budgets[r], 7, 3);
        }
        for (int r = 0; r < 5; r++)
            cr_assert_eq(first[r], again[r], "%s rung %d", b->name, r);
        cr_assert_neq(b->observed(v->x, budgets[0], 7, 3), b->observed(v->x, budgets[0], 7, 4),
                      "%s: key must change the noise", b->name);
        cr_assert_neq(b->observed(v->x, budgets[0], 7, 3), b->observed(v->x, budgets[0], 8, 3),
                      "%s: seed must change the noise", b->name);
    }
}

Test(bench_functions, counting_ones_resumes_its_samples)
{
    /* the samples at budget 27 extend those at budget 9: with one x_i in
     * (0, 1) and the rest 0, 27 * observed(27) counts at least the hits of
     * the first 9 samples */
    const fresh_benchmark *co = bench("counting_ones");
    double x[16] = {0};
    x[8] = 0.5;
    double c9 = -co->observed(x, 9, 7, 3) * 9.0;
    double c27 = -co->observed(x, 27, 7, 3) * 27.0;
    long hits9 = 0;
    for (uint64_t k = 0; k < 9; k++)
        hits9 += fresh_bench_U(7, 3, 0, k) < 0.5;
    cr_assert(fabs(c9 - (double)hits9) < 1e-9, "c9 %g hits %ld", c9, hits9);
    cr_assert(c27 + 1e-9 >= c9);
}

/* ---- the table ---- */

Test(bench_functions, table_and_lookup)
{
    static const char *const names[4] = {"counting_ones", "branin_mf", "hartmann6_mf", "lc_mixed"};
    static const size_t dims[4] = {16, 2, 6, 4};
    cr_assert_eq(fresh_bench_count(), 4);
    for (size_t i = 0; i < 4; i++) {
        const fresh_benchmark *b = fresh_bench_at(i);
        cr_assert_not_null(b);
        cr_assert_str_eq(b->name, names[i]);
        cr_assert_eq(fresh_bench_find(names[i]), b);
        cr_assert_eq(b->dim, dims[i]);
        cr_assert_eq(b->eta, 3);
        cr_assert_eq(b->max_budget / b->min_budget, 81.0, "%s", b->name);
        cr_assert_eq(b->min_budget, floor(b->min_budget));
        cr_assert_not_null(b->description);
        cr_assert(strlen(b->description) > 0);
        cr_assert_not_null(b->build_space);
        cr_assert_not_null(b->observed);
        cr_assert_not_null(b->truth);
        cr_assert_eq(b->report_every_epoch, strcmp(b->name, "lc_mixed") == 0);
    }
    cr_assert_eq(fresh_bench_at(0)->min_budget, 9);
    cr_assert_null(fresh_bench_at(4));
    cr_assert_null(fresh_bench_at((size_t)-1));
    cr_assert_null(fresh_bench_find("nope"));
    cr_assert_null(fresh_bench_find(""));
    cr_assert_null(fresh_bench_find(NULL));
    cr_assert_null(fresh_bench_find("branin"));
}

/* ---- search spaces ---- */

static fresh_space *build(const fresh_benchmark *b)
{
    fresh_space *s = fresh_space_create();
    cr_assert_not_null(s);
    int rc = b->build_space(s);
    cr_assert_eq(rc, FRESH_OK, "%s: %s", b->name, fresh_space_errmsg(s));
    cr_assert_eq(fresh_space_dim(s), b->dim, "%s", b->name);
    return s;
}

static void check_param(const fresh_space *s, size_t i, const char *name, fresh_param_type type,
                        double low, double high, int log_scale)
{
    fresh_param_info info;
    cr_assert_eq(fresh_space_param(s, i, &info), FRESH_OK);
    cr_assert_str_eq(info.name, name);
    cr_assert_eq(info.type, type, "%s", name);
    cr_assert_eq(info.low, low, "%s low %g", name, info.low);
    cr_assert_eq(info.high, high, "%s high %g", name, info.high);
    if (type == FRESH_PARAM_FLOAT || type == FRESH_PARAM_INT)
        cr_assert_eq(info.log_scale, log_scale, "%s", name);
}

Test(bench_functions, space_counting_ones)
{
    fresh_space *s = build(bench("counting_ones"));
    char name[16];
    for (size_t i = 0; i < 8; i++) {
        snprintf(name, sizeof name, "c_%zu", i);
        check_param(s, i, name, FRESH_PARAM_CATEGORICAL, 0, 1, 0);
        fresh_param_info info;
        fresh_space_param(s, i, &info);
        cr_assert_eq(info.n_levels, 2);
        cr_assert_str_eq(info.labels[0], "0");
        cr_assert_str_eq(info.labels[1], "1");
        cr_assert_eq(fresh_space_level_index(s, i, "1"), 1);
        cr_assert_eq(info.has_condition, 0);
    }
    for (size_t i = 0; i < 8; i++) {
        snprintf(name, sizeof name, "x_%zu", i);
        check_param(s, 8 + i, name, FRESH_PARAM_FLOAT, 0, 1, 0);
    }
    fresh_space_destroy(s);
}

Test(bench_functions, space_branin_and_hartmann)
{
    fresh_space *s = build(bench("branin_mf"));
    check_param(s, 0, "x1", FRESH_PARAM_FLOAT, -5, 10, 0);
    check_param(s, 1, "x2", FRESH_PARAM_FLOAT, 0, 15, 0);
    fresh_space_destroy(s);

    s = build(bench("hartmann6_mf"));
    char name[16];
    for (size_t i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "x_%zu", i);
        check_param(s, i, name, FRESH_PARAM_FLOAT, 0, 1, 0);
    }
    fresh_space_destroy(s);
}

Test(bench_functions, space_lc_mixed)
{
    fresh_space *s = build(bench("lc_mixed"));
    check_param(s, 0, "lr", FRESH_PARAM_FLOAT, 1e-4, 1, 1);
    check_param(s, 1, "layers", FRESH_PARAM_INT, 1, 8, 0);
    check_param(s, 2, "optimizer", FRESH_PARAM_CATEGORICAL, 0, 2, 0);
    check_param(s, 3, "momentum", FRESH_PARAM_FLOAT, 0, 0.99, 0);
    cr_assert_eq(fresh_space_level_index(s, 2, "adam"), 0);
    cr_assert_eq(fresh_space_level_index(s, 2, "sgd"), 1);
    cr_assert_eq(fresh_space_level_index(s, 2, "rmsprop"), 2);
    fresh_param_info info;
    fresh_space_param(s, 3, &info);
    cr_assert_eq(info.has_condition, 1);
    fresh_space_param(s, 2, &info);
    cr_assert_eq(info.has_condition, 0);

    /* momentum is active only with sgd */
    for (int opt = 0; opt < 3; opt++) {
        double x[4] = {0.01, 3, opt, 0.5};
        fresh_space_apply_conditions(s, x);
        if (opt == 1) {
            cr_assert_eq(fresh_space_is_active(s, x, 3), 1);
            cr_assert_eq(x[3], 0.5);
        } else {
            cr_assert_eq(fresh_space_is_active(s, x, 3), 0, "optimizer %d", opt);
            cr_assert(isnan(x[3]), "optimizer %d", opt);
        }
        cr_assert_eq(fresh_space_check(s, x, NULL, 0), FRESH_OK, "optimizer %d", opt);
        cr_assert(isfinite(bench("lc_mixed")->truth(x)));
    }
    /* the spec's test configurations are valid configurations */
    const double vx[3][4] = {LC_ADAM_X, LC_SGD_X, LC_RMS_X};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(fresh_space_check(s, vx[i], NULL, 0), FRESH_OK, "vector %d", i);
    fresh_space_destroy(s);
}

Test(bench_functions, sampled_configurations_evaluate)
{
    /* every configuration the space samples evaluates to a finite value at
     * every rung, and is no better than the optimum in truth */
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    cr_assert_not_null(rng);
    gsl_rng_set(rng, 4);
    for (size_t k = 0; k < fresh_bench_count(); k++) {
        const fresh_benchmark *b = fresh_bench_at(k);
        fresh_space *s = build(b);
        double x[16];
        for (int g = 0; g < 50; g++) {
            cr_assert_eq(fresh_space_sample(s, rng, x), FRESH_OK);
            cr_assert(b->truth(x) >= b->f_opt - 1e-9, "%s", b->name);
            for (double bud = b->min_budget; bud <= b->max_budget; bud *= 3)
                cr_assert(isfinite(b->observed(x, bud, 1, (uint64_t)g)), "%s at %g", b->name,
                          bud);
        }
        fresh_space_destroy(s);
    }
    gsl_rng_free(rng);
}
