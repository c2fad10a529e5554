/*
 * sampler.c - sampler defaults and lookup by name. The samplers themselves
 * live in kde/ (sampler_random.c, sampler_bohb.c) and gp/ (sampler_gp.c).
 */
#include "fresh/sampler.h"

#include <stddef.h>

void fresh_sampler_params_default(fresh_sampler_params *p)
{
    if (!p)
        return;
    /* Falkner, Klein & Hutter 2018, section 4 / HpBandSter's BOHB defaults */
    p->random_fraction = 1.0 / 3.0;
    p->num_samples = 64;
    p->top_n_percent = 15.0;
    p->bandwidth_factor = 1.0;  /* paper: 3; see docs/algorithms.md */
    p->min_bandwidth = 1e-3;
    p->min_points_in_model = 0; /* d + 1 */
    p->bandwidth_floor = 1.0;   /* fresh's addition: see docs/algorithms.md */
    p->hedge_tau = 0.8;         /* fresh's addition: see docs/algorithms.md */
}

/* ASCII case-insensitive equality. */
static int name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char ca = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
        char cb = (*b >= 'A' && *b <= 'Z') ? (char)(*b - 'A' + 'a') : *b;
        if (ca != cb)
            return 0;
    }
    return *a == *b;
}

const fresh_sampler_type *fresh_sampler_find(const char *name)
{
    if (!name)
        return NULL;
    if (name_eq(name, "random"))
        return fresh_sampler_random;
    if (name_eq(name, "bohb") || name_eq(name, "tpe"))
        return fresh_sampler_bohb;
    if (name_eq(name, "gp"))
        return fresh_sampler_gp;
    if (name_eq(name, "auto"))
        return fresh_sampler_auto;
    return NULL;
}
