#!/usr/bin/python3
"""Side-by-side comparison of fresh and Optuna on the four benchmarks of
docs/benchmarks-spec.md, same budgets (MBE), same seeds, same run.

  /usr/bin/python3 run_compare.py [--budget 200] [--seeds 10] [--quick] [--jobs N]
                                  [--no-overhead] [--fresh BIN] [--out DIR]

Peers: fresh bohb+hyperband, fresh random+hyperband, fresh tpe full budget
(--sampler bohb --scheduler none), fresh bohb+adaptive (the default);
Optuna TPE+HyperbandPruner, Random+HyperbandPruner, TPE full budget
(optuna_peers.py). Every run is one process; fresh runs through the CLI with
--workers 1 --json --trajectory.

Scoring (identical for both sides, from the per-job traces): a job's reached
budget is resume_from + (cost of the row) where the cost is the increase of
cum_mbe times b_max; the BOHB-style incumbent after a row is the best observed
loss among jobs that reached b_max; its regret is true_loss - f_opt; "n/a"
before the first max-budget job. Regret at a fraction of the budget = the
incumbent regret at the last row with cum_mbe <= that fraction of the total.
Medians and quartiles over seeds (numpy's linear interpolation; a seed
without incumbent counts as +inf).

Writes DIR/compare-<budget>.md, DIR/compare-<budget>.json and
DIR/compare-<budget>-<benchmark>.png; traces under DIR/traces-<budget>/.
"""
import argparse
import concurrent.futures as cf
import csv
import datetime
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import benchmarks  # noqa: E402  (checks the test vectors at import)

BENCHES = ["counting_ones", "branin_mf", "hartmann6_mf", "lc_mixed"]
# name -> (side, label, args)
PEERS = [
    ("fresh_bohb_hb", "fresh", "fresh BOHB+HB", ["--sampler", "bohb", "--scheduler", "hyperband"]),
    ("fresh_random_hb", "fresh", "fresh Random+HB",
     ["--sampler", "random", "--scheduler", "hyperband"]),
    ("fresh_tpe_full", "fresh", "fresh TPE full", ["--sampler", "bohb", "--scheduler", "none"]),
    ("fresh_bohb_adaptive", "fresh", "fresh BOHB+adaptive",
     ["--sampler", "bohb", "--scheduler", "adaptive"]),
    ("optuna_tpe_hb", "optuna", "Optuna TPE+HB", ["tpe_hb"]),
    ("optuna_random_hb", "optuna", "Optuna Random+HB", ["random_hb"]),
    ("optuna_tpe_full", "optuna", "Optuna TPE full", ["tpe_full"]),
]
TARGET_PEER = "optuna_tpe_hb"
FRACTIONS = (0.25, 0.5, 1.0)


def run_one(task):
    name, side, args, bench, seed, budget, trace, fresh_bin = task
    t0 = time.perf_counter()
    if side == "fresh":
        cmd = [fresh_bin, "bench", bench] + args + [
            "--budget", repr(budget), "--seed", str(seed), "--workers", "1", "--json",
            "--trajectory", trace]
    else:
        cmd = [sys.executable, os.path.join(HERE, "optuna_peers.py"), "--peer", args[0],
               "--bench", bench, "--seed", str(seed), "--budget", repr(budget),
               "--trace", trace]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr[-2000:]))
    summary = None
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            summary = json.loads(line)
            break
    return {"peer": name, "bench": bench, "seed": seed, "summary": summary,
            "process_s": time.perf_counter() - t0}


def read_trace(path, bm):
    """[(cum_mbe, regret or None)] with the BOHB-style incumbent (see module doc)."""
    pts = []
    prev = 0.0
    best = math.inf
    reg = None
    bmax = bm.max_budget
    with open(path) as fh:
        for r in csv.DictReader(fh):
            cum = float(r["cum_mbe"])
            reached = float(r["resume_from"]) + (cum - prev) * bmax
            prev = cum
            loss = float(r["loss"])
            if abs(reached - bmax) < 1e-6 * bmax and loss < best:
                best = loss
                reg = float(r["true_loss"]) - bm.f_opt
            pts.append((cum, reg))
    return pts


