/*
 * gp.h - a Gaussian-process regression model on fresh's unit encoding, and
 * the (log) Expected Improvement acquisition; internal to libfresh, never
 * installed. The GP sampler (gp/sampler_gp.c) is its only user besides the
 * unit tests.
 *
 * Model (Rasmussen & Williams, "Gaussian Processes for Machine Learning",
 * 2006, chapters 2 and 5): zero prior mean (the caller standardizes the
 * targets), covariance
 *     k(a, b) = sf2 * (1 + sqrt(5) r + 5 r^2 / 3) exp(-sqrt(5) r)   (Matern 5/2)
 *     r^2     = sum_j s_j(a_j, b_j) / l_j^2
 * with one length scale l_j per dimension (ARD) and the per-dimension
 * distance s_j:
 *     continuous (float, int, ordinal in [0, 1])  (a_j - b_j)^2
 *     categorical                                  0 if a_j == b_j, else 1 (Hamming)
 *     one value inactive (NaN), the other active   1 (inactive is a level of its own)
 *     both inactive                                0
 * and Gaussian noise of variance sn2 on the observations. An inactive value
 * is never replaced by a default: the dimension contributes exactly as a
 * categorical "absent" level would.
 *
 * Hyperparameters theta = (log l_1 .. log l_d, log sf2, log sn2), set by
 * maximum a posteriori: fresh__gp_fit minimizes
 *     -log p(y | X, theta) - log p(theta)
 * (R&W eq. 5.8 and its gradient eq. 5.9) with independent normal priors on
 * each component of theta (FRESH__GP_PRIOR_*), by GSL's vector BFGS
 * (gsl_multimin_fdfminimizer_vector_bfgs2) from the current theta. Each component is kept in a box (FRESH__GP_*_MIN/MAX) inside
 * the objective, so that no step can make the kernel matrix singular.
 *
 * Thread safety: a model is used by one thread at a time.
 */
#ifndef FRESH_GP_H
#define FRESH_GP_H

#include <stddef.h>

/* Priors on theta: log l_j ~ N(log 0.5, 1), log sf2 ~ N(0, 1),
 * log sn2 ~ N(log 1e-2, 1.5^2); the targets are standardized. */
#define FRESH__GP_PRIOR_LOG_L (-0.6931471805599453)
#define FRESH__GP_PRIOR_LOG_L_SD 1.0
#define FRESH__GP_PRIOR_LOG_SF2 0.0
#define FRESH__GP_PRIOR_LOG_SF2_SD 1.0
#define FRESH__GP_PRIOR_LOG_SN2 (-4.605170185988091)
#define FRESH__GP_PRIOR_LOG_SN2_SD 1.5
/* The box each component of theta is held in (natural logs). */
#define FRESH__GP_LOG_L_MIN (-4.6) /* l >= 0.01 */
#define FRESH__GP_LOG_L_MAX 4.6    /* l <= 100 */
#define FRESH__GP_LOG_SF2_MIN (-6.9)
#define FRESH__GP_LOG_SF2_MAX 4.6
#define FRESH__GP_LOG_SN2_MIN (-13.8) /* sn2 >= 1e-6 */
#define FRESH__GP_LOG_SN2_MAX 2.3

typedef struct fresh__gp fresh__gp;

/* A model of d >= 1 dimensions; is_cat[j] = 1 marks a categorical
 * dimension (Hamming distance). theta starts at the priors' means.
 * FRESH_OK, FRESH_EINVAL or FRESH_ENOMEM. */
int fresh__gp_create(size_t d, const unsigned char *is_cat, fresh__gp **out);
void fresh__gp_destroy(fresh__gp *gp);

/* Number of hyperparameters (d + 2) and the current theta (d + 2 values). */
size_t fresh__gp_n_theta(const fresh__gp *gp);
const double *fresh__gp_theta(const fresh__gp *gp);
/* Sets theta (clamped to the box) and refactors the data if any.
 * FRESH_OK, FRESH_EGSL (kernel matrix not positive definite), FRESH_ENOMEM. */
int fresh__gp_set_theta(fresh__gp *gp, const double *theta);

/* Copies n rows X (n x d, unit encoding, NaN = inactive) with finite targets
 * y, and factors the kernel matrix with the current theta (Cholesky, gp.c's
 * own loops: see there why not GSL's), incrementally: only the rows past
 * the longest unchanged prefix of X (fresh__gp_rows_reused). n may be 0
 * (the prior). FRESH_OK,
 * FRESH_EINVAL (a non-finite target), FRESH_EGSL, FRESH_ENOMEM. */
int fresh__gp_set_data(fresh__gp *gp, const double *X, const double *y, size_t n);
size_t fresh__gp_n(const fresh__gp *gp);
/* Rows of the Cholesky factor the last factorization (set_data, set_theta,
 * fit) kept rather than recomputed: set_data keeps the rows of the longest
 * common prefix (bit for bit) of the old and the new X while theta is
 * unchanged, and factors only the rest (O((n - p) n^2) instead of O(n^3));
 * the factor is the same, bit for bit, as one from scratch. For the tests. */
