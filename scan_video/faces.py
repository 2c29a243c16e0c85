"""Faces, searched only where they can be: the head part of person boxes, upscaled so small faces
are found (dlib's HOG window is 80 px: a standing person must be ~700 px tall for a face to fit).

Engines: ``dlib_hog`` (face_recognition's HOG detector, the default), ``dlib_cnn`` (MMOD CNN, much
slower on CPU), ``opencv_haar`` (OpenCV's frontal-face cascade). When dlib (or, for CNN, the
face_recognition_models files) is not importable a dlib request falls back to Haar and the analytic
says ``degraded: true``.

Confidence: HOG/CNN/Haar scores are not probabilities; each is squashed to 0-1 with a logistic so
the detector's own threshold maps to 0.5.
"""

import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scan_video.detect import non_max_suppression

MAX_UPSCALE = 4.0
CROP_MARGIN = 0.10  # widen person boxes a little: a turned head can stick out of the body box
# An upright person's face is in the top part of the box: searching only there cuts the pixels the
# detector scans by more than half. Lying or crouching people (box not clearly tall) keep the full box.
HEAD_FRACTION = 0.45
UPRIGHT_ASPECT = 1.2
# A big region (a close-up person) has big faces: scale it down to this many pixels instead of
# paying for a detector pass over a megapixel; faces there stay well above the 80 px window.
MAX_SEARCH_PIXELS = 400_000
FACE_NMS_IOU = 0.3  # overlapping person boxes can report the same face twice

log = logging.getLogger("scan_video")


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in frame pixels
    confidence: float


def _logistic(score: float) -> float:
    return 1.0 / (1.0 + math.exp(-float(score)))


