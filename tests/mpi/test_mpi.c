/*
 * test_mpi.c - the study over MPI (fresh/mpi.h), run under mpirun by ctest
 * (tests/mpi/CMakeLists.txt):
 *
 *   test_mpi CASE [DIR]
 *
 *   equal    with one evaluating rank (-n 2) and a fixed seed the MPI study
 *            equals fresh_study_optimize with one worker, job for job
 *            (configurations, budgets, losses, reports, statuses, messages:
 *            failures, NaN reports, early stopping, checkpoints)
 *   early    early stopping decided by rank 0 for jobs on several ranks: a
 *            successive-halving bracket on 1..27 whose worse jobs report only
 *            after the better ones did (marker files in DIR), so the counts
 *            are exact at any number of ranks: 40 jobs, 8 stopped
 *   ckpt     checkpoints reach the next job of a configuration on another
 *            rank (-n 4)
 *   storage  only rank 0 opens the study file: evaluating ranks check their
 *            open files; the file holds exactly what rank 0's study holds
 *   kill     an evaluating rank SIGKILLs itself at job 14 (the study file in
 *            DIR): Open MPI aborts the job (run by kill_resume.sh)
 *   resume   rank 0 resumes that file: the jobs equal the uninterrupted
 *            threaded study with one worker, the killed job run again
 *   stop     the wall-time limit stops jobs running on other ranks
 *   silent   a rank that stops answering: its job is recorded as timed out,
 *            its late result dropped, the study completes
 *   bad      argument errors are collective: every rank returns FRESH_EINVAL
 *
 * Fixed seeds; exact counts. A failed check prints the rank and line and
 * aborts the MPI job (mpirun exits non-zero).
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fresh/mpi.h"
#include "study_fixtures.h"

static int g_rank, g_size;
static const char *g_dir = ".";

#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "rank %d: %s:%d: check failed: %s: ", g_rank, __FILE__, __LINE__, \
                    #cond);                                                                 \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
            MPI_Abort(MPI_COMM_WORLD, 1);                                                   \
        }                                                                                   \
    } while (0)

static void nap(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static fresh_study *make(fresh_space *sp, const fresh_study_params *p)
{
    int rc;
    char err[512];
    fresh_study *s = fresh_study_create(sp, p, &rc, err, sizeof err);
    CHECK(s, "create: %s", err);
    return s;
}

/* Compares two studies job for job (not workers or times). */
static void same_jobs(const fresh_study *a, const fresh_study *b)
{
    CHECK(fresh_study_n_jobs(a) == fresh_study_n_jobs(b), "%zu jobs vs %zu",
          fresh_study_n_jobs(a), fresh_study_n_jobs(b));
    for (size_t i = 0; i < fresh_study_n_jobs(a); i++) {
        fresh_job_info x, y;
        fresh_study_job(a, i, &x);
        fresh_study_job(b, i, &y);
        CHECK(x.config_id == y.config_id && x.bracket == y.bracket && x.stage == y.stage,
              "job %zu: config %llu vs %llu", i, (unsigned long long)x.config_id,
              (unsigned long long)y.config_id);
        CHECK(x.budget == y.budget && x.resume_from == y.resume_from && x.reached == y.reached &&
                  x.cost == y.cost,
              "job %zu: budget/reached differ", i);
        CHECK(x.status == y.status && x.error == y.error, "job %zu: status %d vs %d", i,
              (int)x.status, (int)y.status);
        CHECK(x.loss == y.loss || (isnan(x.loss) && isnan(y.loss)), "job %zu: loss %.17g vs %.17g",
              i, x.loss, y.loss);
        CHECK(!strcmp(x.message, y.message), "job %zu: '%s' vs '%s'", i, x.message, y.message);
        CHECK(x.n_reports == y.n_reports, "job %zu: %zu vs %zu reports", i, x.n_reports,
              y.n_reports);
        for (size_t k = 0; k < x.n_reports; k++)
            CHECK(x.report_steps[k] == y.report_steps[k] &&
                      (x.report_losses[k] == y.report_losses[k] ||
                       (isnan(x.report_losses[k]) && isnan(y.report_losses[k]))),
                  "job %zu report %zu", i, k);
        const double *cx = fresh_study_config(a, x.config_id), *cy = fresh_study_config(b, y.config_id);
        CHECK(!memcmp(cx, cy, 2 * sizeof *cx), "job %zu: configurations differ", i);
    }
}

