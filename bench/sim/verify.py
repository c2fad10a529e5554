#!/usr/bin/python3
"""Checks that a fresh binary reproduces stored grid results exactly: the
simulation is deterministic, so re-running a cell's first seeds must give
the same simulated figures and trajectories (real-time fields excluded).
Use it after the code changed to show the stored grid still holds.

Usage: bench/sim/verify.py [--fresh build/fresh] [--out bench/sim/results]
           [--seeds 2] [--workers 16,64] [--schedulers ...] [--samplers ...]
"""
import argparse
import glob
import json
import os
import subprocess
import sys

REAL = {"wall_s", "overhead_s", "ask_mean_us", "ask_p99_us", "tell_mean_us", "tell_p99_us",
        "owner_load", "real_s"}


def strip(d):
    if isinstance(d, dict):
        return {k: strip(v) for k, v in d.items() if k not in REAL}
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fresh", default="build/fresh")
    ap.add_argument("--out", default="bench/sim/results")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--workers", default="16,64")
    ap.add_argument("--schedulers", default="hyperband,adaptive,asha,async-hyperband")
    ap.add_argument("--samplers", default="bohb,random")
    args = ap.parse_args()
    bad = checked = 0
    for path in sorted(glob.glob(os.path.join(args.out, "raw", "*-s0.jsonl"))):
        with open(path) as f:
            stored = [json.loads(line) for line in f if line.strip()]
        stored = [d for d in stored if "simulated" in d][: args.seeds]
        d = stored[0]
        s = d["simulated"]
        if (str(s["workers"]) not in args.workers.split(",") or
                d["scheduler"] not in args.schedulers.split(",") or
                d["sampler"] not in args.samplers.split(",")):
            continue
        cmd = [args.fresh, "bench", d["function"], "--simulate-workers", str(s["workers"]),
               "--sim-horizon", repr(s["horizon"]), "--sim-spread", repr(s["spread"]),
               "--scheduler", d["scheduler"], "--sampler", d["sampler"], "--seed", "0",
               "--seeds", str(len(stored)), "--json"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        now = [json.loads(line) for line in out.splitlines()][: len(stored)]
        same = [strip(a) == strip(b) for a, b in zip(stored, now)]
        checked += 1
        if not all(same):
            bad += 1
        print(f"{os.path.basename(path)}: {'same' if all(same) else 'DIFFERENT'}", flush=True)
    print(f"{checked} cells checked, {bad} different")
    return 1 if bad or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
