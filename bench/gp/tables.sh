#!/bin/sh
# The GP tables of docs/benchmarks.md (issue 12): each configuration below on
# the four benchmarks, seeds 0..SEEDS-1, one worker, 200 MBE, one run at a
# time, with a trajectory per seed (the 100-MBE figures are read off the same
# traces by tables.py: with one worker a shorter run is the start of a longer
# one). Results under OUT (default bench/gp/results/runs).
#
#   nice -n 10 bench/gp/tables.sh [BUILD] [SEEDS] [CONFIG ...]
#   /usr/bin/python3 bench/gp/tables.py [OUT]
#
# Configurations: default (fresh's defaults), bohb (--sampler bohb, adaptive),
# gp_hb (--sampler gp --scheduler hyperband), bohb_hb (--sampler bohb
# --scheduler hyperband), gp_full (--sampler gp --scheduler none), bohb_full
# (--sampler bohb --scheduler none).
set -eu
BUILD=${1:-build}
SEEDS=${2:-40}
[ $# -ge 2 ] && shift 2 || shift $#
CONFIGS=${*:-default bohb gp_hb bohb_hb gp_full}
OUT=${OUT:-bench/gp/results/runs}
BENCHES=${BENCHES:-counting_ones branin_mf hartmann6_mf lc_mixed}
mkdir -p "$OUT"
for c in $CONFIGS; do
    case $c in
    default) args="" ;;
    bohb) args="--sampler bohb" ;;
    gp_hb) args="--sampler gp --scheduler hyperband" ;;
    bohb_hb) args="--sampler bohb --scheduler hyperband" ;;
    gp_full) args="--sampler gp --scheduler none" ;;
    bohb_full) args="--sampler bohb --scheduler none" ;;
    *) echo "unknown configuration $c" >&2; exit 2 ;;
    esac
    for f in $BENCHES; do
        [ -s "$OUT/$c-$f.json" ] && continue # done in an earlier call
        mkdir -p "$OUT/$c-$f"
        # shellcheck disable=SC2086
        "$BUILD/fresh" bench "$f" $args --budget 200 --seed 0 --seeds "$SEEDS" --workers 1 \
            --json --progress 0 --trajectory "$OUT/$c-$f/trace.csv" > "$OUT/$c-$f.json.part"
        mv "$OUT/$c-$f.json.part" "$OUT/$c-$f.json"
        echo "$(date -u +%H:%M:%S) $c $f done"
    done
done
