/*
 * test_digits.c - the digits MLP benchmark: loading and splitting the data,
 * the search space, learning, bit-exact resumption from checkpoints (through
 * the net API and through a study's ask/tell), divergence reported as NaN.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "digits.h"
#include "fresh/study.h"

static fresh_digits_data *load(uint64_t seed)
{
    fresh_digits_data *d = NULL;
    char err[FRESH_DIGITS_ERRLEN];
    int rc = fresh_digits_load(&d, fresh_digits_default_path(), seed, err);
    cr_assert_eq(rc, FRESH_OK, "%s", err);
    cr_assert_not_null(d);
    return d;
}

/* ---- data ---- */

Test(digits, load_shape_and_labels)
{
    fresh_digits_data *d = load(FRESH_DIGITS_SPLIT_SEED);
    cr_assert_eq(d->n_train, 1200);
    cr_assert_eq(d->n_valid, 597);
    /* the class counts of the UCI test file as shipped with scikit-learn */
    static const size_t expect[10] = {178, 182, 177, 183, 181, 182, 181, 179, 174, 180};
    size_t split[10] = {0}, total = 0;
    for (int k = 0; k < 10; k++) {
        cr_assert_eq(d->class_counts[k], expect[k], "class %d", k);
        total += d->class_counts[k];
    }
    cr_assert_eq(total, 1797);
    for (size_t i = 0; i < d->n_train; i++)
        split[d->y_train[i]]++;
    for (size_t i = 0; i < d->n_valid; i++)
        split[d->y_valid[i]]++;
    cr_assert_eq(memcmp(split, expect, sizeof split), 0);
    double mx = 0;
    for (size_t i = 0; i < d->n_train * 64; i++) {
        cr_assert(d->x_train[i] >= 0 && d->x_train[i] <= 1);
        mx = fmax(mx, d->x_train[i]);
    }
    cr_assert_eq(mx, 1.0);
    /* the first row of the file is a 0 whose third pixel is 5 */
    int found = 0;
    for (size_t i = 0; i < d->n_train && !found; i++)
        found = d->y_train[i] == 0 && d->x_train[i * 64 + 2] == 5.0 / 16 &&
                d->x_train[i * 64 + 3] == 13.0 / 16 && d->x_train[i * 64 + 4] == 9.0 / 16;
    for (size_t i = 0; i < d->n_valid && !found; i++)
        found = d->y_valid[i] == 0 && d->x_valid[i * 64 + 2] == 5.0 / 16 &&
                d->x_valid[i * 64 + 3] == 13.0 / 16 && d->x_valid[i * 64 + 4] == 9.0 / 16;
    cr_assert(found);
    fresh_digits_free(d);
    fresh_digits_free(NULL);
}

Test(digits, split_is_deterministic)
{
    fresh_digits_data *a = load(7), *b = load(7), *c = load(8);
    cr_assert_eq(memcmp(a->x_train, b->x_train, 1200 * 64 * sizeof(double)), 0);
    cr_assert_eq(memcmp(a->y_valid, b->y_valid, 597 * sizeof(int)), 0);
    cr_assert_neq(memcmp(a->y_train, c->y_train, 1200 * sizeof(int)), 0, "seed ignored");
    fresh_digits_free(a);
    fresh_digits_free(b);
    fresh_digits_free(c);
}

Test(digits, load_errors)
{
    fresh_digits_data *d = (fresh_digits_data *)1;
    char err[FRESH_DIGITS_ERRLEN];
    cr_assert_eq(fresh_digits_load(&d, "/nonexistent/digits.csv.gz", 1, err), FRESH_EIO);
    cr_assert_null(d);
    cr_assert(strstr(err, "/nonexistent/digits.csv.gz"));
    cr_assert_eq(fresh_digits_load(NULL, "x", 1, err), FRESH_EINVAL);
    cr_assert_eq(fresh_digits_load(&d, NULL, 1, NULL), FRESH_EINVAL);

    char path[] = "/tmp/fresh_digits_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "0,1,2\n");
    fclose(f);
    cr_assert_eq(fresh_digits_load(&d, path, 1, err), FRESH_EPARSE);
    cr_assert(strstr(err, ":1:"), "%s", err);
    f = fopen(path, "w");
    for (int r = 0; r < 3; r++) {
        for (int k = 0; k < 64; k++)
            fprintf(f, "%d,", k % 17);
        fprintf(f, "%d\n", r);
    }
    fclose(f);
    cr_assert_eq(fresh_digits_load(&d, path, 1, err), FRESH_EPARSE);
    cr_assert(strstr(err, "expected 1797 rows, got 3"), "%s", err);
    remove(path);
}

