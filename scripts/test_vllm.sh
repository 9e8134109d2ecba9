#!/usr/bin/env bash
# End to end with the real thing: an unmodified `vllm serve` (0.33.0, from
# PyPI, in a venv under ~/.cache/loom) in external-engine mode on 127.0.0.1,
# `loom serve --vllm-engine` with the CPU backend as its engine, then the
# `openai` package against the frontend (tests/vllm/e2e_vllm.py). Loom's own
# ZeroMQ door runs on the same engine as the reference for greedy text.
# Usage: scripts/test_vllm.sh      (LOOM_BUILD_DIR: an existing release build;
#   LOOM_CUDA_EMU_SO: the emulated CUDA backend for the swap, else build/lib's;
#   LOOM_VLLM_BENCH=1: also print adapters/vllm/bench_frontend.py's table)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
py=$("$root/scripts/vllm_venv.sh")
model=$("$root/scripts/fetch_model.sh")
build=${LOOM_BUILD_DIR:-}
if [[ -z $build ]]; then
  build=$(LOOM_CMAKE_ARGS="${LOOM_CMAKE_ARGS:-} -DLOOM_CUDA=OFF -DLOOM_SIMT=OFF" "$root/scripts/build.sh" release loom loom_cpu | tail -1)
fi
cache=${LOOM_CACHE:-$HOME/.cache/loom}
model_dir=$cache/vllm-model/$(basename "$model" .gguf)
if [[ ! -f $model_dir/generation_config.json ]]; then
  "$py" "$root/adapters/vllm/make_model_dir.py" "$model" "$model_dir"
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_pair NAME MAX_MODEL_LEN LOOM_ARGS...: a vllm serve frontend waiting for
# one external engine, and loom serve as that engine; sets http_port,
# vllm_pid, loom_pid; logs in $work/NAME-{vllm,loom}.log.
start_pair() {
  local name=$1 max_len=$2; shift 2
  http_port=$(free_port)
  local rpc_port; rpc_port=$(free_port)
  VLLM_TARGET_DEVICE=cpu HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    "$py" -m vllm.entrypoints.cli.main serve "$model_dir" --host 127.0.0.1 --port "$http_port" \
    --served-model-name smollm2 --max-model-len "$max_len" \
    --data-parallel-address 127.0.0.1 --data-parallel-rpc-port "$rpc_port" \
    --data-parallel-size 1 --data-parallel-size-local 0 >"$work/$name-vllm.log" 2>&1 &
  vllm_pid=$!
  pids+=($vllm_pid)
  "$build/adapters/host/loom" serve --model "$model" --vllm-engine "tcp://127.0.0.1:$rpc_port" "$@" \
    >"$work/$name-loom.log" 2>&1 &
  loom_pid=$!
  pids+=($loom_pid)
  for _ in $(seq 1 240); do
    if curl -sf "http://127.0.0.1:$http_port/health" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "vllm serve did not become ready; logs:" >&2
  tail -n 30 "$work/$name-vllm.log" "$work/$name-loom.log" >&2
  return 1
}

status=0
endpoint=ipc://$work/loom.sock
start_pair main 2048 --backend "$build/lib/libloom_cpu.so" --config-json '{"max_context": 2048}' \
  --endpoint "$endpoint"
LOOM_VLLM_URL="http://127.0.0.1:$http_port" LOOM_VLLM_MODEL=smollm2 LOOM_ENDPOINT="$endpoint" \
  "$py" "$root/tests/vllm/e2e_vllm.py" || status=$?
if [[ ${LOOM_VLLM_BENCH:-0} == 1 ]]; then  # the frontend's cost, not a test: never with a build running
  LOOM_VLLM_URL="http://127.0.0.1:$http_port" LOOM_VLLM_MODEL=smollm2 LOOM_ENDPOINT="$endpoint" \
    "$py" "$root/adapters/vllm/bench_frontend.py"
fi

