/*
 * bench-run-overhead.c - what `fresh run` costs per job, against the cost of
 * starting a process at all.
 *
 *   floor  posix_spawn + waitpid of the command, N times (the least any
 *          launcher pays)
 *   pipes  fork + two pipes + exec + read to end of file + waitpid, N times
 *          (what a launcher that reads the output pays)
 *   run    `fresh run` with min = max budget = 1 and --brackets N: exactly N
 *          jobs of one worker; the time per job is the slope between two run
 *          lengths (N and N/4), so fresh's start-up cost drops out
 *
 * Commands: `true` (no loss: every job fails, which fresh records like any
 * outcome) and `echo fresh-report step=1 loss=0.5` (a real report); the run
 * with a study file (--storage, SQLite with synchronous=FULL) shows what
 * durability adds. Run from the build directory:
 *
 *   ./bench-run-overhead [N] [FRESH_BINARY]      (default 400, ./fresh)
 *
 * The figures go to docs/benchmarks.md ("fresh run: overhead per job").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double spawn_floor(char *const *argv, int n)
{
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        pid_t pid;
        if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
            return -1;
        waitpid(pid, NULL, 0);
    }
    return (now_s() - t0) / n;
}

static double pipes_floor(char *const *argv, int n)
{
    char buf[4096];
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        int out[2], err[2];
        if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
            return -1;
        pid_t pid = fork();
        if (pid == 0) {
            dup2(out[1], 1);
            dup2(err[1], 2);
            execve(argv[0], argv, environ);
            _exit(127);
        }
        close(out[1]);
        close(err[1]);
        while (read(out[0], buf, sizeof buf) > 0)
            ;
        while (read(err[0], buf, sizeof buf) > 0)
            ;
        close(out[0]);
        close(err[0]);
        waitpid(pid, NULL, 0);
    }
    return (now_s() - t0) / n;
}

/* Seconds for `fresh run` with n jobs of the command. */
static double fresh_run(const char *fresh, const char *dir, const char *cmd, int n, int storage)
{
    char line[8192];
    snprintf(line, sizeof line,
             "cd %s && rm -rf s.db* runs && %s run --space space.json --min-budget 1 "
             "--max-budget 1 --brackets %d --workers 1 --quiet --keep-runs --runs-dir runs %s "
             "-- %s >/dev/null 2>&1",
             dir, fresh, n, storage ? "--storage s.db" : "", cmd);
    double t0 = now_s();
    int rc = system(line);
    double t = now_s() - t0;
    (void)rc; /* `true` gives no loss: every job fails and fresh exits with 1 */
    return t;
}

static double per_job(const char *fresh, const char *dir, const char *cmd, int n, int storage)
{
    int small = n / 4 > 0 ? n / 4 : 1;
    double best_small = 1e30, best_large = 1e30;
    for (int rep = 0; rep < 3; rep++) { /* best of 3: the machine is shared */
        double a = fresh_run(fresh, dir, cmd, small, storage);
        double b = fresh_run(fresh, dir, cmd, n, storage);
        if (a < best_small)
            best_small = a;
        if (b < best_large)
            best_large = b;
    }
    return (best_large - best_small) / (n - small);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 400;
    const char *fresh = argc > 2 ? argv[2] : "./fresh";
    if (n < 8) {
        fprintf(stderr, "usage: %s [N >= 8] [FRESH_BINARY]\n", argv[0]);
        return 2;
    }
    char fresh_abs[4096];
    if (!realpath(fresh, fresh_abs)) {
        fprintf(stderr, "%s: %s\n", fresh, strerror(errno));
        return 1;
    }
    char dir[] = "/tmp/fresh-run-overhead-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/space.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"parameters\": [{\"name\": \"x\", \"type\": \"float\", \"low\": 0, \"high\": 1}]}\n", f);
    fclose(f);

    char *true_argv[] = {"/bin/true", NULL};
    char *echo_argv[] = {"/bin/echo", "fresh-report", "step=1", "loss=0.5", NULL};
    double sp_true = spawn_floor(true_argv, n), pp_true = pipes_floor(true_argv, n);
    double sp_echo = spawn_floor(echo_argv, n), pp_echo = pipes_floor(echo_argv, n);
    double run_true = per_job(fresh_abs, dir, "/bin/true", n, 0);
    double run_echo = per_job(fresh_abs, dir, "/bin/echo fresh-report step=1 loss=0.5", n, 0);
    double run_echo_db = per_job(fresh_abs, dir, "/bin/echo fresh-report step=1 loss=0.5", n, 1);

    printf("fresh run overhead per job, %d jobs, 1 worker (microseconds per job)\n", n);
    printf("%-44s %10s %10s\n", "", "true", "echo report");
    printf("%-44s %10.0f %10.0f\n", "floor: posix_spawn + waitpid", 1e6 * sp_true, 1e6 * sp_echo);
    printf("%-44s %10.0f %10.0f\n", "floor with pipes: fork + exec + read + wait", 1e6 * pp_true,
           1e6 * pp_echo);
    printf("%-44s %10.0f %10.0f\n", "fresh run, in-memory study", 1e6 * run_true, 1e6 * run_echo);
    printf("%-44s %10s %10.0f\n", "fresh run, study file (--storage)", "", 1e6 * run_echo_db);
    printf("fresh's own time per job (in-memory study, minus the posix_spawn floor): "
           "%.0f us (true), %.0f us (echo report); x%.2f and x%.2f the floor\n",
           1e6 * (run_true - sp_true), 1e6 * (run_echo - sp_echo), run_true / sp_true,
           run_echo / sp_echo);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
