/*
 * space.c - the search space: typed parameters, conditions, forbidden
 * clauses, sampling, the unit encoding, hashing, formatting and the JSON
 * writers. The JSON readers live in space_json.c.
 *
 * DESIGN
 *   Parameters are kept in an array in the order they were added; a
 *   configuration is an array of doubles in the same order (see space.h).
 *
 *   A condition is stored in disjunctive normal form on the child: an array
 *   of groups (ORed), each an array of clauses (ANDed) "parent IN {values}"
 *   or "parent != / < / > value" (ConfigSpace's NEQ, LT, GT; < and > on an
 *   ordinal compare level indices). A forbidden combination is one group,
 *   whose clauses may also be relations "a ==/!=/</> b" between two
 *   parameters, compared on natural values (numbers, or labels).
 *   Conditions form a directed acyclic graph from parents to children. Each
 *   parameter carries its depth in that graph (0 for unconditional ones, else
 *   1 + the largest depth of its parents), and `order` lists the parameters
 *   by depth, so one pass in that order evaluates every condition after the
 *   conditions of its parents (fresh_space_apply_conditions). An inactive
 *   parent is NaN, and a clause on a NaN value is false, so conditions nest.
 *
 *   A new condition clause child <- parent would close a cycle exactly when
 *   the child is already an ancestor of the parent; add_condition looks for
 *   that with a depth-first search (visit marks with a generation counter, so
 *   no allocation) before it changes anything.
 *
 *   Every mutating function validates all of its arguments and makes all of
 *   its allocations before it changes the space, so a failure (FRESH_EINVAL,
 *   FRESH_ENOMEM, ...) leaves the space exactly as it was.
 *
 *   Unit encoding (the representation the models work in):
 *     float  u = (x - low) / (high - low), or the same on log(x);
 *     int    each integer k owns the interval [k - 1/2, k + 1/2), so
 *            u = (x - (low - 1/2)) / ((high + 1/2) - (low - 1/2)), or the same
 *            on logs. Decoding rounds to the nearest integer, so decoding a
 *            uniform u gives a uniform integer (log-uniform bins on a log
 *            scale); this is also how ints are sampled. It is the encoding
 *            of ConfigSpace and HpBandSter (Falkner et al. 2018, BOHB).
 *     categorical / ordinal: the index itself.
 *
 *   The const functions never write the errmsg: several threads may call
 *   them on one built space at the same time.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "fresh/space.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "space_internal.h"

#define MAX_NAME 255
#define MAX_TRIES 10000
/* Integer bounds are limited to +-2^40 so that decode(encode(k)) == k holds
 * for every integer in range on both scales. */
#define MAX_INT_BOUND 1099511627776.0

typedef struct sclause {
    size_t parent;
    fresh_cmp cmp;   /* IN: values[0..n); NE/LT/GT: values[0]; relation: other */
    size_t n;
    double *values;
    int relation;    /* 1: "parent cmp other" between two parameters */
    size_t other;
} sclause;

typedef struct sgroup {
    size_t n;
    sclause *clauses;
} sgroup;

typedef struct sparam {
    char *name;
    fresh_param_type type;
    int log_scale;
    double low, high;
    double log_lo, log_hi; /* log scale: log of the encoding's ends (float:
                            * low, high; int: low - 0.5, high + 0.5), computed
                            * once: encode/decode run per candidate */
    size_t n_levels;
    char **labels;     /* categorical/ordinal (numeric ordinals: formatted) */
    double *ovalues;   /* numeric ordinal values, else NULL */
    int has_default;
    double def;
    size_t n_groups;   /* condition: OR of groups; 0 = unconditional */
    sgroup *groups;
    size_t depth;      /* depth in the condition graph */
    unsigned long mark;/* DFS visit mark (generation) */
} sparam;

struct fresh_space {
    size_t n, cap;
    sparam *params;
    size_t *order;     /* cap entries, the first n valid: by depth */
    size_t n_forb;
    sgroup *forb;
    unsigned long gen;
    char errmsg[FRESH__ERRMSG_LEN];
};

/* ------------------------------------------------------------------ */
/* helpers                                                              */

void fresh__format_double(char *buf, size_t len, double v)
{
    if (v == 0) { /* -0.0 too: JSON readers take "-0" for the integer 0 */
        snprintf(buf, len, "0");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static void group_free(sgroup *g)
{
    for (size_t k = 0; k < g->n; k++)
        fresh__free(g->clauses[k].values);
    fresh__free(g->clauses);
    g->clauses = NULL;
    g->n = 0;
}

static void labels_free(char **labels, size_t n)
{
    if (!labels)
        return;
    for (size_t i = 0; i < n; i++)
        fresh__free(labels[i]);
    fresh__free(labels);
}

static void param_free(sparam *p)
{
    fresh__free(p->name);
    labels_free(p->labels, p->n_levels);
    fresh__free(p->ovalues);
    for (size_t g = 0; g < p->n_groups; g++)
        group_free(&p->groups[g]);
    fresh__free(p->groups);
}

static long find(const fresh_space *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->params[i].name, name) == 0)
            return (long)i;
    return -1;
}

static int has_control(const char *t)
{
    for (; *t; t++)
        if ((unsigned char)*t < 0x20 || *t == 0x7f)
            return 1;
    return 0;
}

/* Validates a new parameter name. */
static int check_name(fresh_space *s, const char *name)
{
    if (!name)
        return fresh__set_err(s->errmsg, FRESH_EINVAL, "parameter name is NULL");
    size_t len = strlen(name);
    if (len == 0)
        return fresh__set_err(s->errmsg, FRESH_EINVAL, "parameter name is empty");
    if (len > MAX_NAME)
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%.32s...': name is %zu bytes long, at most %d allowed",
                              name, len, MAX_NAME);
    if (has_control(name))
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter name contains a control character");
    if (find(s, name) >= 0)
        return fresh__set_err(s->errmsg, FRESH_EINVAL, "parameter '%s': duplicate name", name);
    return FRESH_OK;
}

