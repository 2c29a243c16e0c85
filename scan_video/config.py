"""This stage's settings as one validated object, built from the shared ``vv_core.settings.Settings``.

Comma lists and ``OLD=NEW`` pairs from the environment are parsed here once, so the rest of the
stage deals only in typed values. ``extra="forbid"``: a misspelt override is an error, not a no-op.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from scan_video.errors import ScanError
from vv_core.settings import Settings

if TYPE_CHECKING:
    from scan_video.events import EventPolicy
    from scan_video.tracking import TrackLinker

Backend = Literal["onnxruntime", "ultralytics"]
FaceEngine = Literal["dlib_hog", "dlib_cnn", "opencv_haar", "disabled"]


class ScanConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    interval_s: float = Field(1.0, gt=0, description="Seconds between samples.")
    backend: Backend = Field("onnxruntime", description="Detector runtime.")
    detector_model: str = Field("", description="Manifest name of the detector ('' = default).")
    detector_version: str = Field("", description="Manifest version ('' = newest).")
    models_dir: Path = Field(Path("models"), description="Where the manifest and installed models live.")
    input_size: int = Field(640, ge=32, description="Detector input size (square letterbox).")
    confidence: float = Field(0.25, ge=0, le=1, description="Minimum detection confidence.")
    iou: float = Field(0.45, ge=0, le=1, description="NMS IoU threshold.")
    threads: int = Field(2, ge=1, description="Inference threads.")
    parallel_videos: int = Field(2, ge=1, description="Videos of a batch scanned at once (scan_many).")
    class_rename: dict[str, str] = Field(default_factory=dict, description="Model class → output label.")
    class_filter: frozenset[str] = Field(frozenset(), description="Labels kept (empty: all).")
    person_labels: frozenset[str] = Field(frozenset({"person"}), description="Labels searched for faces.")
    motion_gating: bool = Field(True, description="Skip inference on unchanged frames.")
    motion_width: int = Field(160, ge=16, description="Motion thumbnail width.")
    motion_pixel_delta: int = Field(25, ge=1, le=255, description="Grey change counting a pixel.")
    motion_threshold: float = Field(0.005, ge=0, le=1, description="Changed-pixel fraction = motion.")
    min_inference_interval_s: float = Field(10.0, ge=0, description="Inference at least this often.")
    keyframe_snap_s: float = Field(0.0, ge=0, description="Allowed move of a sample to a keyframe.")
    frame_tolerance_s: float = Field(0.2, ge=0, description="Allowed forward move of a sample when "
                                     "non-reference frames are skipped (0: frame-exact).")
    face_engine: FaceEngine = Field("dlib_hog", description="Face detector.")
    face_min_size: int = Field(1000, ge=32, description="Person boxes upscaled to this height.")
    min_score: float = Field(0.5, ge=0, le=1, description="Single detections below this are not tracked.")
    min_score_labels: dict[str, float] = Field(default_factory=dict, description="Per-label min_score.")
    track_threshold: float = Field(0.5, ge=0, le=1, description="Median track score making an event.")
    track_threshold_labels: dict[str, float] = Field(default_factory=dict, description="Per-label threshold.")
    track_min_samples: int = Field(2, ge=1, description="Samples a track needs to be an event.")
    track_max_gap_s: float = Field(3.0, gt=0, description="Seconds a track may go unseen before it ends.")
    fall_labels: frozenset[str] = Field(frozenset({"person_fallen"}), description="The fall class's labels.")
    fall_min_s: float = Field(2.0, ge=0, description="Time the fall class must persist on a track.")
    fall_min_fraction: float = Field(0.5, ge=0, le=1, description="Share of a track's samples that are falls.")
    fall_min_aspect: float = Field(1.0, ge=0, description="Width/height a fall sample's box needs.")
    snapshots: bool = Field(True, description="Write each event's best frame and crop as JPEG.")
    face_library: Path | None = Field(None, description="Known faces (state/faces/library.json); None: none.")
    face_tolerance: float = Field(0.6, gt=0, le=2, description="Largest encoding distance naming a face.")
    face_matches_per_track: int = Field(3, ge=0, description="Face crops of one track matched at most.")
    decode_timeout_s: float = Field(30.0, gt=0, description="Probe / per-frame decode timeout.")
    max_pixels: int = Field(8_912_896, ge=1, description="Largest accepted frame area.")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> "ScanConfig":
        """The stage config from the shared settings; ``overrides`` win (tests, benchmarks)."""
        values: dict[str, object] = {
            "interval_s": settings.scan_interval_s,
            "backend": settings.scan_backend,
            "detector_model": settings.scan_detector_model,
            "detector_version": settings.scan_detector_version,
            "models_dir": settings.models_dir,
            "input_size": settings.scan_input_size,
            "confidence": settings.scan_confidence,
            "iou": settings.scan_iou,
            "threads": settings.scan_threads,
            "parallel_videos": settings.scan_parallel_videos,
            "class_rename": parse_rename(settings.scan_class_rename),
            "class_filter": parse_list(settings.scan_class_filter),
            "person_labels": parse_list(settings.scan_person_labels),
            "motion_gating": settings.scan_motion_gating,
            "motion_width": settings.scan_motion_width,
            "motion_pixel_delta": settings.scan_motion_pixel_delta,
            "motion_threshold": settings.scan_motion_threshold,
            "min_inference_interval_s": settings.scan_min_inference_interval_s,
            "keyframe_snap_s": settings.scan_keyframe_snap_s,
            "frame_tolerance_s": settings.scan_frame_tolerance_s,
            "face_engine": settings.scan_face_engine,
            "face_min_size": settings.scan_face_min_size,
            "min_score": settings.scan_min_score,
            "min_score_labels": parse_scores(settings.scan_min_score_labels, "SCAN_MIN_SCORE_LABELS"),
            "track_threshold": settings.scan_track_threshold,
            "track_threshold_labels": parse_scores(settings.scan_track_threshold_labels,
                                                   "SCAN_TRACK_THRESHOLD_LABELS"),
            "track_min_samples": settings.scan_track_min_samples,
            "track_max_gap_s": settings.scan_track_max_gap_s,
            "fall_labels": parse_list(settings.scan_fall_labels),
            "fall_min_s": settings.scan_fall_min_s,
            "fall_min_fraction": settings.scan_fall_min_fraction,
            "fall_min_aspect": settings.scan_fall_min_aspect,
            "snapshots": settings.scan_snapshots,
            "face_library": settings.storage.state / "faces" / "library.json",
            "face_tolerance": settings.scan_face_tolerance,
            "face_matches_per_track": settings.scan_face_matches_per_track,
            "decode_timeout_s": settings.scan_decode_timeout_s,
            "max_pixels": settings.scan_max_pixels,
        }
        values.update(overrides)
        return cls(**values)

    def event_policy(self) -> "EventPolicy":
        from scan_video.events import EventPolicy

        return EventPolicy(threshold=self.track_threshold, thresholds=dict(self.track_threshold_labels),
                           min_samples=self.track_min_samples, fall_labels=self.fall_labels,
                           fall_min_s=self.fall_min_s, fall_min_fraction=self.fall_min_fraction,
                           fall_min_aspect=self.fall_min_aspect)

    def track_linker(self) -> "TrackLinker":
        from scan_video.tracking import TrackLinker

        # The tracker counts inferred frames; samples come every interval_s at most.
        gap = max(1, round(self.track_max_gap_s / self.interval_s))
        return TrackLinker(min_score=dict(self.min_score_labels), default_min_score=self.min_score,
                           person_labels=self.person_labels, max_gap_samples=gap)

    def label_for(self, class_name: str) -> str | None:
        """Output label of a model class, or None when the filter drops it."""
        label = self.class_rename.get(class_name, class_name)
        if self.class_filter and label not in self.class_filter:
            return None
        return label


def parse_scores(text: str, name: str) -> dict[str, float]:
    """``"person=0.6, car=0.7"`` → ``{"person": 0.6, "car": 0.7}`` (scores in [0, 1])."""
    scores: dict[str, float] = {}
    for label, value in parse_rename(text, name).items():
        try:
            score = float(value)
        except ValueError:
            score = -1.0
        if not 0 <= score <= 1:
            raise ScanError(f"{name} entry {label}={value} needs a score between 0 and 1")
        scores[label] = score
    return scores


def parse_list(text: str) -> frozenset[str]:
    return frozenset(item.strip() for item in text.split(",") if item.strip())


def parse_rename(text: str, name: str = "SCAN_CLASS_RENAME") -> dict[str, str]:
    """``"Normal=person, Fall=person_fallen"`` → ``{"Normal": "person", "Fall": "person_fallen"}``."""
    mapping: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ScanError(f"{name} entry {item.strip()!r} is not OLD=NEW")
        mapping[old.strip()] = new.strip()
    return mapping
