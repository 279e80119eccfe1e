#!/bin/bash
# Seconds per training step of each checkpoint at the final phase of the mixed recipe (2 windows
# of 4,096 bytes), two threads: (wall of 13 steps - wall of 3 steps) / 10, so that start-up,
# loading and the closing evaluation cancel. Run it on an otherwise quiet machine.
#   tools/step_time.sh CKPT...          (FMALENS=path/to/fmalens, default build/app/fmalens)
set -euo pipefail
BIN=${FMALENS:-build/app/fmalens}
[ $# -ge 1 ] || { echo "usage: tools/step_time.sh CKPT..." >&2; exit 2; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for ckpt in "$@"; do
  declare -A wall=()
  for steps in 3 13; do
    t0=$(date +%s.%N)
    "$BIN" train --init "$ckpt" --out "$scratch/step.safetensors" --steps "$steps" --seq-schedule 4096:2 --batch-size 2 \
      --threads 2 --eval-interval 100000 --eval-batches 1 --lr 1e-4 --warmup 1 --quiet > /dev/null
    wall[$steps]=$(echo "$(date +%s.%N) - $t0" | bc)
  done
  printf '%s %.3f s a step\n' "$ckpt" "$(echo "(${wall[13]} - ${wall[3]}) / 10" | bc -l)"
done
