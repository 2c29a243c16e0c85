"""Known faces: the box's own face library and matching face crops of person tracks against it.

The library is ``<storage root>/state/faces/library.json`` (mode 0600, written atomically): name →
128-d encodings (dlib's ResNet face descriptor, what face_recognition computes), never sent
anywhere. ``vv faces add NAME IMAGE...`` adds one encoding per image (each must show exactly one
face), ``vv faces list``, ``vv faces remove NAME``. Matching: the nearest known encoding within
``tolerance`` (Euclidean distance; face_recognition's 0.6 by default) names the face; a face with
none that close is unknown.
"""

import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

from vv_core.atomic import atomic_write_json
from vv_core.errors import VVError

LIBRARY_FORMAT = "vv-faces/1"
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9 ._'-]{0,63}$")


class FaceLibraryError(VVError):
    """A library file, image or name that cannot be used (the message says which and why)."""


def library_path(storage_root: Path) -> Path:
    return Path(storage_root) / "state" / "faces" / "library.json"


def load_library(path: Path) -> dict[str, list[list[float]]]:
    """Name → encodings; an absent library is empty."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FaceLibraryError(f"face library {path} is unreadable ({type(exc).__name__})") from None
    if not isinstance(document, dict) or document.get("format") != LIBRARY_FORMAT:
        raise FaceLibraryError(f"face library {path} is not a {LIBRARY_FORMAT} file")
    return {str(name): [list(map(float, e)) for e in encodings]
            for name, encodings in document.get("people", {}).items()}


def _save(path: Path, people: dict[str, list[list[float]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write_json(path, {"format": LIBRARY_FORMAT, "people": people}, mode=0o600)


class FaceEncoder:
    """dlib's 5-point landmarks and ResNet descriptor (face_recognition_models), loaded on first use."""

    def __init__(self) -> None:
        import dlib

        with warnings.catch_warnings():  # face_recognition_models still imports pkg_resources
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
            import face_recognition_models

        self._dlib = dlib
        self._landmarks = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
        self._resnet = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())
        self._hog: Any = None

    def encode(self, image_bgr: Any, box: tuple[float, float, float, float]) -> list[float]:
        """The 128-d encoding of the face in ``box`` (frame pixels) of a BGR frame."""
        import numpy as np

        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        x1, y1, x2, y2 = (round(v) for v in box)
        shape = self._landmarks(rgb, self._dlib.rectangle(x1, y1, x2, y2))
        return [float(v) for v in self._resnet.compute_face_descriptor(rgb, shape, 1)]

    def faces_in(self, image_bgr: Any) -> list[tuple[float, float, float, float]]:
        import numpy as np

        if self._hog is None:
            self._hog = self._dlib.get_frontal_face_detector()
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        return [(r.left(), r.top(), r.right(), r.bottom()) for r in self._hog(rgb, 1)]


def add_faces(path: Path, name: str, images: list[Path], encoder: FaceEncoder | None = None) -> int:
    """Add one encoding per image to ``name``; every image must show exactly one face. Returns how
    many encodings ``name`` has now. Nothing is written unless every image was usable."""
    import cv2

    if not NAME_PATTERN.match(name):
        raise FaceLibraryError(f"name {name!r}: use letters, digits, space . _ ' - (up to 64, a letter first)")
    if not images:
        raise FaceLibraryError("give at least one image of the face")
    encoder = encoder or FaceEncoder()
    encodings = []
    for image_path in images:
        image = cv2.imread(str(image_path))
        if image is None:
            raise FaceLibraryError(f"{image_path}: not a readable image")
        faces = encoder.faces_in(image)
        if len(faces) != 1:
            raise FaceLibraryError(f"{image_path}: {len(faces)} faces found; the image must show exactly one")
        encodings.append(encoder.encode(image, faces[0]))
    people = load_library(path)
    people[name] = people.get(name, []) + encodings
    _save(path, people)
    return len(people[name])


def remove_person(path: Path, name: str) -> bool:
    people = load_library(path)
    if name not in people:
        return False
    del people[name]
    _save(path, people)
    return True


def list_people(path: Path) -> dict[str, int]:
    return {name: len(encodings) for name, encodings in sorted(load_library(path).items())}


def best_match(encoding: list[float], people: dict[str, list[list[float]]], tolerance: float) -> str | None:
    """The known name nearest to ``encoding`` within ``tolerance``, or None."""
    best_name, best_distance = None, tolerance
    for name, known in people.items():
        for reference in known:
            distance = math.dist(encoding, reference)
            if distance <= best_distance:
                best_name, best_distance = name, distance
    return best_name