class FaceFinder:
    """Finds faces inside given regions of a BGR frame; subclasses detect in one crop."""

    engine = "disabled"

    def __init__(self, *, min_size: int = 1000, degraded: bool = False) -> None:
        self.min_size = min_size
        self.degraded = degraded

    def detect_in_crop(self, crop: Any) -> list[tuple[tuple[float, float, float, float], float]]:
        return []

    def find(self, image: Any, regions: list[tuple[float, float, float, float]]) -> list[Face]:
        import cv2
        import numpy as np

        if self.engine == "disabled" or not regions:
            return []
        frame_h, frame_w = image.shape[:2]
        found: list[Face] = []
        for x1, y1, x2, y2 in regions:
            margin = (x2 - x1) * CROP_MARGIN
            left, right = int(max(0, x1 - margin)), int(min(frame_w, x2 + margin))
            person_h = y2 - y1
            search_h = person_h * HEAD_FRACTION if person_h > UPRIGHT_ASPECT * (x2 - x1) else person_h
            top, bottom = int(max(0, y1)), int(min(frame_h, y1 + search_h))
            if right - left < 8 or bottom - top < 8:
                continue
            crop = image[top:bottom, left:right]
            # Scale by the whole person's height: a face is ~1/8 of it and must reach the detector's window.
            scale = min(MAX_UPSCALE, max(1.0, self.min_size / max(person_h, 1.0)))
            area = (right - left) * (bottom - top)
            scale = min(scale, math.sqrt(MAX_SEARCH_PIXELS / area))
            if abs(scale - 1.0) > 0.02:
                crop = cv2.resize(crop, None, fx=scale, fy=scale,
                                  interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
            else:
                scale = 1.0
            for (fx1, fy1, fx2, fy2), confidence in self.detect_in_crop(crop):
                box = (left + fx1 / scale, top + fy1 / scale, left + fx2 / scale, top + fy2 / scale)
                box = (max(0.0, box[0]), max(0.0, box[1]), min(float(frame_w), box[2]), min(float(frame_h), box[3]))
                if box[2] > box[0] and box[3] > box[1]:
                    found.append(Face(box, confidence))
        if len(found) > 1:
            keep = non_max_suppression(np.array([f.box for f in found], dtype=np.float32),
                                       np.array([f.confidence for f in found], dtype=np.float32), FACE_NMS_IOU)
            found = [found[i] for i in keep]
        return found


FRONTAL_FACE_HOG = "dlib-frontal-face-hog"  # manifest name of the saved HOG detector


def save_dlib_frontal_face_detector(destination: Path) -> None:
    """The manifest's ``pypi-assemble`` step: dlib's built-in frontal face detector in dlib's binary
    format (deterministic bytes for a given dlib, pinned by sha256 like every model)."""
    import dlib

    dlib.get_frontal_face_detector().save(str(destination))


def _load_saved_hog(dlib: Any, models_dir: Path | None) -> Any:
    """The installed, sha256-verified saved detector, or None (then it is built in process)."""
    from vv_core.models import ModelIntegrityError, load_manifest, verify_model_file

    if models_dir is None:
        return None
    try:
        entry = load_manifest(Path(models_dir) / "model_manifest.json").find(FRONTAL_FACE_HOG)
    except (ModelIntegrityError, OSError):
        return None
    path = entry.install_path(models_dir)
    if not path.is_file():
        return None
    try:
        verify_model_file(path, entry)
    except ModelIntegrityError as exc:  # never load it; dlib's own copy gives the same detector
        log.warning("saved face detector refused, building dlib's own copy: %s", exc)
        return None
    return dlib.fhog_object_detector(str(path))


class DlibFaceFinder(FaceFinder):
    """face_recognition's detectors, loaded alone: HOG is ``dlib.get_frontal_face_detector()`` (what
    ``face_recognition.face_locations(model="hog")`` runs), CNN is dlib's MMOD model from
    face_recognition_models. Importing ``face_recognition.api`` instead would also load its landmark
    and encoding models, which no detection uses: +135 MB of RSS.

    HOG comes from the installed ``dlib-frontal-face-hog`` model (verified, ~2 ms) when there is one;
    otherwise dlib builds it on the first face search (~0.6 s, so a video without people never pays)."""

    def __init__(self, *, cnn: bool = False, models_dir: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        import dlib

        self.engine = "dlib_cnn" if cnn else "dlib_hog"
        self._dlib = dlib
        self._hog: Any = None
        self.hog_source = "dlib"
        if cnn:
            with warnings.catch_warnings():  # face_recognition_models still imports pkg_resources
                warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
                import face_recognition_models

            self._cnn = dlib.cnn_face_detection_model_v1(face_recognition_models.cnn_face_detector_model_location())
        else:
            self._hog = _load_saved_hog(dlib, models_dir)
            if self._hog is not None:
                self.hog_source = "installed"

    def detect_in_crop(self, crop: Any) -> list[tuple[tuple[float, float, float, float], float]]:
        import numpy as np

        rgb = np.ascontiguousarray(crop[:, :, ::-1])
        if self.engine == "dlib_cnn":
            return [((d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()), _logistic(d.confidence))
                    for d in self._cnn(rgb, 0)]
        if self._hog is None:
            self._hog = self._dlib.get_frontal_face_detector()
        rects, scores, _ = self._hog.run(rgb, 0, 0.0)
        return [((r.left(), r.top(), r.right(), r.bottom()), _logistic(s)) for r, s in zip(rects, scores, strict=True)]


class HaarFaceFinder(FaceFinder):
    engine = "opencv_haar"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        import cv2

        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():  # pragma: no cover - ships with opencv-python-headless
            raise RuntimeError(f"OpenCV face cascade missing: {path}")

    def detect_in_crop(self, crop: Any) -> list[tuple[tuple[float, float, float, float], float]]:
        import cv2

        grey = cv2.equalizeHist(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY))
        boxes, _, weights = self._cascade.detectMultiScale3(grey, scaleFactor=1.1, minNeighbors=5,
                                                            minSize=(24, 24), outputRejectLevels=True)
        return [((x, y, x + w, y + h), _logistic(weight)) for (x, y, w, h), weight in
                zip(boxes, list(weights), strict=True)]


def create_face_finder(engine: str, *, min_size: int = 1000, models_dir: Path | None = None) -> FaceFinder:
    """The requested engine, or Haar labelled degraded when dlib/face_recognition cannot load."""
    if engine == "disabled":
        return FaceFinder(min_size=min_size)
    if engine == "opencv_haar":
        return HaarFaceFinder(min_size=min_size)
    try:
        return DlibFaceFinder(cnn=engine == "dlib_cnn", min_size=min_size, models_dir=models_dir)
    except ImportError:
        return HaarFaceFinder(min_size=min_size, degraded=True)
