"""The one loader of the modules' YAML rule files (tv_scheduler/config.yaml, summarize_scene/config.yaml,
vv_ingest/config.yaml, agent_dvr/cameras.yaml): YAML → a strict pydantic model (unknown keys refused).

Every error is one line, ``<file>: <where>: <why>``: ``<where>`` is the offending key path
(``tvs.tv1.colour``), the YAML position (``line 3, column 7``) or ``<file>`` when the whole file is
at fault. The rule for a missing file is the same for every module: it is an error naming the file
(a rules file the operator pointed at and that is not there must never mean "defaults"). A module
whose file is optional (agent_dvr's cameras: no file means the default camera) checks for the file
before it loads it.
"""

import os
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from vv_core.errors import VVError

Model = TypeVar("Model", bound=BaseModel)


class RulesError(VVError):
    """A rules file that is missing, not YAML, or not what its model allows."""


def load_rules(path: str | os.PathLike[str], model: type[Model],
               error: type[Exception] = RulesError) -> Model:
    """Parse ``path`` into ``model``; any fault raises ``error("<file>: <where>: <why>")``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: <file>: not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: <file>: cannot read ({type(exc).__name__})") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "<file>"
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise error(f"{path}: {where}: not valid YAML ({problem})") from None
    if document is None:
        document = {}  # an empty file (or only comments) is an empty mapping
    if not isinstance(document, dict):
        raise error(f"{path}: <file>: must be a mapping, not a {type(document).__name__}")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise error(f"{path}: {validation_where_why(exc)}") from None


def validation_where_why(exc: ValidationError) -> str:
    """``tvs.tv1.colour: unknown key`` for the first error, plus how many more there are. An unknown
    key goes first: a misspelt key also makes the right one "missing", and the typo is the news."""
    errors = exc.errors()
    first = next((error for error in errors if error["type"] == "extra_forbidden"), errors[0])
    where = ".".join(str(part) for part in first["loc"]) or "<file>"
    why = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
    more = exc.error_count() - 1
    return f"{where}: {why}" + (f" (and {more} more error(s))" if more else "")
