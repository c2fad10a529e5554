/*
 * space_json.c - reading search spaces from JSON: fresh's own format and the
 * ConfigSpace format (ConfigSpace's read_and_write/json.py, as written by
 * HpBandSter, SMAC3 and DEHB users). The format is documented in
 * docs/space-format.md.
 *
 * DESIGN
 *   jansson parses the text (duplicate keys rejected) and reports syntax
 *   errors with line and column. The reader then walks the tree and builds
 *   the space through the public fresh_space_add_* functions, so that files
 *   and code are held to the same rules and give the same messages; the
 *   reader prefixes those messages with "FILE:LINE:COLUMN: ".
 *
 *   jansson keeps no node positions. For an error found after parsing, the
 *   reader knows the path to the offending value (say parameters[3].low) and
 *   re-scans the text, which is known to be valid JSON by then, along that
 *   path to find the value's byte offset, then turns it into a line and a
 *   column (1-based, in characters, as jansson counts them).
 *
 *   Conditions are read as trees of equals/in clauses under "all" (AND) and
 *   "any" (OR) and expanded into disjunctive normal form, the form the space
 *   stores: AND distributes over OR (a cross product of groups), OR appends
 *   groups. The expansion is capped at MAX_GROUPS groups.
 *
 *   Errors: syntax -> FRESH_EPARSE; a value of the wrong JSON type, a missing
 *   or unknown key -> FRESH_EPARSE; a bad value (bounds, duplicate names,
 *   unknown parents, cycles, an empty space) -> FRESH_EINVAL; ConfigSpace
 *   features fresh does not have -> FRESH_EUNSUPPORTED. Whatever the error,
 *   the space is emptied again.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fresh/space.h"
#include "internal.h"
#include "space_internal.h"

#define MAX_PATH 8
#define MAX_GROUPS 1024
#define MAX_DEPTH 32

/* ------------------------------------------------------------------ */
/* positions                                                            */

typedef struct step {
    const char *key; /* NULL: array index */
    size_t index;
} step;

typedef struct jpath {
    size_t n;
    step st[MAX_PATH];
} jpath;

static jpath pkey(jpath p, const char *key)
{
    if (p.n < MAX_PATH) {
        p.st[p.n].key = key;
        p.st[p.n].index = 0;
        p.n++;
    }
    return p;
}

static jpath pidx(jpath p, size_t i)
{
    if (p.n < MAX_PATH) {
        p.st[p.n].key = NULL;
        p.st[p.n].index = i;
        p.n++;
    }
    return p;
}

#define NPOS ((size_t)-1)

static size_t skip_ws(const char *t, size_t len, size_t i)
{
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

/* t[i] == '"'; returns the index after the closing quote. */
static size_t skip_string(const char *t, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (t[i] == '\\')
            i++;
        else if (t[i] == '"')
            return i + 1;
    }
    return len;
}

static size_t skip_value(const char *t, size_t len, size_t i)
{
    if (i >= len)
        return len;
    if (t[i] == '"')
        return skip_string(t, len, i);
    if (t[i] == '{' || t[i] == '[') {
        int depth = 0;
        while (i < len) {
            if (t[i] == '"') {
                i = skip_string(t, len, i);
                continue;
            }
            if (t[i] == '{' || t[i] == '[')
                depth++;
            else if (t[i] == '}' || t[i] == ']') {
                depth--;
                if (depth == 0)
                    return i + 1;
            }
            i++;
        }
        return len;
    }
    while (i < len && !strchr(",]} \t\r\n", t[i]))
        i++;
    return i;
}

/* Byte offset of the value at path p in valid JSON text, or NPOS. */
static size_t locate(const char *t, size_t len, const jpath *p)
{
    size_t i = skip_ws(t, len, 0);
    for (size_t d = 0; d < p->n; d++) {
        const step *s = &p->st[d];
        if (i >= len || t[i] != (s->key ? '{' : '['))
            return NPOS;
        i = skip_ws(t, len, i + 1);
        size_t count = 0;
        for (;;) {
            if (i >= len || t[i] == '}' || t[i] == ']')
                return NPOS;
            int match;
            if (s->key) {
                size_t end = skip_string(t, len, i);
                size_t klen = strlen(s->key);
                match = end - i == klen + 2 && memcmp(t + i + 1, s->key, klen) == 0;
                i = skip_ws(t, len, end);
                if (i >= len || t[i] != ':')
                    return NPOS;
                i = skip_ws(t, len, i + 1);
            } else {
                match = count == s->index;
            }
            if (match)
                break;
            i = skip_ws(t, len, skip_value(t, len, i));
            if (i < len && t[i] == ',')
                i = skip_ws(t, len, i + 1);
            count++;
        }
    }
    return i;
}

static void line_col(const char *t, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        if (t[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)t[i] & 0xc0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* ------------------------------------------------------------------ */
/* reader context and errors                                            */

typedef struct rctx {
    fresh_space *s;
    const char *text;
    size_t len;
    const char *src;
    int cs; /* ConfigSpace format */
} rctx;

/* "SRC:LINE:COL: " + message, LINE:COL from path p (omitted if not found). */
static int rerr(rctx *c, int status, const jpath *p, const char *fmt, ...) FRESH__PRINTF(4, 5);
static int rerr(rctx *c, int status, const jpath *p, const char *fmt, ...)
{
    char msg[FRESH__ERRMSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t off = p ? locate(c->text, c->len, p) : NPOS;
    char *buf = fresh__space_errbuf(c->s);
    if (off != NPOS) {
        int line, col;
        line_col(c->text, off, &line, &col);
        return fresh__set_err(buf, status, "%s:%d:%d: %s", c->src, line, col, msg);
    }
    return fresh__set_err(buf, status, "%s: %s", c->src, msg);
}

/* Prefixes the space's own message (from a failed fresh_space_* call). */
static int rerr_space(rctx *c, int status, const jpath *p)
{
    char msg[FRESH__ERRMSG_LEN];
    snprintf(msg, sizeof msg, "%s", fresh__space_errbuf(c->s));
    if (status == FRESH_ENOTFOUND)
        status = FRESH_EINVAL;
    return rerr(c, status, p, "%s", msg);
}

/* A short description of a JSON value for messages. */
static const char *jdesc(const json_t *v, char *buf, size_t len)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        snprintf(buf, len, "\"%.60s\"", json_string_value(v));
        break;
    case JSON_INTEGER:
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        snprintf(buf, len, "%g", json_real_value(v));
        break;
    case JSON_TRUE:
        snprintf(buf, len, "true");
        break;
    case JSON_FALSE:
        snprintf(buf, len, "false");
        break;
    case JSON_NULL:
        snprintf(buf, len, "null");
        break;
    case JSON_ARRAY:
        snprintf(buf, len, "an array");
        break;
    default:
        snprintf(buf, len, "an object");
    }
    return buf;
}

/* "parameter 'x'" or "parameters[3]" when the name is not known yet. */
static const char *who(char *buf, size_t len, const char *name, const char *list, size_t i)
{
    if (name)
        snprintf(buf, len, "parameter '%s'", name);
    else
        snprintf(buf, len, "%s[%zu]", list ? list : "?", i);
    return buf;
}

/* Checks that object o has only keys from the NULL-terminated list. */
static int only_keys(rctx *c, const json_t *o, const jpath *p, const char *whom,
                     const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        size_t j;
        for (j = 0; keys[j]; j++)
            if (strcmp(keys[j], k) == 0)
                break;
        if (!keys[j]) {
            jpath q = pkey(*p, k);
            return rerr(c, FRESH_EPARSE, &q, "%s: unknown key \"%s\"", whom, k);
        }
    }
    return FRESH_OK;
}

