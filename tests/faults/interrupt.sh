#!/bin/sh
# Ctrl-C must stop a study cleanly: four interrupts (SIGINT, and one
# SIGTERM) of a run and of its resumed runs, each followed by the exact
# resume command the CLI printed, must end in a study with no failed job.
# Before the handler existed, SIGINT killed the process and the jobs running
# at each interrupt counted as deaths: after three, they were failed for good.
set -u
FRESH=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/fresh-interrupt-XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
fail() { echo "FAIL: $*"; cat err.txt 2>/dev/null; exit 1; }

# every job runs from 0 to the maximum budget 81 (scheduler none), reporting
# every epoch after a 10 ms nap: four jobs are always mid-run, so each
# interrupt cuts four jobs short (and the same four, four times over)
cmd="$FRESH bench lc_mixed --scheduler none --workers 4 --budget 6 --sleep-per-budget 10 --storage s.db"
cut=0
for i in 1 2 3 4; do
    sig=INT; want=130
    [ "$i" = 3 ] && sig=TERM && want=143
    $cmd > out.txt 2> err.txt &
    pid=$!
    # the lock file exists while the study runs (the handlers are installed)
    k=0
    while [ ! -e s.db.lock ] && [ $k -lt 300 ]; do sleep 0.1; k=$((k + 1)); done
    sleep 0.4
    kill -$sig $pid
    wait $pid
    rc=$?
    [ "$rc" = "$want" ] || fail "run $i: exit status $rc after SIG$sig, expected $want"
    grep -q "interrupted (SIG$sig)" err.txt || fail "run $i: no interrupt message"
    grep -q "finished jobs are saved in s.db" err.txt || fail "run $i: does not say what was saved"
    n=$(sed -n 's/.*; \([0-9]*\) jobs cut short will run again/\1/p' err.txt)
    cut=$((cut + ${n:-0}))
    # the printed command, run as printed
    cmd=$(sed -n '/^resume with:/{n;p;}' err.txt)
    case "$cmd" in
        *" --resume"*) ;;
        *) fail "run $i: resume command missing or without --resume: '$cmd'" ;;
    esac
done
[ "$cut" -gt 0 ] || fail "no interrupt cut a running job short: the test proves nothing"
eval "$cmd" > out.txt 2> err.txt || fail "the final resumed run failed"
grep -q "resumed from s.db" out.txt || fail "the final run did not resume"
"$FRESH" show s.db > show.txt || fail "fresh show failed"
grep -q " 0 failed)" show.txt || { cat show.txt; fail "jobs were failed by the interrupts"; }
grep -q " 0 failed), 0 " show.txt || { cat show.txt; fail "jobs left not run after the final run"; }
echo "ok: 4 interrupts, $cut jobs cut short and run again, none failed"