# SIGTERM: Loom drains and sends ENGINE_CORE_DEAD; the frontend then fails fast.
kill -TERM "$loom_pid"
wait "$loom_pid" || true
if ! grep -q "ENGINE_CORE_DEAD" "$work/main-loom.log"; then
  echo "FAIL: loom serve did not send ENGINE_CORE_DEAD on SIGTERM" >&2
  status=1
fi
# An error status, or the frontend already gone (it exits on a dead engine):
# either way at once, never a hang (curl exit 28 is its timeout).
curl_rc=0
code=$(curl -s -o /dev/null -w '%{http_code}' -m 30 "http://127.0.0.1:$http_port/v1/completions" \
  -H 'Content-Type: application/json' -d '{"model": "smollm2", "prompt": "Hi", "max_tokens": 4}') || curl_rc=$?
if [[ $code == 200 || $curl_rc == 28 ]]; then
  echo "FAIL: after ENGINE_CORE_DEAD the frontend answered $code (curl exit $curl_rc)" >&2
  status=1
else
  echo "after ENGINE_CORE_DEAD the frontend fails fast (HTTP $code, curl exit $curl_rc)"
fi
if [[ $status != 0 ]]; then tail -n 40 "$work/main-loom.log" "$work/main-vllm.log" >&2; fi
kill -TERM "$vllm_pid" 2>/dev/null || true

# A fatal backend error (the test hook debug_fail_step) also reaches the
# frontend as ENGINE_CORE_DEAD: the request fails at once, loom serve exits.
start_pair fatal 1024 --backend "$build/lib/libloom_cpu.so" \
  --config-json '{"max_context": 1024, "threads": 2, "debug_fail_step": 3}'
curl_rc=0
code=$(curl -s -o /dev/null -w '%{http_code}' -m 60 "http://127.0.0.1:$http_port/v1/completions" \
  -H 'Content-Type: application/json' -d '{"model": "smollm2", "prompt": "Hi", "max_tokens": 16}') || curl_rc=$?
loom_rc=0
wait "$loom_pid" || loom_rc=$?
if [[ $code == 200 || $curl_rc == 28 || $loom_rc == 0 ]] || ! grep -q "ENGINE_CORE_DEAD" "$work/fatal-loom.log"; then
  echo "FAIL: fatal backend error: HTTP $code (curl exit $curl_rc), loom exit $loom_rc" >&2
  tail -n 20 "$work/fatal-loom.log" >&2
  status=1
else
  echo "a fatal backend error: HTTP $code at once, ENGINE_CORE_DEAD sent, loom serve exit $loom_rc"
fi
kill -TERM "$vllm_pid" 2>/dev/null || true

# The backend swap behind the live frontend: CPU -> CUDA on the SIMT emulator.
emu=${LOOM_CUDA_EMU_SO:-$build/lib/libloom_cuda_emu.so}
if [[ -f $emu ]]; then
  start_pair swap 256 --backend "$build/lib/libloom_cpu.so" --config-json '{"max_context": 256, "threads": 2}' \
    --backend-next "$emu" \
    --config-json-next '{"max_context": 256, "max_num_seqs": 2, "max_batch_tokens": 64, "graph_batch_sizes": [1]}'
  LOOM_VLLM_URL="http://127.0.0.1:$http_port" LOOM_VLLM_MODEL=smollm2 LOOM_PID=$loom_pid \
    LOOM_LOG="$work/swap-loom.log" VLLM_PID=$vllm_pid "$py" "$root/tests/vllm/e2e_vllm_swap.py" || {
    status=1
    tail -n 40 "$work/swap-loom.log" "$work/swap-vllm.log" >&2
  }
else
  echo "SKIP: backend swap (no $emu: build with -DLOOM_SIMT=ON, or set LOOM_CUDA_EMU_SO)"
fi
echo "scripts/test_vllm.sh: $([[ $status == 0 ]] && echo PASS || echo FAIL) in $(( $(date +%s) - start )) s"
exit $status
