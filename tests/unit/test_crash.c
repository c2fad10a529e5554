/* Crash injection: a study with a study file is SIGKILLed at 20 points
 * (inside a job, right after a checkpoint is saved, after an ask is recorded,
 * between a result's commit and the promotion it causes, after a tell), then
 * resumed; every run must end with exactly the jobs and results of an
 * uninterrupted run. One worker and a fixed seed make the runs comparable. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "study_fixtures.h"

enum kill_kind { K_NONE, K_HOOK, K_IN_JOB, K_AFTER_CKPT };

static enum kill_kind kill_kind = K_NONE;
static const char *kill_point;
static long kill_at, hook_calls, job_calls;

static void hook(const char *point, uint64_t job_id)
{
    (void)job_id;
    if (kill_kind == K_HOOK && !strcmp(point, kill_point) && ++hook_calls == kill_at)
        raise(SIGKILL);
}

static int ckpt_errors;

static int crash_obj(fresh_trial *t, void *user)
{
    (void)user;
    long call = ++job_calls;
    size_t len;
    const double *ck = fresh_trial_checkpoint(t, &len);
    double from = fresh_trial_resume_from(t);
    if (from > 0 && (!ck || len != sizeof(double) || *ck != from))
        ckpt_errors++;
    double b = fresh_trial_budget(t);
    for (double e = from + 1; e <= b; e += 1) {
        int go = fresh_trial_report(t, e, fx_base(t) + 1.0 / e);
        if (kill_kind == K_IN_JOB && call == kill_at)
            raise(SIGKILL);
        if (!go)
            break;
    }
    fresh_trial_save_checkpoint(t, &b, sizeof b);
    if (kill_kind == K_AFTER_CKPT && call == kill_at)
        raise(SIGKILL);
    return 0;
}

/* The scheduler of the study under test: the default's, or an
 * asynchronous one whose state the replay must rebuild just as well. */
static const fresh_scheduler_type *crash_sched;

static fresh_study_params crash_params(const char *path, int resume)
{
    fresh_study_params p = fx_params();
    if (crash_sched)
        p.scheduler = crash_sched;
    p.max_brackets = 15;
    p.seed = 7;
    p.storage = path;
    p.resume = resume;
    return p;
}

typedef struct rec {
    uint64_t config;
    double budget, from, loss;
    int status;
} rec;

static int rec_eq(const rec *a, const rec *b)
{
    return a->config == b->config && a->budget == b->budget && a->from == b->from &&
           a->loss == b->loss && a->status == b->status;
}

static size_t record(fresh_study *s, rec *out)
{
    size_t n = fresh_study_n_jobs(s);
    for (size_t i = 0; i < n; i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        out[i] = (rec){ji.config_id, ji.budget, ji.resume_from, ji.loss, (int)ji.status};
    }
    return n;
}

static size_t run_to_end(const char *path, int resume, rec *out, uint64_t *inc)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = crash_params(path, resume);
    int rc;
    char err[512];
    fresh_study *s = fresh_study_create(sp, &p, &rc, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    ckpt_errors = 0;
    cr_assert_eq(fresh_study_optimize(s, crash_obj, NULL), FRESH_BRACKETS_DONE, "%s",
                 fresh_study_errmsg(s));
    cr_assert_eq(ckpt_errors, 0, "a continued job did not get its checkpoint");
    size_t n = record(s, out);
    cr_assert_eq(fresh_study_incumbent(s, inc, NULL, NULL, NULL), FRESH_OK);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
    return n;
}

static char dir[64];

