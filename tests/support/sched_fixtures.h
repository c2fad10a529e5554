/* Shared fixtures for scheduler tests (Criterion): a scheduler type with
 * its state and plan, driven directly through next/bind/finish. */
#ifndef FRESH_TEST_SCHED_FIXTURES_H
#define FRESH_TEST_SCHED_FIXTURES_H

#include <criterion/criterion.h>
#include <stdlib.h>

#include "fresh/scheduler.h"

typedef struct sched {
    const fresh_scheduler_type *type;
    void *state;
    fresh_plan *plan;
    uint64_t next_id;
} sched;

static inline sched make(const fresh_scheduler_type *type, double lo, double hi, double eta)
{
    sched s = {type, calloc(1, type->state_size), fresh_plan_create(), 0};
    cr_assert_eq(fresh_plan_compute(s.plan, lo, hi, eta, FRESH_BRACKETS_PAPER), FRESH_OK);
    char err[512];
    cr_assert_eq(type->init(s.state, s.plan, err), FRESH_OK, "%s", err);
    return s;
}

static inline void drop(sched *s)
{
    s->type->destroy(s->state);
    free(s->state);
    fresh_plan_destroy(s->plan);
}

/* next(); a new configuration gets the next id, as the study would bind */
static inline int next(sched *s, int open_new, fresh_sched_job *j)
{
    int rc = s->type->next(s->state, open_new, j);
    if (rc == FRESH_OK && j->config_id == FRESH_SCHED_NEW) {
        cr_assert_eq(s->type->bind(s->state, j, s->next_id), FRESH_OK);
        j->config_id = s->next_id++;
    }
    return rc;
}

#endif
