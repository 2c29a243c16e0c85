"""``scan()``: probe → sample → (motion gate) → detect → track → faces (a few samples per person track)
→ events → assemble → validate → atomic write.

Everything the scan needs comes in as arguments (settings or a ready :class:`ScanConfig`; a loaded
:class:`ScanEngine`, or one still loading, can be reused across videos so models load once:
:func:`scan_many`). Without one, the models load on a thread of their own while the video is probed
and decoding starts. Decoding (and the motion gate) runs in a background thread and the sha256 of
the file is computed in another while inference runs on this one.
"""

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scan_video.assemble import build_analytic, detection_record, write_analytic
from scan_video.config import ScanConfig
from scan_video.detect import Detector, create_detector
from scan_video.errors import BadVideoError
from scan_video.events import build_events, confirmed_tracks, distinct_counts
from scan_video.face_library import FaceEncoder, FaceLibraryError, load_library
from scan_video.faces import FaceFinder, create_face_finder
from scan_video.frame_pass import run_frames
from scan_video.model_select import ResolvedDetector, resolve_detector, resolve_vehicle_detector
from scan_video.probe import check_input_file, fingerprint, probe_video
from scan_video.settings import ScanSettings
from scan_video.snapshots import BestFrames, attach_snapshots, prune_snapshots, write_cover
from scan_video.tracking import Track
from vv_core.hashing import compute_sha256
from vv_core.naming import artifact_id, camera_of, recorded_at_from_name

log = logging.getLogger("scan_video")


@dataclass
class ScanEngine:
    """Loaded models for one config: the detector (verified file) and the face finder."""

    config: ScanConfig
    model: ResolvedDetector
    detector: Detector
    faces: FaceFinder
    load_ms: float = 0.0
    known_faces: dict[str, list[list[float]]] = field(default_factory=dict)  # name → encodings
    encoder: "FaceEncoder | None" = None  # loaded only when there are known faces
    vehicle_model: ResolvedDetector | None = None  # the second detector (SCAN_VEHICLE_DETECTOR=on)
    vehicles: Detector | None = None
    # Videos scanned at once (scan_many) share the models; one inference at a time: the detector
    # already uses every core it is given, and not every backend may be called from two threads.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def load(cls, config: ScanConfig) -> "ScanEngine":
        started = time.perf_counter()
        model = resolve_detector(config)
        detector = create_detector(model, config)
        faces = create_face_finder(config.face_engine, min_size=config.face_min_size, models_dir=config.models_dir)
        known = _known_faces(config) if faces.engine != "disabled" else {}
        # Loaded at the first face to name: quiet footage never pays for dlib's import and models.
        encoder = FaceEncoder(lazy=True) if known and config.face_matches_per_track else None
        vehicle_model = vehicles = None
        if config.vehicle_detector == "on":
            from scan_video.detect_onnx import OnnxDetector

            vehicle_model = resolve_vehicle_detector(config)
            vehicles = OnnxDetector(vehicle_model.path, input_size=config.input_size, confidence=config.confidence,
                                    iou=config.iou, threads=config.threads)
        return cls(config, model, detector, faces, (time.perf_counter() - started) * 1000, known, encoder,
                   vehicle_model, vehicles)


def _known_faces(config: ScanConfig) -> dict[str, list[list[float]]]:
    """The face library; a broken one is logged and scanning goes on without names."""
    if config.face_library is None:
        return {}
    try:
        return load_library(config.face_library)
    except (FaceLibraryError, OSError) as exc:  # OSError: a picture the scanner may not read
        log.error("known faces not used: %s", exc)
        return {}


@dataclass
class ScanResult:
    path: Path
    analytic: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def sampling(self) -> dict[str, Any]:
        return self.analytic["sampling"]


