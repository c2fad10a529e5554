#!/bin/sh
# Study files and options as a user gets them wrong: a FIFO or a device as
# the study file (hung, or wrote a lock file into /dev), `fresh show` and
# `fresh export` in a read-only directory (failed, and as root left -wal and
# -shm files behind), and the bounds of `fresh bench` options.
set -u
FRESH=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/fresh-files-XXXXXX")
trap 'chmod -R u+w "$dir"; rm -rf "$dir"' EXIT
chmod 755 "$dir"
cd "$dir" || exit 1
fail() { echo "FAIL: $*"; cat err.txt 2>/dev/null; exit 1; }

mkfifo fifo
timeout 20 "$FRESH" show fifo 2> err.txt
[ $? = 1 ] || fail "show fifo: wrong exit status"
grep -q "study file 'fifo' is not a regular file (a FIFO, socket or device)" err.txt || fail "show fifo"
timeout 20 "$FRESH" bench branin_mf --budget 1 --storage fifo > /dev/null 2> err.txt
[ $? = 1 ] || fail "bench --storage fifo: wrong exit status"
[ ! -e fifo.lock ] || fail "a lock file was created beside the FIFO"
timeout 20 "$FRESH" bench branin_mf --budget 1 --storage /dev/null > /dev/null 2> err.txt
[ $? = 1 ] || fail "bench --storage /dev/null: wrong exit status"
grep -q "study file '/dev/null' is not a regular file" err.txt || fail "bench --storage /dev/null"

mkdir ro
"$FRESH" bench branin_mf --workers 1 --budget 1 --storage ro/s.db > /dev/null || fail "bench"
chmod 555 ro
as_reader() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; else "$@"; fi; }
as_reader "$FRESH" show ro/s.db > show.txt 2> err.txt || fail "show in a read-only directory"
grep -q "incumbent" show.txt || fail "show printed no summary"
as_reader "$FRESH" export ro/s.db > out.csv 2> err.txt || fail "export in a read-only directory"
[ "$(wc -l < out.csv)" -gt 10 ] || fail "export wrote too little"
"$FRESH" show ro/s.db > /dev/null || fail "show as the owner"
[ ! -e ro/s.db-wal ] && [ ! -e ro/s.db-shm ] || fail "a viewer left -wal/-shm files"

"$FRESH" bench branin_mf --seeds 0 2> err.txt
[ $? = 2 ] || fail "--seeds 0: wrong exit status"
grep -q "option '--seeds': must be in 1..100000, got 0" err.txt || fail "--seeds message"
"$FRESH" bench branin_mf --num-samples 1000000 2> err.txt
[ $? = 2 ] || fail "--num-samples: wrong exit status"
grep -q "option '--num-samples': must be an integer in 1..100000" err.txt || fail "--num-samples message"
echo "ok: FIFO and device refused, read-only directory readable without leftovers, option bounds"
