"""vv_ingest's settings: where its rules file lives"""

from pathlib import Path

from pydantic import Field

from vv_core.settings import CoreSettings


class IngestSettings(CoreSettings):
    """Extra-content ingest."""

    ingest_config_file: Path = Field(
        Path("vv_ingest/config.yaml"),
        description="vv_ingest rules: target format, library and curation (YAML, unknown keys refused).",
    )

