#!/usr/bin/env bash
# Installs the Debian packages Loom builds, tests and benchmarks with.
# Idempotent; used by the README's commands and by .ci/run.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git unzip ca-certificates python3-pip
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libboost-dev libboost-context-dev
  nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev libspdlog-dev libfmt-dev
  libcli11-dev libicu-dev python3-numpy python3-zmq python3-msgpack python3-matplotlib clang libclang-rt-14-dev
  python3-venv python3.11-venv curl prometheus
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
