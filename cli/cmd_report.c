/*
 * cmd_report.c - `fresh report FILE -o OUT.html [--watch SEC]`: one
 * self-contained HTML page that shows a study.
 *
 * DESIGN
 * The study file is read as a snapshot (fresh_study_open_snapshot: no lock,
 * no write), so the report also works while the study runs. Everything the
 * page shows is one JSON document (report_data, below) embedded in the page
 * in a <script type="application/json" id="fresh-data"> element; the page's
 * own script (cli/report/report.js) draws the charts from it with Chart.js,
 * inlined from Debian's libjs-chart.js, so the file works offline and alone.
 * The template, the script and Chart.js are compiled into the binary
 * (cmake/embed.cmake); a build made without libjs-chart.js reads Chart.js
 * from the Debian path at run time instead.
 *
 * Two measures are computed here rather than in the page, so that tests can
 * check them against an independent computation from `fresh export`:
 *  - rank agreement: for each rung budget below the maximum, Kendall's tau-b
 *    between the loss reported at that rung and the final loss, over the
 *    jobs that ran from scratch to the maximum budget (the unselected pairs
 *    of the adaptive rule, docs/algorithms.md), the FRESH_ADAPTIVE_KEEP most
 *    recent by end time, as the scheduler keeps them;
 *  - parameter importance: the correlation ratio eta^2 of the loss ranks
 *    on each parameter (the share of the rank variance explained by the
 *    parameter's groups: its levels, or five equal-count bins of its
 *    values, "inactive" a group of its own), over the configurations
 *    completed at the largest budget with enough of them. It is a first
 *    order (main-effect) measure like fANOVA's, on ranks so that a few
 *    diverged trainings do not dominate, and needs no model; its value under
 *    no effect is about (groups - 1) / (n - 1), which the page shows too.
 *
 * The page is written to OUT.tmp and renamed over OUT, so a browser (or
 * --watch) never sees half a page.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fresh/study.h"
#include "internal.h"

/* The compiled-in assets (cmake/embed.cmake). */
extern const unsigned char fresh_report_html[];
extern const unsigned long fresh_report_html_len;
extern const unsigned char fresh_report_js[];
extern const unsigned long fresh_report_js_len;
#ifdef FRESH_REPORT_CHARTJS
extern const unsigned char fresh_report_chartjs[];
extern const unsigned long fresh_report_chartjs_len;
#endif
#define CHARTJS_PATH "/usr/share/javascript/chart.js/chart.min.js"

/* The adaptive rule keeps this many most recent pairs per rung pair
 * (schedulers/fidelity.h, FRESH__PAIRS_KEEP). */
#define FRESH_ADAPTIVE_KEEP 128
/* Rows of the table of best configurations and lines of the parallel
 * coordinates. */
#define REPORT_TOP_DEFAULT 20
/* Equal-count bins of a numeric parameter for the importance measure. */
#define IMPORTANCE_BINS 5

static const char report_usage[] =
    "usage: fresh report FILE -o OUT.html [--watch SEC] [--baseline LOSS]\n"
    "                    [--loss-name NAME] [--budget-unit UNIT] [--top N]\n"
    "\n"
    "Writes one self-contained HTML page (works offline: Chart.js is inlined) that\n"
    "shows the study in FILE: the incumbent against spent budget and wall time, every\n"
    "evaluation's loss against its budget, learning curves with promotions, how well\n"
    "each budget ranks configurations like the maximum budget, the workers' timeline,\n"
    "parallel coordinates and a table of the best configurations, and a per-parameter\n"
    "importance measure. It reads a snapshot, so it also works while the study runs.\n"
    "\n"
    "  -o, --output OUT     the page to write (required)\n"
    "  --watch SEC          rewrite OUT every SEC seconds while another process runs\n"
    "                       the study (the page reloads itself), then once more\n"
    "  --baseline LOSS      the untuned default's loss, when it was measured outside\n"
    "                       the study (without it: the study's own evaluation of the\n"
    "                       space's default configuration at the maximum budget, if any)\n"
    "  --loss-name NAME     what the loss is (default \"loss\")\n"
    "  --budget-unit UNIT   what the budget counts (default \"budget units\")\n"
    "  --top N              best configurations in the table (default 20)\n";

