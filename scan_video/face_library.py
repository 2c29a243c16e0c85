"""Known faces: the box's own face library and matching face crops of person tracks against it.

The library is one folder, ``<storage root>/state/faces/`` (docs/console.md, "Faces"): one
sub-folder per person holding ``person.json`` (name, pictures, where each came from) and the
reference pictures. The operator console's Faces page and ``vv faces add NAME IMAGE...`` both
write people there; nothing else is the source of truth.

Encodings are derived: ``library.json`` (mode 0600, written atomically, never sent anywhere) caches,
per picture sha256, how many faces dlib's HOG found in it and, when exactly one, its 128-d encoding
(dlib's ResNet face descriptor, what face_recognition computes). ``load_library`` encodes the
pictures it has not seen yet, so a picture the console adds is used from the next scan; a picture
with no face or several is reported ("not usable: N faces found") and never matched. Matching: the
nearest known encoding within ``tolerance`` (Euclidean distance; 0.6 by default) names the face.

A ``vv-faces/1`` library.json (name → encodings, no pictures) is migrated once: each name becomes a
person folder whose ``person.json`` keeps those encodings as ``encodings_without_picture``.
"""

import contextlib
import hashlib
import json
import math
import re
import secrets
import shutil
import warnings
from pathlib import Path
from typing import Any

from vv_core.atomic import atomic_write_bytes, atomic_write_json
from vv_core.errors import VVError
from vv_core.jsonlog import utc_timestamp

LIBRARY_FORMAT = "vv-faces/2"
LEGACY_FORMAT = "vv-faces/1"
PERSON_FILE = "person.json"
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9 ._'-]{0,63}$")
PICTURE_SUFFIXES = (".jpg", ".png")
MIN_SIDE = 256  # a smaller picture (a far person's crop) is upscaled to this before the face search


class FaceLibraryError(VVError):
    """A library file, image or name that cannot be used (the message says which and why)."""


def library_path(storage_root: Path) -> Path:
    """The derived encodings file; the library folder is its parent."""
    return Path(storage_root) / "state" / "faces" / "library.json"


def _read_cache(path: Path) -> dict[str, dict[str, Any]]:
    """Picture sha256 → {"faces": n, "encoding": [...] | None}; migrates a vv-faces/1 file once."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FaceLibraryError(f"face library {path} is unreadable ({type(exc).__name__})") from None
    if isinstance(document, dict) and document.get("format") == LEGACY_FORMAT:
        _migrate(path, document.get("people", {}))
        return {}
    if not isinstance(document, dict) or document.get("format") != LIBRARY_FORMAT:
        raise FaceLibraryError(f"face library {path} is not a {LIBRARY_FORMAT} file")
    return dict(document.get("pictures", {}))


def _save_cache(path: Path, pictures: dict[str, dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write_json(path, {"format": LIBRARY_FORMAT, "pictures": pictures}, mode=0o600)


def _migrate(path: Path, people: dict[str, list[list[float]]]) -> None:
    for name, encodings in people.items():
        folder = _new_person(path.parent, str(name))
        _write_person(folder, {**(_person_doc(folder) or {}), "encodings_without_picture":
                               [list(map(float, e)) for e in encodings]})
    _save_cache(path, {})


def _person_doc(folder: Path) -> dict[str, Any] | None:
    try:
        document = json.loads((folder / PERSON_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) and isinstance(document.get("name"), str) else None


def _write_person(folder: Path, document: dict[str, Any]) -> None:
    atomic_write_json(folder / PERSON_FILE, document)


def _new_person(directory: Path, name: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "person"
    folder = directory / f"{slug}-{secrets.token_hex(3)}"
    folder.mkdir(parents=True, mode=0o700)
    _write_person(folder, {"schema_version": "1.0", "name": name, "created_at": utc_timestamp(), "pictures": []})
    return folder


def people_folders(directory: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every person folder with its person.json (folders without a readable one are skipped)."""
    if not directory.is_dir():
        return []
    found = [(folder, _person_doc(folder)) for folder in sorted(directory.iterdir()) if folder.is_dir()]
    return [(folder, doc) for folder, doc in found if doc is not None]


