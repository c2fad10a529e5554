/*
 * test_pool.c - the internal thread pool (lib/pool.c), under cmocka.
 *
 * Every concurrency test asserts exact counts: each submitted job is
 * delivered exactly once by fresh__pool_next(), with status FRESH_OK if and
 * only if its work function ran (once), FRESH_ECANCELED otherwise. Jobs that
 * must stay "running" wait on a gate (a mutex + condition variable the test
 * opens), so which jobs run and which stay queued is deterministic. The only
 * timing assertions are generous lower bounds (a timeout waited at least
 * about that long; sleeping jobs are counted busy at least their sleep).
 * Built and run under ThreadSanitizer and ASan+UBSan as well.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fresh/status.h"
#include "internal.h"
#include "pool.h"

/* ---- helpers ---- */

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
    int entered; /* work functions that reached the gate */
};

static void gate_init(struct gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->open = 0;
    g->entered = 0;
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void gate_free(struct gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

/* Blocks until n work functions have reached the gate (or fails after 60 s). */
static void gate_wait_entered(struct gate *g, int n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 60;
    pthread_mutex_lock(&g->mu);
    int rc = 0;
    while (g->entered < n && rc == 0)
        rc = pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    int entered = g->entered;
    pthread_mutex_unlock(&g->mu);
    assert_int_equal(entered, n);
}

static void sleep_s(double s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* A test job: the pool job plus what the test checks. */
struct tjob {
    fresh_pool_job job;
    int id;
    struct gate *gate;     /* work_gate waits on it */
    double sleep;          /* work_sleep sleeps this long */
    atomic_int ran;        /* times work ran (written by workers) */
    int start_seq;         /* order in which work started (work_order) */
    int delivered;         /* times next() delivered it (owner only) */
    int delivered_status;
};

static atomic_int g_total_ran;
static atomic_int g_start_seq;

static void work_count(fresh_pool_job *job)
{
    struct tjob *t = job->data;
    atomic_fetch_add(&t->ran, 1);
    atomic_fetch_add(&g_total_ran, 1);
}

static void work_order(fresh_pool_job *job)
{
    struct tjob *t = job->data;
    t->start_seq = atomic_fetch_add(&g_start_seq, 1);
    atomic_fetch_add(&t->ran, 1);
}

static void work_gate(fresh_pool_job *job)
{
    struct tjob *t = job->data;
    atomic_fetch_add(&t->ran, 1);
    pthread_mutex_lock(&t->gate->mu);
    t->gate->entered++;
    pthread_cond_broadcast(&t->gate->cv);
    while (!t->gate->open)
        pthread_cond_wait(&t->gate->cv, &t->gate->mu);
    pthread_mutex_unlock(&t->gate->mu);
}

static void work_sleep(fresh_pool_job *job)
{
    struct tjob *t = job->data;
    sleep_s(t->sleep);
    atomic_fetch_add(&t->ran, 1);
}

static fresh_pool *g_wake_pool;
static atomic_int g_wake_rc;

/* cmocka's asserts must not run on a worker: keep the result for the owner. */
static void work_wakeup(fresh_pool_job *job)
{
    struct tjob *t = job->data;
    atomic_store(&g_wake_rc, fresh__pool_wakeup(g_wake_pool));
    atomic_fetch_add(&t->ran, 1);
}

static struct tjob *tjobs_new(int n, void (*work)(fresh_pool_job *), struct gate *g)
{
    struct tjob *t = calloc((size_t)n, sizeof *t);
    assert_non_null(t);
    for (int i = 0; i < n; i++) {
        t[i].id = i;
        t[i].gate = g;
        t[i].job.work = work;
        t[i].job.data = &t[i];
        atomic_init(&t[i].ran, 0);
    }
    return t;
}

/* Records one delivery and checks the fields that must hold for it. */
static struct tjob *record(fresh_pool_job *j, size_t n_workers)
{
    assert_non_null(j);
    struct tjob *t = j->data;
    assert_ptr_equal(&t->job, j);
    t->delivered++;
    t->delivered_status = j->status;
    if (j->status == FRESH_OK) {
        assert_int_equal(atomic_load(&t->ran), 1);
        assert_true(j->worker >= 0 && (size_t)j->worker < n_workers);
        assert_true(j->start_time > 0 && j->end_time >= j->start_time);
    } else {
        assert_int_equal(j->status, FRESH_ECANCELED);
        assert_int_equal(atomic_load(&t->ran), 0);
        assert_int_equal(j->worker, -1);
        assert_true(j->start_time == 0.0 && j->end_time == 0.0);
    }
    return t;
}

/* Calls next() until FRESH_DONE; returns how many completions came. */
static int drain(fresh_pool *p)
{
    int n = 0, rc;
    fresh_pool_job *j;
    while ((rc = fresh__pool_next(p, -1, &j)) == FRESH_OK) {
        record(j, fresh__pool_workers(p));
        n++;
    }
    assert_int_equal(rc, FRESH_DONE);
    assert_null(j);
    assert_int_equal(fresh__pool_outstanding(p), 0);
    assert_int_equal(fresh__pool_running(p), 0);
    return n;
}

static void assert_each_delivered_once(struct tjob *t, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(t[i].delivered, 1);
}

static void *opener_main(void *arg)
{
    sleep_s(0.1);
    gate_open(arg);
    return NULL;
}

static void *waker_main(void *arg)
{
    sleep_s(0.05);
    fresh__pool_wakeup(arg);
    return NULL;
}

/* ---- tests ---- */

static void test_argument_errors(void **state)
{
    (void)state;
    fresh_pool *p = NULL;
    assert_int_equal(fresh__pool_create(NULL, 1), FRESH_EINVAL);
    assert_int_equal(fresh__pool_create(&p, 5000), FRESH_EINVAL);
    assert_null(p);

    fresh__pool_destroy(NULL);
    assert_int_equal(fresh__pool_workers(NULL), 0);
    assert_int_equal(fresh__pool_running(NULL), 0);
    assert_int_equal(fresh__pool_outstanding(NULL), 0);
    assert_true(fresh__pool_busy_seconds(NULL) == 0.0);
    assert_int_equal(fresh__pool_cancel_all(NULL), 0);
    assert_int_equal(fresh__pool_wakeup(NULL), FRESH_EINVAL);
    assert_int_equal(fresh__pool_shutdown(NULL), FRESH_EINVAL);

    assert_int_equal(fresh__pool_create(&p, 2), FRESH_OK);
    assert_non_null(p);
    assert_int_equal(fresh__pool_workers(p), 2);

    struct tjob *t = tjobs_new(2, work_count, NULL);
    fresh_pool_job nowork = {0};
    assert_int_equal(fresh__pool_submit(NULL, &t[0].job), FRESH_EINVAL);
    assert_int_equal(fresh__pool_submit(p, NULL), FRESH_EINVAL);
    assert_int_equal(fresh__pool_submit(p, &nowork), FRESH_EINVAL);
    assert_int_equal(fresh__pool_cancel(NULL, &t[0].job), FRESH_EINVAL);
    assert_int_equal(fresh__pool_cancel(p, NULL), FRESH_EINVAL);
    assert_int_equal(fresh__pool_cancel(p, &t[0].job), FRESH_EINVAL); /* never submitted */

    fresh_pool_job *d = &nowork;
    assert_int_equal(fresh__pool_next(NULL, 0, &d), FRESH_EINVAL);
    assert_null(d);
    assert_int_equal(fresh__pool_next(p, 0, NULL), FRESH_EINVAL);
    d = &nowork;
    assert_int_equal(fresh__pool_next(p, NAN, &d), FRESH_EINVAL);
    assert_null(d);

    /* A job is in the pool from submit until delivery: no second submit. */
    assert_int_equal(fresh__pool_submit(p, &t[0].job), FRESH_OK);
    assert_int_equal(fresh__pool_submit(p, &t[0].job), FRESH_EINVAL);
    assert_int_equal(drain(p), 1);
    /* Delivered: the owner's again, may be reused; cancel says "finished". */
    assert_int_equal(fresh__pool_cancel(p, &t[0].job), FRESH_EBUSY);
    assert_int_equal(atomic_load(&t[0].ran), 1);
    atomic_store(&t[0].ran, 0);
    assert_int_equal(fresh__pool_submit(p, &t[0].job), FRESH_OK);
    assert_int_equal(drain(p), 1);
    assert_int_equal(atomic_load(&t[0].ran), 1);
    assert_int_equal(t[0].delivered, 2);

    /* After shutdown: FRESH_ESTATE, idempotent, and next() still works. */
    assert_int_equal(fresh__pool_shutdown(p), FRESH_OK);
    assert_int_equal(fresh__pool_submit(p, &t[1].job), FRESH_ESTATE);
    assert_int_equal(fresh__pool_shutdown(p), FRESH_OK);
    assert_int_equal(fresh__pool_next(p, -1, &d), FRESH_DONE);
    assert_int_equal(atomic_load(&t[1].ran), 0);

    fresh__pool_destroy(p);
    free(t);
}

static void test_create_enomem(void **state)
{
    (void)state;
    fresh_pool *p = NULL;
    long n;
    for (n = 0; n < 100; n++) {
        fresh__alloc_fail_after(n);
        int rc = fresh__pool_create(&p, 3);
        fresh__alloc_fail_after(-1);
        if (rc == FRESH_OK)
            break;
        assert_int_equal(rc, FRESH_ENOMEM);
        assert_null(p);
    }
    assert_true(n >= 1); /* at least the first allocation was failed */
    assert_non_null(p);
    fresh__pool_destroy(p);
}

static void test_create_ethread(void **state)
{
    (void)state;
    fresh_pool *p = NULL;
    /* Thread k fails: the k threads already started must be stopped and
     * joined (ASan and TSan would report a leak or a leaked thread). */
    for (long k = 0; k < 4; k++) {
        fresh__pool_fail_thread_after(k);
        assert_int_equal(fresh__pool_create(&p, 4), FRESH_ETHREAD);
        fresh__pool_fail_thread_after(-1);
        assert_null(p);
    }
    assert_int_equal(fresh__pool_create(&p, 4), FRESH_OK);
    fresh__pool_destroy(p);
}

static void test_zero_workers_uses_cpus(void **state)
{
    (void)state;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = cpus > 0 ? (size_t)cpus : 1;
    if (want > 4096)
        want = 4096;
    fresh_pool *p = NULL;
    assert_int_equal(fresh__pool_create(&p, 0), FRESH_OK);
    assert_int_equal(fresh__pool_workers(p), want);

    struct tjob *t = tjobs_new(16, work_count, NULL);
    for (int i = 0; i < 16; i++)
        assert_int_equal(fresh__pool_submit(p, &t[i].job), FRESH_OK);
    assert_int_equal(drain(p), 16);
    assert_each_delivered_once(t, 16);
    fresh__pool_destroy(p);
    free(t);
}

static void test_exact_counts(void **state)
{
    (void)state;
    enum { N = 1000 };
    atomic_store(&g_total_ran, 0);
    fresh_pool *p = NULL;
    assert_int_equal(fresh__pool_create(&p, 4), FRESH_OK);
    struct tjob *t = tjobs_new(N, work_count, NULL);
    for (int i = 0; i < N; i++)
        assert_int_equal(fresh__pool_submit(p, &t[i].job), FRESH_OK);
    assert_int_equal(drain(p), N);
    assert_int_equal(atomic_load(&g_total_ran), N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(t[i].delivered_status, FRESH_OK);
        assert_int_equal(atomic_load(&t[i].ran), 1);
    }
    assert_each_delivered_once(t, N);

    fresh_pool_job *d;
    assert_int_equal(fresh__pool_next(p, -1, &d), FRESH_DONE);
    assert_int_equal(fresh__pool_next(p, 0, &d), FRESH_DONE);
    fresh__pool_destroy(p);
    free(t);
}

static void test_fifo_one_worker(void **state)
{
    (void)state;
    enum { N = 200 };
    atomic_store(&g_start_seq, 0);
    fresh_pool *p = NULL;
    assert_int_equal(fresh__pool_create(&p, 1), FRESH_OK);
    struct tjob *t = tjobs_new(N, work_order, NULL);
    for (int i = 0; i < N; i++)
        assert_int_equal(fresh__pool_submit(p, &t[i].job), FRESH_OK);

    fresh_pool_job *j;
    for (int i = 0; i < N; i++) {
        assert_int_equal(fresh__pool_next(p, -1, &j), FRESH_OK);
        struct tjob *tj = record(j, 1);
        assert_int_equal(tj->id, i);        /* delivered in submission order */
        assert_int_equal(tj->start_seq, i); /* and started in it */
        assert_int_equal(j->worker, 0);
    }
    assert_int_equal(fresh__pool_next(p, -1, &j), FRESH_DONE);
    assert_each_delivered_once(t, N);
    fresh__pool_destroy(p);
    free(t);
}

static void test_saturate_cancel_release(void **state)
{
    (void)state;
    enum { W = 3, N = 10 };
    struct gate g;
    gate_init(&g);
    fresh_pool *p = NULL, *other = NULL;
    assert_int_equal(fresh__pool_create(&p, W), FRESH_OK);
    assert_int_equal(fresh__pool_create(&other, 1), FRESH_OK);
    struct tjob *t = tjobs_new(N, work_gate, &g);
    for (int i = 0; i < N; i++)
        assert_int_equal(fresh__pool_submit(p, &t[i].job), FRESH_OK);

    /* FIFO: jobs 0..2 run (blocked on the gate), 3..9 stay queued. */
    gate_wait_entered(&g, W);
    assert_int_equal(fresh__pool_running(p), W);
    assert_int_equal(fresh__pool_outstanding(p), N);
    for (int i = 0; i < N; i++)
        assert_int_equal(atomic_load(&t[i].ran), i < W ? 1 : 0);

    assert_int_equal(fresh__pool_cancel(p, &t[0].job), FRESH_EBUSY); /* running */
    assert_int_equal(fresh__pool_cancel(other, &t[6].job), FRESH_EINVAL); /* not its job */
    assert_int_equal(fresh__pool_cancel(p, &t[5].job), FRESH_OK);
    assert_int_equal(fresh__pool_cancel(p, &t[7].job), FRESH_OK);
    assert_int_equal(fresh__pool_cancel(p, &t[5].job), FRESH_EBUSY); /* already cancelled */
    assert_int_equal(fresh__pool_outstanding(p), N);

    fresh_pool_job *j;
    assert_int_equal(fresh__pool_next(p, -1, &j), FRESH_OK);
    assert_int_equal(record(j, W)->id, 5);
    assert_int_equal(j->status, FRESH_ECANCELED);
    assert_int_equal(fresh__pool_next(p, -1, &j), FRESH_OK);
    assert_int_equal(record(j, W)->id, 7);
    assert_int_equal(j->status, FRESH_ECANCELED);
    assert_int_equal(fresh__pool_next(p, 0, &j), FRESH_WAIT); /* poll: nothing finished */
    assert_null(j);

    /* cancel_all takes the other five queued jobs, in queue order. */
    assert_int_equal(fresh__pool_cancel_all(p), 5);
    assert_int_equal(fresh__pool_cancel_all(p), 0);
    const int order[5] = {3, 4, 6, 8, 9};
    for (int k = 0; k < 5; k++) {
        assert_int_equal(fresh__pool_next(p, -1, &j), FRESH_OK);
        assert_int_equal(record(j, W)->id, order[k]);
        assert_int_equal(j->status, FRESH_ECANCELED);
    }
    assert_int_equal(fresh__pool_outstanding(p), W);
    assert_int_equal(fresh__pool_running(p), W);
    assert_int_equal(fresh__pool_next(p, 0.05, &j), FRESH_WAIT);
    assert_int_equal(fresh__pool_cancel(p, &t[1].job), FRESH_EBUSY);

    gate_open(&g);
    int ok = 0, rc;
    while ((rc = fresh__pool_next(p, -1, &j)) == FRESH_OK) {
        struct tjob *tj = record(j, W);
        assert_true(tj->id < W);
        assert_int_equal(j->status, FRESH_OK);
        ok++;
    }
    assert_int_equal(rc, FRESH_DONE);
    assert_int_equal(ok, W);
    assert_each_delivered_once(t, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(t[i].delivered_status, i < W ? FRESH_OK : FRESH_ECANCELED);
    assert_int_equal(fresh__pool_outstanding(p), 0);

    fresh__pool_destroy(other);
    fresh__pool_destroy(p);
    gate_free(&g);
    free(t);
}

static void test_next_timeout(void **state)
{
    (void)state;
    struct gate g;
    gate_init(&g);
    fresh_pool *p = NULL;
    assert_int_equal(fresh__pool_create(&p, 1), FRESH_OK);
    struct tjob *t = tjobs_new(1, work_gate, &g);
    assert_int_equal(fresh__pool_submit(p, &t[0].job), FRESH_OK);
    gate_wait_entered(&g, 1);

    fresh_pool_job *j = &t[0].job;
    double t0 = fresh__now();
    assert_int_equal(fresh__pool_next(p, 0.2, &j), FRESH_WAIT);
    double waited = fresh__now() - t0;
    assert_null(j);
    assert_true(waited >= 0.19); /* generous lower bound only */
    assert_int_equal(fresh__pool_next(p, 0, &j), FRESH_WAIT);

    gate_open(&g);
    assert_int_equal(drain(p), 1);
    assert_each_delivered_once(t, 1);
    fresh__pool_destroy(p);
    gate_free(&g);
    free(t);
}

static void test_wakeup(void **state)
{
    (void)state;
    struct gate g;
    gate_init(&g);
    fresh_pool *p = NULL;
    assert_int_equal(fresh__pool_create(&p, 1), FRESH_OK);
    struct tjob *t = tjobs_new(1, work_gate, &g);
    assert_int_equal(fresh__pool_submit(p, &t[0].job), FRESH_OK);
    gate_wait_entered(&g, 1);

    /* From another thread, while next() waits forever. */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, waker_main, p), 0);
    fresh_pool_job *j;
    assert_int_equal(fresh__pool_next(p, -1, &j), FRESH_WAIT);
    assert_null(j);
    pthread_join(th, NULL);

    /* Before the call: the next next() returns FRESH_WAIT at once; several
     * requests collapse into one. */
    assert_int_equal(fresh__pool_wakeup(p), FRESH_OK);
    assert_int_equal(fresh__pool_wakeup(p), FRESH_OK);
    assert_int_equal(fresh__pool_next(p, -1, &j), FRESH_WAIT);
    assert_int_equal(fresh__pool_next(p, 0, &j), FRESH_WAIT); /* the poll, not a wake */
    assert_int_equal(fresh__pool_outstanding(p), 1);

    gate_open(&g);
    assert_int_equal(drain(p), 1);

    /* From inside a work function: the wake request is made before the job
     * completes, so it comes first, then the completion. */
    g_wake_pool = p;
    atomic_store(&g_wake_rc, -100);
    struct tjob *w = tjobs_new(1, work_wakeup, NULL);
    assert_int_equal(fresh__pool_submit(p, &w[0].job), FRESH_OK);
    assert_int_equal(fresh__pool_next(p, -1, &j), FRESH_WAIT);
    assert_int_equal(fresh__pool_next(p, -1, &j), FRESH_OK);
    record(j, 1);
    assert_int_equal(atomic_load(&g_wake_rc), FRESH_OK);
    assert_int_equal(fresh__pool_next(p, -1, &j), FRESH_DONE);
    assert_each_delivered_once(w, 1);

    fresh__pool_destroy(p);
    gate_free(&g);
    free(t);
    free(w);
}

static void test_done_when_idle(void **state)
{
    (void)state;
    fresh_pool *p = NULL;
    assert_int_equal(fresh__pool_create(&p, 2), FRESH_OK);
    fresh_pool_job *j;
    assert_int_equal(fresh__pool_next(p, -1, &j), FRESH_DONE);
    assert_null(j);
    assert_int_equal(fresh__pool_next(p, 10.0, &j), FRESH_DONE);
    assert_int_equal(fresh__pool_outstanding(p), 0);
    assert_int_equal(fresh__pool_running(p), 0);
    assert_true(fresh__pool_busy_seconds(p) == 0.0);
    fresh__pool_destroy(p);
}

static void test_destroy_with_queued_and_running(void **state)
{
    (void)state;
    enum { W = 2, N = 10 };
    struct gate g;
    gate_init(&g);
    fresh_pool *p = NULL;
    assert_int_equal(fresh__pool_create(&p, W), FRESH_OK);
    struct tjob *t = tjobs_new(N, work_gate, &g);
    for (int i = 0; i < N; i++)
        assert_int_equal(fresh__pool_submit(p, &t[i].job), FRESH_OK);
    gate_wait_entered(&g, W);

    /* destroy must wait for the two running jobs; another thread opens the
     * gate later. Queued jobs never run. */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, opener_main, &g), 0);
    fresh__pool_destroy(p);
    pthread_join(th, NULL);
    for (int i = 0; i < N; i++) {
        assert_int_equal(atomic_load(&t[i].ran), i < W ? 1 : 0);
        assert_int_equal(t[i].delivered, 0);
    }

    /* Every job is the owner's again and can go to a new pool. */
    p = NULL;
    assert_int_equal(fresh__pool_create(&p, W), FRESH_OK);
    for (int i = 0; i < N; i++) {
        atomic_store(&t[i].ran, 0);
        assert_int_equal(fresh__pool_submit(p, &t[i].job), FRESH_OK);
    }
    assert_int_equal(drain(p), N); /* the gate is open now */
    assert_each_delivered_once(t, N);
    fresh__pool_destroy(p);

    /* Destroy with finished-but-undelivered completions and a busy queue. */
    struct tjob *u = tjobs_new(500, work_count, NULL);
    assert_int_equal(fresh__pool_create(&p, 4), FRESH_OK);
    for (int i = 0; i < 500; i++)
        assert_int_equal(fresh__pool_submit(p, &u[i].job), FRESH_OK);
    fresh__pool_destroy(p);
    for (int i = 0; i < 500; i++)
        assert_true(atomic_load(&u[i].ran) <= 1);

    gate_free(&g);
    free(t);
    free(u);
}