/* ---- the space ---- */

Test(digits, space)
{
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_digits_build_space(s), FRESH_OK);
    cr_assert_eq(fresh_space_dim(s), FRESH_DIGITS_DIM);
    static const struct {
        const char *name;
        fresh_param_type type;
        int log;
        double low, high;
        int cond;
    } want[] = {
        {"lr", FRESH_PARAM_FLOAT, 1, 1e-4, 1, 0},
        {"batch_size", FRESH_PARAM_INT, 1, 16, 256, 0},
        {"hidden", FRESH_PARAM_INT, 1, 16, 256, 0},
        {"layers", FRESH_PARAM_INT, 0, 1, 3, 0},
        {"dropout", FRESH_PARAM_FLOAT, 0, 0, 0.5, 0},
        {"weight_decay", FRESH_PARAM_FLOAT, 1, 1e-6, 1e-2, 0},
        {"optimizer", FRESH_PARAM_CATEGORICAL, 0, 0, 1, 0},
        {"momentum", FRESH_PARAM_FLOAT, 0, 0, 0.99, 1},
        {"activation", FRESH_PARAM_CATEGORICAL, 0, 0, 1, 0},
    };
    for (size_t i = 0; i < FRESH_DIGITS_DIM; i++) {
        fresh_param_info pi;
        cr_assert_eq(fresh_space_param(s, i, &pi), FRESH_OK);
        cr_assert_str_eq(pi.name, want[i].name);
        cr_assert_eq(pi.type, want[i].type, "%s", pi.name);
        cr_assert_eq(pi.log_scale, want[i].log, "%s", pi.name);
        cr_assert_eq(pi.low, want[i].low, "%s", pi.name);
        cr_assert_eq(pi.high, want[i].high, "%s", pi.name);
        cr_assert_eq(pi.has_condition, want[i].cond, "%s", pi.name);
    }
    cr_assert_eq(fresh_space_level_index(s, 6, "sgd"), 0);
    cr_assert_eq(fresh_space_level_index(s, 6, "adam"), 1);
    cr_assert_eq(fresh_space_level_index(s, 8, "relu"), 0);
    cr_assert_eq(fresh_space_level_index(s, 8, "tanh"), 1);
    /* momentum is active under sgd only */
    double x[FRESH_DIGITS_DIM] = {0.01, 64, 32, 1, 0, 1e-5, 0, 0.5, 0};
    cr_assert(fresh_space_is_active(s, x, 7));
    fresh_digits_config c;
    cr_assert_eq(fresh_digits_config_from_values(x, &c, NULL), FRESH_OK);
    cr_assert_eq(c.momentum, 0.5);
    cr_assert_eq(c.optimizer, FRESH_DIGITS_SGD);
    x[6] = 1;
    fresh_space_apply_conditions(s, x);
    cr_assert(isnan(x[7]));
    cr_assert_eq(fresh_space_check(s, x, NULL, 0), FRESH_OK);
    cr_assert_eq(fresh_digits_config_from_values(x, &c, NULL), FRESH_OK);
    cr_assert_eq(c.optimizer, FRESH_DIGITS_ADAM);
    cr_assert_eq(c.momentum, 0);
    fresh_space_destroy(s);
}

Test(digits, config_check)
{
    fresh_digits_config c;
    char err[FRESH_DIGITS_ERRLEN];
    fresh_digits_default_config(&c);
    cr_assert_eq(fresh_digits_config_check(&c, err), FRESH_OK);
    cr_assert_eq(c.lr, 0.01);
    cr_assert_eq(c.batch_size, 64);
    cr_assert_eq(c.hidden, 32);
    cr_assert_eq(c.layers, 1);
    c.layers = 4;
    cr_assert_eq(fresh_digits_config_check(&c, err), FRESH_EINVAL);
    cr_assert(strstr(err, "layers"), "%s", err);
    fresh_digits_default_config(&c);
    c.lr = -1;
    cr_assert_eq(fresh_digits_config_check(&c, err), FRESH_EINVAL);
    cr_assert(strstr(err, "lr"), "%s", err);
    fresh_digits_default_config(&c);
    c.dropout = 1;
    cr_assert_eq(fresh_digits_config_check(&c, err), FRESH_EINVAL);
    fresh_digits_default_config(&c);
    c.batch_size = 0;
    fresh_digits_net *n = (fresh_digits_net *)1;
    fresh_digits_data *d = load(1);
    cr_assert_eq(fresh_digits_net_create(&n, d, &c, 1, 0, err), FRESH_EINVAL);
    cr_assert_null(n);
    fresh_digits_free(d);
}

