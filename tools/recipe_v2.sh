#!/usr/bin/env bash
# The stable-training recipe of issue 23 ("v2": 3,000 steps of 8,192 bytes on the fortunes
# split, lengths 256 -> 1,024 -> 4,096), one run per seed, each followed by its held-out eval.
# FLAT=1 drops the curriculum: all 3,000 steps on 2 windows of 4,096 bytes (the same bytes per
# step), so that no coarse level meets data late. MIXED=1 keeps the curriculum's variety and adds
# one full-length window to every step of its short phases (256:16+4096:1, then 1,024:4+4,096:1,
# then 4,096:2: 8,192 bytes a step throughout), so the widest levels train from the first step.
# STEPS=n trains n steps instead of 3,000 (the schedule's fractions scale with it); THREADS=n
# (default 2) lets two seeds run side by side with one thread each.
# Usage: [SEEDS="1 2"] [STEPS=3000] [THREADS=2] [ATTENTION=fma] [DOWNSAMPLING=groupedconv] [DATA_SEED=n] [SWITCH_WARMUP=steps]
#        [FLAT=1|MIXED=1] [FMALENS=build/app/fmalens] [OUT=dir] tools/recipe_v2.sh
# Writes OUT/v2_<attention>_<downsampling>_s<seed>[_flat|_mixed][_n<steps>][_d<data seed>][_w<switch warm-up>].{safetensors,log,eval.json}.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
fmalens=${FMALENS:-$here/build/app/fmalens}
out=${OUT:-.}
attention=${ATTENTION:-fma}
downsampling=${DOWNSAMPLING:-groupedconv}
mkdir -p "$out"
for seed in ${SEEDS:-1 2}; do
  name="v2_${attention}_${downsampling}_s${seed}"
  extra=()
  if [ -n "${FLAT:-}" ]; then
    name+="_flat"; extra+=(--batch-size 2)
  elif [ -n "${MIXED:-}" ]; then
    name+="_mixed"; extra+=(--batch-size 32 --seq-schedule 256:16+4096:1@0,1024:4+4096:1@0.4,4096:2@0.7)
  else
    extra+=(--batch-size 32 --seq-schedule 256:32@0,1024:8@0.4,4096:2@0.7)
  fi
  steps=${STEPS:-3000}
  if [ "$steps" != 3000 ]; then name+="_n${steps}"; fi
  if [ -n "${DATA_SEED:-}" ]; then name+="_d${DATA_SEED}"; extra+=(--data-seed "$DATA_SEED"); fi
  if [ -n "${SWITCH_WARMUP:-}" ]; then name+="_w${SWITCH_WARMUP}"; extra+=(--switch-warmup "$SWITCH_WARMUP"); fi
  ckpt="$out/$name.safetensors"
  if [ ! -f "$ckpt.eval.json" ]; then
    resume=()
    if [ -f "$ckpt.state" ]; then resume=(--resume); fi
    "$fmalens" train --kind text --attention "$attention" --downsampling "$downsampling" --out "$ckpt" \
      --layers 4 --heads 4 --embd 128 --block-size 4096 --m 32 --p 4 --steps "$steps" --position-offsets \
      --lr 1.5e-3 --min-lr 1e-4 --weight-decay 0.1 --warmup 200 --eval-interval 250 --eval-batches 8 \
      --seed "$seed" --threads "${THREADS:-2}" "${extra[@]}" "${resume[@]}" >> "$out/$name.log" 2>&1
    "$fmalens" eval --checkpoint "$ckpt" --json > "$ckpt.eval.json.part" && mv "$ckpt.eval.json.part" "$ckpt.eval.json"
  fi
  cat "$ckpt.eval.json"
done
