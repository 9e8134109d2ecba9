#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs dependencies, builds
# the release and the sanitizer (ASan+UBSan, TSan) flavours, fetches the
# model, runs every test in them, the HTTP door's tests (openai SDK, curl,
# Prometheus), a 120 s soak, the fuzzers, and last the vLLM door under a real
# `vllm serve` (its venv is cached under ~/.cache/loom). CI runs exactly this
# (.ci/run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step() { printf '\n==> %s\n' "$*" >&2; }

step "installing dependencies"
scripts/install_deps.sh
step "fetching the test model"
export LOOM_TEST_MODEL=$(scripts/fetch_model.sh)
step "fetching Gemma 3 270M (tokenizer tests)"
export LOOM_GEMMA_MODEL=$(scripts/fetch_model.sh gemma3)

step "building (release)"
release=$(scripts/build.sh release)
step "running tests (release)"
ctest --test-dir "$release" --output-on-failure -j "$(nproc)" --timeout 900
step "HTTP door: openai SDK, curl, promtool and Prometheus (scripts/test_http.sh)"
scripts/test_http.sh "$release"
step "soak: 120 s of mixed load through one loom serve (bench/soak)"
LOOM_BUILD=$release SOAK_OUT=$release/soak bench/soak/run.sh 120

step "building (ASan + UBSan)"
asan=$(scripts/build.sh asan)
step "running tests (ASan + UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# (The SIMT emulator is not built here: ASan cannot follow its fiber stack
# switches. Its tests ran in the release pass above.)
ctest --test-dir "$asan" --output-on-failure -j "$(nproc)" --timeout 1800

step "building (TSan: plugin, engine and their stress tests)"
tsan=$(scripts/build.sh tsan loom_cpu loom_cpu_ref test_plugin_stress test_plugin_model test_engine_model)
step "running tests (TSan)"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$root/tests/tsan_suppressions.txt" \
  ctest --test-dir "$tsan" --output-on-failure -j "$(nproc)" --timeout 1800 \
  -R 'PluginStress|PluginModel|PluginLifecycle|EngineLifecycle|EngineBatching'

step "fuzzing (libFuzzer, ${FUZZ_SECONDS:=30} s per target)"
FUZZ_SECONDS=$FUZZ_SECONDS tests/fuzz/run_fuzzers.sh

step "vLLM door under a real vllm serve 0.33.0 (scripts/test_vllm.sh)"
LOOM_BUILD_DIR=$release scripts/test_vllm.sh
step "all tests passed"
