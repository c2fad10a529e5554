#!/usr/bin/python3
"""The asynchronous schedulers against two synchronous baselines on the
simulated cluster: fresh's synchronous Hyperband (which opens the next
bracket rather than leave a worker idle at a stage barrier) and textbook
Hyperband (`--max-open-brackets 1`: one bracket at a time, workers idle at
the barriers, the baseline of Li et al.'s ASHA paper).

For every benchmark x sampler x worker count it runs each scheduler's seeds
(`fresh bench FN --simulate-workers W --sim-horizon H --sim-spread 0.5
--seed 0 --seeds K --json`, H = 16, 8, 4 max-budget job durations at 16, 64,
256 workers, as bench/sim/grid.py), stores the JSON lines in
OUT/raw/FN-SCHED-SAMP-wW.jsonl (a complete file is not run again), and
writes OUT/textbook.md: per cell the median final regret and utilization of
both baselines, and for each asynchronous scheduler its median final regret
and t/H against each baseline: the first simulated time its median regret
curve reaches the baseline's final median regret, as a fraction of the
horizon ("-": not within it). The half-time goal of issue 14 is t/H <= 0.5.

With --compare RAW (the raw directory of another run of the same cells,
e.g. one with --paper-promotions, --extra "--paper-promotions") it also
prints, per asynchronous scheduler and sampler, the median final regret over
Hyperband's (geometric mean over the benchmarks and the worst, per worker
count), the geometric mean of this run's median over RAW's, and how many
seeds ended better, worse or equal.

Usage: bench/sim/textbook.py [--fresh build/fresh] [--out bench/sim/textbook]
           [--seeds 16=10,64=10,256=5] [--jobs 2] [--samplers bohb,random]
           [--workers 16,64,256] [--functions ...] [--extra "OPTIONS"]
           [--compare RAW]
"""
import argparse
import concurrent.futures as cf
import json
import math
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import analyze  # noqa: E402  (regret_at, curve, first_time, fmt)

MAX_BUDGET = {"counting_ones": 729, "branin_mf": 81, "hartmann6_mf": 81, "lc_mixed": 81}
DURATIONS = {16: 16, 64: 8, 256: 4}
ASYNC = ["asha", "async-hyperband", "async-adaptive"]
# name in the files and tables -> fresh bench options
SCHEDS = {"textbook": ["--scheduler", "hyperband", "--max-open-brackets", "1"],
          "hyperband": ["--scheduler", "hyperband"]}
SCHEDS.update({s: ["--scheduler", s] for s in ASYNC})


def load(path, seeds):
    try:
        with open(path) as f:
            lines = [json.loads(x) for x in f if x.strip()]
    except (OSError, ValueError):
        return None
    runs = [d for d in lines if "simulated" in d]
    return runs if len(runs) == seeds else None


