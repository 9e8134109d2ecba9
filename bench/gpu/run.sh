#!/usr/bin/env bash
# The real-GPU check in one command (under 10 minutes on one H100/H200 with
# 16 cores): build for this device's architecture only, run the kernel tests
# on it (ctest -L gpu), benchmark every kernel against the device's measured
# ceilings, then the CUDA backend end to end on SmolLM2 and on a random-weights
# Llama-2-7B (made on the spot: no network needed), and a short serving run
# through `loom serve` + libloom_cuda.so with the bench/serving load generator.
# Prints a table at the end. Without a device: a skip message, exit 0.
# Usage: bench/gpu/run.sh
# Env: LOOM_GPU_BUILD (build dir, default <repo>/build-gpu), LOOM_GPU_OUT
# (logs, default a new /tmp/loom-gpu.*), LOOM_GPU_CACHE (where the random
# 7B file is kept between runs, default /tmp/loom-gpu-cache), LOOM_SMOLLM2
# (the real SmolLM2 GGUF; default ~/.cache/loom/SmolLM2-135M-Instruct.Q4_1.gguf,
# a random file of its shapes when absent), LOOM_GPU_BUDGET (seconds, 570).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${LOOM_GPU_BUILD:-$root/build-gpu}
out=${LOOM_GPU_OUT:-$(mktemp -d /tmp/loom-gpu.XXXXXX)}
cache=${LOOM_GPU_CACHE:-/tmp/loom-gpu-cache}
smollm=${LOOM_SMOLLM2:-$HOME/.cache/loom/SmolLM2-135M-Instruct.Q4_1.gguf}
budget=${LOOM_GPU_BUDGET:-570}
mkdir -p "$out" "$cache"
start=$SECONDS
summary=$out/summary.md

# --- 0. Is there a device? -------------------------------------------------
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  echo "bench/gpu/run.sh: SKIPPED: no NVIDIA GPU here (nvidia-smi missing or lists no GPU)."
  echo "Run it on a machine with an sm_80+ GPU, the CUDA toolkit (nvcc) and cuBLAS."
  exit 0
fi
if ! command -v nvcc >/dev/null 2>&1 && [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
  echo "bench/gpu/run.sh: SKIPPED: a GPU is present but nvcc is not (install the CUDA toolkit)."
  exit 0
fi
export PATH=$PATH:/usr/local/cuda/bin
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n 1 | tr -d ' .')
echo "## $gpu (sm_$arch), results and logs in $out"
printf '| stage | status | seconds | result |\n|---|---|---|---|\n' >"$summary"

# stage NAME LIMIT CMD...: runs CMD with its output in $out/NAME.log (and on
# the terminal), killed after LIMIT seconds or when the overall budget runs
# out; records one summary row. Returns CMD's status.
stage() {
  local name=$1 limit=$2; shift 2
  local left=$((budget - (SECONDS - start)))
  if ((left < 20)); then
    echo "| $name | skipped (time budget spent) | 0 | |" >>"$summary"
    return 1
  fi
  ((limit > left)) && limit=$left
  echo; echo "## $name (limit ${limit}s)"
  local t0=$SECONDS rc
  # bash -c: CMD may be one of the functions below (exported), which timeout cannot run itself.
  timeout --kill-after=10 "$limit" bash -c '"$@"' "$name" "$@" 2>&1 | tee "$out/$name.log"
  rc=${PIPESTATUS[0]}
  local status=ok
  ((rc == 124 || rc == 137)) && status="TIMED OUT after ${limit}s"
  ((rc != 0 && rc != 124 && rc != 137)) && status="failed (exit $rc)"
  ((rc == 77)) && status="skipped (no usable device)"
  echo "| $name | $status | $((SECONDS - t0)) | ${stage_result:-} |" >>"$summary"
  stage_result=
  return "$rc"
}

# --- 1. Build for this architecture only ------------------------------------
configure_and_build() {
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOOM_CUDA=ON -DLOOM_SIMT=OFF \
    -DCMAKE_CUDA_ARCHITECTURES="$arch" -DLOOM_CUDA_KERNEL_ARCHS="$arch" -DLOOM_GPU_TEST_ARCHS="$arch" >/dev/null &&
    cmake --build "$build" -j"$(nproc)" --target cuda_ops_gpu_test cuda_attention_gpu_test bench_kernels \
      bench_backend loom_make_random_gguf loom_cuda_probe &&
    { cmake --build "$build" -j"$(nproc)" --target loom loom_cuda ||
        echo "note: loom / libloom_cuda.so did not build: the serving stage will be skipped"; }
}
export root build out arch smollm
export -f configure_and_build
stage build 300 configure_and_build || { cat "$summary"; exit 1; }
stage probe 30 "$build/backends/cuda/loom_cuda_probe"

