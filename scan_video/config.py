"""This stage's settings as one validated object, built from ScanSettings (scan_video/settings.py).

Comma lists and ``OLD=NEW`` pairs from the environment are parsed here once, so the rest of the
stage deals only in typed values. ``extra="forbid"``: a misspelt override is an error, not a no-op.
"""

from copy import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from scan_video.errors import ScanError
from scan_video.settings import ScanSettings

if TYPE_CHECKING:
    from scan_video.events import EventPolicy
    from scan_video.tracking import TrackLinker

Backend = Literal["onnxruntime", "ultralytics"]
FaceEngine = Literal["dlib_hog", "dlib_cnn", "opencv_haar", "disabled"]


def _scan_field(name: str) -> Any:
    """The field as ScanSettings declares it (default, bounds, description): declared once."""
    return copy(ScanSettings.model_fields[f"scan_{name}"])


class ScanConfig(BaseModel):
    """The stage's typed settings. Every plain field is ScanSettings' ``SCAN_<NAME>`` field itself;
    only the comma lists are re-typed (parsed once here) and two paths are added."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval_s: float = _scan_field("interval_s")
    active_fps: float = _scan_field("active_fps")
    active_hold_s: float = _scan_field("active_hold_s")
    backend: Backend = _scan_field("backend")
    detector_model: str = _scan_field("detector_model")
    detector_version: str = _scan_field("detector_version")
    vehicle_detector: Literal["off", "on"] = _scan_field("vehicle_detector")
    vehicle_model: str = _scan_field("vehicle_model")
    models_dir: Path = Field(Path("models"), description="Where the manifest and installed models live.")
    input_size: int = _scan_field("input_size")
    confidence: float = _scan_field("confidence")
    iou: float = _scan_field("iou")
    threads: int = _scan_field("threads")
    parallel_videos: int = _scan_field("parallel_videos")
    class_rename: dict[str, str] = Field(default_factory=dict, description="Model class → output label.")
    class_filter: frozenset[str] = Field(frozenset(), description="Labels kept (empty: all).")
    person_labels: frozenset[str] = Field(frozenset({"person"}), description="Labels searched for faces.")
    motion_gating: bool = _scan_field("motion_gating")
    motion_width: int = _scan_field("motion_width")
    motion_pixel_delta: int = _scan_field("motion_pixel_delta")
    motion_threshold: float = _scan_field("motion_threshold")
    min_inference_interval_s: float = _scan_field("min_inference_interval_s")
    keyframe_snap_s: float = _scan_field("keyframe_snap_s")
    frame_tolerance_s: float = _scan_field("frame_tolerance_s")
    face_engine: FaceEngine = _scan_field("face_engine")
    face_min_size: int = _scan_field("face_min_size")
    min_score: float = _scan_field("min_score")
    min_score_labels: dict[str, float] = Field(default_factory=dict, description="Per-label min_score.")
    track_threshold: float = _scan_field("track_threshold")
    track_threshold_labels: dict[str, float] = Field(default_factory=dict, description="Per-label threshold.")
    track_min_samples: int = _scan_field("track_min_samples")
    track_max_gap_s: float = _scan_field("track_max_gap_s")
    fall_labels: frozenset[str] = Field(frozenset({"person_fallen"}), description="The fall class's labels.")
    fall_min_s: float = _scan_field("fall_min_s")
    fall_min_fraction: float = _scan_field("fall_min_fraction")
    fall_min_aspect: float = _scan_field("fall_min_aspect")
    fall_threshold: float = _scan_field("fall_threshold")
    snapshots: bool = _scan_field("snapshots")
    face_library: Path | None = Field(None, description="Known faces (state/faces/library.json); None: none.")
    face_tolerance: float = _scan_field("face_tolerance")
    face_matches_per_track: int = _scan_field("face_matches_per_track")
    decode_timeout_s: float = _scan_field("decode_timeout_s")
    max_pixels: int = _scan_field("max_pixels")

    @classmethod
    def from_settings(cls, settings: ScanSettings, **overrides: object) -> "ScanConfig":
        """The stage config from the stage's settings; ``overrides`` win (tests, benchmarks)."""
        plain = {name: value for name, value in settings.model_dump().items()
                 if name.startswith("scan_") and name.removeprefix("scan_") in _PLAIN_FIELDS}
        values: dict[str, object] = {name.removeprefix("scan_"): value for name, value in plain.items()}
        values.update({
            "models_dir": settings.models_dir,
            "class_rename": parse_rename(settings.scan_class_rename),
            "class_filter": parse_list(settings.scan_class_filter),
            "person_labels": parse_list(settings.scan_person_labels),
            "min_score_labels": parse_scores(settings.scan_min_score_labels, "SCAN_MIN_SCORE_LABELS"),
            "track_threshold_labels": parse_scores(settings.scan_track_threshold_labels,
                                                   "SCAN_TRACK_THRESHOLD_LABELS"),
            "fall_labels": parse_list(settings.scan_fall_labels),
            "face_library": settings.storage.face_library,
        })
        values.update(overrides)
        return cls(**values)

    def event_policy(self) -> "EventPolicy":
        from scan_video.events import EventPolicy

        return EventPolicy(threshold=self.track_threshold, thresholds=dict(self.track_threshold_labels),
                           min_samples=self.track_min_samples, fall_labels=self.fall_labels,
                           fall_min_s=self.fall_min_s, fall_min_fraction=self.fall_min_fraction,
                           fall_min_aspect=self.fall_min_aspect, fall_threshold=self.fall_threshold)

    def track_linker(self) -> "TrackLinker":
        from scan_video.tracking import TrackLinker

        # The tracker counts inferred frames; samples come every sample_step_s at most.
        gap = max(1, round(self.track_max_gap_s / self.sample_step_s))
        return TrackLinker(min_score=dict(self.min_score_labels), default_min_score=self.min_score,
                           person_labels=self.person_labels, max_gap_samples=gap)

    @property
    def active_interval_s(self) -> float:
        """Seconds between samples while the scene moves (0: adaptive sampling off)."""
        interval = 1.0 / self.active_fps if self.active_fps else 0.0
        return interval if 0 < interval < self.interval_s else 0.0

    @property
    def sample_step_s(self) -> float:
        """The shortest time between two samples."""
        return self.active_interval_s or self.interval_s

    def label_for(self, class_name: str) -> str | None:
        """Output label of a model class, or None when the filter drops it."""
        label = self.class_rename.get(class_name, class_name)
        if self.class_filter and label not in self.class_filter:
            return None
        return label


# The comma-list settings ScanConfig holds parsed; every other SCAN_<NAME> is its field <name> as is.
_PARSED = frozenset({"class_rename", "class_filter", "person_labels", "min_score_labels",
                     "track_threshold_labels", "fall_labels"})
_PLAIN_FIELDS = frozenset(name for name in ScanConfig.model_fields
                          if f"scan_{name}" in ScanSettings.model_fields and name not in _PARSED)


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
