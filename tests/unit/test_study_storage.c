/* Study files at the study level: new vs existing files, resume with the
 * same or other parameters/space, a file in use, jobs running at a crash
 * handed out again, warm start, fresh_study_open. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "study_fixtures.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm/fresh-ss-XXXXXX" : "/tmp/fresh-ss-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    if (fx_rmdir(dir) != 0)
        cr_log_warn("could not remove %s", dir);
}

static const char *path(const char *name)
{
    static char buf[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static fresh_study *make(fresh_space *sp, fresh_study_params *p, int want, const char *needle)
{
    int rc;
    char err[512] = "";
    fresh_study *s = fresh_study_create(sp, p, &rc, err, sizeof err);
    cr_assert_eq(rc, want, "status %d (%s): %s", rc, fresh_strerror(rc), err);
    if (needle)
        cr_assert(strstr(err, needle), "'%s' lacks '%s'", err, needle);
    return s;
}

TestSuite(study_storage, .init = setup, .fini = teardown);

Test(study_storage, existing_file_needs_resume_and_same_setup)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 2;
    p.storage = path("a.db");
    fresh_study *s = make(sp, &p, FRESH_OK, NULL);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    /* a second study on the same file while the first holds it */
    p.resume = 1;
    cr_assert_null(make(sp, &p, FRESH_EBUSY, "in use"));
    fresh_study_destroy(s);

    p.resume = 0;
    cr_assert_null(make(sp, &p, FRESH_ESTATE, "already holds a study"));
    p.resume = 1;
    p.seed = 43;
    cr_assert_null(make(sp, &p, FRESH_EMISMATCH, "seed: stored \"42\", requested \"43\""));
    p.seed = 42;
    p.eta = 2;
    cr_assert_null(make(sp, &p, FRESH_EMISMATCH, "eta"));
    p.eta = 3;
    fresh_space *other = fx_space();
    fresh_space_add_int(other, "extra", 1, 3, 0);
    cr_assert_null(make(other, &p, FRESH_EMISMATCH, "another search space"));
    fresh_space_destroy(other);

    /* same setup: everything comes back, nothing runs again */
    s = make(sp, &p, FRESH_OK, NULL);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    cr_assert_eq(st.jobs_replayed, 19); /* 9 + 3 + 1 and 5 + 1 */
    cr_assert_eq(st.jobs_requeued, 0);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    fresh_study_get_stats(s, &st);
    cr_assert_eq(st.jobs_finished, st.jobs_replayed, "no job ran twice");
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
}

static size_t run_ask_tell(fresh_study *s, double *losses)
{
    fresh_trial *t;
    size_t n = 0;
    int rc;
    while ((rc = fresh_study_ask(s, &t)) == FRESH_OK) {
        fx_curve(t, NULL);
        cr_assert_eq(fresh_study_tell(s, t), FRESH_OK);
    }
    cr_assert_eq(rc, FRESH_BRACKETS_DONE);
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        losses[n++] = ji.loss;
    }
    return n;
}

