/*
 * c_reference.c - the C side of test_equal_c.py: a study over the space and
 * objective that the Python test also runs, 1 worker, fixed seed, printed
 * job by job with every double at 17 significant digits. The Python study
 * must print exactly the same text (bit-for-bit equal results).
 *
 * Usage: c_reference [storage.db]
 */
#include <stdio.h>
#include <string.h>

#include <fresh/fresh.h>

/* The objective both sides compute with the same operations, in the same order. */
static double loss_at(double x, double y, long n, const char *k, double step)
{
    double a = x - 1.0, b = y - 2.0;
    return a * a + 0.1 * (b * b) + 0.01 * (double)n + (strcmp(k, "b") == 0 ? 0.0 : 0.5) + 10.0 / step;
}

static int objective(fresh_trial *t, void *user)
{
    (void)user;
    double x = fresh_trial_float(t, "x"), y = fresh_trial_float(t, "y");
    long n = fresh_trial_int(t, "n");
    const char *k = fresh_trial_categorical(t, "k");
    double loss = 0;
    for (double e = fresh_trial_resume_from(t) + 1; e <= fresh_trial_budget(t); e++) {
        loss = loss_at(x, y, n, k, e);
        if (!fresh_trial_report(t, e, loss))
            return 0; /* stopped: the last report is the loss */
    }
    fresh_trial_set_loss(t, loss);
    return 0;
}

int main(int argc, char **argv)
{
    fresh_space *sp = fresh_space_create();
    const char *cats[] = {"a", "b", "c"};
    if (!sp || fresh_space_add_float(sp, "x", -5, 10, 0) || fresh_space_add_float(sp, "y", 0, 15, 0) ||
        fresh_space_add_int(sp, "n", 1, 8, 0) || fresh_space_add_categorical(sp, "k", 3, cats)) {
        fprintf(stderr, "space: %s\n", sp ? fresh_space_errmsg(sp) : "out of memory");
        return 1;
    }
    fresh_study_params p;
    fresh_study_params_default(&p);
    p.min_budget = 1;
    p.max_budget = 27;
    p.eta = 3;
    p.seed = 7;
    p.workers = 1;
    p.max_total_budget = 12;
    p.storage = argc > 1 ? argv[1] : NULL;
    int status;
    char err[512];
    fresh_study *st = fresh_study_create(sp, &p, &status, err, sizeof err);
    if (!st) {
        fprintf(stderr, "study: %s\n", err);
        return 1;
    }
    int why = fresh_study_optimize(st, objective, NULL);
    printf("end %s\n", fresh_status_name(why));
    for (size_t i = 0; i < fresh_study_n_jobs(st); i++) {
        fresh_job_info j;
        fresh_study_job(st, i, &j);
        const double *x = fresh_study_config(st, j.config_id);
        printf("job %llu config %llu bracket %ld stage %d budget %.17g from %.17g reached %.17g "
               "loss %.17g status %d reports %zu x %.17g y %.17g n %.0f k %s\n",
               (unsigned long long)j.job_id, (unsigned long long)j.config_id, j.bracket, j.stage,
               j.budget, j.resume_from, j.reached, j.loss, (int)j.status, j.n_reports, x[0], x[1],
               x[2], cats[(int)x[3]]);
    }
    uint64_t id;
    double loss, budget;
    if (fresh_study_incumbent(st, &id, &loss, &budget, NULL) == FRESH_OK)
        printf("best %llu %.17g %.17g\n", (unsigned long long)id, loss, budget);
    fresh_study_stats s;
    fresh_study_get_stats(st, &s);
    printf("used %.17g configs %zu model %zu\n", s.used_mbe, s.configs, s.proposals_model);
    fresh_study_destroy(st);
    fresh_space_destroy(sp);
    return 0;
}
