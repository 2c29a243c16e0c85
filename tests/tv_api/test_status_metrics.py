"""/status from real signals and /metrics (checked by promtool)."""

import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from tests.tv_api.support import write_playlist
from tv_api import status as status_module
from vv_core.atomic import atomic_write_json
from vv_core.schema import load_schema

PIPELINE_EXAMPLE = load_schema("pipeline_status")["examples"][0]


def _install_model(root):
    weights = root / "models" / "gemma3" / "1.0" / "model.gguf"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"GGUF")
    atomic_write_json(root / "models" / ".current_model_info.json",
                      {"name": "gemma3", "version": "1.0", "path": str(weights), "sha256": "0" * 64,
                       "installed_at": "2026-11-21T10:00:00Z"})


def _heartbeat(settings, built_at, tvs=("tv1", "tv2")):
    atomic_write_json(settings.storage.state / "scheduler_heartbeat.json",
                      {"schema_version": "1.0", "built_at": "2026-11-21T10:00:00.000Z", "built_at_unix": built_at,
                       "tvs": list(tvs)})


def _no_cameras(tmp_path, settings):
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text("cameras:\n  - name: dvr\n    url: rtsp://x/1\n    enabled: false\n")
    return settings.model_copy(update={"dvr_cameras_file": cameras})


def _fresh_snapshot(settings):
    snapshots = settings.storage.state / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    (snapshots / "cam1.jpg").write_bytes(b"\xff\xd8fake")


def test_status_has_the_blueprint_shape_and_is_degraded_without_signals(client, admin_headers):
    response = client.get("/status", headers=admin_headers)
    assert response.status_code == 200
    doc = response.json()
    assert set(doc) == {"overall_status", "system_version", "uptime_seconds", "timestamp_utc", "components",
                        "checks"}
    assert doc["overall_status"] == "DEGRADED"
    assert set(doc["checks"]) == {"dvr_connectivity", "video_storage_status", "llm_model_status",
                                  "bitnet_model_status"}
    assert doc["checks"]["llm_model_status"]["model_status"] == "missing"
    assert doc["checks"]["bitnet_model_status"] == doc["checks"]["llm_model_status"]  # the blueprint's name
    assert doc["checks"]["dvr_connectivity"]["status"] == "failed"
    assert doc["components"]["orchestrator"]["status"] == "degraded"
    assert doc["components"]["tv_api"]["status"] == "ok"
    assert doc["timestamp_utc"].endswith("Z") and doc["uptime_seconds"] >= 0
    for component in doc["components"].values():
        assert {"status", "last_activity"} <= set(component)


@pytest.mark.real_clock  # file ages: kernel mtimes against the wall clock
def test_status_is_healthy_when_every_signal_is_good(client, admin_headers, api_settings, tmp_path):
    atomic_write_json(api_settings.storage.state / "pipeline_status.json", PIPELINE_EXAMPLE)
    write_playlist(api_settings.storage.root, "tv1", [])
    _heartbeat(api_settings, time.time())
    _install_model(tmp_path)  # the settings fixture runs in tmp_path: MODELS_DIR=models is here
    _fresh_snapshot(api_settings)
    with socket.socket() as dvr:  # a listening "DVR" on loopback
        dvr.bind(("127.0.0.1", 0))
        dvr.listen(1)
        client.app.state.services.settings = api_settings.model_copy(
            update={"tv_api_dvr_port": dvr.getsockname()[1], "tv_api_min_free_gb": 0, "tv_api_critical_free_gb": 0})
        doc = client.get("/status", headers=admin_headers).json()
    assert doc["overall_status"] == "HEALTHY", doc
    assert doc["checks"]["dvr_connectivity"]["status"] == "ok"
    assert doc["checks"]["llm_model_status"]["name"] == "gemma3"
    assert doc["checks"]["bitnet_model_status"]["name"] == "gemma3"
    assert doc["components"]["stage_scan"]["detail"] == "43 runs, 1 errors"
    assert str(tmp_path) not in json.dumps(doc)


@pytest.mark.real_clock  # file ages: kernel mtimes against the wall clock
def test_snapshot_freshness_counts_as_dvr_connectivity(api_settings):
    now = time.time()
    assert status_module.dvr_check(api_settings, now)["status"] == "failed"
    _fresh_snapshot(api_settings)
    assert status_module.dvr_check(api_settings, time.time())["status"] == "ok"