/* Reads an integer (or a real with an integral value) into *out. */
static int get_integer(const json_t *v, long *out)
{
    if (json_is_integer(v)) {
        *out = (long)json_integer_value(v);
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) < 9e15) {
            *out = (long)d;
            return 1;
        }
    }
    return 0;
}

/* A label from a ConfigSpace scalar (strings as they are, numbers printed,
 * booleans "true"/"false"); NULL for other types. */
static const char *cs_label(const json_t *v, char *buf, size_t len)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_real(v)) {
        fresh__format_double(buf, len, json_real_value(v));
        return buf;
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    return NULL;
}

/* Converts JSON value v to a value-space value of parameter pi. Returns
 * FRESH_OK or an error (message set, path p). */
static int to_value(rctx *c, size_t pi, const json_t *v, const jpath *p, const char *whom,
                    double *out)
{
    fresh_param_info info;
    fresh_space_param(c->s, pi, &info);
    char d[96], lb[64];
    switch (info.type) {
    case FRESH_PARAM_FLOAT:
        if (!json_is_number(v))
            return rerr(c, FRESH_EPARSE, p, "%s: value %s for '%s' must be a number", whom,
                        jdesc(v, d, sizeof d), info.name);
        *out = json_number_value(v);
        return FRESH_OK;
    case FRESH_PARAM_INT: {
        long l;
        if (!get_integer(v, &l))
            return rerr(c, FRESH_EPARSE, p, "%s: value %s for '%s' must be an integer", whom,
                        jdesc(v, d, sizeof d), info.name);
        *out = (double)l;
        return FRESH_OK;
    }
    default:
        break;
    }
    if (info.ordinal_values) {
        if (!json_is_number(v))
            return rerr(c, FRESH_EPARSE, p, "%s: value %s for '%s' must be a number", whom,
                        jdesc(v, d, sizeof d), info.name);
        double x = json_number_value(v);
        for (size_t k = 0; k < info.n_levels; k++)
            if (info.ordinal_values[k] == x) {
                *out = (double)k;
                return FRESH_OK;
            }
        return rerr(c, FRESH_EINVAL, p, "%s: value %s is not a level of '%s'", whom,
                    jdesc(v, d, sizeof d), info.name);
    }
    const char *label = c->cs ? cs_label(v, lb, sizeof lb)
                              : (json_is_string(v) ? json_string_value(v) : NULL);
    if (!label)
        return rerr(c, FRESH_EPARSE, p, "%s: value %s for '%s' must be a string", whom,
                    jdesc(v, d, sizeof d), info.name);
    int k = fresh_space_level_index(c->s, pi, label);
    if (k < 0)
        return rerr(c, FRESH_EINVAL, p, "%s: value %s is not a %s of '%s'", whom,
                    jdesc(v, d, sizeof d),
                    info.type == FRESH_PARAM_CATEGORICAL ? "choice" : "level", info.name);
    *out = (double)k;
    return FRESH_OK;
}

/* ------------------------------------------------------------------ */
/* conditions in disjunctive normal form                                */

typedef struct leaf {
    size_t parent;
    fresh_cmp cmp; /* IN (v[0..n)), or NE/LT/GT (v[0]) */
    size_t n;
    double *v;
} leaf;

typedef struct igroup {
    size_t n;
    size_t *ix; /* indices into the leaf table */
} igroup;

typedef struct dnf {
    size_t n;
    igroup *g;
} dnf;

typedef struct leaves {
    size_t n, cap;
    leaf *a;
} leaves;

static void dnf_free(dnf *d)
{
    for (size_t i = 0; i < d->n; i++)
        fresh__free(d->g[i].ix);
    fresh__free(d->g);
    d->g = NULL;
    d->n = 0;
}

static void leaves_free(leaves *L)
{
    for (size_t i = 0; i < L->n; i++)
        fresh__free(L->a[i].v);
    fresh__free(L->a);
    L->a = NULL;
    L->n = L->cap = 0;
}

/* Appends b's groups to a (b is emptied). */
static int dnf_or(dnf *a, dnf *b)
{
    if (a->n + b->n > MAX_GROUPS)
        return FRESH_EINVAL;
    igroup *g = fresh__realloc(a->g, (a->n + b->n) * sizeof *g);
    if (!g)
        return FRESH_ENOMEM;
    a->g = g;
    memcpy(a->g + a->n, b->g, b->n * sizeof *g);
    a->n += b->n;
    fresh__free(b->g);
    b->g = NULL;
    b->n = 0;
    return FRESH_OK;
}

/* a := a AND b (cross product); b is left as it was. */
static int dnf_and(dnf *a, const dnf *b)
{
    if (b->n && a->n > MAX_GROUPS / b->n)
        return FRESH_EINVAL;
    dnf r = {0, NULL};
    r.g = fresh__calloc(a->n * b->n, sizeof *r.g);
    if (!r.g)
        return FRESH_ENOMEM;
    for (size_t i = 0; i < a->n; i++)
        for (size_t j = 0; j < b->n; j++) {
            igroup *g = &r.g[r.n];
            g->ix = fresh__malloc((a->g[i].n + b->g[j].n) * sizeof *g->ix);
            if (!g->ix) {
                dnf_free(&r);
                return FRESH_ENOMEM;
            }
            memcpy(g->ix, a->g[i].ix, a->g[i].n * sizeof *g->ix);
            memcpy(g->ix + a->g[i].n, b->g[j].ix, b->g[j].n * sizeof *g->ix);
            g->n = a->g[i].n + b->g[j].n;
            r.n++;
        }
    dnf_free(a);
    *a = r;
    return FRESH_OK;
}

/* A DNF with one group holding leaf `ix`. */
static int dnf_single(dnf *d, size_t ix)
{
    d->g = fresh__calloc(1, sizeof *d->g);
    if (!d->g)
        return FRESH_ENOMEM;
    d->g[0].ix = fresh__malloc(sizeof *d->g[0].ix);
    if (!d->g[0].ix) {
        fresh__free(d->g);
        d->g = NULL;
        return FRESH_ENOMEM;
    }
    d->g[0].ix[0] = ix;
    d->g[0].n = 1;
    d->n = 1;
    return FRESH_OK;
}

static int nomem(rctx *c) { return rerr(c, FRESH_ENOMEM, NULL, "out of memory"); }

/* Reads the values of a condition or forbidden clause on parameter pi: the
 * scalar vals, or the non-empty array vals when is_list. *out (n_out values)
 * is the caller's to free. */
static int read_values(rctx *c, int pi, const json_t *vals, int is_list, const jpath *vpath,
                       const char *whom, const char *what, double **out, size_t *n_out)
{
    size_t n = is_list ? json_array_size(vals) : 1;
    if (is_list && (!json_is_array(vals) || n == 0))
        return rerr(c, FRESH_EPARSE, vpath, "%s: %s values must be a non-empty array", whom,
                    what);
    double *v = fresh__malloc(n * sizeof *v);
    if (!v)
        return nomem(c);
    for (size_t k = 0; k < n; k++) {
        jpath q = is_list ? pidx(*vpath, k) : *vpath;
        int rc = to_value(c, (size_t)pi, is_list ? json_array_get(vals, k) : vals, &q, whom,
                          &v[k]);
        if (rc < 0) {
            fresh__free(v);
            return rc;
        }
    }
    *out = v;
    *n_out = n;
    return FRESH_OK;
}

