/* The GP model (gp/gp.c): posterior mean and variance and the marginal
 * likelihood on a tiny data set against hand-computed values, the gradient
 * of the log posterior against finite differences, prediction gradients,
 * many-point predictions, the categorical and inactive distances, the MAP
 * fit, and log EI against its closed form. Fixed data throughout. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "fresh/status.h"
#include "gp.h"

#define LOG_2PI 1.8378770664093453

static double matern52(double r) { return (1 + sqrt(5) * r + 5 * r * r / 3) * exp(-sqrt(5) * r); }

static fresh__gp *make(size_t d, const unsigned char *is_cat, double l, double sf2, double sn2)
{
    fresh__gp *gp = NULL;
    cr_assert_eq(fresh__gp_create(d, is_cat, &gp), FRESH_OK);
    double th[16];
    for (size_t j = 0; j < d; j++)
        th[j] = log(l);
    th[d] = log(sf2);
    th[d + 1] = log(sn2);
    cr_assert_eq(fresh__gp_set_theta(gp, th), FRESH_OK);
    return gp;
}

/* Two points in 1-D, l = 0.5, sf2 = 1, sn2 = 0.01: the 2x2 system by hand. */
Test(gp, posterior_two_points_by_hand)
{
    fresh__gp *gp = make(1, NULL, 0.5, 1.0, 0.01);
    double X[2] = {0.0, 0.5}, y[2] = {1.0, -1.0};
    cr_assert_eq(fresh__gp_set_data(gp, X, y, 2), FRESH_OK);
    /* K = [[a, b], [b, a]], a = 1.01, b = k(r = 1); k* = (k(0.2), k(0.8)) */
    double a = 1.01, b = matern52(1.0), k1 = matern52(0.2), k2 = matern52(0.8);
    double det = a * a - b * b;
    double al1 = (a * y[0] - b * y[1]) / det, al2 = (-b * y[0] + a * y[1]) / det;
    double mean_hand = k1 * al1 + k2 * al2;
    double var_hand = 1.0 - (a * k1 * k1 - 2 * b * k1 * k2 + a * k2 * k2) / det;
    double xs = 0.1, mean, var;
    fresh__gp_predict(gp, &xs, &mean, &var, NULL, NULL);
    cr_assert_float_eq(mean, mean_hand, 1e-12, "mean %.15g vs %.15g", mean, mean_hand);
    cr_assert_float_eq(var, var_hand, 1e-12, "var %.15g vs %.15g", var, var_hand);
    /* the same values computed independently (numpy, np.linalg.solve) */
    cr_assert_float_eq(mean, 0.665691094242036, 1e-12);
    cr_assert_float_eq(var, 0.04486323596511599, 1e-12);
    /* marginal likelihood: 1/2 y^T K^-1 y + 1/2 log det K + log 2 pi */
    double nll_hand = 0.5 * (y[0] * al1 + y[1] * al2) + 0.5 * log(det) + LOG_2PI;
    const double *th = fresh__gp_theta(gp);
    cr_assert_float_eq(fresh__gp_neg_log_lik(gp, th), nll_hand, 1e-12);
    cr_assert_float_eq(nll_hand, 3.748635458139025, 1e-12);
    /* at a data point the variance is about the noise, far away the prior */
    double x0 = 0.0;
    fresh__gp_predict(gp, &x0, &mean, &var, NULL, NULL);
    cr_assert(var < 0.01 && mean > 0.9, "at a data point: mean %g var %g", mean, var);
    double far = 50.0;
    fresh__gp_predict(gp, &far, &mean, &var, NULL, NULL);
    cr_assert_float_eq(var, 1.0, 1e-9);
    cr_assert_float_eq(mean, 0.0, 1e-9);
    fresh__gp_destroy(gp);
}

/* A mixed data set: 2 continuous dimensions, 1 categorical, NaN (inactive)
 * in places. */
