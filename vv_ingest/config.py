"""vv_ingest rules: ``vv_ingest/config.yaml`` parsed into strict pydantic models (unknown keys refused)."""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vv_core.errors import VVError
from vv_core.rules import load_rules
from vv_ingest.settings import IngestSettings

REPO_ROOT = Path(__file__).resolve().parents[1]


class IngestConfigError(VVError):
    """config.yaml is unreadable or breaks the model; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetFormat(_Strict):
    width: int = Field(1280, ge=16, le=7680, description="Output width (letterboxed to keep the aspect).")
    height: int = Field(720, ge=16, le=4320, description="Output height.")
    fps: float = Field(30, gt=0, le=120, description="Output frame rate.")
    crf: int = Field(23, ge=0, le=51, description="x264 constant rate factor.")
    # No "ultrafast": it turns CABAC and 8x8 transforms off, so the stream would be Baseline, not High.
    preset: Literal["superfast", "veryfast", "faster", "fast", "medium", "slow"] = Field(
        "veryfast", description="x264 speed/size trade-off.")
    audio: Literal["loudnorm", "silent"] = Field(
        "loudnorm", description="loudnorm: EBU R128 to -16 LUFS; silent: a silent AAC track.")
    audio_bitrate_k: int = Field(128, ge=32, le=512, description="AAC bitrate (kbit/s).")
    thumbnail_width: int = Field(320, ge=16, le=1920, description="Thumbnail width (px).")


class Curation(_Strict):
    count: int = Field(5, ge=1, le=500, description="Items in the curated selection.")
    rotation_period_hours: float = Field(24, gt=0, description="How long one selection stays on the TVs.")
    tags: list[str] = Field(default_factory=list, description="Only items with one of these tags (empty: any).")
    no_repeat_days: float = Field(7, ge=0, description="Items shown within this many days are not picked again.")


class IngestConfig(_Strict):
    library_dir: Path = Field(Path("tv_curado/library"), description="Standardized videos (storage-relative).")
    catalog_file: Path = Field(Path("tv_curado/catalog.json"), description="Library manifest (storage-relative).")
    quarantine_dir: Path = Field(Path("corrupted/ingest"), description="Unreadable inputs (storage-relative).")
    target: TargetFormat = Field(default_factory=TargetFormat, description="Output format.")
    curation: Curation = Field(default_factory=Curation, description="Rotation rules.")

    def resolve(self, settings: IngestSettings, relative: Path) -> Path:
        return relative if relative.is_absolute() else settings.storage.root / relative


def load_ingest_config(settings: IngestSettings) -> IngestConfig:
    """The rules of INGEST_CONFIG_FILE (a relative path: from the working directory, else the
    repository, as the scheduler's); a missing file is an error like every rules file's."""
    path = Path(settings.ingest_config_file)
    if not path.is_absolute() and not path.exists():
        path = REPO_ROOT / path
    return load_rules(path, IngestConfig, IngestConfigError)