/* Adds the leaf "parent IN values" (a JSON scalar or array; cmp IN) or
 * "parent cmp value" (a scalar; cmp NE, LT, GT), making *out a one-group
 * DNF. */
static int make_leaf(rctx *c, leaves *L, const char *child, const json_t *parent,
                     const jpath *ppath, fresh_cmp cmp, const json_t *vals, int is_list,
                     const jpath *vpath, dnf *out)
{
    char whom[300], d[96];
    who(whom, sizeof whom, child, "", 0);
    if (!json_is_string(parent))
        return rerr(c, FRESH_EPARSE, ppath, "%s: condition parent must be a string, got %s",
                    whom, jdesc(parent, d, sizeof d));
    int pi = fresh_space_index(c->s, json_string_value(parent));
    if (pi < 0)
        return rerr(c, FRESH_EINVAL, ppath, "%s: condition parent '%s' is not a parameter",
                    whom, json_string_value(parent));
    if (L->n == L->cap) {
        size_t cap = L->cap ? 2 * L->cap : 8;
        leaf *a = fresh__realloc(L->a, cap * sizeof *a);
        if (!a)
            return nomem(c);
        L->a = a;
        L->cap = cap;
    }
    double *v = NULL;
    size_t n = 0;
    int rc = read_values(c, pi, vals, is_list, vpath, whom, "condition", &v, &n);
    if (rc < 0)
        return rc;
    L->a[L->n].parent = (size_t)pi;
    L->a[L->n].cmp = cmp;
    L->a[L->n].n = n;
    L->a[L->n].v = v;
    L->n++;
    if (dnf_single(out, L->n - 1) < 0)
        return nomem(c);
    return FRESH_OK;
}

/* Combines the DNFs of the elements of array `list` with AND or OR. */
typedef int (*cond_parser)(rctx *c, const json_t *j, const jpath *p, const char *child,
                           leaves *L, dnf *out, int depth);

static int combine(rctx *c, const json_t *list, const jpath *p, const char *child, leaves *L,
                   dnf *out, int depth, int is_and, cond_parser parse, const char *what)
{
    char whom[300];
    who(whom, sizeof whom, child, "", 0);
    if (!json_is_array(list) || json_array_size(list) == 0)
        return rerr(c, FRESH_EPARSE, p, "%s: %s must be a non-empty array of conditions", whom,
                    what);
    for (size_t k = 0; k < json_array_size(list); k++) {
        jpath q = pidx(*p, k);
        dnf sub = {0, NULL};
        int rc = parse(c, json_array_get(list, k), &q, child, L, &sub, depth + 1);
        if (rc < 0) {
            dnf_free(&sub);
            if (k > 0)
                dnf_free(out); /* the groups combined so far */
            return rc;
        }
        if (k == 0) {
            *out = sub;
            continue;
        }
        rc = is_and ? dnf_and(out, &sub) : dnf_or(out, &sub);
        dnf_free(&sub);
        if (rc < 0)
            dnf_free(out);
        if (rc == FRESH_ENOMEM)
            return nomem(c);
        if (rc < 0)
            return rerr(c, FRESH_EINVAL, p, "%s: condition expands to more than %d groups",
                        whom, MAX_GROUPS);
    }
    return FRESH_OK;
}

/* The comparison keys of a fresh-format condition or forbidden clause. */
static const struct {
    const char *key;
    fresh_cmp cmp;
} cmp_keys[] = {{"equals", FRESH_CMP_EQ}, {"in", FRESH_CMP_IN}, {"not_equals", FRESH_CMP_NE},
                {"less_than", FRESH_CMP_LT}, {"greater_than", FRESH_CMP_GT}};
#define N_CMP_KEYS (sizeof cmp_keys / sizeof cmp_keys[0])

/* fresh format: {"parent": P, "equals": v} | {"parent": P, "in": [..]} |
 * {"parent": P, "not_equals" | "less_than" | "greater_than": v} |
 * {"all": [..]} | {"any": [..]}. */
static int parse_cond_fresh(rctx *c, const json_t *j, const jpath *p, const char *child,
                            leaves *L, dnf *out, int depth)
{
    char whom[300];
    who(whom, sizeof whom, child, "", 0);
    if (depth > MAX_DEPTH)
        return rerr(c, FRESH_EPARSE, p, "%s: condition nested too deeply", whom);
    if (!json_is_object(j))
        return rerr(c, FRESH_EPARSE, p, "%s: a condition must be an object", whom);
    const json_t *all = json_object_get(j, "all"), *any = json_object_get(j, "any");
    if (all || any) {
        static const char *const keys_all[] = {"all", NULL}, *const keys_any[] = {"any", NULL};
        int rc = only_keys(c, j, p, whom, all ? keys_all : keys_any);
        if (rc < 0)
            return rc;
        jpath q = pkey(*p, all ? "all" : "any");
        return combine(c, all ? all : any, &q, child, L, out, depth, all != NULL,
                       parse_cond_fresh, all ? "\"all\"" : "\"any\"");
    }
    static const char *const keys[] = {"parent",    "equals",    "in", "not_equals",
                                       "less_than", "greater_than", NULL};
    int rc = only_keys(c, j, p, whom, keys);
    if (rc < 0)
        return rc;
    const json_t *parent = json_object_get(j, "parent");
    if (!parent)
        return rerr(c, FRESH_EPARSE, p, "%s: condition needs \"parent\" (or \"all\"/\"any\")",
                    whom);
    size_t found = N_CMP_KEYS, n_found = 0;
    for (size_t k = 0; k < N_CMP_KEYS; k++)
        if (json_object_get(j, cmp_keys[k].key)) {
            found = k;
            n_found++;
        }
    if (n_found != 1)
        return rerr(c, FRESH_EPARSE, p,
                    "%s: condition needs exactly one of \"equals\", \"in\", \"not_equals\", "
                    "\"less_than\" and \"greater_than\"", whom);
    fresh_cmp cmp = cmp_keys[found].cmp;
    jpath pp = pkey(*p, "parent"), vp = pkey(*p, cmp_keys[found].key);
    return make_leaf(c, L, child, parent, &pp, cmp == FRESH_CMP_EQ ? FRESH_CMP_IN : cmp,
                     json_object_get(j, cmp_keys[found].key), cmp == FRESH_CMP_IN, &vp, out);
}

/* ConfigSpace: {"child", "parent", "type": EQ|NEQ|LT|GT|IN, "value"|"values"}
 * or {"child", "type": AND|OR, "conditions": [..]}. */
