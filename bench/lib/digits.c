/*
 * digits.c - the digits MLP benchmark (see digits.h, docs/digits.md).
 *
 * DESIGN
 * A net is one contiguous parameter vector `theta` (per layer: the weight
 * matrix, n_in x n_out row-major, then the bias), with gradient, first and
 * second moment vectors of the same layout, so that the optimizer step is
 * one loop and a checkpoint is three memcpys. Activations are row-major
 * matrices, one row per example, wrapped in gsl_matrix views so every
 * product goes through gsl_blas_dgemm:
 *   forward   Z_l = H_{l-1} W_l + 1 b_l^T          (dgemm NoTrans/NoTrans)
 *   backward  dW_l = H_{l-1}^T D_l                 (dgemm Trans/NoTrans)
 *             dH_{l-1} = D_l W_l^T                 (dgemm NoTrans/Trans)
 * with D_out = (softmax(Z_out) - onehot(y)) / B for the mean cross-entropy.
 * Hidden layers apply ReLU or tanh, then inverted dropout (a kept unit is
 * scaled by 1 / (1 - p), so evaluation needs no rescaling). L2 weight decay
 * adds wd * W to the weight gradients (coupled decay, also under Adam).
 * Adam follows Kingma & Ba (2015), Algorithm 1, with bias correction.
 *
 * Every buffer is allocated in fresh_digits_net_create, sized for
 * max(batch, n_valid) rows, so an epoch allocates nothing. Randomness: the
 * stream seed s = fresh_rng_stream_seed(seed, config_id, FRESH_RNG_OBJECTIVE);
 * initialisation draws from stream (s, 0, USER), epoch e (1-based) from
 * stream (s, e, USER): first the shuffle, then the dropout masks in order.
 * Nothing depends on earlier epochs' draws, so a restored net continues
 * exactly as an uninterrupted one.
 */
#define _POSIX_C_SOURCE 200809L
#include "digits.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <zlib.h>

#include "fresh/rng.h"
#include "fresh/status.h"

#define NF FRESH_DIGITS_N_FEATURES
#define NC FRESH_DIGITS_N_CLASSES
#define MAXL (FRESH_DIGITS_MAX_LAYERS + 2) /* widths: input, hidden..., output */

static void set_err(char *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, FRESH_DIGITS_ERRLEN, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ data */

void fresh_digits_free(fresh_digits_data *d)
{
    if (!d)
        return;
    free(d->x_train);
    free(d->y_train);
    free(d->x_valid);
    free(d->y_valid);
    free(d);
}

const char *fresh_digits_default_path(void)
{
    const char *env = getenv("FRESH_DIGITS");
    if (env && *env)
        return env;
#ifdef FRESH_SOURCE_DIR
    return FRESH_SOURCE_DIR "/bench/data/digits.csv.gz";
#else
    return "bench/data/digits.csv.gz";
#endif
}

/* Parses one line of 65 integers into pix[64] and *label. */
static int parse_row(const char *line, double *pix, int *label)
{
    const char *p = line;
    for (int k = 0; k <= NF; k++) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno)
            return -1;
        if (k < NF) {
            if (v < 0 || v > 16)
                return -1;
            pix[k] = (double)v / 16.0;
        } else {
            if (v < 0 || v >= NC)
                return -1;
            *label = (int)v;
        }
        p = end;
        while (*p == ' ' || *p == '\t')
            p++;
        if (k < NF) {
            if (*p != ',')
                return -1;
            p++;
        }
    }
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return *p == '\0' ? 0 : -1;
}