/* ---- equal: one evaluating rank == one worker ---- */

/* Every path of an outcome: objective errors, NaN reports, set_loss,
 * checkpoints checked on continuation, early stopping (fx_base + 1/e). */
static int fx_mixed(fresh_trial *t, void *user)
{
    (void)user;
    uint64_t id = fresh_trial_config_id(t);
    double from = fresh_trial_resume_from(t), b = fresh_trial_budget(t);
    size_t len;
    const double *ck = fresh_trial_checkpoint(t, &len);
    if (from > 0 && (!ck || len != sizeof *ck || *ck != from)) {
        fresh_trial_fail(t, "checkpoint missing or wrong");
        return 0;
    }
    if (fresh_trial_n_rungs(t) != 3 || fresh_trial_rung(t, 2) != 9) {
        fresh_trial_fail(t, "the rungs did not come with the job");
        return 0;
    }
    if (id % 11 == 5)
        return 7;
    double e = from + 1;
    for (; e <= b; e += 1) {
        double loss = id % 13 == 4 && e >= 2 ? NAN : fx_base(t) + 1.0 / e;
        if (!fresh_trial_report(t, e, loss))
            break;
    }
    if (id % 7 == 2)
        fresh_trial_set_loss(t, fx_base(t));
    double reached = e > b ? b : e;
    fresh_trial_save_checkpoint(t, &reached, sizeof reached);
    return 0;
}

static fresh_study_params equal_params(void)
{
    fresh_study_params p = fx_params();
    p.max_brackets = 6; /* two Hyperband iterations: the model is used */
    return p;
}

static void case_equal(void)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = equal_params();
    fresh_study *s = g_rank == 0 ? make(sp, &p) : NULL;
    fresh_mpi_stats st;
    int rc = fresh_study_optimize_mpi_ex(s, fx_mixed, NULL, MPI_COMM_WORLD, NULL, &st);
    CHECK(rc == FRESH_BRACKETS_DONE, "rc %d (%s)", rc, s ? fresh_study_errmsg(s) : "");
    if (g_rank == 0) {
        fresh_study *ref = make(sp, &p);
        CHECK(fresh_study_optimize(ref, fx_mixed, NULL) == FRESH_BRACKETS_DONE, "threaded");
        same_jobs(s, ref);
        fresh_study_stats a, b;
        fresh_study_get_stats(s, &a);
        fresh_study_get_stats(ref, &b);
        CHECK(a.jobs_finished > 40, "%zu jobs", a.jobs_finished);
        CHECK(a.jobs_failed == b.jobs_failed && a.jobs_stopped == b.jobs_stopped &&
                  a.jobs_failed > 0 && a.jobs_stopped > 0,
              "failed %zu/%zu stopped %zu/%zu", a.jobs_failed, b.jobs_failed, a.jobs_stopped,
              b.jobs_stopped);
        CHECK(a.proposals_model == b.proposals_model && a.proposals_model > 0, "model");
        CHECK(a.workers == 1, "workers %zu", a.workers);
        CHECK(st.jobs == a.jobs_finished, "%zu sent", st.jobs);
        CHECK(st.reports_decided > 0, "no report round trip");
        for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
            fresh_job_info ji;
            fresh_study_job(s, i, &ji);
            CHECK(ji.worker == 1, "job %zu ran on rank %d", i, ji.worker);
        }
        fresh_study_destroy(ref);
        printf("equal: %zu jobs (%zu failed, %zu stopped early) identical; %zu report round "
               "trips, %.1f us mean\n",
               a.jobs_finished, a.jobs_failed, a.jobs_stopped, st.reports_decided,
               1e6 * st.report_rtt_mean);
    }
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- early: exact counts across ranks ---- */

static void marker_path(char *buf, size_t len, uint64_t id, double step)
{
    snprintf(buf, len, "%s/c%llu-s%g", g_dir, (unsigned long long)id, step);
}

/* loss = 1 + id + 1/step. Before reporting at step e > 1 a job waits until
 * the configurations below it (at most 3) reported at e: their reports
 * reach rank 0's table first, whichever ranks they run on. */