#define MIX_N 9
static const double MIX_X[MIX_N * 3] = {
    0.1, 0.2, 0, 0.8, 0.3, 1, 0.5, NAN, 2, 0.9, 0.9, 0,  0.3, 0.7, 1,
    0.2, NAN, 2, 0.6, 0.1, 0, 0.4, 0.4, 1, 0.7, 0.6, 2,
};
static const double MIX_Y[MIX_N] = {0.3, -1.2, 0.5, 1.1, -0.4, 0.0, 0.9, -0.7, 0.2};
static const unsigned char MIX_CAT[3] = {0, 0, 1};

Test(gp, log_posterior_gradient_matches_finite_differences)
{
    fresh__gp *gp = make(3, MIX_CAT, 0.4, 1.3, 0.05);
    cr_assert_eq(fresh__gp_set_data(gp, MIX_X, MIX_Y, MIX_N), FRESH_OK);
    const double thetas[3][5] = {
        {log(0.4), log(0.7), log(1.5), log(1.3), log(0.05)},
        {log(0.1), log(2.0), log(0.3), log(0.5), log(0.2)},
        {log(1.0), log(0.2), log(0.8), log(2.0), log(1e-3)},
    };
    for (int t = 0; t < 3; t++) {
        double g[5], th[5];
        double f = fresh__gp_neg_log_post(gp, thetas[t], g);
        cr_assert(isfinite(f));
        for (int i = 0; i < 5; i++) {
            const double h = 1e-5;
            memcpy(th, thetas[t], sizeof th);
            th[i] += h;
            double fp = fresh__gp_neg_log_post(gp, th, NULL);
            th[i] -= 2 * h;
            double fm = fresh__gp_neg_log_post(gp, th, NULL);
            double fd = (fp - fm) / (2 * h);
            cr_assert(fabs(fd - g[i]) <= 1e-5 * fmax(1.0, fabs(fd)),
                      "theta set %d, component %d: analytic %.10g, finite differences %.10g", t,
                      i, g[i], fd);
        }
    }
    fresh__gp_destroy(gp);
}

Test(gp, prediction_gradients_and_batches)
{
    fresh__gp *gp = make(3, MIX_CAT, 0.4, 1.3, 0.05);
    cr_assert_eq(fresh__gp_set_data(gp, MIX_X, MIX_Y, MIX_N), FRESH_OK);
    double x[3] = {0.35, 0.55, 1}, m, v, dm[3], dv[3];
    fresh__gp_predict(gp, x, &m, &v, dm, dv);
    for (int j = 0; j < 2; j++) {
        const double h = 1e-6;
        double xp[3], xm[3], mp, vp, mm, vm;
        memcpy(xp, x, sizeof x);
        memcpy(xm, x, sizeof x);
        xp[j] += h;
        xm[j] -= h;
        fresh__gp_predict(gp, xp, &mp, &vp, NULL, NULL);
        fresh__gp_predict(gp, xm, &mm, &vm, NULL, NULL);
        cr_assert_float_eq(dm[j], (mp - mm) / (2 * h), 1e-6, "dmean[%d]", j);
        cr_assert_float_eq(dv[j], (vp - vm) / (2 * h), 1e-6, "dvar[%d]", j);
    }
    cr_assert_eq(dm[2], 0.0); /* categorical */
    /* many at once = one at a time */
    double many[4 * 3] = {0.1, 0.1, 0, 0.5, NAN, 2, 0.9, 0.2, 1, 0.35, 0.55, 1};
    double mean[4], var[4];
    cr_assert_eq(fresh__gp_predict_many(gp, many, 4, mean, var), FRESH_OK);
    for (int i = 0; i < 4; i++) {
        fresh__gp_predict(gp, many + 3 * i, &m, &v, NULL, NULL);
        cr_assert_float_eq(mean[i], m, 1e-12);
        cr_assert_float_eq(var[i], v, 1e-12);
    }
    fresh__gp_destroy(gp);
}

