/*
 * run_template.c - the command of `fresh run` with its placeholders.
 *
 * Each word of the command is parsed once into literal text and
 * placeholders ({lr}, {budget}, ...). Every placeholder is checked before
 * anything runs; per job the words are expanded, and a word naming an
 * inactive parameter is left out (docs/run.md).
 */
#include "run.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const run_reserved[] = {"budget", "resume_from", "trial_dir", "config_id", "job_id",
                                    "seed", "config", "worker", NULL};

typedef struct seg {
    char *text;     /* literal text, or the placeholder's name */
    int is_name;
} seg;

typedef struct word {
    seg *segs;
    size_t n;
    int only_name;  /* the word is exactly one placeholder */
} word;

struct run_template {
    word *words;
    size_t n;
};

static int name_char(int c) { return isalnum(c) || c == '_' || c == '.' || c == ':' || c == '-'; }

static int is_reserved(const char *name)
{
    for (size_t i = 0; run_reserved[i]; i++)
        if (!strcmp(run_reserved[i], name))
            return 1;
    return 0;
}

static int add_seg(word *w, const char *p, size_t n, int is_name)
{
    if (!is_name && n == 0)
        return 0;
    if (!is_name && w->n > 0 && !w->segs[w->n - 1].is_name) { /* extend the literal */
        seg *s = &w->segs[w->n - 1];
        size_t old = strlen(s->text);
        char *t = realloc(s->text, old + n + 1);
        if (!t)
            return -1;
        memcpy(t + old, p, n);
        t[old + n] = '\0';
        s->text = t;
        return 0;
    }
    seg *ns = realloc(w->segs, (w->n + 1) * sizeof *ns);
    if (!ns)
        return -1;
    w->segs = ns;
    char *t = malloc(n + 1);
    if (!t)
        return -1;
    memcpy(t, p, n);
    t[n] = '\0';
    w->segs[w->n++] = (seg){t, is_name};
    return 0;
}

void run_template_destroy(run_template *tp)
{
    if (!tp)
        return;
    for (size_t i = 0; i < tp->n; i++) {
        for (size_t j = 0; j < tp->words[i].n; j++)
            free(tp->words[i].segs[j].text);
        free(tp->words[i].segs);
    }
    free(tp->words);
    free(tp);
}

run_template *run_template_create(int argc, char *const *argv, const fresh_space *space,
                                  char *err, size_t errlen)
{
    run_template *tp = calloc(1, sizeof *tp);
    if (!tp || !(tp->words = calloc((size_t)argc, sizeof *tp->words))) {
        snprintf(err, errlen, "out of memory");
        free(tp);
        return NULL;
    }
    tp->n = (size_t)argc;
    for (int a = 0; a < argc; a++) {
        word *w = &tp->words[a];
        const char *p = argv[a];
        size_t lit = 0; /* start of pending literal text */
        size_t i = 0, len = strlen(p);
        int bad = 0;
        while (i < len) {
            if ((p[i] == '{' && p[i + 1] == '{') || (p[i] == '}' && p[i + 1] == '}')) {
                bad |= add_seg(w, p + lit, i - lit + 1, 0); /* keep one brace */
                i += 2;
                lit = i;
                continue;
            }
            if (p[i] == '{' && !(i > 0 && p[i - 1] == '$')) {
                size_t j = i + 1;
                while (j < len && name_char((unsigned char)p[j]))
                    j++;
                if (j > i + 1 && j < len && p[j] == '}') {
                    bad |= add_seg(w, p + lit, i - lit, 0);
                    bad |= add_seg(w, p + i + 1, j - i - 1, 1);
                    i = j + 1;
                    lit = i;
                    continue;
                }
            }
            i++;
        }
        bad |= add_seg(w, p + lit, len - lit, 0);
        if (bad) {
            snprintf(err, errlen, "out of memory");
            run_template_destroy(tp);
            return NULL;
        }
        w->only_name = w->n == 1 && w->segs[0].is_name;
        for (size_t j = 0; j < w->n; j++) {
            if (!w->segs[j].is_name)
                continue;
            const char *name = w->segs[j].text;
            int reserved = is_reserved(name);
            int param = fresh_space_index(space, name) >= 0;
            if (a == 0) {
                snprintf(err, errlen, "the program name '%s' may not hold a placeholder", argv[0]);
                run_template_destroy(tp);
                return NULL;
            }
            if (reserved && param) {
                snprintf(err, errlen,
                         "placeholder {%s} in '%s' is ambiguous: the space has a parameter '%s' "
                         "and fresh provides {%s}; rename the parameter",
                         name, argv[a], name, name);
                run_template_destroy(tp);
                return NULL;
            }
            if (!reserved && !param) {
                snprintf(err, errlen,
                         "unknown placeholder {%s} in '%s': not a parameter of the space nor one "
                         "of {budget} {resume_from} {trial_dir} {config_id} {job_id} {seed} "
                         "{config} {worker} (write {{ and }} for literal braces)",
                         name, argv[a]);
                run_template_destroy(tp);
                return NULL;
            }
        }
    }
    return tp;
}

