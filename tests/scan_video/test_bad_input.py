"""Bad input: a one-line reason, nothing written, never a hang."""

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from scan_video.config import ScanConfig
from scan_video.errors import BadVideoError, DecodeTimeoutError, DetectorModelError, ScanError
from scan_video.probe import probe_video
from scan_video.sampling import FrameSampler, plan_samples
from scan_video.scanner import ScanEngine, scan
from tests.scan_video import media

pytestmark = pytest.mark.slow


def assert_refused(video, out_dir, settings, engine, match, error=BadVideoError, **kwargs):
    with pytest.raises(error, match=match) as caught:
        scan(video, out_dir, settings, engine=engine, **kwargs)
    assert "\n" not in str(caught.value)
    assert not out_dir.exists() or list(out_dir.iterdir()) == []
    return caught.value


@pytest.fixture
def out_dir(tmp_path):
    return tmp_path / "analytic"


@pytest.fixture(scope="session")
def bad_media(media_cache, people_clip):
    """Broken variants of a real clip, built once."""
    work = media_cache / "bad"
    work.mkdir(exist_ok=True)
    made = {}
    data = people_clip.read_bytes()
    made["truncated_faststart"] = work / "truncated_faststart.mp4"
    made["truncated_faststart"].write_bytes(data[: len(data) // 2])
    moov_last = work / "moov_last.mp4"
    media.ffmpeg("-i", str(people_clip), "-c", "copy", str(moov_last))
    made["truncated_moov_missing"] = work / "truncated_moov_missing.mp4"
    made["truncated_moov_missing"].write_bytes(moov_last.read_bytes()[: moov_last.stat().st_size * 2 // 3])
    made["audio_only"] = work / "audio_only.mp4"
    media.ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac", str(made["audio_only"]))
    made["huge"] = work / "huge.mp4"
    media.ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=4608x2592:d=0.2:r=5", "-c:v", "libx264", "-preset",
                 "ultrafast", "-pix_fmt", "yuv420p", str(made["huge"]))
    return made


def test_zero_byte_file(tmp_path, out_dir, scan_settings, onnx_engine):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    assert_refused(empty, out_dir, scan_settings, onnx_engine, "empty file")


def test_not_a_video(tmp_path, out_dir, scan_settings, onnx_engine):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 50)
    assert_refused(fake, out_dir, scan_settings, onnx_engine, "not a readable video")


def test_wrong_extension(tmp_path, out_dir, scan_settings, onnx_engine, people_clip):
    renamed = tmp_path / "clip.txt"
    shutil.copyfile(people_clip, renamed)
    assert_refused(renamed, out_dir, scan_settings, onnx_engine, "unsupported extension '.txt'")


def test_missing_directory_and_fifo_are_refused_without_blocking(tmp_path, out_dir, scan_settings, onnx_engine):
    assert_refused(tmp_path / "nope.mp4", out_dir, scan_settings, onnx_engine, "no such file")
    folder = tmp_path / "folder.mp4"
    folder.mkdir()
    assert_refused(folder, out_dir, scan_settings, onnx_engine, "not a regular file")
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)  # opening it for reading would block forever
    assert_refused(fifo, out_dir, scan_settings, onnx_engine, "not a regular file")


def test_unreadable_file(tmp_path, out_dir, scan_settings, onnx_engine, people_clip, monkeypatch):
    locked = tmp_path / "locked.mp4"
    shutil.copyfile(people_clip, locked)
    locked.chmod(0)
    if os.access(locked, os.R_OK):  # root reads anything: make access() answer as for a normal user
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == locked else real_access(p, m))
    assert_refused(locked, out_dir, scan_settings, onnx_engine, "permission denied")


def test_audio_only(bad_media, out_dir, scan_settings, onnx_engine):
    assert_refused(bad_media["audio_only"], out_dir, scan_settings, onnx_engine, r"no video stream \(only audio")


def test_huge_resolution(bad_media, out_dir, scan_settings, onnx_engine):
    assert_refused(bad_media["huge"], out_dir, scan_settings, onnx_engine, "4608x2592 exceeds the limit")


def test_truncated_without_index(bad_media, out_dir, scan_settings, onnx_engine):
    assert_refused(bad_media["truncated_moov_missing"], out_dir, scan_settings, onnx_engine, "not a readable video")