/* Hamming distance for a categorical: the levels' order does not matter,
 * and two different levels are at distance 1 / l. */
Test(gp, categorical_distance_is_hamming)
{
    unsigned char cat = 1;
    fresh__gp *gp = make(1, &cat, 0.5, 1.0, 0.01);
    double X[1] = {0.0}, y[1] = {1.0};
    cr_assert_eq(fresh__gp_set_data(gp, X, y, 1), FRESH_OK);
    double m1, v1, m2, v2, m0, v0, x1 = 1.0, x2 = 4.0, x0 = 0.0;
    fresh__gp_predict(gp, &x1, &m1, &v1, NULL, NULL);
    fresh__gp_predict(gp, &x2, &m2, &v2, NULL, NULL);
    fresh__gp_predict(gp, &x0, &m0, &v0, NULL, NULL);
    cr_assert_eq(m1, m2);
    cr_assert_eq(v1, v2);
    double k = matern52(1.0 / 0.5); /* r = 1 / l */
    cr_assert_float_eq(m1, k * 1.0 / 1.01, 1e-12);
    cr_assert_float_eq(m0, 1.0 / 1.01, 1e-12);
    fresh__gp_destroy(gp);
}

/* An inactive value (NaN) is a level of its own: at distance 0 from another
 * inactive value, and at the same distance 1 from every active value, so no
 * default value enters the model. */
Test(gp, inactive_dimension_is_its_own_level)
{
    fresh__gp *gp = make(2, NULL, 0.5, 1.0, 0.01);
    double X[2] = {0.3, NAN}, y[1] = {1.0};
    cr_assert_eq(fresh__gp_set_data(gp, X, y, 1), FRESH_OK);
    double q_in[2] = {0.3, NAN}, q_a[2] = {0.3, 0.0}, q_b[2] = {0.3, 0.77};
    double m_in, v_in, m_a, v_a, m_b, v_b;
    fresh__gp_predict(gp, q_in, &m_in, &v_in, NULL, NULL);
    fresh__gp_predict(gp, q_a, &m_a, &v_a, NULL, NULL);
    fresh__gp_predict(gp, q_b, &m_b, &v_b, NULL, NULL);
    cr_assert_float_eq(m_in, 1.0 / 1.01, 1e-12);
    cr_assert_float_eq(m_a, matern52(2.0) / 1.01, 1e-12);
    cr_assert_eq(m_a, m_b);
    cr_assert_eq(v_a, v_b);
    fresh__gp_destroy(gp);
}

/* MAP fit: on a smooth 1-D function the log posterior decreases, theta stays
 * in its box, the noise found is small and the fit interpolates. */
Test(gp, map_fit_improves_the_posterior)
{
    fresh__gp *gp = make(1, NULL, 5.0, 0.2, 0.5);
    double X[12], y[12];
    for (int i = 0; i < 12; i++) {
        X[i] = i / 11.0;
        y[i] = sin(6.0 * X[i]);
    }
    cr_assert_eq(fresh__gp_set_data(gp, X, y, 12), FRESH_OK);
    double before = fresh__gp_neg_log_post(gp, fresh__gp_theta(gp), NULL);
    cr_assert_eq(fresh__gp_fit(gp, 100), FRESH_OK);
    const double *th = fresh__gp_theta(gp);
    double after = fresh__gp_neg_log_post(gp, th, NULL);
    cr_assert(after < before - 1.0, "log posterior %g -> %g", before, after);
    cr_assert(th[0] >= FRESH__GP_LOG_L_MIN && th[0] <= FRESH__GP_LOG_L_MAX);
    cr_assert(exp(th[2]) < 0.05, "noise variance %g", exp(th[2]));
    double xq = 0.5 / 11.0, m, v;
    fresh__gp_predict(gp, &xq, &m, &v, NULL, NULL);
    cr_assert_float_eq(m, sin(6.0 * xq), 0.05, "mean %g vs %g", m, sin(6.0 * xq));
    fresh__gp_destroy(gp);
}

