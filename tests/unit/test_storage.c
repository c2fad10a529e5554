/*
 * test_storage.c - the study file (lib/storage_sqlite.c): round trips of
 * meta, asks and tells with exact doubles (NaN payloads, infinities, -0.0),
 * checkpoints, replay order, reopening, exclusive use across processes and
 * handles, and every kind of bad file (not SQLite, foreign SQLite, truncated,
 * unknown schema version, read-only, directory). Each test works in its own
 * mkdtemp directory, removed afterwards.
 */
#define _DEFAULT_SOURCE /* setgroups */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <grp.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fresh/status.h"
#include "internal.h"
#include "storage.h"

/* ---- fixture: a private directory ---- */

static char dir[64];
static char path[128];

static void rm_tree(const char *d)
{
    DIR *dp = opendir(d);
    if (!dp)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(dp))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", d, e->d_name);
        chmod(p, 0700);
        struct stat sb;
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            rm_tree(p);
        else
            unlink(p);
    }
    closedir(dp);
    rmdir(d);
}

static void setup(void)
{
    strcpy(dir, "/tmp/fresh-store-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/study.db", dir);
}

static void teardown(void)
{
    chmod(dir, 0700);
    rm_tree(dir);
}

TestSuite(storage, .init = setup, .fini = teardown);

/* ---- helpers ---- */

typedef int (*opener)(fresh_store **out, const char *path, char *err);

static fresh_store *opened(opener f, const char *p)
{
    char err[512] = "";
    fresh_store *st = NULL;
    int rc = f(&st, p, err);
    cr_assert_eq(rc, FRESH_OK, "open '%s': %d %s", p, rc, err);
    cr_assert_not_null(st);
    return st;
}

/* Opens expecting failure `want`; the message must name the file and hold
 * `needle`. */
static void fails(opener f, const char *p, int want, const char *needle)
{
    char err[512] = "";
    fresh_store *st = (fresh_store *)0x1;
    int rc = f(&st, p, err);
    cr_assert_eq(rc, want, "open '%s': got %d (%s), want %d", p, rc, err, want);
    cr_assert_null(st);
    cr_assert(strstr(err, p), "message '%s' does not name '%s'", err, p);
    cr_assert(strstr(err, needle), "message '%s' lacks '%s'", err, needle);
}

static fresh_store *open_ok(const char *p) { return opened(fresh__store_open, p); }

