"""One video's sampled frames through the models, in order: detect → track → keep snapshot candidates →
search faces on a few samples of each person track (and name them against the known faces).

The decoder thread (:class:`~scan_video.sampling.FrameSampler`) plans the samples and runs the motion
gate; :func:`run_frames` takes what reaches it, with the models from a :class:`ScanEngine` that may
still be loading when decoding starts."""

import time
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scan_video.config import ScanConfig
from scan_video.errors import BadVideoError
from scan_video.face_library import best_match
from scan_video.face_tracks import FaceBudget, face_owner
from scan_video.motion import ActivityMeter, MotionGate
from scan_video.sampling import FrameSampler
from scan_video.snapshots import BestFrames
from scan_video.tracking import FrameDetection, Track
from vv_core.progress import progress

if TYPE_CHECKING:
    from scan_video.scanner import ScanEngine


def run_frames(video: Path, info: Any, config: ScanConfig, loading: "Future[ScanEngine]",
                ) -> tuple[list[tuple], list[Track], BestFrames, dict[int, list[str | None]], dict[str, Any],
                           dict[str, float], "ScanEngine"]:
    # The decoder thread indexes the keyframes (packets only), plans the samples and runs the motion
    # gate; it starts before the models are ready and only frames that need the detector reach us.
    gate = MotionGate(enabled=config.motion_gating, width=config.motion_width,
                      pixel_delta=config.motion_pixel_delta, threshold=config.motion_threshold,
                      min_interval_s=config.min_inference_interval_s)
    sampler = FrameSampler(info, interval_s=config.interval_s, snap_s=config.keyframe_snap_s,
                           tolerance_s=config.frame_tolerance_s, decode_timeout_s=config.decode_timeout_s,
                           gate=gate, active_interval_s=config.active_interval_s, active_hold_s=config.active_hold_s,
                           activity=ActivityMeter(width=config.motion_width, pixel_delta=config.motion_pixel_delta,
                                                  threshold=config.motion_threshold))
    sampler.start()
    reporting = progress(f"scan {video.name}", total=info.duration_s or None, unit="s")
    task = reporting.__enter__()   # closed in the finally below, with the sampler
    try:
        mark = time.perf_counter()
        engine = loading.result()
        frames = _FramePass(config, engine)
        frames.spent["model_wait_ms"] = (time.perf_counter() - mark) * 1000
        mark = time.perf_counter()
        for frame in sampler:
            task.update(frame.time_s)
            frames.take(frame, waited_since=mark)
            mark = time.perf_counter()
    finally:
        sampler.close()
        reporting.__exit__(None, None, None)
    if frames.sampled == 0:
        raise BadVideoError(f"{video.name}: no frame could be decoded")
    stats = sampler.stats
    counters = {"method": "keyframe_seek" if sampler.keyframes else "sequential_grab",
                "frames_sampled": frames.sampled, "frames_inferred": frames.inferred,
                "frames_skipped_motion": frames.skipped, "frames_decoded": stats.frames_decoded,
                "seeks": stats.seeks, "active_interval_s": round(config.active_interval_s, 6),
                "frames_active": stats.active_samples}
    spent = frames.spent
    spent["decode_ms_per_sample"] = spent["decode_ms"] / frames.sampled
    if frames.inferred:
        spent["inference_ms_per_frame"] = spent["inference_ms"] / frames.inferred
    return frames.found, frames.linker.tracks, frames.best, frames.votes, counters, spent, engine


