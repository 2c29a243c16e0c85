"""The one settings model: environment variables and ``.env``, every one documented in .env.example.

Stages read what they need from here; YAML rule files (tv_scheduler/config.yaml, …) have their own
pydantic models next to the stage. Unknown ``VV_``-less variables in the environment are ignored
(the environment holds much else), but a typo'd key in ``.env`` is an error.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from vv_core.storage import StorageLayout


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="forbid", case_sensitive=False
    )

    # --- core -------------------------------------------------------------------------------
    video_storage_root: Path = Field(
        Path("storage"), description="Root of the storage tree (input, analytic, loglines, …)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="Minimum level of the JSON logs."
    )
    service_name: str = Field("vv", description="service_name field of every log line.")
    key_store_path: Path = Field(
        Path("secrets/logline_keys.json"),
        description="HMAC key store (JSON, mode 0600, or a Docker secret under /run/secrets).",
    )
    dvr_ip: str = Field("127.0.0.1", description="Address of the default camera/DVR.")
    alert_webhook_url: str | None = Field(
        None, description="Webhook that receives alerts as JSON (empty: alerts are only logged)."
    )

    # --- tv_scheduler -------------------------------------------------------------------------
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

    @property
    def storage(self) -> StorageLayout:
        return StorageLayout(self.video_storage_root)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process (read once). Tests build ``Settings(...)`` directly instead."""
    return Settings()
