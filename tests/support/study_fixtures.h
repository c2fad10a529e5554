/* Shared fixtures for study tests: a 2-D space and simple objectives. */
#ifndef FRESH_TEST_STUDY_FIXTURES_H
#define FRESH_TEST_STUDY_FIXTURES_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fresh/study.h"

static inline fresh_space *fx_space(void)
{
    fresh_space *s = fresh_space_create();
    fresh_space_add_float(s, "x", 0, 1, 0);
    fresh_space_add_float(s, "y", 0, 1, 0);
    return s;
}

static inline double fx_base(const fresh_trial *t)
{
    double x = fresh_trial_float(t, "x"), y = fresh_trial_float(t, "y");
    return (x - 0.3) * (x - 0.3) + (y - 0.7) * (y - 0.7);
}

/* Reports base + 1/step after every integer step from resume_from + 1. */
static inline int fx_curve(fresh_trial *t, void *user)
{
    (void)user;
    double b = fresh_trial_budget(t);
    for (double e = fresh_trial_resume_from(t) + 1; e <= b; e += 1)
        if (!fresh_trial_report(t, e, fx_base(t) + 1.0 / e))
            break;
    return 0;
}

static inline fresh_study_params fx_params(void)
{
    fresh_study_params p;
    fresh_study_params_default(&p);
    p.min_budget = 1;
    p.max_budget = 9;
    p.eta = 3;
    p.workers = 1;
    p.seed = 42;
    return p;
}

/* A study over sp with *p; NULL (with the message on stderr) if create
 * failed. */
static inline fresh_study *fx_study(fresh_space *sp, const fresh_study_params *p)
{
    int rc;
    char err[512];
    fresh_study *s = fresh_study_create(sp, p, &rc, err, sizeof err);
    if (!s)
        fprintf(stderr, "fresh_study_create: %s\n", err);
    return s;
}

/* 1 if fresh_study_create refuses p with status `want` and a message that
 * holds `needle`; else 0, with what happened on stderr. */
static inline int fx_refused(fresh_space *sp, const fresh_study_params *p, int want,
                             const char *needle)
{
    int rc;
    char err[512] = "";
    fresh_study *s = fresh_study_create(sp, p, &rc, err, sizeof err);
    if (s) {
        fresh_study_destroy(s);
        fprintf(stderr, "fresh_study_create accepted it (wanted status %d)\n", want);
        return 0;
    }
    if (rc != want || !strstr(err, needle)) {
        fprintf(stderr, "fresh_study_create: status %d, '%s' (wanted %d, '%s')\n", rc, err, want,
                needle);
        return 0;
    }
    return 1;
}

/* Removes a test's scratch directory and everything in it, read-only
 * parts included (chmod -R u+w, then rm -rf). The status of system(3):
 * 0 when both commands succeeded. */
static inline int fx_rmdir(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "chmod -R u+w '%s'; rm -rf '%s'", dir, dir);
    return system(cmd);
}

#endif
