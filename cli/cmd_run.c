/*
 * cmd_run.c - `fresh run`: tune any program. Each job of the study runs the
 * user's command as a child process; its reports come back on standard
 * output (`fresh-report step=3 loss=0.41`), the study stops it early with
 * SIGTERM (then SIGKILL), and a promoted configuration continues from what
 * the program saved in its trial directory. docs/run.md is the user's
 * guide.
 *
 * DESIGN
 * The study runs on the in-process pool (fresh_study_optimize) with an
 * objective that starts and supervises one child (run_proc.c), so early
 * stopping, promotions, the study file and resume work as for a C
 * objective. The objective runs on a worker thread: it only expands the
 * command (run_template.c), writes the configuration file, and turns the
 * child's lines and exit into fresh_trial_report/set_loss/fail calls. The
 * owner thread prints progress and removes the trial directories of
 * brackets that have finished (on_job). A thread of its own waits for
 * SIGINT/SIGTERM (every other thread blocks them) and asks the study to
 * stop; a second signal kills the children at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fresh/study.h"
#include "internal.h" /* fresh__grow */
#include "run.h"
#ifdef FRESH_HAVE_MPI
#include "fresh/mpi.h"
#endif

extern char **environ;

static const char run_usage[] =
    "usage: fresh run --space FILE [--min-budget B] [--max-budget B] [--eta N]\n"
    "                 (--budget MBE | --brackets N | --wall-time SEC) [--workers W]\n"
    "                 [--gpus LIST | --slot-env VAR=LIST] [--storage FILE [--resume]]\n"
    "                 [--seed S] [--job-time-limit SEC] [--stop-grace SEC]\n"
    "                 [--runs-dir DIR] [--keep-runs] [--max-paused N] [--paper-promotions]\n"
    "                 [--max-open-brackets N] [--quiet] [--mpi]\n"
    "                 -- COMMAND [ARGS...]\n"
    "\n"
    "Tunes any program: each job runs COMMAND as a child process (no shell unless\n"
    "you write sh -c '...'), with placeholders filled in, and reads its reports,\n"
    "lines 'fresh-report step=S loss=L' on standard output (docs/run.md).\n"
    "\n"
    "placeholders (in any word of COMMAND; a word naming an inactive parameter is\n"
    "left out, with the option word before it when the word is only that):\n"
    "  {NAME}          the value of parameter NAME of the space\n"
    "  {budget}        the budget to train up to (e.g. epochs)\n"
    "  {resume_from}   the budget this configuration reached before (0 if new)\n"
    "  {trial_dir}     the configuration's directory: save checkpoints there\n"
    "  {config}        a JSON file with the configuration\n"
    "  {config_id} {job_id} {seed} {worker}\n"
    "The same values are in the environment: FRESH_BUDGET, FRESH_RESUME_FROM,\n"
    "FRESH_TRIAL_DIR, FRESH_CONFIG, FRESH_CONFIG_ID, FRESH_JOB_ID, FRESH_SEED,\n"
    "FRESH_WORKER and FRESH_PARAM_<name> for each active parameter.\n"
    "\n"
    "  --space FILE          search space (fresh or ConfigSpace JSON)\n"
    "  --min-budget B        smallest budget (default 1)\n"
    "  --max-budget B        largest budget (default 81)\n"
    "  --eta N               Hyperband's reduction factor, integer >= 2 (default 3)\n"
    "  --budget MBE          stop starting jobs once MBE max-budget equivalents are\n"
    "                        spent\n"
    "  --brackets N          stop after N Hyperband brackets\n"
    "  --wall-time SEC       stop (running jobs too) after SEC seconds\n"
    "  --workers W           jobs at a time (default 1, or one per --gpus entry)\n"
    "  --gpus LIST           worker slot i gets CUDA_VISIBLE_DEVICES=LIST[i]\n"
    "                        (0,1,2,3; repeat an entry to share a GPU)\n"
    "  --slot-env VAR=LIST   the same for any variable (may be repeated)\n"
    "  --storage FILE        record the study in a SQLite study file\n"
    "  --resume              continue the study in FILE (same command and space):\n"
    "                        jobs cut short run again from their trial directory\n"
    "  --seed S              the optimizer's seed (default 0), also {seed}\n"
    "  --job-time-limit SEC  a job running longer is stopped and fails\n"
    "  --stop-grace SEC      time between SIGTERM and SIGKILL (default 10)\n"
    "  --runs-dir DIR        where trial directories go (default FILE.runs next to\n"
    "                        the study file, else a new fresh-runs-XXXXXX)\n"
    "  --keep-runs           keep every trial directory (default: those of finished\n"
    "                        configurations are removed, except the incumbent's)\n"
    "  --sampler S           auto (default: gp or bohb by the space), gp, bohb, tpe\n"
    "                        or random (as fresh bench)\n"
    "  --scheduler S         adaptive (default), hyperband, sh, none, asha or\n"
    "                        async-hyperband or async-adaptive (docs/algorithms.md)\n"
    "  --no-early-stopping   let every job of a stage reach its budget\n"
    "  --max-paused N        asynchronous schedulers: at most N paused configurations\n"
    "                        per rung stay promotable, the others are retired and\n"
    "                        their directories removed (default: no limit, every\n"
    "                        paused checkpoint is kept until the study ends)\n"
    "  --paper-promotions    asynchronous schedulers: ASHA's promotion rule as\n"
    "                        published (default: at most 1/eta of a rung promoted)\n"
    "  --max-open-brackets N synchronous schedulers: at most N brackets open at a time\n"
    "                        (default: no limit, a new bracket fills idle workers;\n"
    "                        1 is textbook Hyperband, fewer directories, idle workers)\n"
    "  --quiet               no line per finished job on standard error\n"
    "  --mpi                 run over MPI (mpirun -n N+1 fresh run --mpi ...): rank 0\n"
    "                        schedules and keeps the study file, the N other ranks run\n"
    "                        one job at a time each; --gpus LIST is per machine (the\n"
    "                        i-th evaluating rank of a machine gets entry i mod its\n"
    "                        length); --runs-dir should be on a shared filesystem\n"
    "                        (docs/mpi.md)\n"
    "\n"
    "Exit status: 0 done, 1 failed, 2 bad usage, 130/143 interrupted (resumable\n"
    "with --resume when --storage was given).\n";

#define MAX_SLOT_ENV 8

/* ---- shared state ---- */

typedef struct run_ctx {
    const fresh_space *space;
    size_t dim;
    run_template *tp;
    char *prog;              /* resolved program path */
    char **base_env;         /* environ without the variables fresh sets */
    size_t n_base_env;
    char *runs_dir;
    double stop_grace;
    int keep_runs, quiet;
    const char *module_dir;  /* directory of fresh_report.py, or NULL */
    const char *python_path; /* the caller's PYTHONPATH, or NULL */
    size_t workers;
    int mpi_rank;            /* this process's rank with --mpi, else -1 */
    int mpi_slot;            /* --mpi: the slot list entry of this rank */
    size_t n_slot_env;
    char *slot_name[MAX_SLOT_ENV];
    char **slot_values[MAX_SLOT_ENV]; /* workers entries each */
    /* owner thread only */
    unsigned char *dir_state; /* [config id]: DIR_UNSEEN, DIR_LIVE, DIR_REMOVED */
    size_t n_known, cap_known;
    uint64_t *live;           /* configurations whose directories are live */
    size_t n_live, cap_live;
    size_t jobs_seen, failed_seen, completed_seen;
    char last_failure[300];
    double t0;
} run_ctx;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_num(double x, char *buf, size_t len)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

