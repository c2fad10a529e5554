/*
 * gp_block.h - the loops over blocks of CB candidates (predict_many, in
 * two steps) and the triangular solves, included by gp.c once per vector
 * width (see there): VW the vector type, W its
 * lanes, VLD / VST its unaligned load and store, FN(name) the name of
 * this width's version of a function (all undefined at the end). Every lane does the same operations
 * in the same order whatever W is, so the versions agree bit for bit.
 */
#define NQ (CB / W)

/* The means of x[0..m) and their kernel columns, kept in gp->kst: block
 * b (candidates b * CB ..) at kst + b * n * CB, element (row a, candidate
 * b * CB + k) at [a * CB + k]; into var_hi (if not NULL) the bound on the
 * variance from the nearest row (fresh__gp_mean_many). Lane k of group q is
 * candidate q * W + k of the block. */
static void FN(kernel_many)(fresh__gp *gp, const double *x, size_t m, double *mean,
                            double *var_hi)
{
    size_t n = gp->n, d = gp->d;
    double sf2 = exp(gp->theta[d]), kdiag = sf2 + exp(gp->theta[d + 1]) + gp->jitter;
    double *C = gp->kc, tmp[CB];
    unsigned char *cnan = gp->kc_nan;
    const VW zero = {0.0}, one = zero + 1.0;
    for (size_t i0 = 0; i0 < m; i0 += CB) {
        size_t nb = m - i0 < CB ? m - i0 : CB;
        double *V = gp->kst + (i0 / CB) * n * CB;
        /* the block transposed; a short last block repeats its first point */
        for (size_t j = 0; j < d; j++) {
            cnan[j] = 0;
            for (size_t k = 0; k < CB; k++) {
                double c = x[(i0 + (k < nb ? k : 0)) * d + j];
                C[j * CB + k] = c;
                cnan[j] |= isnan(c) != 0;
            }
        }
        VW mu[NQ], kmax[NQ];
#pragma GCC unroll 8
        for (size_t q = 0; q < NQ; q++)
            mu[q] = kmax[q] = zero;
        for (size_t a = 0; a < n; a++) {
            const double *xa = gp->X + a * d;
            VW r2[NQ];
#pragma GCC unroll 8
            for (size_t q = 0; q < NQ; q++)
                r2[q] = zero;
            for (size_t j = 0; j < d; j++) { /* dist_j lane by lane, times 1 / l_j^2 */
                double b = xa[j], il = gp->inv_l2[j];
                int b_nan = isnan(b), cat = gp->is_cat[j], c_nan = cnan[j];
#pragma GCC unroll 8
                for (size_t q = 0; q < NQ; q++) {
                    VW c = VLD(C + j * CB + q * W), s;
                    if (b_nan) {
                        s = (VW)((VWL)one & ~(c != c)); /* 0 where c is NaN too */
                    } else if (cat) {
                        s = (VW)((VWL)one & ~(c == b));
                    } else {
                        VW t = c - b;
                        s = t * t;
                        if (c_nan) /* 1 where c is NaN */
                            s = (VW)(((VWL)s & ~(c != c)) | ((VWL)one & (c != c)));
                    }
                    r2[q] += s * il;
                }
            }
            /* the Matern 5/2 factor: sqrt and exp by libm, lane by lane */
            VW rr[NQ], e[NQ];
#pragma GCC unroll 8
            for (size_t q = 0; q < NQ; q++)
                VST(tmp + q * W, r2[q]);
            for (size_t k = 0; k < CB; k++)
                tmp[k] = sqrt(tmp[k]);
#pragma GCC unroll 8
            for (size_t q = 0; q < NQ; q++)
                rr[q] = VLD(tmp + q * W);
            for (size_t k = 0; k < CB; k++)
                tmp[k] = exp(-SQRT5 * tmp[k]);
            double *va = V + a * CB;
            double al = gp->alpha[a];
#pragma GCC unroll 8
            for (size_t q = 0; q < NQ; q++) {
                e[q] = VLD(tmp + q * W);
                VW kk = sf2 * ((1.0 + SQRT5 * rr[q] + (5.0 / 3.0) * r2[q]) * e[q]);
                VST(va + q * W, kk);
                mu[q] += kk * al;
                kmax[q] = (VW)(((VWL)kmax[q] & ~(kk > kmax[q])) | ((VWL)kk & (kk > kmax[q])));
            }
        }
#pragma GCC unroll 8
        for (size_t q = 0; q < NQ; q++)
            VST(tmp + q * W, mu[q]);
        for (size_t k = 0; k < nb; k++)
            mean[i0 + k] = tmp[k];
        if (var_hi) {
#pragma GCC unroll 8
            for (size_t q = 0; q < NQ; q++)
                VST(tmp + q * W, kmax[q]);
            for (size_t k = 0; k < nb; k++)
                var_hi[i0 + k] = sf2 - tmp[k] * tmp[k] / kdiag;
        }
    }
}

