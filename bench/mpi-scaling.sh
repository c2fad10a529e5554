#!/bin/sh
# MPI against threads: utilization with a sleeping objective, rank 0's ceiling
# and the report round trip (docs/benchmarks.md, docs/mpi.md).
#
#   bench/mpi-scaling.sh [W ...]        (default: 4 8 16 32 64)
#
# For each W, side by side in one run, same seed, same study:
#   threads  fresh bench hartmann6_mf --sleep-per-budget MS --budget B --workers W --json
#   mpi      mpirun -n W+1 fresh bench ... --mpi --json   (rank 0 schedules, W ranks evaluate)
# The objective sleeps MS ms per unit of budget (81 units for a max-budget job),
# so W ranks on this machine's cores are not CPU-bound (oversubscribed:
# --oversubscribe); B = WALL x W / (81 x MS / 1000) MBE gives every W about WALL
# seconds of sleeping per worker. Utilization = busy / (W x wall), busy = the
# objectives' run time (measured where they run), wall = the time inside
# fresh_study_optimize / fresh_study_optimize_mpi on the owner.
# Then rank 0's ceiling: an instant objective (no sleep) with CEIL_RANKS ranks,
# random sampler (the model's cost apart): jobs per second reached, and
# jobs / rank-0 busy seconds (what rank 0 could serve if it never waited).
# Environment: FRESH (default build/fresh), MPIEXEC (mpirun), MS (100), WALL (40),
# CEIL_RANKS (9), CEIL_BUDGET (300), SAMPLER (bohb), OUT (the Markdown file).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
FRESH=${FRESH:-$repo/build/fresh}
MPIEXEC=${MPIEXEC:-mpirun}
MS=${MS:-100}
WALL=${WALL:-40}
CEIL_RANKS=${CEIL_RANKS:-9}
CEIL_BUDGET=${CEIL_BUDGET:-300}
SAMPLER=${SAMPLER:-bohb}
WS=${*:-4 8 16 32 64}
nproc=$(nproc)
OUT=${OUT:-$here/compare/results/mpi-scaling-$(hostname)-${nproc}cores.md}
# Open MPI as root, more ranks than cores, the shared-memory transport
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader

[ -x "$FRESH" ] || { echo "mpi-scaling.sh: build $FRESH first (make)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# the first JSON object of stdin -> "wall util jobs rtt_us rank0_busy jps_max"
fields() {
  /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        d = json.loads(line)
        m = d.get("mpi") or {}
        print("%.3f %.4f %d %.0f %.3f %.0f" % (d["wall_s"], d["utilization"], d["evaluations"],
              m.get("report_rtt_mean_us", 0), m.get("rank0_busy_s", 0),
              m.get("rank0_jobs_per_second_max", 0)))
        break'
}

{
echo "# fresh over MPI against threads"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $nproc cores; 1-min load average at start:"
echo "  $(cut -d' ' -f1 /proc/loadavg); $("$MPIEXEC" --version 2>/dev/null | head -n 1)"
echo "- command: \`bench/mpi-scaling.sh $WS\` (MS=$MS WALL=$WALL SAMPLER=$SAMPLER); hartmann6_mf, seed 0,"
echo "  objective sleeping $MS ms per unit of budget; W threads vs W evaluating ranks + rank 0"
echo "- utilization = busy / (W x wall); rtt = mean report round trip (a report at a rung"
echo "  asks rank 0 for the early-stopping decision)"
echo
echo "| W | budget (MBE) | threads: jobs | wall (s) | utilization | MPI: jobs | wall (s) | utilization | MPI / threads | rtt (us) | rank 0 busy (s) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
} >"$tmp/out.md"
cat "$tmp/out.md"

for w in $WS; do
  budget=$(awk -v w="$w" -v t="$WALL" -v ms="$MS" 'BEGIN { printf "%.0f", t * w / (81 * ms / 1000) }')
  common="bench hartmann6_mf --sampler $SAMPLER --budget $budget --seed 0 --sleep-per-budget $MS --json"
  t=$(nice -n 5 "$FRESH" $common --workers "$w" 2>/dev/null | fields || true)
  m=$("$MPIEXEC" -n $((w + 1)) "$FRESH" $common --mpi 2>/dev/null | fields || true)
  [ -n "$t" ] || t="- - - 0 0 0"
  [ -n "$m" ] || m="- - - 0 0 0"
  set -- $t
  tw=$1 tu=$2 tj=$3
  set -- $m
  mw=$1 mu=$2 mj=$3 rtt=$4 busy=$5
  ratio=$(awk -v a="$mu" -v b="$tu" 'BEGIN { if (b + 0 > 0 && a + 0 > 0) printf "%.3f", a / b; else print "-" }')
  echo "| $w | $budget | $tj | $tw | $tu | $mj | $mw | $mu | $ratio | $rtt | $busy |" | tee -a "$tmp/out.md"
done

{
echo
echo "Rank 0's ceiling: an instant objective (no sleep), $CEIL_RANKS ranks, random sampler,"
echo "$CEIL_BUDGET MBE (\`$MPIEXEC -n $CEIL_RANKS fresh bench hartmann6_mf --sampler random --budget $CEIL_BUDGET --mpi --json\`):"
echo
echo "| run | jobs | wall (s) | jobs/s reached | rank 0 busy (s) | jobs / rank-0 busy s | rtt (us) |"
echo "|---|---|---|---|---|---|---|"
} | tee -a "$tmp/out.md"
for s in random bohb; do
  c=$("$MPIEXEC" -n "$CEIL_RANKS" "$FRESH" bench hartmann6_mf --sampler $s --budget "$CEIL_BUDGET" --seed 0 --mpi --json 2>/dev/null | fields || true)
  [ -n "$c" ] || c="- - - 0 0 0"
  set -- $c
  jps=$(awk -v j="$3" -v w="$1" 'BEGIN { if (w + 0 > 0) printf "%.0f", j / w; else print "-" }')
  echo "| mpi, $s sampler | $3 | $1 | $jps | $5 | $6 | $4 |" | tee -a "$tmp/out.md"
done

mkdir -p "$(dirname "$OUT")"
cp "$tmp/out.md" "$OUT"
echo "mpi-scaling.sh: wrote $OUT" >&2
