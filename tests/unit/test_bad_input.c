/*
 * test_bad_input.c - the exact status and message a user gets for bad
 * input: space files (both JSON formats, read from strings and from a file
 * in a temporary directory), the space-building API and study parameters.
 * docs/errors.md quotes these messages; when one changes, change both.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fresh/space.h"
#include "fresh/study.h"

/* Creates a study and checks status and message (msg NULL: not checked). */
static void expect_study(const fresh_space *space, const fresh_study_params *p, int status,
                         const char *msg);

/* Reads `text` ("space.json" in messages) and checks status, message and
 * that the space is left empty. */
static void expect_read(int configspace, const char *text, int status, const char *msg)
{
    fresh_space *s = fresh_space_create();
    cr_assert_not_null(s);
    int rc = configspace ? fresh_space_read_configspace_string(s, text, "space.json")
                         : fresh_space_read_json_string(s, text, "space.json");
    cr_expect_eq(rc, status, "status %s, expected %s (%s)", fresh_status_name(rc),
                 fresh_status_name(status), fresh_space_errmsg(s));
    cr_expect_str_eq(fresh_space_errmsg(s), msg, "message:\n  got      %s\n  expected %s",
                     fresh_space_errmsg(s), msg);
    cr_expect_eq(fresh_space_dim(s), 0);
    fresh_space_destroy(s);
}

#define FRESH(text, status, msg) expect_read(0, text, status, msg)
#define CS(text, status, msg) expect_read(1, text, status, msg)

/* ---- space files: fresh's format ---- */

Test(bad_input, malformed_json)
{
    FRESH("{\"parameters\": [{\"name\": \"lr\", \"type\": \"float\", \"low\": 1 \"high\": 2}]}",
          FRESH_EPARSE,
          "space.json:1:63: near parameter 'lr': syntax error: '}' expected near '\"high\"'");
    FRESH("{\"parameters\": [", FRESH_EPARSE,
          "space.json:1:16: syntax error: ']' expected near end of file");
}

Test(bad_input, wrong_types)
{
    FRESH("{\"parameters\": [{\"name\": \"lr\", \"type\": \"float\", \"low\": \"0\", \"high\": 1}]}",
          FRESH_EPARSE, "space.json:1:56: parameter 'lr': \"low\" must be a number");
    FRESH("{\"parameters\": [{\"name\": \"lr\", \"type\": \"float\", \"low\": 0, \"high\": 1, "
          "\"log\": 1}]}",
          FRESH_EPARSE, "space.json:1:77: parameter 'lr': \"log\" must be true or false");
    FRESH("{\"parameters\": {}}", FRESH_EPARSE, "space.json:1:16: \"parameters\" must be an array");
}

Test(bad_input, missing_and_unknown_keys)
{
    FRESH("{}", FRESH_EPARSE, "space.json: missing top-level \"parameters\" array");
    FRESH("{\"parameters\": [{\"type\": \"int\", \"low\": 0, \"high\": 1}]}", FRESH_EPARSE,
          "space.json:1:17: parameters[0]: missing \"name\"");
    FRESH("{\"parameters\": [{\"name\": \"a\", \"type\": \"int\", \"low\": 0, \"high\": 1}], "
          "\"forbiden\": []}",
          FRESH_EPARSE, "space.json:1:81: top level: unknown key \"forbiden\"");
    FRESH("{\"parameters\": [{\"name\": \"a\", \"type\": \"double\", \"low\": 0, \"high\": 1}]}",
          FRESH_EINVAL,
          "space.json:1:39: parameter 'a': unknown type \"double\" (expected float, int, "
          "categorical or ordinal)");
}

Test(bad_input, empty_space)
{
    FRESH("{\"parameters\": []}", FRESH_EINVAL, "space.json:1:16: the space has no parameters");
}

Test(bad_input, duplicate_names)
{
    FRESH("{\"parameters\": [{\"name\": \"a\", \"type\": \"int\", \"low\": 0, \"high\": 1}, "
          "{\"name\": \"a\", \"type\": \"int\", \"low\": 0, \"high\": 1}]}",
          FRESH_EINVAL, "space.json:1:68: parameter 'a': duplicate name");
    FRESH("{\"parameters\": [{\"name\": \"c\", \"type\": \"categorical\", \"choices\": [\"a\", "
          "\"a\"]}]}",
          FRESH_EINVAL, "space.json:1:17: parameter 'c': duplicate choice 'a'");
}