int fresh_digits_load(fresh_digits_data **out, const char *path, uint64_t split_seed, char *err)
{
    set_err(err, "%s", "");
    if (!out || !path) {
        if (out)
            *out = NULL;
        set_err(err, "fresh_digits_load: NULL %s", out ? "path" : "out");
        return FRESH_EINVAL;
    }
    *out = NULL;
    int rc = FRESH_OK;
    double *pix = NULL;
    int *lab = NULL;
    size_t *perm = NULL;
    gsl_rng *rng = NULL;
    fresh_digits_data *d = NULL;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        set_err(err, "cannot open '%s': %s", path, errno ? strerror(errno) : "gzopen failed");
        return FRESH_EIO;
    }
    pix = malloc((size_t)FRESH_DIGITS_N_ROWS * NF * sizeof *pix);
    lab = malloc((size_t)FRESH_DIGITS_N_ROWS * sizeof *lab);
    if (!pix || !lab)
        goto nomem;
    char line[1024];
    size_t n = 0, lineno = 0;
    while (gzgets(f, line, sizeof line)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            set_err(err, "%s:%zu: line too long", path, lineno);
            rc = FRESH_EPARSE;
            goto fail;
        }
        if (strspn(line, " \t\r\n") == len)
            continue; /* blank line */
        if (n == FRESH_DIGITS_N_ROWS) {
            set_err(err, "%s:%zu: more than %d rows", path, lineno, FRESH_DIGITS_N_ROWS);
            rc = FRESH_EPARSE;
            goto fail;
        }
        if (parse_row(line, pix + n * NF, lab + n) != 0) {
            set_err(err, "%s:%zu: expected 64 integers 0..16 and a label 0..9", path, lineno);
            rc = FRESH_EPARSE;
            goto fail;
        }
        n++;
    }
    int zerr;
    const char *zmsg = gzerror(f, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        set_err(err, "error reading '%s': %s", path, zmsg);
        rc = FRESH_EIO;
        goto fail;
    }
    if (n != FRESH_DIGITS_N_ROWS) {
        set_err(err, "%s: expected %d rows, got %zu", path, FRESH_DIGITS_N_ROWS, n);
        rc = FRESH_EPARSE;
        goto fail;
    }

    d = calloc(1, sizeof *d);
    perm = malloc(n * sizeof *perm);
    rng = fresh_rng_stream_create(split_seed, 0, FRESH_RNG_USER);
    if (!d || !perm || !rng)
        goto nomem;
    d->n_train = FRESH_DIGITS_N_TRAIN;
    d->n_valid = n - FRESH_DIGITS_N_TRAIN;
    d->x_train = malloc(d->n_train * NF * sizeof *d->x_train);
    d->y_train = malloc(d->n_train * sizeof *d->y_train);
    d->x_valid = malloc(d->n_valid * NF * sizeof *d->x_valid);
    d->y_valid = malloc(d->n_valid * sizeof *d->y_valid);
    if (!d->x_train || !d->y_train || !d->x_valid || !d->y_valid)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        perm[i] = i;
        d->class_counts[lab[i]]++;
    }
    /* Fisher-Yates (Knuth, TAOCP vol. 2, Algorithm 3.4.2 P) */
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)gsl_rng_uniform_int(rng, (unsigned long)(i + 1));
        size_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    for (size_t i = 0; i < n; i++) {
        size_t r = perm[i];
        if (i < d->n_train) {
            memcpy(d->x_train + i * NF, pix + r * NF, NF * sizeof *pix);
            d->y_train[i] = lab[r];
        } else {
            size_t k = i - d->n_train;
            memcpy(d->x_valid + k * NF, pix + r * NF, NF * sizeof *pix);
            d->y_valid[k] = lab[r];
        }
    }
    *out = d;
    d = NULL;
    goto fail; /* the common cleanup */
nomem:
    set_err(err, "out of memory reading '%s'", path);
    rc = FRESH_ENOMEM;
fail:
    gzclose(f);
    gsl_rng_free(rng);
    free(perm);
    free(pix);
    free(lab);
    fresh_digits_free(d);
    return rc;
}

/* ----------------------------------------------------------- the config */

void fresh_digits_default_config(fresh_digits_config *c)
{
    c->lr = 0.01;
    c->batch_size = 64;
    c->hidden = 32;
    c->layers = 1;
    c->dropout = 0;
    c->weight_decay = 1e-5;
    c->optimizer = FRESH_DIGITS_SGD;
    c->momentum = 0;
    c->activation = FRESH_DIGITS_RELU;
}

int fresh_digits_config_check(const fresh_digits_config *c, char *err)
{
    if (!c) {
        set_err(err, "NULL configuration");
        return FRESH_EINVAL;
    }
    if (!(isfinite(c->lr) && c->lr > 0)) {
        set_err(err, "lr: must be finite and > 0, got %g", c->lr);
        return FRESH_EINVAL;
    }
    if (c->batch_size < 1 || c->batch_size > FRESH_DIGITS_N_TRAIN) {
        set_err(err, "batch_size: must be in [1, %d], got %ld", FRESH_DIGITS_N_TRAIN,
                c->batch_size);
        return FRESH_EINVAL;
    }
    if (c->hidden < 1 || c->hidden > FRESH_DIGITS_MAX_HIDDEN) {
        set_err(err, "hidden: must be in [1, %d], got %ld", FRESH_DIGITS_MAX_HIDDEN, c->hidden);
        return FRESH_EINVAL;
    }
    if (c->layers < 1 || c->layers > FRESH_DIGITS_MAX_LAYERS) {
        set_err(err, "layers: must be in [1, %d], got %ld", FRESH_DIGITS_MAX_LAYERS, c->layers);
        return FRESH_EINVAL;
    }
    if (!(c->dropout >= 0 && c->dropout < 1)) {
        set_err(err, "dropout: must be in [0, 1), got %g", c->dropout);
        return FRESH_EINVAL;
    }
    if (!(isfinite(c->weight_decay) && c->weight_decay >= 0)) {
        set_err(err, "weight_decay: must be finite and >= 0, got %g", c->weight_decay);
        return FRESH_EINVAL;
    }
    if (c->optimizer != FRESH_DIGITS_SGD && c->optimizer != FRESH_DIGITS_ADAM) {
        set_err(err, "optimizer: unknown value %d", (int)c->optimizer);
        return FRESH_EINVAL;
    }
    if (!(c->momentum >= 0 && c->momentum < 1)) {
        set_err(err, "momentum: must be in [0, 1), got %g", c->momentum);
        return FRESH_EINVAL;
    }
    if (c->activation != FRESH_DIGITS_RELU && c->activation != FRESH_DIGITS_TANH) {
        set_err(err, "activation: unknown value %d", (int)c->activation);
        return FRESH_EINVAL;
    }
    return FRESH_OK;
}