Test(study_storage, running_jobs_are_handed_out_again)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 3;
    static double ref[512], got[512];
    fresh_study *s = make(sp, &p, FRESH_OK, NULL);
    size_t n_ref = run_ask_tell(s, ref);
    fresh_study_destroy(s);

    p.storage = path("b.db");
    s = make(sp, &p, FRESH_OK, NULL);
    fresh_trial *t[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(fresh_study_ask(s, &t[i]), FRESH_OK);
    fx_curve(t[1], NULL);
    cr_assert_eq(fresh_study_tell(s, t[1]), FRESH_OK);
    fresh_study_destroy(s); /* "crash" with jobs 0 and 2 running */

    p.resume = 1;
    s = make(sp, &p, FRESH_OK, NULL);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    cr_assert_eq(st.jobs_replayed, 3);
    cr_assert_eq(st.jobs_requeued, 2);
    fresh_trial *again;
    cr_assert_eq(fresh_study_ask(s, &again), FRESH_OK);
    cr_assert_eq(fresh_trial_job_id(again), 0);
    fx_curve(again, NULL);
    cr_assert_eq(fresh_study_tell(s, again), FRESH_OK);
    size_t n = run_ask_tell(s, got);
    cr_assert_eq(n, n_ref);
    cr_assert_arr_eq(got, ref, n * sizeof *got, "resumed run differs from the uninterrupted one");
    fresh_study_destroy(s);

    /* fresh_study_open reads it back */
    fresh_space *sp2 = NULL;
    int rc;
    char err[512];
    s = fresh_study_open(path("b.db"), &sp2, &rc, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(fresh_study_n_jobs(s), n_ref);
    cr_assert_eq(fresh_space_dim(sp2), 2);
    fresh_study_destroy(s);
    fresh_space_destroy(sp2);
    cr_assert_null(fresh_study_open(path("none.db"), &sp2, &rc, err, sizeof err));
    cr_assert_eq(rc, FRESH_EIO);
    fresh_space_destroy(sp);
}

static size_t model_based_in_first(fresh_study *s, size_t k)
{
    size_t n = 0;
    fresh_trial *t[32];
    for (size_t i = 0; i < k; i++)
        cr_assert_eq(fresh_study_ask(s, &t[i]), FRESH_OK);
    for (size_t i = 0; i < k; i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        n += ji.model_based;
    }
    return n;
}

Test(study_storage, warm_start)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 6;
    p.storage = path("old.db");
    fresh_study *s = make(sp, &p, FRESH_OK, NULL);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    fresh_study_destroy(s);

    p.storage = NULL;
    p.seed = 5;
    s = make(sp, &p, FRESH_OK, NULL);
    cr_assert_eq(model_based_in_first(s, 9), 0, "a cold study has no model yet");
    fresh_study_destroy(s);

    s = make(sp, &p, FRESH_OK, NULL);
    cr_assert_eq(fresh_study_warm_start(s, path("old.db")), FRESH_OK, "%s", fresh_study_errmsg(s));
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    cr_assert_gt(st.warm_start_observations, 40);
    cr_assert_geq(model_based_in_first(s, 9), 3, "the warm model proposes at once");
    cr_assert_eq(fresh_study_warm_start(s, path("old.db")), FRESH_ESTATE);
    fresh_study_destroy(s);

    fresh_space *other = fx_space();
    fresh_space_add_int(other, "extra", 1, 3, 0);
    s = make(other, &p, FRESH_OK, NULL);
    cr_assert_eq(fresh_study_warm_start(s, path("old.db")), FRESH_EMISMATCH);
    cr_assert(strstr(fresh_study_errmsg(s), "another search space"));
    cr_assert_neq(fresh_study_warm_start(s, path("missing-dir/x.db")), FRESH_OK);
    fresh_study_destroy(s);
    fresh_space_destroy(other);
    fresh_space_destroy(sp);
}

static int poison_job;

/* dies (here: abandons the study, as a killed process would) on one job */
Test(study_storage, a_job_that_keeps_killing_the_process_is_failed)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 1;
    p.storage = path("poison.db");
    poison_job = 4;
    for (int life = 0; life <= FRESH_MAX_RETRIES + 1; life++) {
        p.resume = life > 0;
        fresh_study *s = make(sp, &p, FRESH_OK, NULL);
        fresh_study_stats st;
        fresh_study_get_stats(s, &st);
        if (life > 0 && life <= FRESH_MAX_RETRIES)
            cr_assert_eq(st.jobs_requeued, 1, "life %d", life);
        if (life == FRESH_MAX_RETRIES + 1) {
            /* the third death: the job is recorded as failed, the study goes on */
            cr_assert_eq(st.jobs_failed_after_crash, 1);
            cr_assert_eq(st.jobs_requeued, 0);
            fresh_job_info ji;
            fresh_study_job(s, (size_t)poison_job, &ji);
            cr_assert_eq(ji.status, FRESH_JOB_FAILED);
            cr_assert(strstr(ji.message, "process died"), "%s", ji.message);
            cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
            fresh_study_destroy(s);
            break;
        }
        fresh_trial *t;
        int rc;
        while ((rc = fresh_study_ask(s, &t)) == FRESH_OK) {
            if (fresh_trial_job_id(t) == (uint64_t)poison_job)
                break; /* the process "dies" in this job: no tell, study dropped */
            fx_curve(t, NULL);
            cr_assert_eq(fresh_study_tell(s, t), FRESH_OK);
        }
        cr_assert_eq(rc, FRESH_OK);
        fresh_study_destroy(s);
    }
    fresh_space_destroy(sp);
}