static int parse_cond_cs(rctx *c, const json_t *j, const jpath *p, const char *child, leaves *L,
                         dnf *out, int depth)
{
    char whom[300];
    who(whom, sizeof whom, child, "", 0);
    if (depth > MAX_DEPTH)
        return rerr(c, FRESH_EPARSE, p, "%s: condition nested too deeply", whom);
    if (!json_is_object(j))
        return rerr(c, FRESH_EPARSE, p, "%s: a condition must be an object", whom);
    const json_t *ch = json_object_get(j, "child");
    if (ch && (!json_is_string(ch) || strcmp(json_string_value(ch), child) != 0)) {
        jpath q = pkey(*p, "child");
        return rerr(c, FRESH_EINVAL, &q, "%s: nested condition names another child", whom);
    }
    const json_t *type = json_object_get(j, "type");
    jpath tp = pkey(*p, "type");
    if (!json_is_string(type))
        return rerr(c, FRESH_EPARSE, json_is_null(type) || !type ? p : &tp,
                    "%s: condition needs a string \"type\"", whom);
    const char *t = json_string_value(type);
    if (strcmp(t, "AND") == 0 || strcmp(t, "OR") == 0) {
        jpath q = pkey(*p, "conditions");
        return combine(c, json_object_get(j, "conditions"), &q, child, L, out, depth,
                       t[0] == 'A', parse_cond_cs, "\"conditions\"");
    }
    static const struct {
        const char *type;
        fresh_cmp cmp;
    } leaf_types[] = {{"EQ", FRESH_CMP_IN}, {"IN", FRESH_CMP_IN}, {"NEQ", FRESH_CMP_NE},
                      {"LT", FRESH_CMP_LT}, {"GT", FRESH_CMP_GT}};
    for (size_t k = 0; k < sizeof leaf_types / sizeof leaf_types[0]; k++) {
        if (strcmp(t, leaf_types[k].type) != 0)
            continue;
        int is_in = k == 1;
        const json_t *parent = json_object_get(j, "parent");
        const json_t *v = json_object_get(j, is_in ? "values" : "value");
        if (!parent || !v)
            return rerr(c, FRESH_EPARSE, p, "%s: %s condition needs \"parent\" and \"%s\"", whom,
                        t, is_in ? "values" : "value");
        jpath pp = pkey(*p, "parent"), vp = pkey(*p, is_in ? "values" : "value");
        return make_leaf(c, L, child, parent, &pp, leaf_types[k].cmp, v, is_in, &vp, out);
    }
    return rerr(c, FRESH_EPARSE, &tp, "%s: unknown condition type \"%s\"", whom, t);
}

/* Adds the DNF as the condition of child. */
static int add_dnf(rctx *c, const char *child, const leaves *L, const dnf *d, const jpath *p)
{
    for (size_t g = 0; g < d->n; g++)
        for (size_t k = 0; k < d->g[g].n; k++) {
            const leaf *lf = &L->a[d->g[g].ix[k]];
            fresh_param_info pinfo;
            fresh_space_param(c->s, lf->parent, &pinfo);
            int new_group = g > 0 && k == 0;
            int rc = lf->cmp == FRESH_CMP_IN
                         ? fresh_space_add_condition(c->s, child, pinfo.name, lf->n, lf->v,
                                                     new_group)
                         : fresh_space_add_condition_cmp(c->s, child, pinfo.name, lf->cmp,
                                                         lf->v[0], new_group);
            if (rc < 0)
                return rerr_space(c, rc, p);
        }
    return FRESH_OK;
}

/* ------------------------------------------------------------------ */
/* parameters                                                           */

/* Reads the array of strings `arr` into a fresh__malloc'ed array of pointers
 * (borrowed from jansson; in ConfigSpace mode any scalar, printed into
 * `store`, n entries of 64 bytes). */
static int string_list(rctx *c, const json_t *arr, const jpath *p, const char *whom,
                       const char *what, const char ***out, char **store)
{
    *out = NULL;
    *store = NULL;
    size_t n = json_array_size(arr);
    if (!json_is_array(arr) || n == 0)
        return rerr(c, FRESH_EPARSE, p, "%s: \"%s\" must be a non-empty array", whom, what);
    const char **l = fresh__calloc(n, sizeof *l);
    char *st = fresh__calloc(n, 64);
    if (!l || !st) {
        fresh__free(l);
        fresh__free(st);
        return nomem(c);
    }
    for (size_t k = 0; k < n; k++) {
        const json_t *v = json_array_get(arr, k);
        const char *s = c->cs ? cs_label(v, st + 64 * k, 64)
                              : (json_is_string(v) ? json_string_value(v) : NULL);
        if (!s) {
            char d[96];
            jpath q = pidx(*p, k);
            fresh__free(l);
            fresh__free(st);
            return rerr(c, FRESH_EPARSE, &q, "%s: \"%s\" entry %s must be a string", whom, what,
                        jdesc(v, d, sizeof d));
        }
        l[k] = s;
    }
    *out = l;
    *store = st;
    return FRESH_OK;
}

/* Adds a categorical (as_ordinal = 0) or an ordinal from array arr of
 * strings, or, for an ordinal, of numbers. */
static int add_levels(rctx *c, const char *name, const json_t *arr, const jpath *ap,
                      const jpath *pp, const char *whom, const char *what, int ordinal)
{
    size_t n = json_array_size(arr);
    int rc;
    if (ordinal && json_is_array(arr) && n > 0) {
        int numeric = 1, increasing = 1;
        for (size_t k = 0; k < n; k++) {
            const json_t *v = json_array_get(arr, k);
            if (!json_is_number(v))
                numeric = 0;
            else if (k > 0 && json_is_number(json_array_get(arr, k - 1)) &&
                     !(json_number_value(v) > json_number_value(json_array_get(arr, k - 1))))
                increasing = 0;
        }
        if (!c->cs) {
            int strings = 1;
            for (size_t k = 0; k < n; k++)
                if (!json_is_string(json_array_get(arr, k)))
                    strings = 0;
            if (!numeric && !strings)
                return rerr(c, FRESH_EPARSE, ap,
                            "%s: \"%s\" must be all numbers or all strings", whom, what);
            increasing = 1; /* the space reports non-increasing numbers */
        }
        if (numeric && increasing) {
            double *v = fresh__malloc(n * sizeof *v);
            if (!v)
                return nomem(c);
            for (size_t k = 0; k < n; k++)
                v[k] = json_number_value(json_array_get(arr, k));
            rc = fresh_space_add_ordinal(c->s, name, n, v);
            fresh__free(v);
            return rc < 0 ? rerr_space(c, rc, pp) : FRESH_OK;
        }
    }
    const char **labels;
    char *store;
    rc = string_list(c, arr, ap, whom, what, &labels, &store);
    if (rc < 0)
        return rc;
    rc = ordinal ? fresh_space_add_ordinal_labels(c->s, name, n, labels)
                 : fresh_space_add_categorical(c->s, name, n, labels);
    fresh__free(labels);
    fresh__free(store);
    return rc < 0 ? rerr_space(c, rc, pp) : FRESH_OK;
}

