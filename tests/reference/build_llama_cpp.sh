#!/usr/bin/env bash
# Builds the llama.cpp vendored in llama-cpp-python's PyPI sdist, once, into
# ~/.cache/loom/llama.cpp: the independent reference for the fixtures in
# tests/fixtures/ and the peer in bench/ (llama-bench, and llama-server for
# the HTTP serving bench, llama-perplexity and llama-tokenize). Slow on 2 cores (15-30 min); never
# run by CI. Prints the library folder on success.
set -euo pipefail
version=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
cache=${LOOM_CACHE:-$HOME/.cache/loom}
src=$cache/llama_cpp_python-$version
build=$cache/llama.cpp-build-$version
mkdir -p "$cache/dl"
# Some virtual machines list AMX in cpuinfo without enabling it for user
# space; -march=native would then emit tile instructions that fault (SIGILL).
no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
if [[ ! -d $src ]]; then
  echo "fetching llama-cpp-python==$version sdist from PyPI" >&2
  python3 -m pip download --no-deps --no-binary :all: -d "$cache/dl" "llama-cpp-python==$version" >&2
  tar xzf "$cache/dl/llama_cpp_python-$version.tar.gz" -C "$cache"
fi
if [[ ! -f $build/bin/libllama.so || ! -x $build/bin/llama-bench || ! -x $build/bin/llama-server || ! -x $build/bin/llama-perplexity || ! -x $build/bin/llama-tokenize || ! -f $build/.no-amx ]]; then
  echo "building llama.cpp (vendored in llama-cpp-python $version) in $build" >&2
  cmake -S "$src/vendor/llama.cpp" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
    -DCMAKE_C_FLAGS="$no_amx" -DCMAKE_CXX_FLAGS="$no_amx" >&2
  cmake --build "$build" --target llama llama-bench llama-server llama-perplexity llama-tokenize -j "$(nproc)" >&2
  touch "$build/.no-amx"
fi
echo "$build/bin"
