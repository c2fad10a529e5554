/*
 * pool.c - the internal thread pool (see pool.h for the contract).
 *
 * DESIGN
 *
 * Model. This is the libuv threadpool (src/threadpool.c) cut down to what a
 * hyperparameter study needs: a fixed number of worker threads, one FIFO
 * queue of jobs to run, and one FIFO queue of completions for the owner
 * thread. Workers run job->work and nothing else; the owner collects
 * completions with fresh__pool_next() and alone runs the scheduler, sampler,
 * RNG and storage, so those need no locks and their results do not depend on
 * which worker happened to finish first beyond the order of completions.
 * Unlike libuv there is no event loop to wake, so the owner blocks on a
 * condition variable instead of an async handle.
 *
 * Data. One mutex `mu` guards everything that changes after creation:
 *   queue      jobs waiting for a worker (QUEUED), FIFO, singly linked
 *              through job->next_ with head and tail pointers;
 *   done       completions not yet delivered (DONE), FIFO, same links (a job
 *              is on at most one list, so one next_ pointer suffices);
 *   n_queued, n_running, n_done   counts; outstanding = their sum;
 *   busy       sum of end-start over jobs that ran;
 *   accepting  cleared by fresh__pool_shutdown (submit -> FRESH_ESTATE);
 *   stop       set by destroy (and by a failed create): workers exit;
 *   wake       a pending fresh__pool_wakeup request.
 * n_workers and the worker array are fixed at creation and read without
 * the lock.
 *
 * Conditions. `work_cv` is waited on by idle workers (signalled by submit,
 * broadcast on stop); `done_cv` is waited on by the owner in next()
 * (signalled per completion, broadcast by wakeup). done_cv uses
 * CLOCK_MONOTONIC so that a timeout does not jump with the wall clock.
 *
 * Job states (job->state_, written only with mu held):
 *   QUEUED --worker pops--> RUNNING --work returns--> DONE --next()--> DELIVERED
 *   QUEUED --cancel/cancel_all--> DONE (status FRESH_ECANCELED, worker -1)
 * The values are distinctive constants rather than 0/1/2, so a job that was
 * never zeroed is very unlikely to look as if it were in a pool. A job is
 * "in the pool" in QUEUED, RUNNING and DONE; submit refuses it then. A job
 * moves RUNNING -> DONE and n_running -> n_done in one critical section, so
 * outstanding never reads 0 while a completion is still on its way, and
 * FRESH_DONE from next() is exact.
 *
 * Locking order. There is a single lock, so there is no order to get wrong.
 * No user code runs while it is held: a worker unlocks before job->work and
 * locks again afterwards; the owner gets its completions back from next()
 * with the lock released. Work functions may call fresh__pool_wakeup (it only
 * takes mu briefly) but no other pool function.
 *
 * Why completions go to the owner. Scheduler, sampler and storage are not
 * thread-safe and must see results in one well-defined order; making the
 * owner the only consumer keeps all that state single-threaded and lets
 * cancellation be exact: the owner decides, under mu, whether a job is still
 * queued (then it never runs and its ECANCELED completion is queued like any
 * other) or already running (then FRESH_EBUSY: the pool never interrupts
 * work; the caller sets the job's cooperative stop flag). Every job therefore
 * yields exactly one completion, delivered exactly once by next(), unless
 * destroy discards it.
 *
 * Shutdown. destroy empties the queue (discarding those jobs), sets stop,
 * wakes all workers and joins them; running jobs finish first (they cannot
 * be interrupted), and their completions are discarded after the join, when
 * the owner is the only thread left. Workers are created with every signal
 * blocked (as libuv does) so that SIGINT and friends reach the owner or
 * another application thread, never an objective.
 */
#include "pool.h"

#include "fresh/status.h"
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

/* Job states; see DESIGN. Anything else means "not in a pool". */
enum {
    JOB_QUEUED = 0x5F0A1,
    JOB_RUNNING = 0x5F0A2,
    JOB_DONE = 0x5F0A3,
    JOB_DELIVERED = 0x5F0A4
};

