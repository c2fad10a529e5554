/*
 * pool.h - the internal thread pool that runs objective evaluations.
 *
 * A fixed set of worker threads takes jobs from one FIFO queue and runs each
 * job's work function, with no pool lock held. A finished job (or one
 * cancelled while still queued) becomes a completion; completions are handed
 * back, one at a time and in the order they happened, to the single owner
 * thread through fresh__pool_next(). The owner alone runs the scheduler, the
 * sampler and the storage, so none of those needs a lock of its own (the
 * libuv threadpool model: work on workers, "after work" on the loop thread).
 *
 * Threads:
 *   - the OWNER is the thread that created the pool; every function below is
 *     owner-only unless its comment says otherwise;
 *   - WORKERS run job->work and nothing else. A work function must not call
 *     any pool function except fresh__pool_wakeup();
 *   - ANY thread may call fresh__pool_wakeup() (e.g. a force_stop request).
 *
 * Lifetime of a job (the job memory belongs to the owner and is borrowed by
 * the pool from fresh__pool_submit() until its completion is returned by
 * fresh__pool_next(), or until fresh__pool_destroy() returns):
 *
 *   submit -> QUEUED -> RUNNING -> DONE --next()--> delivered (owner's again)
 *               |                   ^
 *               +--cancel-----------+   (status FRESH_ECANCELED, worker -1)
 *
 * Every submitted job yields exactly one completion, delivered exactly once,
 * unless the pool is destroyed first (then undelivered completions are
 * discarded). Running jobs are never interrupted by the pool: stopping them
 * is cooperative (an atomic flag that the work function polls).
 *
 * Internal header; never installed.
 */
#ifndef FRESH_POOL_H
#define FRESH_POOL_H

#include <stddef.h>

typedef struct fresh_pool fresh_pool;
typedef struct fresh_pool_job fresh_pool_job;

/* A unit of work. The owner fills in work (and usually data), submits it, and
 * reads the result fields once the job comes back from fresh__pool_next().
 * The private fields need no initialisation (zeroing the struct is still the
 * recommended habit); a delivered job may be submitted again. */
struct fresh_pool_job {
    /* Runs on a worker thread with no pool lock held. Required. */
    void (*work)(fresh_pool_job *job);
    /* The owner's; the pool never touches it. */
    void *data;
    /* Set by the pool before delivery: FRESH_OK if work ran, FRESH_ECANCELED
     * if the job was cancelled while queued. */
    int status;
    /* Index (0 .. workers-1) of the worker that ran the job; -1 if cancelled.
     * Set before work() runs, so the work function may read it (its slot). */
    int worker;
    /* fresh__now() just before and just after work(); both 0 if cancelled. */
    double start_time, end_time;
    /* Private to the pool. */
    fresh_pool_job *next_;
    int state_;
};

/* Creates a pool of n_workers threads (0: the number of online CPUs, as
 * reported by sysconf(_SC_NPROCESSORS_ONLN), at least 1) and stores it in
 * *out. The calling thread becomes the owner. Workers start with every
 * signal blocked, so asynchronous signals are delivered to other threads.
 * Returns FRESH_OK; FRESH_EINVAL if out is NULL or n_workers > 4096 (such a
 * request is a bug; the CPU count is clamped to 4096); FRESH_ENOMEM if memory or a
 * pthread object could not be allocated; FRESH_ETHREAD if pthread_create
 * failed (the threads already started are stopped and joined). On error
 * *out is left unchanged and nothing leaks.
 * Thread safety: any thread (the caller becomes the owner). */
int fresh__pool_create(fresh_pool **out, size_t n_workers);

/* Appends job to the FIFO queue; the next idle worker runs it. The pool
 * borrows the job until its completion is delivered by fresh__pool_next()
 * (the owner must neither free nor modify it before then).
 * Returns FRESH_OK; FRESH_EINVAL if p or job is NULL, job->work is NULL, or
 * the job is already in the pool (queued, running or undelivered);
 * FRESH_ESTATE after fresh__pool_shutdown(). On error nothing changes.
 * Thread safety: owner thread. */
int fresh__pool_submit(fresh_pool *p, fresh_pool_job *job);

