/*
 * fresh/space.h - the search space: typed parameters, conditions, forbidden
 * clauses, sampling, encoding for models, and the JSON space file formats.
 *
 * A configuration is an array of `fresh_space_dim(space)` doubles in
 * *value space*, one per parameter in the order they were added:
 *   float        the value itself
 *   int          the integer value, stored exactly as a double
 *   categorical  the index of the choice (0 .. n_choices-1)
 *   ordinal      the index of the level (0 .. n_levels-1)
 *   inactive     NaN (a conditional parameter whose condition does not hold)
 *
 * Models work in the *unit encoding* (fresh_space_encode): float and int in
 * [0, 1] (after log where asked), categorical and ordinal as their index,
 * inactive as NaN. A float maps low -> 0 and high -> 1. Each integer k owns
 * the interval [k - 1/2, k + 1/2): u = (k - (low - 1/2)) / (high - low + 1),
 * or the same on logs, so decoding a uniform u gives a uniform integer (the
 * ConfigSpace / HpBandSter convention).
 *
 * Conditions: a child parameter is active only when its condition holds. A
 * condition is a disjunction (OR) of groups; each group is a conjunction (AND)
 * of clauses "parent IN {values}", "parent != value", "parent < value" or
 * "parent > value" (ConfigSpace's EQ/IN, NEQ, LT, GT). A clause on an
 * inactive parent never holds. A parameter with no condition is always
 * active; a parameter whose parent is inactive is inactive too (conditions
 * nest). Cycles and unknown parents are errors.
 *
 * Forbidden clauses: a conjunction of clauses that may not all hold at once;
 * sampling rejects such configurations. A clause is "param IN {values}" or a
 * relation between two parameters, "a == b", "a != b", "a < b", "a > b"
 * (ConfigSpace's ForbiddenEqualsRelation, ForbiddenLessThanRelation,
 * ForbiddenGreaterThanRelation); a clause on an inactive parameter never
 * holds.
 *
 * Order: "<" and ">" compare a float or int by value and an ordinal by level
 * order (its value-space index); a categorical parameter has no order.
 * Relations compare natural values: numbers for float, int and numeric
 * ordinals (either side may be any of these), labels for categoricals and
 * string ordinals (== and != only).
 *
 * Errors: every function that can fail returns a fresh_status (negative on
 * error) and leaves the space unchanged; fresh_space_errmsg() then names the
 * offending parameter and value.
 *
 * Thread safety: a space is built on one thread. Once built, the const
 * functions (sample, encode, decode, hash, format, ...) may be called from
 * several threads at once on the same space: they never write the errmsg
 * (they report through their return value, and check through its msg).
 */
#ifndef FRESH_SPACE_H
#define FRESH_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "fresh/export.h"
#include "fresh/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fresh_space fresh_space;

typedef enum fresh_param_type {
    FRESH_PARAM_FLOAT = 0,
    FRESH_PARAM_INT = 1,
    FRESH_PARAM_CATEGORICAL = 2,
    FRESH_PARAM_ORDINAL = 3
} fresh_param_type;

/* A read-only view of one parameter; pointers stay valid until the space is
 * changed or destroyed. */
typedef struct fresh_param_info {
    const char *name;
    fresh_param_type type;
    int log_scale;               /* float/int: sampled and encoded on log scale */
    double low, high;            /* float/int bounds (inclusive); for categorical
                                    and ordinal: 0 and n_levels-1 */
    size_t n_levels;             /* categorical/ordinal: number of levels, else 0 */
    const char *const *labels;   /* categorical/ordinal: level labels (numeric
                                    ordinal levels printed with the shortest of
                                    %.15g/%.16g/%.17g that reads back exactly),
                                    else NULL */
    const double *ordinal_values;/* numeric ordinal: the values; else NULL */
    int has_default;
    double default_value;        /* in value space */
    int has_condition;           /* 1 if the parameter is conditional */
} fresh_param_info;

/* How a clause compares (see the top of this file). */
typedef enum fresh_cmp {
    FRESH_CMP_IN = 0, /* one of a set of values (the zero default) */
    FRESH_CMP_EQ = 1, /* == */
    FRESH_CMP_NE = 2, /* != */
    FRESH_CMP_LT = 3, /* <  */
    FRESH_CMP_GT = 4  /* >  */
} fresh_cmp;