def test_low_disk_is_degraded_and_critical_disk_is_unhealthy(api_settings):
    usage = shutil.disk_usage(api_settings.storage.root)
    free_gb = usage.free / 1024**3
    low = api_settings.model_copy(update={"tv_api_min_free_gb": free_gb + 1, "tv_api_critical_free_gb": 0})
    critical = api_settings.model_copy(update={"tv_api_critical_free_gb": free_gb + 1})
    assert status_module.storage_check(low)["status"] == "degraded"
    assert status_module.storage_check(critical)["status"] == "failed"
    doc = status_module.build_status(critical, time.time())
    assert doc["overall_status"] == "UNHEALTHY"
    gone = api_settings.model_copy(update={"video_storage_root": api_settings.storage.root / "missing"})
    assert status_module.storage_check(gone)["status"] == "failed"


def test_model_pointer_problems_are_reported(api_settings, tmp_path):
    pointer = tmp_path / "models" / ".current_model_info.json"
    pointer.parent.mkdir()
    pointer.write_text("{broken")
    assert status_module.model_check(api_settings)["model_status"] == "corrupt"
    pointer.write_text(json.dumps({"name": "m", "version": "1", "path": "m/1/gone.gguf"}))
    assert status_module.model_check(api_settings)["model_status"] == "missing"


@pytest.mark.real_clock  # file ages: kernel mtimes against the wall clock
def test_a_box_without_cameras_is_healthy_with_the_camera_parts_not_configured(client, admin_headers, api_settings,
                                                                              tmp_path):
    """Issue 19: no camera configured is not a fault (it said DEGRADED, "no fresh snapshot")."""
    atomic_write_json(api_settings.storage.state / "pipeline_status.json", PIPELINE_EXAMPLE)
    _heartbeat(api_settings, time.time())
    _install_model(tmp_path)
    client.app.state.services.settings = _no_cameras(tmp_path, api_settings).model_copy(
        update={"tv_api_min_free_gb": 0, "tv_api_critical_free_gb": 0})
    doc = client.get("/status", headers=admin_headers).json()
    assert doc["checks"]["dvr_connectivity"]["status"] == "not_configured"
    assert doc["components"]["agent_dvr"] == {"status": "not_configured", "detail": "no camera configured",
                                             "last_activity": None}
    assert doc["overall_status"] == "HEALTHY", doc


def test_which_cameras_count_as_configured(tmp_path, api_settings):
    assert not status_module.cameras_configured(_no_cameras(tmp_path, api_settings))
    empty = tmp_path / "empty.yaml"
    empty.write_text("cameras: []\n")
    assert not status_module.cameras_configured(api_settings.model_copy(update={"dvr_cameras_file": empty}))
    one = tmp_path / "one.yaml"
    one.write_text("cameras:\n  - name: cam1\n    url: file:///x.mp4\n")
    assert status_module.cameras_configured(api_settings.model_copy(update={"dvr_cameras_file": one}))
    # no file: agent_dvr records the default DVR camera; an unreadable file is not "no camera"
    gone = api_settings.model_copy(update={"dvr_cameras_file": tmp_path / "absent.yaml"})
    assert status_module.cameras_configured(gone)
    broken = tmp_path / "broken.yaml"
    broken.write_text("cameras: [\n")
    assert status_module.cameras_configured(api_settings.model_copy(update={"dvr_cameras_file": broken}))
    # a configured camera with no fresh snapshot is still a fault
    assert status_module.pipeline_components(api_settings.model_copy(update={"dvr_cameras_file": one}),
                                             time.time())["agent_dvr"]["status"] == "degraded"


def test_scheduler_freshness_is_its_last_build_not_the_playlist_files_age(api_settings):
    """Issue 19: an idle box keeps old playlist files while the scheduler builds every minute."""
    path = write_playlist(api_settings.storage.root, "tv1", [])
    old = time.time() - 7200
    os.utime(path, (old, old))
    now = time.time()
    assert status_module.scheduler_component(api_settings, now)["status"] == "degraded"  # no heartbeat yet
    _heartbeat(api_settings, now - 30)
    fresh = status_module.scheduler_component(api_settings, now)
    assert fresh["status"] == "ok" and fresh["detail"] == "playlists built for 2 TVs"
    _heartbeat(api_settings, now - 3600)
    assert status_module.scheduler_component(api_settings, now)["status"] == "degraded"
    (api_settings.storage.state / "scheduler_heartbeat.json").write_text("{not json")
    assert status_module.scheduler_component(api_settings, now)["status"] == "degraded"