static void test_busy_seconds(void **state)
{
    (void)state;
    enum { N = 6 };
    const double nap = 0.02;
    fresh_pool *p = NULL;
    assert_int_equal(fresh__pool_create(&p, 2), FRESH_OK);
    struct tjob *t = tjobs_new(N, work_sleep, NULL);
    for (int i = 0; i < N; i++) {
        t[i].sleep = nap;
        assert_int_equal(fresh__pool_submit(p, &t[i].job), FRESH_OK);
    }
    assert_int_equal(drain(p), N);
    double sum = 0;
    for (int i = 0; i < N; i++) {
        double d = t[i].job.end_time - t[i].job.start_time;
        assert_true(d >= nap - 1e-6);
        sum += d;
    }
    double busy = fresh__pool_busy_seconds(p);
    assert_true(busy >= N * nap - 1e-6);
    assert_true(fabs(busy - sum) < 1e-9);
    fresh__pool_destroy(p);
    free(t);
}

static void test_stress(void **state)
{
    (void)state;
    enum { W = 8, N = 10000, WINDOW = 256 };
    atomic_store(&g_total_ran, 0);
    fresh_pool *p = NULL;
    assert_int_equal(fresh__pool_create(&p, W), FRESH_OK);

    /* 1: everything up front, then drain. */
    struct tjob *t = tjobs_new(N, work_count, NULL);
    for (int i = 0; i < N; i++)
        assert_int_equal(fresh__pool_submit(p, &t[i].job), FRESH_OK);
    assert_int_equal(drain(p), N);
    assert_int_equal(atomic_load(&g_total_ran), N);
    assert_each_delivered_once(t, N);
    free(t);

    /* 2: a sliding window: submit and collect concurrently. */
    atomic_store(&g_total_ran, 0);
    t = tjobs_new(N, work_count, NULL);
    int submitted = 0, got = 0;
    fresh_pool_job *j;
    while (got < N) {
        while (submitted < N && submitted - got < WINDOW)
            assert_int_equal(fresh__pool_submit(p, &t[submitted++].job), FRESH_OK);
        assert_int_equal(fresh__pool_next(p, -1, &j), FRESH_OK);
        record(j, W);
        got++;
    }
    assert_int_equal(fresh__pool_next(p, -1, &j), FRESH_DONE);
    assert_int_equal(atomic_load(&g_total_ran), N);
    assert_each_delivered_once(t, N);
    free(t);

    /* 3: cancel racing with the workers: whatever splits, every job comes
     * back once, ECANCELED exactly for those that did not run. */
    atomic_store(&g_total_ran, 0);
    t = tjobs_new(N, work_count, NULL);
    for (int i = 0; i < N; i++)
        assert_int_equal(fresh__pool_submit(p, &t[i].job), FRESH_OK);
    size_t cancelled = 0;
    for (int i = N - 1; i >= N / 2; i -= 7) {
        int rc = fresh__pool_cancel(p, &t[i].job);
        assert_true(rc == FRESH_OK || rc == FRESH_EBUSY);
        cancelled += rc == FRESH_OK;
    }
    cancelled += fresh__pool_cancel_all(p);
    assert_int_equal(drain(p), N);
    size_t n_cancel = 0;
    for (int i = 0; i < N; i++)
        n_cancel += t[i].delivered_status == FRESH_ECANCELED;
    assert_int_equal(n_cancel, cancelled);
    assert_int_equal((size_t)atomic_load(&g_total_ran), N - cancelled);
    assert_each_delivered_once(t, N);
    free(t);

    fresh__pool_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argument_errors),
        cmocka_unit_test(test_create_enomem),
        cmocka_unit_test(test_create_ethread),
        cmocka_unit_test(test_zero_workers_uses_cpus),
        cmocka_unit_test(test_exact_counts),
        cmocka_unit_test(test_fifo_one_worker),
        cmocka_unit_test(test_saturate_cancel_release),
        cmocka_unit_test(test_next_timeout),
        cmocka_unit_test(test_wakeup),
        cmocka_unit_test(test_done_when_idle),
        cmocka_unit_test(test_destroy_with_queued_and_running),
        cmocka_unit_test(test_busy_seconds),
        cmocka_unit_test(test_stress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
