#!/usr/bin/env bash
# End to end with the real thing: an unmodified `vllm serve` (0.33.0, from
# PyPI, in a venv under ~/.cache/loom) in external-engine mode on 127.0.0.1,
# `loom serve --vllm-engine` with the CPU backend as its engine, then the
# `openai` package against the frontend (tests/vllm/e2e_vllm.py). Loom's own
# ZeroMQ door runs on the same engine as the reference for greedy text.
# Usage: scripts/test_vllm.sh      (LOOM_BUILD_DIR: an existing release build)
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
http_port=$(free_port)
rpc_port=$(free_port)
endpoint=ipc://$work/loom.sock

VLLM_TARGET_DEVICE=cpu HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
  "$py" -m vllm.entrypoints.cli.main serve "$model_dir" --host 127.0.0.1 --port "$http_port" \
  --served-model-name smollm2 --max-model-len 2048 \
  --data-parallel-address 127.0.0.1 --data-parallel-rpc-port "$rpc_port" \
  --data-parallel-size 1 --data-parallel-size-local 0 >"$work/vllm.log" 2>&1 &
pids+=($!)
"$build/adapters/host/loom" serve --backend "$build/lib/libloom_cpu.so" --model "$model" \
  --config-json '{"max_context": 2048}' --endpoint "$endpoint" \
  --vllm-engine "tcp://127.0.0.1:$rpc_port" >"$work/loom.log" 2>&1 &
loom_pid=$!
pids+=($loom_pid)

ready=0
for _ in $(seq 1 240); do
  if curl -sf "http://127.0.0.1:$http_port/health" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.5
done
if [[ $ready != 1 ]]; then
  echo "vllm serve did not become ready; logs:" >&2
  tail -30 "$work/vllm.log" "$work/loom.log" >&2
  exit 1
fi

status=0
LOOM_VLLM_URL="http://127.0.0.1:$http_port" LOOM_VLLM_MODEL=smollm2 LOOM_ENDPOINT="$endpoint" \
  "$py" "$root/tests/vllm/e2e_vllm.py" || status=$?

# SIGTERM: Loom drains and sends ENGINE_CORE_DEAD; the frontend then fails fast.
kill -TERM "$loom_pid"
wait "$loom_pid" || true
if ! grep -q "ENGINE_CORE_DEAD" "$work/loom.log"; then
  echo "FAIL: loom serve did not send ENGINE_CORE_DEAD on SIGTERM" >&2
  status=1
fi
code=$(curl -s -o /dev/null -w '%{http_code}' -m 30 "http://127.0.0.1:$http_port/v1/completions" \
  -H 'Content-Type: application/json' -d '{"model": "smollm2", "prompt": "Hi", "max_tokens": 4}' || true)
if [[ $code == 200 ]]; then
  echo "FAIL: the frontend still answered 200 after the engine died" >&2
  status=1
else
  echo "after ENGINE_CORE_DEAD the frontend answers $code at once (no hang)"
fi
if [[ $status != 0 ]]; then tail -40 "$work/loom.log" "$work/vllm.log" >&2; fi
echo "scripts/test_vllm.sh: $([[ $status == 0 ]] && echo PASS || echo FAIL) in $(( $(date +%s) - start )) s"
exit $status
