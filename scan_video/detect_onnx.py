"""YOLOv8-family ONNX models on onnxruntime: letterbox → one session run → decode → class-aware NMS.

No torch: the slim container image runs this. A segmentation export (YOLO11n-seg, the vehicle
detector) runs the same way: its mask outputs are ignored, only the boxes are used. Class names
come from the metadata Ultralytics writes into exported models (``names``). A static model (fixed
H×W) gets exactly its input shape; a dynamic one (``export(dynamic=True)``, recommended) gets a
stride-aligned rectangle: 384×640 for a 16:9 frame at input size 640, the same shape Ultralytics'
own predictor uses.
"""

import ast
from pathlib import Path
from typing import Any

from scan_video.detect import Detection, letterbox, non_max_suppression, rect_input_shape
from scan_video.errors import DetectorModelError

MAX_DETECTIONS = 300


def input_tensor(image: Any, shape: tuple[int, int], dtype: Any = None) -> tuple[Any, Any]:
    """A BGR HWC uint8 frame letterboxed to ``shape`` as the model's RGB CHW batch of one in [0, 1]."""
    import numpy as np

    dtype = dtype or np.float32
    padded, geometry = letterbox(image, shape)
    tensor = np.ascontiguousarray(padded[:, :, ::-1].transpose(2, 0, 1))[None]
    return tensor.astype(dtype) / dtype(255.0), geometry


class OnnxDetector:
    backend = "onnxruntime"

    def __init__(self, path: Path, *, input_size: int = 640, confidence: float = 0.25, iou: float = 0.45,
                 threads: int = 2) -> None:
        import numpy as np
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Decoding runs beside inference: idle inference threads must yield the core, not spin on it.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), sess_options=options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise DetectorModelError(f"{path.name}: onnxruntime cannot load the model ({type(exc).__name__})") from exc
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        self.input_dtype = np.float16 if "float16" in model_input.type else np.float32
        height, width = model_input.shape[2], model_input.shape[3]
        # A static model dictates its input; a dynamic one gets a stride-aligned rectangle per frame.
        self.static_shape = (height, width) if isinstance(height, int) and isinstance(width, int) else None
        self.input_size = max(self.static_shape) if self.static_shape else input_size
        self.class_names = self._class_names(path)
        self.confidence = confidence
        self.iou = iou

    def _class_names(self, path: Path) -> dict[int, str]:
        metadata = self.session.get_modelmeta().custom_metadata_map
        try:
            names = ast.literal_eval(metadata["names"])
            return {int(k): str(v) for k, v in names.items()}
        except (KeyError, ValueError, SyntaxError, AttributeError):
            raise DetectorModelError(
                f"{path.name}: no class names in the ONNX metadata (export it with Ultralytics)"
            ) from None

    def preprocess(self, image: Any) -> tuple[Any, Any]:
        shape = self.static_shape or rect_input_shape(image.shape[0], image.shape[1], self.input_size)
        return input_tensor(image, shape, self.input_dtype)

    def detect(self, image: Any) -> list[Detection]:
        tensor, geometry = self.preprocess(image)
        output = self.session.run(None, {self.input_name: tensor})[0]
        return self.postprocess(output, geometry, image.shape[1], image.shape[0])

    def postprocess(self, output: Any, geometry: Any, frame_w: int, frame_h: int) -> list[Detection]:
        import numpy as np

        rows = np.asarray(output[0], dtype=np.float32).T  # (anchors, 4 + classes [+ mask coefficients])
        # A segmentation model (YOLO11n-seg) adds 32 mask coefficients after the class scores: boxes only.
        class_scores = rows[:, 4:4 + len(self.class_names)]
        class_ids = class_scores.argmax(axis=1)
        scores = class_scores[np.arange(len(rows)), class_ids]
        keep = scores >= self.confidence
        rows, class_ids, scores = rows[keep], class_ids[keep], scores[keep]
        if not len(rows):
            return []
        cx, cy, w, h = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        # Class-aware NMS in one pass: shift each class to its own region of the plane.
        offsets = class_ids[:, None].astype(np.float32) * 7680.0
        kept = non_max_suppression(boxes + offsets, scores, self.iou)[:MAX_DETECTIONS]
        boxes = boxes[kept]
        boxes[:, [0, 2]] = ((boxes[:, [0, 2]] - geometry.pad_x) / geometry.scale).clip(0, frame_w)
        boxes[:, [1, 3]] = ((boxes[:, [1, 3]] - geometry.pad_y) / geometry.scale).clip(0, frame_h)
        return [
            Detection(self.class_names.get(int(class_ids[i]), str(int(class_ids[i]))), float(scores[i]),
                      tuple(float(v) for v in box))
            for i, box in zip(kept, boxes, strict=True)
        ]
