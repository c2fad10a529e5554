/*
 * kde.c - the mixed-type product-kernel KDE behind BOHB (see kde.h for the
 * model, the kernels, the inactive-value rule and the bandwidth rule).
 *
 * DESIGN. Everything that does not depend on the query point is computed at
 * fit time and stored per (row, dimension), so that logpdf is one pass over
 * n x d numbers:
 * The per-row arrays are stored column-major (dimension j's rows at
 * [j n, j n + n)), so that logpdf makes one branch-free pass over the rows
 * per dimension, which the compiler can vectorise.
 *   CONT   mu = X_rj, ainv = 1/h_j, cst = -log h_j - log sqrt(2 pi) - log Z_rj,
 *          with Z_rj = Phi((1-X_rj)/h_j) - Phi(-X_rj/h_j) the mass of the
 *          Gaussian inside [0, 1]; the term is cst - ((x - mu) * ainv)^2 / 2.
 *          An inactive row value gets mu = 0, ainv = 0, cst = 0: the uniform
 *          density 1 on [0, 1], with no branch in the loop.
 *   CAT    mu = level, or -1 when inactive; per-dimension log(1 - lambda),
 *          log(lambda / (c - 1)) and log(1 / c).
 *   ORD    mu = level, or -1 when inactive; per-dimension log lambda and a
 *          per-level table log S(X) of the Wang-Ryzin normaliser
 *          S(X) = sum_x w(x, X), w = 1 on a match, lambda^|x-X| / 2 otherwise
 *          (the factor 1 - lambda cancels in the normalisation).
 * Z_rj is computed as (erf(X/(h sqrt 2)) + erf((1-X)/(h sqrt 2))) / 2: both
 * terms are non-negative (the centre lies in [0, 1]), so there is no
 * cancellation, even for wide kernels.
 *
 * Truncated sampling by inversion: with a = -X/h, b = (1-X)/h and u uniform,
 * p = Phi(a) + u Z; z = Phi^-1(p) when p < 1/2, else z = Q^-1(Q(b) + (1-u) Z)
 * (Q the upper tail), so that both tails keep full relative precision; z is
 * then clamped to [a, b] against rounding.
 */
#include "kde.h"

#include <math.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "internal.h"
#include "vmath.h"

/* The four-lane path is switched on per function with GCC's target pragma;
 * clang (the fuzzing build) keeps the two-lane path. */
#if defined(FRESH_HAVE_LIBMVEC) && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FRESH_KDE_AVX2 1
#endif

#define LOG_SQRT_2PI 0.91893853320467274178 /* log(sqrt(2 pi)) */
#define SQRT1_2 0.70710678118654752440      /* 1/sqrt(2) */
#define LN2 0.69314718055994530942          /* log 2 */
#define UNIT_SLACK 1e-9                      /* CONT values this far outside [0, 1] are clamped */

struct fresh__kde {
    size_t d;
    fresh__kde_dim *dims;
    size_t n;   /* rows of the current fit */
    double log_n; /* log n */
    size_t cap; /* rows the per-row arrays hold */
    double *mu;      /* n x d */
    double *ainv;    /* n x d, CONT only */
    double *cst;     /* n x d, CONT only */
    double *scratch; /* n + 3: per-row log kernel products (pads) */
    double *lsum;    /* n: sum over CONT dimensions of cst (the rows' constant
                      * when the query point has every dimension active) */
    size_t *cont;    /* the CONT dimensions' indices */
    size_t n_cont;
    double *cont_inv; /* n_cont: 1/h of each CONT dimension */
    int cont_dense;  /* every row active in every CONT dimension: ainv[r] is
                      * cont_inv[c] for all rows, so logpdf reads no ainv */
    size_t *cat;     /* the CAT dimensions' indices */
    size_t n_cat;
    int avx2;        /* the CPU has AVX2: logpdf's four-lane path */
    double *bw;       /* d */
    double *log_match; /* d: CAT log(1 - lambda) */
    double *log_other; /* d: CAT log(lambda / (c - 1)) */
    double *log_lambda;/* d: ORD log lambda */
    double *log_unif;  /* d: log of the uniform density (0 or -log c) */
    size_t *ord_off;   /* d: offset of the dimension's table in ord_logs */
    double *ord_logs;  /* sum of c over ORD dims: log S(X) per level */
    double *new_bw;    /* d: fit's candidate bandwidths before commit */
    double *col_m, *col_mean, *col_ss; /* d each: bandwidths' scratch */
    /* sample's per-row constants of the truncated kernels, computed when a
     * row is first drawn after a fit (or a change of bw_factor) and reused
     * by later draws of the row: the mass Z, and Phi(-X/h) and Q((1-X)/h)
     * when a draw first needs them (n x d each) */
    double *draw_pa, *draw_z, *draw_qb; /* Phi(a), Z, Q(b); NaN: not yet */
    unsigned long *draw_stamp; /* n: the row's constants hold for draw_key */
    size_t draw_cap;
    unsigned long draw_key;    /* changes with every fit and bw_factor */
    double draw_bwf;
    /* the single-precision screen (fresh__kde_logpdf_screen), AVX2 only:
     * float copies of mu (column-major, stride fstride = n rounded up to 8;
     * pad rows 0), of lsum (pads -inf) and of the CAT constants, built by
     * fit when screen_ok */
    int has_ord;      /* some dimension is ORD: no screen */
    int screen_on;    /* test hook (fresh__kde_use_screen); default 1 */
    int fma;          /* the CPU has FMA (the screen needs AVX2 and FMA) */
    int screen_ok;    /* the current fit has the screen's arrays */
    size_t fcap, fstride;
    float *fmu, *flsum, *fscratch; /* fmu: CONT columns hold mu / h */
    float *fcat;      /* 3 per CAT dimension: log match, log other, log unif */
    double scr_A;     /* sqrt(sum over CONT of (1/h)^2) */
    double scr_L;     /* max_r lsum[r] + sum over CAT of the largest term */
    double scr_M;     /* max_r |lsum[r]| + sum over CAT of the largest |term| */
    char errmsg[FRESH__ERRMSG_LEN];
};

