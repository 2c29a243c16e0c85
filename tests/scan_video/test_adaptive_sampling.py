"""Adaptive sampling: one sample per SCAN_INTERVAL_S while the scene is still, SCAN_ACTIVE_FPS while
it moves (decided in the decoder thread from the motion gate's thumbnail difference)."""

import itertools

import pytest

from scan_video.config import ScanConfig
from scan_video.motion import ActivityMeter
from scan_video.probe import probe_video
from scan_video.sampling import FrameSampler
from scan_video.scanner import scan

pytestmark = pytest.mark.slow


def sample_times(video, **kwargs):
    info = probe_video(video, timeout_s=30, max_pixels=10**8)
    sampler = FrameSampler(info, interval_s=1.0, tolerance_s=0.2, activity=ActivityMeter(), **kwargs)
    return [frame.time_s for frame in sampler], sampler.stats


def test_a_moving_scene_is_sampled_densely_a_still_one_once_a_second(people_clip, static_clip):
    times, stats = sample_times(people_clip, active_interval_s=0.25, active_hold_s=2.0)
    # The first sample has nothing to compare with; from the second on everything moves (gradient, pans).
    assert times[:2] == [0.0, 1.0]
    assert stats.active_samples == len(times) - 9 and len(times) >= 30, times
    assert max(b - a for a, b in itertools.pairwise(times[1:])) <= 0.25 + 0.2 + 1e-6
    still, still_stats = sample_times(static_clip, active_interval_s=0.25, active_hold_s=2.0)
    assert len(still) == 12 and still_stats.active_samples == 0


def test_dense_sampling_stops_once_the_scene_is_still(tmp_path, people_clip, static_clip):
    """Moving, then still: the dense samples end ``active_hold_s`` after the last moving sample."""
    from tests.scan_video import media

    clip = media.concat([people_clip, static_clip], tmp_path / "moving_then_still.mp4")
    times, stats = sample_times(clip, active_interval_s=0.5, active_hold_s=1.0)
    after = [t for t in times if t > 10.5]  # the still part starts at 9 s; its 2nd sample is still
    assert after and all(abs(t - round(t)) <= 0.2 for t in after), after  # one per second again
    assert 9 <= stats.active_samples <= 20, stats


def test_the_scan_samples_moving_people_at_the_active_rate(tmp_path, people_clip, session_settings, onnx_engine):
    config = ScanConfig.from_settings(session_settings, active_fps=4.0)
    analytic = scan(people_clip, tmp_path, session_settings, config=config, engine=onnx_engine).analytic
    sampling = analytic["sampling"]
    assert sampling["active_interval_s"] == 0.25 and sampling["frames_active"] >= 20
    assert sampling["frames_sampled"] == 9 + sampling["frames_active"]
    people = [e for e in analytic["events"] if e["label"] == "person"]
    assert 5 <= len(people) <= 6  # distinct people (2 + 4; the 4th bus person scores 0.17), not per sample
    off = ScanConfig.from_settings(session_settings, active_fps=0)
    assert off.active_interval_s == 0 and off.sample_step_s == off.interval_s
