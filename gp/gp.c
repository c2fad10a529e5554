/*
 * gp.c - Gaussian-process regression with a Matern 5/2 ARD kernel on the
 * unit encoding (Hamming distance for categoricals, inactive values as a
 * level of their own), MAP hyperparameters by GSL's BFGS, and log Expected
 * Improvement. gp.h is the specification.
 *
 * DESIGN. The data (n rows) live in buffers of capacity cap; the Cholesky
 * factor L of K = Kf + sn2 I (lower triangle, leading dimension cap) and
 * alpha = K^-1 y are kept for the current theta, so that a prediction is
 * O(n d + n^2) and m predictions one dtrsm. Fitting theta evaluates
 * -log p(y|X,theta) - log p(theta) and its gradient (R&W eq. 5.9:
 * d/dtheta_i = -1/2 tr((alpha alpha^T - K^-1) dK/dtheta_i)) in scratch
 * buffers, each evaluation O(n^3) (Cholesky and inverse) + O(n^2 d)
 * (the d length-scale derivatives), so the sampler caps n.
 *
 * With r^2 = sum_j s_j / l_j^2 and e = exp(-sqrt5 r):
 *     k          = sf2 (1 + sqrt5 r + 5 r^2/3) e
 *     dk/dr      = -(5/3) sf2 r (1 + sqrt5 r) e
 *     dk/dlog l_j = (5/3) sf2 (1 + sqrt5 r) e s_j / l_j^2
 *     dk/da_j    = -(5/3) sf2 (1 + sqrt5 r) e (a_j - b_j) / l_j^2  (continuous j)
 * none of which divides by r, so coincident points need no special case.
 */
#include "gp.h"

#include <math.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_sf_erf.h>

#include "fresh/status.h"
#include "internal.h"

#define SQRT5 2.23606797749979
#define LOG_2PI 1.8378770664093453

struct fresh__gp {
    size_t d;
    unsigned char *is_cat; /* d */
    double *theta;         /* d + 2, clamped */
    size_t n, cap;
    double *X, *y;         /* cap x d, cap */
    double *L, *alpha;     /* cap x cap (lower), cap: for theta */
    int factored;          /* L and alpha hold the factor of the current data and theta */
    /* scratch */
    double *K2, *alpha2;   /* cap x cap, cap: for neg_log_post */
    double *kv, *beta;     /* cap each: predict */
    double *inv_l2;        /* d: 1 / l_j^2 of theta */
    double *il_s, *th_s, *g_s; /* d, d + 2, d + 2: the objective's scratch */
    double *ks;            /* many-point predictions: ks_cap doubles */
    size_t ks_cap;
};

/* ---- the box and the priors ---- */

static void theta_box(const fresh__gp *gp, size_t i, double *lo, double *hi)
{
    if (i < gp->d) {
        *lo = FRESH__GP_LOG_L_MIN;
        *hi = FRESH__GP_LOG_L_MAX;
    } else if (i == gp->d) {
        *lo = FRESH__GP_LOG_SF2_MIN;
        *hi = FRESH__GP_LOG_SF2_MAX;
    } else {
        *lo = FRESH__GP_LOG_SN2_MIN;
        *hi = FRESH__GP_LOG_SN2_MAX;
    }
}

static void theta_prior(const fresh__gp *gp, size_t i, double *mean, double *sd)
{
    if (i < gp->d) {
        *mean = FRESH__GP_PRIOR_LOG_L;
        *sd = FRESH__GP_PRIOR_LOG_L_SD;
    } else if (i == gp->d) {
        *mean = FRESH__GP_PRIOR_LOG_SF2;
        *sd = FRESH__GP_PRIOR_LOG_SF2_SD;
    } else {
        *mean = FRESH__GP_PRIOR_LOG_SN2;
        *sd = FRESH__GP_PRIOR_LOG_SN2_SD;
    }
}

/* ---- create / destroy ---- */

static double **buffers(fresh__gp *gp, size_t i, size_t c, size_t *count);

void fresh__gp_destroy(fresh__gp *gp)
{
    if (!gp)
        return;
    fresh__free(gp->is_cat);
    fresh__free(gp->theta);
    size_t count;
    for (size_t i = 0; i < 8; i++)
        fresh__free(*buffers(gp, i, 0, &count));
    fresh__free(gp->inv_l2);
    fresh__free(gp->il_s);
    fresh__free(gp->th_s);
    fresh__free(gp->g_s);
    fresh__free(gp->ks);
    fresh__free(gp);
}

