#!/usr/bin/python3
"""Optimizer overhead of Optuna's TPESampler on hartmann6: time per ask+tell with
N finished trials (N = 100, 1,000, 5,000 by default).

The N trials are added at once (optuna.trial.create_trial + study.add_trials,
uniform random configurations with their hartmann6 max-budget losses); then K
timed iterations each ask a trial, sample the 6 parameters (x_0..x_5 in [0, 1])
and tell its loss. Prints one JSON line per N with the median and mean
milliseconds per ask+tell.

  /usr/bin/python3 optuna_overhead.py [--n 100,1000,5000] [--seconds 3]
"""
import argparse
import json
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmarks  # noqa: E402

import optuna  # noqa: E402


def measure(n, seconds, seed=0):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    bm = benchmarks.get("hartmann6_mf")
    names = ["x_%d" % j for j in range(6)]
    dist = {k: optuna.distributions.FloatDistribution(0.0, 1.0) for k in names}
    rng = random.Random(seed)
    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    trials = []
    for i in range(n):
        x = [rng.random() for _ in range(6)]
        trials.append(optuna.trial.create_trial(
            params=dict(zip(names, x)), distributions=dist,
            value=bm.observed(x, 81, seed, i)))
    study.add_trials(trials)
    times = []
    t_start = time.perf_counter()
    key = n
    while len(times) < 3 or (time.perf_counter() - t_start < seconds and len(times) < 200):
        t0 = time.perf_counter()
        trial = study.ask()
        x = [trial.suggest_float(k, 0.0, 1.0) for k in names]
        study.tell(trial, bm.observed(x, 81, seed, key))
        times.append(time.perf_counter() - t0)
        key += 1
    return {"n": n, "ms_per_ask_tell_median": 1e3 * statistics.median(times),
            "ms_per_ask_tell_mean": 1e3 * statistics.mean(times), "iterations": len(times),
            "optuna": optuna.__version__}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", default="100,1000,5000")
    ap.add_argument("--seconds", type=float, default=3.0)
    a = ap.parse_args()
    for n in [int(v) for v in a.n.split(",")]:
        print(json.dumps(measure(n, a.seconds)), flush=True)


if __name__ == "__main__":
    main()