/* The variances of the points idx[0..cnt) (NULL: 0..cnt-1) of the last
 * kernel_many, into var[idx[j]]: their kernel columns gathered CB at a time
 * (a short block repeats its first point), V := L^-1 V as one axpy across
 * the block per element of L, var = sf2 - |V|^2. */
static void FN(var_some)(fresh__gp *gp, const size_t *idx, size_t cnt, double *var)
{
    size_t n = gp->n, cap = gp->cap;
    double sf2 = exp(gp->theta[gp->d]);
    double *V = gp->ks, tmp[CB];
    const VW zero = {0.0};
    for (size_t j0 = 0; j0 < cnt; j0 += CB) {
        size_t nb = cnt - j0 < CB ? cnt - j0 : CB, who[CB];
        for (size_t k = 0; k < CB; k++)
            who[k] = idx ? idx[j0 + (k < nb ? k : 0)] : j0 + (k < nb ? k : 0);
        for (size_t k = 0; k < CB; k++) {
            const double *src = gp->kst + (who[k] / CB) * n * CB + who[k] % CB;
            for (size_t a = 0; a < n; a++)
                V[a * CB + k] = src[a * CB];
        }
        /* V := L^-1 V */
        for (size_t a = 0; a < n; a++) {
            const double *row = gp->L + a * cap;
            double *va = V + a * CB;
            VW acc[NQ];
#pragma GCC unroll 8
            for (size_t q = 0; q < NQ; q++)
                acc[q] = VLD(va + q * W);
            for (size_t b = 0; b < a; b++) {
                const double *vb = V + b * CB;
                double l = row[b];
#pragma GCC unroll 8
                for (size_t q = 0; q < NQ; q++)
                    acc[q] -= l * VLD(vb + q * W);
            }
            double inv = 1.0 / row[a];
#pragma GCC unroll 8
            for (size_t q = 0; q < NQ; q++)
                VST(va + q * W, acc[q] * inv);
        }
        VW vv[NQ];
#pragma GCC unroll 8
        for (size_t q = 0; q < NQ; q++)
            vv[q] = zero;
        for (size_t a = 0; a < n; a++) {
#pragma GCC unroll 8
            for (size_t q = 0; q < NQ; q++) {
                VW va = VLD(V + a * CB + q * W);
                vv[q] += va * va;
            }
        }
#pragma GCC unroll 8
        for (size_t q = 0; q < NQ; q++)
            VST(tmp + q * W, vv[q]);
        for (size_t k = 0; k < nb; k++)
            var[who[k]] = fmax(sf2 - tmp[k], 1e-12 * sf2);
    }
}

/* v := L^-1 v (forward substitution), the same sums as
 *     v[a] = (v[a] - dot(L_a, v, a)) / L_aa
 * with dot's four partial sums (elements i mod 4, added as (0 + 2) + (1 + 3),
 * then the tail one by one), four rows at a time: rows a..a+3 (a a multiple
 * of 4) share dot's groups of four below a, so their sums run side by side
 * (eight or four independent chains instead of two); each row then adds
 * its own tail as dot does. */
static void FN(trsv_lower)(const double *L, size_t n, size_t cap, double *v)
{
    size_t a = 0;
    for (; a + 4 <= n; a += 4) {
        const double *r = L + a * cap;
        VW s[4][4 / W];
#pragma GCC unroll 8
        for (size_t k = 0; k < 4; k++)
#pragma GCC unroll 8
            for (size_t g = 0; g < 4 / W; g++)
                s[k][g] = (VW){0.0};
        for (size_t i = 0; i < a; i += 4) {
#pragma GCC unroll 8
            for (size_t g = 0; g < 4 / W; g++) {
                VW x = VLD(v + i + g * W);
#pragma GCC unroll 8
                for (size_t k = 0; k < 4; k++)
                    s[k][g] += VLD(r + k * cap + i + g * W) * x;
            }
        }
        for (size_t k = 0; k < 4; k++) {
            double t[4];
#pragma GCC unroll 8
            for (size_t g = 0; g < 4 / W; g++)
                VST(t + g * W, s[k][g]);
            double dsum = (t[0] + t[2]) + (t[1] + t[3]);
            const double *row = r + k * cap;
            for (size_t i = a; i < a + k; i++)
                dsum += row[i] * v[i];
            v[a + k] = (v[a + k] - dsum) / row[a + k];
        }
    }
    for (; a < n; a++) {
        const double *row = L + a * cap;
        v[a] = (v[a] - dot(row, v, a)) / row[a];
    }
}

/* v := L^-T v (back substitution, axpys along rows of L: elementwise, so
 * the vector width changes nothing). */
static void FN(trsv_lower_t)(const double *L, size_t n, size_t cap, double *v)
{
    for (size_t a = n; a-- > 0;) {
        const double *row = L + a * cap;
        double z = v[a] / row[a];
        v[a] = z;
        size_t b = 0;
        for (; b + W <= a; b += W)
            VST(v + b, VLD(v + b) - VLD(row + b) * z);
        for (; b < a; b++)
            v[b] -= row[b] * z;
    }
}

#undef NQ
#undef W
#undef VW
#undef VWL
#undef VLD
#undef VST
#undef FN
