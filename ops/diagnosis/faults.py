"""The drills' faults: how each is injected into a sandbox, what the box does meanwhile on its own,
and what only an operator (or time) undoes.

``box`` is the box's ordinary work after the fault, not a fix: for a burst of bad files, the next
good file goes through the pipeline (recorded in the state DB as the engine records a finished
video; the engine's own tests cover that a quarantined file does not stop the next one).
"""

import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import vv_core
from ops.diagnosis.sandbox import Sandbox, used_bytes, write_file
from orchestrator.lock import LOCK_NAME
from orchestrator.state import StateStore
from vv_core.atomic import atomic_write_json, atomic_write_text
from vv_core.jsonlog import utc_timestamp
from vv_core.storage import StorageLayout

BURST_SIZE = 50
DVR_CAMERA = "drillcam"
CAPTURE_S = 1.0     # the first refused connection opens the outage within ~0.5 s
CAMERA_BACK_S = 5.0   # a looping sample camera probes ~2 s before ffmpeg reports progress
SQLITE_HOLD_S = 2.0     # the drill's writer holds the state DB's write lock this long, then commits


def nothing(_: Sandbox) -> None:
    pass


@dataclass(frozen=True)
class Drill:
    inject: Callable[[Sandbox], None]
    undo: Callable[[Sandbox], None] = nothing    # what only an operator or time undoes
    box: Callable[[Sandbox], None] = nothing     # what the box does meanwhile by its ordinary work


def _current_file(sandbox: Sandbox, kind: str) -> Path:
    pointer = json.loads((sandbox.models_dir / (".current_detector_info.json" if kind == "detector"
                                                  else ".current_model_info.json")).read_text())
    return sandbox.models_dir / pointer["path"]


def quarantine(root: Path, name: str, content: bytes, kind: str, reason: str, stage: str = "scan") -> None:
    video = write_file(root, f"corrupted/cam1/{name}", content)
    atomic_write_json(video.with_name(name + ".error.json"), {
        "video": video.relative_to(root).as_posix(), "original_path": f"input/cam1/{name}", "name": name,
        "sha256": hashlib.sha256(content).hexdigest(), "stage": stage, "error": reason, "kind": kind,
        "attempts": 5, "timestamps": {"quarantined_at": utc_timestamp()}})


def inject_detector_missing(sandbox: Sandbox) -> None:
    _current_file(sandbox, "detector").unlink()
    quarantine(sandbox.root, "waited_for_model.mp4", b"waited for the detector" * 50, "transient",
               "missing model: detector model file missing")


def inject_llm_corrupted(sandbox: Sandbox) -> None:
    path = _current_file(sandbox, "llm")
    size = path.stat().st_size
    path.unlink()                    # replace, never write through a (possible) hard link
    path.write_bytes(b"GGUF-but-not-the-pinned-bytes".ljust(size, b"\0"))


def inject_disk_full(sandbox: Sandbox) -> None:
    """New camera segments fill the sandbox's disk to halfway between the threshold and 100 %."""
    target = sandbox.limits.disk_full_percent + (100.0 - sandbox.limits.disk_full_percent) / 2
    missing = int(sandbox.quota.total * target / 100.0) - used_bytes(sandbox.root) + 1
    write_file(sandbox.root, "input/cam1/new_segment.mp4", b"new camera segment".ljust(max(missing, 1), b"."))


def inject_key_store(sandbox: Sandbox) -> None:
    sandbox.key_store.chmod(0o644)   # readable by others: the loader refuses it (root reads any mode)


def inject_bad_burst(sandbox: Sandbox) -> None:
    for n in range(BURST_SIZE):
        quarantine(sandbox.root, f"bad{n:03d}.mp4", b"not a video %d" % n, "permanent",
                   "not a video: moov atom not found")


def good_file_processed(sandbox: Sandbox) -> None:
    """The pipeline goes on: the next good file finishes (as the engine records it)."""
    now = sandbox.clock()
    with sqlite3.connect(StorageLayout(sandbox.root).orchestrator_db) as db:
        db.execute("INSERT INTO videos (sha256, video_id, camera, name, input_path, current_path, size, state,"
                   " discovered_at, updated_at, finished_at, outcome) VALUES (?, 'cam1_good', 'cam1', 'good.mp4',"
                   " 'input/cam1/good.mp4', 'processed/cam1/good.mp4', 1, 'done', ?, ?, ?, 'processed')",
                   (hashlib.sha256(b"good").hexdigest(), now, now, now))


