#!/usr/bin/env bash
# The HTTP serving bench: one `loom serve` with both doors (ZeroMQ and HTTP)
# and, when tests/reference/build_llama_cpp.sh has built it, llama.cpp's
# llama-server on the same GGUF and threads (-np = streams, continuous
# batching on), all driven by load_gen.py at 1, 4, 16 and 64 streams.
# Prints one markdown table per target; raw JSON in $out.
# Usage: bench/serving/run_http.sh [model.gguf]
# Env: LOOM_BUILD (default <repo>/build), THREADS (2), STREAMS ("1 4 16 64"),
# PROMPT_LEN (64), OUTPUT_LEN (64), LLAMA_SERVER (path; default the cached build),
# PLOT (PNG path; default $out/http_serving.png).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/bench/serving
model=${1:-$("$root/scripts/fetch_model.sh")}
build=${LOOM_BUILD:-$root/build}
threads=${THREADS:-2}
streams=${STREAMS:-1 4 16 64}
plen=${PROMPT_LEN:-64}
olen=${OUTPUT_LEN:-64}
out=$(mktemp -d /tmp/loom-http-bench.XXXXXX)
llama=${LLAMA_SERVER:-$(ls "${LOOM_CACHE:-$HOME/.cache/loom}"/llama.cpp-build-*/bin/llama-server 2>/dev/null | head -1 || true)}
py=/usr/bin/python3
pids=()
trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1200); do curl -sf "$1/health" >/dev/null && return 0; sleep 0.1; done; echo "$1 not ready" >&2; exit 1; }

echo "# HTTP serving bench: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, threads $threads, load average $(cut -d' ' -f1 /proc/loadavg)"
echo "prompt $plen tokens (random ids), output $olen tokens (ignore_eos), closed loop, 2 x streams requests per point"

max=0; for c in $streams; do ((c > max)) && max=$c; done
port=$(free_port)
"$build/adapters/host/loom" serve --backend "$build/lib/libloom_cpu.so" --model "$model" \
  --config-json "{\"max_context\": 1024, \"threads\": $threads, \"max_num_seqs\": $max}" \
  --endpoint "ipc://$out/loom.sock" --http "127.0.0.1:$port" >"$out/loom.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$port"

seed=0
point() {  # label, door args..., streams. Each run its own seed: no prompt is
  # served twice, so no run rides on the prefix cache another one filled.
  local label=$1 c=${*: -1}
  local n=$((2 * c > 8 ? 2 * c : 8))
  seed=$((seed + 1000))
  $py "$here/load_gen.py" "${@:2:$#-2}" --label "$label" --concurrency "$c" --num-requests "$n" --seed "$seed" \
    --fixed-prompt-len "$plen" --fixed-output-len "$olen" --out "$out/$label-$c.json" | tail -1
}
header=1
for c in $streams; do
  if ((header)); then
    $py -c 'import sys; sys.path.insert(0, sys.argv[1]); import report; print(report.markdown_table([], header=True))' "$here"
    header=0
  fi
  # Alternate which door goes first: the machine's load drifts over a run.
  if ((c % 2)); then
    point loom-zmq --endpoint "ipc://$out/loom.sock" "$c"
    point loom-http --http "http://127.0.0.1:$port" "$c"
  else
    point loom-http --http "http://127.0.0.1:$port" "$c"
    point loom-zmq --endpoint "ipc://$out/loom.sock" "$c"
  fi
done
kill -TERM "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true; pids=()

plot() {
  local png=${PLOT:-$out/http_serving.png}
  $py -c 'import sys; sys.path.insert(0, sys.argv[1]); import report; report.plot_concurrency(sys.argv[3:], sys.argv[2])' \
    "$here" "$png" "$out"/*.json
  echo "plot: $png; raw JSON/CSV in $out"
}
if [[ -z $llama || ! -x $llama ]]; then
  echo "llama-server: not built (tests/reference/build_llama_cpp.sh builds it); peer not measured"
  plot
  exit 0
fi
for c in $streams; do
  lport=$(free_port)
  "$llama" -m "$model" -t "$threads" -np "$c" -cb -c $((1024 * c)) --host 127.0.0.1 --port "$lport" >"$out/llama-$c.log" 2>&1 &
  pids=($!)
  wait_http "http://127.0.0.1:$lport"
  point llama-server --http "http://127.0.0.1:$lport" "$c"
  kill -TERM "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true; pids=()
done
plot