int fresh_digits_build_space(fresh_space *s)
{
    static const char *const optimizers[] = {"sgd", "adam"};
    static const char *const activations[] = {"relu", "tanh"};
    const double sgd = 0;
    int rc;
    if ((rc = fresh_space_add_float(s, "lr", 1e-4, 1, 1)) != FRESH_OK ||
        (rc = fresh_space_add_int(s, "batch_size", 16, 256, 1)) != FRESH_OK ||
        (rc = fresh_space_add_int(s, "hidden", 16, 256, 1)) != FRESH_OK ||
        (rc = fresh_space_add_int(s, "layers", 1, 3, 0)) != FRESH_OK ||
        (rc = fresh_space_add_float(s, "dropout", 0, 0.5, 0)) != FRESH_OK ||
        (rc = fresh_space_add_float(s, "weight_decay", 1e-6, 1e-2, 1)) != FRESH_OK ||
        (rc = fresh_space_add_categorical(s, "optimizer", 2, optimizers)) != FRESH_OK ||
        (rc = fresh_space_add_float(s, "momentum", 0, 0.99, 0)) != FRESH_OK ||
        (rc = fresh_space_add_condition(s, "momentum", "optimizer", 1, &sgd, 0)) != FRESH_OK ||
        (rc = fresh_space_add_categorical(s, "activation", 2, activations)) != FRESH_OK)
        return rc;
    return FRESH_OK;
}

/* An integer-valued double to long, or -1 when it is not one. */
static long to_long(double v)
{
    if (!isfinite(v) || v != floor(v) || fabs(v) > 1e15)
        return -1;
    return (long)v;
}

int fresh_digits_config_from_values(const double *x, fresh_digits_config *c, char *err)
{
    if (!x || !c) {
        set_err(err, "NULL argument");
        return FRESH_EINVAL;
    }
    c->lr = x[0];
    c->batch_size = to_long(x[1]);
    c->hidden = to_long(x[2]);
    c->layers = to_long(x[3]);
    c->dropout = x[4];
    c->weight_decay = x[5];
    c->optimizer = (fresh_digits_optimizer)to_long(x[6]);
    c->momentum = isnan(x[7]) ? 0 : x[7];
    c->activation = (fresh_digits_activation)to_long(x[8]);
    return fresh_digits_config_check(c, err);
}

int fresh_digits_config_from_trial(const fresh_trial *t, fresh_digits_config *c, char *err)
{
    static const char *const need[] = {"lr", "batch_size", "hidden", "layers", "dropout",
                                       "weight_decay", "optimizer", "activation"};
    if (!t || !c) {
        set_err(err, "NULL argument");
        return FRESH_EINVAL;
    }
    for (size_t i = 0; i < sizeof need / sizeof *need; i++) {
        if (!fresh_trial_is_active(t, need[i])) {
            set_err(err, "parameter '%s' is missing or inactive", need[i]);
            return FRESH_EINVAL;
        }
    }
    c->lr = fresh_trial_float(t, "lr");
    c->batch_size = to_long(fresh_trial_float(t, "batch_size"));
    c->hidden = to_long(fresh_trial_float(t, "hidden"));
    c->layers = to_long(fresh_trial_float(t, "layers"));
    c->dropout = fresh_trial_float(t, "dropout");
    c->weight_decay = fresh_trial_float(t, "weight_decay");
    const char *opt = fresh_trial_categorical(t, "optimizer");
    const char *act = fresh_trial_categorical(t, "activation");
    if (!opt || (strcmp(opt, "sgd") != 0 && strcmp(opt, "adam") != 0)) {
        set_err(err, "optimizer: expected sgd or adam, got '%s'", opt ? opt : "(null)");
        return FRESH_EINVAL;
    }
    if (!act || (strcmp(act, "relu") != 0 && strcmp(act, "tanh") != 0)) {
        set_err(err, "activation: expected relu or tanh, got '%s'", act ? act : "(null)");
        return FRESH_EINVAL;
    }
    c->optimizer = strcmp(opt, "sgd") == 0 ? FRESH_DIGITS_SGD : FRESH_DIGITS_ADAM;
    c->activation = strcmp(act, "relu") == 0 ? FRESH_DIGITS_RELU : FRESH_DIGITS_TANH;
    c->momentum = 0;
    if (c->optimizer == FRESH_DIGITS_SGD && fresh_trial_is_active(t, "momentum"))
        c->momentum = fresh_trial_float(t, "momentum");
    return fresh_digits_config_check(c, err);
}