def _pictures(folder: Path, document: dict[str, Any]) -> list[Path]:
    names = [p.get("file", "") for p in document.get("pictures", []) if isinstance(p, dict)]
    return [folder / n for n in names if "/" not in n and n.endswith(PICTURE_SUFFIXES) and (folder / n).is_file()]


class FaceEncoder:
    """dlib's 5-point landmarks and ResNet descriptor (face_recognition_models). ``lazy``: loaded at
    the first encoding (the scanner's: footage without a face never imports dlib, ~0.5 s)."""

    def __init__(self, *, lazy: bool = False) -> None:
        self._dlib: Any = None
        self._hog: Any = None
        if not lazy:
            self._load()

    def _load(self) -> None:
        import dlib

        with warnings.catch_warnings():  # face_recognition_models still imports pkg_resources
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
            import face_recognition_models

        self._landmarks = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
        self._resnet = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())
        self._dlib = dlib

    @property
    def loaded(self) -> bool:
        return self._dlib is not None

    def encode(self, image_bgr: Any, box: tuple[float, float, float, float]) -> list[float]:
        """The 128-d encoding of the face in ``box`` (frame pixels) of a BGR frame."""
        import numpy as np

        if self._dlib is None:
            self._load()
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        x1, y1, x2, y2 = (round(v) for v in box)
        shape = self._landmarks(rgb, self._dlib.rectangle(x1, y1, x2, y2))
        return [float(v) for v in self._resnet.compute_face_descriptor(rgb, shape, 1)]

    def faces_in(self, image_bgr: Any) -> list[tuple[float, float, float, float]]:
        import numpy as np

        if self._dlib is None:
            self._load()
        if self._hog is None:
            self._hog = self._dlib.get_frontal_face_detector()
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        return [(r.left(), r.top(), r.right(), r.bottom()) for r in self._hog(rgb, 1)]


