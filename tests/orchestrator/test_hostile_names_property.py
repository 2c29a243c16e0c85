"""Property test with the REAL stages (issue 23): random names (any bytes a name may hold, up to 255)
and random bytes dropped into input/; every `vv orchestrate --once` exits 0, every file ends
processed, quarantined or recorded as ignored (hidden and ``*.part``-style names are other
writers' work in progress: left untouched), `vv verify` passes, and nothing is written under $HOME.

Random bytes are quarantined fast (one failing `vv scan` each); real videos are costly, so only the
explicit examples carry one (1 s lavfi test patterns), as does the same-name regression below.
Summaries use the labelled DEGRADED template mode (no LLM installed), as the crash e2e does.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orchestrator.discovery import IN_PROGRESS_SUFFIXES
from orchestrator.names import printable
from tests.helpers import REPO_ROOT, repo_env
from tests.orchestrator.test_e2e_real_stages import STAGES_PRESENT, install_models

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not STAGES_PRESENT, reason="the real stages are not on this branch"),
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg missing"),
]
EXAMPLES = 12
REAL_VIDEO = b"<the real 1 s video>"          # placeholder, swapped for the clip's bytes
OTHER_VIDEO = b"<another real 1 s video>"


def lavfi_clip(target: Path, source: str) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(target)], check=True, timeout=60)
    return target


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile-assets")
    return {"models": install_models(base / "models", with_llm=False),
            REAL_VIDEO: lavfi_clip(base / "a.mp4", "testsrc=duration=1:size=320x240:rate=10").read_bytes(),
            OTHER_VIDEO: lavfi_clip(base / "b.mp4", "testsrc2=duration=1:size=320x240:rate=10").read_bytes()}


class RealBox:
    """A fresh storage root driven by the `vv` CLI with the real stages; $HOME is an empty folder."""

    def __init__(self, base: Path, models: Path) -> None:
        from ops.provisioning.bootstrap import bootstrap
        from vv_cli.settings import Settings

        self.root, self.home = base / "storage", base / "home"
        self.home.mkdir()
        self.env = repo_env(VIDEO_STORAGE_ROOT=str(self.root), KEY_STORE_PATH=str(base / "secrets/keys.json"),
                            MODELS_DIR=str(models), STABLE_WAIT_S="0", RETRY_BACKOFF_S="0", HOME=str(self.home))
        for name in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "ORT_DISABLE_TELEMETRY"):
            self.env.pop(name, None)
        bootstrap(Settings(video_storage_root=self.root, key_store_path=base / "secrets/keys.json"), fallback=False)

    def vv(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "vv_cli.main", *args], capture_output=True, text=True,
                              env=self.env, cwd=REPO_ROOT, timeout=300, check=False)

    def drop(self, relative: bytes, content: bytes) -> None:
        path = os.fsencode(self.root / "input") + b"/" + relative
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temp = os.path.join(os.path.dirname(path), b".dropping")   # hidden: never taken half-written
        with open(temp, "wb") as handle:
            handle.write(content)
        os.rename(temp, path)

    def rows(self) -> dict[str, sqlite3.Row]:
        with sqlite3.connect(self.root / "state/orchestrator.sqlite3") as db:
            db.row_factory = sqlite3.Row
            return {row["input_path"]: row for row in db.execute("SELECT * FROM videos")}

    def ignored(self) -> set[str]:
        with sqlite3.connect(self.root / "state/orchestrator.sqlite3") as db:
            return {row[0] for row in db.execute("SELECT path FROM ignored")}


def left_for_its_writer(name: bytes) -> bool:
    """Hidden or ``*.part``-style file names: another writer's work in progress, never taken."""
    return name.startswith(b".") or name.lower().endswith(tuple(s.encode() for s in IN_PROGRESS_SUFFIXES))


def no_file_is_anothers_folder(files: list[tuple[bytes, bytes]]) -> bool:
    names = [relative for relative, _ in files]
    return not any(other.startswith(name + b"/") for name in names for other in names)


