"""scan_many: several videos, models loaded once, two decoded at a time, inference taking turns."""

import threading

import pytest

from scan_video.config import ScanConfig
from scan_video.errors import BadVideoError
from scan_video.scanner import ScanEngine, scan, scan_many

pytestmark = pytest.mark.slow


def boxes(result):
    return [(d["timestamp"], d["type"], d["label"], tuple(round(v, 3) for v in d["bbox"]))
            for d in result.analytic["detections"]]


class OverlapWatch:
    """Wraps the real detector: counts how many detect() calls ever ran at the same time."""

    def __init__(self, detector):
        self.detector = detector
        self.backend, self.input_size = detector.backend, detector.input_size
        self.class_names = detector.class_names
        self.active = self.most = self.calls = 0
        self.guard = threading.Lock()

    def detect(self, image):
        with self.guard:
            self.active += 1
            self.calls += 1
            self.most = max(self.most, self.active)
        try:
            return self.detector.detect(image)
        finally:
            with self.guard:
                self.active -= 1


def test_parallel_batch_gives_each_video_exactly_its_own_single_scan(tmp_path, people_clip, static_clip,
                                                                    session_settings, onnx_engine):
    alone = {clip.name: scan(clip, tmp_path / "alone", session_settings, engine=onnx_engine)
             for clip in (people_clip, static_clip)}
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\0" * 500)
    config = ScanConfig.from_settings(session_settings)
    assert config.parallel_videos == 2
    videos = [people_clip, bad, static_clip, people_clip]
    outcomes = list(scan_many(videos, tmp_path / "batch", session_settings, config=config,
                              video_ids=["p1", "bad", "s1", "p2"]))
    assert [video for video, _ in outcomes] == videos  # in the order given, whatever finished first
    p1, error, s1, p2 = (outcome for _, outcome in outcomes)
    assert isinstance(error, BadVideoError) and "not a readable video" in str(error)
    assert boxes(p1) == boxes(p2) == boxes(alone[people_clip.name])
    assert boxes(s1) == boxes(alone[static_clip.name])
    assert any(d["label"] == "person" for d in p1.analytic["detections"])
    assert sorted(p.name for p in (tmp_path / "batch").iterdir()) == ["p1.analytic.json", "p2.analytic.json",
                                                                       "s1.analytic.json"]
    # one engine for the whole batch
    assert p1.timings["model_load_ms"] == s1.timings["model_load_ms"] == p2.timings["model_load_ms"]


def test_two_videos_decode_at_once_but_never_infer_at_once(tmp_path, people_clip, session_settings, monkeypatch):
    config = ScanConfig.from_settings(session_settings, motion_gating=False, face_engine="disabled")
    engine = ScanEngine.load(config)
    watch = OverlapWatch(engine.detector)
    engine.detector = watch
    monkeypatch.setattr(ScanEngine, "load", staticmethod(lambda _config: engine))  # the batch's one load
    decoders_alive_at_start = []
    original_start = threading.Thread.start

    def start(thread):
        if thread.name == "scan-decoder":
            decoders_alive_at_start.append(sum(t.name == "scan-decoder" for t in threading.enumerate()))
        original_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    results = list(scan_many([people_clip] * 3, tmp_path, session_settings, config=config,
                             video_ids=["a", "b", "c"]))
    assert all(not isinstance(r, Exception) for _, r in results)
    assert watch.calls == sum(r.sampling["frames_inferred"] for _, r in results) > 0
    assert watch.most == 1  # inference took turns
    assert max(decoders_alive_at_start) == 1  # a decoder started while another one was decoding


def test_a_caller_that_stops_early_leaves_the_videos_not_started_unscanned(tmp_path, static_clip, session_settings):
    config = ScanConfig.from_settings(session_settings, parallel_videos=1, face_engine="disabled")
    outcomes = scan_many([static_clip] * 4, tmp_path, session_settings, config=config,
                         video_ids=["v1", "v2", "v3", "v4"])
    first_video, first = next(outcomes)
    assert first_video == static_clip and first.path == tmp_path / "v1.analytic.json"
    outcomes.close()  # waits for the one running (v2), cancels the rest
    assert not (tmp_path / "v3.analytic.json").exists() and not (tmp_path / "v4.analytic.json").exists()


def test_ids_must_match_videos(tmp_path, static_clip, session_settings):
    with pytest.raises(ValueError, match="1 ids for 2 videos"):
        list(scan_many([static_clip, static_clip], tmp_path, session_settings, video_ids=["only"]))