/* ---- learning ---- */

Test(digits, default_config_learns)
{
    fresh_digits_data *d = load(FRESH_DIGITS_SPLIT_SEED);
    fresh_digits_config c;
    fresh_digits_default_config(&c);
    double e27 = fresh_digits_evaluate(d, &c, 27, 1, 0);
    cr_assert(e27 < 0.3, "default net after 27 epochs: error %g", e27);
    /* a tuned-looking configuration learns in a few epochs */
    c.optimizer = FRESH_DIGITS_ADAM;
    c.lr = 3e-3;
    c.batch_size = 32;
    double e3 = fresh_digits_evaluate(d, &c, 3, 1, 0);
    cr_assert(e3 < 0.2, "adam after 3 epochs: error %g", e3);
    /* the same seed gives the same result, another seed another net */
    cr_assert_eq(fresh_digits_evaluate(d, &c, 3, 1, 0), e3);
    fresh_digits_net *a, *b;
    cr_assert_eq(fresh_digits_net_create(&a, d, &c, 1, 0, NULL), FRESH_OK);
    cr_assert_eq(fresh_digits_net_create(&b, d, &c, 1, 1, NULL), FRESH_OK);
    size_t len = fresh_digits_net_checkpoint_size(a);
    unsigned char *ba = malloc(len), *bb = malloc(len);
    fresh_digits_net_save(a, ba, len);
    fresh_digits_net_save(b, bb, len);
    cr_assert_neq(memcmp(ba, bb, len), 0, "config id ignored by the initialisation");
    free(ba);
    free(bb);
    fresh_digits_net_destroy(a);
    fresh_digits_net_destroy(b);
    fresh_digits_free(d);
}

/* Trains c for 3 epochs straight and as 2 + checkpoint + 1 in a new net:
 * the validation errors and the final states must be bitwise equal. */
static void check_resume(const fresh_digits_data *d, const fresh_digits_config *c)
{
    fresh_digits_net *a, *b, *r;
    cr_assert_eq(fresh_digits_net_create(&a, d, c, 42, 5, NULL), FRESH_OK);
    cr_assert_eq(fresh_digits_net_create(&b, d, c, 42, 5, NULL), FRESH_OK);
    for (int e = 0; e < 3; e++)
        cr_assert_eq(fresh_digits_net_train_epoch(a), FRESH_OK);
    double ea = fresh_digits_net_validation_error(a);
    for (int e = 0; e < 2; e++)
        cr_assert_eq(fresh_digits_net_train_epoch(b), FRESH_OK);
    size_t len = fresh_digits_net_checkpoint_size(b);
    unsigned char *ck = malloc(len), *sa = malloc(len), *sr = malloc(len);
    cr_assert_eq(fresh_digits_net_save(b, ck, len), FRESH_OK);
    fresh_digits_net_destroy(b);
    cr_assert_eq(fresh_digits_net_create(&r, d, c, 42, 5, NULL), FRESH_OK);
    cr_assert_eq(fresh_digits_net_restore(r, ck, len - 1), FRESH_EMISMATCH);
    cr_assert_eq(fresh_digits_net_epoch(r), 0, "a failed restore changed the net");
    cr_assert_eq(fresh_digits_net_restore(r, ck, len), FRESH_OK);
    cr_assert_eq(fresh_digits_net_epoch(r), 2);
    cr_assert_eq(fresh_digits_net_train_epoch(r), FRESH_OK);
    double er = fresh_digits_net_validation_error(r);
    cr_assert(ea < 0.5, "error %g", ea);
    cr_assert_eq(memcmp(&ea, &er, sizeof ea), 0, "resumed %.17g, straight %.17g", er, ea);
    fresh_digits_net_save(a, sa, len);
    fresh_digits_net_save(r, sr, len);
    cr_assert_eq(memcmp(sa, sr, len), 0, "resumed weights or optimizer state differ");
    free(ck);
    free(sa);
    free(sr);
    fresh_digits_net_destroy(a);
    fresh_digits_net_destroy(r);
}