/* A clause "name IN {values}" (values in value space: index for categorical
 * and ordinal parameters). */
typedef struct fresh_clause {
    const char *name;
    size_t n_values;
    const double *values;
} fresh_clause;

/* A relation "left cmp right" between two parameters (cmp EQ, NE, LT, GT). */
typedef struct fresh_relation {
    const char *left;
    fresh_cmp cmp;
    const char *right;
} fresh_relation;

/* ---- construction ---- */

/* A new, empty space. The caller owns it. NULL when out of memory.
 * Thread safety: any thread. */
FRESH_API fresh_space *fresh_space_create(void);

/* Frees the space; NULL is a no-op. Thread safety: owner thread. */
FRESH_API void fresh_space_destroy(fresh_space *space);

/* The message of the last failed call on this space ("" if none). Valid until
 * the next call on the space. Thread safety: owner thread. */
FRESH_API const char *fresh_space_errmsg(const fresh_space *space);

/* Adds a float in [low, high], low < high, finite, with a finite width
 * high - low (-1e308..1e308 is refused: every sample would be a bound);
 * log_scale needs low > 0. The name is copied; names are unique, non-empty, at most 255 bytes.
 * Returns FRESH_OK, FRESH_EINVAL (bad name/bounds, duplicate) or FRESH_ENOMEM.
 * Thread safety: owner thread. */
FRESH_API int fresh_space_add_float(fresh_space *space, const char *name,
                                    double low, double high, int log_scale);

/* Adds an integer in [low, high] (inclusive), low < high, both within
 * +-2^40 (so that encode/decode round trips stay exact); log_scale needs
 * low >= 1. Returns as fresh_space_add_float. Thread safety: owner thread. */
FRESH_API int fresh_space_add_int(fresh_space *space, const char *name,
                                  long low, long high, int log_scale);

/* Adds a categorical with n >= 1 distinct, non-empty string choices (copied);
 * O(n log n): 100,000 choices take a fraction of a second. Returns as
 * fresh_space_add_float (FRESH_ENOMEM also from the duplicate check). Thread safety: owner thread. */
FRESH_API int fresh_space_add_categorical(fresh_space *space, const char *name,
                                          size_t n, const char *const *choices);

/* Adds an ordinal with n >= 1 numeric levels, strictly increasing (copied).
 * Thread safety: owner thread. */
FRESH_API int fresh_space_add_ordinal(fresh_space *space, const char *name,
                                      size_t n, const double *values);

/* Adds an ordinal with n >= 1 distinct string levels, in order (copied).
 * Thread safety: owner thread. */
FRESH_API int fresh_space_add_ordinal_labels(fresh_space *space, const char *name,
                                             size_t n, const char *const *labels);

/* Sets the default of a parameter, in value space (index for categorical and
 * ordinal). Must lie in the parameter's range (and on the grid for int).
 * Returns FRESH_OK, FRESH_ENOTFOUND or FRESH_EINVAL. Thread safety: owner. */
FRESH_API int fresh_space_set_default(fresh_space *space, const char *name, double value);

/* Adds the clause "parent IN {values}" to the condition of `child`.
 * new_group = 0 ANDs it to the child's current group (the first clause opens
 * the first group); new_group = 1 starts a new group ORed with the previous
 * ones. Values are in the parent's value space and must be valid for it.
 * Errors: FRESH_ENOTFOUND (child or parent unknown), FRESH_EINVAL (child ==
 * parent, invalid value, or a cycle: the space is left unchanged).
 * Thread safety: owner thread. */
FRESH_API int fresh_space_add_condition(fresh_space *space, const char *child,
                                        const char *parent, size_t n_values,
                                        const double *values, int new_group);

/* Adds the clause "parent cmp value" to the condition of `child`, grouped
 * as by fresh_space_add_condition: cmp FRESH_CMP_NE, FRESH_CMP_LT or
 * FRESH_CMP_GT (FRESH_CMP_EQ is the same as IN with one value). `value` is
 * in the parent's value space and must be valid for it (a level index for
 * an ordinal). LT and GT need an ordered parent (float, int, ordinal).
 * Errors: as fresh_space_add_condition, plus FRESH_EINVAL for another cmp
 * or LT/GT on a categorical parent. Thread safety: owner thread. */
