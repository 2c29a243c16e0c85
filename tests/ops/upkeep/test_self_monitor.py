"""self_monitor against the real Docker SDK talking to recorded Engine API responses."""

import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

from ops.upkeep.self_monitor import STATE_NAME, SelfMonitor, _parse_docker_time, main
from tests.engine_api_fake import EngineServer, FakeEngine, container_attrs
from tests.webhook_server import WebhookServer


@pytest.fixture
def engine():
    directory = tempfile.mkdtemp(prefix="vv-engine-", dir="/tmp")
    fake = FakeEngine(containers={
        "tv_api": container_attrs("tv_api", health="healthy"),
        "scene_scanner": container_attrs("scene_scanner", health="unhealthy",
                                         health_output="curl: (7) Failed to connect to localhost port 8000"),
    }, logs={"scene_scanner": b"loading model\nTraceback: out of memory\n"})
    with EngineServer(Path(directory) / "docker.sock", fake) as server:
        yield server
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def hook():
    with WebhookServer() as server:
        yield server


def monitor_settings(settings, hook, **overrides):
    values = dict(self_monitor_containers="tv_api,scene_scanner", self_monitor_start_period_s=0.0,
                  self_monitor_backoff_s=0.0, self_monitor_restart_budget=2, alert_webhook_url=hook.url,
                  alert_retries=0)
    values.update(overrides)
    return settings.model_copy(update=values)


def restarts(engine):
    return [path for method, path, _ in engine.engine.requests if path.split("?")[0].endswith("/restart")]


def check(settings, engine, clock=None):
    """One check as cron would run it: a fresh monitor (state from disk) each time."""
    kwargs = {"clock": clock} if clock else {}
    return SelfMonitor(settings, engine.client(), **kwargs).check()


def make_unhealthy(engine):
    engine.engine.containers["scene_scanner"]["State"]["Health"]["Status"] = "unhealthy"


def test_restart_after_three_consecutive_errors_then_budget_alert(settings, engine, hook):
    settings = monitor_settings(settings, hook)
    assert check(settings, engine).failing == {"scene_scanner": 1}
    assert check(settings, engine).failing == {"scene_scanner": 2}
    assert restarts(engine) == []
    assert check(settings, engine).restarted == ["scene_scanner"]
    assert len(restarts(engine)) == 1
    state = json.loads((settings.storage.state / STATE_NAME).read_text())
    assert state["containers"]["scene_scanner"]["consecutive_errors"] == 0
    assert state["containers"]["tv_api"]["last_status"] == "running/healthy"
    for _ in range(3):  # still unhealthy after the restart: second restart (budget 2)
        report = check(settings, engine)
    assert report.restarted == ["scene_scanner"] and len(restarts(engine)) == 2
    for _ in range(3):  # budget spent: no third restart, one CRITICAL alert with context
        report = check(settings, engine)
    assert report.alerted == ["scene_scanner"] and len(restarts(engine)) == 2
    for _ in range(3):
        report = check(settings, engine)
    assert report.alerted == [] and len(restarts(engine)) == 2   # alerted once per window
    # A restart is a WARNING (the box healed itself, a person should still know; the second is the same
    # problem within the dedup window), then one CRITICAL when the budget is spent.
    assert [(b["severity"], b["title"]) for b in hook.bodies()] == [
        ("WARNING", "container scene_scanner restarted"), ("CRITICAL", "container scene_scanner keeps failing")]
    assert "restarted (1/2 restarts in the window)" in hook.bodies()[0]["message"]
    alert = hook.bodies()[-1]
    assert alert["severity"] == "CRITICAL" and alert["context"]["container"] == "scene_scanner"
    assert "out of memory" in alert["context"]["log_excerpt"]
    assert "Failed to connect" in alert["context"]["health_output"]
    assert "restart budget spent" in alert["message"]


