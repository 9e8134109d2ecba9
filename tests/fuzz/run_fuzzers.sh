#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs
# each for a bounded time over a scratch copy of its seed corpus.
#   FUZZ_SECONDS=60 (per target)  FUZZ_JOBS=1  tests/fuzz/run_fuzzers.sh [target...]
# Needs clang and its libFuzzer runtime (Debian: clang, libclang-rt-14-dev or
# libclang-common-14-dev, which ships libclang_rt.fuzzer-x86_64.a for clang 14).
# Crashes land in build-fuzz/fuzz-out/<target>/ as crash-*; replay one with
#   build-fuzz/tests/gguf/fuzz/<target> <crash-file>
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
targets=("$@")
((${#targets[@]})) || targets=(fuzz_gguf fuzz_protocol fuzz_http_request)
declare -A corpus=([fuzz_gguf]=gguf [fuzz_protocol]=protocol [fuzz_http_request]=http_request)

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DLOOM_CUDA=OFF -DLOOM_FUZZ=ON \
  -DLOOM_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target "${targets[@]}" -j"${FUZZ_JOBS:-2}"

status=0
for t in "${targets[@]}"; do
  bin=$(find "$build" -type f -name "$t" -perm -u+x | head -1)
  out=$build/fuzz-out/$t
  mkdir -p "$out/corpus"
  cp -n "$root/tests/fuzz/corpus/${corpus[$t]:-$t}/"* "$out/corpus/" 2>/dev/null || true
  echo "== $t for ${seconds}s (corpus $out/corpus)"
  if ! (cd "$out" && "$bin" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
          -timeout=10 -print_final_stats=1 corpus); then
    echo "!! $t found a failure; see $out/crash-* / timeout-* / oom-*" >&2
    status=1
  fi
done
exit $status
