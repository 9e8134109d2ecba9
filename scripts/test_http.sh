#!/usr/bin/env bash
# The HTTP door's end-to-end tests (tests/http/*.py): pytest with the real
# `openai` SDK, curl, promtool and a real Prometheus, against `loom serve
# --http` on the real model and `loom http --connect` in front of a proxy
# with two workers. Needs a built tree (loom, libloom_cpu.so).
#   scripts/test_http.sh [BUILD_DIR] [pytest args...]   (BUILD_DIR default build/)
# Needs curl and promtool/prometheus (Debian: curl, prometheus); creates the
# pinned venv through scripts/http_venv.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
shift || true
for tool in curl promtool prometheus; do
  command -v "$tool" >/dev/null || { echo "test_http: $tool is missing (apt-get install -y curl prometheus)" >&2; exit 1; }
done
export LOOM_BIN=$build/adapters/host/loom
export LOOM_CPU_SO=$build/lib/libloom_cpu.so
[[ -x $LOOM_BIN && -f $LOOM_CPU_SO ]] || { echo "test_http: build loom and loom_cpu in $build first" >&2; exit 1; }
export LOOM_TEST_MODEL=${LOOM_TEST_MODEL:-$("$root/scripts/fetch_model.sh")}
python=$("$root/scripts/http_venv.sh" | tail -1)
cd "$root/tests/http"
exec "$python" -m pytest -v -p no:cacheprovider "$@" .
