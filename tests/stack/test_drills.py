"""Fault drills on the real stack (issue 22), on the session's running compose stack: what the box does
by itself, how long until it is healthy again (measured, printed, kept in the stack report for
docs/disaster-recovery.md), which alert an operator gets (a loopback webhook), and that nothing is
lost. `vv drill` runs the same faults in a sandbox on the local runner; these are the Docker ones.

* a burst of bad files dropped into input/ beside a good clip: quarantined with reasons, the clip
  ends with exactly one LogLine, the chain verifies, `vv diagnose` names the burst;
* a stage container killed, a stage container hung (`docker pause`: its processes freeze, it does
  no work, its healthcheck cannot run) and tv_api killed, at once: the restart policy brings back
  the killed ones (the self-monitor tells of each: a WARNING "restarted by Docker" with how it
  ended), `vv self-monitor` restarts the hung one (and only it: 0 harmful actions), `vv diagnose`
  names tv_api down while it is."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ops.upkeep.container_verdict import docker_time as _parse_docker_time
from tests.stack.conftest import REPORT, VV_UID
from tests.stack.test_stack import container_state, get_json, recording_name, sample_video, stack_clock, wait_for
from tests.webhook_server import WebhookServer

pytestmark = pytest.mark.slow
# The orchestrator on the host with the docker runner, as cron runs it on the box (retries 3 s apart).
DOCKER_RUNNER_ENV = {"ORCHESTRATOR_RUNNER": "docker", "DOCKER_CONTAINER_STORAGE_ROOT": "/data", "STABLE_WAIT_S": "1",
                     "RETRY_BACKOFF_S": "3"}
BAD_FILES = 50            # over the catalogue's burst threshold (10); each costs a scan `docker exec`
KILLED_STAGE = "scene_summarizer"
HUNG_STAGE = "scene_scanner"


def drill_row(fault: str, **fields) -> None:
    """One row of the real-stack drill table (docs/disaster-recovery.md), kept in the stack report."""
    REPORT.setdefault("drills", {})[fault] = fields
    print(f"drill {fault}: {json.dumps(fields)}")


def alert_env(webhook: WebhookServer) -> dict[str, str]:
    return {"ALERT_WEBHOOK_URL": webhook.url, "ALERT_WEBHOOK_FORMAT": "generic", "ALERT_RETRIES": "0"}


def vv(stack, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vv_cli.main", *args], capture_output=True, text=True,
                          env=stack.host_env(**env), cwd=stack.root, timeout=timeout, check=False)


def diagnose(stack, **env: str) -> dict:
    """`vv diagnose --json` against the stack's storage and tv_api (rules only: no model in the loop)."""
    result = vv(stack, "diagnose", "--json", DIAGNOSE_USE_LLM="false",
                DIAGNOSE_STATUS_URL=f"http://127.0.0.1:{stack.tv_api_port}/status", **env)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return json.loads(result.stdout)


def fix(stack, webhook: WebhookServer, **env: str) -> dict:
    """One round of the vv-diagnose timer: `vv diagnose --json --fix --apply --alert` (rules only);
    ``env`` enables the drill's DIAGNOSE_FIX_* actions."""
    result = vv(stack, "diagnose", "--json", "--fix", "--apply", "--alert", DIAGNOSE_USE_LLM="false",
                DIAGNOSE_STATUS_URL=f"http://127.0.0.1:{stack.tv_api_port}/status", **(alert_env(webhook) | env))
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return json.loads(result.stdout)


def outcomes(diagnosis: dict) -> dict[str, str]:
    """What each action of a `vv diagnose --fix --json` round came to."""
    return {a["action"]: a["outcome"] for a in diagnosis["actions"]}


def own_clip(tmp_path: Path, tag: str) -> bytes:
    """The sample's frames with bytes of their own (no clip becomes another test's duplicate)."""
    clip = tmp_path / f"{tag}.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(sample_video()), "-c", "copy",
                    "-metadata", f"comment={tag} drill", str(clip)], check=True, timeout=60)
    return clip.read_bytes()