int fresh__kde_create(size_t d, const fresh__kde_dim *dims, fresh__kde **out)
{
    fresh_init();
    if (!out)
        return FRESH_EINVAL;
    *out = NULL;
    if (d == 0 || !dims)
        return FRESH_EINVAL;
    size_t n_ord = 0;
    for (size_t j = 0; j < d; j++) {
        if (dims[j].kind == FRESH__KDE_CONT)
            continue;
        if (dims[j].kind != FRESH__KDE_CAT && dims[j].kind != FRESH__KDE_ORD)
            return FRESH_EINVAL;
        if (dims[j].n_levels == 0)
            return FRESH_EINVAL;
        if (dims[j].kind == FRESH__KDE_ORD)
            n_ord += dims[j].n_levels;
    }

    fresh__kde *k = fresh__calloc(1, sizeof *k);
    if (!k)
        return FRESH_ENOMEM;
    k->d = d;
    k->dims = fresh__malloc(d * sizeof *k->dims);
    k->bw = fresh__calloc(d, sizeof *k->bw);
    k->log_match = fresh__calloc(d, sizeof(double));
    k->log_other = fresh__calloc(d, sizeof(double));
    k->log_lambda = fresh__calloc(d, sizeof(double));
    k->log_unif = fresh__calloc(d, sizeof(double));
    k->ord_off = fresh__calloc(d, sizeof(size_t));
    k->ord_logs = fresh__calloc(n_ord ? n_ord : 1, sizeof(double));
    k->new_bw = fresh__calloc(d, sizeof(double));
    k->col_m = fresh__calloc(3 * d, sizeof(double));
    if (k->col_m) {
        k->col_mean = k->col_m + d;
        k->col_ss = k->col_m + 2 * d;
    }
    k->cont = fresh__calloc(d, sizeof(size_t));
    k->cont_inv = fresh__calloc(d, sizeof(double));
    k->cat = fresh__calloc(d, sizeof(size_t));
    k->fcat = fresh__calloc(3 * d, sizeof(float));
    k->has_ord = n_ord > 0;
    k->screen_on = 1;
    if (!k->fcat ||!k->dims || !k->bw || !k->log_match || !k->log_other || !k->log_lambda ||
        !k->log_unif || !k->ord_off || !k->ord_logs || !k->new_bw || !k->cont || !k->cat || !k->cont_inv ||
        !k->col_m)
        goto fail;
    memcpy(k->dims, dims, d * sizeof *dims);
#if defined(FRESH_KDE_AVX2)
    k->avx2 = __builtin_cpu_supports("avx2") != 0;
    k->fma = __builtin_cpu_supports("fma") != 0;
#endif
    size_t off = 0;
    for (size_t j = 0; j < d; j++) {
        if (dims[j].kind == FRESH__KDE_CAT)
            k->cat[k->n_cat++] = j;
        if (dims[j].kind == FRESH__KDE_CONT) {
            k->cont[k->n_cont++] = j;
            k->dims[j].n_levels = 0;
            k->log_unif[j] = 0.0;
        } else {
            k->log_unif[j] = -log((double)dims[j].n_levels);
        }
        if (dims[j].kind == FRESH__KDE_ORD) {
            k->ord_off[j] = off;
            off += dims[j].n_levels;
        }
    }
    *out = k;
    return FRESH_OK;

fail:
    fresh__kde_destroy(k);
    return FRESH_ENOMEM;
}

void fresh__kde_destroy(fresh__kde *k)
{
    if (!k)
        return;
    fresh__free(k->dims);
    fresh__free(k->mu);
    fresh__free(k->ainv);
    fresh__free(k->cst);
    fresh__free(k->scratch);
    fresh__free(k->lsum);
    fresh__free(k->cont);
    fresh__free(k->cont_inv);
    fresh__free(k->cat);
    fresh__free(k->bw);
    fresh__free(k->log_match);
    fresh__free(k->log_other);
    fresh__free(k->log_lambda);
    fresh__free(k->log_unif);
    fresh__free(k->ord_off);
    fresh__free(k->ord_logs);
    fresh__free(k->new_bw);
    fresh__free(k->col_m);
    fresh__free(k->draw_pa);
    fresh__free(k->draw_z);
    fresh__free(k->draw_qb);
    fresh__free(k->draw_stamp);
    fresh__free(k->fmu);
    fresh__free(k->flsum);
    fresh__free(k->fscratch);
    fresh__free(k->fcat);
    fresh__free(k);
}

size_t fresh__kde_n(const fresh__kde *k) { return k ? k->n : 0; }

size_t fresh__kde_ndim(const fresh__kde *k) { return k ? k->d : 0; }

const double *fresh__kde_bandwidths(const fresh__kde *k)
{
    return (k && k->n > 0) ? k->bw : NULL;
}

const char *fresh__kde_errmsg(const fresh__kde *k) { return k ? k->errmsg : ""; }

static const char *kind_name(fresh__kde_kind kind)
{
    switch (kind) {
    case FRESH__KDE_CONT: return "continuous";
    case FRESH__KDE_CAT: return "categorical";
    case FRESH__KDE_ORD: return "ordinal";
    }
    return "?";
}

/* 1 if v is a valid level index of a c-level dimension. */
static int is_level(double v, size_t c)
{
    return isfinite(v) && v >= 0.0 && v == floor(v) && v < (double)c;
}

/* Validates one row value; 1 if acceptable. */
static int value_ok(const fresh__kde_dim *dim, double v)
{
    if (isnan(v))
        return 1;
    if (dim->kind == FRESH__KDE_CONT)
        return isfinite(v) && v >= -UNIT_SLACK && v <= 1.0 + UNIT_SLACK;
    return is_level(v, dim->n_levels);
}

static double clamp01(double v) { return v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v); }

/* Grows every per-row array to hold n rows. The old content is kept, so the
 * previous fit stays valid when a reallocation fails. */
static int grow(fresh__kde *k, size_t n)
{
    if (n <= k->cap)
        return FRESH_OK;
    size_t cap = k->cap ? k->cap : 16;
    while (cap < n)
        cap *= 2;
    if (cap > SIZE_MAX / sizeof(double) / k->d)
        return FRESH_ENOMEM;
    size_t nd = cap * k->d;
    double *p;
    if (!(p = fresh__realloc(k->mu, nd * sizeof *p)))
        return FRESH_ENOMEM;
    k->mu = p;
    if (!(p = fresh__realloc(k->ainv, nd * sizeof *p)))
        return FRESH_ENOMEM;
    k->ainv = p;
    if (!(p = fresh__realloc(k->cst, nd * sizeof *p)))
        return FRESH_ENOMEM;
    k->cst = p;
    if (!(p = fresh__realloc(k->scratch, (cap + 3) * sizeof *p)))
        return FRESH_ENOMEM;
    k->scratch = p;
    if (!(p = fresh__realloc(k->lsum, cap * sizeof *p)))
        return FRESH_ENOMEM;
    k->lsum = p;
    k->cap = cap;
    return FRESH_OK;
}

/* Standard deviation of the uniform distribution on the dimension. */
static double uniform_sd(const fresh__kde_dim *dim)
{
    if (dim->kind == FRESH__KDE_CONT)
        return sqrt(1.0 / 12.0);
    double c = (double)dim->n_levels;
    return sqrt((c * c - 1.0) / 12.0);
}

/* The normal-reference bandwidths of every column (see kde.h), clipped,
 * into k->new_bw. The rows are read row by row, every column's running mean
 * and sum of squares updated side by side (each column's arithmetic is that
 * of a pass down the column alone: the same values). */
static void bandwidths(fresh__kde *k, const double *rows, size_t n, double min_bw,
                       double cont_floor)
{
    size_t d = k->d;
    double *m = k->col_m, *mean = k->col_mean, *ss = k->col_ss;
    for (size_t j = 0; j < d; j++)
        m[j] = mean[j] = ss[j] = 0.0;
    for (size_t r = 0; r < n; r++) {
        const double *row = rows + r * d;
        for (size_t j = 0; j < d; j++) {
            double v = row[j];
            if (isnan(v))
                continue;
            m[j] += 1.0;
            mean[j] += (v - mean[j]) / m[j];
        }
    }
    for (size_t r = 0; r < n; r++) {
        const double *row = rows + r * d;
        for (size_t j = 0; j < d; j++) {
            double v = row[j];
            if (!isnan(v))
                ss[j] += (v - mean[j]) * (v - mean[j]);
        }
    }
    for (size_t j = 0; j < d; j++) {
        const fresh__kde_dim *dim = &k->dims[j];
        if (dim->kind != FRESH__KDE_CONT && dim->n_levels == 1) {
            k->new_bw[j] = 0.0; /* one level: the kernel is 1 whatever lambda is */
            continue;
        }
        double mj = m[j];
        double sd = mj >= 2.0 ? sqrt(ss[j] / mj) : 0.0; /* population sd, as statsmodels */
        /* zero spread or too few values: the spread one typical observation adds */
        if (mj < 2.0 || !(sd > 1e-12))
            sd = uniform_sd(dim) / sqrt(mj >= 1.0 ? mj : 1.0);
        double h = 1.06 * sd * pow(mj >= 1.0 ? mj : 1.0, -1.0 / (4.0 + (double)d));
        if (h < min_bw)
            h = min_bw;
        if (dim->kind == FRESH__KDE_CONT && h < cont_floor)
            h = cont_floor;
        if (dim->kind == FRESH__KDE_CAT) {
            double hi = (double)(dim->n_levels - 1) / (double)dim->n_levels;
            if (h > hi)
                h = hi;
        } else if (dim->kind == FRESH__KDE_ORD) {
            if (h > FRESH__KDE_WR_MAX)
                h = FRESH__KDE_WR_MAX;
        }
        k->new_bw[j] = h;
    }
}

