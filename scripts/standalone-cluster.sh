#!/usr/bin/env bash
# A Spark standalone cluster on this machine, to try spark-submit as on a real cluster: one Master and
# two Workers, each its own JVM, on 127.0.0.1, from the Spark jars the build resolved (run
# `mvn -DskipTests package` first).
#
#   scripts/standalone-cluster.sh start  --logs DIR   # prints the master URL, spark://127.0.0.1:PORT
#   scripts/standalone-cluster.sh status --logs DIR   # the master URL and each worker; exits 1 unless all run
#   scripts/standalone-cluster.sh stop   --logs DIR   # kills the three JVMs (their pids are in DIR)
#
# DIR (or RADIO_CLUSTER_LOGS) holds the logs (master.out, worker-N.out), the pids, the master URL and
# the workers' work folders (each application's executor logs). Settings, from the environment:
# RADIO_CLUSTER_PORT (default 7077), RADIO_WORKER_CORES (1), RADIO_WORKER_MEMORY (1g),
# RADIO_CLUSTER_TIMEOUT (seconds to wait for the workers to register, 180).
# The Spark folder (jars/) is made under jobs/target/spark-home from jobs/target/dependencies.txt:
# Spark's runtime as the build resolved it, without this project's own libraries, which the
# shaded jar brings.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  echo "usage: $0 start|status|stop --logs DIR (or RADIO_CLUSTER_LOGS=DIR)" >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
CMD="$1"
shift
LOGS="${RADIO_CLUSTER_LOGS:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --logs) [[ $# -ge 2 ]] || usage; LOGS="$2"; shift 2 ;;
    *) usage ;;
  esac
done
[[ -n "$LOGS" ]] || usage
PORT="${RADIO_CLUSTER_PORT:-7077}"
WORKERS=2
TIMEOUT="${RADIO_CLUSTER_TIMEOUT:-180}"
SPARK_HOME_DIR="$ROOT/jobs/target/spark-home"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

