#!/usr/bin/env bash
# The first command of the README: embeds the bundled sample images with the bundled tiny
# RANDOM-WEIGHT model in local Spark, into a Delta table under ./radio-output/, then prints it.
# Builds the project first if needed (a few minutes the first time: Maven downloads Spark).
# On a GPU workstation with a -Pcuda build, scripts/radio sets the CUDA libtorch's environment and the
# GPU defaults (`scripts/radio --print-env` shows them); the tasks then run on the GPUs PyTorch sees.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${RADIO_OUTPUT:-./radio-output}"
echo "radio-spark: embedding $ROOT/samples/images with the bundled tiny model (random weights: a smoke test," \
  "not real embeddings) into $OUT/embeddings"
"$ROOT/scripts/radio" extract \
  --input "$ROOT/samples/images" \
  --output "$OUT/embeddings" \
  --model "$ROOT/samples/model-tiny-random" \
  --features pooled:2x2 \
  --master "local[*]" \
  --progress-seconds 5 \
  --max-failed-fraction 0.5 \
  "$@"
echo
echo "The table ($OUT/embeddings):"
"$ROOT/scripts/radio" show --table "$OUT/embeddings" --limit 20
echo
echo "Run it again: merge mode skips the images already embedded (0 new rows)."
echo "Real embeddings: scripts/radio extract --input YOUR_FOLDER --output $OUT/mine --model nvidia/C-RADIOv4-H"
