"""scan_video: a video in, ``analytic/<id>.analytic.json`` out (real detection, faster than real time).

The pipeline reads like the dataflow: probe → sample → (motion gate) → detect → faces → assemble →
validate → atomic write (:func:`scan_video.scanner.scan`). Importing this package is cheap: numpy,
OpenCV, onnxruntime and torch are imported only where they are used.
"""

import os
from typing import TYPE_CHECKING, Any

# onnxruntime (1.2x+) sends usage telemetry and writes a device id under $HOME/.cache (or
# $XDG_CACHE_HOME)/Microsoft/DeveloperTools: an edge box neither phones home nor writes outside the
# storage root and its image. Set before any submodule can import onnxruntime.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

if TYPE_CHECKING:  # pragma: no cover
    from scan_video.scanner import ScanResult, scan

__all__ = ["ScanResult", "scan"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from scan_video import scanner

        return getattr(scanner, name)
    raise AttributeError(name)