static void open_fails(const char *p, int want, const char *needle)
{
    fails(fresh__store_open, p, want, needle);
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static double from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static fresh__job_row job(uint64_t id, uint64_t cfg, int stage, double budget, double resume)
{
    fresh__job_row j = {.job_id = id,
                        .config_id = cfg,
                        .bracket = (long)cfg % 3,
                        .stage = stage,
                        .slot = id * 10,
                        .budget = budget,
                        .resume_from = resume};
    return j;
}

static fresh__outcome_row outcome(uint64_t id, double loss)
{
    fresh__outcome_row o;
    memset(&o, 0, sizeof o);
    o.job_id = id;
    o.rc = (int)id - 2;
    o.has_loss = 1;
    o.loss = loss;
    o.stop_flags = (unsigned)id;
    o.start = 0.25 * (double)id;
    o.end = 0.5 * (double)id;
    o.worker = (int)id % 2;
    o.message = "";
    return o;
}

/* ---- a recorder for replay ---- */

#define MAXEV 64
struct ev {
    int tell;
    fresh__job_row job;
    int has_x;
    double x[8];
    size_t dim;
    int model_based;
    fresh__outcome_row o;
    char msg[64];
    double steps[8], losses[8];
    int has_ckpt;
    unsigned char ckpt[64];
};

struct rec {
    int n;
    int stop_at; /* return 42 at this event index; -1 never */
    struct ev ev[MAXEV];
};

static int rec_ask(void *user, const fresh__job_row *j, const double *x, size_t dim, int mb)
{
    struct rec *r = user;
    if (r->n == r->stop_at)
        return 42;
    cr_assert_lt(r->n, MAXEV);
    struct ev *e = &r->ev[r->n++];
    memset(e, 0, sizeof *e);
    e->job = *j;
    e->has_x = x != NULL;
    e->dim = dim;
    e->model_based = mb;
    if (x) {
        cr_assert_leq(dim, 8);
        memcpy(e->x, x, dim * sizeof *x);
    }
    return 0;
}

static int rec_tell(void *user, const fresh__outcome_row *o)
{
    struct rec *r = user;
    if (r->n == r->stop_at)
        return 42;
    cr_assert_lt(r->n, MAXEV);
    struct ev *e = &r->ev[r->n++];
    memset(e, 0, sizeof *e);
    e->tell = 1;
    e->o = *o;
    cr_assert_not_null(o->message);
    snprintf(e->msg, sizeof e->msg, "%s", o->message);
    cr_assert_leq(o->n_reports, 8);
    if (o->n_reports) {
        memcpy(e->steps, o->steps, o->n_reports * sizeof(double));
        memcpy(e->losses, o->losses, o->n_reports * sizeof(double));
    }
    e->has_ckpt = o->ckpt != NULL;
    if (o->ckpt) {
        cr_assert_leq(o->ckpt_len, sizeof e->ckpt);
        memcpy(e->ckpt, o->ckpt, o->ckpt_len);
    }
    return 0;
}

static void replay(fresh_store *st, struct rec *r)
{
    memset(r, 0, sizeof *r);
    r->stop_at = -1;
    int rc = fresh__store_replay(st, rec_ask, rec_tell, r);
    cr_assert_eq(rc, FRESH_OK, "replay: %d %s", rc, fresh__store_errmsg(st));
}

/* ---- meta ---- */

Test(storage, meta_round_trip)
{
    fresh_store *st = open_ok(path);
    char *p = NULL, *s = NULL;
    cr_assert_eq(fresh__store_get_meta(st, &p, &s), FRESH_ENOTFOUND);
    cr_assert_null(p);
    cr_assert(strstr(fresh__store_errmsg(st), path));
    cr_assert_eq(fresh__store_set_meta(st, "{\"eta\": 3}", "{\"x\": [0, 1]}"), FRESH_OK);
    cr_assert_eq(fresh__store_set_meta(st, "{}", "{}"), FRESH_ESTATE);
    cr_assert(strstr(fresh__store_errmsg(st), "already"), "%s", fresh__store_errmsg(st));
    cr_assert_eq(fresh__store_set_meta(st, NULL, "{}"), FRESH_EINVAL);
    fresh__store_close(st);

    st = open_ok(path);
    cr_assert_eq(fresh__store_get_meta(st, &p, &s), FRESH_OK);
    cr_assert_str_eq(p, "{\"eta\": 3}");
    cr_assert_str_eq(s, "{\"x\": [0, 1]}");
    free(p);
    free(s);
    cr_assert_eq(fresh__store_get_meta(st, NULL, NULL), FRESH_OK);
    fresh__store_close(st);
    fresh__store_close(NULL);
}

/* ---- asks, tells, replay ---- */

static const uint64_t NAN_PAYLOAD = 0x7ff8000000000123ull;
static const uint64_t NEG_NAN = 0xfff8000000000000ull;

/* Writes the reference history:
 *   ask 1 (new config 1), ask 2 (new config 2), tell 1, ask 3 (config 1
 *   promoted), tell 2, tell 3, ask 4 (new config 3, dim 0), tell 4. */
static void write_history(fresh_store *st)
{
    double x1[4] = {0.5, from_bits(NAN_PAYLOAD), -0.0, INFINITY};
    double x2[4] = {-INFINITY, 1e-300, from_bits(NEG_NAN), 0.125};
    fresh__job_row j1 = job(1, 1, 0, 1.0, 0.0), j2 = job(2, 2, 0, 1.0, -0.0),
                   j3 = job(3, 1, 1, 3.0, 1.0), j4 = job(4, 3, 0, 9.0, 0.0);
    cr_assert_eq(fresh__store_ask(st, &j1, x1, 4, 1), FRESH_OK, "%s", fresh__store_errmsg(st));
    cr_assert_eq(fresh__store_ask(st, &j2, x2, 4, 0), FRESH_OK, "%s", fresh__store_errmsg(st));

    fresh__outcome_row o1 = outcome(1, from_bits(NAN_PAYLOAD));
    double s1[2] = {1, 2}, l1[2] = {from_bits(NEG_NAN), INFINITY};
    o1.failed = 1;
    o1.message = "diverged: loss is NaN";
    o1.n_reports = 2;
    o1.steps = s1;
    o1.losses = l1;
    o1.ckpt_saved = 1;
    o1.ckpt = "abc";
    o1.ckpt_len = 3;
    cr_assert_eq(fresh__store_tell(st, &o1), FRESH_OK, "%s", fresh__store_errmsg(st));

    cr_assert_eq(fresh__store_ask(st, &j3, NULL, 4, 1), FRESH_OK, "%s", fresh__store_errmsg(st));

    fresh__outcome_row o2 = outcome(2, -INFINITY);
    o2.ckpt_saved = 1;
    o2.ckpt = "";
    o2.ckpt_len = 0; /* an empty checkpoint */
    cr_assert_eq(fresh__store_tell(st, &o2), FRESH_OK, "%s", fresh__store_errmsg(st));

    fresh__outcome_row o3 = outcome(3, -0.0);
    double s3[3] = {2, 2.5, 3}, l3[3] = {0.5, -0.0, 1e308};
    o3.n_reports = 3;
    o3.steps = s3;
    o3.losses = l3;
    o3.ckpt_saved = 1;
    o3.ckpt = "defgh";
    o3.ckpt_len = 5; /* replaces config 1's "abc" */
    cr_assert_eq(fresh__store_tell(st, &o3), FRESH_OK, "%s", fresh__store_errmsg(st));

    fresh__job_row j4b = j4;
    cr_assert_eq(fresh__store_ask(st, &j4b, x1, 0, 1), FRESH_OK, "%s", fresh__store_errmsg(st));
    fresh__outcome_row o4 = outcome(4, 0);
    o4.has_loss = 0;
    o4.loss = NAN;
    cr_assert_eq(fresh__store_tell(st, &o4), FRESH_OK, "%s", fresh__store_errmsg(st));
}

static void check_history(const struct rec *r)
{
    cr_assert_eq(r->n, 8);
    int kinds[8] = {0, 0, 1, 0, 1, 1, 0, 1};
    uint64_t ids[8] = {1, 2, 1, 3, 2, 3, 4, 4};
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(r->ev[i].tell, kinds[i], "event %d kind", i);
        uint64_t id = kinds[i] ? r->ev[i].o.job_id : r->ev[i].job.job_id;
        cr_assert_eq(id, ids[i], "event %d job", i);
    }
    /* ask 1: new config, exact x */
    const struct ev *a1 = &r->ev[0];
    cr_assert(a1->has_x);
    cr_assert_eq(a1->dim, 4);
    cr_assert_eq(a1->model_based, 1);
    cr_assert(same_bits(a1->x[0], 0.5));
    cr_assert(same_bits(a1->x[1], from_bits(NAN_PAYLOAD)), "NaN payload lost");
    cr_assert(same_bits(a1->x[2], -0.0));
    cr_assert(same_bits(a1->x[3], INFINITY));
    cr_assert_eq(a1->job.config_id, 1);
    cr_assert_eq(a1->job.bracket, 1);
    cr_assert_eq(a1->job.stage, 0);
    cr_assert_eq(a1->job.slot, 10);
    cr_assert(same_bits(a1->job.budget, 1.0));
    /* ask 2 */
    const struct ev *a2 = &r->ev[1];
    cr_assert(a2->has_x);
    cr_assert_eq(a2->model_based, 0);
    cr_assert(same_bits(a2->x[0], -INFINITY));
    cr_assert(same_bits(a2->x[1], 1e-300));
    cr_assert(same_bits(a2->x[2], from_bits(NEG_NAN)));
    cr_assert(same_bits(a2->job.resume_from, -0.0), "-0.0 budget lost its sign");
    /* tell 1: NaN loss, NaN/inf reports, message; its checkpoint was replaced */
    const struct ev *t1 = &r->ev[2];
    cr_assert(same_bits(t1->o.loss, from_bits(NAN_PAYLOAD)));
    cr_assert_eq(t1->o.failed, 1);
    cr_assert_eq(t1->o.rc, -1);
    cr_assert_str_eq(t1->msg, "diverged: loss is NaN");
    cr_assert_eq(t1->o.n_reports, 2);
    cr_assert(same_bits(t1->steps[1], 2.0));
    cr_assert(same_bits(t1->losses[0], from_bits(NEG_NAN)));
    cr_assert(same_bits(t1->losses[1], INFINITY));
    cr_assert_eq(t1->o.ckpt_saved, 1);
    cr_assert_eq(t1->has_ckpt, 0, "superseded checkpoint must not be replayed");
    cr_assert_eq(t1->o.ckpt_len, 0);
    cr_assert(same_bits(t1->o.start, 0.25));
    cr_assert(same_bits(t1->o.end, 0.5));
    cr_assert_eq(t1->o.worker, 1);
    cr_assert_eq(t1->o.stop_flags, 1);
    /* ask 3: promotion, no x */
    const struct ev *a3 = &r->ev[3];
    cr_assert_eq(a3->has_x, 0);
    cr_assert_eq(a3->dim, 0);
    cr_assert_eq(a3->model_based, 0);
    cr_assert_eq(a3->job.config_id, 1);
    cr_assert_eq(a3->job.stage, 1);
    cr_assert(same_bits(a3->job.budget, 3.0));
    cr_assert(same_bits(a3->job.resume_from, 1.0));
    /* tell 2: -inf loss, empty checkpoint still current */
    const struct ev *t2 = &r->ev[4];
    cr_assert(same_bits(t2->o.loss, -INFINITY));
    cr_assert_str_eq(t2->msg, "");
    cr_assert_eq(t2->o.n_reports, 0);
    cr_assert_eq(t2->o.ckpt_saved, 1);
    cr_assert_eq(t2->has_ckpt, 1, "empty current checkpoint must be non-NULL");
    cr_assert_eq(t2->o.ckpt_len, 0);
    /* tell 3: -0.0 loss, current checkpoint */
    const struct ev *t3 = &r->ev[5];
    cr_assert(same_bits(t3->o.loss, -0.0), "-0.0 loss lost its sign");
    cr_assert_eq(t3->o.n_reports, 3);
    cr_assert(same_bits(t3->losses[1], -0.0));
    cr_assert(same_bits(t3->losses[2], 1e308));
    cr_assert(same_bits(t3->steps[1], 2.5));
    cr_assert_eq(t3->has_ckpt, 1);
    cr_assert_eq(t3->o.ckpt_len, 5);
    cr_assert_eq(memcmp(t3->ckpt, "defgh", 5), 0);
    /* ask 4: dim 0 configuration is still "new" (x non-NULL) */
    cr_assert_eq(r->ev[6].has_x, 1);
    cr_assert_eq(r->ev[6].dim, 0);
    /* tell 4: no loss, no checkpoint */
    cr_assert_eq(r->ev[7].o.has_loss, 0);
    cr_assert(isnan(r->ev[7].o.loss));
    cr_assert_eq(r->ev[7].o.ckpt_saved, 0);
    cr_assert_eq(r->ev[7].has_ckpt, 0);
}

