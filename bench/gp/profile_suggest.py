#!/usr/bin/python3
"""Where a GP suggestion spends its time: perf record (DWARF call graphs) of
`bench-suggest --model-only --sampler gp` (one observation + one model
proposal per iteration, so the model's data change every time) after N
observations, grouped into the parts of a suggestion; the method of
bench/profile_suggest.py (the KDE's), whose report parser it uses. Needs
linux-perf.

  /usr/bin/python3 bench/gp/profile_suggest.py [--bin build/bench-suggest]
        [--space hartmann6] [--n 100,1000,10000,100000] [--seconds 2]

Prints one Markdown row per N: the CPU time per suggestion (bench-suggest's
figure, measured without perf) and the share of gp_propose's samples
(children time, inlined functions included) in each part:
  rows        choosing and standardizing the training and fitting rows
              (build_train, fit_rows)
  fit         hyperparameter fits (fresh__gp_fit: BFGS on the log posterior)
  factor      the Cholesky factor and K^-1 y (factor; a fit's last
              factorization counts in both)
  cands       drawing and decoding the candidates (make_candidates,
              fresh_space_decode / encode of the candidates)
  scoring     scoring the candidates (score_candidates, or
              fresh__gp_predict_many before)
  local       the local search (gradient_steps, neighbour_moves)
  log EI      fresh__gp_log_ei (everywhere)
  alloc       malloc/realloc/free
The bench has no pending jobs, so no fantasies (their cost: docs/benchmarks.md).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from profile_suggest import children  # noqa: E402  (bench/profile_suggest.py)

PARTS = [
    ("rows", ["build_train"]),
    ("fit", ["fresh__gp_fit"]),
    ("factor", ["factor"]),
    ("cands", ["make_candidates"]),
    ("scoring", ["score_candidates", "fresh__gp_predict_many"]),
    ("local", ["gradient_steps", "neighbour_moves"]),
    ("log EI", ["fresh__gp_log_ei"]),
    ("alloc", ["malloc", "realloc", "free", "__libc_malloc", "__libc_realloc", "_int_malloc",
               "cfree@GLIBC_2.2.5", "__GI___libc_free"]),
]


def measure(cmd):
    """bench-suggest's time per suggestion (without perf), and the children
    shares of a perf profile of the same command."""
    first = subprocess.check_output(cmd, text=True).splitlines()[0]
    us = json.loads(first)["us_per_model_suggest"]
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        perf = ["perf", "record", "-q", "--call-graph=dwarf", "-F1000", "-o" + data, "--"]
        subprocess.check_call(perf + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        report = ["perf", "report", "-i" + data, "--children", "--sort=symbol", "--stdio", "-gnone"]
        rep = subprocess.check_output(report, text=True, stderr=subprocess.DEVNULL)
    return us, children(rep)


def row(cells):
    return "| " + " | ".join(cells) + " |"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for flag, default in (("--bin", os.path.join(root, "build", "bench-suggest")),
                          ("--space", "hartmann6"), ("--n", "100,1000,10000,100000"),
                          ("--seconds", "2")):
        ap.add_argument(flag, default=default)
    a = ap.parse_args()
    print(row(["N", "us/suggestion"] + [p for p, _ in PARTS]))
    print(row(["---"] * (2 + len(PARTS))))
    for n in a.n.split(","):
        us, ch = measure([a.bin, "--space", a.space, "--n", n, "--seconds", a.seconds,
                          "--model-only", "--sampler", "gp"])
        total = ch.get("gp_propose", 0.0) or 100.0
        cells = [n, "%.0f" % us]
        for name, syms in PARTS:
            shares = [ch.get(sym, 0.0) for sym in syms]
            v = sum(shares) if name == "local" else max(shares)  # local: two functions
            cells.append("%.0f%%" % (100.0 * v / total))
        print(row(cells), flush=True)


if __name__ == "__main__":
    sys.exit(main())
