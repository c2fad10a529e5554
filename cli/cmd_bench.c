/* cmd_bench.c - `fresh bench`: a tuning study on a benchmark function. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_sim.h"
#include "cli.h"
#include "digits.h"
#include "progress.h"
#include "runner.h"
#ifdef FRESH_HAVE_MPI
#include "fresh/mpi.h"

/* --mpi: rank 0's driver for fresh_bench_run (the study over MPI_COMM_WORLD;
 * the other ranks evaluate, docs/mpi.md) */
typedef struct mpi_run {
    int called;
    fresh_mpi_stats st;
} mpi_run;

static int optimize_mpi(fresh_study *study, fresh_objective objective, void *user, void *ctx)
{
    mpi_run *m = ctx;
    m->called = 1;
    return fresh_study_optimize_mpi_ex(study, objective, user, MPI_COMM_WORLD, NULL, &m->st);
}

static int no_objective(fresh_trial *t, void *user)
{
    (void)t;
    (void)user;
    return 1;
}

/* Rank 0 gives up before its study runs: the evaluating ranks, in
 * fresh_study_optimize_mpi for the seed, return FRESH_EINVAL (rank 0 has no
 * study) and are told not to wait for another seed. */
static void release_ranks(void)
{
    fresh_study_optimize_mpi(NULL, no_objective, NULL, MPI_COMM_WORLD);
    int go = 0;
    MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
}
#endif