/* Describes why v is not a valid value of p into why (0 if it is valid). */
static int value_problem(const sparam *p, double v, char *why, size_t len)
{
    if (isnan(v)) {
        snprintf(why, len, "value is NaN");
        return 1;
    }
    switch (p->type) {
    case FRESH_PARAM_FLOAT:
        if (!(v >= p->low && v <= p->high)) {
            snprintf(why, len, "value %g outside [%g, %g]", v, p->low, p->high);
            return 1;
        }
        return 0;
    case FRESH_PARAM_INT:
        if (v != floor(v)) {
            snprintf(why, len, "value %g is not an integer", v);
            return 1;
        }
        if (!(v >= p->low && v <= p->high)) {
            snprintf(why, len, "value %g outside [%.0f, %.0f]", v, p->low, p->high);
            return 1;
        }
        return 0;
    case FRESH_PARAM_CATEGORICAL:
    case FRESH_PARAM_ORDINAL:
    default:
        if (v != floor(v) || v < 0 || v > (double)p->n_levels - 1) {
            snprintf(why, len, "value %g is not a level index (0..%zu)", v, p->n_levels - 1);
            return 1;
        }
        return 0;
    }
}

/* Depths by relaxation (the graph is acyclic, so at most n rounds), then
 * `order` as the indices sorted stably by depth. No allocation. */
static void recompute_order(fresh_space *s)
{
    for (size_t i = 0; i < s->n; i++)
        s->params[i].depth = 0;
    int changed = 1;
    for (size_t round = 0; changed && round <= s->n; round++) {
        changed = 0;
        for (size_t i = 0; i < s->n; i++) {
            sparam *p = &s->params[i];
            for (size_t g = 0; g < p->n_groups; g++)
                for (size_t k = 0; k < p->groups[g].n; k++) {
                    size_t d = s->params[p->groups[g].clauses[k].parent].depth + 1;
                    if (d > p->depth) {
                        p->depth = d;
                        changed = 1;
                    }
                }
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        size_t j = i;
        while (j > 0 && s->params[s->order[j - 1]].depth > s->params[i].depth) {
            s->order[j] = s->order[j - 1];
            j--;
        }
        s->order[j] = i;
    }
}

/* Appends *p (its name not yet set) with a copy of name; on failure frees
 * what *p owns. */
static int push_param(fresh_space *s, sparam *p, const char *name)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        sparam *np = fresh__realloc(s->params, cap * sizeof *np);
        if (!np)
            goto nomem;
        s->params = np;
        size_t *no = fresh__realloc(s->order, cap * sizeof *no);
        if (!no)
            goto nomem;
        s->order = no;
        s->cap = cap;
    }
    p->name = fresh__strdup(name);
    if (!p->name)
        goto nomem;
    s->params[s->n++] = *p;
    recompute_order(s);
    s->errmsg[0] = '\0';
    return FRESH_OK;
nomem:
    param_free(p);
    return fresh__set_err(s->errmsg, FRESH_ENOMEM, "parameter '%s': out of memory", name);
}

/* ------------------------------------------------------------------ */
/* construction                                                         */

fresh_space *fresh_space_create(void)
{
    fresh_init();
    fresh_space *s = fresh__calloc(1, sizeof *s);
    return s;
}

void fresh__space_clear(fresh_space *s)
{
    for (size_t i = 0; i < s->n; i++)
        param_free(&s->params[i]);
    for (size_t f = 0; f < s->n_forb; f++)
        group_free(&s->forb[f]);
    fresh__free(s->params);
    fresh__free(s->order);
    fresh__free(s->forb);
    s->params = NULL;
    s->order = NULL;
    s->forb = NULL;
    s->n = s->cap = s->n_forb = 0;
}

char *fresh__space_errbuf(fresh_space *s) { return s->errmsg; }

void fresh_space_destroy(fresh_space *s)
{
    if (!s)
        return;
    fresh__space_clear(s);
    fresh__free(s);
}

const char *fresh_space_errmsg(const fresh_space *s)
{
    return s ? s->errmsg : "space is NULL";
}

int fresh_space_add_float(fresh_space *s, const char *name, double low, double high,
                          int log_scale)
{
    if (!s)
        return FRESH_EINVAL;
    int rc = check_name(s, name);
    if (rc)
        return rc;
    if (!isfinite(low) || !isfinite(high))
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': bounds must be finite, got [%g, %g]", name, low,
                              high);
    if (!(low < high))
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': needs low < high, got low %g, high %g", name, low,
                              high);
    if (!isfinite(high - low)) /* every value in between would be a bound */
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': the width high - low overflows a double, got "
                              "[%g, %g]", name, low, high);
    if (log_scale && low <= 0)
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': log range needs low > 0, got %g", name, low);
    sparam p = {0};
    p.type = FRESH_PARAM_FLOAT;
    p.log_scale = log_scale != 0;
    p.low = low;
    p.high = high;
    if (p.log_scale) {
        p.log_lo = log(low);
        p.log_hi = log(high);
    }
    return push_param(s, &p, name);
}

int fresh_space_add_int(fresh_space *s, const char *name, long low, long high, int log_scale)
{
    if (!s)
        return FRESH_EINVAL;
    int rc = check_name(s, name);
    if (rc)
        return rc;
    if (low >= high)
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': needs low < high, got low %ld, high %ld", name,
                              low, high);
    if ((double)low < -MAX_INT_BOUND || (double)high > MAX_INT_BOUND)
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': integer bounds must lie within +-2^40, got [%ld, %ld]",
                              name, low, high);
    if (log_scale && low < 1)
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': log range needs low >= 1, got %ld", name, low);
    sparam p = {0};
    p.type = FRESH_PARAM_INT;
    p.log_scale = log_scale != 0;
    p.low = (double)low;
    p.high = (double)high;
    if (p.log_scale) {
        p.log_lo = log(p.low - 0.5);
        p.log_hi = log(p.high + 0.5);
    }
    return push_param(s, &p, name);
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Validates n labels (non-empty, no control characters, distinct); distinct
 * by sorting a copy of the pointers, O(n log n): 100,000 levels are fine. */
