"""Motion gating on a static scene, and frame-exact sampling by seek."""

import pytest

from scan_video.probe import keyframe_times, probe_video
from scan_video.sampling import FrameSampler, plan_samples
from scan_video.scanner import scan

pytestmark = pytest.mark.slow


def test_static_scene_skips_inference_but_keeps_the_minimum_rate(tmp_path, static_clip, session_settings,
                                                                 onnx_engine):
    result = scan(static_clip, tmp_path, session_settings, engine=onnx_engine)
    sampling = result.sampling
    assert sampling["frames_sampled"] == 12
    # t=0 (first) and t=10 (min inference interval 10 s): everything else is skipped as static.
    assert sampling["frames_inferred"] == 2 and sampling["frames_skipped_motion"] == 10
    people_times = {d["timestamp"] for d in result.analytic["detections"] if d["label"] == "person"}
    assert people_times == {0.0, 10.0}  # the people standing still are still reported


def test_gating_off_infers_every_sample(tmp_path, static_clip, session_settings, onnx_engine):
    config = onnx_engine.config.model_copy(update={"motion_gating": False, "interval_s": 2.0})
    engine = type(onnx_engine)(config, onnx_engine.model, onnx_engine.detector, onnx_engine.faces)
    result = scan(static_clip, tmp_path, session_settings, engine=engine)
    assert result.sampling["frames_inferred"] == 6 and result.sampling["frames_skipped_motion"] == 0
    assert result.sampling["motion_gating"] is False


def test_seeking_returns_exactly_the_frames_a_full_decode_would(people_clip):
    import cv2

    info = probe_video(people_clip, timeout_s=30, max_pixels=10**8)
    keyframes = keyframe_times(people_clip, timeout_s=30)
    assert keyframes[0] == 0.0 and len(keyframes) >= 4  # 2 s GOPs
    samples = plan_samples(info, 1.0)
    sampler = FrameSampler(info, samples, keyframes=keyframes)
    sought = {f.sample.frame_index: f.image for f in sampler}
    assert sampler.stats.seeks >= 3 and sampler.stats.frames_decoded < info.frame_count

    capture = cv2.VideoCapture(str(people_clip))
    index, full = 0, {}
    while True:
        ok, image = capture.read()
        if not ok:
            break
        if index in sought:
            full[index] = image
        index += 1
    capture.release()
    assert set(full) == set(sought)
    for frame_index, image in sought.items():
        assert cv2.norm(image, full[frame_index], cv2.NORM_INF) == 0, frame_index


def test_keyframe_snapping_decodes_one_frame_per_sample(people_clip):
    info = probe_video(people_clip, timeout_s=30, max_pixels=10**8)
    keyframes = keyframe_times(people_clip, timeout_s=30)
    # keyframes every 2 s inside each 3 s part: 0 2 3 5 6 8; samples every 2 s may move up to 1 s
    samples = plan_samples(info, 2.0, keyframes, snap_s=1.0)
    assert len(samples) == 5 and all(s.time_s in keyframes for s in samples)
    sampler = FrameSampler(info, samples, keyframes=keyframes)
    assert len(list(sampler)) == len(samples)
    assert sampler.stats.frames_decoded == len(samples)
