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

/* Every name fresh_sampler_find knows, in the order fresh_sampler_name
 * lists them. "tpe" is the BOHB sampler under the name of its model (a TPE
 * over per-budget KDEs), for users who come from Optuna or HpBandSter. */
static const struct {
    const char *name;
    const fresh_sampler_type *const *type;
} samplers[] = {{"random", &fresh_sampler_random}, {"bohb", &fresh_sampler_bohb},
                {"tpe", &fresh_sampler_bohb},       {"gp", &fresh_sampler_gp},
                {"auto", &fresh_sampler_auto}};

const fresh_sampler_type *fresh_sampler_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof samplers / sizeof samplers[0]; i++)
        if (name_eq(name, samplers[i].name))
            return *samplers[i].type;
    return NULL;
}

const char *fresh_sampler_name(size_t i)
{
    return i < sizeof samplers / sizeof samplers[0] ? samplers[i].name : NULL;
}
