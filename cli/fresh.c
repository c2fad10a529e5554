/*
 * fresh.c - the command-line tool: dispatch, help and version.
 *
 *   fresh plan   print the Hyperband bracket table
 *   fresh bench  run a study on a benchmark function
 *   fresh run    tune any program (cmd_run.c)
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "fresh/status.h"
#include "fresh/study.h"

static const char usage[] =
    "usage: fresh [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "Multi-fidelity hyperparameter optimization: Hyperband brackets + BOHB.\n"
    "\n"
    "commands:\n"
    "  plan    print the Hyperband bracket table for a budget range\n"
    "  bench   run a tuning study on a benchmark function (fresh bench list)\n"
    "  run     tune any program: run a command per job, read its reports\n"
    "  show    summarise a study file (incumbent, brackets, jobs)\n"
    "  export  write the jobs of a study file as CSV or JSON Lines\n"
    "  report  write a self-contained HTML report of a study file (charts, best configs)\n"
    "\n"
    "`fresh COMMAND --help` describes each command.\n";

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fresh %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'fresh %s --help')\n", cmd);
    return CLI_EXIT_USAGE;
}

int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
               const struct option *longopts)
{
    opterr = 0;
    int prev = optind;
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c == '?' || c == ':') {
        /* getopt_long has advanced optind past the offending word */
        const char *arg = (optind - 1 >= prev && optind - 1 < argc) ? argv[optind - 1] : "?";
        char shortname[3] = {'-', (char)optopt, 0};
        if (arg[0] != '-' || arg[1] != '-')
            arg = shortname; /* a short option: name it alone */
        if (c == ':')
            cli_usage_error(cmd, "option '%s' needs a value", arg);
        else
            cli_usage_error(cmd, "unknown option '%s'", arg);
        return '?';
    }
    return c;
}

int cli_parse_double(const char *cmd, const char *opt, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        cli_usage_error(cmd, "option '--%s': '%s' is not a finite number", opt, text);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_long(const char *cmd, const char *opt, const char *text, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE) {
        cli_usage_error(cmd, "option '--%s': '%s' is not an integer", opt, text);
        return -1;
    }
    *out = v;
    return 0;
}

void cli_names(char *buf, size_t n, const char *(*name_at)(size_t))
{
    size_t used = 0;
    if (n)
        buf[0] = '\0';
    for (size_t i = 0; name_at(i) && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", name_at(i));
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

int cli_check_mpi(const char *cmd, int use_mpi, int workers_given)
{
#ifndef FRESH_HAVE_MPI
    if (use_mpi)
        return cli_usage_error(cmd, "option '--mpi': this fresh was built without MPI "
                                    "(install libopenmpi-dev and rebuild)");
#endif
    if (use_mpi && workers_given)
        return cli_usage_error(cmd, "options '--mpi' and '--workers': with --mpi the "
                                    "evaluating ranks are the workers, one job at a time each "
                                    "(start more ranks)");
    return 0;
}

int cli_check_storage(const char *cmd, const char *path, int resume)
{
    if (!path)
        return 0;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (resume) {
            fprintf(stderr,
                    "fresh %s: --resume: cannot open study file '%s': %s (leave out --resume "
                    "to start a new study)\n",
                    cmd, path, strerror(errno));
            return CLI_EXIT_FAIL;
        }
        return 0;
    }
    if (resume)
        return 0;
    /* a file that holds no study (an empty file) may become one */
    fresh_space *space = NULL;
    int rc;
    fresh_study *s = fresh_study_open_snapshot(path, &space, &rc, NULL, 0);
    fresh_study_destroy(s);
    fresh_space_destroy(space);
    if (!s)
        return 0;
    fprintf(stderr,
            "fresh %s: study file '%s' already holds a study: add --resume to continue it, "
            "or give another --storage file\n",
            cmd, path);
    return CLI_EXIT_FAIL;
}

/* OpenBLAS's thread count, when the binary links OpenBLAS (weak: NULL
 * otherwise). */
extern void openblas_set_num_threads(int n) __attribute__((weak));

int main(int argc, char **argv)
{
    /* the study's workers are the parallelism: fresh's own BLAS calls (the
     * benchmark nets, where OpenBLAS is linked) run one thread each. Set
     * through OpenBLAS's call: OpenBLAS reads OPENBLAS_NUM_THREADS when it
     * is loaded, before main, and the environment would reach the programs
     * `fresh run` starts, whose own threads are the user's business. */
    if (openblas_set_num_threads)
        openblas_set_num_threads(1);
    cli_argv0 = argv[0];
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("fresh %s\n", fresh_version());
        return 0;
    }
    if (!strcmp(cmd, "plan"))
        return cmd_plan(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench"))
        return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "show"))
        return cmd_show(argc - 1, argv + 1);
    if (!strcmp(cmd, "export"))
        return cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return cmd_report(argc - 1, argv + 1);
    fprintf(stderr, "fresh: unknown command '%s' (see 'fresh --help')\n", cmd);
    return CLI_EXIT_USAGE;
}
