#!/usr/bin/env bash
# The main job, from a fresh machine: installs dependencies, builds Loom,
# fetches the packaged SmolLM2 model, starts a backend (libloom_cpu.so loaded
# by `loom serve`) on a ZeroMQ endpoint, sends it a chat job from the Python
# client and shows the streamed reply.
# Usage: scripts/demo.sh [--model smollm2|gemma3] ["your question"]
# (--model gemma3: Gemma 3 270M, assembled from its PyPI chunk packages. That
# file is the base model, which continues text rather than following chat
# turns, as llama.cpp's output on it shows, so the demo sends it a completion
# prompt; add --chat to send the question as a chat turn anyway.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
model_name=smollm2
if [[ ${1:-} == --model ]]; then
  model_name=${2:?--model needs smollm2 or gemma3}
  shift 2
fi
case $model_name in
  smollm2 | gemma3) ;;
  *) echo "demo.sh: unknown model '$model_name' (smollm2 or gemma3)" >&2; exit 2 ;;
esac
mode=--chat
if [[ $model_name == gemma3 ]]; then
  mode=""
  [[ ${1:-} == --chat ]] && { mode=--chat; shift; }
  question=${1:-"The three most useful things to know about cooking rice are"}
else
  question=${1:-"What are three good reasons to learn to cook?"}
fi
echo "==> installing dependencies" >&2
scripts/install_deps.sh
echo "==> building (log: /tmp/loom-demo-build.log)" >&2
if ! build=$(scripts/build.sh release loom loom_cpu 2>/tmp/loom-demo-build.log); then
  tail -n 30 /tmp/loom-demo-build.log >&2
  exit 1
fi
echo "==> fetching the model ($model_name)" >&2
if [[ $model_name == gemma3 ]]; then model=$(scripts/fetch_model.sh gemma3); else model=$(scripts/fetch_model.sh); fi

run_dir=$(mktemp -d)
endpoint="ipc://$run_dir/loom.sock"
echo "==> starting the backend on $endpoint" >&2
"$build/adapters/host/loom" serve --backend "$build/lib/libloom_cpu.so" --model "$model" \
  --endpoint "$endpoint" --config-json '{"max_context": 2048}' >"$run_dir/serve.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$run_dir"' EXIT
# The client waits for the backend (ZeroMQ connects once the socket exists).
for _ in $(seq 1 600); do
  [[ -S $run_dir/loom.sock ]] && break
  kill -0 $server 2>/dev/null || { cat "$run_dir/serve.log" >&2; exit 1; }
  sleep 0.1
done

echo "==> asking: $question" >&2
/usr/bin/python3 adapters/python/loom_client.py --endpoint "$endpoint" $mode \
  --prompt "$question" --max-tokens 200 --temperature 0.7
