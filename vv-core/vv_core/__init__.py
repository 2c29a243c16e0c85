"""vv-core: the shared kernel (hashing, atomic writes, contracts, HMAC, settings, logging, storage)."""

from functools import cache


@cache
def _installed_version() -> str:
    # importlib.metadata costs ~50 ms (it scans every installed distribution): paid only by the
    # callers that ask for the version, not by every stage process that imports the kernel.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vv-video-ai-system")
    except PackageNotFoundError:  # running from a source tree without an install
        return "0.0.0+source"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module 'vv_core' has no attribute {name!r}")