static void check_checkpoints(fresh_store *st)
{
    void *b = (void *)0x1;
    size_t n = 99;
    cr_assert_eq(fresh__store_get_checkpoint(st, 1, &b, &n), FRESH_OK);
    cr_assert_eq(n, 5);
    cr_assert_eq(memcmp(b, "defgh", 5), 0);
    free(b);
    cr_assert_eq(fresh__store_get_checkpoint(st, 2, &b, &n), FRESH_OK);
    cr_assert_not_null(b, "empty checkpoint must be non-NULL");
    cr_assert_eq(n, 0);
    free(b);
    cr_assert_eq(fresh__store_get_checkpoint(st, 3, &b, &n), FRESH_OK);
    cr_assert_null(b);
    cr_assert_eq(n, 0);
    cr_assert_eq(fresh__store_get_checkpoint(st, 77, &b, &n), FRESH_OK);
    cr_assert_null(b);
    cr_assert_eq(fresh__store_get_checkpoint(st, 1, NULL, &n), FRESH_EINVAL);
}

Test(storage, ask_tell_replay_round_trip)
{
    fresh_store *st = open_ok(path);
    write_history(st);
    struct rec *r = calloc(1, sizeof *r);
    replay(st, r);
    check_history(r);
    check_checkpoints(st);
    fresh__store_close(st);

    /* reopen after close sees everything, in the same order */
    st = open_ok(path);
    replay(st, r);
    check_history(r);
    check_checkpoints(st);
    /* replay twice on one handle */
    replay(st, r);
    check_history(r);
    /* append after reopening */
    fresh__job_row j5 = job(5, 3, 1, 27, 9);
    cr_assert_eq(fresh__store_ask(st, &j5, NULL, 0, 0), FRESH_OK);
    replay(st, r);
    cr_assert_eq(r->n, 9);
    cr_assert_eq(r->ev[8].job.job_id, 5);
    fresh__store_close(st);
    free(r);

    /* nothing left behind but the study file */
    char p[256];
    snprintf(p, sizeof p, "%s-wal", path);
    cr_assert_neq(access(p, F_OK), 0, "-wal left after close");
    snprintf(p, sizeof p, "%s-shm", path);
    cr_assert_neq(access(p, F_OK), 0, "-shm exists");
    snprintf(p, sizeof p, "%s.lock", path);
    cr_assert_neq(access(p, F_OK), 0, "lock file left after close");
}

