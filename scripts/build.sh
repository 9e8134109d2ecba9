#!/usr/bin/env bash
# Configures and builds one flavour of Loom.
# Usage: scripts/build.sh [release|asan|tsan] [target...]   (default: every target)
# Prints the build directory on the last line.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
flavour=${1:-release}
shift || true
jobs=${LOOM_JOBS:-$(nproc)}
case $flavour in
  release) dir=$root/build; extra=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) dir=$root/build-asan
        # No SIMT emulator here: ASan cannot follow its fiber stack switches
        # (those tests run in the release build).
        extra=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOOM_SANITIZE=ON -DLOOM_BUILD_BENCH=OFF -DLOOM_CUDA=OFF -DLOOM_SIMT=OFF) ;;
  tsan) dir=$root/build-tsan
        # ThreadSanitizer: the in-process paths (plugin, engine) and their stress tests.
        extra=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOOM_TSAN=ON -DLOOM_BUILD_BENCH=OFF -DLOOM_CUDA=OFF -DLOOM_SIMT=OFF) ;;
  *) echo "usage: $0 [release|asan|tsan]" >&2; exit 2 ;;
esac
cmake -S "$root" -B "$dir" -G Ninja "${extra[@]}" ${LOOM_CMAKE_ARGS:-} >&2
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$dir" -j "$jobs" "${targets[@]}" >&2
echo "$dir"