Test(gp, bad_input)
{
    fresh__gp *gp = NULL;
    cr_assert_eq(fresh__gp_create(0, NULL, &gp), FRESH_EINVAL);
    cr_assert_eq(fresh__gp_create(1, NULL, &gp), FRESH_OK);
    double X[1] = {0.5}, y[1] = {NAN};
    cr_assert_eq(fresh__gp_set_data(gp, X, y, 1), FRESH_EINVAL);
    double th[3] = {NAN, 100.0, -100.0};
    cr_assert_eq(fresh__gp_set_theta(gp, th), FRESH_OK); /* clamped into the box */
    cr_assert_eq(fresh__gp_theta(gp)[0], FRESH__GP_LOG_L_MIN);
    cr_assert_eq(fresh__gp_theta(gp)[1], FRESH__GP_LOG_SF2_MAX);
    cr_assert_eq(fresh__gp_theta(gp)[2], FRESH__GP_LOG_SN2_MIN);
    fresh__gp_destroy(gp);
    fresh__gp_destroy(NULL);
}

/* log EI against EI = (best - mu) Phi(z) + sigma phi(z). */
Test(gp, log_ei_closed_form)
{
    const double sigmas[3] = {0.1, 1.0, 3.0};
    for (int si = 0; si < 3; si++) {
        for (double z = -8.0; z <= 5.0; z += 0.25) {
            double s = sigmas[si], best = 0.7, mu = best - z * s;
            double ei = (best - mu) * gsl_cdf_ugaussian_P(z) + s * exp(-0.5 * z * z) / sqrt(2 * 3.141592653589793);
            double lei = fresh__gp_log_ei(mu, s, best, NULL, NULL);
            cr_assert_float_eq(lei, log(ei), 1e-8 * fmax(1.0, fabs(log(ei))),
                               "z %g sigma %g: %.15g vs %.15g", z, s, lei, log(ei));
        }
    }
    /* continuous across the branches (z = -1, z = -30) */
    for (int b = 0; b < 2; b++) {
        double zb = b ? -30.0 : -1.0;
        double lo = fresh__gp_log_ei(-(zb - 1e-9), 1.0, 0.0, NULL, NULL);
        double hi = fresh__gp_log_ei(-(zb + 1e-9), 1.0, 0.0, NULL, NULL);
        cr_assert(fabs(lo - hi) < 1e-6 * fabs(hi), "at z = %g: %.15g vs %.15g", zb, lo, hi);
    }
    /* far in the tail: log phi(z) - 2 log|z| + O(1/z^2), finite */
    for (double z = -40.0; z >= -1e4; z *= 5.0) {
        double lei = fresh__gp_log_ei(-z, 1.0, 0.0, NULL, NULL);
        double asym = -0.5 * z * z - 0.5 * LOG_2PI - 2.0 * log(-z);
        cr_assert(isfinite(lei) && fabs(lei - asym) < 4.0 / (z * z), "z %g: %g vs %g", z, lei, asym);
    }
    /* the derivatives against finite differences */
    const double mus[4] = {0.0, 1.0, 3.0, 12.0};
    for (int i = 0; i < 4; i++) {
        double dmu, dsig, h = 1e-6, mu = mus[i], s = 0.8;
        fresh__gp_log_ei(mu, s, 0.2, &dmu, &dsig);
        double fd_mu = (fresh__gp_log_ei(mu + h, s, 0.2, NULL, NULL) -
                        fresh__gp_log_ei(mu - h, s, 0.2, NULL, NULL)) / (2 * h);
        double fd_s = (fresh__gp_log_ei(mu, s + h, 0.2, NULL, NULL) -
                       fresh__gp_log_ei(mu, s - h, 0.2, NULL, NULL)) / (2 * h);
        cr_assert_float_eq(dmu, fd_mu, 1e-5 * fmax(1.0, fabs(fd_mu)), "mu %g", mu);
        cr_assert_float_eq(dsig, fd_s, 1e-5 * fmax(1.0, fabs(fd_s)), "mu %g", mu);
    }
}