static int check_labels(fresh_space *s, const char *name, size_t n, const char *const *labels,
                        const char *what)
{
    if (n == 0 || !labels)
        return fresh__set_err(s->errmsg, FRESH_EINVAL, "parameter '%s': needs at least one %s",
                              name, what);
    for (size_t i = 0; i < n; i++) {
        if (!labels[i])
            return fresh__set_err(s->errmsg, FRESH_EINVAL, "parameter '%s': %s %zu is NULL",
                                  name, what, i);
        size_t len = strlen(labels[i]);
        if (len == 0)
            return fresh__set_err(s->errmsg, FRESH_EINVAL, "parameter '%s': %s %zu is empty",
                                  name, what, i);
        if (len > MAX_NAME || has_control(labels[i]))
            return fresh__set_err(s->errmsg, FRESH_EINVAL,
                                  "parameter '%s': %s %zu is longer than %d bytes or contains a "
                                  "control character",
                                  name, what, i, MAX_NAME);
    }
    const char **sorted = fresh__malloc(n * sizeof *sorted);
    if (!sorted)
        return fresh__set_err(s->errmsg, FRESH_ENOMEM, "parameter '%s': out of memory", name);
    memcpy(sorted, labels, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_label);
    int rc = FRESH_OK;
    for (size_t i = 1; i < n && rc == FRESH_OK; i++)
        if (strcmp(sorted[i], sorted[i - 1]) == 0)
            rc = fresh__set_err(s->errmsg, FRESH_EINVAL, "parameter '%s': duplicate %s '%s'", name,
                                what, sorted[i]);
    fresh__free(sorted);
    return rc;
}

static char **copy_labels(size_t n, const char *const *labels)
{
    char **c = fresh__calloc(n, sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        c[i] = fresh__strdup(labels[i]);
        if (!c[i]) {
            labels_free(c, i);
            return NULL;
        }
    }
    return c;
}

static int add_labeled(fresh_space *s, const char *name, size_t n, const char *const *labels,
                       fresh_param_type type)
{
    if (!s)
        return FRESH_EINVAL;
    int rc = check_name(s, name);
    if (rc)
        return rc;
    rc = check_labels(s, name, n, labels, type == FRESH_PARAM_CATEGORICAL ? "choice" : "level");
    if (rc)
        return rc;
    sparam p = {0};
    p.type = type;
    p.low = 0;
    p.high = (double)(n - 1);
    p.labels = copy_labels(n, labels);
    if (!p.labels)
        return fresh__set_err(s->errmsg, FRESH_ENOMEM, "parameter '%s': out of memory", name);
    p.n_levels = n;
    return push_param(s, &p, name);
}

int fresh_space_add_categorical(fresh_space *s, const char *name, size_t n,
                                const char *const *choices)
{
    return add_labeled(s, name, n, choices, FRESH_PARAM_CATEGORICAL);
}

int fresh_space_add_ordinal_labels(fresh_space *s, const char *name, size_t n,
                                   const char *const *labels)
{
    return add_labeled(s, name, n, labels, FRESH_PARAM_ORDINAL);
}

int fresh_space_add_ordinal(fresh_space *s, const char *name, size_t n, const double *values)
{
    if (!s)
        return FRESH_EINVAL;
    int rc = check_name(s, name);
    if (rc)
        return rc;
    if (n == 0 || !values)
        return fresh__set_err(s->errmsg, FRESH_EINVAL, "parameter '%s': needs at least one level",
                              name);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i]))
            return fresh__set_err(s->errmsg, FRESH_EINVAL,
                                  "parameter '%s': level %zu is not finite (%g)", name, i,
                                  values[i]);
        if (i > 0 && !(values[i] > values[i - 1]))
            return fresh__set_err(s->errmsg, FRESH_EINVAL,
                                  "parameter '%s': levels must increase strictly, got %g after %g",
                                  name, values[i], values[i - 1]);
    }
    sparam p = {0};
    p.type = FRESH_PARAM_ORDINAL;
    p.low = 0;
    p.high = (double)(n - 1);
    p.ovalues = fresh__malloc(n * sizeof *p.ovalues);
    p.labels = fresh__calloc(n, sizeof *p.labels);
    if (!p.ovalues || !p.labels)
        goto nomem;
    p.n_levels = n;
    memcpy(p.ovalues, values, n * sizeof *values);
    for (size_t i = 0; i < n; i++) {
        char buf[40];
        fresh__format_double(buf, sizeof buf, values[i]);
        p.labels[i] = fresh__strdup(buf);
        if (!p.labels[i])
            goto nomem;
    }
    return push_param(s, &p, name);
nomem:
    p.n_levels = n; /* labels is calloc'ed: the NULL tail frees fine */
    param_free(&p);
    return fresh__set_err(s->errmsg, FRESH_ENOMEM, "parameter '%s': out of memory", name);
}

int fresh_space_set_default(fresh_space *s, const char *name, double value)
{
    if (!s)
        return FRESH_EINVAL;
    if (!name)
        return fresh__set_err(s->errmsg, FRESH_EINVAL, "set_default: parameter name is NULL");
    long i = find(s, name);
    if (i < 0)
        return fresh__set_err(s->errmsg, FRESH_ENOTFOUND, "parameter '%s': no such parameter",
                              name);
    sparam *p = &s->params[i];
    char why[160];
    if (value_problem(p, value, why, sizeof why))
        return fresh__set_err(s->errmsg, FRESH_EINVAL, "parameter '%s': invalid default: %s",
                              name, why);
    p->has_default = 1;
    p->def = value;
    s->errmsg[0] = '\0';
    return FRESH_OK;
}

/* 1 if `target` is `from` or one of its ancestors (parents, their parents, ...). */
static int reaches(fresh_space *s, size_t from, size_t target)
{
    if (from == target)
        return 1;
    sparam *p = &s->params[from];
    if (p->mark == s->gen)
        return 0;
    p->mark = s->gen;
    for (size_t g = 0; g < p->n_groups; g++)
        for (size_t k = 0; k < p->groups[g].n; k++)
            if (reaches(s, p->groups[g].clauses[k].parent, target))
                return 1;
    return 0;
}

