/* The study on a real pool (cmocka; run under ThreadSanitizer): every job is
 * delivered exactly once with several workers (also with async-hyperband,
 * whose promotions continue earlier jobs), early stopping with
 * concurrent reports, force_stop from another thread (jobs cut short are
 * requeued, and the study can be stopped and continued again), wall-time
 * limit, job time limits with objectives that return late or never, and
 * the study API refused from inside the objective. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
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

/* ASHA on four workers: every job once, and every promoted job continues a
 * configuration whose earlier job reached the budget it resumes from. */
static void asha_every_job_once(void **state)
{
    (void)state;
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.workers = 4;
    p.max_brackets = 4;
    p.scheduler = fresh_scheduler_async_hyperband;
    fresh_study *s = make(sp, &p);
    atomic_store(&calls, 0);
    assert_int_equal(fresh_study_optimize(s, sleepy, NULL), FRESH_BRACKETS_DONE);
    size_t n = fresh_study_n_jobs(s), promoted = 0;
    assert_int_equal((size_t)atomic_load(&calls), n);
    for (size_t i = 0; i < n; i++) {
        fresh_job_info ji;
        assert_int_equal(fresh_study_job(s, i, &ji), FRESH_OK);
        assert_true(ji.status != FRESH_JOB_PENDING);
        if (ji.resume_from == 0)
            continue;
        promoted++;
        int found = 0;
        for (size_t k = 0; k < i && !found; k++) {
            fresh_job_info prev;
            fresh_study_job(s, k, &prev);
            found = prev.config_id == ji.config_id && prev.budget == ji.resume_from;
        }
        assert_true(found);
    }
    assert_true(promoted > 0);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* Four workers, textbook Hyperband (max_open_brackets = 1): every job once,
 * and no job of a bracket starts before every job of the brackets before
 * it ended (the pool's workers wait at the barriers). Then async-hyperband
 * with max_paused = 2 on four workers: every job once, and at most 2 paused
 * configurations per rung below the top stay unfinished at the end. */
static void open_and_paused_limits_on_threads(void **state)
{
    (void)state;
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.workers = 4;
    p.max_brackets = 4;
    p.max_open_brackets = 1;
    fresh_study *s = make(sp, &p);
    atomic_store(&calls, 0);
    assert_int_equal(fresh_study_optimize(s, sleepy, NULL), FRESH_BRACKETS_DONE);
    size_t n = fresh_study_n_jobs(s);
    assert_int_equal((size_t)atomic_load(&calls), n);
    for (size_t i = 0; i < n; i++) {
        fresh_job_info a, b;
        assert_int_equal(fresh_study_job(s, i, &a), FRESH_OK);
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(fresh_study_job(s, k, &b), FRESH_OK);
            if (b.bracket < a.bracket)
                assert_true(b.end_time <= a.start_time);
        }
    }
    fresh_study_destroy(s);

    p = fx_params();
    p.workers = 4;
    p.max_brackets = 6;
    p.scheduler = fresh_scheduler_async_hyperband;
    p.max_paused = 2;
    s = make(sp, &p);
    atomic_store(&calls, 0);
    assert_int_equal(fresh_study_optimize(s, sleepy, NULL), FRESH_BRACKETS_DONE);
    assert_int_equal((size_t)atomic_load(&calls), fresh_study_n_jobs(s));
    size_t open = 0;
    for (uint64_t c = 0; c < fresh_study_n_configs(s); c++)
        open += !fresh_study_config_finished(s, c);
    assert_true(open <= 2 * 3); /* ladders 0 (rungs 1, 3) and 1 (rung 3) */
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

static atomic_int forever_calls;

static int forever_counted(fresh_trial *t, void *user)
{
    atomic_fetch_add(&forever_calls, 1);
    return forever(t, user);
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
    atomic_store(&forever_calls, 0);
    for (int round = 1; round <= 3; round++) {
        /* the request of one round must not stop the next: force_stop re-arms */
        atomic_store(&started, 0);
        pthread_t th;
        pthread_create(&th, NULL, stopper, s);
        assert_int_equal(fresh_study_optimize(s, forever_counted, NULL), FRESH_STOPPED);
        pthread_join(th, NULL);
        fresh_study_stats st;
        fresh_study_get_stats(s, &st);
        /* the three running jobs were cut short: requeued, neither stopped
         * nor failed, and nothing else was handed out */
        assert_int_equal(st.jobs_finished, 0);
        assert_int_equal(st.jobs_interrupted, 3);
        assert_int_equal(st.jobs_running, 3);
        assert_int_equal(fresh_study_n_jobs(s), 3);
        /* each round ran the same three jobs again */
        assert_int_equal(atomic_load(&forever_calls), 3 * round);
    }
    /* outside optimize, a request stops ask until no trial is out */
    fresh_study_force_stop(s);
    fresh_trial *t = NULL;
    assert_int_equal(fresh_study_ask(s, &t), FRESH_STOPPED);
    assert_int_equal(fresh_study_ask(s, &t), FRESH_OK); /* the request ended */
    assert_non_null(t);
    fresh_trial_set_loss(t, 0.5);
    assert_int_equal(fresh_study_tell(s, t), FRESH_OK);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    assert_int_equal(st.jobs_finished, 1);
    assert_int_equal(st.jobs_interrupted, 2);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- time limits (fresh_study_params.job_time_limit, max_wall_time) ---- */

static atomic_int release_stuck;

/* Never reports and does not return until the test releases it. */
static int stuck(fresh_trial *t, void *user)
{
    (void)t;
    (void)user;
    while (!atomic_load(&release_stuck))
        nap_ms(5);
    return 0;
}

/* Config 0 is stuck; the others finish at once. */
static int stuck_first(fresh_trial *t, void *user)
{
    if (fresh_trial_config_id(t) == 0)
        return stuck(t, user);
    fresh_trial_set_loss(t, fx_base(t));
    return 0;
}

static void never_returning_job_is_abandoned_at_its_time_limit(void **state)
{
    (void)state;
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.workers = 2;
    p.max_brackets = 1;
    p.job_time_limit = 0.2;
    fresh_study *s = make(sp, &p);
    atomic_store(&release_stuck, 0);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(fresh_study_optimize(s, stuck_first, NULL), FRESH_BRACKETS_DONE);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double took = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    /* abandoned 1 s (the grace) after its 0.2 s limit, not waited for */
    assert_true(took >= 1.2 && took < 10);
    fresh_job_info ji;
    assert_int_equal(fresh_study_job(s, 0, &ji), FRESH_OK);
    assert_int_equal(ji.status, FRESH_JOB_FAILED);
    assert_int_equal(ji.error, FRESH_ETIMEDOUT);
    assert_non_null(strstr(ji.message, "abandoned"));
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    assert_int_equal(st.jobs_failed, 1);
    assert_int_equal(st.jobs_finished, fresh_study_n_jobs(s));
    atomic_store(&release_stuck, 1);
    fresh_study_destroy(s); /* waits for the abandoned objective */
    fresh_space_destroy(sp);
}

static void never_returning_jobs_do_not_hold_the_wall_time(void **state)
{
    (void)state;
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.workers = 2;
    p.max_wall_time = 0.3;
    fresh_study *s = make(sp, &p);
    atomic_store(&release_stuck, 0);
    assert_int_equal(fresh_study_optimize(s, stuck, NULL), FRESH_TIME_REACHED);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    assert_true(st.wall_time < 5); /* 0.3 s + 1 s grace, not forever */
    assert_int_equal(st.jobs_failed, 2);
    assert_int_equal(st.jobs_running, 0);
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        assert_int_equal(ji.error, FRESH_ETIMEDOUT);
    }
    atomic_store(&release_stuck, 1);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* Sleeps 0.3 s without reporting, then gives a loss. */
static int slow_silent(fresh_trial *t, void *user)
{
    (void)user;
    nap_ms(300);
    fresh_trial_set_loss(t, fx_base(t));
    return 0;
}

static void job_returning_after_its_limit_is_failed(void **state)
{
    (void)state;
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.workers = 2;
    p.job_time_limit = 0.1;
    p.max_brackets = 1;
    /* optimize: the pool's jobs */
    fresh_study *s = make(sp, &p);
    fresh_trial *t = NULL;
    assert_int_equal(fresh_study_optimize(s, slow_silent, NULL), FRESH_BRACKETS_DONE);
    fresh_job_info ji;
    assert_int_equal(fresh_study_job(s, 0, &ji), FRESH_OK);
    assert_int_equal(ji.status, FRESH_JOB_FAILED);
    assert_int_equal(ji.error, FRESH_ETIMEDOUT);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    assert_int_equal(st.jobs_completed, 0);
    fresh_study_destroy(s);
    /* ask/tell: a trial told after its limit */
    s = make(sp, &p);
    assert_int_equal(fresh_study_ask(s, &t), FRESH_OK);
    slow_silent(t, NULL);
    assert_int_equal(fresh_study_tell(s, t), FRESH_OK);
    assert_int_equal(fresh_study_job(s, 0, &ji), FRESH_OK);
    assert_int_equal(ji.error, FRESH_ETIMEDOUT);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- the study API from inside the objective ---- */

static atomic_int inner_refused;

static int calls_the_study(fresh_trial *t, void *user)
{
    fresh_study *s = user;
    fresh_trial *other = NULL;
    int ok = fresh_study_ask(s, &other) == FRESH_ESTATE && other == NULL &&
             fresh_study_tell(s, t) == FRESH_ESTATE &&
             fresh_study_optimize(s, calls_the_study, s) == FRESH_ESTATE &&
             fresh_study_export(s, "/nonexistent/x.csv", FRESH_EXPORT_CSV) == FRESH_ESTATE &&
             strstr(fresh_study_errmsg(s), "inside the study's objective") != NULL;
    fresh_study_destroy(s); /* refused: does nothing */
    if (ok)
        atomic_fetch_add(&inner_refused, 1);
    fresh_trial_set_loss(t, fx_base(t));
    return 0;
}

static void study_api_is_refused_inside_the_objective(void **state)
{
    (void)state;
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.workers = 3;
    p.max_brackets = 2;
    fresh_study *s = make(sp, &p);
    atomic_store(&inner_refused, 0);
    assert_int_equal(fresh_study_optimize(s, calls_the_study, s), FRESH_BRACKETS_DONE);
    assert_int_equal((size_t)atomic_load(&inner_refused), fresh_study_n_jobs(s));
    assert_string_equal(fresh_study_errmsg(s), ""); /* the owner's message untouched */
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    assert_int_equal(st.jobs_completed, fresh_study_n_jobs(s));
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
        cmocka_unit_test(asha_every_job_once),
        cmocka_unit_test(open_and_paused_limits_on_threads),
        cmocka_unit_test(force_stop_from_another_thread),
        cmocka_unit_test(wall_time_limit),
        cmocka_unit_test(never_returning_job_is_abandoned_at_its_time_limit),
        cmocka_unit_test(never_returning_jobs_do_not_hold_the_wall_time),
        cmocka_unit_test(job_returning_after_its_limit_is_failed),
        cmocka_unit_test(study_api_is_refused_inside_the_objective),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
