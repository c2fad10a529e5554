/* Conditions NEQ / LT / GT and forbidden relations (issue 17): a
 * real-looking ConfigSpace file (examples/spaces/configspace_relations.json:
 * every kind, inside AND and OR, on categorical, float, int and ordinal
 * parents, relations in both ConfigSpace spellings) read and checked against
 * conditions written out by hand in C, on crafted and on sampled
 * configurations; fresh's format and write_json round trips; the C API and
 * its errors; BOHB proposing only valid configurations on the space. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fresh/rng.h"
#include "study_fixtures.h"

#define RELATIONS FRESH_SOURCE_DIR "/examples/spaces/configspace_relations.json"

enum { CLS, KERNEL, C_, GAMMA, DEGREE, COEF0, LR, SUBSAMPLE, NEST, ESR, DEPTH, LEAVES, MSS, MSL,
       F1, F2, DIM };
static const char *const names[DIM] = {
    "classifier", "kernel", "C", "gamma", "degree", "coef0", "learning_rate", "subsample",
    "n_estimators", "early_stopping_rounds", "max_depth", "max_leaf_nodes", "min_samples_split",
    "min_samples_leaf", "primary_feature", "secondary_feature"};

/* The file's conditions, by hand (value space: kernel 0 linear, 1 rbf,
 * 2 poly, 3 sigmoid; classifier 0 svm, 1 gbm; max_depth 0 shallow, 1 medium,
 * 2 deep). x holds the values a configuration would have if everything were
 * active; act[] gets each parameter's activity. */
static void truth_active(const double *x, int *act)
{
    for (int i = 0; i < DIM; i++)
        act[i] = 1;
    int svm = x[CLS] == 0, gbm = x[CLS] == 1;
    act[KERNEL] = act[C_] = svm;
    act[GAMMA] = act[KERNEL] && x[KERNEL] != 0;              /* NEQ */
    act[DEGREE] = act[KERNEL] && x[KERNEL] == 2;
    act[COEF0] = (act[KERNEL] && x[KERNEL] == 3) || (act[DEGREE] && x[DEGREE] > 1); /* OR, GT */
    act[LR] = act[NEST] = act[DEPTH] = gbm;
    act[SUBSAMPLE] = act[LR] && x[LR] < 0.1;                  /* LT on a float */
    act[ESR] = gbm && act[NEST] && x[NEST] > 20;              /* AND with GT on an int */
    act[LEAVES] = act[DEPTH] && x[DEPTH] > 0;                 /* GT on an ordinal */
    act[MSS] = x[CLS] != 0;                                   /* NEQ */
    act[MSL] = act[DEPTH] && x[DEPTH] < 2;                    /* LT on an ordinal */
}

static int truth_forbidden(const double *x, const int *act)
{
    return (act[MSL] && act[MSS] && x[MSL] > x[MSS]) ||       /* RELATION GREATER */
           (act[NEST] && act[ESR] && x[NEST] < x[ESR]) ||     /* RELATION_LT */
           x[F1] == x[F2];                                    /* RELATION EQUALS (labels) */
}

static fresh_space *read_relations(void)
{
    fresh_space *s = fresh_space_create();
    int rc = fresh_space_read_file(s, RELATIONS);
    cr_assert_eq(rc, FRESH_OK, "%s", fresh_space_errmsg(s));
    cr_assert_eq(fresh_space_dim(s), DIM);
    for (int i = 0; i < DIM; i++)
        cr_assert_eq(fresh_space_index(s, names[i]), i, "%s", names[i]);
    return s;
}

/* Checks fresh's view of x (all values set, conditions not applied) against
 * the hand-written one. */
static void check_against_truth(const fresh_space *s, const double *full)
{
    int act[DIM];
    truth_active(full, act);
    double x[DIM];
    memcpy(x, full, sizeof x);
    fresh_space_apply_conditions(s, x);
    for (int i = 0; i < DIM; i++) {
        cr_assert_eq(!isnan(x[i]), act[i], "%s: fresh says %s, truth %s", names[i],
                     isnan(x[i]) ? "inactive" : "active", act[i] ? "active" : "inactive");
        cr_assert_eq(fresh_space_is_active(s, x, (size_t)i), act[i], "%s (is_active)", names[i]);
    }
    cr_assert_eq(fresh_space_is_forbidden(s, x), truth_forbidden(full, act));
}

