/*
 * bench_sim.h - `fresh bench NAME --simulate-workers N`: the study of one
 * seed driven by the simulated cluster of bench/lib/sim.h instead of the
 * thread pool (docs/benchmarks.md, "Simulated cluster").
 */
#ifndef FRESH_CLI_BENCH_SIM_H
#define FRESH_CLI_BENCH_SIM_H

#include <jansson.h>

#include "functions.h"
#include "sim.h"

typedef struct cli_sim {
    fresh_sim_opts so;        /* workers, spread, ... (seed set per run) */
    const fresh_benchmark *b; /* the losses: b->observed with the run's seed */
    uint64_t seed;
    fresh_sim_result sr;      /* the last run's result */
    char err[512];
} cli_sim;

/* Sets up c for benchmark b (so: defaults, report policy of b). */
void cli_sim_init(cli_sim *c, const fresh_benchmark *b);

/* The fresh_bench_opts.optimize driver: ctx is a cli_sim whose seed the
 * caller set to the run's seed. Returns the simulation's ending or a
 * negative status (message in c->err). */
int cli_sim_optimize(fresh_study *study, fresh_objective objective, void *user, void *ctx);

/* The simulated figures as a JSON object (new reference), trajectory included. */
json_t *cli_sim_json(const cli_sim *c);

/* One line of text with the simulated figures. */
void cli_sim_print(const cli_sim *c, FILE *f);

/* Frees the last result. */
void cli_sim_free(cli_sim *c);

#endif