size_t fresh__gp_rows_reused(const fresh__gp *gp);

/* The negative log posterior of theta (negative log marginal likelihood
 * plus the negative log prior, constants included) for the data set, and
 * its gradient (d + 2 values) when grad is not NULL. Does not change the
 * model's theta. Returns +inf when the kernel matrix is not positive
 * definite. */
double fresh__gp_neg_log_post(fresh__gp *gp, const double *theta, double *grad);
/* The negative log marginal likelihood alone (R&W eq. 2.30) at theta. */
double fresh__gp_neg_log_lik(fresh__gp *gp, const double *theta);

/* MAP hyperparameters from the current theta (at most max_iter BFGS
 * iterations), then refactors. A fit that fails or ends worse than the
 * start keeps the start. FRESH_OK, FRESH_EGSL, FRESH_ENOMEM. */
int fresh__gp_fit(fresh__gp *gp, int max_iter);

/* Posterior mean and variance of the latent function at x (d values);
 * the variance excludes the noise and is at least 1e-12 * sf2. When dmean and
 * dvar are not NULL they receive the gradients with respect to x (d values
 * each; 0 for categorical and inactive dimensions). */
void fresh__gp_predict(fresh__gp *gp, const double *x, double *mean, double *var, double *dmean,
                       double *dvar);
/* fresh__gp_predict in two steps, so that a caller can leave out a
 * variance it does not need: predict_mean gives the mean (O(n d)) and, if
 * var_hi is not NULL, the bound on the variance from the nearest training
 * row (as fresh__gp_mean_many); predict_var then returns the variance
 * (O(n^2)) at the same x, with no other call on gp in between (otherwise
 * it returns sf2). mean and variance are the same, bit for bit, as
 * fresh__gp_predict's, and predict_grad may follow predict_var. */
void fresh__gp_predict_mean(fresh__gp *gp, const double *x, double *mean, double *var_hi);
double fresh__gp_predict_var(fresh__gp *gp);
/* The gradients of the last fresh__gp_predict, which must have been at the
 * same x with no other call on gp in between (the local search evaluates
 * a step first and pays for the gradients only when it takes the step):
 * the same values fresh__gp_predict(x, ..., dmean, dvar) gives. */
void fresh__gp_predict_grad(fresh__gp *gp, const double *x, double *dmean, double *dvar);
/* The same as fresh__gp_predict for m points at once (m x d, row-major),
 * blocks of candidates through one forward substitution each.
 * FRESH_OK or FRESH_ENOMEM. */
int fresh__gp_predict_many(fresh__gp *gp, const double *x, size_t m, double *mean, double *var);

/* Candidates per block of the many-point predictions (gp_block.h). */
#define FRESH__GP_BLOCK 16

/* fresh__gp_predict_many in two steps, so that a caller can leave out the
 * variances it does not need (O(n^2) each; the means cost O(n d)):
 * fresh__gp_mean_many computes the means of x[0..m) and keeps the points'
 * kernel columns (m n doubles); fresh__gp_var_some then computes the
 * variances of the points idx[0..cnt) (indices into those m; NULL:
 * 0..cnt-1) into var[idx[j]], the same values, bit for bit, as
 * predict_many gives, whatever idx. No other call on gp may come between
 * the two (indices >= m: undefined). When var_hi is not NULL, mean_many
 * also gives each point's variance given its nearest training row alone,
 *     var_hi = sf2 - k_max^2 / (sf2 + sn2),  k_max = max_a k(x, x_a),
 * which bounds the variance given all rows from above (conditioning on
 * more data never increases a Gaussian's variance; up to rounding, see
 * sampler_gp.c). FRESH_OK or FRESH_ENOMEM. */
int fresh__gp_mean_many(fresh__gp *gp, const double *x, size_t m, double *mean, double *var_hi);
void fresh__gp_var_some(fresh__gp *gp, const size_t *idx, size_t cnt, double *var);

/* predict_many's four-lane (AVX2) path on (on = 1, the default where the
 * CPU has AVX2) or off; returns whether it is on now. Both paths give the
 * same results, bit for bit (gp.c); for the tests and benchmarks. */
int fresh__gp_use_avx2(fresh__gp *gp, int on);

/* log EI(mu, sigma; best) for minimization: EI = E[max(best - f, 0)],
 * f ~ N(mu, sigma^2), sigma > 0: EI = sigma h(z), z = (best - mu)/sigma,
 * h(z) = z Phi(z) + phi(z), computed in log space without cancellation for
 * very negative z (Ament et al., "Unexpected improvements to expected
 * improvement", NeurIPS 2023, eq. 9). When d_mu and d_sigma are not NULL
 * they receive d log EI / d mu and d log EI / d sigma. */
double fresh__gp_log_ei(double mu, double sigma, double best, double *d_mu, double *d_sigma);

#endif
