/* Space files: fresh's JSON format and the ConfigSpace format, happy paths
 * (every kind, conditions EQ/IN/AND/OR, forbiddens), syntax errors with
 * line:column, wrong types, every semantic error, unsupported ConfigSpace
 * features, the space staying empty on error, and write_json round trips. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fresh/rng.h"
#include "fresh/space.h"
#include "internal.h"

#define MLP FRESH_SOURCE_DIR "/examples/spaces/mlp.json"
#define CSX FRESH_SOURCE_DIR "/examples/spaces/configspace_example.json"

/* Reads text in the fresh format (cs = 0) or ConfigSpace (cs = 1) and
 * expects status and a message equal to `want` (exact). */
static void expect_err(int cs, const char *text, int status, const char *want)
{
    fresh_space *s = fresh_space_create();
    int rc = cs ? fresh_space_read_configspace_string(s, text, "t.json")
                : fresh_space_read_json_string(s, text, "t.json");
    cr_assert_eq(rc, status, "status %d (%s), want %d; message: %s", rc, fresh_status_name(rc),
                 status, fresh_space_errmsg(s));
    cr_assert_str_eq(fresh_space_errmsg(s), want);
    cr_assert_eq(fresh_space_dim(s), 0, "space not left empty");
    fresh_space_destroy(s);
}

static fresh_param_info info_of(const fresh_space *s, const char *name)
{
    fresh_param_info in;
    int i = fresh_space_index(s, name);
    cr_assert_geq(i, 0, "no parameter %s", name);
    cr_assert_eq(fresh_space_param(s, (size_t)i, &in), FRESH_OK);
    return in;
}

Test(space_json, reads_the_mlp_example)
{
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_read_json_file(s, MLP), FRESH_OK, "%s", fresh_space_errmsg(s));
    cr_assert_eq(fresh_space_dim(s), 10);
    fresh_param_info in = info_of(s, "lr");
    cr_assert_eq(in.type, FRESH_PARAM_FLOAT);
    cr_assert_eq(in.log_scale, 1);
    cr_assert_eq(in.low, 1e-4);
    cr_assert_eq(in.default_value, 0.01);
    in = info_of(s, "optimizer");
    cr_assert_eq(in.type, FRESH_PARAM_CATEGORICAL);
    cr_assert_eq(in.n_levels, 3);
    cr_assert_eq(in.has_default, 1);
    cr_assert_eq(in.default_value, 0);
    in = info_of(s, "width");
    cr_assert_eq(in.type, FRESH_PARAM_ORDINAL);
    cr_assert_eq(in.ordinal_values[4], 256);
    cr_assert_eq(in.default_value, 2);
    in = info_of(s, "batch_size");
    cr_assert_eq(in.type, FRESH_PARAM_INT);
    cr_assert_eq(in.log_scale, 1);
    cr_assert_eq(in.has_default, 0);
    in = info_of(s, "regularization");
    cr_assert_null(in.ordinal_values);
    cr_assert_str_eq(in.labels[2], "strong");
    cr_assert_eq(info_of(s, "momentum").has_condition, 1);
    cr_assert_eq(info_of(s, "layers").has_condition, 0);

    /* lr opt mom nest damp layers width batch dropout reg */
    double x[10] = {0.01, 1, 0.9, 0, 0.1, 2, 2, 64, 0.2, 0};
    fresh_space_apply_conditions(s, x);
    cr_assert_eq(x[2], 0.9);
    cr_assert_eq(x[3], 0, "nesterov: sgd and layers in 1..4");
    cr_assert_eq(x[4], 0.1, "dampening: nesterov == no (nested)");
    cr_assert(isnan(x[8]), "dropout: layers 2, width 64");
    double y[10] = {0.01, 0, 0.9, 0, 0.1, 6, 2, 64, 0.2, 0};
    fresh_space_apply_conditions(s, y);
    cr_assert(isnan(y[2]) && isnan(y[3]) && isnan(y[4]));
    cr_assert_eq(y[8], 0.2, "dropout via layers in 4..8");
    double z[10] = {0.01, 0, 0, 0, 0, 2, 4, 64, 0.2, 0};
    fresh_space_apply_conditions(s, z);
    cr_assert_eq(z[8], 0.2, "dropout via width 256");
    /* forbidden: sgd with 7 or 8 layers; width 16 with strong */
    double f[10] = {0.01, 1, 0.5, NAN, NAN, 8, 2, 64, 0.2, 0};
    cr_assert_eq(fresh_space_is_forbidden(s, f), 1);
    double g[10] = {0.01, 0, NAN, NAN, NAN, 2, 0, 64, NAN, 2};
    cr_assert_eq(fresh_space_is_forbidden(s, g), 1);
    g[9] = 1;
    cr_assert_eq(fresh_space_is_forbidden(s, g), 0);

    double d[10];
    cr_assert_eq(fresh_space_default_config(s, d), FRESH_OK);
    char buf[300];
    fresh_space_format(s, d, buf, sizeof buf);
    cr_assert_str_eq(buf, "lr=0.01, optimizer=adam, layers=2, width=64, batch_size=91, "
                          "regularization=weak");
    gsl_rng *r = fresh_rng_stream_create(1, 2, FRESH_RNG_SAMPLE);
    for (int k = 0; k < 2000; k++) {
        cr_assert_eq(fresh_space_sample(s, r, x), FRESH_OK);
        cr_assert_eq(fresh_space_check(s, x, buf, sizeof buf), FRESH_OK, "%s", buf);
    }
    gsl_rng_free(r);
    fresh_space_destroy(s);
}

