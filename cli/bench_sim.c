/* bench_sim.c - the simulated cluster behind `fresh bench --simulate-workers`. */
#include "bench_sim.h"

#include <math.h>
#include <string.h>

static double sim_loss(void *user, const double *x, double step, uint64_t config_id)
{
    const cli_sim *c = user;
    /* the benchmark's key is the config id, as in bench/lib/runner.c */
    return c->b->observed(x, step, c->seed, config_id);
}

static double sim_truth(void *user, const double *x)
{
    const cli_sim *c = user;
    return c->b->truth(x);
}

void cli_sim_init(cli_sim *c, const fresh_benchmark *b)
{
    memset(c, 0, sizeof *c);
    fresh_sim_opts_default(&c->so);
    c->b = b;
    c->so.loss = sim_loss;
    c->so.truth = b->truth ? sim_truth : NULL;
    c->so.f_opt = b->f_opt;
    c->so.report_every_unit = b->report_every_epoch;
    c->so.user = c;
}

int cli_sim_optimize(fresh_study *study, fresh_objective objective, void *user, void *ctx)
{
    (void)objective;
    (void)user;
    cli_sim *c = ctx;
    fresh_sim_result_free(&c->sr);
    c->so.seed = c->seed;
    int rc = fresh_sim_run(study, &c->so, &c->sr, c->err, sizeof c->err);
    return rc < 0 ? rc : c->sr.status;
}

json_t *cli_sim_json(const cli_sim *c)
{
    const fresh_sim_result *r = &c->sr;
    json_t *traj = json_array();
    for (size_t i = 0; i < r->n_traj; i++)
        json_array_append_new(traj, json_pack("[f,f]", r->traj[i].time, r->traj[i].value));
    double job = r->mean_job_time;
    return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:f,"
                     "s:f,s:f,s:f,s:o}",
                     "workers", (json_int_t)c->so.workers, "unit_time", c->so.unit_time,
                     "spread", c->so.spread, "failure_rate", c->so.failure_rate,
                     "horizon", c->so.horizon, "makespan", r->makespan, "busy", r->busy,
                     "utilization", r->utilization, "jobs", (json_int_t)r->jobs,
                     "completed", (json_int_t)r->completed, "stopped", (json_int_t)r->stopped,
                     "failed", (json_int_t)r->failed, "running_at_end", (json_int_t)r->running,
                     "waits", (json_int_t)r->waits, "mean_job_time", job,
                     "ask_mean_us", 1e6 * r->ask_mean, "ask_p99_us", 1e6 * r->ask_p99,
                     "tell_mean_us", 1e6 * r->tell_mean, "tell_p99_us", 1e6 * r->tell_p99,
                     /* owner seconds per simulated second: the share of one core
                      * the owner needs if a unit of budget takes unit_time s */
                     "owner_load", r->makespan > 0 ? r->owner_time / r->makespan : 0.0,
                     "real_s", r->real_time, "trajectory", traj);
}

void cli_sim_print(const cli_sim *c, FILE *f)
{
    const fresh_sim_result *r = &c->sr;
    fprintf(f,
            "  simulated %zu workers: makespan %.6g s, utilization %.4f, %zu jobs (%zu stopped, "
            "%zu failed, %zu running at the end), mean job %.4g s; owner per job: ask %.1f us "
            "(p99 %.1f), tell %.1f us (p99 %.1f); %.3f s real\n",
            c->so.workers, r->makespan, r->utilization, r->jobs, r->stopped, r->failed,
            r->running, r->mean_job_time, 1e6 * r->ask_mean, 1e6 * r->ask_p99,
            1e6 * r->tell_mean, 1e6 * r->tell_p99, r->real_time);
}

void cli_sim_free(cli_sim *c)
{
    fresh_sim_result_free(&c->sr);
}