Test(storage, replay_stops_on_callback_status)
{
    fresh_store *st = open_ok(path);
    write_history(st);
    struct rec *r = calloc(1, sizeof *r);
    r->stop_at = 3;
    cr_assert_eq(fresh__store_replay(st, rec_ask, rec_tell, r), 42);
    cr_assert_eq(r->n, 3);
    r->n = 0;
    r->stop_at = 2; /* a tell */
    cr_assert_eq(fresh__store_replay(st, rec_ask, rec_tell, r), 42);
    cr_assert_eq(r->n, 2);
    /* NULL callbacks are skipped; the statement was reset */
    cr_assert_eq(fresh__store_replay(st, NULL, NULL, NULL), FRESH_OK);
    replay(st, r);
    check_history(r);
    free(r);
    fresh__store_close(st);
}

Test(storage, constraint_errors_leave_store_usable)
{
    fresh_store *st = open_ok(path);
    double x[2] = {1, 2};
    fresh__job_row j1 = job(1, 1, 0, 1, 0), j2 = job(2, 9, 0, 1, 0);
    cr_assert_eq(fresh__store_ask(st, &j1, x, 2, 0), FRESH_OK);
    /* the same job again */
    cr_assert_eq(fresh__store_ask(st, &j1, NULL, 0, 0), FRESH_ESTORE);
    const char *m = fresh__store_errmsg(st);
    cr_assert(strstr(m, path) && strstr(m, "job 1") && strstr(m, "constraint"), "%s", m);
    /* a promotion of an unknown configuration */
    cr_assert_eq(fresh__store_ask(st, &j2, NULL, 0, 0), FRESH_ESTORE);
    /* the same configuration created twice, the job row would be fine */
    fresh__job_row j3 = job(3, 1, 0, 1, 0);
    cr_assert_eq(fresh__store_ask(st, &j3, x, 2, 0), FRESH_ESTORE);
    /* a tell without its ask, and a tell twice */
    fresh__outcome_row o = outcome(7, 1);
    cr_assert_eq(fresh__store_tell(st, &o), FRESH_ESTORE);
    cr_assert(strstr(fresh__store_errmsg(st), "job 7"), "%s", fresh__store_errmsg(st));
    o = outcome(1, 1);
    cr_assert_eq(fresh__store_tell(st, &o), FRESH_OK, "%s", fresh__store_errmsg(st));
    cr_assert_eq(fresh__store_tell(st, &o), FRESH_ESTORE);
    /* invalid arguments */
    cr_assert_eq(fresh__store_ask(st, NULL, NULL, 0, 0), FRESH_EINVAL);
    cr_assert_eq(fresh__store_tell(st, NULL), FRESH_EINVAL);
    o = outcome(3, 1);
    o.n_reports = 2;
    cr_assert_eq(fresh__store_tell(st, &o), FRESH_EINVAL);
    o = outcome(3, 1);
    o.ckpt_saved = 1;
    o.ckpt_len = 4;
    cr_assert_eq(fresh__store_tell(st, &o), FRESH_EINVAL);
    /* only the good events are there */
    struct rec *r = calloc(1, sizeof *r);
    replay(st, r);
    cr_assert_eq(r->n, 2);
    cr_assert_eq(r->ev[0].tell, 0);
    cr_assert_eq(r->ev[1].tell, 1);
    free(r);
    fresh__store_close(st);
}