/* Reads "low"/"high" (fresh) or "lower"/"upper" (ConfigSpace) and "log". */
static int add_range(rctx *c, const char *name, const json_t *o, const jpath *pp,
                     const char *whom, int is_int)
{
    const char *klo = c->cs ? "lower" : "low", *khi = c->cs ? "upper" : "high";
    const json_t *lo = json_object_get(o, klo), *hi = json_object_get(o, khi);
    const json_t *lg = json_object_get(o, "log");
    jpath lp = pkey(*pp, klo), hp = pkey(*pp, khi), gp = pkey(*pp, "log");
    if (!lo || !hi)
        return rerr(c, FRESH_EPARSE, pp, "%s: missing \"%s\"", whom, lo ? khi : klo);
    if (lg && !json_is_boolean(lg))
        return rerr(c, FRESH_EPARSE, &gp, "%s: \"log\" must be true or false", whom);
    int log_scale = lg && json_is_true(lg);
    int rc;
    if (is_int) {
        long l, h;
        if (!get_integer(lo, &l))
            return rerr(c, FRESH_EPARSE, &lp, "%s: \"%s\" must be an integer", whom, klo);
        if (!get_integer(hi, &h))
            return rerr(c, FRESH_EPARSE, &hp, "%s: \"%s\" must be an integer", whom, khi);
        rc = fresh_space_add_int(c->s, name, l, h, log_scale);
    } else {
        if (!json_is_number(lo))
            return rerr(c, FRESH_EPARSE, &lp, "%s: \"%s\" must be a number", whom, klo);
        if (!json_is_number(hi))
            return rerr(c, FRESH_EPARSE, &hp, "%s: \"%s\" must be a number", whom, khi);
        rc = fresh_space_add_float(c->s, name, json_number_value(lo), json_number_value(hi),
                                   log_scale);
    }
    return rc < 0 ? rerr_space(c, rc, pp) : FRESH_OK;
}

/* Sets the default from JSON value v (null: none). */
static int set_default(rctx *c, const char *name, const json_t *v, const jpath *dp,
                       const char *whom)
{
    if (!v || json_is_null(v))
        return FRESH_OK;
    double x;
    int pi = fresh_space_index(c->s, name);
    int rc = to_value(c, (size_t)pi, v, dp, whom, &x);
    if (rc < 0)
        return rc;
    rc = fresh_space_set_default(c->s, name, x);
    return rc < 0 ? rerr_space(c, rc, dp) : FRESH_OK;
}

static int read_name(rctx *c, const json_t *o, const jpath *pp, const char *list, size_t i,
                     const char **name)
{
    char whom[64];
    who(whom, sizeof whom, NULL, list, i);
    if (!json_is_object(o))
        return rerr(c, FRESH_EPARSE, pp, "%s: must be an object", whom);
    const json_t *n = json_object_get(o, "name");
    jpath np = pkey(*pp, "name");
    if (!n)
        return rerr(c, FRESH_EPARSE, pp, "%s: missing \"name\"", whom);
    if (!json_is_string(n))
        return rerr(c, FRESH_EPARSE, &np, "%s: \"name\" must be a string", whom);
    *name = json_string_value(n);
    return FRESH_OK;
}

static int read_param_fresh(rctx *c, const json_t *o, size_t i)
{
    jpath pp = pidx(pkey((jpath){0}, "parameters"), i);
    const char *name;
    int rc = read_name(c, o, &pp, "parameters", i, &name);
    if (rc < 0)
        return rc;
    char whom[300];
    who(whom, sizeof whom, name, NULL, 0);
    const json_t *type = json_object_get(o, "type");
    jpath tp = pkey(pp, "type");
    if (!type)
        return rerr(c, FRESH_EPARSE, &pp, "%s: missing \"type\"", whom);
    if (!json_is_string(type))
        return rerr(c, FRESH_EPARSE, &tp, "%s: \"type\" must be a string", whom);
    const char *t = json_string_value(type);
    static const char *const k_range[] = {"name", "type", "low", "high", "log", "default",
                                          "condition", "description", NULL};
    static const char *const k_cat[] = {"name", "type", "choices", "default", "condition",
                                        "description", NULL};
    static const char *const k_ord[] = {"name", "type", "levels", "default", "condition",
                                        "description", NULL};
    if (strcmp(t, "float") == 0 || strcmp(t, "int") == 0) {
        if ((rc = only_keys(c, o, &pp, whom, k_range)) < 0)
            return rc;
        rc = add_range(c, name, o, &pp, whom, t[0] == 'i');
    } else if (strcmp(t, "categorical") == 0 || strcmp(t, "ordinal") == 0) {
        int ord = t[0] == 'o';
        const char *key = ord ? "levels" : "choices";
        if ((rc = only_keys(c, o, &pp, whom, ord ? k_ord : k_cat)) < 0)
            return rc;
        const json_t *arr = json_object_get(o, key);
        jpath ap = pkey(pp, key);
        if (!arr)
            return rerr(c, FRESH_EPARSE, &pp, "%s: missing \"%s\"", whom, key);
        rc = add_levels(c, name, arr, &ap, &pp, whom, key, ord);
    } else {
        return rerr(c, FRESH_EINVAL, &tp,
                    "%s: unknown type \"%s\" (expected float, int, categorical or ordinal)", whom,
                    t);
    }
    if (rc < 0)
        return rc;
    const json_t *desc = json_object_get(o, "description");
    if (desc && !json_is_string(desc)) {
        jpath q = pkey(pp, "description");
        return rerr(c, FRESH_EPARSE, &q, "%s: \"description\" must be a string", whom);
    }
    jpath dp = pkey(pp, "default");
    return set_default(c, name, json_object_get(o, "default"), &dp, whom);
}

static int read_param_cs(rctx *c, const json_t *o, size_t i)
{
    jpath pp = pidx(pkey((jpath){0}, "hyperparameters"), i);
    const char *name;
    int rc = read_name(c, o, &pp, "hyperparameters", i, &name);
    if (rc < 0)
        return rc;
    char whom[300];
    who(whom, sizeof whom, name, NULL, 0);
    const json_t *type = json_object_get(o, "type");
    jpath tp = pkey(pp, "type");
    if (!json_is_string(type))
        return rerr(c, FRESH_EPARSE, type ? &tp : &pp, "%s: needs a string \"type\"", whom);
    const char *t = json_string_value(type);
    const json_t *def = json_object_get(o, "default");
    jpath dp = pkey(pp, "default");
    if (strcmp(t, "uniform_float") == 0 || strcmp(t, "uniform_int") == 0) {
        const json_t *q = json_object_get(o, "q");
        if (q && !json_is_null(q)) {
            jpath qp = pkey(pp, "q");
            return rerr(c, FRESH_EUNSUPPORTED, &qp, "%s: quantization \"q\" is not supported",
                        whom);
        }
        rc = add_range(c, name, o, &pp, whom, t[8] == 'i');
    } else if (strcmp(t, "categorical") == 0 || strcmp(t, "ordinal") == 0) {
        int ord = t[0] == 'o';
        const char *key = ord ? "sequence" : "choices";
        const char *wkeys[] = {"weights", "probabilities"};
        for (int k = 0; k < 2; k++) {
            const json_t *w = json_object_get(o, wkeys[k]);
            if (w && !json_is_null(w)) {
                jpath wp = pkey(pp, wkeys[k]);
                return rerr(c, FRESH_EUNSUPPORTED, &wp,
                            "%s: categorical \"%s\" are not supported (fresh samples choices "
                            "uniformly)",
                            whom, wkeys[k]);
            }
        }
        const json_t *arr = json_object_get(o, key);
        jpath ap = pkey(pp, key);
        if (!arr)
            return rerr(c, FRESH_EPARSE, &pp, "%s: missing \"%s\"", whom, key);
        rc = add_levels(c, name, arr, &ap, &pp, whom, key, ord);
    } else if (strcmp(t, "constant") == 0 || strcmp(t, "unparametrized") == 0) {
        const json_t *v = json_object_get(o, "value");
        jpath vp = pkey(pp, "value");
        if (!v)
            return rerr(c, FRESH_EPARSE, &pp, "%s: missing \"value\"", whom);
        json_t *arr = json_array();
        if (!arr || json_array_append(arr, (json_t *)v) < 0) {
            json_decref(arr);
            return nomem(c);
        }
        /* a numeric constant becomes a one-level numeric ordinal, any other
         * a one-choice categorical */
        rc = add_levels(c, name, arr, &vp, &pp, whom, "value", json_is_number(v));
        json_decref(arr);
        def = NULL;
    } else if (strstr(t, "normal_") == t || strstr(t, "beta_") == t) {
        return rerr(c, FRESH_EUNSUPPORTED, &tp, "%s: type \"%s\" is not supported", whom, t);
    } else {
        return rerr(c, FRESH_EINVAL, &tp, "%s: unknown type \"%s\"", whom, t);
    }
    if (rc < 0)
        return rc;
    return set_default(c, name, def, &dp, whom);
}