/* -------------------------------------------------------------- the net */

struct fresh_digits_net {
    const fresh_digits_data *d;
    fresh_digits_config c;
    size_t L;                 /* hidden layers; weight layers are 1 .. L+1 */
    size_t width[MAXL];       /* width[0] = 64, width[1..L] = hidden, width[L+1] = 10 */
    size_t w_off[MAXL], b_off[MAXL]; /* offsets of W_l and b_l in theta, l >= 1 */
    size_t n_params;
    double *theta, *grad, *m1, *m2;
    uint64_t step;            /* optimizer steps taken */
    long epoch;
    int diverged;
    double train_loss;
    uint64_t stream;          /* stream seed of this configuration */
    gsl_rng *rng;
    size_t rows;              /* rows of the activation buffers */
    double *xb;               /* rows x 64: the gathered batch */
    int *yb;
    double *act[MAXL];        /* rows x width[l]: activations (l <= L, before
                                 dropout), logits then probabilities (l = L+1) */
    double *drop[MAXL];       /* rows x width[l]: activations after dropout */
    double *mask[MAXL];       /* rows x width[l]: 0 or 1/(1-p) */
    const double *feed[MAXL]; /* input of layer l+1 in the last forward pass */
    double *delta[2];         /* rows x max width: backpropagation buffers */
    size_t *perm;
};

#define CKPT_MAGIC "FRDIGIT1"

typedef struct ckpt_header {
    char magic[8];
    uint64_t n_params, layers, hidden, optimizer;
    int64_t epoch;
    uint64_t step;
} ckpt_header;

void fresh_digits_net_destroy(fresh_digits_net *n)
{
    if (!n)
        return;
    free(n->theta);
    free(n->grad);
    free(n->m1);
    free(n->m2);
    gsl_rng_free(n->rng);
    free(n->xb);
    free(n->yb);
    for (size_t l = 0; l < MAXL; l++) {
        free(n->act[l]);
        free(n->drop[l]);
        free(n->mask[l]);
    }
    free(n->delta[0]);
    free(n->delta[1]);
    free(n->perm);
    free(n);
}

static void init_weights(fresh_digits_net *n)
{
    fresh_rng_stream_reset(n->rng, n->stream, 0, FRESH_RNG_USER);
    memset(n->theta, 0, n->n_params * sizeof *n->theta);
    for (size_t l = 1; l <= n->L + 1; l++) {
        double fin = (double)n->width[l - 1], fout = (double)n->width[l];
        int relu = l <= n->L && n->c.activation == FRESH_DIGITS_RELU;
        /* He et al. (2015) for ReLU layers, Glorot & Bengio (2010) otherwise */
        double a = relu ? sqrt(6.0 / fin) : sqrt(6.0 / (fin + fout));
        double *w = n->theta + n->w_off[l];
        size_t cnt = n->width[l - 1] * n->width[l];
        for (size_t i = 0; i < cnt; i++)
            w[i] = a * (2.0 * gsl_rng_uniform(n->rng) - 1.0);
    }
    memset(n->m1, 0, n->n_params * sizeof *n->m1);
    memset(n->m2, 0, n->n_params * sizeof *n->m2);
    n->step = 0;
    n->epoch = 0;
    n->diverged = 0;
    n->train_loss = NAN;
}