int fresh__gp_create(size_t d, const unsigned char *is_cat, fresh__gp **out)
{
    if (!out)
        return FRESH_EINVAL;
    *out = NULL;
    if (d == 0)
        return FRESH_EINVAL;
    fresh__gp *gp = fresh__calloc(1, sizeof *gp);
    if (!gp)
        return FRESH_ENOMEM;
    gp->d = d;
    gp->is_cat = fresh__calloc(d, 1);
    gp->theta = fresh__malloc((d + 2) * sizeof(double));
    gp->inv_l2 = fresh__malloc(d * sizeof(double));
    gp->il_s = fresh__malloc(d * sizeof(double));
    gp->th_s = fresh__malloc((d + 2) * sizeof(double));
    gp->g_s = fresh__malloc((d + 2) * sizeof(double));
    if (!gp->is_cat || !gp->theta || !gp->inv_l2 || !gp->il_s || !gp->th_s || !gp->g_s) {
        fresh__gp_destroy(gp);
        return FRESH_ENOMEM;
    }
    if (is_cat)
        memcpy(gp->is_cat, is_cat, d);
    for (size_t i = 0; i < d + 2; i++) {
        double sd;
        theta_prior(gp, i, &gp->theta[i], &sd);
    }
    fresh_init(); /* GSL's abort-on-error handler off */
    *out = gp;
    return FRESH_OK;
}

size_t fresh__gp_n_theta(const fresh__gp *gp) { return gp->d + 2; }
const double *fresh__gp_theta(const fresh__gp *gp) { return gp->theta; }
size_t fresh__gp_n(const fresh__gp *gp) { return gp->n; }

/* The buffers that grow with the data: element counts per capacity c. */
static double **buffers(fresh__gp *gp, size_t i, size_t c, size_t *count)
{
    double **all[8] = {&gp->X, &gp->y, &gp->L, &gp->alpha, &gp->K2, &gp->alpha2, &gp->kv, &gp->beta};
    size_t counts[8] = {c * gp->d, c, c * c, c, c * c, c, c, c};
    *count = counts[i];
    return all[i];
}

static int reserve(fresh__gp *gp, size_t n)
{
    if (n <= gp->cap)
        return FRESH_OK;
    size_t cap = gp->cap ? gp->cap : 16;
    while (cap < n)
        cap *= 2;
    double *fresh_buf[8] = {NULL};
    size_t count;
    for (size_t i = 0; i < 8; i++) {
        buffers(gp, i, cap, &count);
        if (!(fresh_buf[i] = fresh__malloc(count * sizeof(double)))) {
            for (size_t k = 0; k < i; k++)
                fresh__free(fresh_buf[k]);
            return FRESH_ENOMEM;
        }
    }
    if (gp->n) { /* the data move; the factors are recomputed */
        memcpy(fresh_buf[0], gp->X, gp->n * gp->d * sizeof(double));
        memcpy(fresh_buf[1], gp->y, gp->n * sizeof(double));
    }
    for (size_t i = 0; i < 8; i++) {
        double **slot = buffers(gp, i, cap, &count);
        fresh__free(*slot);
        *slot = fresh_buf[i];
    }
    gp->cap = cap;
    gp->factored = 0;
    return FRESH_OK;
}

/* ---- the kernel ---- */

/* s_j(a_j, b_j) (see gp.h). */
static inline double dist_j(int cat, double a, double b)
{
    int na = isnan(a), nb = isnan(b);
    if (na || nb)
        return na && nb ? 0.0 : 1.0;
    if (cat)
        return a == b ? 0.0 : 1.0;
    double t = a - b;
    return t * t;
}

static double r2_of(const fresh__gp *gp, const double *a, const double *b, const double *inv_l2)
{
    double r2 = 0.0;
    for (size_t j = 0; j < gp->d; j++)
        r2 += dist_j(gp->is_cat[j], a[j], b[j]) * inv_l2[j];
    return r2;
}

static void set_inv_l2(const fresh__gp *gp, const double *th, double *inv_l2)
{
    for (size_t j = 0; j < gp->d; j++)
        inv_l2[j] = exp(-2.0 * th[j]);
}