static int add_cond_clause(fresh_space *s, const char *child, const char *parent,
                           fresh_cmp cmp, size_t n_values, const double *values, int new_group)
{
    if (!s)
        return FRESH_EINVAL;
    if (!child || !parent)
        return fresh__set_err(s->errmsg, FRESH_EINVAL, "add_condition: %s name is NULL",
                              child ? "parent" : "child");
    long ci = find(s, child);
    if (ci < 0)
        return fresh__set_err(s->errmsg, FRESH_ENOTFOUND,
                              "parameter '%s': no such parameter (condition child)", child);
    long pi = find(s, parent);
    if (pi < 0)
        return fresh__set_err(s->errmsg, FRESH_ENOTFOUND,
                              "parameter '%s': condition parent '%s' is not a parameter", child,
                              parent);
    if (ci == pi)
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': cannot be conditioned on itself", child);
    if (n_values == 0 || !values)
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': condition on '%s' needs at least one value", child,
                              parent);
    const sparam *pp = &s->params[pi];
    for (size_t k = 0; k < n_values; k++) {
        char why[160];
        if (value_problem(pp, values[k], why, sizeof why))
            return fresh__set_err(s->errmsg, FRESH_EINVAL,
                                  "parameter '%s': condition on '%s': %s", child, parent, why);
    }
    if ((cmp == FRESH_CMP_LT || cmp == FRESH_CMP_GT) && pp->type == FRESH_PARAM_CATEGORICAL)
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': condition '%s' on '%s' needs an ordered parent "
                              "(float, int or ordinal); '%s' is categorical",
                              child, cmp == FRESH_CMP_LT ? "<" : ">", parent, parent);
    s->gen++;
    if (reaches(s, (size_t)pi, (size_t)ci))
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': condition on '%s' would create a cycle", child,
                              parent);

    sparam *cp = &s->params[ci];
    double *vals = fresh__malloc(n_values * sizeof *vals);
    if (!vals)
        goto nomem;
    memcpy(vals, values, n_values * sizeof *vals);
    sclause cl = {(size_t)pi, cmp, n_values, vals, 0, 0};
    if (cp->n_groups == 0 || new_group) {
        sgroup *ng = fresh__realloc(cp->groups, (cp->n_groups + 1) * sizeof *ng);
        if (!ng)
            goto nomem;
        cp->groups = ng;
        sclause *c1 = fresh__malloc(sizeof *c1);
        if (!c1)
            goto nomem;
        *c1 = cl;
        cp->groups[cp->n_groups].n = 1;
        cp->groups[cp->n_groups].clauses = c1;
        cp->n_groups++;
    } else {
        sgroup *g = &cp->groups[cp->n_groups - 1];
        sclause *nc = fresh__realloc(g->clauses, (g->n + 1) * sizeof *nc);
        if (!nc)
            goto nomem;
        g->clauses = nc;
        g->clauses[g->n++] = cl;
    }
    recompute_order(s);
    s->errmsg[0] = '\0';
    return FRESH_OK;
nomem:
    fresh__free(vals);
    return fresh__set_err(s->errmsg, FRESH_ENOMEM, "parameter '%s': out of memory", child);
}

int fresh_space_add_condition(fresh_space *s, const char *child, const char *parent,
                              size_t n_values, const double *values, int new_group)
{
    return add_cond_clause(s, child, parent, FRESH_CMP_IN, n_values, values, new_group);
}

int fresh_space_add_condition_cmp(fresh_space *s, const char *child, const char *parent,
                                  fresh_cmp cmp, double value, int new_group)
{
    if (!s)
        return FRESH_EINVAL;
    if (cmp != FRESH_CMP_EQ && cmp != FRESH_CMP_NE && cmp != FRESH_CMP_LT && cmp != FRESH_CMP_GT)
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': add_condition_cmp needs EQ, NE, LT or GT, got %d",
                              child ? child : "(null)", (int)cmp);
    return add_cond_clause(s, child, parent, cmp == FRESH_CMP_EQ ? FRESH_CMP_IN : cmp, 1, &value,
                           new_group);
}

/* Natural values of a parameter: 1 for numbers (float, int, numeric
 * ordinal), 0 for labels (categorical, string ordinal). */
static int numeric_param(const sparam *p)
{
    return p->type == FRESH_PARAM_FLOAT || p->type == FRESH_PARAM_INT || p->ovalues;
}

static const char *cmp_text(fresh_cmp cmp)
{
    switch (cmp) {
    case FRESH_CMP_EQ: return "==";
    case FRESH_CMP_NE: return "!=";
    case FRESH_CMP_LT: return "<";
    case FRESH_CMP_GT: return ">";
    default: return "in";
    }
}

/* Checks relation r; *a and *b get the parameter indices. */
static int check_relation(fresh_space *s, const fresh_relation *r, long *a, long *b)
{
    if (!r->left || !r->right)
        return fresh__set_err(s->errmsg, FRESH_EINVAL, "forbidden relation: parameter name is NULL");
    *a = find(s, r->left);
    *b = find(s, r->right);
    if (*a < 0 || *b < 0)
        return fresh__set_err(s->errmsg, FRESH_ENOTFOUND,
                              "parameter '%s': no such parameter (forbidden relation)",
                              *a < 0 ? r->left : r->right);
    if (*a == *b)
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': forbidden relation with itself", r->left);
    if (r->cmp != FRESH_CMP_EQ && r->cmp != FRESH_CMP_NE && r->cmp != FRESH_CMP_LT &&
        r->cmp != FRESH_CMP_GT)
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': forbidden relation with '%s' needs EQ, NE, LT or "
                              "GT, got %d", r->left, r->right, (int)r->cmp);
    const sparam *pa = &s->params[*a], *pb = &s->params[*b];
    if (numeric_param(pa) != numeric_param(pb))
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': forbidden relation '%s %s %s' compares a number "
                              "with a label", r->left, r->left, cmp_text(r->cmp), r->right);
    if (!numeric_param(pa) && (r->cmp == FRESH_CMP_LT || r->cmp == FRESH_CMP_GT))
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "parameter '%s': forbidden relation '%s %s %s' needs numeric "
                              "parameters (labels compare with == and != only)", r->left,
                              r->left, cmp_text(r->cmp), r->right);
    return FRESH_OK;
}

