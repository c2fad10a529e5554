/* The mixed product-kernel KDE (kde/kde.c): normalisation with truncation at
 * the edges, mixed and conditional (inactive) dimensions, exact sampling
 * (goodness of fit with fixed seeds), unseen levels, 40 dimensions without
 * underflow, the bandwidth rule, buffer reuse and every error path. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>

#include "fresh/rng.h"
#include "internal.h"
#include "kde.h"

static const fresh__kde_dim CONT = {FRESH__KDE_CONT, 0};

static fresh__kde *make(size_t d, const fresh__kde_dim *dims)
{
    fresh__kde *k = NULL;
    cr_assert_eq(fresh__kde_create(d, dims, &k), FRESH_OK);
    cr_assert_not_null(k);
    return k;
}

static fresh__kde *make_cont(size_t d)
{
    fresh__kde_dim dims[64];
    for (size_t j = 0; j < d; j++)
        dims[j] = CONT;
    return make(d, dims);
}

/* Composite Simpson weights on [0, 1] with m (even) intervals. */
static double simpson_w(size_t i, size_t m)
{
    double h = 1.0 / (double)m;
    if (i == 0 || i == m)
        return h / 3.0;
    return (i % 2 ? 4.0 : 2.0) * h / 3.0;
}

static double integrate_1d(fresh__kde *k, double *x, size_t j, size_t m)
{
    double s = 0.0;
    for (size_t i = 0; i <= m; i++) {
        x[j] = (double)i / (double)m;
        s += simpson_w(i, m) * exp(fresh__kde_logpdf(k, x));
    }
    return s;
}

/* ---- normalisation ---- */

Test(kde, integrates_to_one_1d_points_at_edges)
{
    fresh__kde *k = make_cont(1);
    double rows[] = {0.0, 0.01, 0.5, 0.98, 1.0};
    cr_assert_eq(fresh__kde_fit(k, rows, 5, 1e-3, 0.0), FRESH_OK);
    double x[1];
    double s = integrate_1d(k, x, 0, 20000);
    cr_assert(fabs(s - 1.0) < 1e-8, "integral %.12f", s);

    /* narrow kernels piled against the lower edge */
    double narrow[40];
    for (int i = 0; i < 40; i++)
        narrow[i] = 0.0002 * i;
    cr_assert_eq(fresh__kde_fit(k, narrow, 40, 1e-3, 0.0), FRESH_OK);
    cr_assert_lt(fresh__kde_bandwidths(k)[0], 0.005);
    s = integrate_1d(k, x, 0, 40000);
    cr_assert(fabs(s - 1.0) < 1e-7, "integral %.12f", s);

    /* one point at the edge with the smallest bandwidth: half a Gaussian */
    double one[4] = {0.0, 0.0, 0.0, 0.0};
    cr_assert_eq(fresh__kde_fit(k, one, 4, 0.2, 0.0), FRESH_OK);
    cr_assert_float_eq(fresh__kde_bandwidths(k)[0], 0.2, 1e-15);
    s = integrate_1d(k, x, 0, 20000);
    cr_assert(fabs(s - 1.0) < 1e-9, "integral %.12f", s);
    /* density at 0 = phi(0) / h / (Phi(1/h) - 1/2): truncated at both ends */
    x[0] = 0.0;
    double expect = log(1.0 / (0.2 * sqrt(2.0 * 3.14159265358979323846)) /
                        (gsl_cdf_ugaussian_P(5.0) - 0.5));
    cr_assert_float_eq(fresh__kde_logpdf(k, x), expect, 1e-12);
    fresh__kde_destroy(k);
}

Test(kde, integrates_to_one_2d)
{
    fresh__kde *k = make_cont(2);
    double rows[] = {0.0, 0.0, 0.02, 0.97, 1.0, 1.0, 0.5, 0.4, 0.99, 0.01, 0.3, 0.05};
    cr_assert_eq(fresh__kde_fit(k, rows, 6, 1e-3, 0.0), FRESH_OK);
    size_t m = 800;
    double s = 0.0, x[2];
    for (size_t i = 0; i <= m; i++) {
        x[0] = (double)i / (double)m;
        for (size_t j = 0; j <= m; j++) {
            x[1] = (double)j / (double)m;
            s += simpson_w(i, m) * simpson_w(j, m) * exp(fresh__kde_logpdf(k, x));
        }
    }
    cr_assert(fabs(s - 1.0) < 1e-6, "integral %.10f", s);
    fresh__kde_destroy(k);
}

Test(kde, mixed_cont_cat_ord_sums_to_one)
{
    fresh__kde_dim dims[3] = {CONT, {FRESH__KDE_CAT, 3}, {FRESH__KDE_ORD, 4}};
    fresh__kde *k = make(3, dims);
    double rows[] = {0.1, 0, 0, 0.9, 2, 3, 0.0, 0, 1, 0.5, 2, 3, 1.0, 0, 2};
    cr_assert_eq(fresh__kde_fit(k, rows, 5, 1e-3, 0.0), FRESH_OK);
    double total = 0.0, x[3];
    for (int c = 0; c < 3; c++)
        for (int o = 0; o < 4; o++) {
            x[1] = c;
            x[2] = o;
            total += integrate_1d(k, x, 0, 4000);
        }
    cr_assert(fabs(total - 1.0) < 1e-8, "total %.12f", total);
    fresh__kde_destroy(k);
}

/* ---- inactive dimensions ---- */

/* Dimension 1 (CONT) is active only when dimension 0 (CAT, 2 levels) is 1.
 * The model must be a proper density over that conditional space. */