Test(space_json, reads_the_configspace_example)
{
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_read_configspace_file(s, CSX), FRESH_OK, "%s",
                 fresh_space_errmsg(s));
    cr_assert_eq(fresh_space_dim(s), 8);
    fresh_param_info in = info_of(s, "C");
    cr_assert_eq(in.type, FRESH_PARAM_FLOAT);
    cr_assert_eq(in.log_scale, 1);
    cr_assert_eq(in.low, 0.03125);
    cr_assert_eq(in.high, 32768);
    cr_assert_eq(in.default_value, 1);
    in = info_of(s, "kernel");
    cr_assert_eq(in.type, FRESH_PARAM_CATEGORICAL);
    cr_assert_eq(in.default_value, 2);
    in = info_of(s, "degree");
    cr_assert_eq(in.type, FRESH_PARAM_INT);
    cr_assert_eq(in.low, 2);
    cr_assert_eq(in.default_value, 3);
    in = info_of(s, "shrinking");
    cr_assert_str_eq(in.labels[0], "true");
    cr_assert_str_eq(in.labels[1], "false");
    cr_assert_eq(in.default_value, 0);
    in = info_of(s, "tol");
    cr_assert_eq(in.type, FRESH_PARAM_ORDINAL);
    cr_assert_eq(in.n_levels, 1);
    cr_assert_eq(in.ordinal_values[0], 0.001);
    in = info_of(s, "max_iter");
    cr_assert_eq(in.ordinal_values[2], 10000);
    cr_assert_eq(in.default_value, 1);

    /* C kernel degree gamma coef0 shrinking tol max_iter */
    double x[8] = {1, 1, 3, 0.1, 0.5, 0, 0, 1};
    fresh_space_apply_conditions(s, x);
    cr_assert_eq(x[2], 3, "degree: AND(kernel == poly, max_iter in {1000, 10000})");
    cr_assert_eq(x[3], 0.1, "gamma: IN");
    cr_assert_eq(x[4], 0.5, "coef0: OR");
    double y[8] = {1, 1, 3, 0.1, 0.5, 0, 0, 0};
    fresh_space_apply_conditions(s, y);
    cr_assert(isnan(y[2]), "AND fails on max_iter");
    double z[8] = {1, 3, 3, 0.1, 0.5, 0, 0, 1};
    fresh_space_apply_conditions(s, z);
    cr_assert(isnan(z[2]));
    cr_assert_eq(z[4], 0.5, "coef0 via sigmoid");
    double w[8] = {1, 0, 3, 0.1, 0.5, 1, 0, 1};
    fresh_space_apply_conditions(s, w);
    cr_assert(isnan(w[2]) && isnan(w[3]) && isnan(w[4]));
    cr_assert_eq(fresh_space_is_forbidden(s, w), 1, "linear with shrinking false");
    w[5] = 0;
    cr_assert_eq(fresh_space_is_forbidden(s, w), 0);
    w[0] = 0.03125;
    cr_assert_eq(fresh_space_is_forbidden(s, w), 1, "forbidden IN on C");
    char *out;
    cr_assert_eq(fresh_space_config_to_json(s, w, &out), FRESH_OK);
    cr_assert_str_eq(out, "{\"C\": 0.03125, \"kernel\": \"linear\", \"shrinking\": \"true\", "
                          "\"tol\": 0.001, \"max_iter\": 1000}");
    free(out);
    fresh_space_destroy(s);
}

