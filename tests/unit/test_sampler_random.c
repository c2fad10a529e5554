/* The random sampler (kde/sampler_random.c): valid configurations, never
 * model-based, no duplicate within a bracket while one can be avoided,
 * reproducible with a fixed seed, and its errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fresh/rng.h"
#include "fresh/sampler.h"
#include "fresh/space.h"
#include "internal.h"

typedef struct bracket {
    const fresh_space *sp;
    size_t n;
    double items[64][2];
    int calls;
} bracket;

static int in_bracket(void *arg, const double *x)
{
    bracket *b = arg;
    b->calls++;
    for (size_t i = 0; i < b->n; i++)
        if (fresh_space_equal(b->sp, b->items[i], x))
            return 1;
    return 0;
}

static fresh_space *small_space(void)
{
    fresh_space *sp = fresh_space_create();
    const char *c[] = {"a", "b", "c"};
    cr_assert_eq(fresh_space_add_categorical(sp, "c", 3, c), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(sp, "i", 0, 2, 0), FRESH_OK);
    return sp; /* 9 configurations */
}

Test(sampler_random, respects_is_duplicate)
{
    const fresh_sampler_type *t = fresh_sampler_random;
    fresh_space *sp = small_space();
    void *st = calloc(1, t->state_size);
    char err[FRESH__ERRMSG_LEN];
    cr_assert_eq(t->init(st, sp, NULL, 1, err), FRESH_OK);
    gsl_rng *rng = fresh_rng_stream_create(60, 0, FRESH_RNG_SAMPLE);
    static bracket b;
    b.sp = sp;
    fresh_propose_ctx ctx = {1.0, NULL, 0, in_bracket, &b, 0.0, 0.0, 0};
    /* all 9 configurations, each once */
    for (int i = 0; i < 9; i++) {
        double x[2];
        int mb = -1;
        cr_assert_eq(t->propose(st, &ctx, rng, x, &mb), FRESH_OK);
        cr_assert_eq(mb, 0);
        cr_assert_eq(fresh_space_check(sp, x, NULL, 0), FRESH_OK);
        b.calls = 0;
        cr_assert_not(in_bracket(&b, x), "proposal %d repeats (%g, %g)", i, x[0], x[1]);
        memcpy(b.items[b.n++], x, sizeof x);
    }
    /* the bracket holds the whole space: after 100 tries a duplicate is
     * returned rather than stopping the study */
    b.calls = 0;
    double x[2];
    int mb;
    cr_assert_eq(t->propose(st, &ctx, rng, x, &mb), FRESH_OK);
    cr_assert_eq(b.calls, 100);
    cr_assert_eq(fresh_space_check(sp, x, NULL, 0), FRESH_OK);
    t->destroy(st);
    free(st);
    gsl_rng_free(rng);
    fresh_space_destroy(sp);
}

Test(sampler_random, reproducible_and_ignores_observations)
{
    const fresh_sampler_type *t = fresh_sampler_random;
    fresh_space *sp = fresh_space_create();
    cr_assert_eq(fresh_space_add_float(sp, "lr", 1e-5, 1.0, 1), FRESH_OK);
    cr_assert_eq(fresh_space_add_int(sp, "n", 1, 100, 0), FRESH_OK);
    void *a = calloc(1, t->state_size), *b = calloc(1, t->state_size);
    char err[FRESH__ERRMSG_LEN];
    cr_assert_eq(t->init(a, sp, NULL, 1, err), FRESH_OK);
    cr_assert_eq(t->init(b, sp, NULL, 1, err), FRESH_OK);
    gsl_rng *ra = fresh_rng_stream_create(61, 3, FRESH_RNG_SAMPLE);
    gsl_rng *rb = fresh_rng_stream_create(61, 3, FRESH_RNG_SAMPLE);
    for (int i = 0; i < 50; i++) {
        double xa[2], xb[2];
        int mb;
        cr_assert_eq(t->propose(a, NULL, ra, xa, &mb), FRESH_OK);
        cr_assert_eq(t->propose(b, NULL, rb, xb, NULL), FRESH_OK);
        cr_assert(fresh_space_equal(sp, xa, xb));
        fresh_observation o = {(uint64_t)i, xa, 1.0, xa[0], 0.0};
        cr_assert_eq(t->observe(a, &o), FRESH_OK);
    }
    cr_assert_eq(t->observe(a, NULL), FRESH_EINVAL);
    double x[2];
    int mb = 5;
    cr_assert_eq(t->propose(a, NULL, NULL, x, &mb), FRESH_EINVAL);
    cr_assert_eq(mb, 0);
    cr_assert_eq(t->propose(a, NULL, ra, NULL, &mb), FRESH_EINVAL);
    t->destroy(a);
    t->destroy(b);
    free(a);
    free(b);
    gsl_rng_free(ra);
    gsl_rng_free(rb);
    fresh_space_destroy(sp);
}

Test(sampler_random, init_errors)
{
    const fresh_sampler_type *t = fresh_sampler_random;
    void *st = calloc(1, t->state_size);
    char err[FRESH__ERRMSG_LEN] = "";
    cr_assert_eq(t->init(st, NULL, NULL, 1, err), FRESH_EINVAL);
    cr_assert(strstr(err, "space"));
    fresh_space *empty = fresh_space_create();
    cr_assert_eq(t->init(st, empty, NULL, 1, err), FRESH_EINVAL);
    cr_assert(strstr(err, "no parameters"));
    fresh_space_destroy(empty);
    free(st);
}