/* ------------------------------------------------------------------ */
/* forbidden clauses                                                    */

typedef struct fparts {
    size_t n, cap;
    fresh_clause *a;
    size_t n_rel, cap_rel;
    fresh_relation *r; /* names borrowed from jansson */
} fparts;

static void fparts_free(fparts *f)
{
    for (size_t i = 0; i < f->n; i++)
        fresh__free((void *)f->a[i].values);
    fresh__free(f->a);
    fresh__free(f->r);
}

/* Adds the relation "left cmp right" (JSON names) to f. */
static int add_relation(rctx *c, fparts *f, const json_t *left, const json_t *right,
                        fresh_cmp cmp, const jpath *p)
{
    char d[96];
    const json_t *bad = !json_is_string(left) ? left : !json_is_string(right) ? right : NULL;
    if (bad || !left || !right)
        return rerr(c, FRESH_EPARSE, p,
                    "forbidden relation: \"left\" and \"right\" must be parameter names, got %s",
                    bad ? jdesc(bad, d, sizeof d) : "nothing");
    for (int side = 0; side < 2; side++) {
        const char *nm = json_string_value(side ? right : left);
        if (fresh_space_index(c->s, nm) < 0) {
            jpath q = pkey(*p, side ? "right" : "left");
            char whom[300];
            who(whom, sizeof whom, nm, NULL, 0);
            return rerr(c, FRESH_EINVAL, &q, "%s: forbidden relation names an unknown parameter",
                        whom);
        }
    }
    if (fresh__grow((void **)&f->r, &f->cap_rel, f->n_rel + 1, sizeof *f->r) != FRESH_OK)
        return nomem(c);
    f->r[f->n_rel++] = (fresh_relation){json_string_value(left), cmp, json_string_value(right)};
    return FRESH_OK;
}

/* Adds "name IN vals" to f (vals a scalar unless is_list). */
static int add_part(rctx *c, fparts *f, const json_t *name, const jpath *np, const json_t *vals,
                    int is_list, const jpath *vp)
{
    char d[96], whom[300];
    if (!json_is_string(name))
        return rerr(c, FRESH_EPARSE, np, "forbidden clause: \"name\" must be a string, got %s",
                    jdesc(name, d, sizeof d));
    const char *nm = json_string_value(name);
    who(whom, sizeof whom, nm, NULL, 0);
    int pi = fresh_space_index(c->s, nm);
    if (pi < 0)
        return rerr(c, FRESH_EINVAL, np, "%s: forbidden clause names an unknown parameter",
                    whom);
    if (fresh__grow((void **)&f->a, &f->cap, f->n + 1, sizeof *f->a) != FRESH_OK)
        return nomem(c);
    double *v = NULL;
    size_t n = 0;
    int rc = read_values(c, pi, vals, is_list, vp, whom, "forbidden", &v, &n);
    if (rc < 0)
        return rc;
    f->a[f->n].name = nm;
    f->a[f->n].n_values = n;
    f->a[f->n].values = v;
    f->n++;
    return FRESH_OK;
}

/* fresh: [{"name": P, "in": [..]} | {"name": P, "equals": v} |
 *         {"left": A, "relation": "equals" | "not_equals" | "less_than" |
 *          "greater_than", "right": B}, ...] */
static int read_forbidden_fresh(rctx *c, const json_t *arr, const jpath *p, fparts *f)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return rerr(c, FRESH_EPARSE, p,
                    "forbidden: each entry must be a non-empty array of clauses");
    static const char *const keys[] = {"name", "equals", "in", NULL};
    static const char *const rel_keys[] = {"left", "relation", "right", NULL};
    for (size_t k = 0; k < json_array_size(arr); k++) {
        const json_t *o = json_array_get(arr, k);
        jpath q = pidx(*p, k);
        if (!json_is_object(o))
            return rerr(c, FRESH_EPARSE, &q, "forbidden: a clause must be an object");
        const json_t *rel = json_object_get(o, "relation");
        if (rel) {
            int rc = only_keys(c, o, &q, "forbidden relation", rel_keys);
            if (rc < 0)
                return rc;
            size_t m = N_CMP_KEYS;
            for (size_t i = 0; json_is_string(rel) && i < N_CMP_KEYS; i++)
                if (cmp_keys[i].cmp != FRESH_CMP_IN &&
                    strcmp(json_string_value(rel), cmp_keys[i].key) == 0)
                    m = i;
            jpath rp = pkey(q, "relation");
            char d[96];
            if (m == N_CMP_KEYS)
                return rerr(c, FRESH_EPARSE, &rp,
                            "forbidden relation: \"relation\" must be \"equals\", "
                            "\"not_equals\", \"less_than\" or \"greater_than\", got %s",
                            jdesc(rel, d, sizeof d));
            rc = add_relation(c, f, json_object_get(o, "left"), json_object_get(o, "right"),
                              cmp_keys[m].cmp, &q);
            if (rc < 0)
                return rc;
            continue;
        }
        int rc = only_keys(c, o, &q, "forbidden clause", keys);
        if (rc < 0)
            return rc;
        const json_t *name = json_object_get(o, "name"), *eq = json_object_get(o, "equals"),
                     *in = json_object_get(o, "in");
        if (!name || (eq != NULL) == (in != NULL))
            return rerr(c, FRESH_EPARSE, &q,
                        "forbidden clause needs \"name\" and exactly one of \"equals\" and "
                        "\"in\"");
        jpath np = pkey(q, "name"), vp = pkey(q, eq ? "equals" : "in");
        rc = add_part(c, f, name, &np, eq ? eq : in, in != NULL, &vp);
        if (rc < 0)
            return rc;
    }
    return FRESH_OK;
}

/* ConfigSpace: EQUALS {name, value}, IN {name, values}, AND {clauses},
 * RELATION {left, right, lambda: EQUALS | LESS | GREATER}. */
