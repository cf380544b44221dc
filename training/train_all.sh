#!/usr/bin/env bash
# Trains every shipped model in turn, logging to scratch/train-<name>.log; safe to re-run (resumes).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p scratch assets/models
[ -f assets/models/digits-classifier.safetensors ] || python3 training/train_classifier.py --out assets/models/digits-classifier.safetensors 2>&1 | tee scratch/train-classifier.log
for objective in eps v flow; do
  out=assets/models/digits-$objective.safetensors
  [ -f "$out" ] && continue
  /usr/bin/time -v python3 training/train_diffusion.py --objective "$objective" --out "$out" --steps 1500 --batch 64 \
    2>&1 | tee "scratch/train-$objective.log"
done
