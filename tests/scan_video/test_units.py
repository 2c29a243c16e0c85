"""Pure parts of the scanner on synthetic data: config parsing, sample planning, letterbox, NMS,
ONNX output decoding, motion gate decisions, analytic assembly."""

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from scan_video.assemble import normalized_box, offset_utc
from scan_video.config import ScanConfig, parse_list, parse_rename
from scan_video.detect import box_iou, letterbox, non_max_suppression
from scan_video.detect_onnx import OnnxDetector
from scan_video.errors import ScanError
from scan_video.model_select import backend_accepts
from scan_video.motion import MotionGate
from scan_video.probe import VideoInfo, _creation_time, _positive
from scan_video.sampling import plan_samples


def info(duration=10.0, fps=25.0):
    return VideoInfo(path=Path("x.mp4"), duration_s=duration, fps=fps, width=1280, height=720, codec="h264",
                     size_bytes=1)


def test_config_from_settings_parses_lists_and_renames(settings):
    config = ScanConfig.from_settings(settings, class_filter=frozenset({"person"}))
    assert config.class_rename == {"Normal": "person", "Fall": "person_fallen", "bick": "bike"}
    assert config.person_labels == {"person", "person_fallen"}
    assert config.label_for("Normal") == "person"
    assert config.label_for("Fall") is None  # renamed to person_fallen, then filtered out
    assert config.label_for("car") is None
    assert ScanConfig.from_settings(settings).label_for("car") == "car"  # empty filter keeps all


def test_rename_and_list_parsing():
    assert parse_rename(" a=b , c = d ,") == {"a": "b", "c": "d"}
    assert parse_list(" x, ,y ") == {"x", "y"}
    with pytest.raises(ScanError, match="not OLD=NEW"):
        parse_rename("person")


def test_config_refuses_unknown_fields():
    with pytest.raises(ValueError, match="extra"):
        ScanConfig(interval_seconds=2)


def test_plan_samples_one_per_interval_and_frame_exact():
    samples = plan_samples(info(10.0, 25.0), 1.0)
    assert [s.frame_index for s in samples] == [25 * k for k in range(10)]
    assert [s.time_s for s in samples] == [float(k) for k in range(10)]
    assert len(plan_samples(info(10.0, 25.0), 2.5)) == 4
    assert [s.frame_index for s in plan_samples(info(0.2, 25.0), 1.0)] == [0]  # short clip: one sample


def test_plan_samples_snaps_to_nearby_keyframes_without_duplicates():
    keyframes = (0.0, 0.96, 2.08, 6.0)
    samples = plan_samples(info(4.0, 25.0), 1.0, keyframes, snap_s=0.1)
    assert [s.time_s for s in samples] == [0.0, 0.96, 2.08, 3.0]
    # snapping two targets onto one keyframe keeps a single sample
    assert [s.time_s for s in plan_samples(info(4.0, 25.0), 0.5, (0.0, 1.2), snap_s=0.35)][:4] == [0.0, 0.52, 1.2, 2.0]


def test_letterbox_geometry_matches_ultralytics_convention():
    image = np.zeros((720, 1280, 3), dtype=np.uint8)
    padded, geometry = letterbox(image, 640)
    assert padded.shape == (640, 640, 3)
    assert geometry.scale == pytest.approx(0.5)
    assert (geometry.pad_x, geometry.pad_y) == (0, 140)
    assert padded[0, 0, 0] == 114 and padded[320, 320, 0] == 0


def test_nms_keeps_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=np.float32)
    scores = np.array([0.5, 0.9, 0.7], dtype=np.float32)
    assert non_max_suppression(boxes, scores, 0.5) == [1, 2]
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == pytest.approx(1.0)
    assert box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert box_iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0


def test_onnx_output_decoding_maps_boxes_back_to_the_frame():
    detector = OnnxDetector.__new__(OnnxDetector)  # decoding only: no session needed
    detector.class_names, detector.confidence, detector.iou = {0: "Normal", 1: "Fall"}, 0.25, 0.45
    # 3 anchors: a strong "Normal" box, a weaker duplicate, and one below the threshold.
    output = np.zeros((1, 6, 3), dtype=np.float32)
    output[0, :, 0] = [320, 320, 100, 200, 0.9, 0.1]
    output[0, :, 1] = [322, 321, 100, 200, 0.6, 0.1]
    output[0, :, 2] = [100, 100, 50, 50, 0.1, 0.2]
    _, geometry = letterbox(np.zeros((720, 1280, 3), dtype=np.uint8), 640)
    found = detector.postprocess(output, geometry, 1280, 720)
    assert len(found) == 1
    assert found[0].class_name == "Normal" and found[0].confidence == pytest.approx(0.9)
    assert found[0].box == pytest.approx((540.0, 160.0, 740.0, 560.0))
    output[0, 4:, :] = 0
    assert detector.postprocess(output, geometry, 1280, 720) == []


def test_motion_gate_skips_static_frames_and_keeps_a_minimum_rate():
    gate = MotionGate(width=64, threshold=0.01, min_interval_s=5.0)
    still = np.full((72, 128, 3), 100, dtype=np.uint8)
    moved = still.copy()
    moved[20:50, 30:70] = 250
    reasons = [gate.decide(still, 0.0).reason, gate.decide(still, 1.0).reason, gate.decide(moved, 2.0).reason,
               gate.decide(moved, 3.0).reason, gate.decide(moved, 7.0).reason]
    assert reasons == ["first", "static", "motion", "static", "min_interval"]
    assert MotionGate(enabled=False).decide(still, 0.0).infer


def test_motion_gate_ignores_noise_below_the_pixel_delta():
    rng = np.random.default_rng(1)
    base = rng.integers(60, 200, (360, 640, 3), dtype=np.uint8)
    noisy = np.clip(base.astype(int) + rng.integers(-6, 7, base.shape), 0, 255).astype(np.uint8)
    gate = MotionGate()
    gate.decide(base, 0.0)
    decision = gate.decide(noisy, 1.0)
    assert not decision.infer and decision.changed_fraction < 0.005


def test_assembly_helpers():
    assert normalized_box((-5, 0, 1300, 360), 1280, 720) == [0.0, 0.0, 1.0, 0.5]
    assert offset_utc("2026-11-21T10:15:00Z", 3.5) == "2026-11-21T10:15:03.500Z"
    assert offset_utc(None, 1.0) is None


def test_probe_helpers():
    assert _positive(Fraction(30000, 1001)) == pytest.approx(29.97, abs=0.01)
    assert _positive(Fraction(0, 1)) is None and _positive("x/y") is None and _positive(None) is None
    assert _creation_time("2026-11-21T10:15:00.000000Z") == "2026-11-21T10:15:00Z"
    assert _creation_time("1970-01-01T00:00:00Z") is None
    assert _creation_time("2026-11-21 10:15:00") == "2026-11-21T10:15:00Z"
    assert _creation_time("garbage") is None and _creation_time(None) is None


def test_backend_model_compatibility():
    assert backend_accepts("onnxruntime", "m.onnx") and not backend_accepts("onnxruntime", "m.pt")
    assert backend_accepts("ultralytics", "m.pt") and backend_accepts("ultralytics", "m.onnx")