static int read_forbidden_cs(rctx *c, const json_t *o, const jpath *p, fparts *f, int depth)
{
    if (depth > MAX_DEPTH)
        return rerr(c, FRESH_EPARSE, p, "forbidden clause nested too deeply");
    if (!json_is_object(o))
        return rerr(c, FRESH_EPARSE, p, "forbidden clause must be an object");
    const json_t *type = json_object_get(o, "type");
    jpath tp = pkey(*p, "type");
    if (!json_is_string(type))
        return rerr(c, FRESH_EPARSE, type ? &tp : p, "forbidden clause needs a string \"type\"");
    const char *t = json_string_value(type);
    if (strcmp(t, "AND") == 0) {
        const json_t *cl = json_object_get(o, "clauses");
        jpath cp = pkey(*p, "clauses");
        if (!json_is_array(cl) || json_array_size(cl) == 0)
            return rerr(c, FRESH_EPARSE, cl ? &cp : p,
                        "forbidden AND needs a non-empty \"clauses\" array");
        for (size_t k = 0; k < json_array_size(cl); k++) {
            jpath q = pidx(cp, k);
            int rc = read_forbidden_cs(c, json_array_get(cl, k), &q, f, depth + 1);
            if (rc < 0)
                return rc;
        }
        return FRESH_OK;
    }
    if (strcmp(t, "EQUALS") == 0 || strcmp(t, "IN") == 0) {
        int is_in = t[0] == 'I';
        const json_t *name = json_object_get(o, "name");
        const json_t *v = json_object_get(o, is_in ? "values" : "value");
        if (!name || !v)
            return rerr(c, FRESH_EPARSE, p, "forbidden %s clause needs \"name\" and \"%s\"", t,
                        is_in ? "values" : "value");
        jpath np = pkey(*p, "name"), vp = pkey(*p, is_in ? "values" : "value");
        return add_part(c, f, name, &np, v, is_in, &vp);
    }
    if (strncmp(t, "RELATION", 8) == 0 && (t[8] == '\0' || t[8] == '_')) {
        /* json format 0.4: "RELATION" with "lambda" EQUALS, LESS, GREATER (EQ,
         * LT, GT in ConfigSpace 1.x's legacy reader); 1.x: RELATION_EQ/LT/GT */
        static const struct {
            const char *name;
            fresh_cmp cmp;
        } rel[] = {{"EQUALS", FRESH_CMP_EQ}, {"EQ", FRESH_CMP_EQ},  {"LESS", FRESH_CMP_LT},
                   {"LT", FRESH_CMP_LT},     {"GREATER", FRESH_CMP_GT}, {"GT", FRESH_CMP_GT}};
        const json_t *lambda = t[8] == '_' ? type : json_object_get(o, "lambda");
        const char *l = json_string_value(lambda);
        if (l && t[8] == '_')
            l += 9;
        fresh_cmp cmp = FRESH_CMP_IN;
        for (size_t k = 0; l && k < sizeof rel / sizeof rel[0]; k++)
            if (strcmp(l, rel[k].name) == 0)
                cmp = rel[k].cmp;
        jpath lp = t[8] == '_' ? tp : pkey(*p, "lambda");
        char d[96];
        if (cmp == FRESH_CMP_IN)
            return rerr(c, lambda ? FRESH_EUNSUPPORTED : FRESH_EPARSE, lambda ? &lp : p,
                        "forbidden relation %s is not supported (RELATION with \"lambda\" "
                        "EQUALS, LESS or GREATER; RELATION_EQ, RELATION_LT, RELATION_GT)",
                        lambda ? jdesc(lambda, d, sizeof d) : "without \"lambda\"");
        return add_relation(c, f, json_object_get(o, "left"), json_object_get(o, "right"), cmp,
                            p);
    }
    return rerr(c, FRESH_EUNSUPPORTED, &tp,
                "forbidden clause type \"%s\" is not supported (only EQUALS, IN, AND, RELATION)",
                t);
}

/* ------------------------------------------------------------------ */
/* the two formats                                                      */

static int check_array(rctx *c, const json_t *root, const char *key, int required)
{
    const json_t *a = json_object_get(root, key);
    jpath p = pkey((jpath){0}, key);
    if (!a && required)
        return rerr(c, FRESH_EPARSE, NULL, "missing top-level \"%s\" array", key);
    if (a && !json_is_array(a))
        return rerr(c, FRESH_EPARSE, &p, "\"%s\" must be an array", key);
    return FRESH_OK;
}

static int finish_forbidden(rctx *c, fparts *f, const jpath *p)
{
    int rc = fresh_space_add_forbidden_relations(c->s, f->n, f->a, f->n_rel, f->r);
    fparts_free(f);
    memset(f, 0, sizeof *f);
    return rc < 0 ? rerr_space(c, rc, p) : FRESH_OK;
}

typedef int (*forbidden_reader)(rctx *c, const json_t *j, const jpath *p, fparts *f);

static int read_forbidden_cs_top(rctx *c, const json_t *j, const jpath *p, fparts *f)
{
    return read_forbidden_cs(c, j, p, f, 0);
}

/* Reads and adds every forbidden combination of the array root[key]. */
static int read_forbidden_list(rctx *c, const json_t *root, const char *key, forbidden_reader read)
{
    const json_t *forb = json_object_get(root, key);
    for (size_t k = 0; k < json_array_size(forb); k++) {
        jpath fp = pidx(pkey((jpath){0}, key), k);
        fparts f = {0, 0, NULL, 0, 0, NULL};
        int rc = read(c, json_array_get(forb, k), &fp, &f);
        if (rc < 0) {
            fparts_free(&f);
            return rc;
        }
        if ((rc = finish_forbidden(c, &f, &fp)) < 0)
            return rc;
    }
    return FRESH_OK;
}

static int read_fresh(rctx *c, const json_t *root)
{
    static const char *const top[] = {"parameters", "forbidden", "name", "description", NULL};
    int rc = only_keys(c, root, &(jpath){0}, "top level", top);
    if (rc < 0 || (rc = check_array(c, root, "parameters", 1)) < 0 ||
        (rc = check_array(c, root, "forbidden", 0)) < 0)
        return rc;
    const json_t *params = json_object_get(root, "parameters");
    for (size_t i = 0; i < json_array_size(params); i++)
        if ((rc = read_param_fresh(c, json_array_get(params, i), i)) < 0)
            return rc;
    /* conditions once every parameter exists: parents may come later */
    for (size_t i = 0; i < json_array_size(params); i++) {
        const json_t *o = json_array_get(params, i);
        const json_t *cond = json_object_get(o, "condition");
        if (!cond)
            continue;
        const char *child = json_string_value(json_object_get(o, "name"));
        jpath cp = pkey(pidx(pkey((jpath){0}, "parameters"), i), "condition");
        leaves L = {0, 0, NULL};
        dnf d = {0, NULL};
        rc = parse_cond_fresh(c, cond, &cp, child, &L, &d, 0);
        if (rc == FRESH_OK)
            rc = add_dnf(c, child, &L, &d, &cp);
        dnf_free(&d);
        leaves_free(&L);
        if (rc < 0)
            return rc;
    }
    if ((rc = read_forbidden_list(c, root, "forbidden", read_forbidden_fresh)) < 0)
        return rc;
    if (fresh_space_dim(c->s) == 0) {
        jpath pp = pkey((jpath){0}, "parameters");
        return rerr(c, FRESH_EINVAL, &pp, "the space has no parameters");
    }
    return FRESH_OK;
}