FRESH_API int fresh_space_add_condition_cmp(fresh_space *space, const char *child,
                                            const char *parent, fresh_cmp cmp, double value,
                                            int new_group);

/* Adds a forbidden combination: the conjunction of n clauses (each copied).
 * Errors: FRESH_ENOTFOUND, FRESH_EINVAL. Thread safety: owner thread. */
FRESH_API int fresh_space_add_forbidden(fresh_space *space, size_t n,
                                        const fresh_clause *clauses);

/* Adds a forbidden combination that may hold relations: the conjunction of
 * n clauses and n_rel relations (at least one in all; each copied). Errors:
 * FRESH_ENOTFOUND (an unknown name), FRESH_EINVAL (nothing to forbid, a
 * clause without values or with an invalid value, a relation with a cmp
 * other than EQ/NE/LT/GT or between a parameter and itself, < or > between
 * labelled parameters, a number related to a label). Thread safety: owner
 * thread. */
FRESH_API int fresh_space_add_forbidden_relations(fresh_space *space, size_t n,
                                                  const fresh_clause *clauses, size_t n_rel,
                                                  const fresh_relation *relations);

/* ---- queries ---- */

/* Number of parameters. Thread safety: any thread (built space). */
FRESH_API size_t fresh_space_dim(const fresh_space *space);

/* Index of the parameter `name`, or FRESH_ENOTFOUND (negative).
 * Thread safety: any thread (built space). */
FRESH_API int fresh_space_index(const fresh_space *space, const char *name);

/* Fills *info for parameter i. FRESH_EINVAL if i is out of range.
 * Thread safety: any thread (built space). */
FRESH_API int fresh_space_param(const fresh_space *space, size_t i, fresh_param_info *info);

/* Index of a categorical choice or ordinal label by string, or
 * FRESH_ENOTFOUND. Thread safety: any thread (built space). */
FRESH_API int fresh_space_level_index(const fresh_space *space, size_t i, const char *label);

/* ---- configurations ---- */

/* Sets x[i] = NaN for every parameter whose condition does not hold, in
 * dependency order. Thread safety: any thread (built space). */
FRESH_API void fresh_space_apply_conditions(const fresh_space *space, double *x);

/* 1 if parameter i is active in x (its condition holds), else 0.
 * Thread safety: any thread (built space). */
FRESH_API int fresh_space_is_active(const fresh_space *space, const double *x, size_t i);

/* 1 if x matches a forbidden clause, else 0. Thread safety: any thread. */
FRESH_API int fresh_space_is_forbidden(const fresh_space *space, const double *x);

/* FRESH_OK if x is a valid configuration (each active value in range and on
 * its grid, each inactive one NaN, not forbidden); FRESH_EINVAL otherwise.
 * Const: does not set the errmsg; writes a message into msg (len bytes) when
 * msg is not NULL. Thread safety: any thread (built space). */
FRESH_API int fresh_space_check(const fresh_space *space, const double *x, char *msg, size_t len);

/* Draws a configuration uniformly (log-uniform where asked; ints uniform on
 * their grid or log grid), applies conditions and rejects forbidden ones
 * (at most 10000 tries, then FRESH_ENOSAMPLE). Writes dim values to x.
 * Thread safety: any thread (built space), one rng per thread. */
FRESH_API int fresh_space_sample(const fresh_space *space, gsl_rng *rng, double *x);

/* Writes the default configuration (defaults where given, else the middle
 * of the range: geometric for log, rounded for int, level 0 for categorical,
 * middle level for ordinal), conditions applied. FRESH_ENOSAMPLE if it is
 * forbidden. Thread safety: any thread (built space). */
FRESH_API int fresh_space_default_config(const fresh_space *space, double *x);

/* Value space -> unit encoding (see top). Thread safety: any thread. */
FRESH_API void fresh_space_encode(const fresh_space *space, const double *x, double *u);

