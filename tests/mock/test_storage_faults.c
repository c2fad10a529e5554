/*
 * test_storage_faults.c - fault injection into the study file
 * (lib/storage_sqlite.c), under cmocka.
 *
 * sqlite3_step and sqlite3_exec are wrapped (test_storage_faults.wrap, linked
 * with -Wl,--wrap=NAME; the storage code is in the static library, SQLite is
 * the shared libsqlite3, so the library's calls reach the wrappers). A
 * wrapper fails the calls numbered [fail_at, fail_at + fail_n) with a chosen
 * SQLite code, without running them, and passes every other call to the real
 * function. For every position of the fault during an ask, a tell, set_meta
 * and open, the test checks the returned fresh status, that the message
 * names the file, and, by closing, reopening and replaying, that exactly
 * the events committed before are in the file: never half an event. The
 * allocation hook (fresh__alloc_fail_after) does the same for out of
 * memory; ASan checks that no failure path leaks.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fresh/status.h"
#include "internal.h"
#include "storage.h"

/* ---- the wrappers ---- */

int __real_sqlite3_step(sqlite3_stmt *s);
int __real_sqlite3_exec(sqlite3 *db, const char *sql, int (*cb)(void *, int, char **, char **),
                        void *arg, char **errmsg);
int __wrap_sqlite3_step(sqlite3_stmt *s);
int __wrap_sqlite3_exec(sqlite3 *db, const char *sql, int (*cb)(void *, int, char **, char **),
                        void *arg, char **errmsg);

struct fault {
    long calls;   /* calls so far */
    long fail_at; /* first failing call number; -1: none */
    long fail_n;  /* how many consecutive calls fail */
    int rc;       /* what they return */
    long failed;  /* how many failures were injected */
};

static struct fault step_f = {0, -1, 0, 0, 0}, exec_f = {0, -1, 0, 0, 0};

static int inject(struct fault *f)
{
    long n = f->calls++;
    if (f->fail_at >= 0 && n >= f->fail_at && n < f->fail_at + f->fail_n) {
        f->failed++;
        return f->rc;
    }
    return SQLITE_OK;
}

int __wrap_sqlite3_step(sqlite3_stmt *s)
{
    int rc = inject(&step_f);
    return rc ? rc : __real_sqlite3_step(s);
}

int __wrap_sqlite3_exec(sqlite3 *db, const char *sql, int (*cb)(void *, int, char **, char **),
                        void *arg, char **errmsg)
{
    int rc = inject(&exec_f);
    if (rc) {
        if (errmsg)
            *errmsg = NULL;
        return rc;
    }
    return __real_sqlite3_exec(db, sql, cb, arg, errmsg);
}

/* Arms f to fail the k-th call from now (and the n - 1 after it). */
static void arm(struct fault *f, long k, long n, int rc)
{
    f->fail_at = f->calls + k;
    f->fail_n = n;
    f->rc = rc;
    f->failed = 0;
}

static void disarm(void)
{
    step_f.fail_at = -1;
    exec_f.fail_at = -1;
}

/* ---- fixture: a private directory, one study file name per use ---- */

struct fx {
    char dir[64];
    char path[128];
    int seq;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    strcpy(fx->dir, "/tmp/fresh-faults-XXXXXX");
    if (!fx || !mkdtemp(fx->dir))
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    DIR *dp = opendir(fx->dir);
    if (dp) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(dp))) {
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", fx->dir, e->d_name);
                unlink(p);
            }
        }
        closedir(dp);
    }
    rmdir(fx->dir);
    free(fx);
    disarm();
    fresh__alloc_fail_after(-1);
    return 0;
}

/* A new file name in the fixture's directory. */
static const char *next_path(struct fx *fx)
{
    snprintf(fx->path, sizeof fx->path, "%s/s%d.db", fx->dir, fx->seq++);
    return fx->path;
}

