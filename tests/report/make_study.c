/*
 * make_study.c - writes a study file for the report tests (tests/report/):
 * a small discrete space whose parameters declare defaults (so the study
 * can evaluate the untuned default configuration itself), a conditional
 * parameter (gaps in the parallel coordinates), an objective that reports
 * every epoch and fails for one configuration (failed jobs), Hyperband with
 * early stopping (stopped jobs and promotions).
 *
 *   report_make_study FILE [BUDGET_MBE [WORKERS [MS_PER_EPOCH]]]
 *
 * MS_PER_EPOCH > 0 makes the study slow enough to report on while it runs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fresh/fresh.h>

static double ms_per_epoch;

static int objective(fresh_trial *t, void *user)
{
    (void)user;
    long width = fresh_trial_int(t, "width");
    const char *opt = fresh_trial_categorical(t, "optimizer");
    double damping = fresh_trial_is_active(t, "damping") ? (double)fresh_trial_int(t, "damping") : 0;
    if (!strcmp(opt, "rmsprop") && width == 3) {
        fresh_trial_fail(t, "diverged (on purpose: a failed job for the report)");
        return 1;
    }
    double base = 0.05 * (double)((width - 2) * (width - 2)) + (!strcmp(opt, "adam") ? 0.02 : 0.06) +
                  0.01 * damping + 0.001 * (double)(fresh_trial_config_id(t) % 7);
    for (double e = fresh_trial_resume_from(t) + 1; e <= fresh_trial_budget(t); e++) {
        if (ms_per_epoch > 0) {
            struct timespec ts = {0, (long)(ms_per_epoch * 1e6)};
            nanosleep(&ts, NULL);
        }
        /* the early epochs rank configurations unlike the last ones */
        double early = (1.0 + (double)(fresh_trial_config_id(t) % 5)) / (e + 1);
        if (!fresh_trial_report(t, e, base + early))
            break;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: report_make_study FILE [BUDGET_MBE [WORKERS [MS_PER_EPOCH]]]\n");
        return 2;
    }
    double budget = argc > 2 ? atof(argv[2]) : 12;
    long workers = argc > 3 ? atol(argv[3]) : 1;
    ms_per_epoch = argc > 4 ? atof(argv[4]) : 0;

    fresh_space *space = fresh_space_create();
    static const char *const opts[] = {"sgd", "adam", "rmsprop"};
    const double sgd = 0;
    int rc;
    if ((rc = fresh_space_add_int(space, "width", 1, 3, 0)) != FRESH_OK ||
        (rc = fresh_space_add_categorical(space, "optimizer", 3, opts)) != FRESH_OK ||
        (rc = fresh_space_add_int(space, "damping", 0, 2, 0)) != FRESH_OK ||
        (rc = fresh_space_add_condition(space, "damping", "optimizer", 1, &sgd, 0)) != FRESH_OK ||
        (rc = fresh_space_set_default(space, "width", 2)) != FRESH_OK ||
        (rc = fresh_space_set_default(space, "optimizer", 0)) != FRESH_OK ||
        (rc = fresh_space_set_default(space, "damping", 1)) != FRESH_OK) {
        fprintf(stderr, "space: %s\n", fresh_space_errmsg(space));
        return 1;
    }
    fresh_study_params p;
    fresh_study_params_default(&p);
    p.min_budget = 1;
    p.max_budget = 27;
    p.max_total_budget = budget;
    p.workers = (size_t)workers;
    p.seed = 7;
    p.storage = argv[1];
    char err[512];
    fresh_study *s = fresh_study_create(space, &p, &rc, err, sizeof err);
    if (!s) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    rc = fresh_study_optimize(s, objective, NULL);
    if (rc < 0)
        fprintf(stderr, "%s\n", fresh_study_errmsg(s));
    fresh_study_destroy(s);
    fresh_space_destroy(space);
    return rc < 0;
}