def test_truncated_with_index_fails_while_decoding(bad_media, out_dir, scan_settings, onnx_engine):
    assert_refused(bad_media["truncated_faststart"], out_dir, scan_settings, onnx_engine, "truncated or corrupt")


def test_part_file_is_still_being_written(tmp_path, out_dir, scan_settings, onnx_engine, people_clip):
    part = tmp_path / "20261121T101500Z.mp4.part"
    shutil.copyfile(people_clip, part)
    assert_refused(part, out_dir, scan_settings, onnx_engine, "still being written")


def test_file_growing_during_the_scan_is_refused(tmp_path, out_dir, scan_settings, onnx_engine, people_clip):
    growing = tmp_path / "growing.mp4"
    shutil.copyfile(people_clip, growing)

    class AppendingDetector:  # the camera keeps writing while we scan
        backend, input_size, class_names = "onnxruntime", 640, {}

        def detect(self, image):
            with growing.open("ab") as handle:
                handle.write(b"\0" * 4096)
            return []

    engine = ScanEngine(onnx_engine.config, onnx_engine.model, AppendingDetector(), onnx_engine.faces)
    assert_refused(growing, out_dir, scan_settings, engine, "changed while it was scanned")


@pytest.fixture
def hung_demuxer(monkeypatch):
    """FFmpeg's demuxer stuck on a hostile file: av.open blocks until the test ends."""
    import threading

    import av

    release = threading.Event()
    monkeypatch.setattr(av, "open", lambda *a, **k: release.wait(30))
    yield
    release.set()


def test_probe_timeout_is_an_error_not_a_hang(out_dir, scan_settings, onnx_engine, people_clip, hung_demuxer):
    config = onnx_engine.config.model_copy(update={"decode_timeout_s": 0.3})
    assert_refused(people_clip, out_dir, scan_settings, onnx_engine, r"probing took longer than 0\.3 s",
                   error=DecodeTimeoutError, config=config)


def test_decoder_timeout_is_an_error_not_a_hang(people_clip):
    info = probe_video(people_clip, timeout_s=30, max_pixels=10**8)
    sampler = FrameSampler(info, plan_samples(info, 1.0), decode_timeout_s=1e-4)
    with pytest.raises(DecodeTimeoutError, match="no frame decoded within"):
        list(sampler)


def test_a_probe_that_hangs_is_cut_by_the_timeout(people_clip, hung_demuxer):
    with pytest.raises(DecodeTimeoutError, match=r"probing took longer than 0\.5 s"):
        probe_video(people_clip, timeout_s=0.5, max_pixels=10**8)


def test_detector_model_problems_are_clear_errors(tmp_path, models_dir, people_clip, out_dir, scan_settings):
    base = ScanConfig.from_settings(scan_settings)
    with pytest.raises(DetectorModelError, match="cannot run on the onnxruntime backend"):
        ScanEngine.load(base.model_copy(update={"detector_model": media.PYPI_PERSON_PT}))
    with pytest.raises(DetectorModelError, match="not in the manifest"):
        ScanEngine.load(base.model_copy(update={"detector_model": "no-such-model"}))
    # A copy of the models dir with the detector missing, then corrupted.
    broken = tmp_path / "models"
    broken.mkdir()
    shutil.copyfile(models_dir / "model_manifest.json", broken / "model_manifest.json")
    config = base.model_copy(update={"models_dir": broken})
    with pytest.raises(DetectorModelError, match=r"is not installed .*run: vv model install"):
        ScanEngine.load(config)
    source = next((models_dir / media.EXPORTED_FP32).rglob("*.onnx"))
    installed = broken / source.relative_to(models_dir)
    installed.parent.mkdir(parents=True)
    data = bytearray(source.read_bytes())
    data[1000] ^= 0xFF
    installed.write_bytes(bytes(data))
    with pytest.raises(DetectorModelError, match="fails its sha256 check"):
        ScanEngine.load(config)
    with pytest.raises(DetectorModelError, match="manifest not found"):
        ScanEngine.load(base.model_copy(update={"models_dir": tmp_path / "empty"}))
    with pytest.raises(ScanError):  # scan() loads the engine itself when none is given
        scan(people_clip, out_dir, scan_settings, config=config)
    assert not out_dir.exists()
    # The decoder had started beside the failing model load: it is stopped, not left running.
    deadline = time.monotonic() + 5
    while any(t.name == "scan-decoder" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "scan-decoder" for t in threading.enumerate())