int fresh_space_add_forbidden_relations(fresh_space *s, size_t n, const fresh_clause *clauses,
                                        size_t n_rel, const fresh_relation *relations)
{
    if (!s)
        return FRESH_EINVAL;
    if ((n == 0 && n_rel == 0) || (n && !clauses) || (n_rel && !relations))
        return fresh__set_err(s->errmsg, FRESH_EINVAL,
                              "forbidden clause needs at least one part");
    for (size_t k = 0; k < n; k++) {
        const fresh_clause *c = &clauses[k];
        if (!c->name)
            return fresh__set_err(s->errmsg, FRESH_EINVAL,
                                  "forbidden clause part %zu: parameter name is NULL", k);
        long i = find(s, c->name);
        if (i < 0)
            return fresh__set_err(s->errmsg, FRESH_ENOTFOUND,
                                  "parameter '%s': no such parameter (forbidden clause)", c->name);
        if (c->n_values == 0 || !c->values)
            return fresh__set_err(s->errmsg, FRESH_EINVAL,
                                  "parameter '%s': forbidden clause needs at least one value",
                                  c->name);
        for (size_t v = 0; v < c->n_values; v++) {
            char why[160];
            if (value_problem(&s->params[i], c->values[v], why, sizeof why))
                return fresh__set_err(s->errmsg, FRESH_EINVAL,
                                      "parameter '%s': forbidden clause: %s", c->name, why);
        }
    }
    for (size_t k = 0; k < n_rel; k++) {
        long a, b;
        int rc = check_relation(s, &relations[k], &a, &b);
        if (rc < 0)
            return rc;
    }
    sgroup g = {0, NULL};
    sgroup *nf = NULL;
    g.clauses = fresh__calloc(n + n_rel, sizeof *g.clauses);
    if (!g.clauses)
        goto nomem;
    for (size_t k = 0; k < n; k++) {
        double *vals = fresh__malloc(clauses[k].n_values * sizeof *vals);
        if (!vals)
            goto nomem;
        memcpy(vals, clauses[k].values, clauses[k].n_values * sizeof *vals);
        g.clauses[k].parent = (size_t)find(s, clauses[k].name);
        g.clauses[k].cmp = FRESH_CMP_IN;
        g.clauses[k].n = clauses[k].n_values;
        g.clauses[k].values = vals;
        g.n = k + 1;
    }
    for (size_t k = 0; k < n_rel; k++) {
        sclause *gc = &g.clauses[n + k];
        gc->parent = (size_t)find(s, relations[k].left);
        gc->other = (size_t)find(s, relations[k].right);
        gc->cmp = relations[k].cmp;
        gc->relation = 1;
        g.n = n + k + 1;
    }
    nf = fresh__realloc(s->forb, (s->n_forb + 1) * sizeof *nf);
    if (!nf)
        goto nomem;
    s->forb = nf;
    s->forb[s->n_forb++] = g;
    s->errmsg[0] = '\0';
    return FRESH_OK;
nomem:
    group_free(&g);
    return fresh__set_err(s->errmsg, FRESH_ENOMEM, "forbidden clause: out of memory");
}

int fresh_space_add_forbidden(fresh_space *s, size_t n, const fresh_clause *clauses)
{
    if (s && (n == 0 || !clauses))
        return fresh__set_err(s->errmsg, FRESH_EINVAL, "forbidden clause needs at least one part");
    return fresh_space_add_forbidden_relations(s, n, clauses, 0, NULL);
}

/* ------------------------------------------------------------------ */
/* queries                                                              */

size_t fresh_space_dim(const fresh_space *s) { return s ? s->n : 0; }

int fresh_space_index(const fresh_space *s, const char *name)
{
    if (!s || !name)
        return FRESH_EINVAL;
    long i = find(s, name);
    return i < 0 ? FRESH_ENOTFOUND : (int)i;
}

int fresh_space_param(const fresh_space *s, size_t i, fresh_param_info *info)
{
    if (!s || !info || i >= s->n)
        return FRESH_EINVAL;
    const sparam *p = &s->params[i];
    info->name = p->name;
    info->type = p->type;
    info->log_scale = p->log_scale;
    info->low = p->low;
    info->high = p->high;
    info->n_levels = p->n_levels;
    info->labels = (const char *const *)p->labels;
    info->ordinal_values = p->ovalues;
    info->has_default = p->has_default;
    info->default_value = p->def;
    info->has_condition = p->n_groups > 0;
    return FRESH_OK;
}

int fresh_space_level_index(const fresh_space *s, size_t i, const char *label)
{
    if (!s || !label || i >= s->n || !s->params[i].labels)
        return FRESH_EINVAL;
    const sparam *p = &s->params[i];
    for (size_t k = 0; k < p->n_levels; k++)
        if (strcmp(p->labels[k], label) == 0)
            return (int)k;
    return FRESH_ENOTFOUND;
}

/* ------------------------------------------------------------------ */
/* configurations                                                       */

/* The natural number of value v of numeric parameter p. */
static double natural(const sparam *p, double v)
{
    return p->ovalues ? p->ovalues[(size_t)v] : v;
}

static int compare(fresh_cmp cmp, double a, double b)
{
    switch (cmp) {
    case FRESH_CMP_NE: return a != b;
    case FRESH_CMP_LT: return a < b;
    case FRESH_CMP_GT: return a > b;
    default: return a == b;
    }
}

/* A relation "a cmp b" on the natural values of two active parameters. */
static int relation_holds(const fresh_space *s, const sclause *c, double va, double vb)
{
    const sparam *a = &s->params[c->parent], *b = &s->params[c->other];
    if (numeric_param(a))
        return compare(c->cmp, natural(a, va), natural(b, vb));
    int same = strcmp(a->labels[(size_t)va], b->labels[(size_t)vb]) == 0;
    return c->cmp == FRESH_CMP_NE ? !same : same;
}

/* Clause c on x: false when a parameter it reads is inactive. LT and GT on
 * an ordinal compare level indices, that is level order. */
