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
  scoring     predicting the candidates (fresh__gp_predict_many)
  local       the local search (gradient_steps, neighbour_moves)
  log EI      fresh__gp_log_ei (everywhere)
  alloc       malloc/realloc/free
The bench has no pending jobs, so no fantasies (their cost: docs/benchmarks.md).
"""
import argparse
import os
import re
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
    ("scoring", ["fresh__gp_predict_many"]),
    ("local", ["gradient_steps", "neighbour_moves"]),
    ("log EI", ["fresh__gp_log_ei"]),
    ("alloc", ["malloc", "realloc", "free", "__libc_malloc", "__libc_realloc", "_int_malloc",
               "cfree@GLIBC_2.2.5", "__GI___libc_free"]),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--bin", default=os.path.join(root, "build", "bench-suggest"))
    ap.add_argument("--space", default="hartmann6")
    ap.add_argument("--n", default="100,1000,10000,100000")
    ap.add_argument("--seconds", type=float, default=2.0)
    a = ap.parse_args()
    print("| N | us/suggestion | " + " | ".join(p for p, _ in PARTS) + " |")
    print("|---|---|" + "---|" * len(PARTS))
    for n in a.n.split(","):
        cmd = [a.bin, "--space", a.space, "--n", n, "--seconds", str(a.seconds), "--model-only",
               "--sampler", "gp"]
        t = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        us = float(re.search(r'"us_per_model_suggest":([\d.]+)', t).group(1))
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "perf.data")
            subprocess.run(["perf", "record", "-q", "--call-graph", "dwarf", "-F", "1000", "-o",
                            data] + cmd, capture_output=True, check=True)
            rep = subprocess.run(["perf", "report", "-i", data, "--children", "--sort", "symbol",
                                  "--stdio", "-g", "none"], capture_output=True, text=True).stdout
        ch = children(rep)
        total = ch.get("gp_propose", 0.0) or 100.0
        cells = []
        for name, syms in PARTS:
            v = sum(ch.get(s, 0.0) for s in syms) if name == "local" else \
                max([ch.get(s, 0.0) for s in syms] + [0.0])
            cells.append("%.0f%%" % (100.0 * v / total))
        print("| %s | %.0f | %s |" % (n, us, " | ".join(cells)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