typedef struct report_opts {
    const char *path, *out;
    double baseline;        /* NaN: none given */
    const char *loss_name, *budget_unit;
    long top;
    double watch;           /* seconds; 0 = write once */
} report_opts;

/* ------------------------------------------------------------ helpers */

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static const char *status_text(fresh_job_status st)
{
    switch (st) {
    case FRESH_JOB_COMPLETED: return "completed";
    case FRESH_JOB_STOPPED: return "stopped";
    case FRESH_JOB_FAILED: return "failed";
    default: return "running";
    }
}

static int rung_of(const double *rungs, int n, double budget)
{
    for (int j = 0; j < n; j++)
        if (fabs(rungs[j] - budget) <= 1e-9 * rungs[j])
            return j;
    return -1;
}

/* Average ranks (1-based, ties share their mean rank) of v[0..n). */
static int ranks(const double *v, size_t n, double *r)
{
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return -1;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    /* insertion sort by value: n is the number of results at one budget */
    for (size_t i = 1; i < n; i++) {
        size_t k = idx[i], j = i;
        while (j > 0 && v[idx[j - 1]] > v[k]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = k;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && v[idx[j + 1]] == v[idx[i]])
            j++;
        double mean = 0.5 * (double)(i + j) + 1;
        for (size_t t = i; t <= j; t++)
            r[idx[t]] = mean;
        i = j + 1;
    }
    free(idx);
    return 0;
}

/* ------------------------------------------------------------ measures */

typedef struct pair_rec {
    double end, a, b;
} pair_rec;

static int cmp_pair_end(const void *x, const void *y)
{
    double a = ((const pair_rec *)x)->end, b = ((const pair_rec *)y)->end;
    return (a > b) - (a < b);
}

/* Kendall's tau of each rung below the maximum against the maximum budget
 * (see DESIGN). */
static json_t *rank_agreement(const fresh_study *s, const double *rungs, int n_rungs)
{
    json_t *arr = json_array();
    size_t n_jobs = fresh_study_n_jobs(s);
    pair_rec *pairs = malloc((n_jobs ? n_jobs : 1) * sizeof *pairs);
    double *a = malloc((n_jobs ? n_jobs : 1) * sizeof *a);
    double *b = malloc((n_jobs ? n_jobs : 1) * sizeof *b);
    if (!arr || !pairs || !a || !b) {
        free(pairs), free(a), free(b);
        json_decref(arr);
        return NULL;
    }
    for (int j = 0; j + 1 < n_rungs; j++) {
        size_t n = 0;
        for (size_t i = 0; i < n_jobs; i++) {
            fresh_job_info ji;
            fresh_study_job(s, i, &ji);
            if (ji.status != FRESH_JOB_COMPLETED || ji.resume_from != 0 ||
                rung_of(rungs, n_rungs, ji.budget) != n_rungs - 1 || !isfinite(ji.loss))
                continue;
            for (size_t k = 0; k < ji.n_reports; k++)
                if (rung_of(rungs, n_rungs, ji.report_steps[k]) == j &&
                    isfinite(ji.report_losses[k])) {
                    pairs[n].end = ji.end_time;
                    pairs[n].a = ji.report_losses[k]; /* the last report at the rung */
                    pairs[n].b = ji.loss;
                    n++;
                    break;
                }
        }
        qsort(pairs, n, sizeof *pairs, cmp_pair_end);
        size_t first = n > FRESH_ADAPTIVE_KEEP ? n - FRESH_ADAPTIVE_KEEP : 0, m = 0;
        for (size_t i = first; i < n; i++, m++) {
            a[m] = pairs[i].a;
            b[m] = pairs[i].b;
        }
        json_t *o = json_pack("{s:f,s:o,s:I,s:I}", "budget", rungs[j], "tau",
                              m >= 2 ? json_real(fresh__kendall_tau(a, b, m)) : json_null(),
                              "pairs", (json_int_t)m, "pairs_all", (json_int_t)n);
        json_array_append_new(arr, o);
    }
    free(pairs);
    free(a);
    free(b);
    return arr;
}

