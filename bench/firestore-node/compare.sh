#!/usr/bin/env bash
# `make bench-firestore-node`: the official Node client against `connpool bench firestore`, same
# sitting, same emulator, same load (C concurrent callers, get / set / query), alternating which
# client runs first in each round. Prints the medians and the ratios (report.js).
#
# Usage: bench/firestore-node/compare.sh BUILD_DIR
# Environment: ROUNDS (3), DURATION (8 s per op and client), WARMUP (2 s), CONCURRENCY (32),
#   OPS ("get set query"), CHANNELS (connpool's pooled channels, 1: see docs/BENCHMARKS.md),
#   CONNPOOL_GCLOUD_SDK_ROOT (where the emulator is installed).
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
CONCURRENCY=${CONCURRENCY:-32}
OPS=${OPS:-get set query}
CHANNELS=${CHANNELS:-1}
CLI=$BUILD/bin/connpool
NODE_DIR=$BUILD/firestore-node

[[ -x $CLI ]] || { echo "compare.sh: $CLI missing: build the connpool target first" >&2; exit 2; }
# The pinned client, installed from the npm registry into the build tree (never committed).
if ! cmp -s "$HERE/package.json" "$NODE_DIR/package.json" ||
  [[ ! -f $NODE_DIR/node_modules/@google-cloud/firestore/package.json ]]; then
  mkdir -p "$NODE_DIR"
  cp "$HERE/package.json" "$NODE_DIR/package.json"
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error)
fi

SDK=${CONNPOOL_GCLOUD_SDK_ROOT:-$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null || true)}
EMULATOR=${SDK:-/usr/lib/google-cloud-sdk}/platform/cloud-firestore-emulator/cloud_firestore_emulator
[[ -x $EMULATOR ]] || { echo "compare.sh: no Firestore emulator at $EMULATOR" >&2; exit 2; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LOG=$(mktemp /tmp/connpool-bench-emulator.XXXXXX)
RESULTS=$(mktemp /tmp/connpool-bench-firestore-node.XXXXXX)
# Its own session, so the java grandchild is stopped with the group (only this group).
setsid "$EMULATOR" start --host=127.0.0.1 --port="$PORT" >"$LOG" 2>&1 &
EMU_PID=$!
trap 'kill -- -"$EMU_PID" 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 900); do
  grep -q "Dev App Server is now running" "$LOG" && break
  kill -0 "$EMU_PID" 2>/dev/null || { echo "compare.sh: the emulator exited:" >&2; tail "$LOG" >&2; exit 2; }
  sleep 0.1
done
grep -q "Dev App Server is now running" "$LOG" || { echo "compare.sh: emulator did not start" >&2; exit 2; }
export FIRESTORE_EMULATOR_HOST=127.0.0.1:$PORT GOOGLE_CLOUD_PROJECT=connpool-bench

# A run that fails (or finds a wrong result) is recorded, not fatal: report.js counts its errors
# and the script exits 1 at the end.
failed=0
run_node() {
  NODE_PATH=$NODE_DIR/node_modules node "$HERE/bench.js" --op "$1" --concurrency "$CONCURRENCY" \
    --duration "$DURATION" --warmup "$WARMUP" | sed "s/^{/{\"round\":$2,/" >>"$RESULTS" || failed=1
}
run_connpool() {
  "$CLI" bench firestore --mode pooled --channels "$CHANNELS" --op "$1" \
    --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup "$WARMUP" --json |
    sed "s/^{/{\"client\":\"connpool\",\"round\":$2,/" >>"$RESULTS" || failed=1
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); connpool: $CHANNELS channel(s)"
for round in $(seq "$ROUNDS"); do
  for op in $OPS; do
    # Alternate who goes first so a drift in the machine's load hits both clients alike.
    if ((round % 2)); then
      run_node "$op" "$round"
      run_connpool "$op" "$round"
    else
      run_connpool "$op" "$round"
      run_node "$op" "$round"
    fi
  done
  echo "round $round done; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
done
node "$HERE/report.js" "$RESULTS" || failed=1
echo "raw results: $RESULTS"
exit "$failed"