int fresh_digits_net_create(fresh_digits_net **out, const fresh_digits_data *d,
                            const fresh_digits_config *c, uint64_t seed, uint64_t config_id,
                            char *err)
{
    if (!out || !d || !c) {
        if (out)
            *out = NULL;
        set_err(err, "NULL argument");
        return FRESH_EINVAL;
    }
    *out = NULL;
    int rc = fresh_digits_config_check(c, err);
    if (rc != FRESH_OK)
        return rc;
    if ((size_t)c->batch_size > d->n_train || d->n_train == 0 || d->n_valid == 0) {
        set_err(err, "batch_size %ld larger than the %zu training rows", c->batch_size, d->n_train);
        return FRESH_EINVAL;
    }
    fresh_digits_net *n = calloc(1, sizeof *n);
    if (!n)
        goto nomem;
    n->d = d;
    n->c = *c;
    n->L = (size_t)c->layers;
    n->width[0] = NF;
    for (size_t l = 1; l <= n->L; l++)
        n->width[l] = (size_t)c->hidden;
    n->width[n->L + 1] = NC;
    size_t off = 0, maxw = NF;
    for (size_t l = 1; l <= n->L + 1; l++) {
        n->w_off[l] = off;
        off += n->width[l - 1] * n->width[l];
        n->b_off[l] = off;
        off += n->width[l];
        if (n->width[l] > maxw)
            maxw = n->width[l];
    }
    n->n_params = off;
    n->rows = (size_t)c->batch_size > d->n_valid ? (size_t)c->batch_size : d->n_valid;
    n->theta = malloc(off * sizeof *n->theta);
    n->grad = malloc(off * sizeof *n->grad);
    n->m1 = malloc(off * sizeof *n->m1);
    n->m2 = malloc(off * sizeof *n->m2);
    n->rng = gsl_rng_alloc(gsl_rng_mt19937);
    n->xb = malloc((size_t)c->batch_size * NF * sizeof *n->xb);
    n->yb = malloc((size_t)c->batch_size * sizeof *n->yb);
    n->delta[0] = malloc((size_t)c->batch_size * maxw * sizeof *n->delta[0]);
    n->delta[1] = malloc((size_t)c->batch_size * maxw * sizeof *n->delta[1]);
    n->perm = malloc(d->n_train * sizeof *n->perm);
    if (!n->theta || !n->grad || !n->m1 || !n->m2 || !n->rng || !n->xb || !n->yb ||
        !n->delta[0] || !n->delta[1] || !n->perm)
        goto nomem;
    for (size_t l = 1; l <= n->L + 1; l++) {
        n->act[l] = malloc(n->rows * n->width[l] * sizeof *n->act[l]);
        if (!n->act[l])
            goto nomem;
        if (l <= n->L && c->dropout > 0) {
            n->drop[l] = malloc((size_t)c->batch_size * n->width[l] * sizeof *n->drop[l]);
            n->mask[l] = malloc((size_t)c->batch_size * n->width[l] * sizeof *n->mask[l]);
            if (!n->drop[l] || !n->mask[l])
                goto nomem;
        }
    }
    n->stream = fresh_rng_stream_seed(seed, config_id, FRESH_RNG_OBJECTIVE);
    init_weights(n);
    *out = n;
    return FRESH_OK;
nomem:
    fresh_digits_net_destroy(n);
    set_err(err, "out of memory building the net");
    return FRESH_ENOMEM;
}

/* Forward pass over B rows of `in` (B x 64). With `train`, applies dropout
 * (masks drawn from n->rng). Leaves the class probabilities in act[L+1] and
 * returns the summed cross-entropy against y (0 when y is NULL). */
static double forward(fresh_digits_net *n, const double *in, size_t B, const int *y, int train)
{
    const double *h = in;
    const size_t L1 = n->L + 1;
    const int dropping = train && n->c.dropout > 0;
    const double keep = 1.0 - n->c.dropout, scale = 1.0 / keep;
    n->feed[0] = in;
    for (size_t l = 1; l <= L1; l++) {
        const size_t nin = n->width[l - 1], nout = n->width[l];
        double *z = n->act[l];
        const double *b = n->theta + n->b_off[l];
        for (size_t r = 0; r < B; r++)
            memcpy(z + r * nout, b, nout * sizeof *z);
        gsl_matrix_const_view H = gsl_matrix_const_view_array(h, B, nin);
        gsl_matrix_const_view W = gsl_matrix_const_view_array(n->theta + n->w_off[l], nin, nout);
        gsl_matrix_view Z = gsl_matrix_view_array(z, B, nout);
        gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &H.matrix, &W.matrix, 1.0, &Z.matrix);
        if (l == L1)
            break;
        const size_t cnt = B * nout;
        if (n->c.activation == FRESH_DIGITS_RELU) {
            for (size_t i = 0; i < cnt; i++)
                z[i] = z[i] > 0 ? z[i] : 0;
        } else {
            for (size_t i = 0; i < cnt; i++)
                z[i] = tanh(z[i]);
        }
        if (dropping) {
            double *mk = n->mask[l], *dr = n->drop[l];
            for (size_t i = 0; i < cnt; i++) {
                mk[i] = gsl_rng_uniform(n->rng) < keep ? scale : 0.0;
                dr[i] = z[i] * mk[i];
            }
            h = dr;
        } else {
            h = z;
        }
        n->feed[l] = h;
    }
    /* softmax with the maximum subtracted; cross-entropy by log-sum-exp */
    double loss = 0;
    double *p = n->act[L1];
    for (size_t r = 0; r < B; r++, p += NC) {
        double mx = p[0];
        for (size_t k = 1; k < NC; k++)
            mx = p[k] > mx ? p[k] : mx;
        double zy = y ? p[y[r]] : 0, sum = 0;
        for (size_t k = 0; k < NC; k++) {
            p[k] = exp(p[k] - mx);
            sum += p[k];
        }
        for (size_t k = 0; k < NC; k++)
            p[k] /= sum;
        if (y)
            loss += log(sum) - (zy - mx);
    }
    return loss;
}