Test(space_cmp, configspace_file_crafted_configurations)
{
    fresh_space *s = read_relations();
    /*                       cls kern C    gam  deg coef lr    sub  nest esr dep lea mss msl f1 f2 */
    const double cases[][DIM] = {
        {0, 0, 1, 0.1, 3, 0, 0.05, 0.5, 30, 10, 1, 8, 5, 3, 0, 1},  /* svm linear: no gamma */
        {0, 1, 1, 0.1, 3, 0, 0.05, 0.5, 30, 10, 1, 8, 5, 3, 0, 1},  /* rbf: gamma */
        {0, 2, 1, 0.1, 1, 0, 0.05, 0.5, 30, 10, 1, 8, 5, 3, 0, 1},  /* poly, degree 1: no coef0 */
        {0, 2, 1, 0.1, 2, 0, 0.05, 0.5, 30, 10, 1, 8, 5, 3, 0, 1},  /* poly, degree 2: coef0 */
        {0, 3, 1, 0.1, 1, 0, 0.05, 0.5, 30, 10, 1, 8, 5, 3, 0, 1},  /* sigmoid: coef0 */
        {1, 0, 1, 0.1, 3, 0, 0.05, 0.5, 30, 10, 0, 8, 5, 3, 0, 1},  /* gbm, lr < 0.1, shallow */
        {1, 0, 1, 0.1, 3, 0, 0.1, 0.5, 30, 10, 1, 8, 5, 3, 0, 1},   /* lr = 0.1: no subsample */
        {1, 0, 1, 0.1, 3, 0, 0.5, 0.5, 20, 10, 2, 8, 5, 3, 0, 1},   /* 20 trees: no ESR; deep */
        {1, 0, 1, 0.1, 3, 0, 0.5, 0.5, 30, 40, 1, 8, 5, 3, 0, 1},   /* 30 < 40 rounds: forbidden */
        {1, 0, 1, 0.1, 3, 0, 0.5, 0.5, 30, 30, 1, 8, 5, 6, 0, 1},   /* leaf 6 > split 5: forbidden */
        {1, 0, 1, 0.1, 3, 0, 0.5, 0.5, 30, 30, 2, 8, 5, 6, 0, 1},   /* deep: no leaf, allowed */
        {1, 0, 1, 0.1, 3, 0, 0.5, 0.5, 30, 30, 1, 8, 5, 5, 2, 2},   /* same feature: forbidden */
        {0, 1, 1, 0.1, 3, 0, 0.5, 0.5, 30, 30, 1, 8, 5, 6, 1, 0},   /* svm: relations inactive */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        check_against_truth(s, cases[k]);
    /* the forbidden ones really are, and the hand-made verdicts are not all alike */
    double x[DIM];
    memcpy(x, cases[8], sizeof x);
    fresh_space_apply_conditions(s, x);
    cr_assert(fresh_space_is_forbidden(s, x));
    char msg[256];
    cr_assert_eq(fresh_space_check(s, x, msg, sizeof msg), FRESH_EINVAL);
    cr_assert(strstr(msg, "forbidden"), "%s", msg);
    memcpy(x, cases[10], sizeof x);
    fresh_space_apply_conditions(s, x);
    cr_assert_eq(fresh_space_check(s, x, msg, sizeof msg), FRESH_OK, "%s", msg);
    fresh_space_destroy(s);
}

Test(space_cmp, configspace_file_sampled_configurations)
{
    fresh_space *s = read_relations();
    gsl_rng *rng = fresh_rng_stream_create(7, 0, FRESH_RNG_SAMPLE);
    cr_assert_not_null(rng);
    int seen_active[DIM] = {0}, seen_inactive[DIM] = {0};
    for (int n = 0; n < 3000; n++) {
        double x[DIM];
        cr_assert_eq(fresh_space_sample(s, rng, x), FRESH_OK);
        /* reconstruct a full vector: inactive values do not matter to the truth */
        double full[DIM];
        for (int i = 0; i < DIM; i++)
            full[i] = isnan(x[i]) ? -1e9 : x[i];
        int act[DIM];
        truth_active(full, act);
        for (int i = 0; i < DIM; i++) {
            cr_assert_eq(!isnan(x[i]), act[i], "sample %d: %s", n, names[i]);
            (act[i] ? seen_active : seen_inactive)[i]++;
        }
        cr_assert(!truth_forbidden(full, act), "sample %d is forbidden", n);
        cr_assert_eq(fresh_space_check(s, x, NULL, 0), FRESH_OK);
    }
    for (int i = 1; i < DIM - 2; i++)
        cr_assert(seen_active[i] > 50 && seen_inactive[i] > 50, "%s: %d active, %d inactive",
                  names[i], seen_active[i], seen_inactive[i]);
    gsl_rng_free(rng);
    fresh_space_destroy(s);
}

/* write_json keeps every comparison and relation; the text reads back into a
 * space that behaves the same, and writes the same text. */
Test(space_cmp, round_trip_through_fresh_format)
{
    fresh_space *s = read_relations();
    char *text = NULL;
    cr_assert_eq(fresh_space_write_json(s, &text), FRESH_OK);
    cr_assert(strstr(text, "\"condition\": {\"parent\": \"kernel\", \"not_equals\": \"linear\"}"),
              "%s", text);
    cr_assert(strstr(text, "{\"parent\": \"learning_rate\", \"less_than\": 0.1}"), "%s", text);
    cr_assert(strstr(text, "{\"parent\": \"max_depth\", \"greater_than\": \"shallow\"}"), "%s",
              text);
    cr_assert(strstr(text, "[{\"left\": \"min_samples_leaf\", \"relation\": \"greater_than\", "
                           "\"right\": \"min_samples_split\"}]"), "%s", text);
    cr_assert(strstr(text, "\"relation\": \"less_than\""), "%s", text);
    cr_assert(strstr(text, "\"relation\": \"equals\""), "%s", text);
    fresh_space *t = fresh_space_create();
    cr_assert_eq(fresh_space_read_json_string(t, text, "written"), FRESH_OK, "%s",
                 fresh_space_errmsg(t));
    char *again = NULL;
    cr_assert_eq(fresh_space_write_json(t, &again), FRESH_OK);
    cr_assert_str_eq(again, text);
    gsl_rng *rng = fresh_rng_stream_create(11, 0, FRESH_RNG_SAMPLE);
    for (int n = 0; n < 500; n++) {
        double x[DIM], y[DIM];
        fresh_space_sample(s, rng, x);
        memcpy(y, x, sizeof y);
        fresh_space_apply_conditions(t, y);
        cr_assert(fresh_space_equal(s, x, y));
        cr_assert_eq(fresh_space_is_forbidden(t, x), 0);
    }
    gsl_rng_free(rng);
    free(text);
    free(again);
    fresh_space_destroy(t);
    fresh_space_destroy(s);
}

/* fresh's own format with every new key, read by hand-checked values. */
Test(space_cmp, fresh_format_keys)
{
    const char *text =
        "{\"parameters\": ["
        "{\"name\": \"opt\", \"type\": \"categorical\", \"choices\": [\"adam\", \"sgd\", \"rmsprop\"]},"
        "{\"name\": \"lr\", \"type\": \"float\", \"low\": 0.0001, \"high\": 1, \"log\": true},"
        "{\"name\": \"width\", \"type\": \"ordinal\", \"levels\": [16, 32, 64, 128]},"
        "{\"name\": \"momentum\", \"type\": \"float\", \"low\": 0, \"high\": 0.99,"
        " \"condition\": {\"parent\": \"opt\", \"not_equals\": \"adam\"}},"
        "{\"name\": \"warmup\", \"type\": \"int\", \"low\": 0, \"high\": 10,"
        " \"condition\": {\"all\": [{\"parent\": \"lr\", \"greater_than\": 0.01},"
        " {\"parent\": \"width\", \"less_than\": 128}]}},"
        "{\"name\": \"heads\", \"type\": \"int\", \"low\": 1, \"high\": 64}],"
        "\"forbidden\": [[{\"left\": \"heads\", \"relation\": \"greater_than\", \"right\": \"width\"},"
        " {\"name\": \"opt\", \"equals\": \"sgd\"}],"
        " [{\"left\": \"heads\", \"relation\": \"not_equals\", \"right\": \"warmup\"},"
        " {\"name\": \"heads\", \"in\": [3]}]]}";
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_read_json_string(s, text, "t.json"), FRESH_OK, "%s",
                 fresh_space_errmsg(s));
    /* opt lr width momentum warmup heads */
    double x[6] = {0, 0.1, 1, 0.5, 2, 8};
    fresh_space_apply_conditions(s, x);
    cr_assert(isnan(x[3]), "adam: no momentum");
    cr_assert(!isnan(x[4]), "lr 0.1 > 0.01 and width 32 < 128: warmup");
    double y[6] = {1, 0.001, 3, 0.5, 2, 8};
    fresh_space_apply_conditions(s, y);
    cr_assert(!isnan(y[3]), "sgd: momentum");
    cr_assert(isnan(y[4]), "lr 0.001: no warmup");
    /* heads > width (natural values: 64 > 32) with sgd is forbidden, not with adam */
    double f[6] = {1, 0.1, 1, 0.5, 2, 64};
    fresh_space_apply_conditions(s, f);
    cr_assert(fresh_space_is_forbidden(s, f));
    f[0] = 0;
    fresh_space_apply_conditions(s, f);
    cr_assert(!fresh_space_is_forbidden(s, f));
    f[5] = 16; /* 16 > 32 is false */
    f[0] = 1;
    cr_assert(!fresh_space_is_forbidden(s, f));
    /* heads 3 != warmup 2: forbidden; warmup inactive: the relation never holds */
    double g[6] = {0, 0.1, 1, NAN, 2, 3};
    cr_assert(fresh_space_is_forbidden(s, g));
    g[4] = 3;
    cr_assert(!fresh_space_is_forbidden(s, g));
    g[4] = NAN;
    cr_assert(!fresh_space_is_forbidden(s, g));
    fresh_space_destroy(s);
}