/* k(r) / sf2 and (5/3)(1 + sqrt5 r) e (the factor of every derivative). */
static inline double matern(double r2, double *dfac)
{
    double r = sqrt(r2), e = exp(-SQRT5 * r);
    if (dfac)
        *dfac = (5.0 / 3.0) * (1.0 + SQRT5 * r) * e;
    return (1.0 + SQRT5 * r + (5.0 / 3.0) * r2) * e;
}

static void clamp_theta(const fresh__gp *gp, const double *in, double *out)
{
    for (size_t i = 0; i < gp->d + 2; i++) {
        double lo, hi;
        theta_box(gp, i, &lo, &hi);
        double v = in[i];
        out[i] = isnan(v) ? lo : v < lo ? lo : v > hi ? hi : v;
    }
}

/* Writes K = Kf + (sn2 + jitter) I for theta th into M (leading dimension
 * cap), lower triangle and diagonal. */
static void build_K(fresh__gp *gp, const double *th, double jitter, double *M, double *inv_l2)
{
    size_t n = gp->n, d = gp->d, cap = gp->cap;
    double sf2 = exp(th[d]), sn2 = exp(th[d + 1]);
    set_inv_l2(gp, th, inv_l2);
    for (size_t a = 0; a < n; a++) {
        for (size_t b = 0; b < a; b++)
            M[a * cap + b] = sf2 * matern(r2_of(gp, gp->X + a * d, gp->X + b * d, inv_l2), NULL);
        M[a * cap + a] = sf2 + sn2 + jitter;
    }
}

/* Cholesky of M (n x n, leading dimension cap) in place; FRESH_OK or FRESH_EGSL. */
static int chol(fresh__gp *gp, double *M)
{
    gsl_matrix_view v = gsl_matrix_view_array_with_tda(M, gp->n, gp->n, gp->cap);
    return gsl_linalg_cholesky_decomp1(&v.matrix) == GSL_SUCCESS ? FRESH_OK : FRESH_EGSL;
}

/* Solves (L L^T) out = rhs with L in M. */
static void chol_solve(fresh__gp *gp, const double *M, const double *rhs, double *out)
{
    size_t n = gp->n;
    gsl_matrix_const_view Lv = gsl_matrix_const_view_array_with_tda(M, n, n, gp->cap);
    memcpy(out, rhs, n * sizeof *out);
    gsl_vector_view ov = gsl_vector_view_array(out, n);
    gsl_blas_dtrsv(CblasLower, CblasNoTrans, CblasNonUnit, &Lv.matrix, &ov.vector);
    gsl_blas_dtrsv(CblasLower, CblasTrans, CblasNonUnit, &Lv.matrix, &ov.vector);
}

/* Factors the data for the current theta into L and alpha; a matrix that
 * is not numerically positive definite gets a growing jitter on its
 * diagonal (1e-8 .. 1e-4 sf2) before giving up. */
static int factor(fresh__gp *gp)
{
    gp->factored = 0;
    if (gp->n == 0) {
        gp->factored = 1;
        return FRESH_OK;
    }
    double sf2 = exp(gp->theta[gp->d]), jitter = 0.0;
    for (int t = 0; t < 4; t++) {
        build_K(gp, gp->theta, jitter, gp->L, gp->inv_l2);
        if (chol(gp, gp->L) == FRESH_OK) {
            chol_solve(gp, gp->L, gp->y, gp->alpha);
            set_inv_l2(gp, gp->theta, gp->inv_l2);
            gp->factored = 1;
            return FRESH_OK;
        }
        jitter = jitter == 0.0 ? 1e-8 * sf2 : jitter * 100.0;
    }
    return FRESH_EGSL;
}

int fresh__gp_set_theta(fresh__gp *gp, const double *theta)
{
    if (!gp || !theta)
        return FRESH_EINVAL;
    clamp_theta(gp, theta, gp->theta);
    return factor(gp);
}

int fresh__gp_set_data(fresh__gp *gp, const double *X, const double *y, size_t n)
{
    if (!gp || (n && (!X || !y)))
        return FRESH_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i]))
            return FRESH_EINVAL;
    int rc = reserve(gp, n);
    if (rc != FRESH_OK)
        return rc;
    if (n) {
        memcpy(gp->X, X, n * gp->d * sizeof *X);
        memcpy(gp->y, y, n * sizeof *y);
    }
    gp->n = n;
    return factor(gp);
}