def regret_at(pts, b):
    val = None
    for cum, reg in pts:
        if cum <= b + 1e-9:
            val = reg
        else:
            break
    return val


def first_reach(pts, target, budget):
    for cum, reg in pts:
        if cum > budget + 1e-9:
            break
        if reg is not None and reg <= target:
            return cum
    return math.inf


def quantile(vals, q):
    v = sorted(vals)
    if not v:
        return math.inf
    pos = q * (len(v) - 1)
    lo, hi = int(math.floor(pos)), int(math.ceil(pos))
    if lo == hi or v[lo] == v[hi]:
        return v[lo]
    if math.isinf(v[hi]):
        return math.inf
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def fmt(v):
    if v is None or (isinstance(v, float) and (math.isinf(v) or math.isnan(v))):
        return "n/a"
    if v == 0:
        return "0"
    if abs(v) >= 0.01:
        return "%.3g" % v
    return "%.2e" % v


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return {"nproc": os.cpu_count(), "cpu": model, "load_1min_at_start": load,
            "python": platform.python_version()}


def git_describe():
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def overhead(fresh_suggest, out_dir, budget):
    """fresh BOHB suggestion time vs Optuna TPE ask+tell, same run."""
    res = {"fresh": [], "optuna": []}
    if fresh_suggest and os.path.exists(fresh_suggest):
        p = subprocess.run([fresh_suggest, "--n", "100,1000,5000,10000,100000"],
                           stdout=subprocess.PIPE, text=True, check=True)
        res["fresh"] = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    else:
        print("run_compare: %s not found: no fresh overhead figures" % fresh_suggest,
              file=sys.stderr)
    p = subprocess.run([sys.executable, os.path.join(HERE, "optuna_overhead.py"),
                        "--n", "100,1000,5000"], stdout=subprocess.PIPE, text=True, check=True)
    res["optuna"] = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    return res


def overhead_md(ov):
    lines = []
    fh = {r["n"]: r for r in ov["fresh"] if r["space"] == "hartmann6"}
    oh = {r["n"]: r for r in ov["optuna"]}
    lines.append("Time per suggestion on hartmann6 (6-D) after N finished trials, same run. "
                 "fresh: bench-suggest (one new observation + one proposal per iteration, so "
                 "the KDEs are refitted every time; \"model\" = random_fraction 0, every "
                 "proposal from the model; \"default\" = random_fraction 1/3). Optuna: "
                 "TPESampler ask + 6 suggest_float + tell (optuna_overhead.py).\n")
    lines.append("| N | fresh BOHB default (ms) | fresh BOHB model (ms) | Optuna TPE (ms, median) "
                 "| ratio Optuna / fresh model |")
    lines.append("|---|---|---|---|---|")
    for n in sorted(set(fh) | set(oh)):
        f, o = fh.get(n), oh.get(n)
        fd = "%.3f" % (f["us_per_suggest"] / 1e3) if f else "-"
        fm = "%.3f" % (f["us_per_model_suggest"] / 1e3) if f else "-"
        om = "%.1f" % o["ms_per_ask_tell_median"] if o else "-"
        ratio = ("%.0fx" % (o["ms_per_ask_tell_median"] * 1e3 / f["us_per_model_suggest"])
                 if f and o else "-")
        lines.append("| %d | %s | %s | %s | %s |" % (n, fd, fm, om, ratio))
    mixed = [r for r in ov["fresh"] if r["space"] == "mixed10"]
    if mixed:
        lines.append("\nfresh BOHB in a 10-D mixed space (3 floats, 2 log floats, 2 ints, 1 log "
                     "int, 2 categoricals):\n")
        lines.append("| N | default (ms) | model (ms) | propose only, model cached (ms) |")
        lines.append("|---|---|---|---|")
        for r in mixed:
            lines.append("| %d | %.3f | %.3f | %.3f |" % (
                r["n"], r["us_per_suggest"] / 1e3, r["us_per_model_suggest"] / 1e3,
                r["us_per_propose_cached"] / 1e3))
    return "\n".join(lines)


