#!/usr/bin/env bash
# Prefill (512-token prompt) and decode (128 tokens) speed of Loom and of
# llama.cpp's llama-bench on the same GGUF file, same machine, same run.
# Usage: bench/model/run.sh [model.gguf]   (default: the packaged SmolLM2)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
model=${1:-$("$root/scripts/fetch_model.sh")}
build=${LOOM_BUILD:-$root/build}
cmake --build "$build" --target bench_model >&2
echo "## Loom"
"$build/bench/model/bench_model" --model "$model" --threads 1,2 --prompt 512 --gen 128 --reps 3
echo
echo "## llama.cpp (llama-bench, same file)"
bench_bin=$(ls "${LOOM_CACHE:-$HOME/.cache/loom}"/llama.cpp-build-*/bin/llama-bench 2>/dev/null | head -n 1 || true)
if [[ -x $bench_bin ]]; then
  "$bench_bin" -m "$model" -p 512 -n 128 -t 1,2 -r 3 -o md
else
  echo "llama-bench not found: build it once with tests/reference/build_llama_cpp.sh (15-30 min on 2 cores)"
fi
