"""summarize_scene's own rules (summarize_scene/config.yaml): status routing, label words, generation.

Parsed into pydantic models that reject unknown keys, so a typo in the YAML is an error naming the
key instead of a rule that silently never fires.
"""

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vv_core.errors import VVError
from vv_core.rules import load_rules

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent / "config.yaml"
DEFAULT_PROMPT_PATH = Path(__file__).resolve().parent / "prompts" / "scene_summarizer.prompt"

Status = Literal["confirmado", "alerta", "experimental"]
TimeOfDay = Literal["day", "night", "unknown"]


class ConfigError(VVError):
    """summarize_scene/config.yaml (or the prompt file) is missing or malformed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleCondition(_Strict):
    labels_any: list[str] = Field(
        default_factory=list,
        description="The rule needs a detection with one of these labels (case-insensitive); empty = any.",
    )
    min_confidence: float = Field(
        0.0, ge=0, le=1, description="...whose confidence is at least this."
    )
    min_count: int = Field(1, ge=0, description="...and at least this many such detections.")
    time_of_day: Literal["day", "night", "unknown", "any"] = Field(
        "any", description="Local time of the recording the rule applies to."
    )
    no_detections: bool = Field(False, description="Matches only an analytic without any detection.")


class StatusRule(_Strict):
    name: str = Field(description="Short rule name (logged, and used in status_reason).")
    status: Status = Field(description="Status written when this rule is the first that matches.")
    reason: str = Field(description="Human text for status_reason.")
    when: RuleCondition = Field(description="Condition on the analytic.")


class DaylightConfig(_Strict):
    timezone: str | None = Field(
        None, description="IANA zone of the cameras, for day/night and local times (empty: BOX_TIMEZONE)."
    )
    day_starts_hour: int = Field(6, ge=0, le=23, description="Local hour daylight starts (inclusive).")
    night_starts_hour: int = Field(19, ge=0, le=23, description="Local hour night starts (inclusive).")


class LabelWord(_Strict):
    word: str = Field(description="Word the summary must use for this label (e.g. 'person').")
    display: str | None = Field(None, description="Phrase shown to the model (default: word).")


class PassConfig(_Strict):
    max_tokens: int = Field(ge=1, le=1024, description="Token budget of this generation pass.")


class GenerationConfig(_Strict):
    temperature: float = Field(0.0, ge=0, le=2, description="0 = greedy (reproducible summaries).")
    n_ctx: int = Field(1024, ge=256, le=32768, description="Context window allocated for the model.")
    timeout_s: float = Field(30.0, gt=0, description="Wall-clock limit of all generation for one summary.")
    free: PassConfig = Field(PassConfig(max_tokens=80), description="Unconstrained first pass.")
    grammar: PassConfig = Field(
        PassConfig(max_tokens=120), description="JSON-schema-grammar pass, used only when the free one fails."
    )
    title_max_chars: int = Field(80, ge=10, le=120, description="Longest accepted title.")
    summary_max_chars: int = Field(300, ge=20, le=2000, description="Longest accepted summary.")


class SummarizeConfig(_Strict):
    status_rules: list[StatusRule] = Field(description="Evaluated in order; the first match decides.")
    default_status: Status = Field("experimental", description="Status when no rule matches.")
    default_reason: str = Field("no rule matched", description="status_reason when no rule matches.")
    daylight: DaylightConfig = Field(DaylightConfig(), description="How day and night are told apart.")
    labels: dict[str, LabelWord] = Field(
        default_factory=dict, description="Detector label -> word the summary must use."
    )
    object_words: list[str] = Field(
        default_factory=list,
        description="Objects a free-pass text may name only when detected (besides the label words).",
    )
    generation: GenerationConfig = Field(GenerationConfig(), description="LLM generation parameters.")

    @field_validator("labels")
    @classmethod
    def _lowercase_keys(cls, value: dict[str, LabelWord]) -> dict[str, LabelWord]:
        return {key.lower(): word for key, word in value.items()}

    def word_for(self, label: str) -> LabelWord:
        return self.labels.get(label.lower()) or LabelWord(word=label.lower())


def load_config(path: str | os.PathLike[str] | None = None) -> SummarizeConfig:
    """Read and validate the stage config; errors name the file and the offending key."""
    return load_rules(Path(path) if path is not None else DEFAULT_CONFIG_PATH, SummarizeConfig, ConfigError)
