#!/usr/bin/env bash
# The dev protocol the trainer recipe was tuned with (trainer/README.md, "Measured").
# Dev = three embedded books withheld from a training corpus of the other sixteen, so that a
# choice is judged on books the model never saw, like the held-out editions it is reported on
# (bench/bench_train_heldout.py), which this never reads. Runs are a fixed number of steps (the
# step counts that fill max_time at each shape's measured speed), so a busy machine changes how
# long a run takes, not its result.
#
#   scripts/tune_trainer.sh setup                       # shards of the 16 books -> $DEV/data
#   scripts/tune_trainer.sh run NAME STEPS [key=val ...] # one run, then its dev bits per byte
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=${DEV:-/tmp/corpuskit-tune}
WITHHELD="pg120-treasure-island pg84-frankenstein pg35-the-time-machine"
PY=.venv/bin/python
case "${1:-}" in
  setup)
    rm -rf "$DEV/corpus" && mkdir -p "$DEV/corpus" "$DEV/withheld"
    for f in corpus/*.txt.gz; do
      name=$(basename "$f" .txt.gz)
      if [[ " $WITHHELD " == *" $name "* ]]; then cp "$f" "$DEV/withheld/"; else cp "$f" "$DEV/corpus/"; fi
    done
    .venv/bin/corpuskit run pipelines/default.yaml --input "$DEV/corpus" --output "$DEV/data" --workers 2 -q ;;
  run)
    name=$2 steps=$3; shift 3
    mkdir -p "$DEV/logs"
    $PY -m trainer train --config trainer/configs/default.yaml --data "$DEV/data/shards" --out "$DEV/runs/$name" \
      --overwrite progress=false sample_tokens=0 plot=false max_time=0 max_steps="$steps" "$@" > "$DEV/logs/$name.log" 2>&1
    $PY bench/bench_train_heldout.py "$DEV/runs/$name" --text "$DEV"/withheld/*.txt.gz >> "$DEV/logs/$name.log" 2>&1
    grep -h "validation\|held-out" "$DEV/logs/$name.log" | tail -2 | sed "s/^/$name: /" ;;
  *) sed -n 2,13p "$0"; exit 2 ;;
esac