def test_budget_window_expiry_allows_restarts_again(settings, engine, hook):
    settings = monitor_settings(settings, hook, self_monitor_restart_budget=1,
                                self_monitor_budget_window_s=100.0)
    now = [time.time()]
    for _ in range(3):
        check(settings, engine, clock=lambda: now[0])
    assert len(restarts(engine)) == 1
    for _ in range(3):
        check(settings, engine, clock=lambda: now[0])
    assert len(restarts(engine)) == 1          # budget of 1 spent
    now[0] += 101
    for _ in range(3):
        check(settings, engine, clock=lambda: now[0])
    assert len(restarts(engine)) == 2


def test_backoff_between_restarts(settings, engine, hook):
    settings = monitor_settings(settings, hook, self_monitor_backoff_s=50.0, self_monitor_restart_budget=5)
    now = [time.time()]
    for _ in range(3):
        check(settings, engine, clock=lambda: now[0])
    assert len(restarts(engine)) == 1
    for _ in range(3):
        now[0] += 10
        check(settings, engine, clock=lambda: now[0])
    assert len(restarts(engine)) == 1           # 30 s after the restart: within the 50 s backoff
    now[0] += 30
    check(settings, engine, clock=lambda: now[0])
    assert len(restarts(engine)) == 2


def test_failures_within_the_start_period_do_not_count(settings, engine, hook):
    settings = monitor_settings(settings, hook, self_monitor_start_period_s=3600.0)
    started = _parse_docker_time(engine.engine.containers["scene_scanner"]["State"]["StartedAt"])
    for _ in range(5):
        report = check(settings, engine, clock=lambda: started + 10)
    assert report.failing == {} and restarts(engine) == []


def test_exited_container_is_restarted_and_missing_one_alerts(settings, engine, hook):
    engine.engine.containers["scene_scanner"] = container_attrs("scene_scanner", status="exited", exit_code=1)
    settings = monitor_settings(settings, hook, self_monitor_containers="scene_scanner,logline_writer")
    for _ in range(3):
        report = check(settings, engine)
    assert report.restarted == ["scene_scanner"] and report.alerted == ["logline_writer"]
    state = json.loads((settings.storage.state / STATE_NAME).read_text())
    assert state["containers"]["logline_writer"]["last_status"] == "missing"
    critical = [b for b in hook.bodies() if b["severity"] == "CRITICAL"]
    assert [b["title"] for b in hook.bodies() if b["severity"] == "WARNING"] == ["container scene_scanner restarted"]
    assert critical[0]["context"]["container"] == "logline_writer"
    assert "missing" in critical[0]["message"]


def test_main_once_prints_the_report(settings, engine, hook, capsys):
    settings = monitor_settings(settings, hook)
    assert main(["--once"], settings=settings, client_factory=engine.client) == 0
    assert json.loads(capsys.readouterr().out) == {"restarted": [], "alerted": [], "failing": {"scene_scanner": 1}}


def test_main_loop_stops_on_event(settings, engine, hook, capsys):
    settings = monitor_settings(settings, hook, self_monitor_interval_s=0.05)
    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    try:
        assert main(["--loop"], settings=settings, client_factory=engine.client, stop=stop) == 0
    finally:
        timer.cancel()
    assert len(capsys.readouterr().out.splitlines()) >= 2


def test_engine_unreachable_alerts_and_exits_2(settings, hook, capsys):
    import docker

    settings = monitor_settings(settings, hook)

    def factory():
        return docker.DockerClient(base_url="unix:///tmp/vv-no-such-engine.sock", version="1.41", timeout=2)

    assert main(["--once"], settings=settings, client_factory=factory) == 2
    assert "Docker engine error" in capsys.readouterr().err
    assert hook.bodies()[0]["context"]["container"] == "docker"


def test_docker_times_are_parsed():
    assert _parse_docker_time("0001-01-01T00:00:00Z") is None
    assert _parse_docker_time(None) is None
    assert _parse_docker_time("garbage") is None
    assert _parse_docker_time("2026-11-21T10:00:00.123456789Z") == pytest.approx(1795255200.123456)