def inject_sqlite_locked(sandbox: Sandbox) -> None:
    """A writer takes the state DB's write lock and commits only after SQLITE_HOLD_S."""
    holder = sqlite3.connect(StorageLayout(sandbox.root).orchestrator_db, isolation_level=None,
                             check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    sandbox.held.append(holder)
    timer = threading.Timer(SQLITE_HOLD_S, sandbox.release, (holder,))
    timer.daemon = True
    timer.start()


def inject_clock_jump(sandbox: Sandbox) -> None:
    sandbox.clock_offset_s -= 2 * 3600


def inject_stage_hung(sandbox: Sandbox) -> None:
    from filelock import FileLock

    layout = StorageLayout(sandbox.root)
    lock = FileLock(str(layout.state / LOCK_NAME), is_singleton=False, thread_local=False)
    lock.acquire()
    sandbox.held.append(lock)
    store = StateStore(layout.orchestrator_db)
    try:
        store.start_run(sandbox.clock() - sandbox.limits.stage_hung_s - 60)
    finally:
        store.close()


def undo_stage_hung(sandbox: Sandbox) -> None:
    with sqlite3.connect(StorageLayout(sandbox.root).orchestrator_db) as db:
        db.execute("UPDATE runs SET finished_at = ? WHERE finished_at IS NULL", (sandbox.clock(),))
    sandbox.release_all()


def inject_transient(sandbox: Sandbox) -> None:
    quarantine(sandbox.root, "llm_timeout.mp4", b"waited for the summarizer" * 50, "transient",
               "summarize: LLM generation timed out", stage="summarize")


def inject_logline_waits_for_keys(sandbox: Sandbox) -> None:
    quarantine(sandbox.root, "unsigned.mp4", b"waited for the key store" * 50, "transient",
               "logline: key store unreadable", stage="logline")


# --- the DVR: agent_dvr runs as its own process (`python -m agent_dvr.agent_dvr`, what `vv capture`
# runs): operator tools do not import a stage (import contract), they drive its command. ---------

def _unreachable_url() -> str:
    """An RTSP URL on loopback where nothing listens (a port just bound and let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"rtsp://127.0.0.1:{port}/stream1"


def capture(sandbox: Sandbox, url: str, *, loop: bool, seconds: float = CAPTURE_S) -> None:
    """Run agent_dvr for ``seconds`` against one camera; its outages go to the sandbox's state/."""
    cameras = sandbox.root.parent / "cameras.yaml"
    atomic_write_text(cameras, f'cameras:\n  - name: {DVR_CAMERA}\n    url: "{url}"\n    loop: {str(loop).lower()}\n')
    repo = Path(__file__).resolve().parents[2]
    path = os.pathsep.join([str(repo), str(Path(vv_core.__file__).resolve().parents[1]),
                            os.environ.get("PYTHONPATH", "")])
    env = os.environ | {"VIDEO_STORAGE_ROOT": str(sandbox.root), "DVR_CAMERAS_FILE": str(cameras),
                        "DVR_BACKOFF_INITIAL_S": "0.2", "DVR_OUTAGE_ALERT_AFTER_S": "3600", "ALERT_WEBHOOK_URL": "",
                        "PYTHONPATH": path}
    done = subprocess.run([sys.executable, "-m", "agent_dvr.agent_dvr", "--duration", str(seconds), "--no-http"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"agent_dvr exited {done.returncode}: {done.stderr.strip()[-300:]}")


def inject_dvr_unreachable(sandbox: Sandbox) -> None:
    capture(sandbox, _unreachable_url(), loop=False)


def camera_back(sandbox: Sandbox) -> None:
    """The camera answers again: a looping sample file (made with ffmpeg) read in real time."""
    sample = sandbox.root.parent / "camera.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "2",
                    "-pix_fmt", "yuv420p", "-c:v", "libx264", str(sample)], check=True, timeout=60)
    capture(sandbox, str(sample), loop=True, seconds=CAMERA_BACK_S)


def undo_clock_jump(sandbox: Sandbox) -> None:
    sandbox.clock_offset_s = 0.0


def undo_disk_full(sandbox: Sandbox) -> None:
    sandbox.limits = replace(sandbox.limits, disk_full_percent=100.0)   # storage added


DRILLS: dict[str, Drill] = {
    "detector_model_missing": Drill(inject_detector_missing),
    "llm_model_corrupted": Drill(inject_llm_corrupted),
    "disk_full": Drill(inject_disk_full, undo_disk_full),
    "key_store_unreadable": Drill(inject_key_store, lambda s: s.key_store.chmod(0o600)),
    "bad_file_burst": Drill(inject_bad_burst, box=good_file_processed),
    "sqlite_locked": Drill(inject_sqlite_locked, lambda s: s.release_all()),
    "tv_api_down": Drill(lambda s: s.status.stop(), lambda s: s.status.start()),
    "clock_jump": Drill(inject_clock_jump, undo_clock_jump),
    "stage_hung": Drill(inject_stage_hung, undo_stage_hung),
    "transient_quarantine": Drill(inject_transient),
    "dvr_unreachable": Drill(inject_dvr_unreachable, camera_back),
}
# Two faults at once, the first explaining the second: the ranking must name the first.
COMBOS: dict[str, tuple[str, Drill]] = {
    # A full disk truncates what the cameras write: the bad files are its symptom.
    "disk_full+bad_file_burst": ("disk_full", Drill(
        lambda s: (inject_disk_full(s), inject_bad_burst(s)), undo_disk_full, good_file_processed)),
    # A writer stuck in the state DB keeps the run from finishing: the hung run is its symptom.
    "sqlite_locked+stage_hung": ("sqlite_locked", Drill(
        lambda s: (inject_stage_hung(s), inject_sqlite_locked(s)), undo_stage_hung)),
    # LogLines cannot be signed: the files the logline stage gave up on are its symptom.
    "key_store_unreadable+transient_quarantine": ("key_store_unreadable", Drill(
        lambda s: (inject_key_store(s), inject_logline_waits_for_keys(s)), lambda s: s.key_store.chmod(0o600))),
}