/* ---- the incremental factor (fresh__gp_set_data keeps the factor's rows
 * of an unchanged prefix) against a factorization from scratch ---- */

#define INC_N 60
#define INC_D 3

/* Fixed pseudo-random rows: 2 continuous dimensions (NaN now and then), 1
 * categorical of 3 levels; y a smooth function of them. */
static void inc_data(double *X, double *y)
{
    unsigned long s = 12345;
    for (size_t i = 0; i < INC_N; i++) {
        double *r = X + i * INC_D;
        for (size_t j = 0; j < INC_D; j++) {
            s = s * 6364136223846793005UL + 1442695040888963407UL;
            double u = (double)(s >> 11) / 9007199254740992.0;
            r[j] = j == 2 ? floor(u * 3.0) : u;
        }
        if (i % 7 == 3)
            r[1] = NAN;
        y[i] = sin(6.0 * r[0]) + (isnan(r[1]) ? 0.5 : r[1] * r[1]) - 0.3 * r[2];
    }
}

/* Predictions of a and b (one point at a time with gradients, and many at
 * once) are the same, bit for bit, at fixed query points. */
static void same_predictions(fresh__gp *a, fresh__gp *b, const char *what)
{
    double q[12 * INC_D];
    for (size_t i = 0; i < 12; i++) {
        q[i * INC_D] = (double)i / 11.0;
        q[i * INC_D + 1] = i % 5 == 2 ? NAN : 1.0 - (double)i / 13.0;
        q[i * INC_D + 2] = (double)(i % 3);
    }
    double ma[12], va[12], mb[12], vb[12];
    cr_assert_eq(fresh__gp_predict_many(a, q, 12, ma, va), FRESH_OK);
    cr_assert_eq(fresh__gp_predict_many(b, q, 12, mb, vb), FRESH_OK);
    cr_assert(memcmp(ma, mb, sizeof ma) == 0 && memcmp(va, vb, sizeof va) == 0,
              "%s: many-point predictions differ", what);
    for (size_t i = 0; i < 12; i++) {
        double m1, v1, m2, v2, dm1[INC_D], dv1[INC_D], dm2[INC_D], dv2[INC_D];
        fresh__gp_predict(a, q + i * INC_D, &m1, &v1, dm1, dv1);
        fresh__gp_predict(b, q + i * INC_D, &m2, &v2, dm2, dv2);
        cr_assert(memcmp(&m1, &m2, sizeof m1) == 0 && memcmp(&v1, &v2, sizeof v1) == 0,
                  "%s: point %zu: mean %.17g vs %.17g, var %.17g vs %.17g", what, i, m1, m2, v1,
                  v2);
        cr_assert(memcmp(dm1, dm2, sizeof dm1) == 0 && memcmp(dv1, dv2, sizeof dv1) == 0,
                  "%s: point %zu: gradients differ", what, i);
    }
}

/* A model given (X, y, n) from scratch, with theta th. */
static fresh__gp *scratch(const double *th, const double *X, const double *y, size_t n)
{
    fresh__gp *gp = NULL;
    unsigned char cat[INC_D] = {0, 0, 1};
    cr_assert_eq(fresh__gp_create(INC_D, cat, &gp), FRESH_OK);
    cr_assert_eq(fresh__gp_set_theta(gp, th), FRESH_OK);
    cr_assert_eq(fresh__gp_set_data(gp, X, y, n), FRESH_OK);
    cr_assert_eq(fresh__gp_rows_reused(gp), 0);
    return gp;
}