def test_stale_signals_are_degraded(api_settings):
    atomic_write_json(api_settings.storage.state / "pipeline_status.json", {
        **PIPELINE_EXAMPLE, "stages": {"scan": {"runs": 2, "errors": 2, "duration_seconds_sum": 1.0,
                                                "duration_seconds_count": 2}}})
    path = write_playlist(api_settings.storage.root, "tv1", [])
    old = time.time() - 7200
    os.utime(path, (old, old))
    _heartbeat(api_settings, old)
    os.utime(api_settings.storage.state / "pipeline_status.json", (old, old))
    components = status_module.pipeline_components(api_settings, time.time())
    assert components["orchestrator"]["status"] == "degraded"
    assert components["tv_scheduler"]["status"] == "degraded"
    assert components["stage_scan"]["status"] == "degraded"


def test_docker_components_only_when_a_socket_is_present(monkeypatch, tmp_path):
    monkeypatch.setattr(status_module, "DOCKER_SOCKET", tmp_path / "docker.sock")
    assert status_module.container_components() == {}
    (tmp_path / "docker.sock").write_text("")  # present but not a daemon
    components = status_module.container_components()
    assert components["docker"]["status"] == "degraded"


def test_metrics_pass_promtool_and_carry_pipeline_and_http_series(client, admin_headers, api_settings, tmp_path):
    atomic_write_json(api_settings.storage.state / "pipeline_status.json", PIPELINE_EXAMPLE)
    write_playlist(api_settings.storage.root, "tv1", [])
    client.get("/api/playlists/tv1", headers=admin_headers)
    client.get("/api/playlists/nope", headers=admin_headers)
    client.get("/status")  # denied: counted too
    response = client.get("/metrics", headers=admin_headers)
    assert response.status_code == 200
    text = response.text
    (tmp_path / "metrics.txt").write_text(text)
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool missing: apt-get install prometheus (setup_env.sh installs it)")
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                             timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    expected = [
        'vv_http_requests_total{method="GET",route="/api/playlists/{tv}",status="200"} 1.0',
        'vv_http_requests_total{method="GET",route="/api/playlists/{tv}",status="404"} 1.0',
        'vv_http_requests_total{method="GET",route="denied",status="401"} 1.0',
        'vv_pipeline_queue_length 2.0',
        'vv_pipeline_videos_done_total 41.0',
        'vv_pipeline_videos_failed_total 1.0',
        'vv_pipeline_stage_errors_total{stage="scan"} 1.0',
        'vv_pipeline_stage_duration_seconds_bucket{le="5.0",stage="scan"} 40.0',
        'vv_pipeline_stage_duration_seconds_bucket{le="+Inf",stage="scan"} 43.0',
        'vv_pipeline_stage_duration_seconds_sum{stage="scan"} 120.5',
        'vv_pipeline_stage_duration_seconds_count{stage="scan"} 43.0',
    ]
    for line in expected:
        assert line in text, line
    assert 'vv_playlist_age_seconds{tv="tv1"}' in text
    assert "vv_scheduler_heartbeat_present 0.0" in text and "vv_playlist_build_age_seconds{" not in text
    assert "vv_storage_free_bytes" in text
    assert "vv_http_request_duration_seconds_bucket" in text


def test_playlist_freshness_metric_is_per_tv_from_the_heartbeat(client, admin_headers, api_settings):
    write_playlist(api_settings.storage.root, "tv1", [])
    write_playlist(api_settings.storage.root, "playlist", [])  # the combined document: not a TV
    _heartbeat(api_settings, time.time() - 120, tvs=("tv1", "tv2", "playlist"))
    text = client.get("/metrics", headers=admin_headers).text
    ages = {line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith("vv_playlist_build_age_seconds{")}
    assert set(ages) == {'tv="tv1"', 'tv="tv2"'}
    assert all(119 <= age < 600 for age in ages.values())
    assert "vv_scheduler_heartbeat_present 1.0" in text
    assert 'vv_playlist_age_seconds{tv="playlist"}' not in text and 'vv_playlist_age_seconds{tv="tv1"}' in text


def test_metrics_without_pipeline_status(client, admin_headers):
    text = client.get("/metrics", headers=admin_headers).text
    assert "vv_pipeline_status_present 0.0" in text
    assert "vv_pipeline_queue_length" not in text
