/* What an application driving the study needs from it (fresh run uses all
 * three): the worker slot of a trial, the tag recorded in the study file and
 * checked on resume, and which brackets have finished. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "study_fixtures.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/fresh-hooks-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    if (fx_rmdir(dir) != 0)
        cr_log_warn("could not remove %s", dir);
}

/* ---- worker slots ---- */

#define SLOTS 3
typedef struct slot_ctx {
    atomic_int busy[SLOTS]; /* jobs running on each slot right now */
    atomic_int overlap;     /* a slot seen running two jobs at once */
    atomic_int bad;         /* a slot outside 0..SLOTS-1 */
    atomic_int used[SLOTS];
} slot_ctx;

static int slot_objective(fresh_trial *t, void *user)
{
    slot_ctx *c = user;
    int w = fresh_trial_worker(t);
    if (w < 0 || w >= SLOTS) {
        atomic_store(&c->bad, 1);
        return fx_curve(t, NULL);
    }
    if (atomic_fetch_add(&c->busy[w], 1) != 0)
        atomic_store(&c->overlap, 1);
    atomic_fetch_add(&c->used[w], 1);
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL); /* let the other slots start */
    int rc = fx_curve(t, NULL);
    atomic_fetch_sub(&c->busy[w], 1);
    return rc;
}

Test(study_hooks, worker_slot_is_exclusive_and_matches_job_info)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.workers = SLOTS;
    p.max_brackets = 2;
    fresh_study *s = fresh_study_create(sp, &p, NULL, NULL, 0);
    cr_assert_not_null(s);
    slot_ctx c;
    memset(&c, 0, sizeof c);
    cr_assert_eq(fresh_study_optimize(s, slot_objective, &c), FRESH_BRACKETS_DONE);
    cr_assert_eq(atomic_load(&c.bad), 0, "a slot outside 0..%d", SLOTS - 1);
    cr_assert_eq(atomic_load(&c.overlap), 0, "two running jobs shared a slot");
    int slots_used = 0;
    for (int i = 0; i < SLOTS; i++)
        slots_used += atomic_load(&c.used[i]) > 0;
    cr_assert_gt(slots_used, 1, "only one slot ever ran a job");
    /* the job records name the same slot */
    fresh_job_info ji;
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        cr_assert_eq(fresh_study_job(s, i, &ji), FRESH_OK);
        cr_assert(ji.worker >= 0 && ji.worker < SLOTS);
    }
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

Test(study_hooks, worker_slot_is_minus_one_for_ask_tell)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    fresh_study *s = fresh_study_create(sp, &p, NULL, NULL, 0);
    fresh_trial *t = NULL;
    cr_assert_eq(fresh_study_ask(s, &t), FRESH_OK);
    cr_assert_eq(fresh_trial_worker(t), -1);
    cr_assert_eq(fresh_trial_worker(NULL), -1);
    fresh_trial_report(t, fresh_trial_budget(t), 0.5);
    cr_assert_eq(fresh_study_tell(s, t), FRESH_OK);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

/* ---- tags ---- */

Test(study_hooks, tag_is_stored_read_back_and_checked_on_resume, .init = setup, .fini = teardown)
{
    char file[128];
    snprintf(file, sizeof file, "%s/s.db", dir);
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.storage = file;
    p.max_brackets = 1;
    char tag[] = "python3 train.py --lr {lr}";
    p.tag = tag;
    fresh_study *s = fresh_study_create(sp, &p, NULL, NULL, 0);
    cr_assert_not_null(s);
    tag[0] = 'X'; /* copied: the caller's buffer may change */
    cr_assert_str_eq(fresh_study_tag(s), "python3 train.py --lr {lr}");
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    fresh_study_destroy(s);

    /* read back from the file */
    fresh_space *sp2 = NULL;
    s = fresh_study_open_snapshot(file, &sp2, NULL, NULL, 0);
    cr_assert_not_null(s);
    cr_assert_str_eq(fresh_study_tag(s), "python3 train.py --lr {lr}");
    fresh_study_destroy(s);
    fresh_space_destroy(sp2);

    /* resume with the same tag: fine; with another: EMISMATCH naming it */
    p.resume = 1;
    p.tag = "python3 train.py --lr {lr}";
    int rc;
    char err[512];
    s = fresh_study_create(sp, &p, &rc, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    fresh_study_destroy(s);
    p.tag = "python3 other.py";
    s = fresh_study_create(sp, &p, &rc, err, sizeof err);
    cr_assert_null(s);
    cr_assert_eq(rc, FRESH_EMISMATCH);
    cr_assert_not_null(strstr(err, "tag"), "%s", err);
    cr_assert_not_null(strstr(err, "other.py"), "%s", err);
    fresh_space_destroy(sp);
}

Test(study_hooks, tag_none_and_invalid)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    fresh_study *s = fresh_study_create(sp, &p, NULL, NULL, 0);
    cr_assert_str_eq(fresh_study_tag(s), "");
    cr_assert_str_eq(fresh_study_tag(NULL), "");
    fresh_study_destroy(s);
    p.tag = "bad \xff byte";
    int rc;
    char err[256];
    s = fresh_study_create(sp, &p, &rc, err, sizeof err);
    cr_assert_null(s);
    cr_assert_eq(rc, FRESH_EINVAL);
    cr_assert_not_null(strstr(err, "tag"), "%s", err);
    fresh_space_destroy(sp);
}