static int fx_gated(fresh_trial *t, void *user)
{
    (void)user;
    uint64_t id = fresh_trial_config_id(t);
    double b = fresh_trial_budget(t);
    char path[512];
    for (double e = fresh_trial_resume_from(t) + 1; e <= b; e += 1) {
        for (uint64_t k = 0; e > 1 && k < id && k < 3; k++) {
            marker_path(path, sizeof path, k, e);
            int waited = 0;
            while (access(path, F_OK) != 0) {
                CHECK(waited++ < 60000, "waited 60 s for %s", path);
                nap(0.001);
            }
        }
        int go = fresh_trial_report(t, e, 1.0 + (double)id + 1.0 / e);
        marker_path(path, sizeof path, id, e);
        FILE *f = fopen(path, "w");
        CHECK(f, "cannot write %s", path);
        fclose(f);
        if (!go)
            break;
    }
    return 0;
}

static void case_early(void)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_budget = 27;
    p.scheduler = fresh_scheduler_sh;
    p.sampler = fresh_sampler_random;
    p.max_brackets = 1;
    fresh_study *s = g_rank == 0 ? make(sp, &p) : NULL;
    int rc = fresh_study_optimize_mpi(s, fx_gated, NULL, MPI_COMM_WORLD);
    CHECK(rc == FRESH_BRACKETS_DONE, "rc %d", rc);
    if (g_rank == 0) {
        /* stage 0: 27 @ 1; stage 1: 9 @ 3, quota 3: configs 3..8 stop at
         * step 2; stage 2: 3 @ 9, quota 1: configs 1, 2 stop at step 4;
         * stage 3: config 0 @ 27 */
        size_t n = fresh_study_n_jobs(s), stopped = 0, ranks_used = 0;
        int seen[64] = {0};
        CHECK(n == 40, "%zu jobs", n);
        for (size_t i = 0; i < n; i++) {
            fresh_job_info ji;
            fresh_study_job(s, i, &ji);
            CHECK(ji.worker >= 1 && ji.worker < g_size, "worker %d", ji.worker);
            if (!seen[ji.worker]++)
                ranks_used++;
            if (ji.stage == 1 && ji.config_id >= 3) {
                CHECK(ji.status == FRESH_JOB_STOPPED && ji.reached == 2 && ji.cost == 1,
                      "stage 1 config %llu: status %d reached %g", (unsigned long long)ji.config_id,
                      (int)ji.status, ji.reached);
            } else if (ji.stage == 2 && ji.config_id >= 1) {
                CHECK(ji.status == FRESH_JOB_STOPPED && ji.reached == 4 && ji.cost == 1,
                      "stage 2 config %llu: status %d reached %g", (unsigned long long)ji.config_id,
                      (int)ji.status, ji.reached);
            } else {
                CHECK(ji.status == FRESH_JOB_COMPLETED, "job %zu status %d", i, (int)ji.status);
            }
            stopped += ji.status == FRESH_JOB_STOPPED;
        }
        fresh_study_stats st;
        fresh_study_get_stats(s, &st);
        CHECK(stopped == 8 && st.jobs_stopped == 8 && st.jobs_completed == 32,
              "stopped %zu completed %zu", st.jobs_stopped, st.jobs_completed);
        CHECK(ranks_used == (size_t)(g_size - 1), "%zu of %d ranks ran jobs", ranks_used,
              g_size - 1);
        uint64_t inc;
        CHECK(fresh_study_incumbent(s, &inc, NULL, NULL, NULL) == FRESH_OK && inc == 0, "inc");
        printf("early: %d ranks, 40 jobs, 8 stopped early as expected\n", g_size);
    }
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- ckpt: continued on another rank ---- */

typedef struct ckpt_blob {
    uint64_t config;
    double reached;
    int rank;
} ckpt_blob;

static int fx_ckpt(fresh_trial *t, void *user)
{
    (void)user;
    uint64_t id = fresh_trial_config_id(t);
    double from = fresh_trial_resume_from(t), b = fresh_trial_budget(t);
    size_t len;
    const ckpt_blob *ck = fresh_trial_checkpoint(t, &len);
    if (from > 0 && (!ck || len != sizeof *ck || ck->config != id || ck->reached != from)) {
        fresh_trial_fail(t, "checkpoint missing or wrong");
        return 0;
    }
    if (from == 0 && ck) {
        fresh_trial_fail(t, "a checkpoint for a new configuration");
        return 0;
    }
    nap(0.002 * (b - from) * g_rank); /* ranks finish at different paces */
    ckpt_blob out = {id, b, g_rank};
    CHECK(fresh_trial_save_checkpoint(t, &out, sizeof out) == FRESH_OK, "save");
    fresh_trial_set_loss(t, fx_base(t) + 1.0 / b);
    return 0;
}