/* ---- the C API and its errors ---- */

static fresh_space *api_space(void)
{
    fresh_space *s = fresh_space_create();
    const char *opts[] = {"adam", "sgd"};
    const char *sizes[] = {"small", "large"};
    cr_assert_eq(fresh_space_add_categorical(s, "opt", 2, opts), FRESH_OK);
    cr_assert_eq(fresh_space_add_float(s, "lr", 1e-4, 1, 1), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(s, "a", 1, 10, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(s, "b", 1, 10, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_ordinal_labels(s, "size", 2, sizes), FRESH_OK);
    cr_assert_eq(fresh_space_add_categorical(s, "opt2", 2, opts), FRESH_OK);
    return s;
}

Test(space_cmp, api_conditions)
{
    fresh_space *s = api_space();
    /* a: active when lr < 0.01 OR opt != adam */
    cr_assert_eq(fresh_space_add_condition_cmp(s, "a", "lr", FRESH_CMP_LT, 0.01, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_condition_cmp(s, "a", "opt", FRESH_CMP_NE, 0, 1), FRESH_OK);
    /* b: EQ is IN with one value */
    cr_assert_eq(fresh_space_add_condition_cmp(s, "b", "size", FRESH_CMP_EQ, 1, 0), FRESH_OK);
    double x[6] = {0, 0.1, 5, 5, 0, 0};
    fresh_space_apply_conditions(s, x);
    cr_assert(isnan(x[2]) && isnan(x[3]));
    double y[6] = {1, 0.1, 5, 5, 1, 0};
    fresh_space_apply_conditions(s, y);
    cr_assert(!isnan(y[2]) && !isnan(y[3]));
    double z[6] = {0, 0.001, 5, 5, 1, 0};
    fresh_space_apply_conditions(s, z);
    cr_assert(!isnan(z[2]));

    cr_assert_eq(fresh_space_add_condition_cmp(s, "b", "opt", FRESH_CMP_LT, 0, 0), FRESH_EINVAL);
    cr_assert_str_eq(fresh_space_errmsg(s),
                     "parameter 'b': condition '<' on 'opt' needs an ordered parent (float, int "
                     "or ordinal); 'opt' is categorical");
    cr_assert_eq(fresh_space_add_condition_cmp(s, "b", "lr", FRESH_CMP_IN, 0.1, 0), FRESH_EINVAL);
    cr_assert_str_eq(fresh_space_errmsg(s),
                     "parameter 'b': add_condition_cmp needs EQ, NE, LT or GT, got 0");
    cr_assert_eq(fresh_space_add_condition_cmp(s, "b", "lr", FRESH_CMP_GT, 2, 0), FRESH_EINVAL);
    cr_assert_str_eq(fresh_space_errmsg(s),
                     "parameter 'b': condition on 'lr': value 2 outside [0.0001, 1]");
    cr_assert_eq(fresh_space_add_condition_cmp(s, "b", "zz", FRESH_CMP_GT, 2, 0), FRESH_ENOTFOUND);
    cr_assert_eq(fresh_space_add_condition_cmp(s, "lr", "a", FRESH_CMP_GT, 2, 0), FRESH_EINVAL,
                 "a cycle through a comparison");
    cr_assert_eq(fresh_space_add_condition_cmp(NULL, "b", "lr", FRESH_CMP_GT, 0.5, 0),
                 FRESH_EINVAL);
    fresh_space_destroy(s);
}

Test(space_cmp, api_forbidden_relations)
{
    fresh_space *s = api_space();
    double sgd = 1;
    fresh_clause with_sgd = {"opt", 1, &sgd};
    fresh_relation a_lt_b = {"a", FRESH_CMP_LT, "b"};
    cr_assert_eq(fresh_space_add_forbidden_relations(s, 1, &with_sgd, 1, &a_lt_b), FRESH_OK);
    fresh_relation same = {"opt", FRESH_CMP_EQ, "opt2"};
    cr_assert_eq(fresh_space_add_forbidden_relations(s, 0, NULL, 1, &same), FRESH_OK);
    double x[6] = {1, 0.1, 2, 3, 0, 0};
    cr_assert(fresh_space_is_forbidden(s, x), "sgd and 2 < 3");
    x[0] = 0;
    x[5] = 1;
    cr_assert(!fresh_space_is_forbidden(s, x), "adam, opt2 sgd");
    x[5] = 0;
    cr_assert(fresh_space_is_forbidden(s, x), "opt == opt2 (labels)");

    const fresh_relation bad[] = {
        {"a", FRESH_CMP_LT, "a"}, {"a", FRESH_CMP_IN, "b"},    {"opt", FRESH_CMP_LT, "opt2"},
        {"a", FRESH_CMP_EQ, "opt"}, {"a", FRESH_CMP_EQ, "zz"}, {NULL, FRESH_CMP_EQ, "a"}};
    const int want[] = {FRESH_EINVAL, FRESH_EINVAL, FRESH_EINVAL, FRESH_EINVAL, FRESH_ENOTFOUND,
                        FRESH_EINVAL};
    const char *msg[] = {
        "parameter 'a': forbidden relation with itself",
        "parameter 'a': forbidden relation with 'b' needs EQ, NE, LT or GT, got 0",
        "parameter 'opt': forbidden relation 'opt < opt2' needs numeric parameters (labels "
        "compare with == and != only)",
        "parameter 'a': forbidden relation 'a == opt' compares a number with a label",
        "parameter 'zz': no such parameter (forbidden relation)",
        "forbidden relation: parameter name is NULL"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cr_assert_eq(fresh_space_add_forbidden_relations(s, 0, NULL, 1, &bad[k]), want[k],
                     "case %zu", k);
        cr_assert_str_eq(fresh_space_errmsg(s), msg[k]);
    }
    cr_assert_eq(fresh_space_add_forbidden_relations(s, 0, NULL, 0, NULL), FRESH_EINVAL);
    cr_assert_eq(fresh_space_add_forbidden_relations(s, 0, NULL, 1, NULL), FRESH_EINVAL);
    /* the failed calls changed nothing: still two forbidden combinations */
    char *text = NULL;
    cr_assert_eq(fresh_space_write_json(s, &text), FRESH_OK);
    cr_assert(strstr(text, "\"forbidden\": [\n    [{\"name\": \"opt\", \"in\": [\"sgd\"]}, "
                           "{\"left\": \"a\", \"relation\": \"less_than\", \"right\": \"b\"}],\n"
                           "    [{\"left\": \"opt\", \"relation\": \"equals\", \"right\": "
                           "\"opt2\"}]\n  ]"), "%s", text);
    free(text);
    fresh_space_destroy(s);
}

/* BOHB's proposals (model-based and random) on the file's space are valid
 * configurations: conditions applied, nothing forbidden. */
static int objective(fresh_trial *t, void *user)
{
    (void)user;
    double lr = fresh_trial_is_active(t, "learning_rate") ? fresh_trial_float(t, "learning_rate")
                                                          : 0.3;
    double c = fresh_trial_is_active(t, "C") ? log(fresh_trial_float(t, "C")) : 0;
    fresh_trial_set_loss(t, fabs(log(lr) + 2) + 0.01 * c * c + 1.0 / fresh_trial_budget(t));
    return 0;
}

Test(space_cmp, bohb_proposals_are_valid)
{
    fresh_space *s = read_relations();
    fresh_study_params p = fx_params(); /* 1..9, one worker */
    p.seed = 5;
    p.max_brackets = 12;
    p.sampler_params.min_points_in_model = 4; /* the model starts early on 16 dimensions */
    int rc;
    char err[512];
    fresh_study *st = fresh_study_create(s, &p, &rc, err, sizeof err);
    cr_assert_not_null(st, "%s", err);
    cr_assert_eq(fresh_study_optimize(st, objective, NULL), FRESH_BRACKETS_DONE);
    fresh_study_stats stats;
    fresh_study_get_stats(st, &stats);
    cr_assert_gt(stats.proposals_model, 20, "the model proposed %zu of %zu",
                 stats.proposals_model, stats.configs);
    for (uint64_t id = 0; id < fresh_study_n_configs(st); id++) {
        char msg[256] = "";
        cr_assert_eq(fresh_space_check(s, fresh_study_config(st, id), msg, sizeof msg), FRESH_OK,
                     "config %llu: %s", (unsigned long long)id, msg);
    }
    fresh_study_destroy(st);
    fresh_space_destroy(s);
}
