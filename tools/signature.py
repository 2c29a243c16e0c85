"""vv-signature.json: the sha256 of every shipped file, so an installed box can prove it runs what
was released (blueprint section 10, `vv verify-install`).

"Shipped" means tracked by git (``git ls-files``), minus the manifest itself. The manifest holds no
timestamp, so regenerating it changes it only when a shipped file changed: ``make signature``
rewrites it, and tests/tools/test_signature.py fails while it is stale (CI). Verification needs no
git: it re-hashes the files the manifest lists and reports modified and missing ones; files that an
install adds (.env, storage/, .venv/, models) are not shipped and so not judged.

    python -m tools.signature generate [--root DIR]   # rewrite vv-signature.json
    python -m tools.signature check [--root DIR]      # exit 1 if it is stale
"""

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from vv_core.atomic import atomic_write_json
from vv_core.canonical import pretty_json
from vv_core.errors import VVError
from vv_core.hashing import compute_sha256

MANIFEST_NAME = "vv-signature.json"
SCHEMA_VERSION = "1.0"
REPO_ROOT = Path(__file__).resolve().parents[1]


def shipped_files(root: Path) -> list[str]:
    """Paths (POSIX, relative) of every file git tracks under ``root``, minus the manifest."""
    result = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=False)
    if result.returncode != 0:
        raise VVError(f"cannot list shipped files: {root} is not a git checkout")
    names = [n for n in result.stdout.decode("utf-8").split("\0") if n and n != MANIFEST_NAME]
    # A tracked file deleted in the working tree is simply not shipped any more.
    return sorted(n for n in names if (root / n).is_file())


def build_manifest(root: Path) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "algorithm": "sha256",
        "files": {name: compute_sha256(root / name) for name in shipped_files(root)},
    }


def write_manifest(root: Path) -> Path:
    return atomic_write_json(root / MANIFEST_NAME, build_manifest(root))


def is_stale(root: Path) -> bool:
    path = root / MANIFEST_NAME
    return not path.is_file() or path.read_bytes() != pretty_json(build_manifest(root))


@dataclass
class VerifyReport:
    checked: int = 0
    modified: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.modified and not self.missing


def load_manifest(root: Path) -> dict[str, str]:
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise VVError(f"{MANIFEST_NAME} not found in {root}")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        files = document["files"]
        if document.get("algorithm") != "sha256" or not isinstance(files, dict):
            raise KeyError("files")
    except (ValueError, KeyError, TypeError):
        raise VVError(f"{path} is not a valid {MANIFEST_NAME}") from None
    return files


def verify_install(root: Path) -> VerifyReport:
    """Re-hash every file the manifest lists under ``root``."""
    report = VerifyReport()
    root = root.resolve()
    for name, expected in sorted(load_manifest(root).items()):
        path = (root / name).resolve()
        if not path.is_relative_to(root):  # a hostile manifest must not make us read outside
            raise VVError(f"{MANIFEST_NAME} names a path outside the install: {name}")
        report.checked += 1
        if not path.is_file():
            report.missing.append(name)
        elif compute_sha256(path) != expected:
            report.modified.append(name)
    return report


def describe(report: VerifyReport) -> str:
    """One line for operators: what is wrong, naming the first few files."""
    parts = []
    for label, names in (("modified", report.modified), ("missing", report.missing)):
        if names:
            shown = ", ".join(names[:5]) + (f" (+{len(names) - 5} more)" if len(names) > 5 else "")
            parts.append(f"{len(names)} {label}: {shown}")
    return "; ".join(parts) if parts else f"{report.checked} files verified"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="signature", description="vv-signature.json tools")
    parser.add_argument("command", choices=["generate", "check"])
    parser.add_argument("--root", type=Path, default=REPO_ROOT)
    args = parser.parse_args(argv)
    try:
        if args.command == "generate":
            print(write_manifest(args.root))
            return 0
        if is_stale(args.root):
            print(f"error: {MANIFEST_NAME} is stale: run `make signature` and commit it", file=sys.stderr)
            return 1
        print(f"{MANIFEST_NAME} is up to date")
        return 0
    except VVError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
