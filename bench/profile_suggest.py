#!/usr/bin/python3
"""Where a BOHB suggestion spends its time: perf record (DWARF call graphs)
of `bench-suggest --model-only` (one observation + one model proposal per
iteration, so both KDEs are refitted each time) after N observations, grouped
into the parts of a suggestion. Needs linux-perf.

  /usr/bin/python3 bench/profile_suggest.py [--bin build/bench-suggest]
        [--space hartmann6] [--n 100,1000,10000,100000] [--seconds 2]

Prints one Markdown row per N: the CPU time per suggestion (bench-suggest's
figure, measured without perf: observation + proposal) and the share of the
proposal's samples (bohb_propose = 100 %) in each part (children time,
inlined functions included; a part's callees count in it). Storing the
observation is left out: the profile also holds the N observations of the
set-up, so its share would mostly be the set-up's.
  fit           the KDE refits: fresh__kde_fit (bandwidths, truncation masses)
                plus the model's row staging (fit_model, prepare in older
                versions, fit_bad) and the rank order (sorting in older versions)
  draws         candidate draws from the good KDE (fresh__kde_sample)
  density       density evaluation of the candidates (the single-precision
                screen fresh__kde_logpdf_screen, and fresh__kde_logpdf for
                the few candidates whose screened bounds overlap the best)
  hedge         the hedge's pairs and Kendall tau (hedge_check)
  space         decoding/encoding candidates (fresh_space_decode/encode)
  alloc         malloc/realloc/free
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

PARTS = [
    ("fit", ["fit_model", "prepare", "fresh__kde_fit", "fit_bad"]),
    ("draws", ["fresh__kde_sample"]),
    ("density", ["fresh__kde_logpdf", "fresh__kde_logpdf_screen"]),
    ("hedge", ["hedge_check", "update_pairs"]),
    ("space", ["fresh_space_decode", "fresh_space_encode"]),
    ("alloc", ["malloc", "realloc", "free", "__libc_malloc", "__libc_realloc", "_int_malloc",
               "cfree@GLIBC_2.2.5", "__GI___libc_free"]),
]


def children(report):
    """symbol -> children percentage from perf report --children --stdio."""
    out = {}
    for line in report.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+([\d.]+)%\s+\[[.k]\]\s+(\S+)", line)
        if m:
            sym = m.group(3)
            out[sym] = max(out.get(sym, 0.0), float(m.group(1)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(here), "build", "bench-suggest"))
    ap.add_argument("--space", default="hartmann6")
    ap.add_argument("--n", default="100,1000,10000,100000")
    ap.add_argument("--seconds", type=float, default=2.0)
    a = ap.parse_args()
    print("| N | us/suggestion | " + " | ".join(p for p, _ in PARTS) + " |")
    print("|---|---|" + "---|" * len(PARTS))
    for n in a.n.split(","):
        cmd = [a.bin, "--space", a.space, "--n", n, "--seconds", str(a.seconds), "--model-only"]
        t = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        us = float(re.search(r'"us_per_model_suggest":([\d.]+)', t).group(1))
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "perf.data")
            subprocess.run(["perf", "record", "-q", "--call-graph", "dwarf", "-F", "1000", "-o",
                            data] + cmd, capture_output=True, check=True)
            rep = subprocess.run(["perf", "report", "-i", data, "--children", "--sort", "symbol",
                                  "--stdio", "-g", "none"], capture_output=True, text=True).stdout
        ch = children(rep)
        total = ch.get("bohb_propose", 0.0) or 100.0
        cells = []
        for _, syms in PARTS:
            v = max([ch.get(s, 0.0) for s in syms] + [0.0])
            if syms[0] == "fit_model":  # fit_bad/kde_fit run inside fit_model (prepare before)
                v = ch.get("fit_model", 0.0) or ch.get("prepare", 0.0) or ch.get("fresh__kde_fit", 0.0)
            cells.append("%.0f%%" % (100.0 * v / total))
        print("| %s | %.0f | %s |" % (n, us, " | ".join(cells)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
