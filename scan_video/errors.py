"""What can go wrong in a scan, as one-line errors the CLI prints (exit 1)."""

from vv_core.errors import VVError


class ScanError(VVError):
    """The scan could not produce an analytic; the message says why in one line."""


class BadVideoError(ScanError):
    """The input is not a usable, finished video (empty, truncated, not video, still growing…)."""


class DecodeTimeoutError(BadVideoError):
    """Probing or decoding took longer than the decode timeout (a hung or pathological file)."""


class DetectorModelError(ScanError):
    """The detector model is missing, unverified, or does not fit the chosen backend."""