Test(bad_input, log_range_low_not_positive)
{
    FRESH("{\"parameters\": [{\"name\": \"lr\", \"type\": \"float\", \"low\": 0, \"high\": 1, "
          "\"log\": true}]}",
          FRESH_EINVAL, "space.json:1:17: parameter 'lr': log range needs low > 0, got 0");
    FRESH("{\"parameters\": [{\"name\": \"lr\", \"type\": \"float\", \"low\": -1, \"high\": 1, "
          "\"log\": true}]}",
          FRESH_EINVAL, "space.json:1:17: parameter 'lr': log range needs low > 0, got -1");
    FRESH("{\"parameters\": [{\"name\": \"n\", \"type\": \"int\", \"low\": 0, \"high\": 8, "
          "\"log\": true}]}",
          FRESH_EINVAL, "space.json:1:17: parameter 'n': log range needs low >= 1, got 0");
}

Test(bad_input, low_not_below_high)
{
    FRESH("{\"parameters\": [{\"name\": \"x\", \"type\": \"float\", \"low\": 1, \"high\": 1}]}",
          FRESH_EINVAL, "space.json:1:17: parameter 'x': needs low < high, got low 1, high 1");
    FRESH("{\"parameters\": [{\"name\": \"n\", \"type\": \"int\", \"low\": 5, \"high\": 2}]}",
          FRESH_EINVAL, "space.json:1:17: parameter 'n': needs low < high, got low 5, high 2");
}

Test(bad_input, bad_default)
{
    FRESH("{\"parameters\": [{\"name\": \"a\", \"type\": \"int\", \"low\": 0, \"high\": 1, "
          "\"default\": 5}]}",
          FRESH_EINVAL, "space.json:1:78: parameter 'a': invalid default: value 5 outside [0, 1]");
}

Test(bad_input, condition_on_missing_parent)
{
    FRESH("{\"parameters\": [{\"name\": \"m\", \"type\": \"float\", \"low\": 0, \"high\": 1, "
          "\"condition\": {\"parent\": \"opt\", \"equals\": \"sgd\"}}]}",
          FRESH_EINVAL, "space.json:1:93: parameter 'm': condition parent 'opt' is not a parameter");
}

Test(bad_input, cyclic_conditions)
{
    FRESH("{\"parameters\": [{\"name\": \"a\", \"type\": \"int\", \"low\": 0, \"high\": 1, "
          "\"condition\": {\"parent\": \"b\", \"equals\": 1}}, {\"name\": \"b\", \"type\": \"int\", "
          "\"low\": 0, \"high\": 1, \"condition\": {\"parent\": \"a\", \"equals\": 1}}]}",
          FRESH_EINVAL, "space.json:1:174: parameter 'b': condition on 'a' would create a cycle");
    FRESH("{\"parameters\": [{\"name\": \"a\", \"type\": \"int\", \"low\": 0, \"high\": 1, "
          "\"condition\": {\"parent\": \"a\", \"equals\": 1}}]}",
          FRESH_EINVAL, "space.json:1:80: parameter 'a': cannot be conditioned on itself");
}

/* ---- space files: ConfigSpace ---- */

Test(bad_input, configspace_unsupported)
{
    CS("{\"hyperparameters\": [{\"name\": \"x\", \"type\": \"normal_float\", \"mu\": 0, "
       "\"sigma\": 1}]}",
       FRESH_EUNSUPPORTED, "space.json:1:44: parameter 'x': type \"normal_float\" is not supported");
    CS("{\"hyperparameters\": [{\"name\": \"a\", \"type\": \"categorical\", \"choices\": [\"x\", "
       "\"y\"]}, {\"name\": \"b\", \"type\": \"uniform_int\", \"lower\": 0, \"upper\": 9}], "
       "\"conditions\": [{\"child\": \"b\", \"parent\": \"a\", \"type\": \"GT\", \"value\": "
       "\"x\"}]}",
       FRESH_EINVAL,
       "space.json:1:161: parameter 'b': condition '>' on 'a' needs an ordered parent (float, "
       "int or ordinal); 'a' is categorical");
}

/* ---- files ---- */

Test(bad_input, missing_file)
{
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_read_file(s, "/nonexistent/space.json"), FRESH_EIO);
    cr_expect_str_eq(fresh_space_errmsg(s),
                     "/nonexistent/space.json: cannot open: No such file or directory");
    /* a directory opens but cannot be read */
    cr_assert_eq(fresh_space_read_file(s, "/tmp"), FRESH_EIO);
    cr_expect_str_eq(fresh_space_errmsg(s), "/tmp: cannot read: Is a directory");
    fresh_space_destroy(s);
}