Test(kde, conditional_space_total_mass_is_one)
{
    fresh__kde_dim dims[2] = {{FRESH__KDE_CAT, 2}, CONT};
    fresh__kde *k = make(2, dims);
    double rows[] = {0, NAN, 1, 0.2, 1, 0.9, 0, NAN, 1, 0.05, 0, NAN};
    cr_assert_eq(fresh__kde_fit(k, rows, 6, 1e-3, 0.0), FRESH_OK);
    double x[2] = {0, NAN};
    double p0 = exp(fresh__kde_logpdf(k, x));
    x[0] = 1;
    double p1 = integrate_1d(k, x, 1, 20000);
    cr_assert(isfinite(p0) && p0 > 0.0);
    cr_assert(fabs(p0 + p1 - 1.0) < 1e-9, "p0 %.12f p1 %.12f", p0, p1);
    fresh__kde_destroy(k);
}

/* An inactive query value is integrated out (factor 1); a query value that
 * is active where a row is inactive gets the uniform density. */
Test(kde, inactive_query_marginalises_inactive_row_is_uniform)
{
    fresh__kde_dim dims[3] = {CONT, CONT, {FRESH__KDE_CAT, 4}};
    fresh__kde *k = make(3, dims);
    double rows[] = {0.2, 0.3, 1, 0.8, NAN, 2, 0.5, 0.6, NAN, 0.1, 0.95, 3};
    cr_assert_eq(fresh__kde_fit(k, rows, 4, 1e-3, 0.0), FRESH_OK);

    /* x1 inactive: equals the integral over x1 */
    double x[3] = {0.4, NAN, 2};
    double lp = fresh__kde_logpdf(k, x);
    double s = integrate_1d(k, x, 1, 20000);
    cr_assert(fabs(exp(lp) - s) < 1e-9 * s, "marginal %.12g vs %.12g", exp(lp), s);
    /* x2 inactive: equals the sum over the 4 levels */
    double y[3] = {0.4, 0.7, NAN};
    double sum = 0.0;
    double lpy = fresh__kde_logpdf(k, y);
    for (int c = 0; c < 4; c++) {
        y[2] = c;
        sum += exp(fresh__kde_logpdf(k, y));
    }
    cr_assert(fabs(exp(lpy) - sum) < 1e-12 * sum);
    /* every dimension inactive: density 1 (the empty product) */
    double z[3] = {NAN, NAN, NAN};
    cr_assert_float_eq(fresh__kde_logpdf(k, z), 0.0, 1e-12);

    /* a model where dimension 1 is inactive in every row: uniform there, so
     * logpdf does not depend on x1 */
    double rows2[] = {0.2, NAN, 1, 0.8, NAN, 2};
    cr_assert_eq(fresh__kde_fit(k, rows2, 2, 1e-3, 0.0), FRESH_OK);
    double a[3] = {0.3, 0.0, 1}, b[3] = {0.3, 0.77, 1}, c[3] = {0.3, NAN, 1};
    cr_assert_float_eq(fresh__kde_logpdf(k, a), fresh__kde_logpdf(k, b), 1e-14);
    cr_assert_float_eq(fresh__kde_logpdf(k, a), fresh__kde_logpdf(k, c), 1e-14);
    fresh__kde_destroy(k);
}

/* Bandwidths use only the rows where the dimension is active. */
Test(kde, inactive_rows_do_not_enter_bandwidth)
{
    fresh__kde *k = make_cont(2);
    double rows[] = {0.1, 0.1, 0.2, NAN, 0.3, 0.5, 0.4, NAN, 0.5, 0.9};
    cr_assert_eq(fresh__kde_fit(k, rows, 5, 1e-3, 0.0), FRESH_OK);
    double v[3] = {0.1, 0.5, 0.9}, mean = 0.5, ss = 0.0;
    for (int i = 0; i < 3; i++)
        ss += (v[i] - mean) * (v[i] - mean);
    double expect = 1.06 * sqrt(ss / 3.0) * pow(3.0, -1.0 / 6.0);
    cr_assert_float_eq(fresh__kde_bandwidths(k)[1], expect, 1e-14);
    fresh__kde_destroy(k);
}

/* ---- sampling matches the density ---- */