static fresh_store *open_ok(const char *path)
{
    char err[512] = "";
    fresh_store *st = NULL;
    int rc = fresh__store_open(&st, path, err);
    if (rc != FRESH_OK)
        fail_msg("open %s: %d %s", path, rc, err);
    return st;
}

static fresh__job_row job(uint64_t id, uint64_t cfg)
{
    fresh__job_row j = {.job_id = id, .config_id = cfg, .bracket = 0, .stage = 0,
                        .slot = id, .budget = 1.0, .resume_from = 0.0};
    return j;
}

static fresh__outcome_row outcome(uint64_t id, const char *ckpt)
{
    static const double steps[2] = {1, 2}, losses[2] = {NAN, 0.5};
    fresh__outcome_row o;
    memset(&o, 0, sizeof o);
    o.job_id = id;
    o.has_loss = 1;
    o.loss = 0.5;
    o.message = "ok";
    o.n_reports = 2;
    o.steps = steps;
    o.losses = losses;
    o.ckpt_saved = ckpt != NULL;
    o.ckpt = ckpt;
    o.ckpt_len = ckpt ? strlen(ckpt) : 0;
    return o;
}

/* The replayed log as a string: "a1 t1 a2 ...". */
struct log {
    char s[256];
};

static int log_ask(void *user, const fresh__job_row *j, const double *x, size_t dim, int mb)
{
    (void)dim;
    (void)mb;
    struct log *l = user;
    size_t n = strlen(l->s);
    snprintf(l->s + n, sizeof l->s - n, "%sa%llu%s", n ? " " : "", (unsigned long long)j->job_id,
             x ? "+" : "");
    return 0;
}

static int log_tell(void *user, const fresh__outcome_row *o)
{
    struct log *l = user;
    size_t n = strlen(l->s);
    snprintf(l->s + n, sizeof l->s - n, "%st%llu", n ? " " : "", (unsigned long long)o->job_id);
    return 0;
}

static void expect_log(fresh_store *st, const char *want)
{
    struct log l = {""};
    int rc = fresh__store_replay(st, log_ask, log_tell, &l);
    assert_int_equal(rc, FRESH_OK);
    assert_string_equal(l.s, want);
}

/* Closes, reopens and checks the log. */
static void expect_log_after_reopen(fresh_store *st, const char *path, const char *want)
{
    fresh__store_close(st);
    st = open_ok(path);
    expect_log(st, want);
    fresh__store_close(st);
}

static void expect_checkpoint(fresh_store *st, uint64_t cfg, const char *want)
{
    void *b = NULL;
    size_t n = 0;
    assert_int_equal(fresh__store_get_checkpoint(st, cfg, &b, &n), FRESH_OK);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(b, want, n);
    free(b);
}

static int fresh_status_for(int sqlite_rc)
{
    return sqlite_rc == SQLITE_BUSY ? FRESH_EBUSY : FRESH_ESTORE;
}

static void expect_msg(fresh_store *st, const char *path, const char *what, int sqlite_rc)
{
    const char *m = fresh__store_errmsg(st);
    if (!strstr(m, path) || !strstr(m, what) || !strstr(m, sqlite3_errstr(sqlite_rc)))
        fail_msg("message '%s' lacks '%s', '%s' or '%s'", m, path, what, sqlite3_errstr(sqlite_rc));
    if (sqlite_rc == SQLITE_BUSY && !strstr(m, "in use by another process"))
        fail_msg("busy message '%s'", m);
}

static const int fault_codes[] = {SQLITE_BUSY, SQLITE_IOERR, SQLITE_FULL, SQLITE_IOERR_FSYNC};

/* ---- ask ---- */

