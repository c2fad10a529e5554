/*
 * quickstart.c - the README's example, runnable: tunes a toy "training run"
 * whose validation loss after `epoch` epochs depends on a learning rate, a
 * depth and an optimizer, with checkpoints so that promoted jobs continue.
 *
 *   build/quickstart [study.db]
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
    toy_net net = {0};
    size_t len;
    const toy_net *saved = fresh_trial_checkpoint(t, &len);
    if (saved && len == sizeof net)
        net = *saved; /* continue where the previous job of this configuration stopped */
    for (double epoch = fresh_trial_resume_from(t) + 1; epoch <= fresh_trial_budget(t); epoch++) {
        net.epochs_done = epoch;
        if (!fresh_trial_report(t, epoch, toy_loss(lr, layers, opt, epoch)))
            break; /* stopped early: it cannot win */
    }
    fresh_trial_save_checkpoint(t, &net, sizeof net);
    return 0;
}

int main(int argc, char **argv)
{
    fresh_space *space = fresh_space_create();
    fresh_space_add_float(space, "lr", 1e-5, 1, 1);
    fresh_space_add_int(space, "layers", 1, 8, 0);
    const char *opts[] = {"sgd", "adam"};
    fresh_space_add_categorical(space, "optimizer", 2, opts);

    fresh_study_params p;
    fresh_study_params_default(&p);
    p.min_budget = 1;
    p.max_budget = 81;
    p.max_total_budget = 30;
    p.storage = argc > 1 ? argv[1] : NULL;
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
    double loss, budget;
    const double *x;
    if (fresh_study_incumbent(study, NULL, &loss, &budget, &x) == FRESH_OK) {
        char text[1024];
        fresh_space_format(space, x, text, sizeof text);
        printf("%s: loss %.4f at budget %g with %s\n", fresh_strerror(why), loss, budget, text);
    }
    fresh_study_destroy(study);
    fresh_space_destroy(space);
    return why < 0;
}