/* The correlation ratio of ranks r[0..n) on groups g[0..n) (0..ng-1). */
static double eta_squared(const double *r, const int *g, size_t n, int ng)
{
    double mean = 0, tot = 0, between = 0;
    for (size_t i = 0; i < n; i++)
        mean += r[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        tot += (r[i] - mean) * (r[i] - mean);
    for (int k = 0; k < ng; k++) {
        double sum = 0;
        size_t cnt = 0;
        for (size_t i = 0; i < n; i++)
            if (g[i] == k) {
                sum += r[i];
                cnt++;
            }
        if (cnt)
            between += (double)cnt * (sum / (double)cnt - mean) * (sum / (double)cnt - mean);
    }
    return tot > 0 ? between / tot : 0;
}

/* Groups of parameter p over the n configurations x[i]: levels, or equal-count
 * bins of the sorted active values (ties in one bin); inactive = the last
 * group. Returns the number of groups in use; *n_index: the group indices
 * are 0..*n_index-1. */
static int groups_of(const fresh_space *space, size_t p, const double *const *x, size_t n, int *g,
                     int *n_index)
{
    fresh_param_info pi;
    fresh_space_param(space, p, &pi);
    int ng;
    if (pi.type == FRESH_PARAM_CATEGORICAL || pi.type == FRESH_PARAM_ORDINAL) {
        ng = (int)pi.n_levels;
        for (size_t i = 0; i < n; i++)
            g[i] = isnan(x[i][p]) ? -1 : (int)x[i][p];
    } else {
        size_t n_act = 0;
        for (size_t i = 0; i < n; i++)
            if (!isnan(x[i][p]))
                n_act++;
        ng = IMPORTANCE_BINS;
        for (size_t i = 0; i < n; i++) {
            if (isnan(x[i][p])) {
                g[i] = -1;
                continue;
            }
            /* position of the first value equal to x[i][p] in sorted order */
            size_t below = 0;
            for (size_t k = 0; k < n; k++)
                if (!isnan(x[k][p]) && x[k][p] < x[i][p])
                    below++;
            g[i] = (int)(below * (size_t)ng / (n_act ? n_act : 1));
        }
    }
    int any_inactive = 0;
    for (size_t i = 0; i < n; i++)
        if (g[i] < 0) {
            g[i] = ng;
            any_inactive = 1;
        }
    ng += any_inactive;
    *n_index = ng;
    /* groups in use */
    int used = 0;
    for (int k = 0; k < ng; k++)
        for (size_t i = 0; i < n; i++)
            if (g[i] == k) {
                used++;
                break;
            }
    return used;
}

/* Importance of each parameter (see DESIGN) at the largest budget with at
 * least max(8, 2 dim) completed configurations. */
static json_t *importance(const fresh_study *s, const fresh_space *space, const double *rungs,
                          int n_rungs)
{
    size_t dim = fresh_space_dim(space), n_jobs = fresh_study_n_jobs(s);
    size_t need = 2 * dim > 8 ? 2 * dim : 8;
    json_t *out = json_pack("{s:s,s:o,s:I,s:[]}", "method",
                            "eta^2 of loss ranks on parameter groups (levels, or 5 equal-count "
                            "bins), at the largest budget with enough completed configurations",
                            "budget", json_null(), "n", (json_int_t)0, "params");
    double *loss = malloc((n_jobs ? n_jobs : 1) * sizeof *loss);
    double *r = malloc((n_jobs ? n_jobs : 1) * sizeof *r);
    const double **x = malloc((n_jobs ? n_jobs : 1) * sizeof *x);
    int *g = malloc((n_jobs ? n_jobs : 1) * sizeof *g);
    if (!out || !loss || !r || !x || !g)
        goto fail;
    for (int j = n_rungs - 1; j >= 0; j--) {
        size_t n = 0;
        for (size_t i = 0; i < n_jobs; i++) {
            fresh_job_info ji;
            fresh_study_job(s, i, &ji);
            if (ji.status == FRESH_JOB_COMPLETED && isfinite(ji.loss) &&
                rung_of(rungs, n_rungs, ji.budget) == j) {
                loss[n] = ji.loss;
                x[n] = fresh_study_config(s, ji.config_id);
                n++;
            }
        }
        if (n < need)
            continue;
        if (ranks(loss, n, r))
            goto fail;
        json_object_set_new(out, "budget", json_real(rungs[j]));
        json_object_set_new(out, "n", json_integer((json_int_t)n));
        json_t *params = json_object_get(out, "params");
        for (size_t p = 0; p < dim; p++) {
            fresh_param_info pi;
            fresh_space_param(space, p, &pi);
            int n_index, ng = groups_of(space, p, x, n, g, &n_index);
            json_array_append_new(
                params, json_pack("{s:s,s:f,s:f,s:i}", "name", pi.name, "eta2",
                                  eta_squared(r, g, n, n_index), "chance",
                                  (double)(ng - 1) / (double)(n - 1), "groups", ng));
        }
        break;
    }
    free(loss), free(r), free(x), free(g);
    return out;
fail:
    free(loss), free(r), free(x), free(g);
    json_decref(out);
    return NULL;
}

/* ------------------------------------------------------------ the data */

static json_t *config_values(const fresh_space *space, const double *x)
{
    json_t *arr = json_array();
    for (size_t p = 0; arr && p < fresh_space_dim(space); p++)
        json_array_append_new(arr, num(x[p]));
    return arr;
}

/* The unit position of each value on its parallel-coordinates axis: the
 * model encoding for numbers (log where asked), index / (levels - 1) for
 * levels, null when inactive. */
static json_t *config_unit(const fresh_space *space, const double *x)
{
    size_t dim = fresh_space_dim(space);
    double *u = malloc((dim ? dim : 1) * sizeof *u);
    json_t *arr = json_array();
    if (!u || !arr) {
        free(u);
        json_decref(arr);
        return NULL;
    }
    fresh_space_encode(space, x, u);
    for (size_t p = 0; p < dim; p++) {
        fresh_param_info pi;
        fresh_space_param(space, p, &pi);
        double v = u[p];
        if ((pi.type == FRESH_PARAM_CATEGORICAL || pi.type == FRESH_PARAM_ORDINAL) && !isnan(v))
            v = pi.n_levels > 1 ? v / (double)(pi.n_levels - 1) : 0.5;
        json_array_append_new(arr, num(v));
    }
    free(u);
    return arr;
}

static json_t *space_json(const fresh_space *space)
{
    json_t *arr = json_array();
    static const char *const types[] = {"float", "int", "categorical", "ordinal"};
    for (size_t p = 0; arr && p < fresh_space_dim(space); p++) {
        fresh_param_info pi;
        fresh_space_param(space, p, &pi);
        json_t *levels = json_null();
        if (pi.labels) {
            levels = json_array();
            for (size_t k = 0; k < pi.n_levels; k++)
                json_array_append_new(levels, json_string(pi.labels[k]));
        }
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:b,s:f,s:f,s:o,s:o,s:b}", "name", pi.name, "type",
                           types[pi.type], "log", pi.log_scale, "low", pi.low, "high", pi.high,
                           "levels", levels, "default",
                           pi.has_default ? json_real(pi.default_value) : json_null(),
                           "conditional", pi.has_condition));
    }
    return arr;
}

