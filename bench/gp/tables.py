#!/usr/bin/python3
"""Scores the runs of bench/gp/tables.sh: per configuration and benchmark,
the median regret [first quartile, third quartile] (numpy's percentile)
over the seeds at 100 and 200 MBE, the median number of configurations,
the median wall time per run and, for the GP configurations, nothing else.

    /usr/bin/python3 bench/gp/tables.py [OUT]   (default bench/gp/results/runs)

Regret at B MBE: the incumbent regret after the job during which the spent
budget reached B (with one worker, what a run with --budget B reports: jobs
stop being launched once B is spent, and the job that crossed it finishes).
A seed without a max-budget result by then counts as +inf.
"""
import csv
import glob
import json
import math
import os
import sys

import numpy as np

BENCHES = ("counting_ones", "branin_mf", "hartmann6_mf", "lc_mixed")


def regret_at(path, mbe):
    last = math.inf
    with open(path) as f:
        for row in csv.DictReader(f):
            r = row["incumbent_regret"]
            last = float(r) if r not in ("", "nan") else math.inf
            if float(row["cum_mbe"]) >= mbe - 1e-9:
                return last
    return last


def fmt(v):
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return "inf"
    if abs(v) >= 0.01:
        return f"{v:.3g}"
    return f"{v:.2g}"


def cell(vals):
    q = np.percentile(np.array(vals, dtype=float), [50, 25, 75])
    return f"{fmt(q[0])} [{fmt(q[1])}, {fmt(q[2])}]", q[0]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/gp/results/runs"
    res = {}
    for js in sorted(glob.glob(os.path.join(out, "*.json"))):
        name = os.path.basename(js)[:-5]
        conf, bench = name.split("-", 1)
        runs = [json.loads(l) for l in open(js) if l.strip()]
        runs = [r for r in runs if "seed" in r and "regret" in r and isinstance(r.get("seed"), int)]
        traces = {}
        for r in runs:
            p = os.path.join(out, name, f"trace-{r['seed']}.csv")
            if os.path.exists(p):
                traces[r["seed"]] = p
        seeds = sorted(traces)
        r100 = [regret_at(traces[s], 100) for s in seeds]
        r200 = [regret_at(traces[s], 200) for s in seeds]
        final = {r["seed"]: r["regret"] for r in runs}
        mismatch = [s for s in seeds if final.get(s) is not None and
                    not abs(final[s] - r200[seeds.index(s)]) <= 1e-9 * abs(final[s]) + 1e-15]
        res.setdefault(conf, {})[bench] = {
            "n": len(seeds),
            "r100": cell(r100), "r200": cell(r200),
            "configs": float(np.median([r["configs"] for r in runs])),
            "wall": float(np.median([r["wall_s"] for r in runs])),
            "mismatch_200": mismatch,
        }
    for conf, per in res.items():
        print(f"\n### {conf}\n")
        print("| benchmark | seeds | 100 MBE | 200 MBE | configs (median) | wall s (median) |")
        print("|---|---|---|---|---|---|")
        for b in BENCHES:
            if b in per:
                x = per[b]
                print(f"| {b} | {x['n']} | {x['r100'][0]} | {x['r200'][0]} | {x['configs']:.0f} | {x['wall']:.2f} |"
                      + (f" (trace != json at 200 for seeds {x['mismatch_200']})" if x["mismatch_200"] else ""))


if __name__ == "__main__":
    main()
