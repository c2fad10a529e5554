/*
 * fresh/mpi.h - one study over many processes and machines with MPI
 * (libfresh_mpi, CMake target fresh::mpi; built when CMake finds MPI).
 *
 * Rank 0 of the communicator owns the study: its scheduler, sampler, early
 * stopping tables, study file, resume and warm start, exactly as with
 * fresh_study_optimize(). Every other rank evaluates: it runs the objective
 * for one job at a time, as rank 0 sends them. Inside the objective the
 * trial API is unchanged (fresh/trial.h):
 *  - the configuration, budget, resume point, ids and seed come with the job;
 *  - fresh_trial_report() asks rank 0 for the stop decision when the job's
 *    stage has an early-stopping table (a round trip of two small messages),
 *    and otherwise decides locally (time limit) and looks for a stop message
 *    from rank 0 (study stopping: wall time, target, force stop);
 *  - fresh_trial_should_stop() answers from what the rank knows: the local
 *    time limit and the decisions of its earlier reports;
 *  - the checkpoint saved with fresh_trial_save_checkpoint() travels with the
 *    job's result to rank 0, which keeps it (and records it in the study
 *    file); the next job of the configuration receives it, on whatever rank
 *    it runs. Blobs are limited to 1 GiB (an MPI count): keep large models in
 *    a shared directory and checkpoint their path (docs/mpi.md).
 * Only rank 0 opens the study file. The library never calls MPI_Init or
 * MPI_Finalize: the application does (MPI_THREAD_SINGLE is enough: the
 * library calls MPI from the calling thread only, and the objective must
 * not use the communicator given here).
 *
 * With one evaluating rank and a fixed seed the MPI study gives the same
 * jobs, configurations, losses and decisions as fresh_study_optimize() with
 * one worker (tested).
 *
 * Failures (docs/mpi.md): a rank that does not send its result within the
 * job time limit plus a grace period has its job recorded as failed with
 * FRESH_ETIMEDOUT, like a job over its time limit, and gets no more jobs
 * until it answers (its late result is discarded). Without a job time limit
 * such a rank is waited for. A rank that dies aborts the whole job under
 * Open MPI 4.1 (no ULFM): resume the study file from rank 0 (params.resume)
 * and the jobs that were running run again; nothing recorded is lost.
 */
#ifndef FRESH_MPI_H
#define FRESH_MPI_H

#include <mpi.h>
#include <stddef.h>

#include "fresh/study.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fresh_mpi_params {
    /* Seconds rank 0 waits past a job's time limit (study parameter
     * job_time_limit) for the rank's result before it records the job as
     * timed out and stops sending that rank jobs; default 1 s + 25 % of the
     * limit. No effect without a job time limit. */
    double answer_grace;
} fresh_mpi_params;

/* Fills *p with the defaults (answer_grace < 0: the rule above).
 * Thread safety: any thread. */
FRESH_API void fresh_mpi_params_default(fresh_mpi_params *p);

typedef struct fresh_mpi_stats {
    int ranks;                 /* size of the communicator */
    size_t jobs;               /* jobs sent to evaluating ranks */
    size_t reports_decided;    /* report round trips answered by rank 0 */
    double report_rtt_mean;    /* seconds per round trip, measured on the ranks */
    double report_rtt_max;
    double setup;              /* rank 0: seconds until every rank was there and had
                                  the space (launch skew, MPI_Comm_dup, broadcast) */
    double wall;               /* rank 0: seconds in the study's loop after setup */
    double rank0_busy;         /* rank 0: seconds not waiting for messages (ask,
                                  tell, sampler, study file, MPI calls) */
    double jobs_per_second_max;/* jobs / rank0_busy: rank 0's ceiling */
    size_t ranks_lost;         /* ranks given up on (their jobs: FRESH_ETIMEDOUT) */
    size_t late_results;       /* results that came after their job was given up */
} fresh_mpi_stats;

/* Runs the study over the ranks of `comm` until a stopping criterion holds.
 * Collective: every rank of comm calls it. On rank 0, `study` is the study
 * (created, resumed or warm-started as usual); on every other rank it must be
 * NULL. `objective` and `user` are each rank's own (the evaluating ranks call
 * them; rank 0 does not). The communicator is duplicated, so the caller's
 * own messages on comm do not mix with the library's.
 *
 * Returns, on every rank, rank 0's result: the positive reason
 * (FRESH_BUDGET_REACHED, FRESH_BRACKETS_DONE, FRESH_TIME_REACHED,
 * FRESH_TARGET_REACHED, FRESH_STOPPED) or a negative error: FRESH_EINVAL
 * (fewer than 2 ranks, a NULL study on rank 0, a study on another rank, a
 * NULL objective; every rank returns it and nothing runs), FRESH_ESTATE (MPI
 * not initialized, or what fresh_study_optimize refuses: jobs from ask out,
 * a snapshot, already running), FRESH_ENOMEM, FRESH_EPARSE (the space did
 * not reach a rank intact), or a study error (FRESH_ESTORE). Rank 0's study
 * carries the message. Failed jobs do not stop the study. `params` may be
 * NULL (defaults); `stats` may be NULL, and is filled on rank 0 (the other
 * ranks fill `ranks` only). The study's stats count the evaluating ranks as
 * its workers, and its wall time starts after setup (stats->setup). Thread safety: owner thread of the study, the thread that
 * makes the process's MPI calls.
 */
FRESH_API int fresh_study_optimize_mpi_ex(fresh_study *study, fresh_objective objective,
                                          void *user, MPI_Comm comm,
                                          const fresh_mpi_params *params,
                                          fresh_mpi_stats *stats);

/* fresh_study_optimize_mpi_ex with default params and no stats.
 * Thread safety: as fresh_study_optimize_mpi_ex. */
FRESH_API int fresh_study_optimize_mpi(fresh_study *study, fresh_objective objective,
                                       void *user, MPI_Comm comm);

#ifdef __cplusplus
}
#endif
#endif