Test(space_json, read_file_detects_the_format)
{
    fresh_space *a = fresh_space_create(), *b = fresh_space_create();
    cr_assert_eq(fresh_space_read_file(a, MLP), FRESH_OK, "%s", fresh_space_errmsg(a));
    cr_assert_eq(fresh_space_dim(a), 10);
    cr_assert_eq(fresh_space_read_file(b, CSX), FRESH_OK, "%s", fresh_space_errmsg(b));
    cr_assert_eq(fresh_space_dim(b), 8);
    fresh_space_destroy(a);
    fresh_space_destroy(b);
    /* read as the wrong format */
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_read_json_file(s, CSX), FRESH_EPARSE);
    cr_assert(strstr(fresh_space_errmsg(s), "top level: unknown key \"") != NULL, "%s",
              fresh_space_errmsg(s));
    cr_assert_eq(fresh_space_dim(s), 0);
    cr_assert_eq(fresh_space_read_configspace_file(s, MLP), FRESH_EPARSE);
    cr_assert(strstr(fresh_space_errmsg(s), "mlp.json: missing top-level \"hyperparameters\" array") !=
                  NULL,
              "%s", fresh_space_errmsg(s));
    fresh_space_destroy(s);
}

Test(space_json, write_json_round_trip)
{
    const char *files[] = {MLP, CSX};
    for (int f = 0; f < 2; f++) {
        fresh_space *a = fresh_space_create(), *b = fresh_space_create();
        cr_assert_eq(fresh_space_read_file(a, files[f]), FRESH_OK, "%s", fresh_space_errmsg(a));
        char *t1, *t2;
        cr_assert_eq(fresh_space_write_json(a, &t1), FRESH_OK);
        cr_assert_eq(fresh_space_read_json_string(b, t1, "written"), FRESH_OK, "%s\n%s",
                     fresh_space_errmsg(b), t1);
        cr_assert_eq(fresh_space_write_json(b, &t2), FRESH_OK);
        cr_assert_str_eq(t1, t2);
        /* same configurations behave the same */
        size_t n = fresh_space_dim(a);
        cr_assert_eq(fresh_space_dim(b), n);
        gsl_rng *r = fresh_rng_stream_create(5, (uint64_t)f, FRESH_RNG_SAMPLE);
        gsl_rng *q = fresh_rng_stream_create(5, (uint64_t)f, FRESH_RNG_SAMPLE);
        for (int k = 0; k < 500; k++) {
            double x[16], y[16];
            cr_assert_eq(fresh_space_sample(a, r, x), FRESH_OK);
            cr_assert_eq(fresh_space_sample(b, q, y), FRESH_OK);
            cr_assert(fresh_space_equal(a, x, y));
            cr_assert_eq(fresh_space_hash(a, x), fresh_space_hash(b, y));
        }
        gsl_rng_free(r);
        gsl_rng_free(q);
        free(t1);
        free(t2);
        fresh_space_destroy(a);
        fresh_space_destroy(b);
    }
}

Test(space_json, small_fresh_space_exact)
{
    const char *text =
        "{\"parameters\": [\n"
        "  {\"name\": \"n\", \"type\": \"int\", \"low\": 2.0, \"high\": 64, \"log\": true, "
        "\"default\": 8},\n"
        "  {\"name\": \"k\", \"type\": \"categorical\", \"choices\": [\"a\", \"b\"], "
        "\"description\": \"ignored\"},\n"
        "  {\"name\": \"m\", \"type\": \"float\", \"low\": -1, \"high\": 1, \"log\": false,\n"
        "   \"condition\": {\"all\": [{\"any\": [{\"parent\": \"k\", \"equals\": \"a\"}, "
        "{\"parent\": \"n\", \"in\": [2, 4]}]}, {\"parent\": \"n\", \"in\": [4, 8]}]}}\n"
        "]}\n";
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_read_json_string(s, text, NULL), FRESH_OK, "%s",
                 fresh_space_errmsg(s));
    cr_assert_str_eq(fresh_space_errmsg(s), "");
    char *out;
    cr_assert_eq(fresh_space_write_json(s, &out), FRESH_OK);
    /* AND over OR expands to two groups */
    cr_assert_str_eq(out,
                     "{\n  \"parameters\": [\n"
                     "    {\"name\": \"n\", \"type\": \"int\", \"low\": 2, \"high\": 64, \"log\": "
                     "true, \"default\": 8},\n"
                     "    {\"name\": \"k\", \"type\": \"categorical\", \"choices\": [\"a\", "
                     "\"b\"]},\n"
                     "    {\"name\": \"m\", \"type\": \"float\", \"low\": -1, \"high\": 1, "
                     "\"condition\": {\"any\": [{\"all\": [{\"parent\": \"k\", \"in\": "
                     "[\"a\"]}, {\"parent\": \"n\", \"in\": [4, 8]}]}, {\"all\": [{\"parent\": "
                     "\"n\", \"in\": [2, 4]}, {\"parent\": \"n\", \"in\": [4, 8]}]}]}}\n"
                     "  ]\n}\n");
    free(out);
    /* reading into a non-empty space */
    cr_assert_eq(fresh_space_read_json_string(s, text, NULL), FRESH_ESTATE);
    cr_assert_str_eq(fresh_space_errmsg(s), "<string>: the space already has 3 parameters; read "
                                            "into a new, empty space");
    cr_assert_eq(fresh_space_read_json_file(s, MLP), FRESH_ESTATE);
    cr_assert_eq(fresh_space_dim(s), 3);
    fresh_space_destroy(s);
}