#if defined(FRESH_KDE_AVX2)
static void col_log_mass_avx2(const double *mu, double *out, size_t n, double h);
#endif

/* out[r] = log of the mass of N(mu[r], h^2) inside [0, 1], for mu in [0, 1],
 * two rows at a time (vmath.h). */
static void col_log_mass(const double *mu, double *out, size_t n, double h)
{
    fresh__v2d S = {SQRT1_2 / h, SQRT1_2 / h}, one = {1.0, 1.0}, half = {0.5, 0.5};
    size_t r = 0;
    for (; r + 2 <= n; r += 2) {
        fresh__v2d m = fresh__vload(mu + r);
        fresh__vstore(out + r,
                      fresh__vlog(half * (fresh__verf(m * S) + fresh__verf((one - m) * S))));
    }
    if (r < n) {
        fresh__v2d m = {mu[r], mu[r]};
        out[r] = fresh__vlog(half * (fresh__verf(m * S) + fresh__verf((one - m) * S)))[0];
    }
}

/* The screen's arrays for the current fit (k->n rows): screen_ok = 0 when
 * the screen does not apply (no AVX2, an ORD dimension, an inactive CONT
 * row value, a non-finite constant) or memory is short; logpdf_screen is
 * then exact. */
static void screen_build(fresh__kde *k)
{
    k->screen_ok = 0;
    if (!k->avx2 || !k->fma || !k->screen_on || k->has_ord || !k->cont_dense)
        return;
    size_t n = k->n, d = k->d, stride = (n + 7) & ~(size_t)7;
    if (stride > k->fcap) {
        size_t cap = k->fcap ? k->fcap : 16;
        while (cap < stride)
            cap *= 2;
        if (cap > SIZE_MAX / sizeof(float) / d)
            return;
        float *p;
        if (!(p = fresh__realloc(k->fmu, cap * d * sizeof *p)))
            return;
        k->fmu = p;
        if (!(p = fresh__realloc(k->flsum, cap * sizeof *p)))
            return;
        k->flsum = p;
        if (!(p = fresh__realloc(k->fscratch, cap * sizeof *p)))
            return;
        k->fscratch = p;
        k->fcap = cap;
    }
    k->fstride = stride;
    double L = -INFINITY, M = 0.0, A = 0.0;
    for (size_t r = 0; r < n; r++) {
        if (!isfinite(k->lsum[r]))
            return;
        L = k->lsum[r] > L ? k->lsum[r] : L;
        M = fabs(k->lsum[r]) > M ? fabs(k->lsum[r]) : M;
        k->flsum[r] = (float)k->lsum[r];
    }
    for (size_t r = n; r < stride; r++)
        k->flsum[r] = -INFINITY;
    for (size_t c = 0; c < k->n_cont; c++) {
        double inv = k->cont_inv[c];
        if (!isfinite(inv) || !(inv < 1e30))
            return;
        A += inv * inv;
    }
    for (size_t j = 0; j < d; j++) {
        /* CONT: mu / h, so that z = x / h - mu / h is one subtraction */
        double inv = k->dims[j].kind == FRESH__KDE_CONT ? 1.0 / k->bw[j] : 1.0;
        float *fm = k->fmu + j * stride;
        const double *mu = k->mu + j * n;
        for (size_t r = 0; r < n; r++)
            fm[r] = (float)(mu[r] * inv);
        for (size_t r = n; r < stride; r++)
            fm[r] = 0.0f;
    }
    for (size_t c = 0; c < k->n_cat; c++) {
        size_t j = k->cat[c];
        double t[3] = {k->log_match[j], k->log_other[j], k->log_unif[j]};
        double top = -INFINITY, big = 0.0;
        for (int i = 0; i < 3; i++) {
            /* log_other is -inf only with one level, where no row differs */
            k->fcat[3 * c + i] = (float)t[i];
            if (isinf(t[i]) && t[i] < 0.0 && i == 1 && k->dims[j].n_levels == 1)
                continue;
            if (!isfinite(t[i]))
                return;
            top = t[i] > top ? t[i] : top;
            big = fabs(t[i]) > big ? fabs(t[i]) : big;
        }
        L += top;
        M += big;
    }
    k->scr_A = sqrt(A);
    k->scr_L = L;
    k->scr_M = M;
    k->screen_ok = 1;
}

