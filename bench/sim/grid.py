#!/usr/bin/python3
"""The scheduler grid of issue 14 on the simulated cluster (docs/benchmarks.md,
"Schedulers on a simulated cluster").

For every benchmark x scheduler x sampler x worker count it runs
    fresh bench FN --simulate-workers W --sim-horizon H --sim-spread S
                   --scheduler SCHED --sampler SAMP --seed 0 --seeds K --json
and stores the JSON lines (one per seed, then the medians) in
OUT/raw/FN-SCHED-SAMP-wW-sS.jsonl (S: the first seed, --seed-start; more
seeds can be added later as another file, analyze.py merges them). A file that is already complete is not run
again, so an interrupted grid continues where it stopped. The horizon is
given in max-budget job durations (--horizon-jobs W=K,...): H = K x the
benchmark's maximum budget x unit time (1 s per unit of budget).

Usage: bench/sim/grid.py [--fresh build/fresh] [--out bench/sim/results]
           [--seeds 20] [--seed-start 0] [--jobs 1] [--workers 16,64,256]
           [--horizon-jobs 16=24,64=12,256=6] [--spread 0.5]
           [--functions ...] [--schedulers ...] [--samplers ...]
"""
import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys
import time

MAX_BUDGET = {"counting_ones": 729, "branin_mf": 81, "hartmann6_mf": 81, "lc_mixed": 81}


def complete(path, seeds):
    try:
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError):
        return False
    return len(lines) == seeds + (1 if seeds > 1 else 0)


def run_one(args, fn, sched, samp, w, horizon):
    path = os.path.join(args.out, "raw", f"{fn}-{sched}-{samp}-w{w}-s{args.seed_start}.jsonl")
    if complete(path, args.seeds):
        return path, 0.0, "cached"
    cmd = ["nice", "-n", "10", args.fresh, "bench", fn, "--simulate-workers", str(w),
           "--sim-horizon", repr(horizon), "--sim-spread", repr(args.spread),
           "--scheduler", sched, "--sampler", samp, "--seed", str(args.seed_start),
           "--seeds", str(args.seeds), "--json"]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.time() - t0
    if p.returncode != 0:
        return path, dt, "FAILED: " + p.stderr.strip()
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(p.stdout)
    os.replace(tmp, path)
    return path, dt, "ok"


def record_grid(args, hj):
    """Writes OUT/grid-sS.json: the grid's settings and every command that
    added to it (several invocations may fill one grid, e.g. a scheduler
    subset each; horizons of other worker counts are kept)."""
    path = os.path.join(args.out, f"grid-s{args.seed_start}.json")
    rec = {}
    try:
        with open(path) as f:
            rec = json.load(f)
    except (OSError, ValueError):
        pass
    if rec and (rec.get("seeds") != args.seeds or rec.get("spread") != args.spread):
        print(f"warning: {path} was written with other seeds or spread; its settings "
              "are replaced", file=sys.stderr)
        rec = {}
    commands = rec.get("commands", [rec["command"]] if "command" in rec else [])
    horizons = {int(k): v for k, v in rec.get("horizon_jobs", {}).items()}
    horizons.update(hj)
    rec = {"seeds": args.seeds, "seed_start": args.seed_start, "spread": args.spread,
           "horizon_jobs": horizons, "unit_time": 1, "commands": commands + [sys.argv]}
    with open(path + ".tmp", "w") as f:
        json.dump(rec, f, indent=1)
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fresh", default="build/fresh")
    ap.add_argument("--out", default="bench/sim/results")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--seed-start", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--workers", default="16,64,256")
    ap.add_argument("--horizon-jobs", default="16=24,64=12,256=6")
    ap.add_argument("--spread", type=float, default=0.5)
    ap.add_argument("--functions", default="counting_ones,branin_mf,hartmann6_mf,lc_mixed")
    ap.add_argument("--schedulers",
                    default="hyperband,adaptive,asha,async-hyperband,async-adaptive")
    ap.add_argument("--samplers", default="bohb,random,auto")
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, "raw"), exist_ok=True)
    hj = dict((int(k), float(v)) for k, v in (kv.split("=") for kv in args.horizon_jobs.split(",")))
    workers = [int(w) for w in args.workers.split(",")]
    tasks = []
    # cheap ones first, so that a cut run still covers every scheduler
    for w in workers:
        for samp in args.samplers.split(","):
            for fn in args.functions.split(","):
                for sched in args.schedulers.split(","):
                    tasks.append((fn, sched, samp, w, hj[w] * MAX_BUDGET[fn]))
    record_grid(args, hj)
    t0 = time.time()
    failed = 0
    with cf.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        futs = [ex.submit(run_one, args, *t) for t in tasks]
        for fut in futs:
            path, dt, what = fut.result()
            failed += what.startswith("FAILED")
            print(f"{time.time() - t0:8.1f} s  {os.path.basename(path)}: {what} ({dt:.1f} s)",
                  flush=True)
    print(f"grid done in {time.time() - t0:.0f} s, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