Test(space_json, argument_and_io_errors)
{
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_read_json_string(NULL, "{}", NULL), FRESH_EINVAL);
    cr_assert_eq(fresh_space_read_json_string(s, NULL, NULL), FRESH_EINVAL);
    cr_assert_str_eq(fresh_space_errmsg(s), "read: text is NULL");
    cr_assert_eq(fresh_space_read_json_file(s, NULL), FRESH_EINVAL);
    cr_assert_str_eq(fresh_space_errmsg(s), "read: path is NULL");
    cr_assert_eq(fresh_space_read_file(NULL, MLP), FRESH_EINVAL);
    cr_assert_eq(fresh_space_read_json_file(s, "/nonexistent/space.json"), FRESH_EIO);
    cr_assert_str_eq(fresh_space_errmsg(s),
                     "/nonexistent/space.json: cannot open: No such file or directory");
    cr_assert_eq(fresh_space_read_configspace_file(s, "/nonexistent/cs.json"), FRESH_EIO);
    cr_assert_eq(fresh_space_read_configspace_string(s, NULL, NULL), FRESH_EINVAL);
    cr_assert_eq(fresh_space_dim(s), 0);
    fresh_space_destroy(s);
}

Test(space_json, syntax_errors_with_line_and_column)
{
    expect_err(0,
               "{\n"
               "  \"parameters\": [\n"
               "    {\"name\": \"lr\", \"type\": \"float\", \"low\": 0.1 \"high\": 1}\n"
               "  ]\n"
               "}\n",
               FRESH_EPARSE,
               "t.json:3:53: near parameter 'lr': syntax error: '}' expected near '\"high\"'");
    expect_err(0, "{\"parameters\": [\n]\n", FRESH_EPARSE,
               "t.json:3:0: syntax error: '}' expected near end of file");
    expect_err(0, "", FRESH_EPARSE, "t.json:1:0: syntax error: '[' or '{' expected near end of file");
    expect_err(1, "{\"hyperparameters\": [{\"name\": \"a\", \"name\": \"b\"}]}", FRESH_EPARSE,
               "t.json:1:41: near parameter 'a': syntax error: duplicate object key near '\"name\"'");
    expect_err(0, "[1, 2]", FRESH_EPARSE, "t.json:1:1: the top level must be an object");
}

Test(space_json, wrong_types_and_keys)
{
    expect_err(0, "{\"parameters\": [\n  {\"name\": \"lr\", \"type\": \"float\", \"low\": \"a\", "
                  "\"high\": 1}]}",
               FRESH_EPARSE, "t.json:2:42: parameter 'lr': \"low\" must be a number");
    expect_err(0, "{\"parameters\": [{\"name\": \"n\", \"type\": \"int\", \"low\": 1.5, \"high\": 4}]}",
               FRESH_EPARSE, "t.json:1:53: parameter 'n': \"low\" must be an integer");
    expect_err(0, "{\"parameters\": [{\"name\": \"n\", \"type\": \"int\", \"low\": 1, \"high\": 4, "
                  "\"log\": 1}]}",
               FRESH_EPARSE, "t.json:1:74: parameter 'n': \"log\" must be true or false");
    expect_err(0, "{\"parameters\": [{\"name\": \"n\", \"type\": \"int\", \"high\": 4}]}",
               FRESH_EPARSE, "t.json:1:17: parameter 'n': missing \"low\"");
    expect_err(0, "{\"parameters\": [{\"name\": 3, \"type\": \"int\"}]}", FRESH_EPARSE,
               "t.json:1:26: parameters[0]: \"name\" must be a string");
    expect_err(0, "{\"parameters\": [{\"type\": \"int\"}]}", FRESH_EPARSE,
               "t.json:1:17: parameters[0]: missing \"name\"");
    expect_err(0, "{\"parameters\": [7]}", FRESH_EPARSE,
               "t.json:1:17: parameters[0]: must be an object");
    expect_err(0, "{\"parameters\": [{\"name\": \"x\"}]}", FRESH_EPARSE,
               "t.json:1:17: parameter 'x': missing \"type\"");
    expect_err(0, "{\"parameters\": [{\"name\": \"x\", \"type\": 1}]}", FRESH_EPARSE,
               "t.json:1:39: parameter 'x': \"type\" must be a string");
    expect_err(0, "{\"parameters\": [{\"name\": \"x\", \"type\": \"float\", \"low\": 0, \"high\": 1, "
                  "\"lgo\": true}]}",
               FRESH_EPARSE, "t.json:1:76: parameter 'x': unknown key \"lgo\"");
    expect_err(0, "{\"parameters\": [{\"name\": \"c\", \"type\": \"categorical\", \"choices\": "
                  "[\"a\", 2]}]}",
               FRESH_EPARSE, "t.json:1:71: parameter 'c': \"choices\" entry 2 must be a string");
    expect_err(0, "{\"parameters\": [{\"name\": \"c\", \"type\": \"categorical\", \"choices\": []}]}",
               FRESH_EPARSE, "t.json:1:65: parameter 'c': \"choices\" must be a non-empty array");
    expect_err(0, "{\"parameters\": [{\"name\": \"c\", \"type\": \"categorical\"}]}",
               FRESH_EPARSE, "t.json:1:17: parameter 'c': missing \"choices\"");
    expect_err(0, "{\"parameters\": [{\"name\": \"o\", \"type\": \"ordinal\", \"levels\": [1, "
                  "\"a\"]}]}",
               FRESH_EPARSE, "t.json:1:60: parameter 'o': \"levels\" must be all numbers or all strings");
    expect_err(0, "{\"parameters\": {}}", FRESH_EPARSE, "t.json:1:16: \"parameters\" must be an array");
    expect_err(0, "{}", FRESH_EPARSE, "t.json: missing top-level \"parameters\" array");
    expect_err(0, "{\"parameters\": [], \"forbiden\": []}", FRESH_EPARSE,
               "t.json:1:32: top level: unknown key \"forbiden\"");
    expect_err(0, "{\"parameters\": [{\"name\": \"x\", \"type\": \"float\", \"low\": 0, \"high\": 1, "
                  "\"default\": \"a\"}]}",
               FRESH_EPARSE, "t.json:1:80: parameter 'x': value \"a\" for 'x' must be a number");
}