/* Backward pass for the last forward pass of B rows with labels y: fills
 * grad with the gradient of the mean cross-entropy (no weight decay). */
static void backward(fresh_digits_net *n, size_t B, const int *y)
{
    const size_t L1 = n->L + 1;
    double *dz = n->delta[0], *dh = n->delta[1];
    const double *p = n->act[L1];
    const double invb = 1.0 / (double)B;
    for (size_t r = 0; r < B; r++)
        for (size_t k = 0; k < NC; k++)
            dz[r * NC + k] = (p[r * NC + k] - (k == (size_t)y[r] ? 1.0 : 0.0)) * invb;
    for (size_t l = L1; l >= 1; l--) {
        const size_t nin = n->width[l - 1], nout = n->width[l];
        gsl_matrix_const_view H = gsl_matrix_const_view_array(n->feed[l - 1], B, nin);
        gsl_matrix_const_view D = gsl_matrix_const_view_array(dz, B, nout);
        gsl_matrix_view GW = gsl_matrix_view_array(n->grad + n->w_off[l], nin, nout);
        gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &H.matrix, &D.matrix, 0.0, &GW.matrix);
        double *gb = n->grad + n->b_off[l];
        memset(gb, 0, nout * sizeof *gb);
        for (size_t r = 0; r < B; r++)
            for (size_t k = 0; k < nout; k++)
                gb[k] += dz[r * nout + k];
        if (l == 1)
            break;
        gsl_matrix_const_view W = gsl_matrix_const_view_array(n->theta + n->w_off[l], nin, nout);
        gsl_matrix_view DH = gsl_matrix_view_array(dh, B, nin);
        gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, &D.matrix, &W.matrix, 0.0, &DH.matrix);
        const size_t cnt = B * nin;
        if (n->c.dropout > 0) {
            const double *mk = n->mask[l - 1];
            for (size_t i = 0; i < cnt; i++)
                dh[i] *= mk[i];
        }
        const double *a = n->act[l - 1];
        if (n->c.activation == FRESH_DIGITS_RELU) {
            for (size_t i = 0; i < cnt; i++)
                dh[i] = a[i] > 0 ? dh[i] : 0.0;
        } else {
            for (size_t i = 0; i < cnt; i++)
                dh[i] *= 1.0 - a[i] * a[i];
        }
        double *tmp = dz;
        dz = dh;
        dh = tmp;
    }
}

/* One optimizer step on [off, off+len) with weight decay wd. */
static void update_segment(fresh_digits_net *n, size_t off, size_t len, double wd, double bc1,
                           double bc2)
{
    double *th = n->theta + off, *g = n->grad + off, *m = n->m1 + off, *v = n->m2 + off;
    const double lr = n->c.lr;
    if (n->c.optimizer == FRESH_DIGITS_SGD) {
        const double mu = n->c.momentum;
        for (size_t i = 0; i < len; i++) {
            m[i] = mu * m[i] + g[i] + wd * th[i];
            th[i] -= lr * m[i];
        }
    } else {
        const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
        for (size_t i = 0; i < len; i++) {
            double gi = g[i] + wd * th[i];
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            th[i] -= lr * (m[i] / bc1) / (sqrt(v[i] / bc2) + eps);
        }
    }
}

static void update(fresh_digits_net *n)
{
    n->step++;
    double bc1 = 1, bc2 = 1;
    if (n->c.optimizer == FRESH_DIGITS_ADAM) {
        bc1 = 1 - pow(0.9, (double)n->step);
        bc2 = 1 - pow(0.999, (double)n->step);
    }
    for (size_t l = 1; l <= n->L + 1; l++) {
        update_segment(n, n->w_off[l], n->width[l - 1] * n->width[l], n->c.weight_decay, bc1, bc2);
        update_segment(n, n->b_off[l], n->width[l], 0.0, bc1, bc2);
    }
}