/* ---- exclusive use ---- */

Test(storage, second_handle_in_process_is_busy)
{
    fresh_store *a = open_ok(path);
    open_fails(path, FRESH_EBUSY, "in use by another process");
    /* the failed opener did not disturb the holder */
    fresh__job_row j = job(1, 1, 0, 1, 0);
    double x = 0.5;
    cr_assert_eq(fresh__store_ask(a, &j, &x, 1, 0), FRESH_OK, "%s", fresh__store_errmsg(a));
    open_fails(path, FRESH_EBUSY, "in use by another process");
    fresh__store_close(a);
    fresh_store *b = open_ok(path);
    struct rec *r = calloc(1, sizeof *r);
    replay(b, r);
    cr_assert_eq(r->n, 1);
    free(r);
    fresh__store_close(b);
}

/* Child: waits for a byte on rfd, opens path, exits 0 if it got FRESH_EBUSY
 * with a message naming the file, 1-3 otherwise. */
static void child_expect_busy(int rfd)
{
    char c;
    if (read(rfd, &c, 1) != 1)
        _exit(3);
    char err[512] = "";
    fresh_store *st = NULL;
    int rc = fresh__store_open(&st, path, err);
    if (rc != FRESH_EBUSY || st) {
        fresh__store_close(st);
        _exit(1);
    }
    if (!strstr(err, path) || !strstr(err, "in use by another process"))
        _exit(2);
    _exit(0);
}

Test(storage, other_process_is_busy_while_parent_holds)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(p[1]);
        child_expect_busy(p[0]);
    }
    close(p[0]);
    fresh_store *st = open_ok(path);
    cr_assert_eq(write(p[1], "g", 1), 1);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 0, "child exit %d", WEXITSTATUS(status));
    close(p[1]);
    fresh__store_close(st);
}

/* Child: waits for a byte, takes a snapshot and replays it; exits with the
 * number of events seen (100 + n), or 1-3 on errors. */
static int count_ask(void *u, const fresh__job_row *j, const double *x, size_t d, int mb)
{
    (void)j, (void)x, (void)d, (void)mb;
    ++*(int *)u;
    return 0;
}

static int count_tell(void *u, const fresh__outcome_row *o)
{
    (void)o;
    ++*(int *)u;
    return 0;
}

Test(storage, other_process_reads_a_snapshot_while_parent_holds)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(p[1]);
        char c;
        if (read(p[0], &c, 1) != 1)
            _exit(3);
        fresh_store *st = NULL;
        char err[512];
        if (fresh__store_open_snapshot(&st, path, err) != FRESH_OK)
            _exit(1);
        if (fresh__store_in_use(path) != 1)
            _exit(2);
        int n = 0;
        if (fresh__store_replay(st, count_ask, count_tell, &n) != FRESH_OK)
            _exit(3);
        fresh__store_close(st);
        _exit(100 + n);
    }
    close(p[0]);
    fresh_store *st = open_ok(path);
    write_history(st);
    cr_assert_eq(write(p[1], "g", 1), 1);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 108, "child exit %d", WEXITSTATUS(status));
    close(p[1]);
    /* the holder writes on */
    fresh__job_row j5 = job(5, 7, 0, 1, 0);
    double x = 0.25;
    cr_assert_eq(fresh__store_ask(st, &j5, &x, 1, 0), FRESH_OK, "%s", fresh__store_errmsg(st));
    fresh__store_close(st);
}

