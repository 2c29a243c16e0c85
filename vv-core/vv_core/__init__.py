"""vv-core: the shared kernel (hashing, atomic writes, contracts, HMAC, settings, logging, storage)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vv-video-ai-system")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"