/* ---- one job (worker thread) ---- */

typedef struct job_ctx {
    run_ctx *rc;
    fresh_trial *t;
    char budget[32], resume_from[32], config_id[24], job_id[24], seed[24], worker[16];
    char trial_dir[4096], config_path[4200], log_path[4200];
    char **values;           /* per parameter, NULL when inactive */
    size_t line_no;
    size_t n_reports;
    int final_seen;
    int bad_line;            /* an unreadable report line failed the job */
    int stopped;             /* a stop was decided: later reports are not counted */
} job_ctx;

static const char *lookup(void *user, const char *name)
{
    job_ctx *jc = user;
    if (!strcmp(name, "budget"))
        return jc->budget;
    if (!strcmp(name, "resume_from"))
        return jc->resume_from;
    if (!strcmp(name, "trial_dir"))
        return jc->trial_dir;
    if (!strcmp(name, "config"))
        return jc->config_path;
    if (!strcmp(name, "config_id"))
        return jc->config_id;
    if (!strcmp(name, "job_id"))
        return jc->job_id;
    if (!strcmp(name, "seed"))
        return jc->seed;
    if (!strcmp(name, "worker"))
        return jc->worker;
    int i = fresh_space_index(jc->rc->space, name);
    return i >= 0 ? jc->values[i] : NULL;
}

/* Parses a number token "key=value" whose key is already matched. */
static int parse_num(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    *out = strtod(buf, &end);
    return *end == '\0' ? 0 : -1;
}

static void fail_line(job_ctx *jc, const char *why, const char *line, size_t len)
{
    char msg[256];
    snprintf(msg, sizeof msg, "unreadable report line %zu (%s): '%.*s'", jc->line_no, why,
             (int)(len > 120 ? 120 : len), line);
    fresh_trial_fail(jc->t, msg);
    jc->bad_line = 1;
}

#define REPORT_PREFIX "fresh-report"

/* A line of the child's standard output: a report, or text for the log. */
static int on_line(void *user, const char *line, size_t len, int truncated)
{
    job_ctx *jc = user;
    jc->line_no++;
    size_t pl = sizeof REPORT_PREFIX - 1;
    if (len < pl || memcmp(line, REPORT_PREFIX, pl) != 0 ||
        (len > pl && line[pl] != ' ' && line[pl] != '\t'))
        return 0; /* not a report: it only goes to the log */
    /* after the stop decision the lines only go to the log: how many more a
     * program prints before SIGTERM lands is a matter of timing, and the
     * study must not depend on it */
    if (jc->bad_line || jc->stopped)
        return 1;
    if (truncated) {
        fail_line(jc, "longer than 64 KiB", line, len);
        return 1;
    }
    int has_step = 0, has_loss = 0, final = 0, fail = 0;
    double step = NAN, loss = NAN;
    size_t i = pl;
    while (i < len) {
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i >= len)
            break;
        size_t j = i;
        while (j < len && line[j] != ' ' && line[j] != '\t')
            j++;
        const char *tok = line + i;
        size_t tl = j - i;
        if (tl == 4 && !memcmp(tok, "fail", 4)) {
            fail = 1;
            i = j;
            break;
        } else if (tl == 5 && !memcmp(tok, "final", 5)) {
            final = 1;
        } else if (tl > 5 && !memcmp(tok, "step=", 5)) {
            if (parse_num(tok + 5, tl - 5, &step)) {
                fail_line(jc, "step is not a number", line, len);
                return 1;
            }
            has_step = 1;
        } else if (tl > 5 && !memcmp(tok, "loss=", 5)) {
            if (parse_num(tok + 5, tl - 5, &loss)) {
                fail_line(jc, "loss is not a number", line, len);
                return 1;
            }
            has_loss = 1;
        } else {
            fail_line(jc, "unknown field", line, len);
            return 1;
        }
        i = j;
    }
    if (fail) {
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        char msg[256];
        snprintf(msg, sizeof msg, "the program reported a failure: %.*s",
                 (int)(len - i > 200 ? 200 : len - i), line + i);
        fresh_trial_fail(jc->t, msg);
        jc->bad_line = 1;
        return 1;
    }
    if (!has_loss) {
        fail_line(jc, "no loss=", line, len);
        return 1;
    }
    if (final) {
        if (has_step && !fresh_trial_report(jc->t, step, loss))
            return jc->stopped = 1;
        fresh_trial_set_loss(jc->t, loss);
        jc->final_seen = 1;
        return !isfinite(loss);
    }
    if (!has_step) {
        fail_line(jc, "no step= (write 'final' for a final loss)", line, len);
        return 1;
    }
    jc->n_reports++;
    if (fresh_trial_report(jc->t, step, loss))
        return 0;
    return jc->stopped = 1;
}

static int should_stop(void *user)
{
    job_ctx *jc = user;
    if (fresh_trial_should_stop(jc->t))
        jc->stopped = 1;
    return jc->stopped;
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int write_file(const char *path, const char *text)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (fclose(f) != 0 || !ok) {
        unlink(tmp);
        return -1;
    }
    return rename(tmp, path);
}

static char *env_entry(const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 2;
    char *e = malloc(n);
    if (e)
        snprintf(e, n, "%s=%s", name, value);
    return e;
}

