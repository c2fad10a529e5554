/* fresh_trial_worker under ThreadSanitizer: the slot is written by the pool
 * before the work runs and read by the objective on the same worker; each
 * slot runs one job at a time, and the job records name the same slot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fresh/study.h"

#define SLOTS 4
static atomic_int busy[SLOTS], used[SLOTS], overlap, bad;

static int objective(fresh_trial *t, void *user)
{
    (void)user;
    int w = fresh_trial_worker(t);
    if (w < 0 || w >= SLOTS) {
        atomic_store(&bad, 1);
    } else {
        if (atomic_fetch_add(&busy[w], 1) != 0)
            atomic_store(&overlap, 1);
        atomic_fetch_add(&used[w], 1);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        atomic_fetch_sub(&busy[w], 1);
    }
    double x = fresh_trial_float(t, "x");
    fresh_trial_report(t, fresh_trial_budget(t), x * x + 1 / fresh_trial_budget(t));
    return 0;
}

static void test_slots(void **state)
{
    (void)state;
    fresh_space *sp = fresh_space_create();
    assert_int_equal(fresh_space_add_float(sp, "x", -1, 1, 0), FRESH_OK);
    fresh_study_params p;
    fresh_study_params_default(&p);
    p.max_budget = 9;
    p.workers = SLOTS;
    p.max_brackets = 3;
    fresh_study *s = fresh_study_create(sp, &p, NULL, NULL, 0);
    assert_non_null(s);
    assert_int_equal(fresh_study_optimize(s, objective, NULL), FRESH_BRACKETS_DONE);
    assert_int_equal(atomic_load(&bad), 0);
    assert_int_equal(atomic_load(&overlap), 0);
    int total = 0;
    for (int i = 0; i < SLOTS; i++)
        total += atomic_load(&used[i]);
    assert_int_equal((size_t)total, fresh_study_n_jobs(s));
    fresh_job_info ji;
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        assert_int_equal(fresh_study_job(s, i, &ji), FRESH_OK);
        assert_true(ji.worker >= 0 && ji.worker < SLOTS);
    }
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_slots)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