int fresh_digits_net_train_epoch(fresh_digits_net *n)
{
    if (!n)
        return FRESH_EINVAL;
    n->epoch++;
    if (n->diverged)
        return FRESH_EOBJECTIVE;
    const fresh_digits_data *d = n->d;
    const size_t N = d->n_train, bs = (size_t)n->c.batch_size;
    fresh_rng_stream_reset(n->rng, n->stream, (uint64_t)n->epoch, FRESH_RNG_USER);
    for (size_t i = 0; i < N; i++)
        n->perm[i] = i;
    for (size_t i = N - 1; i > 0; i--) {
        size_t j = (size_t)gsl_rng_uniform_int(n->rng, (unsigned long)(i + 1));
        size_t tmp = n->perm[i];
        n->perm[i] = n->perm[j];
        n->perm[j] = tmp;
    }
    double total = 0;
    for (size_t start = 0; start < N; start += bs) {
        const size_t B = N - start < bs ? N - start : bs;
        for (size_t r = 0; r < B; r++) {
            size_t row = n->perm[start + r];
            memcpy(n->xb + r * NF, d->x_train + row * NF, NF * sizeof *n->xb);
            n->yb[r] = d->y_train[row];
        }
        double loss = forward(n, n->xb, B, n->yb, 1);
        if (!isfinite(loss)) {
            n->diverged = 1;
            n->train_loss = NAN;
            return FRESH_EOBJECTIVE;
        }
        total += loss;
        backward(n, B, n->yb);
        update(n);
    }
    for (size_t i = 0; i < n->n_params; i++) {
        if (!isfinite(n->theta[i])) {
            n->diverged = 1;
            n->train_loss = NAN;
            return FRESH_EOBJECTIVE;
        }
    }
    n->train_loss = total / (double)N;
    return FRESH_OK;
}

double fresh_digits_net_validation_error(fresh_digits_net *n)
{
    if (!n || n->diverged)
        return NAN;
    const fresh_digits_data *d = n->d;
    forward(n, d->x_valid, d->n_valid, NULL, 0);
    const double *p = n->act[n->L + 1];
    size_t wrong = 0;
    for (size_t r = 0; r < d->n_valid; r++, p += NC) {
        size_t best = 0;
        for (size_t k = 1; k < NC; k++)
            if (p[k] > p[best])
                best = k;
        if (!isfinite(p[best]))
            return NAN;
        wrong += best != (size_t)d->y_valid[r];
    }
    return (double)wrong / (double)d->n_valid;
}

long fresh_digits_net_epoch(const fresh_digits_net *n) { return n ? n->epoch : 0; }
int fresh_digits_net_diverged(const fresh_digits_net *n) { return n ? n->diverged : 0; }
double fresh_digits_net_train_loss(const fresh_digits_net *n) { return n ? n->train_loss : NAN; }

size_t fresh_digits_net_checkpoint_size(const fresh_digits_net *n)
{
    return n ? sizeof(ckpt_header) + 3 * n->n_params * sizeof(double) : 0;
}

static void make_header(const fresh_digits_net *n, ckpt_header *h)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, CKPT_MAGIC, sizeof h->magic);
    h->n_params = n->n_params;
    h->layers = n->L;
    h->hidden = (uint64_t)n->c.hidden;
    h->optimizer = (uint64_t)n->c.optimizer;
    h->epoch = n->epoch;
    h->step = n->step;
}

int fresh_digits_net_save(const fresh_digits_net *n, void *buf, size_t len)
{
    if (!n || !buf || len < fresh_digits_net_checkpoint_size(n))
        return FRESH_EINVAL;
    ckpt_header h;
    make_header(n, &h);
    unsigned char *p = buf;
    const size_t bytes = n->n_params * sizeof(double);
    memcpy(p, &h, sizeof h);
    memcpy(p + sizeof h, n->theta, bytes);
    memcpy(p + sizeof h + bytes, n->m1, bytes);
    memcpy(p + sizeof h + 2 * bytes, n->m2, bytes);
    return FRESH_OK;
}

int fresh_digits_net_restore(fresh_digits_net *n, const void *buf, size_t len)
{
    if (!n || !buf)
        return FRESH_EINVAL;
    if (len != fresh_digits_net_checkpoint_size(n))
        return FRESH_EMISMATCH;
    ckpt_header h, mine;
    memcpy(&h, buf, sizeof h);
    make_header(n, &mine);
    if (memcmp(h.magic, mine.magic, sizeof h.magic) != 0 || h.n_params != mine.n_params ||
        h.layers != mine.layers || h.hidden != mine.hidden || h.optimizer != mine.optimizer ||
        h.epoch < 0)
        return FRESH_EMISMATCH;
    const unsigned char *p = buf;
    const size_t bytes = n->n_params * sizeof(double);
    memcpy(n->theta, p + sizeof h, bytes);
    memcpy(n->m1, p + sizeof h + bytes, bytes);
    memcpy(n->m2, p + sizeof h + 2 * bytes, bytes);
    n->epoch = (long)h.epoch;
    n->step = h.step;
    n->diverged = 0;
    n->train_loss = NAN;
    return FRESH_OK;
}

