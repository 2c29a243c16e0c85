#!/usr/bin/env bash
# One idempotent setup: system packages (when root), the venv, pinned Python dependencies, the
# project itself. Each step leaves a stamp keyed by the hash of its inputs, so a second run is fast.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
# Wheels we build ourselves (llama-cpp-python) live outside the clone so fresh clones reuse them;
# the key includes the CPU flags because the build uses this CPU's SIMD extensions.
cpu_key=generic
for flag in avx512f avx2 avx; do
  if grep -qw "$flag" /proc/cpuinfo; then cpu_key=$flag; break; fi
done
WHEEL_CACHE=${WHEEL_CACHE:-$HOME/.cache/vv-video-ai/wheels/$(uname -m)-$cpu_key}
mapfile -t APT_PACKAGES < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' requirements/apt.txt)

log() { printf '[setup] %s\n' "$*" >&2; }

stamp_ok() {  # stamp_ok NAME FILES... : true if NAME's stamp matches the hash of FILES
  local name=$1; shift
  local want; want=$(cat "$@" | sha256sum | cut -d' ' -f1)
  [ -f "$VENV/.stamp-$name" ] && [ "$(cat "$VENV/.stamp-$name")" = "$want" ]
}
stamp_set() {
  local name=$1; shift
  cat "$@" | sha256sum | cut -d' ' -f1 > "$VENV/.stamp-$name"
}

install_system_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing system packages (run as root to install them): ${missing[*]}"
    return 0
  fi
  log "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build_llama_wheel() {
  mkdir -p "$WHEEL_CACHE"
  if ls "$WHEEL_CACHE"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1; then return 0; fi
  log "building llama-cpp-python once (about 3 min on 2 cores) into $WHEEL_CACHE"
  # No -march=native: the wheel must run on any CPU with the same SIMD level as the cache key.
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    "$VENV/bin/pip" wheel --no-deps -w "$WHEEL_CACHE" llama-cpp-python==0.3.36 >/dev/null
}

install_python_packages() {
  local pip="$VENV/bin/pip"
  [ -x "$pip" ] || { log "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
  if ! stamp_ok deps requirements/*.txt; then
    log "installing torch (CPU use; pinned releases from the local disk)"
    "$pip" install -q -r requirements/torch.txt
    build_llama_wheel
    log "installing inference runtimes, kernel and dev tools"
    "$pip" install -q --find-links "$WHEEL_CACHE" -r requirements/ml.txt -r requirements/base.txt \
      -r requirements/api.txt -r requirements/dev.txt -c requirements/constraints.txt
    "$pip" install -q --no-deps -r requirements/nodeps.txt
    stamp_set deps requirements/*.txt
  fi
  if ! stamp_ok project pyproject.toml; then
    "$pip" install -q --no-deps --no-build-isolation -e .
    stamp_set project pyproject.toml
  fi
}

install_system_packages
install_python_packages
log "environment ready: $VENV"
