#!/usr/bin/env bash
# The serving benchmark in one command: builds loom_bench_server, serves the
# model on ipc:// endpoints in a temp dir (continuous batching, then the two
# static baselines: fixed-shape, and finished rows dropped), runs load_gen.py
# against them and prints each target with PASS/FAIL. Bounded to ~10 minutes
# on a 2-core machine.
# Usage: bench/serving/run.sh [model.gguf]
# Env: LOOM_BUILD (build dir, default <repo>/build), LOOM_SERVING_OUT (results
# dir, default a new /tmp/loom-serving.*), THREADS (default 2), SAT_RATE,
# LOW_RATE, N_SAT, N_LOW (the workload sizes, below).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/bench/serving
model=${1:-$("$root/scripts/fetch_model.sh")}
build=${LOOM_BUILD:-$root/build}
out=${LOOM_SERVING_OUT:-$(mktemp -d /tmp/loom-serving.XXXXXX)}
threads=${THREADS:-2}
sat_rate=${SAT_RATE:-8}   # offered load of the comparison point: above what either policy sustains
low_rate=${LOW_RATE:-0.2} # a second, light load for the plot
n_sat=${N_SAT:-64}
n_low=${N_LOW:-10}
py=/usr/bin/python3
mkdir -p "$out"

[[ -f $build/build.ninja || -f $build/Makefile ]] || cmake -S "$root" -B "$build" -G Ninja -DLOOM_CUDA=OFF >&2
cmake --build "$build" --target loom_bench_server >&2
server_bin=$build/bench/serving/loom_bench_server

sock_dir=$(mktemp -d /tmp/loom-serving-sock.XXXXXX)
server_pid=
stop_server() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
trap 'stop_server; rm -rf "$sock_dir"' EXIT

# start_server POLICY: serves on ipc://$sock_dir/POLICY.sock once "ready" is printed.
start_server() {
  local log=$out/server-$1.log
  "$server_bin" --model "$model" --endpoint "ipc://$sock_dir/$1.sock" --policy "$1" --threads "$threads" \
    --max-num-seqs 16 --kv-blocks 1024 --max-batch-tokens 256 --max-context 2048 >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 600); do
    grep -q '^ready' "$log" && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  echo "server ($1) not ready after 60 s" >&2
  exit 1
}

# The long-tail mix (README.md): prompts log-normal, median 48, sigma 1.0,
# in [16, 1024]; outputs log-normal, median 48, sigma 0.9, in [8, 256].
mix=(--prompt-median 48 --prompt-sigma 1.0 --prompt-min 16 --prompt-max 1024
     --output-median 48 --output-sigma 0.9 --output-min 8 --output-max 256)
load_gen() { "$py" "$here/load_gen.py" --endpoint "ipc://$sock_dir/$1.sock" --label "$1" "${@:2}"; }

sweep() {  # sweep POLICY: the light point, then the saturating point (same seeds for both policies)
  load_gen "$1" "${mix[@]}" --rates "$low_rate" --num-requests "$n_low" --seed 100 --out "$out/$1-low.json"
  load_gen "$1" "${mix[@]}" --rates "$sat_rate" --num-requests "$n_sat" --seed 200 --out "$out/$1-sat.json"
  "$py" - "$out/$1-low.json" "$out/$1-sat.json" "$out/$1.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
json.dump({"config": [a["config"], b["config"]], "points": a["points"] + b["points"]}, open(sys.argv[3], "w"))
EOF
}

start=$SECONDS
echo "## continuous batching (results in $out)"
start_server continuous
sweep continuous
echo; echo "## 1 stream vs 16 concurrent streams (16-token prompts, 96 output tokens)"
load_gen continuous --concurrency 1 --num-requests 2 --fixed-prompt-len 16 --fixed-output-len 96 \
  --label single --out "$out/single.json"
load_gen continuous --concurrency 16 --num-requests 16 --fixed-prompt-len 16 --fixed-output-len 96 \
  --label streams16 --out "$out/streams16.json"
echo; echo "## shared 1000-token system prompt: TTFT on a prefix miss vs a hit"
load_gen continuous --prefix-test 3 --system-prompt-tokens 1000 --label prefix --out "$out/prefix.json"
stop_server

echo; echo "## static batching baseline, fixed-shape (finished rows computed until the batch ends)"
start_server static-padded
sweep static-padded
stop_server

echo; echo "## static batching, finished rows dropped from the compute (a stronger reference)"
start_server static
sweep static
stop_server

echo; echo "## targets (model $(basename "$model"), $threads threads, $(nproc) cores, $((SECONDS - start)) s)"
"$py" "$here/targets.py" --continuous "$out/continuous.json" --static-padded "$out/static-padded.json" \
  --static "$out/static.json" \
  --single "$out/single.json" --streams16 "$out/streams16.json" --prefix "$out/prefix.json" \
  --plot "$out/sweep.png"