def crash_loop_tick(engine, name, now, status):
    """What a crash-looping container looks like at a check: Docker restarted it once more since the last
    check (RestartCount +1) and StartedAt is fresh again. Like Docker, a restart through the API (the
    self-monitor's) resets RestartCount to 0."""
    attrs = engine.engine.containers[name]
    if attrs.setdefault("_api_restarts", len(restarts(engine))) != len(restarts(engine)):
        attrs["_api_restarts"], attrs["RestartCount"] = len(restarts(engine)), 0
    attrs["RestartCount"] += 1
    started = time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime(now - 2))
    attrs["State"].update(Status=status, Running=status == "running", Restarting=status == "restarting",
                          StartedAt=started)
    attrs["State"]["Health"]["Status"] = "starting" if status == "running" else "unhealthy"


def test_a_crash_loop_is_not_forgiven_by_its_ever_fresh_start_period(settings, engine, hook):
    """Issue 22: StartedAt is refreshed on every restart, so a crash loop stayed "in its start period" for
    ever and was never restarted nor alerted; now the second restart seen in the window ends the grace."""
    settings = monitor_settings(settings, hook, self_monitor_containers="scene_scanner",
                                self_monitor_start_period_s=3600.0)
    now = [_parse_docker_time(engine.engine.containers["scene_scanner"]["State"]["StartedAt"]) + 10]
    reports = []
    for tick in range(11):  # a check every 30 s; the container is caught restarting or starting
        now[0] += 30
        crash_loop_tick(engine, "scene_scanner", now[0], ("restarting", "running")[tick % 2])
        reports.append(check(settings, engine, clock=lambda: now[0]))
    assert [r.failing for r in reports[:2]] == [{}, {}]     # a baseline, then a single restart: forgiven
    assert reports[2].failing == {"scene_scanner": 1}      # the second restart in the window: a crash loop
    assert [i for i, r in enumerate(reports) if r.restarted] == [4, 7]
    assert [i for i, r in enumerate(reports) if r.alerted] == [10]
    assert [(b["severity"], b["title"]) for b in hook.bodies()] == [
        ("WARNING", "container scene_scanner restarted"), ("CRITICAL", "container scene_scanner keeps failing")]
    assert "crash loop" in hook.bodies()[0]["message"] and "restart budget spent" in hook.bodies()[1]["message"]
    state = json.loads((settings.storage.state / STATE_NAME).read_text())["containers"]["scene_scanner"]
    assert state["restart_count"] == 3 and len(state["seen_restarts"]) == 10


def test_a_single_restart_inside_its_start_period_is_still_forgiven(settings, engine, hook):
    settings = monitor_settings(settings, hook, self_monitor_containers="scene_scanner",
                                self_monitor_start_period_s=120.0)
    attrs = engine.engine.containers["scene_scanner"]
    attrs["RestartCount"] = 7                                # a lifetime count: only a baseline
    now = [_parse_docker_time(attrs["State"]["StartedAt"]) + 86400]
    attrs["State"]["Health"]["Status"] = "healthy"
    assert check(settings, engine, clock=lambda: now[0]).failing == {}
    now[0] += 30                                             # it died once; Docker restarted it
    crash_loop_tick(engine, "scene_scanner", now[0], "restarting")
    for _ in range(5):                                       # unhealthy while it comes up, 100 s
        report = check(settings, engine, clock=lambda: now[0])
        assert report.failing == {} and report.restarted == []
        now[0] += 20
        attrs["State"].update(Status="running", Running=True, Restarting=False)
    attrs["State"]["Health"]["Status"] = "healthy"
    assert check(settings, engine, clock=lambda: now[0]).failing == {}
    assert restarts(engine) == [] and hook.bodies() == []
    state = json.loads((settings.storage.state / STATE_NAME).read_text())["containers"]["scene_scanner"]
    assert state["restart_count"] == 8 and len(state["seen_restarts"]) == 1