/* ---- the objective ---- */

static double neg_log_prior(const fresh__gp *gp, const double *theta, double *grad)
{
    double f = 0.0;
    for (size_t i = 0; i < gp->d + 2; i++) {
        double m, sd;
        theta_prior(gp, i, &m, &sd);
        double z = (theta[i] - m) / sd;
        f += 0.5 * z * z + log(sd) + 0.5 * LOG_2PI;
        if (grad)
            grad[i] += z / sd;
    }
    return f;
}

/* -log p(y | X, th) with th already clamped; adds its gradient into grad
 * (the clamped coordinates' share is dropped by the caller). */
static double nll_clamped(fresh__gp *gp, const double *th, double *grad)
{
    size_t n = gp->n, d = gp->d, cap = gp->cap;
    if (n == 0)
        return 0.0;
    double *K = gp->K2, *al = gp->alpha2, *il = gp->il_s;
    build_K(gp, th, 0.0, K, il);
    if (chol(gp, K) != FRESH_OK)
        return INFINITY;
    chol_solve(gp, K, gp->y, al);
    double quad = 0.0, logdet = 0.0;
    for (size_t a = 0; a < n; a++) {
        quad += gp->y[a] * al[a];
        logdet += log(K[a * cap + a]);
    }
    double f = 0.5 * quad + logdet + 0.5 * (double)n * LOG_2PI;
    if (!grad)
        return f;
    /* W = alpha alpha^T - K^-1 (the inverse from the factor, in place) */
    gsl_matrix_view Kv = gsl_matrix_view_array_with_tda(K, n, n, cap);
    if (gsl_linalg_cholesky_invert(&Kv.matrix) != GSL_SUCCESS)
        return INFINITY;
    double sf2 = exp(th[d]), sn2 = exp(th[d + 1]);
    double g_sf2 = 0.0, g_sn2 = 0.0;
    for (size_t a = 0; a < n; a++) {
        const double *xa = gp->X + a * d;
        for (size_t b = 0; b < a; b++) {
            const double *xb = gp->X + b * d;
            double w = al[a] * al[b] - K[a * cap + b];
            double dfac, kf = sf2 * matern(r2_of(gp, xa, xb, il), &dfac);
            /* off-diagonal pairs count twice; -1/2 tr(W dK) */
            g_sf2 -= w * kf;
            double c = -w * sf2 * dfac;
            for (size_t j = 0; j < d; j++) {
                double s = dist_j(gp->is_cat[j], xa[j], xb[j]);
                if (s != 0.0)
                    grad[j] += c * s * il[j];
            }
        }
        double w = al[a] * al[a] - K[a * cap + a];
        g_sf2 -= 0.5 * w * sf2;
        g_sn2 -= 0.5 * w * sn2;
    }
    grad[d] += g_sf2;
    grad[d + 1] += g_sn2;
    return f;
}

double fresh__gp_neg_log_lik(fresh__gp *gp, const double *theta)
{
    if (!gp || !theta)
        return NAN;
    if (reserve(gp, gp->n ? gp->n : 1) != FRESH_OK)
        return NAN;
    clamp_theta(gp, theta, gp->th_s);
    return nll_clamped(gp, gp->th_s, NULL);
}

double fresh__gp_neg_log_post(fresh__gp *gp, const double *theta, double *grad)
{
    if (!gp || !theta)
        return NAN;
    size_t k = gp->d + 2;
    double *thb = gp->th_s, *gb = gp->g_s;
    if (reserve(gp, gp->n ? gp->n : 1) != FRESH_OK)
        return NAN;
    clamp_theta(gp, theta, thb);
    if (grad)
        memset(gb, 0, k * sizeof *gb);
    double f = nll_clamped(gp, thb, grad ? gb : NULL);
    if (grad) {
        for (size_t i = 0; i < k; i++)
            grad[i] = thb[i] == theta[i] ? gb[i] : 0.0; /* flat outside the box */
    }
    return f + neg_log_prior(gp, theta, grad);
}

/* ---- fitting (gsl_multimin fdf) ---- */