NAME_BYTES = st.integers(1, 255).filter(lambda b: b != ord("/"))
name_component = st.one_of(
    st.lists(NAME_BYTES, min_size=1, max_size=255).map(bytes),                       # any bytes, up to 255
    st.lists(NAME_BYTES, min_size=236, max_size=255).map(bytes),                     # near the limit
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="/\0"), min_size=1,
            max_size=60).map(str.encode),                                          # any text, as UTF-8
).filter(lambda n: n not in (b".", b"..") and len(n) <= 255)
relative_name = st.one_of(name_component, st.tuples(name_component, name_component).map(b"/".join))
drops = st.lists(st.tuples(relative_name, st.binary(max_size=3000)), min_size=1, max_size=3,
                 unique_by=(lambda d: d[0], lambda d: d[1])).filter(no_file_is_anothers_folder)


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@example(files=[(b"-rf \xff\xfe\n$(touch pwned);`id`|x.mp4", REAL_VIDEO),
                (b"cam\xe9/" + b"v" * 251 + b".mp4", b"junk")])
@example(files=[(b"good3.mp4", OTHER_VIDEO), (b".hidden/x.mp4", b"x"), (b"seg.mp4.part", b"y")])
@given(files=drops)
def test_any_names_and_bytes_end_processed_quarantined_or_recorded(assets, files):
    with tempfile.TemporaryDirectory() as scratch:
        box = RealBox(Path(scratch), assets["models"])
        contents = {}
        for relative, content in files:
            box.drop(relative, assets.get(content, content))
            contents[relative] = assets.get(content, content)
        run = box.vv("orchestrate", "--once")
        assert run.returncode == 0, run.stderr[-3000:]
        rows, ignored = box.rows(), box.ignored()
        for relative in contents:
            *folders, name = relative.split(b"/")
            hidden = next((i for i, folder in enumerate(folders) if folder.startswith(b".")), None)
            if hidden is not None:                       # a hidden folder: recorded, not entered
                assert printable("input/" + os.fsdecode(b"/".join(folders[:hidden + 1]))) in ignored
            elif left_for_its_writer(name):              # left for its writer, untouched
                assert os.path.lexists(os.fsencode(box.root / "input") + b"/" + relative), relative
            else:                                        # processed or quarantined, original name kept
                shown = printable("input/" + os.fsdecode(relative))
                assert shown in rows, (shown, sorted(rows))
                row = rows[shown]
                assert row["state"] in ("done", "failed"), dict(row)
                assert (box.root / row["current_path"]).is_file()
                if row["state"] == "failed":
                    assert (box.root / f"{row['current_path']}.error.json").is_file()
                else:
                    assert contents[relative] in (assets[REAL_VIDEO], assets[OTHER_VIDEO])
        verify = box.vv("verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert box.vv("orchestrate", "--once").returncode == 0
        assert sorted(p.relative_to(box.home).as_posix() for p in box.home.rglob("*")) == []
        assert not (REPO_ROOT / "pwned").exists()


def test_a_second_video_under_the_same_name_plays_its_own_footage(assets, tmp_path):
    """Issue 23 item 4 with the real stages and scheduler: after input/cam1/good3.mp4 is processed,
    a different video dropped under the same name must not play the first one's footage."""
    box = RealBox(tmp_path, assets["models"])
    box.drop(b"cam1/good3.mp4", assets[REAL_VIDEO])
    assert box.vv("orchestrate", "--once").returncode == 0
    box.drop(b"cam1/good3.mp4", assets[OTHER_VIDEO])
    run = box.vv("orchestrate", "--once")
    assert run.returncode == 0, run.stderr[-3000:]
    second_sha = hashlib.sha256(assets[OTHER_VIDEO]).hexdigest()
    assert sorted(os.listdir(box.root / "processed/cam1")) == sorted(["good3.mp4", f"good3.{second_sha[:12]}.mp4"])
    loglines = {json.loads(p.read_text())["id"]: json.loads(p.read_text())
                for p in (box.root / "loglines").glob("*.logline.json")}
    assert set(loglines) == {"cam1_good3", f"cam1_good3-{second_sha[:8]}"}
    items = json.loads((box.root / "playlists/playlist.json").read_text())["items"]
    assert {item["logline_id"] for item in items} == set(loglines)
    for item in items:
        media = box.root / item["media_url"].removeprefix("/media/")
        assert hashlib.sha256(media.read_bytes()).hexdigest() == loglines[item["logline_id"]]["source_hash"]
    assert box.vv("verify").returncode == 0