static void ask_faults(void **state)
{
    struct fx *fx = *state;
    for (size_t c = 0; c < sizeof fault_codes / sizeof *fault_codes; c++) {
        int code = fault_codes[c];
        long k;
        for (k = 0;; k++) {
            const char *path = next_path(fx);
            fresh_store *st = open_ok(path);
            double x[2] = {0.5, NAN};
            fresh__job_row j1 = job(1, 1), j2 = job(2, 2);
            assert_int_equal(fresh__store_ask(st, &j1, x, 2, 1), FRESH_OK);
            fresh__outcome_row o1 = outcome(1, "c1");
            assert_int_equal(fresh__store_tell(st, &o1), FRESH_OK);

            arm(&step_f, k, 1, code);
            int rc = fresh__store_ask(st, &j2, x, 2, 0);
            disarm();
            if (rc == FRESH_OK) {
                assert_int_equal(step_f.failed, 0);
                expect_log_after_reopen(st, path, "a1+ t1 a2+");
                break;
            }
            assert_int_equal(step_f.failed, 1);
            assert_int_equal(rc, fresh_status_for(code));
            expect_msg(st, path, "ask of job 2", code);
            expect_log(st, "a1+ t1"); /* nothing of the failed ask */
            /* the handle is still usable: the retry is stored once */
            assert_int_equal(fresh__store_ask(st, &j2, x, 2, 0), FRESH_OK);
            expect_log(st, "a1+ t1 a2+");
            expect_log_after_reopen(st, path, "a1+ t1 a2+");
        }
        /* BEGIN, configs, jobs, events, COMMIT */
        assert_int_equal(k, 5);
    }
}

/* A promotion (no new configuration) has one step less. */
static void ask_promotion_faults(void **state)
{
    struct fx *fx = *state;
    long k;
    for (k = 0;; k++) {
        const char *path = next_path(fx);
        fresh_store *st = open_ok(path);
        double x[1] = {0.5};
        fresh__job_row j1 = job(1, 1), j2 = job(2, 1);
        assert_int_equal(fresh__store_ask(st, &j1, x, 1, 1), FRESH_OK);
        arm(&step_f, k, 1, SQLITE_IOERR_WRITE);
        int rc = fresh__store_ask(st, &j2, NULL, 0, 0);
        disarm();
        if (rc == FRESH_OK) {
            expect_log_after_reopen(st, path, "a1+ a2");
            break;
        }
        assert_int_equal(rc, FRESH_ESTORE);
        expect_msg(st, path, "job 2", SQLITE_IOERR_WRITE);
        expect_log_after_reopen(st, path, "a1+");
    }
    assert_int_equal(k, 4);
}

/* ---- tell ---- */

static void tell_faults(void **state)
{
    struct fx *fx = *state;
    for (size_t c = 0; c < sizeof fault_codes / sizeof *fault_codes; c++) {
        int code = fault_codes[c];
        long k;
        for (k = 0;; k++) {
            const char *path = next_path(fx);
            fresh_store *st = open_ok(path);
            double x[2] = {0.5, NAN};
            fresh__job_row j1 = job(1, 1), j2 = job(2, 1);
            assert_int_equal(fresh__store_ask(st, &j1, x, 2, 1), FRESH_OK);
            fresh__outcome_row o1 = outcome(1, "first");
            assert_int_equal(fresh__store_tell(st, &o1), FRESH_OK);
            assert_int_equal(fresh__store_ask(st, &j2, NULL, 0, 0), FRESH_OK);

            fresh__outcome_row o2 = outcome(2, "second");
            arm(&step_f, k, 1, code);
            int rc = fresh__store_tell(st, &o2);
            disarm();
            if (rc == FRESH_OK) {
                expect_checkpoint(st, 1, "second");
                expect_log_after_reopen(st, path, "a1+ t1 a2 t2");
                break;
            }
            assert_int_equal(rc, fresh_status_for(code));
            expect_msg(st, path, "outcome of job 2", code);
            expect_log(st, "a1+ t1 a2");
            expect_checkpoint(st, 1, "first"); /* the old checkpoint is intact */
            fresh__store_close(st);
            st = open_ok(path);
            expect_log(st, "a1+ t1 a2");
            expect_checkpoint(st, 1, "first");
            assert_int_equal(fresh__store_tell(st, &o2), FRESH_OK);
            expect_log_after_reopen(st, path, "a1+ t1 a2 t2");
        }
        /* BEGIN, outcomes, checkpoints, events, COMMIT */
        assert_int_equal(k, 5);
    }
}