static double mm_f(const gsl_vector *x, void *arg)
{
    fresh__gp *gp = arg;
    double f = fresh__gp_neg_log_post(gp, x->data, NULL);
    return isfinite(f) ? f : GSL_POSINF;
}

static void mm_df(const gsl_vector *x, void *arg, gsl_vector *g)
{
    fresh__gp *gp = arg;
    double f = fresh__gp_neg_log_post(gp, x->data, g->data);
    if (!isfinite(f))
        gsl_vector_set_zero(g);
}

static void mm_fdf(const gsl_vector *x, void *arg, double *f, gsl_vector *g)
{
    fresh__gp *gp = arg;
    *f = fresh__gp_neg_log_post(gp, x->data, g->data);
    if (!isfinite(*f)) {
        *f = GSL_POSINF;
        gsl_vector_set_zero(g);
    }
}

int fresh__gp_fit(fresh__gp *gp, int max_iter)
{
    if (!gp)
        return FRESH_EINVAL;
    size_t k = gp->d + 2;
    if (gp->n == 0 || max_iter <= 0)
        return factor(gp);
    gsl_vector *x0 = gsl_vector_alloc(k);
    gsl_multimin_fdfminimizer *mm =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, k);
    if (!x0 || !mm) {
        gsl_vector_free(x0);
        gsl_multimin_fdfminimizer_free(mm);
        return FRESH_ENOMEM;
    }
    memcpy(x0->data, gp->theta, k * sizeof(double));
    double f0 = fresh__gp_neg_log_post(gp, gp->theta, NULL);
    gsl_multimin_function_fdf fn = {mm_f, mm_df, mm_fdf, k, gp};
    if (isfinite(f0) && gsl_multimin_fdfminimizer_set(mm, &fn, x0, 0.1, 0.1) == GSL_SUCCESS) {
        for (int it = 0; it < max_iter; it++) {
            if (gsl_multimin_fdfminimizer_iterate(mm) != GSL_SUCCESS)
                break;
            if (gsl_multimin_test_gradient(mm->gradient, 1e-3) == GSL_SUCCESS)
                break;
        }
        const gsl_vector *xb = gsl_multimin_fdfminimizer_x(mm);
        double fb = gsl_multimin_fdfminimizer_minimum(mm);
        if (isfinite(fb) && fb < f0)
            clamp_theta(gp, xb->data, gp->theta);
    }
    gsl_multimin_fdfminimizer_free(mm);
    gsl_vector_free(x0);
    return factor(gp);
}

/* ---- prediction ---- */

void fresh__gp_predict(fresh__gp *gp, const double *x, double *mean, double *var, double *dmean,
                       double *dvar)
{
    size_t n = gp->n, d = gp->d;
    double sf2 = exp(gp->theta[d]);
    if (dmean)
        memset(dmean, 0, d * sizeof *dmean);
    if (dvar)
        memset(dvar, 0, d * sizeof *dvar);
    if (n == 0 || !gp->factored) {
        *mean = 0.0;
        *var = sf2;
        return;
    }
    double *kv = gp->kv, *beta = gp->beta;
    double m = 0.0;
    for (size_t a = 0; a < n; a++) {
        kv[a] = sf2 * matern(r2_of(gp, x, gp->X + a * d, gp->inv_l2), NULL);
        m += kv[a] * gp->alpha[a];
    }
    gsl_matrix_const_view Lv = gsl_matrix_const_view_array_with_tda(gp->L, n, n, gp->cap);
    memcpy(beta, kv, n * sizeof *beta);
    gsl_vector_view bv = gsl_vector_view_array(beta, n);
    gsl_blas_dtrsv(CblasLower, CblasNoTrans, CblasNonUnit, &Lv.matrix, &bv.vector);
    double vv = 0.0;
    for (size_t a = 0; a < n; a++)
        vv += beta[a] * beta[a];
    *mean = m;
    *var = fmax(sf2 - vv, 1e-12 * sf2);
    if (!dmean && !dvar)
        return;
    /* beta = K^-1 k: dvar/dx = -2 beta^T dk/dx */
    gsl_blas_dtrsv(CblasLower, CblasTrans, CblasNonUnit, &Lv.matrix, &bv.vector);
    for (size_t a = 0; a < n; a++) {
        const double *xa = gp->X + a * d;
        double dfac;
        matern(r2_of(gp, x, xa, gp->inv_l2), &dfac);
        double c = -sf2 * dfac;
        for (size_t j = 0; j < d; j++) {
            if (gp->is_cat[j] || isnan(x[j]) || isnan(xa[j]))
                continue;
            double dk = c * (x[j] - xa[j]) * gp->inv_l2[j];
            if (dmean)
                dmean[j] += dk * gp->alpha[a];
            if (dvar)
                dvar[j] -= 2.0 * beta[a] * dk;
        }
    }
}

