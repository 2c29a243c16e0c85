"""summarize_scene's settings: the llama.cpp threads (models live in the kernel's MODELS_DIR)."""

import os

from pydantic import Field, field_validator

from vv_core.settings import CoreSettings


class SummarizeSettings(CoreSettings):
    """The summary stage: llama.cpp threads."""

    llm_threads: int = Field(
        0, validate_default=True,
        description="CPU threads llama.cpp uses for summaries (0 = one per core of this machine).",
    )

    @field_validator("llm_threads")
    @classmethod
    def _threads_default_to_cores(cls, value: int) -> int:
        return value if value > 0 else (os.cpu_count() or 1)

