#!/usr/bin/python3
"""Runs one Optuna peer on one benchmark and seed to a total budget in max-budget
equivalents (MBE), following the harness rules of docs/benchmarks-spec.md section 4.

  /usr/bin/python3 optuna_peers.py --peer tpe_hb|random_hb|tpe_full \
      --bench hartmann6_mf --seed 0 --budget 200 --trace out.csv

Peers: TPESampler+HyperbandPruner ("tpe_hb"), RandomSampler+HyperbandPruner
("random_hb"), TPESampler with every trial at the max budget ("tpe_full").
Each trial samples a configuration (the parameters of fresh's spaces: same
names, ranges, log scale; lc_mixed's momentum only for sgd), then runs from
budget 0, reporting at every rung budget (every epoch for lc_mixed) and
stopping when trial.should_prune(). Resume semantics: a trial is charged the
budget it reached. No new trial starts once the spent budget reaches the
total. The noise key is the trial number; the run seed seeds the noise and
the sampler. The BOHB-style incumbent is the best observed loss among trials
that reached the max budget; regret = true(x_inc) - f_opt.

The trace has the columns of fresh's --trajectory (one row per trial):
job,config_id,budget,resume_from,cum_mbe,loss,true_loss,incumbent_regret,wall_s
(budget = the budget reached, resume_from = 0) plus `state` (COMPLETE|PRUNED).
A JSON summary goes to stdout.
"""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmarks  # noqa: E402  (checks the test vectors at import)

import optuna  # noqa: E402

PEERS = ("tpe_hb", "random_hb", "tpe_full")


def suggest(trial, bm):
    """Samples a configuration in fresh's order; returns the value list."""
    x = []
    for name, kind, arg in bm.params():
        if bm.name == "lc_mixed" and name == "momentum":
            x.append(trial.suggest_float(name, arg[0], arg[1]) if x[2] == 1 else float("nan"))
        elif kind == "float":
            x.append(trial.suggest_float(name, arg[0], arg[1], log=arg[2]))
        elif kind == "int":
            x.append(trial.suggest_int(name, arg[0], arg[1]))
        else:
            choice = trial.suggest_categorical(name, list(arg))
            x.append(list(arg).index(choice))
    return x


def run(peer, bench, seed, budget, trace_path=None):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    bm = benchmarks.get(bench)
    bmin, bmax = bm.min_budget, bm.max_budget
    if peer.startswith("tpe"):
        sampler = optuna.samplers.TPESampler(seed=seed)
    elif peer.startswith("random"):
        sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        raise SystemExit("unknown peer %r" % peer)
    full = peer.endswith("_full")
    pruner = optuna.pruners.NopPruner() if full else optuna.pruners.HyperbandPruner(
        min_resource=bmin, max_resource=bmax, reduction_factor=3)
    # a fixed study name: HyperbandPruner assigns brackets by crc32(name, number)
    study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner,
                                study_name="compare-%s-%s-%d" % (peer, bench, seed))
    steps = bm.report_steps()
    spent = 0.0            # in budget units
    total = budget * bmax
    best_loss, inc_regret = math.inf, None
    rows = []
    t0 = time.perf_counter()
    t_objective = 0.0
    max_budget_trials = 0
    max_budget_cost = 0.0
    while spent < total - 1e-9:
        trial = study.ask()
        x = suggest(trial, bm)
        key = trial.number
        te = time.perf_counter()
        f = bm.evaluator(x, seed, key)
        if full:
            reached = bmax
            value = f(bmax)
            pruned = False
        else:
            pruned = False
            for step in steps:
                value = f(step)
                reached = step
                trial.report(value, step)
                if step < bmax and trial.should_prune():
                    pruned = True
                    break
        t_objective += time.perf_counter() - te
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
        spent += reached
        true_loss = bm.truth(x)
        if reached == bmax:
            max_budget_trials += 1
            max_budget_cost += bmax
            if value < best_loss:
                best_loss = value
                inc_regret = true_loss - bm.f_opt
        rows.append((key, reached, spent / bmax, value, true_loss, inc_regret,
                     time.perf_counter() - t0, "PRUNED" if pruned else "COMPLETE"))
    wall = time.perf_counter() - t0
    if trace_path:
        with open(trace_path, "w") as fh:
            fh.write("job,config_id,budget,resume_from,cum_mbe,loss,true_loss,"
                     "incumbent_regret,wall_s,state\n")
            for key, reached, cum, value, tl, reg, w, st in rows:
                fh.write("%d,%d,%d,0,%.17g,%.17g,%.17g,%s,%.6f,%s\n" % (
                    key, key, reached, cum, value, tl, "" if reg is None else "%.17g" % reg,
                    w, st))
    return {
        "peer": peer, "function": bench, "seed": seed, "budget_mbe": budget,
        "used_mbe": spent / bmax, "trials": len(rows),
        "pruned": sum(1 for r in rows if r[7] == "PRUNED"),
        "max_budget_trials": max_budget_trials, "max_budget_mbe": max_budget_cost / bmax,
        "regret": inc_regret, "wall_s": wall, "objective_s": t_objective,
        "overhead_s": wall - t_objective, "optuna": optuna.__version__,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peer", required=True, choices=PEERS)
    ap.add_argument("--bench", required=True, choices=sorted(benchmarks.BENCHMARKS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=float, default=200.0, help="total budget in MBE")
    ap.add_argument("--trace", help="CSV trace, one row per trial")
    a = ap.parse_args()
    print(json.dumps(run(a.peer, a.bench, a.seed, a.budget, a.trace)))


if __name__ == "__main__":
    main()
