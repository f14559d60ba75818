#!/bin/bash
# The proxy's user-space instructions per request, load-immune (callgrind counts instructions,
# not time): `connpool proxy --threads 1` under callgrind in front of a private redis-server,
# `redis-benchmark -c CLIENTS -t get,set -n N -d 16` through it, then the total instruction
# count (Ir) divided by the 2N requests. Kernel time is not counted.
#
# Usage: callgrind_proxy.sh CONNPOOL_BIN [N=20000] [CLIENTS=50] [OUT_DIR=/tmp]
set -euo pipefail
BIN=$1
N=${2:-20000}
CLIENTS=${3:-50}
OUT=${4:-/tmp}
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
RPORT=$(free_port)
PPORT=$(free_port)
redis-server --port "$RPORT" --save '' --appendonly no >/dev/null &
RPID=$!
OUTFILE="$OUT/callgrind.proxy.$$"
valgrind --tool=callgrind --callgrind-out-file="$OUTFILE" "$BIN" proxy --threads 1 \
  --listen "127.0.0.1:$PPORT" --url "redis://127.0.0.1:$RPORT?max_size=8" >/dev/null 2>&1 &
PPID_=$!
trap 'kill $PPID_ $RPID 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do
  redis-cli -p "$PPORT" PING >/dev/null 2>&1 && break
  sleep 0.1
done
# Instructions of the start-up and the PING are subtracted: counted before the run, zeroed.
callgrind_control -z "$PPID_" >/dev/null 2>&1
redis-benchmark -p "$PPORT" -c "$CLIENTS" -t get,set -n "$N" -d 16 -q >/dev/null
callgrind_control -d "$PPID_" >/dev/null 2>&1
kill "$PPID_"
wait "$PPID_" 2>/dev/null || true
kill "$RPID"
LAST=$(ls -t "$OUTFILE"* | grep -v "$OUTFILE\$" | head -1 || true)
[[ -n "$LAST" ]] || LAST=$OUTFILE
TOTAL=$(grep -m1 '^summary:\|^totals:' "$LAST" | awk '{print $2}')
echo "profile: $LAST"
echo "instructions: $TOTAL for $((2 * N)) requests: $((TOTAL / (2 * N))) per request"
