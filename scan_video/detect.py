"""Object detection shared by both backends: the detection record, letterbox geometry, NMS.

Backends (``detect_onnx``, ``detect_ultralytics``) return boxes in the *original frame's* pixels
with the model's own class names; renaming/filtering (config) happens in the scanner. Only numpy
is needed here, so the onnxruntime path never imports torch.
"""

from dataclasses import dataclass
from typing import Any, Protocol

from scan_video.config import ScanConfig
from scan_video.errors import DetectorModelError
from scan_video.model_select import ResolvedDetector

LETTERBOX_FILL = 114  # grey padding value the YOLOv8 family was trained with


@dataclass(frozen=True)
class Detection:
    class_name: str
    confidence: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in frame pixels


class Detector(Protocol):
    backend: str
    input_size: int
    class_names: dict[int, str]

    def detect(self, image: Any) -> list[Detection]: ...


@dataclass(frozen=True)
class Letterbox:
    """How a frame was fitted into the square model input (to map boxes back)."""

    scale: float
    pad_x: float
    pad_y: float


def rect_input_shape(frame_h: int, frame_w: int, size: int, stride: int = 32) -> tuple[int, int]:
    """Smallest stride-aligned (h, w) holding the frame scaled to fit ``size``: 1280×720 → 384×640.

    A 16:9 frame letterboxed to a 640×640 square wastes 44% of the detector's work on grey padding;
    models with a dynamic input shape get this tighter rectangle instead (as Ultralytics does).
    """
    scale = min(size / frame_h, size / frame_w)
    new_h, new_w = round(frame_h * scale), round(frame_w * scale)
    return new_h + (size - new_h) % stride, new_w + (size - new_w) % stride


def letterbox(image: Any, shape: int | tuple[int, int]) -> tuple[Any, Letterbox]:
    """Resize keeping aspect ratio and pad (grey, centred) to ``shape`` = (h, w) or a square side."""
    import cv2

    target_h, target_w = (shape, shape) if isinstance(shape, int) else shape
    height, width = image.shape[:2]
    scale = min(target_h / height, target_w / width)
    new_w, new_h = round(width * scale), round(height * scale)
    pad_w, pad_h = (target_w - new_w) / 2, (target_h - new_h) / 2
    if (new_w, new_h) != (width, height):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = round(pad_h - 0.1), round(pad_h + 0.1)
    left, right = round(pad_w - 0.1), round(pad_w + 0.1)
    fill = (LETTERBOX_FILL,) * 3
    padded = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=fill)
    return padded, Letterbox(scale, left, top)


def non_max_suppression(boxes: Any, scores: Any, iou_threshold: float) -> list[int]:
    """Indices of the boxes kept by greedy NMS (boxes as an N×4 x1,y1,x2,y2 array), best first."""
    import numpy as np

    order = np.argsort(-scores)
    areas = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        x1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = (x2 - x1).clip(0) * (y2 - y1).clip(0)
        iou = inter / (areas[best] + areas[rest] - inter + 1e-9)
        order = rest[iou <= iou_threshold]
    return keep


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def create_detector(model: ResolvedDetector, config: ScanConfig) -> Detector:
    """The backend chosen by config, loaded from a verified model file."""
    if config.backend == "onnxruntime":
        if model.path.suffix.lower() != ".onnx":
            raise DetectorModelError(
                f"backend onnxruntime needs an .onnx model; {model.name}=={model.version} is {model.path.name}"
            )
        from scan_video.detect_onnx import OnnxDetector

        return OnnxDetector(model.path, input_size=config.input_size, confidence=config.confidence,
                            iou=config.iou, threads=config.threads)
    from scan_video.detect_ultralytics import UltralyticsDetector

    return UltralyticsDetector(model.path, input_size=config.input_size, confidence=config.confidence,
                               iou=config.iou, threads=config.threads)
