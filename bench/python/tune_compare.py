#!/usr/bin/python3
"""fresh (BOHB) against Optuna 3.1 (TPESampler + HyperbandPruner) on the same
PyTorch digits task, side by side in one run.

Both tune the network of examples/python/tune_digits_torch.py (the same
space, data, training code and epoch budget: 1..27 epochs, eta 3) with the
same number of workers (threads in one process: fresh's pool, Optuna's
n_jobs) and the same total budget of epochs; for each seed, fresh runs, then
Optuna, so that machine load hits both alike. The error reached is the best
validation error among configurations trained to the full 27 epochs
(fresh's incumbent, Optuna's best COMPLETE trial), recorded after every job /
trial against the epochs spent so far and the wall time.

    nice -n 10 /usr/bin/python3 bench/python/tune_compare.py --seeds 5 --budget 6 --workers 2

Writes bench/python/results/torch-digits.{json,md,png} (gnuplot for the plot).
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "examples", "python"))
import tune_digits_torch as tdt  # noqa: E402  (also imports fresh)
import torch  # noqa: E402
import optuna  # noqa: E402

fresh = tdt.fresh
MAX = 27


def run_fresh(data, seed, budget_mbe, workers):
    study = fresh.Study(fresh.Space(tdt.SPACE), min_budget=1, max_budget=MAX, eta=3,
                        sampler="bohb", workers=workers, seed=seed)
    points = []
    t0 = time.time()

    def record(study, job):
        best = study.best
        points.append((study.stats["used_budget"], time.time() - t0,
                       best["loss"] if best else None))

    study.optimize(tdt.make_objective(data), budget=budget_mbe, callbacks=[record])
    st = study.stats
    return {"points": points, "jobs": st["jobs_finished"], "stopped": st["jobs_stopped"],
            "failed": st["jobs_failed"], "epochs": st["used_budget"], "wall": time.time() - t0}


def optuna_params(trial):
    """The space of tune_digits_torch.SPACE, asked Optuna's way."""
    p = {"lr": trial.suggest_float("lr", 1e-4, 1.0, log=True),
         "batch_size": trial.suggest_int("batch_size", 16, 256, log=True),
         "hidden": trial.suggest_int("hidden", 16, 256, log=True),
         "layers": trial.suggest_int("layers", 1, 3),
         "dropout": trial.suggest_float("dropout", 0.0, 0.5),
         "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
         "optimizer": trial.suggest_categorical("optimizer", ["sgd", "adam"])}
    if p["optimizer"] == "sgd":
        p["momentum"] = trial.suggest_float("momentum", 0.0, 0.99)
    p["activation"] = trial.suggest_categorical("activation", ["relu", "tanh"])
    return p


def run_optuna(data, seed, budget_mbe, workers):
    budget_epochs = budget_mbe * MAX
    spent = [0]
    lock = threading.Lock()
    points = []
    t0 = time.time()

    def objective(trial):
        net = tdt.Trainer(data, optuna_params(trial), seed * 1000003 + trial.number)
        err = float("nan")
        for epoch in range(1, MAX + 1):
            with lock:
                over = spent[0] >= budget_epochs
            if over:  # the budget is spent: stop this trial and the study
                trial.study.stop()
                raise optuna.TrialPruned()
            err = net.train_epoch()
            with lock:
                spent[0] += 1
            if math.isnan(err):
                raise optuna.TrialPruned()  # diverged: fresh records it as failed
            trial.report(err, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return err

    def record(study, frozen):
        with lock:
            used = spent[0]
        try:
            best = study.best_value
        except ValueError:
            best = None
        points.append((used, time.time() - t0, best))
        if used >= budget_epochs:
            study.stop()

    sampler = optuna.samplers.TPESampler(seed=seed)
    pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=MAX, reduction_factor=3)
    study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner)
    study.optimize(objective, n_jobs=workers, callbacks=[record])
    states = [t.state for t in study.trials]
    return {"points": points, "jobs": len(study.trials),
            "stopped": sum(s == optuna.trial.TrialState.PRUNED for s in states),
            "failed": sum(s == optuna.trial.TrialState.FAIL for s in states),
            "epochs": spent[0], "wall": time.time() - t0}


def best_at(points, x, axis):
    """The best error recorded at or before x (epochs: axis 0, seconds: axis 1)."""
    best = None
    for p in points:
        if p[axis] <= x and p[2] is not None:
            best = p[2]
    return best


def median_curve(runs, grid, axis):
    out = []
    for x in grid:
        vals = [best_at(r["points"], x, axis) for r in runs]
        vals = [v if v is not None else math.inf for v in vals]
        m = statistics.median(vals)
        out.append(m)
    return out


