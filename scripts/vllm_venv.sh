#!/usr/bin/env bash
# Creates, once, a Python 3.11 venv with vllm==0.33.0 (plus gguf and openai)
# under ~/.cache/loom/vllm-0.33.0 (LOOM_CACHE moves it) and prints its python.
# Reused when present: a marker file is written only after a complete install.
# Packages come from PyPI through pip; ~4.3 GB download, a ~10 GB venv, 5 min.
set -euo pipefail
version=0.33.0
cache=${LOOM_CACHE:-$HOME/.cache/loom}
venv=$cache/vllm-$version
marker=$venv/.loom-complete
if [[ ! -f $marker ]]; then
  py=${LOOM_VLLM_PYTHON:-}
  if [[ -z $py ]]; then
    for cand in python3.11 /usr/bin/python3.11; do
      if command -v "$cand" >/dev/null && "$cand" -c 'import venv, ensurepip' 2>/dev/null; then py=$cand; break; fi
    done
  fi
  [[ -n $py ]] || { echo "error: vllm $version needs python3.11 with venv (apt-get install -y python3.11-venv)" >&2; exit 1; }
  echo "creating $venv with vllm==$version from PyPI (~4.3 GB, several minutes)" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
  "$venv/bin/python" -m pip install -q "vllm==$version" gguf openai msgpack >&2
  "$venv/bin/python" -c "import vllm, gguf, openai, zmq, msgpack; assert vllm.__version__.startswith('$version'), vllm.__version__" >&2
  touch "$marker"
fi
echo "$venv/bin/python"