/* ---- finished brackets ---- */

typedef struct bracket_log {
    long jobs_after_finish; /* jobs of a bracket seen after it had finished */
    long finished_seen;     /* brackets seen finishing */
    unsigned char seen[64];
} bracket_log;

static void on_job(const fresh_study *s, const fresh_job_info *job, void *user)
{
    bracket_log *log = user;
    if (job->bracket < 0 || job->bracket >= 64)
        return;
    if (log->seen[job->bracket])
        log->jobs_after_finish++;
    if (fresh_study_bracket_finished(s, job->bracket)) {
        log->seen[job->bracket] = 1;
        log->finished_seen++;
    }
}

Test(study_hooks, bracket_finished_matches_the_jobs)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 4;
    bracket_log log;
    memset(&log, 0, sizeof log);
    p.on_job = on_job;
    p.on_job_user = &log;
    fresh_study *s = fresh_study_create(sp, &p, NULL, NULL, 0);
    cr_assert_eq(fresh_study_bracket_finished(s, 0), 0);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    long last = -1, done = 0;
    size_t n = fresh_study_n_jobs(s);
    fresh_job_info ji;
    for (size_t i = 0; i < n; i++) {
        fresh_study_job(s, i, &ji);
        if (ji.bracket > last)
            last = ji.bracket;
    }
    for (long b = 0; b <= last; b++)
        done += fresh_study_bracket_finished(s, b);
    cr_assert_eq(done, st.brackets_finished);
    cr_assert_eq(done, 4);
    /* the callback saw each bracket finish exactly once: at its last job */
    cr_assert_eq(log.finished_seen, 4);
    cr_assert_eq(log.jobs_after_finish, 0);
    cr_assert_eq(fresh_study_bracket_finished(s, -1), 0);
    cr_assert_eq(fresh_study_bracket_finished(s, 1000000), 0);
    cr_assert_eq(fresh_study_bracket_finished(NULL, 0), 0);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

Test(study_hooks, bracket_finished_open_bracket_and_replay, .init = setup, .fini = teardown)
{
    char file[128];
    snprintf(file, sizeof file, "%s/b.db", dir);
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.storage = file;
    p.max_total_budget = 4; /* stops inside a bracket */
    fresh_study *s = fresh_study_create(sp, &p, NULL, NULL, 0);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BUDGET_REACHED);
    size_t n = fresh_study_n_jobs(s);
    fresh_job_info ji;
    fresh_study_job(s, n - 1, &ji);
    long last = ji.bracket;
    int want[64] = {0};
    cr_assert_lt(last, 64);
    for (long b = 0; b <= last; b++)
        want[b] = fresh_study_bracket_finished(s, b);
    cr_assert_eq(want[last], 0, "the bracket running at the stop is still open");
    fresh_study_destroy(s);
    /* a study rebuilt from the file knows the same */
    fresh_space *sp2 = NULL;
    s = fresh_study_open_snapshot(file, &sp2, NULL, NULL, 0);
    cr_assert_not_null(s);
    for (long b = 0; b <= last; b++)
        cr_assert_eq(fresh_study_bracket_finished(s, b), want[b], "bracket %ld", b);
    fresh_study_destroy(s);
    fresh_space_destroy(sp2);
    fresh_space_destroy(sp);
}

/* A study resumed with more brackets than its first run: the file records the
 * first run's max_brackets, and reopening it (a snapshot for fresh show, or
 * another resume) must replay the later brackets too. */
Test(study_hooks, reopen_after_resume_with_more_brackets, .init = setup, .fini = teardown)
{
    char file[128];
    snprintf(file, sizeof file, "%s/more.db", dir);
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.storage = file;
    p.max_brackets = 1;
    fresh_study *s = fresh_study_create(sp, &p, NULL, NULL, 0);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    fresh_study_destroy(s);
    p.resume = 1;
    p.max_brackets = 3;
    char err[512];
    s = fresh_study_create(sp, &p, NULL, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    size_t n = fresh_study_n_jobs(s);
    fresh_study_destroy(s);
    fresh_space *sp2 = NULL;
    s = fresh_study_open_snapshot(file, &sp2, NULL, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(fresh_study_n_jobs(s), n);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    cr_assert_eq(st.brackets_finished, 3);
    fresh_study_destroy(s);
    fresh_space_destroy(sp2);
    /* and resumed again with the first run's criterion: nothing to do */
    p.max_brackets = 1;
    s = fresh_study_create(sp, &p, NULL, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(fresh_study_n_jobs(s), n);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}
