"""Which tracks are events, and what an event says (pure functions of the tracks).

Frigate's rule: an object is a true positive when the **median score of its track** reaches its
label's ``threshold``; here a track also needs ``min_samples`` samples (one stray box on a single
frame is not an object). A person track is a **fall** only when the fall class persists on it: its
fall samples (fall class, box wider than tall) span at least ``fall_min_s`` seconds and are at least
``fall_min_fraction`` of the track's samples. Otherwise the track is a person, whatever class the
detector gave its frames: the default detector's ``Normal`` and ``Fall`` are both people.

The threshold a track must reach is the one of the label it would be reported as: a track that
would be a fall needs ``fall_threshold`` (an alert is signed and put on a TV), and one below it is
no event at all, as in Frigate, where an object of a label is judged by that label's threshold.
"""

import statistics
from dataclasses import dataclass, field
from typing import Any

from scan_video.assemble import normalized_box, offset_utc
from scan_video.tracking import PERSON_GROUP, Track

FALL_LABEL = "fall"


@dataclass(frozen=True)
class EventPolicy:
    threshold: float = 0.5
    thresholds: dict[str, float] = field(default_factory=dict)   # per label (group), overrides threshold
    min_samples: int = 2
    fall_labels: frozenset[str] = frozenset({"person_fallen"})
    fall_min_s: float = 2.0
    fall_min_fraction: float = 0.5
    fall_min_aspect: float = 1.0
    fall_threshold: float = 0.65

    def threshold_for(self, label: str) -> float:
        return self.thresholds.get(label, self.fall_threshold if label == FALL_LABEL else self.threshold)


@dataclass(frozen=True)
class FallEvidence:
    samples: int
    span_s: float
    fraction: float


def fall_evidence(track: Track, policy: EventPolicy) -> FallEvidence:
    """The fall samples of a track: fall class and a box wider than tall (geometry agrees)."""
    falls = [o for o in track.observations
             if o.label in policy.fall_labels and o.aspect >= policy.fall_min_aspect]
    span = falls[-1].time_s - falls[0].time_s if falls else 0.0
    return FallEvidence(len(falls), span, len(falls) / len(track.observations))


def event_label(track: Track, policy: EventPolicy) -> str:
    if track.group != PERSON_GROUP:
        return track.group
    evidence = fall_evidence(track, policy)
    if evidence.samples and evidence.span_s >= policy.fall_min_s and evidence.fraction >= policy.fall_min_fraction:
        return FALL_LABEL
    return PERSON_GROUP


def track_score(track: Track) -> float:
    """Median score over the detector's own observations of the track."""
    return float(statistics.median(o.confidence for o in track.detected))


def is_confirmed(track: Track, policy: EventPolicy) -> bool:
    if len(track.observations) < policy.min_samples or not track.detected:
        return False
    return track_score(track) >= policy.threshold_for(event_label(track, policy))


def confirmed_tracks(tracks: list[Track], policy: EventPolicy) -> list[Track]:
    return [track for track in tracks if is_confirmed(track, policy)]


def build_events(tracks: list[Track], policy: EventPolicy, *, recorded_at: str | None, width: int,
                 height: int) -> list[dict[str, Any]]:
    """One event record per confirmed track, in order of first appearance (ids e1, e2, …): the
    i-th event is ``confirmed_tracks(tracks, policy)[i]``'s."""
    events = []
    for track in confirmed_tracks(tracks, policy):
        detected = track.detected
        best = max(detected, key=lambda o: o.confidence)
        label = event_label(track, policy)
        event: dict[str, Any] = {
            "id": f"e{len(events) + 1}",
            "label": label,
            "track_id": track.track_id,
            "first_seen_s": round(track.first_s, 3),
            "last_seen_s": round(track.last_s, 3),
            "first_seen_utc": offset_utc(recorded_at, track.first_s),
            "last_seen_utc": offset_utc(recorded_at, track.last_s),
            "duration_s": round(track.last_s - track.first_s, 3),
            "samples": len(track.observations),
            "detections": len(detected),
            "score": {"median": round(track_score(track), 4), "max": round(best.confidence, 4)},
            "best": {"timestamp": round(best.time_s, 3), "timestamp_utc": offset_utc(recorded_at, best.time_s),
                     "label": best.label, "confidence": round(best.confidence, 4),
                     "bbox": normalized_box(best.box, width, height)},
        }
        if label == FALL_LABEL:
            evidence = fall_evidence(track, policy)
            event["fall"] = {"samples": evidence.samples, "span_s": round(evidence.span_s, 3),
                             "fraction": round(evidence.fraction, 3)}
        events.append(event)
    return events


def distinct_counts(events: list[dict[str, Any]]) -> dict[str, int]:
    """Events per label: ``{"person": 2, "fall": 1}``."""
    counts: dict[str, int] = {}
    for event in events:
        counts[event["label"]] = counts.get(event["label"], 0) + 1
    return counts
