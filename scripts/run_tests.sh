#!/usr/bin/env bash
# Daily smoke test (blueprint section 11): one small real video through the live system.
#
# 1. drops a 3 s real clip into input/smoke/ (tools/drop_sample_video.sh),
# 2. runs one orchestrator pass (`vv orchestrate --once`),
# 3. checks the video reached processed/ and its LogLine exists and verifies (`vv verify`),
# 4. checks tv_api's /status with the admin token when tv_api answers (skipped, clearly, when not),
# and on any failure raises a CRITICAL alert (`vv alert`, with this run's log) and exits 1.
#
# Environment: VIDEO_STORAGE_ROOT, VV (command, default "vv"), TV_API_URL (default
# http://127.0.0.1:8000), TV_API_ADMIN_TOKEN, SAMPLE_VIDEO, SMOKE_NO_ALERT=1 (tests only).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=${VIDEO_STORAGE_ROOT:-storage}
export VIDEO_STORAGE_ROOT=$root
read -r -a vv <<< "${VV:-vv}"
tv_api_url=${TV_API_URL:-http://127.0.0.1:8000}
log=$(mktemp -t vv-smoke.XXXXXX)
trap 'rm -f "$log"' EXIT

say() { echo "smoke: $*" | tee -a "$log"; }

fail() {
  echo "smoke: FAILED: $*" | tee -a "$log" >&2
  if [[ "${SMOKE_NO_ALERT:-0}" != 1 ]]; then
    "${vv[@]}" alert "daily smoke test failed" "$*" --severity CRITICAL --source run_tests \
      --log-file "$log" || echo "smoke: the alert could not be delivered either" >&2
  fi
  exit 1
}

video=$("$here/../tools/drop_sample_video.sh" smoke 3 2>>"$log") || fail "could not create the sample video"
name=$(basename "$video")
video_id="smoke_${name%%.*}"
say "dropped $video (id $video_id)"

"${vv[@]}" orchestrate --once >>"$log" 2>&1 || fail "vv orchestrate --once exited non-zero"

if [[ -f "$root/corrupted/smoke/$name.error.json" ]]; then
  fail "sample video was quarantined: $(tr -d '\n' < "$root/corrupted/smoke/$name.error.json")"
fi
[[ -f "$root/processed/smoke/$name" ]] || fail "sample video did not reach processed/ (see vv status)"
logline="$root/loglines/$video_id.logline.json"
[[ -f "$logline" ]] || fail "no LogLine at $logline"
"${vv[@]}" verify "$logline" >>"$log" 2>&1 || fail "LogLine $logline does not verify"
say "LogLine $logline verifies"

status_file=$(mktemp -t vv-status.XXXXXX)
trap 'rm -f "$log" "$status_file"' EXIT
auth=()
[[ -n "${TV_API_ADMIN_TOKEN:-}" ]] && auth=(-H "Authorization: Bearer $TV_API_ADMIN_TOKEN")
code=$(curl -sS -m 10 -o "$status_file" -w '%{http_code}' "${auth[@]}" "$tv_api_url/status" 2>>"$log") || code=000
if [[ "$code" == 000 ]]; then
  say "SKIPPED /status check: tv_api is not reachable at $tv_api_url"
elif [[ "$code" != 200 ]]; then
  fail "GET $tv_api_url/status answered HTTP $code"
else
  overall=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("overall_status",""))' \
    "$status_file" 2>>"$log") || fail "/status did not return JSON"
  # tv_api reports HEALTHY, DEGRADED (some signal missing or late) or UNHEALTHY (storage failed).
  case "${overall^^}" in
    HEALTHY|DEGRADED) say "/status overall_status=$overall" ;;
    *) fail "/status overall_status=${overall:-missing}" ;;
  esac
fi
say "PASSED"
