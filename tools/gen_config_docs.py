"""Generate the environment-variable tables of docs/configuration.md from the settings classes.

The tables sit between two markers in the doc and are rewritten from the settings classes themselves
(names, defaults, descriptions, and the class that declares each: the kernel's CoreSettings or a
domain's own class) and the section headings of .env.example, so the guide cannot drift from the
code: `python -m tools.gen_config_docs --check` fails when it is stale (a test runs it).

    python -m tools.gen_config_docs           # rewrite the tables in place
    python -m tools.gen_config_docs --check   # exit 1 if the doc is out of date
"""

import argparse
import importlib
import re
import sys
import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic_core import PydanticUndefined

from vv_core.atomic import atomic_write_text
from vv_core.settings import CoreSettings, domain_settings_classes

REPO_ROOT = Path(__file__).resolve().parents[1]
DOC = REPO_ROOT / "docs" / "configuration.md"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
BEGIN = "<!-- BEGIN GENERATED: settings (python -m tools.gen_config_docs) -->"
END = "<!-- END GENERATED: settings -->"
RULES_BEGIN = "<!-- BEGIN GENERATED: config.yaml keys (python -m tools.gen_config_docs) -->"
RULES_END = "<!-- END GENERATED: config.yaml keys -->"
# Each module's rule file and the pydantic model that parses it (unknown keys are refused there).
RULE_FILES: list[tuple[str, str]] = [
    ("tv_scheduler/config.yaml", "tv_scheduler.config:SchedulerConfig"),
    ("summarize_scene/config.yaml", "summarize_scene.config:SummarizeConfig"),
    ("vv_ingest/config.yaml", "vv_ingest.config:IngestConfig"),
    ("agent_dvr/cameras.yaml", "agent_dvr.config:CamerasFile"),
]
_SECTION = re.compile(r"^#\s*---\s*(.+?)\s*-+\s*$")
_VARIABLE = re.compile(r"^([A-Z][A-Z0-9_]*)=")


def sections_from_env_example(text: str) -> list[tuple[str, list[str]]]:
    """[(section title, [VARIABLE, …]), …] in .env.example order."""
    sections: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if heading := _SECTION.match(line):
            sections.append((heading.group(1), []))
        elif variable := _VARIABLE.match(line):
            if not sections:
                sections.append(("general", []))
            sections[-1][1].append(variable.group(1))
    return sections


def render_default(value: Any) -> str:
    if value is PydanticUndefined:
        return "*(required)*"
    if value is None or value == "":
        return "*(empty)*"
    if isinstance(value, SecretStr):
        return "*(secret)*"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return f"`{value}`"


def escape_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_fields() -> dict[str, tuple[str, Any]]:
    """Every setting → (the class that declares it, its field): the kernel's, then each domain's own."""
    fields: dict[str, tuple[str, Any]] = {name: ("CoreSettings", field)
                                          for name, field in CoreSettings.model_fields.items()}
    for cls in domain_settings_classes():
        for name, field in cls.model_fields.items():
            fields.setdefault(name, (cls.__name__, field))
    return fields


def render_tables(env_example: str | None = None) -> str:
    fields = settings_fields()
    sections = sections_from_env_example(env_example if env_example is not None else ENV_EXAMPLE.read_text())
    listed = {name for _, names in sections for name in names}
    missing = sorted(name.upper() for name in fields if name.upper() not in listed)
    if missing:
        sections.append(("not yet in .env.example", missing))
    out = []
    for title, names in sections:
        out += [f"### {title}", "", "| Variable | Default | Description | Declared in |", "|---|---|---|---|"]
        for name in names:
            owner, field = fields.get(name.lower(), ("", None))
            if field is None:
                out.append(f"| `{name}` | | *(in .env.example but not a setting: remove it)* | |")
                continue
            out.append(f"| `{name}` | {escape_cell(render_default(field.default))} | "
                       f"{escape_cell(field.description or '')} | `{owner}` |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(f"`{a}`" for a in args)
    if origin in (list, dict, tuple, set):
        return f"{origin.__name__}[{', '.join(type_name(a) for a in args)}]"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return getattr(annotation, "__name__", str(annotation))


def nested_model(annotation: Any) -> tuple[str, type[BaseModel]] | None:
    """(path suffix, model) when a field holds a model, a list of them or a name → model mapping."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "", annotation
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        models = [nested_model(a) for a in args if a is not type(None)]
        return models[0] if len(models) == 1 else None
    if origin is list and args:
        inner = nested_model(args[0])
        return ("[]" + inner[0], inner[1]) if inner else None
    if origin is dict and len(args) == 2:
        inner = nested_model(args[1])
        return (".<name>" + inner[0], inner[1]) if inner else None
    return None


def model_rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        if field.is_required():
            default = "*(required)*"
        elif field.default_factory is not None:
            default = "*(computed)*"
        elif isinstance(field.default, BaseModel):
            default = "*(see below)*"
        else:
            default = render_default(field.default)
        rows.append(f"| `{key}` | {escape_cell(type_name(field.annotation))} | {escape_cell(default)} | "
                    f"{escape_cell(field.description or '')} |")
        inner = nested_model(field.annotation)
        if inner and inner[1] is not model:
            rows += model_rows(inner[1], f"{key}{inner[0]}.")
    return rows


def render_rule_files(rule_files: list[tuple[str, str]] | None = None) -> str:
    out = []
    for path, target in RULE_FILES if rule_files is None else rule_files:
        module_name, _, class_name = target.partition(":")
        model = getattr(importlib.import_module(module_name), class_name)
        out += [f"### `{path}` ({module_name}.{class_name})", "",
                "| Key | Type | Default | Description |", "|---|---|---|---|", *model_rows(model), ""]
    return "\n".join(out).rstrip() + "\n" if out else "*(no rule files yet)*\n"


def replace_between(document: str, begin: str, end: str, content: str) -> str:
    if begin not in document or end not in document:
        raise SystemExit(f"error: the doc lacks the generated-section markers {begin!r}")
    head, rest = document.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{content}{end}{tail}"


def updated_document(document: str, tables: str) -> str:
    document = replace_between(document, BEGIN, END, tables)
    if RULES_BEGIN in document:
        document = replace_between(document, RULES_BEGIN, RULES_END, render_rule_files())
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/configuration.md's settings tables.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the doc is out of date")
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args(argv)
    current = args.doc.read_text(encoding="utf-8")
    wanted = updated_document(current, render_tables())
    if args.check:
        if wanted != current:
            print(f"error: {args.doc} is out of date: run python -m tools.gen_config_docs", file=sys.stderr)
            return 1
        print(f"{args.doc} is up to date ({len(settings_fields())} settings)")
        return 0
    if wanted != current:
        atomic_write_text(args.doc, wanted)
    print(args.doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
