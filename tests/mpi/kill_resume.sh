#!/bin/sh
# SIGKILL of an evaluating rank, then resume (ctest fresh.mpi.kill_resume):
#   kill_resume.sh MPIEXEC TEST_MPI
# Run 1 (-n 2): the evaluating rank kills itself at job 14; Open MPI 4.1 then
# ends the whole job (no ULFM), rank 0 included: mpirun must fail. Run 2: rank
# 0 resumes the study file; test_mpi checks that the finished study equals the
# uninterrupted threaded one job for job (nothing lost, the killed job run again).
set -u
mpiexec=$1
prog=$2
dir=$(mktemp -d /tmp/fresh-mpi-kill-XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
if "$mpiexec" -n 2 "$prog" kill "$dir" >"$dir/run1.log" 2>&1; then
  cat "$dir/run1.log"
  echo "kill_resume: the first run should have been aborted by the killed rank" >&2
  exit 1
fi
if [ ! -e "$dir/killed" ] || [ ! -e "$dir/study.fresh" ]; then
  cat "$dir/run1.log"
  echo "kill_resume: the first run failed before the kill" >&2
  exit 1
fi
echo "run 1 aborted as expected:"
grep -m 3 -i "signal\|killed\|exited" "$dir/run1.log" || true
"$mpiexec" -n 2 "$prog" resume "$dir"