static int clause_holds(const fresh_space *s, const sclause *c, const double *x)
{
    double v = x[c->parent];
    if (isnan(v))
        return 0;
    if (c->relation)
        return !isnan(x[c->other]) && relation_holds(s, c, v, x[c->other]);
    if (c->cmp != FRESH_CMP_IN)
        return compare(c->cmp, v, c->values[0]);
    for (size_t k = 0; k < c->n; k++)
        if (c->values[k] == v)
            return 1;
    return 0;
}

/* The condition of p on the values of x alone (parents' activity aside). */
static int cond_holds(const fresh_space *s, const sparam *p, const double *x)
{
    if (p->n_groups == 0)
        return 1;
    for (size_t g = 0; g < p->n_groups; g++) {
        size_t k;
        for (k = 0; k < p->groups[g].n; k++)
            if (!clause_holds(s, &p->groups[g].clauses[k], x))
                break;
        if (k == p->groups[g].n)
            return 1;
    }
    return 0;
}

/* Activity with the parents' activity checked too, for any x. */
static int active_rec(const fresh_space *s, const double *x, size_t i)
{
    const sparam *p = &s->params[i];
    if (p->n_groups == 0)
        return 1;
    for (size_t g = 0; g < p->n_groups; g++) {
        size_t k;
        for (k = 0; k < p->groups[g].n; k++) {
            const sclause *c = &p->groups[g].clauses[k];
            if (!clause_holds(s, c, x) || !active_rec(s, x, c->parent))
                break;
        }
        if (k == p->groups[g].n)
            return 1;
    }
    return 0;
}

void fresh_space_apply_conditions(const fresh_space *s, double *x)
{
    if (!s || !x)
        return;
    for (size_t o = 0; o < s->n; o++) {
        size_t i = s->order[o];
        if (!cond_holds(s, &s->params[i], x))
            x[i] = NAN;
    }
}

int fresh_space_is_active(const fresh_space *s, const double *x, size_t i)
{
    if (!s || !x || i >= s->n)
        return 0;
    return active_rec(s, x, i);
}

static long forbidden_match(const fresh_space *s, const double *x)
{
    for (size_t f = 0; f < s->n_forb; f++) {
        size_t k;
        for (k = 0; k < s->forb[f].n; k++)
            if (!clause_holds(s, &s->forb[f].clauses[k], x))
                break;
        if (k == s->forb[f].n)
            return (long)f;
    }
    return -1;
}

int fresh_space_is_forbidden(const fresh_space *s, const double *x)
{
    if (!s || !x)
        return 0;
    return forbidden_match(s, x) >= 0;
}

int fresh_space_check(const fresh_space *s, const double *x, char *msg, size_t len)
{
    char dummy[1];
    if (!msg) {
        msg = dummy;
        len = sizeof dummy;
    }
    if (len > 0)
        msg[0] = '\0';
    if (!s || !x) {
        snprintf(msg, len, "check: %s is NULL", s ? "configuration" : "space");
        return FRESH_EINVAL;
    }
    for (size_t i = 0; i < s->n; i++) {
        const sparam *p = &s->params[i];
        int act = active_rec(s, x, i);
        if (!act) {
            if (!isnan(x[i])) {
                snprintf(msg, len, "parameter '%s': inactive but has value %g", p->name, x[i]);
                return FRESH_EINVAL;
            }
            continue;
        }
        char why[160];
        if (isnan(x[i])) {
            snprintf(msg, len, "parameter '%s': active but NaN", p->name);
            return FRESH_EINVAL;
        }
        if (value_problem(p, x[i], why, sizeof why)) {
            snprintf(msg, len, "parameter '%s': %s", p->name, why);
            return FRESH_EINVAL;
        }
    }
    long f = forbidden_match(s, x);
    if (f >= 0) {
        snprintf(msg, len, "configuration matches forbidden clause %ld (parameter '%s')", f,
                 s->params[s->forb[f].clauses[0].parent].name);
        return FRESH_EINVAL;
    }
    return FRESH_OK;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static double encode_one(const sparam *p, double v)
{
    if (isnan(v))
        return NAN;
    switch (p->type) {
    case FRESH_PARAM_FLOAT:
        if (p->log_scale)
            return (log(v) - p->log_lo) / (p->log_hi - p->log_lo);
        return (v - p->low) / (p->high - p->low);
    case FRESH_PARAM_INT: {
        double a = p->low - 0.5, b = p->high + 0.5;
        if (p->log_scale)
            return (log(v) - p->log_lo) / (p->log_hi - p->log_lo);
        return (v - a) / (b - a);
    }
    default:
        return v;
    }
}

static double decode_one(const sparam *p, double u)
{
    if (isnan(u))
        return NAN;
    switch (p->type) {
    case FRESH_PARAM_FLOAT: {
        if (u <= 0)
            return p->low;
        if (u >= 1)
            return p->high;
        double v;
        if (p->log_scale)
            v = exp(p->log_lo + u * (p->log_hi - p->log_lo));
        else
            v = p->low + u * (p->high - p->low);
        return clampd(v, p->low, p->high);
    }
    case FRESH_PARAM_INT: {
        double a = p->low - 0.5, b = p->high + 0.5, v;
        if (p->log_scale)
            v = exp(p->log_lo + u * (p->log_hi - p->log_lo));
        else
            v = a + u * (b - a);
        return clampd(round(v), p->low, p->high);
    }
    default:
        return clampd(round(u), 0, (double)p->n_levels - 1);
    }
}

static double default_of(const sparam *p)
{
    if (p->has_default)
        return p->def;
    switch (p->type) {
    case FRESH_PARAM_FLOAT:
        if (p->log_scale)
            return clampd(exp(0.5 * (log(p->low) + log(p->high))), p->low, p->high);
        return 0.5 * (p->low + p->high);
    case FRESH_PARAM_INT: {
        double m = p->log_scale ? exp(0.5 * (log(p->low) + log(p->high)))
                                : 0.5 * (p->low + p->high);
        return clampd(round(m), p->low, p->high);
    }
    case FRESH_PARAM_CATEGORICAL:
        return 0;
    default:
        return (double)((p->n_levels - 1) / 2);
    }
}

int fresh_space_sample(const fresh_space *s, gsl_rng *rng, double *x)
{
    if (!s || !rng || !x)
        return FRESH_EINVAL;
    if (s->n == 0)
        return FRESH_ENOSAMPLE;
    for (int t = 0; t < MAX_TRIES; t++) {
        for (size_t i = 0; i < s->n; i++) {
            const sparam *p = &s->params[i];
            if (p->type == FRESH_PARAM_CATEGORICAL || p->type == FRESH_PARAM_ORDINAL)
                x[i] = (double)gsl_rng_uniform_int(rng, p->n_levels);
            else
                x[i] = decode_one(p, gsl_rng_uniform(rng));
        }
        fresh_space_apply_conditions(s, x);
        if (forbidden_match(s, x) < 0)
            return FRESH_OK;
    }
    return FRESH_ENOSAMPLE;
}

int fresh_space_default_config(const fresh_space *s, double *x)
{
    if (!s || !x)
        return FRESH_EINVAL;
    for (size_t i = 0; i < s->n; i++)
        x[i] = default_of(&s->params[i]);
    fresh_space_apply_conditions(s, x);
    return forbidden_match(s, x) >= 0 ? FRESH_ENOSAMPLE : FRESH_OK;
}

void fresh_space_encode(const fresh_space *s, const double *x, double *u)
{
    if (!s || !x || !u)
        return;
    for (size_t i = 0; i < s->n; i++)
        u[i] = encode_one(&s->params[i], x[i]);
}

void fresh_space_decode(const fresh_space *s, const double *u, double *x)
{
    if (!s || !u || !x)
        return;
    for (size_t i = 0; i < s->n; i++)
        x[i] = decode_one(&s->params[i], u[i]);
    for (size_t o = 0; o < s->n; o++) {
        size_t i = s->order[o];
        const sparam *p = &s->params[i];
        if (!cond_holds(s, p, x))
            x[i] = NAN;
        else if (isnan(x[i]))
            x[i] = default_of(p);
    }
}

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t fresh_space_hash(const fresh_space *s, const double *x)
{
    if (!s || !x)
        return 0;
    uint64_t h = 0x66726573685f7370ULL ^ (uint64_t)s->n;
    for (size_t i = 0; i < s->n; i++) {
        uint64_t bits;
        double v = x[i];
        if (isnan(v)) {
            bits = 0x7ff8dead0000beefULL;
        } else {
            if (v == 0)
                v = 0; /* -0.0 and 0.0 are the same value */
            memcpy(&bits, &v, sizeof bits);
        }
        h = mix64(h ^ bits);
    }
    return h;
}

int fresh_space_equal(const fresh_space *s, const double *a, const double *b)
{
    if (!s || !a || !b)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        if (isnan(a[i]) || isnan(b[i])) {
            if (!(isnan(a[i]) && isnan(b[i])))
                return 0;
        } else if (a[i] != b[i]) {
            return 0;
        }
    }
    return 1;
}