/* The child's environment: the base plus this job's variables. */
static char **job_env(job_ctx *jc)
{
    run_ctx *rc = jc->rc;
    size_t cap = rc->n_base_env + rc->dim + rc->n_slot_env + 16;
    char **env = calloc(cap, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < rc->n_base_env; i++)
        if (!(env[k++] = strdup(rc->base_env[i])))
            goto fail;
    struct {
        const char *n, *v;
    } fixed[] = {{"FRESH_BUDGET", jc->budget},       {"FRESH_RESUME_FROM", jc->resume_from},
                 {"FRESH_TRIAL_DIR", jc->trial_dir}, {"FRESH_CONFIG", jc->config_path},
                 {"FRESH_CONFIG_ID", jc->config_id}, {"FRESH_JOB_ID", jc->job_id},
                 {"FRESH_SEED", jc->seed},           {"FRESH_WORKER", jc->worker}};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (!(env[k++] = env_entry(fixed[i].n, fixed[i].v)))
            goto fail;
    for (size_t i = 0; i < rc->dim; i++) {
        if (!jc->values[i])
            continue;
        fresh_param_info info;
        fresh_space_param(rc->space, i, &info);
        char name[300] = "FRESH_PARAM_";
        size_t p = strlen(name);
        for (const char *c = info.name; *c && p < sizeof name - 1; c++)
            name[p++] = (char)((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                                       (*c >= '0' && *c <= '9')
                                   ? *c
                                   : '_');
        name[p] = '\0';
        if (!(env[k++] = env_entry(name, jc->values[i])))
            goto fail;
    }
    int w = rc->mpi_rank >= 0 ? rc->mpi_slot : fresh_trial_worker(jc->t);
    for (size_t i = 0; i < rc->n_slot_env; i++)
        if (w >= 0 && !(env[k++] = env_entry(rc->slot_name[i], rc->slot_values[i][w])))
            goto fail;
    if (rc->module_dir) {
        char file[4200];
        snprintf(file, sizeof file, "%s/fresh_report.py", rc->module_dir);
        if (!(env[k++] = env_entry("FRESH_REPORT_MODULE", file)))
            goto fail;
        /* appended: a fresh_report the program brings itself comes first */
        char *pp;
        if (rc->python_path && *rc->python_path) {
            size_t n = strlen(rc->python_path) + strlen(rc->module_dir) + 2;
            pp = malloc(n);
            if (pp)
                snprintf(pp, n, "%s:%s", rc->python_path, rc->module_dir);
        } else {
            pp = strdup(rc->module_dir);
        }
        if (!pp || !(env[k++] = env_entry("PYTHONPATH", pp))) {
            free(pp);
            goto fail;
        }
        free(pp);
    }
    env[k] = NULL;
    return env;
fail:
    run_argv_free(env);
    return NULL;
}

/* The failure message: what happened, then the last lines of stderr. */
static void fail_with_tail(fresh_trial *t, const char *what, const run_child_result *r)
{
    char tail[200], msg[256];
    run_tail_lines(r->tail, r->n_tail, 3, tail, sizeof tail);
    if (tail[0])
        snprintf(msg, sizeof msg, "%s; stderr: %s", what, tail);
    else
        snprintf(msg, sizeof msg, "%s (nothing on stderr)", what);
    fresh_trial_fail(t, msg);
}

static int run_objective(fresh_trial *t, void *user)
{
    run_ctx *rc = user;
    job_ctx jc;
    memset(&jc, 0, sizeof jc);
    jc.rc = rc;
    jc.t = t;
    char msg[256];
    char **argv = NULL, **envp = NULL;
    fmt_num(fresh_trial_budget(t), jc.budget, sizeof jc.budget);
    fmt_num(fresh_trial_resume_from(t), jc.resume_from, sizeof jc.resume_from);
    snprintf(jc.config_id, sizeof jc.config_id, "%" PRIu64, fresh_trial_config_id(t));
    snprintf(jc.job_id, sizeof jc.job_id, "%" PRIu64, fresh_trial_job_id(t));
    snprintf(jc.seed, sizeof jc.seed, "%" PRIu64, fresh_trial_seed(t));
    /* over MPI the worker is the evaluating rank's number, 0 .. ranks-2 */
    snprintf(jc.worker, sizeof jc.worker, "%d",
             rc->mpi_rank >= 0 ? rc->mpi_rank - 1 : fresh_trial_worker(t));
    snprintf(jc.trial_dir, sizeof jc.trial_dir, "%s/config-%s", rc->runs_dir, jc.config_id);
    snprintf(jc.config_path, sizeof jc.config_path, "%s/config.json", jc.trial_dir);
    snprintf(jc.log_path, sizeof jc.log_path, "%s/job-%s.log", jc.trial_dir, jc.job_id);
    jc.values = calloc(rc->dim, sizeof *jc.values);
    if (!jc.values) {
        fresh_trial_fail(t, "out of memory");
        return 0;
    }
    const double *x = fresh_trial_values(t);
    for (size_t i = 0; i < rc->dim; i++) {
        if (isnan(x[i]))
            continue;
        char buf[512];
        run_format_value(rc->space, i, x[i], buf, sizeof buf);
        if (!(jc.values[i] = strdup(buf))) {
            fresh_trial_fail(t, "out of memory");
            goto done;
        }
    }
    if (mkdir_p(jc.trial_dir) != 0) {
        snprintf(msg, sizeof msg, "cannot create trial directory '%.150s': %s", jc.trial_dir,
                 strerror(errno));
        fresh_trial_fail(t, msg);
        goto done;
    }
    char *json = NULL;
    if (fresh_space_config_to_json(rc->space, x, &json) != FRESH_OK ||
        write_file(jc.config_path, json) != 0) {
        snprintf(msg, sizeof msg, "cannot write '%.150s': %s", jc.config_path,
                 json ? strerror(errno) : "out of memory");
        free(json);
        fresh_trial_fail(t, msg);
        goto done;
    }
    free(json);
    argv = run_template_expand(rc->tp, lookup, &jc);
    envp = argv ? job_env(&jc) : NULL;
    if (!argv || !envp) {
        fresh_trial_fail(t, "out of memory");
        goto done;
    }
    run_child_opts o = {rc->prog, argv, envp, jc.log_path, rc->stop_grace, on_line, should_stop,
                        &jc};
    run_child_result r;
    if (run_child(&o, &r) != 0) {
        snprintf(msg, sizeof msg, "cannot run '%s': %s", argv[0], strerror(r.err));
        fresh_trial_fail(t, msg);
        goto done;
    }
    if (jc.bad_line)
        goto done; /* the job already failed with the line */
    if (r.stop_sent || jc.stopped)
        goto done; /* asked to stop: stopped (or timed out), charged its last report */
    if (r.signaled) {
        snprintf(msg, sizeof msg, "killed by signal %d (%s)", r.signal, strsignal(r.signal));
        fail_with_tail(t, msg, &r);
    } else if (r.exited && r.status != 0) {
        snprintf(msg, sizeof msg, "exit status %d", r.status);
        fail_with_tail(t, msg, &r);
    } else if (jc.n_reports == 0 && !jc.final_seen) {
        fail_with_tail(t, "exit status 0 without a loss (no 'fresh-report' line on stdout)", &r);
    } else if (r.log_failed) {
        snprintf(msg, sizeof msg, "cannot write the log '%.150s': %s", jc.log_path,
                 strerror(r.log_err));
        fresh_trial_fail(t, msg);
    }
done:
    run_argv_free(argv);
    run_argv_free(envp);
    for (size_t i = 0; i < rc->dim; i++)
        free(jc.values[i]);
    free(jc.values);
    return 0;
}

/* ---- trial directories (owner thread) ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* dir_state values: the configuration's directory is... */
enum { DIR_UNSEEN = 0, DIR_LIVE = 1, DIR_REMOVED = 2 };

static void remove_config_dir(run_ctx *rc, uint64_t cid)
{
    if (rc->keep_runs || cid >= rc->n_known || rc->dir_state[cid] == DIR_REMOVED)
        return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/config-%" PRIu64, rc->runs_dir, cid);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    rc->dir_state[cid] = DIR_REMOVED;
}

static const char *status_word(fresh_job_status st)
{
    switch (st) {
    case FRESH_JOB_COMPLETED: return "completed";
    case FRESH_JOB_STOPPED: return "stopped early";
    case FRESH_JOB_FAILED: return "FAILED";
    default: return "running";
    }
}

/* Remembers configuration cid (its directory is live until removed). 0,
 * or -1 when out of memory (its directory is then kept). */
static int note_config(run_ctx *rc, uint64_t cid)
{
    size_t had = rc->cap_known;
    if (fresh__grow((void **)&rc->dir_state, &rc->cap_known, cid + 1, 1) != FRESH_OK)
        return -1;
    memset(rc->dir_state + had, DIR_UNSEEN, rc->cap_known - had);
    if (rc->dir_state[cid] == DIR_UNSEEN) {
        if (fresh__grow((void **)&rc->live, &rc->cap_live, rc->n_live + 1, sizeof *rc->live) !=
            FRESH_OK)
            return -1;
        rc->live[rc->n_live++] = cid;
        rc->dir_state[cid] = DIR_LIVE;
    }
    if (cid + 1 > rc->n_known)
        rc->n_known = cid + 1;
    return 0;
}

/* Removes the directories that no job will need again: those of the
 * configurations the study says are finished (fresh_study_config_finished:
 * their bracket is over, or, with an asynchronous scheduler, they reached
 * the top rung, failed or were retired), but the incumbent's. A former
 * incumbent's goes once it is finished too. O(live directories): 0.23 % of
 * a 4,840-job ASHA run with 3,200 live ones (docs/benchmarks.md). */
static void clean_dirs(run_ctx *rc, const fresh_study *s)
{
    if (rc->keep_runs)
        return;
    uint64_t inc = 0;
    int has_inc = fresh_study_incumbent(s, &inc, NULL, NULL, NULL) == FRESH_OK;
    size_t k = 0;
    for (size_t i = 0; i < rc->n_live; i++) {
        uint64_t c = rc->live[i];
        if (!(has_inc && c == inc) && fresh_study_config_finished(s, c)) {
            remove_config_dir(rc, c);
            continue;
        }
        rc->live[k++] = c;
    }
    rc->n_live = k;
}

/* After a resume: learn the recorded jobs (on_job is not called for
 * them) and tidy what finished configurations left. */
static void learn_recorded(run_ctx *rc, const fresh_study *s)
{
    size_t n = fresh_study_n_jobs(s);
    fresh_job_info ji;
    for (size_t i = 0; i < n; i++)
        if (fresh_study_job(s, i, &ji) == FRESH_OK)
            note_config(rc, ji.config_id);
    clean_dirs(rc, s);
}

static void on_job(const fresh_study *s, const fresh_job_info *job, void *user)
{
    run_ctx *rc = user;
    uint64_t cid = job->config_id;
    int known = note_config(rc, cid) == 0;
    rc->jobs_seen++;
    if (job->status == FRESH_JOB_FAILED) {
        rc->failed_seen++;
        snprintf(rc->last_failure, sizeof rc->last_failure, "%s", job->message);
    } else if (job->status == FRESH_JOB_COMPLETED) {
        rc->completed_seen++;
    }
    if (!rc->quiet) {
        char from[40] = "";
        if (job->resume_from > 0)
            snprintf(from, sizeof from, " (from %g)", job->resume_from);
        fprintf(stderr, "[%7.1f s] job %" PRIu64 ": config %" PRIu64 ", budget %g%s: ",
                now_s() - rc->t0, job->job_id, cid, job->budget, from);
        if (job->status == FRESH_JOB_FAILED)
            fprintf(stderr, "FAILED: %s\n", job->message);
        else if (isfinite(job->loss))
            fprintf(stderr, "loss %.6g, %s at %g\n", job->loss, status_word(job->status),
                    job->reached);
        else
            fprintf(stderr, "%s before any report\n", status_word(job->status));
    }
    if (known)
        clean_dirs(rc, s);
}

/* ---- signals ---- */

static fresh_study *_Atomic sig_study;
static atomic_int sig_count, sig_last;
static int sig_quiet; /* an evaluating rank: rank 0 tells the user and stops the jobs */

static void *signal_thread(void *arg)
{
    sigset_t *set = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGUSR2)
            return NULL; /* the run is over */
        int n = atomic_fetch_add(&sig_count, 1) + 1;
        atomic_store(&sig_last, sig);
        if (n == 1 && sig_quiet) {
            continue;
        } else if (n == 1) {
            fprintf(stderr, "\nfresh run: %s: stopping the running jobs (SIGTERM, then SIGKILL "
                            "after the grace; interrupt again to kill them now)\n",
                    sig == SIGINT ? "interrupted" : "terminated");
            fresh_study_force_stop(atomic_load(&sig_study));
        } else {
            run_proc_hurry();
        }
    }
}

