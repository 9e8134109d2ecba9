#!/usr/bin/env bash
# Creates (once) the Python venv the HTTP tests use: the real `openai` SDK and
# pytest, pinned, from PyPI. Prints the venv's python on the last line.
#   LOOM_CACHE (default ~/.cache/loom) holds it as http-venv/.
set -euo pipefail
cache=${LOOM_CACHE:-$HOME/.cache/loom}
venv=$cache/http-venv
pins=(openai==3.51.0 pytest==9.0.3)
stamp=$venv/.pins
if [[ ! -x $venv/bin/python || "$(cat "$stamp" 2>/dev/null)" != "${pins[*]}" ]]; then
  mkdir -p "$cache"
  /usr/bin/python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --index-url https://pypi.org/simple "${pins[@]}" >&2
  echo "${pins[*]}" >"$stamp"
fi
echo "$venv/bin/python"