def plot(out_dir, budget, bench, curves, labels):
    """curves: peer -> [(mbe, median regret or None)]; PNG via gnuplot."""
    dat = os.path.join(out_dir, "compare-%g-%s.dat" % (budget, bench))
    png = os.path.join(out_dir, "compare-%g-%s.png" % (budget, bench))
    peers = list(curves)
    grid = [g for g, _ in curves[peers[0]]]
    with open(dat, "w") as fh:
        fh.write("# mbe " + " ".join(peers) + "\n")
        for i, g in enumerate(grid):
            vals = []
            for p in peers:
                v = curves[p][i][1]
                vals.append("?" if v is None or math.isinf(v) or v <= 0 else "%.6g" % v)
            fh.write("%.4f %s\n" % (g, " ".join(vals)))
    term = "pngcairo size 900,600"
    try:
        t = subprocess.run(["gnuplot", "-e", "set terminal"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True).stdout
        if "pngcairo" not in t:
            term = "png size 900,600"
    except OSError:
        return None
    styles = []
    for i, p in enumerate(peers):
        dash = "dt 1" if p.startswith("fresh") else "dt 2"
        styles.append("'%s' using 1:%d with lines lw 2 %s title '%s' noenhanced" % (
            os.path.basename(dat), i + 2, dash, labels[p]))
    script = "\n".join([
        "set terminal %s" % term,
        "set output '%s'" % os.path.basename(png),
        "set datafile missing '?'",
        "set logscale y",
        "set key outside right",
        "set grid",
        "set xlabel 'spent budget (MBE)'",
        "set ylabel 'median regret (BOHB-style incumbent)'",
        "set title '%s: median regret over seeds vs budget' noenhanced" % bench,
        "plot " + ", ".join(styles),
    ])
    subprocess.run(["gnuplot"], input=script, text=True, cwd=out_dir, check=False)
    return png if os.path.exists(png) else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=float, default=None, help="total budget in MBE (200)")
    ap.add_argument("--seeds", type=int, default=None, help="seeds 0..K-1 (10)")
    ap.add_argument("--quick", action="store_true", help="CI mode: 3 seeds, 50 MBE")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--overhead", dest="overhead", action="store_true", default=True)
    ap.add_argument("--no-overhead", dest="overhead", action="store_false")
    ap.add_argument("--fresh", default=os.path.join(REPO, "build-cmp", "fresh"))
    ap.add_argument("--bench-suggest", default=None,
                    help="bench-suggest binary (default: next to --fresh)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--reuse", action="store_true",
                    help="do not run: re-read the traces and runs.json of an earlier run")
    ap.add_argument("--prefix-of", type=float, default=None, metavar="B2",
                    help="do not run: score the first --budget MBE of the traces of an "
                         "earlier B2-MBE run (a sequential run is a prefix of a longer one)")
    a = ap.parse_args()
    budget = a.budget if a.budget is not None else (50.0 if a.quick else 200.0)
    nseeds = a.seeds if a.seeds is not None else (3 if a.quick else 10)
    seeds = list(range(nseeds))
    suggest_bin = a.bench_suggest or os.path.join(os.path.dirname(a.fresh), "bench-suggest")
    os.makedirs(a.out, exist_ok=True)
    if a.prefix_of is not None:
        a.reuse = True
    tdir = os.path.join(a.out, "traces-%g" % (a.prefix_of if a.prefix_of else budget))
    labels = {p[0]: p[2] for p in PEERS}
    mach = machine()
    started = datetime.datetime.now().astimezone()
    command = "bench/compare/compare.sh " + " ".join(shlex.quote(x) for x in sys.argv[1:])

    tasks = []
    for name, side, _, args in PEERS:
        os.makedirs(os.path.join(tdir, name), exist_ok=True)
        for bench in BENCHES:
            for seed in seeds:
                trace = os.path.join(tdir, name, "%s-%d.csv" % (bench, seed))
                tasks.append((name, side, args, bench, seed, budget, trace,
                              os.path.abspath(a.fresh)))
    # slow Optuna TPE+HB runs first so that the pool stays busy to the end
    tasks.sort(key=lambda t: (t[0] != "optuna_tpe_hb", t[0] != "optuna_tpe_full"))
    t0 = time.perf_counter()
    runs = []
    runs_json = os.path.join(tdir, "runs.json")
    if a.reuse:
        with open(runs_json) as fh:
            saved = json.load(fh)
        runs, runs_s = saved["runs"], saved["runs_wall_s"]
        if a.prefix_of is None:
            command = saved["command"]
        else:
            command = "%s` (no runs: the first %g MBE of the traces of `%s)" % (
                command, budget, saved["command"])
        tasks = []
    with cf.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        futs = [ex.submit(run_one, t) for t in tasks]
        for i, f in enumerate(cf.as_completed(futs)):
            runs.append(f.result())
            if (i + 1) % 20 == 0 or i + 1 == len(futs):
                print("run_compare: %d/%d runs (%.0f s)" % (i + 1, len(futs),
                                                             time.perf_counter() - t0),
                      file=sys.stderr, flush=True)
    if not a.reuse:
        runs_s = time.perf_counter() - t0
        with open(runs_json, "w") as fh:
            json.dump({"runs": runs, "runs_wall_s": runs_s, "command": command}, fh)
    summaries = {(r["peer"], r["bench"], r["seed"]): r for r in runs}

    results = {}
    curves = {}
    ngrid = 200
    for bench in BENCHES:
        bm = benchmarks.get(bench)
        results[bench] = {}
        curves[bench] = {}
        traces = {}
        for name, _, _, _ in PEERS:
            traces[name] = [read_trace(os.path.join(tdir, name, "%s-%d.csv" % (bench, s)), bm)
                            for s in seeds]
            row = {}
            for fr in FRACTIONS:
                vals = [regret_at(t, fr * budget) for t in traces[name]]
                vals = [math.inf if v is None else v for v in vals]
                row["%d%%" % round(fr * 100)] = {
                    "median": quantile(vals, 0.5), "q1": quantile(vals, 0.25),
                    "q3": quantile(vals, 0.75), "per_seed": vals}
            procs = [summaries[(name, bench, s)]["process_s"] for s in seeds]
            row["process_s_median"] = quantile(procs, 0.5)
            sums = [summaries[(name, bench, s)]["summary"] or {} for s in seeds]
            if name.startswith("optuna"):
                row["max_budget_mbe_median"] = quantile(
                    [x.get("max_budget_mbe", math.nan) for x in sums], 0.5)
            results[bench][name] = row
            grid = [budget * (k + 1) / ngrid for k in range(ngrid)]
            cur = []
            for g in grid:
                vals = [regret_at(t, g) for t in traces[name]]
                m = quantile([math.inf if v is None else v for v in vals], 0.5)
                cur.append((g, None if math.isinf(m) else m))
            curves[bench][name] = cur
        target = results[bench][TARGET_PEER]["100%"]["median"]
        for name, _, _, _ in PEERS:
            reach = [first_reach(t, target, budget) for t in traces[name]] if not math.isinf(
                target) else [math.inf] * len(seeds)
            med = quantile(reach, 0.5)
            results[bench][name]["time_to_target"] = {
                "target": target, "median_mbe": med,
                "ratio": med / budget if not math.isinf(med) else None,
                "per_seed_mbe": reach}
        results[bench]["_plot"] = plot(a.out, budget, bench, curves[bench], labels)

    base = os.path.join(a.out, "compare-%g" % budget)
    ov = None
    if a.reuse and a.prefix_of is None and os.path.exists(base + ".json"):
        with open(base + ".json") as fh:
            ov = json.load(fh).get("overhead")   # measured in the original run
    if ov is None and a.overhead:
        ov = overhead(suggest_bin, a.out, budget)

    out_json = {"command": command, "date": started.isoformat(timespec="seconds"),
                "machine": mach, "fresh_commit": git_describe(), "budget_mbe": budget,
                "seeds": seeds, "runs_wall_s": runs_s, "jobs": a.jobs, "results": results,
                "overhead": ov, "peers": {p[0]: {"label": p[2], "args": p[3]} for p in PEERS}}
    with open(base + ".json", "w") as fh:
        json.dump(out_json, fh, indent=1, default=lambda o: None)

    L = []
    L.append("# fresh vs Optuna: %g MBE, seeds %d-%d\n" % (budget, seeds[0], seeds[-1]))
    L.append("- command: `%s` (%d parallel runs, %.0f s)" % (command, a.jobs, runs_s))
    L.append("- date: %s; fresh commit %s; Optuna %s (Debian python3-optuna), Python %s" % (
        started.strftime("%Y-%m-%d %H:%M %Z"), out_json["fresh_commit"],
        next((r["summary"] or {}).get("optuna", "?") for r in runs
             if r["peer"].startswith("optuna")), mach["python"]))
    L.append("- machine: %s cores (nproc), %s; 1-min load average at start %.2f" % (
        mach["nproc"], mach["cpu"], mach["load_1min_at_start"]))
    L.append("- rules: docs/benchmarks-spec.md section 4. Resume (continuation) costs on both sides; "
             "reports at every rung budget (every epoch for lc_mixed); one worker; the seed "
             "seeds both noise and optimizer; noise key = config id / trial number. Regret of "
             "the BOHB-style incumbent (best observed loss among jobs that reached b_max), "
             "recomputed from each trace by this script in the same way for both sides; "
             "\"n/a\" = no max-budget result yet (a seed without one counts as +inf).\n")
    L.append("## Median regret at 100 %% of the budget (%g MBE)\n" % budget)
    L.append("| peer | " + " | ".join(BENCHES) + " |")
    L.append("|---|" + "---|" * len(BENCHES))
    for name, _, label, _ in PEERS:
        cells = []
        for bench in BENCHES:
            r = results[bench][name]["100%"]
            cells.append("%s [%s, %s]" % (fmt(r["median"]), fmt(r["q1"]), fmt(r["q3"])))
        L.append("| %s | %s |" % (label, " | ".join(cells)))
    L.append("\nCells: median [first quartile, third quartile] over %d seeds.\n" % len(seeds))
    L.append("## Median [quartiles] regret at 25 / 50 / 100 % of the budget\n")
    for bench in BENCHES:
        L.append("### %s\n" % bench)
        L.append("| peer | 25 %% (%g MBE) | 50 %% (%g MBE) | 100 %% (%g MBE) | run time (s, median) |"
                 % (0.25 * budget, 0.5 * budget, budget))
        L.append("|---|---|---|---|---|")
        for name, _, label, _ in PEERS:
            r = results[bench][name]
            cells = ["%s [%s, %s]" % (fmt(r[k]["median"]), fmt(r[k]["q1"]), fmt(r[k]["q3"]))
                     for k in ("25%", "50%", "100%")]
            L.append("| %s | %s | %.2f |" % (label, " | ".join(cells), r["process_s_median"]))
        if results[bench].get("_plot"):
            L.append("\n![%s](%s)\n" % (bench, os.path.basename(results[bench]["_plot"])))
        else:
            L.append("")
    L.append("## Time to target\n")
    L.append("Target: Optuna TPE+HB's median regret at the full budget. Cell: median over "
             "seeds of the budget at which a method's incumbent first reaches the target, "
             "divided by the full budget (%g MBE); \"not reached\" when the median seed never "
             "gets there.\n" % budget)
    L.append("| peer | " + " | ".join(BENCHES) + " |")
    L.append("|---|" + "---|" * len(BENCHES))
    L.append("| (target regret) | " + " | ".join(
        fmt(results[b][TARGET_PEER]["time_to_target"]["target"]) for b in BENCHES) + " |")
    for name, _, label, _ in PEERS:
        cells = []
        for bench in BENCHES:
            tt = results[bench][name]["time_to_target"]
            cells.append("not reached" if tt["ratio"] is None else "%.2f" % tt["ratio"])
        L.append("| %s | %s |" % (label, " | ".join(cells)))
    L.append("\nOptuna's HyperbandPruner: median MBE spent on trials that reached the max "
             "budget: " + ", ".join(
                 "%s %s (TPE) / %s (Random)" % (b, fmt(results[b]["optuna_tpe_hb"].get(
                     "max_budget_mbe_median")), fmt(results[b]["optuna_random_hb"].get(
                         "max_budget_mbe_median"))) for b in BENCHES) + ".\n")
    if ov:
        L.append("## Optimizer overhead\n")
        L.append(overhead_md(ov) + "\n")
    with open(base + ".md", "w") as fh:
        fh.write("\n".join(L) + "\n")
    print("run_compare: wrote %s.md and %s.json" % (base, base), file=sys.stderr)


if __name__ == "__main__":
    main()