#define TWO "{\"name\": \"opt\", \"type\": \"categorical\", \"choices\": [\"adam\", \"sgd\"]}, "

Test(space_json, semantic_errors)
{
    expect_err(0, "{\"parameters\": [{\"name\": \"x\", \"type\": \"float\", \"low\": 1, \"high\": 1}]}",
               FRESH_EINVAL, "t.json:1:17: parameter 'x': needs low < high, got low 1, high 1");
    expect_err(0, "{\"parameters\": [\n {\"name\": \"x\", \"type\": \"float\", \"low\": 0, \"high\": 1, "
                  "\"log\": true}]}",
               FRESH_EINVAL, "t.json:2:2: parameter 'x': log range needs low > 0, got 0");
    expect_err(0, "{\"parameters\": [" TWO TWO "{\"name\": \"z\", \"type\": \"int\", \"low\": 0, \"high\": 1}]}",
               FRESH_EINVAL, "t.json:1:85: parameter 'opt': duplicate name");
    expect_err(0, "{\"parameters\": [{\"name\": \"x\", \"type\": \"double\"}]}", FRESH_EINVAL,
               "t.json:1:39: parameter 'x': unknown type \"double\" (expected float, int, "
               "categorical or ordinal)");
    expect_err(0, "{\"parameters\": []}", FRESH_EINVAL, "t.json:1:16: the space has no parameters");
    expect_err(0, "{\"parameters\": [{\"name\": \"o\", \"type\": \"ordinal\", \"levels\": [2, 1]}]}",
               FRESH_EINVAL, "t.json:1:17: parameter 'o': levels must increase strictly, got 1 after 2");
    expect_err(0, "{\"parameters\": [" TWO "{\"name\": \"o\", \"type\": \"ordinal\", \"levels\": [1, 2], "
                  "\"default\": 3}]}",
               FRESH_EINVAL, "t.json:1:147: parameter 'o': value 3 is not a level of 'o'");
    expect_err(0, "{\"parameters\": [{\"name\": \"opt\", \"type\": \"categorical\", \"choices\": "
                  "[\"adam\"], \"default\": \"sgd\"}]}",
               FRESH_EINVAL, "t.json:1:88: parameter 'opt': value \"sgd\" is not a choice of 'opt'");
    expect_err(0, "{\"parameters\": [{\"name\": \"x\", \"type\": \"float\", \"low\": 0, \"high\": 1, "
                  "\"default\": 2}]}",
               FRESH_EINVAL, "t.json:1:80: parameter 'x': invalid default: value 2 outside [0, 1]");
    /* conditions */
    expect_err(0, "{\"parameters\": [" TWO "{\"name\": \"m\", \"type\": \"float\", \"low\": 0, "
                  "\"high\": 1, \"condition\": {\"parent\": \"optimizer\", \"equals\": \"sgd\"}}]}",
               FRESH_EINVAL,
               "t.json:1:161: parameter 'm': condition parent 'optimizer' is not a parameter");
    expect_err(0, "{\"parameters\": [" TWO "{\"name\": \"m\", \"type\": \"float\", \"low\": 0, "
                  "\"high\": 1, \"condition\": {\"parent\": \"opt\", \"equals\": \"rmsprop\"}}]}",
               FRESH_EINVAL, "t.json:1:178: parameter 'm': value \"rmsprop\" is not a choice of 'opt'");
    expect_err(0, "{\"parameters\": [" TWO "{\"name\": \"m\", \"type\": \"float\", \"low\": 0, "
                  "\"high\": 1, \"condition\": {\"parent\": \"opt\", \"in\": []}}]}",
               FRESH_EPARSE, "t.json:1:174: parameter 'm': condition values must be a non-empty array");
    expect_err(0, "{\"parameters\": [" TWO "{\"name\": \"m\", \"type\": \"float\", \"low\": 0, "
                  "\"high\": 1, \"condition\": {\"parent\": \"opt\"}}]}",
               FRESH_EPARSE,
               "t.json:1:150: parameter 'm': condition needs exactly one of \"equals\", \"in\", "
               "\"not_equals\", \"less_than\" and \"greater_than\"");
    expect_err(0, "{\"parameters\": [" TWO "{\"name\": \"m\", \"type\": \"float\", \"low\": 0, "
                  "\"high\": 1, \"condition\": {\"all\": [], \"parent\": \"opt\"}}]}",
               FRESH_EPARSE, "t.json:1:172: parameter 'm': unknown key \"parent\"");
    expect_err(0, "{\"parameters\": [" TWO "{\"name\": \"m\", \"type\": \"float\", \"low\": 0, "
                  "\"high\": 1, \"condition\": {\"any\": []}}]}",
               FRESH_EPARSE,
               "t.json:1:158: parameter 'm': \"any\" must be a non-empty array of conditions");
    expect_err(0, "{\"parameters\": [" TWO "{\"name\": \"m\", \"type\": \"float\", \"low\": 0, "
                  "\"high\": 1, \"condition\": [1]}]}",
               FRESH_EPARSE, "t.json:1:150: parameter 'm': a condition must be an object");
    /* a cycle: a <- b <- a */
    expect_err(0,
               "{\"parameters\": [\n"
               " {\"name\": \"a\", \"type\": \"int\", \"low\": 0, \"high\": 3, \"condition\": "
               "{\"parent\": \"b\", \"in\": [1]}},\n"
               " {\"name\": \"b\", \"type\": \"int\", \"low\": 0, \"high\": 3, \"condition\": "
               "{\"parent\": \"a\", \"in\": [1]}}]}",
               FRESH_EINVAL,
               "t.json:3:65: parameter 'b': condition on 'a' would create a cycle");
    expect_err(0,
               "{\"parameters\": [{\"name\": \"a\", \"type\": \"int\", \"low\": 0, \"high\": 3, "
               "\"condition\": {\"parent\": \"a\", \"in\": [1]}}]}",
               FRESH_EINVAL, "t.json:1:80: parameter 'a': cannot be conditioned on itself");
    /* forbidden */
    expect_err(0, "{\"parameters\": [" TWO "{\"name\": \"z\", \"type\": \"int\", \"low\": 0, \"high\": 1}], "
                  "\"forbidden\": [[{\"name\": \"zz\", \"equals\": 1}]]}",
               FRESH_EINVAL, "t.json:1:161: parameter 'zz': forbidden clause names an unknown parameter");
    expect_err(0, "{\"parameters\": [" TWO "{\"name\": \"z\", \"type\": \"int\", \"low\": 0, \"high\": 1}], "
                  "\"forbidden\": [[{\"name\": \"z\", \"in\": [2]}]]}",
               FRESH_EINVAL, "t.json:1:151: parameter 'z': forbidden clause: value 2 outside [0, 1]");
    expect_err(0, "{\"parameters\": [" TWO "{\"name\": \"z\", \"type\": \"int\", \"low\": 0, \"high\": 1}], "
                  "\"forbidden\": [[]]}",
               FRESH_EPARSE, "t.json:1:151: forbidden: each entry must be a non-empty array of clauses");
    expect_err(0, "{\"parameters\": [" TWO "{\"name\": \"z\", \"type\": \"int\", \"low\": 0, \"high\": 1}], "
                  "\"forbidden\": [[{\"name\": \"z\"}]]}",
               FRESH_EPARSE,
               "t.json:1:152: forbidden clause needs \"name\" and exactly one of \"equals\" and \"in\"");
}

