"""Generate the environment-variable tables of docs/configuration.md from vv_core.settings.

The tables sit between two markers in the doc and are rewritten from the settings model itself
(names, defaults, descriptions) and the section headings of .env.example, so the guide cannot
drift from the code: `python -m scripts.gen_config_docs --check` fails when it is stale (a test
runs it).

    python -m scripts.gen_config_docs           # rewrite the tables in place
    python -m scripts.gen_config_docs --check   # exit 1 if the doc is out of date
"""

import argparse
import re
import sys
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_core import PydanticUndefined

from vv_core.atomic import atomic_write_text
from vv_core.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DOC = REPO_ROOT / "docs" / "configuration.md"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
BEGIN = "<!-- BEGIN GENERATED: settings (python -m scripts.gen_config_docs) -->"
END = "<!-- END GENERATED: settings -->"
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


def render_tables(env_example: str | None = None) -> str:
    fields = Settings.model_fields
    sections = sections_from_env_example(env_example if env_example is not None else ENV_EXAMPLE.read_text())
    listed = {name for _, names in sections for name in names}
    missing = sorted(name.upper() for name in fields if name.upper() not in listed)
    if missing:
        sections.append(("not yet in .env.example", missing))
    out = []
    for title, names in sections:
        out += [f"### {title}", "", "| Variable | Default | Description |", "|---|---|---|"]
        for name in names:
            field = fields.get(name.lower())
            if field is None:
                out.append(f"| `{name}` | | *(in .env.example but not a setting: remove it)* |")
                continue
            out.append(f"| `{name}` | {escape_cell(render_default(field.default))} | "
                       f"{escape_cell(field.description or '')} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def updated_document(document: str, tables: str) -> str:
    if BEGIN not in document or END not in document:
        raise SystemExit(f"error: {DOC} lacks the generated-section markers")
    head, rest = document.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{tables}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/configuration.md's settings tables.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the doc is out of date")
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args(argv)
    current = args.doc.read_text(encoding="utf-8")
    wanted = updated_document(current, render_tables())
    if args.check:
        if wanted != current:
            print(f"error: {args.doc} is out of date: run python -m scripts.gen_config_docs", file=sys.stderr)
            return 1
        print(f"{args.doc} is up to date ({len(Settings.model_fields)} settings)")
        return 0
    if wanted != current:
        atomic_write_text(args.doc, wanted)
    print(args.doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