Test(digits, resume_is_bit_exact)
{
    fresh_digits_data *d = load(FRESH_DIGITS_SPLIT_SEED);
    fresh_digits_config c;
    fresh_digits_default_config(&c);
    c.optimizer = FRESH_DIGITS_ADAM;
    c.lr = 2e-3;
    c.layers = 2;
    c.dropout = 0.2;
    c.batch_size = 50;
    c.activation = FRESH_DIGITS_TANH;
    check_resume(d, &c);
    fresh_digits_default_config(&c);
    c.lr = 0.05;
    c.momentum = 0.9;
    c.dropout = 0.1;
    c.weight_decay = 1e-3;
    check_resume(d, &c);
    /* a checkpoint of another shape is refused */
    fresh_digits_net *a, *b;
    cr_assert_eq(fresh_digits_net_create(&a, d, &c, 1, 0, NULL), FRESH_OK);
    c.hidden = 33;
    cr_assert_eq(fresh_digits_net_create(&b, d, &c, 1, 0, NULL), FRESH_OK);
    size_t len = fresh_digits_net_checkpoint_size(a);
    void *buf = malloc(len);
    fresh_digits_net_save(a, buf, len);
    cr_assert_eq(fresh_digits_net_restore(b, buf, len), FRESH_EMISMATCH);
    free(buf);
    fresh_digits_net_destroy(a);
    fresh_digits_net_destroy(b);
    fresh_digits_free(d);
}

/* ---- the objective inside a study ---- */

/* The digits space with other ranges (same names and order), so a test can
 * pick small or diverging nets; sgd_relu: the only choices are sgd and relu
 * (Adam's normalised steps and tanh's bounded units keep a net with a huge
 * learning rate finite). */
