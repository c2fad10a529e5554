/*
 * kde.h - a mixed-type product-kernel density estimator (internal).
 *
 * The model behind BOHB (Falkner, Klein & Hutter 2018, section 3.1; the
 * kernels of Li & Racine, "Nonparametric Econometrics", 2007, ch. 4):
 *
 *     f(x) = (1/n) sum_r prod_j K_j(x_j | X_rj, h_j)
 *
 * over rows X (n x d, the unit encoding of fresh/space.h), with one kernel
 * per dimension kind:
 *   FRESH__KDE_CONT  float/int encoded in [0, 1]: a Gaussian truncated to
 *                    [0, 1] and renormalised, the same kernel for evaluation
 *                    and for sampling (HpBandSter samples it truncated but
 *                    evaluates it untruncated).
 *   FRESH__KDE_CAT   a categorical index 0..c-1: Aitchison-Aitken,
 *                    1 - lambda on a match, lambda / (c - 1) otherwise, with
 *                    c taken from the space, never from the data.
 *   FRESH__KDE_ORD   an ordinal index 0..c-1: Wang-Ryzin, 1 - lambda on a
 *                    match, (1 - lambda) / 2 * lambda^|x - X| otherwise,
 *                    renormalised over the c levels.
 *
 * Inactive values (NaN) follow one rule, chosen so that the model is exactly
 * the density of its own sampler after the space applies its conditions:
 *   - x_j inactive: dimension j is left out of x's product (factor 1): its
 *     kernel has been summed/integrated out. The activity of x_j is decided
 *     by x's parent values, which are active dimensions of x, so l(x) and
 *     g(x) are always compared over the same set of dimensions.
 *   - x_j active but row r inactive there: factor = the uniform density of
 *     dimension j (1 on [0, 1], 1/c over c levels), because the sampler draws
 *     such a dimension uniformly.
 * Summed over the activity patterns of a conditional space, f integrates to
 * one; an inactive value never enters a bandwidth or a kernel centre.
 *
 * Bandwidths (normal reference rule, as statsmodels / HpBandSter):
 * h_j = 1.06 * sd_j * m_j^(-1/(4+d)) over the m_j rows where dimension j is
 * active (population sd), then at least min_bw. When m_j < 2 or sd_j = 0 the
 * spread is unknown and sd_j is replaced by sd_u / sqrt(max(m_j, 1)), sd_u
 * being the sd of the uniform distribution on the dimension (1/sqrt(12) on
 * [0, 1], sqrt((c^2-1)/12) on 0..c-1): about the spread that one observation
 * at a typical distance would add, so the fallback stays below the bandwidth
 * of data with any real spread and shrinks as evidence accumulates.
 * Categorical lambda is then clipped to (c-1)/c (the uniform kernel), ordinal
 * lambda to FRESH__KDE_WR_MAX. A one-level categorical/ordinal has density 1.
 *
 * Costs: fit is O(n d) (plus O(c) per ordinal level table) and reuses its
 * buffers (they only grow); logpdf is O(n d) with no allocation (scratch
 * lives in the object), summing rows by log-sum-exp so that 40 dimensions do
 * not underflow; sample is O(d) (O(c) for an ordinal dimension).
 *
 * Thread safety: one object per thread (logpdf writes the object's scratch).
 */
#ifndef FRESH_KDE_H
#define FRESH_KDE_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "fresh/status.h"

/* Largest Wang-Ryzin lambda: at 1 the kernel would not depend on the data. */
#define FRESH__KDE_WR_MAX 0.99

typedef enum fresh__kde_kind {
    FRESH__KDE_CONT = 0, /* [0, 1], truncated Gaussian */
    FRESH__KDE_CAT = 1,  /* 0..n_levels-1, Aitchison-Aitken */
    FRESH__KDE_ORD = 2   /* 0..n_levels-1, Wang-Ryzin */
} fresh__kde_kind;

typedef struct fresh__kde_dim {
    fresh__kde_kind kind;
    size_t n_levels; /* CAT/ORD: number of levels (>= 1, from the space); CONT: ignored */
} fresh__kde_dim;

typedef struct fresh__kde fresh__kde;

