"""Create ``.env`` from ``.env.example`` with freshly generated secrets (mode 0600, atomic).

Secrets are the variables whose name says so (``*_SECRET``, ``*_TOKEN``, ``*_PASSWORD``,
``*_API_KEY``) and whose example value is empty: each gets 32 random bytes, URL-safe. Other values
come from the example unless ``overrides`` names them (install.sh makes the storage and model paths
absolute). An existing ``.env`` is never rewritten: its secrets may already sign LogLines and log in
TVs; rotating them is a deliberate operator act.
"""

import re
import secrets
from pathlib import Path

from vv_core.atomic import atomic_write_text
from vv_core.errors import VVError

SECRET_NAME = re.compile(r"_(SECRET|TOKEN|PASSWORD|API_KEY)$")
_ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def render_env(example_text: str, overrides: dict[str, str] | None = None) -> str:
    """The text of a new .env: the example's comments and keys, secrets filled, overrides applied."""
    overrides = dict(overrides or {})
    unknown = set(overrides) - example_names(example_text)
    if unknown:
        raise VVError(f".env.example has no variable(s) {', '.join(sorted(unknown))}")
    lines = []
    for line in example_text.splitlines():
        match = _ASSIGNMENT.match(line)
        if match:
            name, value = match.groups()
            if name in overrides:
                value = overrides[name]
            elif is_secret_name(name) and value == "":
                value = secrets.token_urlsafe(32)
            line = f"{name}={value}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def example_names(example_text: str) -> set[str]:
    return {m.group(1) for m in map(_ASSIGNMENT.match, example_text.splitlines()) if m}


def create_env_file(target: Path, example: Path, overrides: dict[str, str] | None = None) -> bool:
    """Write ``target`` from ``example`` if it does not exist; return True if it was created."""
    if target.exists():
        return False
    if not example.is_file():
        raise VVError(f"cannot create {target}: {example} not found")
    atomic_write_text(target, render_env(example.read_text(encoding="utf-8"), overrides), mode=0o600)
    return True