def drop(path: Path, data: bytes) -> None:
    """A finished file appears at once (as the DVR's rename does), owned by the stages' uid."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part")
    part.write_bytes(data)
    os.replace(part, path)
    for p in (path.parent, path):
        os.chown(p, VV_UID, VV_UID)


def test_a_burst_of_bad_files_beside_a_good_clip(stack, tmp_path):
    now = stack_clock(stack)
    camera = stack.storage / "input" / "drillcam"
    good = recording_name(now)
    video_id = f"drillcam_{good}"
    # A clip of its own (same frames, other bytes): the stack test's clip must not become its duplicate.
    drop(camera / f"{good}.mp4", own_clip(tmp_path, "bad-file burst"))
    bad = [recording_name(now - 120 - 60 * i) for i in range(BAD_FILES)]
    for i, name in enumerate(bad):  # what a broken camera writes: noise, a truncated header, text
        drop(camera / f"{name}.mp4", [os.urandom(4096 + i), b"\x00\x00\x00\x18ftypmp42" + os.urandom(64),
                                      b"not a video\n" * (i + 1)][i % 3])

    with WebhookServer() as webhook:
        started = time.monotonic()
        logline = stack.storage / "loglines" / f"{video_id}.logline.json"
        runs = []
        for _ in range(6):  # as cron would: passes until the input is drained
            run = vv(stack, "orchestrate", "--once", timeout=900, **DOCKER_RUNNER_ENV, **alert_env(webhook))
            runs.append(run.stdout[-1500:] + run.stderr[-1500:])
            assert run.returncode == 0, runs[-1]
            if logline.is_file() and not list(camera.glob("*.mp4")):
                break
            time.sleep(2)
        seconds = time.monotonic() - started
        alerts = webhook.bodies()

    # Nothing lost: the good clip has exactly one LogLine and its media, the chain verifies, every bad
    # file is in corrupted/ with its reason, input/ is drained.
    assert logline.is_file(), runs
    assert [p.name for p in (stack.storage / "loglines").glob(f"{video_id}*.logline.json")] == [logline.name]
    assert list((stack.storage / "processed").rglob(f"{good}.mp4"))
    assert list(camera.glob("*.mp4")) == [], runs
    verify = vv(stack, "verify", timeout=120)
    assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]
    reasons = {}
    for name in bad:
        errors = list((stack.storage / "corrupted").rglob(f"{name}*.error.json"))
        assert len(errors) == 1, (name, runs)
        record = json.loads(errors[0].read_text())
        assert record["kind"] == "permanent" and record["error"].strip(), record  # bad input: one clear reason
        assert list((stack.storage / "corrupted").rglob(f"{name}*.mp4")), name
        reasons[name] = f"{record['stage']}: {record['error']}"[:160]

    # The good clip finished after the newest bad file, so the burst is over (`vv diagnose` ends the
    # bad_file_burst fault there: the pipeline went on); naming it while it lasts is the sandbox drill's.
    found = diagnose(stack)
    assert found["causes"] == [], found["causes"]
    titles = sorted({body["title"] for body in alerts})
    # Each quarantined file is named once: the first QUARANTINE_ALERTS_PER_RUN (5) of a pass one WARNING
    # each, the rest of that pass in one grouped WARNING; nothing for the good clip.
    one_by_one = [Path(b["context"]["file"]).name for b in alerts if b["title"] == "video quarantined"]
    grouped = [b for b in alerts if b["title"] == "more videos quarantined"]
    named = one_by_one + [Path(f).name for b in grouped for f in b["context"]["files"]]
    assert sorted(named) == sorted(f"{name}.mp4" for name in bad), alerts
    assert len(one_by_one) <= 5 * len(runs) and len(alerts) == len(one_by_one) + len(grouped), alerts
    drill_row(f"bad-file burst ({BAD_FILES} files + 1 clip)", healed_by="quarantine (orchestrator)",
              seconds_to_healthy=round(seconds, 1), passes=len(runs), alerts=titles, alert_count=len(alerts),
              diagnosed="none (burst ended by the good clip)", lost=0)
    REPORT["timings_s"]["drill: bad-file burst drained"] = seconds
    REPORT["drill_quarantine_reasons"] = sorted(set(reasons.values()))


def healthy_again(stack, name: str, before: dict) -> bool:
    """Restarted (a new start), running and healthy by its own healthcheck."""
    state = container_state(stack, name)
    return (state["StartedAt"] != before["StartedAt"] and state["Status"] == "running"
            and state.get("Health", {}).get("Status") == "healthy")


def first_healthy_probe(state: dict) -> float:
    """When Docker's first passing probe since the (re)start ended (epoch s): the container's own
    record, not when this test's polling happened to look."""
    started = _parse_docker_time(state["StartedAt"])
    ends = [_parse_docker_time(probe["End"]) for probe in state["Health"]["Log"] if probe["ExitCode"] == 0]
    return min(end for end in ends if end is not None and end >= started)


