#!/bin/sh
# Worker scaling of fresh: wall-clock speed-up and utilization for W workers.
#
#   bench/compare/scaling.sh [W ...]          (default: 1 2 4 8 16)
#
# Three workloads, each run once per W (seed 0), speed-up = wall(W=1) / wall(W):
#  sleep   `fresh bench hartmann6_mf --sampler bohb --sleep-per-budget MS --workers W`
#          (default scheduler; BUDGET_SLEEP MBE, MS ms per unit of budget: about
#          500 jobs and 13 s at W = 1). Measures scheduling/overhead, not CPU.
#  digits  `fresh bench digits_mlp --workers W` (CPU-bound, real training;
#          OPENBLAS_NUM_THREADS=1 so that each worker uses one core), when the
#          CLI lists digits_mlp; BUDGET_DIGITS MBE.
#  cpu     build-cmp/bench-scaling: hartmann6_mf with a calibrated busy loop of
#          CPU_MS ms per unit of budget on each job (CPU-bound, synthetic);
#          BUDGET_CPU MBE.
# W larger than the number of cores measures oversubscription: run the 16-worker
# CPU-bound cases on a 16-core machine. Output: a Markdown table on stdout and
# bench/compare/results/scaling-<hostname>-<nproc>cores.md (OUT to override).
# Environment: FRESH (CLI, default build-cmp/fresh), SCALING (bench-scaling),
# MS, BUDGET_SLEEP, BUDGET_DIGITS, BUDGET_CPU, CPU_MS, ITERS (busy-loop iterations
# per unit of budget; default: calibrated to CPU_MS), SKIP (e.g. "digits").
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
FRESH=${FRESH:-$repo/build-cmp/fresh}
SCALING=${SCALING:-$repo/build-cmp/bench-scaling}
MS=${MS:-4}
BUDGET_SLEEP=${BUDGET_SLEEP:-40}
BUDGET_DIGITS=${BUDGET_DIGITS:-3}
BUDGET_CPU=${BUDGET_CPU:-40}
CPU_MS=${CPU_MS:-4}
SKIP=${SKIP:-}
WS=${*:-1 2 4 8 16}
nproc=$(nproc)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
OUT=${OUT:-$here/results/scaling-$(hostname)-${nproc}cores.md}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

if [ ! -x "$FRESH" ] || [ ! -x "$SCALING" ]; then
  cmake -S "$repo" -B "$repo/build-cmp" >/dev/null
  cmake --build "$repo/build-cmp" -j"$nproc" --target fresh_cli bench-scaling
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# prints "wall utilization jobs" from a JSON line (first object) on stdin
json_fields() {
  /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        d = json.loads(line)
        if "wall_s" in d:
            print(d["wall_s"], d["utilization"], d.get("evaluations", d.get("jobs")))
            break'
}
# the same from the CLI text output ("..., N jobs (...), X s wall, ..., utilization U")
text_fields() {
  sed -n 's/.* \([0-9][0-9]*\) jobs .*, \([0-9.]*\) s wall,.*utilization \([0-9.]*\).*/\2 \3 \1/p' | head -n 1
}

{
echo "# fresh worker scaling"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $nproc cores (nproc), $cpu;"
echo "  1-min load average at start: $(cut -d' ' -f1 /proc/loadavg)"
echo "- command: \`bench/compare/scaling.sh $WS\` (MS=$MS BUDGET_SLEEP=$BUDGET_SLEEP"
echo "  BUDGET_DIGITS=$BUDGET_DIGITS BUDGET_CPU=$BUDGET_CPU CPU_MS=$CPU_MS)"
echo "- speed-up = wall(W=1) / wall(W); utilization = busy / (W x wall) as fresh reports it."
echo
echo "| workload | W | jobs | wall (s) | speed-up | utilization |"
echo "|---|---|---|---|---|---|"
} > "$tmp/out.md"
cat "$tmp/out.md"

run_set() {  # name, then a command template with @W@
  name=$1; shift
  tmpl=$*
  base=""
  for w in $WS; do
    cmd=$(echo "$tmpl" | sed "s/@W@/$w/g")
    if [ "$name" = digits ]; then
      fields=$(sh -c "$cmd" 2>/dev/null | text_fields)
    else
      fields=$(sh -c "$cmd" 2>/dev/null | json_fields)
    fi
    if [ -z "$fields" ]; then
      line="| $name | $w | - | failed | - | - |"
    else
      set -- $fields
      wall=$1 util=$2 jobs=$3
      [ -z "$base" ] && base=$wall
      sp=$(awk -v a="$base" -v b="$wall" 'BEGIN { printf "%.2f", a / b }')
      line="| $name | $w | $jobs | $wall | $sp | $util |"
    fi
    echo "$line" | tee -a "$tmp/out.md"
  done
}

case " $SKIP " in *" sleep "*) ;; *)
  run_set sleep "$FRESH bench hartmann6_mf --sampler bohb --budget $BUDGET_SLEEP --seed 0 --sleep-per-budget $MS --workers @W@ --json" ;;
esac
case " $SKIP " in *" digits "*) ;; *)
  if "$FRESH" bench list 2>/dev/null | grep -q '^digits_mlp'; then
    run_set digits "$FRESH bench digits_mlp --budget $BUDGET_DIGITS --seed 0 --workers @W@"
  fi ;;
esac
case " $SKIP " in *" cpu "*) ;; *)
  # calibrated once, so that every W does the same work
  ITERS=${ITERS:-$("$SCALING" --ms-per-budget "$CPU_MS" --calibrate-only)}
  echo "(cpu: $ITERS busy-loop iterations per unit of budget)" >&2
  run_set cpu "$SCALING --iters-per-budget $ITERS --budget $BUDGET_CPU --ms-per-budget $CPU_MS --seed 0 --workers @W@" ;;
esac

mkdir -p "$(dirname "$OUT")"
cp "$tmp/out.md" "$OUT"
echo "scaling.sh: wrote $OUT" >&2
