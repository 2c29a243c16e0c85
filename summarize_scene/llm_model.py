"""Which LLM summarizes: the current-model pointer that `vv model use|rollback` switches.

The pointer says name, version, path and sha256. The file is hashed right before llama.cpp reads
it (``CurrentLLM.verify``), so a corrupted or swapped file is refused before any weight is loaded.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from vv_core.hashing import compute_sha256
from vv_core.models import ModelIntegrityError, current_model

logger = logging.getLogger("vv.summarize_scene")


@dataclass(frozen=True)
class CurrentLLM:
    name: str
    version: str
    sha256: str
    path: Path

    def verify(self) -> None:
        """Raise ModelIntegrityError unless the file still has the pinned sha256."""
        if not self.path.is_file():
            raise ModelIntegrityError(f"model file missing: {self.path}")
        actual = compute_sha256(self.path)
        if actual != self.sha256:
            raise ModelIntegrityError(
                f"model {self.name}=={self.version} ({self.path.name}) fails its sha256 check: "
                f"expected {self.sha256[:12]}…, got {actual[:12]}…; refusing to load it"
            )


def resolve_current_llm(models_dir: Path) -> CurrentLLM | None:
    """The selected LLM, or None when none is installed (the stage then writes a template summary)."""
    info = current_model(models_dir, "llm")
    if info is None:
        return None
    try:
        current = CurrentLLM(info["name"], info["version"], info["sha256"], Path(models_dir) / info["path"])
    except (KeyError, TypeError):
        raise ModelIntegrityError(f"model pointer in {models_dir} lacks name/version/path/sha256") from None
    if not current.path.is_file():
        # The pointer names a file that is gone: treat the box as having no model (degraded,
        # visible in /status) rather than failing every video until someone reinstalls it.
        logger.warning("current LLM file missing; falling back to template summaries",
                       extra={"model_path": str(current.path)})
        return None
    return current
