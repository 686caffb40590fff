#!/usr/bin/env bash
# Spark GPU discovery script (spark.{driver,executor}.resource.gpu.discoveryScript): prints the
# GPUs this host has, as JSON, for example {"name": "gpu", "addresses": ["0","1"]}.
set -euo pipefail
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo '{"name": "gpu", "addresses": []}'
  exit 0
fi
ADDRS=$(nvidia-smi --query-gpu=index --format=csv,noheader | sed -e 's/ //g' | paste -sd, - | sed -e 's/,/","/g')
if [[ -z "$ADDRS" ]]; then
  echo '{"name": "gpu", "addresses": []}'
else
  echo "{\"name\": \"gpu\", \"addresses\": [\"$ADDRS\"]}"
fi
