"""The box's face library as the console's Faces page manages it: state/faces/.

The same folder the scanner matches faces against (scan_video/face_library.py, `vv faces`; the
format is in docs/console.md, "Faces"): one directory per person holding ``person.json`` (name,
pictures, where each came from) and the JPEG/PNG pictures. Every write is atomic; names are free
text, directories are a slug of them plus a short random suffix. Encodings are the scanner's job
(dlib lives only in its image): it encodes a new picture at the next scan and records in
``library.json`` how many faces it found, which this page shows ("not usable: 2 faces found").
"""

import hashlib
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import orjson

from vv_core.atomic import atomic_write_bytes, atomic_write_json
from vv_core.errors import VVError
from vv_core.jsonlog import utc_timestamp

MAX_PICTURE_BYTES = 5 * 1024 * 1024
PERSON_FILE = "person.json"
ENCODINGS_FILE = "library.json"
ENCODINGS_FORMAT = "vv-faces/2"
ID_PATTERN = re.compile(r"^[a-z0-9-]{1,80}$")
JPEG, PNG = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"


class FaceStoreError(VVError):
    """A bad name, picture or person id (the message is safe to show)."""


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    pictures: list[dict]
    created_at: str


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 80 or any(ord(c) < 32 for c in name):
        raise FaceStoreError("a name has 1 to 80 printable characters")
    return name


def _picture_suffix(data: bytes) -> str:
    if data.startswith(JPEG):
        return ".jpg"
    if data.startswith(PNG):
        return ".png"
    raise FaceStoreError("pictures must be JPEG or PNG")


class FaceStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _dir(self, person_id: str) -> Path:
        if not ID_PATTERN.match(person_id):
            raise FaceStoreError("no such person")
        return self.directory / person_id

    def _load(self, folder: Path, looked_at: dict | None = None) -> Person | None:
        try:
            doc = orjson.loads((folder / PERSON_FILE).read_bytes())
        except (OSError, ValueError):
            return None
        pictures = [p for p in doc.get("pictures", []) if isinstance(p, dict) and isinstance(p.get("file"), str)]
        if looked_at is not None:
            pictures = [{**p, "status": _status(folder / p["file"], looked_at)} for p in pictures]
        return Person(folder.name, doc.get("name", folder.name), pictures, doc.get("created_at", ""))

    def looked_at(self) -> dict:
        """Picture sha256 → what the scanner found in it (its library.json; empty when unreadable)."""
        try:
            doc = orjson.loads((self.directory / ENCODINGS_FILE).read_bytes())
        except (OSError, ValueError):
            return {}
        ok = isinstance(doc, dict) and doc.get("format") == ENCODINGS_FORMAT and isinstance(doc.get("pictures"), dict)
        return doc["pictures"] if ok else {}

    def list(self) -> list[Person]:
        """Everyone, each picture with a ``status``: usable, not usable (N faces), or not encoded yet."""
        if not self.directory.is_dir():
            return []
        looked_at = self.looked_at()
        people = [self._load(folder, looked_at) for folder in sorted(self.directory.iterdir()) if folder.is_dir()]
        return sorted((p for p in people if p is not None), key=lambda p: p.name.lower())

    def get(self, person_id: str) -> Person:
        person = self._load(self._dir(person_id))
        if person is None:
            raise FaceStoreError("no such person")
        return person

    def find_by_name(self, name: str) -> Person | None:
        wanted = clean_name(name).lower()
        return next((p for p in self.list() if p.name.lower() == wanted), None)

    def _save(self, person: Person) -> None:
        path = self._dir(person.id) / PERSON_FILE
        try:  # keep what the console does not edit (a migrated person's encodings_without_picture)
            kept = orjson.loads(path.read_bytes())
        except (OSError, ValueError):
            kept = {}
        pictures = [{k: v for k, v in p.items() if k != "status"} for p in person.pictures]
        atomic_write_json(path, {**(kept if isinstance(kept, dict) else {}), "schema_version": "1.0",
                                 "name": person.name, "created_at": person.created_at, "pictures": pictures})

    def add_picture(self, name: str, data: bytes, source: str) -> Person:
        """Add a picture to the person called ``name`` (created if new). ``source``: where it came from."""
        name = clean_name(name)
        if len(data) > MAX_PICTURE_BYTES:
            raise FaceStoreError("the picture is larger than 5 MB")
        suffix = _picture_suffix(data)
        person = self.find_by_name(name)
        if person is None:
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "person"
            person = Person(f"{slug}-{secrets.token_hex(3)}", name, [], utc_timestamp())
        file_name = f"{secrets.token_hex(8)}{suffix}"
        atomic_write_bytes(self._dir(person.id) / file_name, data)
        person = Person(person.id, person.name, [*person.pictures, {"file": file_name, "source": source,
                                                                     "added_at": utc_timestamp()}], person.created_at)
        self._save(person)
        return person

    def rename(self, person_id: str, new_name: str) -> Person:
        person = self.get(person_id)
        renamed = Person(person.id, clean_name(new_name), person.pictures, person.created_at)
        self._save(renamed)
        return renamed

    def delete(self, person_id: str) -> Person:
        person = self.get(person_id)
        shutil.rmtree(self._dir(person_id))
        return person

    def picture_path(self, person_id: str, file_name: str) -> Path:
        person = self.get(person_id)
        if file_name not in {p["file"] for p in person.pictures}:
            raise FaceStoreError("no such picture")
        return self._dir(person_id) / file_name


def _status(picture: Path, looked_at: dict) -> str:
    try:
        entry = looked_at.get(hashlib.sha256(picture.read_bytes()).hexdigest())
    except OSError:
        return "missing"
    if not isinstance(entry, dict):
        return "not encoded yet (the next scan does it)"
    if entry.get("encoding") is None:
        return f"not usable: {entry.get('faces', 0)} faces found"
    return "usable"