/* ---- options ---- */

/* Splits "a,b,c" into a NULL-terminated array of words. */
static char **split_list(const char *s, size_t *n)
{
    size_t cap = 2;
    for (const char *c = s; *c; c++)
        cap += *c == ',';
    char **v = calloc(cap, sizeof *v);
    if (!v)
        return NULL;
    *n = 0;
    const char *p = s;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (!(v[*n] = strndup(p, len))) {
            run_argv_free(v);
            return NULL;
        }
        (*n)++;
        if (!c)
            break;
        p = c + 1;
    }
    return v;
}

/* The directory of fresh_report.py: FRESH_REPORT_MODULE (the file) when
 * set, else the source tree's python/, else the installed copy. */
static const char *find_module_dir(void)
{
    static char from_env[4096];
    static const char *const dirs[] = {
#ifdef FRESH_SOURCE_DIR
        FRESH_SOURCE_DIR "/python",
#endif
#ifdef FRESH_PYTHON_INSTALL_DIR
        FRESH_PYTHON_INSTALL_DIR,
#endif
        NULL};
    const char *env = getenv("FRESH_REPORT_MODULE");
    if (env && *env && access(env, R_OK) == 0) {
        snprintf(from_env, sizeof from_env, "%s", env);
        char *slash = strrchr(from_env, '/');
        if (!slash)
            return ".";
        *slash = '\0';
        return from_env[0] ? from_env : "/";
    }
    for (size_t i = 0; dirs[i]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/fresh_report.py", dirs[i]);
        if (access(path, R_OK) == 0)
            return dirs[i];
    }
    return NULL;
}

static int is_set_by_fresh(const char *entry, const run_ctx *rc)
{
    static const char *const names[] = {"FRESH_BUDGET", "FRESH_RESUME_FROM", "FRESH_TRIAL_DIR",
                                        "FRESH_CONFIG", "FRESH_CONFIG_ID", "FRESH_JOB_ID",
                                        "FRESH_SEED", "FRESH_WORKER", NULL};
    size_t n = strcspn(entry, "=");
    for (size_t i = 0; names[i]; i++)
        if (strlen(names[i]) == n && !strncmp(entry, names[i], n))
            return 1;
    if (!strncmp(entry, "FRESH_PARAM_", 12))
        return 1;
    if (rc->module_dir && ((n == 10 && !strncmp(entry, "PYTHONPATH", 10)) ||
                           (n == 19 && !strncmp(entry, "FRESH_REPORT_MODULE", 19))))
        return 1;
    for (size_t i = 0; i < rc->n_slot_env; i++)
        if (strlen(rc->slot_name[i]) == n && !strncmp(entry, rc->slot_name[i], n))
            return 1;
    return 0;
}

static int build_base_env(run_ctx *rc)
{
    size_t n = 0;
    for (char **e = environ; *e; e++)
        n++;
    rc->base_env = calloc(n + 2, sizeof *rc->base_env);
    if (!rc->base_env)
        return -1;
    int unbuffered = 0;
    for (char **e = environ; *e; e++) {
        if (is_set_by_fresh(*e, rc))
            continue;
        if (!strncmp(*e, "PYTHONUNBUFFERED=", 17))
            unbuffered = 1;
        if (!(rc->base_env[rc->n_base_env++] = strdup(*e)))
            return -1;
    }
    /* reports must not wait in a Python pipe buffer */
    if (!unbuffered && !(rc->base_env[rc->n_base_env++] = strdup("PYTHONUNBUFFERED=1")))
        return -1;
    return 0;
}