Test(storage, parent_is_busy_while_child_holds)
{
    int up[2], down[2];
    cr_assert_eq(pipe(up), 0);
    cr_assert_eq(pipe(down), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(up[0]);
        close(down[1]);
        char err[512];
        fresh_store *st = NULL;
        if (fresh__store_open(&st, path, err) != FRESH_OK)
            _exit(1);
        fresh__job_row j = job(1, 1, 0, 1, 0);
        double x = 0.25;
        if (fresh__store_ask(st, &j, &x, 1, 1) != FRESH_OK)
            _exit(2);
        if (write(up[1], "h", 1) != 1)
            _exit(3);
        char c;
        if (read(down[0], &c, 1) != 1)
            _exit(4);
        fresh__store_close(st);
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    char c;
    cr_assert_eq(read(up[0], &c, 1), 1, "child could not open the study");
    open_fails(path, FRESH_EBUSY, "in use by another process");
    cr_assert_eq(write(down[1], "r", 1), 1);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    close(up[0]);
    close(down[1]);
    /* released: the parent opens it and sees the child's ask */
    fresh_store *st = open_ok(path);
    struct rec *r = calloc(1, sizeof *r);
    replay(st, r);
    cr_assert_eq(r->n, 1);
    cr_assert(same_bits(r->ev[0].x[0], 0.25));
    free(r);
    fresh__store_close(st);
}

Test(storage, killed_holder_releases_the_lock)
{
    int up[2];
    cr_assert_eq(pipe(up), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(up[0]);
        fresh_store *st = NULL;
        char err[512];
        if (fresh__store_open(&st, path, err) != FRESH_OK)
            _exit(1);
        fresh__job_row j = job(1, 1, 0, 1, 0);
        double x = 0.75;
        if (fresh__store_ask(st, &j, &x, 1, 1) != FRESH_OK)
            _exit(2);
        if (write(up[1], "h", 1) != 1)
            _exit(3);
        for (;;)
            pause(); /* killed while holding the study, WAL not checkpointed */
    }
    close(up[1]);
    char c;
    cr_assert_eq(read(up[0], &c, 1), 1);
    open_fails(path, FRESH_EBUSY, "in use");
    kill(pid, SIGKILL);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    close(up[0]);
    fresh_store *st = open_ok(path); /* stale lock file, WAL recovered */
    struct rec *r = calloc(1, sizeof *r);
    replay(st, r);
    cr_assert_eq(r->n, 1);
    cr_assert(same_bits(r->ev[0].x[0], 0.75));
    free(r);
    fresh__store_close(st);
}

/* ---- bad files ---- */

static void write_file(const char *p, const char *text, size_t n)
{
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, n, f), n);
    fclose(f);
}

static void sql(const char *p, const char *stmt)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, stmt, NULL, NULL, &msg);
    cr_assert_eq(rc, SQLITE_OK, "%s", msg ? msg : "");
    sqlite3_close(db);
}

/* ---- snapshots ---- */

static fresh_store *snapshot_ok(const char *p) { return opened(fresh__store_open_snapshot, p); }

static void snapshot_fails(const char *p, int want, const char *needle)
{
    fails(fresh__store_open_snapshot, p, want, needle);
}

Test(storage, snapshot_reads_while_the_writer_holds)
{
    fresh_store *w = open_ok(path);
    cr_assert_eq(fresh__store_in_use(path), 1);
    cr_assert_eq(fresh__store_set_meta(w, "{\"p\":1}", "{\"s\":2}"), FRESH_OK);
    write_history(w);

    /* a snapshot opens while the writer holds the file, and reads it all */
    fresh_store *r1 = snapshot_ok(path);
    char *pj = NULL, *sj = NULL;
    cr_assert_eq(fresh__store_get_meta(r1, &pj, &sj), FRESH_OK);
    cr_assert_str_eq(pj, "{\"p\":1}");
    free(pj);
    free(sj);
    struct rec *r = calloc(1, sizeof *r);
    replay(r1, r);
    check_history(r);
    check_checkpoints(r1);

    /* the writer goes on while the snapshot is open; the snapshot keeps
     * seeing the file as it was, a new snapshot sees the new job */
    fresh__job_row j5 = job(5, 7, 0, 1, 0);
    double x5 = 0.25;
    cr_assert_eq(fresh__store_ask(w, &j5, &x5, 1, 2), FRESH_OK, "%s", fresh__store_errmsg(w));
    replay(r1, r);
    cr_assert_eq(r->n, 8);
    fresh_store *r2 = snapshot_ok(path);
    replay(r2, r);
    cr_assert_eq(r->n, 9);
    cr_assert_eq(r->ev[8].job.job_id, 5);
    cr_assert_eq(r->ev[8].model_based, 2); /* "random by the hedge" is stored as such */

    /* a snapshot never writes */
    fresh__job_row j6 = job(6, 4, 0, 1, 0);
    double x = 0.5;
    cr_assert_eq(fresh__store_ask(r2, &j6, &x, 1, 0), FRESH_EIO);
    cr_assert(strstr(fresh__store_errmsg(r2), "read-only snapshot"));
    cr_assert_eq(fresh__store_retry(r2, 4), FRESH_EIO);
    cr_assert_eq(fresh__store_set_meta(r2, "{}", "{}"), FRESH_EIO);
    fresh__store_close(r1);
    fresh__store_close(r2);

    /* and the writer was not disturbed */
    cr_assert_eq(fresh__store_ask(w, &j6, &x, 1, 0), FRESH_OK, "%s", fresh__store_errmsg(w));
    fresh__store_close(w);
    cr_assert_eq(fresh__store_in_use(path), 0);
    fresh_store *again = open_ok(path);
    replay(again, r);
    cr_assert_eq(r->n, 10);
    fresh__store_close(again);
    free(r);

    /* files that are not studies */
    char p[256];
    snprintf(p, sizeof p, "%s/none.db", dir);
    snapshot_fails(p, FRESH_EIO, "no study file");
    cr_assert_eq(fresh__store_in_use(p), 0);
    snapshot_fails(dir, FRESH_EIO, "is a directory");
    snprintf(p, sizeof p, "%s/empty.db", dir);
    write_file(p, "", 0);
    snapshot_fails(p, FRESH_ENOTFOUND, "holds no study");
    snprintf(p, sizeof p, "%s/foreign.db", dir);
    sql(p, "CREATE TABLE t(a)");
    snapshot_fails(p, FRESH_ESTORE, "not a fresh study file");
}

