/* Shared fixtures for sampler tests: a sampler state on the heap and a unit
 * cube space. */
#ifndef FRESH_TEST_SAMPLER_FIXTURES_H
#define FRESH_TEST_SAMPLER_FIXTURES_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "fresh/sampler.h"
#include "fresh/space.h"
#include "internal.h"

static inline void *make_sampler(const fresh_sampler_type *t, const fresh_space *sp,
                                 const fresh_sampler_params *p)
{
    void *st = calloc(1, t->state_size);
    cr_assert_not_null(st);
    char err[FRESH__ERRMSG_LEN] = "";
    cr_assert_eq(t->init(st, sp, p, 1, err), FRESH_OK, "init: %s", err);
    return st;
}

static inline void free_sampler(const fresh_sampler_type *t, void *st)
{
    t->destroy(st);
    free(st);
}

/* d floats in [0, 1] named x0, x1, ... */
static inline fresh_space *unit_cube(size_t d)
{
    fresh_space *sp = fresh_space_create();
    cr_assert_not_null(sp);
    for (size_t j = 0; j < d; j++) {
        char name[32];
        snprintf(name, sizeof name, "x%zu", j);
        cr_assert_eq(fresh_space_add_float(sp, name, 0.0, 1.0, 0), FRESH_OK);
    }
    return sp;
}

#endif
