"""Any Ultralytics model (``.pt``, or anything ``YOLO()`` loads) through its own predict path.

Ultralytics is kept offline: ``YOLO_OFFLINE=1`` and a private settings directory, so loading never
reaches for the network or writes into the user's home.
"""

import os
import tempfile
from pathlib import Path
from typing import Any

from scan_video.detect import Detection
from scan_video.errors import DetectorModelError


def _quiet_offline_ultralytics() -> None:
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    os.environ.setdefault("YOLO_CONFIG_DIR", os.path.join(tempfile.gettempdir(), "vv-ultralytics"))


class UltralyticsDetector:
    backend = "ultralytics"

    def __init__(self, path: Path, *, input_size: int = 640, confidence: float = 0.25, iou: float = 0.45,
                 threads: int = 2) -> None:
        _quiet_offline_ultralytics()
        import torch
        from ultralytics import YOLO

        torch.set_num_threads(threads)
        try:
            self.model = YOLO(str(path), task="detect")
        except Exception as exc:  # torch/ultralytics raise many types for a bad file
            raise DetectorModelError(f"{path.name}: Ultralytics cannot load the model ({type(exc).__name__})") from exc
        self.input_size = input_size
        self.class_names = {int(k): str(v) for k, v in self.model.names.items()}
        self.confidence = confidence
        self.iou = iou

    def detect(self, image: Any) -> list[Detection]:
        result = self.model.predict(image, imgsz=self.input_size, conf=self.confidence, iou=self.iou,
                                    device="cpu", verbose=False)[0]
        boxes = result.boxes
        xyxy = boxes.xyxy.cpu().numpy()
        return [
            Detection(self.class_names.get(int(c), str(int(c))), float(s), tuple(float(v) for v in box))
            for box, s, c in zip(xyxy, boxes.conf.cpu().numpy(), boxes.cls.cpu().numpy(), strict=True)
        ]