/* Unit encoding -> value space: clamps to the range, rounds int to the grid
 * and categorical/ordinal to the nearest index, then applies conditions in
 * dependency order; a parameter that turns out active but whose u is NaN
 * gets its default (see fresh_space_default_config), so a model may leave
 * inactive dimensions NaN. decode(encode(x)) == x exactly for int,
 * categorical and ordinal, and for float to within a few ulp of
 * max(|low|, |high|) (u = 0 and u = 1 give low and high exactly).
 * Thread safety: any thread (built space). */
FRESH_API void fresh_space_decode(const fresh_space *space, const double *u, double *x);

/* A 64-bit hash of x; equal configurations (NaN == NaN for inactive) hash
 * equal. Thread safety: any thread. */
FRESH_API uint64_t fresh_space_hash(const fresh_space *space, const double *x);

/* 1 if a and b are the same configuration (bitwise equal values, inactive in
 * the same places), else 0. Thread safety: any thread. */
FRESH_API int fresh_space_equal(const fresh_space *space, const double *a, const double *b);

/* Writes "name=value, name=value" (inactive parameters omitted, categorical
 * and ordinal as label, an invalid level as "?") into buf (len bytes, always
 * NUL-terminated; buf may be NULL when len is 0). Returns the length the full
 * text needs (as snprintf), or FRESH_EINVAL for a NULL space or x. Thread safety: any thread. */
FRESH_API int fresh_space_format(const fresh_space *space, const double *x, char *buf, size_t len);

/* ---- space files (JSON, see docs/space-format.md) ---- */

/* Reads a space in fresh's JSON format from a file / a string into an
 * *empty* space (FRESH_ESTATE otherwise, the space unchanged). On error the
 * space is left empty and the errmsg reads
 * "FILE:LINE:COLUMN: parameter 'x': what is wrong" (docs/space-format.md):
 *   FRESH_EIO     the file cannot be read
 *   FRESH_EPARSE  a syntax error, a value of the wrong JSON type, a missing
 *                 or unknown key
 *   FRESH_EINVAL  a bad value: bounds, duplicate names, unknown parents,
 *                 cycles, a space without parameters, ...
 *   FRESH_EUNSUPPORTED  (ConfigSpace) a feature fresh does not have
 *   FRESH_ENOMEM
 * `source_name` labels the string in messages (may be NULL: "<string>").
 * Thread safety: owner thread. */
FRESH_API int fresh_space_read_json_file(fresh_space *space, const char *path);
FRESH_API int fresh_space_read_json_string(fresh_space *space, const char *text,
                                           const char *source_name);

/* Reads the ConfigSpace JSON format (ConfigSpace's json.write, as used with
 * HpBandSter, SMAC3 and DEHB): uniform_float, uniform_int, categorical,
 * ordinal, constant; conditions EQ, NEQ, LT, GT, IN, AND, OR; forbidden
 * EQUALS, IN, AND and RELATION (EQUALS, LESS, GREATER).
 * Errors as for the fresh format. Thread safety: owner thread. */
FRESH_API int fresh_space_read_configspace_file(fresh_space *space, const char *path);
FRESH_API int fresh_space_read_configspace_string(fresh_space *space, const char *text,
                                                  const char *source_name);

/* Reads either format, telling them apart by content (ConfigSpace files have
 * a "hyperparameters" array). Thread safety: owner thread. */
FRESH_API int fresh_space_read_file(fresh_space *space, const char *path);

/* Writes the space in fresh's JSON format (canonical: same space, same
 * text; one parameter per line) into a new string the caller frees with
 * free(). Returns FRESH_OK, FRESH_EINVAL (NULL argument) or FRESH_ENOMEM. Thread safety: any thread (built space). */
FRESH_API int fresh_space_write_json(const fresh_space *space, char **out);

/* Writes configuration x as a JSON object {"name": value, ...} (inactive
 * omitted, categorical/ordinal-label as string, numeric ordinal as its
 * number) into a new string the caller frees with free(). Returns FRESH_OK,
 * FRESH_EINVAL (NULL argument or an active value that is not a valid level
 * or integer) or FRESH_ENOMEM; *out is NULL on error. Thread safety: any thread (built space). */
FRESH_API int fresh_space_config_to_json(const fresh_space *space, const double *x, char **out);

#ifdef __cplusplus
}
#endif
#endif /* FRESH_SPACE_H */
