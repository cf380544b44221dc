#!/usr/bin/env bash
# Trains every shipped model in turn, logging to scratch/train-<name>.log; safe to re-run (resumes).
# Steps × batch per objective are the ones the shipped files record (see MODELS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p scratch assets/models
[ -f assets/models/digits-classifier.safetensors ] || python3 training/train_classifier.py --out assets/models/digits-classifier.safetensors 2>&1 | tee scratch/train-classifier.log
train() {
  local objective=$1 steps=$2 batch=$3 dropout=$4
  local out=assets/models/digits-$objective.safetensors
  [ -f "$out" ] && return
  /usr/bin/time -v python3 training/train_diffusion.py --objective "$objective" --out "$out" --steps "$steps" --batch "$batch" \
    --label-dropout "$dropout" 2>&1 | tee "scratch/train-$objective.log"
}
train eps 6000 128 0.2
train v 2500 128 0.1
train flow 6000 128 0.2
