#!/bin/sh
# Are two builds' proposals the same, bit for bit? Runs `fresh bench` with
# each binary on the four benchmarks, SEEDS seeds, 100 MBE, with the default
# sampler (auto: the GP on these spaces), the GP under --scheduler none, and
# the GP with 4 simulated workers (pending jobs: the fantasies), and compares
# every job's loss (17 digits, per-seed trajectories) and the JSON summaries
# without their timings. Prints one line per run ("same" or "DIFFERENT") and
# exits 1 if any differs.
#
#   bench/gp/bitcheck.sh OLD/fresh NEW/fresh [SEEDS]
set -eu
OLD=$1
NEW=$2
SEEDS=${3:-3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
status=0
# the JSON lines without the measured times (keys ending in _s or _us, the
# wall-clock utilization, the owner's load)
STRIP='
import json, sys
def strip(o, top):
    if isinstance(o, dict):
        return {k: strip(v, False) for k, v in o.items()
                if not (k.endswith("_s") or k.endswith("_us") or k == "owner_load"
                        or (top and k == "utilization"))}
    return [strip(v, False) for v in o] if isinstance(o, list) else o
for line in sys.stdin:
    print(json.dumps(strip(json.loads(line), True), sort_keys=True))
'
for f in counting_ones branin_mf hartmann6_mf lc_mixed; do
    for cfg in "auto" "gp_none" "gp_sim4"; do
        case $cfg in
        auto) args="--workers 1" ;;
        gp_none) args="--sampler gp --scheduler none --workers 1" ;;
        gp_sim4) args="--sampler gp --simulate-workers 4" ;;
        esac
        for which in old new; do
            [ "$which" = old ] && bin=$OLD || bin=$NEW
            mkdir -p "$TMP/$which"
            # shellcheck disable=SC2086
            "$bin" bench "$f" $args --budget 100 --seed 0 --seeds "$SEEDS" --json \
                --progress 0 --trajectory "$TMP/$which/t.csv" |
                /usr/bin/python3 -c "$STRIP" > "$TMP/$which/summary.json"
            for t in "$TMP/$which"/t*.csv; do
                cut -d, -f1-8 "$t" > "$t.cut" # all but wall_s
            done
        done
        same=1
        cmp -s "$TMP/old/summary.json" "$TMP/new/summary.json" || same=0
        for t in "$TMP"/old/t*.csv.cut; do
            cmp -s "$t" "$TMP/new/$(basename "$t")" || same=0
        done
        jobs=$(cat "$TMP"/new/t*.csv.cut | wc -l)
        if [ $same = 1 ]; then
            echo "$f $cfg: same ($jobs jobs over $SEEDS seeds)"
        else
            echo "$f $cfg: DIFFERENT"
            status=1
        fi
        rm -rf "$TMP/old" "$TMP/new"
    done
done
exit $status
