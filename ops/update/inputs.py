"""What an image is built from, hashed without Docker: `vv update` rebuilds an image only when this
hash differs from the one recorded on the image (label ``org.vv.inputs-sha256``).

An image's inputs are its Dockerfile, its build args (the Dockerfile's ARG defaults overridden by
the compose file's), and every file of the build context its COPY/ADD instructions take, minus what
``.dockerignore`` drops. The stage recipe (deploy/Dockerfile) copies the whole context and keeps
only ``cp -a --parents …`` of it (the kernel, the CLI, its stage, STAGE_CODE): those picked paths
are its inputs, so a change in one stage's folder makes only that stage's image stale. Not covered:
the base image's content under an unchanged tag (a new ``python:3.11-slim`` needs ``--force``).
"""

import fnmatch
import hashlib
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

LABEL = "org.vv.inputs-sha256"
HASH_ARG = "VV_INPUTS_SHA256"  # the build arg that carries the hash into the label (not an input)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class InputsError(ValueError):
    """An image's inputs cannot be determined (a Dockerfile or a source the build needs is missing)."""


@dataclass(frozen=True)
class ImageInputs:
    dockerfile: str        # relative to the context
    args: dict[str, str]   # effective build args (defaults + compose), without HASH_ARG
    files: tuple[str, ...]  # context-relative paths, sorted
    sha256: str


def instructions(text: str) -> list[tuple[str, str]]:
    """A Dockerfile as (INSTRUCTION, rest) pairs: comments dropped, continuation lines joined."""
    result, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line:
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def substitute(text: str, values: dict[str, str]) -> str:
    return _VAR.sub(lambda m: values.get(m.group(1) or m.group(2), ""), text)


def _arg_defaults(parsed: list[tuple[str, str]]) -> dict[str, str]:
    defaults: dict[str, str] = {}
    for keyword, rest in parsed:
        if keyword == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            defaults.setdefault(name.strip(), shlex.split(value)[0] if value.strip() else "")
    return defaults


def _copy_sources(rest: str, values: dict[str, str]) -> list[str] | None:
    """The context paths of one COPY/ADD (None for ``--from=…``: another stage, not the context)."""
    flags = []
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        flags.append(flag)
        rest = rest.strip()
    if any(flag.startswith("--from") for flag in flags):
        return None
    words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
    words = [substitute(w, values) for w in words]
    return words[:-1]


def _picked_paths(parsed: list[tuple[str, str]], values: dict[str, str]) -> list[str] | None:
    """What a recipe that copies the whole context keeps of it: its ``cp -a --parents A B … DEST``."""
    for keyword, rest in parsed:
        if keyword != "RUN" or "cp -a --parents" not in rest:
            continue
        command = rest.split("cp -a --parents", 1)[1].split("&&")[0]
        words = shlex.split(substitute(command, values))
        return words[:-1]  # the last word is the destination
    return None


def _components_match(pattern: list[str], path: list[str]) -> bool:
    if not pattern:
        return not path
    if pattern[0] == "**":
        return any(_components_match(pattern[1:], path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatch.fnmatchcase(path[0], pattern[0]) and _components_match(pattern[1:], path[1:])


def ignore_patterns(context: Path) -> list[list[str]]:
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    patterns = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            if line.startswith("!"):
                raise InputsError(".dockerignore exceptions (!pattern) are not supported by vv update")
            patterns.append([part for part in line.strip("/").split("/") if part not in ("", ".")])
    return patterns


def ignored(relative: str, patterns: list[list[str]]) -> bool:
    """Docker's rule: a path is out of the context when it or one of its parent folders matches."""
    parts = relative.split("/")
    return any(_components_match(pattern, parts[:n]) for pattern in patterns for n in range(1, len(parts) + 1))


def _expand(context: Path, source: str, patterns: list[list[str]]) -> set[str]:
    source = source.strip("/") or "."
    matches = [context] if source == "." else sorted(context.glob(source))
    if not matches and not any(ch in source for ch in "*?["):
        raise InputsError(f"build input missing: {source}")
    files: set[str] = set()
    for match in matches:
        candidates = [match] if not match.is_dir() or match.is_symlink() else sorted(match.rglob("*"))
        for candidate in candidates:
            if candidate.is_dir() and not candidate.is_symlink():
                continue
            relative = candidate.relative_to(context).as_posix()
            if not ignored(relative, patterns):
                files.add(relative)
    return files


def _file_digest(path: Path) -> str:
    if path.is_symlink():
        return "link:" + str(path.readlink())
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    executable = "x" if path.stat().st_mode & 0o111 else "-"
    return f"{executable}:{digest.hexdigest()}"


def image_inputs(context: Path, dockerfile: str, build_args: dict[str, str | None]) -> ImageInputs:
    """The inputs of one image built from ``context`` with ``dockerfile`` and ``build_args``."""
    dockerfile_path = (context / dockerfile) if not Path(dockerfile).is_absolute() else Path(dockerfile)
    if not dockerfile_path.is_file():
        raise InputsError(f"Dockerfile missing: {dockerfile_path}")
    parsed = instructions(dockerfile_path.read_text())
    args = {name: value for name, value in _arg_defaults(parsed).items() if name != HASH_ARG}
    args.update({k: v or "" for k, v in build_args.items() if k != HASH_ARG})
    patterns = ignore_patterns(context)
    sources: list[str] = []
    for keyword, rest in parsed:
        if keyword in ("COPY", "ADD") and (found := _copy_sources(rest, args)) is not None:
            sources.extend(found)
    if "." in [s.strip("/") or "." for s in sources]:
        picked = _picked_paths(parsed, args)
        sources = [s for s in sources if (s.strip("/") or ".") != "."] + (picked if picked is not None else ["."])
    files: set[str] = set()
    for source in sources:
        files |= _expand(context, source, patterns)
    digest = hashlib.sha256()
    relative_dockerfile = dockerfile_path.resolve().relative_to(context.resolve()).as_posix() \
        if dockerfile_path.resolve().is_relative_to(context.resolve()) else str(dockerfile_path)
    digest.update(f"dockerfile\0{relative_dockerfile}\0{_file_digest(dockerfile_path)}\n".encode())
    for name in sorted(args):
        digest.update(f"arg\0{name}\0{args[name]}\n".encode())
    for relative in sorted(files):
        digest.update(f"file\0{relative}\0{_file_digest(context / relative)}\n".encode())
    return ImageInputs(relative_dockerfile, args, tuple(sorted(files)), digest.hexdigest())