class _FramePass:
    """One video's sampled frames in order: detect → track → snapshot candidates → faces per track."""

    def __init__(self, config: ScanConfig, engine: "ScanEngine") -> None:
        self.config = config
        self.engine = engine
        self.found: list[tuple] = []
        self.linker = config.track_linker()
        self.best = BestFrames()  # each track's best frame so far, for its snapshot
        self.previous: dict[float, Any] = {}  # the last inferred frame, by time
        self.votes: dict[int, list[str | None]] = {}  # id(track) → names its face crops matched (None: unknown)
        self.sampled = self.inferred = self.skipped = 0
        self.spent = {"decode_ms": 0.0, "wait_ms": 0.0, "motion_ms": 0.0, "inference_ms": 0.0, "faces_ms": 0.0,
                      "lock_wait_ms": 0.0, "tracking_ms": 0.0, "vehicles_ms": 0.0}
        self.face_budget = FaceBudget(config.face_matches_per_track, enabled=engine.faces.engine != "disabled")

    def take(self, frame: Any, *, waited_since: float) -> None:
        now = time.perf_counter()
        self.spent["wait_ms"] += (now - waited_since) * 1000
        self.spent["decode_ms"] += frame.decode_ms
        self.spent["motion_ms"] += frame.motion_ms
        self.sampled += 1
        if not frame.infer or (frame.decision is not None and frame.decision.reason == "min_interval"
                               and self.linker.idle):
            # Unchanged since the last inference; the minimum rate re-checks objects standing still,
            # and with nothing in view at that inference there is nothing to re-check.
            self.skipped += 1
            self.linker.hold(frame.time_s)  # unchanged since the last inference: its objects are still there
            self.spent["tracking_ms"] += (time.perf_counter() - now) * 1000
            return
        self.inferred += 1
        image = frame.image  # BGR, converted only for the frames that reach the detector
        kept = self._detect(frame.time_s, image, frame.shape, since=now)
        mark = time.perf_counter()
        updated = self._track(frame.time_s, image, kept)
        before_faces = time.perf_counter()
        self.spent["tracking_ms"] += (before_faces - mark) * 1000
        self._search_faces(frame.time_s, image, frame.shape, updated)
        self.spent["faces_ms"] += (time.perf_counter() - before_faces) * 1000

    def _detect(self, time_s: float, image: Any, shape: tuple[int, int], *, since: float) -> list[FrameDetection]:
        height, width = shape
        engine, kept = self.engine, []
        with engine.lock:
            before_detect = time.perf_counter()
            self.spent["lock_wait_ms"] += (before_detect - since) * 1000
            detections = engine.detector.detect(image)
            if engine.vehicles is not None:  # same frame, same pass: boxes only
                before_vehicles = time.perf_counter()
                detections = detections + engine.vehicles.detect(image)
                self.spent["vehicles_ms"] += (time.perf_counter() - before_vehicles) * 1000
            after_detect = time.perf_counter()
            for det in detections:
                label = self.config.label_for(det.class_name)
                if label is None:
                    continue
                self.found.append((time_s, "object", label, det.confidence, det.box, width, height))
                kept.append(FrameDetection(label, det.confidence, det.box))
        self.spent["inference_ms"] += (after_detect - before_detect) * 1000
        return kept

    def _track(self, time_s: float, image: Any, kept: list[FrameDetection]) -> list[Track]:
        updated = self.linker.add(time_s, kept)
        if self.config.snapshots:
            for track in updated:
                # A new track may start with the previous inferred frame's detection (see tracking).
                for seen in track.observations[-2:]:
                    frame_image = image if seen.time_s == time_s else self.previous.get(seen.time_s)
                    if frame_image is not None and not seen.held:
                        self.best.offer(track, seen.time_s, seen.confidence, seen.box, frame_image)
        self.previous = {time_s: image}
        return updated

    def _search_faces(self, time_s: float, image: Any, shape: tuple[int, int], updated: list[Track]) -> None:
        height, width = shape
        searched = self.face_budget.choose(updated)
        if not searched:
            return
        engine = self.engine
        with engine.lock:
            faces = engine.faces.find(image, [t.observations[-1].box for t in searched])
            self.face_budget.record(faces, searched, updated)
            if engine.encoder is not None and faces:
                identify_faces(engine, self.config, image, faces, updated, self.votes, searched)
        for face in faces:
            self.found.append((time_s, "face", "face", face.confidence, face.box, width, height))


def identify_faces(engine: "ScanEngine", config: ScanConfig, image: Any, faces: list[Any], tracks: list[Track],
                   votes: dict[int, list[str | None]], searched: list[Track]) -> None:
    """Match the faces found for the ``searched`` person tracks against the known faces, a few per track.

    A face belongs to the tightest person box of the frame around it (``tracks``: every track the
    frame updated), so a face found in a searched box that overlaps another person is not counted twice
    or put on the wrong track."""
    wanted = {id(t) for t in searched}
    for face in faces:
        owner = face_owner(face, tracks)
        if owner is None or id(owner) not in wanted:
            continue
        tally = votes.setdefault(id(owner), [])
        if len(tally) < config.face_matches_per_track:
            tally.append(best_match(engine.encoder.encode(image, face.box), engine.known_faces,
                                    config.face_tolerance))