/* The space's default configuration, when it declares defaults, and its
 * loss at the maximum budget when the study evaluated it there. */
static json_t *study_default(const fresh_study *s, const fresh_space *space, double max_b,
                             double *loss_out)
{
    *loss_out = NAN;
    size_t dim = fresh_space_dim(space);
    int declared = 0;
    for (size_t p = 0; p < dim; p++) {
        fresh_param_info pi;
        fresh_space_param(space, p, &pi);
        declared |= pi.has_default;
    }
    double *x = malloc((dim ? dim : 1) * sizeof *x);
    if (!declared || !x || fresh_space_default_config(space, x) != FRESH_OK) {
        free(x);
        return json_null();
    }
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        if (ji.status == FRESH_JOB_COMPLETED && ji.budget == max_b && isfinite(ji.loss) &&
            fresh_space_equal(space, x, fresh_study_config(s, ji.config_id)) &&
            !(ji.loss >= *loss_out))
            *loss_out = ji.loss;
    }
    json_t *o = json_pack("{s:o,s:o}", "values", config_values(space, x), "unit",
                          config_unit(space, x));
    free(x);
    return o;
}

typedef struct best_rec {
    uint64_t config;
    double budget, loss;
} best_rec;

static int cmp_best(const void *x, const void *y)
{
    const best_rec *a = x, *b = y;
    if (a->budget != b->budget)
        return a->budget > b->budget ? -1 : 1;
    if (a->loss != b->loss)
        return a->loss < b->loss ? -1 : 1;
    return (a->config > b->config) - (a->config < b->config);
}

