"""Tracks, not frames: detections of the sampled frames linked into one track per object.

The linking is ByteTrack (Kalman-predicted boxes matched by IoU), from the ``supervision`` package;
this module only feeds it and keeps, per track, every observation the scan made of the object.
Objects are tracked per *group*: every person label (``Normal``/``Fall`` of the default fall
detector, renamed ``person``/``person_fallen``) is one group, so a person who falls keeps one track
whose class changes; any other label is a group of its own (a car never continues a person's track).

Frames the motion gate skipped did not change since the last inference, so the objects seen there
are still there: :meth:`TrackLinker.hold` records them as *held* observations (same box and score),
which extend a track's time span without adding evidence to its score.
"""

import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

from scan_video.detect import box_iou

PERSON_GROUP = "person"
# A new ByteTrack track is reported from its second frame on; its first detection is found again
# among the previous frame's unmatched ones by overlap with the new track's first box.
_FIRST_BOX_IOU = 0.3
# A detection belongs to the track whose (Kalman-smoothed) box it overlaps most, at least this much.
_OUTPUT_IOU = 0.3
# warnings.catch_warnings() swaps process-wide state: videos of a batch build their trackers on
# several threads (scan_many), so they take turns.
_WARNINGS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Observation:
    time_s: float
    label: str
    confidence: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in frame pixels
    held: bool = False                       # a motion-gated sample: the last inference carried over

    @property
    def aspect(self) -> float:
        """Width / height of the box (> 1: wider than tall, e.g. a person lying down)."""
        x1, y1, x2, y2 = self.box
        return (x2 - x1) / max(y2 - y1, 1e-6)


@dataclass
class Track:
    track_id: int
    group: str
    observations: list[Observation] = field(default_factory=list)

    @property
    def detected(self) -> list[Observation]:
        """The observations the detector made (not held over)."""
        return [o for o in self.observations if not o.held]

    @property
    def first_s(self) -> float:
        return self.observations[0].time_s

    @property
    def last_s(self) -> float:
        return self.observations[-1].time_s


@dataclass(frozen=True)
class FrameDetection:
    label: str
    confidence: float
    box: tuple[float, float, float, float]


class TrackLinker:
    """Feed it every sampled frame in time order (:meth:`add` or :meth:`hold`), then read :attr:`tracks`.

    ``min_score``: label → the score below which a single detection is dropped before tracking.
    ``max_gap_samples``: inferred frames a track may go unseen before it ends.
    """

    def __init__(self, *, min_score: dict[str, float], default_min_score: float,
                 person_labels: Iterable[str], max_gap_samples: int) -> None:
        self.min_score = dict(min_score)
        self.default_min_score = default_min_score
        self.person_labels = frozenset(person_labels)
        self.max_gap_samples = max(1, max_gap_samples)
        self._trackers: dict[str, object] = {}
        self._tracks: dict[tuple[str, int], Track] = {}
        self._unmatched: dict[str, list[Observation]] = {}  # the previous frame's, per group
        self._current: list[Track] = []                      # seen at the last inference

    def group_of(self, label: str) -> str:
        return PERSON_GROUP if label in self.person_labels else label

    def threshold_for(self, label: str) -> float:
        return self.min_score.get(label, self.default_min_score)

    def _tracker(self, group: str) -> object:
        tracker = self._trackers.get(group)
        if tracker is None:
            with _WARNINGS_LOCK, warnings.catch_warnings():
                # supervision marks ByteTrack deprecated in favour of the `trackers` package, which
                # requires the GUI build of OpenCV (a second cv2 distribution); see requirements/ml.txt.
                warnings.simplefilter("ignore", FutureWarning)
                import supervision as sv

                tracker = sv.ByteTrack(
                    # every detection fed already passed min_score: all of them may start a track
                    track_activation_threshold=0.0, minimum_matching_threshold=0.8,
                    lost_track_buffer=self.max_gap_samples, frame_rate=30, minimum_consecutive_frames=1)
            self._trackers[group] = tracker
        return tracker

    def add(self, time_s: float, detections: Iterable[FrameDetection]) -> list[Track]:
        """An inferred frame: its detections (all labels) at ``time_s``; returns the tracks it updated
        (each one's last observation is this frame's)."""
        kept = [d for d in detections if d.confidence >= self.threshold_for(d.label)]
        by_group: dict[str, list[FrameDetection]] = {}
        for det in kept:
            by_group.setdefault(self.group_of(det.label), []).append(det)
        current: list[Track] = []
        # Every group's tracker sees every frame (an empty one too), so "unseen" counts frames.
        for group in sorted(set(by_group) | set(self._trackers)):
            dets = by_group.get(group, [])
            assigned = self._link(group, time_s, dets, current)
            self._unmatched[group] = [Observation(time_s, dets[i].label, dets[i].confidence, dets[i].box)
                                      for i in range(len(dets)) if i not in assigned]
        self._current = current
        return current

    def _link(self, group: str, time_s: float, dets: list[FrameDetection], current: list[Track]) -> set[int]:
        import numpy as np
        from scipy.optimize import linear_sum_assignment

        # Association by overlap alone (every score 1.0): the scores already passed min_score, and at
        # one sample a second ByteTrack's score-weighted matching would split the tracks of people
        # the detector scores at 0.5-0.6.
        tensors = np.array([[*d.box, 1.0] for d in dets], dtype=np.float32).reshape(-1, 5)
        tracks = self._tracker(group).update_with_tensors(tensors)
        if not dets or not tracks:
            return set()
        overlap = np.array([[box_iou(d.box, tuple(t.tlbr)) for t in tracks] for d in dets])
        rows, cols = linear_sum_assignment(-overlap)
        assigned: set[int] = set()
        for index, column in zip(rows, cols, strict=True):
            if overlap[index, column] < _OUTPUT_IOU:
                continue
            det, track_id = dets[int(index)], int(tracks[int(column)].external_track_id)
            assigned.add(int(index))
            observation = Observation(time_s, det.label, det.confidence, det.box)
            key = (group, track_id)
            track = self._tracks.get(key)
            if track is None:
                track = self._tracks[key] = Track(track_id, group)
                first = self._first_of(group, observation)
                if first is not None:
                    track.observations.append(first)
            track.observations.append(observation)
            current.append(track)
        return assigned

    def _first_of(self, group: str, observation: Observation) -> Observation | None:
        candidates = self._unmatched.get(group, [])
        if not candidates:
            return None
        best = max(candidates, key=lambda o: box_iou(o.box, observation.box))
        if box_iou(best.box, observation.box) < _FIRST_BOX_IOU:
            return None
        candidates.remove(best)
        return best

    def hold(self, time_s: float) -> None:
        """A sample the motion gate skipped: the objects of the last inference are still in view."""
        for track in self._current:
            last = track.observations[-1]
            track.observations.append(Observation(time_s, last.label, last.confidence, last.box, held=True))

    @property
    def idle(self) -> bool:
        """Nothing was in view at the last inference (no track updated, no detection waiting for one)."""
        return not self._current and not any(self._unmatched.values())

    @property
    def tracks(self) -> list[Track]:
        """Every track so far, in order of first appearance."""
        return sorted(self._tracks.values(), key=lambda t: (t.first_s, t.group, t.track_id))