/* Appends printf output at *pos in buf (len bytes), counting what does not
 * fit, as snprintf does. */
static void outf(char *buf, size_t len, size_t *pos, const char *fmt, ...) FRESH__PRINTF(4, 5);
static void outf(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n;
    if (*pos < len)
        n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
    else
        n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        *pos += (size_t)n;
}

/* The label of level value v of a categorical/ordinal, or NULL if v is not
 * a level index. */
static const char *level_label(const sparam *p, double v)
{
    if (v != floor(v) || v < 0 || v > (double)p->n_levels - 1)
        return NULL;
    return p->labels[(size_t)v];
}

int fresh_space_format(const fresh_space *s, const double *x, char *buf, size_t len)
{
    if (buf && len > 0)
        buf[0] = '\0';
    if (!buf)
        len = 0;
    if (!s || !x)
        return FRESH_EINVAL;
    size_t pos = 0;
    int first = 1;
    for (size_t i = 0; i < s->n; i++) {
        const sparam *p = &s->params[i];
        double v = x[i];
        if (isnan(v))
            continue;
        outf(buf, len, &pos, "%s%s=", first ? "" : ", ", p->name);
        first = 0;
        if (p->type == FRESH_PARAM_FLOAT) {
            char num[40];
            fresh__format_double(num, sizeof num, v);
            outf(buf, len, &pos, "%s", num);
        } else if (p->type == FRESH_PARAM_INT) {
            outf(buf, len, &pos, "%.0f", v);
        } else {
            const char *l = level_label(p, v);
            outf(buf, len, &pos, "%s", l ? l : "?");
        }
    }
    return pos > (size_t)0x7fffffff ? 0x7fffffff : (int)pos;
}

/* ------------------------------------------------------------------ */
/* JSON writers                                                         */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_putn(sbuf *b, const char *t, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *np = fresh__realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, t, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_puts(sbuf *b, const char *t) { sb_putn(b, t, strlen(t)); }

static void sb_str(sbuf *b, const char *t)
{
    sb_putn(b, "\"", 1);
    for (const char *c = t; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u == '"' || u == '\\') {
            char e[2] = {'\\', (char)u};
            sb_putn(b, e, 2);
        } else if (u < 0x20 || u == 0x7f) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", u);
            sb_puts(b, e);
        } else {
            sb_putn(b, c, 1);
        }
    }
    sb_putn(b, "\"", 1);
}

static void sb_num(sbuf *b, double v)
{
    char num[40];
    fresh__format_double(num, sizeof num, v);
    sb_puts(b, num);
}

static void sb_int(sbuf *b, double v)
{
    char num[40];
    snprintf(num, sizeof num, "%.0f", v);
    sb_puts(b, num);
}

/* A value of p in its natural JSON form: number, integer or label. */
static void sb_value(sbuf *b, const sparam *p, double v)
{
    switch (p->type) {
    case FRESH_PARAM_FLOAT:
        sb_num(b, v);
        break;
    case FRESH_PARAM_INT:
        sb_int(b, v);
        break;
    default:
        if (p->ovalues)
            sb_num(b, p->ovalues[(size_t)v]);
        else
            sb_str(b, p->labels[(size_t)v]);
    }
}