Test(gp, incremental_factor_equals_full_factorization)
{
    double X[INC_N * INC_D], y[INC_N], y2[INC_N];
    inc_data(X, y);
    for (size_t i = 0; i < INC_N; i++)
        y2[i] = 0.7 * y[i] - 0.1; /* a new standardization: alpha changes, L does not */
    const double th[INC_D + 2] = {-1.2, -0.9, 0.1, 0.2, -3.0};
    fresh__gp *gp = scratch(th, X, y, 10);

    /* rows appended (and the buffers grown from 16 to 64 rows) */
    cr_assert_eq(fresh__gp_set_data(gp, X, y2, 40), FRESH_OK);
    cr_assert_eq(fresh__gp_rows_reused(gp), 10);
    fresh__gp *ref = scratch(th, X, y2, 40);
    same_predictions(gp, ref, "10 + 30 rows");
    fresh__gp_destroy(ref);

    /* a row in the middle changed: the factor is kept up to it */
    double Xc[INC_N * INC_D];
    memcpy(Xc, X, sizeof Xc);
    Xc[25 * INC_D] += 0.125;
    cr_assert_eq(fresh__gp_set_data(gp, Xc, y2, 45), FRESH_OK);
    cr_assert_eq(fresh__gp_rows_reused(gp), 25);
    ref = scratch(th, Xc, y2, 45);
    same_predictions(gp, ref, "row 25 changed");
    fresh__gp_destroy(ref);

    /* fewer rows (the sampler's fantasies removed): nothing to factor */
    cr_assert_eq(fresh__gp_set_data(gp, Xc, y, 30), FRESH_OK);
    cr_assert_eq(fresh__gp_rows_reused(gp), 30);
    ref = scratch(th, Xc, y, 30);
    same_predictions(gp, ref, "truncated to 30 rows");
    fresh__gp_destroy(ref);

    /* the same theta keeps the factor; another theta refactors it all */
    cr_assert_eq(fresh__gp_set_theta(gp, th), FRESH_OK);
    cr_assert_eq(fresh__gp_rows_reused(gp), 30);
    double th2[INC_D + 2];
    memcpy(th2, th, sizeof th2);
    th2[1] = -0.5;
    cr_assert_eq(fresh__gp_set_theta(gp, th2), FRESH_OK);
    cr_assert_eq(fresh__gp_rows_reused(gp), 0);
    cr_assert_eq(fresh__gp_set_data(gp, X, y, INC_N), FRESH_OK);
    cr_assert_eq(fresh__gp_rows_reused(gp), 25); /* Xc and X differ at row 25 */
    ref = scratch(th2, X, y, INC_N);
    same_predictions(gp, ref, "new theta, then all 60 rows");
    fresh__gp_destroy(ref);

    /* a fit changes theta: the factor is recomputed, the same as from scratch */
    cr_assert_eq(fresh__gp_fit(gp, 5), FRESH_OK);
    cr_assert_eq(fresh__gp_rows_reused(gp), 0);
    ref = scratch(fresh__gp_theta(gp), X, y, INC_N);
    same_predictions(gp, ref, "after a fit");
    fresh__gp_destroy(ref);
    fresh__gp_destroy(gp);
}

/* The four-lane (AVX2) path of the triangular solves and of predict_many
 * against the two-lane one: the same operations lane by lane, so the same
 * bits (59 rows: the solves' four-row blocks and a tail; 37 candidates:
 * two blocks of 16 and a short one). */