/* A new, unfitted model over d >= 1 dimensions (dims copied). Returns
 * FRESH_OK and *out, FRESH_EINVAL (d = 0, NULL pointer, unknown kind, a
 * CAT/ORD dimension without levels) or FRESH_ENOMEM; *out is NULL on error. */
int fresh__kde_create(size_t d, const fresh__kde_dim *dims, fresh__kde **out);

/* Frees the model; NULL is a no-op. */
void fresh__kde_destroy(fresh__kde *k);

/* Fits the model to n >= 1 rows (row-major n x d, unit encoding; NaN marks an
 * inactive value; copied). CONT values must lie in [0, 1] (values within 1e-9
 * outside are clamped), CAT/ORD values must be level indices.
 * min_bw > 0 is the smallest bandwidth; CONT dimensions also get at least
 * cont_floor (>= 0; the sampler passes a floor that shrinks with n, see
 * docs/algorithms.md). Returns FRESH_OK, FRESH_EINVAL (the
 * model is unchanged; errmsg names the row and dimension) or FRESH_ENOMEM
 * (the previous fit stays usable). */
int fresh__kde_fit(fresh__kde *k, const double *rows, size_t n, double min_bw, double cont_floor);

/* log f(x) for x in the unit encoding (d values, NaN = inactive). -INFINITY
 * when x lies outside the support (CONT outside [0, 1], a level out of
 * range); NaN when the model is not fitted or k or x is NULL. O(n d), no
 * allocation. */
double fresh__kde_logpdf(fresh__kde *k, const double *x);

/* An estimate of fresh__kde_logpdf(k, x) and a bound *err >= 0 on its error:
 * |estimate - logpdf| <= *err (err NULL: the exact value). On CPUs with
 * AVX2 and FMA, for a query point with every dimension active and a fit
 * with no ORD dimension and no inactive CONT row value, it is computed in
 * single precision, eight rows per vector (a third to a half of logpdf's
 * time); the bound follows the float rounding (kde.c, above the function)
 * and is about 1e-5 to 1e-3 in practice, at most 1. Otherwise it is logpdf
 * itself with *err = 0. If a lower bound of logpdf computed on the way
 * (the largest row term) exceeds `above`, it may stop there: it returns
 * that bound, v > above and logpdf >= v, with *err = INFINITY (pass
 * INFINITY for `above` to always get the estimate). Lets a caller that
 * ranks candidates (the BOHB sampler) rank them cheaply, drop those that
 * cannot win, and compute logpdf only for those whose bounds overlap the
 * best. O(n d), no allocation; not thread-safe on one k (k's scratch). */
double fresh__kde_logpdf_screen(fresh__kde *k, const double *x, double above, double *err);

/* Test hook: with on = 0, fresh__kde_logpdf_screen is always exact (*err =
 * 0); on = 1 is the default. Returns 1 if the screen applies to the
 * current fit. */
int fresh__kde_use_screen(fresh__kde *k, int on);

/* Draws one point into out (d values, all of them drawn, none NaN): a row
 * chosen uniformly, then per dimension a draw from that row's kernel, the
 * CONT bandwidths multiplied by bw_factor > 0 (BOHB's bandwidth_factor; with
 * 1 the draws follow logpdf exactly); a dimension where the row is inactive
 * is drawn uniformly. Returns FRESH_OK, FRESH_EINVAL or FRESH_ESTATE (not
 * fitted). */
int fresh__kde_sample(fresh__kde *k, gsl_rng *rng, double bw_factor, double *out);

/* Test hook: with on = 0 the model uses its two-lane (SSE2/NEON) loops,
 * with on = 1 its four-lane AVX2 loops where the CPU has AVX2 (the default).
 * Returns 1 if the AVX2 loops are in use. Affects later fits and logpdfs. */
int fresh__kde_use_avx2(fresh__kde *k, int on);

/* Number of rows of the current fit (0 before the first fit). */
size_t fresh__kde_n(const fresh__kde *k);

/* Number of dimensions. */
size_t fresh__kde_ndim(const fresh__kde *k);

/* The d bandwidths of the current fit (CONT: Gaussian sd in the unit
 * encoding; CAT/ORD: lambda); NULL before the first fit. Valid until the
 * next fit or destroy. */
const double *fresh__kde_bandwidths(const fresh__kde *k);

/* The message of the last failed call ("" if none). */
const char *fresh__kde_errmsg(const fresh__kde *k);

#endif
