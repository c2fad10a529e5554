#!/bin/sh
# GP suggestion time before and after a change, in one run (the machine is
# shared: read the ratios), alternating the two binaries per space:
#   bench/gp/suggest-before-after.sh BEFORE/bench-suggest AFTER/bench-suggest [N,N,..] [SECONDS]
# Each line: bench-suggest's JSON (CPU time of the thread per suggestion)
# with "binary" and "openblas_threads" added. BEFORE runs twice: as shipped
# (OpenBLAS's default thread count, when the binary links OpenBLAS) and with
# OPENBLAS_NUM_THREADS=1; the BOHB sampler of AFTER is timed too, for scale.
set -eu
BEFORE=$1
AFTER=$2
NS=${3:-50,200,1000}
SEC=${4:-2}
for space in hartmann6 mixed10; do
    for run in "before default $BEFORE gp" "before 1 $BEFORE gp" "after default $AFTER gp" \
               "after default $AFTER bohb"; do
        set -- $run
        if [ "$2" = 1 ]; then export OPENBLAS_NUM_THREADS=1; else unset OPENBLAS_NUM_THREADS; fi
        "$3" --sampler "$4" --space "$space" --n "$NS" --seconds "$SEC" |
            sed "s/^{/{\"binary\":\"$1\",\"openblas_threads\":\"$2\",/"
    done
done
