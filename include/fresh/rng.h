/*
 * fresh/rng.h - reproducible random-number streams.
 *
 * fresh never draws from global state or the clock. Every random decision is
 * drawn from a GSL generator seeded from (seed, id, purpose) through a
 * SplitMix64 hash, so the draws of trial 17's sampling are the same whichever
 * worker finished first and in whatever order streams are created.
 */
#ifndef FRESH_RNG_H
#define FRESH_RNG_H

#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "fresh/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The seed a study uses when none is given. */
#define FRESH_DEFAULT_SEED 20180710u

/* Purposes: one stream family per kind of decision. */
typedef enum fresh_rng_purpose {
    FRESH_RNG_SAMPLE = 1,   /* drawing a configuration, random or from the model
                               (stream id = the configuration's id) */
    FRESH_RNG_MODEL = 2,    /* for samplers that need a stream of their own */
    FRESH_RNG_OBJECTIVE = 4,/* handed to benchmark objectives */
    FRESH_RNG_USER = 100    /* first value free for applications */
} fresh_rng_purpose;

/* One SplitMix64 step (Steele, Lea & Flood 2014): the mixing function the
 * streams are derived with. Thread safety: any thread. */
FRESH_API uint64_t fresh_splitmix64(uint64_t x);

/* The 64-bit seed of stream (seed, id, purpose): a pure function.
 * Thread safety: any thread. */
FRESH_API uint64_t fresh_rng_stream_seed(uint64_t seed, uint64_t id, uint64_t purpose);

/* A new GSL generator (mt19937) set to stream (seed, id, purpose). The caller
 * owns it and frees it with gsl_rng_free. NULL when out of memory.
 * Thread safety: any thread. */
FRESH_API gsl_rng *fresh_rng_stream_create(uint64_t seed, uint64_t id, uint64_t purpose);

/* Re-seeds an existing generator (of any GSL type) to stream
 * (seed, id, purpose), so that hot paths reuse one generator without
 * allocating. Returns FRESH_OK, or FRESH_EINVAL for a NULL generator.
 * Thread safety: any thread, one generator per thread. */
FRESH_API int fresh_rng_stream_reset(gsl_rng *rng, uint64_t seed, uint64_t id, uint64_t purpose);

#ifdef __cplusplus
}
#endif
#endif