# --- 2. Kernel tests on the device ------------------------------------------
stage_result="see $out/ctest.log"
stage ctest 150 ctest --test-dir "$build" -L gpu --output-on-failure --timeout 120

# --- 3. Kernels vs ceilings -----------------------------------------------
stage kernels 100 "$build/bench/gpu/bench_kernels"
echo "| kernels vs targets | | | $(grep -o '[0-9]* PASS, [0-9]* FAIL' "$out/kernels.log" || echo 'no result') |" >>"$summary"

# --- 4. Models: the real SmolLM2 if present, random files otherwise ---------
llama7b=$cache/random-llama2-7b-q4_0.gguf
[[ -s $llama7b ]] || stage make_7b 60 "$build/bench/gpu/loom_make_random_gguf" --out "$llama7b"
if [[ ! -s $smollm ]]; then
  smollm=$cache/random-smollm2-135m-q4_1.gguf
  smollm_label="SmolLM2-135M shapes, random Q4_1"
  [[ -s $smollm ]] || stage make_smollm 30 "$build/bench/gpu/loom_make_random_gguf" --out "$smollm" \
    --layers 30 --dim 576 --heads 9 --kv-heads 3 --ffn 1536 --vocab 49152 --type q4_1 --tied --context 8192
else
  smollm_label="SmolLM2-135M Q4_1"
fi

# --- 5. The backend end to end ----------------------------------------------
stage backend_smollm2 60 "$build/bench/gpu/bench_backend" --model "$smollm" --label "$smollm_label"
stage backend_7b 90 "$build/bench/gpu/bench_backend" --model "$llama7b" --label "Llama-2-7B shapes, random Q4_0"

# --- 6. Serving: loom serve + libloom_cuda.so + bench/serving/load_gen.py ---
# On the SmolLM2-shaped model: load_gen.py draws prompt ids in [1000, 48000),
# beyond the 7B's 32000-token vocabulary.
serve_run() {
  local py=/usr/bin/python3
  [[ -x $py ]] || py=$(command -v python3)
  if ! "$py" -c 'import zmq, msgpack, numpy' 2>/dev/null; then
    echo "SKIPPED: $py lacks zmq/msgpack/numpy (bench/serving/load_gen.py needs them)"
    return 77
  fi
  local loom_bin lib=$build/lib/libloom_cuda.so
  loom_bin=$(find "$build" -type f -name loom -perm -u+x | head -n 1)
  if [[ ! -f $lib || -z $loom_bin ]]; then
    echo "SKIPPED: $lib or the loom CLI was not built"
    return 77
  fi
  local sock ep pid rc
  sock=$(mktemp -d /tmp/loom-gpu-sock.XXXXXX)
  ep=ipc://$sock/serve.sock
  "$loom_bin" serve --backend "$lib" --model "$smollm" --endpoint "$ep" >"$out/serve-server.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    grep -q 'serving on' "$out/serve-server.log" && break
    kill -0 "$pid" 2>/dev/null || { cat "$out/serve-server.log"; return 1; }
    sleep 0.1
  done
  "$py" "$root/bench/serving/load_gen.py" --endpoint "$ep" --label gpu --concurrency 32 --num-requests 128 \
    --fixed-prompt-len 256 --fixed-output-len 128 --timeout 60 --out "$out/serving.json"
  rc=$?
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rm -rf "$sock"
  return "$rc"
}
export smollm
export -f serve_run
stage serving 90 serve_run

# --- 7. The table -------------------------------------------------------------
echo; echo "## summary ($gpu, sm_$arch, $((SECONDS - start)) s)"
cat "$summary"
echo
echo "### backend (batch-1 decode vs the copy ceiling, target >= 85%)"
grep -h '^| ' "$out/backend_smollm2.log" "$out/backend_7b.log" 2>/dev/null | awk 'NR == 1 || !/^\| model/' | grep -v '^|---' |
  sed '1a |---|---|---|---|---|---|---|---|---|'
echo
echo "### kernels: FAIL rows (full table in $out/kernels.log)"
grep -h 'FAIL |' "$out/kernels.log" 2>/dev/null || echo "none"
exit 0
