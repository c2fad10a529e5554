/* RNG streams: a stream is a pure function of (seed, id, purpose): the same
 * draws whatever order streams are created or used in; different triples
 * give different draws. And GSL errors no longer abort once fresh is
 * initialised; their codes map to fresh statuses. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_log.h>

#include "fresh/rng.h"
#include "fresh/status.h"
#include "internal.h"

static void draws(uint64_t seed, uint64_t id, uint64_t purpose, double *out, int n)
{
    gsl_rng *r = fresh_rng_stream_create(seed, id, purpose);
    cr_assert_not_null(r);
    for (int i = 0; i < n; i++)
        out[i] = gsl_rng_uniform(r);
    gsl_rng_free(r);
}

Test(rng, same_triple_same_draws_in_any_order)
{
    double a[3][8], b[3][8];
    /* forward order, interleaved with other streams */
    for (int id = 0; id < 3; id++) {
        double junk[4];
        draws(99, 1000 + id, FRESH_RNG_MODEL, junk, 4);
        draws(7, (uint64_t)id, FRESH_RNG_SAMPLE, a[id], 8);
    }
    /* reverse order, one reused generator */
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    for (int id = 2; id >= 0; id--) {
        cr_assert_eq(fresh_rng_stream_reset(r, 7, (uint64_t)id, FRESH_RNG_SAMPLE), FRESH_OK);
        for (int i = 0; i < 8; i++)
            b[id][i] = gsl_rng_uniform(r);
    }
    gsl_rng_free(r);
    cr_assert_arr_eq(a, b, sizeof a);
}

Test(rng, different_triples_differ)
{
    double base[8], other[8];
    draws(7, 3, FRESH_RNG_SAMPLE, base, 8);
    draws(8, 3, FRESH_RNG_SAMPLE, other, 8);
    cr_assert_arr_neq(base, other, sizeof base);
    draws(7, 4, FRESH_RNG_SAMPLE, other, 8);
    cr_assert_arr_neq(base, other, sizeof base);
    draws(7, 3, FRESH_RNG_MODEL, other, 8);
    cr_assert_arr_neq(base, other, sizeof base);
    /* id 0 with seed 0 is a valid stream too */
    draws(0, 0, 0, other, 8);
    cr_assert_arr_neq(base, other, sizeof base);
}

Test(rng, seeds_are_a_pure_function)
{
    cr_assert_eq(fresh_splitmix64(0), UINT64_C(0xe220a8397b1dcdaf)); /* docs/benchmarks-spec.md vector */
    cr_assert_eq(fresh_rng_stream_seed(1, 2, 3), fresh_rng_stream_seed(1, 2, 3));
    cr_assert_neq(fresh_rng_stream_seed(1, 2, 3), fresh_rng_stream_seed(1, 3, 2));
    cr_assert_eq(fresh_rng_stream_reset(NULL, 1, 2, 3), FRESH_EINVAL);
}

Test(rng, gsl_errors_do_not_abort_and_map)
{
    fresh_init();
    gsl_sf_result res;
    int rc = gsl_sf_log_e(-1.0, &res); /* a domain error: GSL's default handler aborts */
    cr_assert_eq(rc, GSL_EDOM);
    cr_assert_eq(fresh__map_gsl(rc), FRESH_EINVAL);
    cr_assert_eq(fresh__map_gsl(GSL_SUCCESS), FRESH_OK);
    cr_assert_eq(fresh__map_gsl(GSL_ENOMEM), FRESH_ENOMEM);
    cr_assert_eq(fresh__map_gsl(GSL_EMAXITER), FRESH_EGSL);
}
