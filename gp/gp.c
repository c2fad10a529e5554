/*
 * gp.c - Gaussian-process regression with a Matern 5/2 ARD kernel on the
 * unit encoding (Hamming distance for categoricals, inactive values as a
 * level of their own), MAP hyperparameters by GSL's BFGS, and log Expected
 * Improvement. gp.h is the specification.
 *
 * DESIGN. The data (n rows) live in buffers of capacity cap; the Cholesky
 * factor L of K = Kf + sn2 I (lower triangle, leading dimension cap) and
 * alpha = K^-1 y are kept for the current theta, so that a prediction is
 * O(n d + n^2) and m predictions m forward substitutions in blocks. Fitting theta evaluates
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

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_sf_erf.h>

#include "fresh/status.h"
#include "internal.h"

/* predict_many's four-lane path: GCC's target attribute on x86-64 (clang,
 * which builds the fuzz targets, keeps the plain path). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FRESH_GP_AVX2 1
#else
#define FRESH_GP_AVX2 0
#endif
#define CB FRESH__GP_BLOCK

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
    size_t n_fact;         /* rows 0..n_fact-1 of L: the jitter-free factor of the first
                              rows of X under theta (kept across set_data, see factor) */
    size_t reused;         /* rows of L the last factorization kept */
    /* scratch */
    double *K2, *alpha2;   /* cap x cap, cap: for neg_log_post */
    double *kv, *beta, *dk; /* cap each: predict (dk: the derivative factors) */
    int pred_ok;           /* 1: kv, beta, dk hold the last fresh__gp_predict; 2: kv and dk
                              the last fresh__gp_predict_mean */
    double *inv_l2;        /* d: 1 / l_j^2 of theta */
    double *il_s, *th_s, *g_s; /* d, d + 2, d + 2: the objective's scratch */
    double *ks;            /* many-point predictions: ks_cap doubles */
    size_t ks_cap;
    double *kst;           /* mean_many's kernel columns (gp_block.h): kst_cap doubles */
    size_t kst_cap;
    double jitter;         /* on the diagonal of the current factor (normally 0) */
    double *kc;            /* d x CB: a block of candidates, transposed */
    unsigned char *kc_nan; /* d: the block has a NaN in dimension j */
    int avx2;              /* predict_many's four-lane path (fresh__gp_use_avx2) */
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

#define N_BUFFERS 9
static double **buffers(fresh__gp *gp, size_t i, size_t c, size_t *count);

