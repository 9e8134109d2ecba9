#!/usr/bin/env bash
# Prefill (pp512) and decode (tg128) speed of Loom (bench_model) and of
# llama.cpp's llama-bench on the same GGUF files, same machine, same run,
# alternating engine by engine for several rounds (so drift in clock speed or
# noise from the neighbours hits both), then one ratio table.
#
# Usage: bench/model/run.sh [--rounds N] [--threads T] [--big] [--gemma] [model.gguf ...]
#   default models: the packaged SmolLM2 (scripts/fetch_model.sh)
#   --big    also random-weights models of TinyLlama-1.1B's shape in Q4_0 and
#            the Q4_K_M mix (written once into the cache by loom_make_random_gguf):
#            0.6 GB of weights that stream from DRAM on every token
#   --gemma  also the packaged Gemma 3 270M (scripts/fetch_model.sh gemma3)
# Environment: LOOM_ISA=avx2|scalar forces Loom's kernels; LOOM_BENCH_ARGS adds
# bench_model flags (e.g. "--numerics exact"); LOOM_BUILD the build directory.
# Both engines report the best of 3 repetitions per round (llama-bench: the
# fastest of its samples); the summary takes each engine's best round.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${LOOM_BUILD:-$root/build}
cache=${LOOM_CACHE:-$HOME/.cache/loom}
rounds=2 threads=2 big=0 gemma=0 models=()
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --big) big=1; shift ;;
    --gemma) gemma=1; shift ;;
    -h|--help) sed -n 2,17p "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
cmake --build "$build" --target bench_model loom_make_random_gguf >&2
((${#models[@]})) || models+=("$("$root/scripts/fetch_model.sh")")
((gemma)) && models+=("$("$root/scripts/fetch_model.sh" gemma3)")
if ((big)); then
  for type in q4_0 q4_k_m; do
    f=$cache/random-tinyllama-1.1b-$type.gguf
    [[ -s $f ]] || "$build/bench/gpu/loom_make_random_gguf" --preset tinyllama-1.1b --type $type --out "$f" >&2
    models+=("$f")
  done
fi
llama_bench=$(ls "$cache"/llama.cpp-build-*/bin/llama-bench 2>/dev/null | head -n 1 || true)
[[ -x $llama_bench ]] || echo "llama-bench not found: build it once with tests/reference/build_llama_cpp.sh (15-30 min on 2 cores); Loom's rows only" >&2

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
flags=$(grep -o -w -E 'avx512f|avx512_vnni|avx2|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')
l3=$(lscpu | sed -n 's/^L3 cache: *//p' | head -n 1)
echo "# $cpu; ${flags}; L3 ${l3:-?}; Loom ISA ${LOOM_ISA:-auto} ${LOOM_BENCH_ARGS:-}; $threads threads; $rounds rounds"

records=$(mktemp)
trap 'rm -f "$records"' EXIT
for model in "${models[@]}"; do
  name=$(basename "$model" .gguf)
  for ((r = 1; r <= rounds; ++r)); do
    echo "[$name] round $r/$rounds: loom" >&2
    # shellcheck disable=SC2086  # LOOM_BENCH_ARGS is a flag list
    "$build/bench/model/bench_model" --model "$model" --threads "$threads" --prompt 512 --gen 128 --reps 3 \
        ${LOOM_BENCH_ARGS:-} | awk -F'|' -v m="$name" -v r="$r" '$2 ~ /loom/ {
          gsub(/ |MB/, "", $4); gsub(/ |MB/, "", $5); gsub(/ |MB/, "", $6); gsub(/ /, "", $7)
          print m "\tloom\t" r "\t" $4 "\t" $5 "\t" $6 "\t" $7 }' >> "$records"
    [[ -x $llama_bench ]] || continue
    echo "[$name] round $r/$rounds: llama.cpp" >&2
    "$llama_bench" -m "$model" -p 512 -n 128 -t "$threads" -r 3 -o json 2>/dev/null |
      /usr/bin/python3 -c '
import json, sys
pp = tg = 0.0
for row in json.load(sys.stdin):
    best = max(row.get("samples_ts") or [row["avg_ts"]])
    if row["n_prompt"] and not row["n_gen"]: pp = best
    if row["n_gen"] and not row["n_prompt"]: tg = best
print(f"{sys.argv[1]}\tllama.cpp\t{sys.argv[2]}\t{pp:.1f}\t{tg:.1f}\t\t")' "$name" "$r" >> "$records"
  done
done
/usr/bin/python3 "$root/bench/model/summarize.py" "$records"
