#!/usr/bin/env bash
# Records llama-perplexity's figure for SmolLM2 (or Gemma 3) on the GPL-3 text
# Debian ships (/usr/share/common-licenses/GPL-3, package base-files) in
# tests/fixtures/perplexity/gpl3_<model>.json, which tests/e2e/test_perplexity.py
# holds `loom perplexity` to (same file, --ctx, --chunks). Needs the llama.cpp
# build of tests/reference/build_llama_cpp.sh and the model of
# scripts/fetch_model.sh; never run by CI.
#
# Two runs: with `-fa off` (llama.cpp's non-flash attention, the arithmetic
# Loom's CPU kernels follow bit for bit: the figure the test compares with)
# and with llama-perplexity's default flash-attention setting (recorded for
# reference only).
# Usage: tests/reference/make_perplexity_fixture.sh [CTX] [CHUNKS] [MODEL]
#   (default 512 4 smollm2; MODEL smollm2 or gemma3)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ctx=${1:-512}
chunks=${2:-4}
model_name=${3:-smollm2}
threads=${LOOM_THREADS:-2}
version=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
bin=$("$root/tests/reference/build_llama_cpp.sh")
case $model_name in
  smollm2) model=$("$root/scripts/fetch_model.sh") ;;
  gemma3) model=$("$root/scripts/fetch_model.sh" gemma3) ;;
  *) echo "unknown model '$model_name' (smollm2 or gemma3)" >&2; exit 2 ;;
esac
text=/usr/share/common-licenses/GPL-3
out=$root/tests/fixtures/perplexity/gpl3_$model_name.json
[[ -f $text ]] || { echo "no $text (Debian's base-files)" >&2; exit 1; }

run() {  # run NAME EXTRA...: llama-perplexity's stdout+stderr into $tmp/NAME.log
  local name=$1; shift
  "$bin/llama-perplexity" -m "$model" -f "$text" -c "$ctx" --chunks "$chunks" -t "$threads" "$@" \
    > "$tmp/$name.log" 2>&1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run exact -fa off
run default
"$bin/llama-perplexity" --version > "$tmp/version.log" 2>&1 || true

/usr/bin/python3 - "$tmp" "$out" "$ctx" "$chunks" "$threads" "$version" "$model" "$text" <<'PY'
import hashlib, json, os, re, subprocess, sys
tmp, out, ctx, chunks, threads, version, model, text = sys.argv[1:]

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()

def parse(name, extra):
    log = open(os.path.join(tmp, name + ".log"), errors="replace").read()
    final = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", log)
    if not final:
        sys.exit(f"no final estimate in llama-perplexity's {name} output:\n{log[-2000:]}")
    progress = [float(v) for v in re.findall(r"\[\d+\]([0-9.]+),", log)]
    command = (f"llama-perplexity -m {os.path.basename(model)} -f {text} -c {ctx} --chunks {chunks} "
               f"-t {threads}" + (" " + extra if extra else ""))
    return {"command": command, "ppl": float(final.group(1)), "error": float(final.group(2)),
            "progress": progress, "final_line": final.group(0)}

llama_version = open(os.path.join(tmp, "version.log"), errors="replace").read()
m = re.search(r"version: (.*)", llama_version)
base_files = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "base-files"],
                            capture_output=True, text=True).stdout.strip()
fixture = {
    "producer": "tests/reference/make_perplexity_fixture.sh",
    "llama_cpp_python_version": version,
    "llama_cpp_version": m.group(1).strip() if m else "",
    "model": os.path.basename(model),
    "model_sha256": sha256(model),
    "text": text,
    "text_sha256": sha256(text),
    "text_package": "base-files " + base_files,
    "ctx": int(ctx),
    "chunks": int(chunks),
    "exact": parse("exact", "-fa off"),
    "default": parse("default", ""),
}
with open(out, "w") as f:
    json.dump(fixture, f, indent=1)
    f.write("\n")
print(out)
PY
