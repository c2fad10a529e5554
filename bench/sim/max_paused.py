#!/usr/bin/python3
"""What a limit on paused configurations (--max-paused N) changes on the
simulated cluster: the asynchronous schedulers asha and async-hyperband with
BOHB and random search on the four benchmarks, each seed run without the
limit and with each N, the same horizon as bench/sim/grid.py (16, 8, 4
max-budget job durations at 16, 64, 256 workers, spread 0.5).

For each cell it prints the median final regret without the limit and with
each N, and how many seeds end identical (the same final regret and number
of jobs: the limit retired no configuration that would have been promoted
before the horizon), better or worse. The last lines sum the cells.

Usage: bench/sim/max_paused.py [--fresh build/fresh] [--workers 16]
           [--limits 16,64] [--seeds 10] [--jobs 2]
"""
import argparse
import concurrent.futures as cf
import json
import statistics
import subprocess

FUNCS = ["counting_ones", "branin_mf", "hartmann6_mf", "lc_mixed"]
MAX_BUDGET = {"counting_ones": 729, "branin_mf": 81, "hartmann6_mf": 81, "lc_mixed": 81}
DURATIONS = {16: 16, 64: 8, 256: 4}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fresh", default="build/fresh")
    ap.add_argument("--workers", type=int, default=16, choices=sorted(DURATIONS))
    ap.add_argument("--limits", default="16,64")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    limits = [int(x) for x in a.limits.split(",")]

    def run(fn, sched, samp, seed, limit):
        horizon = MAX_BUDGET[fn] * DURATIONS[a.workers]
        cmd = [a.fresh, "bench", fn, "--simulate-workers", str(a.workers), "--sim-horizon",
               str(horizon), "--sim-spread", "0.5", "--sampler", samp, "--scheduler", sched,
               "--seed", str(seed), "--json"] + (["--max-paused", str(limit)] if limit else [])
        d = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
        return d["regret"], d["simulated"]["jobs"]

    total = {n: [0, 0, 0, 0] for n in limits}
    with cf.ThreadPoolExecutor(a.jobs) as ex:
        for fn in FUNCS:
            for sched in ("asha", "async-hyperband"):
                for samp in ("bohb", "random"):
                    base = list(ex.map(lambda s: run(fn, sched, samp, s, 0), range(a.seeds)))
                    line = "%-13s %-15s %-6s no limit %.3g" % (
                        fn, sched, samp, statistics.median(r for r, _ in base))
                    for n in limits:
                        got = list(ex.map(lambda s: run(fn, sched, samp, s, n), range(a.seeds)))
                        same = sum(g == b for g, b in zip(got, base))
                        better = sum(g[0] < b[0] for g, b in zip(got, base))
                        worse = sum(g[0] > b[0] for g, b in zip(got, base))
                        t = total[n]
                        t[0] += same
                        t[1] += better
                        t[2] += worse
                        t[3] += a.seeds
                        line += " | %d: %.3g, %d identical, %d better, %d worse" % (
                            n, statistics.median(r for r, _ in got), same, better, worse)
                    print(line, flush=True)
    for n in limits:
        same, better, worse, runs = total[n]
        print("%d workers, --max-paused %d: %d of %d runs identical, %d better, %d worse"
              % (a.workers, n, same, runs, better, worse))


if __name__ == "__main__":
    main()
