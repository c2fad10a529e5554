#!/bin/sh
# A shell "trainer" under `fresh run`: any program that prints
# `fresh-report step=S loss=L` lines can be tuned. This one descends a
# noisy-free quadratic, one step per budget unit, and keeps its state in
# the trial directory so that a promoted job continues (docs/run.md).
#
#   fresh run --space examples/shell/space.json --max-budget 27 --budget 5 \
#       --storage sh.db -- sh examples/shell/train.sh
#
# The configuration arrives in the environment: FRESH_PARAM_lr, FRESH_PARAM_decay,
# FRESH_BUDGET, FRESH_RESUME_FROM, FRESH_TRIAL_DIR (see `fresh run --help`).
set -eu
state="$FRESH_TRIAL_DIR/state"
step=0 w=5
if [ -f "$state" ]; then
  read -r step w < "$state"
  echo "continuing at step $step from $state"
fi
while [ "$step" -lt "${FRESH_BUDGET%.*}" ]; do
  step=$((step + 1))
  # one gradient step on (w - 1)^2 with a decaying learning rate
  w=$(awk -v w="$w" -v lr="$FRESH_PARAM_lr" -v d="$FRESH_PARAM_decay" -v s="$step" \
      'BEGIN { printf "%.17g", w - lr / (1 + d * s) * 2 * (w - 1) }')
  echo "$step $w" > "$state.tmp" && mv "$state.tmp" "$state"
  echo "fresh-report step=$step loss=$(awk -v w="$w" 'BEGIN { printf "%.17g", (w - 1) * (w - 1) }')"
done
