/*
 * digits.h - an epoch-budget neural-network benchmark: a multi-layer
 * perceptron trained in C on the handwritten digits data set (UCI "Optical
 * Recognition of Handwritten Digits", CC BY 4.0, bench/data/README.md).
 *
 * The budget is the number of epochs. The objective trains from
 * fresh_trial_resume_from() up to fresh_trial_budget() epochs, continuing
 * from the checkpoint of the previous job of the same configuration (weights
 * and optimizer state), and reports the validation error rate after every
 * epoch. Training is a pure function of (study seed, configuration id,
 * hyperparameters, number of epochs): every random draw comes from a stream
 * derived from (seed, config id, epoch), so resuming gives bit-identical
 * results to training straight through, whatever thread runs the job.
 * docs/digits.md describes the data, the net and measured epoch times.
 *
 * This is a support library for the CLI, the bench programs and the tests;
 * it is not installed and not part of libfresh's public API.
 */
#ifndef FRESH_BENCH_DIGITS_H
#define FRESH_BENCH_DIGITS_H

#include <stddef.h>
#include <stdint.h>

#include "fresh/space.h"
#include "fresh/trial.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FRESH_DIGITS_N_ROWS 1797
#define FRESH_DIGITS_N_FEATURES 64
#define FRESH_DIGITS_N_CLASSES 10
#define FRESH_DIGITS_N_TRAIN 1200
#define FRESH_DIGITS_N_VALID 597
#define FRESH_DIGITS_MAX_LAYERS 3
#define FRESH_DIGITS_MAX_HIDDEN 4096
/* Size of the err buffers of this module. */
#define FRESH_DIGITS_ERRLEN 256
/* The split seed the CLI and demos use. */
#define FRESH_DIGITS_SPLIT_SEED UINT64_C(1998)

/* ---- data ---- */

/* The data set after the split. Pixels scaled to [0, 1] (value / 16),
 * row-major, FRESH_DIGITS_N_FEATURES doubles a row. */
typedef struct fresh_digits_data {
    size_t n_train, n_valid;
    double *x_train;   /* n_train x 64 */
    int *y_train;      /* n_train labels 0..9 */
    double *x_valid;   /* n_valid x 64 */
    int *y_valid;      /* n_valid labels 0..9 */
    size_t class_counts[FRESH_DIGITS_N_CLASSES]; /* over all rows of the file */
} fresh_digits_data;

/* Reads the gzip'ed CSV at `path` (1797 rows of 64 pixels 0..16 and a label
 * 0..9; plain text is read too), scales the pixels to [0, 1] and splits the
 * rows by a Fisher-Yates shuffle drawn from stream (split_seed, 0,
 * FRESH_RNG_USER) into 1200 training and 597 validation rows, each part kept
 * in shuffled order. On success *out owns the data (free with
 * fresh_digits_free). Returns FRESH_OK, FRESH_EINVAL (NULL out or path),
 * FRESH_EIO (cannot open or read), FRESH_EPARSE (malformed line, value out of
 * range, wrong number of rows; the message names the line) or FRESH_ENOMEM;
 * on error *out is NULL and err (FRESH_DIGITS_ERRLEN bytes, may be NULL)
 * says why. Thread safety: any thread. */
int fresh_digits_load(fresh_digits_data **out, const char *path, uint64_t split_seed,
                      char *err);

/* Frees the data; NULL is a no-op. Thread safety: any thread. */
void fresh_digits_free(fresh_digits_data *data);

/* The default data path: the environment variable FRESH_DIGITS when set and
 * not empty, else FRESH_SOURCE_DIR "/bench/data/digits.csv.gz" (the source
 * tree fresh_bench was built from). Static string. Thread safety: any
 * thread (reads the environment). */
const char *fresh_digits_default_path(void);

/* ---- the configuration ---- */

typedef enum fresh_digits_optimizer {
    FRESH_DIGITS_SGD = 0,  /* SGD with (heavy-ball) momentum */
    FRESH_DIGITS_ADAM = 1  /* Adam, beta1 0.9, beta2 0.999, eps 1e-8 */
} fresh_digits_optimizer;

typedef enum fresh_digits_activation {
    FRESH_DIGITS_RELU = 0,
    FRESH_DIGITS_TANH = 1
} fresh_digits_activation;

typedef struct fresh_digits_config {
    double lr;             /* learning rate, > 0 */
    long batch_size;       /* 1 .. n_train */
    long hidden;           /* units per hidden layer, 1 .. FRESH_DIGITS_MAX_HIDDEN */
    long layers;           /* hidden layers, 1 .. FRESH_DIGITS_MAX_LAYERS */
    double dropout;        /* inverted dropout on hidden layers, [0, 1) */
    double weight_decay;   /* L2 coefficient on weights (not biases), >= 0 */
    fresh_digits_optimizer optimizer;
    double momentum;       /* SGD only, [0, 1) */
    fresh_digits_activation activation;
} fresh_digits_config;

/* The untuned default: lr 0.01, batch 64, hidden 32, 1 layer, dropout 0,
 * weight decay 1e-5, SGD without momentum, ReLU. Thread safety: any thread. */
void fresh_digits_default_config(fresh_digits_config *c);

/* FRESH_OK if every field is valid, else FRESH_EINVAL with the field named in
 * err (FRESH_DIGITS_ERRLEN bytes, may be NULL). Thread safety: any thread. */
int fresh_digits_config_check(const fresh_digits_config *c, char *err);