static void case_ckpt(void)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.scheduler = fresh_scheduler_hyperband;
    p.max_brackets = 6;
    fresh_study *s = g_rank == 0 ? make(sp, &p) : NULL;
    int rc = fresh_study_optimize_mpi(s, fx_ckpt, NULL, MPI_COMM_WORLD);
    CHECK(rc == FRESH_BRACKETS_DONE, "rc %d", rc);
    if (g_rank == 0) {
        size_t n = fresh_study_n_jobs(s), cont = 0, moved = 0;
        for (size_t i = 0; i < n; i++) {
            fresh_job_info ji;
            fresh_study_job(s, i, &ji);
            CHECK(ji.status == FRESH_JOB_COMPLETED, "job %zu: %s", i, ji.message);
            if (ji.resume_from == 0)
                continue;
            cont++;
            for (size_t k = i; k-- > 0;) { /* the job that saved the checkpoint */
                fresh_job_info prev;
                fresh_study_job(s, k, &prev);
                if (prev.config_id == ji.config_id) {
                    moved += prev.worker != ji.worker;
                    break;
                }
            }
        }
        CHECK(cont == 10 && moved > 0, "%zu continuations, %zu on another rank", cont, moved);
        printf("ckpt: %zu continuations, %zu of them on another rank, every checkpoint right\n",
               cont, moved);
    }
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- storage: only rank 0 opens the study file ---- */

static char g_study_path[512];

static int fx_no_file(fresh_trial *t, void *user)
{
    (void)user;
    DIR *d = opendir("/proc/self/fd");
    CHECK(d, "/proc/self/fd");
    struct dirent *e;
    char link[600], target[1024];
    while ((e = readdir(d)) != NULL) {
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strstr(target, g_study_path)) {
            closedir(d);
            fresh_trial_fail(t, "an evaluating rank has the study file open");
            return 0;
        }
    }
    closedir(d);
    return fx_curve(t, user);
}

