/*
 * quickstart.c - the README's example, runnable: tunes a toy "training run"
 * whose validation loss after `epoch` epochs depends on a learning rate, a
 * depth and an optimizer, with checkpoints so that promoted jobs continue.
 * Every call that can fail is checked, as a user's program should.
 *
 *   build/quickstart [--space FILE.json] [study.db]
 *
 * Without --space the space is built in code; a space file must define lr
 * (float), layers (int) and optimizer (categorical with sgd and adam).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <fresh/fresh.h>

typedef struct toy_net {
    double epochs_done;
} toy_net;

static double toy_loss(double lr, long layers, const char *opt, double epoch)
{
    double best_lr = strcmp(opt, "adam") == 0 ? 1e-3 : 1e-1;
    double d = log10(lr / best_lr);
    return 0.05 + 0.1 * d * d + 0.01 * (double)((layers - 4) * (layers - 4)) + 1.0 / epoch;
}

static int train(fresh_trial *t, void *user)
{
    (void)user;
    double lr = fresh_trial_float(t, "lr");
    long layers = fresh_trial_int(t, "layers");
    const char *opt = fresh_trial_categorical(t, "optimizer");
    if (isnan(lr) || !fresh_trial_is_active(t, "layers") || !opt) {
        fresh_trial_fail(t, "the space lacks lr, layers or optimizer");
        return 1;
    }
    toy_net net = {0};
    size_t len;
    const toy_net *saved = fresh_trial_checkpoint(t, &len);
    if (saved && len == sizeof net)
        net = *saved; /* continue where the previous job of this configuration stopped */
    /* every epoch is reported, so the rung budgets 1, 3, 9, 27, 81 are too */
    for (double epoch = fresh_trial_resume_from(t) + 1; epoch <= fresh_trial_budget(t); epoch++) {
        net.epochs_done = epoch;
        if (!fresh_trial_report(t, epoch, toy_loss(lr, layers, opt, epoch)))
            break; /* stopped early: it cannot win */
    }
    if (fresh_trial_save_checkpoint(t, &net, sizeof net) != FRESH_OK) {
        fresh_trial_fail(t, "out of memory saving the checkpoint");
        return 1;
    }
    return 0;
}

static int build_space(fresh_space *space, const char *path)
{
    if (path)
        return fresh_space_read_file(space, path);
    const char *opts[] = {"sgd", "adam"};
    int rc = fresh_space_add_float(space, "lr", 1e-5, 1, 1);
    if (rc == FRESH_OK)
        rc = fresh_space_add_int(space, "layers", 1, 8, 0);
    if (rc == FRESH_OK)
        rc = fresh_space_add_categorical(space, "optimizer", 2, opts);
    return rc;
}

int main(int argc, char **argv)
{
    const char *space_file = NULL, *storage = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--space") == 0 && i + 1 < argc)
            space_file = argv[++i];
        else if (argv[i][0] != '-' && !storage)
            storage = argv[i];
        else {
            fprintf(stderr, "usage: quickstart [--space FILE.json] [study.db]\n");
            return 2;
        }
    }
    fresh_space *space = fresh_space_create();
    if (!space) {
        fprintf(stderr, "quickstart: out of memory\n");
        return 1;
    }
    if (build_space(space, space_file) != FRESH_OK) {
        fprintf(stderr, "quickstart: %s\n", fresh_space_errmsg(space));
        fresh_space_destroy(space);
        return 1;
    }

    fresh_study_params p;
    fresh_study_params_default(&p);
    p.min_budget = 1;
    p.max_budget = 81;
    p.max_total_budget = 30;
    p.storage = storage;
    p.resume = 1;

    int status;
    char err[512];
    fresh_study *study = fresh_study_create(space, &p, &status, err, sizeof err);
    if (!study) {
        fprintf(stderr, "quickstart: %s\n", err);
        fresh_space_destroy(space);
        return 1;
    }
    int why = fresh_study_optimize(study, train, NULL);
    if (why < 0)
        fprintf(stderr, "quickstart: %s\n", fresh_study_errmsg(study));
    double loss;
    const double *x;
    char text[1024];
    /* the incumbent: the best loss among jobs that completed 81 epochs */
    if (fresh_study_incumbent(study, NULL, &loss, NULL, &x) == FRESH_OK) {
        fresh_space_format(space, x, text, sizeof text);
        printf("%s: loss %.4f after 81 epochs with %s\n", fresh_strerror(why), loss, text);
    } else {
        printf("%s: no configuration completed 81 epochs\n", fresh_strerror(why));
    }
    fresh_study_destroy(study);
    fresh_space_destroy(space);
    return why < 0;
}