static double trunc_cdf(double x, double mu, double h)
{
    double a = gsl_cdf_ugaussian_P(-mu / h), b = gsl_cdf_ugaussian_P((1.0 - mu) / h);
    return (gsl_cdf_ugaussian_P((x - mu) / h) - a) / (b - a);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double ks_stat(fresh__kde *k, const double *rows, size_t n, double factor, gsl_rng *rng,
                      size_t N)
{
    double *s = malloc(N * sizeof *s);
    cr_assert_not_null(s);
    for (size_t i = 0; i < N; i++) {
        cr_assert_eq(fresh__kde_sample(k, rng, factor, &s[i]), FRESH_OK);
        cr_assert(s[i] >= 0.0 && s[i] <= 1.0);
    }
    qsort(s, N, sizeof *s, cmp_double);
    double h = fresh__kde_bandwidths(k)[0] * factor, D = 0.0;
    for (size_t i = 0; i < N; i++) {
        double F = 0.0;
        for (size_t r = 0; r < n; r++)
            F += trunc_cdf(s[i], rows[r], h);
        F /= (double)n;
        double d1 = fabs(F - (double)i / (double)N), d2 = fabs(F - (double)(i + 1) / (double)N);
        D = fmax(D, fmax(d1, d2));
    }
    free(s);
    return D * sqrt((double)N);
}

Test(kde, samples_follow_density_ks_1d)
{
    fresh__kde *k = make_cont(1);
    double rows[] = {0.0, 0.03, 0.4, 0.97, 1.0, 0.99};
    cr_assert_eq(fresh__kde_fit(k, rows, 6, 1e-3, 0.0), FRESH_OK);
    gsl_rng *rng = fresh_rng_stream_create(7, 1, FRESH_RNG_MODEL);
    /* 1.63 is the 1% critical value of sqrt(N) D */
    double ks1 = ks_stat(k, rows, 6, 1.0, rng, 20000);
    cr_assert_lt(ks1, 1.63, "KS %.3f (factor 1)", ks1);
    double ks3 = ks_stat(k, rows, 6, 3.0, rng, 20000);
    cr_assert_lt(ks3, 1.63, "KS %.3f (factor 3)", ks3);
    /* a tiny bandwidth at the edges: samples stay in [0, 1] and near the rows */
    double edge[] = {0.0, 1.0};
    cr_assert_eq(fresh__kde_fit(k, edge, 2, 1e-3, 0.0), FRESH_OK);
    double mean_gap = 0.0;
    for (int i = 0; i < 2000; i++) {
        double v;
        cr_assert_eq(fresh__kde_sample(k, rng, 1e-6, &v), FRESH_OK);
        cr_assert(v >= 0.0 && v <= 1.0);
        mean_gap += fmin(v, 1.0 - v);
    }
    cr_assert_lt(mean_gap / 2000.0, 1e-3);
    gsl_rng_free(rng);
    fresh__kde_destroy(k);
}

/* chi-square of n_levels counts against the model's probabilities */
static void chisq_levels(fresh__kde *k, size_t c, gsl_rng *rng)
{
    size_t N = 20000, counts[16] = {0};
    for (size_t i = 0; i < N; i++) {
        double v;
        cr_assert_eq(fresh__kde_sample(k, rng, 3.0, &v), FRESH_OK); /* factor: CONT only */
        cr_assert(v >= 0 && v < (double)c && v == floor(v));
        counts[(size_t)v]++;
    }
    double chi = 0.0, tot = 0.0;
    for (size_t l = 0; l < c; l++) {
        double x = (double)l;
        double p = exp(fresh__kde_logpdf(k, &x));
        tot += p;
        double e = p * (double)N;
        chi += ((double)counts[l] - e) * ((double)counts[l] - e) / e;
    }
    cr_assert(fabs(tot - 1.0) < 1e-12, "probabilities sum to %.15f", tot);
    double pval = gsl_cdf_chisq_Q(chi, (double)(c - 1));
    cr_assert_gt(pval, 0.001, "chi2 %.2f p %.5f", chi, pval);
}

Test(kde, samples_follow_density_cat_ord)
{
    gsl_rng *rng = fresh_rng_stream_create(11, 2, FRESH_RNG_MODEL);
    fresh__kde_dim cat = {FRESH__KDE_CAT, 5}, ord = {FRESH__KDE_ORD, 7};
    fresh__kde *kc = make(1, &cat), *ko = make(1, &ord);
    double rows[] = {0, 0, 1, 4, 4, 4, NAN, 2};
    cr_assert_eq(fresh__kde_fit(kc, rows, 8, 1e-3, 0.0), FRESH_OK);
    chisq_levels(kc, 5, rng);
    double orows[] = {0, 1, 1, 3, 6, NAN, 6};
    cr_assert_eq(fresh__kde_fit(ko, orows, 7, 1e-3, 0.0), FRESH_OK);
    chisq_levels(ko, 7, rng);
    gsl_rng_free(rng);
    fresh__kde_destroy(kc);
    fresh__kde_destroy(ko);
}

/* ---- unseen levels, one level ---- */

Test(kde, unseen_and_single_levels_stay_finite)
{
    fresh__kde_dim dims[2] = {{FRESH__KDE_CAT, 5}, {FRESH__KDE_ORD, 6}};
    fresh__kde *k = make(2, dims);
    double rows[] = {2, 3, 2, 3, 2, 3}; /* one level seen in each dimension */
    cr_assert_eq(fresh__kde_fit(k, rows, 3, 1e-3, 0.0), FRESH_OK);
    double total = 0.0;
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 6; b++) {
            double x[2] = {a, b};
            double lp = fresh__kde_logpdf(k, x);
            cr_assert(isfinite(lp), "level (%d, %d): %g", a, b, lp);
            total += exp(lp);
        }
    cr_assert(fabs(total - 1.0) < 1e-12);
    /* the seen level is the most likely */
    double seen[2] = {2, 3}, other[2] = {0, 3};
    cr_assert_gt(fresh__kde_logpdf(k, seen), fresh__kde_logpdf(k, other));
    /* single row */
    cr_assert_eq(fresh__kde_fit(k, rows, 1, 1e-3, 0.0), FRESH_OK);
    cr_assert(isfinite(fresh__kde_logpdf(k, other)));
    fresh__kde_destroy(k);

    /* a one-level categorical and ordinal: density 1 */
    fresh__kde_dim one[2] = {{FRESH__KDE_CAT, 1}, {FRESH__KDE_ORD, 1}};
    k = make(2, one);
    double z[4] = {0, 0, 0, 0};
    cr_assert_eq(fresh__kde_fit(k, z, 2, 1e-3, 0.0), FRESH_OK);
    cr_assert_float_eq(fresh__kde_logpdf(k, z), 0.0, 1e-15);
    double s[2];
    gsl_rng *rng = fresh_rng_stream_create(1, 1, FRESH_RNG_MODEL);
    cr_assert_eq(fresh__kde_sample(k, rng, 3.0, s), FRESH_OK);
    cr_assert(s[0] == 0.0 && s[1] == 0.0);
    gsl_rng_free(rng);
    fresh__kde_destroy(k);
}

/* ---- high dimension ---- */