/* Adds the search space to an empty space, in this order:
 *   lr            float [1e-4, 1] log
 *   batch_size    int [16, 256] log
 *   hidden        int [16, 256] log
 *   layers        int [1, 3]
 *   dropout       float [0, 0.5]
 *   weight_decay  float [1e-6, 1e-2] log
 *   optimizer     categorical {sgd, adam}
 *   momentum      float [0, 0.99], active only if optimizer = sgd
 *   activation    categorical {relu, tanh}
 * Returns FRESH_OK or the status of the failing fresh_space call.
 * Thread safety: owner thread of the space. */
int fresh_digits_build_space(fresh_space *space);

/* Number of parameters fresh_digits_build_space adds (9). */
#define FRESH_DIGITS_DIM 9

/* Reads a configuration from value space in the order of
 * fresh_digits_build_space (categorical as index, momentum NaN when
 * inactive). FRESH_OK or FRESH_EINVAL (err says why). Thread safety: any. */
int fresh_digits_config_from_values(const double *x, fresh_digits_config *c, char *err);

/* Reads a configuration from a trial by parameter name (any space with these
 * names works; momentum is 0 when inactive or absent). FRESH_OK or
 * FRESH_EINVAL (a missing or invalid parameter; err says which).
 * Thread safety: inside the objective. */
int fresh_digits_config_from_trial(const fresh_trial *t, fresh_digits_config *c, char *err);

/* ---- the net: create, (restore), train epochs, validate, save ---- */

typedef struct fresh_digits_net fresh_digits_net;

/* A new net for configuration c on data d (borrowed: it must outlive the
 * net), initialised for epoch 0 from stream (seed, config_id): He-uniform
 * weights for ReLU, Glorot-uniform for tanh and for the output layer, zero
 * biases, zero optimizer state. All buffers of training are allocated here.
 * Returns FRESH_OK, FRESH_EINVAL (NULL argument or invalid config; err says
 * why) or FRESH_ENOMEM; *out is NULL on error. Thread safety: any thread. */
int fresh_digits_net_create(fresh_digits_net **out, const fresh_digits_data *d,
                            const fresh_digits_config *c, uint64_t seed, uint64_t config_id,
                            char *err);

/* Frees the net; NULL is a no-op. Thread safety: the net's thread. */
void fresh_digits_net_destroy(fresh_digits_net *net);

/* Trains one epoch (epoch number fresh_digits_net_epoch() + 1): a shuffle
 * of the training rows and the dropout masks drawn from stream (seed,
 * config_id, epoch), mini-batches (the last one smaller), one optimizer step
 * a batch. Performs no allocation. Returns FRESH_OK, or FRESH_EOBJECTIVE when
 * the loss or the weights became NaN or infinite (the net is then marked
 * diverged and trains no more; the epoch counter still advances), or
 * FRESH_EINVAL for a NULL net. Thread safety: the net's thread. */
int fresh_digits_net_train_epoch(fresh_digits_net *net);

/* Fraction of validation rows misclassified (argmax of the output, no
 * dropout), in [0, 1]; NaN when the net has diverged. Thread safety: the
 * net's thread. */
double fresh_digits_net_validation_error(fresh_digits_net *net);

/* Epochs trained so far; 1 if the net has diverged, else 0; mean training
 * cross-entropy of the last epoch (NaN before the first). */
long fresh_digits_net_epoch(const fresh_digits_net *net);
int fresh_digits_net_diverged(const fresh_digits_net *net);
double fresh_digits_net_train_loss(const fresh_digits_net *net);

/* Bytes of a checkpoint of this net: a header (magic, shape, epoch, step
 * count) and the parameters, first and second optimizer moments as doubles
 * in native byte order. */
size_t fresh_digits_net_checkpoint_size(const fresh_digits_net *net);

/* Writes the checkpoint into buf (len >= checkpoint_size). FRESH_OK or
 * FRESH_EINVAL. Thread safety: the net's thread. */
int fresh_digits_net_save(const fresh_digits_net *net, void *buf, size_t len);

/* Restores weights, optimizer state, epoch and step count from a
 * checkpoint of a net with the same shape and optimizer. FRESH_OK, or
 * FRESH_EMISMATCH (wrong magic, shape or length; the net is unchanged),
 * FRESH_EINVAL (NULL). Thread safety: the net's thread. */
int fresh_digits_net_restore(fresh_digits_net *net, const void *buf, size_t len);

/* ---- the objective ---- */

/* The objective for fresh_study: `data` is a const fresh_digits_data *.
 * Reads the configuration by name (fresh_digits_config_from_trial), builds
 * the net, restores the checkpoint of the previous job when
 * fresh_trial_resume_from() > 0 (a missing or mismatched checkpoint means
 * training again from epoch 0, reporting only the epochs past resume_from),
 * trains up to floor(fresh_trial_budget()) epochs, reports the validation
 * error after every epoch with fresh_trial_report(t, epoch, err) and ends at
 * once when that returns 0. Saves the checkpoint when it ends (also when
 * stopped early). A diverging net is marked failed with a message and
 * reports NaN. Returns 0, or a negative status (invalid configuration, out
 * of memory; the job is marked failed). Thread safety: inside the objective;
 * any number of jobs may share one data set. */
int fresh_digits_objective(fresh_trial *t, void *data);

/* Trains configuration c for `epochs` epochs from scratch with stream
 * (seed, config_id) and returns the final validation error; NaN when the net
 * diverges or cannot be built. With fresh_digits_default_config it gives the
 * untuned baseline a tuned result is compared with. Thread safety: any. */
double fresh_digits_evaluate(const fresh_digits_data *d, const fresh_digits_config *c,
                             long epochs, uint64_t seed, uint64_t config_id);

#ifdef __cplusplus
}
#endif
#endif /* FRESH_BENCH_DIGITS_H */