Test(storage, not_a_database)
{
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)('a' + i % 26);
    write_file(path, junk, sizeof junk);
    open_fails(path, FRESH_ESTORE, "not a fresh study file");
    /* the file is untouched and the lock file is gone */
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_size, (off_t)sizeof junk);
    char p[256];
    snprintf(p, sizeof p, "%s.lock", path);
    cr_assert_neq(access(p, F_OK), 0);
}

Test(storage, empty_file_becomes_a_study)
{
    write_file(path, "", 0);
    fresh_store *st = open_ok(path);
    cr_assert_eq(fresh__store_set_meta(st, "{}", "{}"), FRESH_OK);
    fresh__store_close(st);
    st = open_ok(path);
    cr_assert_eq(fresh__store_get_meta(st, NULL, NULL), FRESH_OK);
    fresh__store_close(st);
}

Test(storage, foreign_sqlite_file)
{
    sql(path, "CREATE TABLE t(a); INSERT INTO t VALUES(1);");
    open_fails(path, FRESH_ESTORE, "not a fresh study file");
    /* right application id but no meta table */
    char p2[160];
    snprintf(p2, sizeof p2, "%s/other.db", dir);
    sql(p2, "PRAGMA application_id = 1179800392; CREATE TABLE t(a);");
    open_fails(p2, FRESH_ESTORE, "not a fresh study file");
}

Test(storage, wrong_application_in_meta)
{
    fresh__store_close(open_ok(path));
    sql(path, "UPDATE meta SET value = 'other' WHERE key = 'application'");
    open_fails(path, FRESH_ESTORE, "application 'other'");
}

