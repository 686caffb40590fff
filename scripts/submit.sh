#!/usr/bin/env bash
# A spark-submit template for the extraction job on YARN, Kubernetes or a standalone cluster.
# Copy it, set the variables, and run. Every variable can also be set in the environment.
#
#   MASTER=yarn INPUT=s3a://bucket/images/ OUTPUT=s3a://bucket/tables/radio MODEL=nvidia/C-RADIOv4-H \
#     scripts/submit.sh
#
# GPU clusters: GPU=1 adds the resource settings of conf/spark-defaults-gpu.conf (one GPU per
# executor, 4 concurrent tasks sharing it) and the discovery script; build the jar with
# `mvn -Pcuda -DskipTests package` so that it leaves out the CPU libtorch: executors then load the
# CUDA 12.8 libtorch 2.7.1 that DJL downloads (PYTORCH_FLAVOR=cu128; see README, GPU clusters).
# Kubernetes: IMAGE is the image docker/Dockerfile builds, which holds the jar (submitted as
# local:///opt/radio/NAME), log4j2.properties and, for GPU=1, scripts/get-gpus-resources.sh at
# DISCOVERY_SCRIPT (default /opt/radio/get-gpus-resources.sh): no --files, which Kubernetes would
# only take through spark.kubernetes.file.upload.path (README, Kubernetes).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MASTER="${MASTER:-yarn}"                          # yarn | k8s://https://HOST:443 | spark://HOST:7077
DEPLOY_MODE="${DEPLOY_MODE:-cluster}"
INPUT="${INPUT:?set INPUT to a folder, glob or table of images}"
OUTPUT="${OUTPUT:?set OUTPUT to a Delta table path or name}"
MODEL="${MODEL:-nvidia/C-RADIOv4-H}"             # resolved on the driver and broadcast; executors never download
if [[ -z "${JAR:-}" ]]; then
  JAR="$(ls "$ROOT"/jobs/target/radio-spark-jobs-*-spark.jar | head -n 1)"
  if [[ "$MASTER" == k8s://* ]]; then
    JAR="local:///opt/radio/$(basename "$JAR")"
  fi
fi
EXECUTORS="${EXECUTORS:-4}"
EXECUTOR_CORES="${EXECUTOR_CORES:-8}"
EXECUTOR_MEMORY="${EXECUTOR_MEMORY:-16g}"        # C-RADIOv4-H: 2.6 GB of weights in the broadcast + the model
EXECUTOR_OVERHEAD="${EXECUTOR_OVERHEAD:-8g}"     # native memory: libtorch, the model's tensors, activations

ARGS=(
  --master "$MASTER" --deploy-mode "$DEPLOY_MODE"
  --class ai.radiospark.jobs.ExtractEmbeddings
  --num-executors "$EXECUTORS" --executor-cores "$EXECUTOR_CORES"
  --executor-memory "$EXECUTOR_MEMORY" --conf "spark.executor.memoryOverhead=$EXECUTOR_OVERHEAD"
  --driver-memory "${DRIVER_MEMORY:-8g}"
)
# spark-submit reads one properties file: the CPU or the GPU one. GPU: batch 64 (bf16 at batch 64 is
# the H200 anchor), two forward lanes per GPU (the stage's default there).
DEFAULT_BATCH=32
if [[ "${GPU:-0}" == "1" ]]; then
  DEFAULT_BATCH=64
  ARGS+=(--properties-file "$ROOT/conf/spark-defaults-gpu.conf")
  FILES="$ROOT/scripts/get-gpus-resources.sh,$ROOT/conf/log4j2.properties"
else
  ARGS+=(--properties-file "$ROOT/conf/spark-defaults-cpu.conf")
  FILES="$ROOT/conf/log4j2.properties"
fi
if [[ "$MASTER" != k8s://* ]]; then
  ARGS+=(--files "$FILES")
else
  ARGS+=(--conf "spark.kubernetes.container.image=${IMAGE:?set IMAGE to the image docker/Dockerfile builds}")
  if [[ "${GPU:-0}" == "1" ]]; then
    # Kubernetes runs the discovery script before --files arrive: it must be in the image.
    ARGS+=(--conf "spark.executor.resource.gpu.discoveryScript=${DISCOVERY_SCRIPT:-/opt/radio/get-gpus-resources.sh}"
      --conf spark.executor.resource.gpu.vendor=nvidia.com)
  fi
fi

exec spark-submit "${ARGS[@]}" "$JAR" \
  --input "$INPUT" --output "$OUTPUT" --model "$MODEL" \
  --batch-size "${BATCH_SIZE:-$DEFAULT_BATCH}" --dtype "${DTYPE:-bfloat16}" --device "${DEVICE:-auto}" \
  --features "${FEATURES:-none}" --mode "${MODE:-merge}" "$@"