static int read_cs(rctx *c, const json_t *root)
{
    int rc;
    if ((rc = check_array(c, root, "hyperparameters", 1)) < 0 ||
        (rc = check_array(c, root, "conditions", 0)) < 0 ||
        (rc = check_array(c, root, "forbiddens", 0)) < 0)
        return rc;
    const json_t *hps = json_object_get(root, "hyperparameters");
    for (size_t i = 0; i < json_array_size(hps); i++)
        if ((rc = read_param_cs(c, json_array_get(hps, i), i)) < 0)
            return rc;
    const json_t *conds = json_object_get(root, "conditions");
    for (size_t k = 0; k < json_array_size(conds); k++) {
        const json_t *o = json_array_get(conds, k);
        jpath cp = pidx(pkey((jpath){0}, "conditions"), k);
        const json_t *ch = json_is_object(o) ? json_object_get(o, "child") : NULL;
        if (!json_is_string(ch))
            return rerr(c, FRESH_EPARSE, &cp, "conditions[%zu]: needs a string \"child\"", k);
        const char *child = json_string_value(ch);
        int ci = fresh_space_index(c->s, child);
        jpath chp = pkey(cp, "child");
        if (ci < 0)
            return rerr(c, FRESH_EINVAL, &chp,
                        "parameter '%s': condition child is not a parameter", child);
        fresh_param_info info;
        fresh_space_param(c->s, (size_t)ci, &info);
        if (info.has_condition)
            return rerr(c, FRESH_EINVAL, &chp, "parameter '%s': has more than one condition",
                        child);
        leaves L = {0, 0, NULL};
        dnf d = {0, NULL};
        rc = parse_cond_cs(c, o, &cp, child, &L, &d, 0);
        if (rc == FRESH_OK)
            rc = add_dnf(c, child, &L, &d, &cp);
        dnf_free(&d);
        leaves_free(&L);
        if (rc < 0)
            return rc;
    }
    if ((rc = read_forbidden_list(c, root, "forbiddens", read_forbidden_cs_top)) < 0)
        return rc;
    if (fresh_space_dim(c->s) == 0) {
        jpath pp = pkey((jpath){0}, "hyperparameters");
        return rerr(c, FRESH_EINVAL, &pp, "the space has no parameters");
    }
    return FRESH_OK;
}

/* Best effort for syntax errors: the last "name": "..." before offset. */
static void last_name_before(const char *t, size_t off, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = off; i-- > 0;) {
        if (t[i] != '"' || i + 6 > off || memcmp(t + i, "\"name\"", 6) != 0)
            continue;
        size_t j = i + 6;
        while (j < off && strchr(" \t\r\n", t[j]))
            j++;
        if (j >= off || t[j] != ':')
            continue;
        j++;
        while (j < off && strchr(" \t\r\n", t[j]))
            j++;
        if (j >= off || t[j] != '"')
            continue;
        size_t k = j + 1;
        while (k < off && t[k] != '"' && t[k] != '\\' && t[k] != '\n')
            k++;
        if (k >= off || t[k] != '"')
            continue;
        snprintf(out, len, "%.*s", (int)(k - j - 1), t + j + 1);
        return;
    }
}

enum { FMT_FRESH, FMT_CS, FMT_AUTO };

static int read_text(fresh_space *s, const char *text, size_t len, const char *src, int fmt)
{
    char *err = fresh__space_errbuf(s);
    if (fresh_space_dim(s) != 0)
        return fresh__set_err(err, FRESH_ESTATE,
                              "%s: the space already has %zu parameters; read into a new, empty "
                              "space",
                              src, fresh_space_dim(s));
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (json_error_code(&je) == json_error_out_of_memory)
            return fresh__set_err(err, FRESH_ENOMEM, "%s: out of memory", src);
        char near[128];
        size_t pos = je.position > 0 && (size_t)je.position <= len ? (size_t)je.position : 0;
        last_name_before(text, pos, near, sizeof near);
        char where[64] = "";
        if (je.line > 0)
            snprintf(where, sizeof where, "%d:%d: ", je.line, je.column);
        return fresh__set_err(err, FRESH_EPARSE, "%s:%s%s%s%ssyntax error: %s", src, where,
                              near[0] ? "near parameter '" : "", near, near[0] ? "': " : "",
                              je.text);
    }
    rctx c = {s, text, len, src, 0};
    int rc;
    if (!json_is_object(root)) {
        rc = rerr(&c, FRESH_EPARSE, &(jpath){0}, "the top level must be an object");
    } else {
        if (fmt == FMT_AUTO)
            fmt = json_is_array(json_object_get(root, "hyperparameters")) ? FMT_CS : FMT_FRESH;
        c.cs = fmt == FMT_CS;
        rc = c.cs ? read_cs(&c, root) : read_fresh(&c, root);
    }
    json_decref(root);
    if (rc < 0)
        fresh__space_clear(s);
    else
        err[0] = '\0';
    return rc < 0 ? rc : FRESH_OK;
}

/* Reads a whole file into a NUL-terminated fresh__malloc'ed buffer. */
static int slurp(fresh_space *s, const char *path, char **out, size_t *outlen)
{
    char *err = fresh__space_errbuf(s);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fresh__set_err(err, FRESH_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = fresh__malloc(cap);
    if (!buf) {
        fclose(f);
        return fresh__set_err(err, FRESH_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = fresh__realloc(buf, cap * 2);
            if (!nb) {
                fresh__free(buf);
                fclose(f);
                return fresh__set_err(err, FRESH_ENOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(f) ? errno : 0;
    fclose(f);
    if (bad) { /* a directory, a device error */
        fresh__free(buf);
        return fresh__set_err(err, FRESH_EIO, "%s: cannot read: %s", path, strerror(bad));
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return FRESH_OK;
}

static int read_path(fresh_space *s, const char *path, int fmt)
{
    if (!s)
        return FRESH_EINVAL;
    if (!path)
        return fresh__set_err(fresh__space_errbuf(s), FRESH_EINVAL, "read: path is NULL");
    if (fresh_space_dim(s) != 0)
        return read_text(s, "", 0, path, fmt); /* reports FRESH_ESTATE */
    char *text = NULL;
    size_t len = 0;
    int rc = slurp(s, path, &text, &len);
    if (rc < 0)
        return rc;
    rc = read_text(s, text, len, path, fmt);
    fresh__free(text);
    return rc;
}

static int read_string(fresh_space *s, const char *text, const char *src, int fmt)
{
    if (!s)
        return FRESH_EINVAL;
    if (!text)
        return fresh__set_err(fresh__space_errbuf(s), FRESH_EINVAL, "read: text is NULL");
    return read_text(s, text, strlen(text), src ? src : "<string>", fmt);
}

int fresh_space_read_json_file(fresh_space *s, const char *path)
{
    return read_path(s, path, FMT_FRESH);
}

int fresh_space_read_json_string(fresh_space *s, const char *text, const char *source_name)
{
    return read_string(s, text, source_name, FMT_FRESH);
}

int fresh_space_read_configspace_file(fresh_space *s, const char *path)
{
    return read_path(s, path, FMT_CS);
}

int fresh_space_read_configspace_string(fresh_space *s, const char *text,
                                        const char *source_name)
{
    return read_string(s, text, source_name, FMT_CS);
}

int fresh_space_read_file(fresh_space *s, const char *path) { return read_path(s, path, FMT_AUTO); }