static const char bench_usage[] =
    "usage: fresh bench list\n"
    "       fresh bench FUNCTION [--sampler random|bohb|tpe|gp|auto] [--scheduler S]\n"
    "                   [--budget MBE] [--brackets N] [--workers W] [--seed S] [--seeds K]\n"
    "                   [--json] [--trajectory FILE.csv] [--sleep-per-budget MS]\n"
    "                   [--no-early-stopping] [--max-paused N] [--paper-promotions]\n"
    "                   [--max-open-brackets N]\n"
    "                   [--preset default|bohb-reference] [--mpi]\n"
    "                   [--storage FILE [--resume]] [--progress SEC]\n"
    "                   [--simulate-workers N [--sim-horizon T] [--sim-spread S]\n"
    "                    [--sim-failure-rate P] [--sim-unit-time U]]\n"
    "\n"
    "Tunes a benchmark function (see `fresh bench list`) and prints the incumbent\n"
    "(best observed loss at the maximum budget; none before a job got there) and its\n"
    "regret (true loss minus the known optimum). Budgets are max-budget\n"
    "equivalents (MBE): the sum\n"
    "of budgets run, continuation counted once, divided by the maximum budget.\n"
    "\n"
    "  --sampler S          configuration sampler: auto (default: gp or bohb by the\n"
    "                       space, docs/algorithms.md), gp (Bayesian optimization with\n"
    "                       a Gaussian process), bohb (the BOHB model, a TPE over one\n"
    "                       kernel density per budget), tpe (the same sampler under\n"
    "                       its model's name, for Optuna and HpBandSter users) or\n"
    "                       random (random search)\n"
    "  --scheduler S        adaptive (default: Hyperband that skips brackets whose\n"
    "                       first budget proved misleading), hyperband (Li et al.),\n"
    "                       sh (successive halving), none (every configuration at\n"
    "                       the maximum budget), asha (asynchronous successive\n"
    "                       halving: promotes without waiting for a stage) or\n"
    "                       async-hyperband (ASHA ladders in Hyperband's proportions;\n"
    "                       async-adaptive: leaving out ladders whose first budget\n"
    "                       proved misleading)\n"
    "  --budget MBE         stop launching jobs once MBE spent (default 100)\n"
    "  --brackets N         stop after N brackets (default: off; asha and\n"
    "                       async-hyperband count groups of new configurations as\n"
    "                       large as a bracket's first stage)\n"
    "  --workers W          worker threads, >= 1 (default: online CPUs)\n"
    "  --seed S             seed of the optimizer and of the benchmark noise (default 0)\n"
    "  --seeds K            run seeds S .. S+K-1 and print the median (default 1)\n"
    "  --json               one JSON object per seed, then one with the medians\n"
    "  --trajectory F.csv   one row per finished job (with --seeds: F.csv gets the seed\n"
    "                       as a suffix, F-SEED.csv)\n"
    "  --sleep-per-budget MS  sleep MS milliseconds per unit of budget (to measure\n"
    "                       worker utilization with a controlled objective)\n"
    "  --no-early-stopping  let every job of a stage run to its budget\n"
    "  --max-paused N       asynchronous schedulers: at most N paused configurations\n"
    "                       per rung stay promotable (fresh run --max-paused)\n"
    "  --paper-promotions   asynchronous schedulers: ASHA's promotion rule as published\n"
    "                       (default: at most 1/eta of a rung's results promoted)\n"
    "  --max-open-brackets N synchronous schedulers: at most N brackets open at a time\n"
    "                       (1: textbook Hyperband, idle workers at a stage barrier)\n"
    "  --preset P           algorithm settings by name (fresh_study_params_preset):\n"
    "                       default, or bohb-reference = BOHB as published and as\n"
    "                       HpBandSter runs it (hyperband scheduler, floor bracket\n"
    "                       sizes, no early stopping, bandwidth factor 3, no\n"
    "                       bandwidth floor, no hedge); the options below and\n"
    "                       --sampler/--scheduler/--no-early-stopping override it,\n"
    "                       wherever they stand\n"
    "  --mpi                run over MPI (mpirun -n N+1 fresh bench ... --mpi): rank 0\n"
    "                       schedules and prints, N ranks evaluate (docs/mpi.md)\n"
    "  --storage FILE       record the study in a SQLite study file (every job, durably)\n"
    "  --resume             continue the study stored in FILE (after a crash or a kill):\n"
    "                       finished jobs are not run again, running ones are; FILE\n"
    "                       must exist\n"
    "  --progress SEC       progress on stderr: on a terminal one line rewritten in\n"
    "                       place; otherwise one line every SEC seconds (default 10;\n"
    "                       0 = none)\n"
    "  --simulate-workers N run the study on a simulated cluster of N workers (a\n"
    "                       discrete-event clock drives the real scheduler and sampler\n"
    "                       through ask/tell; a job takes (budget - resume_from) x unit\n"
    "                       time x the configuration's speed factor; docs/benchmarks.md):\n"
    "                       prints simulated makespan, utilization, the owner's real time\n"
    "                       per ask/tell and (--json) the regret trajectory\n"
    "  --sim-horizon T      simulated seconds to run (no job starts after T; then --budget\n"
    "                       is off unless given; default 0 = until --budget/--brackets)\n"
    "  --sim-spread S       sigma of the lognormal speed factor per configuration (0)\n"
    "  --sim-failure-rate P probability that a job fails at a random point (0)\n"
    "  --sim-unit-time U    simulated seconds per unit of budget (1)\n"
    "  --warm-start FILE    feed the results of an earlier study file to the model\n"
    "  --baseline           digits_mlp: also train the untuned default configuration for\n"
    "                       the maximum budget and compare\n"
    "model settings (BOHB/TPE), defaults of Falkner et al. 2018:\n"
    "  --random-fraction F  share of random proposals (1/3)\n"
    "  --num-samples N      candidates per proposal (64)\n"
    "  --top-n-percent P    share of observations in the good set (15)\n"
    "  --bandwidth-factor F widening of the good KDE when sampling (1; paper: 3)\n"
    "  --min-bandwidth B    lower bound on bandwidths (1e-3)\n"
    "  --min-points N       points each of good/bad needs (0 = dims + 1)\n"
    "  --bandwidth-floor F  continuous bandwidths >= F / min(100, n + 1) (1; 0 = off)\n"
    "  --hedge-tau T        brackets of the upper half get random configurations until\n"
    "                       their first budget ranks like the max budget, Kendall's\n"
    "                       tau >= T (0.8; -2 = off)\n";

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int list(void)
{
    printf("%-14s %-8s %-10s %s\n", "name", "dims", "budgets", "description");
    for (size_t i = 0; i < fresh_bench_count(); i++) {
        const fresh_benchmark *b = fresh_bench_at(i);
        printf("%-14s %-8zu %g..%-6g %s\n", b->name, b->dim, b->min_budget, b->max_budget,
               b->description);
    }
    printf("%-14s %-8d %g..%-6g %s\n", "digits_mlp", FRESH_DIGITS_DIM, 1.0, 81.0,
           "MLP on the UCI handwritten digits, budget = epochs (validation error)");
    return 0;
}

/* The progress display of one seed's study (on_job callback). */
typedef struct bench_progress {
    cli_progress pr;
    const char *loss_name;
    int by_brackets; /* the total is brackets (--brackets without --budget) */
    char seed_label[64];
} bench_progress;

