#!/usr/bin/env bash
# Build the local base images for an offline box or CI, where no registry is reachable:
#   vv-base:bookworm        minimal Debian bookworm + python3 (3.11) + venv + CA certificates + libgomp1
#   vv-base:bookworm-media  the same + ffmpeg (capture, scanner, tv_api)
#   vv-base:bookworm-web    the same + nginx-light (the nginx front)
#   vv-base:bookworm-redis  the same + redis-server (the work queue of deploy/swarm/)
# made with mmdebstrap from the host's own APT sources and loaded with `docker import`.
# Production keeps the Dockerfiles' default (python:3.11-slim); this is the offline path.
# Idempotent: an image whose recipe hash label matches is kept (pass --force to rebuild).
set -euo pipefail

SUITE=${VV_BASE_SUITE:-bookworm}
TAG_PREFIX=${VV_BASE_TAG_PREFIX:-vv-base}
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

log() { printf '[base-image] %s\n' "$*" >&2; }
die() { printf '[base-image] error: %s\n' "$*" >&2; exit 1; }

command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (apt-get install mmdebstrap)"
command -v docker >/dev/null || die "docker CLI is missing"
docker info >/dev/null 2>&1 || die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-default})"

# libgomp1: llama.cpp's OpenMP runtime (the summarizer).
COMMON_PACKAGES=python3,python3-venv,ca-certificates,tzdata,libgomp1
# Downloaded .deb files are kept here and shared by the three images (and later runs), so each
# package is fetched once.
APT_CACHE=${VV_APT_CACHE:-$HOME/.cache/vv-video-ai/apt-archives}
mkdir -p "$APT_CACHE"
# Bump when the mmdebstrap options below change: the recipe (version, suite, packages) keys the
# cached image, so an unchanged recipe is never rebuilt.
RECIPE_VERSION=1
recipe_hash() {
  printf '%s|%s|%s|%s' "$RECIPE_VERSION" "$SUITE" "$COMMON_PACKAGES" "$1" | sha256sum | cut -c1-16
}

build_one() {  # build_one TAG EXTRA_PACKAGES
  local tag=$1 extra=$2 want have tarball
  want=$(recipe_hash "$extra")
  have=$(docker image inspect -f '{{ index .Config.Labels "org.vv.base.recipe" }}' "$tag" 2>/dev/null || true)
  if [ "$FORCE" -eq 0 ] && [ "$have" = "$want" ]; then
    log "$tag is up to date (recipe $want)"
    return 0
  fi
  tarball=$(mktemp --suffix=.tar)
  # shellcheck disable=SC2064  # expand now: the trap must remove this very file
  trap "rm -f '$tarball'" RETURN
  log "building $tag with mmdebstrap ($SUITE; packages: $COMMON_PACKAGES${extra:+,$extra})"
  # shellcheck disable=SC2016  # "$1" in the hook is expanded by mmdebstrap's hook shell, not here
  # minbase + no recommends + no docs/locales keeps the image small; apt lists are dropped at the end.
  mmdebstrap --quiet --variant=minbase --mode=root \
    --include="$COMMON_PACKAGES${extra:+,$extra}" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --aptopt='APT::Install-Recommends "false"' \
    --skip=download/empty \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
    --setup-hook="sync-in $APT_CACHE /var/cache/apt/archives/" \
    --customize-hook="sync-out /var/cache/apt/archives $APT_CACHE" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb' \
    "$SUITE" "$tarball"
  docker import \
    --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL org.vv.base.recipe=$want org.vv.base.suite=$SUITE" \
    --change 'CMD ["python3"]' \
    "$tarball" "$tag" >/dev/null
  log "$tag built: $(docker image inspect -f '{{ .Size }}' "$tag" | numfmt --to=iec)"
}

build_one "$TAG_PREFIX:$SUITE" ""
build_one "$TAG_PREFIX:$SUITE-media" "ffmpeg"
build_one "$TAG_PREFIX:$SUITE-web" "nginx-light"
build_one "$TAG_PREFIX:$SUITE-redis" "redis-server"