/* Above this many workers fresh__pool_create refuses (FRESH_EINVAL): such a
 * request is a bug, not a machine. */
#define MAX_WORKERS 4096

/* A timeout longer than this (about 31 years) is treated as "forever", so
 * that the deadline arithmetic cannot overflow time_t. */
#define MAX_TIMEOUT_S 1e9

struct worker {
    fresh_pool *pool;
    int index;
    pthread_t thread;
};

struct fresh_pool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* idle workers wait here */
    pthread_cond_t done_cv; /* the owner waits here (CLOCK_MONOTONIC) */

    fresh_pool_job *queue_head, *queue_tail; /* QUEUED, FIFO */
    fresh_pool_job *done_head, *done_tail;   /* DONE, FIFO */
    size_t n_queued, n_running, n_done;
    double busy;
    int accepting;
    int stop;
    int wake;

    size_t n_workers;
    struct worker workers[]; /* n_workers entries */
};

/* ---- fault injection for pthread_create (test hook) ---- */

static _Atomic long thread_fail_countdown = -1;

void fresh__pool_fail_thread_after(long countdown)
{
    atomic_store(&thread_fail_countdown, countdown);
}

static int thread_should_fail(void)
{
    long c = atomic_load(&thread_fail_countdown);
    if (c < 0)
        return 0;
    if (c == 0)
        return 1;
    atomic_fetch_sub(&thread_fail_countdown, 1);
    return 0;
}

/* ---- list helpers; mu held ---- */

static void list_push(fresh_pool_job **head, fresh_pool_job **tail, fresh_pool_job *job)
{
    job->next_ = NULL;
    if (*tail)
        (*tail)->next_ = job;
    else
        *head = job;
    *tail = job;
}

static fresh_pool_job *list_pop(fresh_pool_job **head, fresh_pool_job **tail)
{
    fresh_pool_job *job = *head;
    if (job) {
        *head = job->next_;
        if (*head == NULL)
            *tail = NULL;
        job->next_ = NULL;
    }
    return job;
}

/* Removes job from the queue; returns 1 if it was there. mu held. */
static int queue_unlink(fresh_pool *p, fresh_pool_job *job)
{
    fresh_pool_job *prev = NULL;
    for (fresh_pool_job *j = p->queue_head; j; prev = j, j = j->next_) {
        if (j != job)
            continue;
        if (prev)
            prev->next_ = j->next_;
        else
            p->queue_head = j->next_;
        if (p->queue_tail == j)
            p->queue_tail = prev;
        j->next_ = NULL;
        return 1;
    }
    return 0;
}

/* Turns a job just taken off the queue into a cancelled completion. mu held. */
static void complete_cancelled(fresh_pool *p, fresh_pool_job *job)
{
    job->status = FRESH_ECANCELED;
    job->worker = -1;
    job->start_time = 0.0;
    job->end_time = 0.0;
    job->state_ = JOB_DONE;
    p->n_queued--;
    p->n_done++;
    list_push(&p->done_head, &p->done_tail, job);
}

/* ---- workers ---- */

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    fresh_pool *p = w->pool;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->queue_head == NULL)
            pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop)
            break;
        fresh_pool_job *job = list_pop(&p->queue_head, &p->queue_tail);
        job->state_ = JOB_RUNNING;
        p->n_queued--;
        p->n_running++;
        job->worker = w->index; /* readable by the work function (its slot) */
        pthread_mutex_unlock(&p->mu);

        /* No pool lock is held while user code runs. */
        double t0 = fresh__now();
        job->work(job);
        double t1 = fresh__now();

        pthread_mutex_lock(&p->mu);
        job->status = FRESH_OK;
        job->worker = w->index;
        job->start_time = t0;
        job->end_time = t1;
        job->state_ = JOB_DONE;
        p->busy += t1 - t0;
        p->n_running--;
        p->n_done++;
        list_push(&p->done_head, &p->done_tail, job);
        pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Stops and joins the first n_started workers, gives every undelivered
 * completion back to the owner (discarded) and frees the pool. Used by
 * destroy and by a create that failed half-way. Owner thread. */