Test(kde, forty_dimensions_finite)
{
    enum { D = 40, N = 200 };
    fresh__kde *k = make_cont(D);
    gsl_rng *rng = fresh_rng_stream_create(3, 3, FRESH_RNG_MODEL);
    static double rows[N * D];
    for (size_t i = 0; i < N * D; i++)
        rows[i] = 0.9 + 0.0001 * gsl_rng_uniform(rng); /* tight cluster: min_bw */
    cr_assert_eq(fresh__kde_fit(k, rows, N, 1e-3, 0.0), FRESH_OK);
    double x[D];
    for (int j = 0; j < D; j++)
        x[j] = 0.0; /* 900 bandwidths away in each of 40 dimensions */
    double lp = fresh__kde_logpdf(k, x);
    cr_assert(isfinite(lp) && lp < -1e6, "%g", lp);
    for (int t = 0; t < 20; t++) {
        cr_assert_eq(fresh__kde_sample(k, rng, 3.0, x), FRESH_OK);
        cr_assert(isfinite(fresh__kde_logpdf(k, x)));
    }
    for (size_t i = 0; i < N * D; i++)
        rows[i] = gsl_rng_uniform(rng);
    cr_assert_eq(fresh__kde_fit(k, rows, N, 1e-3, 0.0), FRESH_OK);
    for (int t = 0; t < 20; t++) {
        for (int j = 0; j < D; j++)
            x[j] = gsl_rng_uniform(rng);
        cr_assert(isfinite(fresh__kde_logpdf(k, x)));
    }
    gsl_rng_free(rng);
    fresh__kde_destroy(k);
}

/* ---- bandwidth rule ---- */

Test(kde, bandwidth_rule_values)
{
    fresh__kde *k = make_cont(1);
    double rows[] = {0.1, 0.2, 0.3, 0.4};
    cr_assert_eq(fresh__kde_fit(k, rows, 4, 1e-3, 0.0), FRESH_OK);
    cr_assert_eq(fresh__kde_n(k), 4);
    cr_assert_eq(fresh__kde_ndim(k), 1);
    cr_assert_float_eq(fresh__kde_bandwidths(k)[0], 1.06 * sqrt(0.0125) * pow(4.0, -0.2), 1e-14);
    /* at least min_bw */
    cr_assert_eq(fresh__kde_fit(k, rows, 4, 0.5, 0.0), FRESH_OK);
    cr_assert_float_eq(fresh__kde_bandwidths(k)[0], 0.5, 0.0);
    /* zero spread: sd_u / sqrt(m) */
    double same[] = {0.5, 0.5, 0.5, 0.5};
    cr_assert_eq(fresh__kde_fit(k, same, 4, 1e-3, 0.0), FRESH_OK);
    cr_assert_float_eq(fresh__kde_bandwidths(k)[0], 1.06 * sqrt(1.0 / 12.0) / 2.0 * pow(4.0, -0.2),
                       1e-14);
    /* one value */
    cr_assert_eq(fresh__kde_fit(k, same, 1, 1e-3, 0.0), FRESH_OK);
    cr_assert_float_eq(fresh__kde_bandwidths(k)[0], 1.06 * sqrt(1.0 / 12.0), 1e-14);
    /* no active value at all */
    double none[] = {NAN, NAN};
    cr_assert_eq(fresh__kde_fit(k, none, 2, 1e-3, 0.0), FRESH_OK);
    cr_assert(isfinite(fresh__kde_bandwidths(k)[0]));
    double x = 0.3;
    cr_assert_float_eq(fresh__kde_logpdf(k, &x), 0.0, 1e-15);
    fresh__kde_destroy(k);

    /* d enters the exponent; categorical lambda clipped to (c-1)/c */
    fresh__kde_dim dims[3] = {CONT, {FRESH__KDE_CAT, 3}, {FRESH__KDE_ORD, 50}};
    k = make(3, dims);
    double r3[] = {0.1, 0, 0, 0.3, 2, 49};
    cr_assert_eq(fresh__kde_fit(k, r3, 2, 1e-3, 0.0), FRESH_OK);
    const double *bw = fresh__kde_bandwidths(k);
    cr_assert_float_eq(bw[0], 1.06 * 0.1 * pow(2.0, -1.0 / 7.0), 1e-14);
    cr_assert_float_eq(bw[1], 2.0 / 3.0, 1e-15);
    cr_assert_float_eq(bw[2], FRESH__KDE_WR_MAX, 0.0);
    double r4[] = {0.1, 0, 0, 0.3, 1, 1};
    cr_assert_eq(fresh__kde_fit(k, r4, 2, 1e-3, 0.0), FRESH_OK);
    cr_assert_float_eq(bw[1], 1.06 * 0.5 * pow(2.0, -1.0 / 7.0), 1e-14);
    cr_assert_float_eq(bw[2], 1.06 * 0.5 * pow(2.0, -1.0 / 7.0), 1e-14);
    fresh__kde_destroy(k);
}

/* ---- buffers ---- */

