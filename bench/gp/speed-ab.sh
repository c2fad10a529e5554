#!/bin/sh
# GP suggestion time of two builds side by side: ROUNDS rounds, each running
# OLD then NEW bench-suggest --model-only --sampler gp (one observation +
# one model proposal per iteration, CPU time of the thread) on the same
# spaces and N; prints per (space, N) the median of each build over the
# rounds and OLD / NEW. The machine is shared: read the ratio.
#
#   bench/gp/speed-ab.sh OLD/bench-suggest NEW/bench-suggest [SPACES] [NS] [ROUNDS] [SECONDS]
set -eu
OLD=$1
NEW=$2
SPACES=${3:-hartmann6,mixed6}
NS=${4:-100,1000}
ROUNDS=${5:-3}
SEC=${6:-1}
TMP=$(mktemp)
trap 'rm -f "$TMP"' EXIT
r=0
while [ $r -lt "$ROUNDS" ]; do
    for which in old new; do
        [ "$which" = old ] && bin=$OLD || bin=$NEW
        "$bin" --space "$SPACES" --n "$NS" --seconds "$SEC" --model-only --sampler gp |
            sed "s/^{/{\"build\":\"$which\",/" >> "$TMP"
    done
    r=$((r + 1))
done
/usr/bin/python3 - "$TMP" <<'PY'
import json, statistics, sys
t = {}
for line in open(sys.argv[1]):
    j = json.loads(line)
    t.setdefault((j["space"], j["n"]), {}).setdefault(j["build"], []).append(j["us_per_model_suggest"])
print("| space | N | old us | new us | old / new |")
print("|---|---|---|---|---|")
for (space, n), v in t.items():
    o, w = statistics.median(v["old"]), statistics.median(v["new"])
    print("| %s | %d | %.0f | %.0f | %.2f |" % (space, n, o, w, o / w))
PY
