#!/usr/bin/python3
"""Optimizer time per suggestion, fresh's BOHB sampler against Optuna 3.1's
TPESampler (default settings), in one run, on a 6-D and a 20-D mixed space,
after N = 100, 1,000, 5,000 and 10,000 finished trials; peak memory at
10,000 and 100,000 observations; the owner's jobs per second of a whole
fresh study with an instant objective.

  /usr/bin/python3 suggest_vs_optuna.py [--build DIR] [--n 100,1000,5000,10000]
        [--dims 6,20] [--asks 3] [--seconds 1] [--rss 10000,100000]
        [--study-jobs 10000,100000] [--storage-jobs 2000] [--no-optuna] [--out FILE.md]

Spaces (the same on both sides; bench-suggest's mixed6 / mixed20):
  6-D:  2 floats in [-5, 5], 1 log float in [1e-5, 1], 1 int in [1, 16],
        1 log int in [8, 1024], 1 categorical of 4;
  20-D: 8 floats, 3 log floats, 3 ints, 2 log ints, 4 categoricals of 2..5.
Loss: the sum of squared distances of the unit encoding to 0.3 (its shape does
not change either sampler's work).

fresh: `bench-suggest --space mixed6|mixed20 --model-only`: per iteration one
new observation and one proposal from the model (random_fraction 0), so both
KDEs are refitted every time: the marginal time of a suggestion in a study
whose every job ends at the model budget. CPU time of the thread.

Optuna: the N trials are added without paying the sampler for them
(optuna.trial.create_trial + study.add_trials, uniform random
configurations), then --asks timed iterations of study.ask(), one
suggest_* per parameter, study.tell(loss): the marginal time of a
suggestion with N finished trials. CPU time of the process
(time.process_time), median over the asks.

Memory: `bench-suggest --rss N` (the sampler fed N observations, then 10
model proposals; peak RSS of the process); `fresh bench hartmann6_mf
--sampler bohb --scheduler none --budget N --workers 1` for N jobs of a whole study, with and
without a study file (peak RSS by getrusage of the child; the runs with a
study file are --storage-jobs long: every job's commit is synced to disk, a
constant cost per job). Jobs per second: the same study runs, with 1 and 2
workers (wall time from its JSON line).

Writes the tables to stdout and to --out (default
bench/compare/results/suggest-vs-optuna.md), the raw figures to the same
name with .json.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

OPTUNA_CHILD = r"""
import json, random, resource, sys, time
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
n, dim, asks, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), 0
D = optuna.distributions
big = dim == 20
params = []  # (name, distribution, unit encoder)
for i in range(8 if big else 2):
    params.append(("f%d" % i, D.FloatDistribution(-5.0, 5.0)))
for i in range(3 if big else 1):
    params.append(("lf%d" % i, D.FloatDistribution(1e-5, 1.0, log=True)))
for i in range(3 if big else 1):
    params.append(("i%d" % i, D.IntDistribution(1, 16)))
for i in range(2 if big else 1):
    params.append(("li%d" % i, D.IntDistribution(8, 1024, log=True)))
for i in range(4 if big else 1):
    params.append(("c%d" % i, D.CategoricalDistribution("abcde"[:(2 + i) if big else 4])))
assert len(params) == dim
rng = random.Random(seed)