Test(kde, refit_reuses_buffers_and_matches_fresh_fit)
{
    enum { D = 3 };
    fresh__kde *k = make_cont(D);
    gsl_rng *rng = fresh_rng_stream_create(5, 5, FRESH_RNG_MODEL);
    static double rows[300 * D];
    for (size_t i = 0; i < 300 * D; i++)
        rows[i] = gsl_rng_uniform(rng);
    size_t sizes[] = {300, 10, 50, 300, 1};
    for (int t = 0; t < 5; t++) {
        cr_assert_eq(fresh__kde_fit(k, rows, sizes[t], 1e-3, 0.0), FRESH_OK);
        fresh__kde *f = make_cont(D);
        cr_assert_eq(fresh__kde_fit(f, rows, sizes[t], 1e-3, 0.0), FRESH_OK);
        double x[D] = {0.3, 0.6, 0.1};
        cr_assert_eq(fresh__kde_logpdf(k, x), fresh__kde_logpdf(f, x));
        fresh__kde_destroy(f);
    }
    /* refits after the first large one allocate nothing */
    cr_assert_eq(fresh__kde_fit(k, rows, 300, 1e-3, 0.0), FRESH_OK);
    fresh__alloc_fail_after(0);
    int rc = fresh__kde_fit(k, rows, 200, 1e-3, 0.0);
    double x[D] = {0.5, 0.5, 0.5};
    double lp = fresh__kde_logpdf(k, x);
    long n_alloc = fresh__alloc_fail_after(-1);
    cr_assert_eq(rc, FRESH_OK);
    cr_assert(isfinite(lp));
    cr_assert_eq(n_alloc, 0);
    gsl_rng_free(rng);
    fresh__kde_destroy(k);
}

Test(kde, allocation_failures)
{
    fresh__kde_dim dims[2] = {CONT, {FRESH__KDE_ORD, 4}};
    int ok = 0;
    for (long c = 0; c < 50 && !ok; c++) {
        fresh__kde *k = NULL;
        fresh__alloc_fail_after(c);
        int rc = fresh__kde_create(2, dims, &k);
        fresh__alloc_fail_after(-1);
        if (rc == FRESH_OK) {
            ok = 1;
            cr_assert_not_null(k);
        } else {
            cr_assert_eq(rc, FRESH_ENOMEM);
            cr_assert_null(k);
        }
        fresh__kde_destroy(k);
    }
    cr_assert(ok);

    /* a failed growth keeps the previous fit usable */
    fresh__kde *k = make(2, dims);
    double small[] = {0.2, 1, 0.4, 2};
    cr_assert_eq(fresh__kde_fit(k, small, 2, 1e-3, 0.0), FRESH_OK);
    double x[2] = {0.3, 1};
    double before = fresh__kde_logpdf(k, x);
    static double big[1000 * 2];
    for (int i = 0; i < 1000; i++) {
        big[2 * i] = i / 1000.0;
        big[2 * i + 1] = i % 4;
    }
    for (long c = 0; c < 4; c++) {
        fresh__alloc_fail_after(c);
        int rc = fresh__kde_fit(k, big, 1000, 1e-3, 0.0);
        fresh__alloc_fail_after(-1);
        cr_assert_eq(rc, FRESH_ENOMEM, "countdown %ld", c);
        cr_assert_eq(fresh__kde_n(k), 2);
        cr_assert_eq(fresh__kde_logpdf(k, x), before);
    }
    cr_assert_eq(fresh__kde_fit(k, big, 1000, 1e-3, 0.0), FRESH_OK);
    fresh__kde_destroy(k);
}

/* ---- errors ---- */

Test(kde, create_errors)
{
    fresh__kde *k = (fresh__kde *)&k;
    fresh__kde_dim bad_cat = {FRESH__KDE_CAT, 0}, bad_kind = {(fresh__kde_kind)9, 2};
    cr_assert_eq(fresh__kde_create(0, &CONT, &k), FRESH_EINVAL);
    cr_assert_null(k);
    cr_assert_eq(fresh__kde_create(1, NULL, &k), FRESH_EINVAL);
    cr_assert_eq(fresh__kde_create(1, &CONT, NULL), FRESH_EINVAL);
    cr_assert_eq(fresh__kde_create(1, &bad_cat, &k), FRESH_EINVAL);
    cr_assert_eq(fresh__kde_create(1, &bad_kind, &k), FRESH_EINVAL);
    fresh__kde_destroy(NULL);
    cr_assert_eq(fresh__kde_n(NULL), 0);
    cr_assert_null(fresh__kde_bandwidths(NULL));
}