static double progress_done(const bench_progress *bp, const fresh_study_stats *st)
{
    return bp->by_brackets ? (double)st->brackets_finished : st->used_mbe;
}

static void progress_detail(const bench_progress *bp, const fresh_study *study,
                            const fresh_study_stats *st, char *buf, size_t n)
{
    double loss, budget;
    if (fresh_study_incumbent(study, NULL, &loss, &budget, NULL) == FRESH_OK)
        snprintf(buf, n, "%s%zu jobs, incumbent %s %.6g", bp->seed_label, st->jobs_finished,
                 bp->loss_name, loss);
    else if (fresh_study_best_any_budget(study, NULL, &loss, &budget, NULL) == FRESH_OK)
        snprintf(buf, n, "%s%zu jobs, no max-budget result yet (best %s %.6g at budget %g)",
                 bp->seed_label, st->jobs_finished, bp->loss_name, loss, budget);
    else
        snprintf(buf, n, "%s%zu jobs, no result yet", bp->seed_label, st->jobs_finished);
}

static void on_job_progress(const fresh_study *study, const fresh_job_info *job, void *user)
{
    (void)job;
    bench_progress *bp = user;
    fresh_study_stats st;
    fresh_study_get_stats(study, &st);
    double now = cli_now();
    char detail[256];
    progress_detail(bp, study, &st, detail, sizeof detail);
    cli_progress_update(&bp->pr, now, progress_done(bp, &st), detail);
}

static json_t *num_or_null(int ok, double v)
{
    return ok && isfinite(v) ? json_real(v) : json_null();
}

/* --preset NAME (or --preset=NAME), found before the other options are
 * parsed so that they override it wherever they stand. 0 or an exit code. */
