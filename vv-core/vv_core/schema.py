"""Contracts between stages: JSON Schema 2020-12 documents in ``schemas/``.

Validators are compiled once per schema file and cached; an error names the failing field as a
JSON path (``detections[3].confidence``) so an operator knows what to fix.
"""

import json
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from vv_core.errors import SchemaValidationError

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"


def schema_path(name: str) -> Path:
    """Path of a bundled contract by short name (``"logline"`` → schemas/logline.schema.json)."""
    candidate = Path(name)
    if candidate.suffix == ".json":
        return candidate if candidate.is_absolute() or candidate.exists() else SCHEMAS_DIR / candidate
    return SCHEMAS_DIR / f"{name}.schema.json"


@lru_cache(maxsize=32)
def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        schema = json.load(handle)
    # Checking a schema against the 2020-12 metaschema costs ~80 ms, paid by every stage process
    # on every run; the bundled contracts are checked by the test suite instead (test_schema.py).
    if not path.is_relative_to(SCHEMAS_DIR):
        Draft202012Validator.check_schema(schema)
    return schema


def load_schema(name_or_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load (and check) a schema by short name or path; cached."""
    return _load(schema_path(os.fspath(name_or_path)).resolve())


@lru_cache(maxsize=32)
def _validator(path: Path) -> Draft202012Validator:
    return Draft202012Validator(_load(path), format_checker=Draft202012Validator.FORMAT_CHECKER)


def field_path(error: ValidationError) -> str:
    """Render an error's location as ``a.b[3].c`` (``<root>`` for the document itself)."""
    parts: list[str] = []
    for element in error.absolute_path:
        if isinstance(element, int):
            parts.append(f"[{element}]")
        else:
            parts.append(("." if parts else "") + str(element))
    # A missing required property is reported on its parent: name the property itself.
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [p for p in error.validator_value if p not in error.instance]
        if missing:
            parts.append(("." if parts else "") + missing[0])
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        if extra:
            parts.append(("." if parts else "") + extra[0])
    return "".join(parts) or "<root>"


def validate_schema(data: Any, schema: str | os.PathLike[str]) -> None:
    """Raise :class:`SchemaValidationError` naming the field if ``data`` breaks the contract."""
    path = schema_path(os.fspath(schema)).resolve()
    error = best_match(_validator(path).iter_errors(data))
    if error is None:
        return
    where = field_path(error)
    raise SchemaValidationError(
        f"{path.name}: field '{where}': {error.message}", field=where, schema=path.name
    )


def _formats_used(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["format"]} if isinstance(node.get("format"), str) else set()
        for value in node.values():
            found |= _formats_used(value)
        return found
    if isinstance(node, list):
        return set().union(*(_formats_used(item) for item in node)) if node else set()
    return set()


@lru_cache(maxsize=32)
def _compiled(path: Path) -> Callable[[Any], Any]:
    """A fastjsonschema validator compiled to Python code once per schema file.

    Formats are delegated to the very checker jsonschema uses, so both paths accept exactly the
    same documents (a differential test holds them to it); only the speed differs (~10×).
    """
    import fastjsonschema

    checker = Draft202012Validator.FORMAT_CHECKER
    formats = {name: (lambda value, name=name: checker.conforms(value, name))
               for name in _formats_used(_load(path))}
    return fastjsonschema.compile(_load(path), formats=formats, use_default=False)


@lru_cache(maxsize=32)
def fast_validator(schema: str) -> Callable[[Any], None]:
    """Same contract as :func:`validate_schema`, for hot loops (verifying 10⁵ LogLines).

    A valid document costs one call of compiled code; an invalid one is re-checked by jsonschema
    so the error names the field exactly as :func:`validate_schema` would.
    """
    import fastjsonschema

    path = schema_path(schema).resolve()
    compiled = _compiled(path)
    failure = fastjsonschema.JsonSchemaException

    def validate(data: Any) -> None:
        try:
            compiled(data)
        except failure as exc:
            validate_schema(data, path)
            # Both validators must agree; if jsonschema accepted it, still refuse (fail closed).
            raise SchemaValidationError(f"{path.name}: {exc}", field="<root>", schema=path.name) from None

    return validate


def validate_schema_fast(data: Any, schema: str | os.PathLike[str]) -> None:
    fast_validator(os.fspath(schema))(data)
