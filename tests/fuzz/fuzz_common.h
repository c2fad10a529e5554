/*
 * fuzz_common.h - what both libFuzzer targets do with a space the reader
 * accepted, and with one it rejected.
 *
 * Each check is a documented promise of include/fresh/space.h; a broken
 * promise aborts, so libFuzzer records the input as a crash:
 *   - a failed read leaves the space empty and sets a message;
 *   - a second read into a non-empty space is refused with FRESH_ESTATE;
 *   - write_json's text reads back, and writing that gives the same text;
 *   - sampled configurations pass fresh_space_check;
 *   - decode(encode(x)) is x exactly when the space has no float parameter;
 *   - decode's output is a configuration config_to_json accepts.
 */
#ifndef FRESH_FUZZ_COMMON_H
#define FRESH_FUZZ_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fresh/rng.h"
#include "fresh/space.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*fuzz_reader)(fresh_space *space, const char *text, const char *source_name);

#define FUZZ_CHECK(cond)                                                               \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* Number of configurations sampled per accepted space. */
#define FUZZ_SAMPLES 4

static void fuzz_exercise(fresh_space *space, const char *text, fuzz_reader read)
{
    size_t dim = fresh_space_dim(space);
    FUZZ_CHECK(dim > 0);

    /* reading into a space that has parameters is refused, unchanged */
    FUZZ_CHECK(read(space, text, "again") == FRESH_ESTATE);
    FUZZ_CHECK(fresh_space_dim(space) == dim);

    /* canonical text: write, read back (fresh format), write again */
    char *text1 = NULL, *text2 = NULL;
    int rc = fresh_space_write_json(space, &text1);
    if (rc == FRESH_ENOMEM)
        return;
    FUZZ_CHECK(rc == FRESH_OK && text1 != NULL);
    fresh_space *copy = fresh_space_create();
    FUZZ_CHECK(copy != NULL);
    rc = fresh_space_read_json_string(copy, text1, "written");
    if (rc != FRESH_OK)
        fprintf(stderr, "write_json text does not read back: %s\n%s\n",
                fresh_space_errmsg(copy), text1);
    FUZZ_CHECK(rc == FRESH_OK);
    FUZZ_CHECK(fresh_space_dim(copy) == dim);
    FUZZ_CHECK(fresh_space_write_json(copy, &text2) == FRESH_OK);
    if (strcmp(text1, text2) != 0)
        fprintf(stderr, "write_json texts differ:\n%s\n---\n%s\n", text1, text2);
    FUZZ_CHECK(strcmp(text1, text2) == 0);
    free(text1);
    free(text2);
    fresh_space_destroy(copy);

    int has_float = 0;
    for (size_t i = 0; i < dim; i++) {
        fresh_param_info info;
        FUZZ_CHECK(fresh_space_param(space, i, &info) == FRESH_OK);
        FUZZ_CHECK(info.name != NULL && fresh_space_index(space, info.name) == (int)i);
        if (info.type == FRESH_PARAM_FLOAT)
            has_float = 1;
    }

    double *x = malloc(dim * sizeof *x);
    double *u = malloc(dim * sizeof *u);
    double *y = malloc(dim * sizeof *y);
    gsl_rng *rng = fresh_rng_stream_create(FRESH_DEFAULT_SEED, 0, FRESH_RNG_SAMPLE);
    FUZZ_CHECK(x && u && y && rng);
    char msg[256], line[512];

    if (fresh_space_default_config(space, x) == FRESH_OK) {
        (void)fresh_space_format(space, x, line, sizeof line);
        (void)fresh_space_hash(space, x);
    }
    for (int k = 0; k < FUZZ_SAMPLES; k++) {
        rc = fresh_space_sample(space, rng, x);
        if (rc == FRESH_ENOSAMPLE)
            break;
        FUZZ_CHECK(rc == FRESH_OK);
        rc = fresh_space_check(space, x, msg, sizeof msg);
        if (rc != FRESH_OK)
            fprintf(stderr, "sampled configuration fails the check: %s\n", msg);
        FUZZ_CHECK(rc == FRESH_OK);
        FUZZ_CHECK(fresh_space_equal(space, x, x));

        char *json = NULL;
        FUZZ_CHECK(fresh_space_config_to_json(space, x, &json) == FRESH_OK && json);
        free(json);
        FUZZ_CHECK(fresh_space_format(space, x, line, sizeof line) >= 0);

        fresh_space_encode(space, x, u);
        fresh_space_decode(space, u, y);
        if (!has_float) {
            if (!fresh_space_equal(space, x, y)) {
                (void)fresh_space_format(space, x, line, sizeof line);
                fprintf(stderr, "decode(encode(x)) != x for x = %s\n", line);
            }
            FUZZ_CHECK(fresh_space_equal(space, x, y));
            FUZZ_CHECK(fresh_space_hash(space, x) == fresh_space_hash(space, y));
        }
        json = NULL;
        FUZZ_CHECK(fresh_space_config_to_json(space, y, &json) == FRESH_OK && json);
        free(json);

        /* decode of an arbitrary unit vector (NaNs included) stays in range */
        for (size_t i = 0; i < dim; i++)
            u[i] = (i + (size_t)k) % 5 == 4 ? NAN : gsl_rng_uniform(rng) * 1.2 - 0.1;
        fresh_space_decode(space, u, y);
        json = NULL;
        FUZZ_CHECK(fresh_space_config_to_json(space, y, &json) == FRESH_OK && json);
        free(json);
    }
    gsl_rng_free(rng);
    free(x);
    free(u);
    free(y);
}

static int fuzz_one(const uint8_t *data, size_t size, fuzz_reader read)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    fresh_space *space = fresh_space_create();
    FUZZ_CHECK(space != NULL);
    int rc = read(space, text, "fuzz");
    if (rc == FRESH_OK) {
        fuzz_exercise(space, text, read);
    } else {
        FUZZ_CHECK(rc < 0);
        FUZZ_CHECK(fresh_space_dim(space) == 0);
        FUZZ_CHECK(fresh_space_errmsg(space)[0] != '\0');
    }
    fresh_space_destroy(space);
    free(text);
    return 0;
}

#endif
