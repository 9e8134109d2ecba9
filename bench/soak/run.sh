#!/usr/bin/env bash
# Soak: one `loom serve` (CPU backend) under mixed load through its ZeroMQ
# endpoint for DURATION seconds (default 3600), sampled every 10 s.
# Usage: bench/soak/run.sh [DURATION] ; env: LOOM_BUILD (default build),
# SOAK_OUT (default build/soak), SOAK_WORKERS (6), SOAK_THREADS (2).
# Writes $SOAK_OUT/soak.csv, soak.png, serve.log; exit status 1 when a check
# fails (soak.py says which).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
duration=${1:-3600}
build=${LOOM_BUILD:-$root/build}
out=${SOAK_OUT:-$build/soak}
loom=$build/adapters/host/loom
backend=$build/lib/libloom_cpu.so
for f in "$loom" "$backend"; do
  [[ -x $f || -f $f ]] || { echo "soak: $f is missing: scripts/build.sh release loom loom_cpu" >&2; exit 2; }
done
model=$("$root/scripts/fetch_model.sh")
mkdir -p "$out"
sock_dir=$(mktemp -d /tmp/loom-soak.XXXXXX)
endpoint=ipc://$sock_dir/soak.sock
config="{\"max_context\": 2048, \"threads\": ${SOAK_THREADS:-2}, \"max_num_seqs\": 16}"
"$loom" serve --backend "$backend" --model "$model" --endpoint "$endpoint" --config-json "$config" \
  --drain-timeout-ms 10000 >"$out/serve.log" 2>&1 &
serve_pid=$!
cleanup() {
  kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  rm -rf "$sock_dir"
}
trap cleanup EXIT
for _ in $(seq 600); do
  [[ -S $sock_dir/soak.sock ]] && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$out/serve.log" >&2; exit 1; }
  sleep 0.1
done
echo "soak: loom serve pid $serve_pid on $endpoint for ${duration} s; $(nproc) cores; output in $out"
/usr/bin/python3 "$root/bench/soak/soak.py" --endpoint "$endpoint" --pid "$serve_pid" --duration "$duration" \
  --workers "${SOAK_WORKERS:-6}" --out "$out"