def encode_picture(data: bytes, encoder: FaceEncoder) -> dict[str, Any]:
    """{"faces": how many faces the picture shows, "encoding": the one face's encoding or None}."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return {"faces": 0, "encoding": None, "unreadable": True}
    if min(image.shape[:2]) < MIN_SIDE:
        scale = MIN_SIDE / min(image.shape[:2])
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    faces = encoder.faces_in(image)
    return {"faces": len(faces), "encoding": encoder.encode(image, faces[0]) if len(faces) == 1 else None}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refresh(path: Path, encoder: FaceEncoder | None = None) -> list[dict[str, Any]]:
    """Encode every picture not encoded yet, drop entries of pictures gone, and return the people:
    ``[{"name", "folder", "pictures": [{"file", "faces", "encoding"}], "legacy": [...]}]``."""
    cache = _read_cache(path)
    people, seen, changed = [], set(), False
    for folder, document in people_folders(path.parent):
        pictures = []
        for picture in _pictures(folder, document):
            digest = _sha256(picture)
            if digest not in cache:
                encoder = encoder or FaceEncoder()
                cache[digest] = encode_picture(picture.read_bytes(), encoder)
                changed = True
            seen.add(digest)
            pictures.append({"file": picture.name, **cache[digest]})
        people.append({"name": document["name"], "folder": folder, "pictures": pictures,
                       "legacy": document.get("encodings_without_picture", [])})
    if changed or set(cache) - seen:  # nothing written for a box with no library
        with contextlib.suppress(OSError):  # a read-only state/: the encodings still serve this run
            _save_cache(path, {digest: entry for digest, entry in cache.items() if digest in seen})
    return people


def load_library(path: Path, encoder: FaceEncoder | None = None) -> dict[str, list[list[float]]]:
    """Name → encodings (usable pictures plus migrated ones); an empty folder is empty."""
    people: dict[str, list[list[float]]] = {}
    for person in refresh(path, encoder):
        encodings = [p["encoding"] for p in person["pictures"] if p["encoding"] is not None]
        encodings += [list(map(float, e)) for e in person["legacy"]]
        if encodings:
            people.setdefault(person["name"], []).extend(encodings)
    return people


def _folder_of(directory: Path, name: str) -> Path | None:
    wanted = name.lower()
    return next((f for f, doc in people_folders(directory) if doc["name"].lower() == wanted), None)


def add_faces(path: Path, name: str, images: list[Path], encoder: FaceEncoder | None = None) -> int:
    """Copy pictures of ``name`` into the library; every image must show exactly one face. Returns how
    many encodings ``name`` has now. Nothing is written unless every image was usable."""
    import cv2

    if not NAME_PATTERN.match(name):
        raise FaceLibraryError(f"name {name!r}: use letters, digits, space . _ ' - (up to 64, a letter first)")
    if not images:
        raise FaceLibraryError("give at least one image of the face")
    encoder = encoder or FaceEncoder()
    cache = _read_cache(path)
    accepted = []
    for image_path in images:
        image = cv2.imread(str(image_path))
        if image is None:
            raise FaceLibraryError(f"{image_path}: not a readable image")
        data = Path(image_path).read_bytes()
        if not data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):  # the console serves JPEG/PNG only
            data = cv2.imencode(".jpg", image)[1].tobytes()
        entry = encode_picture(data, encoder)
        if entry["faces"] != 1:
            raise FaceLibraryError(f"{image_path}: {entry['faces']} faces found; the image must show exactly one")
        accepted.append((data, entry, str(image_path)))
    folder = _folder_of(path.parent, name) or _new_person(path.parent, name)
    document = _person_doc(folder) or {}
    pictures = list(document.get("pictures", []))
    for data, entry, source in accepted:
        suffix = ".png" if data.startswith(b"\x89PNG") else ".jpg"
        file_name = f"{secrets.token_hex(8)}{suffix}"
        atomic_write_bytes(folder / file_name, data)
        cache[hashlib.sha256(data).hexdigest()] = entry
        pictures.append({"file": file_name, "source": f"vv faces add {Path(source).name}",
                         "added_at": utc_timestamp()})
    _write_person(folder, {**document, "pictures": pictures})
    _save_cache(path, cache)
    return sum(1 for _ in load_library(path, encoder).get(document.get("name", name), []))


def remove_person(path: Path, name: str) -> bool:
    """Delete the person folder(s) called ``name`` (case-insensitive)."""
    removed = False
    while (folder := _folder_of(path.parent, name)) is not None:
        shutil.rmtree(folder)
        removed = True
    if removed:
        refresh(path)
    return removed


def list_people(path: Path, encoder: FaceEncoder | None = None) -> dict[str, int]:
    """Name → usable encodings (people whose pictures show no usable face count 0)."""
    counts: dict[str, int] = {}
    for person in refresh(path, encoder):
        usable = sum(p["encoding"] is not None for p in person["pictures"]) + len(person["legacy"])
        counts[person["name"]] = counts.get(person["name"], 0) + usable
    return dict(sorted(counts.items()))


def unusable_pictures(path: Path) -> dict[str, list[str]]:
    """Name → "FILE: not usable: N faces found" for pictures already looked at (no encoding done here)."""
    cache = _read_cache(path)
    notes: dict[str, list[str]] = {}
    for folder, document in people_folders(path.parent):
        for picture in _pictures(folder, document):
            entry = cache.get(_sha256(picture))
            if entry is not None and entry["encoding"] is None:
                note = f"{picture.name}: not usable: {entry['faces']} faces found"
                notes.setdefault(document["name"], []).append(note)
    return notes


def best_match(encoding: list[float], people: dict[str, list[list[float]]], tolerance: float) -> str | None:
    """The known name nearest to ``encoding`` within ``tolerance``, or None."""
    best_name, best_distance = None, tolerance
    for name, known in people.items():
        for reference in known:
            distance = math.dist(encoding, reference)
            if distance <= best_distance:
                best_name, best_distance = name, distance
    return best_name
