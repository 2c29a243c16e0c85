"""Session-cached media and models for the scanner tests (built once per run, under pytest's tmp)."""

from pathlib import Path

import pytest
from filelock import FileLock

from scan_video.config import ScanConfig
from scan_video.scanner import ScanEngine
from tests.scan_video import media
from vv_cli.settings import Settings


@pytest.fixture(scope="session")
def media_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("scan-media")


@pytest.fixture(scope="session")
def people_clip(media_cache) -> Path:
    return media.people_video(media_cache)


@pytest.fixture(scope="session")
def static_clip(media_cache) -> Path:
    return media.static_video(media_cache)


@pytest.fixture(scope="session")
def bikes_clip() -> Path:
    return media.asset("bikes.mp4")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("scan-models") / "models"
    exports = media.export_cache()
    with FileLock(str(exports / ".lock")):  # parallel workers: one exports, the others wait and reuse it
        media.prepare_models_dir(directory, exports)
    return directory


def make_settings(storage_root: Path, models_dir: Path, **values) -> Settings:
    values.setdefault("scan_detector_model", media.EXPORTED_FP32)
    return Settings(_env_file=None, video_storage_root=storage_root, models_dir=models_dir, **values)


@pytest.fixture
def scan_settings(tmp_path, models_dir) -> Settings:
    return make_settings(tmp_path / "storage", models_dir)


@pytest.fixture(scope="session")
def session_settings(tmp_path_factory, models_dir) -> Settings:
    return make_settings(tmp_path_factory.mktemp("scan-storage"), models_dir)


@pytest.fixture(scope="session")
def onnx_engine(session_settings) -> ScanEngine:
    return ScanEngine.load(ScanConfig.from_settings(session_settings))


@pytest.fixture(scope="session")
def ultralytics_engine(session_settings) -> ScanEngine:
    config = ScanConfig.from_settings(session_settings, backend="ultralytics", detector_model=media.PYPI_PERSON_PT)
    return ScanEngine.load(config)


@pytest.fixture(scope="session")
def lying_clip(media_cache) -> Path:
    return media.lying_person_clip(6, media_cache / "lying_6s.mp4")


@pytest.fixture(scope="session")
def empty_clips(media_cache) -> dict[str, Path]:
    """Clips with nobody in them: test patterns, noise, a static empty scene, a cartoon."""
    clips = {name: media.pattern_clip(name, 6, media_cache / f"{name}_6s.mp4")
             for name in ("testsrc", "smptebars", "noise")}
    clips["empty_scene"] = media.empty_scene_clip(6, media_cache / "empty_scene_6s.mp4")
    clips["bigbuckbunny"] = media.asset("bigbuckbunny.mp4")
    return clips