/* The best configurations: each configuration's best loss at the largest
 * budget it completed, ranked by (budget desc, loss, id); the top `top`. */
static json_t *best_configs(const fresh_study *s, const fresh_space *space, long top)
{
    size_t nc = fresh_study_n_configs(s);
    best_rec *b = malloc((nc ? nc : 1) * sizeof *b);
    json_t *arr = json_array();
    if (!b || !arr) {
        free(b);
        json_decref(arr);
        return NULL;
    }
    for (size_t c = 0; c < nc; c++)
        b[c] = (best_rec){c, -INFINITY, INFINITY};
    for (size_t i = 0; i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        if (ji.status != FRESH_JOB_COMPLETED || !isfinite(ji.loss) || ji.config_id >= nc)
            continue;
        best_rec *r = &b[ji.config_id];
        if (ji.budget > r->budget || (ji.budget == r->budget && ji.loss < r->loss)) {
            r->budget = ji.budget;
            r->loss = ji.loss;
        }
    }
    qsort(b, nc, sizeof *b, cmp_best);
    for (size_t k = 0; k < nc && (long)k < top && isfinite(b[k].loss); k++) {
        const double *x = fresh_study_config(s, b[k].config);
        char text[2048];
        fresh_space_format(space, x, text, sizeof text);
        json_array_append_new(arr, json_pack("{s:I,s:f,s:f,s:s,s:o,s:o}", "config",
                                             (json_int_t)b[k].config, "loss", b[k].loss,
                                             "budget", b[k].budget, "text", text, "values",
                                             config_values(space, x), "unit",
                                             config_unit(space, x)));
    }
    free(b);
    return arr;
}

static json_t *jobs_json(const fresh_study *s)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < fresh_study_n_jobs(s); i++) {
        fresh_job_info ji;
        fresh_study_job(s, i, &ji);
        json_t *steps = json_array(), *losses = json_array();
        for (size_t k = 0; k < ji.n_reports; k++) {
            json_array_append_new(steps, num(ji.report_steps[k]));
            json_array_append_new(losses, num(ji.report_losses[k]));
        }
        int running = ji.status == FRESH_JOB_PENDING;
        json_array_append_new(
            arr, json_pack("{s:I,s:I,s:I,s:i,s:f,s:f,s:o,s:o,s:o,s:s,s:s,s:o,s:o,s:o,s:o,s:i,s:b}",
                           "id", (json_int_t)ji.job_id, "config", (json_int_t)ji.config_id,
                           "bracket", (json_int_t)ji.bracket, "stage", ji.stage, "budget",
                           ji.budget, "resume_from", ji.resume_from, "reached",
                           running ? json_null() : num(ji.reached), "cost",
                           running ? json_null() : num(ji.cost), "loss",
                           running ? json_null() : num(ji.loss), "status",
                           status_text(ji.status), "message", ji.message ? ji.message : "",
                           "steps", steps, "losses", losses, "start",
                           running ? json_null() : num(ji.start_time), "end",
                           running ? json_null() : num(ji.end_time), "worker", ji.worker,
                           "model_based", ji.model_based));
    }
    return arr;
}

static json_t *trajectory_json(const fresh_study *s)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < fresh_study_n_trajectory(s); i++) {
        fresh_traj_point pt;
        fresh_study_trajectory(s, i, &pt);
        json_array_append_new(
            arr, json_pack("{s:I,s:f,s:f,s:o,s:o,s:o,s:o,s:o}", "job", (json_int_t)pt.job_id,
                           "mbe", pt.used_mbe, "wall", pt.wall_time, "loss",
                           pt.has_incumbent ? num(pt.loss) : json_null(), "config",
                           pt.has_incumbent ? json_integer((json_int_t)pt.config_id)
                                            : json_null(),
                           "best_any_loss", pt.has_best_any ? num(pt.best_any_loss) : json_null(),
                           "best_any_budget",
                           pt.has_best_any ? num(pt.best_any_budget) : json_null(),
                           "best_any_config",
                           pt.has_best_any ? json_integer((json_int_t)pt.best_any_config_id)
                                           : json_null()));
    }
    return arr;
}