int fresh__kde_fit(fresh__kde *k, const double *rows, size_t n, double min_bw, double cont_floor)
{
    if (!k)
        return FRESH_EINVAL;
    if (n == 0)
        return fresh__set_err(k->errmsg, FRESH_EINVAL, "kde fit: no rows");
    if (!rows)
        return fresh__set_err(k->errmsg, FRESH_EINVAL, "kde fit: rows is NULL");
    if (!(min_bw > 0.0) || !isfinite(min_bw))
        return fresh__set_err(k->errmsg, FRESH_EINVAL,
                              "kde fit: min_bandwidth must be finite and > 0, got %g", min_bw);
    size_t d = k->d;
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < d; j++)
            if (!value_ok(&k->dims[j], rows[r * d + j]))
                return fresh__set_err(k->errmsg, FRESH_EINVAL,
                                      "kde fit: row %zu, dimension %zu (%s, %zu levels): "
                                      "invalid value %g",
                                      r, j, kind_name(k->dims[j].kind), k->dims[j].n_levels,
                                      rows[r * d + j]);
    int rc = grow(k, n);
    if (rc != FRESH_OK)
        return fresh__set_err(k->errmsg, rc, "kde fit: out of memory for %zu rows", n);

    /* Nothing can fail from here on. */
    bandwidths(k, rows, n, min_bw, cont_floor);
    memcpy(k->bw, k->new_bw, d * sizeof *k->bw);

    for (size_t j = 0; j < d; j++) {
        const fresh__kde_dim *dim = &k->dims[j];
        double h = k->bw[j];
        if (dim->kind == FRESH__KDE_CAT) {
            size_t c = dim->n_levels;
            k->log_match[j] = c > 1 ? log1p(-h) : 0.0;
            k->log_other[j] = c > 1 ? log(h / (double)(c - 1)) : -INFINITY;
        } else if (dim->kind == FRESH__KDE_ORD) {
            size_t c = dim->n_levels;
            double *ls = k->ord_logs + k->ord_off[j];
            if (c == 1) {
                k->log_lambda[j] = -INFINITY;
                ls[0] = 0.0;
            } else {
                /* S(X) = 1 + (G(X) + G(c-1-X)) / 2, G(m) = sum_{i=1..m} h^i */
                k->log_lambda[j] = log(h);
                for (size_t X = 0; X < c; X++) {
                    double left = h * (1.0 - pow(h, (double)X)) / (1.0 - h);
                    double right = h * (1.0 - pow(h, (double)(c - 1 - X))) / (1.0 - h);
                    ls[X] = log1p(0.5 * (left + right));
                }
            }
        }
    }

    for (size_t r = 0; r < n; r++)
        k->lsum[r] = 0.0;
    k->cont_dense = 1;
    for (size_t c = 0; c < k->n_cont; c++)
        k->cont_inv[c] = 1.0 / k->bw[k->cont[c]];
    for (size_t j = 0; j < d; j++) {
        double *mu = k->mu + j * n, *ainv = k->ainv + j * n, *cst = k->cst + j * n;
        if (k->dims[j].kind != FRESH__KDE_CONT) {
            for (size_t r = 0; r < n; r++) {
                double v = rows[r * d + j];
                mu[r] = isnan(v) ? -1.0 : v;
                ainv[r] = 0.0;
                cst[r] = 0.0;
            }
            continue;
        }
        /* column-major, stride n; an inactive row value gets mu = 0,
         * ainv = 0, cst = 0: the uniform density 1 on [0, 1] */
        double h = k->bw[j], inv = 1.0 / h;
        for (size_t r = 0; r < n; r++) {
            double v = rows[r * d + j];
            mu[r] = isnan(v) ? 0.0 : clamp01(v);
            ainv[r] = isnan(v) ? 0.0 : inv;
            if (isnan(v))
                k->cont_dense = 0;
        }
#if defined(FRESH_KDE_AVX2)
        if (k->avx2)
            col_log_mass_avx2(mu, cst, n, h);
        else
#endif
            col_log_mass(mu, cst, n, h);
        double base = -log(h) - LOG_SQRT_2PI;
        for (size_t r = 0; r < n; r++) {
            cst[r] = ainv[r] == 0.0 ? 0.0 : base - cst[r];
            k->lsum[r] += cst[r];
        }
    }
    k->n = n;
    k->log_n = log((double)n);
    k->draw_key++; /* every row's draw constants are stale */
    screen_build(k);
    k->errmsg[0] = '\0';
    return FRESH_OK;
}

/* s[r] += cst[r] - ((x - mu[r]) ainv[r])^2 / 2 for every row: one dimension
 * of a query point with inactive dimensions (the general path). */
static void cont_pass(double *restrict s, const double *restrict mu,
                      const double *restrict ainv, const double *restrict cst, double xv,
                      size_t n)
{
    size_t r = 0;
    fresh__v2d X = {xv, xv}, H = {0.5, 0.5};
    for (; r + 2 <= n; r += 2) {
        fresh__v2d z = (X - fresh__vload(mu + r)) * fresh__vload(ainv + r);
        fresh__vstore(s + r, fresh__vload(s + r) + (fresh__vload(cst + r) - H * z * z));
    }
    for (; r < n; r++) {
        double z = (xv - mu[r]) * ainv[r];
        s[r] += cst[r] - 0.5 * z * z;
    }
}

/* The CAT term of one row: log(1 - lambda) on a match, log(lambda / (c-1))
 * otherwise, log(1/c) where the row is inactive (mu < 0). */
static inline double cat_term(double mu, double v, double lm, double lo, double lu)
{
    return mu < 0.0 ? lu : (mu == v ? lm : lo);
}

typedef long fresh__v2l __attribute__((vector_size(16)));

/* cat_term for two rows, by selection (the same values). */
static inline fresh__v2d cat_term2(fresh__v2d mu, double v, double lm, double lo, double lu)
{
    fresh__v2d V = {v, v}, Z = {0.0, 0.0}, LM = {lm, lm}, LO = {lo, lo}, LU = {lu, lu};
    fresh__v2l eq = mu == V, ina = mu < Z;
    fresh__v2l t = (eq & (fresh__v2l)LM) | (~eq & (fresh__v2l)LO);
    return (fresh__v2d)((ina & (fresh__v2l)LU) | (~ina & t));
}

/* The rows from r on of cont_fused, one at a time. */
static void fused_tail(const fresh__kde *k, double *restrict s, const double *xc,
                       const double *x, size_t r)
{
    size_t n = k->n;
    for (; r < n; r++) {
        double q = 0.0;
        for (size_t c = 0; c < k->n_cont; c++) {
            size_t off = k->cont[c] * n + r;
            double z = (xc[c] - k->mu[off]) * k->ainv[off];
            q += z * z;
        }
        double t = k->lsum[r] - 0.5 * q;
        for (size_t c = 0; c < k->n_cat; c++) {
            size_t j = k->cat[c];
            t += cat_term(k->mu[j * n + r], x[j], k->log_match[j], k->log_other[j],
                          k->log_unif[j]);
        }
        s[r] = t;
    }
}

/* s[r] = lsum[r] - sum over the CONT dimensions c of ((x_c - mu[r]) ainv[r])^2
 * / 2 + the CAT terms: every CONT and CAT dimension of a query point x with
 * all dimensions active, in one pass over the rows, with no store of s in
 * between. xc holds the clamped query values of the CONT dimensions. Eight
 * rows at a time in four independent two-lane (SSE2/NEON) sums, so that the
 * adds of one row's sum over the dimensions do not wait for each other's
 * latency; each row's arithmetic (and order of terms) is that of
 * fused_tail. */
static void cont_fused(const fresh__kde *k, double *restrict s, const double *xc,
                       const double *x)
{
    size_t n = k->n, nc = k->n_cont, nk = k->n_cat, r = 0;
    const double *restrict mu = k->mu, *restrict ai = k->ainv;
    const size_t *cont = k->cont, *cat = k->cat;
    const fresh__v2d H = {0.5, 0.5};
    for (; r + 8 <= n; r += 8) {
        fresh__v2d q0 = {0.0, 0.0}, q1 = q0, q2 = q0, q3 = q0;
        for (size_t c = 0; c < nc; c++) {
            const double *m = mu + cont[c] * n + r, *a = ai + cont[c] * n + r;
            fresh__v2d X = {xc[c], xc[c]};
            fresh__v2d z0 = (X - fresh__vload(m)) * fresh__vload(a);
            fresh__v2d z1 = (X - fresh__vload(m + 2)) * fresh__vload(a + 2);
            fresh__v2d z2 = (X - fresh__vload(m + 4)) * fresh__vload(a + 4);
            fresh__v2d z3 = (X - fresh__vload(m + 6)) * fresh__vload(a + 6);
            q0 += z0 * z0;
            q1 += z1 * z1;
            q2 += z2 * z2;
            q3 += z3 * z3;
        }
        fresh__v2d s0 = fresh__vload(k->lsum + r) - H * q0;
        fresh__v2d s1 = fresh__vload(k->lsum + r + 2) - H * q1;
        fresh__v2d s2 = fresh__vload(k->lsum + r + 4) - H * q2;
        fresh__v2d s3 = fresh__vload(k->lsum + r + 6) - H * q3;
        for (size_t c = 0; c < nk; c++) {
            size_t j = cat[c];
            const double *m = mu + j * n + r;
            double v = x[j], lm = k->log_match[j], lo = k->log_other[j], lu = k->log_unif[j];
            s0 += cat_term2(fresh__vload(m), v, lm, lo, lu);
            s1 += cat_term2(fresh__vload(m + 2), v, lm, lo, lu);
            s2 += cat_term2(fresh__vload(m + 4), v, lm, lo, lu);
            s3 += cat_term2(fresh__vload(m + 6), v, lm, lo, lu);
        }
        fresh__vstore(s + r, s0);
        fresh__vstore(s + r + 2, s1);
        fresh__vstore(s + r + 4, s2);
        fresh__vstore(s + r + 6, s3);
    }
    fused_tail(k, s, xc, x, r);
}