/* Cancels a job that is still QUEUED: it leaves the queue without running
 * and its completion (status FRESH_ECANCELED, worker -1, times 0) is
 * delivered later by fresh__pool_next(), like any other.
 * Returns FRESH_OK if the job was queued; FRESH_EBUSY if it is running,
 * finished or already cancelled (a running job is stopped cooperatively by
 * the caller, never by the pool); FRESH_EINVAL if p or job is NULL, the job
 * was never submitted, or it is queued in another pool. (A job running or
 * finished in another pool also gets FRESH_EBUSY: only queues are searched.)
 * Thread safety: owner thread. */
int fresh__pool_cancel(fresh_pool *p, fresh_pool_job *job);

/* Cancels every queued job, as fresh__pool_cancel() does for one, in queue
 * order. Returns how many were cancelled (0 if p is NULL).
 * Thread safety: owner thread. */
size_t fresh__pool_cancel_all(fresh_pool *p);

/* Stops accepting work: every later fresh__pool_submit() returns
 * FRESH_ESTATE. Queued and running jobs go on and their completions are still
 * delivered by fresh__pool_next(); combine with fresh__pool_cancel_all() for
 * a fast stop. Idempotent. Returns FRESH_OK, or FRESH_EINVAL if p is NULL.
 * Thread safety: owner thread. */
int fresh__pool_shutdown(fresh_pool *p);

/* Waits for one completion and hands its job back in *done (the job is the
 * owner's again). Completions come in the order they happened. In order of
 * precedence it returns:
 *   FRESH_WAIT  at once if fresh__pool_wakeup() was called since the last
 *               FRESH_WAIT (the request is consumed), or when it is called
 *               during the wait;
 *   FRESH_OK    with *done set, when a completion is (or becomes) available;
 *   FRESH_DONE  at once if nothing is queued, running or undelivered;
 *   FRESH_WAIT  when timeout_s seconds pass without a completion (0 polls,
 *               a negative value waits forever).
 * *done is set to NULL unless FRESH_OK is returned. FRESH_EINVAL if p or
 * done is NULL or timeout_s is NaN.
 * Thread safety: owner thread. */
int fresh__pool_next(fresh_pool *p, double timeout_s, fresh_pool_job **done);

/* Makes a fresh__pool_next() that is blocked now, or else the next call,
 * return FRESH_WAIT promptly. Several calls before one next() collapse into
 * one FRESH_WAIT. Takes the pool mutex briefly, so it is not
 * async-signal-safe: from a signal handler, set a flag and call it from a
 * normal thread. Returns FRESH_OK, or FRESH_EINVAL if p is NULL.
 * Thread safety: any thread (also inside a work function). */
int fresh__pool_wakeup(fresh_pool *p);

/* Number of worker threads (0 if p is NULL). Constant for the pool's life.
 * Thread safety: any thread. */
size_t fresh__pool_workers(const fresh_pool *p);

/* Number of jobs inside work() right now (0 if p is NULL). A snapshot.
 * Thread safety: owner thread. */
size_t fresh__pool_running(fresh_pool *p);

/* Queued + running + finished-but-undelivered jobs (0 if p is NULL); it is 0
 * exactly when fresh__pool_next() would return FRESH_DONE.
 * Thread safety: owner thread. */
size_t fresh__pool_outstanding(fresh_pool *p);

/* Sum of (end_time - start_time) over all jobs that ran to the end, in
 * seconds (0 if p is NULL); divided by wall time x workers it gives the
 * utilisation. Cancelled jobs add nothing.
 * Thread safety: owner thread. */
double fresh__pool_busy_seconds(fresh_pool *p);

/* Destroys the pool; NULL is a no-op. Cancels the queued jobs and discards
 * their completions (they are not delivered), waits for the running jobs to
 * return from work(), discards their completions too, joins every thread
 * and frees the pool. When it returns, every job is the owner's again. A
 * caller that wants every completion does fresh__pool_cancel_all() and calls
 * fresh__pool_next() until FRESH_DONE first. It blocks as long as a running
 * work function does: ask those to stop (cooperatively) first.
 * Thread safety: owner thread. */
void fresh__pool_destroy(fresh_pool *p);

/* Test hook (fault injection, like fresh__alloc_fail_after): after
 * `countdown` more successful worker-thread creations, every pthread_create
 * made by fresh__pool_create fails with EAGAIN until the hook is reset with a
 * negative countdown (the default: no failures). Not for production use.
 * Thread safety: any thread. */
void fresh__pool_fail_thread_after(long countdown);

#endif /* FRESH_POOL_H */