Test(study_storage, snapshot_of_a_study_in_use)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 3;
    p.storage = path("snap.db");
    fresh_study *s = make(sp, &p, FRESH_OK, NULL);
    fresh_trial *t[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(fresh_study_ask(s, &t[i]), FRESH_OK);
    fx_curve(t[1], NULL);
    cr_assert_eq(fresh_study_tell(s, t[1]), FRESH_OK);
    cr_assert_eq(fresh_study_file_in_use(path("snap.db")), 1);

    /* while s holds the file: fresh_study_open is refused, a snapshot is not */
    fresh_space *sp2 = NULL;
    int rc;
    char err[512] = "";
    cr_assert_null(fresh_study_open(path("snap.db"), &sp2, &rc, err, sizeof err));
    cr_assert_eq(rc, FRESH_EBUSY);
    fresh_study *snap = fresh_study_open_snapshot(path("snap.db"), &sp2, &rc, err, sizeof err);
    cr_assert_not_null(snap, "%s", err);
    fresh_study_stats st;
    fresh_study_get_stats(snap, &st);
    cr_assert_eq(st.jobs_replayed, 4);
    cr_assert_eq(st.jobs_finished, 1);
    cr_assert_eq(st.jobs_running, 3);
    cr_assert_eq(st.jobs_requeued, 0);
    cr_assert_eq(fresh_study_n_jobs(snap), 4);
    /* read-only */
    fresh_trial *x;
    cr_assert_eq(fresh_study_ask(snap, &x), FRESH_ESTATE);
    cr_assert_null(x);
    cr_assert(strstr(fresh_study_errmsg(snap), "snapshot"));
    cr_assert_eq(fresh_study_optimize(snap, fx_curve, NULL), FRESH_ESTATE);
    cr_assert_eq(fresh_study_warm_start(snap, path("snap.db")), FRESH_ESTATE);
    fresh_study_destroy(snap);
    fresh_space_destroy(sp2);
    /* another study can warm-start from the file in use; a missing file is
     * an error and is not created */
    fresh_study_params q = fx_params();
    q.sampler = fresh_sampler_bohb;
    fresh_study *w = make(sp, &q, FRESH_OK, NULL);
    cr_assert_eq(fresh_study_warm_start(w, path("snap.db")), FRESH_OK, "%s",
                 fresh_study_errmsg(w));
    fresh_study_get_stats(w, &st);
    cr_assert(st.warm_start_observations >= 1);
    cr_assert_eq(fresh_study_warm_start(w, path("none.db")), FRESH_EIO);
    cr_assert_neq(access(path("none.db"), F_OK), 0);
    fresh_study_destroy(w);

    /* the owner was not disturbed */
    fx_curve(t[0], NULL);
    cr_assert_eq(fresh_study_tell(s, t[0]), FRESH_OK);
    fresh_study_destroy(s); /* "crash" with jobs 2 and 3 running */
    cr_assert_eq(fresh_study_file_in_use(path("snap.db")), 0);

    /* snapshots of the interrupted file do not write: resuming still finds
     * the two jobs that were running */
    for (int k = 0; k < 2; k++) {
        snap = fresh_study_open_snapshot(path("snap.db"), &sp2, &rc, err, sizeof err);
        cr_assert_not_null(snap, "%s", err);
        fresh_study_get_stats(snap, &st);
        cr_assert_eq(st.jobs_running, 2);
        fresh_study_destroy(snap);
        fresh_space_destroy(sp2);
    }
    p.resume = 1;
    s = make(sp, &p, FRESH_OK, NULL);
    fresh_study_get_stats(s, &st);
    cr_assert_eq(st.jobs_replayed, 4);
    cr_assert_eq(st.jobs_requeued, 2);
    fresh_study_destroy(s);

    /* no such file; a file without a study */
    cr_assert_null(fresh_study_open_snapshot(path("none.db"), &sp2, &rc, err, sizeof err));
    cr_assert_eq(rc, FRESH_EIO);
    FILE *f = fopen(path("empty.db"), "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_assert_null(fresh_study_open_snapshot(path("empty.db"), &sp2, &rc, err, sizeof err));
    cr_assert_eq(rc, FRESH_ENOTFOUND);
    cr_assert_eq(fresh_study_file_in_use(NULL), FRESH_EINVAL);
    fresh_space_destroy(sp);
}

Test(study_storage, files_from_before_hedge_tau_open_and_resume)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.max_brackets = 3;
    p.storage = path("old.db");
    fresh_study *s = make(sp, &p, FRESH_OK, NULL);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    fresh_study_destroy(s);
    /* what a file written before the parameter existed holds */
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path("old.db"), &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db,
                          "UPDATE meta SET value = json_remove(value, '$.sampler_params.hedge_tau') "
                          "WHERE key = 'params'",
                          NULL, NULL, &msg);
    cr_assert_eq(rc, SQLITE_OK, "%s", msg ? msg : "");
    sqlite3_close(db);

    fresh_space *sp2 = NULL;
    char err[512] = "";
    s = fresh_study_open(path("old.db"), &sp2, &rc, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    fresh_study_destroy(s);
    fresh_space_destroy(sp2);
    p.resume = 1;
    p.max_brackets = 6;
    s = make(sp, &p, FRESH_OK, NULL); /* the default hedge_tau matches */
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    fresh_study_destroy(s);
    p.sampler_params.hedge_tau = 0.5; /* another value does not */
    make(sp, &p, FRESH_EMISMATCH, "hedge_tau");
    fresh_space_destroy(sp);
}