/* Lane-wise max (SSE2's maxpd where there is one). */
static inline fresh__v2d vmax(fresh__v2d a, fresh__v2d b)
{
#if defined(__SSE2__)
    return __builtin_ia32_maxpd(a, b);
#else
    typedef long v2l __attribute__((vector_size(16)));
    v2l m = a > b;
    return (fresh__v2d)(((v2l)a & m) | ((v2l)b & ~m));
#endif
}

/* log sum_r exp(s[r]) over n rows (s has room for three pads after row n),
 * two lanes at a time: max, then exp(s - max) summed in two lanes. Rows far
 * below the max add their (underflowing) exp like the others. */
static double log_sum_exp(double *s, size_t n)
{
    size_t m = (n + 3) & ~(size_t)3;
    for (size_t r = n; r < m; r++)
        s[r] = -INFINITY; /* pads: exp(-inf) = 0 */
    fresh__v2d b0 = {-INFINITY, -INFINITY}, b1 = b0, b2 = b0, b3 = b0;
    size_t r = 0;
    for (; r + 8 <= m; r += 8) { /* independent maxima: no wait on latency */
        b0 = vmax(b0, fresh__vload(s + r));
        b1 = vmax(b1, fresh__vload(s + r + 2));
        b2 = vmax(b2, fresh__vload(s + r + 4));
        b3 = vmax(b3, fresh__vload(s + r + 6));
    }
    for (; r < m; r += 4) {
        b0 = vmax(b0, fresh__vload(s + r));
        b1 = vmax(b1, fresh__vload(s + r + 2));
    }
    b0 = vmax(vmax(b0, b2), vmax(b1, b3));
    double best = b0[0] > b0[1] ? b0[0] : b0[1];
    if (!(best > -INFINITY))
        return -INFINITY;
    fresh__v2d B = {best, best}, a0 = {0.0, 0.0}, a1 = a0;
    for (r = 0; r < m; r += 4) {
        a0 += fresh__vexp(fresh__vload(s + r) - B);
        a1 += fresh__vexp(fresh__vload(s + r + 2) - B);
    }
    /* the four partial sums (rows r mod 4) added as the AVX2 path adds them */
    return best + log((a0[0] + a1[0]) + (a0[1] + a1[1]));
}

#if defined(FRESH_KDE_AVX2)
/* The same two functions four lanes wide, for CPUs with AVX2 (k->avx2):
 * the same operations on the same rows (no FMA contraction: GCC does not
 * contract in ISO C mode), partial sums kept per row mod 4 as above; only
 * libmvec's four-lane exp is a different implementation of exp. */
#pragma GCC push_options
#pragma GCC target("avx2")
typedef double v4d __attribute__((vector_size(32)));
v4d _ZGVdN4v_exp(v4d);
v4d _ZGVdN4v_log(v4d);
v4d _ZGVdN4v_erf(v4d);

