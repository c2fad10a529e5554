#!/bin/sh
# `fresh bench --mpi` (ctest fresh.mpi.bench_cli):  bench_cli.sh MPIEXEC FRESH
# Rank 0 alone prints (one JSON line, 2 evaluating ranks as its workers); a
# single process is refused with a clear message; a study file written over
# MPI resumes over MPI.
set -u
mpiexec=$1
fresh=$2
dir=$(mktemp -d /tmp/fresh-mpi-cli-XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
fail() { echo "bench_cli: $*" >&2; exit 1; }

"$mpiexec" -n 3 "$fresh" bench branin_mf --budget 5 --seed 0 --mpi --json >"$dir/out" 2>"$dir/err" ||
  { cat "$dir/err"; fail "mpirun -n 3 fresh bench --mpi failed"; }
[ "$(wc -l <"$dir/out")" -eq 1 ] || { cat "$dir/out"; fail "expected one JSON line (rank 0)"; }
grep -q '"workers":2,' "$dir/out" || fail "workers should be the 2 evaluating ranks"
grep -q '"mpi":{"ranks":3,' "$dir/out" || fail "no MPI figures"
grep -q '"status":"BUDGET_REACHED"' "$dir/out" || fail "status"

if "$fresh" bench branin_mf --budget 5 --mpi >"$dir/out" 2>"$dir/err"; then
  fail "one process should be refused"
fi
grep -q "needs at least 2 ranks" "$dir/err" || { cat "$dir/err"; fail "message"; }

"$mpiexec" -n 3 "$fresh" bench branin_mf --budget 5 --mpi --storage "$dir/s.fresh" >"$dir/out" 2>&1 ||
  { cat "$dir/out"; fail "--storage"; }
"$mpiexec" -n 4 "$fresh" bench branin_mf --budget 8 --mpi --storage "$dir/s.fresh" --resume \
  >"$dir/out" 2>&1 || { cat "$dir/out"; fail "--resume"; }
grep -q "resumed from .* jobs rebuilt, 0 run again" "$dir/out" || { cat "$dir/out"; fail "resume"; }
"$fresh" show "$dir/s.fresh" >/dev/null || fail "fresh show cannot read the study file"
echo "bench_cli: one report from rank 0, single process refused, storage and resume over MPI"
