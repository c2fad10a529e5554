/*
 * rng.c - counter-based derivation of GSL generator seeds.
 *
 * stream_seed(seed, id, purpose) = sm(sm(sm(seed) ^ id) ^ purpose), with sm one
 * SplitMix64 step. The GSL generator takes an unsigned long seed; mt19937
 * uses its low 32 bits, so the two halves of the 64-bit hash are folded.
 */
#include "fresh/rng.h"
#include "fresh/status.h"

uint64_t fresh_splitmix64(uint64_t x)
{
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t fresh_rng_stream_seed(uint64_t seed, uint64_t id, uint64_t purpose)
{
    return fresh_splitmix64(fresh_splitmix64(fresh_splitmix64(seed) ^ id) ^ purpose);
}

static unsigned long fold(uint64_t h)
{
    unsigned long s = (unsigned long)((h ^ (h >> 32)) & 0xffffffffu);
    /* mt19937 maps seed 0 to its default seed 4357; keep 0 distinct anyway */
    return s ? s : 0x6a09e667ul;
}

gsl_rng *fresh_rng_stream_create(uint64_t seed, uint64_t id, uint64_t purpose)
{
    fresh_init();
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (r)
        gsl_rng_set(r, fold(fresh_rng_stream_seed(seed, id, purpose)));
    return r;
}

int fresh_rng_stream_reset(gsl_rng *rng, uint64_t seed, uint64_t id, uint64_t purpose)
{
    if (!rng)
        return FRESH_EINVAL;
    gsl_rng_set(rng, fold(fresh_rng_stream_seed(seed, id, purpose)));
    return FRESH_OK;
}