def unit(dist, v):
    import math
    if isinstance(dist, D.CategoricalDistribution):
        return dist.choices.index(v) / max(1, len(dist.choices) - 1)
    lo, hi = dist.low, dist.high
    if dist.log:
        return (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return (v - lo) / (hi - lo)

def loss(cfg):
    return sum((unit(d, cfg[k]) - 0.3) ** 2 for k, d in params)

def draw():
    cfg = {}
    for k, d in params:
        if isinstance(d, D.CategoricalDistribution):
            cfg[k] = rng.choice(d.choices)
        elif isinstance(d, D.IntDistribution):
            cfg[k] = rng.randint(d.low, d.high)
        elif d.log:
            import math
            cfg[k] = math.exp(rng.uniform(math.log(d.low), math.log(d.high)))
        else:
            cfg[k] = rng.uniform(d.low, d.high)
    return cfg

study = optuna.create_study(direction="minimize",
                            sampler=optuna.samplers.TPESampler(seed=seed))
dists = dict(params)
trials = []
for i in range(n):
    cfg = draw()
    trials.append(optuna.trial.create_trial(params=cfg, distributions=dists, value=loss(cfg)))
study.add_trials(trials)
cpu, wall = [], []
for i in range(asks):
    c0, w0 = time.process_time(), time.perf_counter()
    t = study.ask()
    cfg = {}
    for k, d in params:
        if isinstance(d, D.CategoricalDistribution):
            cfg[k] = t.suggest_categorical(k, d.choices)
        elif isinstance(d, D.IntDistribution):
            cfg[k] = t.suggest_int(k, d.low, d.high, log=d.log)
        else:
            cfg[k] = t.suggest_float(k, d.low, d.high, log=d.log)
    study.tell(t, loss(cfg))
    cpu.append(time.process_time() - c0)
    wall.append(time.perf_counter() - w0)
print(json.dumps({"n": n, "dim": dim, "cpu_ms": [1e3 * v for v in cpu],
                  "wall_ms": [1e3 * v for v in wall], "optuna": optuna.__version__,
                  "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def run_json_lines(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]


def child_rss(cmd):
    """Runs cmd; returns (its JSON lines, its peak RSS in kB)."""
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.execv(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    if status != 0:
        raise RuntimeError("%s failed (%d)" % (" ".join(cmd), status))
    return ru.ru_maxrss


def fresh_times(build, dims, ns, seconds):
    out = {}
    for dim in dims:
        rows = run_json_lines([os.path.join(build, "bench-suggest"), "--space", "mixed%d" % dim,
                               "--n", ",".join(map(str, ns)), "--seconds", str(seconds),
                               "--model-only"])
        for r in rows:
            out[(dim, r["n"])] = r["us_per_model_suggest"]
            print("fresh %2d-D N=%6d: %9.1f us" % (dim, r["n"], r["us_per_model_suggest"]),
                  flush=True)
    return out


def optuna_times(dims, ns, asks):
    out = {}
    for dim in dims:
        for n in ns:
            k = asks if n <= 5000 else max(2, asks - 1)
            r = run_json_lines([sys.executable, "-c", OPTUNA_CHILD, str(n), str(dim), str(k)])[0]
            out[(dim, n)] = (statistics.median(r["cpu_ms"]), statistics.median(r["wall_ms"]),
                             r["optuna"])
            print("optuna %2d-D N=%6d: %9.1f ms CPU (%.1f ms wall)" %
                  (dim, n, out[(dim, n)][0], out[(dim, n)][1]), flush=True)
    return out


def study_runs(build, njobs, storage_jobs):
    """fresh bench hartmann6_mf --scheduler none: N jobs (one per MBE), in
    memory for each N of njobs, with a study file for each N of storage_jobs."""
    res = []
    fresh = os.path.join(build, "fresh")
    runs = [(n, False) for n in njobs] + [(n, True) for n in storage_jobs]
    for n, storage in runs:
        for workers in (1, 2):
            if True:
                with tempfile.TemporaryDirectory() as tmp:
                    cmd = [fresh, "bench", "hartmann6_mf", "--sampler", "bohb", "--scheduler", "none", "--budget",
                           str(n), "--workers", str(workers), "--json"]
                    if storage:
                        cmd += ["--storage", os.path.join(tmp, "s.db")]
                    out = os.path.join(tmp, "out.json")
                    with open(out, "w") as fh:
                        pid = os.fork()
                        if pid == 0:
                            os.dup2(fh.fileno(), 1)
                            os.execv(cmd[0], cmd)
                        _, status, ru = os.wait4(pid, 0)
                    if status != 0:
                        raise RuntimeError("%s failed" % " ".join(cmd))
                    j = [json.loads(l) for l in open(out) if l.startswith("{")][0]
                    r = {"jobs": j["evaluations"], "workers": workers, "storage": storage,
                         "wall_s": j["wall_s"], "jobs_per_s": j["evaluations"] / j["wall_s"],
                         "max_rss_kb": ru.ru_maxrss}
                    res.append(r)
                    print("study %6d jobs, %d worker(s), %s: %.0f jobs/s, %.1f MB peak RSS" %
                          (r["jobs"], workers, "study file" if storage else "in memory",
                           r["jobs_per_s"], r["max_rss_kb"] / 1024.0), flush=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--n", default="100,1000,5000,10000")
    ap.add_argument("--dims", default="6,20")
    ap.add_argument("--asks", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--rss", default="10000,100000")
    ap.add_argument("--study-jobs", default="10000,100000")
    ap.add_argument("--storage-jobs", default="2000",
                    help="jobs of the runs with a study file (each commit is synced)")
    ap.add_argument("--no-optuna", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "suggest-vs-optuna.md"))
    a = ap.parse_args()
    ns = [int(v) for v in a.n.split(",")]
    dims = [int(v) for v in a.dims.split(",")]
    t0 = time.time()
    fr = fresh_times(a.build, dims, ns, a.seconds)
    op = {} if a.no_optuna else optuna_times(dims, ns, a.asks)
    rss = {}
    for dim in dims:
        for n in [int(v) for v in a.rss.split(",") if v]:
            rss[(dim, n)] = child_rss([os.path.join(a.build, "bench-suggest"), "--space",
                                       "mixed%d" % dim, "--rss", str(n)])
            print("fresh sampler %2d-D, %6d observations: %.1f MB peak RSS" %
                  (dim, n, rss[(dim, n)] / 1024.0), flush=True)
    study = study_runs(a.build, [int(v) for v in a.study_jobs.split(",") if v],
                       [int(v) for v in a.storage_jobs.split(",") if v])

    L = ["# fresh vs Optuna: optimizer time per suggestion\n",
         "`bench/compare/suggest_vs_optuna.py` (%s, %s, %d s). CPU time per suggestion "
         "with N finished trials; fresh: one observation + one model proposal (KDEs "
         "refitted); Optuna %s TPESampler (defaults): ask + one suggest per parameter + "
         "tell, history added with add_trials. Ratio = Optuna / fresh.\n" %
         (time.strftime("%Y-%m-%d"), platform.node() or "?", time.time() - t0,
          next(iter(op.values()))[2] if op else "-")]
    L.append("| space | N | fresh (us) | Optuna (ms) | ratio | fresh growth vs N=%d |" % ns[0])
    L.append("|---|---|---|---|---|---|")
    for dim in dims:
        for n in ns:
            f = fr.get((dim, n))
            o = op.get((dim, n))
            ratio = "%.0fx" % (o[0] * 1e3 / f) if o and f else "-"
            L.append("| %d-D mixed | %d | %.1f | %s | %s | %.2f |" %
                     (dim, n, f, "%.1f" % o[0] if o else "-", ratio, f / fr[(dim, ns[0])]))
    L.append("\nPeak RSS of the BOHB sampler fed N observations (bench-suggest --rss):\n")
    L.append("| space | N | peak RSS (MB) |")
    L.append("|---|---|---|")
    for (dim, n), kb in sorted(rss.items()):
        L.append("| %d-D mixed | %d | %.1f |" % (dim, n, kb / 1024.0))
    if study:
        L.append("\nWhole studies, instant objective (`fresh bench hartmann6_mf --sampler bohb --scheduler "
                 "none --budget N --workers W [--storage F]`, BOHB, N full-budget jobs):\n")
        L.append("| jobs | workers | study file | jobs/s | peak RSS (MB) |")
        L.append("|---|---|---|---|---|")
        for r in study:
            L.append("| %d | %d | %s | %.0f | %.1f |" % (r["jobs"], r["workers"],
                                                        "yes" if r["storage"] else "no",
                                                        r["jobs_per_s"], r["max_rss_kb"] / 1024.0))
    text = "\n".join(L) + "\n"
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as fh:
        fh.write(text)
    with open(os.path.splitext(a.out)[0] + ".json", "w") as fh:
        json.dump({"fresh_us": {"%d/%d" % k: v for k, v in fr.items()},
                   "optuna_ms": {"%d/%d" % k: v for k, v in op.items()},
                   "sampler_rss_kb": {"%d/%d" % k: v for k, v in rss.items()},
                   "study": study}, fh, indent=1)


if __name__ == "__main__":
    main()