static json_t *stats_json(const fresh_study_stats *st)
{
    return json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I}",
        "jobs_finished", (json_int_t)st->jobs_finished, "jobs_completed",
        (json_int_t)st->jobs_completed, "jobs_stopped", (json_int_t)st->jobs_stopped,
        "jobs_failed", (json_int_t)st->jobs_failed, "jobs_running", (json_int_t)st->jobs_running,
        "configs", (json_int_t)st->configs, "proposals_model", (json_int_t)st->proposals_model,
        "proposals_random", (json_int_t)st->proposals_random, "proposals_hedged",
        (json_int_t)st->proposals_hedged, "brackets_finished", (json_int_t)st->brackets_finished,
        "used_budget", st->used_budget, "used_mbe", st->used_mbe, "wall_time", st->wall_time,
        "busy_time", st->busy_time, "overhead_time", st->overhead_time, "utilization",
        st->utilization, "brackets_opened", (json_int_t)st->brackets_opened, "workers",
        (json_int_t)st->workers);
}

/* Everything the page shows, from a snapshot of the study file. NULL (with
 * a message in err) on failure. */
static json_t *report_data(const report_opts *o, char *err, size_t errlen, int *in_use_out)
{
    int rc;
    fresh_space *space = NULL;
    fresh_study *s = fresh_study_open_snapshot(o->path, &space, &rc, err, errlen);
    if (!s)
        return NULL;
    int in_use = fresh_study_file_in_use(o->path) == 1;
    *in_use_out = in_use;
    const fresh_plan *plan = fresh_study_plan(s);
    double rungs[FRESH_PLAN_MAX_STAGES];
    int n_rungs = fresh_plan_s_max(plan) + 1;
    fresh_plan_rungs(plan, rungs);
    json_t *rung_arr = json_array();
    for (int j = 0; j < n_rungs; j++)
        json_array_append_new(rung_arr, json_real(rungs[j]));
    fresh_study_stats st;
    fresh_study_get_stats(s, &st);

    double max_b = fresh_plan_max_budget(plan), def_loss;
    json_t *def = study_default(s, space, max_b, &def_loss);
    json_t *baseline = json_null();
    if (isfinite(o->baseline))
        baseline = json_pack("{s:f,s:s}", "loss", o->baseline, "source",
                             "measured outside the study (--baseline)");
    else if (isfinite(def_loss))
        baseline = json_pack("{s:f,s:s}", "loss", def_loss, "source",
                             "the space's default configuration, evaluated in the study");

    uint64_t inc_id;
    double inc_loss, inc_budget;
    const double *inc_x;
    json_t *inc = json_null();
    if (fresh_study_incumbent(s, &inc_id, &inc_loss, &inc_budget, &inc_x) == FRESH_OK) {
        char text[2048];
        fresh_space_format(space, inc_x, text, sizeof text);
        inc = json_pack("{s:I,s:f,s:f,s:s,s:o}", "config", (json_int_t)inc_id, "loss", inc_loss,
                        "budget", inc_budget, "text", text, "values",
                        config_values(space, inc_x));
    }
    json_t *configs = json_array();
    for (size_t c = 0; c < fresh_study_n_configs(s); c++)
        json_array_append_new(configs, config_values(space, fresh_study_config(s, c)));

    char when[64];
    time_t now = time(NULL);
    struct tm tmv;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&now, &tmv));
    json_t *data = json_pack(
        "{s:s,s:s,s:s,s:b,s:o,s:s,s:s,s:{s:f,s:f,s:f,s:o},s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
        "s:o,s:o}",
        "fresh_version", fresh_version(), "file", o->path, "generated", when, "running", in_use,
        "watch", o->watch > 0 && in_use ? json_real(o->watch) : json_null(), "loss_name",
        o->loss_name, "budget_unit", o->budget_unit, "plan", "min_budget",
        fresh_plan_min_budget(plan), "max_budget", max_b, "eta", fresh_plan_eta(plan), "rungs",
        rung_arr, "stats", stats_json(&st), "space", space_json(space), "jobs", jobs_json(s),
        "configs", configs, "trajectory", trajectory_json(s), "incumbent", inc, "default", def,
        "baseline", baseline, "rank_agreement", rank_agreement(s, rungs, n_rungs), "importance",
        importance(s, space, rungs, n_rungs), "best", best_configs(s, space, o->top),
        "adaptive_rule", json_pack("{s:f,s:i,s:i}", "min_tau", FRESH_ADAPTIVE_MIN_TAU,
                                   "min_pairs", FRESH_ADAPTIVE_MIN_PAIRS, "keep",
                                   FRESH_ADAPTIVE_KEEP));
    fresh_study_destroy(s);
    fresh_space_destroy(space);
    if (!data)
        snprintf(err, errlen, "out of memory building the report");
    return data;
}

