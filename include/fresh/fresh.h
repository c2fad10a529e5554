/*
 * fresh/fresh.h - the umbrella header of libfresh: multi-fidelity
 * hyperparameter optimization (Hyperband brackets + the BOHB model).
 * Each module's header documents its functions.
 */
#ifndef FRESH_FRESH_H
#define FRESH_FRESH_H

#include "fresh/plan.h"
#include "fresh/rng.h"
#include "fresh/sampler.h"
#include "fresh/scheduler.h"
#include "fresh/space.h"
#include "fresh/status.h"
#include "fresh/study.h"
#include "fresh/trial.h"

#endif
