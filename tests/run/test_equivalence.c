/* `fresh run` with an instant child and 1 worker gives the same study as the
 * equivalent in-process objective: the same configurations (bit for bit),
 * the same jobs with the same budgets, statuses and losses, the same
 * incumbent. The child is sh + awk printing one report per step, exactly
 * as the C objective reports; early stopping and continuation are in play.
 *
 * Usage: test_run_equivalence FRESH_BINARY WORK_DIR */
#include <inttypes.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "fresh/study.h"
#include "study_fixtures.h"

extern char **environ;

static int failures;
#define CHECK(cond, ...)                                                                \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                        \
            fprintf(stderr, __VA_ARGS__);                                               \
            fprintf(stderr, "\n");                                                      \
            failures++;                                                                 \
        }                                                                               \
    } while (0)

static const char space_json[] =
    "{\"parameters\": [\n"
    " {\"name\": \"x\", \"type\": \"float\", \"low\": 0, \"high\": 1},\n"
    " {\"name\": \"y\", \"type\": \"float\", \"low\": 0, \"high\": 1, \"log\": false}\n"
    "]}\n";

/* The same curve in C and in the child's awk program. */
static int curve(fresh_trial *t, void *user)
{
    (void)user;
    double x = fresh_trial_float(t, "x"), y = fresh_trial_float(t, "y");
    double b = fresh_trial_budget(t);
    for (double e = fresh_trial_resume_from(t) + 1; e <= b; e += 1)
        if (!fresh_trial_report(t, e, (x - 0.3) * (x - 0.3) + (y - 0.7) * (y - 0.7) + 1 / e))
            break;
    return 0;
}

static const char awk_prog[] =
    "BEGIN { for (e = r + 1; e <= b; e++) "
    "printf \"fresh-report step=%d loss=%.17g\\n\", e, (x - 0.3) * (x - 0.3) + (y - 0.7) * (y - 0.7) + 1 / e }";

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s FRESH WORKDIR\n", argv[0]);
        return 2;
    }
    const char *fresh = argv[1], *dir = argv[2];
    char space_path[4096], db_c[4096], db_run[4096], runs[4096];
    snprintf(space_path, sizeof space_path, "%s/space.json", dir);
    snprintf(db_c, sizeof db_c, "%s/inproc.db", dir);
    snprintf(db_run, sizeof db_run, "%s/run.db", dir);
    snprintf(runs, sizeof runs, "%s/runs", dir);
    remove(db_c);
    remove(db_run);
    FILE *f = fopen(space_path, "w");
    if (!f || fputs(space_json, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", space_path);
        return 1;
    }

    /* in process */
    fresh_space *sp = fresh_space_create();
    if (fresh_space_read_file(sp, space_path) != FRESH_OK) {
        fprintf(stderr, "%s\n", fresh_space_errmsg(sp));
        return 1;
    }
    fresh_study_params p = fx_params(); /* budgets 1..9, eta 3, 1 worker */
    p.seed = 7;
    p.max_brackets = 4;
    fresh_study *a = fresh_study_create(sp, &p, NULL, NULL, 0);
    if (!a || fresh_study_optimize(a, curve, NULL) != FRESH_BRACKETS_DONE) {
        fprintf(stderr, "in-process study failed\n");
        return 1;
    }

    /* the same through fresh run */
    char *args[] = {(char *)fresh, "run", "--space", space_path, "--min-budget", "1",
                    "--max-budget", "9", "--eta", "3", "--workers", "1", "--seed", "7",
                    "--brackets", "4", "--storage", db_run, "--runs-dir", runs, "--quiet", "--",
                    "awk", "-v", "x={x}", "-v", "y={y}", "-v", "b={budget}", "-v", "r={resume_from}",
                    (char *)awk_prog, NULL};
    pid_t pid;
    if (posix_spawn(&pid, fresh, NULL, NULL, args, environ) != 0) {
        perror("posix_spawn");
        return 1;
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fresh run failed (status %d)", status);
    fresh_space *sp2 = NULL;
    char err[512];
    fresh_study *b = fresh_study_open_snapshot(db_run, &sp2, NULL, err, sizeof err);
    if (!b) {
        fprintf(stderr, "cannot open %s: %s\n", db_run, err);
        return 1;
    }

    size_t nc = fresh_study_n_configs(a), nj = fresh_study_n_jobs(a);
    CHECK(nc == fresh_study_n_configs(b), "configs: %zu in process, %zu by fresh run", nc,
          fresh_study_n_configs(b));
    CHECK(nj == fresh_study_n_jobs(b), "jobs: %zu in process, %zu by fresh run", nj,
          fresh_study_n_jobs(b));
    for (size_t i = 0; i < nc && i < fresh_study_n_configs(b); i++)
        CHECK(fresh_space_equal(sp, fresh_study_config(a, i), fresh_study_config(b, i)),
              "config %zu differs", i);
    size_t stopped = 0, continued = 0;
    for (size_t i = 0; i < nj && i < fresh_study_n_jobs(b); i++) {
        fresh_job_info ja, jb;
        fresh_study_job(a, i, &ja);
        fresh_study_job(b, i, &jb);
        CHECK(ja.config_id == jb.config_id && ja.budget == jb.budget &&
                  ja.resume_from == jb.resume_from && ja.status == jb.status &&
                  ja.reached == jb.reached && ja.n_reports == jb.n_reports,
              "job %zu: config %" PRIu64 "/%" PRIu64 " budget %g/%g status %d/%d reached %g/%g "
              "reports %zu/%zu (%s)",
              i, ja.config_id, jb.config_id, ja.budget, jb.budget, ja.status, jb.status,
              ja.reached, jb.reached, ja.n_reports, jb.n_reports, jb.message);
        CHECK(ja.loss == jb.loss, "job %zu: loss %.17g in process, %.17g by fresh run", i, ja.loss,
              jb.loss);
        stopped += ja.status == FRESH_JOB_STOPPED;
        continued += ja.resume_from > 0;
    }
    /* the comparison covers early stopping and continuation */
    CHECK(stopped > 0, "no job was stopped early: the test does not cover early stopping");
    CHECK(continued > 0, "no job continued a configuration");
    uint64_t ia, ib;
    double la, lb, ba, bb;
    CHECK(fresh_study_incumbent(a, &ia, &la, &ba, NULL) == FRESH_OK &&
              fresh_study_incumbent(b, &ib, &lb, &bb, NULL) == FRESH_OK && ia == ib && la == lb &&
              ba == bb,
          "incumbents differ");
    printf("%zu configurations, %zu jobs (%zu stopped early, %zu continued): identical\n", nc, nj,
           stopped, continued);
    fresh_study_destroy(a);
    fresh_study_destroy(b);
    fresh_space_destroy(sp);
    fresh_space_destroy(sp2);
    return failures ? 1 : 0;
}