static int sb_finish(sbuf *b, char **out)
{
    if (!b->oom && !b->p)
        sb_puts(b, "");
    if (b->oom) {
        fresh__free(b->p);
        *out = NULL;
        return FRESH_ENOMEM;
    }
    *out = b->p;
    return FRESH_OK;
}

int fresh_space_config_to_json(const fresh_space *s, const double *x, char **out)
{
    if (out)
        *out = NULL;
    if (!s || !x || !out)
        return FRESH_EINVAL;
    for (size_t i = 0; i < s->n; i++) {
        char why[160];
        if (!isnan(x[i]) && value_problem(&s->params[i], x[i], why, sizeof why))
            return FRESH_EINVAL;
    }
    sbuf b = {0};
    sb_puts(&b, "{");
    int first = 1;
    for (size_t i = 0; i < s->n; i++) {
        if (isnan(x[i]))
            continue;
        if (!first)
            sb_puts(&b, ", ");
        first = 0;
        sb_str(&b, s->params[i].name);
        sb_puts(&b, ": ");
        sb_value(&b, &s->params[i], x[i]);
    }
    sb_puts(&b, "}");
    return sb_finish(&b, out);
}

/* The fresh-format key of a comparison ("in", "not_equals", ...). */
static const char *cmp_key(fresh_cmp cmp)
{
    switch (cmp) {
    case FRESH_CMP_EQ: return "equals";
    case FRESH_CMP_NE: return "not_equals";
    case FRESH_CMP_LT: return "less_than";
    case FRESH_CMP_GT: return "greater_than";
    default: return "in";
    }
}

static void sb_clause(sbuf *b, const fresh_space *s, const sclause *c, const char *key)
{
    const sparam *p = &s->params[c->parent];
    if (c->relation) { /* {"left": a, "relation": "less_than", "right": b} */
        sb_puts(b, "{\"left\": ");
        sb_str(b, p->name);
        sb_puts(b, ", \"relation\": ");
        sb_str(b, cmp_key(c->cmp));
        sb_puts(b, ", \"right\": ");
        sb_str(b, s->params[c->other].name);
        sb_puts(b, "}");
        return;
    }
    sb_puts(b, "{");
    sb_str(b, key);
    sb_puts(b, ": ");
    sb_str(b, p->name);
    sb_puts(b, ", ");
    sb_str(b, cmp_key(c->cmp));
    if (c->cmp != FRESH_CMP_IN) {
        sb_puts(b, ": ");
        sb_value(b, p, c->values[0]);
        sb_puts(b, "}");
        return;
    }
    sb_puts(b, ": [");
    for (size_t k = 0; k < c->n; k++) {
        if (k)
            sb_puts(b, ", ");
        sb_value(b, p, c->values[k]);
    }
    sb_puts(b, "]}");
}

static void sb_group(sbuf *b, const fresh_space *s, const sgroup *g)
{
    if (g->n == 1) {
        sb_clause(b, s, &g->clauses[0], "parent");
        return;
    }
    sb_puts(b, "{\"all\": [");
    for (size_t k = 0; k < g->n; k++) {
        if (k)
            sb_puts(b, ", ");
        sb_clause(b, s, &g->clauses[k], "parent");
    }
    sb_puts(b, "]}");
}

static const char *type_name(fresh_param_type t)
{
    switch (t) {
    case FRESH_PARAM_FLOAT:
        return "float";
    case FRESH_PARAM_INT:
        return "int";
    case FRESH_PARAM_CATEGORICAL:
        return "categorical";
    default:
        return "ordinal";
    }
}

int fresh_space_write_json(const fresh_space *s, char **out)
{
    if (out)
        *out = NULL;
    if (!s || !out)
        return FRESH_EINVAL;
    sbuf b = {0};
    sb_puts(&b, "{\n  \"parameters\": [");
    for (size_t i = 0; i < s->n; i++) {
        const sparam *p = &s->params[i];
        sb_puts(&b, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
        sb_str(&b, p->name);
        sb_puts(&b, ", \"type\": ");
        sb_str(&b, type_name(p->type));
        if (p->type == FRESH_PARAM_FLOAT || p->type == FRESH_PARAM_INT) {
            sb_puts(&b, ", \"low\": ");
            sb_value(&b, p, p->low);
            sb_puts(&b, ", \"high\": ");
            sb_value(&b, p, p->high);
            if (p->log_scale)
                sb_puts(&b, ", \"log\": true");
        } else {
            sb_puts(&b, p->type == FRESH_PARAM_CATEGORICAL ? ", \"choices\": ["
                                                             : ", \"levels\": [");
            for (size_t k = 0; k < p->n_levels; k++) {
                if (k)
                    sb_puts(&b, ", ");
                sb_value(&b, p, (double)k);
            }
            sb_puts(&b, "]");
        }
        if (p->has_default) {
            sb_puts(&b, ", \"default\": ");
            sb_value(&b, p, p->def);
        }
        if (p->n_groups == 1) {
            sb_puts(&b, ", \"condition\": ");
            sb_group(&b, s, &p->groups[0]);
        } else if (p->n_groups > 1) {
            sb_puts(&b, ", \"condition\": {\"any\": [");
            for (size_t g = 0; g < p->n_groups; g++) {
                if (g)
                    sb_puts(&b, ", ");
                sb_group(&b, s, &p->groups[g]);
            }
            sb_puts(&b, "]}");
        }
        sb_puts(&b, "}");
    }
    sb_puts(&b, s->n ? "\n  ]" : "]");
    if (s->n_forb) {
        sb_puts(&b, ",\n  \"forbidden\": [");
        for (size_t f = 0; f < s->n_forb; f++) {
            sb_puts(&b, f ? ",\n    [" : "\n    [");
            for (size_t k = 0; k < s->forb[f].n; k++) {
                if (k)
                    sb_puts(&b, ", ");
                sb_clause(&b, s, &s->forb[f].clauses[k], "name");
            }
            sb_puts(&b, "]");
        }
        sb_puts(&b, "\n  ]");
    }
    sb_puts(&b, "\n}\n");
    return sb_finish(&b, out);
}