Test(gp, avx2_path_is_bit_identical)
{
    double X[INC_N * INC_D], y[INC_N];
    inc_data(X, y);
    const double th[INC_D + 2] = {-1.2, -0.9, 0.1, 0.2, -3.0};
    fresh__gp *a = scratch(th, X, y, 0), *b = scratch(th, X, y, 0);
    if (!fresh__gp_use_avx2(b, 1)) {
        fresh__gp_destroy(a);
        fresh__gp_destroy(b);
        cr_skip_test("no AVX2 on this CPU (or not an x86-64 GCC build)");
    }
    cr_assert_eq(fresh__gp_use_avx2(a, 0), 0);
    cr_assert_eq(fresh__gp_set_data(a, X, y, 59), FRESH_OK);
    cr_assert_eq(fresh__gp_set_data(b, X, y, 59), FRESH_OK);
    same_predictions(a, b, "sse2 vs avx2");
    double q[37 * INC_D], ma[37], va[37], mb[37], vb[37];
    for (size_t i = 0; i < 37 * INC_D; i++)
        q[i] = i % INC_D == 2 ? (double)(i % 3) : i % 11 == 5 ? NAN : fmod(0.37 * (double)i, 1.0);
    cr_assert_eq(fresh__gp_predict_many(a, q, 37, ma, va), FRESH_OK);
    cr_assert_eq(fresh__gp_predict_many(b, q, 37, mb, vb), FRESH_OK);
    cr_assert(memcmp(ma, mb, sizeof ma) == 0 && memcmp(va, vb, sizeof va) == 0);
    /* and the fit (the solves inside the objective) */
    cr_assert_eq(fresh__gp_fit(a, 10), FRESH_OK);
    cr_assert_eq(fresh__gp_fit(b, 10), FRESH_OK);
    cr_assert(memcmp(fresh__gp_theta(a), fresh__gp_theta(b), (INC_D + 2) * sizeof(double)) == 0);
    same_predictions(a, b, "sse2 vs avx2 after a fit");
    fresh__gp_destroy(a);
    fresh__gp_destroy(b);
}

/* predict_many in two steps (means, then the variances of any subset in
 * any order) and predict in two steps give predict_many's and predict's
 * values bit for bit; the nearest-row bound is above every variance. */
Test(gp, two_step_predictions_and_the_nearest_row_bound)
{
    double X[INC_N * INC_D], y[INC_N];
    inc_data(X, y);
    const double th[INC_D + 2] = {-1.2, -0.9, 0.1, 0.2, -3.0};
    fresh__gp *gp = scratch(th, X, y, 50);
    double q[37 * INC_D], m[37], v[37], m2[37], v2[37], hi[37];
    for (size_t i = 0; i < 37 * INC_D; i++)
        q[i] = i % INC_D == 2 ? (double)(i % 3) : i % 13 == 4 ? NAN : fmod(0.29 * (double)i, 1.0);
    memcpy(q, X + 7 * INC_D, INC_D * sizeof *q); /* on a training row: a tight bound */
    cr_assert_eq(fresh__gp_predict_many(gp, q, 37, m, v), FRESH_OK);
    cr_assert_eq(fresh__gp_mean_many(gp, q, 37, m2, hi), FRESH_OK);
    cr_assert(memcmp(m, m2, sizeof m) == 0);
    size_t idx[37];
    for (size_t j = 0; j < 37; j++)
        idx[j] = (j * 10) % 37; /* a permutation */
    for (size_t i = 0; i < 37; i++)
        v2[i] = -1.0;
    fresh__gp_var_some(gp, idx, 20, v2);
    fresh__gp_var_some(gp, idx + 20, 17, v2);
    for (size_t i = 0; i < 37; i++) {
        cr_assert(memcmp(&v[i], &v2[i], sizeof v[i]) == 0, "point %zu: %.17g vs %.17g", i, v[i], v2[i]);
        cr_assert(hi[i] >= v[i], "point %zu: bound %.17g below the variance %.17g", i, hi[i], v[i]);
        double m1, v1, h1;
        fresh__gp_predict_mean(gp, q + i * INC_D, &m1, &h1);
        v1 = fresh__gp_predict_var(gp);
        cr_assert(m1 == m[i] && h1 == hi[i], "point %zu", i);
        double m3, v3;
        fresh__gp_predict(gp, q + i * INC_D, &m3, &v3, NULL, NULL);
        cr_assert(m1 == m3 && v1 == v3, "point %zu: two-step predict differs", i);
    }
    cr_assert(hi[0] < 0.2 * exp(th[INC_D]), "bound on a training row %g", hi[0]);
    fresh__gp_destroy(gp);
}