static void case_storage(void)
{
    char real[400];
    CHECK(realpath(g_dir, real), "realpath %s", g_dir);
    snprintf(g_study_path, sizeof g_study_path, "%s/study.fresh", real);
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 3;
    p.storage = g_study_path;
    fresh_study *s = g_rank == 0 ? make(sp, &p) : NULL;
    int rc = fresh_study_optimize_mpi(s, fx_no_file, NULL, MPI_COMM_WORLD);
    CHECK(rc == FRESH_BRACKETS_DONE, "rc %d", rc);
    if (g_rank == 0) {
        fresh_study_stats st;
        fresh_study_get_stats(s, &st);
        CHECK(st.jobs_failed == 0, "%zu jobs failed: an evaluating rank opened the file",
              st.jobs_failed);
        fresh_space *sp2 = NULL;
        int orc;
        char err[512];
        fresh_study *snap = fresh_study_open_snapshot(g_study_path, &sp2, &orc, err, sizeof err);
        CHECK(snap, "snapshot: %s", err);
        same_jobs(s, snap);
        printf("storage: %zu jobs in the study file, none opened it but rank 0\n",
               fresh_study_n_jobs(snap));
        fresh_study_destroy(snap);
        fresh_space_destroy(sp2);
    }
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- kill and resume ---- */

#define KILL_AT_JOB 14

static int fx_killer(fresh_trial *t, void *user)
{
    char path[512];
    snprintf(path, sizeof path, "%s/killed", g_dir);
    if (fresh_trial_job_id(t) == KILL_AT_JOB && access(path, F_OK) != 0) {
        FILE *f = fopen(path, "w");
        if (f)
            fclose(f);
        raise(SIGKILL);
    }
    return fx_mixed(t, user);
}

static void case_kill(int resume)
{
    char path[512];
    snprintf(path, sizeof path, "%s/study.fresh", g_dir);
    fresh_space *sp = fx_space();
    fresh_study_params p = equal_params();
    p.storage = path;
    p.resume = resume;
    fresh_study *s = g_rank == 0 ? make(sp, &p) : NULL;
    int rc = fresh_study_optimize_mpi(s, fx_killer, NULL, MPI_COMM_WORLD);
    CHECK(resume, "the evaluating rank was not killed (rc %d)", rc);
    CHECK(rc == FRESH_BRACKETS_DONE, "rc %d (%s)", rc, s ? fresh_study_errmsg(s) : "");
    if (g_rank == 0) {
        fresh_study_stats st;
        fresh_study_get_stats(s, &st);
        CHECK(st.jobs_replayed == KILL_AT_JOB + 1 && st.jobs_requeued == 1,
              "replayed %zu requeued %zu", st.jobs_replayed, st.jobs_requeued);
        fresh_study_params q = equal_params();
        fresh_study *ref = make(sp, &q);
        CHECK(fresh_study_optimize(ref, fx_mixed, NULL) == FRESH_BRACKETS_DONE, "threaded");
        same_jobs(s, ref);
        printf("resume: %zu jobs rebuilt, job %d run again, %zu jobs identical to the "
               "uninterrupted threaded study\n",
               st.jobs_replayed, KILL_AT_JOB, fresh_study_n_jobs(s));
        fresh_study_destroy(ref);
    }
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- stop: the wall-time limit reaches other ranks ---- */

static int fx_slow(fresh_trial *t, void *user)
{
    (void)user;
    double b = fresh_trial_budget(t);
    for (double e = fresh_trial_resume_from(t) + 1; e <= b; e += 1) {
        nap(0.02);
        if (!fresh_trial_report(t, e, fx_base(t) + 1.0 / e))
            break;
    }
    return 0;
}

static void case_stop(void)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_budget = 81;
    p.scheduler = fresh_scheduler_none; /* every job runs 81 steps of 20 ms */
    p.early_stopping = 0;               /* no round trips: the stop comes as a message */
    p.max_wall_time = 0.5;
    fresh_study *s = g_rank == 0 ? make(sp, &p) : NULL;
    double t0 = MPI_Wtime();
    int rc = fresh_study_optimize_mpi(s, fx_slow, NULL, MPI_COMM_WORLD);
    CHECK(rc == FRESH_TIME_REACHED, "rc %d", rc);
    if (g_rank == 0) {
        double wall = MPI_Wtime() - t0;
        size_t n = fresh_study_n_jobs(s);
        CHECK(n == (size_t)(g_size - 1), "%zu jobs", n);
        for (size_t i = 0; i < n; i++) {
            fresh_job_info ji;
            fresh_study_job(s, i, &ji);
            CHECK(ji.status == FRESH_JOB_STOPPED && ji.reached < 81, "job %zu: %d at %g", i,
                  (int)ji.status, ji.reached);
        }
        CHECK(wall < 1.6, "took %.2f s for a 0.5 s limit (a job takes 1.6 s)", wall);
        printf("stop: TIME_REACHED after %.2f s, the %zu running jobs stopped\n", wall, n);
    }
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- silent: a rank that stops answering ---- */

static int fx_silent(fresh_trial *t, void *user)
{
    (void)user;
    if (fresh_trial_job_id(t) == 0) {
        nap(4.5); /* no report, no answer: past the limit and grace */
        return 0;
    }
    double b = fresh_trial_budget(t), from = fresh_trial_resume_from(t);
    nap(0.08 * (b - from));
    fresh_trial_set_loss(t, fx_base(t) + 1.0 / b);
    return 0;
}

static void case_silent(void)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.scheduler = fresh_scheduler_hyperband;
    p.max_brackets = 3;     /* 22 jobs, 69 budget units of 80 ms */
    p.job_time_limit = 3.0; /* the longest job sleeps 0.72 s: a wide margin on a loaded
                               machine, where 3 ranks share the cores with other tests */
    p.early_stopping = 0;
    fresh_mpi_params mp;
    fresh_mpi_params_default(&mp);
    mp.answer_grace = 0.3;
    fresh_mpi_stats st;
    fresh_study *s = g_rank == 0 ? make(sp, &p) : NULL;
    int rc = fresh_study_optimize_mpi_ex(s, fx_silent, NULL, MPI_COMM_WORLD, &mp, &st);
    CHECK(rc == FRESH_BRACKETS_DONE, "rc %d", rc);
    if (g_rank == 0) {
        size_t n = fresh_study_n_jobs(s);
        CHECK(n == 22, "%zu jobs", n);
        for (size_t i = 0; i < n; i++) {
            fresh_job_info ji;
            fresh_study_job(s, i, &ji);
            if (i == 0)
                CHECK(ji.status == FRESH_JOB_FAILED && ji.error == FRESH_ETIMEDOUT &&
                          strstr(ji.message, "time limit"),
                      "job 0: status %d error %d '%s'", (int)ji.status, ji.error, ji.message);
            else
                CHECK(ji.status == FRESH_JOB_COMPLETED, "job %zu: %d '%s'", i, (int)ji.status,
                      ji.message);
        }
        CHECK(st.ranks_lost == 1 && st.late_results == 1, "lost %zu late %zu", st.ranks_lost,
              st.late_results);
        printf("silent: job 0 recorded as timed out, its rank given up on and back after its "
               "late result; 21 other jobs completed\n");
    }
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- bad: collective argument errors ---- */

static void case_bad(void)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 1;
    fresh_study *s = make(sp, &p); /* every rank has one: a mistake on ranks > 0 */
    int rc = fresh_study_optimize_mpi(s, fx_curve, NULL, MPI_COMM_WORLD);
    CHECK(rc == FRESH_EINVAL, "rc %d", rc);
    if (g_rank == 0)
        CHECK(strstr(fresh_study_errmsg(s), "rank 1: only rank 0 passes a study"), "'%s'",
              fresh_study_errmsg(s));
    rc = fresh_study_optimize_mpi(g_rank == 0 ? s : NULL, g_rank == 0 ? fx_curve : NULL, NULL,
                                  MPI_COMM_WORLD);
    CHECK(rc == FRESH_EINVAL, "rc %d", rc);
    if (g_rank == 0)
        CHECK(strstr(fresh_study_errmsg(s), "objective: NULL"), "'%s'", fresh_study_errmsg(s));
    /* a single-rank communicator has no one to evaluate */
    rc = fresh_study_optimize_mpi(s, fx_curve, NULL, MPI_COMM_SELF);
    CHECK(rc == FRESH_EINVAL && strstr(fresh_study_errmsg(s), "at least 2 ranks"), "rc %d '%s'",
          rc, fresh_study_errmsg(s));
    /* nothing ran; a correct call works */
    CHECK(fresh_study_n_jobs(s) == 0, "jobs ran");
    rc = fresh_study_optimize_mpi(g_rank == 0 ? s : NULL, fx_curve, NULL, MPI_COMM_WORLD);
    CHECK(rc == FRESH_BRACKETS_DONE, "rc %d", rc);
    if (g_rank == 0)
        printf("bad: argument errors returned on every rank, then the study ran\n");
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    CHECK(argc >= 2, "usage: test_mpi CASE [DIR]");
    /* markers and study files: DIR, else a new directory that rank 0 makes
     * (and removes at the end) */
    static char tmp[64] = "/tmp/fresh-mpi-test-XXXXXX";
    int own_dir = argc < 3;
    if (own_dir) {
        if (g_rank == 0)
            CHECK(mkdtemp(tmp), "mkdtemp");
        MPI_Bcast(tmp, (int)sizeof tmp, MPI_CHAR, 0, MPI_COMM_WORLD);
        g_dir = tmp;
    } else {
        g_dir = argv[2];
    }
    const char *c = argv[1];
    if (!strcmp(c, "equal"))
        case_equal();
    else if (!strcmp(c, "early"))
        case_early();
    else if (!strcmp(c, "ckpt"))
        case_ckpt();
    else if (!strcmp(c, "storage"))
        case_storage();
    else if (!strcmp(c, "kill"))
        case_kill(0);
    else if (!strcmp(c, "resume"))
        case_kill(1);
    else if (!strcmp(c, "stop"))
        case_stop();
    else if (!strcmp(c, "silent"))
        case_silent();
    else if (!strcmp(c, "bad"))
        case_bad();
    else
        CHECK(0, "unknown case '%s'", c);
    MPI_Barrier(MPI_COMM_WORLD);
    if (own_dir && g_rank == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        CHECK(system(cmd) == 0, "%s", cmd);
    }
    MPI_Finalize();
    return 0;
}
