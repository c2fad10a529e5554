/*
 * sampler_random.c - uniform random search over the space ("random").
 *
 * Each proposal is fresh_space_sample (uniform, log-uniform where asked,
 * conditions applied, forbidden clauses rejected). Within a bracket a
 * configuration is not proposed twice: a draw that ctx->is_duplicate
 * reports is redrawn, up to FRESH__DUPLICATE_TRIES times; if every draw is a
 * duplicate (a small discrete space nearly exhausted) the last draw is
 * returned, so that the study goes on. BOHB's random fraction uses the same
 * helper.
 */
#include <stddef.h>

#include "fresh/sampler.h"
#include "fresh/space.h"
#include "fresh/status.h"
#include "internal.h"
#include "sampler_internal.h"

typedef struct random_state {
    const fresh_space *space;
} random_state;

int fresh__sampler_random_draw(const fresh_space *space, const fresh_propose_ctx *ctx,
                               gsl_rng *rng, double *x)
{
    for (int t = 0; t < FRESH__DUPLICATE_TRIES; t++) {
        int rc = fresh_space_sample(space, rng, x);
        if (rc != FRESH_OK)
            return rc;
        if (!ctx || !ctx->is_duplicate || !ctx->is_duplicate(ctx->dup_arg, x))
            return FRESH_OK;
    }
    return FRESH_OK; /* every draw was a duplicate: keep the last one */
}

static int random_init(void *state, const fresh_space *space, const fresh_sampler_params *p,
                       uint64_t seed, char *errmsg)
{
    (void)p;
    (void)seed;
    random_state *s = state;
    if (!s || !space) {
        if (errmsg)
            fresh__set_err(errmsg, FRESH_EINVAL, "sampler 'random': %s is NULL",
                           s ? "space" : "state");
        return FRESH_EINVAL;
    }
    if (fresh_space_dim(space) == 0) {
        if (errmsg)
            fresh__set_err(errmsg, FRESH_EINVAL, "sampler 'random': the space has no parameters");
        return FRESH_EINVAL;
    }
    s->space = space;
    return FRESH_OK;
}

static void random_destroy(void *state) { (void)state; }

static int random_observe(void *state, const fresh_observation *obs)
{
    (void)state;
    return obs ? FRESH_OK : FRESH_EINVAL;
}

static int random_propose(void *state, const fresh_propose_ctx *ctx, gsl_rng *rng, double *x,
                          int *model_based)
{
    random_state *s = state;
    if (model_based)
        *model_based = 0;
    if (!s || !s->space || !rng || !x)
        return FRESH_EINVAL;
    return fresh__sampler_random_draw(s->space, ctx, rng, x);
}

static const fresh_sampler_type random_type = {
    "random", sizeof(random_state), random_init, random_destroy, random_observe, random_propose,
};

const fresh_sampler_type *const fresh_sampler_random = &random_type;