def quartiles(v):
    v = sorted(v)
    q = statistics.quantiles(v, n=4, method="inclusive") if len(v) > 1 else [v[0]] * 3
    return q[0], q[1], q[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=float, default=6, help="total budget in 27-epoch trainings")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "torch-digits"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = tdt.load_digits()
    res = {"fresh": [], "optuna": [], "budget_mbe": args.budget, "workers": args.workers,
           "max_epochs": MAX, "optuna_version": optuna.__version__, "torch_version": torch.__version__,
           "fresh_version": fresh.__version__}
    for seed in range(args.seeds):
        for name, fn in (("fresh", run_fresh), ("optuna", run_optuna)):
            r = fn(data, seed, args.budget, args.workers)
            r["seed"] = seed
            res[name].append(r)
            final = r["points"][-1][2] if r["points"] else None
            print(f"seed {seed} {name:6s}: final error {final}, {r['epochs']:.0f} epochs, "
                  f"{r['jobs']} jobs ({r['stopped']} stopped/pruned, {r['failed']} failed), "
                  f"{r['wall']:.1f} s", flush=True)
            with open(args.out + ".json", "w") as f:
                json.dump(res, f)
    report(res, args.out)


def report(res, out):
    budget_epochs = res["budget_mbe"] * MAX
    names = ("fresh", "optuna")
    grid_e = [budget_epochs * k / 40 for k in range(1, 41)]
    tmax = max(r["wall"] for n in names for r in res[n])
    grid_t = [tmax * k / 40 for k in range(1, 41)]
    with open(out + ".dat", "w") as f:
        f.write("# epochs fresh optuna | seconds fresh optuna (median best validation error of %d seeds)\n"
                % len(res["fresh"]))
        ce = {n: median_curve(res[n], grid_e, 0) for n in names}
        ct = {n: median_curve(res[n], grid_t, 1) for n in names}
        for i in range(len(grid_e)):
            vals = [grid_e[i], ce["fresh"][i], ce["optuna"][i], grid_t[i], ct["fresh"][i], ct["optuna"][i]]
            f.write(" ".join("nan" if math.isinf(v) else "%.6g" % v for v in vals) + "\n")
    rows = []
    for n in names:
        finals = [best_at(r["points"], budget_epochs, 0) for r in res[n]]
        finals = [v if v is not None else math.inf for v in finals]
        walls = [r["wall"] for r in res[n]]
        q1, med, q3 = quartiles(finals)
        half = [best_at(r["points"], budget_epochs / 2, 0) for r in res[n]]
        half = [v if v is not None else math.inf for v in half]
        rows.append((n, med, q1, q3, statistics.median(half), statistics.median(walls),
                     statistics.median([r["jobs"] for r in res[n]]),
                     statistics.median([r["stopped"] for r in res[n]]),
                     statistics.median([r["epochs"] for r in res[n]])))
    label = {"fresh": "fresh BOHB (+ adaptive Hyperband)", "optuna": "Optuna TPE + HyperbandPruner"}
    with open(out + ".md", "w") as f:
        f.write("| | error at %g epochs (median) | quartiles | at %g epochs | wall time (s) | "
                "jobs / trials | stopped / pruned | epochs used |\n|---|---|---|---|---|---|---|---|\n"
                % (budget_epochs, budget_epochs / 2))
        for n, med, q1, q3, half, wall, jobs, stopped, epochs in rows:
            f.write(f"| {label[n]} | {med:.4f} | {q1:.4f}-{q3:.4f} | {half:.4f} | {wall:.0f} | "
                    f"{jobs:.0f} | {stopped:.0f} | {epochs:.0f} |\n")
    print(open(out + ".md").read())
    try:
        subprocess.run(["gnuplot"], input=f"""
set terminal pngcairo size 1100,420 font ',10'
set output '{out}.png'
set multiplot layout 1,2 title 'PyTorch digits, 1..27 epochs, {res["workers"]} workers: median of {len(res["fresh"])} seeds'
set ylabel 'best validation error (27 epochs)'
set logscale y
set key top right
set xlabel 'epochs spent'
plot '{out}.dat' using 1:2 with steps lw 2 title 'fresh BOHB', '' using 1:3 with steps lw 2 title 'Optuna TPE + Hyperband'
set xlabel 'wall time (s)'
plot '{out}.dat' using 4:5 with steps lw 2 title 'fresh BOHB', '' using 4:6 with steps lw 2 title 'Optuna TPE + Hyperband'
unset multiplot
""", text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print("no plot:", e)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--report":
        with open(sys.argv[2] + ".json") as f:
            report(json.load(f), sys.argv[2])
    else:
        main()
