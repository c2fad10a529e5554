#!/bin/sh
# fresh bench / fresh show: no incumbent until a job completed at the maximum
# budget (the best lower-budget loss is shown apart, as progress), then the
# incumbent at the maximum budget.  Usage: cli_incumbent.sh FRESH_BINARY
set -u
fresh=$1
dir=$(mktemp -d /tmp/fresh-cli-incumbent-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 0.1 MBE = 8.1 budget units: only budget-1 jobs of the first bracket run
"$fresh" bench branin_mf --budget 0.1 --workers 1 --scheduler hyperband \
    --storage "$dir/low.db" > "$dir/bench.txt" 2>&1 || fail "bench: $(cat "$dir/bench.txt")"
cat "$dir/bench.txt"
grep -q "no incumbent (no job reached the maximum budget)" "$dir/bench.txt" || fail "bench claims an incumbent"
"$fresh" show "$dir/low.db" > "$dir/show.txt" 2>&1 || fail "show: $(cat "$dir/show.txt")"
cat "$dir/show.txt"
grep -q "incumbent: none yet (no job completed at the maximum budget 81)" "$dir/show.txt" || fail "show: incumbent line"
grep -q "best so far: loss .* at budget 1 (not comparable" "$dir/show.txt" || fail "show: best-so-far line"

"$fresh" bench branin_mf --budget 5 --workers 1 --scheduler hyperband \
    --storage "$dir/full.db" > "$dir/bench.txt" 2>&1 || fail "bench: $(cat "$dir/bench.txt")"
grep -q "regret .* at budget 81" "$dir/bench.txt" || fail "bench: no max-budget incumbent: $(cat "$dir/bench.txt")"
"$fresh" show "$dir/full.db" > "$dir/show.txt" 2>&1 || fail "show failed"
cat "$dir/show.txt"
grep -q "incumbent: loss .* at budget 81," "$dir/show.txt" || fail "show: max-budget incumbent"
grep -q "best so far" "$dir/show.txt" && fail "show: best-so-far printed beside an incumbent"
echo "ok"