static void stop_join_free(fresh_pool *p, size_t n_started)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    p->accepting = 0;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);

    /* Running jobs finish first; they cannot be interrupted. */
    for (size_t i = 0; i < n_started; i++)
        pthread_join(p->workers[i].thread, NULL);

    /* Only this thread is left: the done list needs no lock now. */
    fresh_pool_job *job;
    while ((job = list_pop(&p->done_head, &p->done_tail)) != NULL)
        job->state_ = JOB_DELIVERED;

    pthread_cond_destroy(&p->done_cv);
    pthread_cond_destroy(&p->work_cv);
    pthread_mutex_destroy(&p->mu);
    fresh__free(p);
}

/* ---- API ---- */

int fresh__pool_create(fresh_pool **out, size_t n_workers)
{
    if (out == NULL)
        return FRESH_EINVAL;
    if (n_workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_workers = n > 0 ? (size_t)n : 1;
        if (n_workers > MAX_WORKERS)
            n_workers = MAX_WORKERS;
    }
    if (n_workers > MAX_WORKERS)
        return FRESH_EINVAL;

    fresh_pool *p = fresh__calloc(1, sizeof *p + n_workers * sizeof(struct worker));
    if (p == NULL)
        return FRESH_ENOMEM;
    p->n_workers = n_workers;
    p->accepting = 1;

    pthread_condattr_t ca;
    sigset_t all, old;
    size_t started = 0;
    int rc, have_mu = 0, have_work_cv = 0;
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        goto fail;
    have_mu = 1;
    if (pthread_cond_init(&p->work_cv, NULL) != 0)
        goto fail;
    have_work_cv = 1;
    if (pthread_condattr_init(&ca) != 0)
        goto fail;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&p->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        goto fail;

    /* Workers inherit the creating thread's signal mask: block everything
     * while creating them, then restore the owner's mask. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = 0;
    for (; started < n_workers; started++) {
        struct worker *w = &p->workers[started];
        w->pool = p;
        w->index = (int)started;
        rc = thread_should_fail() ? EAGAIN : pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0)
            break;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        stop_join_free(p, started);
        return FRESH_ETHREAD;
    }

    *out = p;
    return FRESH_OK;

fail: /* only the mutex and condition variable set-up jump here */
    if (have_work_cv)
        pthread_cond_destroy(&p->work_cv);
    if (have_mu)
        pthread_mutex_destroy(&p->mu);
    fresh__free(p);
    return FRESH_ENOMEM;
}

