"""tv_scheduler's settings: its rules file and how often the playlists are rebuilt"""

from pathlib import Path

from pydantic import Field

from vv_core.settings import CoreSettings


class SchedulerSettings(CoreSettings):
    """The playlist scheduler."""

    tv_scheduler_config: Path = Field(
        Path("tv_scheduler/config.yaml"),
        description="TV rules file (relative: from the working directory, else the repository).",
    )
    schedule_interval_s: float = Field(
        60.0, gt=0, description="Safety net: full rescan of loglines/ every N seconds."
    )
    schedule_debounce_s: float = Field(
        0.5, gt=0, description="Quiet time after new LogLines before the playlists are rebuilt."
    )