Test(space_json, configspace_errors_and_unsupported)
{
    expect_err(1, "{\"hyperparameters\": [{\"name\": \"x\", \"type\": \"normal_float\", \"mu\": 0, "
                  "\"sigma\": 1}]}",
               FRESH_EUNSUPPORTED, "t.json:1:44: parameter 'x': type \"normal_float\" is not supported");
    expect_err(1, "{\"hyperparameters\": [{\"name\": \"c\", \"type\": \"categorical\", \"choices\": "
                  "[\"a\", \"b\"], \"weights\": [1, 2]}]}",
               FRESH_EUNSUPPORTED,
               "t.json:1:93: parameter 'c': categorical \"weights\" are not supported (fresh samples "
               "choices uniformly)");
    expect_err(1, "{\"hyperparameters\": [{\"name\": \"x\", \"type\": \"uniform_float\", \"lower\": 0, "
                  "\"upper\": 1, \"q\": 0.1}]}",
               FRESH_EUNSUPPORTED, "t.json:1:90: parameter 'x': quantization \"q\" is not supported");
    const char *hp = "{\"hyperparameters\": [{\"name\": \"c\", \"type\": \"categorical\", \"choices\": "
                     "[\"a\", \"b\"]}, {\"name\": \"x\", \"type\": \"uniform_float\", \"lower\": 0, "
                     "\"upper\": 1}], ";
    char buf[1024];
    snprintf(buf, sizeof buf, "%s\"conditions\": [{\"child\": \"x\", \"parent\": \"c\", \"type\": "
                              "\"LT\", \"value\": \"b\"}]}",
             hp);
    expect_err(1, buf, FRESH_EINVAL,
               "t.json:1:163: parameter 'x': condition '<' on 'c' needs an ordered parent "
               "(float, int or ordinal); 'c' is categorical");
    snprintf(buf, sizeof buf, "%s\"conditions\": [{\"child\": \"x\", \"parent\": \"c\", \"type\": "
                              "\"EQ\", \"value\": \"q\"}]}",
             hp);
    expect_err(1, buf, FRESH_EINVAL, "t.json:1:216: parameter 'x': value \"q\" is not a choice of 'c'");
    snprintf(buf, sizeof buf, "%s\"conditions\": [{\"child\": \"y\", \"parent\": \"c\", \"type\": "
                              "\"EQ\", \"value\": \"a\"}]}",
             hp);
    expect_err(1, buf, FRESH_EINVAL, "t.json:1:173: parameter 'y': condition child is not a parameter");
    snprintf(buf, sizeof buf, "%s\"conditions\": [{\"child\": \"x\", \"parent\": \"c\", \"type\": "
                              "\"EQ\", \"value\": \"a\"}, {\"child\": \"x\", \"parent\": \"c\", "
                              "\"type\": \"EQ\", \"value\": \"b\"}]}",
             hp);
    expect_err(1, buf, FRESH_EINVAL, "t.json:1:232: parameter 'x': has more than one condition");
    snprintf(buf, sizeof buf, "%s\"forbiddens\": [{\"left\": \"x\", \"right\": \"c\", \"type\": "
                              "\"RELATION\", \"lambda\": \"LESS\"}]}",
             hp);
    expect_err(1, buf, FRESH_EINVAL,
               "t.json:1:163: parameter 'x': forbidden relation 'x < c' compares a number with "
               "a label");
    snprintf(buf, sizeof buf, "%s\"forbiddens\": [{\"left\": \"x\", \"right\": \"c\", \"type\": "
                              "\"RELATION\", \"lambda\": \"LESS_EQUALS\"}]}",
             hp);
    expect_err(1, buf, FRESH_EUNSUPPORTED,
               "t.json:1:221: forbidden relation \"LESS_EQUALS\" is not supported (RELATION "
               "with \"lambda\" EQUALS, LESS or GREATER; RELATION_EQ, RELATION_LT, "
               "RELATION_GT)");
    snprintf(buf, sizeof buf, "%s\"forbiddens\": [{\"left\": \"x\", \"right\": \"z\", \"type\": "
                              "\"RELATION_EQ\"}]}",
             hp);
    expect_err(1, buf, FRESH_EINVAL,
               "t.json:1:186: parameter 'z': forbidden relation names an unknown parameter");
    snprintf(buf, sizeof buf, "%s\"forbiddens\": [{\"type\": \"OR\", \"clauses\": []}]}", hp);
    expect_err(1, buf, FRESH_EUNSUPPORTED,
               "t.json:1:172: forbidden clause type \"OR\" is not supported (only EQUALS, IN, "
               "AND, RELATION)");
    expect_err(1, "{\"hyperparameters\": []}", FRESH_EINVAL,
               "t.json:1:21: the space has no parameters");
    expect_err(1, "{\"hyperparameters\": [{\"name\": \"x\", \"type\": \"uniform_int\", \"lower\": 5, "
                  "\"upper\": 5}]}",
               FRESH_EINVAL, "t.json:1:22: parameter 'x': needs low < high, got low 5, high 5");
    expect_err(1, "{\"hyperparameters\": [{\"name\": \"x\", \"type\": \"uniform_float\", \"upper\": 5}]}",
               FRESH_EPARSE, "t.json:1:22: parameter 'x': missing \"lower\"");
}