int fresh__pool_submit(fresh_pool *p, fresh_pool_job *job)
{
    if (p == NULL || job == NULL || job->work == NULL)
        return FRESH_EINVAL;

    int rc = FRESH_OK;
    pthread_mutex_lock(&p->mu);
    if (job->state_ == JOB_QUEUED || job->state_ == JOB_RUNNING || job->state_ == JOB_DONE) {
        rc = FRESH_EINVAL;
    } else if (!p->accepting) {
        rc = FRESH_ESTATE;
    } else {
        job->status = FRESH_OK;
        job->worker = -1;
        job->start_time = 0.0;
        job->end_time = 0.0;
        job->state_ = JOB_QUEUED;
        list_push(&p->queue_head, &p->queue_tail, job);
        p->n_queued++;
        pthread_cond_signal(&p->work_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int fresh__pool_cancel(fresh_pool *p, fresh_pool_job *job)
{
    if (p == NULL || job == NULL)
        return FRESH_EINVAL;

    int rc;
    pthread_mutex_lock(&p->mu);
    switch (job->state_) {
    case JOB_QUEUED:
        /* The scan also rejects a job queued in another pool. */
        if (queue_unlink(p, job)) {
            complete_cancelled(p, job);
            rc = FRESH_OK;
        } else {
            rc = FRESH_EINVAL;
        }
        break;
    case JOB_RUNNING:
    case JOB_DONE:
    case JOB_DELIVERED:
        rc = FRESH_EBUSY;
        break;
    default:
        rc = FRESH_EINVAL;
        break;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

size_t fresh__pool_cancel_all(fresh_pool *p)
{
    if (p == NULL)
        return 0;
    size_t n = 0;
    pthread_mutex_lock(&p->mu);
    fresh_pool_job *job;
    while ((job = list_pop(&p->queue_head, &p->queue_tail)) != NULL) {
        complete_cancelled(p, job);
        n++;
    }
    pthread_mutex_unlock(&p->mu);
    return n;
}

int fresh__pool_shutdown(fresh_pool *p)
{
    if (p == NULL)
        return FRESH_EINVAL;
    pthread_mutex_lock(&p->mu);
    p->accepting = 0;
    pthread_mutex_unlock(&p->mu);
    return FRESH_OK;
}

/* Absolute CLOCK_MONOTONIC deadline timeout_s seconds from now. */
static struct timespec deadline_after(double timeout_s)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double whole = floor(timeout_s);
    long nsec = (long)((timeout_s - whole) * 1e9);
    ts.tv_sec += (time_t)whole;
    ts.tv_nsec += nsec;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec += 1;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int fresh__pool_next(fresh_pool *p, double timeout_s, fresh_pool_job **done)
{
    if (done != NULL)
        *done = NULL;
    if (p == NULL || done == NULL || isnan(timeout_s))
        return FRESH_EINVAL;

    int forever = timeout_s < 0 || timeout_s > MAX_TIMEOUT_S;
    struct timespec deadline = {0, 0};
    if (!forever && timeout_s > 0)
        deadline = deadline_after(timeout_s);

    int rc, timed_out = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->wake) {
            p->wake = 0;
            rc = FRESH_WAIT;
            break;
        }
        fresh_pool_job *job = list_pop(&p->done_head, &p->done_tail);
        if (job != NULL) {
            job->state_ = JOB_DELIVERED;
            p->n_done--;
            *done = job;
            rc = FRESH_OK;
            break;
        }
        if (p->n_queued + p->n_running == 0) {
            rc = FRESH_DONE;
            break;
        }
        if (timed_out || timeout_s == 0) {
            rc = FRESH_WAIT;
            break;
        }
        if (forever) {
            pthread_cond_wait(&p->done_cv, &p->mu);
        } else if (pthread_cond_timedwait(&p->done_cv, &p->mu, &deadline) == ETIMEDOUT) {
            timed_out = 1; /* look once more, then give up */
        }
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int fresh__pool_wakeup(fresh_pool *p)
{
    if (p == NULL)
        return FRESH_EINVAL;
    pthread_mutex_lock(&p->mu);
    p->wake = 1;
    pthread_cond_broadcast(&p->done_cv);
    pthread_mutex_unlock(&p->mu);
    return FRESH_OK;
}

size_t fresh__pool_workers(const fresh_pool *p) { return p ? p->n_workers : 0; }

size_t fresh__pool_running(fresh_pool *p)
{
    if (p == NULL)
        return 0;
    pthread_mutex_lock(&p->mu);
    size_t n = p->n_running;
    pthread_mutex_unlock(&p->mu);
    return n;
}

size_t fresh__pool_outstanding(fresh_pool *p)
{
    if (p == NULL)
        return 0;
    pthread_mutex_lock(&p->mu);
    size_t n = p->n_queued + p->n_running + p->n_done;
    pthread_mutex_unlock(&p->mu);
    return n;
}

double fresh__pool_busy_seconds(fresh_pool *p)
{
    if (p == NULL)
        return 0.0;
    pthread_mutex_lock(&p->mu);
    double b = p->busy;
    pthread_mutex_unlock(&p->mu);
    return b;
}

void fresh__pool_destroy(fresh_pool *p)
{
    if (p == NULL)
        return;

    /* Queued jobs never run: take them out before the workers are told to
     * stop, and give them back to the owner undelivered. */
    pthread_mutex_lock(&p->mu);
    fresh_pool_job *job;
    while ((job = list_pop(&p->queue_head, &p->queue_tail)) != NULL)
        job->state_ = JOB_DELIVERED;
    p->n_queued = 0;
    pthread_mutex_unlock(&p->mu);

    stop_join_free(p, p->n_workers);
}