/* -------------------------------------------------------- the objective */

static int save_to_trial(fresh_trial *t, const fresh_digits_net *n, void *buf, size_t len)
{
    if (fresh_digits_net_save(n, buf, len) != FRESH_OK)
        return FRESH_EINVAL;
    return fresh_trial_save_checkpoint(t, buf, len);
}

int fresh_digits_objective(fresh_trial *t, void *data)
{
    const fresh_digits_data *d = data;
    char err[FRESH_DIGITS_ERRLEN];
    fresh_digits_config c;
    if (!d) {
        fresh_trial_fail(t, "digits: no data set given to the objective");
        return FRESH_EINVAL;
    }
    int rc = fresh_digits_config_from_trial(t, &c, err);
    if (rc != FRESH_OK) {
        char msg[FRESH_DIGITS_ERRLEN + 16];
        snprintf(msg, sizeof msg, "digits: %s", err);
        fresh_trial_fail(t, msg);
        return rc;
    }
    fresh_digits_net *n = NULL;
    rc = fresh_digits_net_create(&n, d, &c, fresh_trial_seed(t), fresh_trial_config_id(t), err);
    if (rc != FRESH_OK) {
        char msg[FRESH_DIGITS_ERRLEN + 16];
        snprintf(msg, sizeof msg, "digits: %s", err);
        fresh_trial_fail(t, msg);
        return rc;
    }
    const long budget = (long)floor(fresh_trial_budget(t) + 1e-9);
    const double from = fresh_trial_resume_from(t);
    size_t len = 0;
    const void *ckpt = fresh_trial_checkpoint(t, &len);
    if (from > 0 && ckpt && fresh_digits_net_restore(n, ckpt, len) == FRESH_OK &&
        fresh_digits_net_epoch(n) > budget) {
        /* a checkpoint past this job's budget: start again */
        fresh_digits_net_destroy(n);
        n = NULL;
        rc = fresh_digits_net_create(&n, d, &c, fresh_trial_seed(t), fresh_trial_config_id(t),
                                     err);
        if (rc != FRESH_OK) {
            fresh_trial_fail(t, "digits: out of memory");
            return rc;
        }
    }
    const size_t clen = fresh_digits_net_checkpoint_size(n);
    void *buf = malloc(clen);
    if (!buf) {
        fresh_digits_net_destroy(n);
        fresh_trial_fail(t, "digits: out of memory for the checkpoint");
        return FRESH_ENOMEM;
    }
    rc = 0;
    while (fresh_digits_net_epoch(n) < budget) {
        int trc = fresh_digits_net_train_epoch(n);
        long e = fresh_digits_net_epoch(n);
        double verr = trc == FRESH_OK ? fresh_digits_net_validation_error(n) : NAN;
        if (!isfinite(verr)) {
            char msg[96];
            snprintf(msg, sizeof msg, "digits: training diverged (NaN or infinite) in epoch %ld", e);
            fresh_trial_fail(t, msg);
            fresh_trial_report(t, (double)e, NAN);
            goto done; /* no checkpoint of a diverged net */
        }
        if ((double)e <= from)
            continue; /* retraining epochs an earlier job already reported */
        if (!fresh_trial_report(t, (double)e, verr))
            break;
    }
    if (save_to_trial(t, n, buf, clen) != FRESH_OK) {
        fresh_trial_fail(t, "digits: out of memory saving the checkpoint");
        rc = FRESH_ENOMEM;
    }
done:
    free(buf);
    fresh_digits_net_destroy(n);
    return rc;
}

double fresh_digits_evaluate(const fresh_digits_data *d, const fresh_digits_config *c,
                             long epochs, uint64_t seed, uint64_t config_id)
{
    fresh_digits_net *n = NULL;
    if (fresh_digits_net_create(&n, d, c, seed, config_id, NULL) != FRESH_OK)
        return NAN;
    double err = NAN;
    for (long e = 0; e < epochs; e++)
        if (fresh_digits_net_train_epoch(n) != FRESH_OK)
            goto done;
    err = fresh_digits_net_validation_error(n);
done:
    fresh_digits_net_destroy(n);
    return err;
}
