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
#include <sys/resource.h>
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

/* CPU seconds (user + system) of this process and its reaped children: on a
 * loaded machine wall time mostly measures the other processes, CPU time
 * what the work itself costs. */
static double cpu_s(void)
{
    struct rusage a, b;
    getrusage(RUSAGE_SELF, &a);
    getrusage(RUSAGE_CHILDREN, &b);
    return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec + b.ru_stime.tv_sec) +
           1e-6 * (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec +
                           b.ru_stime.tv_usec);
}

static double last_cpu; /* CPU seconds per job of the last floor measured */

static double spawn_floor(char *const *argv, int n)
{
    posix_spawn_file_actions_t fa; /* the output is not read: /dev/null */
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    double c0 = cpu_s();
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        pid_t pid;
        if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
            return -1;
        waitpid(pid, NULL, 0);
    }
    posix_spawn_file_actions_destroy(&fa);
    last_cpu = (cpu_s() - c0) / n;
    return (now_s() - t0) / n;
}

static double pipes_floor(char *const *argv, int n)
{
    char buf[4096];
    double c0 = cpu_s();
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
    last_cpu = (cpu_s() - c0) / n;
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
    double c0 = cpu_s();
    double t0 = now_s();
    int rc = system(line);
    double t = now_s() - t0;
    last_cpu = cpu_s() - c0; /* sh, fresh, its watchdog and every job */
    (void)rc; /* `true` gives no loss: every job fails and fresh exits with 1 */
    return t;
}

/* Per job: the slope between runs of n/4 and n jobs (best of 3 each), wall
 * time returned, CPU time in *cpu. */
static double per_job(const char *fresh, const char *dir, const char *cmd, int n, int storage,
                      double *cpu)
{
    int small = n / 4 > 0 ? n / 4 : 1;
    double ws = 1e30, wl = 1e30, cs = 1e30, cl = 1e30;
    for (int rep = 0; rep < 3; rep++) { /* best of 3: the machine is shared */
        double a = fresh_run(fresh, dir, cmd, small, storage);
        if (a < ws)
            ws = a;
        if (last_cpu < cs)
            cs = last_cpu;
        double b = fresh_run(fresh, dir, cmd, n, storage);
        if (b < wl)
            wl = b;
        if (last_cpu < cl)
            cl = last_cpu;
    }
    *cpu = (cl - cs) / (n - small);
    return (wl - ws) / (n - small);
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
    double c_sp_true, c_pp_true, c_sp_echo, c_pp_echo, c_run_true, c_run_echo, c_run_db;
    double sp_true = spawn_floor(true_argv, n);
    c_sp_true = last_cpu;
    double pp_true = pipes_floor(true_argv, n);
    c_pp_true = last_cpu;
    double sp_echo = spawn_floor(echo_argv, n);
    c_sp_echo = last_cpu;
    double pp_echo = pipes_floor(echo_argv, n);
    c_pp_echo = last_cpu;
    double run_true = per_job(fresh_abs, dir, "/bin/true", n, 0, &c_run_true);
    double run_echo = per_job(fresh_abs, dir, "/bin/echo fresh-report step=1 loss=0.5", n, 0,
                              &c_run_echo);
    double run_db = per_job(fresh_abs, dir, "/bin/echo fresh-report step=1 loss=0.5", n, 1,
                            &c_run_db);

    printf("fresh run overhead per job, %d jobs, 1 worker (microseconds per job; wall | CPU)\n", n);
    printf("%-44s %17s %17s\n", "", "true", "echo report");
    printf("%-44s %8.0f | %6.0f %8.0f | %6.0f\n", "floor: posix_spawn + waitpid", 1e6 * sp_true,
           1e6 * c_sp_true, 1e6 * sp_echo, 1e6 * c_sp_echo);
    printf("%-44s %8.0f | %6.0f %8.0f | %6.0f\n", "floor with pipes: fork + exec + read + wait",
           1e6 * pp_true, 1e6 * c_pp_true, 1e6 * pp_echo, 1e6 * c_pp_echo);
    printf("%-44s %8.0f | %6.0f %8.0f | %6.0f\n", "fresh run, in-memory study", 1e6 * run_true,
           1e6 * c_run_true, 1e6 * run_echo, 1e6 * c_run_echo);
    printf("%-44s %17s %8.0f | %6.0f\n", "fresh run, study file (--storage)", "", 1e6 * run_db,
           1e6 * c_run_db);
    printf("fresh's own CPU time per job (minus the posix_spawn floor's): %.0f us (true), %.0f us "
           "(echo report), %.0f us with a study file; wall: x%.2f and x%.2f the floor\n",
           1e6 * (c_run_true - c_sp_true), 1e6 * (c_run_echo - c_sp_echo),
           1e6 * (c_run_db - c_sp_echo), run_true / sp_true, run_echo / sp_echo);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
