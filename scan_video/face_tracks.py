"""Faces once per person track, not on every sample: which tracks a frame's face search covers.

Face detection (dlib HOG on the upscaled head region) costs more than the object detector on a
person-filled frame, and searching every sample of a person who stays in view finds the same face
again and again. After tracking, a frame's person tracks are searched only while their track still
needs a face: until ``per_track`` faces were found on it, or ``2 × per_track`` searches came back
empty (a person seen from behind). Among a track's samples, one whose box is clearly smaller than a
box already searched is passed over: a bigger person box has a bigger face, which is found and
matched more reliably (a person walking towards the camera is searched as they come closer).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scan_video.tracking import PERSON_GROUP, Track

# A sample's box must be at least this fraction of the largest box already searched on its track.
SMALLER_BOX_FRACTION = 0.9
EMPTY_SEARCHES_PER_FACE = 2


@dataclass
class _TrackFaces:
    searches: int = 0
    faces: int = 0
    largest_area: float = 0.0


class FaceBudget:
    """Per person track: how many of its samples were searched for a face and what they found."""

    def __init__(self, per_track: int, *, enabled: bool = True) -> None:
        self.per_track = per_track if enabled else 0
        self._tracks: dict[int, _TrackFaces] = {}

    def choose(self, updated: Iterable[Track]) -> list[Track]:
        """The person tracks of this frame (``updated``: each one's last observation is this frame's)
        whose box should be searched for a face now."""
        if self.per_track <= 0:
            return []
        chosen = []
        for track in updated:
            if track.group != PERSON_GROUP:
                continue
            state = self._tracks.get(id(track), _TrackFaces())
            if state.faces >= self.per_track or state.searches >= EMPTY_SEARCHES_PER_FACE * self.per_track:
                continue
            if box_area(track.observations[-1].box) < SMALLER_BOX_FRACTION * state.largest_area:
                continue
            chosen.append(track)
        return chosen

    def record(self, faces: Iterable[Any], searched: list[Track], updated: list[Track]) -> None:
        """The faces a search of ``searched`` found (``updated``: every track of the frame, for ownership)."""
        for track in searched:
            state = self._tracks.setdefault(id(track), _TrackFaces())
            state.searches += 1
            state.largest_area = max(state.largest_area, box_area(track.observations[-1].box))
        for face in faces:
            owner = face_owner(face, updated)
            if owner is not None and id(owner) in self._tracks:
                self._tracks[id(owner)].faces += 1

    def searches(self, track: Track) -> int:
        return self._tracks.get(id(track), _TrackFaces()).searches


def face_owner(face: Any, tracks: Iterable[Track]) -> Track | None:
    """The person track whose box (this frame's) holds the face's centre; the tightest one when several do."""
    cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
    owners = [t for t in tracks if t.group == PERSON_GROUP and _inside(cx, cy, t.observations[-1].box)]
    return min(owners, key=lambda t: box_area(t.observations[-1].box)) if owners else None


def _inside(x: float, y: float, box: tuple[float, float, float, float]) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def box_area(box: tuple[float, float, float, float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])