def scan(video: str | Path, output_dir: str | Path | None = None, settings: ScanSettings | None = None, *,
         video_id: str | None = None, config: ScanConfig | None = None,
         engine: "ScanEngine | Future[ScanEngine] | None" = None) -> ScanResult:
    """Scan one video and write its analytic; raise :class:`ScanError` (one line) when it cannot.

    ``engine``: loaded models, or a future of them (still loading elsewhere); None loads them here.
    """
    started = time.perf_counter()
    settings = settings or ScanSettings()
    if config is None:
        config = engine.config if isinstance(engine, ScanEngine) else ScanConfig.from_settings(settings)
    video = Path(video)
    storage_root = settings.video_storage_root
    output_dir = Path(output_dir) if output_dir is not None else settings.storage.analytic
    timings: dict[str, float] = {}

    before = check_input_file(video)
    loading, loader = _engine_loading(engine, config)
    try:
        mark = time.perf_counter()
        info = probe_video(video, timeout_s=config.decode_timeout_s, max_pixels=config.max_pixels)
        timings["probe_ms"] = (time.perf_counter() - mark) * 1000
        vid = video_id or artifact_id(video, storage_root)
        log.info("scan started", extra={"video_id": vid, "duration_s": info.duration_s})
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan-hash") as pool:
            hashing = pool.submit(compute_sha256, video)  # hashlib releases the GIL: free on the 2nd core
            found, tracks, best, votes, counters, frame_timings, engine = run_frames(video, info, config, loading)
            source_hash = hashing.result()
    finally:
        if loader is not None:
            loader.shutdown(wait=False)  # a probe error does not wait for the models
    timings["model_load_ms"] = engine.load_ms
    timings.update(frame_timings)

    after = fingerprint(video)
    if after != before:
        raise BadVideoError(f"{video.name}: changed while it was scanned (still being written?)")

    recorded_at = recorded_at_from_name(video) or info.creation_time
    detections = [
        detection_record(time_s=time_s, recorded_at=recorded_at, kind=kind, label=label, confidence=conf,
                         box=box, width=width, height=height)
        for time_s, kind, label, conf, box, width, height in found
    ]
    events, cover = _events(tracks, best, votes, config, timings, recorded_at=recorded_at, info=info,
                            storage_root=storage_root, video_id=vid)
    timings["total_ms"] = (time.perf_counter() - started) * 1000
    document = build_analytic(
        video_id=vid, source=str(video), source_hash=source_hash, recorded_at=recorded_at,
        camera=camera_of(video, storage_root),
        video={"duration_s": info.duration_s, "fps": info.fps, "width": info.width, "height": info.height,
               "codec": info.codec, "size_bytes": info.size_bytes},
        model=_model_block(engine, config),
        faces={"engine": engine.faces.engine, "degraded": engine.faces.degraded,
               **({"known_faces": len(engine.known_faces)} if engine.known_faces else {})},
        sampling=_sampling_block(config, counters),
        timings=timings, detections=detections, events=events,
        tracking=_tracking_block(config, tracks), cover=cover,
    )
    path = write_analytic(document, output_dir)
    prune_snapshots(events, storage_root=storage_root, video_id=vid)  # a rescan's stale files, now unreferenced
    log.info("scan written", extra={"video_id": vid, "path": str(path), "total_ms": round(timings["total_ms"]),
                                    "events": distinct_counts(events)})
    return ScanResult(path, document, timings)


def scan_many(videos: Sequence[str | Path], output_dir: str | Path | None = None,
              settings: ScanSettings | None = None, *, video_ids: Sequence[str | None] | None = None,
              config: ScanConfig | None = None) -> Iterator[tuple[Path, "ScanResult | Exception"]]:
    """Scan videos with the models loaded once; yield (video, result or error) in the given order.

    ``config.parallel_videos`` videos are scanned at once: their decoders (one thread each) run side
    by side while inference takes turns (:attr:`ScanEngine.lock`), so a decode-bound video (a static
    scene) no longer leaves a core idle. One video's failure (bad input, or even an internal error) is
    yielded and the others are scanned: a batch never loses the videos after a bad one. The models
    start loading at once, beside the first videos' probes.
    """
    settings = settings or ScanSettings()
    config = config or ScanConfig.from_settings(settings)
    ids = list(video_ids) if video_ids is not None else [None] * len(videos)
    if len(ids) != len(videos):
        raise ValueError(f"{len(ids)} ids for {len(videos)} videos")

    def one(video: str | Path, vid: str | None) -> "ScanResult | Exception":
        try:
            return scan(video, output_dir, settings, video_id=vid, config=config, engine=loading)
        except Exception as exc:  # reported per video by the caller
            return exc

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan-load") as loader, \
            ThreadPoolExecutor(max_workers=config.parallel_videos, thread_name_prefix="scan-video") as pool:
        loading = loader.submit(ScanEngine.load, config)
        running = [pool.submit(one, video, vid) for video, vid in zip(videos, ids, strict=True)]
        try:
            for video, outcome in zip(videos, running, strict=True):
                yield Path(video), outcome.result()
        finally:
            for future in running:  # a caller that stops early: the videos not started are not scanned
                future.cancel()