static int apply_preset(int argc, char **argv, fresh_bench_opts *o)
{
    const char *name = NULL;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strncmp(argv[i], "--preset=", 9) == 0)
            name = argv[i] + 9;
    }
    if (!name)
        return 0;
    fresh_study_params p;
    fresh_study_params_default(&p);
    if (fresh_study_params_preset(&p, name) != FRESH_OK) {
        return cli_usage_error("bench", "option '--preset': unknown preset '%s' (default, "
                               "bohb-reference)", name);
    }
    o->sampler = p.sampler->name;
    o->scheduler = p.scheduler->name;
    o->bracket_formula = p.bracket_formula;
    o->early_stopping = p.early_stopping;
    o->sp = p.sampler_params;
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    fresh_bench_opts o;
    fresh_bench_opts_default(&o);
    long seeds = 1, workers = 0;
    int workers_given = 0;
    double sleep_ms = 0, progress_s = CLI_PROGRESS_INTERVAL;
    int json = 0;
    const char *traj = NULL;
    static const struct option opts[] = {
        {"sampler", required_argument, NULL, 's'},   {"scheduler", required_argument, NULL, 'S'},
        {"budget", required_argument, NULL, 'b'},    {"brackets", required_argument, NULL, 'B'},
        {"workers", required_argument, NULL, 'w'},   {"seed", required_argument, NULL, 'r'},
        {"seeds", required_argument, NULL, 'k'},     {"json", no_argument, NULL, 'j'},
        {"trajectory", required_argument, NULL, 't'},
        {"sleep-per-budget", required_argument, NULL, 'z'},
        {"no-early-stopping", no_argument, NULL, 'E'}, {"help", no_argument, NULL, 'h'},
        {"random-fraction", required_argument, NULL, 1}, {"num-samples", required_argument, NULL, 2},
        {"top-n-percent", required_argument, NULL, 3}, {"bandwidth-factor", required_argument, NULL, 4},
        {"min-bandwidth", required_argument, NULL, 5}, {"min-points", required_argument, NULL, 6},
        {"bandwidth-floor", required_argument, NULL, 7}, {"hedge-tau", required_argument, NULL, 12},
        {"storage", required_argument, NULL, 8}, {"resume", no_argument, NULL, 9},
        {"warm-start", required_argument, NULL, 10}, {"baseline", no_argument, NULL, 11},
        {"preset", required_argument, NULL, 13},
        {"progress", required_argument, NULL, 14}, {"mpi", no_argument, NULL, 15},
        {"simulate-workers", required_argument, NULL, 16},
        {"sim-horizon", required_argument, NULL, 17}, {"sim-spread", required_argument, NULL, 18},
        {"sim-failure-rate", required_argument, NULL, 19},
        {"sim-unit-time", required_argument, NULL, 20},
        {"max-paused", required_argument, NULL, 21},
        {"max-open-brackets", required_argument, NULL, 22},
        {"paper-promotions", no_argument, NULL, 23},
        {NULL, 0, NULL, 0}};
    int c;
    long seed = 0, lv = 0;
    int baseline = 0, use_mpi = 0, budget_given = 0;
    long sim_workers = 0;
    double sim_horizon = 0, sim_spread = 0, sim_fail = 0, sim_unit = 1;
    int sim_opt = 0; /* a --sim-* option was given */
    int rc = apply_preset(argc, argv, &o);
    if (rc != 0)
        return rc;
    optind = 1;
    while ((c = cli_getopt("bench", argc, argv, ":h", opts)) != -1) {
        switch (c) {
        case 's': o.sampler = optarg; break;
        case 'S': o.scheduler = optarg; break;
        case 'b': if (cli_parse_double("bench", "budget", optarg, &o.budget_mbe)) return CLI_EXIT_USAGE; budget_given = 1; break;
        case 'B': if (cli_parse_long("bench", "brackets", optarg, &o.brackets)) return CLI_EXIT_USAGE; break;
        case 'w': if (cli_parse_long("bench", "workers", optarg, &workers)) return CLI_EXIT_USAGE; workers_given = 1; break;
        case 'r': if (cli_parse_long("bench", "seed", optarg, &seed)) return CLI_EXIT_USAGE; break;
        case 'k': if (cli_parse_long("bench", "seeds", optarg, &seeds)) return CLI_EXIT_USAGE; break;
        case 'j': json = 1; break;
        case 't': traj = optarg; break;
        case 'z': if (cli_parse_double("bench", "sleep-per-budget", optarg, &sleep_ms)) return CLI_EXIT_USAGE; break;
        case 'E': o.early_stopping = 0; break;
        case 1: if (cli_parse_double("bench", "random-fraction", optarg, &o.sp.random_fraction)) return CLI_EXIT_USAGE; break;
        case 2: if (cli_parse_long("bench", "num-samples", optarg, &lv) || lv < 1 || lv > FRESH_MAX_NUM_SAMPLES) return cli_usage_error("bench", "option '--num-samples': must be an integer in 1..%d", FRESH_MAX_NUM_SAMPLES); o.sp.num_samples = (size_t)lv; break;
        case 3: if (cli_parse_double("bench", "top-n-percent", optarg, &o.sp.top_n_percent)) return CLI_EXIT_USAGE; break;
        case 4: if (cli_parse_double("bench", "bandwidth-factor", optarg, &o.sp.bandwidth_factor)) return CLI_EXIT_USAGE; break;
        case 5: if (cli_parse_double("bench", "min-bandwidth", optarg, &o.sp.min_bandwidth)) return CLI_EXIT_USAGE; break;
        case 8: o.storage = optarg; break;
        case 9: o.resume = 1; break;
        case 10: o.warm_start = optarg; break;
        case 11: baseline = 1; break;
        case 13: break; /* applied by apply_preset */
        case 15: use_mpi = 1; break;
        case 16: if (cli_parse_long("bench", "simulate-workers", optarg, &sim_workers)) return CLI_EXIT_USAGE; if (sim_workers < 1 || sim_workers > 1048576) return cli_usage_error("bench", "option '--simulate-workers': must be in 1..1048576, got %ld", sim_workers); break;
        case 17: if (cli_parse_double("bench", "sim-horizon", optarg, &sim_horizon)) return CLI_EXIT_USAGE; if (!(sim_horizon > 0)) return cli_usage_error("bench", "option '--sim-horizon': must be > 0, got %g", sim_horizon); sim_opt = 1; break;
        case 18: if (cli_parse_double("bench", "sim-spread", optarg, &sim_spread)) return CLI_EXIT_USAGE; if (!(sim_spread >= 0)) return cli_usage_error("bench", "option '--sim-spread': must be >= 0, got %g", sim_spread); sim_opt = 1; break;
        case 19: if (cli_parse_double("bench", "sim-failure-rate", optarg, &sim_fail)) return CLI_EXIT_USAGE; if (!(sim_fail >= 0 && sim_fail < 1)) return cli_usage_error("bench", "option '--sim-failure-rate': must be in [0, 1), got %g", sim_fail); sim_opt = 1; break;
        case 20: if (cli_parse_double("bench", "sim-unit-time", optarg, &sim_unit)) return CLI_EXIT_USAGE; if (!(sim_unit > 0)) return cli_usage_error("bench", "option '--sim-unit-time': must be > 0, got %g", sim_unit); sim_opt = 1; break;
        case 21: if (cli_parse_long("bench", "max-paused", optarg, &lv) || lv < 1) return cli_usage_error("bench", "option '--max-paused': must be an integer >= 1"); o.max_paused = (size_t)lv; break;
        case 22: if (cli_parse_long("bench", "max-open-brackets", optarg, &lv) || lv < 1) return cli_usage_error("bench", "option '--max-open-brackets': must be an integer >= 1"); o.max_open_brackets = (size_t)lv; break;
        case 23: o.paper_promotions = 1; break;
        case 12: if (cli_parse_double("bench", "hedge-tau", optarg, &o.sp.hedge_tau)) return CLI_EXIT_USAGE; break;
        case 7: if (cli_parse_double("bench", "bandwidth-floor", optarg, &o.sp.bandwidth_floor)) return CLI_EXIT_USAGE; break;
        case 6: if (cli_parse_long("bench", "min-points", optarg, &lv) || lv < 0) return cli_usage_error("bench", "option '--min-points': must be an integer >= 0"); o.sp.min_points_in_model = (size_t)lv; break;
        case 14: if (cli_parse_double("bench", "progress", optarg, &progress_s)) return CLI_EXIT_USAGE; break;
        case 'h': fputs(bench_usage, stdout); return 0;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return cli_usage_error("bench", "missing FUNCTION (or 'list')");
    const char *name = argv[optind];
    if (optind + 1 < argc)
        return cli_usage_error("bench", "unexpected argument '%s'", argv[optind + 1]);
    if (!strcmp(name, "list"))
        return list();
    const fresh_benchmark *b = fresh_bench_find(name);
    int digits = !strcmp(name, "digits_mlp");
    if (!b && !digits)
        return cli_usage_error("bench", "unknown function '%s'", name);
    char names[256];
    if (!fresh_sampler_find(o.sampler)) {
        cli_names(names, sizeof names, fresh_sampler_name);
        return cli_usage_error("bench", "option '--sampler': unknown sampler '%s' (valid: %s)",
                               o.sampler, names);
    }
    if (!fresh_scheduler_find(o.scheduler)) {
        cli_names(names, sizeof names, fresh_scheduler_name);
        return cli_usage_error("bench", "option '--scheduler': unknown scheduler '%s' (valid: %s)",
                               o.scheduler, names);
    }
    if (o.budget_mbe < 0)
        return cli_usage_error("bench", "option '--budget': must be >= 0, got %g", o.budget_mbe);
    if (o.brackets < 0)
        return cli_usage_error("bench", "option '--brackets': must be >= 0, got %ld", o.brackets);
    if (sim_opt && !sim_workers)
        return cli_usage_error("bench", "options '--sim-*' need '--simulate-workers N'");
    if (sim_workers) {
        const char *bad = digits ? "digits_mlp (a real training run)" : workers_given ? "--workers"
                        : use_mpi ? "--mpi" : o.storage ? "--storage" : sleep_ms > 0 ? "--sleep-per-budget"
                        : o.warm_start ? "--warm-start" : NULL;
        if (bad)
            return cli_usage_error("bench", "option '--simulate-workers' does not go with %s", bad);
        if (sim_horizon > 0 && !budget_given)
            o.budget_mbe = 0; /* the horizon is the criterion */
    }
    if (o.budget_mbe == 0 && o.brackets == 0 && !(sim_horizon > 0))
        return cli_usage_error("bench", "no stopping criterion: give --budget or --brackets");
    if (workers_given && (workers < 1 || workers > 4096))
        return cli_usage_error("bench", "option '--workers': must be in 1..4096, got %ld", workers);
    if (seed < 0)
        return cli_usage_error("bench", "option '--seed': must be >= 0, got %ld", seed);
    if (seeds < 1 || seeds > 100000)
        return cli_usage_error("bench", "option '--seeds': must be in 1..100000, got %ld", seeds);
    if (sleep_ms < 0)
        return cli_usage_error("bench", "option '--sleep-per-budget': must be >= 0, got %g", sleep_ms);
    if (progress_s < 0)
        return cli_usage_error("bench", "option '--progress': must be >= 0, got %g", progress_s);
    if (o.resume && !o.storage)
        return cli_usage_error("bench", "option '--resume' needs '--storage FILE'");
    if (o.storage && seeds > 1)
        return cli_usage_error("bench", "option '--storage' takes one seed, not --seeds %ld", seeds);
    if (cli_check_mpi("bench", use_mpi, workers_given))
        return CLI_EXIT_USAGE;
    o.workers = workers > 0 ? (size_t)workers : 0;
    cli_sim sim;
    memset(&sim, 0, sizeof sim); /* freed at out */
    if (sim_workers) {
        cli_sim_init(&sim, b);
        sim.so.workers = (size_t)sim_workers;
        sim.so.horizon = sim_horizon;
        sim.so.spread = sim_spread;
        sim.so.failure_rate = sim_fail;
        sim.so.unit_time = sim_unit;
        /* the study's worker count only sizes its stats here (at most 4096) */
        o.workers = sim_workers < 4096 ? (size_t)sim_workers : 4096;
        o.optimize = cli_sim_optimize;
        o.optimize_ctx = &sim;
        progress_s = 0; /* seconds of real time: nothing to watch */
    }
    o.sleep_per_budget = sleep_ms / 1000.0;
    int rank = 0, exit_code = 0;
    double *regrets = NULL, *used = NULL, *walls = NULL;
    fresh_digits_data *data = NULL; /* everything `out` frees is set before any goto */
#ifdef FRESH_HAVE_MPI
    mpi_run mr;
    memset(&mr, 0, sizeof mr);
    if (use_mpi) {
        MPI_Init(NULL, NULL);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        o.optimize = optimize_mpi;
        o.optimize_ctx = &mr;
    }
#endif
    /* Ctrl-C stops the study cleanly and prints how to resume it (over MPI:
     * rank 0's study; the evaluating ranks follow rank 0) */
    cli_interrupt_install();
    o.watch = cli_interrupt_watch;
    if (rank == 0 && cli_check_storage("bench", o.storage, o.resume)) {
        exit_code = CLI_EXIT_FAIL;
#ifdef FRESH_HAVE_MPI
        if (use_mpi)
            release_ranks();
#endif
        goto out;
    }
    bench_progress bp;
    memset(&bp, 0, sizeof bp);
    int tty = isatty(STDERR_FILENO);
    int show_progress = progress_s > 0;
    bp.by_brackets = !(o.budget_mbe > 0);

    fresh_bench_problem pb;
    fresh_bench_fn_ctx fn_ctx;
    if (digits) {
        char derr[FRESH_DIGITS_ERRLEN];
        if (fresh_digits_load(&data, fresh_digits_default_path(), FRESH_DIGITS_SPLIT_SEED, derr) !=
            FRESH_OK) {
            fprintf(stderr, "fresh bench: %s\n", derr);
            exit_code = CLI_EXIT_FAIL;
            goto out;
        }
        memset(&pb, 0, sizeof pb);
        pb.name = "digits_mlp";
        pb.min_budget = 1;
        pb.max_budget = 81;
        pb.eta = 3;
        pb.build_space = fresh_digits_build_space;
        pb.objective = fresh_digits_objective;
        pb.user = data;
        pb.loss_name = "validation error";
    } else {
        if (fresh_bench_function_problem(b, o.sleep_per_budget, &fn_ctx, &pb) != FRESH_OK) {
            fprintf(stderr, "fresh bench: out of memory\n");
            exit_code = CLI_EXIT_FAIL;
            goto out;
        }
    }
    const char *fname = pb.name;
    bp.loss_name = pb.truth ? "loss" : pb.loss_name;

    regrets = calloc((size_t)seeds, sizeof *regrets);
    used = calloc((size_t)seeds, sizeof *used);
    walls = calloc((size_t)seeds, sizeof *walls);
    if (!regrets || !used || !walls) {
        fprintf(stderr, "fresh bench: out of memory\n");
        exit_code = CLI_EXIT_FAIL;
        goto out;
    }
    size_t n_reg = 0;
    for (long k = 0; k < seeds && (rank > 0 || !cli_interrupted()); k++) {
#ifdef FRESH_HAVE_MPI
        if (use_mpi && rank > 0) { /* an evaluating rank: rank 0 owns the study and prints */
            if (fresh_study_optimize_mpi(NULL, pb.objective, pb.user, MPI_COMM_WORLD) < 0)
                exit_code = CLI_EXIT_FAIL;
            int go = 0;
            MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
            if (!go)
                break;
            continue;
        }
#endif
        char path[4096];
        o.seed = (uint64_t)(seed + k);
        sim.seed = o.seed;
        o.trajectory = NULL;
        if (traj) {
            if (seeds == 1)
                snprintf(path, sizeof path, "%s", traj);
            else {
                const char *dot = strrchr(traj, '.');
                int stem = dot ? (int)(dot - traj) : (int)strlen(traj);
                snprintf(path, sizeof path, "%.*s-%ld%s", stem, traj, seed + k, dot ? dot : "");
            }
            o.trajectory = path;
        }
        fresh_bench_result r;
        char err[512] = "";
        if (show_progress) {
            cli_progress_init(&bp.pr, stderr, tty, progress_s,
                              bp.by_brackets ? (double)o.brackets : o.budget_mbe,
                              bp.by_brackets ? "brackets" : "MBE", cli_now());
            if (seeds > 1)
                snprintf(bp.seed_label, sizeof bp.seed_label, "seed %ld (%ld of %ld), ",
                         seed + k, k + 1, seeds);
            o.on_job = on_job_progress;
            o.on_job_user = &bp;
        }
        int rc = fresh_bench_run(&pb, &o, &r, err);
        if (show_progress && rc == FRESH_OK && !cli_interrupted()) {
            char detail[256];
            snprintf(detail, sizeof detail, "%s%zu jobs", bp.seed_label, r.evaluations);
            cli_progress_finish(&bp.pr, cli_now(),
                                bp.by_brackets ? (double)r.brackets : r.used_mbe, detail);
        } else if (show_progress && bp.pr.on_screen) {
            fputc('\n', stderr);
        }
        if (rc != FRESH_OK) {
            fprintf(stderr, "fresh bench: %s\n", sim_workers && sim.err[0] ? sim.err : err);
            exit_code = CLI_EXIT_FAIL;
#ifdef FRESH_HAVE_MPI
            if (use_mpi && !mr.called)
                release_ranks();
            else if (use_mpi) {
                int go = 0;
                MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
            }
#endif
            break;
        }
        if (r.has_incumbent)
            regrets[n_reg++] = r.has_truth ? r.regret : r.inc_loss;
        if (digits && baseline && !json) {
            fresh_digits_config dc;
            fresh_digits_default_config(&dc);
            double base = fresh_digits_evaluate(data, &dc, 81, o.seed, 0);
            printf("untuned default configuration (lr 0.01, batch 64, 32 hidden, sgd): validation "
                   "error %.4f after 81 epochs\n", base);
            if (r.has_incumbent && r.inc_loss > 0)
                printf("tuned: %.4f, %.1f times lower, %.1f points better\n", r.inc_loss,
                       base / r.inc_loss, 100 * (base - r.inc_loss));
        }
        used[k] = r.used_mbe;
        walls[k] = r.wall_s;
        double model_frac = r.configs ? (double)r.model_based / (double)r.configs : 0;
        double hedged_frac = r.configs ? (double)r.hedged / (double)r.configs : 0;
        if (json) {
            json_t *inc = r.has_incumbent ? json_pack("{s:o,s:f,s:f,s:o,s:I}",
                              "params", json_loads(r.inc_json, 0, NULL), "loss", r.inc_loss,
                              "budget", r.inc_budget, "true_loss", num_or_null(r.has_truth, r.inc_true),
                              "config_id", (json_int_t)r.inc_config)
                                          : json_null();
            json_t *obj = json_pack(
                "{s:s,s:s,s:s,s:I,s:I,s:f,s:f,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:f,s:f,s:f,s:f,s:f,s:s}",
                "function", fname, "sampler", o.sampler, "scheduler", o.scheduler,
                "seed", (json_int_t)o.seed, "workers", (json_int_t)r.workers,
                "budget_mbe", o.budget_mbe, "used_mbe", r.used_mbe,
                "evaluations", (json_int_t)r.evaluations, "configs", (json_int_t)r.configs,
                "failed", (json_int_t)r.failed, "stopped", (json_int_t)r.stopped,
                "brackets", (json_int_t)r.brackets, "incumbent", inc,
                "regret", num_or_null(r.has_incumbent && r.has_truth, r.regret),
                "model_based_fraction", model_frac, "hedged_fraction", hedged_frac,
                "wall_s", r.wall_s, "overhead_s", r.overhead_s, "utilization", r.utilization,
                "status", fresh_status_name(r.status));
            if (sim_workers)
                json_object_set_new(obj, "simulated", cli_sim_json(&sim));
#ifdef FRESH_HAVE_MPI
            if (use_mpi)
                json_object_set_new(obj, "mpi", json_pack(
                    "{s:i,s:f,s:I,s:I,s:f,s:f,s:f,s:f,s:I}", "ranks", mr.st.ranks,
                    "setup_s", mr.st.setup,
                    "jobs", (json_int_t)mr.st.jobs, "reports_decided",
                    (json_int_t)mr.st.reports_decided, "report_rtt_mean_us",
                    1e6 * mr.st.report_rtt_mean, "report_rtt_max_us", 1e6 * mr.st.report_rtt_max,
                    "rank0_busy_s", mr.st.rank0_busy, "rank0_jobs_per_second_max",
                    mr.st.jobs_per_second_max, "ranks_lost", (json_int_t)mr.st.ranks_lost));
#endif
            char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
            printf("%s\n", line ? line : "{}");
            free(line);
            json_decref(obj);
        } else {
            printf("%s seed %llu: ", fname, (unsigned long long)o.seed);
            if (r.has_incumbent && r.has_truth)
                printf("regret %.6g (loss %.6g at budget %g) with %s\n", r.regret, r.inc_loss,
                       r.inc_budget, r.inc_params);
            else if (r.has_incumbent)
                printf("incumbent %s %.6g at budget %g with %s\n", pb.loss_name, r.inc_loss,
                       r.inc_budget, r.inc_params);
            else
                printf("no incumbent (no job reached the maximum budget)\n");
            if (r.replayed)
                printf("  resumed from %s: %zu jobs rebuilt, %zu run again\n", o.storage,
                       r.replayed, r.requeued);
            printf("  %s + %s: %.2f MBE used, %zu jobs (%zu stopped early, %zu failed), "
                   "%zu configs (%.0f%% model-based, %.0f%% random by the hedge), %.3f s wall, "
                   "%.3f s overhead, utilization %.2f\n",
                   o.sampler, o.scheduler, r.used_mbe, r.evaluations, r.stopped, r.failed,
                   r.configs, 100 * model_frac, 100 * hedged_frac, r.wall_s, r.overhead_s,
                   r.utilization);
            if (sim_workers)
                cli_sim_print(&sim, stdout);
#ifdef FRESH_HAVE_MPI
            if (use_mpi)
                printf("  MPI: %d ranks (1 scheduling, %d evaluating), %zu report round trips "
                       "(mean %.0f us, max %.0f us), rank 0 busy %.3f s: at most %.0f jobs/s; "
                       "%.3f s until every rank was ready (not in the wall time)\n",
                       mr.st.ranks, mr.st.ranks - 1, mr.st.reports_decided,
                       1e6 * mr.st.report_rtt_mean, 1e6 * mr.st.report_rtt_max, mr.st.rank0_busy,
                       mr.st.jobs_per_second_max, mr.st.setup);
#endif
        }
        fflush(stdout);
        if (cli_interrupted()) {
            cli_interrupt_report("bench", r.evaluations, r.interrupted, o.storage, argc, argv);
            exit_code = cli_interrupt_exit_code();
        }
#ifdef FRESH_HAVE_MPI
        if (use_mpi) { /* the evaluating ranks run the next seed only if rank 0 does */
            int go = !cli_interrupted();
            MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
        }
#endif
    }
    if (exit_code == 0 && cli_interrupted() && rank == 0) /* before the first run */
        exit_code = cli_interrupt_exit_code();
    if (exit_code == 0 && seeds > 1 && rank == 0) {
        double mr = median(regrets, n_reg), mu = median(used, (size_t)seeds),
               mw = median(walls, (size_t)seeds);
        if (json) {
            json_t *obj = json_pack("{s:s,s:s,s:s,s:I,s:I,s:o,s:f,s:f}", "function", fname,
                                    "sampler", o.sampler, "scheduler", o.scheduler,
                                    "seeds", (json_int_t)seeds, "with_incumbent", (json_int_t)n_reg,
                                    "median_regret", num_or_null(n_reg > 0, mr),
                                    "median_used_mbe", mu, "median_wall_s", mw);
            char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
            printf("%s\n", line ? line : "{}");
            free(line);
            json_decref(obj);
        } else {
            printf("median over %ld seeds: %s %.6g (%zu with an incumbent), %.2f MBE used, "
                   "%.3f s wall\n", seeds, pb.truth ? "regret" : pb.loss_name, mr, n_reg, mu, mw);
        }
    }
out:
    cli_sim_free(&sim);
    free(regrets);
    free(used);
    free(walls);
    fresh_digits_free(data);
#ifdef FRESH_HAVE_MPI
    if (use_mpi)
        MPI_Finalize();
#endif
    return exit_code;
}
