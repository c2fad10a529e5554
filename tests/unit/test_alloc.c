/* Allocation failures: every allocation of study creation and of one whole
 * bracket (ask, sampler, scheduler, reports, tell, the pool) is failed in
 * turn. Each run must end with FRESH_ENOMEM (or, for an allocation inside
 * the objective's report, a job recorded as failed) and, under
 * `make check-asan`, leak nothing. */
#include <criterion/criterion.h>
#include <string.h>

#include "internal.h"
#include "study_fixtures.h"

/* 0: ran to the end; otherwise the first error status met */
static int one_bracket(int use_optimize, int *failed_jobs)
{
    fresh_space *sp = fx_space(); /* built before the countdown starts */
    fresh_study_params p = fx_params();
    p.max_brackets = 1;
    *failed_jobs = 0;
    int rc = 0, status;
    fresh_study *s = fresh_study_create(sp, &p, &status, NULL, 0);
    if (!s) {
        rc = status;
    } else if (use_optimize) {
        int r = fresh_study_optimize(s, fx_curve, NULL);
        rc = r < 0 ? r : 0;
    } else {
        fresh_trial *t;
        int r;
        while ((r = fresh_study_ask(s, &t)) == FRESH_OK) {
            fx_curve(t, NULL);
            r = fresh_study_tell(s, t);
            if (r != FRESH_OK)
                break;
        }
        rc = r < 0 ? r : 0;
    }
    if (s) {
        fresh_study_stats st;
        fresh_study_get_stats(s, &st);
        *failed_jobs = (int)st.jobs_failed;
    }
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
    return rc;
}

static void fail_each(int use_optimize)
{
    long k;
    int ended = 0;
    for (k = 0; k < 5000 && !ended; k++) {
        int failed_jobs;
        /* the countdown must start after the space is built: one_bracket
         * builds it first, so count its allocations once */
        fresh_space *probe = fx_space();
        long space_allocs = fresh__alloc_fail_after(-1);
        fresh_space_destroy(probe);
        fresh__alloc_fail_after(k + space_allocs);
        int rc = one_bracket(use_optimize, &failed_jobs);
        long made = fresh__alloc_fail_after(-1);
        if (made <= k + space_allocs) {
            cr_assert_eq(rc, 0, "no failure injected, yet status %d", rc);
            ended = 1;
        } else {
            cr_assert(rc == FRESH_ENOMEM || (rc == 0 && failed_jobs > 0),
                      "allocation %ld failed: status %d (%s), failed jobs %d", k, rc,
                      fresh_strerror(rc), failed_jobs);
        }
    }
    cr_assert(ended, "still failing after %ld allocations", k);
    cr_assert_gt(k, 20, "only %ld allocation sites: the hook is not used", k);
}

Test(alloc, ask_tell_every_site) { fail_each(0); }
Test(alloc, optimize_every_site) { fail_each(1); }