/* ---- rollback that fails too ---- */

static void rollback_failure_marks_handle_broken(void **state)
{
    struct fx *fx = *state;
    const char *path = next_path(fx);
    fresh_store *st = open_ok(path);
    double x[1] = {1};
    fresh__job_row j1 = job(1, 1), j2 = job(2, 2);
    assert_int_equal(fresh__store_ask(st, &j1, x, 1, 0), FRESH_OK);
    arm(&step_f, 4, 1, SQLITE_IOERR); /* the COMMIT */
    arm(&exec_f, 0, 1, SQLITE_IOERR); /* the ROLLBACK */
    int rc = fresh__store_ask(st, &j2, x, 1, 0);
    disarm();
    assert_int_equal(rc, FRESH_ESTORE);
    assert_int_equal(exec_f.failed, 1);
    assert_non_null(strstr(fresh__store_errmsg(st), "rollback failed"));
    /* no more writes on this handle */
    fresh__job_row j3 = job(3, 3);
    assert_int_equal(fresh__store_ask(st, &j3, x, 1, 0), FRESH_ESTORE);
    assert_non_null(strstr(fresh__store_errmsg(st), "close and reopen"));
    fresh__outcome_row o = outcome(1, NULL);
    assert_int_equal(fresh__store_tell(st, &o), FRESH_ESTORE);
    assert_int_equal(fresh__store_set_meta(st, "{}", "{}"), FRESH_ESTORE);
    /* closing rolls the open transaction back */
    expect_log_after_reopen(st, path, "a1+");
}

/* ---- set_meta ---- */

static void set_meta_faults(void **state)
{
    struct fx *fx = *state;
    long k;
    for (k = 0;; k++) {
        const char *path = next_path(fx);
        fresh_store *st = open_ok(path);
        arm(&step_f, k, 1, SQLITE_FULL);
        int rc = fresh__store_set_meta(st, "{\"eta\":3}", "{}");
        disarm();
        if (rc == FRESH_OK) {
            fresh__store_close(st);
            break;
        }
        assert_int_equal(rc, FRESH_ESTORE);
        expect_msg(st, path, "parameters", SQLITE_FULL);
        fresh__store_close(st);
        st = open_ok(path);
        assert_int_equal(fresh__store_get_meta(st, NULL, NULL), FRESH_ENOTFOUND);
        assert_int_equal(fresh__store_set_meta(st, "{\"eta\":3}", "{}"), FRESH_OK);
        fresh__store_close(st);
        st = open_ok(path);
        char *p = NULL;
        assert_int_equal(fresh__store_get_meta(st, &p, NULL), FRESH_OK);
        assert_string_equal(p, "{\"eta\":3}");
        free(p);
        fresh__store_close(st);
    }
    assert_int_equal(k, 4); /* BEGIN, params, space, COMMIT */
}

/* ---- open ---- */

/* Fails the k-th step or exec call of an open, for k = 0, 1, ... until the
 * open succeeds; each failure must leave no handle, no lock file, a message
 * naming the file, and a file that still opens with its data. */
static void open_faults_with(struct fx *fx, struct fault *f, int code, int existing)
{
    long k;
    for (k = 0;; k++) {
        const char *path = next_path(fx);
        if (existing) {
            fresh_store *st = open_ok(path);
            double x[1] = {2};
            fresh__job_row j1 = job(1, 1);
            assert_int_equal(fresh__store_ask(st, &j1, x, 1, 0), FRESH_OK);
            fresh__store_close(st);
        }
        char err[512] = "";
        fresh_store *st = (fresh_store *)0x1;
        arm(f, k, 1, code);
        int rc = fresh__store_open(&st, path, err);
        disarm();
        if (rc == FRESH_OK) {
            assert_int_equal(f->failed, 0);
            expect_log_after_reopen(st, path, existing ? "a1+" : "");
            break;
        }
        assert_int_equal(f->failed, 1);
        assert_null(st);
        if (code == SQLITE_BUSY)
            assert_int_equal(rc, FRESH_EBUSY);
        else
            assert_true(rc == FRESH_ESTORE || rc == FRESH_EIO);
        if (!strstr(err, path))
            fail_msg("open message '%s' does not name the file", err);
        char lock[160];
        snprintf(lock, sizeof lock, "%s.lock", path);
        assert_int_not_equal(access(lock, F_OK), 0);
        st = open_ok(path);
        expect_log(st, existing ? "a1+" : "");
        fresh__store_close(st);
    }
    assert_true(k >= 2);
}

