#!/bin/sh
# Side-by-side comparison of fresh and Optuna (see run_compare.py).
#
#   bench/compare/compare.sh [--quick] [--budget MBE] [--seeds K] [--jobs N]
#                            [--no-overhead] [--fresh BIN] [--out DIR]
#
# Installs Debian's python3-optuna when missing (scripts/install-deps peers),
# builds fresh in build-cmp/ when its CLI or bench-suggest is missing (set
# FRESH_REBUILD=1 to rebuild anyway), then runs /usr/bin/python3 run_compare.py
# with the arguments given. Results: bench/compare/results/compare-<budget>.md,
# .json and one PNG per benchmark.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
py=/usr/bin/python3

if ! "$py" -c 'import optuna' 2>/dev/null; then
  "$repo/scripts/install-deps" peers
fi
command -v gnuplot >/dev/null 2>&1 || echo "compare.sh: gnuplot not found: no plots" >&2

build="$repo/build-cmp"
if [ "${FRESH_REBUILD:-0}" = 1 ] || [ ! -x "$build/fresh" ] || [ ! -x "$build/bench-suggest" ]; then
  cmake -S "$repo" -B "$build" >/dev/null
  cmake --build "$build" -j"$(nproc)" --target fresh_cli bench-suggest
fi

cd "$repo"
exec "$py" "$here/run_compare.py" "$@"
