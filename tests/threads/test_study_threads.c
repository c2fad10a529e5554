/* The study on a real pool (cmocka; run under ThreadSanitizer): every job is
 * delivered exactly once with several workers, early stopping with
 * concurrent reports, force_stop from another thread, wall-time limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "study_fixtures.h"

static atomic_int calls;

static void nap_ms(double ms)
{
    struct timespec ts = {0, (long)(ms * 1e6)};
    nanosleep(&ts, NULL);
}

static int sleepy(fresh_trial *t, void *user)
{
    (void)user;
    atomic_fetch_add(&calls, 1);
    double b = fresh_trial_budget(t);
    for (double e = fresh_trial_resume_from(t) + 1; e <= b; e += 1) {
        nap_ms(0.2);
        if (!fresh_trial_report(t, e, fx_base(t) + 1.0 / e))
            break;
    }
    return 0;
}

static fresh_study *make(fresh_space *sp, fresh_study_params *p)
{
    int rc;
    char err[512];
    fresh_study *s = fresh_study_create(sp, p, &rc, err, sizeof err);
    assert_non_null(s);
    return s;
}

static void every_job_once(void **state)
{
    (void)state;
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.workers = 4;
    p.max_brackets = 6;
    fresh_study *s = make(sp, &p);
    atomic_store(&calls, 0);
    assert_int_equal(fresh_study_optimize(s, sleepy, NULL), FRESH_BRACKETS_DONE);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    assert_int_equal(st.jobs_finished, fresh_study_n_jobs(s));
    assert_int_equal((size_t)atomic_load(&calls), fresh_study_n_jobs(s));
    assert_int_equal(st.brackets_finished, 6);
    size_t workers_seen = 0;
    int seen[4] = {0};
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        assert_int_equal(fresh_study_job(s, i, &ji), FRESH_OK);
        assert_true(ji.status != FRESH_JOB_PENDING);
        assert_true(ji.worker >= 0 && ji.worker < 4);
        if (!seen[ji.worker]++)
            workers_seen++;
    }
    assert_true(workers_seen >= 2);
    assert_true(st.utilization > 0 && st.utilization <= 1.0 + 1e-9);
    assert_int_equal(fresh_study_incumbent(s, NULL, NULL, NULL, NULL), FRESH_OK);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

static atomic_int started; /* jobs of `forever` that began */

static int forever(fresh_trial *t, void *user)
{
    (void)user;
    atomic_fetch_add(&started, 1);
    double e = fresh_trial_resume_from(t);
    while (fresh_trial_report(t, e += 1, 1.0))
        nap_ms(1);
    return 0;
}

static void *stopper(void *arg)
{
    /* stop once a job runs (a fixed delay fails on a loaded machine, where
     * the pool may not have started any job yet), and a little later */
    while (atomic_load(&started) == 0)
        nap_ms(1);
    nap_ms(20);
    fresh_study_force_stop(arg);
    return NULL;
}

static void force_stop_from_another_thread(void **state)
{
    (void)state;
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.workers = 3;
    p.max_budget = 1e6; /* jobs that would run for ages */
    p.min_budget = 1e6 / 81;
    fresh_study *s = make(sp, &p);
    atomic_store(&started, 0);
    pthread_t th;
    pthread_create(&th, NULL, stopper, s);
    assert_int_equal(fresh_study_optimize(s, forever, NULL), FRESH_STOPPED);
    pthread_join(th, NULL);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    assert_int_equal(st.jobs_finished, fresh_study_n_jobs(s));
    assert_true(st.jobs_stopped >= 1);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

static void wall_time_limit(void **state)
{
    (void)state;
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.workers = 2;
    p.max_budget = 1e6;
    p.min_budget = 1e6 / 81;
    p.max_wall_time = 0.1;
    fresh_study *s = make(sp, &p);
    assert_int_equal(fresh_study_optimize(s, forever, NULL), FRESH_TIME_REACHED);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    assert_int_equal(st.jobs_finished, fresh_study_n_jobs(s));
    assert_true(st.wall_time >= 0.1);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_job_once),
        cmocka_unit_test(force_stop_from_another_thread),
        cmocka_unit_test(wall_time_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