static void open_faults(void **state)
{
    struct fx *fx = *state;
    for (int existing = 0; existing < 2; existing++) {
        open_faults_with(fx, &step_f, SQLITE_IOERR, existing);
        open_faults_with(fx, &step_f, SQLITE_BUSY, existing);
        open_faults_with(fx, &exec_f, SQLITE_IOERR_READ, existing);
        open_faults_with(fx, &exec_f, SQLITE_BUSY, existing);
        open_faults_with(fx, &exec_f, SQLITE_NOTADB, existing);
    }
}

/* ---- out of memory ---- */

static void alloc_faults(void **state)
{
    struct fx *fx = *state;
    char err[512];
    /* open, new and existing file */
    for (int existing = 0; existing < 2; existing++) {
        const char *path = next_path(fx);
        if (existing)
            fresh__store_close(open_ok(path));
        for (long k = 0;; k++) {
            fresh_store *st = NULL;
            fresh__alloc_fail_after(k);
            int rc = fresh__store_open(&st, path, err);
            fresh__alloc_fail_after(-1);
            if (rc == FRESH_OK) {
                fresh__store_close(st);
                break;
            }
            assert_int_equal(rc, FRESH_ENOMEM);
            assert_null(st);
            assert_true(k < 100);
        }
    }
    /* ask, tell, replay, get_meta, get_checkpoint on fresh handles */
    for (long k = 0;; k++) {
        const char *path = next_path(fx);
        fresh_store *st = open_ok(path);
        assert_int_equal(fresh__store_set_meta(st, "{\"a\":1}", "{\"b\":2}"), FRESH_OK);
        double x[3] = {1, NAN, 3};
        fresh__job_row j1 = job(1, 1);
        fresh__outcome_row o1 = outcome(1, "ck");
        struct log l = {""};
        char *p = NULL, *s = NULL;
        void *b = NULL;
        size_t n = 0;
        int done = 1;
        fresh__alloc_fail_after(k);
        int rc = fresh__store_ask(st, &j1, x, 3, 1);
        if (rc == FRESH_OK)
            rc = fresh__store_tell(st, &o1);
        if (rc == FRESH_OK)
            rc = fresh__store_replay(st, log_ask, log_tell, &l);
        if (rc == FRESH_OK)
            rc = fresh__store_get_meta(st, &p, &s);
        if (rc == FRESH_OK)
            rc = fresh__store_get_checkpoint(st, 1, &b, &n);
        fresh__alloc_fail_after(-1);
        if (rc != FRESH_OK) {
            assert_int_equal(rc, FRESH_ENOMEM);
            assert_non_null(strstr(fresh__store_errmsg(st), path));
            done = 0;
        } else {
            assert_string_equal(l.s, "a1+ t1");
            assert_string_equal(p, "{\"a\":1}");
            assert_string_equal(s, "{\"b\":2}");
            assert_int_equal(n, 2);
        }
        free(p);
        free(s);
        free(b);
        fresh__store_close(st);
        if (done)
            break;
        assert_true(k < 100);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ask_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(ask_promotion_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(tell_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(rollback_failure_marks_handle_broken, setup, teardown),
        cmocka_unit_test_setup_teardown(set_meta_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(open_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(alloc_faults, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
