"""tv_scheduler/config.yaml as a pydantic model: every field described, unknown keys refused."""

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vv_core.errors import VVError
from vv_core.rules import load_rules

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent / "config.yaml"
Status = Literal["confirmado", "alerta", "experimental", "curado"]


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fallback(Rules):
    media_url: str = Field("/media/fallback/loop_silencioso.mp4", pattern=r"^/",
                           description="Played in a loop when no LogLine matches the TV's rules.")
    image_url: str | None = Field("/media/fallback/placeholder.png", pattern=r"^/",
                                  description="Still shown while the loop loads or if it fails.")
    name: str = Field("", max_length=60,
                      description="Shown large on the idle screen (the shop, office or room name); empty: none.")
    logo_url: str | None = Field(None, pattern=r"^/media/fallback/",
                                 description="A logo image under /media/fallback/ (public, so an unpaired TV "
                                             "shows it too) shown above the name; none by default.")
    message: str = Field("", max_length=160,
                         description="A calm line under the clock, e.g. 'Welcome'; empty: none.")


class Display(Rules):
    captions: Literal["all", "alerts", "none"] = Field(
        "all", description="Which items show their title, summary, camera and time on screen: "
                           "all items, only alerts, or none (video only).")


class TvRules(Rules):
    description: str = Field("", description="What this TV is for (operators only).")
    statuses: list[Status] = Field(min_length=1, description="LogLine statuses this TV plays.")
    order: Literal["chronological", "newest_first", "shuffle"] = Field(
        "chronological", description="chronological = oldest first; shuffle = seeded per period.")
    window_hours: float | None = Field(None, gt=0, description="Overrides the global window.")
    max_items: int | None = Field(None, ge=1, le=10_000, description="Overrides the global max_items.")
    shuffle_period_hours: float = Field(
        24, gt=0, description="A shuffled order stays the same within one period, then reshuffles.")
    display: Display = Field(default_factory=Display,
                             description="What this TV's page shows over the video (sent in its playlist).")


class SchedulerConfig(Rules):
    window_hours: float = Field(24, gt=0, description="Only LogLines from the last N hours.")
    max_items: int = Field(50, ge=1, le=10_000, description="Most items per TV playlist.")
    fallback: Fallback = Field(default_factory=Fallback, description="The silent loop.")
    tvs: dict[str, TvRules] = Field(min_length=1, description="One entry per TV, keyed by its name.")

    @field_validator("tvs")
    @classmethod
    def _tv_names_are_file_names(cls, tvs: dict[str, TvRules]) -> dict[str, TvRules]:
        for name in tvs:  # the name becomes playlists/<name>.json and the playlist's "tv"
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", name) or name == "playlist":
                raise ValueError(f"tv name {name!r} must match [A-Za-z0-9_-]{{1,32}} and not be 'playlist'")
        return tvs


def load_config(path: str | Path | None = None) -> SchedulerConfig:
    """Parse and check the rules file; errors name the file and the offending key."""
    return load_rules(Path(path) if path else DEFAULT_CONFIG_PATH, SchedulerConfig, VVError)