void fresh__gp_destroy(fresh__gp *gp)
{
    if (!gp)
        return;
    fresh__free(gp->is_cat);
    fresh__free(gp->theta);
    size_t count;
    for (size_t i = 0; i < N_BUFFERS; i++)
        fresh__free(*buffers(gp, i, 0, &count));
    fresh__free(gp->inv_l2);
    fresh__free(gp->il_s);
    fresh__free(gp->th_s);
    fresh__free(gp->g_s);
    fresh__free(gp->ks);
    fresh__free(gp->kc);
    fresh__free(gp->kst);
    fresh__free(gp->kc_nan);
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
    gp->kc = fresh__malloc(d * CB * sizeof(double));
    gp->kc_nan = fresh__malloc(d);
    if (!gp->is_cat || !gp->theta || !gp->inv_l2 || !gp->il_s || !gp->th_s || !gp->g_s ||
        !gp->kc || !gp->kc_nan) {
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
    fresh__gp_use_avx2(gp, 1);
    *out = gp;
    return FRESH_OK;
}

size_t fresh__gp_n_theta(const fresh__gp *gp) { return gp->d + 2; }
const double *fresh__gp_theta(const fresh__gp *gp) { return gp->theta; }
size_t fresh__gp_n(const fresh__gp *gp) { return gp->n; }

/* The buffers that grow with the data: element counts per capacity c. */
static double **buffers(fresh__gp *gp, size_t i, size_t c, size_t *count)
{
    double **all[9] = {&gp->X,  &gp->y,      &gp->L,  &gp->alpha, &gp->K2,
                       &gp->alpha2, &gp->kv, &gp->beta, &gp->dk};
    size_t counts[9] = {c * gp->d, c, c * c, c, c * c, c, c, c, c};
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
    double *fresh_buf[N_BUFFERS] = {NULL};
    size_t count;
    for (size_t i = 0; i < N_BUFFERS; i++) {
        buffers(gp, i, cap, &count);
        if (!(fresh_buf[i] = fresh__malloc(count * sizeof(double)))) {
            for (size_t k = 0; k < i; k++)
                fresh__free(fresh_buf[k]);
            return FRESH_ENOMEM;
        }
    }
    if (gp->n) { /* the data move, and the rows of the factor that stay valid */
        memcpy(fresh_buf[0], gp->X, gp->n * gp->d * sizeof(double));
        memcpy(fresh_buf[1], gp->y, gp->n * sizeof(double));
    }
    for (size_t a = 0; a < gp->n_fact; a++)
        memcpy(fresh_buf[2] + a * cap, gp->L + a * gp->cap, (a + 1) * sizeof(double));
    for (size_t i = 0; i < N_BUFFERS; i++) {
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

/* Writes rows p..n-1 of K = Kf + (sn2 + jitter) I for theta th into M
 * (leading dimension cap), lower triangle and diagonal. */
static void build_K(fresh__gp *gp, const double *th, double jitter, double *M, double *inv_l2,
                    size_t p)
{
    size_t n = gp->n, d = gp->d, cap = gp->cap;
    double sf2 = exp(th[d]), sn2 = exp(th[d + 1]);
    set_inv_l2(gp, th, inv_l2);
    for (size_t a = p; a < n; a++) {
        for (size_t b = 0; b < a; b++)
            M[a * cap + b] = sf2 * matern(r2_of(gp, gp->X + a * d, gp->X + b * d, inv_l2), NULL);
        M[a * cap + a] = sf2 + sn2 + jitter;
    }
}

/* The linear algebra is written out here rather than taken from GSL's
 * gsl_linalg_cholesky_* and gsl_blas_*: those call CBLAS, which resolves to
 * whatever the program links (gslcblas, or OpenBLAS in the fresh binary,
 * whose threads cost more in hand-offs than they save at n <= a few hundred
 * and which rounds differently: docs/algorithms.md, section 4, "Cost" and
 * "Determinism"); only GSL's BFGS (fresh__gp_fit) still uses CBLAS. The loops
 * use two-wide vectors (GCC's vector extension: SSE2 on x86-64, plain code
 * elsewhere) and keep independent partial sums; the order of every sum is
 * fixed by the code, whatever the compiler or the BLAS. */
typedef double v2d __attribute__((vector_size(16)));

/* unaligned load LD and store ST of vector type T */
#define VEC_LOAD_STORE(T, LD, ST)                                                                  \
    static inline T LD(const double *p)                                                            \
    {                                                                                              \
        T v;                                                                                       \
        memcpy(&v, p, sizeof v);                                                                   \
        return v;                                                                                  \
    }                                                                                              \
    static inline void ST(double *p, T v) { memcpy(p, &v, sizeof v); }
VEC_LOAD_STORE(v2d, ld2, st2)

static double dot(const double *a, const double *b, size_t n)
{
    v2d s0 = {0.0, 0.0}, s1 = {0.0, 0.0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += ld2(a + i) * ld2(b + i);
        s1 += ld2(a + i + 2) * ld2(b + i + 2);
    }
    double s = (s0[0] + s1[0]) + (s0[1] + s1[1]);
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}


/* K^-1 (lower triangle) from its factor L in M, in place: L^-1 column by
 * column, then K^-1 = L^-T L^-1. */
static void chol_invert(fresh__gp *gp, double *M)
{
    size_t n = gp->n, cap = gp->cap;
    for (size_t j = 0; j < n; j++) {
        M[j * cap + j] = 1.0 / M[j * cap + j];
        for (size_t i = j + 1; i < n; i++) {
            double s = 0.0;
            for (size_t k = j; k < i; k++)
                s += M[i * cap + k] * M[k * cap + j];
            M[i * cap + j] = -s / M[i * cap + i];
        }
    }
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b <= a; b++) {
            double s = 0.0;
            for (size_t k = a; k < n; k++)
                s += M[k * cap + a] * M[k * cap + b];
            M[a * cap + b] = s;
        }
}

/* Triangular solves with the factor L (lower, leading dimension cap), in
 * plain loops rather than through CBLAS: at n <= a few hundred they are
 * cheaper than a threaded BLAS's hand-off (docs/algorithms.md, "Cost"),
 * and row-major L makes both directions stride-1. */

/* The triangular solves and predict_many's blocks (gp_block.h), in two-lane
 * vectors (SSE2 on x86-64, plain code elsewhere: *_sse2) and, on CPUs with
 * AVX2, four-lane ones (*_avx2, gp->avx2), which change the speed and not
 * one bit: each lane does the same operations in the same order (no FMA
 * contraction: GCC does not contract in ISO C mode; the test
 * gp::avx2_path_is_bit_identical runs both).
 *
 * predict_many scores candidates in blocks of CB (gp_block.h): the kernel
 * columns k(X, x_k) of the block's candidates (transposed, one vector per
 * dimension), their means, the forward substitution V := L^-1 V as one
 * axpy across the block per element of L (L streams once per block) and
 * the variances. Lane k does exactly the operations, in the same order, of
 * one candidate in fresh__gp_predict_many before issue 15 (8 candidates a
 * block in SSE2 pairs); sqrt and exp stay libm's scalar calls. */
typedef long v2l __attribute__((vector_size(16)));
#define W 2
#define VW v2d
#define VWL v2l
#define VLD ld2
#define VST st2
#define FN(name) name##_sse2
#include "gp_block.h"

#if FRESH_GP_AVX2
#pragma GCC push_options
#pragma GCC target("avx2")
typedef double v4d __attribute__((vector_size(32)));
typedef long v4l __attribute__((vector_size(32)));
VEC_LOAD_STORE(v4d, ld4, st4)
#define W 4
#define VW v4d
#define VWL v4l
#define VLD ld4
#define VST st4
#define FN(name) name##_avx2
#include "gp_block.h"
#pragma GCC pop_options
#endif

/* v := L^-1 v (t = 0) or v := L^-T v (t = 1) with the first n rows of the
 * factor of gp or of the scratch factor M (leading dimension cap). */
static void trsv(const fresh__gp *gp, const double *L, size_t n, double *v, int t)
{
    void (*f)(const double *, size_t, size_t, double *) = t ? trsv_lower_t_sse2 : trsv_lower_sse2;
#if FRESH_GP_AVX2
    if (gp->avx2)
        f = t ? trsv_lower_t_avx2 : trsv_lower_avx2;
#endif
    f(L, n, gp->cap, v);
}

/* Cholesky of M (n x n, leading dimension cap, lower triangle) in place,
 * row by row (Cholesky-Banachiewicz), from row p: rows 0..p-1 already hold
 * the factor of K's leading p x p block. Row i of the factor depends only
 * on row i of K and rows 0..i-1 of the factor, so rows appended to K (or
 * changed from row p on) are factored in O((n - p) n^2 / 2), and the result
 * is the same, bit for bit, as a factorization from row 0. FRESH_OK, or
 * FRESH_EGSL when M is not numerically positive definite. */
static int chol(fresh__gp *gp, double *M, size_t p)
{
    size_t n = gp->n, cap = gp->cap;
    for (size_t i = p; i < n; i++) {
        double *ri = M + i * cap;
        /* ri[j] = (ri[j] - dot(ri, rj, j)) / rj[j] for j < i: a forward
         * substitution with the first i rows (the products commute) */
        trsv(gp, M, i, ri, 0);
        double s = ri[i] - dot(ri, ri, i);
        if (!(s > 0.0) || !isfinite(s))
            return FRESH_EGSL;
        ri[i] = sqrt(s);
    }
    return FRESH_OK;
}

/* Solves (L L^T) out = rhs with L in M. */
static void chol_solve(fresh__gp *gp, const double *M, const double *rhs, double *out)
{
    memcpy(out, rhs, gp->n * sizeof *out);
    trsv(gp, M, gp->n, out, 0);
    trsv(gp, M, gp->n, out, 1);
}

/* Factors the data for the current theta into L and alpha, keeping the
 * first gp->n_fact rows of L (the caller has checked that they belong to
 * the first rows of X and to theta; see chol) and recomputing alpha
 * (O(n^2)); a matrix that is not numerically positive definite gets a
 * growing jitter on its diagonal (1e-8 .. 1e-4 sf2), refactored from row 0,
 * before giving up. Only a jitter-free factor is kept for later calls. */
static int factor(fresh__gp *gp)
{
    size_t p = gp->n_fact < gp->n ? gp->n_fact : gp->n;
    gp->factored = 0;
    gp->pred_ok = 0;
    gp->reused = 0;
    gp->n_fact = p;
    if (gp->n == 0) {
        gp->factored = 1;
        return FRESH_OK;
    }
    double sf2 = exp(gp->theta[gp->d]), jitter = 0.0;
    for (int t = 0; t < 4; t++) {
        build_K(gp, gp->theta, jitter, gp->L, gp->inv_l2, p);
        if (chol(gp, gp->L, p) == FRESH_OK) {
            gp->jitter = jitter;
            chol_solve(gp, gp->L, gp->y, gp->alpha);
            set_inv_l2(gp, gp->theta, gp->inv_l2);
            gp->factored = 1;
            gp->reused = p;
            gp->n_fact = jitter == 0.0 ? gp->n : 0;
            return FRESH_OK;
        }
        p = gp->n_fact = 0;
        jitter = jitter == 0.0 ? 1e-8 * sf2 : jitter * 100.0;
    }
    return FRESH_EGSL;
}

/* theta := th clamped; the factor is kept only if theta is unchanged. */
static void put_theta(fresh__gp *gp, const double *th)
{
    double *c = gp->th_s; /* scratch */
    clamp_theta(gp, th, c);
    if (memcmp(c, gp->theta, (gp->d + 2) * sizeof *c) != 0) {
        memcpy(gp->theta, c, (gp->d + 2) * sizeof *c);
        gp->n_fact = 0;
    }
}

int fresh__gp_set_theta(fresh__gp *gp, const double *theta)
{
    if (!gp || !theta)
        return FRESH_EINVAL;
    put_theta(gp, theta);
    return factor(gp);
}

size_t fresh__gp_rows_reused(const fresh__gp *gp) { return gp->reused; }

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
    /* the rows of the factor that stay: the longest common prefix (bit for
     * bit) of the old and the new rows */
    size_t d = gp->d, p = 0, lim = gp->n_fact < n ? gp->n_fact : n;
    while (p < lim && memcmp(gp->X + p * d, X + p * d, d * sizeof *X) == 0)
        p++;
    gp->n_fact = p;
    if (n) {
        memcpy(gp->X + p * d, X + p * d, (n - p) * d * sizeof *X);
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
    build_K(gp, th, 0.0, K, il, 0);
    if (chol(gp, K, 0) != FRESH_OK)
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
    chol_invert(gp, K);
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
            put_theta(gp, xb->data);
    }
    gsl_multimin_fdfminimizer_free(mm);
    gsl_vector_free(x0);
    return factor(gp);
}

/* ---- prediction ---- */

void fresh__gp_predict_mean(fresh__gp *gp, const double *x, double *mean, double *var_hi)
{
    size_t n = gp->n, d = gp->d;
    double sf2 = exp(gp->theta[d]);
    gp->pred_ok = 0;
    if (n == 0 || !gp->factored) {
        *mean = 0.0;
        if (var_hi)
            *var_hi = sf2;
        return;
    }
    double *kv = gp->kv, *df = gp->dk;
    double m = 0.0, kmax = 0.0;
    for (size_t a = 0; a < n; a++) {
        kv[a] = sf2 * matern(r2_of(gp, x, gp->X + a * d, gp->inv_l2), &df[a]);
        m += kv[a] * gp->alpha[a];
        kmax = kv[a] > kmax ? kv[a] : kmax;
    }
    *mean = m;
    if (var_hi)
        *var_hi = sf2 - kmax * kmax / (sf2 + exp(gp->theta[d + 1]) + gp->jitter);
    gp->pred_ok = 2;
}

double fresh__gp_predict_var(fresh__gp *gp)
{
    size_t n = gp->n;
    double sf2 = exp(gp->theta[gp->d]), *beta = gp->beta;
    if (gp->pred_ok != 2) {
        gp->pred_ok = 0;
        return sf2;
    }
    memcpy(beta, gp->kv, n * sizeof *beta);
    trsv(gp, gp->L, n, beta, 0);
    double vv = 0.0;
    for (size_t a = 0; a < n; a++)
        vv += beta[a] * beta[a];
    gp->pred_ok = 1;
    return fmax(sf2 - vv, 1e-12 * sf2);
}

void fresh__gp_predict(fresh__gp *gp, const double *x, double *mean, double *var, double *dmean,
                       double *dvar)
{
    fresh__gp_predict_mean(gp, x, mean, NULL);
    *var = fresh__gp_predict_var(gp);
    if (dmean || dvar)
        fresh__gp_predict_grad(gp, x, dmean, dvar);
}

void fresh__gp_predict_grad(fresh__gp *gp, const double *x, double *dmean, double *dvar)
{
    size_t n = gp->n, d = gp->d;
    if (dmean)
        memset(dmean, 0, d * sizeof *dmean);
    if (dvar)
        memset(dvar, 0, d * sizeof *dvar);
    if (gp->pred_ok != 1)
        return;
    gp->pred_ok = 0; /* beta becomes K^-1 k: once per prediction */
    double sf2 = exp(gp->theta[d]), *beta = gp->beta, *df = gp->dk;
    /* beta = K^-1 k: dvar/dx = -2 beta^T dk/dx */
    trsv(gp, gp->L, n, beta, 1);
    for (size_t a = 0; a < n; a++) {
        const double *xa = gp->X + a * d;
        double c = -sf2 * df[a], cm = c * gp->alpha[a], cv = -2.0 * beta[a] * c;
        for (size_t j = 0; j < d; j++) {
            if (gp->is_cat[j] || isnan(x[j]) || isnan(xa[j]))
                continue;
            double t = (x[j] - xa[j]) * gp->inv_l2[j];
            if (dmean)
                dmean[j] += cm * t;
            if (dvar)
                dvar[j] += cv * t;
        }
    }
}

int fresh__gp_use_avx2(fresh__gp *gp, int on)
{
    if (!gp)
        return 0;
#if FRESH_GP_AVX2
    gp->avx2 = on && __builtin_cpu_supports("avx2");
#else
    (void)on;
    gp->avx2 = 0;
#endif
    return gp->avx2;
}

int fresh__gp_mean_many(fresh__gp *gp, const double *x, size_t m, double *mean, double *var_hi)
{
    size_t n = gp->n;
    gp->pred_ok = 0;
    if (n == 0 || !gp->factored) {
        double sf2 = exp(gp->theta[gp->d]);
        for (size_t i = 0; i < m; i++) {
            mean[i] = 0.0;
            if (var_hi)
                var_hi[i] = sf2;
        }
        return FRESH_OK;
    }
    size_t blocks = (m + CB - 1) / CB;
    if (fresh__grow((void **)&gp->ks, &gp->ks_cap, n * CB, sizeof *gp->ks) != FRESH_OK ||
        fresh__grow((void **)&gp->kst, &gp->kst_cap, blocks * n * CB, sizeof *gp->kst) != FRESH_OK)
        return FRESH_ENOMEM;
#if FRESH_GP_AVX2
    if (gp->avx2)
        kernel_many_avx2(gp, x, m, mean, var_hi);
    else
#endif
        kernel_many_sse2(gp, x, m, mean, var_hi);
    return FRESH_OK;
}

void fresh__gp_var_some(fresh__gp *gp, const size_t *idx, size_t cnt, double *var)
{
    double sf2 = exp(gp->theta[gp->d]);
    if (gp->n == 0 || !gp->factored) {
        for (size_t j = 0; j < cnt; j++)
            var[idx ? idx[j] : j] = sf2;
        return;
    }
#if FRESH_GP_AVX2
    if (gp->avx2) {
        var_some_avx2(gp, idx, cnt, var);
        return;
    }
#endif
    var_some_sse2(gp, idx, cnt, var);
}

int fresh__gp_predict_many(fresh__gp *gp, const double *x, size_t m, double *mean, double *var)
{
    int rc = fresh__gp_mean_many(gp, x, m, mean, NULL);
    if (rc == FRESH_OK)
        fresh__gp_var_some(gp, NULL, m, var);
    return rc;
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
