"""self_monitor against the real Docker SDK talking to recorded Engine API responses."""

import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

from ops.upkeep.container_verdict import docker_time as _parse_docker_time
from ops.upkeep.self_monitor import STATE_NAME, SelfMonitor, main
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
    assert json.loads(capsys.readouterr().out) == {"restarted": [], "alerted": [], "failing": {"scene_scanner": 1},
                                                   "docker_restarted": []}


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
    # Docker's restarts: one WARNING (the first seen, at the second check; the rest are the same alert
    # within the dedup window), then the self-monitor's own restart and the spent budget.
    assert [r.docker_restarted for r in reports[:3]] == [[], ["scene_scanner"], ["scene_scanner"]]
    assert [(b["severity"], b["title"]) for b in hook.bodies()] == [
        ("WARNING", "container scene_scanner restarted by Docker"),
        ("WARNING", "container scene_scanner restarted"), ("CRITICAL", "container scene_scanner keeps failing")]
    assert "crash loop" in hook.bodies()[1]["message"] and "restart budget spent" in hook.bodies()[2]["message"]
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
    # Forgiven, not restarted, but not silent: the one restart by Docker is one WARNING.
    assert restarts(engine) == []
    assert [(b["severity"], b["title"]) for b in hook.bodies()] == [
        ("WARNING", "container scene_scanner restarted by Docker")]
    state = json.loads((settings.storage.state / STATE_NAME).read_text())["containers"]["scene_scanner"]
    assert state["restart_count"] == 8 and len(state["seen_restarts"]) == 1


def docker_brought_back(engine, name, now, *, status="running", exit_code=137, oom_killed=False):
    """What `docker inspect` shows after the restart policy brought a dead container back (recorded from
    Docker 20.10): RestartCount +1, FinishedAt when it died, OOMKilled; ExitCode is cleared to 0 once it
    runs again (kept while it is caught restarting)."""
    attrs = engine.engine.containers[name]
    attrs["RestartCount"] += 1
    attrs["State"].update(Status=status, Running=status == "running", Restarting=status == "restarting",
                          OOMKilled=oom_killed, ExitCode=0 if status == "running" else exit_code,
                          Pid=4243 if status == "running" else 0,
                          FinishedAt=time.strftime("%Y-%m-%dT%H:%M:%S.250000000Z", time.gmtime(now - 1)),
                          StartedAt=time.strftime("%Y-%m-%dT%H:%M:%S.500000000Z", time.gmtime(now - 1)))
    return attrs["State"]["FinishedAt"]


def test_each_restart_by_docker_is_a_warning_with_how_the_container_ended(settings, engine, hook):
    """The stack drill's SIGKILLed containers came back by their restart policy and nobody heard of it."""
    settings = monitor_settings(settings, hook, self_monitor_containers="tv_api", alert_dedup_window_s=0.0)
    now = [_parse_docker_time(engine.engine.containers["tv_api"]["State"]["StartedAt"]) + 86400]
    clock = lambda: now[0]  # noqa: E731
    assert check(settings, engine, clock).docker_restarted == []          # the baseline
    now[0] += 30
    finished = docker_brought_back(engine, "tv_api", now[0], oom_killed=True)
    report = check(settings, engine, clock)
    assert report.docker_restarted == ["tv_api"] and report.restarted == [] and restarts(engine) == []
    now[0] += 30
    assert check(settings, engine, clock).docker_restarted == []          # the same count: nothing new
    now[0] += 30
    docker_brought_back(engine, "tv_api", now[0], status="restarting", exit_code=137)
    docker_brought_back(engine, "tv_api", now[0], status="restarting", exit_code=137)
    assert check(settings, engine, clock).docker_restarted == ["tv_api"]
    first, second = hook.bodies()
    assert [(b["severity"], b["title"]) for b in (first, second)] == [
        ("WARNING", "container tv_api restarted by Docker")] * 2
    assert first["context"] | {"timestamp": None} == {
        "container": "tv_api", "file": None, "timestamp": None, "log_excerpt": "", "exit_code": None,
        "oom_killed": True, "finished_at": finished, "restart_count": 1}
    assert "once since the last check (RestartCount 1)" in first["message"]
    assert f"OOMKilled True, finished at {finished}; now running" in first["message"]
    assert "exit code not kept" in first["message"]
    assert second["context"]["exit_code"] == 137 and second["context"]["restart_count"] == 3
    assert "2 times since the last check" in second["message"] and "exit code 137" in second["message"]


def test_a_restart_by_docker_is_deduplicated_like_every_alert(settings, engine, hook):
    settings = monitor_settings(settings, hook, self_monitor_containers="tv_api")
    now = [_parse_docker_time(engine.engine.containers["tv_api"]["State"]["StartedAt"]) + 86400]
    check(settings, engine, lambda: now[0])
    for _ in range(3):
        now[0] += 30
        docker_brought_back(engine, "tv_api", now[0])
        assert check(settings, engine, lambda: now[0]).docker_restarted == ["tv_api"]
    assert [b["title"] for b in hook.bodies()] == ["container tv_api restarted by Docker"]


def test_no_docker_restart_alert_for_a_baseline_a_reset_count_or_its_own_restart(settings, engine, hook):
    """Only a RestartCount that grew since the last check is Docker's restart: not the lifetime count at
    the first reading, not a count that went down (an engine restart resets it), not the self-monitor's
    own restart (an API restart resets it too; it has its own WARNING) — but a restart by Docker after it."""
    settings = monitor_settings(settings, hook, alert_dedup_window_s=0.0)
    engine.engine.containers["tv_api"]["RestartCount"] = 5
    engine.engine.containers["scene_scanner"] = container_attrs("scene_scanner", status="exited", exit_code=1)
    engine.engine.containers["scene_scanner"]["RestartCount"] = 7
    now = [_parse_docker_time(engine.engine.containers["tv_api"]["State"]["StartedAt"]) + 86400]
    reports = [check(settings, engine, lambda: now[0])]                    # baselines 5 and 7
    engine.engine.containers["tv_api"]["RestartCount"] = 1                 # the engine restarted: reset
    for _ in range(2):
        now[0] += 30
        reports.append(check(settings, engine, lambda: now[0]))
    assert [r.restarted for r in reports] == [[], [], ["scene_scanner"]]  # its own restart, count reset to 0
    now[0] += 30
    reports.append(check(settings, engine, lambda: now[0]))
    assert [r.docker_restarted for r in reports] == [[], [], [], []]
    now[0] += 30
    docker_brought_back(engine, "scene_scanner", now[0])                   # it died again: Docker's restart
    assert check(settings, engine, lambda: now[0]).docker_restarted == ["scene_scanner"]
    assert [(b["severity"], b["title"]) for b in hook.bodies()] == [
        ("WARNING", "container scene_scanner restarted"), ("WARNING", "container scene_scanner restarted by Docker")]
    assert "(RestartCount 1)" in hook.bodies()[1]["message"]