static fresh_space *small_space(double lr_lo, double lr_hi, int sgd_relu)
{
    static const char *const opt[] = {"sgd", "adam"};
    static const char *const act[] = {"relu", "tanh"};
    const size_t nchoice = sgd_relu ? 1 : 2;
    const double sgd = 0;
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_add_float(s, "lr", lr_lo, lr_hi, 1), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(s, "batch_size", 32, 64, 1), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(s, "hidden", 16, 32, 1), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(s, "layers", 1, 2, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_float(s, "dropout", 0, 0.5, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_float(s, "weight_decay", 1e-6, 1e-2, 1), FRESH_OK);
    cr_assert_eq(fresh_space_add_categorical(s, "optimizer", nchoice, opt), FRESH_OK);
    cr_assert_eq(fresh_space_add_float(s, "momentum", 0, 0.99, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_condition(s, "momentum", "optimizer", 1, &sgd, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_categorical(s, "activation", nchoice, act), FRESH_OK);
    return s;
}

/* One successive-halving bracket over budgets 1 and 3 (3 configurations at
 * 1 epoch, the best continued to 3), driven by ask/tell. */
static fresh_study *run_sh(fresh_space *s, fresh_digits_data *d, uint64_t seed)
{
    fresh_study_params p;
    fresh_study_params_default(&p);
    p.min_budget = 1;
    p.max_budget = 3;
    p.eta = 3;
    p.sampler = fresh_sampler_random;
    p.scheduler = fresh_scheduler_sh;
    p.max_brackets = 1;
    p.workers = 1;
    p.seed = seed;
    int rc;
    char err[512];
    fresh_study *st = fresh_study_create(s, &p, &rc, err, sizeof err);
    cr_assert_not_null(st, "%s", err);
    fresh_trial *t;
    while ((rc = fresh_study_ask(st, &t)) == FRESH_OK) {
        fresh_digits_objective(t, d);
        cr_assert_eq(fresh_study_tell(st, t), FRESH_OK);
    }
    cr_assert(rc > 0, "ask: %d", rc);
    return st;
}

Test(digits, study_resume_equals_straight_training)
{
    fresh_digits_data *d = load(FRESH_DIGITS_SPLIT_SEED);
    fresh_space *s = small_space(1e-3, 1e-1, 0);
    fresh_study *st = run_sh(s, d, 11);
    size_t resumed = 0;
    for (size_t i = 0; i < fresh_study_n_jobs(st); i++) {
        fresh_job_info ji;
        cr_assert_eq(fresh_study_job(st, i, &ji), FRESH_OK);
        if (ji.resume_from == 0) {
            cr_assert_eq(ji.n_reports, 1);
            continue;
        }
        resumed++;
        cr_assert_eq(ji.status, FRESH_JOB_COMPLETED, "%s", ji.message);
        cr_assert_eq(ji.resume_from, 1);
        cr_assert_eq(ji.n_reports, 2, "epochs 2 and 3 reported");
        cr_assert_eq(ji.report_steps[0], 2);
        cr_assert_eq(ji.report_steps[1], 3);
        fresh_digits_config c;
        char err[FRESH_DIGITS_ERRLEN];
        cr_assert_eq(fresh_digits_config_from_values(fresh_study_config(st, ji.config_id), &c,
                                                     err),
                     FRESH_OK, "%s", err);
        double straight = fresh_digits_evaluate(d, &c, 3, 11, ji.config_id);
        double resumed_err = ji.report_losses[1];
        cr_assert_eq(memcmp(&straight, &resumed_err, sizeof straight), 0,
                     "resumed %.17g, straight %.17g", resumed_err, straight);
        cr_assert_eq(ji.loss, straight);
        cr_assert(straight >= 0 && straight < 0.9);
    }
    cr_assert_eq(resumed, 1);
    fresh_study_destroy(st);
    fresh_space_destroy(s);
    fresh_digits_free(d);
}

Test(digits, divergence_reports_nan)
{
    fresh_digits_data *d = load(FRESH_DIGITS_SPLIT_SEED);
    fresh_space *s = small_space(1e8, 1e9, 1);
    fresh_study *st = run_sh(s, d, 3);
    size_t failed = 0;
    for (size_t i = 0; i < fresh_study_n_jobs(st); i++) {
        fresh_job_info ji;
        cr_assert_eq(fresh_study_job(st, i, &ji), FRESH_OK);
        if (ji.status != FRESH_JOB_FAILED)
            continue;
        failed++;
        cr_assert_geq(ji.n_reports, 1);
        cr_assert(isnan(ji.report_losses[ji.n_reports - 1]));
        cr_assert(strstr(ji.message, "diverged"), "%s", ji.message);
    }
    cr_assert_geq(failed, 3, "sgd with lr >= 1e8 should diverge in every configuration");
    fresh_study_destroy(st);
    fresh_space_destroy(s);

    /* the net API says so too */
    fresh_digits_config c;
    fresh_digits_default_config(&c);
    c.lr = 1e9;
    fresh_digits_net *n;
    cr_assert_eq(fresh_digits_net_create(&n, d, &c, 1, 0, NULL), FRESH_OK);
    int rc = FRESH_OK;
    for (int e = 0; e < 20 && rc == FRESH_OK; e++)
        rc = fresh_digits_net_train_epoch(n);
    cr_assert_eq(rc, FRESH_EOBJECTIVE);
    cr_assert(fresh_digits_net_diverged(n));
    cr_assert(isnan(fresh_digits_net_validation_error(n)));
    cr_assert(isnan(fresh_digits_net_train_loss(n)));
    cr_assert_eq(fresh_digits_net_train_epoch(n), FRESH_EOBJECTIVE, "a diverged net trains on");
    cr_assert(isnan(fresh_digits_evaluate(d, &c, 20, 1, 0)));
    fresh_digits_net_destroy(n);
    fresh_digits_free(d);
}

Test(digits, objective_rejects_bad_space)
{
    fresh_digits_data *d = load(FRESH_DIGITS_SPLIT_SEED);
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_add_float(s, "lr", 1e-3, 1e-2, 1), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(s, "hidden", 16, 32, 0), FRESH_OK);
    fresh_study *st = run_sh(s, d, 1);
    fresh_job_info ji;
    cr_assert_eq(fresh_study_job(st, 0, &ji), FRESH_OK);
    cr_assert_eq(ji.status, FRESH_JOB_FAILED);
    cr_assert(strstr(ji.message, "batch_size"), "%s", ji.message);
    fresh_study_destroy(st);
    fresh_space_destroy(s);
    fresh_digits_free(d);
}
