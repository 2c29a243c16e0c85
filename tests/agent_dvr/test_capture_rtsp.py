"""agent_dvr against a real RTSP camera on loopback: record, lose the camera, get it back, hang it."""

import calendar
import itertools
import json
import time

import pytest

from agent_dvr.agent_dvr import CaptureAgent
from agent_dvr.config import load_cameras
from tests.agent_dvr.support import http_get, wait_for
from vv_core.mediaprobe import probe_media

pytestmark = pytest.mark.slow


def published(settings, camera="dvr"):
    return sorted((settings.storage.input / camera).glob("*.mp4"))


def assert_playable(path, min_s=0.3, max_s=None):
    info = probe_media(path)
    assert info.video_codec == "h264" and (info.width, info.height) == (320, 240)
    assert info.duration_s >= min_s
    if max_s is not None:
        assert info.duration_s <= max_s
    return info


def utc_of(segment):
    return calendar.timegm(time.strptime(segment.name[:16], "%Y%m%dT%H%M%SZ"))


@pytest.mark.real_clock  # file ages: kernel mtimes against the wall clock
def test_records_segments_survives_camera_loss_and_restart(dvr_settings, rtsp_camera, webhook):
    launched = time.time()
    agent = CaptureAgent(dvr_settings, load_cameras(dvr_settings)).start()
    try:
        segments = wait_for(lambda: len(published(dvr_settings)) >= 3 and published(dvr_settings), 30,
                            message="three closed segments")
        # Whole segments (not the first, which starts mid-GOP at connect) last the configured 2 s.
        for segment in segments[1:3]:
            assert_playable(segment, min_s=1.5, max_s=2.6)
        # Names are the UTC time the segment's first frame was captured (to the second).
        assert int(launched) - 1 <= utc_of(segments[0]) <= launched + 4
        for earlier, later in itertools.pairwise(segments[:3]):
            gap = utc_of(later) - utc_of(earlier)
            assert abs(gap - probe_media(earlier).duration_s) <= 1.5   # whole seconds + anchor jitter
        assert not list((dvr_settings.storage.input / "dvr").glob("*.part"))
        assert all(path.name.endswith("Z.mp4") or "Z-" in path.name for path in segments)

        # The snapshot endpoint serves the latest JPEG; metrics and health are there too.
        base = f"http://127.0.0.1:{agent.http_server.port}"
        wait_for(lambda: (dvr_settings.storage.state / "snapshots" / "dvr.jpg").exists(), 10,
                 message="a snapshot")
        status, headers, body = http_get(f"{base}/snapshot/dvr.jpg")
        assert status == 200 and headers["Content-Type"] == "image/jpeg" and body[:2] == b"\xff\xd8"
        assert float(headers["X-Snapshot-Age"]) < 30
        assert http_get(f"{base}/snapshot/..%2Fstate%2Fagent_dvr.jpg")[0] == 404
        assert http_get(f"{base}/snapshot/other.jpg")[0] == 404
        assert http_get(f"{base}/nothing")[0] == 404
        status, _, body = http_get(f"{base}/healthz")
        assert status == 200 and json.loads(body)["cameras"]["dvr"]["state"] == "recording"
        metrics = http_get(f"{base}/metrics")[2].decode()
        assert 'vv_dvr_segments_total{camera="dvr"}' in metrics
        assert 'vv_dvr_camera_up{camera="dvr"} 1.0' in metrics

        # The camera vanishes: an outage opens, the alert fires after the threshold.
        before_kill = set(published(dvr_settings))
        killed_at = time.time()
        rtsp_camera.kill()
        outage = wait_for(lambda: agent.outages.current("dvr"), 15, message="an open outage")
        assert outage.started_ts <= killed_at + 1
        wait_for(lambda: "camera dvr is down" in webhook.titles(), 15, message="the outage alert")
        # The segment that was open when the camera died was finalized and is playable.
        last_before = wait_for(lambda: sorted(set(published(dvr_settings)) - before_kill), 10,
                               message="the last segment before the outage")
        assert_playable(last_before[-1], min_s=0.1)
        time.sleep(2.5)  # a few reconnect attempts with backoff while the camera is away

        # The camera comes back on the same port: the outage closes and recording resumes.
        rtsp_camera.start()
        restarted_at = time.time()
        wait_for(lambda: agent.outages.current("dvr") is None, 30, message="the outage to close")
        wait_for(lambda: [p for p in published(dvr_settings) if p.stat().st_mtime > restarted_at + 1], 30,
                 message="new segments after the camera came back")
        wait_for(lambda: "camera dvr is back" in webhook.titles(), 10, message="the recovery alert")
        record = agent.outages.all("dvr")[0]
        assert record.ended_at is not None and record.duration_s >= 2.5
        assert agent.metrics.outages.labels("dvr")._value.get() == 1
    finally:
        written = agent.stop()
    # Stopping finalizes the open segment: everything written is playable, nothing is left staged.
    assert written and all(path.exists() for path in written)
    for path in published(dvr_settings):
        assert_playable(path, min_s=0.05)
    assert not list((dvr_settings.storage.input / "dvr" / ".staging").glob("*.part"))


