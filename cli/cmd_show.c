/* cmd_show.c - `fresh show FILE` and `fresh export FILE`: read a study file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fresh/study.h"

static const char show_usage[] =
    "usage: fresh show FILE\n"
    "\n"
    "Summarises a study file written with --storage: the incumbent, bracket progress,\n"
    "jobs by status, budget used and how many configurations the model chose. It reads\n"
    "a snapshot and never writes the file, so it also works while the study runs.\n";

static const char export_usage[] =
    "usage: fresh export FILE [--format csv|jsonl] [--output OUT]\n"
    "\n"
    "Writes every job of a study file (configuration, budget, resume point, loss,\n"
    "status, reports, times) as CSV (default) or JSON Lines, to OUT or stdout.\n";

static fresh_study *open_study(const char *cmd, const char *path, fresh_space **space)
{
    int rc;
    char err[512];
    /* a snapshot: takes no lock, never writes, works while the study runs */
    fresh_study *s = fresh_study_open_snapshot(path, space, &rc, err, sizeof err);
    if (!s)
        fprintf(stderr, "fresh %s: %s\n", cmd, err);
    return s;
}

/* The last few failed jobs with their messages (fresh export has them all). */
static void show_failures(const fresh_study *s)
{
    enum { SHOWN = 5 };
    size_t n = fresh_study_n_jobs(s), idx[SHOWN], k = 0, total = 0;
    fresh_job_info ji;
    for (size_t i = n; i-- > 0;) {
        if (fresh_study_job(s, i, &ji) != FRESH_OK || ji.status != FRESH_JOB_FAILED)
            continue;
        if (k < SHOWN)
            idx[k++] = i;
        total++;
    }
    if (!total)
        return;
    printf("  failed jobs, the last %zu of %zu:\n", k, total);
    while (k-- > 0) {
        fresh_study_job(s, idx[k], &ji);
        printf("    job %llu (configuration %llu, budget %g): %s\n", (unsigned long long)ji.job_id,
               (unsigned long long)ji.config_id, ji.budget, ji.message);
    }
}

int cmd_show(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = cli_getopt("show", argc, argv, ":h", opts)) != -1) {
        if (c == 'h') {
            fputs(show_usage, stdout);
            return 0;
        }
        return CLI_EXIT_USAGE;
    }
    if (optind >= argc)
        return cli_usage_error("show", "missing FILE");
    if (optind + 1 < argc)
        return cli_usage_error("show", "unexpected argument '%s'", argv[optind + 1]);
    fresh_space *space = NULL;
    fresh_study *s = open_study("show", argv[optind], &space);
    if (!s)
        return CLI_EXIT_FAIL;
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);
    const fresh_plan *plan = fresh_study_plan(s);
    printf("study file %s\n", argv[optind]);
    printf("  budgets %g..%g, eta %g, %d brackets per Hyperband iteration\n",
           fresh_plan_min_budget(plan), fresh_plan_max_budget(plan), fresh_plan_eta(plan),
           fresh_plan_s_max(plan) + 1);
    printf("  brackets: %ld opened, %ld finished\n", st.brackets_opened, st.brackets_finished);
    int in_use = fresh_study_file_in_use(argv[optind]);
    printf("  jobs: %zu finished (%zu completed, %zu stopped early, %zu failed), %zu %s\n",
           st.jobs_finished, st.jobs_completed, st.jobs_stopped, st.jobs_failed, st.jobs_running,
           in_use == 1 ? "running now (the study is in use by another process)"
                       : "cut short when the study was last interrupted (run again on resume)");
    printf("  budget used: %.2f max-budget equivalents\n", st.used_mbe);
    size_t props = st.proposals_model + st.proposals_random;
    printf("  configurations: %zu, %zu chosen by the model (%.0f%%)\n", st.configs,
           st.proposals_model, props ? 100.0 * (double)st.proposals_model / (double)props : 0.0);
    if (st.proposals_hedged)
        printf("  %zu drawn at random by the hedge: brackets whose first budget has not yet\n"
               "  ranked configurations like the maximum budget (docs/algorithms.md)\n",
               st.proposals_hedged);
    uint64_t id;
    double loss, budget;
    const double *x;
    if (fresh_study_incumbent(s, &id, &loss, &budget, &x) == FRESH_OK) {
        char buf[2048];
        fresh_space_format(space, x, buf, sizeof buf);
        printf("  incumbent: loss %.6g at budget %g, configuration %llu: %s\n", loss, budget,
               (unsigned long long)id, buf);
    } else if (fresh_study_best_any_budget(s, &id, &loss, &budget, &x) == FRESH_OK) {
        char buf[2048];
        fresh_space_format(space, x, buf, sizeof buf);
        printf("  incumbent: none yet (no job completed at the maximum budget %g)\n"
               "  best so far: loss %.6g at budget %g (not comparable with the maximum budget),"
               " configuration %llu: %s\n",
               fresh_plan_max_budget(plan), loss, budget, (unsigned long long)id, buf);
    } else {
        printf("  incumbent: none yet (no job completed)\n");
    }
    show_failures(s);
    if (fresh_study_tag(s)[0]) /* fresh run's command line */
        printf("  command: %s\n", fresh_study_tag(s));
    fresh_study_destroy(s);
    fresh_space_destroy(space);
    return 0;
}

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *format = "csv", *out = NULL; /* NULL: the stdout stream */
    int c;
    optind = 1;
    while ((c = cli_getopt("export", argc, argv, ":h", opts)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'o': out = optarg; break;
        case 'h': fputs(export_usage, stdout); return 0;
        default: return CLI_EXIT_USAGE;
        }
    }
    fresh_export_format fmt;
    if (!strcmp(format, "csv"))
        fmt = FRESH_EXPORT_CSV;
    else if (!strcmp(format, "jsonl"))
        fmt = FRESH_EXPORT_JSONL;
    else
        return cli_usage_error("export", "option '--format': unknown format '%s' (csv, jsonl)",
                               format);
    if (optind >= argc)
        return cli_usage_error("export", "missing FILE");
    if (optind + 1 < argc)
        return cli_usage_error("export", "unexpected argument '%s'", argv[optind + 1]);
    fresh_space *space = NULL;
    fresh_study *s = open_study("export", argv[optind], &space);
    if (!s)
        return CLI_EXIT_FAIL;
    /* to the stdout stream, not a reopened /dev/stdout: `>> f` appends, a
     * redirection of a ( ... ) group keeps what came before, sockets work */
    int rc = out ? fresh_study_export(s, out, fmt) : fresh_study_export_stream(s, stdout, fmt);
    if (rc != FRESH_OK)
        fprintf(stderr, "fresh export: %s\n", fresh_study_errmsg(s));
    fresh_study_destroy(s);
    fresh_space_destroy(space);
    return rc == FRESH_OK ? 0 : CLI_EXIT_FAIL;
}