int fresh__gp_predict_many(fresh__gp *gp, const double *x, size_t m, double *mean, double *var)
{
    size_t n = gp->n, d = gp->d;
    double sf2 = exp(gp->theta[d]);
    if (n == 0 || !gp->factored) {
        for (size_t i = 0; i < m; i++) {
            mean[i] = 0.0;
            var[i] = sf2;
        }
        return FRESH_OK;
    }
    if (fresh__grow((void **)&gp->ks, &gp->ks_cap, m * n, sizeof *gp->ks) != FRESH_OK)
        return FRESH_ENOMEM;
    double *ks = gp->ks;
    for (size_t i = 0; i < m; i++) {
        double mu = 0.0;
        for (size_t a = 0; a < n; a++) {
            double k = sf2 * matern(r2_of(gp, x + i * d, gp->X + a * d, gp->inv_l2), NULL);
            ks[i * n + a] = k;
            mu += k * gp->alpha[a];
        }
        mean[i] = mu;
    }
    /* rows v_i = L^-1 k_i: Ks L^-T */
    gsl_matrix_const_view Lv = gsl_matrix_const_view_array_with_tda(gp->L, n, n, gp->cap);
    gsl_matrix_view Kv = gsl_matrix_view_array(ks, m, n);
    gsl_blas_dtrsm(CblasRight, CblasLower, CblasTrans, CblasNonUnit, 1.0, &Lv.matrix, &Kv.matrix);
    for (size_t i = 0; i < m; i++) {
        double vv = 0.0;
        for (size_t a = 0; a < n; a++)
            vv += ks[i * n + a] * ks[i * n + a];
        var[i] = fmax(sf2 - vv, 1e-12 * sf2);
    }
    return FRESH_OK;
}

/* ---- log EI ---- */

/* log(1 - exp(a)), a < 0, accurate on both sides (Maechler 2012). */
static double log1mexp(double a)
{
    return a > -0.6931471805599453 ? log(-expm1(a)) : log1p(-exp(a));
}

/* log h(z), h(z) = z Phi(z) + phi(z). */
static double log_h(double z)
{
    if (z > -1.0)
        return log(z * gsl_cdf_ugaussian_P(z) + exp(-0.5 * z * z - 0.5 * LOG_2PI));
    if (z > -30.0) {
        /* h = phi(z) (1 - |z| sqrt(pi/2) erfcx(-z/sqrt2)),
         * log erfcx(t) = t^2 + log erfc(t) */
        double t = -z / M_SQRT2;
        double le = t * t + gsl_sf_log_erfc(t);
        return -0.5 * z * z - 0.5 * LOG_2PI + log1mexp(log(-z) + le + 0.5 * log(M_PI / 2.0));
    }
    /* asymptotic: h = phi(z) / z^2 (1 - 3/z^2 + 15/z^4 - 105/z^6 + 945/z^8) */
    double w = 1.0 / (z * z);
    double s = 1.0 - w * (3.0 - w * (15.0 - w * (105.0 - w * 945.0)));
    return -0.5 * z * z - 0.5 * LOG_2PI + log(w) + log(s);
}

double fresh__gp_log_ei(double mu, double sigma, double best, double *d_mu, double *d_sigma)
{
    double z = (best - mu) / sigma;
    double lh = log_h(z);
    if (d_mu || d_sigma) {
        /* dEI/dmu = -Phi(z), dEI/dsigma = phi(z) */
        double log_Phi = log(0.5) + gsl_sf_log_erfc(-z / M_SQRT2);
        double log_phi = -0.5 * z * z - 0.5 * LOG_2PI;
        if (d_mu)
            *d_mu = -exp(log_Phi - lh) / sigma;
        if (d_sigma)
            *d_sigma = exp(log_phi - lh) / sigma;
    }
    return log(sigma) + lh;
}