def test_hung_camera_is_detected_within_the_stall_timeout(dvr_settings, rtsp_camera, webhook):
    agent = CaptureAgent(dvr_settings, load_cameras(dvr_settings), http=False).start()
    try:
        wait_for(lambda: published(dvr_settings), 30, message="a first segment")
        hung_at = time.time()
        rtsp_camera.hang()
        outage = wait_for(lambda: agent.outages.current("dvr"), 15, message="the stall to be noticed")
        detected_at = time.time()
        # Noticed within the stall timeout (plus one supervisor tick and the SIGINT finalize).
        assert detected_at - hung_at <= dvr_settings.dvr_stall_timeout_s + 2.5
        assert outage.reason == "stalled"
        wait_for(lambda: agent.metrics.restarts.labels("dvr", "stalled")._value.get() >= 1, 15,
                 message="ffmpeg to be restarted")
        for path in published(dvr_settings):
            assert_playable(path, min_s=0.05)
        rtsp_camera.resume()
        wait_for(lambda: agent.outages.current("dvr") is None, 30, message="recording to resume")
    finally:
        agent.stop()


def test_low_disk_pauses_recording_with_an_alert(dvr_settings, rtsp_camera, webhook):
    import shutil

    free_mb = shutil.disk_usage(dvr_settings.storage.input).free // (1024 * 1024)
    dvr_settings.dvr_min_free_mb = free_mb + 100_000  # the threshold is above the real free space
    agent = CaptureAgent(dvr_settings, load_cameras(dvr_settings), http=False).start()
    try:
        wait_for(lambda: "disk full: recording paused" in webhook.titles(), 10, message="the disk alert")
        alert = next(a for a in webhook.alerts if a["title"] == "disk full: recording paused")
        assert alert["severity"] == "CRITICAL" and alert["source"] == "agent_dvr"
        assert agent.supervisors[0].status.state == "paused_disk"
        assert agent.metrics.paused.labels("dvr")._value.get() == 1
        time.sleep(1.5)
        assert published(dvr_settings) == []

        dvr_settings.dvr_min_free_mb = 0    # space is back: recording resumes by itself
        wait_for(lambda: published(dvr_settings), 30, message="recording to resume")
        assert "disk space back: recording resumed" in webhook.titles()

        # The disk fills while recording: ffmpeg is stopped cleanly, the open segment kept playable.
        count = len(published(dvr_settings))
        dvr_settings.dvr_min_free_mb = free_mb + 100_000
        wait_for(lambda: agent.supervisors[0].status.state == "paused_disk", 10, message="pause")
        assert len(published(dvr_settings)) >= count
        for path in published(dvr_settings):
            assert_playable(path, min_s=0.05)
        assert agent.metrics.restarts.labels("dvr", "disk_full")._value.get() == 1
    finally:
        agent.stop()