def run_cell(a, fn, sched, samp, w, seeds):
    path = os.path.join(a.out, "raw", "%s-%s-%s-w%d.jsonl" % (fn, sched, samp, w))
    if load(path, seeds) is not None:
        return path
    horizon = MAX_BUDGET[fn] * DURATIONS[w]
    cmd = ["nice", "-n", "10", a.fresh, "bench", fn, "--simulate-workers", str(w),
           "--sim-horizon", str(horizon), "--sim-spread", "0.5", "--sampler", samp,
           "--seed", "0", "--seeds", str(seeds), "--json"] + SCHEDS[sched]
    if sched in ASYNC:
        cmd += a.extra.split()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("%s: %s" % (" ".join(cmd), p.stderr.strip()))
    with open(path + ".tmp", "w") as f:
        f.write(p.stdout)
    os.replace(path + ".tmp", path)
    print("  %s done" % os.path.basename(path), flush=True)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fresh", default="build/fresh")
    ap.add_argument("--out", default="bench/sim/textbook")
    ap.add_argument("--seeds", default="16=10,64=10,256=5")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--samplers", default="bohb,random")
    ap.add_argument("--workers", default="16,64,256")
    ap.add_argument("--functions", default=",".join(MAX_BUDGET))
    ap.add_argument("--extra", default="", help="more fresh bench options for the "
                    "asynchronous schedulers (e.g. --paper-promotions)")
    ap.add_argument("--compare", help="raw directory of another run to compare with")
    a = ap.parse_args()
    seeds = {int(k): int(v) for k, v in (x.split("=") for x in a.seeds.split(","))}
    workers = [int(x) for x in a.workers.split(",")]
    fns, samps = a.functions.split(","), a.samplers.split(",")
    os.makedirs(os.path.join(a.out, "raw"), exist_ok=True)
    cells = [(fn, s, samp, w) for w in workers for fn in fns for samp in samps for s in SCHEDS]
    with cf.ThreadPoolExecutor(a.jobs) as ex:
        list(ex.map(lambda c: run_cell(a, *c, seeds[c[3]]), cells))

    rows = ["| benchmark | W | sampler | seeds | textbook (util.) | hyperband (util.) | "
            + " | ".join("%s: regret, t/H vs textbook, vs hyperband" % s for s in ASYNC) + " |",
            "|---|---|---|---|---|---|" + "---|" * len(ASYNC)]
    met = {"textbook": [0, 0], "hyperband": [0, 0]}
    for w in workers:
        for fn in fns:
            for samp in samps:
                runs = {s: load(os.path.join(a.out, "raw", "%s-%s-%s-w%d.jsonl"
                                             % (fn, s, samp, w)), seeds[w]) for s in SCHEDS}
                horizon = MAX_BUDGET[fn] * DURATIONS[w]
                grid = [horizon * i / 240 for i in range(1, 241)]
                final = {s: statistics.median(d["regret"] for d in r) for s, r in runs.items()}
                util = {s: min(d["simulated"]["utilization"] for d in r) for s, r in runs.items()}
                row = "| %s | %d | %s | %d | %s (%.2f) | %s (%.2f) |" % (
                    fn, w, samp, seeds[w], analyze.fmt(final["textbook"]), util["textbook"],
                    analyze.fmt(final["hyperband"]), util["hyperband"])
                best = {"textbook": 9.0, "hyperband": 9.0}
                for s in ASYNC:
                    cur = analyze.curve(runs[s], grid)
                    parts = []
                    for base in ("textbook", "hyperband"):
                        t = analyze.first_time(grid, cur, final[base])
                        f = t / horizon if t == t else float("nan")
                        if f == f:
                            best[base] = min(best[base], f)
                        parts.append("-" if f != f else ("**%.2f**" % f if f <= 0.5 else "%.2f" % f))
                    row += " %s, %s, %s |" % (analyze.fmt(final[s]), parts[0], parts[1])
                for base in best:
                    met[base][0] += best[base] <= 0.5
                    met[base][1] += 1
                rows.append(row)
    summary = ["", "Half-time goal (the best asynchronous scheduler's t/H <= 0.5):",
               "against textbook Hyperband in %d of %d cells, against fresh's synchronous "
               "Hyperband in %d of %d." % (met["textbook"][0], met["textbook"][1],
                                          met["hyperband"][0], met["hyperband"][1])]
    text = "\n".join(rows + summary) + "\n"
    with open(os.path.join(a.out, "textbook.md"), "w") as f:
        f.write(text)
    print(text)
    if a.compare:
        compare(a, fns, samps, workers, seeds)


def compare(a, fns, samps, workers, seeds):
    raw = os.path.join(a.out, "raw")
    for samp in samps:
        for s in ASYNC:
            line, ratios, counts = "%-6s %-15s" % (samp, s), [], [0, 0, 0]
            for w in workers:
                logs, worst = [], 0.0
                for fn in fns:
                    name = "%s-%s-%s-w%d.jsonl" % (fn, "%s", samp, w)
                    hb = statistics.median(d["regret"] for d in load(
                        os.path.join(raw, name % "hyperband"), seeds[w]))
                    ours = [d["regret"] for d in load(os.path.join(raw, name % s), seeds[w])]
                    theirs = [d["regret"] for d in load(os.path.join(a.compare, name % s),
                                                        seeds[w])]
                    for x, y in zip(ours, theirs):
                        counts[0 if x < y else 1 if x > y else 2] += 1
                    mo, mt = statistics.median(ours), statistics.median(theirs)
                    if hb > 0:
                        logs.append(math.log(mo / hb))
                        worst = max(worst, mo / hb)
                    if mo > 0 and mt > 0:
                        ratios.append(math.log(mo / mt))
                line += " | %d: vs hyperband %.2f, worst %.2g" % (
                    w, math.exp(sum(logs) / len(logs)) if logs else float("nan"), worst)
            line += " | vs %s %.2f; seeds better %d, worse %d, equal %d" % (
                a.compare, math.exp(sum(ratios) / len(ratios)), *counts)
            print(line)


if __name__ == "__main__":
    main()