def _events(tracks: list[Track], best: BestFrames, votes: dict[int, list[str | None]], config: ScanConfig,
            timings: dict[str, float], *, recorded_at: str | None, info: Any, storage_root: Path,
            video_id: str) -> tuple[list[dict[str, Any]], str | None]:
    """The confirmed tracks as events, with identities and (when on) snapshots; and the cover image."""
    mark = time.perf_counter()
    policy = config.event_policy()
    events = build_events(tracks, policy, recorded_at=recorded_at, width=info.width, height=info.height)
    timings["tracking_ms"] += (time.perf_counter() - mark) * 1000
    attach_identities(events, confirmed_tracks(tracks, policy), votes)
    cover = None
    if config.snapshots:
        mark = time.perf_counter()
        attach_snapshots(events, confirmed_tracks(tracks, policy), best, storage_root=storage_root,
                         video_id=video_id)
        cover = write_cover(events, storage_root=storage_root, video_id=video_id)
        timings["snapshots_ms"] = (time.perf_counter() - mark) * 1000
    return events, cover


def _engine_loading(engine: "ScanEngine | Future[ScanEngine] | None",
                    config: ScanConfig) -> "tuple[Future[ScanEngine], ThreadPoolExecutor | None]":
    """The engine as a future, and the loader thread to shut down when this scan loaded it itself.

    The models load on another thread while this one probes and the decoder starts: on a static
    scene, loading and decoding are most of the work, and they need different cores."""
    if isinstance(engine, ScanEngine):
        ready: Future[ScanEngine] = Future()
        ready.set_result(engine)
        return ready, None
    if engine is None:
        loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan-load")
        return loader.submit(ScanEngine.load, config), loader
    return engine, None


def _model_block(engine: "ScanEngine", config: ScanConfig) -> dict[str, Any]:
    vehicles = engine.vehicle_model
    return {"name": engine.model.name, "version": engine.model.version, "sha256": engine.model.sha256,
            "backend": engine.detector.backend, "input_size": engine.detector.input_size,
            "confidence_threshold": config.confidence,
            **({"vehicles": {"name": vehicles.name, "version": vehicles.version, "sha256": vehicles.sha256}}
               if vehicles else {})}


def _sampling_block(config: ScanConfig, counters: dict[str, Any]) -> dict[str, Any]:
    return {"interval_s": config.interval_s, "method": counters.pop("method"), "motion_gating": config.motion_gating,
            "min_inference_interval_s": config.min_inference_interval_s, "keyframe_snap_s": config.keyframe_snap_s,
            "frame_tolerance_s": config.frame_tolerance_s, **counters}


def _tracking_block(config: ScanConfig, tracks: list[Track]) -> dict[str, Any]:
    """How detections became events (the analytic records the rule that made its events)."""
    return {"tracker": "bytetrack", "tracks": len(tracks), "min_score": config.min_score,
            "min_score_labels": dict(config.min_score_labels), "threshold": config.track_threshold,
            "threshold_labels": dict(config.track_threshold_labels), "min_samples": config.track_min_samples,
            "max_gap_s": config.track_max_gap_s,
            "fall": {"labels": sorted(config.fall_labels), "min_s": config.fall_min_s,
                     "min_fraction": config.fall_min_fraction, "min_aspect": config.fall_min_aspect}}


def attach_identities(events: list[dict[str, Any]], tracks: list[Track], votes: dict[int, list[str | None]]) -> None:
    """``identity`` of each person event whose faces were matched: the name most of its crops matched,
    else None (faces seen, nobody known)."""
    for event, track in zip(events, tracks, strict=True):
        tally = votes.get(id(track))
        if not tally:
            continue
        names = [name for name in tally if name is not None]
        name = max(sorted(set(names)), key=names.count) if names else None
        event["identity"] = {"name": name, "faces": len(tally), "matched": names.count(name) if name else 0}