/* ------------------------------------------------------------ the page */

#ifndef FRESH_REPORT_CHARTJS
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 65536 > cap) {
            char *nb = realloc(buf, cap = 2 * cap + 65536);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}
#endif

/* Writes the template with its markers replaced: <!--FRESH_TITLE-->,
 * <!--FRESH_REFRESH-->, <!--FRESH_CHARTJS-->, <!--FRESH_DATA-->,
 * <!--FRESH_APP-->. */
static void write_page(FILE *f, const char *tpl, size_t tpl_len, const char *title,
                       const char *refresh, const char *chartjs, size_t chartjs_len,
                       const char *data, const char *app, size_t app_len)
{
    const char *p = tpl, *end = tpl + tpl_len;
    while (p < end) {
        const char *m = strstr(p, "<!--FRESH_");
        if (!m || m >= end) {
            fwrite(p, 1, (size_t)(end - p), f);
            break;
        }
        fwrite(p, 1, (size_t)(m - p), f);
        const char *close = strstr(m, "-->");
        if (!close)
            close = end - 3;
        size_t len = (size_t)(close - m);
        if (!strncmp(m, "<!--FRESH_TITLE", len))
            fputs(title, f);
        else if (!strncmp(m, "<!--FRESH_REFRESH", len))
            fputs(refresh, f);
        else if (!strncmp(m, "<!--FRESH_CHARTJS", len))
            fwrite(chartjs, 1, chartjs_len, f);
        else if (!strncmp(m, "<!--FRESH_DATA", len))
            fputs(data, f);
        else if (!strncmp(m, "<!--FRESH_APP", len))
            fwrite(app, 1, app_len, f);
        p = close + 3;
    }
}

/* Escapes &, <, >, " for HTML text. */
static void html_escape(const char *in, char *out, size_t n)
{
    size_t k = 0;
    for (; *in && k + 7 < n; in++) {
        const char *rep = *in == '&' ? "&amp;" : *in == '<' ? "&lt;" : *in == '>' ? "&gt;"
                        : *in == '"' ? "&quot;" : NULL;
        if (rep) {
            size_t l = strlen(rep);
            memcpy(out + k, rep, l);
            k += l;
        } else {
            out[k++] = *in;
        }
    }
    out[k] = '\0';
}

/* One report: FRESH_OK-like 0, or -1 with a message printed. *in_use tells
 * whether another process runs the study. */