static int dir_has_runs(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config-0", dir);
    return access(path, F_OK) == 0;
}

/* Starts the watchdog and blocks SIGINT/SIGTERM/SIGUSR2 in this thread
 * (every thread created later inherits the mask; the signal thread waits
 * for them). Call before any thread exists. 0, or -1 with a message. */
static int supervise(double grace, sigset_t *sigs, sigset_t *old_mask)
{
    signal(SIGPIPE, SIG_IGN);
    if (run_watchdog_start(grace) != 0) {
        fprintf(stderr, "fresh run: cannot start the watchdog process: %s\n", strerror(errno));
        return -1;
    }
    sigemptyset(sigs);
    sigaddset(sigs, SIGINT);
    sigaddset(sigs, SIGTERM);
    sigaddset(sigs, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, sigs, old_mask);
    return 0;
}

/* The study file and the trial directories (the process that owns the
 * study): a resume must run the same command; a new study must not
 * overwrite one. Sets rc->runs_dir. 0, or the exit code after a message. */
static int prepare_runs(run_ctx *rc, const char *storage, const char *runs_dir, int resume,
                        const char *tag)
{
    char err[1024];
    if (resume && access(storage, F_OK) != 0)
        return cli_usage_error("run", "--resume: no study file '%s' (%s); without --resume a new "
                                      "study starts", storage, strerror(errno));
    if (resume) {
        fresh_space *sp2 = NULL;
        int st;
        fresh_study *snap = fresh_study_open_snapshot(storage, &sp2, &st, err, sizeof err);
        if (!snap) {
            fprintf(stderr, "fresh run: %s\n", err);
            return CLI_EXIT_FAIL;
        }
        int differs = strcmp(fresh_study_tag(snap), tag) != 0;
        if (differs)
            fprintf(stderr,
                    "fresh run: study file '%s' was run with another command:\n"
                    "  stored: %s\n  given:  %s\n"
                    "resume with the stored command, or start a new study file\n",
                    storage, fresh_study_tag(snap)[0] ? fresh_study_tag(snap) : "(none)", tag);
        fresh_study_destroy(snap);
        fresh_space_destroy(sp2);
        if (differs)
            return CLI_EXIT_USAGE;
    }
    if (runs_dir) {
        rc->runs_dir = strdup(runs_dir);
    } else if (storage) {
        size_t n = strlen(storage) + 6;
        rc->runs_dir = malloc(n);
        if (rc->runs_dir)
            snprintf(rc->runs_dir, n, "%s.runs", storage);
    } else {
        rc->runs_dir = strdup("fresh-runs-XXXXXX");
        if (rc->runs_dir && !mkdtemp(rc->runs_dir)) {
            fprintf(stderr, "fresh run: cannot create a runs directory in '.': %s\n",
                    strerror(errno));
            return CLI_EXIT_FAIL;
        }
    }
    if (!rc->runs_dir) {
        fprintf(stderr, "fresh run: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    if (!resume && storage && access(storage, F_OK) == 0) {
        fprintf(stderr, "fresh run: study file '%s' already exists: continue it with --resume, "
                        "or choose another file\n", storage);
        return CLI_EXIT_USAGE;
    }
    if (!resume && dir_has_runs(rc->runs_dir)) {
        fprintf(stderr, "fresh run: '%s' holds the trial directories of another study: remove it "
                        "or give another --runs-dir\n", rc->runs_dir);
        return CLI_EXIT_USAGE;
    }
    if (mkdir_p(rc->runs_dir) != 0) {
        fprintf(stderr, "fresh run: cannot create '%s': %s\n", rc->runs_dir, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    return 0;
}

#ifdef FRESH_HAVE_MPI
/* ---- --mpi: what the ranks agree on before the study runs ---- */

/* The largest of every rank's exit code (0: all went well). Collective. */
static int mpi_agree(int code)
{
    int worst = 0;
    MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return worst;
}

/* This rank's place among the evaluating ranks of its machine (0, 1, ...),
 * for --gpus/--slot-env. Collective. */
static int mpi_node_slot(int rank)
{
    MPI_Comm node;
    int n = 0, slot = 0;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &n);
    int *ranks = malloc((size_t)n * sizeof *ranks);
    int ok = ranks != NULL, all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, node);
    if (all) {
        MPI_Allgather(&rank, 1, MPI_INT, ranks, 1, MPI_INT, node);
        for (int i = 0; i < n; i++)
            slot += ranks[i] > 0 && ranks[i] < rank;
    } else {
        slot = rank - 1; /* out of memory: the global order */
    }
    free(ranks);
    MPI_Comm_free(&node);
    return slot;
}

/* Rank 0 read the space (status st); the others receive it as JSON, so
 * the space file need only be where rank 0 runs. Returns the status on
 * every rank (rank 0's when it failed). Collective. */
static int mpi_share_space(fresh_space *space, int st, int rank)
{
    char *json = NULL;
    uint64_t len = 0;
    int32_t st0 = st;
    if (rank == 0 && st == FRESH_OK) {
        if (fresh_space_write_json(space, &json) == FRESH_OK)
            len = strlen(json) + 1;
        else
            st0 = FRESH_ENOMEM;
    }
    MPI_Bcast(&st0, 1, MPI_INT32_T, 0, MPI_COMM_WORLD);
    MPI_Bcast(&len, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (st0 != FRESH_OK) {
        free(json);
        return st0;
    }
    int local = FRESH_OK;
    if (rank != 0 && !(json = malloc((size_t)len)))
        local = FRESH_ENOMEM;
    int have = local == FRESH_OK, all = 0;
    MPI_Allreduce(&have, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (all) {
        MPI_Bcast(json, (int)len, MPI_CHAR, 0, MPI_COMM_WORLD);
        if (rank != 0 && space)
            local = fresh_space_read_json_string(space, json, "rank 0's space");
        else if (!space)
            local = FRESH_ENOMEM;
    } else {
        local = FRESH_ENOMEM;
    }
    free(json);
    int worst = local == FRESH_OK ? 0 : 1;
    if (mpi_agree(worst)) {
        if (local != FRESH_OK && rank != 0)
            fprintf(stderr, "fresh run: rank %d: %s\n", rank,
                    space ? fresh_space_errmsg(space) : "out of memory");
        return local != FRESH_OK ? local : FRESH_ENOMEM;
    }
    return FRESH_OK;
}

/* Rank 0 made the runs directory; every rank learns its absolute path
 * and checks that it sees the directory rank 0 made (a marker file): if
 * not, the directory is not shared, and rank 0 warns that configurations
 * continued on another machine start without their checkpoints. 0, or an
 * exit code on every rank. Collective. */
static int mpi_share_runs_dir(run_ctx *rc)
{
    char path[4096] = "", token[64] = "", marker[4200];
    int rank = rc->mpi_rank;
    if (rank == 0) {
        if (!realpath(rc->runs_dir, path))
            snprintf(path, sizeof path, "%s", rc->runs_dir);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(token, sizeof token, "%ld-%ld-%ld", (long)getpid(), (long)ts.tv_sec,
                 (long)ts.tv_nsec);
        snprintf(marker, sizeof marker, "%s/.fresh-mpi-check", path);
        if (write_file(marker, token) != 0)
            token[0] = '\0';
    }
    MPI_Bcast(path, sizeof path, MPI_CHAR, 0, MPI_COMM_WORLD);
    MPI_Bcast(token, sizeof token, MPI_CHAR, 0, MPI_COMM_WORLD);
    int unseen = 0, bad = 0;
    if (rank != 0) {
        char *p = strdup(path);
        if (!p) {
            fprintf(stderr, "fresh run: rank %d: out of memory\n", rank);
            bad = CLI_EXIT_FAIL;
        } else {
            free(rc->runs_dir);
            rc->runs_dir = p;
        }
        char seen[64] = "";
        snprintf(marker, sizeof marker, "%s/.fresh-mpi-check", path);
        FILE *f = token[0] ? fopen(marker, "r") : NULL;
        if (f) {
            if (!fgets(seen, sizeof seen, f))
                seen[0] = '\0';
            fclose(f);
            seen[strcspn(seen, "\n")] = '\0';
        }
        unseen = strcmp(seen, token) != 0 || !token[0];
        if (unseen && mkdir_p(path) != 0) {
            fprintf(stderr, "fresh run: rank %d: cannot create '%s': %s\n", rank, path,
                    strerror(errno));
            bad = CLI_EXIT_FAIL;
        }
    }
    int n_unseen = 0;
    MPI_Reduce(&unseen, &n_unseen, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        unlink(marker);
        if (n_unseen)
            fprintf(stderr,
                    "fresh run: warning: %d of %zu evaluating ranks do not see the runs "
                    "directory '%s' that rank 0 made: each keeps its own, and a configuration "
                    "continued on another machine starts without its checkpoint. Put "
                    "--runs-dir on a filesystem every machine shares (docs/mpi.md)\n",
                    n_unseen, rc->workers, path);
    }
    return mpi_agree(bad);
}
#endif

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"space", required_argument, NULL, 's'},       {"min-budget", required_argument, NULL, 'm'},
        {"max-budget", required_argument, NULL, 'M'},  {"eta", required_argument, NULL, 'e'},
        {"budget", required_argument, NULL, 'b'},      {"brackets", required_argument, NULL, 'B'},
        {"wall-time", required_argument, NULL, 'W'},   {"workers", required_argument, NULL, 'w'},
        {"gpus", required_argument, NULL, 'g'},        {"slot-env", required_argument, NULL, 'E'},
        {"storage", required_argument, NULL, 'o'},     {"resume", no_argument, NULL, 'R'},
        {"seed", required_argument, NULL, 'r'},        {"job-time-limit", required_argument, NULL, 'T'},
        {"stop-grace", required_argument, NULL, 'G'},  {"runs-dir", required_argument, NULL, 'D'},
        {"keep-runs", no_argument, NULL, 'K'},         {"sampler", required_argument, NULL, 'x'},
        {"scheduler", required_argument, NULL, 'X'},   {"no-early-stopping", no_argument, NULL, 'N'},
        {"quiet", no_argument, NULL, 'q'},             {"help", no_argument, NULL, 'h'},
        {"mpi", no_argument, NULL, 'P'},               {"max-paused", required_argument, NULL, 'Y'},
        {"max-open-brackets", required_argument, NULL, 'O'},
        {"paper-promotions", no_argument, NULL, 'A'},
        {NULL, 0, NULL, 0}};
    fresh_study_params p;
    fresh_study_params_default(&p);
    p.seed = 0;
    const char *space_path = NULL, *storage = NULL, *runs_dir = NULL;
    const char *sampler = p.sampler->name, *scheduler = p.scheduler->name; /* the library's */
    long workers = 0, brackets = 0, seed = 0, max_paused = 0, max_open = 0;
    double budget = 0, wall = 0, grace = 10, limit = 0;
    int resume = 0, keep = 0, quiet = 0, workers_given = 0, use_mpi = 0;
    const char *slot_specs[MAX_SLOT_ENV];
    size_t n_slot_specs = 0;
    int c;
    optind = 1;
    while ((c = cli_getopt("run", argc, argv, "+:h", opts)) != -1) {
        switch (c) {
        case 's': space_path = optarg; break;
        case 'm': if (cli_parse_double("run", "min-budget", optarg, &p.min_budget)) return CLI_EXIT_USAGE; break;
        case 'M': if (cli_parse_double("run", "max-budget", optarg, &p.max_budget)) return CLI_EXIT_USAGE; break;
        case 'e': if (cli_parse_double("run", "eta", optarg, &p.eta)) return CLI_EXIT_USAGE; break;
        case 'b': if (cli_parse_double("run", "budget", optarg, &budget)) return CLI_EXIT_USAGE; break;
        case 'B': if (cli_parse_long("run", "brackets", optarg, &brackets)) return CLI_EXIT_USAGE; break;
        case 'W': if (cli_parse_double("run", "wall-time", optarg, &wall)) return CLI_EXIT_USAGE; break;
        case 'w': if (cli_parse_long("run", "workers", optarg, &workers)) return CLI_EXIT_USAGE; workers_given = 1; break;
        case 'g':
        case 'E':
            if (n_slot_specs == MAX_SLOT_ENV)
                return cli_usage_error("run", "at most %d of --gpus/--slot-env", MAX_SLOT_ENV);
            if (c == 'g') {
                static char gbuf[4096];
                snprintf(gbuf, sizeof gbuf, "CUDA_VISIBLE_DEVICES=%s", optarg);
                slot_specs[n_slot_specs++] = gbuf;
            } else {
                slot_specs[n_slot_specs++] = optarg;
            }
            break;
        case 'o': storage = optarg; break;
        case 'R': resume = 1; break;
        case 'r': if (cli_parse_long("run", "seed", optarg, &seed)) return CLI_EXIT_USAGE; break;
        case 'T': if (cli_parse_double("run", "job-time-limit", optarg, &limit)) return CLI_EXIT_USAGE; break;
        case 'G': if (cli_parse_double("run", "stop-grace", optarg, &grace)) return CLI_EXIT_USAGE; break;
        case 'D': runs_dir = optarg; break;
        case 'K': keep = 1; break;
        case 'x': sampler = optarg; break;
        case 'X': scheduler = optarg; break;
        case 'N': p.early_stopping = 0; break;
        case 'q': quiet = 1; break;
        case 'P': use_mpi = 1; break;
        case 'A': p.paper_promotions = 1; break;
        case 'O': if (cli_parse_long("run", "max-open-brackets", optarg, &max_open)) return CLI_EXIT_USAGE; break;
        case 'Y': if (cli_parse_long("run", "max-paused", optarg, &max_paused)) return CLI_EXIT_USAGE; break;
        case 'h': fputs(run_usage, stdout); return 0;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc && !strcmp(argv[optind], "--"))
        optind++;
    if (optind >= argc)
        return cli_usage_error("run", "missing the command to run (after --)");
    int cmd_argc = argc - optind;
    char **cmd_argv = argv + optind;
    if (!space_path)
        return cli_usage_error("run", "missing --space FILE");
    if (budget < 0 || brackets < 0 || wall < 0)
        return cli_usage_error("run", "--budget, --brackets and --wall-time must be >= 0");
    if (budget == 0 && brackets == 0 && wall == 0)
        return cli_usage_error("run", "no stopping criterion: give --budget, --brackets or --wall-time");
    if (cli_check_mpi("run", use_mpi, workers_given))
        return CLI_EXIT_USAGE;
    if (workers_given && (workers < 1 || workers > 4096))
        return cli_usage_error("run", "option '--workers': must be in 1..4096, got %ld", workers);
    if (seed < 0)
        return cli_usage_error("run", "option '--seed': must be >= 0, got %ld", seed);
    if (max_paused < 0)
        return cli_usage_error("run", "option '--max-paused': must be >= 0 (0: no limit), got %ld",
                               max_paused);
    if (max_open < 0)
        return cli_usage_error("run",
                               "option '--max-open-brackets': must be >= 0 (0: no limit), got %ld",
                               max_open);
    if (!(grace >= 0))
        return cli_usage_error("run", "option '--stop-grace': must be >= 0, got %g", grace);
    if (!(limit >= 0))
        return cli_usage_error("run", "option '--job-time-limit': must be >= 0, got %g", limit);
    if (resume && !storage)
        return cli_usage_error("run", "option '--resume' needs '--storage FILE'");
    if (resume && !use_mpi && access(storage, F_OK) != 0)
        return cli_usage_error("run", "--resume: no study file '%s' (%s); without --resume a new "
                                      "study starts", storage, strerror(errno));
    p.sampler = fresh_sampler_find(sampler);
    p.scheduler = fresh_scheduler_find(scheduler);
    if (!p.sampler)
        return cli_usage_error("run", "option '--sampler': unknown sampler '%s'", sampler);
    if (!p.scheduler)
        return cli_usage_error("run", "option '--scheduler': unknown scheduler '%s'", scheduler);
    if ((max_paused > 0 || p.paper_promotions) && !p.scheduler->set_options)
        return cli_usage_error("run", "option '--%s' applies to the asynchronous schedulers "
                                      "(asha, async-hyperband, async-adaptive), not '%s'",
                               max_paused > 0 ? "max-paused" : "paper-promotions",
                               p.scheduler->name);
    p.max_paused = (size_t)max_paused;
    if (max_open > 0 && p.scheduler->asynchronous)
        return cli_usage_error("run", "option '--max-open-brackets' applies to the synchronous "
                                      "schedulers, not '%s'", p.scheduler->name);
    p.max_open_brackets = (size_t)max_open;

    int exit_code = CLI_EXIT_FAIL, bad = 0;
    run_ctx rc;
    memset(&rc, 0, sizeof rc);
    rc.mpi_rank = -1;
    rc.stop_grace = grace;
    rc.keep_runs = keep;
    rc.quiet = quiet;
    fresh_space *space = NULL;
    fresh_study *study = NULL;
    char *tag = NULL;
    char err[1024];
    pthread_t sig_thread;
    int sig_started = 0, supervised = 0, mpi_inited = 0;
    sigset_t sigs, old_mask;
    (void)mpi_inited;

    /* slot variables: one value per worker */
    size_t n_slots = 0;
    for (size_t i = 0; i < n_slot_specs; i++) {
        const char *eq = strchr(slot_specs[i], '=');
        if (!eq || eq == slot_specs[i] || !eq[1]) {
            exit_code = cli_usage_error("run", "option '--slot-env': want VAR=v0,v1,..., got '%s'",
                                        slot_specs[i]);
            goto done;
        }
        size_t n = 0;
        rc.slot_name[i] = strndup(slot_specs[i], (size_t)(eq - slot_specs[i]));
        rc.slot_values[i] = split_list(eq + 1, &n);
        rc.n_slot_env = i + 1;
        if (!rc.slot_name[i] || !rc.slot_values[i]) {
            fprintf(stderr, "fresh run: out of memory\n");
            goto done;
        }
        if (n_slots && n != n_slots) {
            exit_code = cli_usage_error("run", "--gpus/--slot-env lists differ in length (%zu, %zu)",
                                        n_slots, n);
            goto done;
        }
        n_slots = n;
    }
    if (n_slots && workers_given && (size_t)workers != n_slots) {
        exit_code = cli_usage_error("run", "--workers %ld with %zu entries in --gpus/--slot-env: give "
                                           "one entry per worker (repeat one to share it)",
                                    workers, n_slots);
        goto done;
    }
    rc.workers = n_slots && !use_mpi ? n_slots : workers_given ? (size_t)workers : 1;

#ifdef FRESH_HAVE_MPI
    if (use_mpi) {
        /* the watchdog is forked before MPI_Init starts threads */
        if (supervise(grace, &sigs, &old_mask) != 0)
            goto done;
        supervised = 1;
        MPI_Init(NULL, NULL);
        mpi_inited = 1;
        int size = 1;
        MPI_Comm_rank(MPI_COMM_WORLD, &rc.mpi_rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        if (size < 2) {
            fprintf(stderr, "fresh run: --mpi needs at least 2 ranks (rank 0 schedules, the "
                            "others evaluate): mpirun -n N+1 fresh run --mpi ...\n");
            exit_code = CLI_EXIT_USAGE;
            goto done;
        }
        rc.workers = (size_t)size - 1;
        rc.mpi_slot = n_slots ? (int)((size_t)mpi_node_slot(rc.mpi_rank) % n_slots) : 0;
    }
#endif

    /* the space: over MPI rank 0 reads it and sends it to the others */
    space = fresh_space_create();
    int space_rc = space ? FRESH_OK : FRESH_ENOMEM;
    if (space && rc.mpi_rank <= 0)
        space_rc = fresh_space_read_file(space, space_path);
#ifdef FRESH_HAVE_MPI
    if (use_mpi)
        space_rc = mpi_share_space(space, space_rc, rc.mpi_rank);
#endif
    if (space_rc != FRESH_OK) {
        if (rc.mpi_rank <= 0)
            fprintf(stderr, "fresh run: %s\n", space ? fresh_space_errmsg(space) : "out of memory");
        exit_code = space_rc == FRESH_ENOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
        goto done;
    }
    rc.space = space;
    rc.dim = fresh_space_dim(space);

    /* what every process needs to start jobs */
    rc.tp = run_template_create(cmd_argc, cmd_argv, space, err, sizeof err);
    if (!rc.tp) {
        bad = CLI_EXIT_USAGE;
        if (rc.mpi_rank <= 0)
            cli_usage_error("run", "%s", err);
    }
    if (!bad && !(rc.prog = run_resolve(cmd_argv[0], getenv("PATH")))) {
        bad = CLI_EXIT_USAGE;
        if (rc.mpi_rank <= 0)
            cli_usage_error("run", "cannot run '%s': %s", cmd_argv[0], strerror(errno));
        else
            fprintf(stderr, "fresh run: rank %d: cannot run '%s': %s\n", rc.mpi_rank,
                    cmd_argv[0], strerror(errno));
    }
    if (!bad) {
        tag = run_join_quoted(cmd_argc, cmd_argv);
        rc.module_dir = find_module_dir();
        rc.python_path = getenv("PYTHONPATH");
        if (!tag || build_base_env(&rc) != 0) {
            fprintf(stderr, "fresh run: out of memory\n");
            bad = CLI_EXIT_FAIL;
        }
    }
#ifdef FRESH_HAVE_MPI
    if (use_mpi)
        bad = mpi_agree(bad);
#endif
    if (bad) {
        exit_code = bad;
        goto done;
    }

    /* the study file and the trial directories: this process, or rank 0 */
    if (rc.mpi_rank <= 0)
        bad = prepare_runs(&rc, storage, runs_dir, resume, tag);
#ifdef FRESH_HAVE_MPI
    if (use_mpi) {
        bad = mpi_agree(bad);
        if (!bad)
            bad = mpi_share_runs_dir(&rc);
    }
#endif
    if (bad) {
        exit_code = bad;
        goto done;
    }

    if (!supervised) {
        if (supervise(grace, &sigs, &old_mask) != 0)
            goto done;
        supervised = 1;
    }
    p.workers = rc.workers;
    p.seed = (uint64_t)seed;
    p.job_time_limit = limit;
    p.max_total_budget = budget;
    p.max_brackets = brackets;
    p.max_wall_time = wall;
    p.storage = storage;
    p.resume = resume;
    p.tag = tag;
    p.on_job = on_job;
    p.on_job_user = &rc;
    rc.t0 = now_s();
    int st;
    if (rc.mpi_rank <= 0) {
        study = fresh_study_create(space, &p, &st, err, sizeof err);
        if (!study) {
            fprintf(stderr, "fresh run: %s\n", err);
            exit_code = st == FRESH_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
        } else {
            learn_recorded(&rc, study);
            atomic_store(&sig_study, study);
        }
    }
    sig_quiet = rc.mpi_rank > 0; /* over MPI rank 0 speaks for the study */
    if (pthread_create(&sig_thread, NULL, signal_thread, &sigs) == 0)
        sig_started = 1;
    fresh_study_stats stats;
    int end = FRESH_EINVAL;
#ifdef FRESH_HAVE_MPI
    if (use_mpi && rc.mpi_rank > 0) {
        /* an evaluating rank: jobs come from rank 0 until the study ends */
        end = fresh_study_optimize_mpi(NULL, run_objective, &rc, MPI_COMM_WORLD);
        exit_code = end < 0 ? CLI_EXIT_FAIL : 0;
        goto finish;
    }
    if (use_mpi && !study) {
        /* rank 0 gives up: the evaluating ranks return FRESH_EINVAL */
        fresh_study_optimize_mpi(NULL, run_objective, &rc, MPI_COMM_WORLD);
        goto finish;
    }
#endif
    if (!study)
        goto finish;
    fresh_study_get_stats(study, &stats);
    if (!quiet) {
        if (stats.jobs_replayed)
            fprintf(stderr, "fresh run: resumed '%s': %zu jobs recorded, %zu to run again\n",
                    storage, stats.jobs_replayed, stats.jobs_requeued);
        if (use_mpi)
            fprintf(stderr, "fresh run: MPI, %zu evaluating rank%s, trial directories in %s\n",
                    rc.workers, rc.workers == 1 ? "" : "s", rc.runs_dir);
        else
            fprintf(stderr, "fresh run: %zu worker%s, trial directories in %s\n", rc.workers,
                    rc.workers == 1 ? "" : "s", rc.runs_dir);
    }
#ifdef FRESH_HAVE_MPI
    if (use_mpi)
        end = fresh_study_optimize_mpi(study, run_objective, &rc, MPI_COMM_WORLD);
    else
#endif
        end = fresh_study_optimize(study, run_objective, &rc);
    fresh_study_get_stats(study, &stats);
    int interrupted = atomic_load(&sig_count) > 0;
    if (end < 0) {
        fprintf(stderr, "fresh run: %s\n", fresh_study_errmsg(study));
    } else {
        printf("fresh run: %s; %zu jobs (%zu completed, %zu stopped early, %zu failed), "
               "%zu configurations, %.2f MBE used, %.1f s\n",
               fresh_strerror(end), stats.jobs_finished, stats.jobs_completed, stats.jobs_stopped,
               stats.jobs_failed, stats.configs, stats.used_mbe, now_s() - rc.t0);
        uint64_t inc;
        double loss, ib;
        const double *x;
        if (fresh_study_incumbent(study, &inc, &loss, &ib, &x) == FRESH_OK) {
            char params[2048];
            fresh_space_format(space, x, params, sizeof params);
            printf("incumbent: config %" PRIu64 ", loss %.6g at budget %g: %s\n", inc, loss, ib,
                   params);
            printf("  trial directory: %s/config-%" PRIu64 "\n", rc.runs_dir, inc);
        } else {
            printf("no incumbent: no job completed at the largest budget reached\n");
        }
        if (storage)
            printf("study file: %s (fresh show %s)\n", storage, storage);
        exit_code = 0;
        if (!interrupted && rc.jobs_seen > 0 && rc.completed_seen == 0 &&
            rc.failed_seen == rc.jobs_seen) {
            fprintf(stderr, "fresh run: every job failed; the last one: %s\n", rc.last_failure);
            exit_code = CLI_EXIT_FAIL;
        }
    }
    if (interrupted) {
        int sig = atomic_load(&sig_last);
        if (storage) {
            /* saved, cut short (run again on resume), and the command that
             * resumes: the options with --resume, then the command */
            fprintf(stderr, "fresh run: interrupted (%s): %zu finished jobs are saved in %s; %zu "
                            "jobs cut short will run again\nresume with:\n  ",
                    sig == SIGINT ? "SIGINT" : "SIGTERM", stats.jobs_finished, storage,
                    stats.jobs_interrupted);
            if (use_mpi) /* the launcher's options are the user's: the count at least */
                fprintf(stderr, "mpirun -n %zu ", rc.workers + 1);
            cli_resume_command(stderr, argc, argv);
        } else {
            fprintf(stderr, "fresh run: interrupted (%s): no --storage, nothing can be resumed\n",
                    sig == SIGINT ? "SIGINT" : "SIGTERM");
        }
        exit_code = 128 + sig;
    }
finish:
#ifdef FRESH_HAVE_MPI
    if (use_mpi) /* every rank exits as rank 0 does */
        MPI_Bcast(&exit_code, 1, MPI_INT, 0, MPI_COMM_WORLD);
#endif
done:
    if (sig_started) {
        pthread_kill(sig_thread, SIGUSR2);
        pthread_join(sig_thread, NULL);
    }
    atomic_store(&sig_study, NULL);
    if (supervised) {
        run_watchdog_stop();
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    }
    fresh_study_destroy(study);
    fresh_space_destroy(space);
    run_template_destroy(rc.tp);
    free(rc.prog);
    free(tag);
    free(rc.runs_dir);
    for (size_t i = 0; i < rc.n_slot_env; i++) {
        free(rc.slot_name[i]);
        run_argv_free(rc.slot_values[i]);
    }
    if (rc.base_env)
        for (size_t i = 0; i < rc.n_base_env; i++)
            free(rc.base_env[i]);
    free(rc.base_env);
    fresh__free(rc.dir_state);
    fresh__free(rc.live);
#ifdef FRESH_HAVE_MPI
    if (mpi_inited)
        MPI_Finalize();
#endif
    return exit_code;
}