Test(storage, unknown_schema_version)
{
    fresh_store *st = open_ok(path);
    cr_assert_eq(fresh__store_set_meta(st, "{}", "{}"), FRESH_OK);
    fresh__store_close(st);
    sql(path, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    open_fails(path, FRESH_ESTORE, "schema version 99 not supported");
    sql(path, "UPDATE meta SET value = 'x1' WHERE key = 'schema_version'");
    open_fails(path, FRESH_ESTORE, "schema_version 'x1'");
}

Test(storage, truncated_file)
{
    fresh_store *st = open_ok(path);
    cr_assert_eq(fresh__store_set_meta(st, "{\"eta\": 3}", "{}"), FRESH_OK);
    static unsigned char big[20000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 7);
    for (uint64_t id = 1; id <= 40; id++) {
        double x[3] = {(double)id, 0.5, NAN};
        fresh__job_row j = job(id, id, 0, 1, 0);
        cr_assert_eq(fresh__store_ask(st, &j, x, 3, 1), FRESH_OK);
        fresh__outcome_row o = outcome(id, 1.0 / (double)id);
        o.ckpt_saved = 1;
        o.ckpt = big;
        o.ckpt_len = sizeof big;
        cr_assert_eq(fresh__store_tell(st, &o), FRESH_OK);
    }
    fresh__store_close(st);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_gt(sb.st_size, 100000);
    cr_assert_eq(truncate(path, sb.st_size / 2), 0);
    open_fails(path, FRESH_ESTORE, "corrupt");
}

Test(storage, corrupt_page)
{
    fresh_store *st = open_ok(path);
    for (uint64_t id = 1; id <= 200; id++) {
        double x[3] = {(double)id, 0.5, NAN};
        fresh__job_row j = job(id, id, 0, 1, 0);
        cr_assert_eq(fresh__store_ask(st, &j, x, 3, 1), FRESH_OK);
    }
    fresh__store_close(st);
    /* scribble over the middle of the file, keeping the size */
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    cr_assert_gt(size, 3 * 4096);
    char junk[4096];
    memset(junk, 0x5a, sizeof junk);
    for (long off = 4096; off + 4096 <= size; off += 4096) {
        fseek(f, off, SEEK_SET);
        fwrite(junk, 1, 100, f);
    }
    fclose(f);
    open_fails(path, FRESH_ESTORE, "corrupt");
}

Test(storage, directory_and_missing_paths)
{
    open_fails(dir, FRESH_EIO, "is a directory");
    char p[200];
    snprintf(p, sizeof p, "%s/no/such/dir/study.db", dir);
    open_fails(p, FRESH_EIO, "cannot create lock file");
    char err[512];
    fresh_store *st = NULL;
    cr_assert_eq(fresh__store_open(&st, "", err), FRESH_EINVAL);
    cr_assert_eq(fresh__store_open(&st, NULL, err), FRESH_EINVAL);
    cr_assert_eq(fresh__store_open(NULL, path, err), FRESH_EINVAL);
}

/* Read-only file and read-only directory. Root bypasses file permissions
 * (CAP_DAC_OVERRIDE), so when run as root the checks run in a child that
 * has dropped to user and group 65534 ("nobody"); if it cannot, the test is
 * skipped with a message. The child exits 0 on success, 10 + k when check k
 * failed. */
static void readonly_checks(const char *ro_file, const char *ro_dir_file)
{
    char err[512] = "";
    fresh_store *st = NULL;
    int rc = fresh__store_open(&st, ro_file, err);
    if (rc != FRESH_EIO || st || !strstr(err, ro_file) || !strstr(err, "read-only"))
        _exit(11);
    rc = fresh__store_open(&st, ro_dir_file, err);
    if ((rc != FRESH_EIO && rc != FRESH_ESTORE) || st || !strstr(err, ro_dir_file))
        _exit(12);
    _exit(0);
}

Test(storage, read_only_file_and_directory)
{
    /* a valid study, then made read-only */
    fresh_store *st = open_ok(path);
    cr_assert_eq(fresh__store_set_meta(st, "{}", "{}"), FRESH_OK);
    fresh__store_close(st);
    char rodir[160], rofile[200];
    snprintf(rodir, sizeof rodir, "%s/ro", dir);
    snprintf(rofile, sizeof rofile, "%s/study.db", rodir);
    cr_assert_eq(mkdir(rodir, 0755), 0);
    cr_assert_eq(chmod(path, 0444), 0);
    cr_assert_eq(chmod(rodir, 0555), 0);
    cr_assert_eq(chmod(dir, 0777), 0); /* the lock file of path goes into dir */

    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        if (geteuid() == 0) {
            if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
                _exit(77);
        }
        readonly_checks(path, rofile);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        cr_skip_test("running as root and cannot drop privileges: read-only checks skipped");
    cr_assert_eq(WEXITSTATUS(status), 0, "read-only check %d failed", WEXITSTATUS(status) - 10);
    /* the study is intact */
    chmod(path, 0644);
    st = open_ok(path);
    cr_assert_eq(fresh__store_get_meta(st, NULL, NULL), FRESH_OK);
    fresh__store_close(st);
}

Test(storage, malformed_rows_fail_replay)
{
    fresh_store *st = open_ok(path);
    write_history(st);
    fresh__store_close(st);
    struct rec *r = calloc(1, sizeof *r);
    r->stop_at = -1;
    /* x of the wrong size */
    sql(path, "UPDATE configs SET x = x'0011' WHERE id = 2");
    st = open_ok(path);
    cr_assert_eq(fresh__store_replay(st, rec_ask, rec_tell, r), FRESH_ESTORE);
    const char *m = fresh__store_errmsg(st);
    cr_assert(strstr(m, path) && strstr(m, "event 2 has missing or malformed data"), "%s", m);
    cr_assert_eq(r->n, 1, "events before the bad one are delivered");
    fresh__store_close(st);
    /* an event whose job is gone (foreign keys are off in the plain shell) */
    sql(path, "UPDATE configs SET x = zeroblob(32) WHERE id = 2;"
              "DELETE FROM outcomes WHERE job_id = 3; DELETE FROM jobs WHERE id = 3");
    st = open_ok(path);
    memset(r, 0, sizeof *r);
    r->stop_at = -1;
    cr_assert_eq(fresh__store_replay(st, rec_ask, rec_tell, r), FRESH_ESTORE);
    cr_assert(strstr(fresh__store_errmsg(st), "event 4"), "%s", fresh__store_errmsg(st));
    cr_assert_eq(r->n, 3);
    fresh__store_close(st);
    /* text where an f64 belongs */
    sql(path, "INSERT INTO jobs VALUES(3, 1, 0, 1, 30, 3.0, 1.0);"
              "INSERT INTO outcomes SELECT 3, rc, failed, message, has_loss, 'abc', stop_flags,"
              " start_time, end_time, worker, 0, x'', x'', 0 FROM outcomes WHERE job_id = 1");
    st = open_ok(path);
    memset(r, 0, sizeof *r);
    r->stop_at = -1;
    cr_assert_eq(fresh__store_replay(st, rec_ask, rec_tell, r), FRESH_ESTORE);
    cr_assert(strstr(fresh__store_errmsg(st), "event 6"), "%s", fresh__store_errmsg(st));
    free(r);
    fresh__store_close(st);
}

Test(storage, uri_like_names_are_plain_files)
{
    cr_assert_eq(chdir(dir), 0);
    fresh_store *st = open_ok("file:study.db?mode=ro");
    cr_assert_eq(fresh__store_set_meta(st, "{}", "{}"), FRESH_OK);
    fresh__store_close(st);
    cr_assert_eq(access("file:study.db?mode=ro", F_OK), 0);
    st = open_ok(":memory:");
    fresh__store_close(st);
    cr_assert_eq(access(":memory:", F_OK), 0, "':memory:' must be a file on disk");
}