def restart_count(stack, name: str) -> int:
    return int(stack.engine.docker("inspect", "-f", "{{.RestartCount}}", name).stdout.strip())


def test_killed_and_hung_containers_heal_by_themselves(stack):
    from ops.diagnosis.run import config_from_settings, run_diagnosis
    from vv_cli.settings import Settings

    names = (KILLED_STAGE, HUNG_STAGE, "tv_api")
    before = {name: container_state(stack, name) for name in names}
    restarts_before = {name: restart_count(stack, name) for name in names}
    loglines = sorted((stack.storage / "loglines").glob("*.logline.json"))
    assert all(s["Status"] == "running" and s["Health"]["Status"] == "healthy" for s in before.values()), before
    with WebhookServer() as webhook:
        # The self-monitor as cron runs it (a restart after 3 failed checks), only a check a second
        # instead of every 2 min; killed containers restarting are the restart policy's job.
        monitor_log = stack.root / "self-monitor.jsonl"
        env = stack.host_env(SELF_MONITOR_INTERVAL_S="1", SELF_MONITOR_ERROR_THRESHOLD="3",
                             SELF_MONITOR_START_PERIOD_S="90", SELF_MONITOR_BACKOFF_S="0", **alert_env(webhook))
        with monitor_log.open("w") as out:
            monitor = subprocess.Popen([sys.executable, "-m", "vv_cli.main", "self-monitor", "--loop"], env=env,
                                       cwd=stack.root, stdout=out, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: monitor_log.stat().st_size > 0, timeout=60, what="the self-monitor's first check")
            # The diagnosis in this process (imported before the fault): it must run while tv_api is down.
            config = config_from_settings(Settings(
                video_storage_root=stack.storage, key_store_path=stack.key_store, models_dir=stack.models,
                diagnose_use_llm=False, diagnose_status_url=f"http://127.0.0.1:{stack.tv_api_port}/status"))
            started, fault_at = time.monotonic(), time.time()
            os.kill(before[KILLED_STAGE]["Pid"], signal.SIGKILL)  # crashes, not `docker stop`
            os.kill(before["tv_api"]["Pid"], signal.SIGKILL)
            stack.engine.docker("pause", HUNG_STAGE)
            diagnosed = run_diagnosis(config).top
            api_up = None
            seconds = {}
            while len(seconds) < len(names) and time.monotonic() - started < 150:
                for name in names:
                    if name not in seconds and healthy_again(stack, name, before[name]):
                        seconds[name] = first_healthy_probe(container_state(stack, name)) - fault_at
                if api_up is None and get_json(f"http://127.0.0.1:{stack.nginx_port}/healthz", timeout=2)[0] == 200:
                    api_up = time.monotonic() - started
                time.sleep(0.5)
            assert set(seconds) == set(names), (seconds, {n: container_state(stack, n)["Status"] for n in names})
        finally:
            monitor.send_signal(signal.SIGTERM)
            monitor.wait(30)
        reports = [json.loads(line) for line in monitor_log.read_text().splitlines() if line.startswith("{")]
        alerts = webhook.bodies()

    # What healed what: the self-monitor restarted the hung stage, and only it (0 harmful actions);
    # the killed ones came back by their restart policy.
    restarted = [name for report in reports for name in report["restarted"]]
    assert restarted == [HUNG_STAGE], reports
    # Which alert an operator gets: one WARNING per container, each saying who brought it back: Docker's
    # restart policy for the killed ones (with how they ended: SIGKILL, not OOM), the self-monitor for
    # the hung one (RestartCount unchanged: an API restart resets it, so no "by Docker" for it).
    assert sorted((a["severity"], a["title"]) for a in alerts) == sorted(
        [("WARNING", f"container {HUNG_STAGE} restarted")]
        + [("WARNING", f"container {name} restarted by Docker") for name in (KILLED_STAGE, "tv_api")]), alerts
    by_title = {a["title"]: a for a in alerts}
    assert "paused" in by_title[f"container {HUNG_STAGE} restarted"]["message"]
    for name in (KILLED_STAGE, "tv_api"):
        context = by_title[f"container {name} restarted by Docker"]["context"]
        assert context["restart_count"] == restarts_before[name] + 1, context
        assert context["oom_killed"] is False and context["exit_code"] in (None, 137), context
        # It ended between its old start and its new one (both by the engine's clock).
        assert (_parse_docker_time(before[name]["StartedAt"]) < _parse_docker_time(context["finished_at"])
                <= _parse_docker_time(container_state(stack, name)["StartedAt"])), context
    docker_restarted = sorted(name for report in reports for name in report["docker_restarted"])
    assert docker_restarted == sorted([KILLED_STAGE, "tv_api"]), reports
    print("drill alerts:", json.dumps([(a["title"], a["message"]) for a in alerts]))
    for name in (KILLED_STAGE, "tv_api"):
        assert container_state(stack, name)["Pid"] != before[name]["Pid"]
    assert diagnosed == "tv_api_down"
    assert api_up is not None, "the front never answered /healthz"
    # Nothing lost: every LogLine is still there and the chain verifies.
    assert sorted((stack.storage / "loglines").glob("*.logline.json")) == loglines
    verify = vv(stack, "verify", timeout=120)
    assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]
    restarted_at = {name: _parse_docker_time(container_state(stack, name)["StartedAt"]) for name in names}
    drill_row(f"stage container killed ({KILLED_STAGE})", healed_by="restart policy",
              seconds_to_healthy=round(seconds[KILLED_STAGE], 1),
              alerts=[f"container {KILLED_STAGE} restarted by Docker"], diagnosed=None, lost=0,
              restarted_after_s=round(restarted_at[KILLED_STAGE] - fault_at, 1))
    drill_row(f"stage container hung ({HUNG_STAGE}, docker pause)", healed_by="vv self-monitor restart",
              seconds_to_healthy=round(seconds[HUNG_STAGE], 1), alerts=[f"container {HUNG_STAGE} restarted"],
              diagnosed=None, lost=0,
              restarted_after_s=round(restarted_at[HUNG_STAGE] - fault_at, 1))
    drill_row("tv_api killed", healed_by="restart policy", seconds_to_healthy=round(seconds["tv_api"], 1),
              seconds_to_serving=round(api_up, 1), alerts=["container tv_api restarted by Docker"],
              diagnosed=diagnosed, lost=0,
              restarted_after_s=round(restarted_at["tv_api"] - fault_at, 1))
    for name in names:
        REPORT["timings_s"][f"drill: {name} healthy again"] = seconds[name]
        REPORT["timings_s"][f"drill: {name} restarted"] = restarted_at[name] - fault_at