/* The parameters fresh_study_open reads back from a study file. */
static fresh_study_params stored_params(const char *file)
{
    fresh_space *sp = NULL;
    int rc;
    char err[256];
    fresh_study *s = fresh_study_open(file, &sp, &rc, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    fresh_study_params got;
    fresh_study_get_params(s, &got);
    fresh_study_destroy(s);
    fresh_space_destroy(sp);
    return got;
}

/* max_paused is part of the study: stored, compared on resume (set or not),
 * read back by fresh_study_open, and a resumed study retires the same
 * configurations as the one that ran. */
Test(study_storage, max_paused_is_stored_and_compared)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.scheduler = fresh_scheduler_asha;
    p.max_brackets = 4;
    p.max_paused = 2;
    p.storage = path("mp.db");
    fresh_study *s = make(sp, &p, FRESH_OK, NULL);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    size_t n = fresh_study_n_configs(s);
    unsigned char fin[64] = {0};
    cr_assert_leq(n, sizeof fin);
    size_t n_fin = 0;
    for (uint64_t c = 0; c < n; c++)
        n_fin += fin[c] = (unsigned char)fresh_study_config_finished(s, c);
    cr_assert_gt(n_fin, 0);
    fresh_study_destroy(s);

    p.resume = 1;
    p.max_paused = 3;
    cr_assert_null(make(sp, &p, FRESH_EMISMATCH, "max_paused: stored 2, requested 3"));
    p.max_paused = 0;
    cr_assert_null(make(sp, &p, FRESH_EMISMATCH, "max_paused: stored 2, requested none"));
    p.max_paused = 2;
    s = make(sp, &p, FRESH_OK, NULL);
    for (uint64_t c = 0; c < n; c++)
        cr_assert_eq(fresh_study_config_finished(s, c), fin[c], "config %llu",
                     (unsigned long long)c);
    fresh_study_destroy(s);

    cr_assert_eq(stored_params(path("mp.db")).max_paused, 2);

    /* a study stored without it cannot be resumed with it */
    p = fx_params();
    p.scheduler = fresh_scheduler_asha;
    p.max_brackets = 1;
    p.storage = path("mp0.db");
    s = make(sp, &p, FRESH_OK, NULL);
    fresh_study_destroy(s);
    p.resume = 1;
    p.max_paused = 5;
    cr_assert_null(make(sp, &p, FRESH_EMISMATCH, "max_paused: stored none, requested 5"));
    fresh_space_destroy(sp);
}

/* The promotion rule of an asynchronous study is part of it: a file written
 * with fresh's cap says so ("promotion_cap"); one without it (the paper's
 * rule, and every file from before the cap) is read back as
 * paper_promotions = 1, and a resume must ask for the same rule. */
Test(study_storage, promotion_rule_is_stored_and_compared)
{
    fresh_space *sp = fx_space();
    fresh_study_params p = fx_params();
    p.scheduler = fresh_scheduler_async_hyperband;
    p.max_brackets = 2;
    p.storage = path("cap.db");
    fresh_study *s = make(sp, &p, FRESH_OK, NULL);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    fresh_study_destroy(s);
    p.resume = 1;
    p.paper_promotions = 1;
    cr_assert_null(make(sp, &p, FRESH_EMISMATCH, "promotion_cap: stored true, requested none"));
    p.paper_promotions = 0;
    s = make(sp, &p, FRESH_OK, NULL);
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    cr_assert_gt(st.jobs_replayed, 0);
    fresh_study_destroy(s);

    p.resume = 0;
    p.paper_promotions = 1;
    p.storage = path("paper.db");
    s = make(sp, &p, FRESH_OK, NULL);
    cr_assert_eq(fresh_study_optimize(s, fx_curve, NULL), FRESH_BRACKETS_DONE);
    fresh_study_destroy(s);
    p.resume = 1;
    p.paper_promotions = 0;
    cr_assert_null(make(sp, &p, FRESH_EMISMATCH, "--paper-promotions"));
    cr_assert_eq(stored_params(path("paper.db")).paper_promotions, 1);
    /* the synchronous schedulers have no promotion rule to store */
    p = fx_params();
    p.paper_promotions = 1;
    cr_assert_null(make(sp, &p, FRESH_EINVAL, "paper_promotions: scheduler 'adaptive'"));
    fresh_space_destroy(sp);
}