void run_argv_free(char **argv)
{
    if (!argv)
        return;
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}

char **run_template_expand(const run_template *tp, run_lookup_fn lookup, void *user)
{
    char **out = calloc(tp->n + 1, sizeof *out);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < tp->n; i++) {
        const word *w = &tp->words[i];
        size_t len = 0;
        int drop = 0;
        for (size_t j = 0; j < w->n && !drop; j++) {
            const char *v = w->segs[j].is_name ? lookup(user, w->segs[j].text) : w->segs[j].text;
            if (!v)
                drop = 1;
            else
                len += strlen(v);
        }
        if (drop) {
            /* "--momentum {momentum}": the option word goes with its value */
            if (w->only_name && k > 1 && i > 0 && out[k - 1][0] == '-' &&
                tp->words[i - 1].n == 1 && !tp->words[i - 1].segs[0].is_name) {
                free(out[--k]);
                out[k] = NULL;
            }
            continue;
        }
        char *s = malloc(len + 1);
        if (!s) {
            run_argv_free(out);
            return NULL;
        }
        s[0] = '\0';
        size_t pos = 0;
        for (size_t j = 0; j < w->n; j++) {
            const char *v = w->segs[j].is_name ? lookup(user, w->segs[j].text) : w->segs[j].text;
            size_t vl = strlen(v);
            memcpy(s + pos, v, vl);
            pos += vl;
        }
        s[pos] = '\0';
        out[k++] = s;
    }
    out[k] = NULL;
    return out;
}

void run_format_value(const fresh_space *space, size_t i, double x, char *buf, size_t len)
{
    fresh_param_info info;
    if (fresh_space_param(space, i, &info) != FRESH_OK) {
        snprintf(buf, len, "?");
        return;
    }
    if (info.labels) {
        size_t k = (size_t)x;
        snprintf(buf, len, "%s", x >= 0 && k < info.n_levels ? info.labels[k] : "?");
    } else if (info.type == FRESH_PARAM_INT) {
        snprintf(buf, len, "%.0f", x);
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, len, "%.*g", prec, x);
            if (strtod(buf, NULL) == x)
                break;
        }
    }
}

char *run_join_quoted(int argc, char *const *argv)
{
    size_t cap = 1;
    for (int i = 0; i < argc; i++)
        cap += 4 * strlen(argv[i]) + 3;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t k = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int plain = *a != '\0';
        for (const char *c = a; *c; c++)
            if (!(isalnum((unsigned char)*c) || strchr("_-./=:,+@%{}", *c)))
                plain = 0;
        if (i)
            s[k++] = ' ';
        if (plain) {
            memcpy(s + k, a, strlen(a));
            k += strlen(a);
            continue;
        }
        s[k++] = '\'';
        for (const char *c = a; *c; c++) {
            if (*c == '\'') {
                memcpy(s + k, "'\\''", 4);
                k += 4;
            } else {
                s[k++] = *c;
            }
        }
        s[k++] = '\'';
    }
    s[k] = '\0';
    return s;
}