static inline v4d load4(const double *p)
{
    v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store4(double *p, v4d v) { memcpy(p, &v, sizeof v); }

typedef long v4l __attribute__((vector_size(32)));

static inline v4d cat_term4(v4d mu, double v, double lm, double lo, double lu)
{
    v4d V = {v, v, v, v}, Z = {0.0, 0.0, 0.0, 0.0}, LM = {lm, lm, lm, lm};
    v4d LO = {lo, lo, lo, lo}, LU = {lu, lu, lu, lu};
    v4l eq = mu == V, ina = mu < Z;
    v4l t = (eq & (v4l)LM) | (~eq & (v4l)LO);
    return (v4d)((ina & (v4l)LU) | (~ina & t));
}

static void cont_fused_avx2(const fresh__kde *k, double *restrict s, const double *xc,
                            const double *x)
{
    size_t n = k->n, nc = k->n_cont, nk = k->n_cat, r = 0;
    const double *restrict mu = k->mu, *restrict ai = k->ainv;
    const size_t *cont = k->cont, *cat = k->cat;
    const v4d H = {0.5, 0.5, 0.5, 0.5};
    int dense = k->cont_dense;
    const double *inv = k->cont_inv;
    for (; r + 16 <= n; r += 16) { /* four independent sums, as cont_fused */
        v4d q0 = {0.0, 0.0, 0.0, 0.0}, q1 = q0, q2 = q0, q3 = q0;
        if (dense) { /* every ainv of column c is inv[c]: half the loads */
            for (size_t c = 0; c < nc; c++) {
                const double *m = mu + cont[c] * n + r;
                v4d X = {xc[c], xc[c], xc[c], xc[c]}, A = {inv[c], inv[c], inv[c], inv[c]};
                v4d z0 = (X - load4(m)) * A;
                v4d z1 = (X - load4(m + 4)) * A;
                v4d z2 = (X - load4(m + 8)) * A;
                v4d z3 = (X - load4(m + 12)) * A;
                q0 += z0 * z0;
                q1 += z1 * z1;
                q2 += z2 * z2;
                q3 += z3 * z3;
            }
        } else {
            for (size_t c = 0; c < nc; c++) {
                const double *m = mu + cont[c] * n + r, *a = ai + cont[c] * n + r;
                v4d X = {xc[c], xc[c], xc[c], xc[c]};
                v4d z0 = (X - load4(m)) * load4(a);
                v4d z1 = (X - load4(m + 4)) * load4(a + 4);
                v4d z2 = (X - load4(m + 8)) * load4(a + 8);
                v4d z3 = (X - load4(m + 12)) * load4(a + 12);
                q0 += z0 * z0;
                q1 += z1 * z1;
                q2 += z2 * z2;
                q3 += z3 * z3;
            }
        }
        v4d t0 = load4(k->lsum + r) - H * q0, t1 = load4(k->lsum + r + 4) - H * q1;
        v4d t2 = load4(k->lsum + r + 8) - H * q2, t3 = load4(k->lsum + r + 12) - H * q3;
        for (size_t c = 0; c < nk; c++) {
            size_t j = cat[c];
            const double *m = mu + j * n + r;
            double v = x[j], lm = k->log_match[j], lo = k->log_other[j], lu = k->log_unif[j];
            t0 += cat_term4(load4(m), v, lm, lo, lu);
            t1 += cat_term4(load4(m + 4), v, lm, lo, lu);
            t2 += cat_term4(load4(m + 8), v, lm, lo, lu);
            t3 += cat_term4(load4(m + 12), v, lm, lo, lu);
        }
        store4(s + r, t0);
        store4(s + r + 4, t1);
        store4(s + r + 8, t2);
        store4(s + r + 12, t3);
    }
    for (; r + 4 <= n; r += 4) {
        v4d q = {0.0, 0.0, 0.0, 0.0};
        for (size_t c = 0; c < nc; c++) {
            size_t off = cont[c] * n + r;
            v4d X = {xc[c], xc[c], xc[c], xc[c]};
            v4d z = (X - load4(mu + off)) * load4(ai + off);
            q += z * z;
        }
        v4d t = load4(k->lsum + r) - H * q;
        for (size_t c = 0; c < nk; c++) {
            size_t j = cat[c];
            t += cat_term4(load4(mu + j * n + r), x[j], k->log_match[j], k->log_other[j],
                           k->log_unif[j]);
        }
        store4(s + r, t);
    }
    fused_tail(k, s, xc, x, r);
}

static double log_sum_exp_avx2(double *s, size_t n)
{
    size_t m = (n + 3) & ~(size_t)3;
    for (size_t r = n; r < m; r++)
        s[r] = -INFINITY;
    v4d b = {-INFINITY, -INFINITY, -INFINITY, -INFINITY}, b1 = b, b2 = b, b3 = b;
    size_t r = 0;
    for (; r + 16 <= m; r += 16) {
        b = __builtin_ia32_maxpd256(b, load4(s + r));
        b1 = __builtin_ia32_maxpd256(b1, load4(s + r + 4));
        b2 = __builtin_ia32_maxpd256(b2, load4(s + r + 8));
        b3 = __builtin_ia32_maxpd256(b3, load4(s + r + 12));
    }
    for (; r < m; r += 4)
        b = __builtin_ia32_maxpd256(b, load4(s + r));
    b = __builtin_ia32_maxpd256(__builtin_ia32_maxpd256(b, b1), __builtin_ia32_maxpd256(b2, b3));
    double best = b[0];
    for (int i = 1; i < 4; i++)
        best = b[i] > best ? b[i] : best;
    if (!(best > -INFINITY))
        return -INFINITY;
    v4d B = {best, best, best, best}, a = {0.0, 0.0, 0.0, 0.0};
    for (r = 0; r < m; r += 4)
        a += _ZGVdN4v_exp(load4(s + r) - B);
    return best + log((a[0] + a[2]) + (a[1] + a[3]));
}
static void col_log_mass_avx2(const double *mu, double *out, size_t n, double h)
{
    double sh = SQRT1_2 / h;
    v4d S = {sh, sh, sh, sh}, one = {1.0, 1.0, 1.0, 1.0}, half = {0.5, 0.5, 0.5, 0.5};
    size_t r = 0;
    for (; r + 4 <= n; r += 4) {
        v4d m = load4(mu + r);
        store4(out + r, _ZGVdN4v_log(half * (_ZGVdN4v_erf(m * S) + _ZGVdN4v_erf((one - m) * S))));
    }
    for (; r < n; r++) {
        v4d m = {mu[r], mu[r], mu[r], mu[r]};
        out[r] = _ZGVdN4v_log(half * (_ZGVdN4v_erf(m * S) + _ZGVdN4v_erf((one - m) * S)))[0];
    }
}
#pragma GCC pop_options

/* The screen's single-precision loops (fresh__kde_logpdf_screen), for CPUs
 * with AVX2 and FMA: eight rows per vector. */
#pragma GCC push_options
#pragma GCC target("avx2,fma")
typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
v8f _ZGVdN8v_expf(v8f);

static inline v8f load8f(const float *p)
{
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline v8f bcast8f(float v) { return (v8f){v, v, v, v, v, v, v, v}; }

static inline v8f cat_term8f(v8f mu, float v, const float *t)
{
    v8i eq = mu == bcast8f(v), ina = mu < bcast8f(0.0f);
    v8i m = (eq & (v8i)bcast8f(t[0])) | (~eq & (v8i)bcast8f(t[1]));
    return (v8f)((ina & (v8i)bcast8f(t[2])) | (~ina & m));
}

/* s[r] = lsum[r] - sum_c (x_c / h_c - mu_rc / h_c)^2 / 2 + the CAT terms for
 * every row (the pads get -inf) into k->fscratch; returns max_r s[r]. xs
 * holds x_c / h_c of the CONT dimensions. Four independent sums of eight
 * rows, the squares accumulated by fused multiply-adds. */
static float screen_rows_avx2(const fresh__kde *k, const float *xs, const double *x)
{
    size_t stride = k->fstride, nc = k->n_cont, nk = k->n_cat, r = 0;
    const float *restrict mu = k->fmu;
    const float *restrict ls = k->flsum;
    float *restrict s = k->fscratch;
    const float *restrict fcat = k->fcat;
    const size_t *cont = k->cont, *cat = k->cat;
    const v8f H = bcast8f(-0.5f);
    v8f X[nc ? nc : 1];
    for (size_t c = 0; c < nc; c++)
        X[c] = bcast8f(xs[c]);
    v8f b0 = bcast8f(-INFINITY), b1 = b0;
    for (; r + 32 <= stride; r += 32) {
        v8f q0 = bcast8f(0.0f), q1 = q0, q2 = q0, q3 = q0;
        for (size_t c = 0; c < nc; c++) {
            const float *col = mu + cont[c] * stride + r;
            v8f z0 = X[c] - load8f(col), z1 = X[c] - load8f(col + 8);
            v8f z2 = X[c] - load8f(col + 16), z3 = X[c] - load8f(col + 24);
            q0 = __builtin_ia32_vfmaddps256(z0, z0, q0);
            q1 = __builtin_ia32_vfmaddps256(z1, z1, q1);
            q2 = __builtin_ia32_vfmaddps256(z2, z2, q2);
            q3 = __builtin_ia32_vfmaddps256(z3, z3, q3);
        }
        v8f t0 = __builtin_ia32_vfmaddps256(H, q0, load8f(ls + r));
        v8f t1 = __builtin_ia32_vfmaddps256(H, q1, load8f(ls + r + 8));
        v8f t2 = __builtin_ia32_vfmaddps256(H, q2, load8f(ls + r + 16));
        v8f t3 = __builtin_ia32_vfmaddps256(H, q3, load8f(ls + r + 24));
        for (size_t c = 0; c < nk; c++) {
            const float *col = mu + cat[c] * stride + r, *t = fcat + 3 * c;
            float v = (float)x[cat[c]];
            t0 += cat_term8f(load8f(col), v, t);
            t1 += cat_term8f(load8f(col + 8), v, t);
            t2 += cat_term8f(load8f(col + 16), v, t);
            t3 += cat_term8f(load8f(col + 24), v, t);
        }
        memcpy(s + r, &t0, sizeof t0);
        memcpy(s + r + 8, &t1, sizeof t1);
        memcpy(s + r + 16, &t2, sizeof t2);
        memcpy(s + r + 24, &t3, sizeof t3);
        b0 = __builtin_ia32_maxps256(b0, __builtin_ia32_maxps256(t0, t1));
        b1 = __builtin_ia32_maxps256(b1, __builtin_ia32_maxps256(t2, t3));
    }
    for (; r < stride; r += 8) {
        v8f q = bcast8f(0.0f);
        for (size_t c = 0; c < nc; c++) {
            v8f z = X[c] - load8f(mu + cont[c] * stride + r);
            q = __builtin_ia32_vfmaddps256(z, z, q);
        }
        v8f t = __builtin_ia32_vfmaddps256(H, q, load8f(ls + r));
        for (size_t c = 0; c < nk; c++)
            t += cat_term8f(load8f(mu + cat[c] * stride + r), (float)x[cat[c]], fcat + 3 * c);
        memcpy(s + r, &t, sizeof t);
        b0 = __builtin_ia32_maxps256(b0, t);
    }
    b0 = __builtin_ia32_maxps256(b0, b1);
    float best = b0[0];
    for (int i = 1; i < 8; i++)
        best = b0[i] > best ? b0[i] : best;
    return best;
}

/* sum_r exp(s[r] - m) over k->fscratch, m its max (the row at the max adds
 * exactly 1). */
static double screen_sum_avx2(const fresh__kde *k, float m)
{
    size_t stride = k->fstride, r = 0;
    const float *s = k->fscratch;
    v8f B = bcast8f(m), a0 = bcast8f(0.0f), a1 = a0;
    for (; r + 16 <= stride; r += 16) {
        a0 += _ZGVdN8v_expf(load8f(s + r) - B);
        a1 += _ZGVdN8v_expf(load8f(s + r + 8) - B);
    }
    if (r < stride)
        a0 += _ZGVdN8v_expf(load8f(s + r) - B);
    double sum = 0.0;
    for (int i = 0; i < 8; i++)
        sum += (double)a0[i] + (double)a1[i];
    return sum;
}
#pragma GCC pop_options
#endif

int fresh__kde_use_screen(fresh__kde *k, int on)
{
    if (!k)
        return 0;
    k->screen_on = on != 0;
    if (!k->screen_on)
        k->screen_ok = 0;
    else if (k->n > 0)
        screen_build(k);
    return k->screen_ok;
}

int fresh__kde_use_avx2(fresh__kde *k, int on)
{
    if (!k)
        return 0;
#if defined(FRESH_KDE_AVX2)
    k->avx2 = on && __builtin_cpu_supports("avx2");
#else
    (void)on;
    k->avx2 = 0;
#endif
    return k->avx2;
}

/* 0 if some value of x lies outside the support (density 0), else 1. */
static int in_support(const fresh__kde *k, const double *x)
{
    for (size_t j = 0; j < k->d; j++) {
        double v = x[j];
        if (isnan(v))
            continue;
        const fresh__kde_dim *dim = &k->dims[j];
        if (dim->kind == FRESH__KDE_CONT) {
            if (!(v >= -UNIT_SLACK && v <= 1.0 + UNIT_SLACK))
                return 0;
        } else if (!is_level(v, dim->n_levels)) {
            return 0;
        }
    }
    return 1;
}

double fresh__kde_logpdf(fresh__kde *k, const double *x)
{
    if (!k || !x || k->n == 0)
        return NAN;
    size_t d = k->d, n = k->n;
    /* a value outside the support gives density 0 */
    if (!in_support(k, x))
        return -INFINITY;

    double *restrict s = k->scratch;
    int all_active = 1;
    for (size_t j = 0; j < d; j++)
        if (isnan(x[j]))
            all_active = 0;
    if (all_active) {
        /* the common case: the CONT dimensions in one fused pass from the
         * rows' precomputed constants */
        double xc[k->n_cont ? k->n_cont : 1];
        for (size_t c = 0; c < k->n_cont; c++)
            xc[c] = clamp01(x[k->cont[c]]);
#if defined(FRESH_KDE_AVX2)
        if (k->avx2)
            cont_fused_avx2(k, s, xc, x);
        else
#endif
            cont_fused(k, s, xc, x);
    } else {
        for (size_t r = 0; r < n; r++)
            s[r] = 0.0;
    }
    /* One pass over the rows per remaining active dimension: the inner loops
     * have no branches on the kind and no dependency between rows. */
    for (size_t j = 0; j < d; j++) {
        double v = x[j];
        if (isnan(v))
            continue; /* integrated out: factor 1 */
        const double *restrict mu = k->mu + j * n;
        switch (k->dims[j].kind) {
        case FRESH__KDE_CONT: {
            if (!all_active)
                cont_pass(s, mu, k->ainv + j * n, k->cst + j * n, clamp01(v), n);
            break;
        }
        case FRESH__KDE_CAT: {
            if (all_active)
                break; /* in the fused pass */
            double lu = k->log_unif[j], lm = k->log_match[j], lo = k->log_other[j];
            for (size_t r = 0; r < n; r++)
                s[r] += cat_term(mu[r], v, lm, lo, lu);
            break;
        }
        case FRESH__KDE_ORD: {
            double lu = k->log_unif[j], ll = k->log_lambda[j];
            const double *ls = k->ord_logs + k->ord_off[j];
            for (size_t r = 0; r < n; r++) {
                if (mu[r] < 0.0) {
                    s[r] += lu;
                } else {
                    double dist = fabs(v - mu[r]);
                    double lw = dist == 0.0 ? 0.0 : -LN2 + dist * ll;
                    s[r] += lw - ls[(size_t)mu[r]];
                }
            }
            break;
        }
        }
    }
    double lse;
#if defined(FRESH_KDE_AVX2)
    if (k->avx2)
        lse = log_sum_exp_avx2(s, n);
    else
#endif
        lse = log_sum_exp(s, n);
    return lse == -INFINITY ? -INFINITY : lse - k->log_n;
}

/* The screen's error bound (see kde.h). u = 2^-24, the unit roundoff of
 * float. With z_rc = x_c / h_c - mu_rc / h_c (each quotient computed in
 * double and rounded to float: 2u / h_c on z_rc, then u |z_rc| for the
 * subtraction) and q_r = sum_c z_rc^2 accumulated by fused multiply-adds
 * (u q_r each), the float s_r differs from the exact one by at most
 *   u [2 A sqrt(q_r) + (3.5 + n_cont / 2) q_r + (n_cat + 2) (M + q_r / 2)]
 * to first order: A = sqrt(sum_c 1/h_c^2) bounds sum_c |z_rc| / h_c by
 * Cauchy-Schwarz; the last term is the rounding of lsum and the CAT
 * terms and of their sums, M bounding |lsum_r| + the CAT terms' sizes.
 * Rows more than T = 40 below the max weigh less than e^-40 each and are
 * covered by the sum's error term; the others have q_r <= 2 (L - m + T + 1)
 * (L bounds lsum_r + CAT terms, m is the computed max). Then log sum_r
 * exp(s_r - m) in float: expf's error (glibc documents at most 4 ulp for
 * its vector functions), the rounding of s_r - m (at most 0.37 u absolute
 * per row, since e^t |t| <= 1/e), the float sums of n / 16 terms per lane.
 * The whole is doubled for the second-order terms. */
#define SCREEN_U 5.9604644775390625e-8 /* 2^-24 */
#define SCREEN_T 40.0

double fresh__kde_logpdf_screen(fresh__kde *k, const double *x, double above, double *err)
{
    if (err)
        *err = 0.0;
    if (!k || !x || k->n == 0)
        return NAN;
#if defined(FRESH_KDE_AVX2)
    if (k->screen_ok && err && in_support(k, x)) {
        int all_active = 1;
        for (size_t j = 0; j < k->d; j++)
            if (isnan(x[j]))
                all_active = 0;
        if (all_active) {
            float xs[k->n_cont ? k->n_cont : 1];
            for (size_t c = 0; c < k->n_cont; c++)
                xs[c] = (float)(clamp01(x[k->cont[c]]) * k->cont_inv[c]);
            double m = screen_rows_avx2(k, xs, x), n = (double)k->n;
            double Q = 2.0 * (k->scr_L - m + SCREEN_T + 1.0);
            Q = Q > 0.0 ? Q : 0.0;
            double e_s = 2.0 * SCREEN_U *
                         (2.0 * k->scr_A * sqrt(Q) + (3.5 + 0.5 * (double)k->n_cont) * Q +
                          ((double)k->n_cat + 2.0) * (k->scr_M + 0.5 * Q));
            e_s += 1e-12 * (1.0 + fabs(m));
            if (isfinite(m) && isfinite(e_s) && e_s < 0.5) {
                /* f >= exp(s_max) / n: a lower bound with no exp */
                double low = m - e_s - k->log_n;
                if (low > above) {
                    *err = INFINITY;
                    return low;
                }
                double sum = screen_sum_avx2(k, (float)m);
                double e = e_s + 2.0 * SCREEN_U * (8.0 + 0.37 * n + n / 16.0) + n * exp(-SCREEN_T);
                if (isfinite(sum) && sum >= 1.0 && e < 1.0) {
                    *err = e;
                    return m + log(sum) - k->log_n;
                }
            }
        }
    }
#else
    (void)above;
#endif
    return fresh__kde_logpdf(k, x);
}

/* The mass Z inside [0, 1] of N(mu, h^2): the constant of every draw from
 * the truncated kernel. */
static double trunc_mass(double mu, double h)
{
    return 0.5 * (erf(mu * SQRT1_2 / h) + erf((1.0 - mu) * SQRT1_2 / h));
}

/* A draw from N(mu, h^2) truncated to [0, 1], by inversion (see the top),
 * given the mass Z. *pa caches Phi(a), a = -mu/h, and *qb caches Q(b), b =
 * (1 - mu)/h: NaN until a draw needs them. A draw with u Z >= 1/2 lies in
 * the upper half (p = Phi(a) + u Z >= 1/2 whatever Phi(a) >= 0 is, also in
 * floating point), so Phi(a) is computed only for draws that may fall in
 * the lower half, and Q(b) only for the upper: the same numbers as
 * computing both for every draw, fewer calls. */
static double sample_trunc(gsl_rng *rng, double mu, double h, double Z, double *pa, double *qb)
{
    double a = -mu / h, b = (1.0 - mu) / h;
    double u = gsl_rng_uniform(rng);
    double uz = u * Z;
    if (!(uz >= 0.5) && isnan(*pa))
        *pa = gsl_cdf_ugaussian_P(a);
    double p = uz >= 0.5 ? 1.0 : *pa + uz; /* only p < 1/2 is asked */
    double z;
    if (p < 0.5) {
        z = p > 0.0 ? gsl_cdf_ugaussian_Pinv(p) : a;
    } else { /* Q(b) only where the upper tail is used */
        if (isnan(*qb))
            *qb = gsl_cdf_ugaussian_Q(b);
        double q = *qb + (1.0 - u) * Z;
        z = q > 0.0 ? gsl_cdf_ugaussian_Qinv(q) : b;
    }
    if (!(z >= a))
        z = a;
    if (z > b)
        z = b;
    return clamp01(mu + h * z);
}

int fresh__kde_sample(fresh__kde *k, gsl_rng *rng, double bw_factor, double *out)
{
    if (!k)
        return FRESH_EINVAL;
    if (!rng || !out)
        return fresh__set_err(k->errmsg, FRESH_EINVAL, "kde sample: NULL rng or output");
    if (!(bw_factor > 0.0) || !isfinite(bw_factor))
        return fresh__set_err(k->errmsg, FRESH_EINVAL,
                              "kde sample: bandwidth factor must be finite and > 0, got %g",
                              bw_factor);
    if (k->n == 0)
        return fresh__set_err(k->errmsg, FRESH_ESTATE, "kde sample: model not fitted");
    size_t d = k->d;
    size_t n = k->n;
    size_t r = (size_t)gsl_rng_uniform_int(rng, (unsigned long)n);
    if (bw_factor != k->draw_bwf) {
        k->draw_bwf = bw_factor;
        k->draw_key++;
    }
    /* the row's draw constants: cached where there is room (they draw no
     * random numbers, so caching leaves the stream alone) */
    double pa_row[d], z_row[d], qb_row[d];
    double *pa = pa_row, *Z = z_row, *qb = qb_row;
    if (k->draw_cap < n) {
        size_t cap = k->cap; /* >= n */
        double *p1 = fresh__realloc(k->draw_pa, cap * d * sizeof *p1);
        if (p1)
            k->draw_pa = p1;
        double *p2 = p1 ? fresh__realloc(k->draw_z, cap * d * sizeof *p2) : NULL;
        if (p2)
            k->draw_z = p2;
        double *p4 = p2 ? fresh__realloc(k->draw_qb, cap * d * sizeof *p4) : NULL;
        if (p4)
            k->draw_qb = p4;
        unsigned long *p3 = p4 ? fresh__realloc(k->draw_stamp, cap * sizeof *p3) : NULL;
        if (p3) {
            k->draw_stamp = p3;
            for (size_t q = k->draw_cap; q < cap; q++)
                p3[q] = k->draw_key - 1; /* stale */
            k->draw_cap = cap;
        }
    }
    int cached = 0;
    if (k->draw_cap >= n) {
        pa = k->draw_pa + r * d;
        Z = k->draw_z + r * d;
        qb = k->draw_qb + r * d;
        cached = k->draw_stamp[r] == k->draw_key;
        k->draw_stamp[r] = k->draw_key;
    }
    if (!cached)
        for (size_t j = 0; j < d; j++)
            if (k->dims[j].kind == FRESH__KDE_CONT && k->ainv[j * n + r] != 0.0) {
                Z[j] = trunc_mass(k->mu[j * n + r], k->bw[j] * bw_factor);
                pa[j] = NAN; /* computed when a draw needs them */
                qb[j] = NAN;
            }
    for (size_t j = 0; j < d; j++) {
        double muj = k->mu[j * n + r], ainvj = k->ainv[j * n + r];
        const fresh__kde_dim *dim = &k->dims[j];
        switch (dim->kind) {
        case FRESH__KDE_CONT:
            if (ainvj == 0.0)
                out[j] = gsl_rng_uniform(rng);
            else
                out[j] = sample_trunc(rng, muj, k->bw[j] * bw_factor, Z[j], &pa[j], &qb[j]);
            break;
        case FRESH__KDE_CAT: {
            size_t c = dim->n_levels;
            if (c == 1) {
                out[j] = 0.0;
            } else if (muj < 0.0) {
                out[j] = (double)gsl_rng_uniform_int(rng, (unsigned long)c);
            } else if (gsl_rng_uniform(rng) >= k->bw[j]) {
                out[j] = muj; /* probability 1 - lambda */
            } else {
                size_t o = (size_t)gsl_rng_uniform_int(rng, (unsigned long)(c - 1));
                if (o >= (size_t)muj)
                    o++;
                out[j] = (double)o;
            }
            break;
        }
        case FRESH__KDE_ORD: {
            size_t c = dim->n_levels;
            if (c == 1) {
                out[j] = 0.0;
            } else if (muj < 0.0) {
                out[j] = (double)gsl_rng_uniform_int(rng, (unsigned long)c);
            } else {
                size_t X = (size_t)muj;
                double lam = k->bw[j];
                double S = exp(k->ord_logs[k->ord_off[j] + X]);
                double t = gsl_rng_uniform(rng) * S, acc = 0.0;
                size_t pick = X;
                for (size_t x = 0; x < c; x++) {
                    size_t dist = x > X ? x - X : X - x;
                    acc += dist == 0 ? 1.0 : 0.5 * pow(lam, (double)dist);
                    if (t < acc) {
                        pick = x;
                        break;
                    }
                }
                out[j] = (double)pick;
            }
            break;
        }
        }
    }
    return FRESH_OK;
}