static int write_report(const report_opts *o, const char *chartjs, size_t chartjs_len,
                        int *in_use)
{
    char err[512] = "";
    json_t *data = report_data(o, err, sizeof err, in_use);
    if (!data) {
        fprintf(stderr, "fresh report: %s\n", err);
        return -1;
    }
    /* JSON_ESCAPE_SLASH: no "</script>" can appear inside the data */
    char *text = json_dumps(data, JSON_COMPACT | JSON_ESCAPE_SLASH | JSON_REAL_PRECISION(17));
    json_decref(data);
    if (!text) {
        fprintf(stderr, "fresh report: out of memory\n");
        return -1;
    }
    char title[1024], esc[900], refresh[128] = "";
    const char *base = strrchr(o->path, '/');
    html_escape(base ? base + 1 : o->path, esc, sizeof esc);
    snprintf(title, sizeof title, "fresh report: %s", esc);
    if (o->watch > 0 && *in_use)
        snprintf(refresh, sizeof refresh, "<meta http-equiv=\"refresh\" content=\"%.0f\">",
                 ceil(o->watch));

    size_t tl = strlen(o->out);
    char *tmp = malloc(tl + 8);
    if (!tmp) {
        free(text);
        fprintf(stderr, "fresh report: out of memory\n");
        return -1;
    }
    snprintf(tmp, tl + 8, "%s.tmp", o->out);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "fresh report: cannot write '%s': %s\n", tmp, strerror(errno));
        free(text);
        free(tmp);
        return -1;
    }
    write_page(f, (const char *)fresh_report_html, fresh_report_html_len, title, refresh, chartjs,
               chartjs_len, text, (const char *)fresh_report_js, fresh_report_js_len);
    free(text);
    errno = 0;
    int werr = fflush(f) != 0 || ferror(f) ? (errno ? errno : EIO) : 0;
    if (fclose(f) != 0 && !werr)
        werr = errno;
    if (!werr && rename(tmp, o->out) != 0)
        werr = errno;
    if (werr) {
        fprintf(stderr, "fresh report: error writing '%s': %s\n", o->out, strerror(werr));
        remove(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

static void nap(double seconds)
{
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A case-insensitive search for "</script" in the n bytes of s. */
static int has_script_end(const char *s, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i++)
        if (s[i] == '<' && s[i + 1] == '/' && !strncasecmp(s + i + 2, "script", 6))
            return 1;
    return 0;
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"watch", required_argument, NULL, 'w'},
                                         {"baseline", required_argument, NULL, 'b'},
                                         {"loss-name", required_argument, NULL, 'l'},
                                         {"budget-unit", required_argument, NULL, 'u'},
                                         {"top", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    report_opts o = {NULL, NULL, NAN, "loss", "budget units", REPORT_TOP_DEFAULT, 0};
    int c;
    optind = 1;
    while ((c = cli_getopt("report", argc, argv, ":ho:", opts)) != -1) {
        switch (c) {
        case 'o': o.out = optarg; break;
        case 'w': if (cli_parse_double("report", "watch", optarg, &o.watch)) return CLI_EXIT_USAGE; break;
        case 'b': if (cli_parse_double("report", "baseline", optarg, &o.baseline)) return CLI_EXIT_USAGE; break;
        case 'l': o.loss_name = optarg; break;
        case 'u': o.budget_unit = optarg; break;
        case 't': if (cli_parse_long("report", "top", optarg, &o.top)) return CLI_EXIT_USAGE; break;
        case 'h': fputs(report_usage, stdout); return 0;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return cli_usage_error("report", "missing FILE");
    if (optind + 1 < argc)
        return cli_usage_error("report", "unexpected argument '%s'", argv[optind + 1]);
    if (!o.out)
        return cli_usage_error("report", "missing '-o OUT.html'");
    if (o.watch < 0 || (o.watch > 0 && o.watch < 0.1))
        return cli_usage_error("report", "option '--watch': must be 0 or >= 0.1 seconds, got %g",
                               o.watch);
    if (o.top < 1 || o.top > 10000)
        return cli_usage_error("report", "option '--top': must be in 1..10000, got %ld", o.top);
    o.path = argv[optind];

    const char *chartjs;
    size_t chartjs_len;
    char *chartjs_buf = NULL;
#ifdef FRESH_REPORT_CHARTJS
    chartjs = (const char *)fresh_report_chartjs;
    chartjs_len = fresh_report_chartjs_len;
#else
    chartjs_buf = read_file(CHARTJS_PATH, &chartjs_len);
    if (!chartjs_buf) {
        fprintf(stderr, "fresh report: cannot read Chart.js from '%s': %s (apt-get install "
                        "libjs-chart.js)\n", CHARTJS_PATH, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    chartjs = chartjs_buf;
#endif
    if (has_script_end(chartjs, chartjs_len)) {
        fprintf(stderr, "fresh report: the Chart.js file contains '</script': cannot inline it\n");
        free(chartjs_buf);
        return CLI_EXIT_FAIL;
    }
    int in_use = 0, rc;
    for (;;) {
        rc = write_report(&o, chartjs, chartjs_len, &in_use);
        if (rc != 0 || !(o.watch > 0) || !in_use)
            break;
        nap(o.watch);
    }
    free(chartjs_buf);
    if (rc == 0 && o.watch > 0)
        fprintf(stderr, "fresh report: %s written; the study is not running: no more updates\n",
                o.out);
    return rc == 0 ? 0 : CLI_EXIT_FAIL;
}