static void path_in(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

typedef struct kill_spec {
    enum kill_kind kind;
    const char *point;
    long at;
} kill_spec;

/* Runs the study to its end once, then kills it at each point and resumes
 * it: every resumed run must end with the uninterrupted run's jobs. */
static void kill_and_resume(const char *tag, const kill_spec *points, int n_points)
{
    /* tmpfs when there is one: the test is about ordering, not disk speed */
    strcpy(dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm/fresh-crash-XXXXXX"
                                              : "/tmp/fresh-crash-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    fresh__crash_hook = hook;
    static rec ref[512], got[512];
    char path[128];
    path_in(path, sizeof path, "ref.db");
    uint64_t ref_inc, inc;
    size_t n_ref = run_to_end(path, 0, ref, &ref_inc);
    cr_assert_gt(n_ref, 100);

    for (int k = 0; k < n_points; k++) {
        char name[32];
        snprintf(name, sizeof name, "kill-%d.db", k);
        path_in(path, sizeof path, name);
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            kill_kind = points[k].kind;
            kill_point = points[k].point;
            kill_at = points[k].at;
            hook_calls = job_calls = 0;
            fresh_space *sp = fx_space();
            fresh_study_params p = crash_params(path, 0);
            int rc;
            fresh_study *s = fresh_study_create(sp, &p, &rc, NULL, 0);
            if (s)
                fresh_study_optimize(s, crash_obj, NULL);
            _exit(3); /* not killed: the kill point was never reached */
        }
        int wst;
        cr_assert_eq(waitpid(pid, &wst, 0), pid);
        cr_assert(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL, "%s: kill point %d not reached",
                  tag, k);

        /* what the file held at the kill */
        fresh_space *sp2 = NULL;
        int rc;
        char err[512];
        fresh_study *before = fresh_study_open(path, &sp2, &rc, err, sizeof err);
        cr_assert_not_null(before, "%s point %d: %s", tag, k, err);
        fresh_study_stats st;
        fresh_study_get_stats(before, &st);
        size_t finished_before = st.jobs_finished;
        static rec pre[512];
        size_t n_pre = record(before, pre);
        fresh_study_destroy(before);
        fresh_space_destroy(sp2);

        size_t n = run_to_end(path, 1, got, &inc);
        cr_assert_eq(n, n_ref, "%s point %d: %zu jobs after resume, %zu uninterrupted", tag, k,
                     n, n_ref);
        for (size_t i = 0; i < n; i++)
            cr_assert(rec_eq(&got[i], &ref[i]), "%s point %d: job %zu differs: config %llu/%llu "
                      "budget %g/%g loss %g/%g status %d/%d", tag, k, i,
                      (unsigned long long)got[i].config, (unsigned long long)ref[i].config,
                      got[i].budget, ref[i].budget, got[i].loss, ref[i].loss, got[i].status,
                      ref[i].status);
        cr_assert_eq(inc, ref_inc);
        /* every job finished before the kill is there once, unchanged */
        for (size_t i = 0; i < n_pre; i++)
            if (pre[i].status != FRESH_JOB_PENDING)
                cr_assert(rec_eq(&pre[i], &got[i]), "%s point %d job %zu", tag, k, i);
        cr_assert_leq(finished_before, n_ref);
    }
    fresh__crash_hook = NULL;
    cr_assert_eq(fx_rmdir(dir), 0);
}

Test(crash, kill_anywhere_then_resume_gives_the_uninterrupted_results)
{
    static const kill_spec points[20] = {
        {K_HOOK, "ask:recorded", 1},   {K_HOOK, "ask:recorded", 10},
        {K_HOOK, "ask:recorded", 37},  {K_HOOK, "ask:recorded", 80},
        {K_HOOK, "tell:recorded", 1},  {K_HOOK, "tell:recorded", 9},
        {K_HOOK, "tell:recorded", 20}, {K_HOOK, "tell:recorded", 50},
        {K_HOOK, "tell:recorded", 100}, {K_HOOK, "tell:done", 5},
        {K_HOOK, "tell:done", 33},     {K_HOOK, "tell:done", 77},
        {K_IN_JOB, NULL, 2},           {K_IN_JOB, NULL, 15},
        {K_IN_JOB, NULL, 40},          {K_IN_JOB, NULL, 90},
        {K_AFTER_CKPT, NULL, 3},       {K_AFTER_CKPT, NULL, 12},
        {K_AFTER_CKPT, NULL, 45},      {K_AFTER_CKPT, NULL, 95},
    };
    crash_sched = NULL;
    kill_and_resume("default", points, 20);
}

/* The asynchronous schedulers: the replay must rebuild their rungs,
 * promotions, groups and round robin exactly (a promotion made from a
 * rung's state after a kill between a result's commit and the promotion it
 * causes, a job killed after its checkpoint, ...). */
Test(crash, asynchronous_schedulers_resume_exactly)
{
    static const kill_spec points[8] = {
        {K_HOOK, "ask:recorded", 23},  {K_HOOK, "tell:recorded", 12},
        {K_HOOK, "tell:recorded", 61}, {K_HOOK, "tell:done", 40},
        {K_IN_JOB, NULL, 30},          {K_IN_JOB, NULL, 88},
        {K_AFTER_CKPT, NULL, 17},      {K_AFTER_CKPT, NULL, 70},
    };
    crash_sched = fresh_scheduler_asha;
    kill_and_resume("asha", points, 8);
    crash_sched = fresh_scheduler_async_hyperband;
    kill_and_resume("async-hyperband", points, 8);
    crash_sched = fresh_scheduler_async_adaptive;
    kill_and_resume("async-adaptive", points, 8);
    crash_sched = NULL;
}

/* ---- a crash is blamed on its culprit only ----
 * Four workers; the job of configuration CULPRIT kills the process a few
 * milliseconds after it starts, while three healthy jobs (20 ms each) run
 * beside it. After each death the study is resumed, as a user would, until
 * a run ends normally. Only the culprit may be failed: the jobs that were
 * running beside it at the first death must run again (alone, as suspects)
 * and complete. Before, the suspects were re-run together, died together
 * three times and were all failed. */
#define CULPRIT 5

static void nap_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static int culprit_obj(fresh_trial *t, void *user)
{
    (void)user;
    if (fresh_trial_config_id(t) == CULPRIT) {
        nap_ms(5);
        raise(SIGKILL);
    }
    nap_ms(20);
    return fx_curve(t, NULL);
}

Test(crash, only_the_job_that_kills_the_process_is_failed)
{
    char d[] = "/tmp/fresh-culprit-XXXXXX", path[64];
    cr_assert_not_null(mkdtemp(d));
    snprintf(path, sizeof path, "%s/s.db", d);
    int deaths = 0, done = 0;
    for (int run = 0; run < 12 && !done; run++) {
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            fresh_space *sp = fx_space();
            fresh_study_params p = fx_params();
            p.workers = 4;
            p.max_brackets = 2;
            p.storage = path;
            p.resume = run > 0;
            fresh_study *s = fresh_study_create(sp, &p, NULL, NULL, 0);
            int rc = s ? fresh_study_optimize(s, culprit_obj, NULL) : -100;
            fresh_study_destroy(s);
            fresh_space_destroy(sp);
            _exit(rc == FRESH_BRACKETS_DONE ? 0 : 3);
        }
        int wst;
        cr_assert_eq(waitpid(pid, &wst, 0), pid);
        if (WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL)
            deaths++;
        else
            done = WIFEXITED(wst) && WEXITSTATUS(wst) == 0;
    }
    cr_assert(done, "the study never finished (%d deaths)", deaths);
    cr_assert_eq(deaths, FRESH_MAX_RETRIES + 1, "%d deaths", deaths);

    fresh_space *sp = NULL;
    char err[512];
    fresh_study *s = fresh_study_open_snapshot(path, &sp, NULL, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    size_t failed = 0, culprit_jobs = 0;
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        cr_assert_neq(ji.status, FRESH_JOB_PENDING, "job %zu left pending", i);
        if (ji.config_id == CULPRIT) {
            culprit_jobs++;
            cr_assert_eq(ji.status, FRESH_JOB_FAILED);
            cr_assert_not_null(strstr(ji.message, "the process died"), "%s", ji.message);
        }
        if (ji.status == FRESH_JOB_FAILED) {
            failed++;
            cr_assert_eq(ji.config_id, CULPRIT, "job %zu of config %llu failed beside the culprit: %s",
                         i, (unsigned long long)ji.config_id, ji.message);
        }
    }
    cr_assert_eq(culprit_jobs, 1);
    cr_assert_eq(failed, 1);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
    cr_assert_eq(fx_rmdir(d), 0);
}
