"""Motion gating on a static scene; sampling by seek, frame-exact or skipping non-reference frames."""

import subprocess

import cv2
import pytest

from scan_video.probe import probe_video
from scan_video.sampling import FrameSampler, index_keyframes, plan_samples
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


def test_an_unchanged_empty_scene_is_inferred_once(tmp_path, session_settings, onnx_engine):
    """Nothing found at t=0 and nothing changed: the 10 s re-check (kept above for people standing
    still) is skipped too — quiet footage costs one detector run (issue 17's speed target)."""
    from tests.scan_video import media

    clip = media.empty_scene_clip(12, tmp_path / "empty12.mp4")
    result = scan(clip, tmp_path, session_settings, engine=onnx_engine)
    assert result.sampling["frames_sampled"] == 12
    assert result.sampling["frames_inferred"] == 1 and result.sampling["frames_skipped_motion"] == 11
    assert result.analytic["events"] == []


def test_gating_off_infers_every_sample(tmp_path, static_clip, session_settings, onnx_engine):
    config = onnx_engine.config.model_copy(update={"motion_gating": False, "interval_s": 2.0})
    engine = type(onnx_engine)(config, onnx_engine.model, onnx_engine.detector, onnx_engine.faces)
    result = scan(static_clip, tmp_path, session_settings, engine=engine)
    assert result.sampling["frames_inferred"] == 6 and result.sampling["frames_skipped_motion"] == 0
    assert result.sampling["motion_gating"] is False


def full_decode(video):
    """Every frame in presentation order, decoded straight through (no seek, no skipping): the oracle."""
    import av

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        start, base = stream.start_time or 0, stream.time_base
        return {round(float((f.pts - start) * base), 6): f.to_ndarray(format="bgr24")
                for f in container.decode(stream)}


def nearest(frames, time_s):
    return min(frames, key=lambda t: abs(t - time_s))


def test_keyframe_index_matches_ffprobe(people_clip):
    import av

    listed = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                             "packet=pts_time,flags", "-of", "csv=p=0", str(people_clip)],
                            capture_output=True, text=True, check=True).stdout.splitlines()
    expected = tuple(sorted(round(float(line.split(",")[0]), 6) for line in listed if "K" in line.split(",")[1]))
    with av.open(str(people_clip)) as container:
        assert index_keyframes(container, container.streams.video[0]) == expected
    assert expected[0] == 0.0 and len(expected) >= 4  # 2 s GOPs


def test_frame_exact_sampling_returns_exactly_the_frames_a_full_decode_would(people_clip):
    info = probe_video(people_clip, timeout_s=30, max_pixels=10**8)
    samples = plan_samples(info, 1.0)
    sampler = FrameSampler(info, samples, tolerance_s=0.0)
    sought = {f.time_s: f.image for f in sampler}
    assert sampler.stats.seeks >= 3 and sampler.stats.frames_decoded < info.frame_count
    assert sorted(sought) == [s.time_s for s in samples]

    full = full_decode(people_clip)
    for time_s, image in sought.items():
        assert cv2.norm(image, full[time_s], cv2.NORM_INF) == 0, time_s


def test_skipping_non_reference_frames_decodes_less_and_moves_samples_by_a_frame_or_two(people_clip):
    info = probe_video(people_clip, timeout_s=30, max_pixels=10**8)
    samples = plan_samples(info, 1.0)
    exact = FrameSampler(info, samples, tolerance_s=0.0)
    exact_frames = list(exact)
    skipping = FrameSampler(info, samples, tolerance_s=0.2)
    frames = list(skipping)
    assert len(frames) == len(samples)
    assert skipping.stats.frames_decoded < 0.75 * exact.stats.frames_decoded
    moved = [f.time_s - f.sample.time_s for f in frames]
    assert all(0 <= m <= 0.2 + 1e-6 for m in moved) and any(m > 0 for m in moved)
    # Skipping frames nothing refers to changes no decoded picture: each frame used equals the
    # full decode's frame at its (moved) time, pixel for pixel.
    full = full_decode(people_clip)
    for frame in frames:
        assert cv2.norm(frame.image, full[nearest(full, frame.time_s)], cv2.NORM_INF) == 0, frame.time_s
    assert len(exact_frames) == len(frames)


def test_a_tolerance_below_one_frame_falls_back_to_exact_decoding(people_clip):
    info = probe_video(people_clip, timeout_s=30, max_pixels=10**8)
    samples = plan_samples(info, 1.0)
    sampler = FrameSampler(info, samples, tolerance_s=0.01)
    frames = list(sampler)
    assert sampler.stats.exact_redecodes >= 1
    assert [f.time_s for f in frames] == [s.time_s for s in samples]


def test_keyframe_snapping_decodes_one_frame_per_sample(people_clip):
    info = probe_video(people_clip, timeout_s=30, max_pixels=10**8)
    # keyframes every 2 s inside each 3 s part: 0 2 3 5 6 8; samples every 2 s may move up to 1 s
    sampler = FrameSampler(info, interval_s=2.0, snap_s=1.0)
    frames = list(sampler)
    assert len(frames) == len(sampler.samples) == 5
    assert all(f.time_s in sampler.keyframes for f in frames)
    assert sampler.stats.frames_decoded == len(frames)


def test_luma_view_is_the_decoded_luma_plane(people_clip):
    info = probe_video(people_clip, timeout_s=30, max_pixels=10**8)
    frame = next(iter(FrameSampler(info, plan_samples(info, 5.0)[:1])))
    grey = frame.grey
    assert grey.shape == (info.height, info.width)
    assert (grey == frame.frame.to_ndarray(format="yuv420p")[: info.height]).all()


def test_decoder_thread_gates_a_static_stretch_while_the_consumer_is_busy(static_clip):
    from scan_video.motion import MotionGate

    info = probe_video(static_clip, timeout_s=30, max_pixels=10**8)
    sampler = FrameSampler(info, interval_s=1.0, prefetch=1, gate=MotionGate(min_interval_s=100.0))
    sampler.start()
    # Nobody consumes yet (as while the models load): only the first frame holds pixels, the static
    # ones are passed on as decisions, so decoding runs to the end instead of stalling on a full queue.
    sampler._thread.join(timeout=30)
    assert not sampler._thread.is_alive()
    frames = list(sampler)
    assert len(frames) == 12 and sampler.stats.frames_decoded >= 12
    assert [f.decision.reason for f in frames] == ["first"] + ["static"] * 11
    assert frames[0].infer and frames[0].image.shape == (info.height, info.width, 3)
    skipped = frames[1]
    assert not skipped.infer and skipped.frame is None and skipped.shape == (info.height, info.width)
    with pytest.raises(ValueError, match="skipped"):
        skipped.image  # noqa: B018 (the property raises)
    assert all(f.motion_ms > 0 for f in frames)


def test_motion_after_a_static_stretch_still_reaches_the_consumer_in_order(people_clip):
    from scan_video.motion import MotionGate

    info = probe_video(people_clip, timeout_s=30, max_pixels=10**8)
    frames = list(FrameSampler(info, interval_s=1.0, prefetch=1, gate=MotionGate(min_interval_s=100.0)))
    times = [f.time_s for f in frames]
    assert times == sorted(times) and len(frames) == 9
    inferred = [f for f in frames if f.infer]
    assert len(inferred) >= 6 and all(f.image.shape[2] == 3 for f in inferred)  # the pan moves
