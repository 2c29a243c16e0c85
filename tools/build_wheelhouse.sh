#!/usr/bin/env bash
# `make wheelhouse`: host-built wheels for each container image, so images build offline
# (`pip install --no-index`) — in CI, on an edge box behind a firewall, or from an install bundle.
#
# One wheel set per image (requirements/images/<image>.txt), cached outside the clone under
# ~/.cache/vv-video-ai/wheelhouse/<image>-<key>, where <key> hashes that image's requirement files
# and the Python/platform tag; fresh clones reuse it. The clone's git-ignored wheelhouse/<image>/ is a
# hard-linked copy that the Dockerfiles COPY.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

PIP=${PIP:-.venv/bin/pip}
CACHE=${VV_WHEELHOUSE_CACHE:-$HOME/.cache/vv-video-ai/wheelhouse}
# Same key as tools/setup_env.sh: the llama-cpp-python wheel it builds once lives there.
cpu_key=generic
for flag in avx512f avx2 avx; do
  if grep -qw "$flag" /proc/cpuinfo; then cpu_key=$flag; break; fi
done
WHEEL_CACHE=${WHEEL_CACHE:-$HOME/.cache/vv-video-ai/wheels/$(uname -m)-$cpu_key}

log() { printf '[wheelhouse] %s\n' "$*" >&2; }
die() { printf '[wheelhouse] error: %s\n' "$*" >&2; exit 1; }

[ -x "$PIP" ] || die "no pip at $PIP (run make setup, or set PIP=/path/to/venv/bin/pip)"
py_tag=$("$(dirname "$PIP")/python" -c 'import sys, sysconfig; print(f"cp{sys.version_info[0]}{sys.version_info[1]}-{sysconfig.get_platform()}")')
[ "${py_tag%%-*}" = "cp311" ] || die "images run Python 3.11; $PIP is $py_tag"
# Wheels already built for another image (or an older key) are found here before the index: an
# image whose requirements changed re-downloads nothing it shares with the others.
POOL=$CACHE/pool
mkdir -p "$CACHE" "$POOL" "$WHEEL_CACHE" wheelhouse

images=("$@")
if [ ${#images[@]} -eq 0 ]; then
  for req in requirements/images/*.txt; do
    name=$(basename "$req" .txt)
    case $name in core|*.nodeps) continue ;; esac
    images+=("$name")
  done
fi

for image in "${images[@]}"; do
  req=requirements/images/$image.txt
  nodeps=requirements/images/$image.nodeps.txt
  [ -f "$req" ] || die "no requirements file $req"
  inputs=("$req" requirements/images/core.txt requirements/base.txt requirements/constraints.txt)
  [ -f "$nodeps" ] && inputs+=("$nodeps")
  key=$({ cat "${inputs[@]}"; echo "$py_tag"; } | sha256sum | cut -c1-16)
  store=$CACHE/$image-$key
  if [ ! -f "$store/.complete" ]; then
    log "$image: building wheels (key $key)"
    tmp=$(mktemp -d "$CACHE/.$image-$key.XXXXXX")
    "$PIP" wheel -q --disable-pip-version-check --find-links "$WHEEL_CACHE" --find-links "$POOL" \
      -w "$tmp" -r "$req" -c requirements/constraints.txt
    if [ -f "$nodeps" ]; then
      "$PIP" wheel -q --disable-pip-version-check --no-deps --find-links "$POOL" -w "$tmp" -r "$nodeps"
    fi
    cp -n "$tmp"/*.whl "$POOL"/
    touch "$tmp/.complete"
    rm -rf "$store"
    mv "$tmp" "$store"
  else
    log "$image: cached (key $key)"
  fi
  rm -rf "wheelhouse/$image"
  cp -al "$store" "wheelhouse/$image" 2>/dev/null || cp -a "$store" "wheelhouse/$image"
  printf '%s\n' "$key" > "wheelhouse/$image/.key"
done
log "wheelhouse ready: $(du -sh wheelhouse | cut -f1) in $repo_root/wheelhouse"
