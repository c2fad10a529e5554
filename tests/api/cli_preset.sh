#!/bin/sh
# fresh bench --preset bohb-reference: HpBandSter's settings (hyperband, no
# early stopping, no hedge); explicit options override it wherever they
# stand; an unknown preset is a usage error.  Usage: cli_preset.sh FRESH_BINARY
set -u
fresh=$1
fail() { echo "FAIL: $*"; exit 1; }
out=$("$fresh" bench lc_mixed --budget 20 --workers 1 --preset bohb-reference --json) || fail "bench"
echo "$out" | head -1
echo "$out" | head -1 | grep -q '"scheduler":"hyperband"' || fail "preset scheduler"
echo "$out" | head -1 | grep -q '"stopped":0,' || fail "preset early stopping"
echo "$out" | head -1 | grep -q '"hedged_fraction":0.0,' || fail "preset hedge"
# the default on the same run stops jobs early and hedges
out=$("$fresh" bench lc_mixed --budget 20 --workers 1 --json) || fail "bench default"
echo "$out" | head -1 | grep -q '"stopped":0,' && fail "default: no early stopping?"
# an option before --preset still overrides it
out=$("$fresh" bench lc_mixed --budget 2 --workers 1 --scheduler adaptive --preset=bohb-reference --json) || fail "override"
echo "$out" | head -1 | grep -q '"scheduler":"adaptive"' || fail "override lost: $out"
err=$("$fresh" bench lc_mixed --preset nope 2>&1); rc=$?
[ $rc -eq 2 ] || fail "unknown preset: exit $rc"
[ "$err" = "fresh bench: option '--preset': unknown preset 'nope' (default, bohb-reference) (see 'fresh bench --help')" ] || fail "message: $err"
echo ok