Test(space_json, configspace_constants_ordinals_and_nested_and)
{
    const char *text =
        "{\"hyperparameters\": ["
        "{\"name\": \"s\", \"type\": \"constant\", \"value\": \"fixed\"},"
        "{\"name\": \"o\", \"type\": \"ordinal\", \"sequence\": [\"lo\", \"mid\", \"hi\"], "
        "\"default\": \"mid\"},"
        "{\"name\": \"u\", \"type\": \"ordinal\", \"sequence\": [3, 1, 2]},"
        "{\"name\": \"i\", \"type\": \"uniform_int\", \"log\": true, \"lower\": 1, \"upper\": 1024, "
        "\"default\": 32.0, \"q\": null}],"
        "\"conditions\": [{\"child\": \"i\", \"type\": \"AND\", \"conditions\": ["
        "{\"child\": \"i\", \"parent\": \"o\", \"type\": \"IN\", \"values\": [\"mid\", \"hi\"]},"
        "{\"child\": \"i\", \"type\": \"OR\", \"conditions\": ["
        "{\"child\": \"i\", \"parent\": \"u\", \"type\": \"EQ\", \"value\": 3},"
        "{\"child\": \"i\", \"parent\": \"s\", \"type\": \"EQ\", \"value\": \"fixed\"}]}]}],"
        "\"forbiddens\": [{\"name\": \"o\", \"type\": \"AND\", \"clauses\": ["
        "{\"name\": \"o\", \"type\": \"EQUALS\", \"value\": \"hi\"},"
        "{\"name\": \"u\", \"type\": \"IN\", \"values\": [1, 2]}]}]}";
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_read_configspace_string(s, text, "cs"), FRESH_OK, "%s",
                 fresh_space_errmsg(s));
    fresh_param_info in = info_of(s, "s");
    cr_assert_eq(in.type, FRESH_PARAM_CATEGORICAL);
    cr_assert_eq(in.n_levels, 1);
    in = info_of(s, "u");
    cr_assert_null(in.ordinal_values, "not increasing: kept as labels");
    cr_assert_str_eq(in.labels[0], "3");
    in = info_of(s, "i");
    cr_assert_eq(in.default_value, 32);
    cr_assert_eq(in.log_scale, 1);
    double x[4] = {0, 1, 0, 5};
    fresh_space_apply_conditions(s, x);
    cr_assert_eq(x[3], 5);
    double y[4] = {0, 0, 0, 5};
    fresh_space_apply_conditions(s, y);
    cr_assert(isnan(y[3]));
    double f[4] = {0, 2, 1, NAN};
    cr_assert_eq(fresh_space_is_forbidden(s, f), 1);
    f[2] = 0;
    cr_assert_eq(fresh_space_is_forbidden(s, f), 0);
    char *out;
    cr_assert_eq(fresh_space_write_json(s, &out), FRESH_OK);
    fresh_space *b = fresh_space_create();
    cr_assert_eq(fresh_space_read_json_string(b, out, "w"), FRESH_OK, "%s", fresh_space_errmsg(b));
    free(out);
    fresh_space_destroy(b);
    fresh_space_destroy(s);
}