Test(kde, fit_logpdf_sample_errors)
{
    fresh__kde_dim dims[3] = {CONT, {FRESH__KDE_CAT, 3}, {FRESH__KDE_ORD, 4}};
    fresh__kde *k = make(3, dims);
    gsl_rng *rng = fresh_rng_stream_create(1, 1, FRESH_RNG_MODEL);
    double out[3], x[3] = {0.5, 1, 1};

    /* before any fit */
    cr_assert(isnan(fresh__kde_logpdf(k, x)));
    cr_assert_null(fresh__kde_bandwidths(k));
    cr_assert_eq(fresh__kde_sample(k, rng, 1.0, out), FRESH_ESTATE);
    cr_assert(strstr(fresh__kde_errmsg(k), "not fitted"));

    double good[] = {0.5, 1, 1, 0.2, 2, 3};
    cr_assert_eq(fresh__kde_fit(NULL, good, 2, 1e-3, 0.0), FRESH_EINVAL);
    cr_assert_eq(fresh__kde_fit(k, NULL, 2, 1e-3, 0.0), FRESH_EINVAL);
    cr_assert_eq(fresh__kde_fit(k, good, 0, 1e-3, 0.0), FRESH_EINVAL);
    cr_assert_eq(fresh__kde_fit(k, good, 2, 0.0, 0.0), FRESH_EINVAL);
    cr_assert_eq(fresh__kde_fit(k, good, 2, NAN, 0.0), FRESH_EINVAL);
    cr_assert_eq(fresh__kde_fit(k, good, 2, INFINITY, 0.0), FRESH_EINVAL);
    cr_assert(strstr(fresh__kde_errmsg(k), "min_bandwidth"));
    cr_assert_eq(fresh__kde_fit(k, good, 2, 1e-3, 0.0), FRESH_OK);
    double lp = fresh__kde_logpdf(k, x);

    double bad[][6] = {
        {1.5, 1, 1, 0.2, 2, 3},      /* CONT above 1 */
        {0.5, 1, 1, -0.1, 2, 3},     /* CONT below 0 */
        {INFINITY, 1, 1, 0.2, 2, 3}, /* infinite */
        {0.5, 3, 1, 0.2, 2, 3},      /* CAT level out of range */
        {0.5, 0.5, 1, 0.2, 2, 3},    /* CAT not an index */
        {0.5, 1, 1, 0.2, 2, -1},     /* ORD negative */
        {0.5, 1, 4, 0.2, 2, 3},      /* ORD out of range */
    };
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        cr_assert_eq(fresh__kde_fit(k, bad[t], 2, 1e-3, 0.0), FRESH_EINVAL, "case %zu", t);
        cr_assert(strstr(fresh__kde_errmsg(k), "row"), "case %zu: %s", t, fresh__kde_errmsg(k));
        /* unchanged */
        cr_assert_eq(fresh__kde_logpdf(k, x), lp);
        cr_assert_eq(fresh__kde_n(k), 2);
    }
    /* slight excursions of CONT values are clamped */
    double slack[] = {1.0 + 1e-12, 1, 1, -1e-12, 2, 3};
    cr_assert_eq(fresh__kde_fit(k, slack, 2, 1e-3, 0.0), FRESH_OK);

    /* outside the support: density 0 */
    double o1[3] = {1.2, 1, 1}, o2[3] = {0.5, 5, 1}, o3[3] = {0.5, 1, 1.5};
    cr_assert(fresh__kde_logpdf(k, o1) == -INFINITY);
    cr_assert(fresh__kde_logpdf(k, o2) == -INFINITY);
    cr_assert(fresh__kde_logpdf(k, o3) == -INFINITY);
    cr_assert(isnan(fresh__kde_logpdf(NULL, x)));
    cr_assert(isnan(fresh__kde_logpdf(k, NULL)));

    cr_assert_eq(fresh__kde_sample(NULL, rng, 1.0, out), FRESH_EINVAL);
    cr_assert_eq(fresh__kde_sample(k, NULL, 1.0, out), FRESH_EINVAL);
    cr_assert_eq(fresh__kde_sample(k, rng, 1.0, NULL), FRESH_EINVAL);
    cr_assert_eq(fresh__kde_sample(k, rng, 0.0, out), FRESH_EINVAL);
    cr_assert_eq(fresh__kde_sample(k, rng, -1.0, out), FRESH_EINVAL);
    cr_assert_eq(fresh__kde_sample(k, rng, NAN, out), FRESH_EINVAL);
    cr_assert_eq(fresh__kde_sample(k, rng, 1.0, out), FRESH_OK);
    gsl_rng_free(rng);
    fresh__kde_destroy(k);
}

Test(kde, continuous_bandwidth_floor)
{
    /* five identical points: the normal-reference bandwidth falls back to a
     * small value; the floor lifts continuous dimensions only */
    fresh__kde_dim dims[2] = {{FRESH__KDE_CONT, 0}, {FRESH__KDE_CAT, 4}};
    fresh__kde *k = NULL;
    cr_assert_eq(fresh__kde_create(2, dims, &k), FRESH_OK);
    double rows[10];
    for (int i = 0; i < 5; i++) {
        rows[2 * i] = 0.4 + 1e-4 * i;
        rows[2 * i + 1] = 1;
    }
    cr_assert_eq(fresh__kde_fit(k, rows, 5, 1e-3, 0.0), FRESH_OK);
    double bw0 = fresh__kde_bandwidths(k)[0], lam0 = fresh__kde_bandwidths(k)[1];
    cr_assert_lt(bw0, 0.01);
    cr_assert_eq(fresh__kde_fit(k, rows, 5, 1e-3, 0.2), FRESH_OK);
    cr_assert_float_eq(fresh__kde_bandwidths(k)[0], 0.2, 1e-15);
    cr_assert_float_eq(fresh__kde_bandwidths(k)[1], lam0, 1e-15, "categorical untouched");
    fresh__kde_destroy(k);
}

/* ---- the vector loops ---- */

/* log f(x) by the formulas of kde.h, one row and one dimension at a time,
 * from the fitted bandwidths: the reference for the fused loops. */
static double direct_logpdf(const fresh__kde *k, const fresh__kde_dim *dims, size_t d,
                            const double *rows, size_t n, const double *x)
{
    const double *bw = fresh__kde_bandwidths(k);
    double sum = 0.0;
    for (size_t r = 0; r < n; r++) {
        double lp = 0.0;
        for (size_t j = 0; j < d; j++) {
            double v = x[j], X = rows[r * d + j], h = bw[j];
            if (isnan(v))
                continue;
            double c = (double)dims[j].n_levels;
            if (isnan(X)) {
                lp += dims[j].kind == FRESH__KDE_CONT ? 0.0 : -log(c);
            } else if (dims[j].kind == FRESH__KDE_CONT) {
                double Z = gsl_cdf_ugaussian_P((1.0 - X) / h) - gsl_cdf_ugaussian_P(-X / h);
                double z = (v - X) / h;
                lp += -0.5 * z * z - log(h * sqrt(2.0 * 3.14159265358979323846) * Z);
            } else if (dims[j].kind == FRESH__KDE_CAT) {
                lp += v == X ? log(1.0 - h) : log(h / (c - 1.0));
            } else {
                double S = 0.0;
                for (size_t l = 0; l < dims[j].n_levels; l++)
                    S += l == (size_t)X ? 1.0 : 0.5 * pow(h, fabs((double)l - X));
                lp += log((v == X ? 1.0 : 0.5 * pow(h, fabs(v - X))) / S);
            }
        }
        sum += exp(lp);
    }
    return log(sum / (double)n);
}