Test(bad_input, file_in_temp_dir)
{
    char dir[] = "/tmp/fresh-bad-input-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[64], expected[160];
    snprintf(path, sizeof path, "%s/space.json", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\"parameters\": [\n"
          "  {\"name\": \"lr\", \"type\": \"float\", \"low\": 0, \"high\": 1, \"log\": true}\n"
          "]}\n",
          f);
    fclose(f);
    fresh_space *s = fresh_space_create();
    int rc = fresh_space_read_file(s, path);
    snprintf(expected, sizeof expected, "%s:2:3: parameter 'lr': log range needs low > 0, got 0",
             path);
    cr_expect_eq(rc, FRESH_EINVAL);
    cr_expect_str_eq(fresh_space_errmsg(s), expected);
    fresh_space_destroy(s);
    unlink(path);
    rmdir(dir);
}

Test(bad_input, read_into_non_empty_space)
{
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_add_float(s, "a", 0, 1, 0), FRESH_OK);
    cr_expect_eq(fresh_space_read_json_string(
                     s, "{\"parameters\": [{\"name\": \"z\", \"type\": \"int\", \"low\": 0, "
                        "\"high\": 1}]}",
                     NULL),
                 FRESH_ESTATE);
    cr_expect_str_eq(fresh_space_errmsg(s),
                     "<string>: the space already has 1 parameters; read into a new, empty space");
    cr_expect_eq(fresh_space_dim(s), 1);
    fresh_space_destroy(s);
}

/* ---- the space-building API ---- */

#define API(call, status, msg)                                                             \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        cr_expect_eq(rc_, status, "%s: status %s", #call, fresh_status_name(rc_));         \
        cr_expect_str_eq(fresh_space_errmsg(s), msg, "%s: message '%s'", #call,            \
                         fresh_space_errmsg(s));                                           \
    } while (0)

Test(bad_input, space_api)
{
    fresh_space *s = fresh_space_create();
    double one = 1, five = 5;
    API(fresh_space_add_float(s, "lr", 0, 1, 1), FRESH_EINVAL,
        "parameter 'lr': log range needs low > 0, got 0");
    API(fresh_space_add_float(s, "lr", 1, 1, 0), FRESH_EINVAL,
        "parameter 'lr': needs low < high, got low 1, high 1");
    API(fresh_space_add_float(s, "lr", NAN, 1, 0), FRESH_EINVAL,
        "parameter 'lr': bounds must be finite, got [nan, 1]");
    API(fresh_space_add_int(s, "n", 0, 8, 1), FRESH_EINVAL,
        "parameter 'n': log range needs low >= 1, got 0");
    API(fresh_space_add_float(s, "", 0, 1, 0), FRESH_EINVAL, "parameter name is empty");
    cr_assert_eq(fresh_space_add_float(s, "a", 0, 1, 0), FRESH_OK);
    API(fresh_space_add_float(s, "a", 0, 1, 0), FRESH_EINVAL, "parameter 'a': duplicate name");
    cr_assert_eq(fresh_space_add_int(s, "b", 0, 1, 0), FRESH_OK);
    API(fresh_space_add_condition(s, "zz", "a", 1, &one, 0), FRESH_ENOTFOUND,
        "parameter 'zz': no such parameter (condition child)");
    API(fresh_space_add_condition(s, "b", "zz", 1, &one, 0), FRESH_ENOTFOUND,
        "parameter 'b': condition parent 'zz' is not a parameter");
    API(fresh_space_add_condition(s, "a", "b", 1, &five, 0), FRESH_EINVAL,
        "parameter 'a': condition on 'b': value 5 outside [0, 1]");
    cr_assert_eq(fresh_space_add_condition(s, "a", "b", 1, &one, 0), FRESH_OK);
    API(fresh_space_add_condition(s, "b", "a", 1, &one, 0), FRESH_EINVAL,
        "parameter 'b': condition on 'a' would create a cycle");
    API(fresh_space_add_condition(s, "b", "b", 1, &one, 0), FRESH_EINVAL,
        "parameter 'b': cannot be conditioned on itself");
    API(fresh_space_set_default(s, "b", 3), FRESH_EINVAL,
        "parameter 'b': invalid default: value 3 outside [0, 1]");
    API(fresh_space_set_default(s, "zz", 0), FRESH_ENOTFOUND, "parameter 'zz': no such parameter");
    fresh_clause c = {"zz", 1, &one};
    API(fresh_space_add_forbidden(s, 1, &c), FRESH_ENOTFOUND,
        "parameter 'zz': no such parameter (forbidden clause)");
    cr_expect_eq(fresh_space_index(s, "zz"), FRESH_ENOTFOUND);
    fresh_space_destroy(s);
}

