"""Motion gating: decide from a tiny grey thumbnail whether a sampled frame needs inference at all.

This is what good NVRs do: a static scene costs a resize and a subtraction per sample (~0.2 ms)
instead of a detector run (and, fed the decoder's luma plane, not even a colour conversion). The
comparison is against the last frame that *was* inferred (not the previous sample), so slow
changes accumulate until they trigger. A minimum inference interval keeps
reporting objects that stand still (the scanner skips it when the last inference found nothing:
an unchanged empty scene stays empty).
"""

from dataclasses import dataclass
from typing import Any


@dataclass
class GateDecision:
    infer: bool
    reason: str          # "first", "motion", "min_interval", "gating_off", "static"
    changed_fraction: float


class MotionGate:
    def __init__(self, *, enabled: bool = True, width: int = 160, pixel_delta: int = 25,
                 threshold: float = 0.005, min_interval_s: float = 10.0) -> None:
        self.enabled = enabled
        self.width = width
        self.pixel_delta = pixel_delta
        self.threshold = threshold
        self.min_interval_s = min_interval_s
        self._reference: Any = None
        self._reference_time: float | None = None

    def thumbnail(self, image: Any) -> Any:
        """Small blurred grey image from a grey (luma plane) or BGR frame."""
        import cv2

        height, width = image.shape[:2]
        size = (self.width, max(1, round(height * self.width / width)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        grey = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        return cv2.GaussianBlur(grey, (5, 5), 0)  # sensor noise and compression shimmer are not motion

    def changed_fraction(self, thumbnail: Any) -> float:
        import cv2

        if self._reference is None or self._reference.shape != thumbnail.shape:
            return 1.0
        difference = cv2.absdiff(thumbnail, self._reference)
        changed = cv2.countNonZero(cv2.threshold(difference, self.pixel_delta, 255, cv2.THRESH_BINARY)[1])
        return changed / difference.size

    def decide(self, image: Any, time_s: float) -> GateDecision:
        if not self.enabled:
            return GateDecision(True, "gating_off", 1.0)
        thumbnail = self.thumbnail(image)
        if self._reference is None:
            decision = GateDecision(True, "first", 1.0)
        else:
            fraction = self.changed_fraction(thumbnail)
            if fraction > self.threshold:
                decision = GateDecision(True, "motion", fraction)
            elif self._reference_time is not None and time_s - self._reference_time >= self.min_interval_s:
                decision = GateDecision(True, "min_interval", fraction)
            else:
                decision = GateDecision(False, "static", fraction)
        if decision.infer:
            self._reference = thumbnail
            self._reference_time = time_s
        return decision


class ActivityMeter:
    """Whether the scene moved since the previous sample (adaptive sampling): the motion gate's
    thumbnail difference, against the last sample rather than the last inferred frame."""

    def __init__(self, *, width: int = 160, pixel_delta: int = 25, threshold: float = 0.005) -> None:
        self._gate = MotionGate(width=width, pixel_delta=pixel_delta, threshold=threshold, min_interval_s=0.0)

    def moved(self, grey: Any) -> bool:
        return self._gate.decide(grey, 0.0).reason == "motion"