Test(kde, vector_loops_agree_with_the_formulas)
{
    enum { D = 7, N = 37 }; /* N: not a multiple of the lane counts */
    const fresh__kde_dim dims[D] = {CONT, {FRESH__KDE_CAT, 3}, CONT, {FRESH__KDE_ORD, 4},
                                    CONT, {FRESH__KDE_CAT, 1}, {FRESH__KDE_CAT, 5}};
    gsl_rng *rng = fresh_rng_stream_create(9, 1, FRESH_RNG_MODEL);
    static double rows[N * D];
    for (size_t r = 0; r < N; r++)
        for (size_t j = 0; j < D; j++) {
            double u = gsl_rng_uniform(rng);
            double c = (double)dims[j].n_levels;
            rows[r * D + j] = dims[j].kind == FRESH__KDE_CONT ? u : floor(u * c);
            if (j != 5 && r % 5 == 3 && j % 2 == r % 2)
                rows[r * D + j] = NAN; /* inactive rows in most dimensions */
        }
    for (int avx2 = 0; avx2 <= 1; avx2++) {
        fresh__kde *k = make(D, dims);
        if (fresh__kde_use_avx2(k, avx2) != avx2) {
            fresh__kde_destroy(k);
            continue; /* no AVX2 on this CPU */
        }
        cr_assert_eq(fresh__kde_fit(k, rows, N, 1e-3, 0.0), FRESH_OK);
        for (int q = 0; q < 40; q++) {
            double x[D];
            for (size_t j = 0; j < D; j++) {
                double u = gsl_rng_uniform(rng);
                x[j] = dims[j].kind == FRESH__KDE_CONT ? u
                                                        : floor(u * (double)dims[j].n_levels);
            }
            if (q % 3 == 1)
                x[q % D] = NAN; /* the general path */
            double want = direct_logpdf(k, dims, D, rows, N, x);
            double got = fresh__kde_logpdf(k, x);
            cr_assert(fabs(got - want) <= 1e-11 * fmax(1.0, fabs(want)),
                      "avx2 %d, query %d: %.17g vs %.17g", avx2, q, got, want);
        }
        fresh__kde_destroy(k);
    }
    gsl_rng_free(rng);
}

/* A refitted model draws what a new model fitted on the same rows draws:
 * the per-row draw constants cached by earlier draws (of the old fit, or at
 * another bandwidth factor) are not reused after a refit or a change of
 * factor. */
Test(kde, draws_after_refit_match_a_fresh_model)
{
    enum { D = 3, N = 12 };
    const fresh__kde_dim dims[D] = {CONT, {FRESH__KDE_CAT, 3}, CONT};
    double a[N * D], b[N * D];
    for (size_t r = 0; r < N; r++) {
        a[r * D] = 0.05 + 0.07 * (double)r;
        a[r * D + 1] = (double)(r % 3);
        a[r * D + 2] = 0.9 - 0.06 * (double)r;
        b[r * D] = 0.5 + 0.03 * (double)r;
        b[r * D + 1] = (double)((r + 1) % 3);
        b[r * D + 2] = 0.1 + 0.02 * (double)r;
    }
    fresh__kde *used = make(D, dims), *fresh_k = make(D, dims);
    gsl_rng *r1 = fresh_rng_stream_create(5, 1, FRESH_RNG_MODEL);
    gsl_rng *r2 = fresh_rng_stream_create(5, 1, FRESH_RNG_MODEL);
    double x1[D], x2[D];
    cr_assert_eq(fresh__kde_fit(used, a, N, 1e-3, 0.0), FRESH_OK);
    for (int i = 0; i < 50; i++) /* fills the cache for most rows */
        cr_assert_eq(fresh__kde_sample(used, r1, 1.0, x1), FRESH_OK);
    cr_assert_eq(fresh__kde_fit(used, b, N, 1e-3, 0.0), FRESH_OK);
    cr_assert_eq(fresh__kde_fit(fresh_k, b, N, 1e-3, 0.0), FRESH_OK);
    for (int f = 0; f < 2; f++) {
        double factor = f ? 3.0 : 1.0;
        gsl_rng_set(r1, 77);
        gsl_rng_set(r2, 77);
        for (int i = 0; i < 50; i++) {
            cr_assert_eq(fresh__kde_sample(used, r1, factor, x1), FRESH_OK);
            cr_assert_eq(fresh__kde_sample(fresh_k, r2, factor, x2), FRESH_OK);
            cr_assert(memcmp(x1, x2, sizeof x1) == 0, "factor %g draw %d", factor, i);
        }
        /* a new model per factor: its cache has never seen the other one */
        fresh__kde_destroy(fresh_k);
        fresh_k = make(D, dims);
        cr_assert_eq(fresh__kde_fit(fresh_k, b, N, 1e-3, 0.0), FRESH_OK);
    }
    gsl_rng_free(r1);
    gsl_rng_free(r2);
    fresh__kde_destroy(used);
    fresh__kde_destroy(fresh_k);
}

/* fresh__kde_logpdf_screen's bound holds: |screen - logpdf| <= err for
 * queries near and far from the rows, mixed CONT and CAT dimensions, 1 to
 * 40 dimensions, bandwidths from wide down to 1e-4, a query at the edge;
 * with a cut below the density it stops early only with a true lower bound
 * above the cut;
 * err = 0 (and the exact value) where the screen does not apply (no AVX2,
 * an inactive query value, an ORD dimension, the hook off); and on AVX2 the
 * screen is used and its bound is small. */
