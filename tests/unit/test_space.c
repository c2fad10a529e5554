/* The search space: every parameter kind, defaults, conditions (nested, OR
 * groups, cycles, dependency order), forbidden clauses, check, sampling with
 * fixed seeds, the unit encoding, hash/equal, format, the JSON writers, every
 * error path, and allocation failures. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fresh/rng.h"
#include "fresh/space.h"
#include "internal.h"

#define ASSERT_ERR(call, status, fragment)                                                   \
    do {                                                                                     \
        int rc_ = (call);                                                                    \
        cr_assert_eq(rc_, (status), "%s returned %d", #call, rc_);                          \
        cr_assert(strstr(fresh_space_errmsg(s), (fragment)) != NULL, "errmsg '%s' lacks '%s'", \
                  fresh_space_errmsg(s), (fragment));                                        \
    } while (0)

static const char *const OPTS[] = {"adam", "sgd", "rmsprop"};
static const double WIDTHS[] = {16, 32, 64};
static const char *const SIZES[] = {"small", "medium", "large"};

/* lr (float log), opt (cat), momentum (float | opt in {sgd, rmsprop}),
 * layers (int), width (ordinal numeric), size (ordinal labels). */
static fresh_space *make_space(void)
{
    fresh_space *s = fresh_space_create();
    cr_assert_not_null(s);
    cr_assert_eq(fresh_space_add_float(s, "lr", 1e-4, 1, 1), FRESH_OK);
    cr_assert_eq(fresh_space_add_categorical(s, "opt", 3, OPTS), FRESH_OK);
    cr_assert_eq(fresh_space_add_float(s, "momentum", 0, 0.99, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(s, "layers", 1, 8, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_ordinal(s, "width", 3, WIDTHS), FRESH_OK);
    cr_assert_eq(fresh_space_add_ordinal_labels(s, "size", 3, SIZES), FRESH_OK);
    double v[] = {1, 2};
    cr_assert_eq(fresh_space_add_condition(s, "momentum", "opt", 2, v, 0), FRESH_OK);
    return s;
}

Test(space, create_destroy_and_empty)
{
    fresh_space *s = fresh_space_create();
    cr_assert_not_null(s);
    cr_assert_eq(fresh_space_dim(s), 0);
    cr_assert_str_eq(fresh_space_errmsg(s), "");
    fresh_space_destroy(s);
    fresh_space_destroy(NULL);
    cr_assert_eq(fresh_space_dim(NULL), 0);
    cr_assert_str_eq(fresh_space_errmsg(NULL), "space is NULL");
}

Test(space, every_kind_and_param_info)
{
    fresh_space *s = make_space();
    fresh_param_info in;
    cr_assert_eq(fresh_space_dim(s), 6);
    cr_assert_eq(fresh_space_param(s, 0, &in), FRESH_OK);
    cr_assert_str_eq(in.name, "lr");
    cr_assert_eq(in.type, FRESH_PARAM_FLOAT);
    cr_assert_eq(in.log_scale, 1);
    cr_assert_eq(in.low, 1e-4);
    cr_assert_eq(in.high, 1);
    cr_assert_null(in.labels);
    cr_assert_eq(in.has_condition, 0);

    cr_assert_eq(fresh_space_param(s, 1, &in), FRESH_OK);
    cr_assert_eq(in.type, FRESH_PARAM_CATEGORICAL);
    cr_assert_eq(in.n_levels, 3);
    cr_assert_str_eq(in.labels[2], "rmsprop");
    cr_assert_eq(in.low, 0);
    cr_assert_eq(in.high, 2);
    cr_assert_null(in.ordinal_values);

    cr_assert_eq(fresh_space_param(s, 2, &in), FRESH_OK);
    cr_assert_eq(in.has_condition, 1);

    cr_assert_eq(fresh_space_param(s, 3, &in), FRESH_OK);
    cr_assert_eq(in.type, FRESH_PARAM_INT);
    cr_assert_eq(in.low, 1);
    cr_assert_eq(in.high, 8);

    cr_assert_eq(fresh_space_param(s, 4, &in), FRESH_OK);
    cr_assert_eq(in.type, FRESH_PARAM_ORDINAL);
    cr_assert_eq(in.ordinal_values[1], 32);
    cr_assert_str_eq(in.labels[1], "32");

    cr_assert_eq(fresh_space_param(s, 5, &in), FRESH_OK);
    cr_assert_eq(in.type, FRESH_PARAM_ORDINAL);
    cr_assert_null(in.ordinal_values);
    cr_assert_str_eq(in.labels[0], "small");

    cr_assert_eq(fresh_space_param(s, 6, &in), FRESH_EINVAL);
    cr_assert_eq(fresh_space_param(NULL, 0, &in), FRESH_EINVAL);
    cr_assert_eq(fresh_space_param(s, 0, NULL), FRESH_EINVAL);

    cr_assert_eq(fresh_space_index(s, "layers"), 3);
    cr_assert_eq(fresh_space_index(s, "nope"), FRESH_ENOTFOUND);
    cr_assert_eq(fresh_space_index(s, NULL), FRESH_EINVAL);
    cr_assert_eq(fresh_space_index(NULL, "lr"), FRESH_EINVAL);
    cr_assert_eq(fresh_space_level_index(s, 1, "sgd"), 1);
    cr_assert_eq(fresh_space_level_index(s, 5, "large"), 2);
    cr_assert_eq(fresh_space_level_index(s, 4, "64"), 2);
    cr_assert_eq(fresh_space_level_index(s, 1, "adagrad"), FRESH_ENOTFOUND);
    cr_assert_eq(fresh_space_level_index(s, 0, "x"), FRESH_EINVAL);
    cr_assert_eq(fresh_space_level_index(s, 9, "x"), FRESH_EINVAL);
    cr_assert_eq(fresh_space_level_index(s, 1, NULL), FRESH_EINVAL);
    fresh_space_destroy(s);
}

Test(space, numeric_ordinal_labels_are_shortest_round_trip)
{
    fresh_space *s = fresh_space_create();
    double v[] = {0.1, 0.25, 1e-7};
    v[2] = 3; /* keep it increasing */
    cr_assert_eq(fresh_space_add_ordinal(s, "o", 3, v), FRESH_OK);
    fresh_param_info in;
    fresh_space_param(s, 0, &in);
    cr_assert_str_eq(in.labels[0], "0.1");
    cr_assert_str_eq(in.labels[1], "0.25");
    cr_assert_str_eq(in.labels[2], "3");
    fresh_space_destroy(s);
}

Test(space, construction_errors_change_nothing)
{
    fresh_space *s = make_space();
    char long_name[300];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    const char *dup[] = {"a", "b", "a"};
    const char *empty[] = {"a", ""};
    const char *nul[] = {"a", NULL};
    double dec[] = {1, 2, 2};
    double nan_level[] = {1, NAN};

    cr_assert_eq(fresh_space_add_float(NULL, "x", 0, 1, 0), FRESH_EINVAL);
    ASSERT_ERR(fresh_space_add_float(s, NULL, 0, 1, 0), FRESH_EINVAL, "parameter name is NULL");
    ASSERT_ERR(fresh_space_add_float(s, "", 0, 1, 0), FRESH_EINVAL, "parameter name is empty");
    ASSERT_ERR(fresh_space_add_float(s, long_name, 0, 1, 0), FRESH_EINVAL,
               "name is 299 bytes long, at most 255 allowed");
    ASSERT_ERR(fresh_space_add_float(s, "a\tb", 0, 1, 0), FRESH_EINVAL, "control character");
    ASSERT_ERR(fresh_space_add_float(s, "lr", 0, 1, 0), FRESH_EINVAL,
               "parameter 'lr': duplicate name");
    ASSERT_ERR(fresh_space_add_float(s, "x", NAN, 1, 0), FRESH_EINVAL,
               "parameter 'x': bounds must be finite, got [nan, 1]");
    ASSERT_ERR(fresh_space_add_float(s, "x", 0, INFINITY, 0), FRESH_EINVAL,
               "bounds must be finite");
    ASSERT_ERR(fresh_space_add_float(s, "x", 1, 1, 0), FRESH_EINVAL,
               "parameter 'x': needs low < high, got low 1, high 1");
    ASSERT_ERR(fresh_space_add_float(s, "x", -1, 1, 1), FRESH_EINVAL,
               "parameter 'x': log range needs low > 0, got -1");
    ASSERT_ERR(fresh_space_add_int(s, "n", 5, 2, 0), FRESH_EINVAL,
               "parameter 'n': needs low < high, got low 5, high 2");
    ASSERT_ERR(fresh_space_add_int(s, "n", 0, 10, 1), FRESH_EINVAL,
               "parameter 'n': log range needs low >= 1, got 0");
    ASSERT_ERR(fresh_space_add_int(s, "n", 0, 1L << 41, 0), FRESH_EINVAL,
               "integer bounds must lie within +-2^40");
    ASSERT_ERR(fresh_space_add_int(s, "layers", 0, 10, 0), FRESH_EINVAL, "duplicate name");
    ASSERT_ERR(fresh_space_add_categorical(s, "c", 0, OPTS), FRESH_EINVAL,
               "parameter 'c': needs at least one choice");
    ASSERT_ERR(fresh_space_add_categorical(s, "c", 3, NULL), FRESH_EINVAL,
               "needs at least one choice");
    ASSERT_ERR(fresh_space_add_categorical(s, "c", 3, dup), FRESH_EINVAL,
               "parameter 'c': duplicate choice 'a'");
    ASSERT_ERR(fresh_space_add_categorical(s, "c", 2, empty), FRESH_EINVAL,
               "parameter 'c': choice 1 is empty");
    ASSERT_ERR(fresh_space_add_categorical(s, "c", 2, nul), FRESH_EINVAL,
               "parameter 'c': choice 1 is NULL");
    ASSERT_ERR(fresh_space_add_ordinal_labels(s, "c", 3, dup), FRESH_EINVAL,
               "parameter 'c': duplicate level 'a'");
    ASSERT_ERR(fresh_space_add_ordinal(s, "o", 3, dec), FRESH_EINVAL,
               "parameter 'o': levels must increase strictly, got 2 after 2");
    ASSERT_ERR(fresh_space_add_ordinal(s, "o", 2, nan_level), FRESH_EINVAL,
               "parameter 'o': level 1 is not finite");
    ASSERT_ERR(fresh_space_add_ordinal(s, "o", 0, dec), FRESH_EINVAL,
               "parameter 'o': needs at least one level");
    cr_assert_eq(fresh_space_dim(s), 6);
    /* a single choice and a single level are fine */
    cr_assert_eq(fresh_space_add_categorical(s, "one", 1, OPTS), FRESH_OK);
    cr_assert_eq(fresh_space_add_ordinal(s, "lvl", 1, dec), FRESH_OK);
    cr_assert_str_eq(fresh_space_errmsg(s), "");
    fresh_space_destroy(s);
}

Test(space, defaults_and_default_config)
{
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_add_float(s, "f", -1, 3, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_float(s, "g", 1e-4, 1, 1), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(s, "i", 1, 4, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(s, "j", 1, 100, 1), FRESH_OK);
    cr_assert_eq(fresh_space_add_categorical(s, "c", 3, OPTS), FRESH_OK);
    double lv[] = {1, 2, 3, 4};
    cr_assert_eq(fresh_space_add_ordinal(s, "o", 4, lv), FRESH_OK);
    double x[6];
    cr_assert_eq(fresh_space_default_config(s, x), FRESH_OK);
    cr_assert_eq(x[0], 1);
    cr_assert_float_eq(x[1], 1e-2, 1e-15);
    cr_assert_eq(x[2], 3); /* round(2.5) */
    cr_assert_eq(x[3], 10);
    cr_assert_eq(x[4], 0);
    cr_assert_eq(x[5], 1); /* middle level of 4: (4-1)/2 = 1 */
    cr_assert_eq(fresh_space_check(s, x, NULL, 0), FRESH_OK);

    cr_assert_eq(fresh_space_set_default(s, "f", 2.5), FRESH_OK);
    cr_assert_eq(fresh_space_set_default(s, "c", 2), FRESH_OK);
    cr_assert_eq(fresh_space_set_default(s, "j", 7), FRESH_OK);
    ASSERT_ERR(fresh_space_set_default(s, "f", 3.5), FRESH_EINVAL,
               "parameter 'f': invalid default: value 3.5 outside [-1, 3]");
    ASSERT_ERR(fresh_space_set_default(s, "i", 2.5), FRESH_EINVAL,
               "parameter 'i': invalid default: value 2.5 is not an integer");
    ASSERT_ERR(fresh_space_set_default(s, "i", 9), FRESH_EINVAL, "value 9 outside [1, 4]");
    ASSERT_ERR(fresh_space_set_default(s, "c", 3), FRESH_EINVAL,
               "value 3 is not a level index (0..2)");
    ASSERT_ERR(fresh_space_set_default(s, "c", NAN), FRESH_EINVAL, "value is NaN");
    ASSERT_ERR(fresh_space_set_default(s, "zz", 1), FRESH_ENOTFOUND,
               "parameter 'zz': no such parameter");
    ASSERT_ERR(fresh_space_set_default(s, NULL, 1), FRESH_EINVAL, "parameter name is NULL");
    cr_assert_eq(fresh_space_set_default(NULL, "f", 1), FRESH_EINVAL);
    fresh_param_info in;
    fresh_space_param(s, 0, &in);
    cr_assert_eq(in.has_default, 1);
    cr_assert_eq(in.default_value, 2.5);
    fresh_space_param(s, 2, &in);
    cr_assert_eq(in.has_default, 0);
    cr_assert_eq(fresh_space_default_config(s, x), FRESH_OK);
    cr_assert_eq(x[0], 2.5);
    cr_assert_eq(x[3], 7);
    cr_assert_eq(x[4], 2);

    /* a forbidden default */
    double two = 2;
    fresh_clause cl = {"c", 1, &two};
    cr_assert_eq(fresh_space_add_forbidden(s, 1, &cl), FRESH_OK);
    cr_assert_eq(fresh_space_default_config(s, x), FRESH_ENOSAMPLE);
    cr_assert_eq(fresh_space_default_config(NULL, x), FRESH_EINVAL);
    cr_assert_eq(fresh_space_default_config(s, NULL), FRESH_EINVAL);
    fresh_space_destroy(s);
}

Test(space, simple_condition_apply_and_is_active)
{
    fresh_space *s = make_space();
    double x[6] = {0.01, 0, 0.5, 3, 1, 0};
    cr_assert_eq(fresh_space_is_active(s, x, 2), 0);
    fresh_space_apply_conditions(s, x);
    cr_assert(isnan(x[2]));
    cr_assert_eq(x[0], 0.01);
    double y[6] = {0.01, 1, 0.5, 3, 1, 0};
    cr_assert_eq(fresh_space_is_active(s, y, 2), 1);
    fresh_space_apply_conditions(s, y);
    cr_assert_eq(y[2], 0.5);
    y[1] = 2;
    cr_assert_eq(fresh_space_is_active(s, y, 2), 1);
    cr_assert_eq(fresh_space_is_active(s, y, 0), 1);
    cr_assert_eq(fresh_space_is_active(s, y, 99), 0);
    cr_assert_eq(fresh_space_is_active(NULL, y, 0), 0);
    fresh_space_apply_conditions(NULL, y); /* no-op */
    fresh_space_apply_conditions(s, NULL);
    fresh_space_destroy(s);
}

/* a -> b -> c (nested), d with two OR groups, e with an AND group. The child
 * c is added before its parent b to exercise the dependency order. */
static fresh_space *make_nested(void)
{
    fresh_space *s = fresh_space_create();
    const char *ab[] = {"x", "y"};
    cr_assert_eq(fresh_space_add_float(s, "c", 0, 1, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_categorical(s, "a", 2, ab), FRESH_OK);
    cr_assert_eq(fresh_space_add_categorical(s, "b", 2, ab), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(s, "d", 0, 9, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(s, "e", 0, 9, 0), FRESH_OK);
    double one = 1, zero = 0, small[] = {0, 1, 2};
    cr_assert_eq(fresh_space_add_condition(s, "c", "b", 1, &one, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_condition(s, "b", "a", 1, &one, 0), FRESH_OK);
    /* d: a == x OR e in {0,1,2} */
    cr_assert_eq(fresh_space_add_condition(s, "d", "a", 1, &zero, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_condition(s, "d", "e", 3, small, 1), FRESH_OK);
    /* e: a == y AND b == y */
    cr_assert_eq(fresh_space_add_condition(s, "e", "a", 1, &one, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_condition(s, "e", "b", 1, &one, 0), FRESH_OK);
    return s;
}

Test(space, nested_or_and_conditions)
{
    fresh_space *s = make_nested();
    /* order: c a b d e */
    double x[5] = {0.5, 0, 1, 5, 1};
    fresh_space_apply_conditions(s, x);
    cr_assert(isnan(x[2]), "b inactive when a = x");
    cr_assert(isnan(x[0]), "c inactive because b is inactive (nesting)");
    cr_assert(isnan(x[4]), "e inactive (a != y)");
    cr_assert_eq(x[3], 5, "d active via a == x");

    double y[5] = {0.5, 1, 1, 5, 1};
    fresh_space_apply_conditions(s, y);
    cr_assert_eq(y[0], 0.5);
    cr_assert_eq(y[2], 1);
    cr_assert_eq(y[4], 1);
    cr_assert_eq(y[3], 5, "d active via e in {0,1,2}");

    double z[5] = {0.5, 1, 1, 5, 7};
    fresh_space_apply_conditions(s, z);
    cr_assert(isnan(z[3]), "neither group of d holds");

    double w[5] = {0.5, 1, 0, 5, 1};
    fresh_space_apply_conditions(s, w);
    cr_assert(isnan(w[0]));
    cr_assert(isnan(w[4]), "AND group fails on b");
    cr_assert(isnan(w[3]), "d's OR group on e fails because e is inactive");

    /* is_active checks the parents' activity even on an unapplied x */
    double v[5] = {0.5, 0, 1, 5, 1};
    cr_assert_eq(fresh_space_is_active(s, v, 0), 0);
    cr_assert_eq(fresh_space_is_active(s, v, 3), 1);
    fresh_space_destroy(s);
}

Test(space, cycles_and_condition_errors_leave_space_unchanged)
{
    fresh_space *s = make_nested();
    char *before, *after;
    cr_assert_eq(fresh_space_write_json(s, &before), FRESH_OK);
    double one = 1, bad = 5, half = 0.5;
    /* a <- c would close a -> b -> c -> a */
    ASSERT_ERR(fresh_space_add_condition(s, "a", "c", 1, &half, 0), FRESH_EINVAL,
               "parameter 'a': condition on 'c' would create a cycle");
    ASSERT_ERR(fresh_space_add_condition(s, "b", "c", 1, &half, 1), FRESH_EINVAL,
               "would create a cycle");
    ASSERT_ERR(fresh_space_add_condition(s, "a", "d", 1, &one, 0), FRESH_EINVAL,
               "parameter 'a': condition on 'd' would create a cycle");
    ASSERT_ERR(fresh_space_add_condition(s, "a", "a", 1, &one, 0), FRESH_EINVAL,
               "parameter 'a': cannot be conditioned on itself");
    ASSERT_ERR(fresh_space_add_condition(s, "zz", "a", 1, &one, 0), FRESH_ENOTFOUND,
               "parameter 'zz': no such parameter (condition child)");
    ASSERT_ERR(fresh_space_add_condition(s, "c", "zz", 1, &one, 0), FRESH_ENOTFOUND,
               "parameter 'c': condition parent 'zz' is not a parameter");
    ASSERT_ERR(fresh_space_add_condition(s, "c", "a", 1, &bad, 0), FRESH_EINVAL,
               "parameter 'c': condition on 'a': value 5 is not a level index (0..1)");
    ASSERT_ERR(fresh_space_add_condition(s, "c", "d", 1, &half, 0), FRESH_EINVAL,
               "condition on 'd': value 0.5 is not an integer");
    ASSERT_ERR(fresh_space_add_condition(s, "c", "a", 0, &one, 0), FRESH_EINVAL,
               "parameter 'c': condition on 'a' needs at least one value");
    ASSERT_ERR(fresh_space_add_condition(s, "c", "a", 1, NULL, 0), FRESH_EINVAL,
               "needs at least one value");
    ASSERT_ERR(fresh_space_add_condition(s, NULL, "a", 1, &one, 0), FRESH_EINVAL,
               "add_condition: child name is NULL");
    ASSERT_ERR(fresh_space_add_condition(s, "c", NULL, 1, &one, 0), FRESH_EINVAL,
               "add_condition: parent name is NULL");
    cr_assert_eq(fresh_space_add_condition(NULL, "c", "a", 1, &one, 0), FRESH_EINVAL);
    cr_assert_eq(fresh_space_write_json(s, &after), FRESH_OK);
    cr_assert_str_eq(before, after);
    free(before);
    free(after);
    /* a condition on a float parent value is allowed (exact match) */
    cr_assert_eq(fresh_space_add_condition(s, "d", "c", 1, &half, 0), FRESH_OK);
    double x[5] = {0.5, 1, 1, 5, 1};
    fresh_space_apply_conditions(s, x);
    cr_assert_eq(x[3], 5);
    double y[5] = {0.25, 1, 1, 5, 1};
    fresh_space_apply_conditions(s, y);
    cr_assert(isnan(y[3]));
    fresh_space_destroy(s);
}

Test(space, forbidden_clauses)
{
    fresh_space *s = make_space();
    double sgd = 1, big[] = {7, 8}, bad = 3.5;
    fresh_clause cl[] = {{"opt", 1, &sgd}, {"layers", 2, big}};
    cr_assert_eq(fresh_space_add_forbidden(s, 2, cl), FRESH_OK);
    double x[6] = {0.01, 1, 0.5, 8, 0, 0};
    cr_assert_eq(fresh_space_is_forbidden(s, x), 1);
    char msg[200];
    cr_assert_eq(fresh_space_check(s, x, msg, sizeof msg), FRESH_EINVAL);
    cr_assert_str_eq(msg, "configuration matches forbidden clause 0 (parameter 'opt')");
    x[3] = 6;
    cr_assert_eq(fresh_space_is_forbidden(s, x), 0);
    x[1] = 0;
    x[3] = 8;
    x[2] = NAN;
    cr_assert_eq(fresh_space_is_forbidden(s, x), 0);
    /* a clause on an inactive (NaN) parameter never holds */
    double m[] = {0.5};
    fresh_clause cm = {"momentum", 1, m};
    cr_assert_eq(fresh_space_add_forbidden(s, 1, &cm), FRESH_OK);
    cr_assert_eq(fresh_space_is_forbidden(s, x), 0);
    cr_assert_eq(fresh_space_is_forbidden(NULL, x), 0);
    cr_assert_eq(fresh_space_is_forbidden(s, NULL), 0);

    fresh_clause unknown = {"zz", 1, &sgd};
    ASSERT_ERR(fresh_space_add_forbidden(s, 1, &unknown), FRESH_ENOTFOUND,
               "parameter 'zz': no such parameter (forbidden clause)");
    fresh_clause badv = {"layers", 1, &bad};
    ASSERT_ERR(fresh_space_add_forbidden(s, 1, &badv), FRESH_EINVAL,
               "parameter 'layers': forbidden clause: value 3.5 is not an integer");
    fresh_clause empty = {"layers", 0, big};
    ASSERT_ERR(fresh_space_add_forbidden(s, 1, &empty), FRESH_EINVAL,
               "parameter 'layers': forbidden clause needs at least one value");
    fresh_clause noname = {NULL, 1, big};
    ASSERT_ERR(fresh_space_add_forbidden(s, 1, &noname), FRESH_EINVAL,
               "forbidden clause part 0: parameter name is NULL");
    ASSERT_ERR(fresh_space_add_forbidden(s, 0, cl), FRESH_EINVAL,
               "forbidden clause needs at least one part");
    ASSERT_ERR(fresh_space_add_forbidden(s, 1, NULL), FRESH_EINVAL, "at least one part");
    cr_assert_eq(fresh_space_add_forbidden(NULL, 1, cl), FRESH_EINVAL);
    fresh_space_destroy(s);
}

Test(space, check_messages)
{
    fresh_space *s = make_space();
    char msg[200];
    double ok[6] = {0.01, 1, 0.5, 3, 2, 1};
    cr_assert_eq(fresh_space_check(s, ok, msg, sizeof msg), FRESH_OK);
    cr_assert_str_eq(msg, "");
    double x[6];
    memcpy(x, ok, sizeof x);
    x[0] = 2;
    cr_assert_eq(fresh_space_check(s, x, msg, sizeof msg), FRESH_EINVAL);
    cr_assert_str_eq(msg, "parameter 'lr': value 2 outside [0.0001, 1]");
    memcpy(x, ok, sizeof x);
    x[3] = 2.5;
    cr_assert_eq(fresh_space_check(s, x, msg, sizeof msg), FRESH_EINVAL);
    cr_assert_str_eq(msg, "parameter 'layers': value 2.5 is not an integer");
    memcpy(x, ok, sizeof x);
    x[4] = 3;
    cr_assert_eq(fresh_space_check(s, x, msg, sizeof msg), FRESH_EINVAL);
    cr_assert_str_eq(msg, "parameter 'width': value 3 is not a level index (0..2)");
    memcpy(x, ok, sizeof x);
    x[1] = 0;
    cr_assert_eq(fresh_space_check(s, x, msg, sizeof msg), FRESH_EINVAL);
    cr_assert_str_eq(msg, "parameter 'momentum': inactive but has value 0.5");
    memcpy(x, ok, sizeof x);
    x[2] = NAN;
    cr_assert_eq(fresh_space_check(s, x, msg, sizeof msg), FRESH_EINVAL);
    cr_assert_str_eq(msg, "parameter 'momentum': active but NaN");
    cr_assert_eq(fresh_space_check(s, x, NULL, 0), FRESH_EINVAL);
    cr_assert_eq(fresh_space_check(NULL, x, msg, sizeof msg), FRESH_EINVAL);
    cr_assert_str_eq(msg, "check: space is NULL");
    cr_assert_eq(fresh_space_check(s, NULL, msg, sizeof msg), FRESH_EINVAL);
    cr_assert_str_eq(msg, "check: configuration is NULL");
    /* check does not touch the errmsg */
    cr_assert_str_eq(fresh_space_errmsg(s), "");
    fresh_space_destroy(s);
}

Test(space, sample_log_scale_and_float_ranges)
{
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_add_float(s, "lg", 1e-4, 1, 1), FRESH_OK);
    cr_assert_eq(fresh_space_add_float(s, "lin", -2, 2, 0), FRESH_OK);
    gsl_rng *r = fresh_rng_stream_create(42, 0, FRESH_RNG_SAMPLE);
    int n = 20000, below = 0, below_lin = 0, decade[4] = {0};
    double x[2];
    for (int k = 0; k < n; k++) {
        cr_assert_eq(fresh_space_sample(s, r, x), FRESH_OK);
        cr_assert(x[0] >= 1e-4 && x[0] <= 1);
        cr_assert(x[1] >= -2 && x[1] <= 2);
        below += x[0] < 1e-2;
        below_lin += x[1] < 0;
        int d = (int)floor(-log10(x[0]));
        if (d >= 0 && d < 4)
            decade[d]++;
    }
    /* log-uniform: half below the geometric mean, a quarter per decade */
    cr_assert(fabs(below / (double)n - 0.5) < 0.02, "below %d", below);
    cr_assert(fabs(below_lin / (double)n - 0.5) < 0.02);
    for (int d = 0; d < 4; d++)
        cr_assert(fabs(decade[d] / (double)n - 0.25) < 0.02, "decade %d: %d", d, decade[d]);
    gsl_rng_free(r);
    fresh_space_destroy(s);
}

Test(space, sample_int_grid_and_log_grid)
{
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_add_int(s, "i", 1, 4, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(s, "j", 1, 100, 1), FRESH_OK);
    cr_assert_eq(fresh_space_add_categorical(s, "c", 3, OPTS), FRESH_OK);
    cr_assert_eq(fresh_space_add_ordinal(s, "o", 3, WIDTHS), FRESH_OK);
    gsl_rng *r = fresh_rng_stream_create(7, 1, FRESH_RNG_SAMPLE);
    int n = 20000, ci[5] = {0}, cc[3] = {0}, co[3] = {0}, small_j = 0;
    double x[4];
    for (int k = 0; k < n; k++) {
        cr_assert_eq(fresh_space_sample(s, r, x), FRESH_OK);
        cr_assert_eq(x[0], floor(x[0]));
        cr_assert_eq(x[1], floor(x[1]));
        cr_assert(x[0] >= 1 && x[0] <= 4);
        cr_assert(x[1] >= 1 && x[1] <= 100);
        ci[(int)x[0]]++;
        cc[(int)x[2]]++;
        co[(int)x[3]]++;
        small_j += x[1] <= 10;
    }
    for (int v = 1; v <= 4; v++)
        cr_assert(fabs(ci[v] / (double)n - 0.25) < 0.02, "int %d: %d", v, ci[v]);
    for (int v = 0; v < 3; v++) {
        cr_assert(fabs(cc[v] / (double)n - 1.0 / 3) < 0.02);
        cr_assert(fabs(co[v] / (double)n - 1.0 / 3) < 0.02);
    }
    /* log grid: P(j <= 10) = log(10.5/0.5) / log(100.5/0.5) = 0.574 */
    double expect = log(21.0) / log(201.0);
    cr_assert(fabs(small_j / (double)n - expect) < 0.02, "small_j %d", small_j);
    gsl_rng_free(r);
    fresh_space_destroy(s);
}

Test(space, sample_respects_conditions_forbidden_and_is_reproducible)
{
    fresh_space *s = make_nested();
    double one = 1;
    fresh_clause cl = {"a", 1, &one};
    double nine[] = {8, 9};
    fresh_clause cl2 = {"d", 2, nine};
    fresh_clause both[] = {cl, cl2};
    cr_assert_eq(fresh_space_add_forbidden(s, 2, both), FRESH_OK);
    gsl_rng *r1 = fresh_rng_stream_create(3, 2, FRESH_RNG_SAMPLE);
    gsl_rng *r2 = fresh_rng_stream_create(3, 2, FRESH_RNG_SAMPLE);
    int active_c = 0;
    for (int k = 0; k < 5000; k++) {
        double x[5], y[5];
        cr_assert_eq(fresh_space_sample(s, r1, x), FRESH_OK);
        cr_assert_eq(fresh_space_sample(s, r2, y), FRESH_OK);
        cr_assert(fresh_space_equal(s, x, y));
        char msg[200];
        cr_assert_eq(fresh_space_check(s, x, msg, sizeof msg), FRESH_OK, "%s", msg);
        cr_assert_eq(isnan(x[2]), x[1] != 1);
        cr_assert_eq(isnan(x[0]), !(x[1] == 1 && x[2] == 1));
        cr_assert(!(x[1] == 1 && x[3] >= 8), "forbidden sampled");
        active_c += !isnan(x[0]);
    }
    cr_assert(fabs(active_c / 5000.0 - 0.25) < 0.03, "c active %d", active_c);
    /* everything forbidden -> ENOSAMPLE */
    double zero = 0;
    fresh_clause ca0 = {"a", 1, &zero};
    cr_assert_eq(fresh_space_add_forbidden(s, 1, &ca0), FRESH_OK);
    double ones[] = {0, 1};
    fresh_clause all = {"a", 2, ones};
    cr_assert_eq(fresh_space_add_forbidden(s, 1, &all), FRESH_OK);
    double x[5];
    cr_assert_eq(fresh_space_sample(s, r1, x), FRESH_ENOSAMPLE);
    cr_assert_eq(fresh_space_sample(NULL, r1, x), FRESH_EINVAL);
    cr_assert_eq(fresh_space_sample(s, NULL, x), FRESH_EINVAL);
    cr_assert_eq(fresh_space_sample(s, r1, NULL), FRESH_EINVAL);
    fresh_space *e = fresh_space_create();
    cr_assert_eq(fresh_space_sample(e, r1, x), FRESH_ENOSAMPLE);
    fresh_space_destroy(e);
    gsl_rng_free(r1);
    gsl_rng_free(r2);
    fresh_space_destroy(s);
}

Test(space, encode_decode_round_trips)
{
    fresh_space *s = fresh_space_create();
    cr_assert_eq(fresh_space_add_float(s, "f", -3, 5, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_float(s, "g", 1e-5, 10, 1), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(s, "i", -7, 12, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(s, "j", 1, 1000, 1), FRESH_OK);
    cr_assert_eq(fresh_space_add_categorical(s, "c", 3, OPTS), FRESH_OK);
    cr_assert_eq(fresh_space_add_ordinal(s, "o", 3, WIDTHS), FRESH_OK);
    double x[6], u[6], y[6];
    /* every int on both scales, every level */
    for (int v = -7; v <= 12; v++) {
        double xi[6] = {0, 1, v, 1 + (v + 7) * 52, (v + 7) % 3, (v + 8) % 3};
        fresh_space_encode(s, xi, u);
        for (int k = 2; k < 6; k++)
            cr_assert(u[k] >= 0 && u[k] <= (k < 4 ? 1 : 2));
        fresh_space_decode(s, u, y);
        for (int k = 2; k < 6; k++)
            cr_assert_eq(y[k], xi[k], "param %d: %g -> %g", k, xi[k], y[k]);
    }
    for (int v = 1; v <= 1000; v++) {
        double xi[6] = {0, 1, 0, v, 0, 0};
        fresh_space_encode(s, xi, u);
        fresh_space_decode(s, u, y);
        cr_assert_eq(y[3], v);
    }
    gsl_rng *r = fresh_rng_stream_create(11, 0, FRESH_RNG_SAMPLE);
    for (int k = 0; k < 2000; k++) {
        fresh_space_sample(s, r, x);
        fresh_space_encode(s, x, u);
        fresh_space_decode(s, u, y);
        cr_assert(fabs(y[0] - x[0]) <= 8 * 5 * 2.3e-16, "%.17g vs %.17g", y[0], x[0]);
        cr_assert(fabs(y[1] - x[1]) <= 8 * fabs(x[1]) * 2.3e-16 * 30);
        for (int i = 2; i < 6; i++)
            cr_assert_eq(y[i], x[i]);
    }
    gsl_rng_free(r);
    /* bounds map to 0 and 1; decoding clamps */
    double lo[6] = {-3, 1e-5, -7, 1, 0, 0};
    fresh_space_encode(s, lo, u);
    cr_assert_eq(u[0], 0);
    cr_assert_eq(u[1], 0);
    cr_assert_float_eq(u[2], 0.5 / 20, 1e-15);
    double far[6] = {-0.5, 1.5, -1, 2, -3, 9};
    fresh_space_decode(s, far, y);
    cr_assert_eq(y[0], -3);
    cr_assert_eq(y[1], 10);
    cr_assert_eq(y[2], -7);
    cr_assert_eq(y[3], 1000);
    cr_assert_eq(y[4], 0);
    cr_assert_eq(y[5], 2);
    double one[6] = {1, 0, 0.999999, 0, 1.4, 1.6};
    fresh_space_decode(s, one, y);
    cr_assert_eq(y[0], 5);
    cr_assert_eq(y[1], 1e-5);
    cr_assert_eq(y[2], 12);
    cr_assert_eq(y[4], 1);
    cr_assert_eq(y[5], 2);
    fresh_space_encode(NULL, lo, u);
    fresh_space_decode(NULL, u, y);
    fresh_space_destroy(s);
}

Test(space, decode_applies_conditions_and_fills_defaults)
{
    fresh_space *s = make_space();
    cr_assert_eq(fresh_space_set_default(s, "momentum", 0.9), FRESH_OK);
    double x[6] = {0.01, 0, 0.5, 3, 1, 2}, u[6], y[6];
    fresh_space_apply_conditions(s, x);
    fresh_space_encode(s, x, u);
    cr_assert(isnan(u[2]));
    u[1] = 1; /* the model switches to sgd: momentum becomes active */
    fresh_space_decode(s, u, y);
    cr_assert_eq(y[2], 0.9);
    u[1] = 0;
    u[2] = 0.5;
    fresh_space_decode(s, u, y);
    cr_assert(isnan(y[2]));
    fresh_space_destroy(s);
}

Test(space, hash_and_equal)
{
    fresh_space *s = make_space();
    double a[6] = {0.01, 0, NAN, 3, 1, 2};
    double b[6] = {0.01, 0, NAN, 3, 1, 2};
    double c[6] = {0.01, 1, 0.5, 3, 1, 2};
    cr_assert(fresh_space_equal(s, a, b));
    cr_assert_eq(fresh_space_hash(s, a), fresh_space_hash(s, b));
    cr_assert_not(fresh_space_equal(s, a, c));
    cr_assert_neq(fresh_space_hash(s, a), fresh_space_hash(s, c));
    b[3] = 4;
    cr_assert_not(fresh_space_equal(s, a, b));
    cr_assert_neq(fresh_space_hash(s, a), fresh_space_hash(s, b));
    double z1[6] = {0.0, 0, NAN, 3, 1, 2}, z2[6] = {-0.0, 0, NAN, 3, 1, 2};
    cr_assert(fresh_space_equal(s, z1, z2));
    cr_assert_eq(fresh_space_hash(s, z1), fresh_space_hash(s, z2));
    double n1[6] = {0.01, 0, 0, 3, 1, 2};
    cr_assert_not(fresh_space_equal(s, a, n1), "NaN vs value");
    cr_assert_not(fresh_space_equal(s, n1, a));
    cr_assert_eq(fresh_space_hash(NULL, a), 0);
    cr_assert_eq(fresh_space_equal(NULL, a, a), 0);
    cr_assert_eq(fresh_space_equal(s, NULL, a), 0);
    fresh_space_destroy(s);
}

Test(space, format)
{
    fresh_space *s = make_space();
    double x[6] = {0.01, 1, 0.9, 3, 1, 2};
    char buf[200];
    int n = fresh_space_format(s, x, buf, sizeof buf);
    const char *want = "lr=0.01, opt=sgd, momentum=0.9, layers=3, width=32, size=large";
    cr_assert_str_eq(buf, want);
    cr_assert_eq(n, (int)strlen(want));
    x[1] = 0;
    x[2] = NAN;
    fresh_space_format(s, x, buf, sizeof buf);
    cr_assert_str_eq(buf, "lr=0.01, opt=adam, layers=3, width=32, size=large");
    char small[10];
    n = fresh_space_format(s, x, small, sizeof small);
    cr_assert_str_eq(small, "lr=0.01, ");
    cr_assert_eq(n, (int)strlen("lr=0.01, opt=adam, layers=3, width=32, size=large"));
    cr_assert_eq(fresh_space_format(s, x, NULL, 0), n);
    x[5] = 7;
    fresh_space_format(s, x, buf, sizeof buf);
    cr_assert_str_eq(buf, "lr=0.01, opt=adam, layers=3, width=32, size=?");
    cr_assert_eq(fresh_space_format(NULL, x, buf, sizeof buf), FRESH_EINVAL);
    cr_assert_str_eq(buf, "");
    cr_assert_eq(fresh_space_format(s, NULL, buf, sizeof buf), FRESH_EINVAL);
    fresh_space_destroy(s);
}

Test(space, config_to_json)
{
    fresh_space *s = make_space();
    double x[6] = {0.01, 1, 0.9, 3, 1, 2};
    char *out;
    cr_assert_eq(fresh_space_config_to_json(s, x, &out), FRESH_OK);
    cr_assert_str_eq(out, "{\"lr\": 0.01, \"opt\": \"sgd\", \"momentum\": 0.9, \"layers\": 3, "
                          "\"width\": 32, \"size\": \"large\"}");
    free(out);
    x[1] = 0;
    x[2] = NAN;
    cr_assert_eq(fresh_space_config_to_json(s, x, &out), FRESH_OK);
    cr_assert_str_eq(out, "{\"lr\": 0.01, \"opt\": \"adam\", \"layers\": 3, \"width\": 32, "
                          "\"size\": \"large\"}");
    free(out);
    x[4] = 5;
    cr_assert_eq(fresh_space_config_to_json(s, x, &out), FRESH_EINVAL);
    cr_assert_null(out);
    cr_assert_eq(fresh_space_config_to_json(NULL, x, &out), FRESH_EINVAL);
    cr_assert_eq(fresh_space_config_to_json(s, x, NULL), FRESH_EINVAL);
    fresh_space *e = fresh_space_create();
    cr_assert_eq(fresh_space_config_to_json(e, x, &out), FRESH_OK);
    cr_assert_str_eq(out, "{}");
    free(out);
    fresh_space_destroy(e);
    fresh_space_destroy(s);
}

Test(space, write_json_canonical)
{
    fresh_space *s = make_space();
    cr_assert_eq(fresh_space_set_default(s, "opt", 1), FRESH_OK);
    cr_assert_eq(fresh_space_set_default(s, "layers", 2), FRESH_OK);
    double two = 2, l[] = {7, 8}, sgd = 1;
    cr_assert_eq(fresh_space_add_condition(s, "size", "width", 1, &two, 1), FRESH_OK);
    cr_assert_eq(fresh_space_add_condition(s, "size", "layers", 2, l, 0), FRESH_OK);
    cr_assert_eq(fresh_space_add_condition(s, "size", "opt", 1, &sgd, 1), FRESH_OK);
    fresh_clause cl[] = {{"opt", 1, &sgd}, {"layers", 2, l}};
    cr_assert_eq(fresh_space_add_forbidden(s, 2, cl), FRESH_OK);
    char *out;
    cr_assert_eq(fresh_space_write_json(s, &out), FRESH_OK);
    const char *want =
        "{\n"
        "  \"parameters\": [\n"
        "    {\"name\": \"lr\", \"type\": \"float\", \"low\": 0.0001, \"high\": 1, \"log\": true},\n"
        "    {\"name\": \"opt\", \"type\": \"categorical\", \"choices\": [\"adam\", \"sgd\", "
        "\"rmsprop\"], \"default\": \"sgd\"},\n"
        "    {\"name\": \"momentum\", \"type\": \"float\", \"low\": 0, \"high\": 0.99, "
        "\"condition\": {\"parent\": \"opt\", \"in\": [\"sgd\", \"rmsprop\"]}},\n"
        "    {\"name\": \"layers\", \"type\": \"int\", \"low\": 1, \"high\": 8, \"default\": 2},\n"
        "    {\"name\": \"width\", \"type\": \"ordinal\", \"levels\": [16, 32, 64]},\n"
        "    {\"name\": \"size\", \"type\": \"ordinal\", \"levels\": [\"small\", \"medium\", "
        "\"large\"], \"condition\": {\"any\": [{\"all\": [{\"parent\": \"width\", \"in\": [64]}, "
        "{\"parent\": \"layers\", \"in\": [7, 8]}]}, {\"parent\": \"opt\", \"in\": [\"sgd\"]}]}}\n"
        "  ],\n"
        "  \"forbidden\": [\n"
        "    [{\"name\": \"opt\", \"in\": [\"sgd\"]}, {\"name\": \"layers\", \"in\": [7, 8]}]\n"
        "  ]\n"
        "}\n";
    cr_assert_str_eq(out, want);
    free(out);
    fresh_space *e = fresh_space_create();
    cr_assert_eq(fresh_space_write_json(e, &out), FRESH_OK);
    cr_assert_str_eq(out, "{\n  \"parameters\": []\n}\n");
    free(out);
    cr_assert_eq(fresh_space_write_json(NULL, &out), FRESH_EINVAL);
    cr_assert_eq(fresh_space_write_json(e, NULL), FRESH_EINVAL);
    fresh_space_destroy(e);
    /* names with quotes are escaped */
    fresh_space *q = fresh_space_create();
    cr_assert_eq(fresh_space_add_float(q, "a\"b\\c", 0, 1, 0), FRESH_OK);
    cr_assert_eq(fresh_space_write_json(q, &out), FRESH_OK);
    cr_assert(strstr(out, "\"name\": \"a\\\"b\\\\c\"") != NULL, "%s", out);
    free(out);
    fresh_space_destroy(q);
    fresh_space_destroy(s);
}

/* Builds a space with every feature, stopping at the first failure; sets
 * in_writer while the const writers run (they leave the errmsg alone). */
static int in_writer;

static int build_all(fresh_space *s)
{
    int rc;
    in_writer = 0;
    double lv[] = {1, 2, 4}, one = 1, two[] = {1, 2};
    if ((rc = fresh_space_add_float(s, "lr", 1e-4, 1, 1)) < 0)
        return rc;
    if ((rc = fresh_space_add_categorical(s, "opt", 3, OPTS)) < 0)
        return rc;
    if ((rc = fresh_space_add_ordinal(s, "w", 3, lv)) < 0)
        return rc;
    if ((rc = fresh_space_add_ordinal_labels(s, "sz", 3, SIZES)) < 0)
        return rc;
    for (int k = 0; k < 12; k++) {
        char name[16];
        snprintf(name, sizeof name, "i%d", k);
        if ((rc = fresh_space_add_int(s, name, 1, 9, k & 1)) < 0)
            return rc;
    }
    if ((rc = fresh_space_add_condition(s, "sz", "opt", 2, two, 0)) < 0)
        return rc;
    if ((rc = fresh_space_add_condition(s, "sz", "w", 1, &one, 0)) < 0)
        return rc;
    if ((rc = fresh_space_add_condition(s, "sz", "i0", 1, &one, 1)) < 0)
        return rc;
    fresh_clause cl[] = {{"opt", 1, &one}, {"w", 2, two}};
    if ((rc = fresh_space_add_forbidden(s, 2, cl)) < 0)
        return rc;
    if ((rc = fresh_space_add_forbidden(s, 1, cl)) < 0)
        return rc;
    char *out = NULL;
    in_writer = 1;
    if ((rc = fresh_space_write_json(s, &out)) < 0)
        return rc;
    free(out);
    double x[16];
    x[0] = 0.5;
    for (int k = 1; k < 16; k++)
        x[k] = 1;
    if ((rc = fresh_space_config_to_json(s, x, &out)) < 0)
        return rc;
    free(out);
    return FRESH_OK;
}

Test(space, allocation_failures_return_enomem_and_change_nothing)
{
    int succeeded = 0;
    for (long k = 0; k < 400 && !succeeded; k++) {
        fresh_space *s = fresh_space_create();
        cr_assert_not_null(s);
        fresh__alloc_fail_after(k);
        int rc = build_all(s);
        fresh__alloc_fail_after(-1);
        if (rc == FRESH_OK) {
            succeeded = 1;
        } else {
            cr_assert_eq(rc, FRESH_ENOMEM, "countdown %ld: %d (%s)", k, rc,
                         fresh_space_errmsg(s));
            if (!in_writer)
                cr_assert(strstr(fresh_space_errmsg(s), "out of memory") != NULL, "%s",
                          fresh_space_errmsg(s));
        }
        /* whatever failed, the space still works: build a fresh copy's worth */
        size_t d = fresh_space_dim(s);
        cr_assert_eq(fresh_space_add_float(s, "zz_after", 0, 1, 0), FRESH_OK);
        cr_assert_eq(fresh_space_dim(s), d + 1);
        fresh_space_destroy(s);
    }
    cr_assert(succeeded, "build never succeeded");
    fresh__alloc_fail_after(0);
    cr_assert_null(fresh_space_create());
    fresh__alloc_fail_after(-1);
}