Test(bad_input, everything_forbidden)
{
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_add_int(s, "k", 0, 1, 0), FRESH_OK);
    double v0 = 0, v1 = 1;
    fresh_clause c0 = {"k", 1, &v0}, c1 = {"k", 1, &v1};
    cr_assert_eq(fresh_space_add_forbidden(s, 1, &c0), FRESH_OK);
    cr_assert_eq(fresh_space_add_forbidden(s, 1, &c1), FRESH_OK);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    double x[1];
    cr_expect_eq(fresh_space_sample(s, r, x), FRESH_ENOSAMPLE);
    cr_expect_eq(fresh_space_default_config(s, x), FRESH_ENOSAMPLE);
    gsl_rng_free(r);
    fresh_space_destroy(s);
}

/* ---- study parameters ---- */

static void expect_study(const fresh_space *space, const fresh_study_params *p, int status,
                         const char *msg)
{
    int rc = 12345;
    char err[256] = "unset";
    fresh_study *st = fresh_study_create(space, p, &rc, err, sizeof err);
    cr_expect_eq(rc, status, "status %s (%s)", fresh_status_name(rc), err);
    if (msg) /* on success the buffer is not written */
        cr_expect_str_eq(err, msg, "message '%s'", err);
    if (status == FRESH_OK)
        cr_expect_not_null(st);
    else
        cr_expect_null(st);
    fresh_study_destroy(st);
}

#define STUDY(field, value, status, msg)                 \
    do {                                                 \
        fresh_study_params p_;                           \
        fresh_study_params_default(&p_);                 \
        p_.field = value;                                \
        expect_study(space, &p_, status, msg);           \
    } while (0)

Test(bad_input, study_params)
{
    fresh_space *space = fresh_space_create();
    cr_assert_eq(fresh_space_add_float(space, "x", 0, 1, 0), FRESH_OK);
    STUDY(eta, 1, FRESH_EINVAL, "eta: must be an integer >= 2, got 1");
    STUDY(eta, 2.5, FRESH_EINVAL, "eta: must be an integer >= 2, got 2.5");
    STUDY(min_budget, 0, FRESH_EINVAL, "min_budget: must be finite and > 0, got 0");
    STUDY(max_budget, 0.5, FRESH_EINVAL, "max_budget: must be finite and >= min_budget (1), got 0.5");
    STUDY(target_loss, INFINITY, FRESH_EINVAL, "target_loss: must be finite or NaN (off), got inf");
    STUDY(target_loss, -INFINITY, FRESH_EINVAL,
          "target_loss: must be finite or NaN (off), got -inf");
    STUDY(job_time_limit, -1, FRESH_EINVAL, "job_time_limit: must be >= 0 and finite, got -1");
    STUDY(workers, 5000, FRESH_EINVAL, "workers: at most 4096, got 5000");
    /* NaN target means "no target": accepted, and the default */
    STUDY(target_loss, NAN, FRESH_OK, NULL);
    fresh_study_params d;
    fresh_study_params_default(&d);
    cr_expect(isnan(d.target_loss));
    fresh_space_destroy(space);
}

Test(bad_input, study_min_budget_above_max)
{
    fresh_space *space = fresh_space_create();
    cr_assert_eq(fresh_space_add_float(space, "x", 0, 1, 0), FRESH_OK);
    fresh_study_params p;
    fresh_study_params_default(&p);
    p.min_budget = 10;
    p.max_budget = 1;
    expect_study(space, &p, FRESH_EINVAL, "max_budget: must be finite and >= min_budget (10), got 1");
    fresh_space_destroy(space);
}

Test(bad_input, study_space)
{
    fresh_space *empty = fresh_space_create();
    expect_study(empty, NULL, FRESH_EINVAL, "space: has no parameters (did reading the space file fail? check its return value)");
    expect_study(NULL, NULL, FRESH_EINVAL, "space: NULL");
    fresh_space_destroy(empty);
}