Test(kde, screen_bound_holds)
{
    gsl_rng *rng = fresh_rng_stream_create(31, 0, FRESH_RNG_MODEL);
    const size_t dims_d[] = {1, 3, 6, 20, 40};
    const double min_bw[] = {1e-4, 1e-3, 0.05};
    const size_t ns[] = {5, 37, 256};
    size_t screened = 0, total = 0, early = 0;
    double worst = 0.0, worst_err = 0.0;
    for (size_t a = 0; a < sizeof dims_d / sizeof *dims_d; a++)
        for (size_t b = 0; b < sizeof min_bw / sizeof *min_bw; b++)
            for (size_t c = 0; c < sizeof ns / sizeof *ns; c++) {
                size_t d = dims_d[a], n = ns[c];
                fresh__kde_dim dims[40];
                for (size_t j = 0; j < d; j++)
                    dims[j] = j % 3 == 2 ? (fresh__kde_dim){FRESH__KDE_CAT, 2 + j % 4} : CONT;
                fresh__kde *k = make(d, dims);
                double *rows = malloc(n * d * sizeof *rows);
                cr_assert_not_null(rows);
                /* clustered rows (small data bandwidths) */
                for (size_t r = 0; r < n; r++)
                    for (size_t j = 0; j < d; j++)
                        rows[r * d + j] = dims[j].kind == FRESH__KDE_CONT
                                              ? 0.3 + 0.01 * gsl_rng_uniform(rng) * (double)(r % 3)
                                              : floor(gsl_rng_uniform(rng) * (double)dims[j].n_levels);
                cr_assert_eq(fresh__kde_fit(k, rows, n, min_bw[b], 0.0), FRESH_OK);
                for (int q = 0; q < 60; q++) {
                    double x[40];
                    if (q % 3 == 0) /* a draw: near the rows */
                        cr_assert_eq(fresh__kde_sample(k, rng, 1.0, x), FRESH_OK);
                    for (size_t j = 0; j < d; j++) {
                        double u = gsl_rng_uniform(rng);
                        if (q % 3 == 1) /* uniform: mostly far */
                            x[j] = dims[j].kind == FRESH__KDE_CONT
                                       ? u
                                       : floor(u * (double)dims[j].n_levels);
                        else if (q % 3 == 2 && dims[j].kind == FRESH__KDE_CONT)
                            x[j] = q % 2 ? 1.0 : 0.3 + 1e-4 * u; /* edge, or close */
                        else if (q % 3 == 2)
                            x[j] = floor(u * (double)dims[j].n_levels);
                    }
                    double err = -1.0;
                    double got = fresh__kde_logpdf_screen(k, x, INFINITY, &err);
                    double want = fresh__kde_logpdf(k, x);
                    cr_assert(err >= 0.0 && err < 1.0, "err %g", err);
                    cr_assert(fabs(got - want) <= err || (got == want),
                              "d %zu n %zu bw %g query %d: %.17g vs %.17g, err %g", d, n,
                              min_bw[b], q, got, want, err);
                    total++;
                    if (err > 0.0) {
                        screened++;
                        if (fabs(got - want) > worst)
                            worst = fabs(got - want);
                        if (err > worst_err)
                            worst_err = err;
                    }
                    /* with a cut below the density: either the estimate, or a
                     * lower bound above the cut */
                    double cut = want - (q % 2 ? 3.0 : 20.0), e2 = -1.0;
                    double v = fresh__kde_logpdf_screen(k, x, cut, &e2);
                    if (isinf(e2)) {
                        cr_assert(v > cut && v <= want, "bound %.17g, cut %g, logpdf %.17g", v,
                                  cut, want);
                        early++;
                    } else {
                        cr_assert(v == got && e2 == err);
                    }
                    /* an inactive query value: exact */
                    x[0] = NAN;
                    got = fresh__kde_logpdf_screen(k, x, INFINITY, &err);
                    cr_assert(err == 0.0 && memcmp(&got, &(double){fresh__kde_logpdf(k, x)},
                                                   sizeof got) == 0);
                }
                /* the hook off: exact */
                fresh__kde_use_screen(k, 0);
                double x[40];
                cr_assert_eq(fresh__kde_sample(k, rng, 1.0, x), FRESH_OK);
                double err = -1.0, got = fresh__kde_logpdf_screen(k, x, INFINITY, &err);
                cr_assert(err == 0.0 && got == fresh__kde_logpdf(k, x));
                free(rows);
                fresh__kde_destroy(k);
            }
    fresh__kde *probe = make_cont(1);
    int avx2 = fresh__kde_use_avx2(probe, 1);
    fresh__kde_destroy(probe);
    if (avx2) {
        cr_assert_gt(screened, total / 2, "screened %zu of %zu", screened, total);
        cr_assert_gt(early, total / 10, "stopped early %zu of %zu", early, total);
        cr_log_info("screen: %zu of %zu queries, worst error %.3g, largest bound %.3g", screened,
                    total, worst, worst_err);
    } else {
        cr_assert_eq(screened, 0);
        cr_assert_eq(early, 0);
    }
    /* an ORD dimension: never screened */
    const fresh__kde_dim od[2] = {CONT, {FRESH__KDE_ORD, 4}};
    fresh__kde *k = make(2, od);
    double rows[6] = {0.1, 0, 0.5, 1, 0.9, 3}, x[2] = {0.4, 2}, err = -1.0;
    cr_assert_eq(fresh__kde_fit(k, rows, 3, 1e-3, 0.0), FRESH_OK);
    double got = fresh__kde_logpdf_screen(k, x, INFINITY, &err);
    cr_assert(err == 0.0 && got == fresh__kde_logpdf(k, x));
    fresh__kde_destroy(k);
    gsl_rng_free(rng);
}