Test(space_json, error_leaves_space_usable)
{
    fresh_space *s = fresh_space_create();
    const char *bad = "{\"parameters\": [{\"name\": \"a\", \"type\": \"int\", \"low\": 0, \"high\": "
                      "3}, {\"name\": \"b\", \"type\": \"int\", \"low\": 3, \"high\": 0}]}";
    cr_assert_eq(fresh_space_read_json_string(s, bad, NULL), FRESH_EINVAL);
    cr_assert_eq(fresh_space_dim(s), 0);
    cr_assert_eq(fresh_space_read_json_file(s, MLP), FRESH_OK, "%s", fresh_space_errmsg(s));
    cr_assert_eq(fresh_space_dim(s), 10);
    fresh_space_destroy(s);
}

Test(space_json, allocation_failures_leave_space_empty)
{
    int ok = 0;
    for (long k = 0; k < 2000 && !ok; k++) {
        fresh_space *s = fresh_space_create();
        fresh__alloc_fail_after(k);
        int rc = fresh_space_read_file(s, k % 2 ? MLP : CSX);
        fresh__alloc_fail_after(-1);
        if (rc == FRESH_OK) {
            ok = k % 2; /* stop once the larger of the two has succeeded */
        } else {
            cr_assert_eq(rc, FRESH_ENOMEM, "countdown %ld: %s", k, fresh_space_errmsg(s));
            cr_assert(strstr(fresh_space_errmsg(s), "out of memory") != NULL, "%s",
                      fresh_space_errmsg(s));
            cr_assert_eq(fresh_space_dim(s), 0);
        }
        fresh_space_destroy(s);
    }
    cr_assert(ok);
}