# jobs/target/spark-home/jars: links to the provided jars and to the compile ones Spark needs too,
# leaving out what only this project uses (it is in the shaded jar).
spark_home() {
  local deps="$ROOT/jobs/target/dependencies.txt"
  if [[ ! -f "$deps" ]]; then
    echo "standalone-cluster: $deps is missing: the Spark jars are listed by the build; run mvn -DskipTests package first" >&2
    exit 1
  fi
  if [[ -d "$SPARK_HOME_DIR/jars" && "$SPARK_HOME_DIR/jars" -nt "$deps" ]]; then
    return
  fi
  rm -rf "$SPARK_HOME_DIR"
  mkdir -p "$SPARK_HOME_DIR/jars"
  local line coords scope file
  while read -r line; do
    # groupId:artifactId:type[:classifier]:version:scope:/path/to.jar -- module ...
    coords="${line%% -- *}"
    [[ "$coords" == *:/* ]] || continue
    file="/${coords#*:/}"
    coords="${coords%%:/*}"
    scope="${coords##*:}"
    case "$scope" in provided | compile | runtime) ;; *) continue ;; esac
    case "$coords" in
      ai.radiospark:* | ai.djl* | net.java.dev.jna:* | com.twelvemonkeys* | info.picocli:* | io.delta:* | io.unitycatalog:*) continue ;;
    esac
    ln -sf "$file" "$SPARK_HOME_DIR/jars/"
  done <"$deps"
  local core
  core="$(ls "$SPARK_HOME_DIR"/jars/spark-core_*.jar 2>/dev/null | head -n 1)"
  if [[ -z "$core" ]]; then
    echo "standalone-cluster: no spark-core jar in $deps: run mvn -DskipTests package again" >&2
    exit 1
  fi
  # RELEASE marks a distribution: the workers' launcher then takes the executors' classpath from jars/.
  core="$(basename "$core" .jar)"
  echo "Spark ${core##*-} (the jars of the radio-spark build)" >"$SPARK_HOME_DIR/RELEASE"
}

# The Scala version of the Spark jars (spark-core_2.13-4.1.0.jar: 2.13), which the workers' launcher asks for.
scala_version() {
  local core
  core="$(basename "$(ls "$SPARK_HOME_DIR"/jars/spark-core_*.jar | head -n 1)")"
  core="${core#spark-core_}"
  echo "${core%%-*}"
}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Starts one daemon JVM: $1 name, then the main class and its arguments. Spark's default logging
# (INFO to the .out file): the script waits for the daemons' INFO lines.
daemon() {
  local name="$1"
  shift
  SPARK_HOME="$SPARK_HOME_DIR" SPARK_SCALA_VERSION="$(scala_version)" SPARK_LOCAL_IP=127.0.0.1 SPARK_LOG_DIR="$LOGS" \
    nohup "$JAVA" -Xmx512m "@$ROOT/conf/jvm-opens.txt" \
    -cp "$SPARK_HOME_DIR/jars/*" "$@" >"$LOGS/$name.out" 2>&1 </dev/null &
  echo $! >"$LOGS/$name.pid"
}

# Waits until file $1 holds text $2, or fails after TIMEOUT seconds.
wait_for() {
  local i
  for ((i = 0; i < TIMEOUT; i++)); do
    if grep -q "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 1
  done
  echo "standalone-cluster: no '$2' in $1 after $TIMEOUT s: see that log; scripts/standalone-cluster.sh stop --logs $LOGS" >&2
  return 1
}

start() {
  mkdir -p "$LOGS"
  LOGS="$(cd "$LOGS" && pwd)"
  if alive "$LOGS/master.pid"; then
    echo "standalone-cluster: already running (master pid $(cat "$LOGS/master.pid")); stop it first: $0 stop --logs $LOGS" >&2
    exit 1
  fi
  spark_home
  local url="spark://127.0.0.1:$PORT" n
  daemon master org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$PORT" --webui-port 0
  wait_for "$LOGS/master.out" "Starting Spark master at"
  for ((n = 1; n <= WORKERS; n++)); do
    mkdir -p "$LOGS/work-$n"
    daemon "worker-$n" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --webui-port 0 \
      --cores "${RADIO_WORKER_CORES:-1}" --memory "${RADIO_WORKER_MEMORY:-1g}" --work-dir "$LOGS/work-$n" "$url"
  done
  for ((n = 1; n <= WORKERS; n++)); do
    wait_for "$LOGS/worker-$n.out" "Successfully registered with master"
  done
  echo "$url" >"$LOGS/master-url"
  echo "$url"
}

status() {
  local n up=0
  if alive "$LOGS/master.pid"; then
    echo "master $(cat "$LOGS/master-url" 2>/dev/null || echo "starting") pid $(cat "$LOGS/master.pid")"
    up=1
  else
    echo "master not running"
  fi
  for ((n = 1; n <= WORKERS; n++)); do
    if alive "$LOGS/worker-$n.pid"; then
      echo "worker-$n pid $(cat "$LOGS/worker-$n.pid") work dir $LOGS/work-$n"
    else
      echo "worker-$n not running"
      up=0
    fi
  done
  [[ $up == 1 ]]
}

stop() {
  local name pid
  for name in worker-2 worker-1 master; do
    if alive "$LOGS/$name.pid"; then
      pid="$(cat "$LOGS/$name.pid")"
      kill "$pid"
      # Workers end their executors as they stop; a JVM that ignores TERM for 20 s is killed.
      for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      kill -9 "$pid" 2>/dev/null || true
      echo "stopped $name (pid $pid)"
    fi
    rm -f "$LOGS/$name.pid"
  done
  rm -f "$LOGS/master-url"
}

case "$CMD" in
  start) start ;;
  status) status ;;
  stop) stop ;;
  *) usage ;;
esac
